"""The decision's evidence files (notebook 10): the record the ADR quotes, its tables and its figure.

``decision/decision.json`` holds everything the ADR's first screen states (expected yearly harms per variant at the
central assumptions, the size of each change, the break-even conditions), so the document computes nothing.
"""

from __future__ import annotations

from dataclasses import asdict, replace
from datetime import date
from typing import Any

from blastpay.display_names import YEARLY_HARMS
from blastpay.experiments.decision_inputs import BASKETBALL_API, PROVENANCE, DecisionModel, downtime_hours, harm_value
from blastpay.models.decision import OPTION_OF, OPTION_TITLES, VARIANT_TITLES, Decision, Tie
from blastpay.models.yearly_harm import HARMS, YearlyHarm, support_contacts

# The harms the ADR names, in its order (their words: display_names.YEARLY_HARMS).
HEADLINE_HARMS = ("parents_meeting_an_error_page", "parents_stranded", "hours_locked_out", "double_charges",
                  "support_contacts", "paid_still_payable", "checkout_sessions", "abandoned_sessions", "stripe_calls")
AVAILABILITY_RANGE = (0.95, 1.0)
# Scenarios on single orders whose frequency the club's records show (orders re-priced or canceled after the email).
RECORDS_FAULTS = ("amount_changed_after_blast", "order_canceled_after_blast")


def _tie(t: Tie, hours: bool = True) -> dict[str, Any]:
    out: dict[str, Any] = {"at": t.at, "cheaper_below": t.cheaper_below, "cheaper_above": t.cheaper_above}
    if hours:
        out["downtime_hours_a_year"] = None if t.at is None else downtime_hours(t.at)
    return out


def variant_record(model: DecisionModel, harm: YearlyHarm, d: Decision) -> dict[str, Any]:
    c = d.costed[harm.variant]
    a = model.central()
    prices = model.prices(a)
    orders = a.blasts_per_year * a.orders_per_blast
    everyday = model.everyday[harm.variant]
    return {
        "option": OPTION_OF[harm.variant], "title": VARIANT_TITLES[harm.variant],
        "yearly": {**harm.total, "parents_meeting_an_error_page": harm.parents_meeting_an_error_page,
                   "support_contacts": support_contacts(harm.total, prices)},
        "everyday": harm.everyday,
        "yearly_usd_by_harm": c.yearly_usd_by_harm, "yearly_usd": c.yearly_usd,
        "build_days": c.build_days, "build_usd": c.build_usd, "horizon_usd": c.horizon_usd,
        "build_steps": len(model.steps[harm.variant]),
        # what the expired-session metric (#487) would count: sessions created that never took a payment, the retry
        # cohort's included, per 100 orders
        "expired_sessions_per_100_orders": 100 * (harm.total["checkout_sessions"] - orders * everyday.paid_share) / orders,
        # the same, in its two parts: sessions opened by clicks and reminders that took no payment, and the sessions
        # the retry cohort leaves behind
        "expired_sessions_per_100_orders_parts": {
            "clicks": 100 * (everyday.sessions_minted_per_order - everyday.paid_share),
            "retry_cohort": 100 * harm.total["abandoned_sessions"] / orders},
    }


def break_even(model: DecisionModel, d: Decision) -> dict[str, Any]:
    """Where the two leaders tie: over the horizon and per year as basketball-api's availability moves, on each harm,
    and on each volume and behaviour assumption (over a hundredfold range either way)."""
    rec, run = d.recommended_variant, d.runner_up_variant
    a = model.central()
    lo, hi = AVAILABILITY_RANGE

    def yearly_difference(x: float) -> float:
        _, dd = model.evaluate(replace(a, availability=x))
        return dd.costed[run].yearly_usd - dd.costed[rec].yearly_usd

    from blastpay.models.decision import tie

    _, never_down = model.evaluate(replace(a, availability=1.0))
    out: dict[str, Any] = {
        "pair": [rec, run],
        # what the runner-up's harms would save a year if basketball-api were never down (negative: it saves nothing)
        "yearly_saving_at_no_downtime": never_down.costed[rec].yearly_usd - never_down.costed[run].yearly_usd,
        "availability_range": list(AVAILABILITY_RANGE),
        "availability_horizon": _tie(model.break_even("availability", lo, hi)),
        "availability_yearly": _tie(tie(yearly_difference, rec, run, lo, hi)),
        "availability_by_harm": {h: _tie(model.harm_break_even(h, lo, hi, (rec, run))) for h in HEADLINE_HARMS},
    }
    # parent-hours locked out are not priced: the price of one at which the leaders would tie (none when the
    # recommendation has no more of them than the runner-up: pricing them would only widen its lead)
    central_harms, _ = model.evaluate(a)
    hours = {v: central_harms[v].total["hours_locked_out"] for v in (rec, run)}
    extra = hours[rec] - hours[run]
    out["hours_locked_out_price_usd"] = {
        "at": (d.costed[run].horizon_usd - d.costed[rec].horizon_usd) / (extra * model.club.prices.horizon_years)
        if extra > 0 else None,
        "recommended_hours": hours[rec], "runner_up_hours": hours[run]}
    for name, value in (("blasts_per_year", a.blasts_per_year), ("orders_per_blast", a.orders_per_blast),
                        ("fee_usd", a.fee_usd)):
        out[name] = _tie(model.break_even(name, value / 100, value * 100), hours=False)
    for name in ("return_share", "response_share"):
        out[name] = _tie(model.break_even(name, 0.0, 1.0), hours=False)
    # what the club's own records can tell: how often an order is re-priced or canceled after its email went out
    from blastpay.experiments.decision_sensitivity import levers

    by_name = {lever.name: lever for lever in levers(model)}
    for fault in RECORDS_FAULTS:
        lever = by_name.get(f"likelihood:{fault}")
        if lever is None:
            continue

        def lever_difference(x: float, lever: Any = lever) -> float:
            assumptions, knobs = lever.inputs(x)
            _, dd = model.evaluate(assumptions, knobs)
            return dd.costed[run].horizon_usd - dd.costed[rec].horizon_usd

        out[f"{fault}_share"] = {**_tie(tie(lever_difference, rec, run, 0.0, min(1.0, lever.hi)), hours=False),
                                 "stated": lever.stated}
    return out


def decision_record(model: DecisionModel, harms: dict[str, YearlyHarm], d: Decision, ties: dict[str, Any],
                    sensitivity: list[dict[str, Any]], policy: str, as_of: "date") -> dict[str, Any]:
    a = model.central()
    prices = model.prices(a)
    rec, run = d.recommended_variant, d.runner_up_variant
    flips = sorted((r for r in sensitivity if r["flips_at"] is not None),
                   key=lambda r: abs(__import__("math").log(r["factor"])) if r["factor"] else float("inf"))
    return {
        "recommended_variant": rec, "recommended_option": d.recommended_option,
        "recommended_variant_title": VARIANT_TITLES[rec], "recommended_option_title": OPTION_TITLES[d.recommended_option],
        "runner_up_variant": run, "runner_up_option": OPTION_OF[run],
        "runner_up_variant_title": VARIANT_TITLES[run], "runner_up_option_title": OPTION_TITLES[OPTION_OF[run]],
        "best_of_option": d.best_of_option, "infeasible": d.infeasible,
        "margin_usd": d.margin_usd, "yearly_margin_usd": d.yearly_margin_usd,
        # the lead in the unit the nearest flips are in: engineer-days at the stated day rate
        "margin_engineer_days": d.margin_usd / prices.engineer_day_usd,
        "build_days_difference": d.costed[run].build_days - d.costed[rec].build_days,
        "build_usd_difference": d.costed[run].build_usd - d.costed[rec].build_usd,
        "central": {**asdict(a), "basketball_api_downtime_hours_a_year": downtime_hours(a.availability),
                    "orders_per_year": a.blasts_per_year * a.orders_per_blast,
                    "support_contact_usd": prices.support_contact_usd,
                    "error_page_contact_share": prices.error_page_contact_share,
                    "dead_link_contact_share": prices.dead_link_contact_share,
                    "refund_fee_usd": prices.refund_fee_usd, "card_fee_usd": prices.refund_fee_usd,
                    "engineer_day_usd": prices.engineer_day_usd,
                    "horizon_years": prices.horizon_years, "retry_cohort_share": model.club.retry_cohort_share,
                    "availability_sweep": list(model.club.basketball_api.availability.sweep),
                    "component_availability": {k: v for k, v in model.component_availability.items() if v is not None}},
        "variants": {v: variant_record(model, harms[v], d) for v in d.costed},
        "headline_harms": {h: YEARLY_HARMS[h] for h in HEADLINE_HARMS},
        "break_even": ties,
        "flips": flips, "levers": len(sensitivity), "levers_that_flip": len(flips),
        "provenance": PROVENANCE, "mitigation_policy": policy,
        "schedule": schedule(d.costed[rec].build_days, as_of, model.club.schedule.engineers,
                             model.club.schedule.days_off),
        "stopgap": stopgap(model, d.costed[rec].build_days),
        "without_removed_parts": without_removed_parts(model, d),
        "two_way": two_way(model),
        # the click rate a blast can bring, at most: every parent of one blast clicking within the same minute
        "clicks_a_second_if_a_blast_clicked_in_one_minute": a.orders_per_blast / 60,
    }


def without_removed_parts(model: DecisionModel, d: Decision) -> dict[str, Any] | None:
    """The answer if basketball-api lacks the moving parts of today's flow as rebuilt here that one of the two leaders
    removes (the spike names neither the task table nor the clean-up worker): a leader that keeps them must build them
    too (a table and a worker at their unit efforts). None when neither leader removes anything."""
    from blastpay.experiments.decision_inputs import TODAY
    from blastpay.models.effort import moving_part_changes

    rec, run = d.recommended_variant, d.runner_up_variant
    today = model.cost_rows[TODAY]
    changes = {v: moving_part_changes(model.cost_rows[v], today) for v in (rec, run)}
    removed = {kind: sorted({name for v in (rec, run) for name in changes[v][kind][1]}) for kind in ("tables", "workers")}
    if not removed["tables"] and not removed["workers"]:
        return None
    unit = {"tables": model.unit_days["table_added"], "workers": model.unit_days["worker_added"]}
    day_usd = model.club.prices.engineer_day_usd
    extra = {v: sum(unit[kind] for kind in removed for name in removed[kind] if name not in changes[v][kind][1])
             for v in (rec, run)}
    horizon = {v: d.costed[v].horizon_usd + extra[v] * day_usd for v in (rec, run)}
    cheaper = min((rec, run), key=lambda v: (horizon[v], v))
    other = run if cheaper == rec else rec
    return {"parts": [*removed["tables"], *removed["workers"]], "extra_build_days": extra, "horizon_usd": horizon,
            "recommended_variant": cheaper, "margin_usd": horizon[other] - horizon[cheaper]}


def two_way(model: DecisionModel) -> dict[str, Any]:
    """The decision at each pair of the two numbers the club's records hold: basketball-api's availability and the
    share of orders re-priced after their email (club.yaml sweeps), the rest as stated."""
    a = model.central()
    sweeps = model.club.sweeps
    rows = []
    for availability in sweeps.availability:
        for share in sweeps.reprice_share:
            _, d = model.evaluate(replace(a, availability=availability, reprice_share=share))
            rows.append({"availability": availability, "downtime_hours_a_year": downtime_hours(availability),
                         "reprice_share": share, "recommended_variant": d.recommended_variant,
                         "runner_up_variant": d.runner_up_variant, "margin_usd": d.margin_usd})
    return {"availability": list(sweeps.availability), "reprice_share": list(sweeps.reprice_share), "cells": rows}


def stopgap(model: DecisionModel, decision_build_days: float) -> dict[str, Any]:
    """The stop-gap in the club's units: today's 24-hour sessions without and with our own reminder (a fresh session
    72 hours after the blast), parents who never pay a year and what they cost, and the reminder job's build."""
    from blastpay.experiments.decision_inputs import SCENARIO, TODAY, _read_json

    latency = _read_json(model.evidence_dir / "latency" / "summary.json")
    a = model.central()
    orders = a.blasts_per_year * a.orders_per_blast
    without = orders * float(latency["by_scenario"][SCENARIO][TODAY]["stranded_share"])
    with_reminder = orders * float(latency["reminder_by_scenario"][SCENARIO][TODAY]["stranded_share"])
    days = model.unit_days["job_added"]
    return {"stranded_without_reminder": without, "stranded_with_reminder": with_reminder,
            "parents_a_year": without - with_reminder, "usd_a_year": (without - with_reminder) * a.fee_usd,
            "build_days": days, "build_usd": days * model.club.prices.engineer_day_usd,
            # the decision's build counts the reminder job among its steps: what is left once the stop-gap ships
            "decision_build_days_after_it": decision_build_days - days}


def schedule(build_days: float, as_of: "date", engineers: int = 1, days_off: Any = ()) -> dict[str, Any]:
    """Whether the build fits the quarter the record is dated in: working days (Monday to Friday, less the team's days
    off) left in it after the record's date, against the build's engineer-days shared by ``engineers``."""
    from datetime import date, timedelta

    quarter_end_month = ((as_of.month - 1) // 3 + 1) * 3
    end = (date(as_of.year + (quarter_end_month == 12), 1 if quarter_end_month == 12 else quarter_end_month + 1, 1)
           - timedelta(days=1))
    off = set(days_off)
    days = [as_of + timedelta(days=n) for n in range(1, (end - as_of).days + 1)]
    weekdays = [d for d in days if d.weekday() < 5]
    taken_off = sorted(d.isoformat() for d in weekdays if d in off)
    left = len(weekdays) - len(taken_off)
    return {"quarter_ends": end.isoformat(), "working_days_left": left, "weekdays_off": len(taken_off),
            "days_off": taken_off,
            "engineers": engineers, "build_days": build_days, "calendar_working_days": build_days / engineers,
            "spare_working_days": left - build_days / engineers, "fits_this_quarter": build_days / engineers <= left}


def yearly_table(harms: dict[str, YearlyHarm], d: Decision, model: DecisionModel) -> list[dict[str, Any]]:
    """One row per (variant, harm): the expected amount a year and what it costs the club."""
    prices = model.prices(model.central())
    rows = []
    for v, c in d.costed.items():
        h = harms[v]
        for harm in list(HARMS) + ["parents_meeting_an_error_page", "support_contacts"]:
            rows.append({"variant": v, "harm": harm, "per_year": harm_value(h, harm, prices),
                         "usd_per_year": c.yearly_usd_by_harm.get(harm)})
    return rows


def by_fault_table(model: DecisionModel, harms: dict[str, YearlyHarm]) -> list[dict[str, Any]]:
    """One row per (variant, fault): each weighted harm a year, with how often the fault is taken to happen and why:
    the decision's arithmetic, fault by fault."""
    rows = []
    for v, h in harms.items():
        for fault, part in h.by_fault.items():
            like = model.likelihood[fault]
            rows.append({"variant": v, "fault": fault, "why": like.why,
                         "share_of": like.share_of, "share": like.share if like.share_of else None,
                         "per_year": like.per_year, "per_order": like.per_order, "while": like.while_down,
                         "old_email_share": like.old_email_share if like.per_order is not None else None,
                         **{k: part.get(k, 0.0) for k in ("temporary_error_pages", "dead_link_pages", "parents_stranded",
                                                            "hours_locked_out", "double_charges", "paid_still_payable")}})
        rows.append({"variant": v, "fault": "(everyday: no fault)", "why": "latency, webhook-match, retry-cohort and "
                     "cost evidence", **{k: h.everyday.get(k, 0.0) for k in HARMS}})
    return rows


def availability_sweep(model: DecisionModel, values: list[float]) -> list[dict[str, Any]]:
    rows = []
    for x in values:
        _, d = model.evaluate(replace(model.central(), availability=x))
        for v, c in d.costed.items():
            rows.append({"availability": x, "downtime_hours_a_year": downtime_hours(x), "variant": v,
                         "yearly_usd": c.yearly_usd, "horizon_usd": c.horizon_usd,
                         "recommended": v == d.recommended_variant})
    return rows


def build_steps_table(model: DecisionModel) -> list[dict[str, Any]]:
    return [{"variant": v, "step": i + 1, "kind": s.kind, "site": s.site, "what": s.what, "file": s.file, "days": s.days,
             "test": s.test, "rollback": s.rollback, "common": s.common}
            for v, steps in model.steps.items() for i, s in enumerate(steps)]


def figure(model: DecisionModel, d: Decision):
    """Each leader's cost over the horizon (build + years of harm) against basketball-api's downtime, with the
    assumed downtime marked: where the lines cross is the break-even."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    leaders = [d.recommended_variant, d.runner_up_variant] + [
        v for v in (d.best_of_option[o] for o in sorted(d.best_of_option))
        if v not in (d.recommended_variant, d.runner_up_variant) and OPTION_OF.get(v) != "ttl_30d"]
    hours = [h / 4 for h in range(0, 4 * 90 + 1)]
    fig, ax = plt.subplots(figsize=(9, 4.2))
    central = model.central()
    for v in leaders:
        ys = []
        for h in hours:
            _, dd = model.evaluate(replace(central, availability=1 - h / 8760))
            ys.append(dd.costed[v].horizon_usd)
        ax.plot(hours, ys, label=VARIANT_TITLES[v], lw=2 if v == d.recommended_variant else 1.4)
    assumed = downtime_hours(central.availability)
    ax.axvline(assumed, color="grey", ls="--", lw=1)
    ax.text(assumed, ax.get_ylim()[1], f" assumed: {assumed:.1f} h a year", va="top", fontsize=8, color="grey")
    ax.set_xlabel(f"{BASKETBALL_API.replace('_', '-')} downtime while parents pay (hours a year)")
    ax.set_ylabel(f"cost over {model.club.prices.horizon_years:g} years ($): build + harms")
    ax.set_title("Each option's cost to the club against our own downtime (placeholder volumes)", fontsize=10)
    ax.set_ylim(bottom=0)
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig
