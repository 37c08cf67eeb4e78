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
    "stranded_share_of_clickers": "latency/summary.json: by_scenario.<scenario>.<variant>.stranded_share_of_clickers",
    "page_loads_per_payment": "latency/summary.json: by_scenario.<scenario>.<variant>.page_loads_per_payment",
    "stranded_revenue_per_100_orders_usd": "latency/summary.json stranded_share x 100 x cost/summary.json tournament_fee_usd",
    "webhook_match_rate": "webhook-match/summary.json: by_variant.<variant>.webhook_match_rate",
    "fault_cells_money_safe_share": "failure-modes/summary.json: by_variant.<variant>.fault_cells_money_safe_share",
    "fault_cells_parent_can_pay_share": "failure-modes/summary.json: by_variant.<variant>.fault_cells_parent_can_pay_share",
    "sessions_per_paid_order_retry_cohort": "retry-cohort/decision_metric.json: sessions_per_paid_order_retry_cohort.<variant>",
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


def collect(evidence_dir: Path) -> tuple[dict[str, dict[str, dict[str, float]]], dict[str, str]]:
    """metrics_by_scenario[scenario][variant][metric], and the infeasible variants with their evidence."""
    latency = read_json(evidence_dir / "latency" / "summary.json")
    cost = read_json(evidence_dir / "cost" / "summary.json")
    match = read_json(evidence_dir / "webhook-match" / "summary.json")
    faults = read_json(evidence_dir / "failure-modes" / "summary.json")
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
            rows[v] = {
                "payable_share_of_clickers": lat["first_click_payable_share_of_clickers"],
                "stranded_share_of_clickers": lat["stranded_share_of_clickers"],
                "page_loads_per_payment": lat["page_loads_per_payment"],
                "stranded_revenue_per_100_orders_usd": 100 * lat["stranded_share"] * fee,
                "webhook_match_rate": _get(match, "by_variant", v, "webhook_match_rate", where="webhook-match/summary.json"),
                "fault_cells_money_safe_share": _get(faults, "by_variant", v, "fault_cells_money_safe_share",
                                                     where="failure-modes/summary.json"),
                "fault_cells_parent_can_pay_share": _get(faults, "by_variant", v, "fault_cells_parent_can_pay_share",
                                                         where="failure-modes/summary.json"),
                "sessions_per_paid_order_retry_cohort": _get(cohort, "sessions_per_paid_order_retry_cohort", v,
                                                             where="retry-cohort/decision_metric.json"),
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
