"""Injected API failures (the next N calls, or a seeded fraction, of a route fail) and added latency.

Latency is real wall time added to a route's answer (``latency_ms``, optionally ``latency_p99_ms``
for a seeded log-normal spread), for load tests at Stripe's own latency; the door sleeps outside
the backend's lock, so other calls proceed meanwhile. Simulated time is not touched.
"""
from __future__ import annotations

import math
import random
import re
import threading
from dataclasses import dataclass
from typing import Any

from blastpay.emulator.errors import invalid

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


Z99 = 2.3263478740408408  # the standard normal's 99th percentile


@dataclass
class RouteLatency:
    method: str | None
    pattern: re.Pattern[str]
    median: float  # seconds
    sigma: float  # of the log-normal; 0 = always the median
    rng: random.Random

    def sample(self) -> float:
        if self.sigma == 0:
            return self.median
        return self.median * math.exp(self.sigma * self.rng.gauss(0.0, 1.0))


class FaultPlan:
    def __init__(self, seed: int) -> None:
        self.seed = seed
        self.rules: list[RouteFault] = []
        self.latencies: list[RouteLatency] = []
        self._lock = threading.Lock()

    def clear(self) -> None:
        self.rules.clear()
        self.latencies.clear()

    def add_latency(self, route: str, latency_ms: int, p99_ms: int | None, seed: int | None) -> None:
        """Delay answers of ``route`` by ``latency_ms`` (the median); with ``p99_ms``, a log-normal spread."""
        if p99_ms is not None and p99_ms < latency_ms:
            raise invalid("latency_p99_ms must be at least latency_ms (the median).", param="latency_p99_ms")
        sigma = 0.0
        if p99_ms is not None and latency_ms > 0 and p99_ms > latency_ms:
            sigma = (math.log(p99_ms) - math.log(latency_ms)) / Z99
        method, pattern = route_pattern(route)
        rng = random.Random(self.seed if seed is None else seed)
        self.latencies.append(RouteLatency(method, pattern, latency_ms / 1000.0, sigma, rng))

    def delay(self, method: str, path: str) -> float:
        """Seconds to hold this call's answer (0 when no latency rule matches)."""
        if not self.latencies:
            return 0.0
        with self._lock:
            for rule in self.latencies:
                if (rule.method is None or rule.method == method) and rule.pattern.match(path):
                    return rule.sample()
        return 0.0

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
