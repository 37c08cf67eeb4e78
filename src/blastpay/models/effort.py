"""The size of a change, in steps and engineer-days, counted rather than guessed.

An option's steps are: the moving parts its reference flow adds or removes against today's flow as rebuilt here
(routes, tables, workers, scheduled jobs, secrets, Stripe object kinds: ``cost/summary.json``), the call sites the
spike names whose code changes under it (``experiments/call_sites.json`` through ``scanner.migration_checklist``), and
four cut-over steps every option that changes the flow needs (a flag, a rehearsal, a test-mode probe, a rollback
drill). Each step costs the unit ``experiments/effort.yaml`` states for its kind; engineer-days are their sum.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any, Iterable, Mapping

UNIT_KINDS = ("table_added", "table_removed", "route_added", "worker_added", "worker_removed", "job_added",
              "job_removed", "job_changed", "secret_added", "stripe_kind_added", "call_site", "template", "doc",
              "serving_change", "alert_added", "feature_flag", "rehearsal", "live_probe", "rollback_drill")

# What undoes each kind of step (the checklist's rollback column).
ROLLBACK = {
    "table_added": "Leave the table in place: with the flag off nothing writes to it; drop it in a later release.",
    "table_removed": "Do this only after the flag has been on for a full blast cycle; restore from the migration's "
                     "down step if the flag goes back off.",
    "route_added": "Flag off: the blast emails today's links again; keep the route deployed so links already "
                   "emailed still open.",
    "worker_added": "Stop the worker; the flag off returns the blast to today's flow.",
    "worker_removed": "Keep the worker's code deployable until the flag has been on for a full blast cycle.",
    "job_added": "Disable the job's schedule.",
    "job_removed": "Re-enable the job's schedule.",
    "job_changed": "Deploy the job's previous version.",
    "secret_added": "Leave the secret in place; rotating it is independent of the flag.",
    "stripe_kind_added": "Flag off: new blasts go back to today's objects; objects already emailed stay valid until "
                         "they are paid or retired.",
    "call_site": "Flag off routes the call back to today's code path (both paths ship together).",
    "template": "The template takes whichever URL the blast hands it: nothing to undo.",
    "doc": "Nothing to undo.",
    "serving_change": "Deploy the previous serving configuration.",
    "alert_added": "Mute the alert.",
    "feature_flag": "Switch the flag off.",
    "rehearsal": "Nothing to undo (test mode).",
    "live_probe": "Nothing to undo (test mode).",
    "rollback_drill": "Nothing to undo (test mode).",
}

# Where a call site's own undo differs from its kind's: removing the session-expiry argument must not restore the
# 30-day patch, which Stripe refuses.
SITE_ROLLBACK = {
    "expires_at": "Flag off: sessions go back to Stripe's default expiry, as today; never back to the 30-day argument, "
                  "which Stripe refuses.",
}

# What proves each kind of structural step done (a call site's test comes from the call-site inventory).
TEST = {
    "table_added": "The migration runs up and down on a copy of production's schema; the model's tests pass.",
    "table_removed": "No code reads or writes the table (grep and the test suite) before the migration drops it.",
    "route_added": "Route tests: a forged or damaged token gets the same not-found page; a paid order gets the "
                   "already-paid page with no Stripe call; a burst of clicks on one order opens one session.",
    "worker_added": "The worker drains its queue in a test with Stripe failing, then recovering.",
    "worker_removed": "A week of blasts after the cut-over queues no task for it.",
    "job_added": "The job's test runs it twice and sends each email once.",
    "job_removed": "The schedule no longer lists it.",
    "job_changed": "The job's test: a blast of many orders stays under the rate limit and re-queues a refusal.",
    "secret_added": "The app refuses to start without it; a rotation keeps links already emailed valid.",
    "stripe_kind_added": "Against the Stripe fake: the blast creates one link per order carrying the order's metadata; "
                         "a paid order's link takes no new visit; a canceled order's link is switched off.",
    "feature_flag": "With the flag off the next blast emails today's links; with it on, the new ones.",
    "rehearsal": "Orders pending under old links during the cut-over each pay once (the migration rehearsal's "
                 "safe order, rerun against test mode).",
    "live_probe": "The probe's record in experiments/live/ shows every rule it checked verified.",
    "rollback_drill": "Flag off in test mode: the next blast goes out as today, and links already emailed still pay.",
}

# Checklist kinds of the call-site inventory -> effort kinds.
SITE_KIND = {"session_create": "call_site", "expires_at": "call_site", "webhook_handler": "call_site",
             "url_flow": "call_site", "test": "call_site", "template": "template", "doc": "doc"}


class EffortError(ValueError):
    """An effort input that cannot be used (an unknown step kind, a negative unit)."""


@dataclass(frozen=True)
class Step:
    kind: str
    what: str
    days: float
    rollback: str
    file: str | None = None
    site: str | None = None  # the call-site kind, for a call-site step
    test: str = ""
    common: bool = False  # a step every option needs (the mitigation policy), not this option's own


def _step(kind: str, what: str, unit_days: Mapping[str, float], file: str | None = None, site: str | None = None,
          test: str | None = None) -> Step:
    if kind not in unit_days:
        raise EffortError(f"no unit effort for step kind {kind!r} (experiments/effort.yaml unit_days)")
    return Step(kind=kind, what=what, days=float(unit_days[kind]), rollback=ROLLBACK[kind], file=file, site=site,
                test=test if test is not None else TEST.get(kind, ""))


def _words(value: Any, sep: str) -> set[str]:
    return {w.strip() for w in str(value or "").split(sep) if w.strip()}


def moving_part_changes(variant: Mapping[str, Any], today: Mapping[str, Any]) -> dict[str, tuple[list[str], list[str]]]:
    """Per kind of moving part: (added, removed) against today's flow, from two ``cost/summary.json`` rows."""
    kinds = {"routes": " ", "tables": " ", "workers": ";", "scheduled_jobs": ";", "secrets": " ",
             "stripe_object_kinds": " "}
    out = {}
    for kind, sep in kinds.items():
        mine, theirs = _words(variant.get(kind), sep), _words(today.get(kind), sep)
        out[kind] = (sorted(mine - theirs), sorted(theirs - mine))
    return out


def structural_steps(variant: Mapping[str, Any], today: Mapping[str, Any],
                     unit_days: Mapping[str, float]) -> list[Step]:
    changes = moving_part_changes(variant, today)
    steps = []
    for name in changes["tables"][0]:
        steps.append(_step("table_added", f"Schema migration: create table {name}", unit_days))
    for name in changes["routes"][0]:
        steps.append(_step("route_added", f"Route {name} in basketball-api", unit_days))
    for name in changes["stripe_object_kinds"][0]:
        steps.append(_step("stripe_kind_added", f"Create, store and retire a Stripe {name} per order", unit_days))
    for name in changes["secrets"][0]:
        steps.append(_step("secret_added", f"Secret {name} in the deploy", unit_days))
    for name in changes["workers"][0]:
        steps.append(_step("worker_added", f"Worker: {name}", unit_days))
    for name in changes["scheduled_jobs"][0]:
        steps.append(_step("job_added", f"Scheduled job: {name}", unit_days))
    for name in changes["workers"][1]:
        steps.append(_step("worker_removed", f"Optional, after a full blast cycle on the new flow: retire the {name}", unit_days))
    for name in changes["scheduled_jobs"][1]:
        steps.append(_step("job_removed", f"Optional, after a full blast cycle on the new flow: retire the scheduled {name}", unit_days))
    for name in changes["tables"][1]:
        steps.append(_step("table_removed", f"Optional, after a full blast cycle on the new flow: drop table {name}", unit_days))
    return steps


def changes_code(change: str) -> bool:
    """Whether a checklist item's change text asks for a code change (not "No change ...")."""
    text = change.split(": ", 1)[1] if change.startswith("For ") and ": " in change else change
    return not text.startswith("No change")


def call_site_steps(items: Iterable[Mapping[str, Any]], unit_days: Mapping[str, float]) -> list[Step]:
    """One step per checklist item whose code changes (the new route item is a structural step already)."""
    steps = []
    for item in items:
        kind = SITE_KIND.get(str(item.get("kind")))
        if kind is None or not changes_code(str(item.get("change", ""))):
            continue
        where = item.get("file") or "a file the spike does not name (rescan pins it)"
        step = _step(kind, f"{item['kind'].replace('_', ' ')}: {where}", unit_days, file=item.get("file"),
                     site=str(item["kind"]), test=str(item.get("verify", "")))
        steps.append(replace(step, rollback=SITE_ROLLBACK.get(step.site or "", step.rollback)))
    return steps


def cutover_steps(unit_days: Mapping[str, float]) -> list[Step]:
    return [
        _step("feature_flag", "Cut-over behind a flag the blast job reads (off: today's links)", unit_days),
        _step("rehearsal", "Rehearse the cut-over in test mode with orders pending under old links", unit_days),
        _step("live_probe", "Gate, before the build: `blastpay live probe` checks the Stripe behaviour this plan rests "
              "on against Stripe's test mode", unit_days),
        _step("rollback_drill", "Rollback drill: flag off in test mode, the next blast goes out as today", unit_days),
    ]


def listed_steps(listed: Iterable[Mapping[str, str]], unit_days: Mapping[str, float], common: bool = False) -> list[Step]:
    """Steps named in experiments/effort.yaml (an option's own, or the ones every option needs), each with the test
    the file gives it."""
    return [replace(_step(str(s["kind"]), str(s["what"]), unit_days, test=s.get("test")), common=common)
            for s in listed]


def plan(variant: Mapping[str, Any], today: Mapping[str, Any], checklist_items: Iterable[Mapping[str, Any]],
         unit_days: Mapping[str, float], option_steps: Iterable[Mapping[str, str]] = (),
         common_steps: Iterable[Mapping[str, str]] = ()) -> list[Step]:
    """Every step of moving from today's flow to the variant's: the steps every option needs (the mitigation
    policy), then, when the flow changes, its moving parts, its own listed steps, its call sites and the cut-over."""
    common = listed_steps(common_steps, unit_days, common=True)
    structural = structural_steps(variant, today, unit_days)
    sites = call_site_steps(checklist_items, unit_days)
    if not structural and not sites:
        return common
    return common + structural + listed_steps(option_steps, unit_days) + sites + cutover_steps(unit_days)


def engineer_days(steps: Iterable[Step]) -> float:
    return float(sum(s.days for s in steps))


def check_unit_days(unit_days: Mapping[str, Any], where: str = "experiments/effort.yaml") -> dict[str, float]:
    unknown = sorted(set(unit_days) - set(UNIT_KINDS))
    missing = sorted(set(UNIT_KINDS) - set(unit_days))
    if unknown or missing:
        raise EffortError(f"{where}: unit_days " + "; ".join(
            p for p in (f"unknown kind(s) {', '.join(unknown)}" if unknown else "",
                        f"missing kind(s) {', '.join(missing)}" if missing else "") if p))
    out = {}
    for kind, value in unit_days.items():
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not (0 <= value <= 100):
            raise EffortError(f"{where}: unit_days.{kind} must be a number of days from 0 to 100, got {value!r}")
        out[kind] = float(value)
    return out
