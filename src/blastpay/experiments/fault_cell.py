"""What one failure-mode cell measured: the cell's row of ``failure-modes/matrix.csv`` and one row per parent in
``failure-modes/parents.csv`` (what the yearly-harm model reads)."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, Optional


@dataclass(frozen=True)
class Cell:
    fault: str
    variant: str
    parent_sees: str
    money_safe: bool
    parent_can_pay: bool
    error_page_share: float
    parent_hours_without_way_to_pay: float
    eventually_pay_share_if_returning: float  # the parents who come back by themselves after an error
    eventually_pay_share_if_not: float  # the parents who only come back through the reminder
    eventually_pay_share: float  # at the central error_return_share
    recovers: str
    violations: tuple[str, ...]
    orders: int
    orders_paid: int
    anomalies: str
    blast_attempts: int
    policy: str
    fault_spec: str
    excess_parent_hours: float = 0.0
    # share of the parents who paid that, at some look after paying (every probe tick and right after the reminder),
    # still had a live way to pay the same order again (an open session, an active link, a /pay/ link our store
    # still shows pending): a second-charge risk, e.g. a reminder sent because a lost webhook left the order pending
    paid_orders_still_payable_share: float = 0.0
    double_charges: int = 0  # orders charged twice (refunds owed), whether or not the matcher flagged them
    parents: tuple[ParentRow, ...] = ()

    def row(self) -> dict[str, Any]:
        d = asdict(self)
        d.pop("parents")
        d["violations"] = " | ".join(self.violations)
        return d

    def eventually_pay_at(self, return_share: float) -> float:
        return return_share * self.eventually_pay_share_if_returning + \
            (1 - return_share) * self.eventually_pay_share_if_not


@dataclass(frozen=True)
class ParentRow:
    """One parent of one cell, as the yearly-harm model reads it (``failure-modes/parents.csv``).

    ``first_click_in_fault``: the parent's first click came while the fault was on (timed faults only);
    ``paid_via``: ``click`` (their own click or return), ``email`` (a re-sent email: the reminder or the re-send after
    an incident; it counts at the reminder's response share) or ``none``; ``order_open``: the order still takes money
    (not canceled) or was paid."""

    fault: str
    variant: str
    parent: int
    returns: bool
    first_click_h: Optional[float]
    first_click_in_fault: bool
    met_error: bool
    met_dead_link: bool
    paid_via: str
    order_open: bool
    hours_without_way_to_pay: float
    hours_without_way_to_pay_after_first_click: float
    paid_still_payable: bool
    double_charged: bool


def matrix_table(cells: list[Cell]):
    import pandas as pd

    return pd.DataFrame([c.row() for c in cells])


def parents_table(cells: list[Cell]):
    """Every parent of every cell (``ParentRow``): what the yearly-harm model reads."""
    import pandas as pd

    return pd.DataFrame([asdict(r) for c in cells for r in c.parents])
