"""Webhook endpoints, signing and delivery, over both doors."""
from __future__ import annotations

import json
from typing import Any

import pytest
import stripe

DAY = 24 * 3600


def header(headers: dict[str, str], name: str) -> str:
    return next(v for k, v in headers.items() if k.lower() == name.lower())


def expire_one(door: Any, price: Any) -> str:
    session = door.client.v1.checkout.sessions.create(
        {"mode": "payment", "line_items": [{"price": price.id, "quantity": 1}]}
    )
    door.client.v1.checkout.sessions.expire(session.id)
    return session.id


def test_webhook_endpoint_secret_only_on_create(door):
    created = door.client.v1.webhook_endpoints.create({"url": door.hook_url, "enabled_events": ["checkout.session.completed"]})
    assert created.secret.startswith("whsec_")
    fetched = door.client.v1.webhook_endpoints.retrieve(created.id)
    assert "secret" not in fetched
    assert fetched.enabled_events == ["checkout.session.completed"]
    with pytest.raises(stripe.InvalidRequestError) as caught:
        door.client.v1.webhook_endpoints.create({"url": "not a url", "enabled_events": ["*"]})
    assert caught.value.param == "url"
    with pytest.raises(stripe.InvalidRequestError) as missing:
        door.client.v1.webhook_endpoints.create({"url": door.hook_url})
    assert missing.value.param == "enabled_events"


def test_webhook_signature_verifies_with_construct_event(door, price, hook):
    door.advance(3 * DAY)
    session_id = expire_one(door, price)
    ((headers, body),) = door.sink.received
    event = stripe.Webhook.construct_event(body, header(headers, "Stripe-Signature"), hook.secret)
    assert event.type == "checkout.session.expired"
    assert event.data.object.id == session_id
    assert event.created == door.now()
    tampered = body.replace(session_id.encode(), b"cs_test_forged")
    with pytest.raises(stripe.SignatureVerificationError):
        stripe.Webhook.construct_event(tampered, header(headers, "Stripe-Signature"), hook.secret)
    with pytest.raises(stripe.SignatureVerificationError):
        stripe.Webhook.construct_event(body, header(headers, "Stripe-Signature"), "whsec_wrong")


def test_endpoint_receives_only_enabled_events(door, price):
    door.client.v1.webhook_endpoints.create({"url": door.hook_url, "enabled_events": ["checkout.session.completed"]})
    expire_one(door, price)
    session = door.client.v1.checkout.sessions.create({"line_items": [{"price": price.id, "quantity": 1}]})
    door.pay(session.id)
    assert door.sink.types() == ["checkout.session.completed"]
    with pytest.raises(stripe.InvalidRequestError):
        door.client.v1.webhook_endpoints.create({"url": door.hook_url, "enabled_events": ["not an event"]})


def _expected_attempt_offsets() -> list[int]:
    offsets, delays = [0], [60, 180, 540, 1620, 4860, 14580]
    while True:
        step = delays[len(offsets) - 1] if len(offsets) - 1 < len(delays) else 12 * 3600
        if offsets[-1] + step > 3 * DAY:
            return offsets
        offsets.append(offsets[-1] + step)


def test_failed_delivery_retried_over_three_days(door, price, hook):
    door.sink.status = 500
    start = door.now()
    expire_one(door, price)
    door.advance(10 * DAY)
    attempts = [d for d in door.deliveries() if d["type"] == "checkout.session.expired"]
    assert [d["at"] - start for d in attempts] == _expected_attempt_offsets()
    assert [d["attempt"] for d in attempts] == list(range(1, len(attempts) + 1))
    assert all(d["status"] == 500 for d in attempts)
    assert [d["outcome"] for d in attempts] == ["retrying"] * (len(attempts) - 1) + ["failed"]
    assert attempts[-1]["at"] - start <= 3 * DAY
    assert len(door.sink.received) == len(attempts)


def test_retry_stops_after_a_2xx(door, price, hook):
    door.sink.status = 503
    expire_one(door, price)
    door.advance(60 + 180 - 1)
    assert [d["outcome"] for d in door.deliveries()] == ["retrying", "retrying"]
    door.sink.status = 200
    door.advance(1)
    door.advance(5 * DAY)
    assert [d["outcome"] for d in door.deliveries()] == ["retrying", "retrying", "delivered"]


def test_at_most_16_webhook_endpoints(door):
    for n in range(16):
        door.client.v1.webhook_endpoints.create({"url": f"{door.hook_url}?n={n}", "enabled_events": ["*"]})
    with pytest.raises(stripe.InvalidRequestError):
        door.client.v1.webhook_endpoints.create({"url": door.hook_url, "enabled_events": ["*"]})
    first = door.client.v1.webhook_endpoints.list({"limit": 100}).data[-1]
    assert door.client.v1.webhook_endpoints.delete(first.id).deleted is True
    door.client.v1.webhook_endpoints.create({"url": door.hook_url, "enabled_events": ["*"]})


def test_webhook_faults_duplicate_delay_reorder_drop(door, price, hook):
    door.set_faults(webhook="duplicate", count=1)
    duplicated = expire_one(door, price)
    assert [e["data"]["object"]["id"] for e in door.sink.events()] == [duplicated, duplicated]

    door.sink.received.clear()
    door.set_faults(webhook="delay", count=1, seconds=600)
    delayed = expire_one(door, price)
    assert door.sink.received == []
    door.advance(599)
    assert door.sink.received == []
    door.advance(1)
    assert [e["data"]["object"]["id"] for e in door.sink.events()] == [delayed]

    door.sink.received.clear()
    door.set_faults(webhook="reorder", count=3)
    made = [expire_one(door, price) for _ in range(3)]
    assert [e["data"]["object"]["id"] for e in door.sink.events()] == made[::-1]

    door.sink.received.clear()
    door.set_faults(webhook="drop", count=1)
    dropped = expire_one(door, price)
    kept = expire_one(door, price)
    assert [e["data"]["object"]["id"] for e in door.sink.events()] == [kept]
    assert any(d["outcome"] == "dropped" and d["event"] for d in door.deliveries())
    listed = door.client.v1.events.list({"type": "checkout.session.expired", "limit": 2})
    assert [e.data.object.id for e in listed.data] == [kept, dropped]


def test_handler_may_call_back_into_the_emulator(door, price):
    """Delivery happens after the state lock is released, so a handler can use the API."""
    door.client.v1.webhook_endpoints.create({"url": door.hook_url, "enabled_events": ["checkout.session.completed"]})
    session = door.client.v1.checkout.sessions.create({"line_items": [{"price": price.id, "quantity": 1}]})
    seen: list[str] = []
    original = door.sink.accept

    def accept_and_look_up(headers: dict[str, str], body: bytes) -> int:
        event = json.loads(body)
        seen.append(door.client.v1.checkout.sessions.retrieve(event["data"]["object"]["id"]).status)
        return original(headers, body)

    door.sink.accept = accept_and_look_up
    try:
        door.pay(session.id)
    finally:
        door.sink.accept = original
    assert seen == ["complete"]
