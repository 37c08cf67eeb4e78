from __future__ import annotations

from pathlib import Path

import pytest

from blastpay.models.fees import (
    OPTIONS,
    FeeError,
    FeeTable,
    expected_fee,
    fee_per_payment,
    fee_table,
    load_fee_params,
    processing_fee,
    stranded_revenue,
    stranded_revenue_table,
    surcharge_evidence,
)

FEES = Path(__file__).resolve().parents[2] / "experiments" / "fees.yaml"


@pytest.fixture(scope="module")
def table(registry):
    return FeeTable.from_registry(registry)


def test_card_fee_is_the_cited_percentage_plus_the_cited_fixed_part(registry, table):
    pct = registry.figure("stripe-card-domestic-percent") / 100
    fixed = registry.figure("stripe-card-domestic-fixed") / 100
    for amount in (350.0, 150.0, 10.0):
        assert processing_fee(amount, "card", table) == pytest.approx(amount * pct + fixed)


def test_ach_fee_is_capped(registry, table):
    pct = registry.figure("stripe-ach-percent") / 100
    cap = registry.figure("stripe-ach-cap")
    small = 0.5 * cap / pct
    large = 3 * cap / pct
    assert processing_fee(small, "ach_debit", table) == pytest.approx(small * pct)
    assert processing_fee(large, "ach_debit", table) == pytest.approx(cap)


def test_payment_links_and_checkout_cost_the_same(registry, table):
    for amount in (350.0, 150.0):
        for method in ("card", "ach_debit"):
            totals = {opt: fee_per_payment(amount, opt, table, method=method).total
                      for opt in ("payment_links", "lazy_mint", "checkout_ttl")}
            assert len(set(totals.values())) == 1
            assert totals["payment_links"] == pytest.approx(processing_fee(amount, method, table))
    evidence = surcharge_evidence(registry)
    links = evidence[evidence.option == "payment_links"]
    assert any("no additional cost" in q for q in links.quote)
    assert any("included in Stripe's integrated pricing" in q for q in links.quote)


def test_recurring_charges_add_billing_and_invoicing_adds_its_fee_only_once_off(registry, table):
    amount = 150.0
    billing = registry.figure("stripe-billing-percent") / 100
    invoicing = registry.figure("stripe-invoicing-starter-percent") / 100
    card = processing_fee(amount, "card", table)
    assert fee_per_payment(amount, "payment_links", table, recurring=True).total == pytest.approx(card + amount * billing)
    assert fee_per_payment(amount, "invoicing", table).total == pytest.approx(card + amount * invoicing)
    assert fee_per_payment(amount, "invoicing", table, recurring=True).total == pytest.approx(card + amount * billing)


def test_tax_and_post_payment_invoice_fees(registry, table):
    tax = registry.figure("stripe-tax-percent") / 100
    post = registry.figure("stripe-post-payment-invoice-percent") / 100
    cap = registry.figure("stripe-post-payment-invoice-cap")
    small, large = 0.5 * cap / post, 4 * cap / post
    b = fee_per_payment(small, "lazy_mint", table, stripe_tax=True, post_payment_invoice=True)
    assert b.tax == pytest.approx(small * tax) and b.post_payment_invoice == pytest.approx(small * post)
    assert fee_per_payment(large, "lazy_mint", table, post_payment_invoice=True).post_payment_invoice == pytest.approx(cap)


def test_a_changed_registry_figure_changes_the_fee(registry_copy):
    registry_copy.edit("stripe-card-domestic-percent", 3.5)
    table = FeeTable.from_registry(registry_copy.load())
    assert processing_fee(100.0, "card", table) == pytest.approx(3.5 + table.card_fixed)


def test_expected_fee_weights_methods(table):
    amount = 350.0
    mixed = expected_fee(amount, "payment_links", table, {"card": 0.5, "ach_debit": 0.5})
    assert mixed == pytest.approx((processing_fee(amount, "card", table) + processing_fee(amount, "ach_debit", table)) / 2)
    with pytest.raises(FeeError, match="add up to 1"):
        expected_fee(amount, "payment_links", table, {"card": 0.5})


def test_stranded_revenue_is_orders_times_share_times_amount():
    assert stranded_revenue(120, 0.25, 350.0) == pytest.approx(120 * 0.25 * 350.0)
    with pytest.raises(FeeError):
        stranded_revenue(120, 1.5, 350.0)


def test_committed_parameters_load_and_drive_the_tables(registry):
    params = load_fee_params(FEES)
    fees = fee_table(registry, params)
    assert set(fees.option) == set(OPTIONS) and set(fees.fee) == set(params["amounts_usd"])
    metrics = [{"scenario": "central", "variant": "ttl_24h", "option": "checkout_ttl", "stranded_share": 0.2}]
    stranded = stranded_revenue_table(metrics, params)
    row = stranded[stranded.fee == "tournament_fee"].iloc[0]
    assert row.stranded_revenue_usd == pytest.approx(params["orders_per_blast"] * 0.2 * params["amounts_usd"]["tournament_fee"])


def test_bad_parameters_are_refused(tmp_path):
    bad = tmp_path / "fees.yaml"
    bad.write_text(FEES.read_text().replace("card: 1.0", "card: 0.7"))
    with pytest.raises(FeeError, match="add up to 1"):
        load_fee_params(bad)
    with pytest.raises(FeeError, match="unknown option"):
        fee_per_payment(10.0, "paypal", None)
