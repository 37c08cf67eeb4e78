"""The blast summary the ADR reads (latency/summary.json) and the blast parameters it is computed from."""

from __future__ import annotations

from pathlib import Path

import pytest

from blastpay.config import ConfigError
from blastpay.experiments import latency
from blastpay.experiments.parameters import load_blast_params
from blastpay.models import blast as blast_model
from blastpay.models.latency import round_significant

PARAMS = Path(__file__).resolve().parents[2] / "experiments" / "blast.yaml"


@pytest.fixture(scope="module")
def summary(models, registry):
    params = load_blast_params(PARAMS)
    base = latency.sweep(models, registry, 2000, 7, scanner_share=params["scanner_share"])
    specs = blast_model.variant_specs(registry)
    reach = latency.reach_at_cliffs(models, {"checkout_session_24h": specs["ttl_24h"].link_lifetime_h})
    return latency.blast_summary(base, reach, models, 2000, params)


def test_a_24_hour_session_strands_late_clickers_and_a_link_that_never_dies_strands_none(summary):
    central = summary["by_scenario"]["central"]
    assert central["ttl_24h"]["stranded_share_of_clickers"] > 0.05
    assert central["lazy_mint_db"]["stranded_share_of_clickers"] == 0
    assert central["payment_link_per_order"]["stranded_share_of_clickers"] == 0
    assert 0.5 < summary["reach_at_cliffs"]["central/checkout_session_24h"] < 1


def test_production_signals_per_100_orders_follow_from_the_shares(summary):
    for by_variant in summary["by_scenario"].values():
        for m in by_variant.values():
            assert m["stranded_orders_per_100_orders"] == pytest.approx(100 * m["stranded_share"])
            if m.get("unpaid_sessions_per_100_orders") is not None:  # every paid order took one of the sessions
                assert m["unpaid_sessions_per_100_orders"] == pytest.approx(
                    100 * (m["sessions_minted_per_order"] - m["paid_share"]))
                assert m["sessions_minted_per_order"] >= m["paid_share"]


def test_the_30_day_ttl_is_reported_infeasible_with_its_reason(summary):
    assert summary["feasible"]["lazy_mint_db"] is True
    infeasible = summary["infeasible_reason"]
    assert all(not summary["feasible"][v] for v in infeasible)
    assert all(reason for reason in infeasible.values())


def test_fitted_parameters_are_stated_to_four_significant_digits(models):
    for model in models.values():
        for value in (*model.weights, *model.medians_h, *model.sigmas):
            assert value == round_significant(value, 4)
        for target in model.targets:
            assert abs(target.residual) <= model.tolerance


@pytest.mark.parametrize("edit, message", [
    ("parents: 20000", "missing parents"),
    ("scanner_share: 0.10", "scanner_share: 1.5"),
    ("reminder_hours: 72", "reminder_hours: 72\nremindr_hours: 48"),
])
def test_blast_parameters_are_checked_with_file_and_line(tmp_path, edit, message):
    text = PARAMS.read_text()
    replacement = {"missing parents": "", "scanner_share: 1.5": "scanner_share: 1.5"}.get(message, message)
    path = tmp_path / "blast.yaml"
    path.write_text(text.replace(edit, replacement))
    with pytest.raises(ConfigError, match=rf"^{path}(:\d+)?: "):
        load_blast_params(path)
