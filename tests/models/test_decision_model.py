"""The decision as a decision analyst checks it: several harms per variant, three or more variants, a runner-up from
another option even when the second cheapest is the winner's sibling, ties that no name decides, break-evens in both
directions and at the exact value, and each harm priced by the stated price."""

import pytest

from blastpay.models.decision import OPTION_OF, cost, decide, tie
from blastpay.models.yearly_harm import HARMS, Prices, YearlyHarm

PRICES = Prices(support_contact_usd=10.0, error_page_contact_share=0.5, refund_fee_usd=5.0, engineer_day_usd=500.0,
                horizon_years=2.0)


def harm(variant, **values):
    total = {h: 0.0 for h in HARMS}
    total.update(values)
    return YearlyHarm(variant=variant, total=total, everyday={}, by_fault={})


def test_horizon_cost_is_the_build_plus_the_horizon_times_every_priced_harm():
    c = cost(harm("lazy_mint_db", parents_stranded=2, dead_link_pages=3, temporary_error_pages=4, double_charges=1,
                  unmatched_payments=1, hours_locked_out=99), build_days=4, prices=PRICES, fee_usd=100)
    yearly = 2 * 100 + 3 * 10 + 4 * 0.5 * 10 + 1 * (5 + 10) + 1 * 10
    assert c.yearly_usd == pytest.approx(yearly)
    assert c.build_usd == pytest.approx(2000)
    assert c.horizon_usd == pytest.approx(2 * yearly + 2000)


def test_the_cheapest_over_the_horizon_wins_and_the_runner_up_comes_from_another_option():
    harms = {"payment_link_per_order": harm("payment_link_per_order", parents_stranded=1),
             "payment_link_per_product": harm("payment_link_per_product", parents_stranded=2),
             "lazy_mint_db": harm("lazy_mint_db", parents_stranded=3),
             "ttl_24h": harm("ttl_24h", parents_stranded=50)}
    days = {"payment_link_per_order": 5, "payment_link_per_product": 5, "lazy_mint_db": 5, "ttl_24h": 0}
    d = decide(harms, days, PRICES, fee_usd=100)
    assert d.recommended_variant == "payment_link_per_order"
    assert d.runner_up_variant == "lazy_mint_db"  # not the per-product link, the winner's own sibling
    assert d.margin_usd == pytest.approx(2 * (300 - 100))
    assert d.best_of_option == {"payment_links": "payment_link_per_order", "lazy_mint": "lazy_mint_db",
                                "ttl_30d": "ttl_24h"}


def test_a_cheaper_build_can_outweigh_a_costlier_year_and_the_other_way_round():
    harms = {"payment_link_per_order": harm("payment_link_per_order", parents_stranded=1),
             "lazy_mint_db": harm("lazy_mint_db", parents_stranded=0)}
    cheap_build = decide(harms, {"payment_link_per_order": 1, "lazy_mint_db": 3}, PRICES, fee_usd=100)
    assert cheap_build.recommended_variant == "payment_link_per_order"  # 2 x 100 + 500 < 0 + 1500
    dear_fee = decide(harms, {"payment_link_per_order": 1, "lazy_mint_db": 3}, PRICES, fee_usd=1000)
    assert dear_fee.recommended_variant == "lazy_mint_db"  # 2 x 1000 + 500 > 1500


def test_infeasible_variants_are_never_recommended_and_without_a_feasible_one_there_is_no_answer():
    harms = {"ttl_30d": harm("ttl_30d"), "lazy_mint_db": harm("lazy_mint_db", parents_stranded=9)}
    d = decide(harms, {"ttl_30d": 0, "lazy_mint_db": 1}, PRICES, 100, infeasible={"ttl_30d": "Stripe refuses it"})
    assert d.recommended_variant == "lazy_mint_db" and "ttl_30d" not in d.costed
    with pytest.raises(ValueError, match="no feasible variant"):
        decide({"ttl_30d": harm("ttl_30d")}, {"ttl_30d": 0}, PRICES, 100, infeasible={"ttl_30d": "refused"})


def test_a_tie_in_cost_is_decided_by_the_smaller_yearly_harm_not_by_the_name():
    # equal over the horizon: the one whose harms are smaller each year (its build is the dearer) ranks first
    harms = {"lazy_mint_db": harm("lazy_mint_db", parents_stranded=0),
             "payment_link_per_order": harm("payment_link_per_order", parents_stranded=5)}
    d = decide(harms, {"lazy_mint_db": 2, "payment_link_per_order": 0}, PRICES, fee_usd=100)
    assert d.costed["lazy_mint_db"].horizon_usd == pytest.approx(d.costed["payment_link_per_order"].horizon_usd)
    assert d.recommended_variant == "lazy_mint_db" and d.margin_usd == pytest.approx(0)


def test_a_missing_build_estimate_is_refused():
    with pytest.raises(ValueError, match="no build estimate for lazy_mint_db"):
        decide({"lazy_mint_db": harm("lazy_mint_db")}, {}, PRICES, 100)


@pytest.mark.parametrize("slope", [1.0, -1.0])
def test_tie_finds_the_exact_crossing_and_which_side_each_variant_wins_in_both_directions(slope):
    t = tie(lambda x: slope * (x - 0.3), "a", "b", 0.0, 1.0)  # cost(b) - cost(a)
    assert t.at == pytest.approx(0.3)
    below, above = ("b", "a") if slope > 0 else ("a", "b")
    assert (t.cheaper_below, t.cheaper_above) == (below, above)


def test_tie_reports_no_crossing_when_one_variant_is_cheaper_across_the_range():
    t = tie(lambda x: 2.0 + x, "a", "b", 0.0, 1.0)
    assert t.at is None and t.cheaper_below == t.cheaper_above == "a"
    t = tie(lambda x: -2.0 - x, "a", "b", 0.0, 1.0)
    assert t.at is None and t.cheaper_below == t.cheaper_above == "b"


def test_tie_bisects_when_the_difference_is_not_affine():
    t = tie(lambda x: x ** 3 - 0.125, "a", "b", 0.0, 1.0)
    assert t.at == pytest.approx(0.5, abs=1e-9)


def test_every_variant_belongs_to_one_of_the_spikes_three_options():
    assert set(OPTION_OF.values()) == {"payment_links", "lazy_mint", "ttl_30d"}


def test_each_variants_costed_row_names_it_and_prices_each_harm_separately():
    c = cost(harm("lazy_mint_db", parents_stranded=2, dead_link_pages=3), build_days=4, prices=PRICES, fee_usd=100)
    assert c.variant == "lazy_mint_db" and c.build_days == 4
    assert c.yearly_usd_by_harm["parents_stranded"] == pytest.approx(200)
    assert c.yearly_usd_by_harm["dead_link_pages"] == pytest.approx(30)
    assert sum(c.yearly_usd_by_harm.values()) == pytest.approx(c.yearly_usd)


def test_refusals_are_one_line_naming_what_is_missing():
    with pytest.raises(ValueError) as err:
        decide({"ttl_30d": harm("ttl_30d")}, {"ttl_30d": 0}, PRICES, 100, infeasible={"ttl_30d": "refused"})
    assert str(err.value) == "no feasible variant to recommend"
    with pytest.raises(ValueError) as err:
        decide({"lazy_mint_db": harm("lazy_mint_db"), "ttl_24h": harm("ttl_24h")}, {}, PRICES, 100)
    assert str(err.value) == "no build estimate for lazy_mint_db, ttl_24h"


def test_the_decision_keeps_why_each_infeasible_variant_was_left_out():
    harms = {"ttl_30d": harm("ttl_30d"), "lazy_mint_db": harm("lazy_mint_db")}
    d = decide(harms, {"ttl_30d": 0, "lazy_mint_db": 1}, PRICES, 100, infeasible={"ttl_30d": "Stripe refuses it"})
    assert d.infeasible == {"ttl_30d": "Stripe refuses it"}


def test_when_only_one_options_variants_are_feasible_the_runner_up_is_the_winners_sibling():
    harms = {"payment_link_per_order": harm("payment_link_per_order", parents_stranded=1),
             "payment_link_per_product": harm("payment_link_per_product", parents_stranded=2),
             "lazy_mint_db": harm("lazy_mint_db")}
    days = {"payment_link_per_order": 1, "payment_link_per_product": 1, "lazy_mint_db": 1}
    d = decide(harms, days, PRICES, 100, infeasible={"lazy_mint_db": "no route"})
    assert d.recommended_variant == "payment_link_per_order"
    assert d.runner_up_variant == "payment_link_per_product" and d.margin_usd == pytest.approx(2 * 100)
    alone = decide({"lazy_mint_db": harm("lazy_mint_db")}, {"lazy_mint_db": 1}, PRICES, 100)
    assert alone.runner_up_variant == "lazy_mint_db" and alone.margin_usd == 0


def test_a_variant_not_yet_assigned_to_an_option_stands_as_its_own_option():
    harms = {"new_variant": harm("new_variant"), "lazy_mint_db": harm("lazy_mint_db", parents_stranded=1)}
    d = decide(harms, {"new_variant": 1, "lazy_mint_db": 1}, PRICES, 100)
    assert d.recommended_variant == "new_variant" and d.recommended_option == "new_variant"
    assert d.best_of_option == {"new_variant": "new_variant", "lazy_mint": "lazy_mint_db"}
    assert d.runner_up_variant == "lazy_mint_db"


@pytest.mark.parametrize("slope", [1.0, -1.0])
def test_a_break_even_exactly_at_the_ranges_end_names_the_other_variant_beyond_it(slope):
    # cost(b) - cost(a) is 0 at the low end: a is cheaper above when it rises, b when it falls
    t = tie(lambda x: slope * x, "a", "b", 0.0, 1.0)
    assert t.at == pytest.approx(0.0)
    assert t.cheaper_above == ("a" if slope > 0 else "b")
    assert t.cheaper_below == "b"  # at the end itself they cost the same: a is not cheaper there


@pytest.mark.parametrize("difference, cheaper", [(lambda x: 1.0 + x, "a"), (lambda x: 0.5 + 0.5 * x, "a"),
                                                 (lambda x: 0.2 + 0.1 * x, "a"), (lambda x: -0.2 - 0.1 * x, "b"),
                                                 (lambda x: -1.0 - x, "b")])
def test_a_difference_of_a_dollar_or_of_cents_never_crossing_zero_reports_no_break_even(difference, cheaper):
    t = tie(difference, "a", "b", 0.0, 1.0)
    assert t.at is None and t.cheaper_below == t.cheaper_above == cheaper


@pytest.mark.parametrize("d_lo, d_hi", [(-1.0, 1.0), (-2e5, 3e3), (4e4, -7.0), (-0.25, 9e5)])
def test_an_affine_difference_is_solved_with_three_evaluations_at_any_dollar_scale(d_lo, d_hi):
    calls = []

    def difference(x):
        calls.append(x)
        return d_lo + (d_hi - d_lo) * (x - 2.0) / 8.0

    t = tie(difference, "a", "b", 2.0, 10.0)
    assert len(calls) == 3  # both ends and the check: no bisection
    assert t.at == pytest.approx(2.0 + 8.0 * d_lo / (d_lo - d_hi), rel=1e-12)
    assert (t.cheaper_below, t.cheaper_above) == (("b", "a") if d_lo < 0 else ("a", "b"))


@pytest.mark.parametrize("sign", [1.0, -1.0])
def test_a_non_affine_difference_is_bisected_to_its_crossing_in_both_directions(sign):
    t = tie(lambda x: sign * (x ** 3 - 0.3), "a", "b", 0.0, 1.0)
    assert t.at == pytest.approx(0.3 ** (1 / 3), abs=1e-9)
    assert (t.cheaper_below, t.cheaper_above) == (("b", "a") if sign > 0 else ("a", "b"))
    small = tie(lambda x: sign * (0.5 - x ** 2), "a", "b", 0.0, 1.0)  # starts half a dollar apart
    assert small.at == pytest.approx(0.5 ** 0.5, abs=1e-9)
