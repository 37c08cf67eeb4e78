"""Recurring fees, tax and multi-line orders per option: what a reader of evidence/recurring/ relies on."""
from __future__ import annotations

import warnings
from pathlib import Path

import pytest

from blastpay.emulator.rules import RULES
from blastpay.experiments import recurring_and_tax as rt
from blastpay.flows.order_models import OrderView
from blastpay.sources.registry import load_registry

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def found() -> dict:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return rt.findings(rt.run_all(seed=20261207))


@pytest.fixture(scope="module")
def summary(found) -> dict:
    observations = [rt.Observation(o, c, k, v) for o, cases in found.items() for c, checks in cases.items()
                    for k, v in checks.items()]
    return rt.summary(observations)


ORDER = OrderView(id=12, parent_id=1, player_id=7, product_id="spring-league", amount=3000, currency="usd",
                  status="pending", created_at=0, paid_at=None, paid_via=None, canceled_at=None, pending_reason=None)


def test_a_monthly_fee_first_invoice_carries_the_order_id_only_with_subscription_data_metadata(found):
    for option in rt.OPTIONS:
        monthly = found[option]["monthly_fee"]
        assert monthly["order_id_on_session"] is True
        assert monthly["order_id_on_first_invoice_subscription_details"] is True
        assert monthly["order_id_on_renewal_invoice_subscription_details"] is True
        assert monthly["order_id_on_subscription_without_subscription_data"] is False
        assert monthly["order_id_on_invoice_without_subscription_data"] is False
        assert monthly["order_id_on_invoice_own_metadata"] is False
        assert monthly["order_paid_without_subscription_data"] is True  # the first payment still matches


def test_todays_parameters_are_refused_with_a_recurring_price_and_with_automatic_tax(found):
    for option in rt.OPTIONS:
        assert found[option]["monthly_fee"]["today_params_with_recurring_price"].startswith("refused: ")
        refusal = found[option]["tax"]["today_params_with_automatic_tax"]
        assert refusal.startswith("refused: The price `price_…` does not have a `tax_behavior` set")


def test_renewals_arrive_only_as_invoice_events_that_todays_matcher_never_applies(found):
    for option in rt.OPTIONS:
        monthly = found[option]["monthly_fee"]
        assert monthly["order_paid_by_checkout_session_completed"] is True
        assert monthly["events_on_renewal"].split() == ["invoice.created", "invoice.finalized", "invoice.paid",
                                                        "invoice.payment_succeeded", "customer.subscription.updated"]
        assert "checkout.session.completed" not in monthly["events_on_renewal"]
        assert monthly["renewal_billing_reason"] == "subscription_cycle"
        assert monthly["renewal_events_received_by_todays_matcher"] == 0
        assert monthly["matcher_outcome_for_invoice_paid"] == "ignored"


def test_a_second_payable_session_becomes_a_second_subscription_unless_retired_first(found):
    link, lazy, send = (found[o]["monthly_fee"] for o in rt.OPTIONS)
    assert link["link_active_after_first_subscription"] is False
    for option in (link, send):
        assert option["subscriptions_for_one_order_before_cleanup"] == 2
        assert option["matcher_outcomes_before_cleanup"] == "paid anomaly:double_payment"
        assert option["subscriptions_for_one_order_after_cleanup"] == 1
        assert option["second_session_payable_after_cleanup"] is False
    assert lazy["second_session_payable_before_cleanup"] is False
    assert lazy["subscriptions_for_one_order_before_cleanup"] == 1
    assert lazy["session_lifetime_hours"] == send["session_lifetime_hours"] == 24


def test_exclusive_tax_where_registered_leaves_a_paid_order_pending_inclusive_does_not(found):
    for option in rt.OPTIONS:
        tax = found[option]["tax"]
        assert tax["unregistered_exclusive_status_before_address"] == "requires_location_inputs"
        assert tax["unregistered_exclusive_parent_entered_address"] is True
        assert (tax["unregistered_exclusive_amount_tax"], tax["unregistered_exclusive_order_status"]) == (0, "paid")
        assert tax["registered_exclusive_amount_total"] == rt.FEE + tax["registered_exclusive_amount_tax"] > rt.FEE
        assert tax["registered_exclusive_matcher_outcome"] == "anomaly:amount_mismatch"
        assert tax["registered_exclusive_order_status"] == "pending"
        assert tax["registered_inclusive_amount_total"] == rt.FEE and tax["registered_inclusive_amount_tax"] > 0
        assert tax["registered_inclusive_order_status"] == "paid"


def test_several_line_items_keep_attribution_and_the_limits_differ_by_primitive(found):
    limits = {option: found[option]["multi_line_items"]["line_item_limit"] for option in rt.OPTIONS}
    assert limits == {"payment_link": 20, "lazy_mint": 100, "checkout_session": 100}
    for option in rt.OPTIONS:
        multi = found[option]["multi_line_items"]
        assert (multi["line_items_on_session"], multi["amount_total"]) == (2, rt.FEE + rt.JERSEY)
        assert (multi["matcher_outcome"], multi["order_status"]) == ("paid", "paid")
        assert multi["line_item_limit_accepted"] == "accepted"
        assert multi["line_item_limit_plus_one"].startswith("refused: ")
        assert multi["monthly_with_jersey_first_invoice_total"] == rt.MONTHLY + rt.JERSEY
        assert multi["monthly_with_jersey_renewal_invoice_total"] == rt.MONTHLY


def test_summary_has_a_sentence_per_option_and_case_citing_real_rules_and_sources(summary):
    rule_ids = {r.id for r in RULES}
    registry = load_registry(ROOT / "experiments" / "sources")
    assert set(summary["options"]) == set(rt.OPTIONS)
    for option, cases in summary["options"].items():
        assert set(cases) == set(rt.CASES)
        for case, entry in cases.items():
            assert entry["rules"] and set(entry["rules"]) <= rule_ids, (option, case)
            assert entry["sources"] and all(s in registry for s in entry["sources"]), (option, case)
            assert entry["sentence"].count(".") >= 1 and "{" not in entry["sentence"]
    assert "leaving 2 subscription(s)" in summary["options"]["payment_link"]["monthly_fee"]["sentence"]
    assert "cannot be paid" in summary["options"]["lazy_mint"]["monthly_fee"]["sentence"]
    assert "anomaly:amount_mismatch" in summary["options"]["checkout_session"]["tax"]["sentence"]


def test_subscription_parameters_swap_payment_intent_data_for_subscription_data():
    link = rt.mint_params("payment_link", ORDER, [rt.item("m", 3000, monthly=True)], now=0, subscription=True)
    assert "payment_intent_data" not in link and "mode" not in link
    assert link["subscription_data"]["metadata"] == link["metadata"] and link["metadata"]["order_id"] == "12"
    session = rt.mint_params("lazy_mint", ORDER, [rt.item("m", 3000, monthly=True)], now=0, subscription=True,
                             subscription_metadata=False)
    assert session["mode"] == "subscription" and "subscription_data" not in session
    assert "payment_intent_data" not in session
    today = rt.mint_params("checkout_session", ORDER, [rt.item("f", 4500)], now=0, automatic_tax=True, today=True)
    assert today["payment_intent_data"]["metadata"]["order_id"] == "12" and today["automatic_tax"] == {"enabled": True}


def test_an_unknown_option_or_case_is_refused_by_name():
    with pytest.raises(rt.RecurringError, match="unknown case 'refunds'"):
        rt.run_case("payment_link", "refunds", 1)
    with pytest.raises(rt.RecurringError, match="unknown option 'invoices'"):
        rt.run_case("invoices", "tax", 1)


def test_the_observation_table_has_one_row_per_check(found):
    observations = [rt.Observation(o, c, k, v) for o, cases in found.items() for c, checks in cases.items()
                    for k, v in checks.items()]
    table = rt.observations_table(observations)
    assert list(table.columns) == ["option", "case", "check", "value"]
    assert len(table) == len(observations)
    assert set(table["value"]) >= {"true", "false"}
