"""How long a parent waits for "try again" when Stripe's Checkout Session create hangs.

Starts ``blastpay sandbox serve`` with a latency fault holding every ``POST /v1/checkout/sessions`` answer for
``--stripe-seconds`` (default 25 s), then ``blastpay serve --seed --stripe-base <it>``, and clicks one of the
printed links. The click's Stripe call times out per attempt and is retried by the SDK; the figure is the wall
time until the app answers 503, set beside the budget ``stripe_call_worst_case()`` states and the mint lease
(the baseline in the same run is a click with no fault, which mints at once).

Prints ``name: value`` lines.

    .venv/bin/python benchmarks/slow_stripe_click.py [--stripe-seconds 25]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

from blastpay.flows.lazy_mint import MINT_LEASE_SECONDS
from blastpay.flows.serve import stripe_call_worst_case

BLASTPAY = str(Path(sys.executable).with_name("blastpay"))


def _first_line(process: subprocess.Popen[str], prefix: str) -> str:
    assert process.stdout is not None
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        if line.startswith(prefix):
            return line
        if not line and process.poll() is not None:
            break
    raise SystemExit(f"slow_stripe_click: no line starting {prefix!r}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--stripe-seconds", type=float, default=25.0, help="how long Stripe holds each create")
    args = parser.parse_args()
    if not 0 < args.stripe_seconds <= 60:
        print("slow_stripe_click: --stripe-seconds must be in (0, 60]", file=sys.stderr)
        return 2
    stripe = subprocess.Popen([BLASTPAY, "sandbox", "serve", "--port", "0"], stdout=subprocess.PIPE, text=True)
    app = None
    try:
        stripe_base = _first_line(stripe, "http://").strip()
        with tempfile.TemporaryDirectory() as tmp:
            app = subprocess.Popen([BLASTPAY, "serve", "--seed", "--orders", "2", "--port", "0", "--stripe-base",
                                    stripe_base, "--database-url", f"sqlite:///{tmp}/slow.db"],
                                   stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
            _first_line(app, "serving ")
            links = [_first_line(app, "order ").split(": ", 1)[1].strip() for _ in range(2)]
            started = time.monotonic()
            baseline = httpx.get(links[0], timeout=120)
            baseline_seconds = time.monotonic() - started
            fault = httpx.post(f"{stripe_base}/_sandbox/faults", timeout=10,
                               json={"route": "POST /v1/checkout/sessions", "latency_ms": int(args.stripe_seconds * 1000)})
            fault.raise_for_status()
            started = time.monotonic()
            slow = httpx.get(links[1], timeout=120)
            slow_seconds = time.monotonic() - started
    finally:
        for process in (app, stripe):
            if process is not None:
                process.terminate()
                process.wait(timeout=30)
    print(f"baseline_click_status: {baseline.status_code}")
    print(f"baseline_click_seconds: {baseline_seconds:.2f}")
    print(f"slow_stripe_seconds_per_create: {args.stripe_seconds:.1f}")
    print(f"slow_click_status: {slow.status_code}")
    print(f"slow_click_seconds_to_answer: {slow_seconds:.1f}")
    print(f"stated_worst_case_seconds: {stripe_call_worst_case():.1f}")
    print(f"mint_lease_seconds: {MINT_LEASE_SECONDS:.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
