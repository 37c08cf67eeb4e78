"""The size of a change: counted from the moving parts an option adds and removes against today's flow and the call
sites it changes, each at its stated unit effort; today's own flow needs nothing."""

import pytest

from blastpay.models.effort import (
    UNIT_KINDS,
    EffortError,
    changes_code,
    check_unit_days,
    engineer_days,
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
