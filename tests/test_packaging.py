"""What `pip install .` promises: every package the code imports is declared where it is used, and the hashed locks
pin exactly what pyproject.toml declares (runtime in requirements.lock, the extras in requirements-test.lock)."""

from __future__ import annotations

import ast
import re
import sys
import tomllib
from importlib.metadata import packages_distributions

from blastpay import config

ROOT = config.PACKAGE_DIR.parents[1]


def _name(requirement: str) -> str:
    return re.sub(r"[-_.]+", "-", re.split(r"[\s\[=<>;~!]", requirement.strip(), maxsplit=1)[0]).lower()


def _project() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]


def _lock(name: str) -> dict[str, str]:
    text = (ROOT / name).read_text()
    return {_name(n): v for n, v in re.findall(r"^([A-Za-z0-9_.-]+)==(\S+)", text, re.M)}


def _imports(directory) -> set[str]:
    found = set()
    for path in directory.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                found |= {a.name.split(".")[0] for a in node.names}
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                found.add(node.module.split(".")[0])
    return {m for m in found if m not in sys.stdlib_module_names and m != "blastpay"}


def test_every_package_the_code_imports_is_a_declared_runtime_dependency():
    declared = {_name(r) for r in _project()["dependencies"]}
    distributions = packages_distributions()
    undeclared = {}
    for module in _imports(config.PACKAGE_DIR):
        names = {_name(d) for d in distributions.get(module, [module])}
        if not names & declared:
            undeclared[module] = sorted(names)
    assert undeclared == {}, f"imported by src/blastpay but not in [project].dependencies: {undeclared}"


def test_the_locks_pin_every_declared_dependency_with_hashes_and_split_runtime_from_tests():
    runtime, tests = _lock("requirements.lock"), _lock("requirements-test.lock")
    project = _project()
    assert {_name(r) for r in project["dependencies"]} <= set(runtime)
    extras = {_name(r) for extra in ("test", "bench", "dev") for r in project["optional-dependencies"][extra]}
    assert extras <= set(tests) and not extras & set(runtime)
    assert not set(runtime) & set(tests), "a package pinned in both locks"
    for name in ("requirements.lock", "requirements-test.lock"):
        blocks = re.split(r"\n(?=[A-Za-z0-9])", (ROOT / name).read_text())
        unhashed = [b.split()[0] for b in blocks if "==" in b.split("\n")[0] and "--hash=sha256:" not in b]
        assert unhashed == [], f"{name}: pins without a hash: {unhashed}"


def test_the_lock_pins_the_package_versions_the_committed_evidence_was_made_with():
    import json

    recorded = json.loads((ROOT / "evidence" / "manifest.json").read_text())["package_versions"]
    runtime = _lock("requirements.lock")
    moved = {name: (version, runtime.get(_name(name))) for name, version in recorded.items()
             if name != "blastpay" and runtime.get(_name(name)) != version}
    assert moved == {}, f"the lock moved packages the evidence depends on (manifest, lock): {moved}; regenerate it"
