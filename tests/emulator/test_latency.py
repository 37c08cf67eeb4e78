"""Injected latency (issue 17): a route's answers are held for real wall time without serialising others."""
from __future__ import annotations

import json
import statistics
import threading
import time
import urllib.parse
import urllib.request
from typing import Any

import pytest

from blastpay.emulator import Emulator
from blastpay.emulator.errors import EmulatorError
from blastpay.emulator.faults import FaultPlan

KEY = {"Authorization": "Bearer sk_test_latency"}


def call(base: str, method: str, path: str, form: dict[str, Any] | None = None) -> tuple[int, float]:
    data = urllib.parse.urlencode(form or {}).encode() if method == "POST" else None
    request = urllib.request.Request(base + path, data=data, method=method, headers=KEY)
    started = time.monotonic()
    with urllib.request.urlopen(request, timeout=10) as response:
        response.read()
        return response.status, time.monotonic() - started


@pytest.fixture(scope="module")
def served() -> Any:
    emu = Emulator(seed=11)
    with emu.serve("127.0.0.1", 0) as handle:
        client_price = emu.client().v1.prices.create(
            {"currency": "usd", "unit_amount": 500, "product_data": {"name": "Fee"}})
        yield handle.base_url, client_price.id


def session_form(price_id: str) -> dict[str, str]:
    return {"line_items[0][price]": price_id, "line_items[0][quantity]": "1"}


def set_faults(base: str, **form: Any) -> dict[str, Any]:
    request = urllib.request.Request(base + "/_sandbox/faults", data=json.dumps(form).encode(),
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read())


def test_two_delayed_session_creates_overlap_instead_of_queueing(served):
    base, price_id = served
    set_faults(base, clear="true")
    set_faults(base, route="POST /v1/checkout/sessions", latency_ms=300)
    results: list[tuple[int, float]] = []
    threads = [threading.Thread(target=lambda: results.append(call(base, "POST", "/v1/checkout/sessions",
                                                                   session_form(price_id)))) for _ in range(2)]
    started = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=10)
    wall = time.monotonic() - started
    assert [status for status, _ in results] == [200, 200]
    assert all(took >= 0.29 for _, took in results)  # each answer was held for the latency
    assert wall < 0.55  # both waited at the same time: one after the other would take at least 0.6 s
    set_faults(base, clear="true")


def test_other_routes_answer_while_a_delayed_call_waits(served):
    base, price_id = served
    set_faults(base, clear="true")
    set_faults(base, route="POST /v1/checkout/sessions", latency_ms=400)
    slow = threading.Thread(target=call, args=(base, "POST", "/v1/checkout/sessions", session_form(price_id)))
    slow.start()
    time.sleep(0.05)  # real time, to let the slow call reach its wait (the simulated clock is not involved)
    status, took = call(base, "GET", "/v1/customers")
    slow.join(timeout=10)
    assert status == 200
    assert took < 0.3
    set_faults(base, clear="true")


def test_a_fault_without_latency_does_not_delay(served):
    base, price_id = served
    set_faults(base, clear="true")
    set_faults(base, route="POST /v1/customers", error="500", count=1)
    _, took = call(base, "POST", "/v1/checkout/sessions", session_form(price_id))
    assert took < 0.25
    set_faults(base, clear="true")
    _, took = call(base, "POST", "/v1/checkout/sessions", session_form(price_id))
    assert took < 0.25


def test_latency_does_not_move_simulated_time(served):
    base, price_id = served
    set_faults(base, clear="true")
    with urllib.request.urlopen(base + "/_sandbox/clock", timeout=5) as response:
        before = json.loads(response.read())["now"]
    set_faults(base, route="POST /v1/checkout/sessions", latency_ms=100)
    call(base, "POST", "/v1/checkout/sessions", session_form(price_id))
    with urllib.request.urlopen(base + "/_sandbox/clock", timeout=5) as response:
        assert json.loads(response.read())["now"] == before
    set_faults(base, clear="true")


def test_p99_gives_a_seeded_log_normal_with_that_median_and_p99():
    plan = FaultPlan(seed=3)
    plan.add_latency("POST /v1/checkout/sessions", 300, 900, seed=5)
    draws = sorted(plan.delay("POST", "/v1/checkout/sessions") for _ in range(20_000))
    assert statistics.median(draws) == pytest.approx(0.300, rel=0.05)
    assert draws[int(0.99 * len(draws))] == pytest.approx(0.900, rel=0.08)
    assert first_draw(seed=5) == first_draw(seed=5) != first_draw(seed=6)  # the seed fixes the sequence
    assert plan.delay("GET", "/v1/customers") == 0.0


def first_draw(seed: int) -> float:
    plan = FaultPlan(seed=0)
    plan.add_latency("POST /v1/checkout/sessions", 300, 900, seed=seed)
    return plan.delay("POST", "/v1/checkout/sessions")


def test_latency_rules_are_refused_when_inconsistent():
    emu = Emulator()
    with pytest.raises(EmulatorError) as caught:
        emu.set_faults(route="POST /v1/checkout/sessions", latency_ms=300, latency_p99_ms=100)
    assert "latency_p99_ms" in str(caught.value)
    with pytest.raises(EmulatorError, match="latency_p99_ms needs latency_ms"):
        emu.set_faults(route="POST /v1/checkout/sessions", latency_p99_ms=100)
