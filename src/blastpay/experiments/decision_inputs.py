"""The decision in the club's units: everything it reads, gathered once, and the decision evaluated under any
assumptions (the central case the ADR states, each sweep and break-even, and ``blastpay decide``'s re-asks).

Reads the evidence the earlier notebooks wrote (``failure-modes/parents.csv``, ``latency/summary.json``,
``webhook-match/summary.json``, ``retry-cohort/decision_metric.json``, ``cost/summary.json``,
``migration/summary.json``) and the committed inputs (``experiments/club.yaml``, ``likelihood.yaml``, ``effort.yaml``,
``faults.yaml``, ``call_sites.json`` and the sources registry). Nothing here runs a flow: re-asking takes milliseconds.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Iterable, Mapping, Optional

from blastpay.evidence.writer import EvidenceError
from blastpay.models import effort as effort_model
from blastpay.models.club_inputs import load_club, load_effort, load_likelihood
from blastpay.models.decision import OPTION_OF, Decision, Tie, decide, tie
from blastpay.models.yearly_harm import (
    HOURS_A_YEAR,
    CellData,
    Everyday,
    FaultTiming,
    Likelihood,
    Prices,
    Volumes,
    World,
    YearlyHarm,
    all_cell_parts,
    read_parents,
    support_contacts,
    yearly_harm,
)

SCENARIO = "central"  # the latency scenario the decision reads; the others are the latency notebook's sensitivity
TODAY = "ttl_24h"  # today's pattern: a Checkout Session minted at send
BASKETBALL_API = "basketball_api"
REPRICE = "amount_changed_after_blast"  # the scenario whose frequency the club's records show and a reader re-asks

# Where each everyday figure comes from (the ADR's provenance table quotes this).
PROVENANCE: dict[str, str] = {
    "faults": "failure-modes/parents.csv (every parent of every cell) x experiments/likelihood.yaml",
    "click_share": "latency/summary.json: by_scenario.central.<variant>.click_share",
    "first_click_payable_share_of_clickers":
        "latency/summary.json: by_scenario.central.<variant>.first_click_payable_share_of_clickers",
    "stranded_share": "latency/summary.json: reminder_by_scenario.central.<variant>.stranded_share",
    "paid_share": "latency/summary.json: reminder_by_scenario.central.<variant>.paid_share",
    "sessions_minted_per_order": "latency/summary.json: reminder_by_scenario.central.<variant>.sessions_minted_per_order",
    "webhook_match_rate": "webhook-match/summary.json: by_variant.<variant>.webhook_match_rate",
    "abandoned_sessions_per_paid_order_retry_cohort":
        "retry-cohort/decision_metric.json: abandoned_sessions_per_paid_order_retry_cohort.<variant>",
    "stripe_calls_per_paid_order": "cost/summary.json: by_variant.<variant>.stripe_calls_per_paid_order",
    "build": "cost/summary.json (moving parts against today's flow) + experiments/call_sites.json x experiments/effort.yaml",
}


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text())
    except FileNotFoundError:
        raise EvidenceError(f"{path}: evidence file missing (run `blastpay evidence`)") from None
    except ValueError as exc:
        raise EvidenceError(f"{path}: not JSON ({exc})") from None


def _get(doc: Any, *keys: str, where: str) -> Any:
    for key in keys:
        if not isinstance(doc, dict) or key not in doc:
            raise EvidenceError(f"{where}: missing key {'.'.join(keys)}")
        doc = doc[key]
    return doc


@dataclass(frozen=True)
class Assumptions:
    """The inputs a reader re-asks with (``blastpay decide``); the rest stay as committed."""

    availability: float  # basketball-api's availability while parents click
    blasts_per_year: float
    orders_per_blast: float
    fee_usd: float
    return_share: float  # parents who come back by themselves after an error page
    response_share: float  # parents who act on a re-sent email
    reprice_share: float  # orders re-priced after their email went out (likelihood.yaml, REPRICE)
    old_email_share: float  # of their parents, the share who click the old email's link


@dataclass(frozen=True)
class Knobs:
    """Committed inputs moved for a sensitivity check: a factor on a component's downtime or a fault's likelihood,
    other prices or unit efforts, another retry-cohort share."""

    downtime_factor: Mapping[str, float] = field(default_factory=dict)
    likelihood_factor: Mapping[str, float] = field(default_factory=dict)
    old_email_share: Mapping[str, float] = field(default_factory=dict)  # fault -> its old_email_share
    prices: Mapping[str, float] = field(default_factory=dict)
    unit_days: Mapping[str, float] = field(default_factory=dict)
    retry_cohort_share: Optional[float] = None


def scaled(like: Likelihood, factor: float) -> Likelihood:
    """A fault happening ``factor`` times as often."""
    if factor == 1.0 or like.baseline:
        return like
    return replace(like, share=like.share * factor,
                   per_year=None if like.per_year is None else like.per_year * factor,
                   per_order=None if like.per_order is None else min(1.0, like.per_order * factor))


class DecisionModel:
    """The decision's inputs, read once; ``evaluate`` gives the harms and the decision under any assumptions."""

    def __init__(self, evidence_dir: Path, experiments_dir: Path, registry: Any) -> None:
        from blastpay.experiments.fault_plan import load_plan

        self.evidence_dir, self.experiments_dir = evidence_dir, experiments_dir
        self.plan = load_plan(experiments_dir / "faults.yaml")
        self.club = load_club(experiments_dir / "club.yaml")
        self.like_in = load_likelihood(experiments_dir / "likelihood.yaml", list(self.plan.faults))
        self.effort = load_effort(experiments_dir / "effort.yaml")
        self.unit_days = dict(self.effort.unit_days)
        self.registry = registry
        self.cells = CellData.from_records(read_parents(evidence_dir / "failure-modes" / "parents.csv"))
        self.likelihood = {name: Likelihood(fault=name, baseline=f.baseline, share_of=f.share_of, share=f.share or 0.0,
                                            per_year=f.per_year, per_order=f.per_order, while_down=f.while_,
                                            counts=tuple(f.counts) if f.counts else None, cell_orders=f.cell_orders,
                                            old_email_share=1.0 if f.old_email_share is None else f.old_email_share,
                                            why=f.why)
                           for name, f in self.like_in.faults.items()}
        self.timing = {name: FaultTiming(start=float(spec["start"]) if "start" in spec else None,
                                         hours=float(spec["hours"]) if "hours" in spec and "scenario" not in spec
                                         else None)
                       for name, spec in self.plan.faults.items()}
        self.component_availability = {
            name: (None if c.availability_from == "club" else registry.figure_in(str(c.availability_source), "share"))
            for name, c in self.like_in.components.items()}
        from blastpay.models.fees import FeeTable

        self.fee_table = FeeTable.from_registry(registry)
        self._parts: dict[tuple[float, float], Any] = {}
        self._read_everyday()
        self._read_build()

    # -- evidence ------------------------------------------------------------------------------------------------

    def _read_everyday(self) -> None:
        e = self.evidence_dir
        latency = _read_json(e / "latency" / "summary.json")
        match = _read_json(e / "webhook-match" / "summary.json")
        cohort = _read_json(e / "retry-cohort" / "decision_metric.json")
        cost = _read_json(e / "cost" / "summary.json")
        self.infeasible = dict(latency["infeasible_reason"])
        self.cost_rows = _get(cost, "by_variant", where="cost/summary.json")
        self.everyday: dict[str, Everyday] = {}
        for v in sorted(self.cells.variants()):
            if v in self.infeasible:
                continue
            lat = _get(latency, "by_scenario", SCENARIO, v, where="latency/summary.json")
            rem = _get(latency, "reminder_by_scenario", SCENARIO, v, where="latency/summary.json")
            self.everyday[v] = Everyday(
                click_share=float(lat["click_share"]),
                first_click_payable_share_of_clickers=float(lat["first_click_payable_share_of_clickers"]),
                stranded_share=float(rem["stranded_share"]), paid_share=float(rem["paid_share"]),
                sessions_minted_per_order=float(rem["sessions_minted_per_order"]),
                webhook_match_rate=float(_get(match, "by_variant", v, "webhook_match_rate",
                                              where="webhook-match/summary.json")),
                abandoned_sessions_per_paid_order_retry_cohort=float(_get(
                    cohort, "abandoned_sessions_per_paid_order_retry_cohort", v,
                    where="retry-cohort/decision_metric.json")),
                stripe_calls_per_paid_order=float(_get(self.cost_rows, v, "stripe_calls_per_paid_order",
                                                       where="cost/summary.json")))

    def _read_build(self) -> None:
        from blastpay.scanner import load_inventory, migration_checklist

        inventory = load_inventory(self.experiments_dir / "call_sites.json")
        migration = _read_json(self.evidence_dir / "migration" / "summary.json")
        self.safe_order = list(migration["safe_order"])
        today = self.cost_rows[TODAY]
        self.steps: dict[str, list[effort_model.Step]] = {}
        for v in self.everyday:
            option = OPTION_OF[v]
            if v == TODAY:
                items: list[dict] = []
            elif option == "ttl_30d":  # a 24-hour variant: only its session creates change (the recovery setting)
                items = [{**i, "change": "Turn on after_expiration.recovery at this session create"}
                         for i in migration_checklist(inventory, option) if i["kind"] == "session_create"]
            else:
                items = migration_checklist(inventory, option, order=self.safe_order)
            listed = [s.model_dump() for s in self.effort.option_steps.get(option, [])]
            common = [s.model_dump() for s in self.effort.common_steps]
            self.steps[v] = effort_model.plan(self.cost_rows[v], today, items, self.unit_days, listed, common)
        self.build_days = {v: effort_model.engineer_days(s) for v, s in self.steps.items()}

    # -- assumptions ---------------------------------------------------------------------------------------------

    def central(self) -> Assumptions:
        vol = self.club.volumes
        reprice = self.likelihood.get(REPRICE)
        if reprice is None or reprice.per_order is None:
            raise EvidenceError(f"experiments/likelihood.yaml: {REPRICE} needs per_order (the share of orders re-priced)")
        return Assumptions(availability=self.club.basketball_api.availability.central,
                           blasts_per_year=vol.blasts_per_year, orders_per_blast=vol.orders_per_blast,
                           fee_usd=vol.fee_usd, return_share=self.plan.error_return_share,
                           response_share=self.plan.reminder_response_share,
                           reprice_share=reprice.per_order, old_email_share=reprice.old_email_share)

    def world(self, a: Assumptions, knobs: Optional["Knobs"] = None) -> World:
        knobs = knobs or Knobs()
        downtime = {name: (1.0 - (a.availability if avail is None else avail)) * knobs.downtime_factor.get(name, 1.0)
                    for name, avail in self.component_availability.items()}
        cohort = self.club.retry_cohort_share if knobs.retry_cohort_share is None else knobs.retry_cohort_share
        return World(volumes=Volumes(a.blasts_per_year, a.orders_per_blast, a.fee_usd), downtime=downtime,
                     return_share=a.return_share, response_share=a.response_share,
                     horizon_hours=self.plan.horizon_hours, retry_cohort_share=cohort)

    def prices(self, a: Assumptions, knobs: Optional["Knobs"] = None) -> Prices:
        from blastpay.models.fees import processing_fee

        p = {**self.club.prices.model_dump(), **(knobs.prices if knobs else {})}
        refund_fee = processing_fee(a.fee_usd, "card", self.fee_table)  # the refunded card charge's fee, not returned
        return Prices(support_contact_usd=p["support_contact_minutes"] / 60 * p["staff_hour_usd"],
                      error_page_contact_share=p["error_page_contact_share"], refund_fee_usd=refund_fee,
                      engineer_day_usd=p["engineer_day_usd"], horizon_years=p["horizon_years"],
                      dead_link_contact_share=p["dead_link_contact_share"])

    def harms(self, a: Assumptions, knobs: Optional["Knobs"] = None) -> dict[str, YearlyHarm]:
        w = self.world(a, knobs)
        key = (a.return_share, a.response_share)
        if key not in self._parts:
            self._parts[key] = all_cell_parts(self.cells, *key)
        likelihood = dict(self.likelihood)
        likelihood[REPRICE] = replace(likelihood[REPRICE], per_order=a.reprice_share, old_email_share=a.old_email_share)
        if knobs is not None and (knobs.likelihood_factor or knobs.old_email_share):
            likelihood = {f: replace(scaled(like, knobs.likelihood_factor.get(f, 1.0)),
                                     old_email_share=knobs.old_email_share.get(f, like.old_email_share))
                          for f, like in likelihood.items()}
        return {v: yearly_harm(v, self.cells, likelihood, self.timing, e, w, self._parts[key])
                for v, e in self.everyday.items()}

    def build(self, knobs: Optional["Knobs"] = None) -> dict[str, float]:
        """Engineer-days per variant (with ``knobs.unit_days`` replacing some unit efforts)."""
        if knobs is None or not knobs.unit_days:
            return self.build_days
        units = {**self.unit_days, **knobs.unit_days}
        return {v: sum(units[s.kind] for s in steps) for v, steps in self.steps.items()}

    def evaluate(self, a: Optional[Assumptions] = None,
                 knobs: Optional["Knobs"] = None) -> tuple[dict[str, YearlyHarm], Decision]:
        a = a or self.central()
        harms = self.harms(a, knobs)
        return harms, decide(harms, self.build(knobs), self.prices(a, knobs), a.fee_usd, self.infeasible)

    # -- what would change the answer ----------------------------------------------------------------------------

    def break_even(self, field_name: str, lo: float, hi: float, a: Optional[Assumptions] = None,
                   pair: Optional[tuple[str, str]] = None) -> Tie:
        """Where the two leaders (the central recommendation and runner-up, or ``pair``) cost the same over the
        horizon as one assumption moves over [lo, hi]."""
        a = a or self.central()
        if pair is None:
            _, d = self.evaluate(a)
            pair = (d.recommended_variant, d.runner_up_variant)
        first, second = pair

        def difference(x: float) -> float:
            _, d = self.evaluate(replace(a, **{field_name: x}))
            return d.costed[second].horizon_usd - d.costed[first].horizon_usd

        return tie(difference, first, second, lo, hi)

    def harm_break_even(self, harm: str, lo: float, hi: float, pair: tuple[str, str]) -> Tie:
        """Where two variants suffer the same yearly amount of one harm as basketball-api's availability moves."""
        a = self.central()
        first, second = pair

        def difference(x: float) -> float:
            h = self.harms(replace(a, availability=x))
            return harm_value(h[second], harm, self.prices(a)) - harm_value(h[first], harm, self.prices(a))

        return tie(difference, first, second, lo, hi)

    def sweep(self, field_name: str, values: Iterable[float]) -> list[dict[str, Any]]:
        """The decision at each value of one assumption, the rest central."""
        rows = []
        for x in values:
            _, d = self.evaluate(replace(self.central(), **{field_name: float(x)}))
            rows.append({"assumption": field_name, "value": float(x), "recommended_variant": d.recommended_variant,
                         "recommended_option": d.recommended_option, "runner_up_variant": d.runner_up_variant,
                         "margin_usd": d.margin_usd,
                         "yearly_usd": {v: c.yearly_usd for v, c in d.costed.items()}})
        return rows


def harm_value(h: YearlyHarm, harm: str, prices: Prices) -> float:
    if harm == "parents_meeting_an_error_page":
        return h.parents_meeting_an_error_page
    if harm == "support_contacts":
        return support_contacts(h.total, prices)
    return h.total[harm]


def downtime_hours(availability: float) -> float:
    """Hours a year a service with this availability is down."""
    return (1.0 - availability) * HOURS_A_YEAR


def load_model(evidence_dir: Path, experiments_dir: Optional[Path] = None) -> DecisionModel:
    from blastpay import config
    from blastpay.sources.registry import load_registry

    experiments_dir = experiments_dir or config.EXPERIMENTS_DIR
    return DecisionModel(evidence_dir, experiments_dir, load_registry(experiments_dir / "sources"))
