"""The invariant checker runs on every flow variant after a realistic mini-blast, and catches planted
violations of each kind."""

import pytest
from reliability_helpers import DAY, HOUR, spec
from sqlalchemy import delete, update

from blastpay.experiments.reliability import mini_blast
from blastpay.flows.harness import VARIANTS
from blastpay.flows.invariants import (
    DOUBLE_CHARGE_REPORTED,
    DOUBLE_CHARGE_UNREPORTED,
    PAID_ORDER_WITHOUT_PAYMENT,
    PAYMENT_WITHOUT_PAID_ORDER,
    STRANDED_ORDER,
    check_invariants,
    has_working_link,
    invariant_report,
    invariant_violations,
    live_ways_for_paid,
    money_safe,
    parent_can_pay,
    way_to_pay,
    ways_to_pay,
)
from blastpay.flows.order_models import Anomaly, Order, OutboundEmail, StripeObject


@pytest.mark.parametrize("variant", VARIANTS)
def test_every_variant_keeps_the_money_invariants_after_a_mini_blast(make_flow, variant):
    emu, flow = make_flow(variant)
    o = mini_blast(emu, flow)
    report = invariant_report(flow)
    assert report.violations == []
    assert report.checks >= 8
    paid = {n for n, oid in o.items() if flow.order_status(oid) == "paid"}
    if variant == "ttl_30d":
        assert paid == set()  # Stripe refused every session; the reason is recorded on each order
    elif variant == "ttl_24h":
        assert paid == {1, 2, 3}  # order 7 clicked after its session had died
    else:
        assert paid == {1, 2, 3, 7}  # with recovery, order 7 paid through the emailed recovery URL


@pytest.mark.parametrize("variant", ["lazy_mint_hmac", "payment_link_per_order", "ttl_24h_recovery"])
def test_checker_runs_over_http(make_flow, variant):
    emu, flow = make_flow(variant, over_http=True)
    (order,) = flow.create_orders([spec()])
    flow.blast([order])
    emu.advance(HOUR)
    flow.pay(flow.click(order.id))
    assert check_invariants(flow) == []


@pytest.fixture
def paid_flow(make_flow):
    emu, flow = make_flow("lazy_mint_hmac")
    orders = flow.create_orders([spec(player_id=1), spec(player_id=2)])
    flow.blast(orders)
    emu.advance(HOUR)
    flow.pay(flow.click(orders[0].id))
    assert check_invariants(flow) == []
    return emu, flow, orders


def _db(flow, statement):
    with flow.store.transaction() as session:
        session.execute(statement)


def test_order_marked_paid_without_a_payment_is_caught(paid_flow):
    _, flow, orders = paid_flow
    _db(flow, update(Order).where(Order.id == orders[1].id).values(status="paid", paid_via="cs_test_forged"))
    (violation,) = check_invariants(flow)
    assert f"order {orders[1].id} is paid but has 0 captured payments" in violation


def test_captured_payment_whose_order_stayed_pending_is_caught(paid_flow):
    _, flow, orders = paid_flow
    _db(flow, update(Order).where(Order.id == orders[0].id).values(status="pending", paid_via=None))
    (violation,) = check_invariants(flow)
    assert f"order {orders[0].id} is pending but Stripe captured cs_" in violation


def test_paid_by_the_wrong_session_or_amount_is_caught(paid_flow):
    _, flow, orders = paid_flow
    _db(flow, update(Order).where(Order.id == orders[0].id).values(paid_via="cs_test_other"))
    assert "records 'cs_test_other' as what paid it" in check_invariants(flow)[0]
    paid_via = [s.id for s in flow.stripe_sessions(orders[0].id) if s.status == "complete"][0]
    _db(flow, update(Order).where(Order.id == orders[0].id).values(paid_via=paid_via, amount=99))
    assert "was paid by" in check_invariants(flow)[0]


def test_second_capture_for_one_order_is_caught(paid_flow):
    emu, flow, orders = paid_flow
    stray = flow.observer.v1.checkout.sessions.create({
        "mode": "payment", "success_url": "https://club.example/ok",
        "line_items": [{"price_data": {"currency": "usd", "unit_amount": 15000,
                                       "product_data": {"name": "again"}}, "quantity": 1}],
        "metadata": {"order_id": str(orders[0].id)},
    })
    emu.pay(stray.id)
    violations = check_invariants(flow)
    assert any(f"order {orders[0].id} is paid but has 2 captured payments" in v for v in violations)


def test_captured_payment_of_no_order_is_caught(paid_flow):
    emu, flow, _ = paid_flow
    stray = flow.observer.v1.checkout.sessions.create({
        "mode": "payment", "success_url": "https://club.example/ok",
        "line_items": [{"price_data": {"currency": "usd", "unit_amount": 500,
                                       "product_data": {"name": "stray"}}, "quantity": 1}],
    })
    emu.pay(stray.id)
    assert any(f"captured payment {stray.id}" in v and "belongs to no order" in v for v in check_invariants(flow))


def test_pending_order_whose_link_is_broken_and_unexplained_is_caught(paid_flow):
    _, flow, orders = paid_flow
    _db(flow, update(OutboundEmail).where(OutboundEmail.order_id == orders[1].id)
        .values(url=flow.public_base + "/pay/AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"))
    (violation,) = check_invariants(flow)
    assert f"order {orders[1].id} is pending with no working way to pay" in violation
    flow.store.set_pending_reason(orders[1].id, "the club is investigating")
    assert check_invariants(flow) == []


def test_expired_emailed_session_without_a_reason_is_caught(make_flow):
    emu, flow = make_flow("ttl_24h")
    (order,) = flow.create_orders([spec()])
    flow.blast([order])
    assert check_invariants(flow) == []
    emu.advance(2 * DAY)
    assert check_invariants(flow) == []  # the expiry webhook recorded why the order is pending
    flow.store.set_pending_reason(order.id, None)
    (violation,) = check_invariants(flow)
    assert "the emailed Checkout Session" in violation and "is expired" in violation


# -- each violation is typed and names its order; the counts feed the evidence -----------------------------------

def _stray_session(flow, emu, amount=15000, currency="usd", **params):
    session = flow.observer.v1.checkout.sessions.create({
        "mode": "payment", "success_url": "https://club.example/ok",
        "line_items": [{"price_data": {"currency": currency, "unit_amount": amount,
                                       "product_data": {"name": "stray"}}, "quantity": 1}], **params})
    emu.pay(session.id)
    return session


def _kinds(flow, *args):
    return [(v.kind, v.order_id) for v in invariant_violations(flow, *args)]


def test_a_clean_run_counts_every_order_capture_and_payment_intent_it_checked(paid_flow):
    _, flow, orders = paid_flow
    report = invariant_report(flow)
    # one captured session, its succeeded PaymentIntent, and the two orders
    assert (report.checks, report.passed, report.found) == (4, 4, [])


@pytest.mark.parametrize("status,kind,words", [
    ("paid", PAID_ORDER_WITHOUT_PAYMENT, "is paid but has 0 captured payments"),
    ("canceled", None, None),
    ("refunded", PAYMENT_WITHOUT_PAID_ORDER, "has unknown status 'refunded'"),
])
def test_an_order_in_a_state_its_payments_contradict_is_reported_against_that_order(paid_flow, status, kind, words):
    _, flow, orders = paid_flow
    _db(flow, update(Order).where(Order.id == orders[1].id).values(status=status))
    if kind is None:  # canceled with nothing captured is consistent
        assert _kinds(flow) == []
        return
    (violation,) = invariant_violations(flow)
    assert (violation.kind, violation.order_id) == (kind, orders[1].id) and words in violation.detail


def test_a_canceled_order_that_stripe_charged_is_a_payment_without_a_paid_order(paid_flow):
    _, flow, orders = paid_flow
    _db(flow, update(Order).where(Order.id == orders[0].id).values(status="canceled"))
    (violation,) = invariant_violations(flow)
    assert (violation.kind, violation.order_id) == (PAYMENT_WITHOUT_PAID_ORDER, orders[0].id)
    assert "is canceled but Stripe captured cs_" in violation.detail and violation.detail.endswith("(nothing recorded)")
    assert not money_safe([violation])


def test_a_pending_order_that_stripe_charged_is_reported_against_that_order(paid_flow):
    _, flow, orders = paid_flow
    _db(flow, update(Order).where(Order.id == orders[0].id).values(status="pending", paid_via=None))
    assert _kinds(flow) == [(PAYMENT_WITHOUT_PAID_ORDER, orders[0].id)]
    _db(flow, update(Order).where(Order.id == orders[1].id).values(status="refunded"))  # the next order is checked too
    assert _kinds(flow) == [(PAYMENT_WITHOUT_PAID_ORDER, orders[0].id), (PAYMENT_WITHOUT_PAID_ORDER, orders[1].id)]


def test_a_payment_in_another_currency_is_not_taken_for_the_orders_payment(paid_flow):
    _, flow, orders = paid_flow
    _db(flow, update(Order).where(Order.id == orders[0].id).values(currency="eur"))
    (violation,) = invariant_violations(flow)
    assert (violation.kind, violation.order_id) == (PAYMENT_WITHOUT_PAID_ORDER, orders[0].id)
    assert "of 15000 eur was paid by cs_" in violation.detail and "for 15000 usd" in violation.detail


def test_a_payment_recorded_against_another_session_is_reported_against_the_order(paid_flow):
    _, flow, orders = paid_flow
    _db(flow, update(Order).where(Order.id == orders[0].id).values(paid_via="cs_test_other"))
    assert _kinds(flow) == [(PAYMENT_WITHOUT_PAID_ORDER, orders[0].id)]


def test_a_second_charge_is_never_money_safe_flagged_for_refund_or_not(paid_flow):
    emu, flow, orders = paid_flow
    stray = _stray_session(flow, emu, metadata={"order_id": str(orders[0].id)})  # a second tab paid too
    (flagged,) = invariant_violations(flow)
    assert (flagged.kind, flagged.order_id) == (DOUBLE_CHARGE_REPORTED, orders[0].id)
    first = flow.store.get_order(orders[0].id).paid_via
    assert any(f"has 2 captured payments ({ids})" in flagged.detail for ids in (f"{first}, {stray.id}",
                                                                                  f"{stray.id}, {first}"))
    assert "(recorded as double_payment)" in flagged.detail
    assert not money_safe([flagged])  # flagged for a refund, but the parent was still charged twice
    assert invariant_report(flow).checks == 6  # two captures, two PaymentIntents, two orders

    _db(flow, delete(Anomaly))  # nobody was told: a silent double charge
    (silent,) = invariant_violations(flow)
    assert (silent.kind, silent.order_id) == (DOUBLE_CHARGE_UNREPORTED, orders[0].id)
    assert silent.detail.endswith(" (nothing recorded)") and not money_safe([silent])

    with flow.store.transaction() as db:  # recorded, but as a payment matching no order: not known to pay it
        db.add(Anomaly(kind="unmatched_payment", stripe_object_id=stray.id, detail="x", created_at=emu.now()))
    (other,) = invariant_violations(flow)
    assert (other.kind, other.order_id) == (PAYMENT_WITHOUT_PAID_ORDER, orders[0].id)
    assert "(recorded as unmatched_payment)" in other.detail and not money_safe([other])


def test_one_flagged_and_one_silent_extra_charge_is_a_silent_double_charge(paid_flow):
    emu, flow, orders = paid_flow
    first = _stray_session(flow, emu, metadata={"order_id": str(orders[0].id)})
    second = _stray_session(flow, emu, metadata={"order_id": str(orders[0].id)})
    _db(flow, delete(Anomaly).where(Anomaly.stripe_object_id != first.id))
    (violation,) = invariant_violations(flow)
    assert (violation.kind, violation.order_id) == (DOUBLE_CHARGE_UNREPORTED, orders[0].id)
    assert "has 3 captured payments" in violation.detail
    with flow.store.transaction() as db:  # the other extra charge was recorded, but as matching no order
        db.add(Anomaly(kind="unmatched_payment", stripe_object_id=second.id, detail="x", created_at=emu.now()))
    (violation,) = invariant_violations(flow)
    assert (violation.kind, violation.order_id) == (PAYMENT_WITHOUT_PAID_ORDER, orders[0].id)
    assert violation.detail.endswith("(recorded as double_payment, unmatched_payment)")


def test_a_payment_naming_an_order_that_does_not_exist_is_reported_with_that_order_id(paid_flow):
    emu, flow, _ = paid_flow
    one = _stray_session(flow, emu, metadata={"order_id": "999999"})
    two = _stray_session(flow, emu, client_reference_id="order_999999")
    (violation,) = invariant_violations(flow)
    assert (violation.kind, violation.order_id) == (PAYMENT_WITHOUT_PAID_ORDER, 999999)
    assert violation.detail in (f"captured payment {a}, {b} names order 999999, which does not exist"
                                for a, b in ((one.id, two.id), (two.id, one.id)))


def test_a_payment_of_no_order_is_typed_and_counted(paid_flow):
    emu, flow, _ = paid_flow
    stray = _stray_session(flow, emu, amount=500, client_reference_id="someone_else", metadata={"team": "u12"})
    report = invariant_report(flow)
    (violation,) = report.found
    assert (violation.kind, violation.order_id) == (PAYMENT_WITHOUT_PAID_ORDER, None)
    assert f"captured payment {stray.id} (500 usd) belongs to no order (metadata {{'team': 'u12'}}" in violation.detail
    assert "client_reference_id 'someone_else'" in violation.detail
    assert (report.checks, report.passed) == (6, 5)


def test_a_completed_zero_amount_session_is_no_payment(paid_flow):
    emu, flow, orders = paid_flow
    _stray_session(flow, emu, amount=0, metadata={"order_id": str(orders[1].id)})
    # no money moved, so the pending order has not been charged (its email link still works)
    assert [k for k in _kinds(flow) if k[0] != STRANDED_ORDER] == []


def test_a_succeeded_payment_intent_outside_any_checkout_session_is_reported(paid_flow):
    emu, flow, orders = paid_flow
    (session,) = [s for s in flow.stripe_sessions(orders[0].id) if s.status == "complete"]
    intent_id = session.payment_intent
    emu._backend.stores["checkout.session"].get(session.id)["payment_intent"] = None  # Stripe names no session
    report = invariant_report(flow)
    assert sorted((v.kind, v.order_id) for v in report.found) == [
        (PAID_ORDER_WITHOUT_PAYMENT, orders[0].id), (PAYMENT_WITHOUT_PAID_ORDER, None)]
    assert any(v.detail == f"PaymentIntent {intent_id} captured 15000 usd outside any Checkout Session"
               for v in report.found)
    assert report.checks == 3  # the PaymentIntent and two orders; the session is no capture without it


# -- a scoped check: its orders, and payments of no order made since it began ------------------------------------

def test_a_scoped_check_sees_only_its_orders_and_the_unattributed_payments_made_since_it_began(paid_flow):
    emu, flow, orders = paid_flow
    _db(flow, update(Order).where(Order.id == orders[0].id).values(status="pending", paid_via=None))
    assert _kinds(flow, {orders[1].id}) == []
    assert _kinds(flow, {orders[0].id}) == [(PAYMENT_WITHOUT_PAID_ORDER, orders[0].id)]
    assert invariant_report(flow, {orders[1].id}).checks == 1  # one order; no intent check in a scoped run
    emu.advance(HOUR)
    start = emu.now()
    _stray_session(flow, emu, amount=500)
    assert _kinds(flow, {orders[1].id}, start) == [(PAYMENT_WITHOUT_PAID_ORDER, None)]
    assert _kinds(flow, {orders[1].id}, start + 1) == []
    assert _kinds(flow, {orders[1].id}) == [(PAYMENT_WITHOUT_PAID_ORDER, None)]  # no start: every such payment
    # the newer payment of no order is out of scope; the older capture of the scoped order is still checked
    assert _kinds(flow, {orders[0].id}, start + 1) == [(PAYMENT_WITHOUT_PAID_ORDER, orders[0].id)]
    _db(flow, update(Order).where(Order.id == orders[0].id).values(status="refunded"))
    assert _kinds(flow, {orders[1].id}, start + 1) == []  # an order out of scope is not checked


# -- a way to pay: what the newest email's link would meet now ---------------------------------------------------

def _email_url(flow, order_id, url):
    _db(flow, update(OutboundEmail).where(OutboundEmail.order_id == order_id).values(url=url))


def test_ways_to_pay_answer_per_order_and_name_what_is_missing(make_flow):
    emu, flow = make_flow("lazy_mint_db")
    a, b, unsent = flow.create_orders([spec(player_id=1), spec(player_id=2), spec(player_id=3)])
    flow.blast([a, b])
    assert ways_to_pay(flow, [999999, a.id, b.id, unsent.id]) == {
        a.id: None, b.id: None, unsent.id: "no email was sent", 999999: "order 999999 does not exist"}
    assert (way_to_pay(flow, a.id), has_working_link(flow, a.id), has_working_link(flow, unsent.id)) == (
        None, True, False)


def test_a_parent_can_pay_when_every_open_order_has_a_working_link(make_flow):
    emu, flow = make_flow("lazy_mint_hmac")
    paid, pending, canceled, unsent = flow.create_orders([spec(player_id=i) for i in range(1, 5)])
    flow.blast([paid, pending, canceled])
    flow.pay(flow.click(paid.id))
    flow.cancel_order(canceled.id)
    _email_url(flow, canceled.id, flow.public_base + "/pay/AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA")
    # closed orders need no way to pay; the pending one has its link; the unsent one has none
    assert parent_can_pay(flow, {paid.id, pending.id, canceled.id})
    assert not parent_can_pay(flow, {pending.id, unsent.id})
    assert not parent_can_pay(flow)
    assert parent_can_pay(flow, {paid.id})


def test_a_pay_link_whose_token_ends_in_any_character_is_a_way_to_pay(make_flow):
    emu, flow = make_flow("lazy_mint_hmac", token_keys="k10:" + "11" * 32)  # a 3-character key id: 64 endings
    (order,) = flow.create_orders([spec()])
    flow.blast([order])
    with flow.store.transaction() as db:
        token = next(t for t in (flow.lazy.binding.mint(db, order.id, now=emu.now()) for _ in range(5000))
                     if t.endswith("X"))
    _email_url(flow, order.id, flow.lazy.pay_url(token))
    assert flow.click(order.id).page == "checkout"
    assert way_to_pay(flow, order.id) is None


def test_an_emailed_session_expired_early_is_no_way_to_pay(make_flow):
    emu, flow = make_flow("ttl_24h")
    (order,) = flow.create_orders([spec()])
    flow.blast([order])
    (session,) = flow.stripe_sessions(order.id)
    flow.observer.v1.checkout.sessions.expire(session.id)  # retired before its expires_at
    why = way_to_pay(flow, order.id)
    assert why.startswith(f"the emailed Checkout Session {session.id} is expired")
    flow.store.set_pending_reason(order.id, None)  # with no reason recorded, the order is stranded
    assert _kinds(flow) == [(STRANDED_ORDER, order.id)]


def test_the_emailed_recovery_url_is_a_way_to_pay_until_the_second_it_expires(make_flow):
    emu, flow = make_flow("ttl_24h_recovery")
    (order,) = flow.create_orders([spec()])
    flow.blast([order])
    emu.advance(2 * DAY)  # the session expired; its recovery URL was emailed
    email = flow.store.latest_email(order.id)
    assert email.kind == "recovery" and way_to_pay(flow, order.id) is None
    flow.store.set_pending_reason(order.id, None)
    assert check_invariants(flow) == []
    (session,) = flow.stripe_sessions(order.id)
    expires = session.after_expiration.recovery.expires_at
    _db(flow, update(Order).where(Order.id == order.id).values(amount=9000))  # it would charge the old amount
    assert way_to_pay(flow, order.id) == "the emailed recovery URL recovers 15000, the order is 9000"
    _db(flow, update(Order).where(Order.id == order.id).values(amount=15000))
    emu.advance(expires - emu.now() - 1)
    assert way_to_pay(flow, order.id) is None and emu.visit(email.url)["page"] == "checkout"
    emu.advance(1)
    assert emu.visit(email.url)["page"] == "expired"
    assert way_to_pay(flow, order.id) == (f"the emailed recovery URL for {session.id} expired at {expires} "
                                          f"(now {expires})")


def test_a_payment_link_for_another_order_or_amount_is_no_way_to_pay(make_flow):
    emu, flow = make_flow("payment_link_per_order")
    a, b = flow.create_orders([spec(player_id=1), spec(player_id=2)])
    flow.blast([a, b])
    assert ways_to_pay(flow, [a.id, b.id]) == {a.id: None, b.id: None}
    _email_url(flow, a.id, flow.store.latest_email(b.id).url)  # the order reference is present, but b's
    assert way_to_pay(flow, a.id).endswith("carries another order's metadata")
    _db(flow, update(Order).where(Order.id == b.id).values(amount=9000))
    assert way_to_pay(flow, b.id).endswith("charges (15000, 'usd'), the order is 9000 usd")
    _db(flow, update(Order).where(Order.id == b.id).values(amount=15000, currency="eur"))
    assert "the order is 15000 eur" in way_to_pay(flow, b.id)


def test_a_shared_product_link_carrying_another_orders_reference_is_no_way_to_pay(make_flow):
    emu, flow = make_flow("payment_link_per_product")
    a, b = flow.create_orders([spec(player_id=1), spec(player_id=2)])
    flow.blast([a, b])
    assert ways_to_pay(flow, [a.id, b.id]) == {a.id: None, b.id: None}
    _email_url(flow, a.id, flow.store.latest_email(b.id).url)
    assert way_to_pay(flow, a.id) == f"the emailed product link carries client_reference_id 'order_{b.id}', not the order"


# -- live ways to a second payment for an order Stripe already charged --------------------------------------------

def test_a_shared_product_link_stays_a_live_way_to_pay_again_after_payment(make_flow):
    emu, flow = make_flow("payment_link_per_product")
    a, b = flow.create_orders([spec(player_id=1), spec(player_id=2)])
    flow.blast([a, b])
    flow.pay(flow.click(a.id))
    link = flow.store.stripe_objects(kind="payment_link")[0].stripe_id
    assert live_ways_for_paid(flow, [a.id]) == {a.id: [link]}


def test_a_per_order_link_is_no_live_way_once_stripe_deactivated_it(make_flow):
    emu, flow = make_flow("payment_link_per_order")
    a, unsent = flow.create_orders([spec(player_id=1), spec(player_id=2)])
    flow.blast([a])
    flow.pay(flow.click(a.id))
    assert live_ways_for_paid(flow, [999999, unsent.id, a.id]) == {a.id: [], 999999: [], unsent.id: []}


def test_an_open_session_of_a_charged_order_is_a_live_way_to_pay_again(make_flow):
    emu, flow = make_flow("ttl_24h")
    a, b = flow.create_orders([spec(player_id=1), spec(player_id=2)])
    flow.blast([a, b])
    flow.pay(flow.click(a.id))
    extra = flow.observer.v1.checkout.sessions.create({
        "mode": "payment", "success_url": "https://club.example/ok", "metadata": {"order_id": str(a.id)},
        "line_items": [{"price_data": {"currency": "usd", "unit_amount": 15000,
                                       "product_data": {"name": "again"}}, "quantity": 1}]})
    assert live_ways_for_paid(flow, [a.id]) == {a.id: [extra.id]}
    emu.advance(DAY)
    assert live_ways_for_paid(flow, [a.id]) == {a.id: []}


def test_a_pay_link_is_a_live_way_to_pay_again_only_while_the_route_would_mint(make_flow):
    emu, flow = make_flow("lazy_mint_hmac")
    a, b = flow.create_orders([spec(player_id=1), spec(player_id=2)])
    flow.blast([a, b])
    view = flow.click(a.id)
    emu.pay(view.session_id)  # charged; suppose its webhook is late: our store still says pending, session open
    _db(flow, update(Order).where(Order.id == a.id).values(status="pending", paid_via=None))
    _db(flow, update(StripeObject).where(StripeObject.stripe_id == view.session_id).values(status="open"))
    assert live_ways_for_paid(flow, [a.id]) == {a.id: []}  # the route sends a click back to the paid session
    _db(flow, update(StripeObject).where(StripeObject.order_id == a.id).values(status="expired"))
    mint = "its /pay/ link (the store still says pending and holds no session to reuse)"
    assert live_ways_for_paid(flow, [b.id, a.id]) == {a.id: [mint], b.id: [mint]}
    _email_url(flow, a.id, flow.store.latest_email(b.id).url)  # a token of another order mints for that one
    assert live_ways_for_paid(flow, [a.id]) == {a.id: []}
    _db(flow, update(Order).where(Order.id == b.id).values(status="paid"))
    assert live_ways_for_paid(flow, [b.id]) == {b.id: []}  # the route shows "already paid"


def test_the_checker_reads_every_page_of_a_listing_past_a_hundred_objects(make_flow):
    from blastpay.flows.invariants import list_all

    emu, flow = make_flow("ttl_24h")
    created = [flow.observer.v1.checkout.sessions.create({
        "mode": "payment", "success_url": "https://club.example/ok",
        "line_items": [{"price_data": {"currency": "usd", "unit_amount": 100 + n,
                                       "product_data": {"name": "fee"}}, "quantity": 1}]}).id for n in range(205)]
    listed = [s.id for s in list_all(flow.observer, "/v1/checkout/sessions")]
    assert listed == created[::-1]  # newest first, each once, across three pages
    assert len(list_all(flow.observer, "/v1/checkout/sessions", status="complete")) == 0
