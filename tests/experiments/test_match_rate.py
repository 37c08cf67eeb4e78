"""Webhook match rate: who loses attribution, and that disturbed deliveries never fulfil twice."""

import pytest

from blastpay.experiments import match_rate as mr


def test_bare_per_product_link_loses_every_payment_with_its_reason():
    cell = mr.run_condition("payment_link_per_product", "bare_link", orders=2)
    assert cell.payments == 2 and cell.matched == 0
    assert {p.reason for p in cell.payment_rows} == {mr.NO_REFERENCE}
    assert all(p.client_reference_id is None and p.metadata_order_id is None for p in cell.payment_rows)


@pytest.mark.parametrize("variant", ["payment_link_per_order", "lazy_mint_db", "ttl_24h"])
def test_links_that_carry_the_order_in_the_object_survive_a_bare_link(variant):
    cell = mr.run_condition(variant, "bare_link", orders=2)
    assert cell.payments == 2 and cell.matched == 2


def test_duplicated_deliveries_never_fulfil_twice():
    cell = mr.run_condition("ttl_24h", "duplicated", orders=3)
    assert cell.duplicate_deliveries >= 3  # the fault really delivered each payment event again
    assert cell.double_fulfilments == 0 and cell.matched == cell.payments == 3


def test_reordered_and_retried_deliveries_all_match():
    reordered = mr.run_condition("payment_link_per_order", "reordered", orders=3)
    assert reordered.out_of_order_deliveries > 0 and reordered.matched == 3
    retried = mr.run_condition("lazy_mint_hmac", "dropped_then_retried", orders=2)
    assert retried.failed_delivery_attempts == 4 and retried.matched == 2


def test_late_click_pays_only_where_a_link_still_works():
    assert mr.run_condition("ttl_24h", "late_click_30h", orders=2).payments == 0
    recovered = mr.run_condition("ttl_24h_recovery", "late_click_30h", orders=2)
    assert recovered.payments == recovered.matched == 2


def test_summary_rate_is_matched_over_payments_and_null_without_payments():
    rows = (mr.Payment("v", "bare_link", 1, "cs_1", False, mr.NO_REFERENCE, None, None),)
    results = [mr.CellResult("v", "clean", 3, 3, 3, 0, 0, 0, 0, ()),
               mr.CellResult("v", "bare_link", 1, 1, 0, 0, 0, 0, 0, rows),
               mr.CellResult("ttl_30d", "clean", 3, 0, 0, 0, 0, 0, 0, ())]
    s = mr.summary(results)
    assert s["by_variant"]["v"]["webhook_match_rate"] == 0.75
    assert s["by_variant"]["v"]["unmatched_reasons"] == {mr.NO_REFERENCE: 1}
    assert s["by_variant"]["ttl_30d"] == {"webhook_match_rate": None, "payments": 0, "matched": 0,
                                          "double_fulfilments": 0, "unmatched_reasons": {}}
    assert s["conditions"] == ["clean", "bare_link"]


def test_order_references_are_ones_stripe_keeps():
    assert all(mr.reference_survives(i) for i in (1, 42, 10**12, 2**63 - 1))


def test_unknown_condition_is_refused_by_name():
    with pytest.raises(mr.MatchRateError, match="unknown condition 'lost'"):
        mr.run_condition("ttl_24h", "lost")
