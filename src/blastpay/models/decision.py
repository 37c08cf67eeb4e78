"""The decision model: evidence metrics and committed weights in, one recommendation out.

Pure functions over plain dicts so that the scoring is testable and every number it uses can be traced
to an evidence file. The weights file (experiments/weights.yaml) states and comments every choice.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional

from blastpay import display_names
from blastpay.config import ConfigError
from blastpay.sources.inputs import load_input

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


@dataclass(frozen=True)
class MetricSpec:
    name: str
    better: str  # "higher" | "lower"
    scale: float


@dataclass(frozen=True)
class Dimension:
    name: str
    weight: float
    why: str
    metrics: tuple[MetricSpec, ...]


@dataclass
class Decision:
    scores: dict[str, float]  # variant -> total score (feasible only)
    dimension_scores: dict[str, dict[str, float]]  # variant -> dimension -> score
    metric_scores: dict[str, dict[str, float]]  # variant -> metric -> score
    infeasible: dict[str, str]  # variant -> reason (evidence)
    recommended_variant: str
    recommended_option: str
    runner_up_variant: str
    margin: float  # recommended total minus runner-up total
    best_of_option: dict[str, str] = field(default_factory=dict)


def load_weights(path: Path) -> list[Dimension]:
    """The dimensions of experiments/weights.yaml, in file order (checked against `schema.weights.Weights`)."""
    from blastpay.sources.schema.weights import Weights

    weights, _doc = load_input(path, Weights, "weights file", ConfigError)
    return [Dimension(name, float(d.weight), d.why, tuple(MetricSpec(m.name, m.better, float(m.scale)) for m in d.metrics))
            for name, d in weights.dimensions.items()]


def metric_score(value: float, best: float, spec: MetricSpec) -> float:
    """1 at the best value, falling linearly to 0 at `scale` away from it."""
    gap = (best - value) if spec.better == "higher" else (value - best)
    return max(0.0, min(1.0, 1.0 - max(gap, 0.0) / spec.scale))


def decide(
    metrics: dict[str, dict[str, float]], dims: list[Dimension], infeasible: dict[str, str] | None = None
) -> Decision:
    """Score every feasible variant; the recommendation is the top total score."""
    infeasible = dict(infeasible or {})
    feasible = sorted(v for v in metrics if v not in infeasible)
    if len(feasible) < 1:
        raise ValueError("no feasible variant to recommend")
    metric_scores: dict[str, dict[str, float]] = {v: {} for v in feasible}
    dim_scores: dict[str, dict[str, float]] = {v: {} for v in feasible}
    for dim in dims:
        for spec in dim.metrics:
            missing = [v for v in feasible if spec.name not in metrics[v]]
            if missing:
                raise ValueError(f"metric {spec.name!r} missing for {', '.join(missing)}")
            values = {v: float(metrics[v][spec.name]) for v in feasible}
            best = max(values.values()) if spec.better == "higher" else min(values.values())
            for v in feasible:
                metric_scores[v][spec.name] = metric_score(values[v], best, spec)
        for v in feasible:
            dim_scores[v][dim.name] = sum(metric_scores[v][m.name] for m in dim.metrics) / len(dim.metrics)
    total_weight = sum(d.weight for d in dims)
    scores = {v: sum(d.weight * dim_scores[v][d.name] for d in dims) / total_weight for v in feasible}
    # Ties break on the variant name so the outcome never depends on dict order.
    ranked = sorted(feasible, key=lambda v: (-round(scores[v], 12), v))
    best_of_option: dict[str, str] = {}
    for v in ranked:
        best_of_option.setdefault(OPTION_OF.get(v, v), v)
    winner = ranked[0]
    runner_up = next((v for v in ranked[1:] if OPTION_OF.get(v) != OPTION_OF.get(winner)), ranked[-1])
    return Decision(
        scores=scores,
        dimension_scores=dim_scores,
        metric_scores=metric_scores,
        infeasible=infeasible,
        recommended_variant=winner,
        recommended_option=OPTION_OF.get(winner, winner),
        runner_up_variant=runner_up,
        margin=scores[winner] - scores[runner_up],
        best_of_option=best_of_option,
    )


def perturbed_weights(dims: list[Dimension]) -> list[tuple[str, list[Dimension]]]:
    """Each weight halved and doubled, one at a time."""
    out = []
    for i, dim in enumerate(dims):
        for label, factor in (("halved", 0.5), ("doubled", 2.0)):
            changed = list(dims)
            changed[i] = Dimension(dim.name, dim.weight * factor, dim.why, dim.metrics)
            out.append((f"{dim.name} {label}", changed))
    return out


def robustness(
    metrics_by_scenario: dict[str, dict[str, dict[str, float]]],
    dims: list[Dimension],
    infeasible: dict[str, str],
    base_scenario: str = "central",
) -> list[dict[str, Any]]:
    """How often the recommendation stays the same over latency scenarios and weight perturbations."""
    base = decide(metrics_by_scenario[base_scenario], dims, infeasible)
    rows: list[dict[str, Any]] = []
    for scenario, metrics in sorted(metrics_by_scenario.items()):
        d = decide(metrics, dims, infeasible)
        rows.append(_row("latency scenario", scenario, d, base))
    for label, changed in perturbed_weights(dims):
        d = decide(metrics_by_scenario[base_scenario], changed, infeasible)
        rows.append(_row("weights", label, d, base))
    return rows


def _row(kind: str, label: str, d: Decision, base: Decision) -> dict[str, Any]:
    return {
        "kind": kind,
        "case": label,
        "recommended_variant": d.recommended_variant,
        "recommended_option": d.recommended_option,
        "same_option_as_base": d.recommended_option == base.recommended_option,
        "margin": round(d.margin, 6),
    }


# -- robustness that can fail: a sweep of the weight space -------------------------------------------------


def dimension_matrix(decision: Decision, dims: list[Dimension]) -> tuple[list[str], "Any"]:
    """(variants, scores[variant, dimension]) of a decision, in the order of ``dims``."""
    import numpy as np

    variants = sorted(decision.scores)
    return variants, np.array([[decision.dimension_scores[v][d.name] for d in dims] for v in variants])


def weight_samples(dims: list[Dimension], rng: Any, samples: int, concentration: float,
                   corner_share: float) -> tuple["Any", list[str]]:
    """``samples`` Dirichlet draws around the stated weights (alpha = concentration x stated share), then the
    corners where one driver dominates: that dimension alone, and that dimension at ``corner_share`` with the
    rest keeping their stated proportions. Rows are normalised weights; labels name each row's kind."""
    import numpy as np

    w = np.array([d.weight for d in dims], dtype=float)
    share = w / w.sum()
    draws = rng.dirichlet(np.maximum(concentration * share, 1e-6), size=samples)
    corners, labels = [], ["dirichlet"] * samples
    for i, d in enumerate(dims):
        alone = np.zeros(len(dims))
        alone[i] = 1.0
        rest = share.copy()
        rest[i] = 0.0
        rest = rest / rest.sum() * (1 - corner_share) if rest.sum() > 0 else rest
        rest[i] = corner_share
        corners += [alone, rest]
        labels += [f"{d.name} alone", f"{d.name} at {corner_share:.0%}"]
    return np.vstack([draws, np.array(corners)]), labels


TIE_DIGITS = 9  # totals equal to this many decimals are a tie: evidence states values to 6 significant digits


def tied_winners(weights: "Any", variants: list[str], scores: "Any") -> list[tuple[str, ...]]:
    """The winning variants per weight row: every variant whose weighted total is the highest (ties kept, in
    name order), so no option wins a tie by the accident of its name."""
    import numpy as np

    totals = np.round(weights @ scores.T, TIE_DIGITS)  # rows sum to 1: the weighted mean
    best = totals.max(axis=1, keepdims=True)
    return [tuple(sorted(v for v, hit in zip(variants, row) if hit)) for row in totals == best]


def _options(tie: tuple[str, ...]) -> list[str]:
    return sorted({OPTION_OF.get(v, v) for v in tie})


def _flipped(tie: tuple[str, ...], base_option: str) -> Optional[str]:
    """The variant that beats `base_option` in this row, or None when the base option wins or ties."""
    if base_option in _options(tie):
        return None
    return tie[0]


def weight_space(cases: dict[str, tuple[list[str], "Any"]], weights: "Any", labels: list[str]) -> dict[str, Any]:
    """Share of (weight row x case) in which each option and variant wins; every case counts equally, and a
    row where k variants tie credits each with 1/k of it."""
    option_wins: dict[str, float] = {}
    variant_wins: dict[str, float] = {}
    by_case: dict[str, dict[str, float]] = {}
    corners: dict[str, dict[str, str]] = {}
    n = len(weights) * len(cases)
    ties = 0
    for case, (variants, scores) in cases.items():
        won = tied_winners(weights, variants, scores)
        mine: dict[str, float] = {}
        for tie in won:
            ties += len(_options(tie)) > 1
            for v in tie:
                o = OPTION_OF.get(v, v)
                option_wins[o] = option_wins.get(o, 0) + 1 / n / len(tie)
                variant_wins[v] = variant_wins.get(v, 0) + 1 / n / len(tie)
                mine[o] = mine.get(o, 0) + 1 / len(won) / len(tie)
        by_case[case] = dict(sorted(mine.items()))
        corners[case] = {label: " = ".join(_options(tie)) for label, tie in zip(labels, won) if label != "dirichlet"}
    return {"option_win_share": dict(sorted(option_wins.items())), "variant_win_share": dict(sorted(variant_wins.items())),
            "option_win_share_by_case": by_case, "corner_winners": corners, "rows": len(weights), "cases": len(cases),
            "rows_tied_between_options": ties}


def smallest_weight_flip(decision: Decision, dims: list[Dimension]) -> list[dict[str, Any]]:
    """For each dimension: the factor on its stated weight (others fixed) at which another option first wins,
    searched from x1 outwards on a fine log grid up to x100 and down to x0 (None: no factor flips it)."""
    import numpy as np

    variants, scores = dimension_matrix(decision, dims)
    w = np.array([d.weight for d in dims], dtype=float)
    base_option = decision.recommended_option
    ups = np.exp(np.linspace(0, np.log(100), 2001))[1:]
    downs = np.concatenate([np.exp(np.linspace(0, np.log(0.01), 2001))[1:], [0.0]])
    out = []
    for i, d in enumerate(dims):
        found = None
        for grid in (ups, downs):
            rows = np.repeat(w[None, :], len(grid), axis=0)
            rows[:, i] = w[i] * grid
            rows = rows / rows.sum(axis=1, keepdims=True)
            won = tied_winners(rows, variants, scores)
            for f, tie in zip(grid, won):
                v = _flipped(tie, base_option)
                if v is not None:
                    if found is None or abs(np.log(max(f, 1e-9))) < abs(np.log(max(found[0], 1e-9))):
                        found = (float(f), v)
                    break
        out.append({"dimension": d.name, "stated_weight": d.weight,
                    "factor": None if found is None else round(found[0], 3),
                    "flipped_weight": None if found is None else round(found[0] * d.weight, 3),
                    "new_winner_variant": None if found is None else found[1],
                    "new_winner_option": None if found is None else OPTION_OF.get(found[1], found[1])})
    return out


def nearest_flip(weights: "Any", labels: list[str], variants: list[str], scores: "Any", dims: list[Dimension],
                 base_option: str) -> Optional[dict[str, Any]]:
    """The sampled weight vector closest (L1 on normalised weights) to the stated one at which another option wins."""
    import numpy as np

    w = np.array([d.weight for d in dims], dtype=float)
    w = w / w.sum()
    won = [_flipped(tie, base_option) for tie in tied_winners(weights, variants, scores)]
    flips = [i for i, v in enumerate(won) if v is not None]
    if not flips:
        return None
    dist = np.abs(weights[flips] - w).sum(axis=1)
    j = flips[int(np.argmin(dist))]
    return {"l1_distance": round(float(dist.min()), 4), "winner_variant": won[j],
            "winner_option": OPTION_OF.get(won[j], won[j]), "label": labels[j],
            "weights": {d.name: round(float(x), 4) for d, x in zip(dims, weights[j])}}


@dataclass(frozen=True)
class SweepSpec:
    samples: int
    concentration: float
    corner_share: float


def load_sweep(path: Path) -> SweepSpec:
    from blastpay.sources.schema.weights import Weights

    sweep = load_input(path, Weights, "weights file", ConfigError)[0].sweep
    return SweepSpec(sweep.samples, float(sweep.concentration), float(sweep.corner_share))


def scale_flips(metrics: dict[str, dict[str, float]], dims: list[Dimension], infeasible: dict[str, str] | None = None,
                factors: tuple[float, ...] = (0.5, 2.0)) -> list[dict[str, Any]]:
    """Each metric's `scale` (the gap judged to matter fully) multiplied by each of `factors`, the rest as stated:
    the changes that hand the recommendation to another option, in weights-file order."""
    from dataclasses import replace

    base = decide(metrics, dims, infeasible).recommended_option
    out = []
    for i, dim in enumerate(dims):
        for j, spec in enumerate(dim.metrics):
            for factor in factors:
                changed = list(dims)
                changed[i] = replace(dim, metrics=dim.metrics[:j] + (replace(spec, scale=spec.scale * factor),)
                                     + dim.metrics[j + 1:])
                d = decide(metrics, changed, infeasible)
                if d.recommended_option != base:
                    out.append({"dimension": dim.name, "metric": spec.name, "stated_scale": spec.scale,
                                "factor": factor, "new_winner_option": d.recommended_option,
                                "new_winner_variant": d.recommended_variant})
    return out
