"""Small readers of ``ast`` call nodes shared by the scanner's analyses, and the one way a site is made."""

from __future__ import annotations

import ast

from blastpay.scanner.inventory import Site
from blastpay.scanner.scopes import Scope


def call_name(call: ast.Call) -> str:
    if isinstance(call.func, ast.Attribute):
        return call.func.attr
    if isinstance(call.func, ast.Name):
        return call.func.id
    return ""


def call_args(call: ast.Call) -> list[ast.expr]:
    return list(call.args) + [k.value for k in call.keywords]


def source_text(node: ast.AST, limit: int = 200) -> str:
    try:
        text = ast.unparse(node)
    except RecursionError:
        return "<expression too deeply nested to print>"
    return text if len(text) <= limit else text[: limit - 3] + "..."


def make_site(kind: str, scope: Scope, line: int, detail: dict) -> Site:
    return Site(kind, scope.module.path, line, scope.qualname, detail=detail)
