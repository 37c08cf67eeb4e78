"""Option 2, lazy mint: the email carries ``/pay/{order_token}``; the Checkout Session is minted on click.

``GET /pay/{token}``:

- a token that does not resolve (unknown, tampered, retired key) -> 404, one page for every failure;
- order paid -> "already paid" page, no Stripe call; order canceled -> "canceled" page;
- an open session for the order with at least ``reuse_margin`` (30 minutes) left -> 303 to it, no
  Stripe call: a parent who presses Back and returns gets the same session, so the retry cohort's
  pile of abandoned sessions never forms;
- otherwise a session is minted through the blessed helper (24 h ``expires_at``) and recorded, and
  the answer is 303 to its URL. An older open session with less than the margin left is retired
  (expired by a queued task) so the order keeps one live session;
- Stripe failing, or the database failing or dropping its connection -> "try again in a minute", 503
  with ``Retry-After``, and the transaction is rolled back (no row written).

The GET never consumes the token, so a mail scanner's pre-click at delivery is harmless: at worst it
mints the session the parent then reuses. Concurrency: the whole decision runs in one transaction
that first locks the order row (``SELECT ... FOR UPDATE``; on SQLite the transaction holds the
database write lock from ``BEGIN IMMEDIATE``), so two simultaneous GETs for one order serialise and
the second finds the session the first minted. No Stripe idempotency key is derived: the lock makes
one unnecessary, and a derived key would replay a failed mint for 24 hours.
"""

from __future__ import annotations

import argparse
import html
import os
import socket
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Optional

import stripe
from fastapi import FastAPI
from sqlalchemy.exc import InterfaceError, OperationalError
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from blastpay.flows.checkout_session import SESSION_MAX_TTL, create_checkout_session
from blastpay.flows.email_link import EmailLink, send_link, stripe_error_text
from blastpay.flows.orders import (
    CANCELED,
    CHECKOUT_SESSION,
    PAID,
    RETIRED,
    OrderSpec,
    OrderStore,
    OrderView,
    add_stripe_object,
    add_task,
    lock_order_view,
    open_checkout_sessions,
    set_object_status,
)
from blastpay.flows.tokens import TokenBinding, TokenKeyError, TokenKeys, make_binding, parse_token_keys, TOKEN_KEYS_ENV
from blastpay.flows.webhook_matcher import ENABLED_EVENTS, WEBHOOK_PATH, WebhookMatcher, create_webhook_router

REUSE_MARGIN = 30 * 60
RETRY_AFTER_SECONDS = 60


@dataclass(frozen=True)
class LazyMintConfig:
    public_base_url: str  # where /pay/{token} is served, e.g. https://api.example.org
    success_url: str  # may contain {CHECKOUT_SESSION_ID}
    cancel_url: str
    session_ttl: int = SESSION_MAX_TTL
    reuse_margin: int = REUSE_MARGIN
    retry_after: int = RETRY_AFTER_SECONDS


@dataclass(frozen=True)
class PayOutcome:
    """What ``GET /pay/{token}`` decided: page is redirect, not_found, already_paid, canceled or try_again."""

    page: str
    url: Optional[str] = None
    order_id: Optional[int] = None
    minted: bool = False
    detail: Optional[str] = None


class LazyMint:
    """The lazy-mint decisions, independent of HTTP."""

    def __init__(self, store: OrderStore, client: stripe.StripeClient, binding: TokenBinding,
                 clock: Callable[[], int], config: LazyMintConfig) -> None:
        self.store, self.client, self.binding, self.clock, self.config = store, client, binding, clock, config

    def pay_url(self, token: str) -> str:
        return f"{self.config.public_base_url.rstrip('/')}/pay/{token}"

    def blast(self, orders: Sequence[OrderView], *, now: int) -> dict[int, EmailLink]:
        """Mint a token per order (no Stripe call) and email its /pay URL."""
        links: dict[int, EmailLink] = {}
        for order in orders:
            with self.store.transaction() as session:
                token = self.binding.mint(session, order.id, now=now)
            links[order.id] = send_link(self.store, order.id, self.pay_url(token), now=now)
        return links

    def open(self, token: str) -> PayOutcome:
        now = self.clock()
        try:
            with self.store.transaction() as session:
                order_id = self.binding.resolve(session, token)
                order = lock_order_view(session, order_id) if order_id is not None else None
                if order is None:
                    return PayOutcome("not_found")
                if order.status == PAID:
                    return PayOutcome("already_paid", order_id=order.id)
                if order.status == CANCELED:
                    return PayOutcome("canceled", order_id=order.id)
                open_sessions = open_checkout_sessions(session, order.id)
                for row in open_sessions:
                    if row.expires_at is not None and row.expires_at - now >= self.config.reuse_margin and row.url:
                        return PayOutcome("redirect", url=row.url, order_id=order.id)
                for row in open_sessions:
                    if row.expires_at is not None and row.expires_at > now:
                        add_task(session, action="expire_session", stripe_id=row.stripe_id, order_id=order.id, now=now)
                        set_object_status(session, row.stripe_id, RETIRED)
                    else:
                        set_object_status(session, row.stripe_id, "expired")
                created = create_checkout_session(
                    self.client, order, expires_at=now + self.config.session_ttl,
                    success_url=self.config.success_url, cancel_url=self.config.cancel_url,
                )
                add_stripe_object(session, kind=CHECKOUT_SESSION, stripe_id=created.id, url=created.url,
                                  status="open", now=now, order_id=order.id, expires_at=created.expires_at)
                return PayOutcome("redirect", url=created.url, order_id=order.id, minted=True)
        except stripe.StripeError as exc:
            return PayOutcome("try_again", detail=stripe_error_text(exc))
        except (OperationalError, InterfaceError) as exc:
            # The database refused or dropped the connection (server restarted, connection killed, SQLite
            # still locked after its timeout). The pool discards a dead connection, so the parent's
            # retry gets a fresh one; a session minted before the failure is never handed out and expires.
            return PayOutcome("try_again", detail=f"database: {type(exc.orig).__name__}")


# -- pages ---------------------------------------------------------------------------------------

_PAGES = {
    "not_found": (404, "Link not valid", "This payment link is not valid. Please use the link in your most recent email "
                                         "from the club, or contact the club."),
    "already_paid": (200, "Already paid", "This order is already paid. Thank you! There is nothing more to do."),
    "canceled": (200, "Order canceled", "This order was canceled, so there is nothing to pay. Contact the club if "
                                        "this is a surprise."),
    "try_again": (503, "Try again in a minute", "We could not open the payment page just now. Nothing was charged. "
                                                "Please try the same link again in a minute."),
}


def render_page(page: str, retry_after: int = RETRY_AFTER_SECONDS) -> HTMLResponse:
    status, title, text = _PAGES[page]
    body = (f'<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="robots" content="noindex">'
            f"<title>{html.escape(title)}</title></head>"
            f'<body><main data-page="{page}"><h1>{html.escape(title)}</h1><p>{html.escape(text)}</p></main></body></html>')
    headers = {"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"}
    if page == "try_again":
        headers["Retry-After"] = str(retry_after)
    return HTMLResponse(body, status_code=status, headers=headers)


def create_app(*, store: OrderStore, stripe_client: stripe.StripeClient, binding: TokenBinding,
               clock: Callable[[], int], config: LazyMintConfig, webhook_secrets: Sequence[str]) -> FastAPI:
    """The lazy-mint app: ``GET /pay/{order_token}`` and ``POST /webhooks/stripe``."""
    app = FastAPI(title="blastpay lazy-mint", docs_url=None, redoc_url=None)
    mint = LazyMint(store, stripe_client, binding, clock, config)
    app.state.lazy_mint = mint
    app.include_router(create_webhook_router(WebhookMatcher(store, secrets=webhook_secrets, clock=clock)))

    @app.get("/pay/{order_token}", response_class=HTMLResponse)
    async def pay(order_token: str) -> Response:
        outcome = await run_in_threadpool(mint.open, order_token)
        if outcome.page == "redirect":
            return RedirectResponse(outcome.url or "", status_code=303,
                                    headers={"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"})
        return render_page(outcome.page, config.retry_after)

    return app


# -- blastpay serve ------------------------------------------------------------------------------


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

    emulator_handle = None
    stripe_base = args.stripe_base
    if stripe_base is None:
        from blastpay.emulator import Emulator

        emulator_handle = Emulator(seed=0).serve(host="127.0.0.1", port=0)
        stripe_base = emulator_handle.base_url
    client = stripe.StripeClient(os.environ.get("STRIPE_API_KEY", "sk_test_emulator"),
                                 base_addresses={"api": stripe_base}, max_network_retries=0)
    clock = emulator_clock(stripe_base)

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
        endpoint = client.v1.webhook_endpoints.create({"url": base_url + WEBHOOK_PATH,
                                                       "enabled_events": ENABLED_EVENTS})  # type: ignore[typeddict-item]
    except stripe.StripeError as exc:
        print(f"blastpay serve: cannot register the webhook endpoint at {stripe_base}: {stripe_error_text(exc)}",
              file=sys.stderr)
        return 2
    store = OrderStore(args.database_url)
    config = LazyMintConfig(public_base_url=base_url,
                            success_url=base_url + "/paid?session_id={CHECKOUT_SESSION_ID}",
                            cancel_url=base_url + "/back")
    app = create_app(store=store, stripe_client=client, binding=make_binding(args.binding, keys), clock=clock,
                     config=config, webhook_secrets=[endpoint.secret])
    @app.get("/paid", response_class=HTMLResponse)
    def paid_page() -> str:
        return '<!doctype html><main data-page="success"><h1>Thank you, payment received.</h1></main>'

    @app.get("/back", response_class=HTMLResponse)
    def back_page() -> str:
        return ('<!doctype html><main data-page="left_checkout"><h1>Nothing was charged.</h1>'
                "<p>Use the link in your email whenever you are ready.</p></main>")

    now = clock()
    orders = store.create_orders([OrderSpec(parent_id=111 + i, player_id=2000 + i, product_id="utah-invitational-2026",
                                            amount=15000) for i in range(args.orders)], now=now)
    links = app.state.lazy_mint.blast(orders, now=now)
    print(f"serving {base_url} (stripe: {stripe_base})", flush=True)
    for order in orders:
        print(f"order {order.id}: {links[order.id].url}", flush=True)
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning"))
    try:
        server.run(sockets=[sock])
    finally:
        if emulator_handle is not None:
            emulator_handle.close()
        store.dispose()
    return 0
