"""How long the evidence run takes: the full default run, the incremental run after one price is edited, the
failure-mode matrix alone, and how long Ctrl-C takes to stop a run. Prints `name: value` lines.

Everything runs on a scratch copy of the repository's inputs, notebooks and code (never the committed tree).
CPU seconds are user+sys of every process the step started (notebook kernels and the matrix's workers included),
so they are comparable on a machine others are using; wall seconds are not.

    .venv/bin/python benchmarks/evidence_bench.py            # everything (a few minutes on 2 cores)
    .venv/bin/python benchmarks/evidence_bench.py --skip-full  # the matrix and the stop only
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

MATRIX = """
from blastpay import config
from blastpay.experiments import failure_modes as fm
from blastpay.flows.mitigations import load_policy
plan = fm.load_plan(config.EXPERIMENTS_DIR / "faults.yaml")
policy = load_policy(config.EXPERIMENTS_DIR / "mitigations.yaml")
cells = fm.run_matrix(plan=plan, policy=policy, seed=config.load_run_params().seed)
print(len(cells))
"""


def scratch_copy(base: Path) -> Path:
    root = base / "repo"
    for rel in ("experiments", "notebooks", "src"):
        shutil.copytree(ROOT / rel, root / rel, ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
    shutil.copytree(ROOT / "evidence", root / "evidence")
    (root / "docs").mkdir()
    return root


def timed(args: list[str], root: Path) -> tuple[float, float, str]:
    """Wall and CPU seconds (this child and every process it waited for) of one command, and its output."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    result = subprocess.run(args, capture_output=True, text=True, env=dict(os.environ, BLASTPAY_ROOT=str(root)))
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if result.returncode != 0:
        sys.exit(f"{' '.join(args)} failed:\n{result.stderr[-3000:]}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu, result.stdout


def edit_one_price(root: Path) -> None:
    club = root / "experiments" / "club.yaml"
    text = club.read_text()
    if "engineer_day_usd: 600.00" not in text:
        sys.exit(f"{club}: no `engineer_day_usd: 600.00` line to edit")
    club.write_text(text.replace("engineer_day_usd: 600.00", "engineer_day_usd: 650.00", 1))


def seconds_to_stop(root: Path) -> float:
    """Start `blastpay evidence`, wait until the matrix's workers run, send SIGINT: seconds until it has exited."""
    marker = f"BLASTPAY_ROOT={root}".encode()

    def workers() -> int:
        n = 0
        for entry in Path("/proc").iterdir():
            try:
                if entry.name.isdigit() and marker in (entry / "environ").read_bytes().split(b"\0") \
                        and b"multiprocessing" in (entry / "cmdline").read_bytes():
                    n += 1
            except OSError:
                continue
        return n

    run = subprocess.Popen([sys.executable, "-m", "blastpay.cli", "evidence", "--force"], stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL, env=dict(os.environ, BLASTPAY_ROOT=str(root)))
    while workers() < 2 and run.poll() is None:
        time.sleep(0.1)
    start = time.perf_counter()
    run.send_signal(signal.SIGINT)
    run.wait()
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--skip-full", action="store_true", help="skip the full and incremental evidence runs")
    args = parser.parse_args()
    cli = [sys.executable, "-m", "blastpay.cli"]
    with tempfile.TemporaryDirectory(prefix="evidence-bench-") as tmp:
        root = scratch_copy(Path(tmp))
        print(f"cpus: {os.cpu_count()}")
        wall, cpu, _ = timed([sys.executable, "-c", MATRIX], root)
        print(f"failure_mode_matrix_wall_s: {wall:.1f}")
        print(f"failure_mode_matrix_cpu_s: {cpu:.1f}")
        if not args.skip_full:
            full_wall, full_cpu, _ = timed(cli + ["evidence", "--force"], root)
            print(f"evidence_full_wall_s: {full_wall:.1f}")
            print(f"evidence_full_cpu_s: {full_cpu:.1f}")
            print(f"failure_mode_matrix_share_of_full_cpu: {cpu / full_cpu:.2f}")
            noop_wall, noop_cpu, _ = timed(cli + ["evidence"], root)
            print(f"evidence_unchanged_wall_s: {noop_wall:.1f}")
            print(f"evidence_unchanged_cpu_s: {noop_cpu:.1f}")
            edit_one_price(root)
            inc_wall, inc_cpu, out = timed(cli + ["evidence"], root)
            ran = sum(" runs: " in line for line in out.splitlines())
            print(f"evidence_after_price_edit_notebooks_run: {ran}")
            print(f"evidence_after_price_edit_wall_s: {inc_wall:.1f}")
            print(f"evidence_after_price_edit_cpu_s: {inc_cpu:.1f}")
            print(f"evidence_after_price_edit_over_full_wall: {inc_wall / full_wall:.3f}")
        print(f"evidence_sigint_to_exit_s: {seconds_to_stop(root):.1f}")
        leftovers = [p.name for p in root.iterdir() if p.name.startswith(".evidence-stage-")]
        print(f"evidence_sigint_stage_dirs_left: {len(leftovers)}")


if __name__ == "__main__":
    main()
