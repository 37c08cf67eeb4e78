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


SWEEP = "sweep: {samples: 10, concentration: 4, corner_share: 0.7}\n"


@pytest.mark.parametrize(
    "text, message",
    [
        (SWEEP + "dimensions: {a: {weight: -1, why: w, metrics: [{name: m, better: higher, scale: 1}]}}",
         "w.yaml:2: dimensions.a.weight: must be from 0 to 1000"),
        (SWEEP + "dimensions: {a: {weight: 1, why: w, metrics: [{name: m, better: up, scale: 1}]}}",
         "w.yaml:2: dimensions.a.metrics[0].better: must be one of 'higher' or 'lower', got 'up'"),
        (SWEEP + "dimensions: {a: {weight: 1, why: w, metrics: [{name: m, better: lower, scale: 0}]}}",
         "w.yaml:2: dimensions.a.metrics[0].scale: must be above 0"),
        (SWEEP + "dimensions: {a: {weight: 0, why: w, metrics: [{name: m, better: lower, scale: 1}]}}",
         "w.yaml:2: dimensions: all weights are zero"),
        ("dimensions: [", "w.yaml:1: malformed YAML"),
    ],
)
def test_malformed_weights_are_refused_with_the_problem(tmp_path: Path, text, message):
    path = tmp_path / "w.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError) as refused:
        load_weights(path)
    assert str(refused.value).startswith(f"{path.parent}/{message}")


# -- the weight-space sweep can fail --------------------------------------------------------------------------

def _close_call():
    """Two options a hair apart: a wins on 'a_dim' (weight 3), b on 'b_dim' (weight 1)."""
    from blastpay.models.decision import Dimension, MetricSpec

    dims = [Dimension("a_dim", 3.0, "", (MetricSpec("ma", "higher", 1.0),)),
            Dimension("b_dim", 1.0, "", (MetricSpec("mb", "higher", 1.0),))]
    metrics = {"lazy_mint_db": {"ma": 1.0, "mb": 0.0}, "payment_link_per_order": {"ma": 0.6, "mb": 1.0}}
    return dims, metrics


def test_smallest_flip_names_the_weight_change_that_hands_the_win_to_the_other_option():
    from blastpay.models.decision import decide, smallest_weight_flip

    dims, metrics = _close_call()
    d = decide(metrics, dims)
    assert d.recommended_option == "lazy_mint"  # 3*1 + 0 = 3 > 3*0.6 + 1 = 2.8
    flips = {f["dimension"]: f for f in smallest_weight_flip(d, dims)}
    # b_dim at weight w wins once 0.6*3 + w > 3, i.e. w > 1.2: a factor just above 1.2
    assert flips["b_dim"]["new_winner_option"] == "payment_links"
    assert 1.2 < flips["b_dim"]["factor"] < 1.21
    # a_dim: cutting it below 2.5 (factor < 0.834) flips it too
    assert 0.82 < flips["a_dim"]["factor"] < 0.84


def test_a_dominant_winner_has_no_flip_and_wins_the_whole_space():
    import numpy as np

    from blastpay.models.decision import decide, dimension_matrix, smallest_weight_flip, weight_samples, weight_space

    dims, metrics = _close_call()
    metrics["payment_link_per_order"] = {"ma": 0.5, "mb": 0.0}  # worse on everything
    d = decide(metrics, dims)
    assert all(f["factor"] is None for f in smallest_weight_flip(d, dims))
    weights, labels = weight_samples(dims, np.random.default_rng(0), 500, 4.0, 0.7)
    space = weight_space({"only": dimension_matrix(d, dims)}, weights, labels)
    # Everywhere but one corner lazy-mint wins outright. With b_dim alone both score 0 on mb: a tie, split
    # evenly and named as a tie, not handed to whichever option's name sorts first.
    assert space["corner_winners"]["only"]["b_dim alone"] == "lazy_mint = payment_links"
    assert space["rows_tied_between_options"] == 1
    assert space["option_win_share"]["payment_links"] == pytest.approx(0.5 / len(weights))
    assert space["option_win_share"]["lazy_mint"] == pytest.approx(1 - 0.5 / len(weights))


def test_the_sweep_splits_the_space_when_the_call_is_close():
    import numpy as np

    from blastpay.models.decision import decide, dimension_matrix, weight_samples, weight_space

    dims, metrics = _close_call()
    d = decide(metrics, dims)
    weights, labels = weight_samples(dims, np.random.default_rng(1), 4000, 4.0, 0.7)
    assert weights.shape == (4000 + 2 * len(dims), 2) and np.allclose(weights.sum(axis=1), 1)
    space = weight_space({"only": dimension_matrix(d, dims)}, weights, labels)
    shares = space["option_win_share"]
    assert 0.05 < shares["payment_links"] < 0.95 and sum(shares.values()) == pytest.approx(1.0)
    # a_dim at 70%: lazy 0.7 against 0.7*0.6 + 0.3 = 0.72 for the link
    assert space["corner_winners"]["only"] == {"a_dim alone": "lazy_mint", "a_dim at 70%": "payment_links",
                                              "b_dim alone": "payment_links", "b_dim at 70%": "payment_links"}



def test_leave_one_fault_out_recomputes_the_decision_without_each_fault(tmp_path):
    """The decision is recomputed from by_fault_removed: an unchanged fault-removed summary gives the base margin, one
    that makes the recommended variant worse on every fault measure narrows its lead, and the minimum names it."""
    import copy
    import json
    import shutil

    from blastpay import config
    from blastpay.experiments import decision_inputs
    from blastpay.models.decision import decide, load_weights

    root = tmp_path / "ev"
    shutil.copytree(config.EVIDENCE_DIR, root)
    path = root / "failure-modes" / "summary.json"
    summary = json.loads(path.read_text())
    dims = load_weights(config.EXPERIMENTS_DIR / "weights.yaml")
    metrics, infeasible = decision_inputs.collect(root)
    base = decide(metrics["central"], dims, infeasible)
    rec = base.recommended_variant
    worse = copy.deepcopy(summary["by_variant"])
    worse[rec].update(fault_cells_money_safe_share=0.0, fault_error_page_share=1.0,
                      fault_excess_parent_hours_without_way_to_pay=96.0,
                      eventually_pay_share_by_return_share={k: 0.0 for k in worse[rec]["eventually_pay_share_by_return_share"]})
    summary["by_fault_removed"] = {"same": summary["by_variant"], "hurts_recommended": worse}
    path.write_text(json.dumps(summary))
    out = decision_inputs.leave_one_fault_out(root, dims, base)
    assert abs(out["table"]["same"]["recommended_lead"] - base.margin) < 1e-9
    assert not out["table"]["same"]["flips"]
    assert out["table"]["hurts_recommended"]["recommended_lead"] < base.margin
    assert out["min_fault"] == "hurts_recommended"
    assert out["flips"] == [f for f, r in out["table"].items() if r["recommended_lead"] < 0]
    verdicts = decision_inputs.dimension_verdicts(base, dims)
    assert abs(sum(v["contribution_to_margin"] for v in verdicts.values()) - base.margin) < 1e-9
    assert {v["verdict"] for v in verdicts.values()} <= {"wins", "ties", "loses"}


def test_scale_flips_names_the_metric_whose_halved_or_doubled_scale_hands_the_win_over():
    from blastpay.models.decision import scale_flips

    dims = [Dimension("d", 1, "", (MetricSpec("x", "higher", 0.1), MetricSpec("y", "higher", 0.1),
                                   MetricSpec("z", "lower", 1.0)))]
    metrics = {"payment_link_per_order": {"x": 0.10, "y": 0.0, "z": 0.0},
               "lazy_mint_db": {"x": 0.0, "y": 0.08, "z": 0.01}}
    # as stated: links (1 + 0.2 + 1) / 3 = 0.733 against lazy-mint (0 + 1 + 0.99) / 3 = 0.663
    assert decide(metrics, dims).recommended_option == "payment_links"
    # x's scale doubled softens lazy-mint's loss on x to 0.5: 0.83 against 0.733; every other change keeps links
    flips = scale_flips(metrics, dims)
    assert [(f["metric"], f["factor"], f["new_winner_option"]) for f in flips] == [("x", 2.0, "lazy_mint")]
