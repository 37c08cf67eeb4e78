"""One interface over every flow variant, for experiments and end-to-end tests.

``build_flow(variant, emulator=emu)`` wires the Stripe emulator, an order store, the backend app
(webhook endpoint; for lazy mint also ``/pay/{token}``) and a registered webhook endpoint. In process
(default) the emulator delivers webhooks through ``emu.webhook_transport`` into the app via a
``TestClient``; with ``over_http=True`` the SDK talks to the emulator over loopback HTTP and the
emulator POSTs webhooks to the app served by uvicorn on loopback.

A flow then exposes the two steps experiments need: ``blast`` (mint whatever the email carries, at
``emu.now()``) and ``click`` (the parent opening the newest email for an order), then ``pay`` or
``cancel`` (press Back). Every step reports what the parent saw as a ``ParentView``.
"""

from __future__ import annotations

import re
import socket
import threading
from collections import Counter
from dataclasses import dataclass, replace
from typing import Any, Optional
from urllib.parse import urlsplit

import httpx
import stripe
from fastapi import FastAPI
from fastapi.testclient import TestClient

from blastpay.emulator import EmulatorError
from blastpay.flows import payment_link, ttl
from blastpay.flows.email_link import EmailLink
from blastpay.flows.invariants import list_all
from blastpay.flows.lazy_mint import LazyMint, LazyMintConfig
from blastpay.flows.order_models import (
    CANCELED,
    CHECKOUT_SESSION,
    PAID,
    PAYMENT_LINK,
    PENDING,
    Order,
    OrderSpec,
    OrderView,
    OutboundEmail,
    ProcessedEvent,
    StripeObject,
    order_reference,
)
from blastpay.flows.orders import OrderStore
from blastpay.flows.pay_route import create_app
from blastpay.flows.stripe_tasks import run_tasks
from blastpay.flows.tokens import make_binding, parse_token_keys
from blastpay.flows.webhook_matcher import ENABLED_EVENTS, WEBHOOK_PATH, WebhookMatcher, create_webhook_app

VARIANTS = ["payment_link_per_order", "payment_link_per_product", "lazy_mint_hmac", "lazy_mint_db",
            "ttl_30d", "ttl_24h", "ttl_24h_recovery"]

PAGES = ("checkout", "expired", "inactive", "completed", "already_paid", "canceled", "not_found", "try_again",
         "no_link", "success", "left_checkout")

SITE = "https://club.example"
SUCCESS_URL = SITE + "/checkout/success?session_id={CHECKOUT_SESSION_ID}"
CANCEL_URL = SITE + "/checkout/canceled"
BACKEND = "http://backend.test"
# A fixed test key for the hmac binding in experiments (production keys come from BLASTPAY_TOKEN_KEYS).
EXPERIMENT_TOKEN_KEYS = "k1:" + "11" * 32 + ",k0:" + "00" * 32

_DATA_PAGE = re.compile(r'data-page="([a-z_]+)"')


class FlowError(ValueError):
    """A harness call that cannot be made (unknown variant, no session to pay, ...)."""


@dataclass(frozen=True)
class ParentView:
    """What the parent saw. ``page`` is one of PAGES; ``hops`` counts redirects followed;
    ``stripe_calls`` counts the Stripe API calls our backend made for this step."""

    order_id: int
    page: str
    session_id: Optional[str] = None
    message: str = ""
    hops: int = 0
    stripe_calls: int = 0
    url: Optional[str] = None


class CountingHTTPClient(stripe.HTTPClient):
    """Counts the requests the backend's Stripe client sends, then hands them to ``inner``.

    Two production behaviours the mitigation policy needs (``flows.mitigations``):
    - ``idempotency_scope``: while set (e.g. ``blast-order7-attempt2``), every POST carries the
      Idempotency-Key ``<scope>-<n>`` (n counts the scope's requests; the SDK's own retries of one request
      keep its key);
    - the SDK's back-off between retries moves ``sleep`` (the emulator's clock) instead of sleeping, and
      without jitter (the upper bound of the SDK's delay), so a run is reproducible.
    """

    name = "counting"

    def __init__(self, inner: stripe.HTTPClient, sleep: Optional[Any] = None) -> None:
        super().__init__()
        self.inner = inner
        self.calls = 0
        self._lock = threading.Lock()
        self.sleep = sleep
        self.idempotency_scope: Optional[str] = None
        self._scope_requests = 0
        self._keys: dict[str, str] = {}

    def set_idempotency_scope(self, scope: Optional[str]) -> None:
        self.idempotency_scope, self._scope_requests, self._keys = scope, 0, {}

    def request(self, method, url, headers, post_data=None, *, _usage=None):  # type: ignore[override]
        with self._lock:
            self.calls += 1
            if self.idempotency_scope is not None and method.lower() == "post":
                sdk_key = headers.get("Idempotency-Key")
                key = self._keys.get(sdk_key) if sdk_key else None
                if key is None:
                    self._scope_requests += 1
                    key = f"{self.idempotency_scope}-{self._scope_requests}"
                    if sdk_key:
                        self._keys[sdk_key] = key
                headers = {**headers, "Idempotency-Key": key}
        return self.inner.request(method, url, headers, post_data)

    def _sleep_time_seconds(self, num_retries: int, *args: Any) -> float:  # type: ignore[override]
        delay = min(stripe.HTTPClient.INITIAL_DELAY * (2 ** (num_retries - 1)), stripe.HTTPClient.MAX_DELAY)
        if self.sleep is not None:
            self.sleep(max(1, int(round(delay))))
            return 0.0
        return delay

    def close(self) -> None:
        self.inner.close()


class LoopbackServer:
    """An ASGI app served by uvicorn on 127.0.0.1 in a background thread (the socket listens before
    the thread starts, so callers never wait for readiness)."""

    def __init__(self, app: FastAPI) -> None:
        import uvicorn

        self._sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._sock.bind(("127.0.0.1", 0))
        self._sock.listen(128)
        self.base_url = f"http://127.0.0.1:{self._sock.getsockname()[1]}"
        self._server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="off"))
        self._thread = threading.Thread(target=self._server.run, kwargs={"sockets": [self._sock]}, daemon=True)
        self._thread.start()

    def close(self) -> None:
        self._server.should_exit = True
        self._thread.join()
        self._sock.close()


class Flow:
    """One variant wired to an emulator and an order store."""

    def __init__(self, variant: str, *, emulator: Any, database_url: str = "sqlite://", over_http: bool = False,
                 token_keys: str = EXPERIMENT_TOKEN_KEYS, max_network_retries: int = 0) -> None:
        if variant not in VARIANTS:
            raise FlowError(f"unknown flow variant {variant!r}; expected one of {', '.join(VARIANTS)}")
        self.variant = variant
        self.emu = emulator
        self.store = OrderStore(database_url)
        self.clock = emulator.now
        self._closers: list[Any] = []
        self.stripe_server = None
        if over_http:
            # inline webhook delivery, as in process: each step's webhooks are applied before the next step, and
            # the in-memory database is never used by the emulator's deliverer and a step at once
            self.stripe_server = emulator.serve(host="127.0.0.1", port=0, deliver_in_background=False)
            self._closers.append(self.stripe_server.close)
            inner: stripe.HTTPClient = stripe.RequestsClient()
            base = {"api": self.stripe_server.base_url}
        else:
            inner = emulator.http_client()
            base = {"api": getattr(emulator, "base_url", "http://stripe.emulator.test")}
        self.http = CountingHTTPClient(inner, sleep=None if over_http else emulator.advance)
        self.max_network_retries = max_network_retries
        self.client = stripe.StripeClient("sk_test_emulator", http_client=self.http, base_addresses=base,
                                          max_network_retries=max_network_retries)
        self.observer = emulator.client()  # the harness's own look at Stripe; not counted as backend calls

        endpoint_url = BACKEND + WEBHOOK_PATH
        self.http_server: Optional[LoopbackServer] = None
        self.lazy: Optional[LazyMint] = None
        self._app_holder: dict[str, FastAPI] = {}
        if over_http:
            self.http_server = LoopbackServer(_DeferredApp(self._app_holder))  # type: ignore[arg-type]
            self._closers.append(self.http_server.close)
            endpoint_url = self.http_server.base_url + WEBHOOK_PATH
        endpoint = self.client.v1.webhook_endpoints.create({"url": endpoint_url, "enabled_events": ENABLED_EVENTS})  # type: ignore[typeddict-item]
        self.http.calls = 0  # the endpoint registration is set-up, not part of any flow
        secrets = [endpoint.secret]
        public_base = self.http_server.base_url if self.http_server else BACKEND
        self.public_base = public_base
        if variant.startswith("lazy_mint"):
            binding = make_binding(variant.removeprefix("lazy_mint_"), parse_token_keys(token_keys))
            app = create_app(store=self.store, stripe_client=self.client, binding=binding, clock=self.clock,
                             config=LazyMintConfig(public_base_url=public_base, success_url=SUCCESS_URL,
                                                   cancel_url=CANCEL_URL),
                             webhook_secrets=secrets)
            self.lazy = app.state.lazy_mint
        else:
            app = create_webhook_app(WebhookMatcher(self.store, secrets=secrets, clock=self.clock))
        self.app = app
        self._app_holder["app"] = app
        self.web = TestClient(app, base_url=public_base)
        if not over_http:
            web = self.web
            emulator.webhook_transport = lambda url, headers, body: web.post(
                urlsplit(url).path, content=body, headers=headers).status_code

    # -- orders ---------------------------------------------------------------------------------

    def create_orders(self, specs: list[OrderSpec]) -> list[OrderView]:
        return self.store.create_orders(specs, now=self.clock())

    def order(self, order_id: int) -> OrderView:
        return self.store.get_order(order_id)

    def order_status(self, order_id: int) -> str:
        return self.store.get_order(order_id).status

    # -- the two steps --------------------------------------------------------------------------

    def blast(self, orders: list[OrderView]) -> dict[int, EmailLink]:
        """Mint whatever the email carries for ``orders`` at ``emu.now()`` and record the emails."""
        now = self.clock()
        orders = [self.store.get_order(o.id) for o in orders]
        if self.variant == "payment_link_per_order":
            return payment_link.blast_per_order(self.client, self.store, orders, now=now, success_url=SUCCESS_URL)
        if self.variant == "payment_link_per_product":
            return payment_link.blast_per_product(self.client, self.store, orders, now=now, success_url=SUCCESS_URL)
        if self.lazy is not None:
            return self.lazy.blast(orders, now=now)
        return ttl.blast_sessions(self.client, self.store, orders, policy=ttl.TTL_POLICIES[self.variant], now=now,
                                  success_url=SUCCESS_URL, cancel_url=CANCEL_URL)

    def click(self, order_id: int, email_kind: Optional[str] = None) -> ParentView:
        """The parent opens the newest link emailed for the order, now (or the newest of `email_kind`:
        "blast" or "recovery", for a parent who opens an older email although a newer one arrived)."""
        email = self.store.latest_email(order_id, email_kind)
        if email is None:
            reason = self.store.get_order(order_id).pending_reason or "no email was sent for this order"
            return ParentView(order_id, "no_link", message=reason)
        before = self.http.calls
        hops = 0
        url = email.url
        if url.startswith(self.public_base + "/pay/"):
            if self.http_server is not None:
                response = httpx.get(url, follow_redirects=False, timeout=30)
            else:
                response = self.web.get(urlsplit(url).path, follow_redirects=False)
            if response.status_code != 303:
                match = _DATA_PAGE.search(response.text)
                self.settle()
                return ParentView(order_id, match.group(1) if match else f"http_{response.status_code}",
                                  message=response.headers.get("retry-after", ""), hops=0,
                                  stripe_calls=self.http.calls - before, url=url)
            url, hops = response.headers["location"], 1
        seen = self.emu.visit(url)
        self.settle()
        return ParentView(order_id, seen["page"], session_id=seen.get("session"), message=seen.get("message", ""),
                          hops=hops, stripe_calls=self.http.calls - before, url=url)

    def pay(self, view: ParentView, outcome: str = "succeeded") -> ParentView:
        """Press Pay on the checkout page the view shows (the webhook is delivered before this returns)."""
        if view.page != "checkout" or not view.session_id:
            raise FlowError(f"the parent is on a {view.page!r} page, not a checkout page; nothing to pay")
        before = self.http.calls
        try:
            result = self.emu.pay(view.session_id, outcome=outcome)
        except EmulatorError as exc:  # Stripe refuses: the session expired or completed meanwhile
            status = self.observer.v1.checkout.sessions.retrieve(view.session_id).status
            page = {"expired": "expired", "complete": "completed"}.get(status, "checkout")
            return replace(view, page=page, message=str(exc), hops=0, stripe_calls=0)
        self.settle()
        calls = self.http.calls - before
        if outcome != "succeeded":
            return replace(view, page="checkout", message=result.get("message", "declined"), hops=0, stripe_calls=calls)
        return replace(view, page="success", url=result.get("redirect"), message=result.get("message", ""), hops=1,
                       stripe_calls=calls)

    def cancel(self, view: ParentView) -> ParentView:
        """Press Back on the checkout page: the session stays open; the parent lands on cancel_url, if any."""
        if not view.session_id:
            raise FlowError(f"the parent is on a {view.page!r} page with no session; nothing to leave")
        result = self.emu.cancel(view.session_id)
        redirect = result.get("redirect")
        return replace(view, page="left_checkout", url=redirect, hops=1 if redirect else 0, stripe_calls=0,
                       message="back to the club's site" if redirect else "no back link; the parent closes the tab")

    # -- what the club does ---------------------------------------------------------------------

    def settle(self) -> dict[str, int]:
        """Run the queued Stripe clean-up tasks (a worker's job in production)."""
        return run_tasks(self.store, self.client, self.clock)

    def cancel_order(self, order_id: int) -> bool:
        done = self.store.cancel_order(order_id, now=self.clock())
        self.settle()
        return done

    def change_amount(self, order_id: int, amount: int) -> Optional[EmailLink]:
        """Change a pending order's amount. Flows whose email carries a Stripe URL re-email a new one;
        lazy mint needs no new email (the next click mints at the new amount)."""
        order = self.store.change_amount(order_id, amount, now=self.clock())
        self.settle()
        if self.lazy is not None:
            return None
        return self.blast([order])[order_id]

    # -- observation ----------------------------------------------------------------------------

    def stripe_sessions(self, order_id: int) -> list[Any]:
        """Every Checkout Session in Stripe that belongs to the order (by metadata or client_reference_id)."""
        ref = order_reference(order_id)
        found = []
        for s in list_all(self.observer, "/v1/checkout/sessions"):
            metadata = s.metadata.to_dict() if s.metadata else {}
            if metadata.get("order_id") == str(order_id) or s.client_reference_id == ref:
                found.append(s)
        return found

    def sessions_by_order(self) -> dict[int, list[Any]]:
        """Every Checkout Session in Stripe, grouped by the order it belongs to (one listing, not one per order)."""
        from blastpay.flows.order_models import parse_order_reference

        out: dict[int, list[Any]] = {}
        for s in list_all(self.observer, "/v1/checkout/sessions"):
            metadata = s.metadata.to_dict() if s.metadata else {}
            raw = metadata.get("order_id", "")
            order_id = int(raw) if raw.isdigit() else parse_order_reference(s.client_reference_id)
            if order_id is not None:
                out.setdefault(order_id, []).append(s)
        return out

    def metrics(self) -> dict[str, Any]:
        s = self.store
        anomalies = Counter(a.kind for a in s.anomalies())
        return {
            "variant": self.variant,
            "orders": s.count(Order),
            "orders_paid": s.count(Order, Order.status == PAID),
            "orders_pending": s.count(Order, Order.status == PENDING),
            "orders_canceled": s.count(Order, Order.status == CANCELED),
            "sessions_minted": s.count(StripeObject, StripeObject.kind == CHECKOUT_SESSION),
            "links_minted": s.count(StripeObject, StripeObject.kind == PAYMENT_LINK),
            "stripe_calls": self.http.calls,
            "webhook_events": s.count(ProcessedEvent),
            "anomalies": sum(anomalies.values()),
            "anomalies_by_kind": dict(anomalies),
            "emails_sent": s.count(OutboundEmail),
            "recovery_emails_sent": s.count(OutboundEmail, OutboundEmail.kind == "recovery"),
        }

    def close(self) -> None:
        self.web.close()
        for close in reversed(self._closers):
            close()
        self.store.dispose()


class _DeferredApp:
    """ASGI shim so the loopback server can start before the app it serves is built."""

    def __init__(self, holder: dict[str, FastAPI]) -> None:
        self.holder = holder

    async def __call__(self, scope, receive, send):  # pragma: no cover - exercised over HTTP
        await self.holder["app"](scope, receive, send)


def build_flow(variant: str, *, emulator: Any, database_url: str = "sqlite://", over_http: bool = False,
               token_keys: str = EXPERIMENT_TOKEN_KEYS, max_network_retries: int = 0) -> Flow:
    """A ready flow for ``variant`` (one of VARIANTS); ``max_network_retries`` configures the backend's
    Stripe client as production would (the mitigation policy sets it)."""
    return Flow(variant, emulator=emulator, database_url=database_url, over_http=over_http, token_keys=token_keys,
                max_network_retries=max_network_retries)


__all__ = ["VARIANTS", "PAGES", "Flow", "FlowError", "ParentView", "EmailLink", "OrderSpec", "build_flow"]
