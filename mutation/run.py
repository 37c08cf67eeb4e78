"""Mutation testing of the modules in mutation/modules.toml, each against its own tests, with a score per module.

    python mutation/run.py [MODULE ...] [--jobs N] [--report]

For each module, mutmut (pinned in the ``test`` extra) works in ``.mutation/<module>/``: it copies the package,
mutates that one file, learns which of the module's tests execute each function, and runs every mutant against
those tests in a forked worker. Surviving mutants listed in mutation/equivalent.toml are set aside; every other
survivor is printed with its line and written to ``.mutation/survivors.txt``. Exit status 1 when a module scores
below the target in modules.toml, 2 on a malformed configuration.

``--report`` re-reads the last run's results without running anything. The run leaves out PostgreSQL (the race
tests also run on SQLite) and CI's "fail instead of skip", so the score does not depend on the machine.
"""

from __future__ import annotations

import argparse
import ast
import json
import os
import shutil
import subprocess
import sys
import time
import tomllib
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
WORK = ROOT / ".mutation"
KILLED = {"killed", "timeout", "segfault", "caught by type check"}
LEFT_OUT = {".git", ".venv", ".mutation", ".hypothesis", ".pytest_cache", ".lock-venv"}
PYTEST_ARGS = ["-p", "no:cacheprovider", "--hypothesis-seed=0"]


class ConfigError(Exception):
    pass


@dataclass(frozen=True)
class Module:
    name: str
    path: str
    tests: list[str]


@dataclass(frozen=True)
class Mutant:
    key: str
    status: str
    function: str = ""
    line: int = 0
    original: str = ""
    mutated: str = ""


def load_modules(path: Path = HERE / "modules.toml") -> tuple[float, dict[str, Module]]:
    try:
        data = tomllib.loads(path.read_text())
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"{path}: {exc}") from None
    modules = {}
    for name, entry in data.get("modules", {}).items():
        if not isinstance(entry.get("path"), str) or not (ROOT / entry["path"]).is_file():
            raise ConfigError(f"{path}: module {name}: 'path' must name a file of this repository")
        tests = entry.get("tests")
        if not isinstance(tests, list) or not tests or not all((ROOT / t).exists() for t in tests):
            raise ConfigError(f"{path}: module {name}: 'tests' must list existing test files or folders")
        modules[name] = Module(name, entry["path"], tests)
    return float(data.get("target", 0.0)), modules


def load_equivalents(path: Path = HERE / "equivalent.toml") -> dict[tuple[str, str, str, str], dict]:
    """(module, function, original line, mutated line) -> the entry saying why that mutant is equivalent."""
    if not path.exists():
        return {}
    try:
        data = tomllib.loads(path.read_text())
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: {exc}") from None
    out = {}
    for module, entries in data.items():
        for n, entry in enumerate(entries, start=1):
            missing = [k for k in ("function", "line", "original", "mutated", "why") if k not in entry]
            if missing:
                raise ConfigError(f"{path}: {module} entry {n} lacks {', '.join(missing)}")
            out[(module, entry["function"], entry["original"], entry["mutated"])] = entry
    return out


def prepare(module: Module, work: Path) -> None:
    """A fresh mutmut project in ``work``: the package and tests linked in, mutmut's configuration for the module."""
    if work.exists():
        shutil.rmtree(work)
    work.mkdir(parents=True)
    # tests find the repository's other files (docs, experiments, evidence) beside the package they import
    others = sorted(p.name for p in ROOT.iterdir() if p.name not in LEFT_OUT and p.name not in ("src", "tests", "setup.cfg"))
    for entry in ("src", "tests", *others):
        (work / entry).symlink_to(ROOT / entry)
    lines = ["[mutmut]", "source_paths = src/blastpay", f"only_mutate = {module.path}",
             "also_copy =", *(f"    {name}" for name in others),
             "pytest_add_cli_args_test_selection =", *(f"    {t}" for t in module.tests),
             "pytest_add_cli_args =", *(f"    {a}" for a in PYTEST_ARGS)]
    (work / "setup.cfg").write_text("\n".join(lines) + "\n")


def run_mutmut(module: Module, work: Path, jobs: int) -> int:
    env = {k: v for k, v in os.environ.items() if k not in ("CI", "DATABASE_URL_POSTGRES", "BLASTPAY_ROOT")}
    mutmut = Path(sys.executable).parent / "mutmut"
    with open(work / "mutmut.log", "w") as log:
        return subprocess.run([str(mutmut), "run", "--max-children", str(jobs)], cwd=work, env=env,
                              stdout=log, stderr=subprocess.STDOUT).returncode


def _function_name(key: str) -> str:
    from mutmut.utils.format_utils import orig_function_and_class_names_from_key

    function, cls = orig_function_and_class_names_from_key(key)
    return f"{cls}.{function}" if cls else function


def _function_span(source: str, function: str) -> tuple[int, int]:
    *cls, name = function.split(".")
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.ClassDef) and cls and node.name == cls[0]:
            for child in node.body:
                if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef)) and child.name == name:
                    return child.lineno, child.end_lineno or child.lineno
        if not cls and isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.name == name:
            return node.lineno, node.end_lineno or node.lineno
    return 0, 0


def _changed_line(diff: list[str], lines: list[str], start: int, end: int) -> int:
    """The source line of the first removed line: where the hunk's context and removed lines match the function."""
    body = next((i for i, d in enumerate(diff) if d.startswith("@@")), len(diff))
    block = []
    for d in diff[body + 1:]:
        if d.startswith("+"):
            continue
        block.append(d[1:].strip())
        if d.startswith("-"):
            break
    for n in range(start, end + 2 - len(block)):
        if [lines[n - 1 + i].strip() for i in range(len(block))] == block:
            return n + len(block) - 1
    return start


def results(module: Module, work: Path) -> list[Mutant]:
    """Every mutant of the module's last run with its status; survivors also with their line and change."""
    from mutmut.mutation.diff_apply import get_diff_for_mutant
    from mutmut.stats import status_by_exit_code

    meta = work / "mutants" / (module.path + ".meta")
    if not meta.exists():
        return []
    codes = json.loads(meta.read_text())["exit_code_by_key"]
    source = (ROOT / module.path).read_text()
    lines = source.splitlines()
    out = []
    cwd = os.getcwd()
    os.chdir(work)
    try:
        for key, code in codes.items():
            status = status_by_exit_code[code]
            if status in KILLED:
                out.append(Mutant(key, status))
                continue
            diff = get_diff_for_mutant(key, path=module.path).splitlines()
            removed = [d[1:].strip() for d in diff if d.startswith("-") and not d.startswith("---")]
            added = [d[1:].strip() for d in diff if d.startswith("+") and not d.startswith("+++")]
            function = _function_name(key)
            start, end = _function_span(source, function)
            line = _changed_line(diff, lines, start, end)
            out.append(Mutant(key, status, function, line, " ".join(removed), " ".join(added)))
    finally:
        os.chdir(cwd)
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("modules", nargs="*", help="module names from mutation/modules.toml (default: all)")
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 2, help="mutants run at once")
    parser.add_argument("--report", action="store_true", help="only report the last run's results")
    args = parser.parse_args(argv)
    try:
        target, modules = load_modules()
        equivalents = load_equivalents()
        unknown = sorted(set(args.modules) - set(modules))
        if unknown:
            raise ConfigError(f"unknown module {', '.join(unknown)}; mutation/modules.toml has {', '.join(modules)}")
    except ConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    chosen = [modules[n] for n in (args.modules or modules)]
    started = time.monotonic()
    rows, survivors, below = [], [], []
    seen_equivalent: set[tuple[str, str, str, str]] = set()
    for module in chosen:
        work = WORK / module.name
        if not args.report:
            t0 = time.monotonic()
            print(f"{module.name}: mutating {module.path} against {' '.join(module.tests)} "
                  f"(log: {work.relative_to(ROOT)}/mutmut.log)", flush=True)
            prepare(module, work)
            code = run_mutmut(module, work, args.jobs)
            print(f"{module.name}: done in {time.monotonic() - t0:.0f} s", flush=True)
            if code != 0:
                print(f"error: mutmut failed on {module.name} (exit {code}); see {work}/mutmut.log", file=sys.stderr)
                return 1
        mutants = results(module, work)
        if not mutants:
            print(f"error: no results for {module.name}; run without --report first", file=sys.stderr)
            return 1
        killed = sum(m.status in KILLED for m in mutants)
        equivalent = 0
        for m in mutants:
            if m.status in KILLED:
                continue
            ident = (module.name, m.function, m.original, m.mutated)
            if ident in equivalents:
                equivalent += 1
                seen_equivalent.add(ident)
            else:
                survivors.append(f"{module.path}:{m.line} {m.function} [{m.status}] {m.original}  ->  {m.mutated}"
                                 f"  ({m.key})")
        counted = len(mutants) - equivalent
        score = killed / counted if counted else 1.0
        rows.append((module.name, len(mutants), killed, counted - killed, equivalent, score))
        if score < target:
            below.append(module.name)
    WORK.mkdir(exist_ok=True)
    (WORK / "survivors.txt").write_text("".join(s + "\n" for s in survivors))
    for s in survivors:
        print(f"survivor: {s}")
    for ident in sorted(set(equivalents) - seen_equivalent):
        if ident[0] in {m.name for m in chosen}:
            entry = equivalents[ident]
            print(f"note: equivalent.toml {ident[0]} line {entry['line']} ({ident[1]}: {ident[2]} -> {ident[3]}) "
                  f"no longer survives as listed; remove or update the entry")
    print(f"{'module':<16} {'mutants':>7} {'killed':>7} {'not killed':>10} {'equivalent':>10} {'score':>7}")
    for name, total, killed, survived, equivalent, score in rows:
        print(f"{name:<16} {total:>7} {killed:>7} {survived:>10} {equivalent:>10} {score:>7.1%}")
    if not args.report:
        print(f"mutation_wall_seconds: {time.monotonic() - started:.0f}")
    if below:
        print(f"below the target of {target:.0%}: {', '.join(below)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
