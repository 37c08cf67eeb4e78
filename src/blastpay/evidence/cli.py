"""`blastpay evidence [--full] [--force]` and `blastpay check [--quiet]`: regenerate the evidence and the documents, or
check that what is committed is what the code produces."""

from __future__ import annotations

import argparse
import signal
import sys
import time
from contextlib import contextmanager
from typing import Iterator, Sequence

from blastpay.evidence.pipeline import run_check, run_evidence


class Interrupted(KeyboardInterrupt):
    """SIGINT or SIGTERM arrived: the run stops (its kernels and their workers first), writing nothing."""

    def __init__(self, signum: int) -> None:
        super().__init__(signal.Signals(signum).name)
        self.signum = signum


@contextmanager
def stopped_by_signals() -> Iterator[None]:
    """SIGINT and SIGTERM raise ``Interrupted`` once; a second signal while the run stops is ignored, so the
    clean-up (kernels stopped, staging tree removed) is not cut short."""
    received: list[int] = []

    def handler(signum, _frame):  # noqa: ANN001
        if received:
            return
        received.append(signum)
        raise Interrupted(signum)

    old = {sig: signal.signal(sig, handler) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for sig, previous in old.items():
            signal.signal(sig, previous)


def _stopped(command: str, exc: Interrupted) -> int:
    print(f"blastpay {command}: stopped by {signal.Signals(exc.signum).name}; nothing was written "
          "(the committed evidence and documents are unchanged)", file=sys.stderr)
    return 128 + exc.signum


def evidence_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="blastpay evidence",
        description="Run every notebook headless, write evidence/, render the ADR and its companion documents. "
        "Everything is staged and moved into place only if every step succeeded.",
    )
    parser.add_argument("--full", action="store_true",
                        help="run the large sweeps instead (1,000,000 parents per scenario, every browser journey, "
                        "literal replays), with progress bars; written to evidence-full/, not over the committed evidence")
    parser.add_argument("--force", action="store_true",
                        help="run every notebook; by default a notebook whose inputs, code and upstream evidence are "
                        "unchanged since the committed run (the manifest's key) is reused, not run")
    return parser


def check_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="blastpay check",
        description="Regenerate into a temporary tree and exit 1 naming every committed evidence file or document "
        "that differs from the regeneration.",
    )
    parser.add_argument("--quiet", action="store_true", help="print only the verdict")
    return parser


def evidence_main(argv: Sequence[str]) -> int:
    args = evidence_parser().parse_args(list(argv))
    try:
        with stopped_by_signals():
            result = run_evidence(full=args.full, force=args.force)
    except Interrupted as exc:
        return _stopped("evidence", exc)
    print(f"evidence and documents regenerated in {result.seconds:.1f} s (wall time)")
    return 0


def check_main(argv: Sequence[str]) -> int:
    args = check_parser().parse_args(list(argv))
    start = time.perf_counter()
    try:
        with stopped_by_signals():
            drift = run_check(progress=(lambda _msg: None) if args.quiet else print)
    except Interrupted as exc:
        return _stopped("check", exc)
    if drift:
        print("stale evidence or documents; these files differ from a fresh regeneration:", file=sys.stderr)
        for line in drift:
            print(f"  {line}", file=sys.stderr)
        print("fix: run `make evidence` (or `.venv/bin/blastpay evidence`) and commit the result", file=sys.stderr)
        return 1
    print(f"evidence and documents are fresh (checked in {time.perf_counter() - start:.1f} s)")
    return 0
