"""Load on GET /pay/{token}: a blast in which every parent clicks within minutes.

The stack, all on loopback: the Stripe emulator in its own process (``python -m blastpay.emulator``,
standing in for Stripe, which runs on other machines), and the lazy-mint app under uvicorn in worker
processes sharing one listening socket, each calling the emulator through the real SDK and its default
HTTP client (HMAC tokens; a SQLite file, or PostgreSQL with ``--database-url``). A middleware in each
worker times every request, the Stripe calls it made and the database connections it held, and answers
``Server-Timing: route;dur=<ms>, stripe;dur=<ms>, total;dur=<ms>, db;dur=<ms>, dbmax;dur=<ms>,
poolwait;dur=<ms>``: ``route`` is the route's own work (the request minus Stripe's time), ``stripe``
the time spent in Stripe calls, ``total`` the whole request, ``db`` the time the click held pooled
database connections (SQLAlchemy pool checkout to checkin, summed), ``dbmax`` its longest single
hold and ``poolwait`` the time it waited for the pool; a pool timeout is counted. The parent process
drives an open-loop load generator (one asyncio loop, keep-alive connections, at most
``--max-in-flight`` requests in flight, requests scheduled at a fixed rate, bounded count and
duration) at each rate: each request a different parent's first click (a fresh token, so every click
mints a Checkout Session), plus a share of returning clicks that reuse the session (no Stripe call). A
warm-up that takes every path runs first and is not recorded. CPU per request is read from /proc for
the app workers and the emulator.

Stripe's latency (``--stripe-latency-ms`` median, ``--stripe-latency-p99-ms``): a lognormal delay in real
wall time on every ``POST /v1/checkout/sessions``, injected by the emulator's latency fault
(``POST /_sandbox/faults route=... latency_ms=N latency_p99_ms=M``), which delays that answer without
holding up other requests (an emulator without the fault stops the run). With latency the run also
sends a burst of ``BURST_CLICKS`` simultaneous clicks on one fresh order and counts the Checkout
Sessions Stripe created for it and the open ones the app recorded (``burst.*``), and states the highest
rate at which every latency target held (``highest_rate_latency_targets_hold``).

Designs (``--designs new,old``): ``new`` is the app as shipped (Stripe called outside any transaction,
idempotency key, two short transactions); ``old`` is the design it replaced, reimplemented here
(``InLockLazyMint``: the order row locked and a pooled connection held while Stripe answers), measured
in the same run on the same stack as the baseline. Groups of the old design are prefixed ``old_``.

Workers: one per CPU on PostgreSQL; one on SQLite, whose write lock covers the whole database and whose
busy handler sleeps, so clicks in several processes starve each other (``--workers 2`` on SQLite shows
it; such a run is stored under its own name).

Prints ``name: value`` lines; ``--write`` also stores them with the date and machine in
experiments/measurements/pay_route_load.json, under the store measured (``sqlite_file`` by default,
``postgresql`` with ``--database-url postgresql+psycopg://...``; run once per store; a run with Stripe
latency is stored as ``<store>_stripe_<N>ms``). A PostgreSQL URL names the server: each run creates a
fresh database beside the one named and drops it afterwards, so earlier runs' rows never collide with
this run's (the emulator's ids are seeded). Baseline in the same run: a 404 for an unknown token at the
lowest rate (the route's floor: token check and page, no database write, no Stripe).

Each configuration runs ``--repeat`` times (default 3) on a fresh stack and database; the figures pool
the requests of all runs, and each run's route p99 is listed beside them, so one unlucky run shows as
spread rather than deciding the figure alone.

    python benchmarks/pay_route_load.py [--rates 50,200] [--seconds 10] [--workers N] [--repeat 3] [--write]
    python benchmarks/pay_route_load.py --database-url $DATABASE_URL_POSTGRES --rates 200 \
        --stripe-latency-ms 300 --stripe-latency-p99-ms 600 --designs new,old --repeat 1
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
OUTPUT = ROOT / "experiments" / "measurements" / "pay_route_load.json"
sys.path.insert(0, str(ROOT / "src"))
from blastpay.experiments.reliability import LOAD_TARGETS  # noqa: E402 (the one statement of the targets)

TARGET_ROUTE_P99_MS = LOAD_TARGETS["route_p99_ms"]
TARGET_ABOVE_STRIPE_P99_MS = LOAD_TARGETS["minting_click_above_stripe_p99_ms"]
TARGET_DB_HOLD_MS = LOAD_TARGETS["db_hold_per_click_p99_ms"]
TARGET_RATE_WITH_LATENCY = LOAD_TARGETS["rate_with_stripe_latency"]
WARM_UP_CLICKS = 300
BURST_CLICKS = 20  # simultaneous clicks on one order: Stripe must end up with one open session for it
RETURNING_SHARE = 0.2  # clicks that are a parent coming back to the session minted minutes earlier

_stripe_seconds: contextvars.ContextVar[list] = contextvars.ContextVar("stripe_seconds")
_db_bucket: contextvars.ContextVar[dict] = contextvars.ContextVar("db_bucket")


def in_lock_lazy_mint_class():
    """The design the shipped route replaced, for the baseline: one transaction locks the order row and
    holds its pooled connection while Stripe creates the session, then records it."""
    import stripe
    from sqlalchemy.exc import InterfaceError, OperationalError

    from blastpay.flows.checkout_session import create_checkout_session
    from blastpay.flows.email_link import stripe_error_text
    from blastpay.flows.lazy_mint import LazyMint, PayOutcome
    from blastpay.flows.order_models import CHECKOUT_SESSION
    from blastpay.flows.orders import add_stripe_object

    class InLockLazyMint(LazyMint):
        def open(self, token: str) -> PayOutcome:
            now = self.clock()
            try:
                with self.store.transaction() as session:
                    order = self._resolve_and_reuse(session, token, now)
                    if isinstance(order, PayOutcome):
                        return order
                    created = create_checkout_session(self.client, order, expires_at=now + self.config.session_ttl,
                                                      success_url=self.config.success_url,
                                                      cancel_url=self.config.cancel_url)
                    add_stripe_object(session, kind=CHECKOUT_SESSION, stripe_id=created.id, url=created.url,
                                      status="open", now=now, order_id=order.id, expires_at=created.expires_at)
                    return PayOutcome("redirect", url=created.url, order_id=order.id, minted=True)
            except stripe.StripeError as exc:
                return PayOutcome("try_again", detail=stripe_error_text(exc))
            except (OperationalError, InterfaceError) as exc:
                return PayOutcome("try_again", detail=f"database: {type(exc.orig).__name__}")

    return InLockLazyMint


# -- the server (worker processes) ----------------------------------------------------------------

def track_connection_holds(engine, on_hold) -> None:
    """Call ``on_hold(seconds)`` each time a pooled connection of ``engine`` is checked in, with the time since
    its checkout (the time it was held)."""
    from sqlalchemy import event

    @event.listens_for(engine, "checkout")
    def _checkout(dbapi_conn, record, proxy):
        record.info["blastpay_checkout"] = time.perf_counter()

    @event.listens_for(engine, "checkin")
    def _checkin(dbapi_conn, record):
        start = record.info.pop("blastpay_checkout", None)
        if start is not None:
            on_hold(time.perf_counter() - start)


def serve_worker(fd: int, stripe_base: str, database_url: str, now: int, webhook_secret: str, base: str,
                 design: str = "new") -> None:
    """One uvicorn worker of the lazy-mint app on the listening socket ``fd`` it shares with its siblings."""
    import socket

    import sqlalchemy.exc
    import stripe
    import uvicorn

    from blastpay.flows.harness import CANCEL_URL, EXPERIMENT_TOKEN_KEYS, SUCCESS_URL
    from blastpay.flows.lazy_mint import LazyMintConfig
    from blastpay.flows.orders import OrderStore
    from blastpay.flows.pay_route import create_app
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

    # The SDK's default client (requests), without its per-call scan of the environment for proxy
    # settings (trust_env): a deployment that configures its proxy explicitly saves that on every call.
    import requests

    session = requests.Session()
    session.trust_env = False
    client = stripe.StripeClient("sk_test_emulator", http_client=TimedStripe(stripe.RequestsClient(session=session)),
                                 base_addresses={"api": stripe_base}, max_network_retries=0)
    store = OrderStore(database_url)

    # Connection hold time, per click (the click's thread runs in a copy of the request's context, so the
    # bucket is the request's).
    def _held(held: float) -> None:
        bucket = _db_bucket.get(None)
        if bucket is not None:
            bucket["held"] += held
            bucket["max"] = max(bucket["max"], held)

    track_connection_holds(store.engine, _held)

    pool = store.engine.pool
    pool_get = pool._do_get

    def timed_get():  # the wait for a pooled connection, and the pool timeouts (default pool: 5 + 10, 30 s)
        start = time.perf_counter()
        bucket = _db_bucket.get(None)
        try:
            return pool_get()
        except sqlalchemy.exc.TimeoutError:
            if bucket is not None:
                bucket["timeouts"] += 1
            raise
        finally:
            if bucket is not None:
                bucket["wait"] += time.perf_counter() - start

    pool._do_get = timed_get
    # Nothing advances the emulator's clock during the load, so the app reads it once (a per-request
    # read over HTTP would be a Stripe-side cost that production does not have: it reads its own clock).
    app = create_app(store=store, stripe_client=client, binding=make_binding("hmac", parse_token_keys(EXPERIMENT_TOKEN_KEYS)),
                     clock=lambda: now, config=LazyMintConfig(public_base_url=base, success_url=SUCCESS_URL,
                                                              cancel_url=CANCEL_URL),
                     webhook_secrets=[webhook_secret],
                     lazy_mint_class=in_lock_lazy_mint_class() if design == "old" else None)

    async def timed(scope, receive, send):
        if scope["type"] != "http":
            return await app(scope, receive, send)
        bucket = [0.0]
        _stripe_seconds.set(bucket)
        db = {"held": 0.0, "max": 0.0, "wait": 0.0, "timeouts": 0}
        _db_bucket.set(db)
        start = time.perf_counter()

        async def send_with_timing(message):
            if message["type"] == "http.response.start":
                total = time.perf_counter() - start
                value = (f"route;dur={(total - bucket[0]) * 1000:.3f}, stripe;dur={bucket[0] * 1000:.3f}, "
                         f"total;dur={total * 1000:.3f}, db;dur={db['held'] * 1000:.3f}, "
                         f"dbmax;dur={db['max'] * 1000:.3f}, poolwait;dur={db['wait'] * 1000:.3f}, "
                         f"pooltimeouts;dur={db['timeouts']}")
                message = dict(message, headers=list(message.get("headers", [])) + [(b"server-timing", value.encode())])
            await send(message)

        await app(scope, receive, send_with_timing)

    gc.collect()
    gc.freeze()  # what start-up built lives as long as the worker; keep it out of every collection
    print("ready", flush=True)
    uvicorn.Server(uvicorn.Config(timed, log_level="warning", lifespan="off", access_log=False)).run(
        sockets=[socket.socket(fileno=fd)])


@contextlib.contextmanager
def stack(orders: int, database_url: str, workers: int, *, design: str = "new", latency_ms: float = 0.0,
          latency_p99_ms: float = 0.0):
    """Start the emulator, seed ``orders`` and their emailed tokens, set Stripe's latency, start
    ``workers`` app workers of ``design``.

    Yields (base URL, tokens, {process name: pid}, who injects the latency: "emulator" or "none", the
    emulator's base URL)."""
    import socket

    import httpx
    import stripe

    from blastpay.flows.harness import CANCEL_URL, EXPERIMENT_TOKEN_KEYS, SUCCESS_URL
    from blastpay.flows.lazy_mint import LazyMint, LazyMintConfig
    from blastpay.flows.order_models import OrderSpec
    from blastpay.flows.orders import OrderStore
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
        injected_by = "none"
        if latency_ms > 0:
            fault = httpx.post(f"{stripe_base}/_sandbox/faults", timeout=10,
                               json={"route": "POST /v1/checkout/sessions", "latency_ms": int(latency_ms),
                                     "latency_p99_ms": int(max(latency_p99_ms, latency_ms))})
            if fault.status_code != 200:
                raise SystemExit(f"pay_route_load: the emulator refused the latency fault: {fault.text[:300]}")
            injected_by = "emulator"
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
                 endpoint.secret, base, design], stdout=subprocess.PIPE, text=True, cwd=ROOT, pass_fds=[sock.fileno()]))
        for worker in processes[1:]:
            if worker.stdout.readline().strip() != "ready":
                raise SystemExit("pay_route_load: an app worker did not start")
        pids = {"emulator": emulator.pid} | {f"worker_{i}": p.pid for i, p in enumerate(processes[1:])}
        yield base, [links[o.id].url.rsplit("/", 1)[-1] for o in made], pids, injected_by, stripe_base
    finally:
        sock.close()
        for process in processes:
            process.terminate()
        for process in processes:
            process.wait(timeout=10)


# -- the load generator (parent process) ----------------------------------------------------------

def burst(base_url: str, stripe_base: str, database_url: str, token: str, *, clicks: int = BURST_CLICKS,
          timeout: float = 10.0) -> dict[str, object]:
    """``clicks`` simultaneous first clicks on one fresh order (one connection each, sent at once): the
    pages they got, the Checkout Sessions Stripe created meanwhile (the emulator's newest sessions; nothing
    else runs during the burst), how many of those are open, and the open sessions the app recorded."""
    import stripe
    from sqlalchemy import create_engine, text

    client = stripe.StripeClient("sk_test_emulator", base_addresses={"api": stripe_base}, max_network_retries=0)
    newest = client.v1.checkout.sessions.list({"limit": 1}).data
    host, port = base_url.removeprefix("http://").rsplit(":", 1)

    async def run() -> list[tuple[int, str]]:
        async def one() -> tuple[int, str]:
            reader, writer = await asyncio.open_connection(host, int(port))
            try:
                writer.write(f"GET /pay/{token} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n".encode())
                head = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1").split("\r\n")
                headers = {k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in head[1:] if line)}
                return int(head[0].split()[1]), headers.get("location", "")
            finally:
                writer.close()

        return await asyncio.gather(*(asyncio.wait_for(one(), timeout) for _ in range(clicks)), return_exceptions=True)

    with ThreadPoolExecutor(max_workers=1) as thread:
        answers = thread.submit(asyncio.run, run()).result()
    params = {"limit": 100} | ({"ending_before": newest[0].id} if newest else {})
    created = client.v1.checkout.sessions.list(params).data
    engine = create_engine(database_url)
    try:
        with engine.connect() as conn:
            open_ids = set(conn.execute(text("SELECT stripe_id FROM stripe_objects WHERE kind = 'checkout_session' "
                                             "AND status = 'open'")).scalars())
        recorded_open = len(open_ids & {c.id for c in created})
    finally:
        engine.dispose()
    statuses: dict[str, int] = {}
    for answer in answers:
        key = "error" if isinstance(answer, BaseException) else str(answer[0])
        statuses[key] = statuses.get(key, 0) + 1
    redirected_to = {a[1].rsplit("/", 1)[-1] for a in answers if not isinstance(a, BaseException) and a[0] == 303}
    return {"clicks": clicks, "statuses": statuses, "sessions_redirected_to": len(redirected_to),
            "sessions_created_in_stripe": len(created),
            "open_sessions_in_stripe": sum(1 for c in created if c.status == "open"),
            "open_sessions_recorded": recorded_open}


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


def drive(base_url: str, plan: list[str], rate: float, max_seconds: float, *, max_in_flight: int = 64,
          timeout: float = 10.0) -> "Samples":
    """Send ``plan`` (one path per request) at ``rate`` per second, open loop; stop at max_seconds.

    One asyncio loop with keep-alive connections (at most ``max_in_flight`` in flight), so the
    generator's own CPU stays small beside the server's on a shared 2-core machine."""
    host, port = base_url.removeprefix("http://").rsplit(":", 1)
    route, stripe_ms, client_ms, statuses = [], [], [], {}
    minting_total, db_held, db_max, pool_wait = [], [], [], []
    pool_timeouts = 0
    errors = 0

    async def run() -> float:
        pool: asyncio.Queue = asyncio.Queue()
        in_flight = asyncio.Semaphore(max_in_flight)

        async def one(path: str) -> None:
            nonlocal errors, pool_timeouts
            async with in_flight:
                start = time.perf_counter()
                try:
                    status, headers = await asyncio.wait_for(_get(pool, host, int(port), path), timeout=timeout)
                except (TimeoutError, OSError, asyncio.IncompleteReadError, ValueError, IndexError):
                    errors += 1
                    return
                client_ms.append((time.perf_counter() - start) * 1000)
            timing = _server_timing(headers.get("server-timing", "route;dur=nan, stripe;dur=nan"))
            statuses[status] = statuses.get(status, 0) + 1
            route.append(timing["route"])
            if timing["stripe"] > 0:
                stripe_ms.append(timing["stripe"])
                if "total" in timing:
                    minting_total.append(timing["total"])
            if "db" in timing:
                db_held.append(timing["db"])
                db_max.append(timing["dbmax"])
                pool_wait.append(timing["poolwait"])
                pool_timeouts += int(timing.get("pooltimeouts", 0))

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
    return Samples(route, stripe_ms, client_ms, statuses, errors, wall, minting_total=minting_total, db_held=db_held,
                   db_max=db_max, pool_wait=pool_wait, pool_timeouts=pool_timeouts)


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
    load_generator_cpu_seconds: float = 0.0
    postgres_cpu_seconds: float = 0.0  # every postgres process on this machine (0 for SQLite or a remote server)
    machine_busy_seconds: float = 0.0  # all CPUs, from /proc/stat: whatever ran, the stack or not
    machine_cpu_seconds: float = 0.0  # all CPUs' time over the window (busy + idle)
    minting_total: list[float] = dataclasses.field(default_factory=list)  # whole request, clicks that called Stripe
    db_held: list[float] = dataclasses.field(default_factory=list)  # connection time per click (ms)
    db_max: list[float] = dataclasses.field(default_factory=list)  # longest single connection hold per click
    pool_wait: list[float] = dataclasses.field(default_factory=list)  # waiting for a pooled connection per click
    pool_timeouts: int = 0

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
        "load_generator_cpu_ms_per_request": round(sum(run.load_generator_cpu_seconds for run in runs) * per_request, 3),
        "postgres_cpu_ms_per_request": round(sum(run.postgres_cpu_seconds for run in runs) * per_request, 3),
        "stack_cpu_ms_per_request": round(sum(run.app_cpu_seconds + run.emulator_cpu_seconds + run.postgres_cpu_seconds
                                              + run.load_generator_cpu_seconds for run in runs) * per_request, 3),
        "machine_cpu_busy_share": (round(sum(run.machine_busy_seconds for run in runs)
                                         / sum(run.machine_cpu_seconds for run in runs), 3)
                                   if sum(run.machine_cpu_seconds for run in runs) > 0 else None),
        "minting_click_p50_ms": ms(pooled("minting_total"), 50),
        "minting_click_p99_ms": ms(pooled("minting_total"), 99),
        "db_hold_per_click_p50_ms": ms(pooled("db_held"), 50),
        "db_hold_per_click_p99_ms": ms(pooled("db_held"), 99),
        "db_hold_per_click_max_ms": ms(pooled("db_held"), 100),
        "db_hold_longest_single_p99_ms": ms(pooled("db_max"), 99),
        "pool_wait_p99_ms": ms(pooled("pool_wait"), 99),
        "pool_timeouts": sum(run.pool_timeouts for run in runs),
    }


def latency_verdicts(f: dict[str, object], rate: float) -> dict[str, bool]:
    """The targets at Stripe's latency, for one rate's figures: sustained without errors, a minting click's
    p99 within Stripe's p99 + 30 ms, a click's connection hold p99 under 5 ms, no pool timeouts."""
    bound = (f["stripe_per_call_p99_ms"] or 0) + TARGET_ABOVE_STRIPE_P99_MS  # type: ignore[operator]
    return {
        "sustained_without_errors": (f["achieved_rps"] >= 0.98 * rate and f["errors"] == 0  # type: ignore[operator]
                                     and f["server_errors"] == 0),
        "minting_click_p99_within_stripe_p99_plus_30ms": (f["minting_click_p99_ms"] or 1e9) <= bound,  # type: ignore[operator]
        "db_hold_per_click_p99_under_5ms": (f["db_hold_per_click_p99_ms"] or 1e9) < TARGET_DB_HOLD_MS,  # type: ignore[operator]
        "no_pool_timeouts": f["pool_timeouts"] == 0,
    }


def _pool_bursts(each: list[dict[str, object]]) -> dict[str, object]:
    """Bursts of every run: the worst of each count (one open session per order is the target)."""
    return {"runs": len(each), "clicks": each[0]["clicks"],
            "statuses_each_run": [b["statuses"] for b in each],
            **{key: max(b[key] for b in each) for key in ("sessions_redirected_to", "sessions_created_in_stripe",  # type: ignore[type-var]
                                                          "open_sessions_in_stripe", "open_sessions_recorded")},
            "one_open_session": all(b["open_sessions_in_stripe"] == 1 and b["open_sessions_recorded"] == 1
                                    and b["sessions_redirected_to"] == 1 for b in each)}


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
    # pre-ping: a test elsewhere on the same server may have killed the pooled admin connection meanwhile
    admin = create_engine(url, isolation_level="AUTOCOMMIT", pool_pre_ping=True)
    try:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        yield url.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def cpu_budget_figures(figures: dict[str, dict[str, object]], top: str, cpus: int) -> dict[str, object]:
    """Whether this machine can carry the top rate at all: the CPU every process of the stack spent per click
    (app, emulator, PostgreSQL, load generator), the cores that makes at the rate, and the rate at which the
    machine's cores would be fully busy at that cost (queues grow without bound there, whatever the design)."""
    f = figures[top]
    stack = f.get("stack_cpu_ms_per_request")
    if not stack:
        return {}
    return {"rate": top, "cpus": cpus, "stack_cpu_ms_per_click": stack,
            "app_cpu_ms_per_click": f["app_cpu_ms_per_request"],
            "cores_needed_at_rate": round(float(stack) * float(f["achieved_rps"]) / 1000, 2),  # type: ignore[arg-type]
            "machine_cpu_busy_share": f.get("machine_cpu_busy_share"),
            "rate_at_which_cores_are_full": round(cpus * 1000 / float(stack), 1)}  # type: ignore[arg-type]


def _cpu_seconds(pid: int) -> float:
    """CPU time (user + system) the process has used so far, from /proc (0.0 where /proc is missing)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _postgres_cpu() -> dict[int, float]:
    """CPU time so far of every process named ``postgres`` on this machine (the server and its backends), by pid."""
    out = {}
    for proc in Path("/proc").glob("[0-9]*"):
        try:
            if (proc / "comm").read_text().strip() == "postgres":
                out[int(proc.name)] = _cpu_seconds(int(proc.name))
        except OSError:
            continue
    return out


def _postgres_cpu_since(before: dict[int, float]) -> float:
    """What the postgres processes alive now spent since ``before`` (a backend that exited meanwhile is lost:
    the pool keeps its connections, so that is rare; never negative)."""
    return sum(max(0.0, cpu - before.get(pid, 0.0)) for pid, cpu in _postgres_cpu().items())


def _machine_cpu() -> tuple[float, float]:
    """(busy, total) CPU seconds of all CPUs since boot, from the first line of /proc/stat ((0, 0) without it)."""
    try:
        ticks = [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:9]]
    except (OSError, ValueError, IndexError):
        return 0.0, 0.0
    hz = os.sysconf("SC_CLK_TCK")
    idle = ticks[3] + ticks[4]  # idle + iowait
    return (sum(ticks) - idle) / hz, sum(ticks) / hz


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
    parser.add_argument("--serve-worker", nargs=7, help=argparse.SUPPRESS)
    parser.add_argument("--warm-up", type=int, default=WARM_UP_CLICKS,
                        help=f"clicks sent before measuring, not recorded (default {WARM_UP_CLICKS})")
    parser.add_argument("--repeat", type=int, default=3,
                        help="runs, each on a fresh stack and database; figures pool their requests (default 3)")
    parser.add_argument("--database-url", default=None,
                        help="store for the server (default: a SQLite file in a temporary directory)")
    parser.add_argument("--stripe-latency-ms", type=float, default=0.0,
                        help="median wall-clock latency of a Checkout Session create (default 0: loopback as is)")
    parser.add_argument("--stripe-latency-p99-ms", type=float, default=None,
                        help="its 99th percentile (lognormal; default twice the median)")
    parser.add_argument("--designs", default="new",
                        help="comma-separated: new (as shipped) and/or old (the in-lock design, as the baseline)")
    parser.add_argument("--max-in-flight", type=int, default=512, help="requests the load generator keeps in flight")
    args = parser.parse_args(argv)
    if args.serve_worker:
        fd, stripe_base, database_url, now, secret, base, design = args.serve_worker
        serve_worker(int(fd), stripe_base, database_url, int(now), secret, base, design)
        return 0
    try:
        rates = [float(r) for r in args.rates.split(",") if r.strip()]
    except ValueError:
        print(f"pay_route_load: --rates must be numbers like 50,200, got {args.rates!r}", file=sys.stderr)
        return 2
    designs = [d.strip() for d in args.designs.split(",") if d.strip()]
    latency_p99 = args.stripe_latency_p99_ms if args.stripe_latency_p99_ms is not None else 2 * args.stripe_latency_ms
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
    if not designs or not set(designs) <= {"new", "old"} or not 0 <= args.stripe_latency_ms <= 5000 \
            or not args.stripe_latency_ms <= latency_p99 <= 20_000 or not 1 <= args.max_in_flight <= 4096:
        print("pay_route_load: --designs takes new and/or old, --stripe-latency-ms must be in [0, 5000] with "
              "--stripe-latency-p99-ms at least the median (at most 20000), --max-in-flight in [1, 4096]",
              file=sys.stderr)
        return 2

    counts = [int(r * args.seconds) for r in rates]
    orders = args.warm_up + sum(counts) + 10
    load_start = round(os.getloadavg()[0], 2)
    timeout = max(10.0, 4 * latency_p99 / 1000)
    runs: dict[str, list[Samples]] = {}
    bursts: dict[str, list[dict[str, object]]] = {}
    injected = set()
    for repeat in range(args.repeat):
        for design in designs:
            prefix = "" if design == "new" else f"{design}_"
            with tempfile.TemporaryDirectory() as tmp, fresh_database(args.database_url, tmp) as database_url, \
                    stack(orders, database_url, args.workers, design=design, latency_ms=args.stripe_latency_ms,
                          latency_p99_ms=latency_p99) as (base, tokens, pids, injected_by, stripe_base):
                injected.add(injected_by)
                workers = [pid for name, pid in pids.items() if name.startswith("worker_")]

                def measured(group: str, plan: list[str], rate: float, workers: list[int] = workers,
                             repeat: int = repeat) -> None:
                    app_before, emulator_before = sum(map(_cpu_seconds, workers)), _cpu_seconds(pids["emulator"])
                    own_before, postgres_before = _cpu_seconds(os.getpid()), _postgres_cpu()
                    busy_before, total_before = _machine_cpu()
                    samples = drive(base, plan, rate, args.seconds, max_in_flight=args.max_in_flight, timeout=timeout)
                    samples.app_cpu_seconds = sum(map(_cpu_seconds, workers)) - app_before
                    samples.emulator_cpu_seconds = _cpu_seconds(pids["emulator"]) - emulator_before
                    samples.load_generator_cpu_seconds = _cpu_seconds(os.getpid()) - own_before
                    samples.postgres_cpu_seconds = _postgres_cpu_since(postgres_before)
                    busy_after, total_after = _machine_cpu()
                    samples.machine_busy_seconds = busy_after - busy_before
                    samples.machine_cpu_seconds = total_after - total_before
                    runs.setdefault(group, []).append(samples)
                    print(f"run {repeat + 1}/{args.repeat} {group}: route p99 {_percentile(samples.route, 99)} ms, "
                          f"minting click p99 {_percentile(samples.minting_total, 99)} ms, "
                          f"connection hold p99 {_percentile(samples.db_held, 99)} ms, errors {samples.errors}",
                          file=sys.stderr, flush=True)

                # Warm-up, not recorded: every path the load takes (unknown token, first click, returning
                # click) at a moderate rate, so connection pools, compiled statements and prepared queries
                # exist, as they do in a server that has been up before the blast goes out.
                drive(base, ["/pay/" + "B" * 47] * 100 + _plan(tokens, args.warm_up, 0), 100, 60,
                      max_in_flight=args.max_in_flight, timeout=timeout)
                if design == designs[0]:
                    measured("baseline_404", ["/pay/" + "A" * 47] * int(min(rates) * args.seconds), min(rates))
                offset = args.warm_up
                for rate, count in zip(rates, counts):
                    measured(f"{prefix}rate_{int(rate)}_rps", _plan(tokens, count, offset), rate)
                    offset += count
                if args.stripe_latency_ms > 0:
                    bursts.setdefault(f"{prefix}burst", []).append(
                        burst(base, stripe_base, database_url, tokens[-1], timeout=timeout))

    figures = {group: summarise(samples) for group, samples in runs.items()}
    for group, values in figures.items():
        if group != "baseline_404":
            values["route_p99_vs_baseline"] = round(values["route_p99_ms"] / figures["baseline_404"]["route_p99_ms"], 2)  # type: ignore[operator]

    for group, values in figures.items():
        for name, value in values.items():
            print(f"{group}.{name}: {value}")
    top_rate = int(max(rates))
    top = f"rate_{top_rate}_rps"
    met = None
    if "new" in designs:
        met = figures[top]["route_p99_ms"] < TARGET_ROUTE_P99_MS  # type: ignore[index,operator]
        print(f"target_route_p99_ms: {TARGET_ROUTE_P99_MS}")
        print(f"target_met_at_{top_rate}_rps: {'yes' if met else 'no'}")
    verdicts: dict[str, object] = {}
    per_rate: dict[str, dict[str, bool]] = {}
    highest = None
    burst_figures = {name: _pool_bursts(each) for name, each in bursts.items()}
    if args.stripe_latency_ms > 0:
        print(f"stripe_latency_injected_by: {','.join(sorted(injected))}")
        print(f"stripe_latency_median_ms: {args.stripe_latency_ms:g}")
        print(f"stripe_latency_p99_ms: {latency_p99:g}")
        for design in designs:
            prefix = "" if design == "new" else f"{design}_"
            per_rate[design] = {}
            for rate in rates:
                checks = latency_verdicts(figures[f"{prefix}rate_{int(rate)}_rps"], rate)
                per_rate[design][str(int(rate))] = checks  # type: ignore[assignment]
                for name, ok in checks.items():
                    print(f"{prefix}rate_{int(rate)}_rps.{name}: {'yes' if ok else 'no'}")
        if "new" in designs:
            f = figures[top]
            verdicts = dict(per_rate["new"][str(top_rate)])
            print(f"minting_click_p99_bound_ms: {(f['stripe_per_call_p99_ms'] or 0) + TARGET_ABOVE_STRIPE_P99_MS:.3f}")  # type: ignore[operator]
            for name, ok in verdicts.items():
                print(f"{name}: {'yes' if ok else 'no'}")
            print(f"latency_targets_met_at_{top_rate}_rps: {'yes' if all(verdicts.values()) and top_rate >= TARGET_RATE_WITH_LATENCY else 'no'}")
            held = [int(rate) for rate in rates if all(per_rate["new"][str(int(rate))].values())]
            highest = max(held) if held else None
            print(f"highest_rate_latency_targets_hold: {highest if highest is not None else 'none'}")
        for name, values in burst_figures.items():
            for key, value in values.items():
                print(f"{name}.{key}: {value}")
    cpu_budget = cpu_budget_figures(figures, top, os.cpu_count() or 1) if "new" in designs else {}
    for name, value in cpu_budget.items():
        print(f"cpu_budget.{name}: {value}")
    if "new" in designs and "old" in designs:
        new, old = figures[top], figures[f"old_{top}"]
        for name in ("minting_click_p99_ms", "db_hold_per_click_p99_ms", "client_p99_ms"):
            if new.get(name) and old.get(name):
                print(f"old_vs_new.{name}_ratio: {round(old[name] / new[name], 2)}")  # type: ignore[operator]
        print(f"old_vs_new.achieved_rps: {old['achieved_rps']} vs {new['achieved_rps']}")
        print(f"old_vs_new.errors: {old['errors'] + old['server_errors']} vs {new['errors'] + new['server_errors']}")  # type: ignore[operator]
    if args.write:
        if args.workers != default_workers:
            store += f"_{args.workers}_workers"
        if args.stripe_latency_ms > 0:
            store += f"_stripe_{int(args.stripe_latency_ms)}ms"
        record = json.loads(OUTPUT.read_text()) if OUTPUT.exists() else {}
        record.update({"measured_at": dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d"), "machine": machine(),
                       "command": "python benchmarks/pay_route_load.py --write [--database-url $DATABASE_URL_POSTGRES] [--workers N]",
                       "target_route_p99_ms": TARGET_ROUTE_P99_MS, "returning_share": RETURNING_SHARE})
        record.setdefault("stores", {})[store] = {"seconds_per_rate": args.seconds, "target_met": met,
                                                  "workers": args.workers, "runs": args.repeat, "figures": figures,
                                                  "designs": designs,
                                                  "stripe_latency": {"median_ms": args.stripe_latency_ms,
                                                                     "p99_ms": latency_p99,
                                                                     "injected_by": sorted(injected)},
                                                  "latency_verdicts": verdicts,
                                                  "command": "python benchmarks/pay_route_load.py " + " ".join(
                                                      "$DATABASE_URL_POSTGRES" if a == args.database_url else a
                                                      for a in (sys.argv[1:] if argv is None else argv)),
                                                  "measured_at": dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d"),
                                                  "latency_verdicts_per_rate": per_rate,
                                                  "highest_rate_latency_targets_hold": highest,
                                                  "cpu_budget": cpu_budget,
                                                  "burst": burst_figures,
                                                  "load_average_1m": {"start": load_start,
                                                                      "end": round(os.getloadavg()[0], 2)}}
        OUTPUT.parent.mkdir(parents=True, exist_ok=True)
        OUTPUT.write_text(json.dumps(record, indent=2, sort_keys=True) + "\n")
        print(f"written: {OUTPUT.relative_to(ROOT)} (store {store})")
    print(f"load_average_1m: {load_start} at start, {round(os.getloadavg()[0], 2)} at end")
    return 0


if __name__ == "__main__":
    sys.exit(main())
