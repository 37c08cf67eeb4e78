"""Load on GET /pay/{token}: a blast in which every parent clicks within minutes.

The lazy-mint app runs under uvicorn on loopback in a child process (SQLite file store, HMAC tokens,
the Stripe emulator in-process behind the real SDK). A middleware times each request inside the
server and the Stripe calls it made, and answers ``Server-Timing: route;dur=<ms>, stripe;dur=<ms>``:
``route`` is the route's own work (the request minus Stripe's time), ``stripe`` the emulator's time.
The parent process drives an open-loop load generator (httpx, a bounded thread pool, requests
scheduled at a fixed rate, bounded count and duration, loopback only) at each rate, each request a
different parent's first click (a fresh token, so every click mints a Checkout Session), plus a
share of returning clicks that reuse the session (no Stripe call).

Prints ``name: value`` lines; ``--write`` also stores them with the date and machine in
experiments/benchmarks/pay_route_load.json, under the store measured (``sqlite_file`` by default,
``postgresql`` with ``--database-url postgresql+psycopg://...``; run once per store). Baseline in the same run: a 404 for an unknown token at
the lowest rate (the route's floor: token check and page, no database write, no Stripe).

    python benchmarks/pay_route_load.py [--rates 50,200] [--seconds 10] [--write]
"""

from __future__ import annotations

import argparse
import contextvars
import datetime as dt
import json
import math
import os
import platform
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OUTPUT = ROOT / "experiments" / "benchmarks" / "pay_route_load.json"
TARGET_ROUTE_P99_MS = 20.0
RETURNING_SHARE = 0.2  # clicks that are a parent coming back to the session minted minutes earlier

_stripe_seconds: contextvars.ContextVar[list] = contextvars.ContextVar("stripe_seconds")


# -- the server (child process) -------------------------------------------------------------------

def serve_child(orders: int, database_url: str) -> None:
    import socket

    import stripe
    import uvicorn

    from blastpay.emulator import Emulator
    from blastpay.flows.harness import CANCEL_URL, EXPERIMENT_TOKEN_KEYS, SUCCESS_URL
    from blastpay.flows.lazy_mint import LazyMintConfig, create_app
    from blastpay.flows.orders import OrderSpec, OrderStore
    from blastpay.flows.tokens import make_binding, parse_token_keys
    from blastpay.flows.webhook_matcher import ENABLED_EVENTS, WEBHOOK_PATH

    class TimedStripe(stripe.HTTPClient):
        name = "timed"

        def __init__(self, inner: stripe.HTTPClient) -> None:
            super().__init__()
            self.inner = inner

        def request(self, method, url, headers, post_data=None, *, _usage=None):  # type: ignore[override]
            start = time.perf_counter()
            try:
                return self.inner.request(method, url, headers, post_data)
            finally:
                bucket = _stripe_seconds.get(None)
                if bucket is not None:
                    bucket[0] += time.perf_counter() - start

        def close(self) -> None:
            self.inner.close()

    emu = Emulator(seed=0)
    client = stripe.StripeClient("sk_test_emulator", http_client=TimedStripe(emu.http_client()),
                                 base_addresses={"api": emu.base_url}, max_network_retries=0)
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    sock.listen(1024)
    base = f"http://127.0.0.1:{sock.getsockname()[1]}"
    endpoint = client.v1.webhook_endpoints.create({"url": base + WEBHOOK_PATH, "enabled_events": ENABLED_EVENTS})
    store = OrderStore(database_url)
    app = create_app(store=store, stripe_client=client, binding=make_binding("hmac", parse_token_keys(EXPERIMENT_TOKEN_KEYS)),
                     clock=emu.now, config=LazyMintConfig(public_base_url=base, success_url=SUCCESS_URL,
                                                          cancel_url=CANCEL_URL),
                     webhook_secrets=[endpoint.secret])
    made = store.create_orders([OrderSpec(parent_id=i, player_id=i, product_id="utah-invitational-2026", amount=15000)
                                for i in range(orders)], now=emu.now())
    links = app.state.lazy_mint.blast(made, now=emu.now())

    async def timed(scope, receive, send):
        if scope["type"] != "http":
            return await app(scope, receive, send)
        bucket = [0.0]
        _stripe_seconds.set(bucket)
        start = time.perf_counter()

        async def send_with_timing(message):
            if message["type"] == "http.response.start":
                total = time.perf_counter() - start
                value = f"route;dur={(total - bucket[0]) * 1000:.3f}, stripe;dur={bucket[0] * 1000:.3f}"
                message = dict(message, headers=list(message.get("headers", [])) + [(b"server-timing", value.encode())])
            await send(message)

        await app(scope, receive, send_with_timing)

    print(json.dumps({"base_url": base, "tokens": [links[o.id].url.rsplit("/", 1)[-1] for o in made]}), flush=True)
    uvicorn.Server(uvicorn.Config(timed, log_level="warning", lifespan="off", access_log=False)).run(sockets=[sock])


# -- the load generator (parent process) ----------------------------------------------------------

def _server_timing(value: str) -> dict[str, float]:
    out = {}
    for part in value.split(","):
        name, _, dur = part.strip().partition(";dur=")
        out[name] = float(dur)
    return out


def _percentile(values: list[float], q: float) -> float | None:
    """The q-th percentile (nearest rank); None when nothing was measured."""
    values = [v for v in values if v == v]
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, math.ceil(q / 100 * len(ordered)) - 1))]


def drive(base_url: str, plan: list[str], rate: float, max_seconds: float) -> dict[str, float]:
    """Send ``plan`` (one path per request) at ``rate`` per second, open loop; stop at max_seconds."""
    import httpx

    client = httpx.Client(base_url=base_url, timeout=10, limits=httpx.Limits(max_connections=64))
    route, stripe_ms, client_ms, errors, statuses = [], [], [], 0, {}
    lock = threading.Lock()

    def one(path: str) -> None:
        nonlocal errors
        start = time.perf_counter()
        try:
            response = client.get(path, follow_redirects=False)
        except httpx.HTTPError:
            with lock:
                errors += 1
            return
        elapsed = (time.perf_counter() - start) * 1000
        timing = _server_timing(response.headers.get("server-timing", "route;dur=nan, stripe;dur=nan"))
        with lock:
            statuses[response.status_code] = statuses.get(response.status_code, 0) + 1
            route.append(timing["route"])
            if timing["stripe"] > 0:
                stripe_ms.append(timing["stripe"])
            client_ms.append(elapsed)

    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=48) as pool:
        for i, path in enumerate(plan):
            due = started + i / rate
            if due - started > max_seconds:
                break
            delay = due - time.perf_counter()
            if delay > 0:
                time.sleep(delay)
            pool.submit(one, path)
    wall = time.perf_counter() - started
    client.close()
    sent = len(route) + errors

    def ms(values: list[float], q: float) -> float | None:
        value = _percentile(values, q)
        return None if value is None else round(value, 3)

    return {
        "requests": sent,
        "achieved_rps": round(sent / wall, 1),
        "route_p50_ms": ms(route, 50),
        "route_p99_ms": ms(route, 99),
        "stripe_per_call_p50_ms": ms(stripe_ms, 50),
        "stripe_per_call_p99_ms": ms(stripe_ms, 99),
        "client_p50_ms": ms(client_ms, 50),
        "client_p99_ms": ms(client_ms, 99),
        "minted": len(stripe_ms),
        "errors": errors,
        "server_errors": sum(n for s, n in statuses.items() if s >= 500),
    }


def _plan(tokens: list[str], count: int, offset: int) -> list[str]:
    """``count`` clicks: mostly first clicks on fresh tokens, every fifth a return to an earlier one."""
    paths, fresh = [], offset
    for i in range(count):
        if i % round(1 / RETURNING_SHARE) == 4 and fresh > offset:
            paths.append(f"/pay/{tokens[offset + (i * 7919) % (fresh - offset)]}")
        else:
            paths.append(f"/pay/{tokens[fresh]}")
            fresh += 1
    return paths


def machine() -> dict[str, object]:
    return {"platform": platform.platform(), "python": platform.python_version(), "cpus": os.cpu_count(),
            "processor": platform.processor() or platform.machine(), "node": "loopback",
            "load_average_1m_at_start": round(os.getloadavg()[0], 2)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rates", default="50,200", help="requests per second, comma-separated")
    parser.add_argument("--seconds", type=float, default=10.0, help="duration per rate (bounded)")
    parser.add_argument("--write", action="store_true", help=f"store the figures in {OUTPUT.relative_to(ROOT)}")
    parser.add_argument("--serve-child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--orders", type=int, default=0, help=argparse.SUPPRESS)
    parser.add_argument("--database-url", default=None,
                        help="store for the server (default: a SQLite file in a temporary directory)")
    args = parser.parse_args(argv)
    if args.serve_child:
        serve_child(args.orders, args.database_url)
        return 0
    try:
        rates = [float(r) for r in args.rates.split(",") if r.strip()]
    except ValueError:
        print(f"pay_route_load: --rates must be numbers like 50,200, got {args.rates!r}", file=sys.stderr)
        return 2
    if not rates or any(r <= 0 or r > 2000 for r in rates) or not 0 < args.seconds <= 120:
        print("pay_route_load: rates must be in (0, 2000] and --seconds in (0, 120]", file=sys.stderr)
        return 2

    per_rate = [int(r * args.seconds) for r in rates]
    orders = sum(per_rate) + 10
    with tempfile.TemporaryDirectory() as tmp:
        child = subprocess.Popen(
            [sys.executable, __file__, "--serve-child", "--orders", str(orders),
             "--database-url", args.database_url or f"sqlite:///{tmp}/load.db"],
            stdout=subprocess.PIPE, text=True, cwd=ROOT)
        try:
            ready = json.loads(child.stdout.readline())
            base, tokens = ready["base_url"], ready["tokens"]
            figures: dict[str, object] = {}
            drive(base, ["/pay/" + "B" * 47] * 50, 50, 2)  # warm-up: connections, caches (not recorded)
            baseline = drive(base, ["/pay/" + "A" * 47] * int(min(rates) * args.seconds), min(rates), args.seconds)
            figures["baseline_404"] = baseline
            offset = 0
            for rate, count in zip(rates, per_rate):
                result = drive(base, _plan(tokens, count, offset), rate, args.seconds)
                offset += count
                result["route_p99_vs_baseline"] = round(result["route_p99_ms"] / baseline["route_p99_ms"], 2)
                figures[f"rate_{int(rate)}_rps"] = result
        finally:
            child.terminate()
            child.wait(timeout=10)

    for group, values in figures.items():
        for name, value in values.items():
            print(f"{group}.{name}: {value}")
    top = f"rate_{int(max(rates))}_rps"
    met = figures[top]["route_p99_ms"] < TARGET_ROUTE_P99_MS  # type: ignore[index]
    print(f"target_route_p99_ms: {TARGET_ROUTE_P99_MS}")
    print(f"target_met_at_{int(max(rates))}_rps: {'yes' if met else 'no'}")
    if args.write:
        store = "postgresql" if (args.database_url or "").startswith("postgresql") else "sqlite_file"
        record = json.loads(OUTPUT.read_text()) if OUTPUT.exists() else {}
        record.update({"measured_at": dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d"), "machine": machine(),
                       "command": "python benchmarks/pay_route_load.py --write [--database-url $DATABASE_URL_POSTGRES]",
                       "target_route_p99_ms": TARGET_ROUTE_P99_MS, "returning_share": RETURNING_SHARE})
        record.setdefault("stores", {})[store] = {"seconds_per_rate": args.seconds, "target_met": met,
                                                  "figures": figures}
        OUTPUT.parent.mkdir(parents=True, exist_ok=True)
        OUTPUT.write_text(json.dumps(record, indent=2, sort_keys=True) + "\n")
        print(f"written: {OUTPUT.relative_to(ROOT)} (store {store})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
