"""The decision as its reader uses it: the committed figures add up, `blastpay decide` re-asks the question with the
club's own numbers from the committed cells, each break-even and flip holds when recomputed on either side, and a bad
value or a missing input is one line naming it."""

import csv
import json
import subprocess
import sys
from dataclasses import replace

import pytest

from blastpay import config
from blastpay.experiments.decision_inputs import load_model
from blastpay.experiments.decision_sensitivity import nearest_flip
from blastpay.models.decision import OPTION_OF

EVIDENCE = config.ROOT / "evidence"


@pytest.fixture(scope="module")
def record():
    return json.loads((EVIDENCE / "decision" / "decision.json").read_text())


@pytest.fixture(scope="module")
def model():
    return load_model(EVIDENCE)


def _decide(*args):
    return subprocess.run([sys.executable, "-m", "blastpay.cli", "decide", *args], capture_output=True, text=True,
                          cwd=config.ROOT, timeout=120)


def test_each_variants_cost_is_its_build_plus_the_horizon_times_its_priced_harms(record):
    years = record["central"]["horizon_years"]
    for v, r in record["variants"].items():
        assert r["yearly_usd"] == pytest.approx(sum(r["yearly_usd_by_harm"].values()), rel=1e-5), v
        assert r["horizon_usd"] == pytest.approx(years * r["yearly_usd"] + r["build_usd"], rel=1e-5), v
    cheapest = min(record["variants"], key=lambda v: record["variants"][v]["horizon_usd"])
    assert record["recommended_variant"] == cheapest
    assert OPTION_OF[record["runner_up_variant"]] != OPTION_OF[cheapest]


def test_the_yearly_harms_are_the_sum_of_each_faults_weighted_part_and_the_everyday_part(record):
    with (EVIDENCE / "decision" / "harms_by_fault.csv").open() as fh:
        rows = list(csv.DictReader(fh))
    for v, r in record["variants"].items():
        mine = [row for row in rows if row["variant"] == v]
        for harm in ("parents_stranded", "hours_locked_out", "double_charges", "dead_link_pages"):
            total = sum(float(row[harm] or 0) for row in mine)
            assert total == pytest.approx(r["yearly"][harm], rel=1e-4, abs=1e-6), (v, harm)


def test_decide_without_options_states_the_adrs_central_case(record):
    out = _decide("--json")
    assert out.returncode == 0, out.stderr
    r = json.loads(out.stdout)
    assert r["recommended_variant"] == record["recommended_variant"]
    for v, figures in r["variants"].items():
        assert figures["horizon_usd"] == pytest.approx(record["variants"][v]["horizon_usd"], rel=1e-5)
    text = _decide()
    assert text.returncode == 0 and "Recommendation:" in text.stdout and text.stderr == ""


def test_decide_re_asks_with_the_clubs_numbers_and_every_harm_scales_with_the_volume(record):
    base = json.loads(_decide("--json").stdout)
    doubled = json.loads(_decide("--json", "--blasts-per-year", str(2 * record["central"]["blasts_per_year"])).stdout)
    for v in base["variants"]:
        b, d = base["variants"][v], doubled["variants"][v]
        assert d["yearly_usd"] == pytest.approx(2 * b["yearly_usd"], rel=1e-5)
        assert d["build_days"] == b["build_days"]
    worse = json.loads(_decide("--json", "--availability", "99").stdout)
    lazy = "lazy_mint_db"
    assert worse["variants"][lazy]["per_year"]["parents_meeting_an_error_page"] > \
        base["variants"][lazy]["per_year"]["parents_meeting_an_error_page"]


@pytest.mark.parametrize("args, named", [
    (["--availability", "nan"], "--availability"), (["--availability", "0"], "--availability"),
    (["--availability", "100.5"], "--availability"), (["--fee", "-3"], "--fee"),
    (["--blasts-per-year", "many"], "--blasts-per-year"), (["--orders-per-blast", "inf"], "--orders-per-blast"),
    (["--return-share", "1.5"], "--return-share"), (["--evidence", "/nonexistent/evidence"], "/nonexistent/evidence"),
    (["--reprice-share", "-1"], "--reprice-share"), (["--old-email-share", "2"], "--old-email-share"),
])
def test_a_bad_value_is_one_line_naming_it_and_exit_2(args, named):
    out = _decide(*args)
    assert out.returncode == 2 and out.stdout == ""
    assert len(out.stderr.strip().splitlines()) == 1 and named in out.stderr


def test_the_yearly_break_even_holds_on_either_side_of_it(record, model):
    tie = record["break_even"]["availability_yearly"]
    rec, run = record["break_even"]["pair"]
    lo, hi = record["break_even"]["availability_range"]
    points = ((lo, tie["cheaper_below"]), (hi, tie["cheaper_above"])) if tie["at"] is None else \
        ((tie["at"] - 1e-4, tie["cheaper_below"]), (min(hi, tie["at"] + 1e-4), tie["cheaper_above"]))
    for availability, cheaper in points:
        _, d = model.evaluate(replace(model.central(), availability=availability))
        other = run if cheaper == rec else rec
        assert d.costed[cheaper].yearly_usd < d.costed[other].yearly_usd, availability


def test_every_listed_flip_hands_the_answer_over_just_past_it_and_not_before(record, model):
    from blastpay.experiments.decision_sensitivity import levers

    by_name = {lever.name: lever for lever in levers(model)}
    assert len(by_name) == record["levers"]
    for f in record["flips"]:
        lever = by_name[f["lever"]]
        x = f["flips_at"]
        past = x * 1.001 if x > lever.stated else x * 0.999
        before = lever.stated + (x - lever.stated) * 0.98
        for value, expect_other in ((past, True), (before, False)):
            a, knobs = lever.inputs(value)
            _, d = model.evaluate(a, knobs)
            assert (d.recommended_option != record["recommended_option"]) is expect_other, (f["lever"], value)


def test_nearest_flip_finds_the_closest_crossing_in_either_direction():
    def costs(x):  # b overtakes a at 3 going up; c overtakes a at 0.5 going down
        return {"payment_link_per_order": 10.0, "lazy_mint_db": 16.0 - 2 * x, "ttl_24h": 10.0 + 10 * (x - 0.5)}
    found = nearest_flip(costs, stated=1.0, lo=0.0, hi=10.0)
    assert found is not None and found[1] == "ttl_24h" and found[0] == pytest.approx(0.5)
    assert nearest_flip(lambda x: {"payment_link_per_order": 1.0, "lazy_mint_db": 2.0 + x}, 1.0, 0.0, 10.0) is None


def test_nearest_flip_reports_the_crossing_itself_not_the_end_of_the_range():
    # a small share (0.5% of orders): the Payment Link takes over going down, at 0.35%; the range's end (0) is not the
    # answer however small the stated value is
    def costs(x):
        return {"payment_link_per_order": 10.0 + 20_000 * x, "lazy_mint_db": 80.0}
    found = nearest_flip(costs, stated=0.005, lo=0.0, hi=1.0)
    assert found is not None and found[1] == "payment_link_per_order" and found[0] == pytest.approx(0.0035)


def test_nearest_flip_scans_an_assumption_the_costs_are_not_affine_in():
    def costs(x):  # a cost that bends: lazy-mint overtakes at x = 2 going up (x squared)
        return {"payment_link_per_order": 10.0 + x * x, "lazy_mint_db": 14.0}
    found = nearest_flip(costs, stated=1.0, lo=0.0, hi=10.0)
    assert found is not None and found[1] == "lazy_mint_db" and found[0] == pytest.approx(2.0, rel=1e-6)


def test_no_flip_is_reported_for_a_share_beyond_one(record):
    for f in record["flips"]:
        if f["unit"] in ("share", "per_order"):
            assert 0.0 <= f["flips_at"] <= 1.0, f


def test_the_reprice_share_the_club_can_check_hands_the_answer_over_on_either_side_of_its_tie(record):
    tie = record["break_even"]["amount_changed_after_blast_share"]
    assert tie["at"] is not None and tie["stated"] == pytest.approx(record["central"]["reprice_share"])
    for share, cheaper in ((tie["at"] * 0.9, tie["cheaper_below"]), (tie["at"] * 1.1, tie["cheaper_above"])):
        out = _decide("--json", "--reprice-share", f"{100 * share:.6f}")
        assert out.returncode == 0, out.stderr
        assert json.loads(out.stdout)["recommended_variant"] == cheaper, share


def test_the_parent_hour_price_that_would_change_the_answer_is_the_lead_over_the_extra_hours(record):
    price = record["break_even"]["hours_locked_out_price_usd"]
    rec, run = record["break_even"]["pair"]
    extra = price["recommended_hours"] - price["runner_up_hours"]
    if extra <= 0:  # the recommendation locks parents out no longer: pricing the hours only widens its lead
        assert price["at"] is None
    else:
        lead = record["variants"][run]["horizon_usd"] - record["variants"][rec]["horizon_usd"]
        assert price["at"] == pytest.approx(lead / (extra * record["central"]["horizon_years"]), rel=1e-5)


def test_the_schedule_counts_weekdays_left_in_the_quarter_less_days_off_shared_by_the_engineers():
    from datetime import date

    from blastpay.experiments.decision_evidence import schedule

    # 2026-12-07 is a Monday: 18 weekdays follow it to the 31st; Christmas Day is one of them
    s = schedule(17.5, date(2026, 12, 7), engineers=1, days_off=[date(2026, 12, 25), date(2026, 12, 26)])
    assert (s["working_days_left"], s["weekdays_off"], s["fits_this_quarter"]) == (17, 1, False)
    s = schedule(17.5, date(2026, 12, 7), engineers=2, days_off=[date(2026, 12, 25)])
    assert s["calendar_working_days"] == pytest.approx(8.75) and s["fits_this_quarter"]
