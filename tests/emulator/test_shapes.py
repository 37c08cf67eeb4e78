"""Object shapes against Stripe's own fixture objects (stripe/openapi fixtures3.json), resource by resource.

The fixture file defaults to the copy vendored beside the emulator (``emulator/reference/``);
``BLASTPAY_STRIPE_FIXTURES=/path/to/fixtures3.json`` compares against another (a newer one dropped in
shows exactly which keys or types changed). Objects are read as raw JSON through the SDK's
``raw_request``, over both doors.
"""
from __future__ import annotations

import os
from typing import Any

import pytest

from blastpay.emulator.shapes import LIST_KEYS, coverage, load_fixtures, sample_objects

FIXTURES = load_fixtures(os.environ.get("BLASTPAY_STRIPE_FIXTURES"))


def collect(door: Any) -> dict[str, list[dict[str, Any]]]:
    return sample_objects(door.client, door.pay, door.hook_url)


@pytest.fixture
def shapes(door: Any) -> dict[str, dict[str, Any]]:
    return coverage(collect(door), FIXTURES)


@pytest.mark.parametrize("kind", ["product", "price", "customer", "checkout.session", "item", "payment_link",
                                  "payment_intent", "event", "webhook_endpoint", "subscription", "invoice",
                                  "line_item", "tax.registration"])
def test_every_fixture_key_with_its_json_type(shapes, kind):
    found = shapes[kind]
    assert found["objects"] > 0
    assert found["missing"] == [], f"{kind} lacks {found['missing']}"
    assert found["mistyped"] == [], f"{kind} has other JSON types: {found['mistyped']}"


def test_list_envelopes_have_stripes_keys(door):
    for page in collect(door)["list"]:
        assert list(page) == list(LIST_KEYS)
        assert isinstance(page["has_more"], bool) and isinstance(page["data"], list)


def test_a_session_reads_total_details_and_automatic_tax_as_on_stripe(door, price):
    session = door.client.v1.checkout.sessions.create(
        {"mode": "payment", "line_items": [{"price": price.id, "quantity": 2}]})
    assert session.total_details.amount_tax == 0
    assert session.automatic_tax.enabled is False
    assert session.payment_method_types == ["card"]
    assert session.invoice_creation.enabled is False
    customer = door.client.v1.customers.create({"email": "a@example.test"})
    assert customer.invoice_settings.default_payment_method is None
    assert customer.balance == 0
