"""What one lazy-mint click costs on its own: CPU and database connection hold, with nothing competing.

The load benchmark (``pay_route_load.py``) measures the route on a machine it shares with the emulator,
PostgreSQL and the load generator; its connection-hold figures include waiting for a CPU. This measures the
same decisions (``LazyMint.open``: claim, Stripe create, record) one click at a time in one process, against
PostgreSQL (or a SQLite file) and the in-process emulator, so the hold is the click's own work plus its
round trips. Baseline in the same run: a returning click (claim finds the open session; no Stripe call, one
transaction).

Prints ``name: value`` lines: CPU per minting click (split claim / record / the rest, which is the SDK and the
in-process emulator), connection hold per transaction p50/p99, the same for the returning click, and the
ratio of the two holds.

    .venv/bin/python benchmarks/click_hold.py --database-url $DATABASE_URL_POSTGRES [--clicks 600]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from collections.abc import Callable
from typing import Any

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from pay_route_load import fresh_database, track_connection_holds  # noqa: E402 (the load benchmark's helpers)


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * q / 100))]


def _thread_timed(parts: dict[str, float], name: str, f: Callable[..., Any]) -> Callable[..., Any]:
    def timed(*args: Any, **kwargs: Any) -> Any:
        start = time.thread_time()
        try:
            return f(*args, **kwargs)
        finally:
            parts[name] += time.thread_time() - start
    return timed


def measure(database_url: str, clicks: int, warm_up: int = 100) -> dict[str, float]:
    from blastpay.emulator import Emulator
    from blastpay.flows.harness import CANCEL_URL, EXPERIMENT_TOKEN_KEYS, SUCCESS_URL
    from blastpay.flows.lazy_mint import LazyMint, LazyMintConfig
    from blastpay.flows.order_models import OrderSpec
    from blastpay.flows.orders import OrderStore
    from blastpay.flows.tokens import make_binding, parse_token_keys

    emu = Emulator(seed=0)
    store = OrderStore(database_url)
    holds: list[float] = []

    track_connection_holds(store.engine, lambda held: holds.append(held * 1000))

    try:
        mint = LazyMint(store, emu.client(), make_binding("hmac", parse_token_keys(EXPERIMENT_TOKEN_KEYS)), emu.now,
                        LazyMintConfig(public_base_url="http://club.example", success_url=SUCCESS_URL,
                                       cancel_url=CANCEL_URL))
        orders = store.create_orders([OrderSpec(parent_id=i, player_id=i, product_id="utah-invitational", amount=35000)
                                      for i in range(clicks + warm_up)], now=emu.now())
        tokens = [link.url.rsplit("/", 1)[1] for link in mint.blast(orders, now=emu.now()).values()]
        for token in tokens[:warm_up]:
            mint.open(token)
        parts = {"claim": 0.0, "record": 0.0}
        mint._claim = _thread_timed(parts, "claim", mint._claim)  # type: ignore[method-assign]
        mint._record = _thread_timed(parts, "record", mint._record)  # type: ignore[method-assign]
        holds.clear()
        start = time.thread_time()
        for token in tokens[warm_up:]:
            if mint.open(token).page != "redirect":
                raise SystemExit("click_hold: a click did not redirect")
        cpu = time.thread_time() - start
        parts = dict(parts)  # the minting clicks only: the returning clicks below run the timed claim too
        minting_holds = list(holds)
        holds.clear()
        for token in tokens[warm_up:]:  # the same parents come back: the open session is reused
            mint.open(token)
        returning_holds = list(holds)
    finally:
        store.dispose()
    per = 1000 / clicks
    out = {
        "clicks": clicks,
        "minting_click_cpu_ms": round(cpu * per, 3),
        "claim_cpu_ms": round(parts["claim"] * per, 3),
        "record_cpu_ms": round(parts["record"] * per, 3),
        "sdk_and_emulator_cpu_ms": round((cpu - parts["claim"] - parts["record"]) * per, 3),
        "minting_hold_per_transaction_p50_ms": round(_percentile(minting_holds, 50), 3),
        "minting_hold_per_transaction_p99_ms": round(_percentile(minting_holds, 99), 3),
        "minting_hold_per_click_p99_ms": round(_percentile([a + b for a, b in zip(minting_holds[::2],
                                                                                  minting_holds[1::2])], 99), 3),
        "returning_hold_p50_ms": round(_percentile(returning_holds, 50), 3),
        "returning_hold_p99_ms": round(_percentile(returning_holds, 99), 3),
    }
    out["minting_vs_returning_hold_p99"] = round(out["minting_hold_per_click_p99_ms"] / out["returning_hold_p99_ms"], 2)
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", default=None,
                        help="PostgreSQL URL (postgresql+psycopg://...); default: a SQLite file in a temporary directory")
    parser.add_argument("--clicks", type=int, default=600, help="minting clicks measured (default 600)")
    args = parser.parse_args(argv)
    if not 10 <= args.clicks <= 100_000:
        print("click_hold: --clicks must be in [10, 100000]", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory() as tmp:
        url = args.database_url or f"sqlite:///{tmp}/click.db"
        if url.startswith("postgresql"):
            with fresh_database(url, tmp) as fresh:
                figures = measure(fresh, args.clicks)
        else:
            figures = measure(url, args.clicks)
    for name, value in figures.items():
        print(f"{name}: {value}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
