"""What would change the answer: every stated assumption moved on its own, the rest as stated, until another option
becomes the cheapest over the horizon.

Every variant's horizon cost is affine in each single assumption (a downtime, a likelihood, a price, a unit effort,
a volume, a behaviour share), so two evaluations give each variant's line and the recommendation can only change
where two lines cross; each crossing nearest the stated value is checked with a full evaluation.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import Any, Callable, Optional

from blastpay import display_names
from blastpay.experiments.decision_inputs import Assumptions, DecisionModel, Knobs
from blastpay.models.decision import OPTION_OF

Costs = Callable[[float], dict[str, float]]  # an assumption's value -> each variant's horizon cost


@dataclass(frozen=True)
class Lever:
    name: str  # its reader's name: display_names.lever(name)
    stated: float
    lo: float
    hi: float
    unit: str  # "factor" (x the stated value), "share", or a unit of the value itself
    inputs: Callable[[float], tuple[Assumptions, Knobs]]


def _assumption(a: Assumptions, field_name: str) -> Callable[[float], tuple[Assumptions, Knobs]]:
    return lambda x: (replace(a, **{field_name: x}), Knobs())


def _knob(a: Assumptions, kind: str, key: str = "") -> Callable[[float], tuple[Assumptions, Knobs]]:
    """A lever on a committed input: a component's downtime, a fault's likelihood, a price, a unit effort (``key``
    names which), or the retry cohort's share."""
    def inputs(x: float) -> tuple[Assumptions, Knobs]:
        if kind == "downtime":
            return a, Knobs(downtime_factor={key: x})
        if kind == "likelihood":
            return a, Knobs(likelihood_factor={key: x})
        if kind == "price":
            return a, Knobs(prices={key: x})
        if kind == "effort":
            return a, Knobs(unit_days={key: x})
        return a, Knobs(retry_cohort_share=x)
    return inputs


def _natural(by_factor: Callable[[float], tuple[Assumptions, Knobs]],
             stated: float) -> Callable[[float], tuple[Assumptions, Knobs]]:
    """A factor lever read in the value's own unit: the value over the stated one is the factor."""
    return lambda x: by_factor(x / stated)


def levers(model: DecisionModel) -> list[Lever]:
    """One lever per stated assumption of the decision."""
    a = model.central()
    out = [Lever("basketball_api_downtime", 1.0, 0.0, 100.0, "factor",
                 _knob(a, "downtime", "basketball_api"))]
    for name, unit in (("blasts_per_year", "blasts"), ("orders_per_blast", "orders"), ("fee_usd", "usd")):
        stated = float(getattr(a, name))
        out.append(Lever(name, stated, stated / 100, stated * 100, unit, _assumption(a, name)))
    for name in ("return_share", "response_share"):
        out.append(Lever(name, float(getattr(a, name)), 0.0, 1.0, "share", _assumption(a, name)))
    out.append(Lever("retry_cohort_share", model.club.retry_cohort_share, 0.0, 1.0, "share",
                     _knob(a, "retry_cohort")))
    prices = model.club.prices
    units = {"support_contact_minutes": "minutes", "staff_hour_usd": "usd", "error_page_contact_share": "share",
             "engineer_day_usd": "usd", "horizon_years": "years"}
    for key, unit in units.items():
        stated = float(getattr(prices, key))
        lo, hi = (0.0, 1.0) if unit == "share" else (stated / 100, stated * 100)
        out.append(Lever(key, stated, lo, hi, unit, _knob(a, "price", key)))
    for comp in model.component_availability:
        if comp != "basketball_api":
            out.append(Lever(f"{comp}_downtime", 1.0, 0.0, 100.0, "factor", _knob(a, "downtime", comp)))
    for fault, like in sorted(model.likelihood.items()):
        if like.baseline:
            continue
        # in the likelihood's own unit: a share of orders, incidents a year, or a share of a component's downtime
        unit, stated = (("per_order", like.per_order) if like.per_order is not None else
                        ("per_year", like.per_year) if like.per_year is not None else ("share", like.share))
        if stated:
            out.append(Lever(f"likelihood:{fault}", float(stated), 0.0, float(stated) * 100, unit,
                             _natural(_knob(a, "likelihood", fault), float(stated))))
    for kind, days in sorted(model.unit_days.items()):
        out.append(Lever(f"effort:{kind}", days, 0.0, max(days, 0.25) * 100, "days", _knob(a, "effort", kind)))
    return out


def _winner(costs: dict[str, float]) -> str:
    return min(sorted(costs), key=lambda v: (costs[v], v))


def nearest_flip(costs: Costs, stated: float, lo: float, hi: float) -> Optional[tuple[float, str]]:
    """The value nearest ``stated`` (within [lo, hi]) past which another option is cheapest, and that variant."""
    base = _winner(costs(stated))
    step = (hi - lo) / 7 or 1.0
    other = stated + step if stated + step <= hi else stated - step
    c0, c1 = costs(stated), costs(other)
    slope = {v: (c1[v] - c0[v]) / (other - stated) for v in c0}
    crossings = {lo, hi}
    vs = sorted(c0)
    for i, p in enumerate(vs):
        for q in vs[i + 1:]:
            if slope[p] != slope[q]:
                x = stated + (c0[q] - c0[p]) / (slope[p] - slope[q])
                if lo <= x <= hi:
                    crossings.add(x)
    def dist(x: float) -> float:
        return abs(math.log(max(x, 1e-12) / max(stated, 1e-12))) if stated > 0 and lo >= 0 and x > 0 else abs(x - stated)
    for x in sorted(crossings, key=dist):
        for probe in (x + 1e-6 * max(1.0, abs(x)), x - 1e-6 * max(1.0, abs(x)), x):
            if probe < lo or probe > hi or abs(probe - stated) < 1e-12:
                continue
            if (probe > stated) != (x > stated) and probe != x:
                continue
            w = _winner(costs(probe))
            if OPTION_OF.get(w) != OPTION_OF.get(base):
                return x, w
    return None


def flips(model: DecisionModel) -> list[dict[str, Any]]:
    """Per lever: the value (and factor on the stated value) at which another option would be recommended."""
    rows = []
    for lever in levers(model):
        def costs(x: float, lever: Lever = lever) -> dict[str, float]:
            a, knobs = lever.inputs(x)
            _, d = model.evaluate(a, knobs)
            return {v: c.horizon_usd for v, c in d.costed.items()}

        found = nearest_flip(costs, lever.stated, lever.lo, lever.hi)
        factor = None
        if found is not None:
            factor = found[0] if lever.unit == "factor" else (found[0] / lever.stated if lever.stated else None)
        rows.append({"lever": lever.name, "title": display_names.lever(lever.name), "unit": lever.unit,
                     "stated": lever.stated if lever.unit != "factor" else 1.0,
                     "flips_at": None if found is None else found[0], "factor": factor,
                     "new_winner_variant": None if found is None else found[1],
                     "new_winner_option": None if found is None else OPTION_OF.get(found[1])})
    return rows
