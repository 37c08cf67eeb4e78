"""The notebook kernels of one evidence run, and how the run stops them all at once (a notebook failed, or the
run was interrupted)."""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path


class KernelsStopping(RuntimeError):
    """A notebook's kernel was started while the run was stopping; it has been stopped instead of run."""


class Kernels:
    """The notebook kernels of one run, so a failure or an interrupt can stop them at once. A kernel runs in its own
    session (jupyter_client starts it so), and what it starts (the failure-mode matrix's worker processes) stays
    in that session, so stopping the session's process group stops all of it."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._managers: dict[str, object] = {}
        self.stopping = False

    def add(self, stem: str, km) -> None:  # noqa: ANN001
        with self._lock:
            if self.stopping:
                raise KernelsStopping(f"notebooks/{stem}.ipynb: not started, the run is stopping")
            self._managers[stem] = km

    def started(self, stem: str) -> None:
        """A kernel is up: if the run began stopping while it started, it is stopped now instead of run."""
        with self._lock:
            late = self.stopping
            process = _kernel_process(self._managers.get(stem))
        if late:
            if process is not None:
                _stop_groups([process])
            raise KernelsStopping(f"notebooks/{stem}.ipynb: stopped, the run is stopping")

    def discard(self, stem: str) -> None:
        with self._lock:
            self._managers.pop(stem, None)

    def stop_all(self, grace: float = 2.0) -> None:
        """SIGTERM to every kernel's process group, then SIGKILL to what is left after `grace` seconds."""
        with self._lock:
            self.stopping = True
            groups = [p for p in (_kernel_process(km) for km in self._managers.values()) if p is not None]
        _stop_groups(groups, grace)


def _stop_groups(kernels: list, grace: float = 2.0) -> None:
    """Stop each kernel process's group (the kernel leads its own session): SIGTERM, then SIGKILL after `grace`
    seconds to any group still alive."""
    import signal

    for sig in (signal.SIGTERM, signal.SIGKILL):
        for process in kernels:
            try:
                os.killpg(process.pid, sig)
            except (ProcessLookupError, PermissionError):
                pass
        deadline = time.monotonic() + grace
        while sig == signal.SIGTERM and time.monotonic() < deadline and any(_group_alive(p) for p in kernels):
            time.sleep(0.05)


def _kernel_process(km):  # noqa: ANN001, ANN202
    """The kernel's Popen, once it has been started."""
    return getattr(getattr(km, "provisioner", None), "process", None)


def _group_alive(process) -> bool:  # noqa: ANN001
    process.poll()  # reap the kernel itself, so a dead kernel does not count as its group alive
    try:
        os.killpg(process.pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return process.returncode is None or _group_has_live_members(process.pid)


def _group_has_live_members(pgid: int) -> bool:
    """Whether a process group still has a member that is not a zombie (Linux /proc; elsewhere: assume so)."""
    proc = Path("/proc")
    if not proc.is_dir():
        return True
    for entry in proc.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if int(fields[2]) == pgid and fields[0] != "Z":
            return True
    return False
