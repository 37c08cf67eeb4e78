"""``blastpay live``: check the emulator's Stripe rules against Stripe test mode.

Commands (``main(argv)`` gets everything after ``blastpay live``):

``probe [--base-url URL] [--dir DIR]``
    Needs ``STRIPE_TEST_SECRET_KEY`` holding a test-mode key (``sk_test_...`` or
    ``rk_test_...``; live keys are refused, the probe is test-mode only). Through the real
    ``stripe`` SDK (Stripe's own host unless ``--base-url``) it creates a Product, a
    one-time Price, a per-order and a per-product Payment Link, and three Checkout
    Sessions (30 days ahead, which Stripe refuses; 24 hours ahead; recovery enabled at
    the 30-minute minimum), and records every request and response, redacted, to
    ``<DIR>/<YYYY-MM-DD>-probe.json`` (UTC date of the run).
``recheck [FILE] [--base-url URL] [--dir DIR]``
    Revisits the objects of a record (default: the newest one) on the host it was made
    against: Payment Links at least 30 days old (still active? could they start a
    session? which sessions did they start?) and the final status of every session; it
    appends a dated section to the record.
``compare [FILE] [--base-url URL] [--dir DIR]``
    Replays the probe against the emulator (started in process on loopback unless
    ``--base-url`` names a running one) and lists every difference from the record;
    exit 0 with "no differences", 1 with the list.

Where records go: ``experiments/live/`` (override: ``$BLASTPAY_LIVE_DIR`` or ``--dir``).
A record is an input of the evidence, not an output: it is what Stripe answered on the
day a person ran the probe with their test key, so that person commits it and nothing
regenerates it; ``verification_table`` reads it for the ADR. Records hold no keys,
webhook secrets, emails or personal details (see ``blastpay.live.redaction``). Any
problem (bad key, host unreachable, Stripe failing a call the probe needs) is one line
on stderr, exit 2, and nothing written.
"""
from __future__ import annotations

import argparse
import os
import sys
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import stripe

from blastpay.live.client import STRIPE_API_BASE, recording_client
from blastpay.live.compare import differences
from blastpay.live.errors import LiveProbeError
from blastpay.live.keys import KEY_ENV, accepted_key_kind
from blastpay.live.probe import run_probe
from blastpay.live.probe_files import FORMAT, new_probe_path, newest_probe_file, probe_dir, read_probe, write_probe
from blastpay.live.recheck import run_recheck
from blastpay.live.verification import verification_table

__all__ = ["main", "probe", "recheck", "compare", "verification_table"]

EMULATOR_KEY = "sk_test_blastpayemulatorcompare"


def _today() -> str:
    return datetime.now(timezone.utc).date().isoformat()


def _target(base_url: str) -> str:
    return "stripe" if base_url.rstrip("/") == STRIPE_API_BASE else "other"


def _probe_record(api_key: str, base_url: str | None, key_kind: str) -> dict[str, Any]:
    """Run the probe against ``base_url`` and return the whole record (nothing written)."""
    base = (base_url or STRIPE_API_BASE).rstrip("/")
    client, recorder = recording_client(api_key, base_url and base)
    try:
        result = run_probe(client, recorder, base)
    finally:
        recorder.close()
    return {
        "format": FORMAT,
        "date": _today(),
        "recorded_at": datetime.now(timezone.utc).replace(microsecond=0).isoformat(),
        "target": _target(base),
        "api_base": base,
        "key_kind": key_kind,
        "sdk": {"stripe": stripe.VERSION, "api_version": stripe.api_version},
        **result,
        "steps": recorder.exchanges,
        "rechecks": [],
    }


def probe(base_url: str | None = None, directory: Path | None = None, api_key: str | None = None) -> Path:
    """Run the probe and write its record; return the path written."""
    key = os.environ.get(KEY_ENV) if api_key is None else api_key
    kind = accepted_key_kind(key)
    record = _probe_record(key, base_url, kind)
    path = new_probe_path(directory or probe_dir(), datetime.now(timezone.utc).date())
    write_probe(path, record)
    return path


def _record_path(file: str | None, directory: Path | None) -> Path:
    return Path(file) if file else newest_probe_file(directory or probe_dir())


def recheck(file: str | None = None, base_url: str | None = None, directory: Path | None = None,
            api_key: str | None = None) -> tuple[Path, dict[str, Any]]:
    """Recheck a record's objects and append the section to it; return the path and section."""
    key = os.environ.get(KEY_ENV) if api_key is None else api_key
    accepted_key_kind(key)
    path = _record_path(file, directory)
    record = read_probe(path)
    base = (base_url or record["api_base"]).rstrip("/")
    client, recorder = recording_client(key, None if base == STRIPE_API_BASE else base)
    try:
        found = run_recheck(client, recorder, base, record)
    finally:
        recorder.close()
    section = {"date": _today(), "api_base": base, **found, "steps": recorder.exchanges}
    record.setdefault("rechecks", []).append(section)
    write_probe(path, record)
    return path, section


def compare(file: str | None = None, base_url: str | None = None, directory: Path | None = None) -> list[str]:
    """Differences between a recorded probe and the same probe replayed against the emulator."""
    recorded = read_probe(_record_path(file, directory))
    if base_url:
        replayed = _probe_record(EMULATOR_KEY, base_url, "sk_test")
    else:
        from blastpay.emulator import Emulator

        with Emulator(seed=0).serve(host="127.0.0.1", port=0) as handle:
            replayed = _probe_record(EMULATOR_KEY, handle.base_url, "sk_test")
    return differences(recorded, replayed)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="blastpay live", description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    p = sub.add_parser("probe", help="record Stripe test mode's answers to the probe calls")
    c = sub.add_parser("recheck", help="revisit a record's objects and append what became of them")
    k = sub.add_parser("compare", help="replay the probe against the emulator and list differences")
    for each in (c, k):
        each.add_argument("file", nargs="?", help="probe record (default: the newest in the directory)")
    for each, what in ((p, "Stripe API base URL (default https://api.stripe.com)"),
                       (c, "API base URL (default: the one the record was made against)"),
                       (k, "base URL of a running emulator (default: start one in process)")):
        each.add_argument("--base-url", help=what)
        each.add_argument("--dir", type=Path, help="directory of probe records (default experiments/live, "
                                                   "or $BLASTPAY_LIVE_DIR)")
    return parser


def _run(args: argparse.Namespace) -> int:
    if args.command == "probe":
        path = probe(args.base_url, args.dir)
        print(f"probe recorded to {path}")
        return 0
    if args.command == "recheck":
        path, section = recheck(args.file, args.base_url, args.dir)
        checked = sum(1 for link in section["payment_links"] if link["checked"])
        print(f"recheck appended to {path}: {checked} of {len(section['payment_links'])} payment link(s) "
              f"at least 30 days old, {len(section['checkout_sessions'])} session(s) revisited")
        return 0
    found = compare(args.file, args.base_url, args.dir)
    if not found:
        print("no differences")
        return 0
    print(f"{len(found)} difference(s) between the recorded responses and the emulator's:")
    for line in found:
        print(f"  {line}")
    return 1


def main(argv: list[str]) -> int:
    args = _parser().parse_args(argv)
    try:
        return _run(args)
    except LiveProbeError as exc:
        print(f"blastpay live: error: {exc}", file=sys.stderr)
        return 2
