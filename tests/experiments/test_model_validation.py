"""The vectorised blast model and the emulator-driven flows agree on a shared sample of parents."""

import numpy as np
import pytest

from blastpay import config
from blastpay.experiments import model_validation
from blastpay.models import blast as blast_model
from blastpay.models.latency import fit_all, load_scenarios
from blastpay.sources.registry import load_registry


@pytest.fixture(scope="module")
def setting():
    registry = load_registry(config.SOURCES_DIR)
    models = fit_all(registry, load_scenarios(config.EXPERIMENTS_DIR / "latency_scenarios.yaml"))
    return registry, models


@pytest.mark.parametrize("variant", blast_model.VARIANTS)
@pytest.mark.parametrize("scenario", ["pessimistic"])
def test_vectorised_and_emulator_driven_agree_within_sampling_error(setting, variant, scenario):
    registry, models = setting
    sample = blast_model.draw_schedule(models[scenario], 40, np.random.default_rng(5), scanner_share=0.2)
    vectorised = blast_model.simulate_parents(variant, models[scenario], 0, None, schedule=sample, registry=registry)
    driven = model_validation.replay(variant, sample, registry, seed=3)
    result = model_validation.compare(vectorised, driven)
    assert result["paid_within_2se"] and result["sessions_minted_within_2se"]
    assert result["first_click_payable_within_2se"]
    # The replay is of the very same parents, so beyond the aggregate, parents agree one by one.
    assert result["paid_agreement"] == 1.0


def test_compare_flags_a_disagreement_beyond_sampling_error():
    import pandas as pd

    model = pd.DataFrame({"parent": range(50), "paid": [True] * 50, "first_click_payable": [True] * 50,
                          "sessions_minted": [1] * 50})
    driven = model.assign(paid=[False] * 40 + [True] * 10)
    result = model_validation.compare(model, driven)
    assert result["paid_agreement"] == 0.2
    assert not result["paid_within_2se"]
