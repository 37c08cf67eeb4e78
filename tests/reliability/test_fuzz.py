"""Fuzzing the two public endpoints: /pay/{order_token} and POST /webhooks/stripe. Any 5xx is a failure.

Three generators, all bounded and seeded: schemathesis from the app's OpenAPI schema; a mutation fuzzer
that sends tampered real tokens and correctly signed real events with one field changed (so the
payload gets past the signature into the matcher); and hypothesis-typed fields of a signed event for a
pending order. Targeted cases pin each 500 the fuzzers found."""

import json
import time

import pytest
import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from reliability_helpers import HOUR

from blastpay.emulator.webhooks import signature_header
from blastpay.experiments.reliability import RaceRig, fuzz_app

FUZZ_SEED = 20261126
CASES = 400


@pytest.fixture
def rig():
    r = RaceRig("sqlite://")
    yield r
    r.close()


@pytest.fixture
def web(rig):
    client = TestClient(rig.app, base_url="http://backend.test", raise_server_exceptions=False)
    yield client
    client.close()


_schema_rig = RaceRig("sqlite://")
# The app serves no /openapi.json (production mode), so the schema is taken from the app object itself.
schema = schemathesis.openapi.from_dict(_schema_rig.app.openapi())
schema.app = _schema_rig.app


@schema.parametrize()
@settings(max_examples=150, derandomize=True, deadline=None,
          suppress_health_check=list(HealthCheck))
def test_schemathesis_finds_no_server_error(case):
    response = case.call()
    assert response.status_code < 500, (case.path, case.path_parameters, response.status_code)


def test_mutation_fuzzer_finds_no_server_error(rig, web):
    result = fuzz_app(rig, web, cases=CASES, seed=FUZZ_SEED)
    assert result.cases == CASES
    assert result.server_errors == 0, result.statuses
    # The fuzzer reached every outcome: refused (400), applied or ignored (200), unknown token (404).
    assert {200, 400, 404} <= set(result.statuses)


JSON = st.recursive(st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
                    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
                    max_leaves=6)
FIELDS = ["amount_total", "currency", "payment_status", "metadata", "client_reference_id", "payment_link",
          "recovered_from", "after_expiration"]


def _post_signed(rig, web, event):
    body = json.dumps(event).encode()
    return web.post("/webhooks/stripe", content=body,
                    headers={"Stripe-Signature": signature_header(rig.secret, body, int(time.time()))})


@settings(max_examples=200, derandomize=True, deadline=None, suppress_health_check=list(HealthCheck),
          phases=[Phase.explicit, Phase.reuse, Phase.generate])  # no shrinking: the pinned cases below are minimal
@given(st.sampled_from(["checkout.session.completed", "checkout.session.async_payment_succeeded",
                        "checkout.session.expired", "checkout.session.async_payment_failed"]),
       st.dictionaries(st.sampled_from(FIELDS), JSON, min_size=1, max_size=4))
def test_signed_events_with_any_field_types_never_500(rig, web, etype, fields):
    order_id, _ = rig.new_order()
    obj = {"id": "cs_fuzz", "object": "checkout.session", "amount_total": 15000, "currency": "usd",
           "payment_status": "paid", "metadata": {"order_id": str(order_id)}, **fields}
    response = _post_signed(rig, web, {"id": f"evt_{order_id}", "type": etype, "data": {"object": obj}})
    assert response.status_code in (200, 400), response.text


# -- the cases the fuzzers found, pinned -------------------------------------------------------------

def _pending_order_event(rig, etype, **fields):
    order_id, _ = rig.new_order()
    obj = {"id": f"cs_{order_id}", "amount_total": 15000, "currency": "usd", "payment_status": "paid",
           "metadata": {"order_id": str(order_id)}, **fields}
    return {"id": f"evt_{order_id}", "type": etype, "data": {"object": obj}}


def test_non_string_currency_is_refused_or_recorded_not_500(rig, web):
    assert _post_signed(rig, web, _pending_order_event(rig, "checkout.session.completed", currency=True)).status_code < 500


@pytest.mark.parametrize("after", ["junk", {"recovery": "junk"}, [1]])
def test_malformed_after_expiration_is_not_500(rig, web, after):
    event = _pending_order_event(rig, "checkout.session.expired", after_expiration=after)
    assert _post_signed(rig, web, event).status_code < 500


@pytest.fixture
def pg_rig(postgres_url):
    r = RaceRig(postgres_url)
    yield r
    r.close()


def test_out_of_range_order_reference_from_a_product_link_is_recorded_on_postgres(postgres_url):
    from blastpay.emulator import Emulator
    from blastpay.flows.harness import build_flow
    from blastpay.flows.order_models import OrderSpec

    emu = Emulator(seed=0)
    flow = build_flow("payment_link_per_product", emulator=emu, database_url=postgres_url)
    try:
        (order,) = flow.create_orders([OrderSpec(parent_id=1, player_id=1, product_id="p", amount=15000)])
        url = flow.blast([order])[order.id].url
        emu.advance(HOUR)
        forged = url.replace(f"order_{order.id}", "order_99999999999999")
        seen = emu.visit(forged)
        emu.pay(seen["session"])
        assert emu.deliveries[-1]["status"] == 200
        assert [a.kind for a in flow.store.anomalies()] == ["unmatched_payment"]
    finally:
        flow.close()


def test_non_integer_recovery_expiry_is_not_500_on_postgres(pg_rig):
    web = TestClient(pg_rig.app, base_url="http://backend.test", raise_server_exceptions=False)
    event = _pending_order_event(pg_rig, "checkout.session.expired",
                                 after_expiration={"recovery": {"url": "https://x.test/r", "expires_at": "soon"}})
    assert _post_signed(pg_rig, web, event).status_code < 500


def test_overlong_event_id_is_not_500_on_postgres(pg_rig):
    web = TestClient(pg_rig.app, base_url="http://backend.test", raise_server_exceptions=False)
    event = _pending_order_event(pg_rig, "checkout.session.completed", payment_status="unpaid")
    event["id"] = "evt_" + "x" * 300
    assert _post_signed(pg_rig, web, event).status_code < 500
