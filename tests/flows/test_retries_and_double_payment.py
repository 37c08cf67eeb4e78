"""The retry cohort (cancel and return three times) and second payments on one-time links."""

import pytest
from flow_helpers import HOUR, completed_sessions, spec

from blastpay.flows.harness import VARIANTS, ParentView

# Sessions in Stripe for one order after the parent opens the email, presses Back, and returns three
# times, then pays (all within a few hours):
# - Payment Links create a new Checkout Session on every visit and cannot hand back an open one: 4.
# - Lazy mint finds the order's open session (more than 30 minutes left) and redirects to it: 1.
# - A 24 h session in the email is the same session on every return: 1.
# - The 30-day patch emails nothing, so there is nothing to return to: 0.
SESSIONS_AFTER_THREE_RETURNS = {
    "payment_link_per_order": 4,
    "payment_link_per_product": 4,
    "lazy_mint_hmac": 1,
    "lazy_mint_db": 1,
    "ttl_24h": 1,
    "ttl_24h_recovery": 1,
    "ttl_30d": 0,
}


@pytest.mark.parametrize("variant", VARIANTS)
def test_cancel_and_return_three_times(make_flow, variant):
    emu, flow = make_flow(variant)
    (order,) = flow.create_orders([spec()])
    flow.blast([order])
    emu.advance(HOUR)
    views = []
    for _ in range(3):
        view = flow.click(order.id)
        views.append(view)
        if view.page != "checkout":
            break
        back = flow.cancel(view)
        assert back.page == "left_checkout"
        if variant.startswith("payment_link"):
            assert back.url is None  # Payment Links have no cancel_url: no back link at all
        else:
            assert back.url == "https://club.example/checkout/canceled"
        emu.advance(10 * 60)
    expected = SESSIONS_AFTER_THREE_RETURNS[variant]
    if expected == 0:
        assert views[0].page == "no_link" and flow.stripe_sessions(order.id) == []
        return
    final = flow.click(order.id)
    assert flow.pay(final).page == "success"
    assert len(flow.stripe_sessions(order.id)) == expected
    assert len({v.session_id for v in views + [final]}) == expected
    assert flow.order_status(order.id) == "paid" and len(completed_sessions(flow, order.id)) == 1
    if variant.startswith("lazy_mint"):
        assert flow.metrics()["sessions_minted"] == 1  # returns cost no Stripe call
        assert [v.stripe_calls for v in views + [final]] == [1, 0, 0, 0]


def test_second_payment_on_one_time_link_is_impossible(make_flow):
    """Two tabs open the per-order link; the first pays. The link is deactivated by Stripe's limit and
    the other tab's session is expired by the clean-up task, so the second payment cannot happen."""
    emu, flow = make_flow("payment_link_per_order")
    (order,) = flow.create_orders([spec()])
    flow.blast([order])
    emu.advance(HOUR)
    tab_a, tab_b = flow.click(order.id), flow.click(order.id)
    assert tab_a.page == tab_b.page == "checkout" and tab_a.session_id != tab_b.session_id
    assert flow.pay(tab_a).page == "success"
    second = flow.pay(tab_b)
    assert second.page == "expired"
    assert flow.click(order.id).page == "inactive"
    assert len(completed_sessions(flow, order.id)) == 1 and flow.metrics()["anomalies"] == 0


def test_second_payment_through_a_shared_product_link_is_detected(make_flow):
    """A per-product link cannot be deactivated for one order; a second tab's payment goes through and
    is recorded as a double-payment anomaly, never silently."""
    emu, flow = make_flow("payment_link_per_product")
    (order,) = flow.create_orders([spec()])
    flow.blast([order])
    emu.advance(HOUR)
    tab_a, tab_b = flow.click(order.id), flow.click(order.id)
    flow.pay(tab_a)
    assert flow.pay(tab_b).page == "success"
    assert flow.order(order.id).paid_via == tab_a.session_id
    assert flow.metrics()["anomalies_by_kind"] == {"double_payment": 1}


def test_canceled_order_retires_its_link_or_is_flagged(make_flow):
    _, per_order = make_flow("payment_link_per_order")
    (a,) = per_order.create_orders([spec()])
    per_order.blast([a])
    per_order.cancel_order(a.id)
    assert per_order.click(a.id).page == "inactive"

    _, per_product = make_flow("payment_link_per_product")
    (b,) = per_product.create_orders([spec()])
    per_product.blast([b])
    per_product.cancel_order(b.id)
    view = per_product.click(b.id)
    assert view.page == "checkout"  # a shared link cannot be switched off for one order
    per_product.pay(view)
    assert per_product.order_status(b.id) == "canceled"
    assert per_product.metrics()["anomalies_by_kind"] == {"paid_canceled_order": 1}


def test_invalid_client_reference_is_dropped_and_the_payment_flagged_unmatched(make_flow):
    """Stripe silently drops a client_reference_id with characters outside letters, digits, - and _."""
    emu, flow = make_flow("payment_link_per_product")
    (order,) = flow.create_orders([spec()])
    link = flow.blast([order])[order.id]
    seen = emu.visit(link.url.replace("order_", "order:"))
    assert seen["page"] == "checkout"
    flow.pay(ParentView(order.id, "checkout", session_id=seen["session"]))
    assert flow.order_status(order.id) == "pending"
    assert flow.metrics()["anomalies_by_kind"] == {"unmatched_payment": 1}


@pytest.mark.parametrize("variant", ["payment_link_per_order", "payment_link_per_product", "lazy_mint_db", "ttl_24h"])
def test_amount_change_reaches_the_next_click(make_flow, variant):
    emu, flow = make_flow(variant)
    (order,) = flow.create_orders([spec(amount=15000)])
    flow.blast([order])
    emu.advance(HOUR)
    old = flow.click(order.id)
    flow.change_amount(order.id, 12000)
    new = flow.click(order.id)
    assert new.page == "checkout" and "120.00" in new.message
    assert flow.pay(new).page == "success" and flow.order_status(order.id) == "paid"
    if variant != "payment_link_per_product":  # old sessions were expired by the clean-up task
        assert emu.visit(old.url)["page"] in ("expired", "inactive", "completed")
