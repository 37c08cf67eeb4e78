"""Speed of the vectorised blast model: prints `name: value` lines.

    .venv/bin/python benchmarks/blast_model_bench.py [--parents 1000000] [--baseline-parents 2000]

Baseline, measured in the same run: the same model evaluated one parent at a time (a schedule of n = 1 per
parent), which is what a non-vectorised per-parent simulation costs before any emulator or HTTP overhead.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from blastpay.config import EXPERIMENTS_DIR, SOURCES_DIR
from blastpay.models.blast import VARIANTS, draw_schedule, evaluate, simulate, variant_specs
from blastpay.models.latency import fit_all, load_scenarios
from blastpay.sources.registry import load_registry


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--parents", type=int, default=1_000_000)
    parser.add_argument("--baseline-parents", type=int, default=2_000)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)

    registry = load_registry(SOURCES_DIR)
    t0 = time.perf_counter()
    models = fit_all(registry, load_scenarios(EXPERIMENTS_DIR / "latency_scenarios.yaml"))
    print(f"fit_seconds_3_scenarios: {time.perf_counter() - t0:.3f}")
    specs = variant_specs(registry)
    rng = np.random.default_rng(args.seed)

    t0 = time.perf_counter()
    for model in models.values():
        for name in VARIANTS:
            simulate(specs[name], model, args.parents, rng)
    sweep = time.perf_counter() - t0
    runs = len(models) * len(VARIANTS)
    print(f"sweep_parents_per_run: {args.parents}")
    print(f"sweep_runs: {runs}")
    print(f"sweep_seconds_defaults: {sweep:.2f}")
    print(f"parents_per_second_vectorised: {args.parents * runs / sweep:.0f}")

    t0 = time.perf_counter()
    for model in models.values():
        for name in VARIANTS:
            simulate(specs[name], model, args.parents, rng, reminder_hours=48.0, scanner_share=0.2,
                     pay_on_first_visit=0.7)
    full = time.perf_counter() - t0
    print(f"sweep_seconds_reminder_scanner_returns: {full:.2f}")
    print(f"parents_per_second_vectorised_reminder_scanner_returns: {args.parents * runs / full:.0f}")

    model, spec = models["central"], specs["lazy_mint_db"]
    scheds = [draw_schedule(model, 1, rng) for _ in range(args.baseline_parents)]
    t0 = time.perf_counter()
    for sched in scheds:
        evaluate(spec, sched)
    one_by_one = args.baseline_parents / (time.perf_counter() - t0)
    sched = draw_schedule(model, args.parents, rng)
    t0 = time.perf_counter()
    evaluate(spec, sched)
    vectorised = args.parents / (time.perf_counter() - t0)
    print(f"parents_per_second_one_at_a_time_baseline: {one_by_one:.0f}")
    print(f"parents_per_second_vectorised_evaluate: {vectorised:.0f}")
    print(f"speedup_vectorised_over_one_at_a_time: {vectorised / one_by_one:.1f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
