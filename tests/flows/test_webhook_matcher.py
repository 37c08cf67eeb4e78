"""The webhook matcher, fed signed events directly (no emulator): signature checks, matching,
exactly-once marking, anomalies, recovery emails."""

import hashlib
import hmac
import json
import threading
import time

import pytest
from fastapi.testclient import TestClient

from blastpay.emulator.clock import DEFAULT_START
from blastpay.flows.order_models import (
    CHECKOUT_SESSION,
    PAYMENT_LINK,
    Anomaly,
    OrderSpec,
    OutboundEmail,
    ProcessedEvent,
)
from blastpay.flows.orders import OrderStore
from blastpay.flows.webhook_matcher import WEBHOOK_PATH, WebhookMatcher, create_webhook_app

SECRET = "whsec_test_matcher"
NOW = DEFAULT_START


def sign(body: bytes, secret: str = SECRET, timestamp: int | None = None) -> str:
    t = int(time.time()) if timestamp is None else timestamp
    mac = hmac.new(secret.encode(), f"{t}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={t},v1={mac}"


def session_event(event_id, obj, etype="checkout.session.completed"):
    return json.dumps({"id": event_id, "object": "event", "type": etype, "created": NOW,
                       "data": {"object": obj}}).encode()


def session(order, sid="cs_test_1", **extra):
    obj = {"id": sid, "object": "checkout.session", "amount_total": order.amount, "currency": order.currency,
           "payment_status": "paid", "status": "complete", "metadata": {"order_id": str(order.id)},
           "client_reference_id": f"order_{order.id}", "payment_link": None, "recovered_from": None}
    obj.update(extra)
    return obj


@pytest.fixture
def env(tmp_path):
    store = OrderStore(f"sqlite:///{tmp_path / 'orders.db'}")
    app = create_webhook_app(WebhookMatcher(store, secrets=[SECRET], clock=lambda: NOW))
    with TestClient(app) as web:
        yield store, web
    store.dispose()


def post(web, body, sig="default"):
    headers = {"Content-Type": "application/json"}
    if sig == "default":
        sig = sign(body)
    if sig is not None:
        headers["Stripe-Signature"] = sig
    return web.post(WEBHOOK_PATH, content=body, headers=headers)


def make_orders(store, n=1, amount=15000):
    return store.create_orders([OrderSpec(parent_id=111, player_id=i + 1, product_id="utah-invitational-2026",
                                          amount=amount) for i in range(n)], now=NOW)


def test_completed_session_marks_its_order_paid(env):
    store, web = env
    (order,) = make_orders(store)
    r = post(web, session_event("evt_1", session(order)))
    assert r.status_code == 200 and r.json()["outcome"] == "paid"
    paid = store.get_order(order.id)
    assert (paid.status, paid.paid_via, paid.paid_at) == ("paid", "cs_test_1", NOW)


@pytest.mark.parametrize("sig", [None, "", "t=1,v1=deadbeef", "garbage"], ids=["missing", "empty", "wrong", "garbage"])
def test_bad_signature_is_400_and_writes_nothing(env, sig):
    store, web = env
    (order,) = make_orders(store)
    r = post(web, session_event("evt_1", session(order)), sig=sig)
    assert r.status_code == 400
    assert store.get_order(order.id).status == "pending"
    assert store.count(ProcessedEvent) == 0 and store.count(Anomaly) == 0


def test_signature_by_another_secret_or_too_old_is_400(env):
    store, web = env
    (order,) = make_orders(store)
    body = session_event("evt_1", session(order))
    assert post(web, body, sig=sign(body, secret="whsec_other")).status_code == 400
    assert post(web, body, sig=sign(body, timestamp=int(time.time()) - 3600)).status_code == 400
    assert post(web, body + b" ", sig=sign(body)).status_code == 400  # body changed after signing
    assert store.get_order(order.id).status == "pending" and store.count(ProcessedEvent) == 0


@pytest.mark.parametrize("body,error", [
    (b"not json", "payload is not JSON"), (b"[]", "payload is not a Stripe event with data.object"),
    (b'{"id": "evt_1"}', "payload is not a Stripe event with data.object"),
    (b'{"id":"evt_1","type":"x","data":{}}', "payload is not a Stripe event with data.object"),
    (b"\xff\xfe", "payload is not UTF-8")])
def test_signed_but_malformed_payload_is_400(env, body, error):
    store, web = env
    r = post(web, body)
    assert (r.status_code, r.json()) == (400, {"error": error})
    assert store.count(ProcessedEvent) == 0


def test_duplicate_delivery_and_second_event_for_same_session_are_noops(env):
    store, web = env
    (order,) = make_orders(store)
    body = session_event("evt_1", session(order))
    assert post(web, body).json()["outcome"] == "paid"
    assert post(web, body).json()["outcome"] == "duplicate"
    again = session_event("evt_2", session(order), etype="checkout.session.async_payment_succeeded")
    assert post(web, again).json()["outcome"] == "already_applied"
    assert store.count(Anomaly) == 0 and store.get_order(order.id).paid_via == "cs_test_1"


def test_second_session_paying_a_paid_order_is_a_double_payment_anomaly(env):
    store, web = env
    (order,) = make_orders(store)
    post(web, session_event("evt_1", session(order)))
    r = post(web, session_event("evt_2", session(order, sid="cs_test_2")))
    assert r.json()["outcome"] == "anomaly:double_payment"
    (anomaly,) = store.anomalies()
    assert (anomaly.kind, anomaly.order_id, anomaly.stripe_object_id) == ("double_payment", order.id, "cs_test_2")
    assert store.get_order(order.id).paid_via == "cs_test_1"


def test_unmatched_payment_is_recorded_not_dropped(env):
    store, web = env
    (order,) = make_orders(store)
    obj = session(order, metadata={}, client_reference_id=None)
    assert post(web, session_event("evt_1", obj)).json()["outcome"] == "anomaly:unmatched_payment"
    assert [a.kind for a in store.anomalies()] == ["unmatched_payment"]
    assert store.get_order(order.id).status == "pending"


def test_fallback_keys_client_reference_then_payment_link(env):
    store, web = env
    a, b = make_orders(store, 2)
    by_ref = session(a, metadata={"product_id": "utah-invitational-2026"})
    assert post(web, session_event("evt_1", by_ref)).json()["outcome"] == "paid"
    store.record_stripe_object(kind=PAYMENT_LINK, stripe_id="plink_b", url="https://x", status="active", now=NOW,
                               order_id=b.id)
    by_link = session(b, sid="cs_test_b", metadata={}, client_reference_id=None, payment_link="plink_b")
    assert post(web, session_event("evt_2", by_link)).json()["outcome"] == "paid"
    assert store.get_order(b.id).paid_via == "cs_test_b"
    # the order's own link carries completed_sessions.limit 1: Stripe deactivated it at this payment, so no
    # deactivation call is queued, only the expiry of sessions it had already opened in other tabs
    assert [(t.action, t.stripe_id) for t in store.pending_tasks()] == [("expire_link_sessions", "plink_b")]


def test_paid_order_queues_retirement_of_its_other_links_and_sessions(env):
    store, web = env
    (order,) = make_orders(store)
    store.record_stripe_object(kind=PAYMENT_LINK, stripe_id="plink_1", url="u", status="active", now=NOW, order_id=order.id)
    store.record_stripe_object(kind=CHECKOUT_SESSION, stripe_id="cs_other", url="u", status="open", now=NOW,
                               order_id=order.id, expires_at=NOW + 3600)
    post(web, session_event("evt_1", session(order)))
    assert sorted((t.action, t.stripe_id) for t in store.pending_tasks()) == [
        ("deactivate_link", "plink_1"), ("expire_session", "cs_other")]


def test_amount_mismatch_and_canceled_order_are_anomalies(env):
    store, web = env
    a, b = make_orders(store, 2)
    r = post(web, session_event("evt_1", session(a, amount_total=a.amount - 1000)))
    assert r.json()["outcome"] == "anomaly:amount_mismatch" and store.get_order(a.id).status == "pending"
    store.cancel_order(b.id, now=NOW)
    r = post(web, session_event("evt_2", session(b, sid="cs_b")))
    assert r.json()["outcome"] == "anomaly:paid_canceled_order" and store.get_order(b.id).status == "canceled"


def test_unpaid_completion_waits_for_async_success(env):
    store, web = env
    (order,) = make_orders(store)
    r = post(web, session_event("evt_1", session(order, payment_status="unpaid")))
    assert r.json()["outcome"] == "awaiting_async" and store.get_order(order.id).status == "pending"
    r = post(web, session_event("evt_2", session(order), etype="checkout.session.async_payment_succeeded"))
    assert r.json()["outcome"] == "paid"


def test_expired_with_recovery_emails_the_recovery_url_once(env):
    store, web = env
    (order,) = make_orders(store)
    store.record_stripe_object(kind=CHECKOUT_SESSION, stripe_id="cs_old", url="u", status="open", now=NOW,
                               order_id=order.id, expires_at=NOW)
    obj = session(order, sid="cs_old", status="expired", payment_status="unpaid",
                  after_expiration={"recovery": {"enabled": True, "url": "https://pay.test/r/abc",
                                                 "expires_at": NOW + 30 * 86400}})
    assert post(web, session_event("evt_1", obj, "checkout.session.expired")).json()["outcome"] == "recovery_emailed"
    assert post(web, session_event("evt_1", obj, "checkout.session.expired")).json()["outcome"] == "duplicate"
    assert store.latest_email(order.id).url == "https://pay.test/r/abc"
    assert store.count(OutboundEmail) == 1
    assert store.stripe_objects(order_id=order.id, kind=CHECKOUT_SESSION)[0].status == "expired"


def test_expiry_without_recovery_or_for_a_paid_order_sends_nothing(env):
    store, web = env
    a, b = make_orders(store, 2)
    plain = session(a, sid="cs_a", status="expired", after_expiration=None)
    assert post(web, session_event("evt_1", plain, "checkout.session.expired")).json()["outcome"] == "expired"
    post(web, session_event("evt_2", session(b, sid="cs_b_paid")))
    late = session(b, sid="cs_b_old", status="expired",
                   after_expiration={"recovery": {"url": "https://pay.test/r/x", "expires_at": NOW}})
    assert post(web, session_event("evt_3", late, "checkout.session.expired")).json()["outcome"] == "expired"
    assert store.count(OutboundEmail) == 0


def test_concurrent_deliveries_of_two_sessions_pay_once_and_flag_the_other(env):
    store, web = env
    (order,) = make_orders(store)
    bodies = [session_event(f"evt_{i}", session(order, sid=f"cs_{i}")) for i in range(6)]
    results = []
    threads = [threading.Thread(target=lambda b=b: results.append(post(web, b).json()["outcome"])) for b in bodies]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results).count("paid") == 1
    assert sorted(results).count("anomaly:double_payment") == 5
    assert store.count(Anomaly) == 5


def test_during_secret_rotation_an_event_signed_with_either_secret_is_accepted(tmp_path):
    store = OrderStore(f"sqlite:///{tmp_path / 'orders.db'}")
    app = create_webhook_app(WebhookMatcher(store, secrets=["whsec_new", SECRET], clock=lambda: NOW))
    a, b = make_orders(store, 2)
    with TestClient(app) as web:
        assert post(web, session_event("evt_1", session(a)), sig=sign(session_event("evt_1", session(a)))).json()[
            "outcome"] == "paid"  # signed with the second (older) secret
        body = session_event("evt_2", session(b, sid="cs_b"))
        assert post(web, body, sig=sign(body, secret="whsec_new")).json()["outcome"] == "paid"
        forged = session_event("evt_3", session(b, sid="cs_c"))
        r = post(web, forged, sig=sign(forged, secret="whsec_neither"))
        assert (r.status_code, r.json()) == (400, {"error": "signature does not verify"})
    store.dispose()


def test_a_matcher_without_any_endpoint_secret_is_refused():
    with pytest.raises(ValueError) as caught:
        WebhookMatcher(OrderStore("sqlite://"), secrets=[], clock=lambda: NOW)
    assert str(caught.value) == "the webhook matcher needs at least one endpoint secret"


@pytest.mark.parametrize("field,longest", [("id", 255), ("type", 100), ("object_id", 200)])
def test_ids_as_long_as_the_columns_hold_are_accepted_and_longer_ones_refused(env, field, longest):
    store, web = env

    def event(n):
        obj = {"id": "cs_" + "x" * (n - 3) if field == "object_id" else "cs_1", "object": "checkout.session"}
        return json.dumps({"id": "evt_" + "x" * (n - 4) if field == "id" else "evt_1",
                           "type": "t" * n if field == "type" else "customer.created", "data": {"object": obj}}).encode()

    assert post(web, event(longest)).json()["outcome"] == "ignored"
    r = post(web, event(longest + 1))
    assert (r.status_code, r.json()) == (400, {"error": "event id, type or object id is longer than any Stripe id"})


@pytest.mark.parametrize("sig,error", [(None, "missing Stripe-Signature header"),
                                       ("t=1,v1=deadbeef", "signature does not verify")])
def test_a_refused_request_says_why(env, sig, error):
    _, web = env
    r = post(web, b'{"id": "evt_1"}', sig=sig)
    assert (r.status_code, r.json()) == (400, {"error": error})


def test_events_other_than_checkout_are_recorded_as_ignored_once(env):
    store, web = env
    body = json.dumps({"id": "evt_9", "type": "customer.created", "data": {"object": {"id": "cus_1"}}}).encode()
    assert post(web, body).json() == {"event": "evt_9", "outcome": "ignored"}
    assert post(web, body).json() == {"event": "evt_9", "outcome": "duplicate"}
    (row,) = store_rows(store, ProcessedEvent)
    assert (row.event_id, row.type, row.stripe_object_id, row.order_id, row.outcome) == (
        "evt_9", "customer.created", "cus_1", None, "ignored")


def test_an_order_reference_present_but_naming_another_order_loses_to_the_metadata(env):
    store, web = env
    a, b = make_orders(store, 2)
    r = post(web, session_event("evt_1", session(a, client_reference_id=f"order_{b.id}")))
    assert r.json()["outcome"] == "paid"
    assert (store.get_order(a.id).status, store.get_order(b.id).status) == ("paid", "pending")


@pytest.mark.parametrize("metadata_order_id", ["999999", "00000000001", str(2**31), "12a", ""])
def test_metadata_naming_no_order_falls_back_to_the_client_reference(env, metadata_order_id):
    store, web = env
    (a,) = make_orders(store)
    r = post(web, session_event("evt_1", session(a, metadata={"order_id": metadata_order_id})))
    assert r.json()["outcome"] == "paid" and store.get_order(a.id).paid_via == "cs_test_1"


def test_metadata_with_leading_zeros_within_ten_digits_still_names_the_order(env):
    store, web = env
    (a,) = make_orders(store)
    obj = session(a, metadata={"order_id": f"{a.id:010d}"}, client_reference_id=None)
    assert post(web, session_event("evt_1", obj)).json()["outcome"] == "paid"


def test_a_session_recovered_from_an_expired_one_pays_the_order_of_the_original(env):
    store, web = env
    a, b = make_orders(store, 2)
    store.record_stripe_object(kind=CHECKOUT_SESSION, stripe_id="cs_expired", url=None, status="expired", now=NOW,
                               order_id=b.id, expires_at=NOW)
    obj = session(b, sid="cs_recovered", metadata={}, client_reference_id=None, recovered_from="cs_expired")
    r = post(web, session_event("evt_1", obj))
    assert r.json()["outcome"] == "paid" and store.get_order(b.id).paid_via == "cs_recovered"
    assert store.get_order(a.id).status == "pending"


def test_a_payment_whose_link_and_origin_are_unknown_is_unmatched_and_says_what_it_carried(env):
    store, web = env
    make_orders(store)
    obj = {"id": "cs_x", "amount_total": 700, "currency": "usd", "payment_status": "paid", "metadata": {},
           "client_reference_id": "family_12", "payment_link": "plink_unknown", "recovered_from": ""}
    assert post(web, session_event("evt_1", obj)).json()["outcome"] == "anomaly:unmatched_payment"
    (anomaly,) = store.anomalies()
    assert (anomaly.kind, anomaly.order_id, anomaly.stripe_object_id, anomaly.event_id) == (
        "unmatched_payment", None, "cs_x", "evt_1")
    assert anomaly.detail == ("cs_x paid 700 usd and matches no order (metadata={}, client_reference_id='family_12', "
                              "payment_link='plink_unknown')")


@pytest.mark.parametrize("currency,outcome", [("eur", "anomaly:amount_mismatch"), (None, "anomaly:amount_mismatch"),
                                              ("USD", "paid")])
def test_a_payment_in_another_currency_is_not_matched_to_the_order(env, currency, outcome):
    store, web = env
    (a,) = make_orders(store)
    r = post(web, session_event("evt_1", session(a, currency=currency)))
    assert r.json()["outcome"] == outcome
    assert store.get_order(a.id).status == ("paid" if outcome == "paid" else "pending")
    if outcome != "paid":
        (anomaly,) = store.anomalies()
        assert (anomaly.kind, anomaly.order_id) == ("amount_mismatch", a.id)
        assert anomaly.detail == f"cs_test_1 paid 15000 {currency} for order {a.id} of 15000 usd; order left pending"


def test_a_completed_zero_amount_session_is_an_anomaly_not_a_wait_for_payment(env):
    store, web = env
    (a,) = make_orders(store)
    r = post(web, session_event("evt_1", session(a, amount_total=0, payment_status="no_payment_required")))
    assert r.json()["outcome"] == "anomaly:amount_mismatch" and store.get_order(a.id).status == "pending"


def test_anomalies_name_the_order_the_session_and_what_was_paid(env):
    store, web = env
    a, b = make_orders(store, 2)
    post(web, session_event("evt_1", session(a)))
    post(web, session_event("evt_2", session(a, sid="cs_test_2")))
    store.cancel_order(b.id, now=NOW)
    post(web, session_event("evt_3", session(b, sid="cs_b")))
    details = [(x.kind, x.order_id, x.stripe_object_id, x.event_id, x.detail) for x in store.anomalies()]
    assert details == [
        ("double_payment", a.id, "cs_test_2", "evt_2",
         f"order {a.id} already paid by cs_test_1; cs_test_2 paid 15000 usd again (matched by metadata.order_id)"),
        ("paid_canceled_order", b.id, "cs_b", "evt_3",
         f"cs_b paid 15000 usd for canceled order {b.id} (matched by metadata.order_id)")]


def test_an_expired_session_records_why_its_order_is_pending_and_until_when_the_recovery_url_works(env):
    store, web = env
    a, b = make_orders(store, 2)
    recovery = {"recovery": {"enabled": True, "url": "https://pay.test/r/abc", "expires_at": NOW + 30 * 86400}}
    obj = session(a, sid="cs_old", status="expired", payment_status="unpaid", after_expiration=recovery)
    post(web, session_event("evt_1", obj, "checkout.session.expired"))
    assert store.get_order(a.id).pending_reason == (
        f"checkout session cs_old expired unpaid; recovery URL emailed, usable until {NOW + 30 * 86400}")
    # a second expiry event for the same session (another event id) emails nothing more
    assert post(web, session_event("evt_2", obj, "checkout.session.expired")).json()["outcome"] == "expired"
    assert store.count(OutboundEmail) == 1
    odd = session(b, sid="cs_b", status="expired", payment_status="unpaid",
                  after_expiration={"recovery": {"url": "https://pay.test/r/b", "expires_at": True}})
    assert post(web, session_event("evt_3", odd, "checkout.session.expired")).json()["outcome"] == "recovery_emailed"
    assert store.get_order(b.id).pending_reason.endswith("usable until None")
    plain = session(b, sid="cs_b2", status="expired", payment_status="unpaid", after_expiration=None)
    store.set_pending_reason(b.id, None)
    post(web, session_event("evt_4", plain, "checkout.session.expired"))
    assert store.get_order(b.id).pending_reason == "checkout session cs_b2 expired unpaid"


@pytest.mark.parametrize("path", ["/docs", "/redoc", "/openapi.json"])
def test_the_webhook_app_serves_no_api_documentation(env, path):
    _, web = env
    assert web.get(path).status_code == 404


def test_each_event_is_recorded_with_what_it_did_to_which_order(tmp_path):
    from sqlalchemy import select

    from blastpay.flows.order_models import RECOVERY_URL, StripeObject
    from blastpay.flows.webhook_matcher import WebhookOutcome

    store = OrderStore(f"sqlite:///{tmp_path / 'orders.db'}")
    matcher = WebhookMatcher(store, secrets=[SECRET], clock=lambda: NOW)
    a, b, c = make_orders(store, 3)
    expired = "checkout.session.expired"

    def handle(event_id, obj, etype=expired):
        body = session_event(event_id, obj, etype)
        return matcher.handle(body, sign(body))

    recovery = {"recovery": {"url": "https://pay.test/r/a", "expires_at": NOW + 86400}}
    stray = {"id": "cs_stray", "metadata": {}, "client_reference_id": None, "after_expiration": recovery}
    assert handle("evt_1", stray) == WebhookOutcome("evt_1", expired, "expired", None)
    assert handle("evt_1", stray) == WebhookOutcome("evt_1", expired, "duplicate")
    assert handle("evt_2", session(a, sid="cs_a", after_expiration=recovery)) == WebhookOutcome(
        "evt_2", expired, "recovery_emailed", a.id)
    assert handle("evt_3", session(b, sid="cs_b", after_expiration={"recovery": {"url": ""}})) == WebhookOutcome(
        "evt_3", expired, "expired", b.id)
    assert handle("evt_4", session(a, sid="cs_a", after_expiration=recovery)) == WebhookOutcome(
        "evt_4", expired, "expired", a.id)  # a repeat under another event id: emailed once
    handle("evt_5", session(c, sid="cs_c_paid"), "checkout.session.completed")
    assert handle("evt_6", session(c, sid="cs_c_old", after_expiration=recovery)) == WebhookOutcome(
        "evt_6", expired, "expired", c.id)
    assert handle("evt_7", session(c, sid="cs_c2"), "checkout.session.completed") == WebhookOutcome(
        "evt_7", "checkout.session.completed", "anomaly:double_payment", c.id)
    with store.transaction() as db:
        events = {e.event_id: (e.type, e.stripe_object_id, e.order_id, e.outcome)
                  for e in db.scalars(select(ProcessedEvent))}
        (row,) = db.scalars(select(StripeObject).where(StripeObject.kind == RECOVERY_URL))
        stored = (row.stripe_id, row.order_id, row.url, row.status, row.expires_at)
    assert events["evt_1"] == (expired, "cs_stray", None, "expired")
    assert events["evt_2"] == (expired, "cs_a", a.id, "recovery_emailed")
    assert events["evt_3"] == (expired, "cs_b", b.id, "expired")
    assert events["evt_5"] == ("checkout.session.completed", "cs_c_paid", c.id, "paid")
    assert events["evt_7"] == ("checkout.session.completed", "cs_c2", c.id, "anomaly:double_payment")
    assert stored == ("cs_a#recovery", a.id, "https://pay.test/r/a", "active", NOW + 86400)
    store.dispose()


def store_rows(store, model):
    from sqlalchemy import select

    with store.transaction() as db:
        return list(db.scalars(select(model)))


def test_a_matcher_with_a_shorter_tolerance_refuses_an_older_signature(tmp_path):
    from blastpay.flows.webhook_matcher import WebhookRejected

    store = OrderStore(f"sqlite:///{tmp_path / 'orders.db'}")
    matcher = WebhookMatcher(store, secrets=[SECRET], clock=lambda: NOW, tolerance=60)
    body = json.dumps({"id": "evt_1", "type": "customer.created", "data": {"object": {"id": "cus_1"}}}).encode()
    with pytest.raises(WebhookRejected):
        matcher.handle(body, sign(body, timestamp=int(time.time()) - 120))
    assert matcher.handle(body, sign(body)).outcome == "ignored"
    store.dispose()


def test_metadata_names_an_order_by_up_to_ten_digits_up_to_the_largest_order_id(env):
    from blastpay.flows.order_models import MAX_ORDER_ID, Order

    store, web = env
    a, b = make_orders(store, 2)
    eleven = session(a, metadata={"order_id": f"{b.id:011d}"})  # eleven digits name no order: the reference wins
    assert post(web, session_event("evt_1", eleven)).json()["outcome"] == "paid"
    assert (store.get_order(a.id).status, store.get_order(b.id).status) == ("paid", "pending")
    with store.transaction() as db:
        db.add(Order(id=MAX_ORDER_ID, parent_id=1, player_id=1, product_id="p", amount=15000, currency="usd",
                     status="pending", created_at=NOW))
    largest = session(store.get_order(MAX_ORDER_ID), sid="cs_max", client_reference_id=None)
    assert post(web, session_event("evt_2", largest)).json()["outcome"] == "paid"
    no_metadata = session(b, sid="cs_b", metadata=None)
    assert post(web, session_event("evt_3", no_metadata)).json()["outcome"] == "paid"


def test_a_double_payment_says_which_key_matched_it(env):
    store, web = env
    a, b, c = make_orders(store, 3)
    store.record_stripe_object(kind=PAYMENT_LINK, stripe_id="plink_b", url="https://x", status="active", now=NOW,
                               order_id=b.id)
    store.record_stripe_object(kind=CHECKOUT_SESSION, stripe_id="cs_c_old", url=None, status="expired", now=NOW,
                               order_id=c.id, expires_at=NOW)
    for n, order in enumerate((a, b, c)):
        post(web, session_event(f"evt_paid_{n}", session(order, sid=f"cs_paid_{n}")))
    bare = {"metadata": {}, "client_reference_id": None}
    post(web, session_event("evt_1", session(a, sid="cs_a2", metadata={})))
    post(web, session_event("evt_2", session(b, sid="cs_b2", **bare, payment_link="plink_b")))
    post(web, session_event("evt_3", session(c, sid="cs_c2", **bare, recovered_from="cs_c_old")))
    keys = [x.detail.rsplit("(matched by ", 1)[1] for x in store.anomalies()]
    assert keys == ["client_reference_id)", "payment_link)", "recovered_from)"]


def test_each_payment_event_answers_with_its_id_and_type_and_is_recorded_with_what_it_did(tmp_path):
    from blastpay.flows.webhook_matcher import WebhookOutcome

    store = OrderStore(f"sqlite:///{tmp_path / 'orders.db'}")
    matcher = WebhookMatcher(store, secrets=[SECRET], clock=lambda: NOW)
    (a,) = make_orders(store)
    completed, succeeded = "checkout.session.completed", "checkout.session.async_payment_succeeded"

    def handle(event_id, obj, etype=completed):
        body = session_event(event_id, obj, etype)
        return matcher.handle(body, sign(body))

    unpaid = session(a, sid="cs_a", payment_status="unpaid")
    assert handle("evt_1", unpaid) == WebhookOutcome("evt_1", completed, "awaiting_async")
    assert handle("evt_1", unpaid) == WebhookOutcome("evt_1", completed, "duplicate")
    stray = session(a, sid="cs_stray", metadata={}, client_reference_id=None)
    assert handle("evt_2", stray) == WebhookOutcome("evt_2", completed, "anomaly:unmatched_payment")
    assert handle("evt_3", session(a, sid="cs_a"), succeeded) == WebhookOutcome("evt_3", succeeded, "paid", a.id)
    events = {e.event_id: (e.type, e.stripe_object_id, e.order_id, e.outcome) for e in store_rows(store, ProcessedEvent)}
    assert events == {"evt_1": (completed, "cs_a", None, "awaiting_async"),
                      "evt_2": (completed, "cs_stray", None, "anomaly:unmatched_payment"),
                      "evt_3": (succeeded, "cs_a", a.id, "paid")}
    store.dispose()


def test_the_session_that_pays_an_order_is_recorded_complete(env):
    store, web = env
    (order,) = make_orders(store)
    for sid in ("cs_paying", "cs_other"):
        store.record_stripe_object(kind=CHECKOUT_SESSION, stripe_id=sid, url="u", status="open", now=NOW,
                                   order_id=order.id, expires_at=NOW + 3600)
    assert post(web, session_event("evt_1", session(order, sid="cs_paying"))).json()["outcome"] == "paid"
    rows = {s.stripe_id: s.status for s in store.stripe_objects(order_id=order.id, kind=CHECKOUT_SESSION)}
    assert rows == {"cs_paying": "complete", "cs_other": "retired"}
    assert [(t.action, t.stripe_id) for t in store.pending_tasks()] == [("expire_session", "cs_other")]


def test_an_ignored_event_answers_with_its_own_id_and_type(tmp_path):
    from blastpay.flows.webhook_matcher import WebhookOutcome

    store = OrderStore(f"sqlite:///{tmp_path / 'orders.db'}")
    matcher = WebhookMatcher(store, secrets=[SECRET], clock=lambda: NOW)
    body = json.dumps({"id": "evt_9", "type": "customer.created", "data": {"object": {"id": "cus_1"}}}).encode()
    assert matcher.handle(body, sign(body)) == WebhookOutcome("evt_9", "customer.created", "ignored")
    assert matcher.handle(body, sign(body)) == WebhookOutcome("evt_9", "customer.created", "duplicate")
    store.dispose()
