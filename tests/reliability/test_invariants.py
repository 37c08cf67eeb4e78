"""The invariant checker runs on every flow variant after a realistic mini-blast, and catches planted
violations of each kind."""

import pytest
from reliability_helpers import DAY, HOUR, spec
from sqlalchemy import update

from blastpay.experiments.reliability import mini_blast
from blastpay.flows.harness import VARIANTS
from blastpay.flows.invariants import check_invariants, invariant_report
from blastpay.flows.order_models import Order, OutboundEmail


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
