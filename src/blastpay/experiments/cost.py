"""Cost per option: Stripe fees (identical processing across options, read from the registry), the revenue
each option strands, and the engineering-cost proxy measured from the reference flows."""

from __future__ import annotations

from typing import Any

import pandas as pd

from blastpay.models import fees


def stranded_per_100_orders(blast_rows: pd.DataFrame, params: dict[str, Any], scenario: str = "central") -> dict[str, float]:
    """Revenue stranded per 100 orders of the fee every experiment charges (``fees.EXPERIMENT_FEE_TYPE``, the same
    order amount as the journeys and the failure modes), per variant, from the no-reminder blast."""
    rows = blast_rows[(blast_rows.scenario == scenario) & (blast_rows.reminder_hours == "none")]
    amount = fees.order_amount_cents(fees.EXPERIMENT_FEE_TYPE, params) / 100
    return {r.variant: fees.stranded_revenue(100, float(r.stranded_share), amount) for r in rows.itertuples()}


def fees_by_option(registry: Any, params: dict[str, Any]) -> pd.DataFrame:
    table = fees.fee_table(registry, params)
    weighted = table.assign(weighted_fee_usd=table.total_fee_usd * table.method_share)
    return weighted.groupby(["fee", "option", "amount_usd"], as_index=False)["weighted_fee_usd"].sum()


def figure(stranded: dict[str, float], eng: pd.DataFrame):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    variants = list(eng["variant"])
    fig, axes = plt.subplots(1, 2, figsize=(10, 4), sharey=True)
    axes[0].barh(variants, [stranded.get(v, 0.0) for v in variants], color="#c0392b")
    axes[0].set_xlabel("tournament revenue stranded per 100 orders (USD, central scenario)")
    axes[1].barh(variants, eng["reference_flow_lines_of_code"], color="#2874a6")
    axes[1].set_xlabel("lines of flow code a blast, click and pay execute")
    axes[0].invert_yaxis()
    for ax in axes:
        ax.grid(True, axis="x", alpha=0.3)
    fig.suptitle("What each variant costs beyond Stripe's fees (which are the same for all)")
    fig.tight_layout()
    return fig
