"""Webhook handlers for ``checkout.session.*`` events and what they match on."""

from __future__ import annotations

import ast

from blastpay.scanner.calls import call_name, make_site
from blastpay.scanner.expiry import ExpiryClassifier
from blastpay.scanner.inventory import WEBHOOK_HANDLER, Site
from blastpay.scanner.resolve import EVENT_PREFIX, Analysis
from blastpay.scanner.scopes import Scope, scope_nodes

HANDLER_NAME_HINTS = ("completed", "expired", "checkout", "session")


def event_literal(node: ast.AST) -> str | None:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        v = node.value
        if v.startswith(EVENT_PREFIX) and len(v) > len(EVENT_PREFIX) and " " not in v:
            return v
    return None


class EventValues:
    """The ``checkout.session.*`` event types an expression stands for: literals,
    tuples/sets of them, and names bound to those (module constants, imports)."""

    def __init__(self, analysis: Analysis):
        self.a = analysis
        self.lookup = ExpiryClassifier(analysis)._lookup
        self.constant_names: set[str] = set()
        for module in analysis.modules:
            if module.scope is not None and module.scope.has_event_literal:
                for name, values in module.globals.items():
                    if any(self.of(v, module.scope) for v in values):
                        self.constant_names.add(name)

    def of(self, expr: ast.AST | None, scope: Scope, depth: int = 0) -> set[str]:
        if expr is None or depth > 8:
            return set()
        literal = event_literal(expr)
        if literal:
            return {literal}
        if isinstance(expr, (ast.Tuple, ast.List, ast.Set)):
            return set().union(*(self.of(e, scope, depth + 1) for e in expr.elts)) if expr.elts else set()
        if isinstance(expr, ast.Starred):
            return self.of(expr.value, scope, depth + 1)
        if isinstance(expr, ast.Call) and call_name(expr) in ("frozenset", "set", "tuple", "list") and expr.args:
            return self.of(expr.args[0], scope, depth + 1)
        if isinstance(expr, (ast.Name, ast.Attribute)):
            found = self.lookup(expr, scope, depth)
            if found is not None:
                return self.of(found[0], found[1], depth + 1)
        return set()

    def relevant(self, scope: Scope) -> bool:
        return scope.has_event_literal or bool(scope.name_ids & self.constant_names)

    def matched(self, node: ast.AST, scope: Scope) -> set[str]:
        """Event types a node matches against: comparisons, match cases, dispatch-dict keys,
        ``startswith("checkout.session.")`` and registration decorators/calls."""
        found: set[str] = set()
        if isinstance(node, ast.Compare):
            for operand in [node.left, *node.comparators]:
                found |= self.of(operand, scope)
        elif isinstance(node, ast.match_case):
            found.update(e for e in map(event_literal, ast.walk(node.pattern)) if e)
        elif isinstance(node, ast.Dict):
            for k in node.keys:
                found |= self.of(k, scope)
        elif isinstance(node, ast.Call):
            name = call_name(node)
            if name == "startswith" and node.args and isinstance(node.args[0], ast.Constant) and node.args[0].value == EVENT_PREFIX:
                found.add(EVENT_PREFIX + "*")
            elif any(w in name.lower() for w in ("register", "subscribe", "handler", "listen", "route")) or name.lower().startswith("on"):
                found |= self.of(node.args[0], scope) if node.args else set()
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            for deco in node.decorator_list:
                if isinstance(deco, ast.Call):
                    for arg in deco.args:
                        found |= self.of(arg, scope)
        return found


def _key_of(node: ast.AST) -> tuple[ast.expr, str] | None:
    """(base, key) for ``x["k"]``, ``x.k`` and ``x.get("k")``."""
    if isinstance(node, ast.Subscript) and isinstance(node.slice, ast.Constant) and isinstance(node.slice.value, str):
        return node.value, node.slice.value
    if isinstance(node, ast.Attribute):
        return node.value, node.attr
    if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "get"
            and node.args and isinstance(node.args[0], ast.Constant) and isinstance(node.args[0].value, str)):
        return node.func.value, node.args[0].value
    return None


def _is_metadata(expr: ast.expr, scope: Scope, depth: int = 0) -> bool:
    if depth > 5:
        return False
    if isinstance(expr, ast.Name):
        if expr.id == "metadata":
            return True
        return any(_is_metadata(v, scope, depth + 1) for v in scope.locals.get(expr.id, []))
    if isinstance(expr, ast.BoolOp):
        return any(_is_metadata(v, scope, depth + 1) for v in expr.values)
    found = _key_of(expr)
    return found is not None and found[1] == "metadata"


def matches_on(scope: Scope) -> list[str]:
    found: set[str] = set()
    call_funcs = {id(n.func) for n in scope.nodes if isinstance(n, ast.Call)}
    for node in scope.nodes:
        key = _key_of(node) if id(node) not in call_funcs else None
        if key is not None:
            base, k = key
            if k in ("client_reference_id", "payment_link"):
                found.add(k)
            elif k == "id" and isinstance(base, ast.Name) and ("session" in base.id.lower() or base.id in ("obj", "data_object")):
                found.add("session id")
            elif k != "metadata" and _is_metadata(base, scope):
                found.add(f"metadata.{k}")
        if isinstance(node, ast.keyword) and node.arg and "session_id" in node.arg:
            found.add("session id")
        elif isinstance(node, ast.Attribute) and "session_id" in node.attr and isinstance(getattr(node, "ctx", None), ast.Load):
            found.add("session id")
    return sorted(found)


def _matches_with_callees(a: Analysis, scope: Scope, depth: int = 2) -> list[str]:
    """What a handler matches on, including helpers it calls inside the repository (two levels)."""
    found = set(matches_on(scope))
    seen = {scope.qname}
    frontier = [scope]
    for _ in range(depth):
        nxt = []
        for s in frontier:
            for q in sorted(s.call_targets):
                if q in a.scopes and q not in seen and not a.scopes[q].module.is_test:
                    seen.add(q)
                    nxt.append(a.scopes[q])
                    found.update(matches_on(a.scopes[q]))
        frontier = nxt
    return sorted(found)


def webhook_sites(a: Analysis) -> list[Site]:
    events: dict[str, set[str]] = {}
    dispatches: dict[str, set[str]] = {}
    ev = EventValues(a)
    for scope in a.scope_list:
        if scope.module.is_test or not ev.relevant(scope):
            continue
        calls = {id(c): q for c, q in scope.calls}
        for node in scope.nodes:
            here = ev.matched(node, scope)
            if here and scope.is_function:
                events.setdefault(scope.qname, set()).update(here)
            branches: list[tuple[set[str], list[ast.AST]]] = []
            if isinstance(node, ast.If):
                evs = set().union(*(ev.matched(n, scope) for n in ast.walk(node.test)))
                if evs:
                    branches.append((evs, node.body))
            elif isinstance(node, ast.Match):
                for case in node.cases:
                    evs = ev.matched(case, scope)
                    if evs:
                        branches.append((evs, case.body))
            elif isinstance(node, ast.Dict):
                for k, v in zip(node.keys, node.values):
                    key_events = ev.of(k, scope) if k is not None else set()
                    if key_events:
                        target = a.resolve(v, scope)
                        if target in a.scopes:
                            events.setdefault(target, set()).update(key_events)
                            if scope.is_function:
                                dispatches.setdefault(scope.qname, set()).add(target)
            for evs, body in branches:
                for inner in scope_nodes(body):
                    if isinstance(inner, ast.Call):
                        target = calls.get(id(inner))
                        if target in a.scopes and target != scope.qname:
                            events.setdefault(target, set()).update(evs)
                            if scope.is_function:
                                dispatches.setdefault(scope.qname, set()).add(target)
    for scope in a.scope_list:
        if scope.module.is_test or not scope.is_function:
            continue
        decorated = ev.matched(scope.node, scope.parent or scope)
        if decorated:
            events.setdefault(scope.qname, set()).update(decorated)
        name = scope.qualname.rsplit(".", 1)[-1].lower()
        if "handle" in name and any(h in name for h in HANDLER_NAME_HINTS):
            events.setdefault(scope.qname, set())
    sites = []
    for qname in sorted(events):
        scope = a.scopes[qname]
        if not scope.is_function or scope.module.is_test:
            continue
        detail = {"events": sorted(events[qname]), "matches_on": _matches_with_callees(a, scope),
                  "role": "dispatcher" if qname in dispatches else "handler"}
        if qname in dispatches:
            detail["dispatches_to"] = sorted(dispatches[qname])
        sites.append(make_site(WEBHOOK_HANDLER, scope, scope.node.lineno, detail))
    return sites
