"""What would change the answer, checked as a decision analyst checks a sensitivity table: every stated assumption
is a lever moved over a stated range and never outside it; at its stated value a lever reproduces the central case
and moved it changes some cost; a flip is the nearest crossing by ratio, in either direction, past which another
option (not the winner's sibling) is cheapest; a lever the costs are affine in is solved from its lines, one that
bends is scanned; and the committed table is what the scan computes from the committed cells."""

import json
import math

import pytest

from blastpay import config
from blastpay.experiments.decision_inputs import load_model
from blastpay.experiments.decision_sensitivity import flips, levers, nearest_flip
from blastpay.models.effort import UNIT_KINDS

EVIDENCE = config.ROOT / "evidence"
PL, PL2, LAZY, TTL = "payment_link_per_order", "payment_link_per_product", "lazy_mint_db", "ttl_24h"


@pytest.fixture(scope="module")
def model():
    return load_model(EVIDENCE)


@pytest.fixture(scope="module")
def record():
    return json.loads((EVIDENCE / "decision" / "decision.json").read_text())


def _costs(model, lever, x):
    a, knobs = lever.inputs(x)
    _, d = model.evaluate(a, knobs)
    return {v: c.horizon_usd for v, c in d.costed.items()}


class Recorder:
    """A costs function that counts its evaluations and refuses a value outside the lever's range."""

    def __init__(self, lines, lo, hi):
        self.lines, self.lo, self.hi, self.calls = lines, lo, hi, 0

    def __call__(self, x):
        assert self.lo <= x <= self.hi, f"evaluated at {x}, outside [{self.lo}, {self.hi}]"
        self.calls += 1
        return {v: f(x) for v, f in self.lines.items()}


# -- the levers of the committed decision -----------------------------------------------------------------------

def test_every_stated_assumption_is_a_lever_over_its_stated_range(model, record):
    by_name = {lever.name: lever for lever in levers(model)}
    assert len(by_name) == record["levers"]
    assert {f"effort:{kind}" for kind in UNIT_KINDS} <= set(by_name)
    for name in ("blasts_per_year", "orders_per_blast", "fee_usd", "engineer_day_usd", "horizon_years",
                 "staff_hour_usd", "support_contact_minutes"):
        lever = by_name[name]
        assert (lever.lo, lever.hi) == pytest.approx((lever.stated / 100, lever.stated * 100)), name
    for name in ("return_share", "response_share", "retry_cohort_share", "error_page_contact_share",
                 "dead_link_contact_share"):
        assert (by_name[name].unit, by_name[name].lo, by_name[name].hi) == ("share", 0.0, 1.0), name
    downtime = by_name["basketball_api_downtime"]
    assert downtime.unit == "hours" and downtime.lo == 0.0 and downtime.hi == pytest.approx(downtime.stated * 100)
    assert downtime.stated == pytest.approx(record["central"]["basketball_api_downtime_hours_a_year"], rel=1e-5)
    for name, lever in by_name.items():
        if name.startswith("effort:"):
            assert (lever.unit, lever.lo, lever.hi) == ("days", 0.0, pytest.approx(max(lever.stated, 0.25) * 100))
            assert lever.stated == model.unit_days[name.split(":", 1)[1]]
        if name.startswith("likelihood:"):
            like = model.likelihood[name.split(":", 1)[1]]
            assert not like.baseline and lever.lo == 0.0
            assert lever.hi == (1.0 if lever.unit in ("per_order", "share") else pytest.approx(lever.stated * 100))
        if name.startswith("old_email:"):
            assert (lever.unit, lever.lo, lever.hi) == ("share", 0.0, 1.0)
        if name.startswith("likelihood:"):
            like = model.likelihood[name.split(":", 1)[1]]
            assert (lever.unit, lever.stated) == (("per_order", like.per_order) if like.per_order is not None else
                                                  ("per_year", like.per_year) if like.per_year is not None else
                                                  ("share", like.share))
    others = [lever for lever in by_name.values() if lever.name.endswith("_downtime")
              and lever.name != "basketball_api_downtime"]
    assert others, "Stripe's components have downtime levers of their own"
    for lever in others:
        comp = lever.name[: -len("_downtime")]
        assert (lever.unit, lever.lo, lever.hi) == ("hours", 0.0, pytest.approx(lever.stated * 100))
        assert lever.stated == pytest.approx((1 - model.component_availability[comp]) * 8760, rel=1e-9)


def test_a_lever_at_its_stated_value_is_the_central_case_and_the_headline_levers_move_the_costs(model, record):
    _, central = model.evaluate()
    central_costs = {v: c.horizon_usd for v, c in central.costed.items()}
    moving = set()
    for lever in levers(model):
        assert _costs(model, lever, lever.stated) == pytest.approx(central_costs, rel=1e-12), lever.name
        moved = lever.stated * 2 if lever.stated and lever.stated * 2 <= lever.hi else (lever.lo + lever.hi) / 2
        if _costs(model, lever, moved) != pytest.approx(central_costs, rel=1e-9):
            moving.add(lever.name)
    # a lever that moves no variant's cost (a fault that harms every variant alike, a step kind no plan uses)
    # cannot flip the answer; every lever in the table moves some cost
    assert {f["lever"] for f in record["flips"]} <= moving
    assert {lever.name for lever in levers(model) if lever.name.endswith("_downtime")} <= moving
    assert {"basketball_api_downtime", "blasts_per_year", "orders_per_blast", "fee_usd", "return_share",
            "response_share", "engineer_day_usd", "horizon_years", "support_contact_minutes", "staff_hour_usd",
            "error_page_contact_share", "dead_link_contact_share", "effort:call_site", "effort:route_added",
            "effort:table_added", "effort:stripe_kind_added"} <= moving


def test_the_committed_table_is_what_the_scan_computes_from_the_committed_cells(model, record):
    def six(x):
        return None if x is None else float(f"{x:.6g}")

    rows = {r["lever"]: r for r in flips(model)}
    assert len(rows) == record["levers"]
    flipping = {name for name, r in rows.items() if r["flips_at"] is not None}
    assert flipping == {f["lever"] for f in record["flips"]}
    assert len(flipping) == record["levers_that_flip"]
    for f in record["flips"]:
        r = rows[f["lever"]]
        assert (r["title"], r["unit"], r["new_winner_variant"], r["new_winner_option"]) == \
               (f["title"], f["unit"], f["new_winner_variant"], f["new_winner_option"])
        assert (six(r["stated"]), six(r["flips_at"]), six(r["factor"])) == (f["stated"], f["flips_at"], f["factor"])
        assert r["factor"] == pytest.approx(r["flips_at"] / r["stated"])
        assert r["new_winner_option"] != record["recommended_option"]


# -- the scan, on lines an analyst can solve by hand ----------------------------------------------------------

@pytest.mark.parametrize("stated, lo, hi", [(0.5, 0.0, 1.0), (0.0, 0.0, 1.0), (1.0, 0.0, 1.0), (40.0, 0.4, 4000.0)])
def test_an_affine_lever_is_solved_from_its_lines_in_a_few_evaluations_inside_its_range(stated, lo, hi):
    # the Payment Link's cost falls with the lever, lazy-mint's is flat: they cross at 0.3 of the range
    cross = lo + 0.3 * (hi - lo) if stated != lo else lo + 0.6 * (hi - lo)
    costs = Recorder({PL: lambda x: 5e5 - 1e5 * (x - cross) / (hi - lo), LAZY: lambda x: 5e5}, lo, hi)
    found = nearest_flip(costs, stated, lo, hi)
    assert costs.calls <= 8  # three for the lines, one for the stated winner, one per crossing tried
    base = PL if costs(stated)[PL] < costs(stated)[LAZY] else LAZY
    assert found is not None and found[0] == pytest.approx(cross, rel=1e-12)
    assert found[1] == (LAZY if base == PL else PL)


def test_a_flip_needs_another_option_so_a_crossing_with_the_winners_sibling_is_passed_over():
    # going up, the per-product link overtakes at 4; at 5 lazy-mint passes the per-order link but not the
    # per-product one; lazy-mint is cheapest only past 6
    costs = Recorder({PL: lambda x: 10.0 + x, PL2: lambda x: 12.0 + 0.5 * x, LAZY: lambda x: 15.0}, 0.0, 10.0)
    assert nearest_flip(costs, 1.0, 0.0, 10.0) == (pytest.approx(6.0), LAZY)


def test_the_nearest_flip_is_nearest_by_ratio_not_by_difference():
    # down to 0.25 is a halving (ratio 2); up to 0.9 is x1.8: the ratio says up, the difference says down
    lines = {PL: lambda x: 10.0, LAZY: lambda x: 10.0 + 40 * (x - 0.25), TTL: lambda x: 10.0 + 50 * (0.9 - x)}
    found = nearest_flip(Recorder(lines, 0.0, 1.0), 0.5, 0.0, 1.0)
    assert found == (pytest.approx(0.9), TTL)


def test_flips_equally_far_either_way_report_the_lower_value_whichever_variant_it_is():
    lines = {PL: lambda x: 10.0, LAZY: lambda x: 10.0 + 4.0 * (2.0 - x), TTL: lambda x: 10.0 + 8.0 * (x - 0.5)}
    found = nearest_flip(Recorder(lines, 0.0, 10.0), 1.0, 0.0, 10.0)  # lazy-mint at x2, the TTL at x0.5
    assert found == (pytest.approx(0.5), TTL)


def test_a_lever_stated_at_zero_is_measured_by_difference_and_an_empty_range_has_no_flip():
    lines = {PL: lambda x: 10.0 + 20.0 * x, LAZY: lambda x: 14.0}
    assert nearest_flip(Recorder(lines, 0.0, 1.0), 0.0, 0.0, 1.0) == (pytest.approx(0.2), LAZY)
    assert nearest_flip(Recorder(lines, 0.0, 0.0), 0.0, 0.0, 0.0) is None  # a volume stated as 0: 0/100 to 0x100


def test_a_flip_at_the_very_end_of_a_range_reached_by_a_tie_is_reported_there():
    # lazy-mint ties the Payment Link at exactly 0 and wins the tie there (by name): the flip is at 0, not refused
    lines = {PL: lambda x: 10.0, LAZY: lambda x: 10.0 + 5.0 * x}
    assert nearest_flip(Recorder(lines, 0.0, 1.0), 0.4, 0.0, 1.0) == (pytest.approx(0.0, abs=1e-12), LAZY)


def test_a_crossing_at_a_large_value_is_tested_just_past_it_not_at_the_tie():
    # hours of downtime in the hundreds of thousands: a probe a billionth past the crossing must still move
    lines = {LAZY: lambda x: 2e5 + x, PL: lambda x: 5e5}
    found = nearest_flip(Recorder(lines, 1e3, 1e7), 1e5, 1e3, 1e7)
    assert found == (pytest.approx(3e5, rel=1e-12), PL)


@pytest.mark.parametrize("stated, lo, hi, cross", [(1.0, 0.0, 10.0, 2.0), (1.0, 0.0, 10.0, 0.5), (0.0, 0.0, 1.0, 0.6),
                                                   (0.0, 0.0, 1.0, 0.999), (1.0, 0.0, 1.0, 0.25)])
def test_a_lever_the_costs_bend_in_is_scanned_to_its_crossing_in_either_direction(stated, lo, hi, cross):
    # lazy-mint's cost bends (a square): the lines check fails and the scan finds the crossing, never leaving the range
    def bend(x):
        return 10.0 + (x - cross) * abs(x - cross) * (1 if cross > stated else -1)

    costs = Recorder({PL: bend, LAZY: lambda x: 10.0}, lo, hi)
    found = nearest_flip(costs, stated, lo, hi)
    assert found is not None and found[1] == LAZY and found[0] == pytest.approx(cross, rel=1e-6)


def test_no_flip_when_one_option_stays_cheapest_across_the_range():
    lines = {PL: lambda x: 10.0 + x, PL2: lambda x: 9.0 + 2 * x, LAZY: lambda x: 50.0}
    assert nearest_flip(Recorder(lines, 0.0, 10.0), 1.0, 0.0, 10.0) is None
    bends = {PL: lambda x: 10.0 + x * x, LAZY: lambda x: 500.0}
    assert nearest_flip(Recorder(bends, 0.0, 10.0), 1.0, 0.0, 10.0) is None


def test_every_lever_of_the_committed_decision_is_evaluated_only_inside_its_range(model):
    for lever in levers(model):
        seen = []

        def costs(x, lever=lever, seen=seen):
            seen.append(x)
            return _costs(model, lever, x)

        nearest_flip(costs, lever.stated, lever.lo, lever.hi)
        assert all(lever.lo <= x <= lever.hi for x in seen), lever.name
        assert math.isfinite(sum(seen))
