"""The scanner's model of a repository's Python code: modules, classes and scopes (a function, a class body or
a module body), and the nodes each scope owns."""

from __future__ import annotations

import ast
from dataclasses import dataclass, field
from pathlib import PurePosixPath

# --------------------------------------------------------------------------- model


@dataclass(eq=False)
class Module:
    path: str
    name: str
    names: tuple[str, ...]
    is_package: bool
    tree: ast.Module
    is_test: bool
    imports: dict[str, str] = field(default_factory=dict)
    globals: dict[str, list[ast.expr]] = field(default_factory=dict)
    defs: dict[str, str] = field(default_factory=dict)
    scope: "Scope | None" = None


@dataclass(eq=False)
class ClassInfo:
    qname: str
    module: Module
    node: ast.ClassDef
    methods: dict[str, str] = field(default_factory=dict)
    attrs: dict[str, list[tuple[ast.expr, "Scope"]]] = field(default_factory=dict)
    bases: list[ast.expr] = field(default_factory=list)


@dataclass(eq=False)
class Scope:
    """A function body, or a module's top-level statements (qualname ``<module>``)."""

    qname: str
    qualname: str
    module: Module
    node: ast.AST
    body: list[ast.stmt]
    cls: ClassInfo | None = None
    parent: "Scope | None" = None
    params: dict[str, ast.expr | None] = field(default_factory=dict)
    self_name: str | None = None
    locals: dict[str, list[ast.expr]] = field(default_factory=dict)
    assigns: list[tuple[ast.expr, ast.expr]] = field(default_factory=list)
    nodes: list[ast.AST] = field(default_factory=list)
    calls: list[tuple[ast.Call, str | None]] = field(default_factory=list)
    is_route: bool = False
    attr_names: set[str] = field(default_factory=set)
    has_event_literal: bool = False
    name_ids: set[str] = field(default_factory=set)
    call_targets: set[str] = field(default_factory=set)
    route: str = ""

    @property
    def is_function(self) -> bool:
        return self.qualname != "<module>"


_DEFS = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)
_SKIPPED_FIELDS = frozenset({"ctx", "op", "ops", "type_comment"})


def scope_nodes(body: list[ast.stmt]) -> list[ast.AST]:
    """All nodes of a body in source order, not descending into nested function or class definitions."""
    out: list[ast.AST] = []
    stack: list[ast.AST] = list(reversed(body))
    pop, append, AST = stack.pop, out.append, ast.AST
    while stack:
        node = pop()
        append(node)
        if isinstance(node, _DEFS):
            stack.extend(reversed(node.decorator_list))
            if not isinstance(node, ast.ClassDef):
                stack.extend(reversed([d for d in node.args.defaults + node.args.kw_defaults if d is not None]))
            continue
        children: list[ast.AST] = []
        for name in node._fields:
            if name in _SKIPPED_FIELDS:
                continue
            value = getattr(node, name, None)
            if isinstance(value, list):
                children.extend(v for v in value if isinstance(v, AST))
            elif isinstance(value, AST):
                children.append(value)
        children.reverse()
        stack.extend(children)
    return out


def defs_in(body: list[ast.stmt]) -> list[ast.stmt]:
    """Function and class definitions of a body, including those under if/try/with/for blocks."""
    out: list[ast.stmt] = []
    stack: list[ast.AST] = list(reversed(body))
    while stack:
        node = stack.pop()
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            out.append(node)
            continue
        stack.extend(reversed([c for c in ast.iter_child_nodes(node)
                               if isinstance(c, (ast.stmt, ast.excepthandler, ast.match_case))]))
    return out


def module_names(path: str, package_dirs: set[str]) -> tuple[str, tuple[str, ...], bool]:
    p = PurePosixPath(path)
    parts = list(p.with_suffix("").parts)
    is_package = parts[-1] == "__init__"
    if is_package:
        parts = parts[:-1]
    # the top-most directory chain holding __init__.py files is the importable package
    start = len(p.parts) - 1
    while start > 0 and PurePosixPath(*p.parts[:start]).as_posix() in package_dirs:
        start -= 1
    canonical_parts = parts[start:] if parts[start:] else parts
    names = [".".join(canonical_parts), ".".join(parts)]
    if parts and parts[0] in ("src", "lib", "python"):
        names.append(".".join(parts[1:]))
    unique = tuple(dict.fromkeys(n for n in names if n))
    return unique[0] if unique else p.stem, unique, is_package
