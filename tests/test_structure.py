"""The package's shape: stages as packages, no import cycles (imports inside functions included), no module
over 600 lines, few plain modules at the top."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "src" / "blastpay"
MAX_LINES = 600
MAX_TOP_MODULES = 8
STAGES = ("sources", "emulator", "flows", "models", "experiments", "evidence", "adr", "scanner", "live")


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def modules() -> dict[str, Path]:
    return {module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def imports_of(name: str, path: Path, known: set[str]) -> set[str]:
    """Every blastpay module `name` imports, at any depth in the file (relative imports resolved)."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()
    tree = ast.parse(path.read_text())
    type_only = {id(n) for node in ast.walk(tree) if isinstance(node, ast.If) and _is_type_checking(node.test)
                 for stmt in node.body for n in ast.walk(stmt)}
    for node in ast.walk(tree):
        if id(node) in type_only:  # `if TYPE_CHECKING:` imports exist for annotations only, never at run time
            continue
        targets: list[str] = []
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                base = ".".join(anchor + ([base] if base else []))
            targets = [f"{base}.{alias.name}" for alias in node.names] + [base]
        for target in targets:
            while target and target not in known:
                target = target.rpartition(".")[0]
            if target and target != name and target.startswith("blastpay"):
                found.add(target)
    return found


def test_no_import_cycles_between_modules():
    mods = modules()
    known = set(mods)
    graph = {name: {t for t in imports_of(name, path, known) if mods[t].name != "__init__.py"}
             for name, path in mods.items()}
    cycles, state = [], {}

    def visit(node: str, stack: list[str]) -> None:
        state[node] = "open"
        for nxt in sorted(graph[node]):
            if state.get(nxt) == "open":
                cycles.append(" -> ".join(stack[stack.index(nxt):] + [nxt]))
            elif nxt not in state:
                visit(nxt, stack + [nxt])
        state[node] = "done"

    for name in sorted(graph):
        if name not in state:
            visit(name, [name])
    assert cycles == []


def test_no_module_is_longer_than_600_lines():
    long = {name: n for name, path in modules().items() if (n := len(path.read_text().splitlines())) > MAX_LINES}
    assert long == {}


def stage_problems(package: Path) -> list[str]:
    """What keeps `package` from holding exactly the stages, each a package with modules, beside data folders."""
    problems = []
    folders = {d.name for d in package.iterdir() if d.is_dir() and d.name != "__pycache__"}
    for stage in STAGES:
        if not (package / stage / "__init__.py").is_file():
            problems.append(f"{stage}: not a package (no __init__.py)")
        elif not [p for p in (package / stage).rglob("*.py") if p.name != "__init__.py"]:
            problems.append(f"{stage}: a package with no module")
    for extra in sorted(folders - set(STAGES)):
        if list((package / extra).rglob("*.py")):
            problems.append(f"{extra}: code outside the stages")
    return problems


def test_the_top_of_the_package_holds_the_stages_and_few_plain_modules():
    top = sorted(p.stem for p in PACKAGE.glob("*.py") if p.stem != "__init__")
    assert len(top) <= MAX_TOP_MODULES, top
    assert stage_problems(PACKAGE) == []


def test_a_stage_that_is_only_a_folder_or_code_outside_the_stages_is_named(tmp_path):
    for stage in STAGES:
        (tmp_path / stage).mkdir()
        (tmp_path / stage / "__init__.py").write_text("")
        (tmp_path / stage / "core.py").write_text("")
    assert stage_problems(tmp_path) == []
    (tmp_path / "flows" / "core.py").unlink()
    (tmp_path / "models" / "__init__.py").unlink()
    (tmp_path / "misc").mkdir()
    (tmp_path / "misc" / "helpers.py").write_text("")
    (tmp_path / "templates").mkdir()  # data, not code: allowed
    assert stage_problems(tmp_path) == ["flows: a package with no module", "models: not a package (no __init__.py)",
                                        "misc: code outside the stages"]


def test_a_cycle_is_detected(tmp_path):
    """The cycle finder itself: two modules importing each other inside functions are a cycle."""
    (tmp_path / "blastpay").mkdir()
    a = tmp_path / "blastpay" / "a.py"
    b = tmp_path / "blastpay" / "b.py"
    a.write_text("def f():\n    from blastpay.b import g\n")
    b.write_text("def g():\n    from blastpay import a\n")
    known = {"blastpay.a", "blastpay.b", "blastpay"}
    assert imports_of("blastpay.a", a, known) == {"blastpay.b"}
    assert imports_of("blastpay.b", b, known) - {"blastpay"} == {"blastpay.a"}
