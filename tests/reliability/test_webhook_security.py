"""The webhook endpoint under attack and under failure: forged, replayed and malformed requests change
nothing; duplicates and reorders never fulfil twice; a crash around the commit loses no payment."""

import json
import time

import pytest
from freezegun import freeze_time
from hypothesis import given, settings
from hypothesis import strategies as st
from reliability_helpers import DAY, HOUR
from rig import Rig

from blastpay.emulator.webhooks import signature_header
from blastpay.flows import webhook_matcher
from blastpay.flows.invariants import check_invariants
from blastpay.flows.order_models import Anomaly, OrderSpec, ProcessedEvent
from blastpay.flows.orders import OrderStore
from blastpay.flows.webhook_matcher import WebhookMatcher


@pytest.fixture
def rig():
    r = Rig()
    yield r
    r.close()


@pytest.fixture
def paid_event(rig):
    """An order whose session was paid with webhook delivery switched off: (order, the genuine event body)."""
    (order,) = rig.orders()
    session_id = rig.open(rig.token(order.id))
    rig.emu.set_faults(webhook="drop", count=1)
    rig.emu.pay(session_id)
    assert rig.store.get_order(order.id).status == "pending"
    return order, rig.event_body("checkout.session.completed")


def refusals(rig, body):
    now = int(time.time())
    return {
        "unsigned": (body, None),
        "empty signature": (body, ""),
        "garbage signature": (body, "garbage"),
        "v0 scheme only": (body, rig.sign(body).replace("v1=", "v0=")),
        "wrong secret": (body, rig.sign(body, secret="whsec_" + "x" * 32)),
        "signature of another body": (body, rig.sign(body + b" ")),
        "body changed after signing": (body.replace(b'"paid"', b'"unpaid"', 1), rig.sign(body)),
        "old timestamp re-signed (replay)": (body, rig.sign(body, timestamp=now - 301)),
        "a day old": (body, rig.sign(body, timestamp=now - DAY)),
        "timestamp not a number": (body, rig.sign(body).replace(f"t={now}", "t=soon", 1)),
        "signed non-JSON": (b"not json", rig.sign(b"not json")),
        "signed JSON array": (b"[]", rig.sign(b"[]")),
        "signed event without data.object": (b'{"id":"evt_1","type":"checkout.session.completed","data":{}}',
                                            rig.sign(b'{"id":"evt_1","type":"checkout.session.completed","data":{}}')),
        "signed event with a numeric object id": (
            body.replace(b'"object": {"id": "cs_', b'"object": {"id": 1, "x": "cs_', 1),
            rig.sign(body.replace(b'"object": {"id": "cs_', b'"object": {"id": 1, "x": "cs_', 1))),
        "signed non-UTF-8": (b"\xff\xfe" + body, rig.sign(b"\xff\xfe" + body)),
    }


def test_forged_replayed_and_malformed_requests_are_400_and_change_nothing(rig, paid_event):
    order, body = paid_event
    assert b'"object": {"id": "cs_' in body  # the numeric-id case below really rewrites the body
    before = rig.snapshot()
    for name, (payload, signature) in refusals(rig, body).items():
        response = rig.post(payload, signature)
        assert response.status_code == 400, name
        assert response.json()["error"], name
        assert rig.snapshot() == before, f"{name} changed the database"
    assert rig.post(body, rig.sign(body)).json()["outcome"] == "paid"  # the genuine event still applies
    assert check_invariants(rig) == []


def test_a_captured_genuine_delivery_replayed_later_is_refused(rig):
    (order,) = rig.orders()
    rig.emu.pay(rig.open(rig.token(order.id)))
    assert rig.store.get_order(order.id).status == "paid"
    headers, body = rig.captured[-1]
    before = rig.snapshot()
    assert rig.post(body, headers["Stripe-Signature"]).json()["outcome"] == "duplicate"  # within tolerance: no-op
    # Six minutes later the same bytes are past the tolerance. (The clock is frozen around the matcher
    # itself: the HTTP handler runs in a worker thread, where freezegun deliberately keeps real time.)
    matcher = WebhookMatcher(rig.store, secrets=[rig.secret], clock=rig.emu.now)
    with freeze_time(time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(time.time() + 360))):
        with pytest.raises(webhook_matcher.WebhookRejected, match="signature does not verify"):
            matcher.handle(body, headers["Stripe-Signature"])
    assert rig.snapshot() == before


def test_emulator_duplicates_and_reorders_never_fulfil_twice(rig):
    orders = rig.orders(3)
    sessions = [rig.open(rig.token(o.id)) for o in orders]
    rig.emu.set_faults(webhook="duplicate", count=3)
    rig.emu.pay(sessions[0])
    rig.emu.set_faults(webhook="reorder", count=2)
    rig.emu.pay(sessions[1])
    rig.stripe.v1.checkout.sessions.expire(sessions[2])  # released with the payment above, in reverse
    rig.emu.flush_webhooks()
    delivered = [d for d in rig.emu.deliveries if d["outcome"] == "delivered"]
    assert len(delivered) > len({d["event"] for d in delivered})  # some event really arrived twice
    assert [rig.store.get_order(o.id).status for o in orders] == ["paid", "paid", "pending"]
    assert rig.store.count(Anomaly) == 0
    assert check_invariants(rig) == []


def _session_object(order_id: int, session_id: str, amount: int = 15000, payment_status: str = "paid") -> dict:
    return {"id": session_id, "object": "checkout.session", "amount_total": amount, "currency": "usd",
            "metadata": {"order_id": str(order_id)}, "client_reference_id": f"order_{order_id}",
            "payment_status": payment_status, "payment_link": None, "after_expiration": None}


# One order, three sessions: A paid by card, B by a delayed method (completed unpaid, then succeeded),
# C expired unpaid. Each is one Stripe event with its own id.
EVENTS = {
    "completed A (card)": ("checkout.session.completed", "cs_A", "paid"),
    "completed B (delayed method)": ("checkout.session.completed", "cs_B", "unpaid"),
    "async succeeded B": ("checkout.session.async_payment_succeeded", "cs_B", "paid"),
    "expired C": ("checkout.session.expired", "cs_C", "unpaid"),
}


@settings(max_examples=60, derandomize=True, deadline=None)
@given(st.lists(st.sampled_from(sorted(EVENTS)), min_size=1, max_size=8))
def test_any_order_and_repetition_of_events_fulfils_at_most_once(deliveries):
    """Events for one order, delivered in any order, any number of times (a redelivery keeps its event
    id): the order is paid once, by the first paying session to arrive; a second paying session is
    recorded as one double-payment anomaly, however often it is redelivered."""
    store = OrderStore("sqlite://")
    try:
        (order,) = store.create_orders([OrderSpec(parent_id=1, player_id=1, product_id="p", amount=15000)], now=0)
        matcher = WebhookMatcher(store, secrets=["whsec_x"], clock=lambda: 1000)
        paying = []
        for name in deliveries:
            etype, sid, status = EVENTS[name]
            event = {"id": "evt_" + "".join(ch for ch in name if ch.isalnum()), "type": etype,
                     "data": {"object": _session_object(order.id, sid, payment_status=status)}}
            body = json.dumps(event).encode()
            outcome = matcher.handle(body, signature_header("whsec_x", body, int(time.time())))
            if outcome.outcome == "paid":
                paying.append(sid)
        first_paying = next((EVENTS[n][1] for n in deliveries if EVENTS[n][2] == "paid"), None)
        final = store.get_order(order.id)
        if first_paying is None:
            assert final.status == "pending" and paying == []
        else:
            assert final.status == "paid" and final.paid_via == first_paying and paying == [first_paying]
        kinds = [a.kind for a in store.anomalies()]
        sessions_paid = {EVENTS[n][1] for n in deliveries if EVENTS[n][2] == "paid"}
        assert kinds == (["double_payment"] if sessions_paid == {"cs_A", "cs_B"} else [])
        assert all(a.stripe_object_id != first_paying for a in store.anomalies())
        assert store.count(ProcessedEvent) == len(set(deliveries))
    finally:
        store.dispose()


def test_crash_after_commit_before_acknowledging_loses_nothing(rig, monkeypatch):
    """The handler commits the payment, then the process dies before answering 2xx. Stripe retries;
    the redelivery finds the event recorded and acknowledges it; the order is paid exactly once."""
    (order,) = rig.orders()
    session_id = rig.open(rig.token(order.id))
    real = WebhookMatcher.handle

    def commit_then_crash(self, payload, sig):
        real(self, payload, sig)
        raise RuntimeError("process killed after commit")

    monkeypatch.setattr(WebhookMatcher, "handle", commit_then_crash)
    rig.emu.pay(session_id)
    (first,) = rig.emu.deliveries
    assert (first["status"], first["outcome"]) == (500, "retrying")
    assert rig.store.get_order(order.id).status == "paid"  # committed before the crash
    monkeypatch.setattr(WebhookMatcher, "handle", real)  # the process restarts
    rig.emu.advance(HOUR)
    assert [(d["attempt"], d["outcome"]) for d in rig.emu.deliveries] == [(1, "retrying"), (2, "delivered")]
    with rig.store.transaction() as s:
        (event,) = s.query(ProcessedEvent).all()
        assert event.outcome == "paid"
    assert rig.store.count(Anomaly) == 0 and check_invariants(rig) == []


@pytest.mark.parametrize("crash_point", ["mark_paid", "enqueue_cleanup", "set_object_status"])
def test_crash_before_commit_writes_nothing_and_the_retry_pays(rig, monkeypatch, crash_point):
    (order,) = rig.orders()
    session_id = rig.open(rig.token(order.id))
    before = rig.snapshot()

    def crash(*args, **kwargs):
        raise RuntimeError(f"process killed in {crash_point}")

    real = getattr(webhook_matcher, crash_point)
    monkeypatch.setattr(webhook_matcher, crash_point, crash)
    rig.emu.pay(session_id)
    assert rig.emu.deliveries[0]["status"] == 500
    assert rig.snapshot() == before  # rolled back: no event row, no half-paid order
    assert check_invariants(rig) != []  # Stripe captured a payment the store does not know yet
    monkeypatch.setattr(webhook_matcher, crash_point, real)
    rig.emu.advance(HOUR)
    assert rig.store.get_order(order.id).status == "paid" and rig.store.count(ProcessedEvent) == 1
    assert check_invariants(rig) == []


def test_endpoint_down_for_two_days_then_back_reconciles(rig, monkeypatch):
    orders = rig.orders(4)
    sessions = [rig.open(rig.token(o.id)) for o in orders]
    monkeypatch.setattr(WebhookMatcher, "handle", lambda self, p, s: (_ for _ in ()).throw(ConnectionError("down")))
    for sid in sessions[:3]:
        rig.emu.pay(sid)
    rig.emu.advance(2 * DAY)
    assert all(rig.store.get_order(o.id).status == "pending" for o in orders)
    monkeypatch.undo()
    rig.emu.advance(DAY)  # retries continue for three days; the first after the outage applies each payment
    assert [rig.store.get_order(o.id).status for o in orders] == ["paid", "paid", "paid", "pending"]
    assert check_invariants(rig) == []
