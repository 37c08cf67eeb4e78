"""A pool worker started with `exit_with_parent` ends when the process that started it is killed."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

PARENT = """
import multiprocessing, os, sys, time
from concurrent.futures import ProcessPoolExecutor
from blastpay.experiments.workers import exit_with_parent
if __name__ == "__main__":
    pool = ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("spawn"), initializer=%s)
    print(pool.submit(os.getpid).result(), flush=True)
    sys.stdin.read()  # until the test kills this process, as a dead kernel would be
"""


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state != "Z"


def _worker_left_after_killing_its_parent(tmp_path: Path, initializer: str, patience: float) -> bool:
    script = tmp_path / "parent.py"
    script.write_text(PARENT % initializer)
    parent = subprocess.Popen([sys.executable, str(script)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    worker = int(parent.stdout.readline())
    parent.send_signal(signal.SIGKILL)
    parent.wait()
    end = time.monotonic() + patience
    while _alive(worker) and time.monotonic() < end:
        time.sleep(0.1)
    left = _alive(worker)
    if left:
        os.kill(worker, signal.SIGKILL)
    return left


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads processes from /proc (Linux)")
def test_a_worker_exits_when_its_parent_is_killed(tmp_path):
    assert not _worker_left_after_killing_its_parent(tmp_path, "exit_with_parent", patience=30)  # a guard, not a timing


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads processes from /proc (Linux)")
def test_without_it_the_worker_is_left_behind(tmp_path):
    # the case the initializer is for: a plain pool worker outlives a parent that was killed (it would wait forever;
    # three of the initializer's periods are enough to see it has not gone)
    assert _worker_left_after_killing_its_parent(tmp_path, "None", patience=3)
