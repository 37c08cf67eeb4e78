"""The pieces behind the reliability figures: the load file reader, the benchmark's arithmetic and plan."""

import importlib.util
import json
import sys

import pytest

from blastpay.experiments.reliability import LOAD_FILE, load_figures


def _benchmark(repo_root):
    spec = importlib.util.spec_from_file_location("pay_route_load", repo_root / "benchmarks" / "pay_route_load.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look their module up by name
    spec.loader.exec_module(module)
    return module


def test_load_figures_absent_then_read(tmp_path, repo_root):
    assert load_figures(tmp_path) is None
    (tmp_path / LOAD_FILE).parent.mkdir(parents=True)
    committed = json.loads((repo_root / LOAD_FILE).read_text())
    (tmp_path / LOAD_FILE).write_text(json.dumps({**committed, "measured_at": "2026-01-01"}))
    assert load_figures(tmp_path)["measured_at"] == "2026-01-01"


def test_committed_load_file_has_what_the_notebook_shows(repo_root):
    figures = load_figures(repo_root)
    assert figures is not None, "run: python benchmarks/pay_route_load.py --write"
    assert {"measured_at", "machine", "command", "stores"} <= set(figures)
    for run in figures["stores"].values():
        assert {"baseline_404", "rate_50_rps", "rate_200_rps"} <= set(run["figures"])
        assert run["figures"]["rate_200_rps"]["route_p99_ms"] is not None
        assert run["workers"] >= 1 and len(run["figures"]["rate_200_rps"]["route_p99_ms_each_run"]) == run["runs"]


def test_benchmark_percentiles_timing_header_and_click_plan(repo_root):
    bench = _benchmark(repo_root)
    assert bench._percentile(list(range(1, 101)), 50) == 50 and bench._percentile(list(range(1, 101)), 99) == 99
    assert bench._percentile([], 99) is None and bench._percentile([float("nan"), 3.0], 50) == 3.0
    assert bench._server_timing("route;dur=1.5, stripe;dur=0.25") == {"route": 1.5, "stripe": 0.25}
    tokens = [f"t{i}" for i in range(200)]
    plan = bench._plan(tokens, 100, offset=10)
    returning = [p for i, p in enumerate(plan) if p in plan[:i]]
    assert len(plan) == 100 and len(set(plan)) == 80 and len(returning) == 20  # a fifth are returning clicks
    assert all(p.removeprefix("/pay/") in tokens[10:90] for p in plan)


def test_benchmark_refuses_bad_arguments_with_one_line(repo_root, capsys):
    bench = _benchmark(repo_root)
    assert bench.main(["--rates", "fast"]) == 2
    assert bench.main(["--rates", "50", "--seconds", "0"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 2 and all(line.startswith("pay_route_load: ") for line in err)


def test_benchmark_pools_runs_and_keeps_each_runs_p99(repo_root):
    bench = _benchmark(repo_root)
    calm = bench.Samples(route=[1.0] * 98 + [2.0] * 2, stripe=[0.5] * 80, client=[3.0] * 100, statuses={303: 100},
                         errors=0, wall=1.0, app_cpu_seconds=0.3, emulator_cpu_seconds=0.03)
    stalled = bench.Samples(route=[1.0] * 90 + [500.0] * 10, stripe=[0.5] * 80, client=[3.0] * 100,
                            statuses={303: 98, 503: 2}, errors=1, wall=1.0, app_cpu_seconds=0.5)
    figures = bench.summarise([calm, stalled])
    assert figures["runs"] == 2 and figures["requests"] == 201
    assert figures["route_p99_ms_each_run"] == [2.0, 500.0]  # the stalled run shows as spread
    assert figures["route_p99_ms"] == 500.0 and figures["route_p50_ms"] == 1.0  # 5% of the pool stalled
    assert figures["server_errors"] == 2 and figures["errors"] == 1 and figures["minted"] == 160
    assert figures["app_cpu_ms_per_request"] == round(800 / 201, 3)


@pytest.mark.slow
def test_load_benchmark_runs_end_to_end_on_postgresql(repo_root, postgres_url, capsys):
    """The whole load path in miniature (emulator process, two app workers, a fresh database, the load
    generator): every click is answered, none with a server error, and the target verdict is printed.
    The timings themselves are measured by hand (--write), never asserted here."""
    bench = _benchmark(repo_root)
    assert bench.main(["--rates", "20", "--seconds", "1", "--repeat", "1", "--warm-up", "20",
                       "--database-url", postgres_url]) == 0
    printed = dict(line.split(": ", 1) for line in capsys.readouterr().out.splitlines() if ": " in line)
    assert printed["rate_20_rps.requests"] == "20" and printed["rate_20_rps.minted"] == "16"  # a fifth return
    assert printed["rate_20_rps.errors"] == "0" and printed["rate_20_rps.server_errors"] == "0"
    assert printed["baseline_404.minted"] == "0"
    assert printed["target_met_at_20_rps"] in ("yes", "no")


def test_load_summary_keeps_the_adr_keys_and_adds_the_latency_store(repo_root):
    from blastpay.experiments.reliability import ADR_LATENCY_FIGURES, ADR_LOAD_FIGURES, load_summary

    figures = load_figures(repo_root)
    summary = load_summary(figures)
    assert {"measured_at", "command", "machine", "stores"} <= set(summary)
    for store, run in summary["stores"].items():
        for group, values in run["figures"].items():
            assert set(ADR_LOAD_FIGURES) <= set(values), (store, group)
    latency = summary["stores"]["postgresql_stripe_300ms"]  # python benchmarks/pay_route_load.py ... --write
    assert latency["stripe_latency"]["median_ms"] == 300 and latency["stripe_latency"]["injected_by"] == ["emulator"]
    assert set(latency["designs"]) == {"new", "old"} and "old_rate_200_rps" in latency["figures"]
    assert set(ADR_LATENCY_FIGURES) <= set(latency["figures"]["rate_200_rps"])
    assert set(latency["latency_verdicts_per_rate"]["new"]) >= {"50", "200"}
    assert latency["burst"]["burst"]["clicks"] == 20 and latency["burst"]["burst"]["one_open_session"] is True
    assert {"start", "end"} <= set(latency["load_average_1m"]) and latency["command"].startswith("python benchmarks/")
    assert "highest_rate_latency_targets_hold" in latency


def test_benchmark_latency_verdicts_and_burst_pooling(repo_root):
    bench = _benchmark(repo_root)
    f = {"achieved_rps": 199.0, "errors": 0, "server_errors": 0, "stripe_per_call_p99_ms": 600.0,
         "minting_click_p99_ms": 625.0, "db_hold_per_click_p99_ms": 4.0, "pool_timeouts": 0}
    assert all(bench.latency_verdicts(f, 200).values())
    assert not bench.latency_verdicts(f | {"minting_click_p99_ms": 640.0}, 200)["minting_click_p99_within_stripe_p99_plus_30ms"]
    assert not bench.latency_verdicts(f | {"db_hold_per_click_p99_ms": 5.0}, 200)["db_hold_per_click_p99_under_5ms"]
    assert not bench.latency_verdicts(f | {"achieved_rps": 150.0}, 200)["sustained_without_errors"]
    one = {"clicks": 20, "statuses": {"303": 20}, "sessions_redirected_to": 1, "sessions_created_in_stripe": 1,
           "open_sessions_in_stripe": 1, "open_sessions_recorded": 1}
    assert bench._pool_bursts([one, one])["one_open_session"] is True
    assert bench._pool_bursts([one, one | {"open_sessions_in_stripe": 2}])["one_open_session"] is False


def test_benchmark_cpu_budget_counts_every_process_of_the_stack(repo_root):
    bench = _benchmark(repo_root)
    run = bench.Samples(route=[1.0] * 100, stripe=[300.0] * 80, client=[301.0] * 100, statuses={303: 100}, errors=0,
                        wall=0.5, app_cpu_seconds=0.6, emulator_cpu_seconds=0.1, load_generator_cpu_seconds=0.05,
                        postgres_cpu_seconds=0.05, machine_busy_seconds=0.8, machine_cpu_seconds=1.0)
    figures = {"rate_200_rps": bench.summarise([run])}
    f = figures["rate_200_rps"]
    assert f["stack_cpu_ms_per_request"] == 8.0 and f["machine_cpu_busy_share"] == 0.8
    budget = bench.cpu_budget_figures(figures, "rate_200_rps", cpus=2)
    assert budget["cores_needed_at_rate"] == 1.6  # 8 ms of CPU per click at 200 clicks/s
    assert budget["rate_at_which_cores_are_full"] == 250.0
    assert bench.cpu_budget_figures({"rate_200_rps": {"stack_cpu_ms_per_request": 0}}, "rate_200_rps", 2) == {}


def test_postgres_cpu_since_counts_each_backends_growth_and_new_backends_whole(repo_root, monkeypatch):
    bench = _benchmark(repo_root)
    monkeypatch.setattr(bench, "_postgres_cpu", lambda: {101: 5.0, 102: 3.0, 103: 1.25})
    # 101 grew by 1.0, 102's counter reads lower (its pid reused by a new backend): nothing, 103 is new: all of it
    assert bench._postgres_cpu_since({101: 4.0, 102: 3.5, 999: 7.0}) == 2.25
    assert bench._postgres_cpu_since({101: 5.0, 102: 3.0, 103: 1.25}) == 0.0


def test_click_hold_benchmark_splits_a_clicks_cpu_and_holds_on_sqlite(repo_root, capsys):
    spec = importlib.util.spec_from_file_location("click_hold", repo_root / "benchmarks" / "click_hold.py")
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    assert bench.main(["--clicks", "20"]) == 0
    printed = dict(line.split(": ", 1) for line in capsys.readouterr().out.splitlines())
    assert printed["clicks"] == "20"
    assert float(printed["claim_cpu_ms"]) + float(printed["record_cpu_ms"]) <= float(printed["minting_click_cpu_ms"])
    assert float(printed["minting_hold_per_transaction_p50_ms"]) > 0
    assert bench.main(["--clicks", "5"]) == 2
