"""Every variant end to end: blast at t0, the parent clicks at t, pays. The parent sees what the
table says, and the order ends paid exactly once or pending with the reason recorded."""

import pytest
from flow_helpers import DAY, HOUR, completed_sessions, spec

from blastpay.flows.harness import VARIANTS

CLICK_AT = {"1h": HOUR, "23h": 23 * HOUR, "25h": 25 * HOUR, "8d": 8 * DAY, "31d": 31 * DAY, "90d": 90 * DAY}

# What the parent's click shows, by variant and click time. Payment Links never expire; lazy mint mints on
# click; a 24 h session is dead after 24 h; its recovery URL (emailed at expiry) lives 30 more days; the
# 30-day patch never produces a link because Stripe refuses it.
CHECKOUT_ALWAYS = {label: "checkout" for label in CLICK_AT}
EXPECTED = {
    "payment_link_per_order": CHECKOUT_ALWAYS,
    "payment_link_per_product": CHECKOUT_ALWAYS,
    "lazy_mint_hmac": CHECKOUT_ALWAYS,
    "lazy_mint_db": CHECKOUT_ALWAYS,
    "ttl_30d": {label: "no_link" for label in CLICK_AT},
    "ttl_24h": {"1h": "checkout", "23h": "checkout", "25h": "expired", "8d": "expired", "31d": "expired",
                "90d": "expired"},
    "ttl_24h_recovery": {"1h": "checkout", "23h": "checkout", "25h": "checkout", "8d": "checkout",
                         "31d": "expired", "90d": "expired"},
}


def assert_outcome(flow, order_id, view, expected_page):
    assert view.page == expected_page, view
    order = flow.order(order_id)
    if expected_page == "checkout":
        paid = flow.pay(view)
        assert paid.page == "success" and paid.url.startswith("https://club.example/checkout/success")
        order = flow.order(order_id)
        (completed,) = completed_sessions(flow, order_id)  # exactly one payment captured
        assert order.status == "paid" and order.paid_via == completed.id == view.session_id
        assert flow.metrics()["anomalies"] == 0
    else:
        assert order.status == "pending" and order.pending_reason, order
        assert completed_sessions(flow, order_id) == []


@pytest.mark.parametrize("label", list(CLICK_AT))
@pytest.mark.parametrize("variant", VARIANTS)
def test_click_at_time_then_pay(make_flow, variant, label):
    emu, flow = make_flow(variant)
    (order,) = flow.create_orders([spec()])
    links = flow.blast([order])
    assert links[order.id].ok is (variant != "ttl_30d")
    emu.advance(CLICK_AT[label])
    view = flow.click(order.id)
    assert_outcome(flow, order.id, view, EXPECTED[variant][label])
    if variant.startswith("lazy_mint"):
        assert view.hops == 1 and view.stripe_calls == 1  # one 303, one session minted on click
    if variant == "ttl_24h_recovery" and label in ("25h", "8d"):
        assert flow.metrics()["recovery_emails_sent"] == 1


def test_thirty_day_patch_reports_stripes_refusal(make_flow):
    emu, flow = make_flow("ttl_30d")
    orders = flow.create_orders([spec(player_id=i) for i in range(3)])
    links = flow.blast(orders)
    for order in orders:
        link = links[order.id]
        assert not link.ok and link.url is None
        assert "InvalidRequestError" in link.error and "expires_at" in link.error and "24 hours" in link.error
        assert flow.order(order.id).pending_reason == link.error
    assert flow.metrics()["emails_sent"] == 0


@pytest.mark.parametrize("variant", VARIANTS)
def test_over_http_with_webhooks_posted_to_the_app(make_flow, variant):
    """The SDK talks to the emulator over loopback HTTP; the emulator POSTs signed webhooks to the app on uvicorn."""
    emu, flow = make_flow(variant, over_http=True, database_url="sqlite://")
    early, late = flow.create_orders([spec(player_id=1), spec(player_id=2)])
    flow.blast([early, late])
    emu.advance(HOUR)
    assert_outcome(flow, early.id, flow.click(early.id), EXPECTED[variant]["1h"])
    emu.advance(8 * DAY - HOUR)
    assert_outcome(flow, late.id, flow.click(late.id), EXPECTED[variant]["8d"])
    delivered = [d for d in emu.deliveries if d["type"] == "checkout.session.completed"]
    assert all(d["endpoint"].startswith("http://127.0.0.1:") and d["status"] == 200 for d in delivered)
    assert len(delivered) == flow.metrics()["orders_paid"]
