"""Load on GET /pay/{token}: a blast in which every parent clicks within minutes.

The stack, all on loopback: the Stripe emulator in its own process (``python -m blastpay.emulator``,
standing in for Stripe, which runs on other machines), and the lazy-mint app under uvicorn in worker
processes sharing one listening socket, each calling the emulator through the real SDK and its default
HTTP client (HMAC tokens; a SQLite file, or PostgreSQL with ``--database-url``). A middleware in each
worker times every request and the Stripe calls it made, and answers
``Server-Timing: route;dur=<ms>, stripe;dur=<ms>``: ``route`` is the route's own work (the request
minus Stripe's time), ``stripe`` the time spent in Stripe calls. The parent process drives an open-loop
load generator (one asyncio loop, keep-alive connections, at most 64 requests in flight, requests
scheduled at a fixed rate, bounded count and duration) at each rate: each request a different parent's
first click (a fresh token, so every click mints a Checkout Session), plus a share of returning clicks
that reuse the session (no Stripe call). A warm-up that takes every path runs first and is not
recorded. CPU per request is read from /proc for the app workers and the emulator.

Workers: one per CPU on PostgreSQL; one on SQLite, whose write lock covers the whole database and whose
busy handler sleeps, so clicks in several processes starve each other (``--workers 2`` on SQLite shows
it; such a run is stored under its own name).

Prints ``name: value`` lines; ``--write`` also stores them with the date and machine in
experiments/benchmarks/pay_route_load.json, under the store measured (``sqlite_file`` by default,
``postgresql`` with ``--database-url postgresql+psycopg://...``; run once per store). A PostgreSQL URL
names the server: each run creates a fresh database beside the one named and drops it afterwards, so
earlier runs' rows never collide with this run's (the emulator's ids are seeded). Baseline in the same
run: a 404 for an unknown token at the lowest rate (the route's floor: token check and page, no
database write, no Stripe).

Each configuration runs ``--repeat`` times (default 3) on a fresh stack and database; the figures pool
the requests of all runs, and each run's route p99 is listed beside them, so one unlucky run shows as
spread rather than deciding the figure alone.

    python benchmarks/pay_route_load.py [--rates 50,200] [--seconds 10] [--workers N] [--repeat 3] [--write]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import contextvars
import dataclasses
import datetime as dt
import gc
import json
import math
import os
import platform
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OUTPUT = ROOT / "experiments" / "benchmarks" / "pay_route_load.json"
TARGET_ROUTE_P99_MS = 20.0
WARM_UP_CLICKS = 300
RETURNING_SHARE = 0.2  # clicks that are a parent coming back to the session minted minutes earlier

_stripe_seconds: contextvars.ContextVar[list] = contextvars.ContextVar("stripe_seconds")


# -- the server (worker processes) ----------------------------------------------------------------

def serve_worker(fd: int, stripe_base: str, database_url: str, now: int, webhook_secret: str, base: str) -> None:
    """One uvicorn worker of the lazy-mint app on the listening socket ``fd`` it shares with its siblings."""
    import socket

    import stripe
    import uvicorn

    from blastpay.flows.harness import CANCEL_URL, EXPERIMENT_TOKEN_KEYS, SUCCESS_URL
    from blastpay.flows.lazy_mint import LazyMintConfig, create_app
    from blastpay.flows.orders import OrderStore
    from blastpay.flows.tokens import make_binding, parse_token_keys

    class TimedStripe(stripe.HTTPClient):
        """The SDK's default HTTP client, with the time each Stripe call took added to the request's bucket."""

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

    client = stripe.StripeClient("sk_test_emulator", http_client=TimedStripe(stripe.new_default_http_client()),
                                 base_addresses={"api": stripe_base}, max_network_retries=0)
    store = OrderStore(database_url)
    # Nothing advances the emulator's clock during the load, so the app reads it once (a per-request
    # read over HTTP would be a Stripe-side cost that production does not have: it reads its own clock).
    app = create_app(store=store, stripe_client=client, binding=make_binding("hmac", parse_token_keys(EXPERIMENT_TOKEN_KEYS)),
                     clock=lambda: now, config=LazyMintConfig(public_base_url=base, success_url=SUCCESS_URL,
                                                              cancel_url=CANCEL_URL),
                     webhook_secrets=[webhook_secret])

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

    gc.collect()
    gc.freeze()  # what start-up built lives as long as the worker; keep it out of every collection
    print("ready", flush=True)
    uvicorn.Server(uvicorn.Config(timed, log_level="warning", lifespan="off", access_log=False)).run(
        sockets=[socket.socket(fileno=fd)])


@contextlib.contextmanager
def stack(orders: int, database_url: str, workers: int):
    """Start the emulator, seed ``orders`` and their emailed tokens, start ``workers`` app workers.

    Yields (base URL, tokens, {process name: pid})."""
    import socket

    import httpx
    import stripe

    from blastpay.flows.harness import CANCEL_URL, EXPERIMENT_TOKEN_KEYS, SUCCESS_URL
    from blastpay.flows.lazy_mint import LazyMint, LazyMintConfig
    from blastpay.flows.orders import OrderSpec, OrderStore
    from blastpay.flows.tokens import make_binding, parse_token_keys
    from blastpay.flows.webhook_matcher import ENABLED_EVENTS, WEBHOOK_PATH

    processes: list[subprocess.Popen] = []
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        emulator = subprocess.Popen([sys.executable, "-m", "blastpay.emulator", "--port", "0", "--seed", "0"],
                                    stdout=subprocess.PIPE, text=True, cwd=ROOT)
        processes.append(emulator)
        stripe_base = emulator.stdout.readline().strip()
        if not stripe_base.startswith("http://"):
            raise SystemExit("pay_route_load: the Stripe emulator did not start")
        now = int(httpx.get(f"{stripe_base}/_sandbox/clock", timeout=10).json()["now"])
        sock.bind(("127.0.0.1", 0))
        sock.listen(1024)
        base = f"http://127.0.0.1:{sock.getsockname()[1]}"
        client = stripe.StripeClient("sk_test_emulator", base_addresses={"api": stripe_base}, max_network_retries=0)
        endpoint = client.v1.webhook_endpoints.create({"url": base + WEBHOOK_PATH, "enabled_events": ENABLED_EVENTS})
        store = OrderStore(database_url)
        try:
            made = store.create_orders([OrderSpec(parent_id=i, player_id=i, product_id="utah-invitational-2026",
                                                  amount=15000) for i in range(orders)], now=now)
            mint = LazyMint(store, client, make_binding("hmac", parse_token_keys(EXPERIMENT_TOKEN_KEYS)), lambda: now,
                            LazyMintConfig(public_base_url=base, success_url=SUCCESS_URL, cancel_url=CANCEL_URL))
            links = mint.blast(made, now=now)
        finally:
            store.dispose()
        for _ in range(workers):
            processes.append(subprocess.Popen(
                [sys.executable, __file__, "--serve-worker", str(sock.fileno()), stripe_base, database_url, str(now),
                 endpoint.secret, base], stdout=subprocess.PIPE, text=True, cwd=ROOT, pass_fds=[sock.fileno()]))
        for worker in processes[1:]:
            if worker.stdout.readline().strip() != "ready":
                raise SystemExit("pay_route_load: an app worker did not start")
        pids = {"emulator": emulator.pid} | {f"worker_{i}": p.pid for i, p in enumerate(processes[1:])}
        yield base, [links[o.id].url.rsplit("/", 1)[-1] for o in made], pids
    finally:
        sock.close()
        for process in processes:
            process.terminate()
        for process in processes:
            process.wait(timeout=10)


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


async def _get(pool: asyncio.Queue, host: str, port: int, path: str) -> tuple[int, dict[str, str]]:
    """One keep-alive HTTP/1.1 GET on a pooled connection (opened on demand): status and headers."""
    try:
        reader, writer = pool.get_nowait()
    except asyncio.QueueEmpty:
        reader, writer = await asyncio.open_connection(host, port)
    try:
        writer.write(f"GET {path} HTTP/1.1\r\nHost: {host}:{port}\r\n\r\n".encode("ascii"))
        head = await reader.readuntil(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        headers = {name.strip().lower(): value.strip()
                   for name, _, value in (line.partition(":") for line in lines[1:] if line)}
        await reader.readexactly(int(headers.get("content-length", "0")))
    except BaseException:
        writer.close()
        raise
    pool.put_nowait((reader, writer))
    return int(lines[0].split()[1]), headers


def drive(base_url: str, plan: list[str], rate: float, max_seconds: float) -> "Samples":
    """Send ``plan`` (one path per request) at ``rate`` per second, open loop; stop at max_seconds.

    One asyncio loop with keep-alive connections (at most 64 in flight), so the generator's own CPU
    stays small beside the server's on a shared 2-core machine."""
    host, port = base_url.removeprefix("http://").rsplit(":", 1)
    route, stripe_ms, client_ms, statuses = [], [], [], {}
    errors = 0

    async def run() -> float:
        pool: asyncio.Queue = asyncio.Queue()
        in_flight = asyncio.Semaphore(64)

        async def one(path: str) -> None:
            nonlocal errors
            async with in_flight:
                start = time.perf_counter()
                try:
                    status, headers = await asyncio.wait_for(_get(pool, host, int(port), path), timeout=10)
                except (OSError, asyncio.TimeoutError, asyncio.IncompleteReadError, ValueError, IndexError):
                    errors += 1
                    return
                client_ms.append((time.perf_counter() - start) * 1000)
            timing = _server_timing(headers.get("server-timing", "route;dur=nan, stripe;dur=nan"))
            statuses[status] = statuses.get(status, 0) + 1
            route.append(timing["route"])
            if timing["stripe"] > 0:
                stripe_ms.append(timing["stripe"])

        started = time.perf_counter()
        tasks = []
        for i, path in enumerate(plan):
            due = i / rate
            if due > max_seconds:
                break
            delay = started + due - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            tasks.append(asyncio.create_task(one(path)))
        wall = time.perf_counter() - started
        await asyncio.gather(*tasks)
        while not pool.empty():
            pool.get_nowait()[1].close()
        return wall

    # A loop of its own on a thread of its own, so a caller that already runs an event loop can drive too.
    with ThreadPoolExecutor(max_workers=1) as thread:
        wall = thread.submit(asyncio.run, run()).result()
    return Samples(route, stripe_ms, client_ms, statuses, errors, wall)


@dataclasses.dataclass
class Samples:
    """What one ``drive`` saw, plus the CPU the server processes spent meanwhile."""

    route: list[float]
    stripe: list[float]
    client: list[float]
    statuses: dict[int, int]
    errors: int
    wall: float
    app_cpu_seconds: float = 0.0
    emulator_cpu_seconds: float = 0.0

    @property
    def requests(self) -> int:
        return len(self.route) + self.errors


def summarise(runs: list[Samples]) -> dict[str, object]:
    """Figures over the requests of every run pooled (percentiles of all samples, rates and CPU per
    request over the totals), and each run's own route p99 beside them to show the spread."""
    def pooled(name: str) -> list[float]:
        return [v for run in runs for v in getattr(run, name)]

    def ms(values: list[float], q: float) -> float | None:
        value = _percentile(values, q)
        return None if value is None else round(value, 3)

    requests = sum(run.requests for run in runs)
    per_request = 1000 / max(1, requests)
    return {
        "runs": len(runs),
        "requests": requests,
        "achieved_rps": round(requests / sum(run.wall for run in runs), 1),
        "route_p50_ms": ms(pooled("route"), 50),
        "route_p99_ms": ms(pooled("route"), 99),
        "route_p99_ms_each_run": [ms(run.route, 99) for run in runs],
        "stripe_per_call_p50_ms": ms(pooled("stripe"), 50),
        "stripe_per_call_p99_ms": ms(pooled("stripe"), 99),
        "client_p50_ms": ms(pooled("client"), 50),
        "client_p99_ms": ms(pooled("client"), 99),
        "minted": len(pooled("stripe")),
        "errors": sum(run.errors for run in runs),
        "server_errors": sum(n for run in runs for status, n in run.statuses.items() if status >= 500),
        "app_cpu_ms_per_request": round(sum(run.app_cpu_seconds for run in runs) * per_request, 3),
        "emulator_cpu_ms_per_request": round(sum(run.emulator_cpu_seconds for run in runs) * per_request, 3),
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


@contextlib.contextmanager
def fresh_database(database_url: str | None, tmp: str):
    """A database URL for one run: a SQLite file in ``tmp``, or a new PostgreSQL database dropped afterwards."""
    if not database_url:
        yield f"sqlite:///{tmp}/load.db"
        return
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    url = make_url(database_url)
    if url.get_backend_name() != "postgresql":
        raise SystemExit(f"pay_route_load: --database-url must be a postgresql URL, got {url.get_backend_name()!r}")
    name = f"blastpay_load_{os.getpid()}"
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        yield url.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def _cpu_seconds(pid: int) -> float:
    """CPU time (user + system) the process has used so far, from /proc (0.0 where /proc is missing)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def machine() -> dict[str, object]:
    return {"platform": platform.platform(), "python": platform.python_version(), "cpus": os.cpu_count(),
            "processor": platform.processor() or platform.machine(), "node": "loopback",
            "load_average_1m_at_start": round(os.getloadavg()[0], 2)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rates", default="50,200", help="requests per second, comma-separated")
    parser.add_argument("--seconds", type=float, default=10.0, help="duration per rate (bounded)")
    parser.add_argument("--write", action="store_true", help=f"store the figures in {OUTPUT.relative_to(ROOT)}")
    parser.add_argument("--workers", type=int, default=None,
                        help="app worker processes sharing the socket (default: one per CPU on PostgreSQL, 1 on SQLite)")
    parser.add_argument("--serve-worker", nargs=6, help=argparse.SUPPRESS)
    parser.add_argument("--warm-up", type=int, default=WARM_UP_CLICKS,
                        help=f"clicks sent before measuring, not recorded (default {WARM_UP_CLICKS})")
    parser.add_argument("--repeat", type=int, default=3,
                        help="runs, each on a fresh stack and database; figures pool their requests (default 3)")
    parser.add_argument("--database-url", default=None,
                        help="store for the server (default: a SQLite file in a temporary directory)")
    args = parser.parse_args(argv)
    if args.serve_worker:
        fd, stripe_base, database_url, now, secret, base = args.serve_worker
        serve_worker(int(fd), stripe_base, database_url, int(now), secret, base)
        return 0
    try:
        rates = [float(r) for r in args.rates.split(",") if r.strip()]
    except ValueError:
        print(f"pay_route_load: --rates must be numbers like 50,200, got {args.rates!r}", file=sys.stderr)
        return 2
    store = "postgresql" if (args.database_url or "").startswith("postgresql") else "sqlite_file"
    default_workers = (os.cpu_count() or 1) if store == "postgresql" else 1
    if args.workers is None:
        args.workers = default_workers
    if not rates or any(r <= 0 or r > 2000 for r in rates) or not 0 < args.seconds <= 120 or not 1 <= args.workers <= 16 \
            or not 1 <= args.repeat <= 20 or not 0 <= args.warm_up <= 100_000:
        print("pay_route_load: rates must be in (0, 2000], --seconds in (0, 120], --workers in [1, 16] "
              "--repeat in [1, 20] and --warm-up in [0, 100000]",
              file=sys.stderr)
        return 2

    per_rate = [int(r * args.seconds) for r in rates]
    orders = args.warm_up + sum(per_rate) + 10
    runs: dict[str, list[Samples]] = {}
    for repeat in range(args.repeat):
        with tempfile.TemporaryDirectory() as tmp, fresh_database(args.database_url, tmp) as database_url, \
                stack(orders, database_url, args.workers) as (base, tokens, pids):
            workers = [pid for name, pid in pids.items() if name.startswith("worker_")]

            def measured(group: str, plan: list[str], rate: float) -> None:
                app_before, emulator_before = sum(map(_cpu_seconds, workers)), _cpu_seconds(pids["emulator"])
                samples = drive(base, plan, rate, args.seconds)
                samples.app_cpu_seconds = sum(map(_cpu_seconds, workers)) - app_before
                samples.emulator_cpu_seconds = _cpu_seconds(pids["emulator"]) - emulator_before
                runs.setdefault(group, []).append(samples)
                print(f"run {repeat + 1}/{args.repeat} {group}: route p99 {_percentile(samples.route, 99)} ms",
                      file=sys.stderr, flush=True)

            # Warm-up, not recorded: every path the load takes (unknown token, first click, returning
            # click) at a moderate rate, so connection pools, compiled statements and prepared queries
            # exist, as they do in a server that has been up before the blast goes out.
            drive(base, ["/pay/" + "B" * 47] * 100 + _plan(tokens, args.warm_up, 0), 100, 60)
            measured("baseline_404", ["/pay/" + "A" * 47] * int(min(rates) * args.seconds), min(rates))
            offset = args.warm_up
            for rate, count in zip(rates, per_rate):
                measured(f"rate_{int(rate)}_rps", _plan(tokens, count, offset), rate)
                offset += count

    figures = {group: summarise(samples) for group, samples in runs.items()}
    for group, values in figures.items():
        if group != "baseline_404":
            values["route_p99_vs_baseline"] = round(values["route_p99_ms"] / figures["baseline_404"]["route_p99_ms"], 2)  # type: ignore[operator]

    for group, values in figures.items():
        for name, value in values.items():
            print(f"{group}.{name}: {value}")
    top = f"rate_{int(max(rates))}_rps"
    met = figures[top]["route_p99_ms"] < TARGET_ROUTE_P99_MS  # type: ignore[index]
    print(f"target_route_p99_ms: {TARGET_ROUTE_P99_MS}")
    print(f"target_met_at_{int(max(rates))}_rps: {'yes' if met else 'no'}")
    if args.write:
        if args.workers != default_workers:
            store += f"_{args.workers}_workers"
        record = json.loads(OUTPUT.read_text()) if OUTPUT.exists() else {}
        record.update({"measured_at": dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d"), "machine": machine(),
                       "command": "python benchmarks/pay_route_load.py --write [--database-url $DATABASE_URL_POSTGRES] [--workers N]",
                       "target_route_p99_ms": TARGET_ROUTE_P99_MS, "returning_share": RETURNING_SHARE})
        record.setdefault("stores", {})[store] = {"seconds_per_rate": args.seconds, "target_met": met,
                                                  "workers": args.workers, "runs": args.repeat, "figures": figures}
        OUTPUT.parent.mkdir(parents=True, exist_ok=True)
        OUTPUT.write_text(json.dumps(record, indent=2, sort_keys=True) + "\n")
        print(f"written: {OUTPUT.relative_to(ROOT)} (store {store})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
