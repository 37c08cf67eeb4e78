"""Injected API failures: the next N calls (or a seeded fraction) of a route fail."""
from __future__ import annotations

import random
import re
from dataclasses import dataclass
from typing import Any

from .errors import invalid

API_ERRORS = ("500", "429", "drop")
WEBHOOK_FAULTS = ("delay", "duplicate", "reorder", "drop")


@dataclass
class RouteFault:
    method: str | None
    pattern: re.Pattern[str]
    error: str
    remaining: int | None
    rate: float | None
    rng: random.Random

    def fires(self, method: str, path: str) -> bool:
        if self.method is not None and self.method != method:
            return False
        if not self.pattern.match(path):
            return False
        if self.remaining is not None:
            if self.remaining <= 0:
                return False
            self.remaining -= 1
            return True
        return self.rng.random() < (self.rate or 0.0)


def route_pattern(route: str) -> tuple[str | None, re.Pattern[str]]:
    """``"POST /v1/checkout/sessions/*"`` -> method and a path regex (``*`` = one segment)."""
    route = route.strip()
    if route in ("", "*"):
        return None, re.compile(r"^/v1/")
    method, _, path = route.partition(" ")
    if not path:
        method, path = "", method
    method = method.upper() or None
    if method not in (None, "GET", "POST", "DELETE"):
        raise invalid(f"Invalid route: {route!r} must look like 'POST /v1/checkout/sessions'.", param="route")
    if not path.startswith("/v1/"):
        raise invalid(f"Invalid route: {route!r}; faults apply to /v1/ routes only.", param="route")
    regex = "^" + "/".join("[^/]+" if part == "*" else re.escape(part) for part in path.rstrip("/").split("/")) + "/?$"
    return method, re.compile(regex)


class FaultPlan:
    def __init__(self, seed: int) -> None:
        self.seed = seed
        self.rules: list[RouteFault] = []

    def clear(self) -> None:
        self.rules.clear()

    def add_route_fault(self, route: str, error: str, count: int | None, rate: float | None, seed: int | None) -> None:
        if error not in API_ERRORS:
            raise invalid(f"Invalid error: must be one of {', '.join(API_ERRORS)}", param="error")
        if (count is None) == (rate is None):
            raise invalid("Give exactly one of count (the next N calls) or rate (a fraction of calls).", param="count")
        method, pattern = route_pattern(route)
        rng = random.Random(self.seed if seed is None else seed)
        self.rules.append(RouteFault(method, pattern, error, count, rate, rng))

    def check(self, method: str, path: str) -> str | None:
        for rule in self.rules:
            if rule.fires(method, path):
                return rule.error
        return None


def webhook_fault(kind: str, count: int | None, seconds: int | None) -> dict[str, Any]:
    if kind not in WEBHOOK_FAULTS:
        raise invalid(f"Invalid webhook: must be one of {', '.join(WEBHOOK_FAULTS)}", param="webhook")
    if kind == "delay" and not seconds:
        raise invalid("A delay fault needs seconds=N (simulated seconds to hold each delivery).", param="seconds")
    if kind == "reorder" and (count or 0) < 2:
        raise invalid("A reorder fault needs count >= 2 (the number of events to deliver in reverse order).", param="count")
    return {"kind": kind, "remaining": count or 1, "seconds": seconds or 0}
