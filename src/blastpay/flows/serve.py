"""`blastpay serve`: the lazy-mint app on loopback against an emulator (embedded unless --stripe-base), with a
few seeded orders whose email links it prints. Restarts over the same database are safe."""

from __future__ import annotations

import argparse
import logging
import os
import socket
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Optional

import stripe
from fastapi import FastAPI
from fastapi.responses import HTMLResponse

from blastpay.flows.email_link import stripe_error_text
from blastpay.flows.lazy_mint import SDK_RETRIES, STRIPE_TIMEOUT_SECONDS, LazyMintConfig
from blastpay.flows.order_models import OrderSpec
from blastpay.flows.orders import OrderStore
from blastpay.flows.pay_route import create_app
from blastpay.flows.tokens import TOKEN_KEYS_ENV, TokenBinding, TokenKeyError, TokenKeys, make_binding, parse_token_keys
from blastpay.flows.webhook_matcher import ENABLED_EVENTS, WEBHOOK_PATH

log = logging.getLogger("blastpay.serve")

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
    parser.add_argument("--orders", type=int, default=3, help="orders to seed and print links for")
    return parser


@dataclass
class DemoStack:
    """What ``blastpay serve`` runs: the app, the orders it seeded and their emailed links."""

    app: FastAPI
    store: OrderStore
    links: dict[int, str]
    stripe_base: str
    notes: list[str] = field(default_factory=list)  # what start-up did that the user should know
    _closers: list[Callable[[], None]] = field(default_factory=list)

    def close(self) -> None:
        for close in reversed(self._closers):
            close()
        self._closers.clear()


def demo_stack(*, base_url: str, database_url: Optional[str], binding: TokenBinding, orders: int,
               stripe_base: Optional[str] = None, emulator_seed: Optional[int] = None) -> DemoStack:
    """Build what ``blastpay serve`` serves at ``base_url``. Without ``stripe_base`` an emulator is started
    on loopback; it starts empty every time, with ids seeded from the OS's randomness (``emulator_seed``
    pins them, for tests) so they never repeat an id a persisted database already holds, and the
    sessions an earlier run recorded are marked expired (that emulator is gone), so their links mint
    afresh. Raises ``stripe.StripeError`` if the webhook endpoint cannot be registered."""
    closers: list[Callable[[], None]] = []
    notes: list[str] = []
    embedded = stripe_base is None
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
        endpoint = client.v1.webhook_endpoints.create({"url": base_url + WEBHOOK_PATH,
                                                       "enabled_events": ENABLED_EVENTS})  # type: ignore[typeddict-item]
        store = OrderStore(database_url)
        closers.append(store.dispose)
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
                         webhook_secrets=[endpoint.secret])

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
                         stripe_base=stripe_base, notes=notes, _closers=closers)
    except BaseException:
        for close in reversed(closers):
            close()
        raise


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
                          orders=args.orders, stripe_base=args.stripe_base)
    except stripe.StripeError as exc:
        print(f"blastpay serve: cannot register the webhook endpoint at {args.stripe_base or 'the embedded emulator'}: "
              f"{stripe_error_text(exc)}", file=sys.stderr)
        sock.close()
        return 2
    for note in demo.notes:
        print(f"blastpay serve: {note}", file=sys.stderr, flush=True)
    print(f"serving {base_url} (stripe: {demo.stripe_base})", flush=True)
    for order_id, url in demo.links.items():
        print(f"order {order_id}: {url}", flush=True)
    server = uvicorn.Server(uvicorn.Config(demo.app, log_level="warning"))
    try:
        server.run(sockets=[sock])
    finally:
        demo.close()
    return 0
