"""The decision: each variant's expected yearly harms priced in dollars, plus its build cost, over a stated horizon;
the cheapest feasible variant is recommended, and its option is the answer.

    horizon cost = horizon_years x (what a year's harms cost the club) + engineer-days x day rate

Pure functions over plain data: the harms come from ``models.yearly_harm``, the engineer-days from ``models.effort``,
the prices and the horizon from ``experiments/club.yaml``. ``tie`` finds where two variants cost the same as one
input moves (every cost is affine in each input, so two evaluations and one division find it; a third checks it).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Callable, Mapping, Optional

from blastpay import display_names
from blastpay.models.yearly_harm import Prices, YearlyHarm, yearly_usd

# Which spike option each implemented variant belongs to.
OPTION_OF: dict[str, str] = {
    "payment_link_per_order": "payment_links",
    "payment_link_per_product": "payment_links",
    "lazy_mint_hmac": "lazy_mint",
    "lazy_mint_db": "lazy_mint",
    "ttl_30d": "ttl_30d",
    "ttl_24h": "ttl_30d",
    "ttl_24h_recovery": "ttl_30d",
}
# The reader's names come from the one table of display names (the ADR, its figures and this evidence agree).
OPTION_TITLES: dict[str, str] = display_names.OPTIONS
VARIANT_TITLES: dict[str, str] = display_names.VARIANTS

TIE_USD = 1e-6  # costs within a millionth of a dollar are equal: the cheaper name does not win by accident


@dataclass(frozen=True)
class Costed:
    """One variant's dollars: what a year of its harms costs (by harm and in all), and its build."""

    variant: str
    yearly_usd_by_harm: dict[str, float]
    yearly_usd: float
    build_days: float
    build_usd: float
    horizon_usd: float


@dataclass
class Decision:
    costed: dict[str, Costed]  # feasible variants only
    infeasible: dict[str, str]
    recommended_variant: str
    recommended_option: str
    runner_up_variant: str  # the cheapest variant of another option
    best_of_option: dict[str, str] = field(default_factory=dict)

    @property
    def margin_usd(self) -> float:
        """What the runner-up would cost more over the horizon (0 on a tie)."""
        return self.costed[self.runner_up_variant].horizon_usd - self.costed[self.recommended_variant].horizon_usd

    @property
    def yearly_margin_usd(self) -> float:
        return self.costed[self.runner_up_variant].yearly_usd - self.costed[self.recommended_variant].yearly_usd


def cost(harm: YearlyHarm, build_days: float, prices: Prices, fee_usd: float) -> Costed:
    by_harm = yearly_usd(harm.total, prices, fee_usd)
    yearly = sum(by_harm.values())
    build = build_days * prices.engineer_day_usd
    return Costed(variant=harm.variant, yearly_usd_by_harm=by_harm, yearly_usd=yearly, build_days=build_days,
                  build_usd=build, horizon_usd=prices.horizon_years * yearly + build)


def decide(harms: Mapping[str, YearlyHarm], build_days: Mapping[str, float], prices: Prices, fee_usd: float,
           infeasible: Optional[Mapping[str, str]] = None) -> Decision:
    """The feasible variant with the lowest horizon cost is recommended (a tie goes to neither by name: the variants
    within TIE_USD of the cheapest rank by their yearly harm, then by build, then by name); the runner-up is the
    cheapest variant of another option."""
    infeasible = dict(infeasible or {})
    feasible = sorted(v for v in harms if v not in infeasible)
    if not feasible:
        raise ValueError("no feasible variant to recommend")
    missing = [v for v in feasible if v not in build_days]
    if missing:
        raise ValueError(f"no build estimate for {', '.join(missing)}")
    costed = {v: cost(harms[v], build_days[v], prices, fee_usd) for v in feasible}
    ranked = sorted(feasible, key=lambda v: (round(costed[v].horizon_usd / TIE_USD), costed[v].yearly_usd,
                                             costed[v].build_usd, v))
    best_of_option: dict[str, str] = {}
    for v in ranked:
        best_of_option.setdefault(OPTION_OF.get(v, v), v)
    winner = ranked[0]
    others = [v for v in ranked if OPTION_OF.get(v) != OPTION_OF.get(winner)]
    runner_up = others[0] if others else (ranked[1] if len(ranked) > 1 else winner)
    return Decision(costed=costed, infeasible=infeasible, recommended_variant=winner,
                    recommended_option=OPTION_OF.get(winner, winner), runner_up_variant=runner_up,
                    best_of_option=best_of_option)


@dataclass(frozen=True)
class Tie:
    """Where two variants cost the same as one input moves: ``at`` (None when they never tie inside the range),
    and which variant is cheaper below and above it."""

    at: Optional[float]
    cheaper_below: str
    cheaper_above: str


def tie(difference: Callable[[float], float], a: str, b: str, lo: float, hi: float) -> Tie:
    """``difference(x)`` is cost(b) - cost(a) at input value x, affine in x. Returns where it crosses 0 within
    [lo, hi] and which of a, b is cheaper on each side (at the range's ends when there is no crossing)."""
    d_lo, d_hi = difference(lo), difference(hi)

    def cheaper(d: float) -> str:
        return a if d > 0 else b

    if d_lo == d_hi or (d_lo > 0) == (d_hi > 0) and d_lo != 0 and d_hi != 0:
        side = a if d_lo + d_hi > 0 else b
        return Tie(at=None, cheaper_below=side, cheaper_above=side)
    x = lo + (hi - lo) * d_lo / (d_lo - d_hi)
    check = difference(x)
    scale = max(abs(d_lo), abs(d_hi), 1.0)
    if not math.isfinite(x) or abs(check) > 1e-6 * scale:  # not affine after all: bisect
        left, right = lo, hi
        for _ in range(200):
            mid = (left + right) / 2
            if (difference(mid) > 0) == (d_lo > 0):
                left = mid
            else:
                right = mid
        x = (left + right) / 2
    return Tie(at=x, cheaper_below=cheaper(d_lo), cheaper_above=cheaper(d_hi))
