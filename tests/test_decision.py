from pathlib import Path

import pytest

from blastpay.config import ConfigError
from blastpay.models.decision import Dimension, MetricSpec, decide, load_weights, metric_score, robustness

UX = Dimension("parent_ux", 3, "", (MetricSpec("payable", "higher", 0.1),))
OPS = Dimension("ops", 1, "", (MetricSpec("moving_parts", "lower", 4),))


def test_metric_score_is_one_at_best_and_zero_a_scale_away():
    spec = MetricSpec("x", "higher", 0.1)
    assert metric_score(0.9, 0.9, spec) == 1.0
    assert metric_score(0.85, 0.9, spec) == pytest.approx(0.5)
    assert metric_score(0.5, 0.9, spec) == 0.0
    assert metric_score(3, 1, MetricSpec("y", "lower", 4)) == pytest.approx(0.5)


def test_the_top_weighted_score_wins_and_weights_can_flip_it():
    metrics = {
        "lazy_mint_hmac": {"payable": 1.0, "moving_parts": 5},
        "payment_link_per_order": {"payable": 0.9, "moving_parts": 1},
    }
    d = decide(metrics, [UX, OPS])
    assert d.recommended_option == "lazy_mint"
    assert d.runner_up_variant == "payment_link_per_order"
    heavy_ops = Dimension("ops", 10, "", OPS.metrics)
    assert decide(metrics, [UX, heavy_ops]).recommended_option == "payment_links"


def test_an_infeasible_variant_is_reported_not_scored_even_if_its_numbers_look_best():
    metrics = {
        "ttl_30d": {"payable": 1.0, "moving_parts": 0},
        "ttl_24h": {"payable": 0.8, "moving_parts": 0},
        "lazy_mint_db": {"payable": 0.99, "moving_parts": 5},
    }
    d = decide(metrics, [UX, OPS], infeasible={"ttl_30d": "Stripe refuses expires_at beyond 24 hours"})
    assert "ttl_30d" not in d.scores
    assert d.infeasible == {"ttl_30d": "Stripe refuses expires_at beyond 24 hours"}
    assert d.recommended_variant == "lazy_mint_db"


def test_a_missing_metric_is_an_error_naming_it():
    with pytest.raises(ValueError, match="metric 'payable' missing for a"):
        decide({"a": {"moving_parts": 1}, "b": {"payable": 1, "moving_parts": 1}}, [UX, OPS])


def test_robustness_counts_halved_and_doubled_weights_and_every_scenario():
    by_scenario = {
        s: {"lazy_mint_hmac": {"payable": 1.0, "moving_parts": 5}, "payment_link_per_order": {"payable": p, "moving_parts": 1}}
        for s, p in (("optimistic", 0.99), ("central", 0.9), ("pessimistic", 0.85))
    }
    rows = robustness(by_scenario, [UX, OPS], {})
    assert len(rows) == 3 + 4
    flipped = [r["case"] for r in rows if not r["same_option_as_base"]]
    assert flipped == ["optimistic"]  # a one-point gap in payable share no longer outweighs four more moving parts


def test_committed_weights_file_loads(repo_root):
    dims = load_weights(repo_root / "experiments" / "weights.yaml")
    assert {d.name for d in dims} >= {
        "parent_ux", "fulfillment_tracking", "failure_modes", "operational_complexity", "cost", "migration_path"
    }


@pytest.mark.parametrize(
    "text, message",
    [
        ("dimensions: {a: {weight: -1, metrics: [{name: m, better: higher, scale: 1}]}}", "weight must be a non-negative"),
        ("dimensions: {a: {weight: 1, metrics: [{name: m, better: up, scale: 1}]}}", "better must be higher or lower"),
        ("dimensions: {a: {weight: 1, metrics: [{name: m, better: lower, scale: 0}]}}", "scale must be a positive"),
        ("dimensions: [", "malformed YAML"),
    ],
)
def test_malformed_weights_are_refused_with_the_problem(tmp_path: Path, text, message):
    path = tmp_path / "w.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError, match=message):
        load_weights(path)
