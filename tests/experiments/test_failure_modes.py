"""Failure-mode cells and the money invariant."""

import pytest

from blastpay.emulator import Emulator
from blastpay.experiments import failure_modes as fm
from blastpay.flows.harness import build_flow
from blastpay.flows.orders import OrderSpec

HOUR = 3600


def _flow(variant):
    emu = Emulator(seed=0)
    flow = build_flow(variant, emulator=emu)
    fm.DirectWebhooks(flow)
    orders = flow.create_orders([OrderSpec(parent_id=111 + i, player_id=i, product_id="camp", amount=15000)
                                 for i in range(2)])
    flow.blast(orders)
    emu.advance(HOUR)
    return emu, flow, orders


def test_invariants_hold_when_every_parent_pays_once():
    emu, flow, orders = _flow("lazy_mint_db")
    try:
        for o in orders:
            fm.pay_if_checkout(flow, fm.open_url(flow, o.id, fm.newest_url(flow, o.id)))
        assert [flow.order_status(o.id) for o in orders] == ["paid", "paid"]
        assert fm.check_invariants(flow) == []
    finally:
        flow.close()


def test_payment_for_a_canceled_order_is_a_money_violation():
    emu, flow, orders = _flow("payment_link_per_product")
    try:
        flow.cancel_order(orders[0].id)
        fm.pay_if_checkout(flow, fm.open_url(flow, orders[0].id, fm.newest_url(flow, orders[0].id)))
        violations = fm.invariant_violations(flow)
        assert [v.kind for v in violations] == [fm.PAYMENT_WITHOUT_PAID_ORDER]
        assert "paid_canceled_order" in violations[0].detail and not fm.money_safe(violations)
    finally:
        flow.close()


def test_a_lost_expiry_event_leaves_a_stranded_order():
    emu, flow, orders = _flow("ttl_24h")
    try:
        emu.webhook_transport = lambda url, headers, body: 200  # accepted by the network, never applied
        emu.advance(24 * HOUR)
        lines = fm.check_invariants(flow)
        assert len(lines) == 2 and all(line.startswith("stranded_order: order ") for line in lines)
        assert fm.money_safe(fm.invariant_violations(flow)) and not fm.parent_can_pay(flow)
    finally:
        flow.close()


def test_second_tab_on_a_shared_link_is_a_flagged_refund_not_a_silent_one():
    cell = fm.run_cell("paid_twice_two_tabs", "payment_link_per_product")
    assert cell.money_safe and cell.anomalies == "double_payment x1"
    assert any(v.startswith(fm.DOUBLE_CHARGE_REPORTED) for v in cell.violations)
    lazy = fm.run_cell("paid_twice_two_tabs", "lazy_mint_db")
    assert lazy.violations == () and "the same session" in lazy.parent_sees


def test_stripe_down_at_blast_leaves_hosted_links_unpayable_until_resent():
    hosted = fm.run_cell("stripe_500_at_blast", "ttl_24h")
    assert hosted.money_safe and not hosted.parent_can_pay and hosted.recovery_verified
    lazy = fm.run_cell("stripe_500_at_blast", "lazy_mint_hmac")
    assert lazy.parent_can_pay and lazy.orders_paid == lazy.orders


def test_webhook_outage_recovers_through_stripe_retries():
    cell = fm.run_cell("webhook_endpoint_down_6h", "payment_link_per_order")
    assert cell.orders_paid == cell.orders and cell.money_safe and "inactive" in cell.parent_sees


def test_summary_shares_count_cells():
    cells = [fm.run_cell(f, "payment_link_per_product", orders=2)
             for f in ("order_canceled_after_blast", "mail_scanner_prefetch")]
    s = fm.summary(cells)["by_variant"]["payment_link_per_product"]
    assert s["cells"] == 2 and s["fault_cells_money_safe_share"] == 0.5
    assert s["unsafe_faults"] == ["order_canceled_after_blast"]


def test_bad_cells_are_refused_by_name():
    with pytest.raises(fm.FailureModeError, match="unknown fault 'flood'"):
        fm.run_cell("flood", "ttl_24h")
    with pytest.raises(fm.FailureModeError, match="unknown variant 'cash'"):
        fm.run_cell("mail_scanner_prefetch", "cash")
