"""The failure-mode summary (failure-modes/summary.json): per variant over the fault cells."""

from __future__ import annotations

from collections import Counter
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from blastpay.experiments.failure_modes import Cell, FaultPlan


def summary(cells: list[Cell], plan: FaultPlan) -> dict[str, Any]:
    """Per variant, over the fault cells (the baseline excluded): the shares of cells money-safe and fully ok, and
    the means of the time-weighted measures; ``eventually_pay_share_by_return_share`` for every swept assumption.
    These count every fault equally and describe the matrix; the decision weights each fault by how often it happens
    (failure-modes/parents.csv and experiments/likelihood.yaml)."""
    return {"by_variant": _by_variant(cells, plan), "faults": list(dict.fromkeys(c.fault for c in cells)),
            "error_return_share": plan.error_return_share, "error_return_sweep": list(plan.error_return_sweep),
            "reminder_response_share": plan.reminder_response_share,
            "policy": cells[0].policy if cells else ""}


def _by_variant(cells: list[Cell], plan: FaultPlan) -> dict[str, Any]:
    by_variant: dict[str, Any] = {}
    for variant in dict.fromkeys(c.variant for c in cells):
        mine = [c for c in cells if c.variant == variant and c.fault != "none"]
        n = len(mine)
        by_variant[variant] = {
            "cells": n,
            "parents_per_cell": mine[0].orders if mine else 0,
            "fault_cells_money_safe_share": sum(c.money_safe for c in mine) / n,
            "fault_cells_ok_share": sum(short_label(c) == "ok" for c in mine) / n,
            "fault_error_page_share": sum(c.error_page_share for c in mine) / n,
            "fault_excess_parent_hours_without_way_to_pay": sum(c.excess_parent_hours for c in mine) / n,
            "fault_eventually_pay_share": sum(c.eventually_pay_share for c in mine) / n,
            "eventually_pay_share_by_return_share": {
                f"{r:g}": sum(c.eventually_pay_at(r) for c in mine) / n for r in plan.error_return_sweep},
            "unsafe_faults": [c.fault for c in mine if not c.money_safe],
            "error_page_faults": [c.fault for c in mine if c.error_page_share > 0],
            "no_way_to_pay_faults": [c.fault for c in mine if not c.parent_can_pay],
            "fault_paid_orders_still_payable_share": sum(c.paid_orders_still_payable_share for c in mine) / n,
            "paid_still_payable_faults": [c.fault for c in mine if c.paid_orders_still_payable_share > 0],
            "double_charge_faults": [c.fault for c in mine if c.double_charges > 0],
        }
    return by_variant


def short_label(cell: Cell) -> str:
    if cell.double_charges:
        return "charged twice\n(refund)"
    if not cell.money_safe:
        return "money\nwrong"
    if cell.eventually_pay_share < 1e-9 and cell.orders_paid == 0:
        return "no way\nto pay"
    if cell.error_page_share > 0:
        return f"error page\n{cell.error_page_share:.0%}"
    if cell.excess_parent_hours > 0.05 or cell.eventually_pay_share < 1 - 1e-9:
        return f"+{cell.excess_parent_hours:.1f} h\nno link"
    return "ok"


def recovery_text(cell: Cell, anomalies: Counter) -> str:
    """What recovers the cell, from what the run recorded (not from which variant it is)."""
    if cell.orders_paid == 0 and cell.eventually_pay_share == 0:
        text = "nothing recovers it: no link that takes money was ever emailed"
    elif not cell.money_safe:
        kinds = ", ".join(f"{k}" for k in sorted(anomalies)) or "nothing recorded"
        text = f"a refund or a reconciliation by hand (anomalies: {kinds})"
    elif anomalies.get("double_payment"):
        text = "a refund by hand (anomaly double_payment recorded)"
    elif cell.error_page_share > 0:
        text = "the parent comes back (or answers the reminder) once the fault is over"
    elif cell.blast_attempts > cell.orders:
        text = ("the blast job sent fresh links when the incident ended; nothing by hand" if "after the incident" in cell.parent_sees
                else "the blast job re-tried the failed mints after its back-off; nothing by hand")
    else:
        text = "nothing to recover"
    return text
