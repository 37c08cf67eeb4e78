"""Ctrl-C (SIGINT) or SIGTERM stops `blastpay evidence` and `blastpay check`: the notebook kernels and the
failure-mode matrix's worker processes stop with it, no staging tree is left behind, and nothing is written."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest


def _processes_of(root: Path) -> dict[int, str]:
    """Every live process started for the run in `root` (it, its kernels and theirs carry BLASTPAY_ROOT): pid ->
    command line."""
    marker = f"BLASTPAY_ROOT={root}".encode()
    found = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            if marker in (entry / "environ").read_bytes().split(b"\0"):
                found[int(entry.name)] = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:  # gone meanwhile, or a zombie
            continue
    return found


def _poll(condition, limit: float) -> bool:
    """Whether `condition()` became true before `limit` seconds passed (a guard against a hang, not a timing)."""
    end = time.monotonic() + limit
    while time.monotonic() < end:
        if condition():
            return True
        time.sleep(0.2)
    return condition()


@pytest.mark.slow
@pytest.mark.skipif(not Path("/proc/self/environ").exists(), reason="reads processes from /proc (Linux)")
@pytest.mark.parametrize("command, sig", [("evidence", signal.SIGINT), ("check", signal.SIGTERM)])
def test_a_signal_stops_the_run_with_its_kernels_and_workers_and_writes_nothing(tmp_path, scratch_repo, command, sig):
    root = scratch_repo
    temp = tmp_path / "tmp"  # where `check` makes its temporary tree
    temp.mkdir()
    run = subprocess.Popen([sys.executable, "-m", "blastpay.cli", command], stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, text=True, start_new_session=True,
                           env=dict(os.environ, BLASTPAY_ROOT=str(root), TMPDIR=str(temp)))
    try:
        # the failure-mode notebook starts first; wait until its matrix's worker processes run beside the kernels
        workers_up = _poll(lambda: sum("multiprocessing" in c for c in _processes_of(root).values()) >= 2, 300)
        assert workers_up, f"the matrix's workers never started: {run.poll()=}, {_processes_of(root)}"
        assert any("ipykernel" in c for c in _processes_of(root).values())
        run.send_signal(sig)
        _out, err = run.communicate(timeout=120)
    finally:
        if run.poll() is None:
            os.killpg(run.pid, signal.SIGKILL)
            run.wait()
    assert run.returncode == 128 + sig, err
    assert f"stopped by {sig.name}; nothing was written" in err
    assert _poll(lambda: not _processes_of(root), 10), f"left running: {_processes_of(root)}"
    assert sorted(p.relative_to(root).as_posix() for p in (root / "evidence").rglob("*")) == ["evidence/sentinel.txt"]
    assert not list((root / "docs").iterdir())
    assert not [p.name for p in root.iterdir() if p.name.startswith(".evidence")]
    assert not list(temp.iterdir())
