"""The shared simulation pieces experiments drive a flow with: our server's availability, webhooks delivered
straight into the matcher, a parent opening a link, and what counts as an error page.

Our server (basketball-api) is modelled here, outside the flows: ``ServerAvailability`` says whether it
answers at all (``up``), whether its webhook endpoint answers (``webhooks_up``) and whether its database
answers (``db_up``; down or locked: every statement of the app fails with ``OperationalError``, as SQLite
and PostgreSQL report it). While ``up`` is False a click on a link to our server (``/pay/{token}``) meets
the browser's connection error and every webhook delivery fails (503), so the emulator retries on its
schedule. Stripe failing is the emulator's own fault injection on ``/v1`` routes; Stripe's hosted pages
being down is ``StripeAvailability.pages_up``.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from contextlib import contextmanager
from dataclasses import dataclass, replace
from typing import Any, Callable, Iterator, Optional
from urllib.parse import urlsplit

from sqlalchemy import event, select
from sqlalchemy.exc import InterfaceError, OperationalError

from blastpay.emulator.clock import DEFAULT_START as START
from blastpay.flows.harness import Flow, ParentView
from blastpay.flows.order_models import OutboundEmail
from blastpay.flows.webhook_matcher import ENABLED_EVENTS, WebhookMatcher, WebhookRejected

MINUTE, HOUR, DAY = 60, 3600, 86400
RETRY_WINDOW = 3 * DAY + HOUR  # the emulator retries a webhook for up to three days

# Pages that are an error for a parent whose order still takes money (for a canceled or paid order,
# "inactive", "canceled", "completed" and "already_paid" are the right answer, not an error).
ERROR_PAGES = frozenset({"unreachable", "try_again", "not_found", "expired", "inactive", "stripe_unavailable",
                         "completed"})

__all__ = ["START", "MINUTE", "HOUR", "DAY", "RETRY_WINDOW", "ERROR_PAGES", "ServerAvailability",
           "StripeAvailability", "DatabaseFault", "DirectWebhooks", "open_url", "newest_url", "first_url",
           "pay_if_checkout", "observing", "settle", "WrongSecretKey"]


@dataclass
class ServerAvailability:
    """Whether our server answers: ``up`` (the app at all), ``webhooks_up`` (only the webhook endpoint),
    ``db_up`` (its database; False is down or locked)."""

    up: bool = True
    webhooks_up: bool = True
    db_up: bool = True


@dataclass
class StripeAvailability:
    """Whether Stripe's hosted pages (checkout, Payment Link, recovery) load; the API is the emulator's faults."""

    pages_up: bool = True


_observer = threading.local()


@contextmanager
def observing() -> Iterator[None]:
    """The harness reading the store to observe (not the app): a database fault does not apply."""
    before = getattr(_observer, "active", False)
    _observer.active = True
    try:
        yield
    finally:
        _observer.active = before


class DatabaseFault:
    """While ``server.db_up`` is False every statement the app sends to the store fails as a locked
    database does (``OperationalError``); the harness's own reads (``observing``) pass."""

    def __init__(self, flow: Flow, server: ServerAvailability) -> None:
        self.server = server

        def refuse(conn, cursor, statement, parameters, context, executemany):  # noqa: ANN001
            if not self.server.db_up and not getattr(_observer, "active", False):
                raise OperationalError(statement, parameters, sqlite3.OperationalError("database is locked"))

        event.listen(flow.store.engine, "before_cursor_execute", refuse)


class DirectWebhooks:
    """The flow's webhooks, delivered by the emulator straight into a ``WebhookMatcher`` on its store.

    A fresh endpoint is registered (its secret is what the matcher verifies) and the flow's own endpoint
    is disabled, so each event is applied once. ``rewrite``, if given, changes an event before the matcher
    sees it (the event is re-signed): a way to model a matcher that reads fewer fields. The endpoint answers
    503 while our server or its webhook endpoint is down, 500 when its database fails, 400 on a rejected event.
    """

    URL = "http://backend.direct/webhooks/stripe"

    def __init__(self, flow: Flow, server: Optional[ServerAvailability] = None,
                 rewrite: Optional[Callable[[dict[str, Any]], dict[str, Any]]] = None) -> None:
        for endpoint in flow.observer.v1.webhook_endpoints.list({"limit": 100}).auto_paging_iter():
            flow.observer.v1.webhook_endpoints.update(endpoint.id, {"disabled": True})
        created = flow.observer.v1.webhook_endpoints.create({"url": self.URL, "enabled_events": ENABLED_EVENTS})  # type: ignore[typeddict-item]
        self.secret = created.secret
        self.matcher = WebhookMatcher(flow.store, secrets=[self.secret], clock=flow.clock)
        self.server = server or ServerAvailability()
        self.rewrite = rewrite
        flow.emu.webhook_transport = self

    def __call__(self, url: str, headers: dict[str, str], body: bytes) -> int:
        if not (self.server.up and self.server.webhooks_up):
            return 503
        signature = headers.get("Stripe-Signature")
        if self.rewrite is not None:
            import time

            from blastpay.emulator.webhooks import signature_header

            body = json.dumps(self.rewrite(json.loads(body))).encode()
            signature = signature_header(self.secret, body, int(time.time()))
        try:
            self.matcher.handle(body, signature)
        except WebhookRejected:
            return 400
        except (OperationalError, InterfaceError):
            return 500
        return 200


def open_url(flow: Flow, order_id: int, url: Optional[str], server: Optional[ServerAvailability] = None,
             route_live: bool = True, stripe: Optional[StripeAvailability] = None) -> ParentView:
    """The parent opens ``url`` (any link an email carried, not only the newest), as ``Flow.click`` does.

    A ``/pay/`` link needs our server: with ``server.up`` False the browser shows a connection error
    (page ``unreachable``), and with ``route_live`` False the route is not deployed yet (``not_found``).
    With ``stripe.pages_up`` False, any Stripe-hosted page the parent reaches shows ``stripe_unavailable``.
    """
    if url is None:
        return ParentView(order_id, "no_link", message="no email carries a link for this order")
    before = flow.http.calls
    hops = 0
    if url.startswith(flow.public_base + "/"):
        if server is not None and not server.up:
            return ParentView(order_id, "unreachable", message="the club's server does not answer", url=url)
        if not route_live:
            return ParentView(order_id, "not_found", message="no such page on the club's server yet", url=url)
        if flow.lazy is None or not urlsplit(url).path.startswith("/pay/"):
            return ParentView(order_id, "not_found", message="no such page on the club's server", url=url)
        outcome = flow.lazy.open(urlsplit(url).path.removeprefix("/pay/"))
        if outcome.page != "redirect":
            settle(flow)
            return ParentView(order_id, outcome.page, message=outcome.detail or "", stripe_calls=flow.http.calls - before,
                              url=url)
        url, hops = outcome.url or "", 1
    if stripe is not None and not stripe.pages_up:
        return ParentView(order_id, "stripe_unavailable", message="Stripe's page does not load", hops=hops, url=url)
    seen = flow.emu.visit(url)
    settle(flow)
    return ParentView(order_id, seen["page"], session_id=seen.get("session"), message=seen.get("message", ""),
                      hops=hops, stripe_calls=flow.http.calls - before, url=url)


def newest_url(flow: Flow, order_id: int) -> Optional[str]:
    with observing():
        email = flow.store.latest_email(order_id)
    return email.url if email is not None else None


def first_url(flow: Flow, order_id: int) -> Optional[str]:
    """The link in the first email sent for the order (what a parent who never saw a later email opens)."""
    with observing(), flow.store.transaction() as session:
        return session.scalars(select(OutboundEmail.url).where(OutboundEmail.order_id == order_id)
                               .order_by(OutboundEmail.id).limit(1)).first()


def pay_if_checkout(flow: Flow, view: ParentView) -> ParentView:
    """Press Pay when the parent is on a checkout page; otherwise the view is what they are left with."""
    if view.page != "checkout":
        return view
    try:
        return flow.pay(view)
    except (OperationalError, InterfaceError):  # Stripe took the payment; our clean-up worker could not run
        return replace(view, page="success", hops=1, message="paid; the club's database did not answer")


def settle(flow: Flow) -> None:
    """Run the clean-up worker once; while the database fails it does nothing (it runs again later)."""
    try:
        flow.settle()
    except (OperationalError, InterfaceError):
        pass


class WrongSecretKey:
    """Our backend's Stripe secret key is wrong (rotated, or a bad deploy): Stripe answers every request from our
    backend 401 ``authentication_error``. The harness's own look at Stripe (``flow.observer``) is not our backend."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner

    def request(self, method, url, headers, post_data=None, *args, **kwargs):  # noqa: ANN001
        import json

        body = {"error": {"type": "invalid_request_error", "code": "api_key_expired",
                          "message": "Invalid API Key provided: sk_test_****"}}
        return json.dumps(body), 401, {"request-id": "req_wrong_key"}

    def close(self) -> None:
        self.inner.close()
