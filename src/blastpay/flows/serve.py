"""`blastpay serve`: the lazy-mint app on loopback against an emulator (embedded unless --stripe-base).

``--seed`` creates a few orders and prints their email links; without it the database must already hold
orders (a missing or empty database is refused, so a deleted file is not silently replaced by an empty
one). Restarts over the same database are safe: the app's webhook endpoint is reused
(``webhook_registration``). While serving, a SQLite file that is deleted or replaced is noticed at the
next request: that request is answered 503 and the server stops, rather than writing to a file no one
will read again.

Limits (``blastpay.http_limits``): request bodies at most ``PAY_LIMITS.max_body`` bytes, counted as they
arrive; the head within 10 s, the body within 10 s with no pause over 5 s. One Stripe call takes at most
``stripe_call_worst_case()`` seconds (the SDK's connect/read timeout per attempt, its retries and its
back-off), less than the mint lease, so a click that outlives its lease never races another.
"""

from __future__ import annotations

import argparse
import logging
import os
import socket
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Optional

import stripe
from fastapi import FastAPI
from fastapi.responses import HTMLResponse
from sqlalchemy.engine import make_url

from blastpay.flows.email_link import stripe_error_text
from blastpay.flows.lazy_mint import MINT_LEASE_SECONDS, SDK_RETRIES, STRIPE_TIMEOUT_SECONDS, LazyMintConfig
from blastpay.flows.order_models import Order, OrderSpec
from blastpay.flows.orders import OrderStore, database_url_from_env
from blastpay.flows.page_headers import PageHeaders
from blastpay.flows.pay_route import create_app, render_page
from blastpay.flows.tokens import TOKEN_KEYS_ENV, TokenBinding, TokenKeyError, TokenKeys, make_binding, parse_token_keys
from blastpay.flows.webhook_matcher import ENABLED_EVENTS, WEBHOOK_PATH
from blastpay.flows.webhook_registration import register_endpoint
from blastpay.http_limits import Limits, uvicorn_config
from blastpay.redaction import redact_url

log = logging.getLogger("blastpay.serve")

PAY_LIMITS = Limits(max_body=256 * 1024, head_timeout=10.0, body_idle_timeout=5.0, body_timeout=10.0, keep_alive=5,
                    concurrency=1000)


class ServeError(Exception):
    """``blastpay serve`` cannot start as asked; the message is the one line it prints."""


def stripe_call_worst_case(timeout: float = STRIPE_TIMEOUT_SECONDS, retries: int = SDK_RETRIES) -> float:
    """The longest one Stripe call can take: every attempt timing out, with the SDK's longest back-off between
    them (``stripe.HTTPClient``: 0.5 s doubling per retry, at most 5 s; its jitter only shortens a wait)."""
    backoff = sum(min(stripe.HTTPClient.INITIAL_DELAY * 2 ** (n - 1), stripe.HTTPClient.MAX_DELAY)
                  for n in range(1, retries + 1))
    return (retries + 1) * timeout + backoff


assert stripe_call_worst_case() < MINT_LEASE_SECONDS, "a Stripe call must end before its mint lease lapses"


def plain_refusal(status: int, message: str) -> tuple[list[tuple[bytes, bytes]], bytes]:
    """How the app refuses a request at the HTTP level: one line of text, never cached or sniffed."""
    return [(b"content-type", b"text/plain; charset=utf-8"), (b"x-content-type-options", b"nosniff"),
            (b"cache-control", b"no-store")], f"{status}: {message}\n".encode()


class DatabaseWatch:
    """Notices a SQLite database file deleted or replaced under the running app (other databases: no-op)."""

    def __init__(self, database_url: str) -> None:
        url = make_url(database_url)
        self.path = url.database if url.get_backend_name() == "sqlite" and url.database not in (None, "", ":memory:") \
            else None
        self.identity = self._identity()

    def _identity(self) -> Optional[tuple[int, int]]:
        if self.path is None:
            return None
        try:
            stat = os.stat(self.path)
        except OSError:
            return None
        return stat.st_dev, stat.st_ino

    def problem(self) -> Optional[str]:
        if self.path is None:
            return None
        now = self._identity()
        if now is None:
            return f"the database file {self.path} was deleted while serving"
        if now != self.identity:
            return f"the database file {self.path} was replaced while serving"
        return None


class WatchedApp:
    """ASGI: every request first checks the database is the one the app started with; if not, 503 and stop."""

    def __init__(self, app: Any, watch: DatabaseWatch, on_lost: Callable[[str], None]) -> None:
        self.app, self.watch, self.on_lost = app, watch, on_lost
        self.lost: Optional[str] = None

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            problem = self.lost or self.watch.problem()
            if problem is not None:
                if self.lost is None:
                    self.lost = problem
                    self.on_lost(problem)
                await render_page("try_again")(scope, receive, send)
                return
        await self.app(scope, receive, send)

def emulator_clock(stripe_base: str) -> Callable[[], int]:
    """The emulator's simulated clock, read over its control API on every call."""
    import httpx

    def now() -> int:
        return int(httpx.get(f"{stripe_base.rstrip('/')}/_sandbox/clock", timeout=5).json()["now"])

    return now


def _serve_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="blastpay serve",
                                     description="Run the lazy-mint /pay/{token} app against the Stripe emulator.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--stripe-base", default=None,
                        help="emulator base URL (default: start an in-process emulator on loopback)")
    parser.add_argument("--database-url", default=None, help="SQLAlchemy URL (default: DATABASE_URL or sqlite file)")
    parser.add_argument("--binding", choices=("hmac", "db"), default="hmac")
    parser.add_argument("--seed", action="store_true",
                        help="create --orders demo orders and print their links (needed on a new or empty database)")
    parser.add_argument("--orders", type=int, default=3, help="orders to create with --seed")
    return parser


@dataclass
class DemoStack:
    """What ``blastpay serve`` runs: the app, the orders it seeded and their emailed links."""

    app: FastAPI
    store: OrderStore
    links: dict[int, str]
    stripe_base: str
    watch: Optional[DatabaseWatch] = None
    notes: list[str] = field(default_factory=list)  # what start-up did that the user should know
    _closers: list[Callable[[], None]] = field(default_factory=list)

    def close(self) -> None:
        for close in reversed(self._closers):
            close()
        self._closers.clear()


def _database_problem(database_url: str) -> Optional[str]:
    """Why ``database_url`` cannot be served without seeding, before anything creates it: a missing SQLite file."""
    watch = DatabaseWatch(database_url)
    if watch.path is not None and watch.identity is None:
        return f"the database file {watch.path} does not exist"
    return None


def demo_stack(*, base_url: str, database_url: Optional[str], binding: TokenBinding, orders: int,
               stripe_base: Optional[str] = None, emulator_seed: Optional[int] = None,
               require_orders: bool = False) -> DemoStack:
    """Build what ``blastpay serve`` serves at ``base_url``. Without ``stripe_base`` an emulator is started
    on loopback; it starts empty every time, with ids seeded from the OS's randomness (``emulator_seed``
    pins them, for tests) so they never repeat an id a persisted database already holds, and the
    sessions an earlier run recorded are marked expired (that emulator is gone), so their links mint
    afresh. ``require_orders``: refuse (``ServeError``) a missing or empty database instead of creating one.
    Raises ``stripe.StripeError`` if the webhook endpoint cannot be registered."""
    closers: list[Callable[[], None]] = []
    notes: list[str] = []
    embedded = stripe_base is None
    database_url = database_url or database_url_from_env()
    if require_orders and (problem := _database_problem(database_url)) is not None:
        raise ServeError(f"{problem}; pass --seed to start a new one with demo orders")
    try:
        if stripe_base is None:
            from blastpay.emulator import Emulator

            seed = emulator_seed if emulator_seed is not None else int.from_bytes(os.urandom(8), "big")
            handle = Emulator(seed=seed).serve(host="127.0.0.1", port=0)
            closers.append(handle.close)
            stripe_base = handle.base_url
        client = stripe.StripeClient(os.environ.get("STRIPE_API_KEY", "sk_test_emulator"),
                                     base_addresses={"api": stripe_base},
                                     # the same SDK retries as every flow (experiments/mitigations.yaml); a
                                     # retried create replays the attempt's Idempotency-Key, so it is safe
                                     max_network_retries=SDK_RETRIES,
                                     http_client=stripe.RequestsClient(timeout=STRIPE_TIMEOUT_SECONDS))
        clock = emulator_clock(stripe_base)
        store = OrderStore(database_url)
        closers.append(store.dispose)
        if require_orders and store.count(Order) == 0:
            raise ServeError(f"the database {store.database_url} holds no orders; pass --seed to create demo orders")
        secret = register_endpoint(client, store.engine, base_url + WEBHOOK_PATH, list(ENABLED_EVENTS))
        if embedded:
            forgotten = store.forget_checkout_sessions("the embedded Stripe emulator of an earlier run is gone")
            if forgotten:
                notes.append(f"the embedded Stripe emulator starts empty: {forgotten} Checkout Session(s) recorded "
                             f"by an earlier run in {store.database_url} are marked expired, so their links mint "
                             "a new session on the next click")
        config = LazyMintConfig(public_base_url=base_url,
                                success_url=base_url + "/paid?session_id={CHECKOUT_SESSION_ID}",
                                cancel_url=base_url + "/back")
        app = create_app(store=store, stripe_client=client, binding=binding, clock=clock, config=config,
                         webhook_secrets=[secret])

        @app.get("/paid", response_class=HTMLResponse)
        def paid_page() -> str:
            return '<!doctype html><main data-page="success"><h1>Thank you, payment received.</h1></main>'

        @app.get("/back", response_class=HTMLResponse)
        def back_page() -> str:
            return ('<!doctype html><main data-page="left_checkout"><h1>Nothing was charged.</h1>'
                    "<p>Use the link in your email whenever you are ready.</p></main>")

        now = clock()
        made = store.create_orders([OrderSpec(parent_id=111 + i, player_id=2000 + i,
                                              product_id="utah-invitational-2026", amount=15000)
                                    for i in range(orders)], now=now)
        sent = app.state.lazy_mint.blast(made, now=now)
        return DemoStack(app=app, store=store, links={o.id: sent[o.id].url or "" for o in made},
                         stripe_base=stripe_base, watch=DatabaseWatch(store.database_url), notes=notes,
                         _closers=closers)
    except BaseException:
        for close in reversed(closers):
            close()
        raise


def served_app(demo: DemoStack, on_lost: Callable[[str], None]) -> Any:
    """What ``blastpay serve`` hands uvicorn: the demo app behind the database watch, every answer with the
    security and caching headers (``page_headers``; a serving concern, so the flows' reference code and its
    traced lines in the evidence are unchanged)."""
    return PageHeaders(WatchedApp(demo.app, demo.watch or DatabaseWatch(demo.store.database_url), on_lost))


def serve_main(argv: Sequence[str] | None = None) -> int:
    """``blastpay serve``: uvicorn on loopback, orders seeded, their email links printed."""
    import uvicorn

    args = _serve_parser().parse_args(argv)
    try:
        keys: Optional[TokenKeys] = parse_token_keys(os.environ[TOKEN_KEYS_ENV]) if os.environ.get(TOKEN_KEYS_ENV) is not None else None
    except TokenKeyError as exc:
        print(f"blastpay serve: {exc}", file=sys.stderr)
        return 2
    if keys is None and args.binding == "hmac":
        keys = parse_token_keys("ephemeral:" + os.urandom(32).hex())
        print(f"blastpay serve: {TOKEN_KEYS_ENV} not set; using a random key (links stop working on restart)",
              file=sys.stderr)
    if args.orders < 0 or args.port < 0:
        print("blastpay serve: --orders and --port must be non-negative", file=sys.stderr)
        return 2

    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((args.host, args.port))
    except OSError as exc:
        print(f"blastpay serve: cannot listen on {args.host}:{args.port}: {exc.strerror}", file=sys.stderr)
        return 2
    sock.listen(128)
    base_url = f"http://{args.host}:{sock.getsockname()[1]}"
    try:
        demo = demo_stack(base_url=base_url, database_url=args.database_url, binding=make_binding(args.binding, keys),
                          orders=args.orders if args.seed else 0, stripe_base=args.stripe_base,
                          require_orders=not args.seed)
    except ServeError as exc:
        print(f"blastpay serve: {exc}", file=sys.stderr)
        sock.close()
        return 2
    except stripe.StripeError as exc:
        where = redact_url(args.stripe_base) if args.stripe_base else "the embedded emulator"
        print(f"blastpay serve: cannot register the webhook endpoint at {where}: {stripe_error_text(exc)}",
              file=sys.stderr)
        sock.close()
        return 2
    for note in demo.notes:
        print(f"blastpay serve: {note}", file=sys.stderr, flush=True)
    print(f"serving {base_url} (stripe: {redact_url(demo.stripe_base)})", flush=True)
    for order_id, url in demo.links.items():
        print(f"order {order_id}: {url}", flush=True)
    lost: list[str] = []

    def stop(problem: str) -> None:
        print(f"blastpay serve: {problem}; stopping", file=sys.stderr, flush=True)
        lost.append(problem)
        server.should_exit = True

    app = served_app(demo, stop)
    server = uvicorn.Server(uvicorn_config(app, PAY_LIMITS, plain_refusal))
    try:
        server.run(sockets=[sock])
    finally:
        demo.close()
    return 1 if lost else 0
