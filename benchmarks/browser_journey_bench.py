"""Browser-measured time from opening the emailed link to a payable page, per option, with the emulator's
own time to serve one checkout page as the baseline, measured in the same run.

Prints one ``name: value`` line per figure:
- ``browser_ms_to_payable_<variant>_<when>``: median over the runs of the navigation's
  ``domContentLoadedEventEnd`` on the checkout page (milliseconds from the click, so every redirect on the
  way is included), in headless Chromium on loopback; ``none`` when the option never shows a payable page;
- ``emulator_ms_per_checkout_page``: median time for one ``GET /c/pay/{id}`` answered by the emulator
  (plain HTTP client, keep-alive), the floor any browser journey stands on;
- ``ratio_<variant>_<when>``: the browser figure over the baseline.

Usage: .venv/bin/python benchmarks/browser_journey_bench.py [--runs N]
Needs /usr/bin/chromium (``bash .ci/browser``). Everything binds 127.0.0.1.
"""
from __future__ import annotations

import argparse
import statistics
import sys
import time

import httpx

from blastpay.emulator import Emulator
from blastpay.experiments import journeys
from blastpay.flows.harness import CANCEL_URL, SUCCESS_URL

MEASURED = [(v, "1h") for v in journeys.VARIANTS] + [("ttl_24h_recovery", "25h")]


def emulator_page_ms(requests: int) -> float:
    emu = Emulator(seed=0)
    handle = emu.serve("127.0.0.1", 0)
    try:
        client = emu.client()
        price = client.v1.prices.create({"currency": "usd", "unit_amount": 15000,
                                         "product_data": {"name": "utah-invitational-2026"}})
        session = client.v1.checkout.sessions.create({
            "mode": "payment", "line_items": [{"price": price.id, "quantity": 1}],
            "success_url": SUCCESS_URL, "cancel_url": CANCEL_URL})
        times = []
        with httpx.Client() as http:
            http.get(session.url)
            for _ in range(requests):
                start = time.perf_counter()
                response = http.get(session.url)
                times.append((time.perf_counter() - start) * 1000)
                assert response.status_code == 200 and "Pay 150.00 USD" in response.text
        return statistics.median(times)
    finally:
        handle.close()


def browser_ms(runs: int) -> dict[tuple[str, str], float | None]:
    found: dict[tuple[str, str], list[float]] = {key: [] for key in MEASURED}
    with journeys.JourneyBrowser(screenshots=False) as browser:
        journeys.walk_variant(browser, "lazy_mint_hmac", {"1h": ("pay",)})  # warm-up, not counted
        for run in range(runs):
            for variant, when in MEASURED:
                walked = journeys.walk_variant(browser, variant, {when: ("pay",)}, seed=run)
                if walked and walked[0].ms_to_payable is not None:
                    found[(variant, when)].append(walked[0].ms_to_payable)
    return {key: (statistics.median(v) if v else None) for key, v in found.items()}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5, help="journeys per option (median reported)")
    args = parser.parse_args(argv)
    if args.runs < 1:
        print("error: --runs must be at least 1", file=sys.stderr)
        return 2
    try:
        journeys.require_chromium()
    except journeys.BrowserMissing as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    baseline = emulator_page_ms(200)
    measured = browser_ms(args.runs)
    print(f"runs: {args.runs}")
    print(f"emulator_ms_per_checkout_page: {baseline:.3f}")
    for (variant, when), ms in measured.items():
        print(f"browser_ms_to_payable_{variant}_{when}: {'none' if ms is None else f'{ms:.1f}'}")
    for (variant, when), ms in measured.items():
        if ms is not None:
            print(f"ratio_{variant}_{when}: {ms / baseline:.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
