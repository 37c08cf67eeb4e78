"""First-click latency of an emailed payment link: a split hazard with a three-log-normal mixture.

T is the time in hours from send to a recipient's first human click. A share 1 - p never clicks. For the
others T ~ sum_k w_k LogNormal(ln m_k, s_k) with three components (attentive, daily check, deferred). The
weights, medians and spreads are fitted here, by bounded least squares, to cumulative click/open shares that
are computed from sources-registry figures, with weak log-normal priors on each median and spread. The
scenario definitions (which figures, p, priors, bounds) live in experiments/latency_scenarios.yaml.

The fit is deterministic: a fixed starting point from the scenario file and a deterministic solver. It is not
bit-reproducible across machines: the solver's linear algebra runs on whichever BLAS kernel the CPU selects, and
kernels differ in the last bits (about the 9th significant digit of a fitted median). So the fitted parameters
are rounded to PARAMETER_SIGNIFICANT_DIGITS at the source, and everything downstream (the fitted shares, the
blasts, the ADR) is computed from the rounded values. Four digits is far finer than the fit supports (its targets
are cited shares with a residual scale of a percentage point) and far coarser than the kernels' disagreement.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping

import numpy as np

from blastpay.sources.inputs import InputError, load_input
from blastpay.sources.registry import SourcesError

COMPONENTS = ("attentive", "daily_check", "deferred")
PARAMETER_SIGNIFICANT_DIGITS = 4
SCENARIOS = ("optimistic", "central", "pessimistic")


class ScenarioError(InputError):
    """A latency scenario file or one of its target expressions is malformed."""


# --------------------------------------------------------------------------------------------------------------
# Reading figures from the registry


def share_of(registry: Any, source_id: str) -> float:
    """A registry figure as a fraction: unit share as is, percent divided by 100."""
    try:
        return registry.figure_in(source_id, "share")
    except SourcesError as exc:
        raise ScenarioError(str(exc)) from None


def _cumulative_share(registry: Any, source_id: str) -> float:
    """Share acted BY the entry's at_hours (one minus the figure for a `beyond: true` entry)."""
    value = share_of(registry, source_id)
    context = registry.get(source_id).get("figure_context") or {}
    return 1.0 - value if context.get("beyond") else value


def _ids_in(expr: Any) -> list[str]:
    if isinstance(expr, str):
        return [expr]
    if isinstance(expr, Mapping) and len(expr) == 1:
        (op, arg), = expr.items()
        if op in ("mean", "ratio"):
            return [i for e in arg for i in _ids_in(e)]
        if op == "rest_share":
            return _ids_in(arg["base"]) + [i for e in arg["of_rest"] for i in _ids_in(e)]
    raise ScenarioError(f"target expression {expr!r} is not an id, mean, ratio or rest_share")


def evaluate_expression(registry: Any, expr: Any) -> float:
    """Compute a target expression (see experiments/latency_scenarios.yaml) from registry figures."""
    if isinstance(expr, str):
        return _cumulative_share(registry, expr)
    if isinstance(expr, Mapping) and len(expr) == 1:
        (op, arg), = expr.items()
        if op == "mean" and isinstance(arg, list) and arg:
            return float(np.mean([evaluate_expression(registry, e) for e in arg]))
        if op == "ratio" and isinstance(arg, list) and len(arg) == 2:
            # A ratio compares raw shares (response rates), not cumulative shares.
            num, den = (share_of(registry, e) if isinstance(e, str) else evaluate_expression(registry, e) for e in arg)
            if den == 0:
                raise ScenarioError(f"ratio {expr!r} divides by zero")
            return num / den
        if op == "rest_share" and isinstance(arg, Mapping) and {"base", "of_rest"} <= set(arg):
            base = evaluate_expression(registry, arg["base"])
            rest = sum(share_of(registry, e) if isinstance(e, str) else evaluate_expression(registry, e)
                       for e in arg["of_rest"])
            return base + (1.0 - base) * rest
    raise ScenarioError(f"target expression {expr!r} is not an id, mean, ratio or rest_share")


def _at_hours(registry: Any, target: Mapping[str, Any]) -> float:
    if "at_hours" in target:
        return float(target["at_hours"])
    hours = {float((registry.get(i).get("figure_context") or {}).get("at_hours", np.nan)) for i in _ids_in(target["value"])}
    if len(hours) != 1 or np.isnan(next(iter(hours))):
        raise ScenarioError(f"target {target['value']!r}: give at_hours (its sources name {sorted(hours)})")
    return hours.pop()


# --------------------------------------------------------------------------------------------------------------
# The model


@dataclass(frozen=True)
class TargetFit:
    """One calibration target and what the fitted mixture gives at the same time."""

    label: str
    at_hours: float
    target: float
    fitted: float
    source_ids: tuple[str, ...]

    @property
    def residual(self) -> float:
        return self.fitted - self.target


def round_significant(x: float, digits: int = PARAMETER_SIGNIFICANT_DIGITS) -> float:
    """x to `digits` significant digits (decimal rounding, the same on every machine)."""
    return float(f"{float(x):.{digits}g}")


def round_weights(weights: Any, decimals: int = PARAMETER_SIGNIFICANT_DIGITS) -> np.ndarray:
    """Mixture weights to `decimals` places that still add up to one: the last takes what the others leave."""
    head = [round(float(w), decimals) for w in weights[:-1]]
    return np.array(head + [round(1.0 - sum(head), decimals)])


def mixture_cdf(hours: Any, weights: Any, medians_h: Any, sigmas: Any) -> np.ndarray:
    """CDF of the log-normal mixture at `hours` (0 at or before 0, 1 at +inf)."""
    from scipy.special import ndtr  # imported on use: reading and checking inputs needs no scipy

    t = np.asarray(hours, dtype=float)
    out = np.zeros(t.shape)
    positive = t > 0
    log_t = np.log(np.where(positive, t, 1.0))
    for w, m, s in zip(weights, medians_h, sigmas):
        out = out + w * ndtr((log_t - np.log(m)) / s)
    out = np.clip(out / float(np.sum(weights)), 0.0, 1.0)
    return np.where(positive, np.where(np.isposinf(t), 1.0, out), 0.0)


@dataclass(frozen=True)
class LatencyModel:
    """A fitted scenario: F (CDF of first-click time among clickers) and p (share who ever click)."""

    scenario: str
    p: float
    weights: tuple[float, float, float]
    medians_h: tuple[float, float, float]
    sigmas: tuple[float, float, float]
    targets: tuple[TargetFit, ...]
    tolerance: float
    second_email_response_factor: float
    second_email_source_ids: tuple[str, ...] = ()

    def cdf(self, hours: Any) -> np.ndarray:
        """F(t): share of eventual clickers who have clicked by `hours`."""
        return mixture_cdf(hours, self.weights, self.medians_h, self.sigmas)

    def reach(self, hours: Any) -> np.ndarray:
        """p F(t): share of all recipients who have clicked by `hours`."""
        return self.p * self.cdf(hours)

    @property
    def residuals(self) -> dict[str, float]:
        return {t.label: t.residual for t in self.targets}

    @property
    def max_abs_residual(self) -> float:
        return max(abs(t.residual) for t in self.targets)

    def sample_clicker_latency(self, rng: np.random.Generator, n: int) -> np.ndarray:
        """n draws of T from the mixture (every draw is a clicker)."""
        comp = rng.choice(3, size=n, p=np.asarray(self.weights) / np.sum(self.weights))
        z = rng.standard_normal(n)
        return np.exp(np.log(np.asarray(self.medians_h))[comp] + np.asarray(self.sigmas)[comp] * z)

    def sample_first_click(self, rng: np.random.Generator, n: int) -> np.ndarray:
        """n first-click times in hours; np.inf for recipients who never click (probability 1 - p)."""
        clicks = rng.random(n) < self.p
        t = self.sample_clicker_latency(rng, n)
        return np.where(clicks, t, np.inf)

    def to_dict(self) -> dict[str, Any]:
        return {
            "scenario": self.scenario,
            "p": self.p,
            "components": [
                {"name": c, "weight": w, "median_h": m, "sigma": s}
                for c, w, m, s in zip(COMPONENTS, self.weights, self.medians_h, self.sigmas)
            ],
            "second_email_response_factor": self.second_email_response_factor,
            "second_email_source_ids": list(self.second_email_source_ids),
            "tolerance": self.tolerance,
            "targets": [
                {"label": t.label, "at_hours": t.at_hours, "target": t.target, "fitted": t.fitted,
                 "residual": t.residual, "source_ids": list(t.source_ids)}
                for t in self.targets
            ],
        }


# --------------------------------------------------------------------------------------------------------------
# Scenario file and fit


def load_scenarios(path: Path) -> dict[str, Any]:
    """Read experiments/latency_scenarios.yaml, checked against `schema.latency.LatencyScenarios`; the mapping as
    read (that each target's ids exist and give a share is checked against the registry by evidence.inputs)."""
    from blastpay.sources.schema.latency import LatencyScenarios

    _scenarios, doc = load_input(path, LatencyScenarios, "latency scenarios file", ScenarioError)
    return dict(doc.data)


def _target_label(registry: Any, target: Mapping[str, Any], at_hours: float) -> str:
    value = target["value"]
    if isinstance(value, str):
        return value
    return f"{'+'.join(dict.fromkeys(_ids_in(value)))}@{at_hours:g}h"


def fit_scenario(name: str, registry: Any, scenarios_cfg: Mapping[str, Any]) -> LatencyModel:
    """Fit one scenario's mixture to its registry targets (deterministic bounded least squares)."""
    try:
        sc = scenarios_cfg["scenarios"][name]
    except KeyError:
        raise ScenarioError(f"unknown latency scenario {name!r} (have {', '.join(scenarios_cfg['scenarios'])})") from None
    comps = [scenarios_cfg["components"][c] for c in COMPONENTS]
    target_sd = float(scenarios_cfg["target_sd"])
    prior_sd = float(scenarios_cfg["prior_log_sd"])

    hours, values, scale, labels, ids = [], [], [], [], []
    for target in sc["targets"]:
        if not isinstance(target, Mapping) or "value" not in target:
            raise ScenarioError(f"scenario {name!r}: each target needs a value, got {target!r}")
        h = _at_hours(registry, target)
        v = evaluate_expression(registry, target["value"])
        if not 0 < v < 1 or h <= 0:
            raise ScenarioError(f"scenario {name!r}: target {target['value']!r} gives share {v} at {h} h")
        hours.append(h)
        values.append(v)
        scale.append(target_sd / np.sqrt(float(target.get("weight", 1.0))))
        labels.append(_target_label(registry, target, h))
        ids.append(tuple(dict.fromkeys(_ids_in(target["value"]))))
    hours_a, values_a, scale_a = np.array(hours), np.array(values), np.array(scale)

    prior_log_m = np.log([c["prior_median_h"] for c in comps])
    prior_log_s = np.log([c["prior_sigma"] for c in comps])
    start_w = np.array([c["start_weight"] for c in comps], dtype=float)
    lo = np.concatenate([[-12.0, -12.0], np.log([c["median_bounds_h"][0] for c in comps]),
                         np.log([c["sigma_bounds"][0] for c in comps])])
    hi = np.concatenate([[12.0, 12.0], np.log([c["median_bounds_h"][1] for c in comps]),
                         np.log([c["sigma_bounds"][1] for c in comps])])
    x0 = np.concatenate([np.log(start_w[1:] / start_w[0]), prior_log_m, prior_log_s])
    x0 = np.clip(x0, lo + 1e-9, hi - 1e-9)

    def unpack(x: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        logits = np.concatenate([[0.0], x[:2]])
        w = np.exp(logits - logits.max())
        return w / w.sum(), np.exp(x[2:5]), np.exp(x[5:8])

    def residuals(x: np.ndarray) -> np.ndarray:
        w, m, s = unpack(x)
        fit = mixture_cdf(hours_a, w, m, s)
        return np.concatenate([(fit - values_a) / scale_a,
                               (x[2:5] - prior_log_m) / prior_sd,
                               (x[5:8] - prior_log_s) / prior_sd])

    from scipy.optimize import least_squares

    result = least_squares(residuals, x0, bounds=(lo, hi), method="trf", x_scale="jac",
                           xtol=1e-12, ftol=1e-12, gtol=1e-12, max_nfev=20000)
    w, m, s = (np.array([round_significant(v) for v in arr]) for arr in unpack(result.x))
    w = round_weights(w)
    fitted = mixture_cdf(hours_a, w, m, s)
    targets = tuple(TargetFit(lab, h, v, float(f), i) for lab, h, v, f, i in zip(labels, hours, values, fitted, ids))

    response_expr = sc["second_email_response"]
    factor = evaluate_expression(registry, response_expr) if not isinstance(response_expr, str) \
        else share_of(registry, response_expr)
    if not 0 < factor <= 1:
        raise ScenarioError(f"scenario {name!r}: second_email_response gives {factor}, outside (0, 1]")
    return LatencyModel(
        scenario=name, p=float(sc["p"]),
        weights=tuple(float(v) for v in w), medians_h=tuple(float(v) for v in m), sigmas=tuple(float(v) for v in s),
        targets=targets, tolerance=float(scenarios_cfg["tolerance"]),
        second_email_response_factor=float(factor),
        second_email_source_ids=tuple(dict.fromkeys(_ids_in(response_expr))),
    )


def fit_all(registry: Any, cfg: Mapping[str, Any]) -> dict[str, LatencyModel]:
    """Fit every scenario of the scenario file, in file order."""
    return {name: fit_scenario(name, registry, cfg) for name in cfg["scenarios"]}
