"""Classification of ``expires_at`` values: the offset from "now" in seconds when
it can be worked out statically, and whether Stripe accepts it (Checkout Session
``expires_at`` must be 30 minutes to 24 hours after creation)."""

from __future__ import annotations

import ast

from blastpay.scanner.calls import call_name, source_text
from blastpay.scanner.resolve import MAX_DEPTH, Analysis
from blastpay.scanner.scopes import Scope

STRIPE_MIN_EXPIRY_SECONDS = 30 * 60
STRIPE_MAX_EXPIRY_SECONDS = 24 * 60 * 60
NOW_NAMES = frozenset({"now", "now_ts", "now_utc", "utcnow", "current_time", "now_epoch", "created_at_ts"})
TIMEDELTA_UNITS = {"weeks": 604800, "days": 86400, "hours": 3600, "minutes": 60, "seconds": 1,
                   "milliseconds": 0.001, "microseconds": 0.000001}
TIMEDELTA_POSITIONAL = ("days", "seconds", "microseconds", "milliseconds", "minutes", "hours", "weeks")


def _unwrap_time(expr: ast.expr) -> ast.expr:
    while True:
        if isinstance(expr, ast.Call) and call_name(expr) in ("int", "float", "round", "floor", "ceil") and expr.args:
            expr = expr.args[0]
        elif isinstance(expr, ast.Call) and isinstance(expr.func, ast.Attribute) and expr.func.attr == "timestamp" and not expr.args:
            expr = expr.func.value
        else:
            return expr


class ExpiryClassifier:
    def __init__(self, analysis: Analysis):
        self.a = analysis

    def _lookup(self, expr: ast.expr, scope: Scope, depth: int) -> tuple[ast.expr, Scope] | None:
        """The expression a Name or module attribute was assigned from."""
        if isinstance(expr, ast.Name):
            s: Scope | None = scope
            while s is not None and s.is_function:
                if expr.id in s.locals:
                    return s.locals[expr.id][-1], s
                if expr.id in s.params:
                    return None
                s = s.parent
            module = scope.module
            if expr.id in module.globals and module.scope:
                return module.globals[expr.id][-1], module.scope
            if expr.id in module.imports:
                found = self.a._module_global(self.a.canonical(module.imports[expr.id]))
                if found and found[0].scope:
                    return found[0].globals[found[1]][-1], found[0].scope
            return None
        if isinstance(expr, ast.Attribute):
            base = self.a.resolve(expr.value, scope, depth + 1)
            if base:
                found = self.a._module_global(f"{base}.{expr.attr}")
                if found and found[0].scope:
                    return found[0].globals[found[1]][-1], found[0].scope
        return None

    def seconds(self, expr: ast.expr, scope: Scope, depth: int = 0) -> float | None:
        if depth > MAX_DEPTH:
            return None
        if isinstance(expr, ast.Constant) and isinstance(expr.value, (int, float)) and not isinstance(expr.value, bool):
            return float(expr.value)
        if isinstance(expr, ast.UnaryOp) and isinstance(expr.op, ast.USub):
            inner = self.seconds(expr.operand, scope, depth + 1)
            return -inner if inner is not None else None
        if isinstance(expr, ast.BinOp):
            left, right = self.seconds(expr.left, scope, depth + 1), self.seconds(expr.right, scope, depth + 1)
            if left is None or right is None:
                return None
            if isinstance(expr.op, ast.Add):
                return left + right
            if isinstance(expr.op, ast.Sub):
                return left - right
            if isinstance(expr.op, ast.Mult):
                return left * right
            if isinstance(expr.op, (ast.Div, ast.FloorDiv)) and right:
                return left / right if isinstance(expr.op, ast.Div) else left // right
            return None
        if isinstance(expr, ast.Call):
            name = call_name(expr)
            if name == "timedelta":
                total = 0.0
                for unit, arg in zip(TIMEDELTA_POSITIONAL, expr.args):
                    v = self.seconds(arg, scope, depth + 1)
                    if v is None:
                        return None
                    total += v * TIMEDELTA_UNITS[unit]
                for kw in expr.keywords:
                    v = self.seconds(kw.value, scope, depth + 1) if kw.arg in TIMEDELTA_UNITS else None
                    if v is None:
                        return None
                    total += v * TIMEDELTA_UNITS[kw.arg]
                return total
            if name in ("int", "float", "round") and expr.args:
                return self.seconds(expr.args[0], scope, depth + 1)
            if name == "total_seconds" and isinstance(expr.func, ast.Attribute):
                return self.seconds(expr.func.value, scope, depth + 1)
            return None
        found = self._lookup(expr, scope, depth)
        if found is not None:
            return self.seconds(found[0], found[1], depth + 1)
        return None

    def is_now(self, expr: ast.expr, scope: Scope, depth: int = 0) -> bool:
        if depth > MAX_DEPTH:
            return False
        expr = _unwrap_time(expr)
        if isinstance(expr, ast.Call):
            q = self.a.resolve(expr.func, scope) or ""
            name = call_name(expr)
            return q in ("time.time", "time.time_ns") or name in ("now", "utcnow", "today") or q.endswith((".now", ".utcnow"))
        if isinstance(expr, ast.Name):
            found = self._lookup(expr, scope, depth)
            if found is not None and self.is_now(found[0], found[1], depth + 1):
                return True
            return expr.id.lower() in NOW_NAMES
        return False

    def classify(self, expr: ast.expr, scope: Scope, depth: int = 0) -> dict:
        """Classification of an ``expires_at`` value: offset from now in seconds when resolvable."""
        inner = _unwrap_time(expr)
        if isinstance(inner, ast.BinOp) and isinstance(inner.op, (ast.Add, ast.Sub)):
            sign = 1 if isinstance(inner.op, ast.Add) else -1
            for now_side, dur_side, s in ((inner.left, inner.right, sign), (inner.right, inner.left, 1)):
                if s == -1 and now_side is inner.right:
                    continue
                if self.is_now(now_side, scope):
                    secs = self.seconds(dur_side, scope)
                    if secs is not None:
                        return _offset(secs * s)
                    return {"classification": f"now + unresolved duration ({source_text(dur_side, 80)})", "offset_seconds": None,
                            "within_stripe_limits": None}
        if self.is_now(inner, scope):
            return _offset(0)
        if isinstance(inner, ast.Constant) and isinstance(inner.value, (int, float)):
            return {"classification": "constant timestamp", "offset_seconds": None, "within_stripe_limits": None}
        if isinstance(inner, (ast.Name, ast.Attribute)) and depth < MAX_DEPTH:
            found = self._lookup(inner, scope, depth)
            if found is not None:
                result = self.classify(found[0], found[1], depth + 1)
                result.setdefault("resolved_source", source_text(found[0]))
                return result
            if isinstance(inner, ast.Name) and _is_param(inner.id, scope):
                return {"classification": f"unknown (parameter {inner.id})", "offset_seconds": None, "within_stripe_limits": None}
        return {"classification": "unknown", "offset_seconds": None, "within_stripe_limits": None}


def _is_param(name: str, scope: Scope) -> bool:
    s: Scope | None = scope
    while s is not None and s.is_function:
        if name in s.params:
            return True
        s = s.parent
    return False


def describe_seconds(seconds: float) -> str:
    s = int(seconds) if float(seconds).is_integer() else seconds
    for unit, size in (("days", 86400), ("hours", 3600), ("minutes", 60)):
        if isinstance(s, int) and s and s % size == 0 and not (unit == "days" and abs(s) <= 86400):
            n = s // size
            return f"{n} {unit[:-1] if n == 1 else unit}"
    return f"{s} seconds"


def _offset(seconds: float) -> dict:
    secs = int(seconds) if float(seconds).is_integer() else seconds
    return {
        "classification": f"now + {describe_seconds(secs)}",
        "offset_seconds": secs,
        "within_stripe_limits": STRIPE_MIN_EXPIRY_SECONDS <= secs <= STRIPE_MAX_EXPIRY_SECONDS,
    }
