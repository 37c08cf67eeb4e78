"""Parents per second: the vectorised blast model beside the emulator-driven flows (same machine, same run).

Prints `name: value` lines. Usage: .venv/bin/python benchmarks/model_validation_bench.py [--parents N]
"""

import argparse
import time

import numpy as np

from blastpay import config
from blastpay.experiments import model_validation
from blastpay.models import blast as blast_model
from blastpay.models.latency import fit_all, load_scenarios
from blastpay.sources.registry import load_registry


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--parents", type=int, default=200, help="parents through the emulator-driven path")
    args = parser.parse_args()
    registry = load_registry(config.SOURCES_DIR)
    model = fit_all(registry, load_scenarios(config.EXPERIMENTS_DIR / "latency_scenarios.yaml"))["central"]
    sample = blast_model.draw_schedule(model, args.parents, np.random.default_rng(0), scanner_share=0.1)
    for variant in ("payment_link_per_order", "lazy_mint_hmac", "ttl_24h_recovery"):
        t0 = time.perf_counter()
        model_validation.replay(variant, sample, registry, seed=1)
        driven = args.parents / (time.perf_counter() - t0)
        n = 1_000_000
        t0 = time.perf_counter()
        blast_model.simulate(variant, model, n, np.random.default_rng(0), scanner_share=0.1, registry=registry)
        vectorised = n / (time.perf_counter() - t0)
        print(f"{variant}.emulator_driven_parents_per_second: {driven:.1f}")
        print(f"{variant}.vectorised_parents_per_second: {vectorised:.0f}")
        print(f"{variant}.vectorised_over_emulator_ratio: {vectorised / driven:.0f}")


if __name__ == "__main__":
    main()
