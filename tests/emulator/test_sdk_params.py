"""Every parameter the SDK's typed classes define, for every route the emulator serves: modelled or refused.

For each (route, parameter) the test sends that parameter alone (with placeholders for the path's id) and
checks that it is either accepted by the route's schema (modelled) or refused with ``invalid_request_error``,
code ``parameter_unsupported``, naming it. A name outside the SDK stays Stripe's ``Received unknown parameter``.
"""
from __future__ import annotations

import json
from typing import Any

import pytest

from blastpay.emulator import Emulator
from blastpay.emulator.sdk_params import SDK_PARAMS, sdk_parameters

CASES = [(method, route, name) for (method, route) in SDK_PARAMS for name in sorted(sdk_parameters(method, route))]


@pytest.fixture(scope="module")
def emu() -> Emulator:
    return Emulator(seed=9)


def _send(emu: Emulator, method: str, route: str, name: str) -> tuple[int, dict[str, Any]]:
    path = route.replace("{id}", "obj_does_not_exist")
    body = f"{name}=x".encode() if method in ("POST", "DELETE") else b""
    query = f"{name}=x" if method == "GET" else ""
    response = emu._wire.handle(method, path, query, {"Authorization": "Bearer sk_test_params"}, body)
    return response.status, json.loads(response.body)


def _schema(emu: Emulator, method: str, route: str) -> dict[str, Any]:
    for candidate in emu._wire.routes:
        if candidate.method == method and candidate.template == route:
            return candidate.schema
    raise AssertionError(f"the emulator does not serve {method} {route}")


@pytest.mark.parametrize(("method", "route", "name"), CASES, ids=[f"{m} {r} {n}" for m, r, n in CASES])
def test_every_sdk_parameter_is_modelled_or_refused_by_name(emu, method, route, name):
    schema = _schema(emu, method, route)
    status, body = _send(emu, method, route, name)
    error = body.get("error", {})
    if name in schema:  # modelled: whatever the answer, it is not a refusal of the name
        assert error.get("code") not in ("parameter_unsupported", "parameter_unknown"), error
    else:
        assert status == 400
        assert error["type"] == "invalid_request_error"
        assert error["code"] == "parameter_unsupported"
        assert error["param"] == name
        assert name in error["message"] and "emulator" in error["message"]


@pytest.mark.parametrize(("method", "route"), list(SDK_PARAMS))
def test_the_emulator_accepts_nothing_the_sdk_does_not_define(emu, method, route):
    extra = set(_schema(emu, method, route)) - sdk_parameters(method, route)
    assert extra == set()


def test_a_name_outside_the_sdk_is_stripes_unknown_parameter(emu):
    status, body = _send(emu, "POST", "/v1/customers", "favourite_colour")
    assert status == 400
    assert body["error"]["code"] == "parameter_unknown"
    assert body["error"]["message"] == "Received unknown parameter: favourite_colour"


def test_session_options_are_echoed_not_dropped():
    client = Emulator(seed=2).client()
    price = client.v1.prices.create({"currency": "usd", "unit_amount": 100, "product_data": {"name": "Fee"}})
    options = {"locale": "fr", "submit_type": "donate",
               "billing_address_collection": "required", "customer_creation": "always", "allow_promotion_codes": True}
    session = client.v1.checkout.sessions.create({"line_items": [{"price": price.id, "quantity": 1}], **options})
    for key, value in options.items():
        assert session[key] == value, key
    link = client.v1.payment_links.create({"line_items": [{"price": price.id, "quantity": 1}], "submit_type": "pay",
                                           "billing_address_collection": "required", "allow_promotion_codes": True})
    assert (link.submit_type, link.billing_address_collection, link.allow_promotion_codes) == ("pay", "required", True)


def test_payment_method_types_is_not_a_session_parameter_at_this_api_version():
    """stripe 16.1.0 (API 2026-10-28.endive) has no payment_method_types on session create."""
    status, body = _send(Emulator(), "POST", "/v1/checkout/sessions", "payment_method_types")
    assert status == 400 and body["error"]["code"] == "parameter_unknown"


def test_an_unsupported_parameter_through_the_sdk_raises_invalid_request_error():
    import stripe

    client = Emulator(seed=2).client()
    with pytest.raises(stripe.InvalidRequestError) as caught:
        client.v1.customers.create({"tax_exempt": "exempt"})
    assert caught.value.param == "tax_exempt"
    assert caught.value.code == "parameter_unsupported"
