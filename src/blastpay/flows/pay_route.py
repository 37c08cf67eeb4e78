"""The lazy-mint app's routes: ``GET /pay/{order_token}`` (a 303 to a Checkout Session, or one of the club's
own pages) and the Stripe webhook endpoint, with no API documentation routes."""

from __future__ import annotations

import html
import time
from collections.abc import Callable, Sequence

import stripe
from fastapi import FastAPI
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from blastpay.flows.lazy_mint import RETRY_AFTER_SECONDS, LazyMint, LazyMintConfig
from blastpay.flows.orders import OrderStore
from blastpay.flows.tokens import TokenBinding
from blastpay.flows.webhook_matcher import WebhookMatcher, create_webhook_router

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
               clock: Callable[[], int], config: LazyMintConfig, webhook_secrets: Sequence[str],
               wall_clock: Callable[[], float] = time.time, max_concurrent_clicks: int = 200,
               lazy_mint_class: type[LazyMint] | None = None) -> FastAPI:
    """The lazy-mint app: ``GET /pay/{order_token}`` and ``POST /webhooks/stripe``. No API documentation
    routes (``/docs``, ``/redoc``, ``/openapi.json``): the app is for parents, not for browsing.

    A click waits on Stripe in a worker thread without holding a database connection, so the threads,
    not the pool, bound the clicks in flight: ``max_concurrent_clicks`` of them (at Stripe's ~300 ms,
    200 threads carry ~600 clicks/s per process). ``lazy_mint_class`` replaces the decisions (the load
    benchmark passes its reimplementation of the old in-lock design, to measure it as the baseline)."""
    import anyio

    app = FastAPI(title="blastpay lazy-mint", docs_url=None, redoc_url=None, openapi_url=None)
    mint = (lazy_mint_class or LazyMint)(store, stripe_client, binding, clock, config, wall_clock=wall_clock)
    app.state.lazy_mint = mint
    app.include_router(create_webhook_router(WebhookMatcher(store, secrets=webhook_secrets, clock=clock)))
    limiter: list[anyio.CapacityLimiter] = []  # made on first use, inside the event loop

    @app.get("/pay/{order_token}", response_class=HTMLResponse)
    async def pay(order_token: str) -> Response:
        if not limiter:
            limiter.append(anyio.CapacityLimiter(max_concurrent_clicks))
        outcome = await anyio.to_thread.run_sync(mint.open, order_token, limiter=limiter[0])
        if outcome.page == "redirect":
            return RedirectResponse(outcome.url or "", status_code=303,
                                    headers={"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"})
        return render_page(outcome.page, config.retry_after)

    return app
