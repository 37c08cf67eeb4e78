"""Injected API faults, over both doors."""
from __future__ import annotations

import pytest
import stripe

from blastpay.emulator import Emulator, EmulatorError


def test_api_faults_raise_sdk_exceptions(door):
    customers = door.client.v1.customers
    door.set_faults(route="POST /v1/customers", error="500", count=1)
    with pytest.raises(stripe.APIError) as server_error:
        customers.create({"name": "a"})
    assert server_error.value.http_status == 500
    assert customers.create({"name": "b"}).name == "b"

    door.set_faults(route="POST /v1/customers", error="429", count=2)
    for _ in range(2):
        with pytest.raises(stripe.RateLimitError):
            customers.create({"name": "c"})
    assert customers.create({"name": "d"}).name == "d"

    door.set_faults(route="GET /v1/customers/*", error="drop", count=1)
    created = customers.create({"name": "e"})
    with pytest.raises(stripe.APIConnectionError):
        customers.retrieve(created.id)
    assert customers.retrieve(created.id).name == "e"
    assert [c.name for c in customers.list().data] == ["e", "d", "b"]


def test_rate_faults_hit_a_seeded_fraction_and_clear(door):
    door.set_faults(route="GET /v1/customers", error="500", rate=1.0)
    with pytest.raises(stripe.APIError):
        door.client.v1.customers.list()
    door.set_faults(clear=True)
    assert door.client.v1.customers.list().data == []


def test_rate_fault_pattern_is_reproducible():
    def pattern() -> list[bool]:
        emu = Emulator(seed=11)
        emu.set_faults(route="*", error="500", rate=0.5, seed=3)
        client = emu.client()
        outcome = []
        for _ in range(40):
            try:
                client.v1.customers.list()
                outcome.append(True)
            except stripe.APIError:
                outcome.append(False)
        return outcome

    first = pattern()
    assert first == pattern()
    assert 5 < first.count(False) < 35


@pytest.mark.parametrize(
    "spec, param",
    [
        ({"route": "POST /v1/customers", "error": "418", "count": 1}, "error"),
        ({"route": "/not-api", "error": "500", "count": 1}, "route"),
        ({"route": "POST /v1/customers", "error": "500"}, "count"),
        ({"webhook": "reorder", "count": 1}, "count"),
        ({"webhook": "explode"}, "webhook"),
        ({"colour": "red"}, "colour"),
    ],
)
def test_bad_fault_specs_are_refused(door, spec, param):
    with pytest.raises(EmulatorError) as caught:
        door.set_faults(**spec)
    assert caught.value.status == 400
    assert caught.value.param == param
