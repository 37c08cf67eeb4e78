"""What each notebook reads, hashed into one key, so `blastpay evidence` reruns only the notebooks whose inputs,
code or upstream evidence changed.

A notebook's key covers (each file by its repo-relative path and content, never a mtime or an absolute path):

- the notebook file itself, ``experiments/run.yaml`` and the sources registry (``experiments/sources/``);
- what it declares in ``context(inputs=[...])`` (files or directories);
- every ``blastpay`` module it imports, directly or through other modules (read from their source: every import
  statement, including those inside functions, with the packages that contain them), so a change in a module
  reached only indirectly still counts, and the package data files those modules name (vendored fixtures);
- the committed inputs under ``experiments/`` those modules name as a string literal (``"fees.yaml"``), and any
  input no notebook names at all (an input nobody claims counts for every notebook);
- the evidence files of the notebooks it ``needs``, the package versions and whether the run is ``--full``.

The key and the hash of each file it covers are recorded in the manifest (``notebooks``), so a later run can say
which input changed.
"""

from __future__ import annotations

import ast
import json
from functools import lru_cache
from pathlib import Path
from typing import Any

from blastpay import config
from blastpay.evidence.writer import digest, sha256_bytes

PACKAGE = "blastpay"


def _module_file(name: str) -> Path | None:
    """The source file of module `name` (a package's __init__.py), or None if it is not a blastpay module."""
    parts = name.split(".")
    if parts[0] != PACKAGE:
        return None
    base = config.PACKAGE_DIR.joinpath(*parts[1:])
    for candidate in (base.with_suffix(".py"), base / "__init__.py"):
        if candidate.is_file():
            return candidate
    return None


def _walk_facts(tree: ast.AST, module: str, is_package: bool) -> tuple[frozenset[str], frozenset[str]]:
    """In one pass over `tree`: every blastpay module an import statement anywhere in it may load (``from m
    import x`` adds m and m.x, with their parent packages), and its string literals, docstrings left out (a
    docstring that mentions a file does not read it)."""
    found: set[str] = set()
    constants: set[str] = set()
    docstrings: set[int] = set()
    package = module if is_package else module.rpartition(".")[0]
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)) and node.body:
            first = node.body[0]
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant):
                docstrings.add(id(first.value))
        if isinstance(node, ast.Constant):
            if isinstance(node.value, str) and id(node) not in docstrings:
                constants.add(node.value)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                anchor = package.split(".")
                anchor = anchor[: len(anchor) - (node.level - 1)]
                base = ".".join(anchor + ([node.module] if node.module else []))
            else:
                base = node.module or ""
            found.add(base)
            found.update(f"{base}.{alias.name}" for alias in node.names)
    ours = {name for name in found if name.split(".")[0] == PACKAGE}
    with_parents = {".".join(n.split(".")[: i + 1]) for n in ours for i in range(n.count(".") + 1)}
    return frozenset(m for m in with_parents if _module_file(m) is not None), frozenset(constants)


@lru_cache(maxsize=None)
def _facts(name: str, source: bytes) -> tuple[frozenset[str], frozenset[str]]:
    path = _module_file(name)
    return _walk_facts(ast.parse(source, filename=str(path)), name, path is not None and path.name == "__init__.py")


def module_closure(code: str) -> tuple[list[str], set[str]]:
    """The blastpay modules `code` imports, directly or transitively (sorted), and the string literals of the
    code and of those modules."""
    direct, constants = _walk_facts(ast.parse(code), "__main__", False)
    seen: set[str] = set()
    todo = list(direct)
    found = set(constants)
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        deps, strings = _facts(name, _module_file(name).read_bytes())  # type: ignore[union-attr]
        found |= strings
        todo += [d for d in deps if d not in seen]
    return sorted(seen), found


def _code_cells(book: Path) -> tuple[str, list[str]]:
    """The notebook's code (magics left out) and the paths it declares in ``context(inputs=[...])``."""
    nb = json.loads(book.read_text())
    lines = []
    for cell in nb.get("cells", []):
        if cell.get("cell_type") == "code":
            source = "".join(cell.get("source", []))
            lines += [line for line in source.splitlines() if not line.lstrip().startswith(("%", "!"))]
    code = "\n".join(lines)
    declared: list[str] = []
    for node in ast.walk(ast.parse(code)):
        if isinstance(node, ast.Call) and getattr(node.func, "id", getattr(node.func, "attr", None)) == "context":
            for kw in node.keywords:
                if kw.arg == "inputs":
                    declared += [str(v) for v in ast.literal_eval(kw.value)]
            for arg in node.args[:1]:
                declared += [str(v) for v in ast.literal_eval(arg)]
    return code, declared


def _experiment_entries() -> list[str]:
    """Repo-relative names of the committed inputs: each top-level file or directory of experiments/."""
    root = config.ROOT
    return sorted(p.relative_to(root).as_posix() for p in config.EXPERIMENTS_DIR.iterdir()
                  if not p.name.startswith(".") and p.name != "__pycache__")


def _named_by(entry: str, constants: set[str]) -> bool:
    name = entry.rsplit("/", 1)[-1]
    return any(c == name or c.endswith("/" + name) or c.startswith(entry) or c.endswith(entry) for c in constants)


def notebook_sources(books: list[Path]) -> dict[str, list[str]]:
    """For each notebook (stem): the repo-relative paths (files or directories) its key covers, sorted; the
    evidence of the notebooks it needs is added when they are done (``notebook_key``)."""
    root = config.ROOT
    always = ["experiments/run.yaml", config.SOURCES_DIR.relative_to(root).as_posix()]
    entries = [e for e in _experiment_entries() if e not in always]
    named: dict[str, set[str]] = {}
    for book in books:
        code, declared = _code_cells(book)
        modules, constants = module_closure(code)
        files = {_source_name(_module_file(m)) for m in modules}  # type: ignore[arg-type]
        files |= {name for name, path in _package_data().items() if path.name in constants}
        files |= {d.rstrip("/") for d in declared}
        files |= {e for e in entries if _named_by(e, constants)}
        named[book.stem] = files | set(always) | {book.relative_to(root).as_posix()}
    claimed = set().union(*named.values()) if named else set()
    unclaimed = [e for e in entries if e not in claimed]  # an input nobody names: count it for every notebook
    return {stem: sorted(files | set(unclaimed)) for stem, files in named.items()}


SOURCE_PREFIX = "src/blastpay/"


def _source_name(path: Path) -> str:
    """A package file's name in a key: ``src/blastpay/...`` wherever the package is installed."""
    return SOURCE_PREFIX + path.relative_to(config.PACKAGE_DIR).as_posix()


def _located(rel: str) -> Path:
    """The file a key's name stands for: package files in the package that runs, the rest under the root."""
    if rel.startswith(SOURCE_PREFIX) or rel + "/" == SOURCE_PREFIX:
        return config.PACKAGE_DIR / rel[len(SOURCE_PREFIX):]
    return config.ROOT / rel


def _package_data() -> dict[str, Path]:
    """The package's data files (not Python sources: vendored fixtures, templates), by key name. A notebook's key
    covers those whose file name its modules name as a string literal (``"fixtures3-served.json"``)."""
    return {_source_name(p): p for p in sorted(config.PACKAGE_DIR.rglob("*"))
            if p.is_file() and p.suffix not in (".py", ".pyc") and "__pycache__" not in p.parts}


def hash_sources(paths: list[str]) -> dict[str, str]:
    """sha256 of every file under `paths` (directories expanded, caches left out), by repo-relative name."""
    out: dict[str, str] = {}
    for rel in paths:
        path = _located(rel)
        files = sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]
        for f in files:
            if "__pycache__" in f.parts or f.suffix == ".pyc":
                continue
            name = rel if f == path else f"{rel}/{f.relative_to(path).as_posix()}"
            out[name] = sha256_bytes(f.read_bytes()) if f.is_file() else "missing"
    return out


def notebook_key(reads: dict[str, str], upstream: dict[str, dict[str, str]], extra: dict[str, Any]) -> str:
    """The key of one notebook: its files' hashes, the evidence files (path -> sha256) of each notebook it needs,
    and `extra` (package versions, full run)."""
    return digest({"reads": reads, "upstream": upstream, "extra": extra})


def why_changed(old: dict[str, Any] | None, reads: dict[str, str], upstream: dict[str, dict[str, str]],
                extra: dict[str, Any]) -> str:
    """A short reason a notebook must run again, from its recorded entry in the manifest."""
    if not old:
        return "no earlier run recorded"
    if old.get("extra") != extra:
        return "package versions or run mode changed"
    before = old.get("reads", {})
    changed = sorted(p for p in set(before) | set(reads) if before.get(p) != reads.get(p))
    if changed:
        more = f" and {len(changed) - 2} more" if len(changed) > 2 else ""
        return "changed: " + ", ".join(changed[:2]) + more
    ups = sorted(s for s in set(old.get("upstream", {})) | set(upstream)
                 if old.get("upstream", {}).get(s) != upstream.get(s))
    if ups:
        return "upstream evidence changed: " + ", ".join(ups)
    return "its earlier output is incomplete"
