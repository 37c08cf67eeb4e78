"""Gathers the decision model's metrics from the evidence the earlier notebooks wrote.

Each metric names the evidence file and key it is read from (`PROVENANCE`), so the ADR can say where every
score comes from. Metrics that depend on parents' email latency are read per latency scenario; the rest are
the same in every scenario.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from blastpay.evidence.writer import EvidenceError, read_json

SCENARIOS = ("optimistic", "central", "pessimistic")

PROVENANCE: dict[str, str] = {
    "payable_share_of_clickers": "latency/summary.json: by_scenario.<scenario>.<variant>.first_click_payable_share_of_clickers",
    "stranded_share_of_clickers": "latency/summary.json: reminder_by_scenario.<scenario>.<variant>.stranded_share_of_clickers "
                                  "(with the policy's 72-hour reminder, as every option runs)",
    "page_loads_per_payment": "latency/summary.json: by_scenario.<scenario>.<variant>.page_loads_per_payment",
    "stranded_revenue_per_100_orders_usd": "latency/summary.json reminder_by_scenario stranded_share x 100 x "
                                           "cost/summary.json tournament_fee_usd",
    "webhook_match_rate": "webhook-match/summary.json: by_variant.<variant>.webhook_match_rate",
    "fault_cells_money_safe_share": "failure-modes/summary.json: by_variant.<variant>.fault_cells_money_safe_share",
    "fault_error_page_share": "failure-modes/summary.json: by_variant.<variant>.fault_error_page_share",
    "fault_eventually_pay_share": "failure-modes/summary.json: by_variant.<variant>.eventually_pay_share_by_return_share.<error_return_share>",
    "fault_excess_parent_hours_without_way_to_pay": "failure-modes/summary.json: by_variant.<variant>.fault_excess_parent_hours_without_way_to_pay",
    "abandoned_sessions_per_paid_order_retry_cohort": "retry-cohort/decision_metric.json: abandoned_sessions_per_paid_order_retry_cohort.<variant>",
    "new_moving_parts": "cost/summary.json: by_variant.<variant>.new_moving_parts",
    "stripe_calls_per_paid_order": "cost/summary.json: by_variant.<variant>.stripe_calls_per_paid_order",
    "reference_flow_lines_of_code": "cost/summary.json: by_variant.<variant>.reference_flow_lines_of_code",
    "migration_rehearsal_violations": "migration/summary.json: by_variant.<variant>.migration_rehearsal_violations",
}


def _get(doc: Any, *keys: str, where: str) -> Any:
    for key in keys:
        if not isinstance(doc, dict) or key not in doc:
            raise EvidenceError(f"{where}: missing key {'.'.join(keys)}")
        doc = doc[key]
    return doc


def collect(evidence_dir: Path, return_share: str | None = None, without_fault: str | None = None
            ) -> tuple[dict[str, dict[str, dict[str, float]]], dict[str, str]]:
    """metrics_by_scenario[scenario][variant][metric], and the infeasible variants with their evidence.
    ``return_share`` picks the assumed share of parents who come back after an error page (default: the central
    value in failure-modes/summary.json). ``without_fault`` reads the failure-mode measures with that fault's
    cells removed (failure-modes/summary.json: by_fault_removed.<fault>)."""
    latency = read_json(evidence_dir / "latency" / "summary.json")
    cost = read_json(evidence_dir / "cost" / "summary.json")
    match = read_json(evidence_dir / "webhook-match" / "summary.json")
    faults = read_json(evidence_dir / "failure-modes" / "summary.json")
    share = return_share if return_share is not None else f"{float(faults['error_return_share']):g}"
    if without_fault is not None:
        faults = {"by_variant": _get(faults, "by_fault_removed", without_fault, where="failure-modes/summary.json")}
    cohort = read_json(evidence_dir / "retry-cohort" / "decision_metric.json")
    migration = read_json(evidence_dir / "migration" / "summary.json")

    infeasible = {v: reason for v, reason in latency["infeasible_reason"].items()}
    variants = sorted(latency["feasible"])
    fee = float(cost["tournament_fee_usd"])
    out: dict[str, dict[str, dict[str, float]]] = {}
    for scenario in SCENARIOS:
        rows: dict[str, dict[str, float]] = {}
        for v in variants:
            if v in infeasible:
                continue
            lat = _get(latency, "by_scenario", scenario, v, where="latency/summary.json")
            # every option runs under the one policy, whose 72-hour reminder reaches every pending order
            # (experiments/mitigations.yaml): who ends up stranded is read with it; first clicks and page loads are not
            reminded = _get(latency, "reminder_by_scenario", scenario, v, where="latency/summary.json")
            rows[v] = {
                "payable_share_of_clickers": lat["first_click_payable_share_of_clickers"],
                "stranded_share_of_clickers": reminded["stranded_share_of_clickers"],
                "page_loads_per_payment": lat["page_loads_per_payment"],
                "stranded_revenue_per_100_orders_usd": 100 * reminded["stranded_share"] * fee,
                "webhook_match_rate": _get(match, "by_variant", v, "webhook_match_rate", where="webhook-match/summary.json"),
                "fault_cells_money_safe_share": _get(faults, "by_variant", v, "fault_cells_money_safe_share",
                                                     where="failure-modes/summary.json"),
                "fault_error_page_share": _get(faults, "by_variant", v, "fault_error_page_share",
                                               where="failure-modes/summary.json"),
                "fault_eventually_pay_share": _get(faults, "by_variant", v, "eventually_pay_share_by_return_share",
                                                   share, where="failure-modes/summary.json"),
                "fault_excess_parent_hours_without_way_to_pay": _get(
                    faults, "by_variant", v, "fault_excess_parent_hours_without_way_to_pay",
                    where="failure-modes/summary.json"),
                "abandoned_sessions_per_paid_order_retry_cohort": _get(
                    cohort, "abandoned_sessions_per_paid_order_retry_cohort", v, where="retry-cohort/decision_metric.json"),
                "new_moving_parts": _get(cost, "by_variant", v, "new_moving_parts", where="cost/summary.json"),
                "stripe_calls_per_paid_order": _get(cost, "by_variant", v, "stripe_calls_per_paid_order",
                                                    where="cost/summary.json"),
                "reference_flow_lines_of_code": _get(cost, "by_variant", v, "reference_flow_lines_of_code",
                                                     where="cost/summary.json"),
                "migration_rehearsal_violations": _get(migration, "by_variant", v, "migration_rehearsal_violations",
                                                       where="migration/summary.json"),
            }
            missing = [k for k, x in rows[v].items() if x is None]
            if missing:
                raise EvidenceError(f"evidence has no value for {v}: {', '.join(missing)}")
        out[scenario] = rows
    return out, infeasible


def leave_one_fault_out(evidence_dir: Path, dims: list, base: Any, scenario: str = "central") -> dict[str, Any]:
    """The decision recomputed with each single fault's cells removed from the failure-mode measures (the latency
    scenario and return assumption as in the base decision). Per fault: the winner, its option, the margin
    (winner minus the best other option's variant) and ``recommended_lead``: the base recommended variant's score
    minus the best variant of another option (negative when removing that fault flips the answer). Also the
    smallest lead, the fault it comes from, and the faults whose removal flips the recommended option."""
    from blastpay.models.decision import OPTION_OF, decide

    faults = read_json(evidence_dir / "failure-modes" / "summary.json")
    table: dict[str, dict[str, Any]] = {}
    rec = base.recommended_variant
    for fault in faults.get("by_fault_removed", {}):
        metrics, infeasible = collect(evidence_dir, without_fault=fault)
        d = decide(metrics[scenario], dims, infeasible)
        others = [s for v, s in d.scores.items() if OPTION_OF.get(v) != OPTION_OF.get(rec)]
        table[fault] = {
            "winner_variant": d.recommended_variant, "winner_option": d.recommended_option,
            "margin": d.margin, "runner_up_variant": d.runner_up_variant,
            "recommended_lead": d.scores[rec] - max(others) if others else None,
            "flips": d.recommended_option != base.recommended_option,
        }
    leads = {f: r["recommended_lead"] for f, r in table.items() if r["recommended_lead"] is not None}
    worst = min(leads, key=lambda f: leads[f]) if leads else None
    return {"table": table, "min_margin": leads[worst] if worst else None, "min_fault": worst,
            "flips": [f for f, r in table.items() if r["flips"]]}


def dimension_verdicts(decision: Any, dims: list, tolerance: float = 1e-6) -> dict[str, dict[str, Any]]:
    """Per dimension, whether the recommended variant "wins", "ties" or "loses" against the runner-up, with the
    dimension scores and the weighted contribution of the difference to the margin (sums to the margin)."""
    rec, run = decision.recommended_variant, decision.runner_up_variant
    total = sum(d.weight for d in dims)
    out = {}
    for dim in dims:
        a, b = decision.dimension_scores[rec][dim.name], decision.dimension_scores[run][dim.name]
        verdict = "ties" if abs(a - b) <= tolerance else ("wins" if a > b else "loses")
        contribution = dim.weight * (a - b) / total
        out[dim.name] = {"verdict": verdict, "recommended_score": a, "runner_up_score": b,
                         "contribution_to_margin": contribution, "contribution_size": abs(contribution)}
    return out


def return_shares(evidence_dir: Path) -> list[str]:
    """Every return-behaviour assumption the failure-modes evidence was measured under."""
    faults = read_json(evidence_dir / "failure-modes" / "summary.json")
    return [f"{float(r):g}" for r in faults["error_return_sweep"]]


def scores_table(decision: Any, dims: list, metrics: dict[str, dict[str, float]]) -> list[dict[str, Any]]:
    """One row per (variant, metric): the evidence value, its score, and its dimension's weight."""
    rows = []
    for v in sorted(decision.scores):
        for dim in dims:
            for spec in dim.metrics:
                rows.append({
                    "variant": v, "dimension": dim.name, "weight": dim.weight, "metric": spec.name,
                    "better": spec.better, "scale": spec.scale, "value": metrics[v][spec.name],
                    "metric_score": decision.metric_scores[v][spec.name],
                    "dimension_score": decision.dimension_scores[v][dim.name], "total_score": decision.scores[v],
                })
    return rows


def figure(decision: Any, dims: list):
    """Each feasible variant's total score, split into the weighted contribution of each dimension."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    variants = sorted(decision.scores, key=lambda v: decision.scores[v])
    total_weight = sum(d.weight for d in dims)
    fig, ax = plt.subplots(figsize=(11, 4.2))
    left = [0.0] * len(variants)
    colours = plt.get_cmap("tab10").colors
    for i, dim in enumerate(dims):
        part = [dim.weight * decision.dimension_scores[v][dim.name] / total_weight for v in variants]
        ax.barh(variants, part, left=left, color=colours[i % 10], label=f"{dim.name} (weight {dim.weight:g})")
        left = [a + b for a, b in zip(left, part)]
    for y, v in enumerate(variants):
        ax.text(left[y] + 0.005, y, f"{decision.scores[v]:.3f}", va="center", fontsize=8)
    ax.set_xlim(0, 1.08)
    ax.set_xlabel("weighted score (1 = best on every metric)")
    ax.set_title(f"Decision model: {decision.recommended_variant} scores highest")
    ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0), framealpha=0.95)
    ax.grid(True, axis="x", alpha=0.3)
    fig.tight_layout()
    return fig


def robustness_sweep(evidence_dir: Path, dims: list, spec: Any, rng: Any, base: Any) -> dict[str, Any]:
    """The weight-space sweep: ``spec.samples`` Dirichlet weight vectors plus the one-driver corners, times every
    latency scenario, times every return-behaviour assumption; the share each option wins, the corner winners,
    the smallest single-weight change that flips the base recommendation, and the nearest flipping sample."""
    from blastpay.models.decision import (
        decide,
        dimension_matrix,
        nearest_flip,
        smallest_weight_flip,
        weight_samples,
        weight_space,
    )

    weights, labels = weight_samples(dims, rng, spec.samples, spec.concentration, spec.corner_share)
    cases = {}
    for share in return_shares(evidence_dir):
        metrics, infeasible = collect(evidence_dir, share)
        for scenario, rows in metrics.items():
            cases[f"{scenario}, return {share}"] = dimension_matrix(decide(rows, dims, infeasible), dims)
    space = weight_space(cases, weights, labels)
    variants, scores = dimension_matrix(base, dims)
    flips = smallest_weight_flip(base, dims)
    found = [f for f in flips if f["factor"] is not None]
    smallest = min(found, key=lambda f: abs(__import__("math").log(max(f["factor"], 1e-9)))) if found else None
    recommended = base.recommended_option
    return {
        **space,
        "recommended_option": recommended,
        "recommended_option_win_share": space["option_win_share"].get(recommended, 0.0),
        "single_weight_flips": flips,
        "smallest_flip": smallest,
        "nearest_flipping_sample": nearest_flip(weights[: spec.samples], labels[: spec.samples], variants, scores,
                                                dims, recommended),
        "samples": spec.samples, "concentration": spec.concentration, "corner_share": spec.corner_share,
    }


def flip_sentence(robust: dict[str, Any], titles: dict[str, str]) -> str:
    """The smallest change that flips the recommendation, in one sentence."""
    f = robust.get("smallest_flip")
    if not f:
        return "no change of a single weight (x0 to x100) flips the recommendation"
    return (f"{titles.get(f['new_winner_option'], f['new_winner_option'])} win if the weight of "
            f"{f['dimension'].replace('_', ' ')} goes from {f['stated_weight']:g} to {f['flipped_weight']:g} "
            f"(x{f['factor']:g}), the others as stated")


def win_share_figure(robust: dict[str, Any], titles: dict[str, str]):
    """Share of the swept weight space each option wins, per latency scenario and return assumption."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    cases = list(robust["option_win_share_by_case"])
    options = sorted({o for c in cases for o in robust["option_win_share_by_case"][c]} | set(robust["option_win_share"]))
    fig, ax = plt.subplots(figsize=(9.5, 0.45 * len(cases) + 2.2))
    left = [0.0] * (len(cases) + 1)
    labels = ["all cases"] + cases
    colours = {"payment_links": "#2e86c1", "lazy_mint": "#28b463", "ttl_30d": "#f5b041"}
    for o in options:
        part = [robust["option_win_share"].get(o, 0.0)] + [robust["option_win_share_by_case"][c].get(o, 0.0)
                                                           for c in cases]
        # the 30-day variant is infeasible and never scored: what wins for this option is its 24-hour variants
        label = "Keep Checkout Sessions (24-hour variants; Stripe refuses 30 days)" if o == "ttl_30d" else titles.get(o, o)
        ax.barh(labels, part, left=left, color=colours.get(o, "#aaaaaa"), label=label)
        for y, (start, p) in enumerate(zip(left, part)):
            if p >= 0.06:
                ax.text(start + p / 2, y, f"{p:.0%}", ha="center", va="center", fontsize=7)
        left = [a + b for a, b in zip(left, part)]
    ax.invert_yaxis()
    ax.set_xlim(0, 1)
    ax.set_xlabel(f"share of {robust['samples']} Dirichlet weight samples (+ one-driver corners) each option wins")
    ax.legend(fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.14), ncol=3, frameon=False)
    ax.set_title("Robustness: who wins across the weight space, latency scenarios and return behaviour", fontsize=9)
    fig.tight_layout()
    return fig
