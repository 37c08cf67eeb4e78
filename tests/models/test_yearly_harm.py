"""The yearly-harm model: each fault weighted where it bites, each parent's harm counted once, each harm priced once.

Every expected figure below is worked by hand from the records the test builds, so a wrong weight, a wrong count
or a harm counted twice shows as a number that differs."""

import pytest

from blastpay.models.yearly_harm import (
    CellData,
    Everyday,
    FaultTiming,
    HarmModelError,
    Likelihood,
    ParentRecord,
    Prices,
    Volumes,
    World,
    cell_parts,
    everyday_yearly,
    fault_yearly,
    parent_harms,
    read_parents,
    return_weight,
    support_contacts,
    yearly_harm,
    yearly_usd,
)


def rec(parent, *, fault="f", variant="v", returns=True, in_fault=False, error=False, dead=False, paid="click",
        open_=True, hours=0.0, still=False, double=False):
    return ParentRecord(fault=fault, variant=variant, parent=parent, returns=returns, first_click_in_fault=in_fault,
                        met_error=error, met_dead_link=dead, paid_via=paid, order_open=open_, hours_locked_out=hours,
                        paid_still_payable=still, double_charged=double)


def world(**kw):
    base = dict(volumes=Volumes(blasts_per_year=10, orders_per_blast=100, fee_usd=200), downtime={"api": 0.01},
                return_share=0.5, response_share=0.5, horizon_hours=96, retry_cohort_share=0.02)
    base.update(kw)
    return World(**base)


def baseline(n=4, variant="v"):
    return {i: rec(i, fault="none", variant=variant, returns=(i % 2 == 0)) for i in range(n)}


def test_a_parent_paid_only_by_a_resent_email_is_stranded_by_the_share_who_would_not_act_on_it():
    assert parent_harms(rec(0, paid="email"), 0.5)["parents_stranded"] == 0.5
    assert parent_harms(rec(0, paid="email"), 0.8)["parents_stranded"] == pytest.approx(0.2)
    assert parent_harms(rec(0, paid="none"), 0.5)["parents_stranded"] == 1.0
    assert parent_harms(rec(0, paid="click"), 0.5)["parents_stranded"] == 0.0
    assert parent_harms(rec(0, paid="none", open_=False), 0.5)["parents_stranded"] == 0.0  # a canceled order


def test_a_dead_link_page_is_a_dead_link_not_also_a_temporary_error():
    h = parent_harms(rec(0, error=True, dead=True), 0.5)
    assert (h["dead_link_pages"], h["temporary_error_pages"]) == (1.0, 0.0)
    h = parent_harms(rec(0, error=True), 0.5)
    assert (h["dead_link_pages"], h["temporary_error_pages"]) == (0.0, 1.0)


def test_returning_and_non_returning_parents_are_weighted_by_the_assumed_share_of_returners():
    assert return_weight(rec(0, returns=True), 0.2) == pytest.approx(0.4)
    assert return_weight(rec(0, returns=False), 0.2) == pytest.approx(1.6)


def test_cell_parts_measure_the_excess_over_the_same_parent_without_the_fault():
    base = baseline()
    base[3] = rec(3, fault="none", returns=False, hours=1.0)  # this parent already waits an hour without the fault
    rows = [rec(0, in_fault=True, error=True, paid="email", hours=3.0), rec(1, returns=False, in_fault=True, error=True,
            paid="none", hours=5.0), rec(2), rec(3, returns=False, hours=2.0)]
    parts = cell_parts(rows, base, return_share=0.5, response_share=0.5)
    assert parts.in_fault_parents == 2
    assert parts.in_fault_mean["temporary_error_pages"] == 1.0
    assert parts.in_fault_mean["parents_stranded"] == pytest.approx((0.5 + 1.0) / 2)
    assert parts.in_fault_mean["hours_locked_out"] == pytest.approx((3.0 + 5.0) / 2)
    assert parts.rest_total["hours_locked_out"] == pytest.approx(1.0)  # 2 h against its 1 h without the fault
    assert parts.all_total["parents_stranded"] == pytest.approx(1.5)


def test_a_missing_baseline_parent_is_refused():
    with pytest.raises(HarmModelError, match="no row in the no-fault cell"):
        cell_parts([rec(9)], baseline(), 0.5, 0.5)


def _outage_parts(start):
    rows = [rec(0, in_fault=True, error=True, paid="email", hours=2.0), rec(1, returns=False, in_fault=True,
            error=True, paid="none", hours=4.0), rec(2, hours=1.0), rec(3, returns=False)]
    return cell_parts(rows, baseline(), 0.5, 0.5), FaultTiming(start=start, hours=2.0)


def test_an_outage_after_the_blast_is_weighted_per_clicking_parent_by_the_share_of_time_it_is_on():
    parts, timing = _outage_parts(start=0.4)
    parts.rest_total = {k: 0.0 for k in parts.rest_total}  # nobody outside the window harmed
    like = Likelihood(fault="f", share_of="api", share=0.5)
    out = fault_yearly(like, timing, parts, world(), clicking_parents_per_year=700)
    on = 0.01 * 0.5
    assert out["temporary_error_pages"] == pytest.approx(700 * on * 1.0)
    assert out["parents_stranded"] == pytest.approx(700 * on * 0.75)
    assert out["hours_locked_out"] == pytest.approx(700 * on * 3.0)


def test_an_outage_on_when_the_blast_goes_out_also_weighs_the_other_clicking_parents():
    parts, timing = _outage_parts(start=0.0)
    like = Likelihood(fault="f", per_year=4.38)  # 4.38 two-hour incidents a year: on 0.1% of the time
    out = fault_yearly(like, timing, parts, world(), clicking_parents_per_year=700)
    on = 4.38 * 2 / 8760
    # the 2 in-fault parents' mean (3 h) for every clicking parent, and the other parents' 1 h over a cell of 4 for every
    # clicking parent too: the 300 of 1,000 orders whose parent never clicks meet no fault
    assert out["hours_locked_out"] == pytest.approx(700 * on * 3.0 + 700 * on * 1.0 / 4)
    only_blast = fault_yearly(Likelihood(fault="f", per_year=4.38, counts=("blast",)), timing, parts, world(), 700)
    assert only_blast["hours_locked_out"] == pytest.approx(700 * on * 1.0 / 4)
    assert only_blast["temporary_error_pages"] == 0.0


def test_an_outage_after_the_blast_that_harmed_parents_outside_it_is_weighted_by_the_chance_it_overlaps_a_blast():
    parts, timing = _outage_parts(start=0.4)
    like = Likelihood(fault="f", per_year=1.0)
    out = fault_yearly(like, timing, parts, world(), clicking_parents_per_year=700)
    overlap = 10 * (96 + 2) / 8760
    on = 1.0 * 2 / 8760
    # the in-fault parents per clicking parent, and the rest by the chance an incident overlaps a blast (70 clickers a blast)
    assert out["hours_locked_out"] == pytest.approx(700 * on * 3.0 + 1.0 * overlap * 70 * 1.0 / 4)


def test_a_scenario_on_single_orders_is_weighted_per_clicking_parents_order_and_while_a_component_is_down():
    rows = [rec(0, double=True), rec(1, returns=False, double=True), rec(2), rec(3, returns=False)]
    parts = cell_parts(rows, baseline(), 0.5, 0.5)
    out = fault_yearly(Likelihood(fault="f", per_order=0.01), FaultTiming(None, None), parts, world(), 700)
    assert out["double_charges"] == pytest.approx(700 * 0.01 * 1.0)  # the pair's two events, one each
    out = fault_yearly(Likelihood(fault="f", per_order=0.01, while_down="api"), FaultTiming(None, None), parts,
                       world(), 700)
    assert out["double_charges"] == pytest.approx(700 * 0.01 * 0.01)
    every = fault_yearly(Likelihood(fault="f", per_order=0.1, cell_orders="all"), FaultTiming(None, None), parts,
                         world(), 700)
    assert every["double_charges"] == pytest.approx(700 * 0.1 * 2 / 4)
    # a parent who never clicks meets no scenario: with nobody clicking, nothing happens
    assert fault_yearly(Likelihood(fault="f", per_order=0.01), FaultTiming(None, None), parts, world(), 0) == \
        pytest.approx({k: 0.0 for k in out})


@pytest.mark.parametrize("old_email_share", [0.0, 0.25, 1.0])
def test_a_re_priced_orders_harm_counts_only_for_the_parents_who_click_the_old_email(old_email_share):
    rows = [rec(0, dead=True, error=True, paid="email"), rec(1, returns=False, dead=True, error=True, paid="email"),
            rec(2), rec(3, returns=False)]
    parts = cell_parts(rows, baseline(), 0.5, 0.5)
    like = Likelihood(fault="f", per_order=0.02, old_email_share=old_email_share)
    out = fault_yearly(like, FaultTiming(None, None), parts, world(), 700)
    assert out["dead_link_pages"] == pytest.approx(700 * 0.02 * old_email_share)
    assert out["parents_stranded"] == pytest.approx(700 * 0.02 * old_email_share * 0.5)


@pytest.mark.parametrize("return_share", [0.0, 0.3, 1.0])
def test_a_scenario_harm_both_parents_of_the_pair_suffer_does_not_move_with_the_share_of_returners(return_share):
    """The pair is one parent who comes back by themselves and one who does not: a harm both suffer counts once per
    event whatever share of parents is assumed to come back."""
    rows = [rec(0, dead=True, error=True), rec(1, returns=False, dead=True, error=True), rec(2), rec(3, returns=False)]
    parts = cell_parts(rows, baseline(), return_share, 0.5)
    out = fault_yearly(Likelihood(fault="f", per_order=0.01), FaultTiming(None, None), parts,
                       world(return_share=return_share), 700)
    assert out["dead_link_pages"] == pytest.approx(700 * 0.01)


def test_an_untimed_incident_hits_a_blast_whose_orders_are_still_open():
    rows = [rec(i, paid="email") for i in range(4)]
    parts = cell_parts(rows, baseline(), 0.5, 0.5)
    out = fault_yearly(Likelihood(fault="f", per_year=0.5), FaultTiming(0.2, None), parts, world(), 700)
    hits = 0.5 * 10 * 96 / 8760
    assert out["parents_stranded"] == pytest.approx(hits * 70 * 0.5)  # 70 clicking parents a blast


def _everyday(**kw):
    base = dict(click_share=0.7, first_click_payable_share_of_clickers=0.9, stranded_share=0.1, paid_share=0.8,
                sessions_minted_per_order=1.2, webhook_match_rate=0.95, abandoned_sessions_per_paid_order_retry_cohort=3.0,
                stripe_calls_per_paid_order=2.0)
    base.update(kw)
    return Everyday(**base)


def test_everyday_harms_come_from_the_other_experiments_figures():
    out = everyday_yearly(_everyday(), world())
    assert out["parents_stranded"] == pytest.approx(1000 * 0.1)
    assert out["dead_link_pages"] == pytest.approx(1000 * 0.7 * 0.1)
    assert out["unmatched_payments"] == pytest.approx(800 * 0.05)
    assert out["abandoned_sessions"] == pytest.approx(800 * 0.02 * 3.0)
    assert out["checkout_sessions"] == pytest.approx(1000 * 1.2 + 800 * 0.02 * 3.0)
    assert out["stripe_calls"] == pytest.approx(1600)


def test_a_variants_yearly_harm_is_its_everyday_harm_plus_each_faults_and_the_baseline_adds_nothing():
    records = list(baseline().values()) + [rec(i, fault="f", in_fault=i < 2, error=i < 2, paid="none" if i == 1 else
                                               "click", returns=(i % 2 == 0)) for i in range(4)]
    data = CellData.from_records(records)
    likelihood = {"none": Likelihood(fault="none", baseline=True), "f": Likelihood(fault="f", share_of="api", share=1.0)}
    timing = {"none": FaultTiming(None, None), "f": FaultTiming(0.4, 1.0)}
    h = yearly_harm("v", data, likelihood, timing, _everyday(stranded_share=0.0), world())
    assert set(h.by_fault) == {"f"}
    assert h.total["parents_stranded"] == pytest.approx(700 * 0.01 * 0.5)
    assert h.parents_meeting_an_error_page == pytest.approx(700 * 0.01 * 1.0 + 1000 * 0.7 * 0.1)
    with pytest.raises(HarmModelError, match="no likelihood"):
        yearly_harm("v", data, {"none": likelihood["none"]}, timing, _everyday(), world())


def test_each_harm_is_priced_once_and_hours_sessions_and_calls_are_not_priced():
    harm = {"parents_stranded": 2.0, "dead_link_pages": 4.0, "temporary_error_pages": 8.0, "double_charges": 1.0,
            "unmatched_payments": 3.0, "hours_locked_out": 1e6, "checkout_sessions": 1e6, "stripe_calls": 1e6,
            "abandoned_sessions": 1e6, "paid_still_payable": 1e6}
    prices = Prices(support_contact_usd=7.5, error_page_contact_share=0.25, refund_fee_usd=6.1, engineer_day_usd=600,
                    horizon_years=3)
    usd = yearly_usd(harm, prices, fee_usd=200)
    assert usd == pytest.approx({"parents_stranded": 400.0, "dead_link_pages": 30.0, "temporary_error_pages": 15.0,
                                 "double_charges": 13.6, "unmatched_payments": 22.5})
    assert support_contacts(harm, prices) == pytest.approx(4 + 1 + 3 + 2)


def test_the_share_of_parents_who_write_in_after_a_dead_link_page_scales_its_cost_and_its_contacts():
    harm = {"parents_stranded": 0.0, "dead_link_pages": 4.0, "temporary_error_pages": 0.0, "double_charges": 0.0,
            "unmatched_payments": 0.0}
    prices = Prices(support_contact_usd=7.5, error_page_contact_share=0.25, refund_fee_usd=6.1, engineer_day_usd=600,
                    horizon_years=3, dead_link_contact_share=0.5)
    assert yearly_usd(harm, prices, fee_usd=200)["dead_link_pages"] == pytest.approx(4 * 0.5 * 7.5)
    assert support_contacts(harm, prices) == pytest.approx(2.0)


HEADER = ("fault,variant,parent,returns,first_click_in_fault,met_error,met_dead_link,paid_via,order_open,"
          "hours_without_way_to_pay_after_first_click,paid_still_payable,double_charged\n")


def test_the_parents_table_reads_each_spelling_of_true_and_false_the_writers_use(tmp_path):
    path = tmp_path / "parents.csv"
    path.write_text(HEADER + "f,v,7,True,true,1,False,click,false,2.5,0,\n")
    (r,) = read_parents(path)
    assert (r.fault, r.variant, r.parent, r.returns, r.first_click_in_fault, r.met_error) == ("f", "v", 7, True, True,
                                                                                              True)
    assert (r.met_dead_link, r.order_open, r.paid_still_payable, r.double_charged) == (False, False, False, False)
    assert (r.paid_via, r.hours_locked_out) == ("click", 2.5)


@pytest.mark.parametrize("row, problem", [("f,v,7,TRUE,0,0,0,click,1,0,0,0", "not a boolean: 'TRUE'"),
                                          ("f,v,seven,1,0,0,0,click,1,0,0,0", "invalid literal for int()"),
                                          ("f,v,7,1,0,0,0,click,1,soon,0,0", "could not convert string to float")])
def test_a_corrupt_row_of_the_parents_table_is_one_line_naming_its_file_and_line(tmp_path, row, problem):
    path = tmp_path / "parents.csv"
    path.write_text(HEADER + "f,v,1,1,0,0,0,click,1,0,0,0\n" + row + "\n")
    with pytest.raises(HarmModelError) as err:
        read_parents(path)
    assert str(err.value).startswith(f"{path}:3: {problem}")
    assert "\n" not in str(err.value)


def test_a_row_with_a_line_break_inside_a_quoted_field_keeps_the_tables_rows_apart(tmp_path):
    path = tmp_path / "parents.csv"
    path.write_text(HEADER + 'f,"v\r\nx",1,1,0,0,0,click,1,0,0,0\n', newline="")
    assert read_parents(path)[0].variant == "v\r\nx"


def test_refusals_of_the_weighting_name_the_fault_and_what_it_lacks():
    parts, timing = _outage_parts(start=0.4)
    with pytest.raises(HarmModelError) as err:
        fault_yearly(Likelihood(fault="f", share_of="db"), timing, parts, world(), 700)
    assert str(err.value) == "f: unknown component 'db'"
    with pytest.raises(HarmModelError) as err:
        fault_yearly(Likelihood(fault="f"), timing, parts, world(), 700)
    assert str(err.value) == "f: a timed fault needs share_of or per_year"
    with pytest.raises(HarmModelError) as err:
        fault_yearly(Likelihood(fault="f", per_year=1.0), FaultTiming(0.4, 0.0), parts, world(), 700)
    assert str(err.value) == "f: a timed fault needs share_of or per_year"
    with pytest.raises(HarmModelError) as err:
        fault_yearly(Likelihood(fault="f", per_order=0.1, while_down="db"), FaultTiming(None, None), parts, world(), 7)
    assert str(err.value) == "f: unknown component 'db'"
    with pytest.raises(HarmModelError) as err:
        fault_yearly(Likelihood(fault="f", share_of="api", share=1.0), FaultTiming(0.2, None), parts, world(), 700)
    assert str(err.value) == "f: an untimed incident needs per_year"
    with pytest.raises(HarmModelError) as err:
        parent_harms(rec(0, paid="cheque"), 0.5)
    assert str(err.value) == "paid_via 'cheque' (expected click, email or none)"


def test_with_blasts_more_often_than_their_horizon_an_incident_hits_at_most_once_per_blast_it_overlaps():
    # 200 blasts a year of a 96-hour horizon cover the year twice over: an incident overlaps a blast for sure, not twice
    rows = [rec(i, paid="email") for i in range(4)]
    parts = cell_parts(rows, baseline(), 0.5, 0.5)
    many = world(volumes=Volumes(blasts_per_year=200, orders_per_blast=5, fee_usd=200))
    out = fault_yearly(Likelihood(fault="f", per_year=0.5), FaultTiming(0.2, None), parts, many, 700)
    assert out["parents_stranded"] == pytest.approx(0.5 * 1.0 * (700 / 200) * 0.5)
    parts, timing = _outage_parts(start=0.4)
    out = fault_yearly(Likelihood(fault="f", per_year=1.0), timing, parts, many, clicking_parents_per_year=700)
    on = 1.0 * 2 / 8760
    assert out["hours_locked_out"] == pytest.approx(700 * on * 3.0 + 1.0 * 1.0 * (700 / 200) * 1.0 / 4)


def test_a_cell_of_one_parent_weighs_that_parent_whole():
    rows = [rec(0, paid="email")]
    parts = cell_parts(rows, baseline(1), 0.5, 0.5)
    out = fault_yearly(Likelihood(fault="f", per_year=0.5), FaultTiming(0.2, None), parts, world(), 700)
    hits = 0.5 * 10 * 96 / 8760
    assert out["parents_stranded"] == pytest.approx(hits * 70 * 0.5 / 1)


def test_a_yearly_harm_names_its_variant_and_keeps_its_everyday_part_apart():
    records = list(baseline().values()) + [rec(i, fault="f", returns=(i % 2 == 0)) for i in range(4)]
    data = CellData.from_records(records)
    likelihood = {"none": Likelihood(fault="none", baseline=True), "f": Likelihood(fault="f", share_of="api", share=1.0)}
    timing = {"none": FaultTiming(None, None), "f": FaultTiming(0.4, 1.0)}
    h = yearly_harm("v", data, likelihood, timing, _everyday(), world())
    assert h.variant == "v"
    assert h.everyday == pytest.approx(everyday_yearly(_everyday(), world()))
    assert data.faults() == ["f", "none"]
    with pytest.raises(HarmModelError) as err:
        yearly_harm("v", data, {"none": likelihood["none"]}, timing, _everyday(), world())
    assert str(err.value) == "no likelihood for fault(s) f (experiments/likelihood.yaml)"

