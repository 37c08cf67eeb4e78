"""Expected harm a year, per variant, in the club's units.

Two sources, added once each:

- **faults**: every parent of every failure-mode cell (``failure-modes/parents.csv``), each fault weighted by how often
  it happens (``experiments/likelihood.yaml``). A parent's harm is the excess over the same parent in the variant's
  no-fault cell. Every parent of a cell clicks, and a parent who never clicks meets no fault (their order ends the
  same with or without it), so a cell stands for the clicking parents only. An outage is weighted where it bites: the
  parents whose first click came while it was on stand for every clicking parent of the year (a click lands in an
  outage with the probability the outage is on), and, for an outage that was on when the blast went out, the other
  parents stand for every other clicking parent (a blast goes out during it with that same probability). A scenario
  on single orders is weighted per clicking parent's order (and, for a scenario that sends a new email, by the share
  who click the old one); a rare incident per blast it can hit.
- **everyday**: what happens without a fault (``latency/summary.json``: parents who open the email too late, with the
  policy's 72-hour reminder; ``webhook-match/summary.json``: payments the matcher cannot attribute;
  ``retry-cohort/decision_metric.json``: sessions a parent who presses Back leaves behind; ``cost/summary.json``:
  Stripe calls per paid order).

Each parent counts one harm once: a page telling them the link no longer works is a dead-link page (a support
contact), any other error page a temporary one; not paying is stranding, whatever page came before. Pure functions
over plain data: the arithmetic can be redone by hand from the CSV and the inputs.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Mapping, Optional

HOURS_A_YEAR = 8760.0
# A single-order scenario plays on a cell's first pair of orders (one parent who comes back by themselves after an
# error page, one who does not: experiments.failure_modes.SCENARIO_TARGETS), so its harm per event is the pair's / 2.
SCENARIO_PAIR = 2

# What a parent of a cell can suffer (each the excess over the same parent without the fault).
PARENT_HARMS = ("temporary_error_pages", "dead_link_pages", "parents_stranded", "hours_locked_out",
                "double_charges", "paid_still_payable")
# Everyday harms (no fault), in addition.
EVERYDAY_HARMS = ("unmatched_payments", "abandoned_sessions", "checkout_sessions", "stripe_calls")
HARMS = PARENT_HARMS + EVERYDAY_HARMS


class HarmModelError(ValueError):
    """The cells or the inputs cannot be combined (a fault without a likelihood, a variant without cells, ...)."""


# -- inputs ---------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ParentRecord:
    """One row of failure-modes/parents.csv."""

    fault: str
    variant: str
    parent: int
    returns: bool
    first_click_in_fault: bool
    met_error: bool
    met_dead_link: bool
    paid_via: str  # click | email | none
    order_open: bool
    hours_locked_out: float  # hours_without_way_to_pay_after_first_click
    paid_still_payable: bool
    double_charged: bool


def _bool(text: str) -> bool:
    if text in ("True", "true", "1"):
        return True
    if text in ("False", "false", "0", ""):
        return False
    raise HarmModelError(f"not a boolean: {text!r}")


def read_parents(path: Path) -> list[ParentRecord]:
    """failure-modes/parents.csv as records (csv module only: the decision reads it in milliseconds)."""
    out = []
    with path.open(newline="") as handle:
        for line, row in enumerate(csv.DictReader(handle), start=2):
            try:
                out.append(ParentRecord(
                    fault=row["fault"], variant=row["variant"], parent=int(row["parent"]), returns=_bool(row["returns"]),
                    first_click_in_fault=_bool(row["first_click_in_fault"]), met_error=_bool(row["met_error"]),
                    met_dead_link=_bool(row["met_dead_link"]), paid_via=row["paid_via"],
                    order_open=_bool(row["order_open"]),
                    hours_locked_out=float(row["hours_without_way_to_pay_after_first_click"]),
                    paid_still_payable=_bool(row["paid_still_payable"]), double_charged=_bool(row["double_charged"])))
            except (KeyError, ValueError) as exc:
                raise HarmModelError(f"{path}:{line}: {exc}") from None
    return out


@dataclass(frozen=True)
class Likelihood:
    """How often one fault happens (one entry of experiments/likelihood.yaml)."""

    fault: str
    baseline: bool = False
    share_of: Optional[str] = None  # a component: the fault is `share` of its downtime
    share: float = 0.0
    per_year: Optional[float] = None  # incidents a year
    per_order: Optional[float] = None  # events per order
    while_down: Optional[str] = None  # per_order only: the scenario needs this component down at the same time
    counts: Optional[tuple[str, ...]] = None  # outages: "clicks", "blast"
    cell_orders: str = "pair"  # per_order: the cell plays the scenario on its first "pair" of orders or on "all"
    # per_order, a scenario that emails a new link (a re-price): the share of its parents who click the old email's
    # link rather than the new one (the cell plays every parent clicking the old one)
    old_email_share: float = 1.0
    why: str = ""


@dataclass(frozen=True)
class FaultTiming:
    """A fault's timing in the cells (experiments/faults.yaml): start and duration in hours, None when untimed."""

    start: Optional[float]
    hours: Optional[float]


@dataclass(frozen=True)
class Volumes:
    blasts_per_year: float
    orders_per_blast: float
    fee_usd: float

    @property
    def orders_per_year(self) -> float:
        return self.blasts_per_year * self.orders_per_blast


@dataclass(frozen=True)
class Prices:
    """What a unit of each harm costs the club (experiments/club.yaml ``prices``)."""

    support_contact_usd: float
    error_page_contact_share: float
    refund_fee_usd: float  # the processing fee of a refunded charge, counted as lost
    engineer_day_usd: float
    horizon_years: float
    dead_link_contact_share: float = 1.0  # share of parents told their link no longer works who write in


@dataclass(frozen=True)
class Everyday:
    """A variant's everyday figures, read from the other experiments' evidence (central latency scenario)."""

    click_share: float  # orders whose parent clicks at all
    first_click_payable_share_of_clickers: float
    stranded_share: float  # of all orders, with the policy's reminder
    paid_share: float  # of all orders, with the policy's reminder
    sessions_minted_per_order: float  # with the policy's reminder
    webhook_match_rate: float
    abandoned_sessions_per_paid_order_retry_cohort: float
    stripe_calls_per_paid_order: float


@dataclass(frozen=True)
class World:
    """Everything the weighting needs besides the cells: volumes, each component's downtime share, the return and
    response assumptions, the cells' horizon, and the share of paying parents who behave like the retry cohort."""

    volumes: Volumes
    downtime: Mapping[str, float]  # component -> share of the time it is down (1 - availability)
    return_share: float
    response_share: float
    horizon_hours: float
    retry_cohort_share: float


# -- one parent ------------------------------------------------------------------------------------------------------


def parent_harms(r: ParentRecord, response_share: float) -> dict[str, float]:
    """A parent's harms in one cell. Stranded: an open order not paid (1), or paid only from a re-sent email, which a
    parent answers with ``response_share`` (1 - response_share); a canceled, unpaid order strands no one."""
    if not r.order_open:
        strand = 0.0
    elif r.paid_via == "click":
        strand = 0.0
    elif r.paid_via == "email":
        strand = 1.0 - response_share
    elif r.paid_via == "none":
        strand = 1.0
    else:
        raise HarmModelError(f"paid_via {r.paid_via!r} (expected click, email or none)")
    return {
        "temporary_error_pages": float(r.met_error and not r.met_dead_link),
        "dead_link_pages": float(r.met_dead_link),
        "parents_stranded": strand,
        "hours_locked_out": r.hours_locked_out,
        "double_charges": float(r.double_charged),
        "paid_still_payable": float(r.paid_still_payable),
    }


def return_weight(r: ParentRecord, return_share: float) -> float:
    """Each cell pairs a parent who comes back after an error page by themselves with one who does not; weighting
    them 2r and 2(1-r) gives any assumed share r of returners (the pair's weights sum to 2)."""
    return 2 * return_share if r.returns else 2 * (1 - return_share)


def _zero() -> dict[str, float]:
    return {h: 0.0 for h in PARENT_HARMS}


def _add(total: dict[str, float], part: Mapping[str, float], factor: float = 1.0) -> None:
    for k, v in part.items():
        total[k] = total.get(k, 0.0) + factor * v


@dataclass
class CellParts:
    """One cell, split: the parents whose first click came while the fault was on (their weighted mean excess, and
    how many), and the whole cell's and the other parents' weighted excess summed."""

    in_fault_mean: dict[str, float] = field(default_factory=_zero)
    in_fault_parents: int = 0
    rest_total: dict[str, float] = field(default_factory=_zero)
    all_total: dict[str, float] = field(default_factory=_zero)
    parents: int = 0


def cell_parts(rows: list[ParentRecord], baseline: Mapping[int, ParentRecord], return_share: float,
               response_share: float) -> CellParts:
    """Excess harms of one cell against the same parents in the no-fault cell (``baseline``: parent index -> row)."""
    parts = CellParts(parents=len(rows))
    in_weight = 0.0
    in_sum = _zero()
    for r in rows:
        base = baseline.get(r.parent)
        if base is None:
            raise HarmModelError(f"{r.variant}: parent {r.parent} of {r.fault} has no row in the no-fault cell")
        mine, theirs = parent_harms(r, response_share), parent_harms(base, response_share)
        w = return_weight(r, return_share)
        excess = {k: w * (mine[k] - theirs[k]) for k in PARENT_HARMS}
        _add(parts.all_total, excess)
        if r.first_click_in_fault:
            in_weight += w
            parts.in_fault_parents += 1
            _add(in_sum, excess)
        else:
            _add(parts.rest_total, excess)
    if in_weight > 0:
        parts.in_fault_mean = {k: v / in_weight for k, v in in_sum.items()}
    return parts


# -- one fault -------------------------------------------------------------------------------------------------------


def on_share(like: Likelihood, timing: FaultTiming, world: World) -> float:
    """The share of the year the fault is on (timed faults only)."""
    if like.share_of is not None:
        if like.share_of not in world.downtime:
            raise HarmModelError(f"{like.fault}: unknown component {like.share_of!r}")
        return world.downtime[like.share_of] * like.share
    if like.per_year is not None and timing.hours:
        return like.per_year * timing.hours / HOURS_A_YEAR
    raise HarmModelError(f"{like.fault}: a timed fault needs share_of or per_year")


def counted_parts(like: Likelihood, timing: FaultTiming) -> tuple[str, ...]:
    if like.counts is not None:
        return like.counts
    return ("clicks", "blast") if timing.start == 0 else ("clicks",)


def fault_yearly(like: Likelihood, timing: FaultTiming, parts: CellParts, world: World,
                 clicking_parents_per_year: float) -> dict[str, float]:
    """One fault's expected harm a year for one variant, from its cell's parts."""
    out = _zero()
    vol = world.volumes
    cell_n = max(1, parts.parents)
    clickers_per_blast = clicking_parents_per_year / vol.blasts_per_year
    if like.baseline:
        return out
    if like.per_order is not None:
        events = clicking_parents_per_year * like.per_order * like.old_email_share
        if like.while_down is not None:
            if like.while_down not in world.downtime:
                raise HarmModelError(f"{like.fault}: unknown component {like.while_down!r}")
            events *= world.downtime[like.while_down]
        orders_in_cell = cell_n if like.cell_orders == "all" else SCENARIO_PAIR
        _add(out, parts.all_total, events / orders_in_cell)
        return out
    if timing.hours is None:  # an untimed incident (a restore): it hits a blast whose orders are still open
        if like.per_year is None:
            raise HarmModelError(f"{like.fault}: an untimed incident needs per_year")
        hits = like.per_year * min(1.0, vol.blasts_per_year * world.horizon_hours / HOURS_A_YEAR)
        _add(out, parts.all_total, hits * clickers_per_blast / cell_n)
        return out
    share_on = on_share(like, timing, world)
    counted = counted_parts(like, timing)
    if "clicks" in counted and parts.in_fault_parents:
        _add(out, parts.in_fault_mean, clicking_parents_per_year * share_on)
    if "blast" in counted:
        _add(out, parts.rest_total, clicking_parents_per_year * share_on / cell_n)
    elif "clicks" in counted and any(abs(v) > 1e-12 for v in parts.rest_total.values()):
        # an outage after the blast that still harmed parents who did not click during it: weighted by the chance an
        # incident overlaps a blast's horizon (incidents a year x blasts x (horizon + duration) / year)
        incidents = share_on * HOURS_A_YEAR / timing.hours
        overlap = min(1.0, vol.blasts_per_year * (world.horizon_hours + timing.hours) / HOURS_A_YEAR)
        _add(out, parts.rest_total, incidents * overlap * clickers_per_blast / cell_n)
    return out


# -- everyday --------------------------------------------------------------------------------------------------------


def everyday_yearly(e: Everyday, world: World) -> dict[str, float]:
    """Harms without a fault: late openers the reminder does not bring back, first clicks on a dead link, payments the
    matcher cannot attribute, and the Stripe objects and calls the variant makes."""
    orders = world.volumes.orders_per_year
    paid = orders * e.paid_share
    out = _zero()
    out.update({
        "parents_stranded": orders * e.stranded_share,
        "dead_link_pages": orders * e.click_share * (1 - e.first_click_payable_share_of_clickers),
        "unmatched_payments": paid * (1 - e.webhook_match_rate),
        "abandoned_sessions": paid * world.retry_cohort_share * e.abandoned_sessions_per_paid_order_retry_cohort,
        "checkout_sessions": orders * e.sessions_minted_per_order
        + paid * world.retry_cohort_share * e.abandoned_sessions_per_paid_order_retry_cohort,
        "stripe_calls": paid * e.stripe_calls_per_paid_order,
    })
    return out


# -- all of it -------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CellData:
    """The committed cells, indexed: (variant, fault) -> rows, and each variant's no-fault rows by parent."""

    cells: Mapping[tuple[str, str], list[ParentRecord]]
    baseline: Mapping[str, Mapping[int, ParentRecord]]

    @classmethod
    def from_records(cls, records: Iterable[ParentRecord], baseline_fault: str = "none") -> "CellData":
        cells: dict[tuple[str, str], list[ParentRecord]] = {}
        for r in records:
            cells.setdefault((r.variant, r.fault), []).append(r)
        baseline = {v: {r.parent: r for r in rows} for (v, f), rows in cells.items() if f == baseline_fault}
        return cls(cells=cells, baseline=baseline)

    def variants(self) -> list[str]:
        return sorted(self.baseline)

    def faults(self) -> list[str]:
        return sorted({f for _, f in self.cells})


@dataclass
class YearlyHarm:
    """One variant's expected harms a year: the total, the everyday part, and each fault's part."""

    variant: str
    total: dict[str, float]
    everyday: dict[str, float]
    by_fault: dict[str, dict[str, float]]

    @property
    def parents_meeting_an_error_page(self) -> float:
        return self.total["temporary_error_pages"] + self.total["dead_link_pages"]


def all_cell_parts(data: CellData, return_share: float, response_share: float) -> dict[tuple[str, str], CellParts]:
    """Every cell's parts (what ``yearly_harm`` weights); they depend only on the two behaviour shares."""
    return {(v, f): cell_parts(rows, data.baseline[v], return_share, response_share)
            for (v, f), rows in data.cells.items() if v in data.baseline}


def yearly_harm(variant: str, data: CellData, likelihood: Mapping[str, Likelihood],
                timing: Mapping[str, FaultTiming], everyday: Everyday, world: World,
                parts: Optional[Mapping[tuple[str, str], CellParts]] = None) -> YearlyHarm:
    """A variant's expected harms a year: everyday plus every fault of the cells, weighted. ``parts`` (from
    ``all_cell_parts`` at the world's two behaviour shares) saves recomputing the cells."""
    faults = sorted(f for v, f in data.cells if v == variant)
    missing = [f for f in faults if f not in likelihood]
    if missing:
        raise HarmModelError(f"no likelihood for fault(s) {', '.join(missing)} (experiments/likelihood.yaml)")
    if variant not in data.baseline:
        raise HarmModelError(f"{variant}: no no-fault cell to measure excess against")
    clickers = world.volumes.orders_per_year * everyday.click_share
    by_fault = {}
    total = {h: 0.0 for h in HARMS}
    for f in faults:
        like = likelihood[f]
        if like.baseline:
            continue
        cell = parts[(variant, f)] if parts is not None else cell_parts(
            data.cells[(variant, f)], data.baseline[variant], world.return_share, world.response_share)
        by_fault[f] = fault_yearly(like, timing[f], cell, world, clickers)
        _add(total, by_fault[f])
    daily = everyday_yearly(everyday, world)
    _add(total, daily)
    return YearlyHarm(variant=variant, total=total, everyday=daily, by_fault=by_fault)


def yearly_usd(harm: Mapping[str, float], prices: Prices, fee_usd: float) -> dict[str, float]:
    """What a year's harms cost the club, by harm: stranded fees; a support contact for each payment reconciled by hand
    and each double charge (whose processing fee is also lost), and for the assumed shares of parents who write in
    after a dead-link page and after a temporary error page. Hours, sessions and calls are not priced."""
    contact = prices.support_contact_usd
    return {
        "parents_stranded": harm["parents_stranded"] * fee_usd,
        "dead_link_pages": harm["dead_link_pages"] * prices.dead_link_contact_share * contact,
        "temporary_error_pages": harm["temporary_error_pages"] * prices.error_page_contact_share * contact,
        "double_charges": harm["double_charges"] * (prices.refund_fee_usd + contact),
        "unmatched_payments": harm["unmatched_payments"] * contact,
    }


def support_contacts(harm: Mapping[str, float], prices: Prices) -> float:
    """Expected support contacts a year: the same parents yearly_usd prices as contacts."""
    return (harm["dead_link_pages"] * prices.dead_link_contact_share + harm["double_charges"] + harm["unmatched_payments"]
            + harm["temporary_error_pages"] * prices.error_page_contact_share)
