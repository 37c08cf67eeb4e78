"""What would change the answer: every stated assumption moved on its own, the rest as stated, until another option
becomes the cheapest over the horizon.

Every variant's horizon cost is affine in each single assumption (a downtime, a likelihood, a price, a unit effort,
a volume, a behaviour share), so two evaluations give each variant's line and the recommendation can only change
where two lines cross; a third evaluation checks the lines (a lever that is not affine is scanned instead). Walking
out from the stated value in each direction, the first crossing past which another option is cheapest is that
direction's flip; the nearer of the two (by ratio to the stated value) is reported.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import Any, Callable, Optional

from blastpay import display_names
from blastpay.experiments.decision_inputs import Assumptions, DecisionModel, Knobs
from blastpay.models.decision import OPTION_OF
from blastpay.models.yearly_harm import HOURS_A_YEAR

Costs = Callable[[float], dict[str, float]]  # an assumption's value -> each variant's horizon cost


@dataclass(frozen=True)
class Lever:
    name: str  # its reader's name: display_names.lever(name)
    stated: float
    lo: float
    hi: float
    unit: str  # "share", "per_order", or the unit of the value itself (hours, usd, days, ...)
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
        if kind == "old_email":
            return a, Knobs(old_email_share={key: x})
        return a, Knobs(retry_cohort_share=x)
    return inputs


def _natural(by_factor: Callable[[float], tuple[Assumptions, Knobs]],
             stated: float) -> Callable[[float], tuple[Assumptions, Knobs]]:
    """A factor lever read in the value's own unit: the value over the stated one is the factor."""
    return lambda x: by_factor(x / stated)


def levers(model: DecisionModel) -> list[Lever]:
    """One lever per stated assumption of the decision."""
    a = model.central()
    world = model.world(a)
    # a component's downtime in hours a year (the lever moves it by a factor on the stated downtime)
    hours = {comp: world.downtime[comp] * HOURS_A_YEAR for comp in model.component_availability}
    out = [Lever("basketball_api_downtime", hours["basketball_api"], 0.0, hours["basketball_api"] * 100, "hours",
                 _natural(_knob(a, "downtime", "basketball_api"), hours["basketball_api"]))]
    for name, unit in (("blasts_per_year", "blasts"), ("orders_per_blast", "orders"), ("fee_usd", "usd")):
        stated = float(getattr(a, name))
        out.append(Lever(name, stated, stated / 100, stated * 100, unit, _assumption(a, name)))
    for name in ("return_share", "response_share"):
        out.append(Lever(name, float(getattr(a, name)), 0.0, 1.0, "share", _assumption(a, name)))
    out.append(Lever("retry_cohort_share", model.club.retry_cohort_share, 0.0, 1.0, "share",
                     _knob(a, "retry_cohort")))
    prices = model.club.prices
    units = {"support_contact_minutes": "minutes", "staff_hour_usd": "usd", "error_page_contact_share": "share",
             "dead_link_contact_share": "share",
             "engineer_day_usd": "usd", "horizon_years": "years"}
    for key, unit in units.items():
        stated = float(getattr(prices, key))
        lo, hi = (0.0, 1.0) if unit == "share" else (stated / 100, stated * 100)
        out.append(Lever(key, stated, lo, hi, unit, _knob(a, "price", key)))
    for comp in model.component_availability:
        if comp != "basketball_api" and hours[comp] > 0:
            out.append(Lever(f"{comp}_downtime", hours[comp], 0.0, hours[comp] * 100, "hours",
                             _natural(_knob(a, "downtime", comp), hours[comp])))
    for fault, like in sorted(model.likelihood.items()):
        if like.baseline:
            continue
        # in the likelihood's own unit: a share of orders, incidents a year, or a share of a component's downtime
        unit, stated = (("per_order", like.per_order) if like.per_order is not None else
                        ("per_year", like.per_year) if like.per_year is not None else ("share", like.share))
        if stated:
            # a share (of orders, or of a component's downtime) goes up to 1; incidents a year a hundredfold
            hi = 1.0 if unit in ("per_order", "share") else float(stated) * 100
            out.append(Lever(f"likelihood:{fault}", float(stated), 0.0, hi, unit,
                             _natural(_knob(a, "likelihood", fault), float(stated))))
        if like.per_order is not None and like.old_email_share != 1.0:
            out.append(Lever(f"old_email:{fault}", like.old_email_share, 0.0, 1.0, "share",
                             _knob(a, "old_email", fault)))
    for kind, days in sorted(model.unit_days.items()):
        out.append(Lever(f"effort:{kind}", days, 0.0, max(days, 0.25) * 100, "days", _knob(a, "effort", kind)))
    return out


def _winner(costs: dict[str, float]) -> str:
    return min(sorted(costs), key=lambda v: (costs[v], v))


def _lines(costs: Costs, stated: float, lo: float, hi: float) -> Optional[list[float]]:
    """Where any two variants' cost lines cross within [lo, hi], from two evaluations; None when a third evaluation
    shows the costs are not affine in this assumption."""
    step = (hi - lo) / 7
    other = stated + step if stated + step <= hi else stated - step
    check = stated - step / 2 if stated - step / 2 >= lo else stated + step / 2
    c0, c1, c2 = costs(stated), costs(other), costs(check)
    slope = {v: (c1[v] - c0[v]) / (other - stated) for v in c0}
    for v in c0:
        predicted = c0[v] + slope[v] * (check - stated)
        if abs(predicted - c2[v]) > 1e-6 * max(1.0, abs(c0[v]), abs(c1[v])):
            return None
    out = []
    vs = sorted(c0)
    for i, p in enumerate(vs):
        for q in vs[i + 1:]:
            if slope[p] != slope[q]:
                x = stated + (c0[q] - c0[p]) / (slope[p] - slope[q])
                if lo <= x <= hi and x != stated:
                    out.append(x)
    return out


def _scan(costs: Costs, stated: float, lo: float, hi: float, base: Optional[str], points: int = 400) -> list[float]:
    """Crossings of a lever that is not affine: a grid in each direction, each change of option bisected."""
    out = []
    for end in (lo, hi):
        if end == stated:
            continue
        prev, prev_opt = stated, base
        for i in range(1, points + 1):
            x = stated + (end - stated) * i / points
            opt = OPTION_OF.get(_winner(costs(x)))
            if opt != prev_opt:
                a, b = prev, x
                for _ in range(100):
                    mid = (a + b) / 2
                    if OPTION_OF.get(_winner(costs(mid))) == prev_opt:
                        a = mid
                    else:
                        b = mid
                out.append((a + b) / 2)
                break
            prev = x
    return out


def _beyond(x: float, stated: float, lo: float, hi: float) -> float:
    """A value just past ``x``, seen from ``stated`` (``x`` itself at the range's end)."""
    eps = 1e-9 * max(1.0, abs(x))
    probe = x + eps if x > stated else x - eps
    return min(hi, max(lo, probe))


def nearest_flip(costs: Costs, stated: float, lo: float, hi: float) -> Optional[tuple[float, str]]:
    """The value nearest ``stated`` (within [lo, hi]) past which another option is cheapest, and that variant.
    Nearness is by ratio to the stated value (a value of 0 is the farthest), or by difference when it is 0."""
    if hi <= lo:
        return None
    base = OPTION_OF.get(_winner(costs(stated)))
    candidates = _lines(costs, stated, lo, hi)
    if candidates is None:
        candidates = _scan(costs, stated, lo, hi, base)
    candidates = sorted(set(candidates) | ({lo, hi} - {stated}))
    found = []
    for up in (True, False):
        side = sorted((x for x in candidates if (x > stated) == up), key=lambda x: abs(x - stated))
        for x in side:
            w = _winner(costs(_beyond(x, stated, lo, hi)))
            if OPTION_OF.get(w) != base:
                found.append((x, w))
                break
    if not found:
        return None

    def distance(x: float) -> float:
        if stated > 0:
            return abs(math.log(x / stated)) if x > 0 else math.inf
        return abs(x - stated)

    return min(found, key=lambda f: (distance(f[0]), f[0]))


def flips(model: DecisionModel) -> list[dict[str, Any]]:
    """Per lever: the value (and factor on the stated value) at which another option would be recommended."""
    rows = []
    for lever in levers(model):
        def costs(x: float, lever: Lever = lever) -> dict[str, float]:
            a, knobs = lever.inputs(x)
            _, d = model.evaluate(a, knobs)
            return {v: c.horizon_usd for v, c in d.costed.items()}

        found = nearest_flip(costs, lever.stated, lever.lo, lever.hi)
        # the factor on the stated value (none for a value stated as 0)
        factor = found[0] / lever.stated if found is not None and lever.stated else None
        rows.append({"lever": lever.name, "title": display_names.lever(lever.name), "unit": lever.unit,
                     "stated": lever.stated, "flips_at": None if found is None else found[0], "factor": factor,
                     "new_winner_variant": None if found is None else found[1],
                     "new_winner_option": None if found is None else OPTION_OF.get(found[1])})
    return rows
