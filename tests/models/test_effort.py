"""The size of a change: counted from the moving parts an option adds and removes against today's flow and the call
sites it changes, each at its stated unit effort; today's own flow needs nothing."""

import pytest

from blastpay.models.effort import (
    ROLLBACK,
    SITE_ROLLBACK,
    TEST,
    UNIT_KINDS,
    EffortError,
    changes_code,
    check_unit_days,
    engineer_days,
    listed_steps,
    moving_part_changes,
    plan,
)

UNITS = {kind: 1.0 for kind in UNIT_KINDS} | {"route_added": 2.0, "table_added": 0.5, "table_removed": 0.25,
                                              "worker_removed": 0.25}
TODAY = {"routes": "", "tables": "orders stripe_objects stripe_tasks", "workers": "stripe clean-up worker",
         "scheduled_jobs": "blast job (re-queue); reminder job", "secrets": "STRIPE_SECRET_KEY",
         "stripe_object_kinds": "checkout.session"}
LAZY = {**TODAY, "routes": "/pay/{order_token}", "tables": "orders pay_tokens stripe_objects", "workers": ""}
LINK = {**TODAY, "stripe_object_kinds": "checkout.session payment_link"}
SITES = [{"kind": "session_create", "file": "a.py", "change": "For the helper: Replace the call"},
         {"kind": "webhook_handler", "file": "b.py", "change": "For the webhook matcher: No change (matches on metadata)"},
         {"kind": "template", "file": None, "change": "For the templates: the link variable carries the new URL"}]


def test_moving_parts_are_the_net_change_against_todays_flow():
    changes = moving_part_changes(LAZY, TODAY)
    assert changes["routes"] == (["/pay/{order_token}"], [])
    assert changes["tables"] == (["pay_tokens"], ["stripe_tasks"])
    assert changes["workers"] == ([], ["stripe clean-up worker"])


def test_an_option_is_its_added_and_removed_parts_its_changed_call_sites_and_the_cut_over_steps():
    steps = plan(LAZY, TODAY, SITES, UNITS)
    kinds = [s.kind for s in steps]
    assert kinds == ["table_added", "route_added", "worker_removed", "table_removed", "call_site", "template",
                     "feature_flag", "rehearsal", "live_probe", "rollback_drill"]
    assert engineer_days(steps) == pytest.approx(0.5 + 2.0 + 0.25 + 0.25 + 1 + 1 + 4 * 1.0)
    assert all(s.rollback for s in steps)
    assert [s.file for s in steps if s.kind == "call_site"] == ["a.py"]  # the unchanged webhook handler costs nothing


def test_todays_flow_needs_no_step():
    assert plan(TODAY, TODAY, [], UNITS) == []


def test_a_payment_link_adds_a_stripe_object_kind_and_keeps_the_clean_up_worker():
    steps = plan(LINK, TODAY, SITES, UNITS)
    assert [s.kind for s in steps][:1] == ["stripe_kind_added"]
    assert not any(s.kind in ("worker_removed", "table_removed", "route_added") for s in steps)


def test_a_no_change_item_is_told_from_a_change():
    assert not changes_code("For the webhook matcher: No change (matches on metadata order_id)")
    assert changes_code("For the blessed helper: Replace the session-creating call")
    assert not changes_code("No change to this call")


def test_unit_efforts_must_name_every_kind_and_be_days_from_0_to_100():
    assert check_unit_days(UNITS)["route_added"] == 2.0
    with pytest.raises(EffortError, match="missing kind.*route_added"):
        check_unit_days({k: v for k, v in UNITS.items() if k != "route_added"})
    with pytest.raises(EffortError, match="unknown kind.*teleport"):
        check_unit_days(UNITS | {"teleport": 1.0})
    with pytest.raises(EffortError, match="unit_days.route_added must be a number of days"):
        check_unit_days(UNITS | {"route_added": -1})
    with pytest.raises(EffortError, match="unit_days.route_added must be a number of days"):
        check_unit_days(UNITS | {"route_added": float("nan")})


def test_the_steps_every_option_needs_count_for_todays_flow_too_and_an_options_own_only_when_it_changes():
    common = [{"kind": "job_added", "what": "Reminder job"}]
    own = [{"kind": "call_site", "what": "Set the link's inactive message"}]
    today = plan(TODAY, TODAY, [], UNITS, own, common)
    assert [(s.kind, s.common) for s in today] == [("job_added", True)]
    link = plan(LINK, TODAY, SITES, UNITS, own, common)
    assert [s.what for s in link[:3]] == ["Reminder job", "Create, store and retire a Stripe payment_link per order",
                                         "Set the link's inactive message"]
    assert engineer_days(link) == pytest.approx(engineer_days(plan(LINK, TODAY, SITES, UNITS)) + 2 * 1.0)


def test_each_checklist_row_reads_as_the_adr_prints_it_what_where_how_it_is_proven_and_how_it_is_undone():
    sites = SITES + [{"kind": "expires_at", "file": None, "change": "Drop the 30-day expiry", "verify": "grep finds none"},
                     {"kind": "url_flow", "file": "c.py", "change": "No change to this call"}]
    rows = [(s.kind, s.what, s.file, s.site, s.test, s.rollback, s.days, s.common)
            for s in plan(LAZY | {"secrets": "STRIPE_SECRET_KEY TOKEN_KEY",
                                  "scheduled_jobs": "blast job (re-queue); reminder job; token sweep"},
                          TODAY, sites, UNITS)]
    assert rows == [
        ("table_added", "Schema migration: create table pay_tokens", None, None, TEST["table_added"],
         ROLLBACK["table_added"], 0.5, False),
        ("route_added", "Route /pay/{order_token} in basketball-api", None, None, TEST["route_added"],
         ROLLBACK["route_added"], 2.0, False),
        ("secret_added", "Secret TOKEN_KEY in the deploy", None, None, TEST["secret_added"], ROLLBACK["secret_added"],
         1.0, False),
        ("job_added", "Scheduled job: token sweep", None, None, TEST["job_added"], ROLLBACK["job_added"], 1.0, False),
        ("worker_removed", "Optional, after a full blast cycle on the new flow: retire the stripe clean-up worker",
         None, None, TEST["worker_removed"], ROLLBACK["worker_removed"], 0.25, False),
        ("table_removed", "Optional, after a full blast cycle on the new flow: drop table stripe_tasks", None, None,
         TEST["table_removed"], ROLLBACK["table_removed"], 0.25, False),
        ("call_site", "session create: a.py", "a.py", "session_create", "", ROLLBACK["call_site"], 1.0, False),
        ("template", "template: a file the spike does not name (rescan pins it)", None, "template", "",
         ROLLBACK["template"], 1.0, False),
        ("call_site", "expires at: a file the spike does not name (rescan pins it)", None, "expires_at",
         "grep finds none", SITE_ROLLBACK["expires_at"], 1.0, False),
        ("feature_flag", "Cut-over behind a flag the blast job reads (off: today's links)", None, None,
         TEST["feature_flag"], ROLLBACK["feature_flag"], 1.0, False),
        ("rehearsal", "Rehearse the cut-over in test mode with orders pending under old links", None, None,
         TEST["rehearsal"], ROLLBACK["rehearsal"], 1.0, False),
        ("live_probe", "Gate, before the build: `blastpay live probe` checks the Stripe behaviour this plan rests on "
         "against Stripe's test mode", None, None, TEST["live_probe"], ROLLBACK["live_probe"], 1.0, False),
        ("rollback_drill", "Rollback drill: flag off in test mode, the next blast goes out as today", None, None,
         TEST["rollback_drill"], ROLLBACK["rollback_drill"], 1.0, False),
    ]


def test_a_payment_link_needs_a_new_worker_and_job_when_basketball_api_has_neither_and_keeps_todays_otherwise():
    bare = {**TODAY, "tables": "orders", "workers": "", "scheduled_jobs": "blast job (re-queue)"}
    link = {**LINK, "workers": "stripe clean-up worker", "scheduled_jobs": "blast job (re-queue); link expiry sweep"}
    steps = [(s.kind, s.what) for s in plan(link, bare, [], UNITS)]
    assert ("worker_added", "Worker: stripe clean-up worker") in steps
    assert ("job_added", "Scheduled job: link expiry sweep") in steps
    assert ("table_added", "Schema migration: create table stripe_objects") in steps
    assert not any(kind == "job_removed" for kind, _ in steps)
    removed = [(s.kind, s.what) for s in plan({**TODAY, "scheduled_jobs": "blast job (re-queue)"}, TODAY, [], UNITS)]
    assert removed[0] == ("job_removed", "Optional, after a full blast cycle on the new flow: retire the scheduled "
                                         "reminder job")


def test_a_call_site_change_alone_still_needs_the_cut_over_steps():
    kinds = [s.kind for s in plan(TODAY, TODAY, SITES[:1], UNITS)]
    assert kinds == ["call_site", "feature_flag", "rehearsal", "live_probe", "rollback_drill"]
    assert [s.kind for s in plan(LINK, TODAY, [], UNITS)][-1] == "rollback_drill"


def test_a_change_whose_target_itself_contains_a_colon_is_still_read_after_the_first_one():
    assert changes_code("For the helper: Replace: the session call")
    assert not changes_code("For the helper: No change: the matcher reads metadata")
    assert changes_code("Replace the call: No change to the template")  # no "For ..." prefix: the whole text counts


def test_steps_named_in_the_effort_file_carry_the_test_the_file_gives_them_and_are_the_options_own():
    listed = [{"kind": "alert_added", "what": "Alert on link creation failures", "test": "A refused create pages"},
              {"kind": "doc", "what": "Runbook"}]
    steps = listed_steps(listed, UNITS)
    assert [(s.test, s.common) for s in steps] == [("A refused create pages", False), ("", False)]
    link = plan(LINK, TODAY, [], UNITS, option_steps=listed)
    assert [(s.what, s.test, s.common) for s in link if s.kind == "alert_added"] == [
        ("Alert on link creation failures", "A refused create pages", False)]


def test_an_unknown_step_kind_in_the_effort_file_is_one_line_naming_it():
    with pytest.raises(EffortError) as err:
        listed_steps([{"kind": "teleport", "what": "x"}], UNITS)
    assert str(err.value) == "no unit effort for step kind 'teleport' (experiments/effort.yaml unit_days)"


def test_unit_effort_errors_name_the_file_and_every_bad_kind_in_one_line():
    with pytest.raises(EffortError) as err:
        check_unit_days({k: v for k, v in UNITS.items() if k not in ("route_added", "doc")} | {"a": 1, "b": 2})
    assert str(err.value) == ("experiments/effort.yaml: unit_days unknown kind(s) a, b; missing kind(s) doc, "
                              "route_added")
    with pytest.raises(EffortError) as err:
        check_unit_days({k: v for k, v in UNITS.items() if k != "doc"}, where="club/effort.yaml")
    assert str(err.value) == "club/effort.yaml: unit_days missing kind(s) doc"
    with pytest.raises(EffortError) as err:
        check_unit_days(UNITS | {"z": 1})
    assert str(err.value) == "experiments/effort.yaml: unit_days unknown kind(s) z"


@pytest.mark.parametrize("value, ok", [(0, True), (100, True), (100.0, True), (100.01, False), (True, False),
                                       ("1", False), (None, False)])
def test_a_unit_effort_is_a_number_of_days_from_0_to_100_inclusive(value, ok):
    if ok:
        assert check_unit_days(UNITS | {"doc": value})["doc"] == float(value)
    else:
        with pytest.raises(EffortError, match=r"unit_days.doc must be a number of days from 0 to 100, got "):
            check_unit_days(UNITS | {"doc": value})


def test_each_route_and_each_worker_an_option_adds_is_its_own_checklist_row():
    today = {**TODAY, "workers": ""}
    variant = {**TODAY, "routes": "/pay/{order_token} /paid", "workers": "stripe clean-up worker; mint retry worker"}
    steps = [(s.kind, s.what) for s in plan(variant, today, [], UNITS)]
    assert [w for k, w in steps if k == "route_added"] == ["Route /paid in basketball-api",
                                                           "Route /pay/{order_token} in basketball-api"]
    assert [w for k, w in steps if k == "worker_added"] == ["Worker: mint retry worker", "Worker: stripe clean-up worker"]


def test_removing_the_session_expiry_argument_rolls_back_to_todays_expiry_never_to_the_refused_30_day_patch():
    (step,) = plan(TODAY, TODAY, [{"kind": "expires_at", "file": "x.py", "change": "Delete the argument"}], UNITS)[:1]
    assert "never back to the 30-day argument" in step.rollback and step.rollback != ROLLBACK["call_site"]
