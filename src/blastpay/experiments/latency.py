"""Email-open latency: the fitted first-click model and a blast of N parents through every variant."""

from __future__ import annotations

from typing import Any, Callable

import numpy as np
import pandas as pd

from blastpay.models import blast as blast_model
from blastpay.models.latency import COMPONENTS, LatencyModel

SCENARIOS = ("optimistic", "central", "pessimistic")
def parameters_table(models: dict[str, LatencyModel]) -> pd.DataFrame:
    rows = []
    for name, m in models.items():
        for comp, w, med, s in zip(COMPONENTS, m.weights, m.medians_h, m.sigmas):
            rows.append({"scenario": name, "component": comp, "weight": w, "median_h": med, "sigma": s, "p": m.p})
    return pd.DataFrame(rows)


def targets_table(models: dict[str, LatencyModel]) -> pd.DataFrame:
    rows = []
    for name, m in models.items():
        for t in m.targets:
            rows.append({"scenario": name, "target": t.label, "at_hours": t.at_hours, "cited_share": t.target,
                         "fitted_share": t.fitted, "residual": t.residual, "sources": " ".join(t.source_ids)})
    return pd.DataFrame(rows)


def reach_at_cliffs(models: dict[str, LatencyModel], cliffs_h: dict[str, float]) -> pd.DataFrame:
    """Share of eventual clickers who have clicked by each option's cliff (the rest meet a dead link)."""
    rows = []
    for name, m in models.items():
        for label, hours in cliffs_h.items():
            rows.append({"scenario": name, "cliff": label, "hours": hours,
                         "clicked_by_cliff_share_of_clickers": float(m.cdf(np.array([hours]))[0])})
    return pd.DataFrame(rows)


def sweep(
    models: dict[str, LatencyModel],
    registry: Any,
    n: int,
    seed: int,
    *,
    reminder_hours: float | None = None,
    scanner_share: float = 0.0,
    pay_on_first_visit: float = 1.0,
    recovery_consent_share: float = 1.0,
    variants: Any = None,
    progress: Callable[[int], Any] | Any = None,
) -> pd.DataFrame:
    """Every scenario x variant blast of n parents. Each scenario's draws come from its own seeded stream and
    every variant sees the same parents (same stream), so differences between variants are not noise."""
    rows = []
    for s_index, (_scenario, model) in enumerate(sorted(models.items())):
        for variant in (blast_model.VARIANTS if variants is None else variants):
            rng = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(s_index,)))
            metrics = blast_model.simulate(
                variant, model, n, rng, reminder_hours=reminder_hours, scanner_share=scanner_share,
                pay_on_first_visit=pay_on_first_visit, recovery_consent_share=recovery_consent_share,
                registry=registry, progress=progress,
            )
            metrics["recovery_consent_share"] = recovery_consent_share
            rows.append(metrics)
    frame = pd.DataFrame(rows)
    frame["reminder_hours"] = frame["reminder_hours"].astype(object).where(frame["reminder_hours"].notna(), "none")
    return frame


def cdf_figure(models: dict[str, LatencyModel], cliffs_h: dict[str, float]):
    """The first-click CDF per scenario, with the hour at which each option's link dies marked."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    hours = np.logspace(-1, np.log10(24 * 120), 400)
    fig, ax = plt.subplots(figsize=(8.5, 4.8))
    styles = {"optimistic": ":", "central": "-", "pessimistic": "--"}
    for name in SCENARIOS:
        if name in models:
            ax.plot(hours, models[name].cdf(hours), styles[name], color="black", label=f"{name} scenario")
    colours = ["#c0392b", "#e67e22", "#2874a6"]
    for (label, h), colour in zip(cliffs_h.items(), colours):
        if np.isfinite(h):
            ax.axvline(h, color=colour, lw=1.6)
            ax.text(h * 1.06, 0.04, label, rotation=90, va="bottom", color=colour, fontsize=8)
        else:
            ax.plot([], [], color=colour, lw=3, label=label)
    ax.set_xscale("log")
    ax.set_xlim(hours[0], hours[-1])
    ax.set_ylim(0, 1.01)
    ax.set_xlabel("hours from send to the parent's first click (log scale)")
    ax.set_ylabel("share of clicking parents who have clicked")
    ax.set_title("When parents click an emailed payment link, and where each option's link dies")
    ax.grid(True, which="major", alpha=0.3)
    ax.legend(loc="upper left", fontsize=8, framealpha=0.95)
    fig.tight_layout()
    return fig


def stranded_figure(table: pd.DataFrame):
    """Share of clicking parents stranded, per variant and scenario."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    pivot = table.pivot(index="variant", columns="scenario", values="stranded_share_of_clickers")
    pivot = pivot.reindex(list(blast_model.VARIANTS))[[s for s in SCENARIOS if s in pivot.columns]]
    fig, ax = plt.subplots(figsize=(8.5, 4.2))
    pivot.plot.barh(ax=ax, color=["#7fb3d5", "#2874a6", "#1b4f72"])
    ax.invert_yaxis()
    ax.set_xlabel("share of clicking parents who never manage to pay (stranded)")
    ax.set_ylabel("")
    ax.set_xlim(0, 1)
    ax.grid(True, axis="x", alpha=0.3)
    ax.set_title("Stranded parents by variant (the 30-day TTL fails at blast time, so all strand)")
    fig.tight_layout()
    return fig


SUMMARY_METRICS = (
    "first_click_payable_share_of_clickers", "stranded_share_of_clickers", "time_to_payment_median_h",
    "page_loads_per_payment", "sessions_minted_per_paid_order", "stranded_share", "paid_share",
    "time_to_payment_p90_h", "clicks_per_payment", "sessions_minted_per_order", "click_share",
)


def blast_summary(base: pd.DataFrame, reach: pd.DataFrame, models: dict[str, LatencyModel], parents: int,
                  params: dict[str, Any], reminded: pd.DataFrame | None = None,
                  consent_sweep: pd.DataFrame | None = None) -> dict[str, Any]:
    """What the later notebooks and the ADR read from the blast (latency/summary.json): per scenario and variant
    the SUMMARY_METRICS (None where a metric has no value, e.g. no payment), the production signals per 100
    blast orders, which variants Stripe's API can do as specified, and the reach at each cliff."""
    central = base[base.scenario == "central"]

    def metrics(row: Any) -> dict[str, Any]:
        m = {k: (None if pd.isna(getattr(row, k)) else float(getattr(row, k))) for k in SUMMARY_METRICS}
        if m["sessions_minted_per_order"] is not None and m["paid_share"] is not None:
            m["unpaid_sessions_per_100_orders"] = 100 * (m["sessions_minted_per_order"] - m["paid_share"])
        m["stranded_orders_per_100_orders"] = 100 * m["stranded_share"]
        return m

    return {
        "parents_per_scenario_and_variant": parents,
        "feasible": {r.variant: bool(r.feasible) for r in central.itertuples()},
        "infeasible_reason": {r.variant: r.infeasible_reason for r in central.itertuples() if not r.feasible},
        "scanner_share": params["scanner_share"],
        "reminder_hours": params["reminder_hours"],
        "by_scenario": {s: {r.variant: metrics(r) for r in base[base.scenario == s].itertuples()}
                        for s in sorted(base.scenario.unique())},
        "reach_at_cliffs": {f"{r.scenario}/{r.cliff}": r.clicked_by_cliff_share_of_clickers for r in reach.itertuples()},
        "p": {name: m.p for name, m in models.items()},
        "recovery_consent_share": params.get("recovery_consent_share"),
        # the "with reminder" rows: every variant with the policy's reminder (a fresh 24 h session for the 24-hour
        # variants), per scenario: the stop-gap "24-hour sessions plus our own reminder with a fresh session"
        "reminder_by_scenario": ({s: {r.variant: {k: _num(getattr(r, k)) for k in REMINDER_METRICS}
                                      for r in reminded[reminded.scenario == s].itertuples()}
                                  for s in sorted(reminded.scenario.unique())} if reminded is not None else {}),
        # the recovery variant at each swept consent share (the assumed value, none, all), with and without reminder
        "recovery_consent_sweep": ([{"scenario": r.scenario, "recovery_consent_share": float(r.recovery_consent_share),
                                     "reminder_hours": None if r.reminder_hours == "none" else float(r.reminder_hours),
                                     **{k: _num(getattr(r, k)) for k in REMINDER_METRICS}}
                                    for r in consent_sweep.itertuples()] if consent_sweep is not None else []),
    }


REMINDER_METRICS = ("stranded_share", "stranded_share_of_clickers", "paid_share", "sessions_minted_per_order")


def _num(x: Any) -> float | None:
    return None if pd.isna(x) else float(x)
