"""The webhook matcher: ``POST /webhooks/stripe`` turns Stripe's checkout events into order state.

1. The ``Stripe-Signature`` header is verified on the raw body before anything else; a missing or
   bad signature, or a payload that is not a Stripe event, is answered 400 and nothing is written.
2. ``checkout.session.completed`` (with ``payment_status`` paid) and
   ``checkout.session.async_payment_succeeded`` are matched to an order. Match keys, in order:
   ``metadata.order_id`` (the assumed primary key, as basketball-api's matcher uses it), then
   ``client_reference_id`` (``order_<id>``; per-product payment links carry only this), then the
   session's ``payment_link`` (a per-order link recorded in the store), then ``recovered_from``
   (a session recovered from an expired one whose order is known).
3. The order is marked paid exactly once: the event id is recorded under a unique key (a duplicate
   delivery is a no-op) and the update is conditional on ``status = 'pending'``. A second event for
   the session that already paid the order is a no-op. Anything that cannot be applied cleanly is
   recorded as an anomaly row, never dropped: ``unmatched_payment`` (no order found),
   ``double_payment`` (the order was already paid by another session), ``paid_canceled_order``,
   ``amount_mismatch`` (the session's total is not the order's amount; the order is not marked paid).
4. ``checkout.session.expired`` marks the session expired; if it carries a recovery URL and the order
   is still pending, the recovery URL is emailed (an outbound email row).

Stripe calls that follow a payment (deactivating the order's other links, expiring its other open
sessions) are queued as tasks, so the endpoint answers quickly and never calls Stripe itself.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Optional

import stripe
from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import JSONResponse
from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from blastpay.flows.order_models import (
    CANCELED,
    MAX_ORDER_ID,
    PAID,
    RECOVERY_URL,
    Order,
    OutboundEmail,
    StripeObject,
    parse_order_reference,
)
from blastpay.flows.orders import (
    OrderStore,
    add_anomaly,
    add_stripe_object,
    enqueue_cleanup,
    lock_order,
    mark_paid,
    record_event,
    set_object_status,
)

WEBHOOK_PATH = "/webhooks/stripe"
PAYMENT_EVENTS = ("checkout.session.completed", "checkout.session.async_payment_succeeded")
EXPIRY_EVENT = "checkout.session.expired"
ENABLED_EVENTS = [*PAYMENT_EVENTS, "checkout.session.async_payment_failed", EXPIRY_EVENT]


class WebhookRejected(ValueError):
    """The request is not an authentic, well-formed Stripe event (answered 400, nothing written)."""


@dataclass(frozen=True)
class WebhookOutcome:
    event_id: str
    type: str
    outcome: str  # paid, duplicate, already_applied, anomaly:<kind>, expired, recovery_emailed, awaiting_async, ignored
    order_id: Optional[int] = None


def verify_event(payload: bytes, sig_header: Optional[str], secrets: Sequence[str], *,
                 tolerance: int = stripe.Webhook.DEFAULT_TOLERANCE) -> dict[str, Any]:
    """The event as a dict, if ``sig_header`` is a valid signature of ``payload`` by one of ``secrets``."""
    if not sig_header:
        raise WebhookRejected("missing Stripe-Signature header")
    try:
        text = payload.decode("utf-8")
    except UnicodeDecodeError:
        raise WebhookRejected("payload is not UTF-8") from None
    for secret in secrets:
        try:
            stripe.WebhookSignature.verify_header(text, sig_header, secret, tolerance)
            break
        except stripe.SignatureVerificationError:
            continue
    else:
        raise WebhookRejected("signature does not verify")
    try:
        event = json.loads(text)
    except ValueError:
        raise WebhookRejected("payload is not JSON") from None
    data = event.get("data") if isinstance(event, dict) else None
    obj = data.get("object") if isinstance(data, dict) else None
    if not (isinstance(event, dict) and isinstance(event.get("id"), str) and isinstance(event.get("type"), str)
            and isinstance(obj, dict) and isinstance(obj.get("id"), str)):
        raise WebhookRejected("payload is not a Stripe event with data.object")
    # Stripe's ids are short; longer values are not Stripe's and would not fit the columns they are kept in.
    if len(event["id"]) > 255 or len(event["type"]) > 100 or len(obj["id"]) > 200:
        raise WebhookRejected("event id, type or object id is longer than any Stripe id")
    return event


def _mapping(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _metadata_order_id(obj: dict[str, Any]) -> Optional[int]:
    metadata = obj.get("metadata")
    value = metadata.get("order_id") if isinstance(metadata, dict) else None
    if isinstance(value, str) and value.isdigit() and len(value) <= 10 and int(value) <= MAX_ORDER_ID:
        return int(value)
    return None


def match_order(session: Session, obj: dict[str, Any]) -> tuple[Optional[int], Optional[str]]:
    """(order id, the key that matched) for a Checkout Session object, or (None, None)."""
    candidates: list[tuple[Optional[int], str]] = [
        (_metadata_order_id(obj), "metadata.order_id"),
        (parse_order_reference(obj.get("client_reference_id")), "client_reference_id"),
    ]
    for field, key in (("payment_link", "payment_link"), ("recovered_from", "recovered_from")):
        ref = obj.get(field)
        if isinstance(ref, str) and ref:
            row = session.scalars(select(StripeObject.order_id).where(StripeObject.stripe_id == ref)).first()
            candidates.append((row, key))
    for order_id, key in candidates:
        if order_id is not None and session.get(Order, order_id) is not None:
            return order_id, key
    return None, None


class WebhookMatcher:
    """Applies verified Stripe events to the order store."""

    def __init__(self, store: OrderStore, *, secrets: Sequence[str], clock: Callable[[], int],
                 tolerance: int = stripe.Webhook.DEFAULT_TOLERANCE) -> None:
        if not secrets:
            raise ValueError("the webhook matcher needs at least one endpoint secret")
        self.store = store
        self.secrets = list(secrets)
        self.clock = clock
        self.tolerance = tolerance

    def handle(self, payload: bytes, sig_header: Optional[str]) -> WebhookOutcome:
        event = verify_event(payload, sig_header, self.secrets, tolerance=self.tolerance)
        etype, obj = event["type"], event["data"]["object"]
        if etype in PAYMENT_EVENTS:
            return self._payment(event["id"], etype, obj)
        if etype == EXPIRY_EVENT:
            return self._expired(event["id"], etype, obj)
        with self.store.transaction() as session:
            fresh = record_event(session, event_id=event["id"], type=etype, stripe_object_id=obj["id"],
                                 order_id=None, outcome="ignored", now=self.clock())
        return WebhookOutcome(event["id"], etype, "ignored" if fresh is not None else "duplicate")

    def _payment(self, event_id: str, etype: str, obj: dict[str, Any]) -> WebhookOutcome:
        now = self.clock()
        with self.store.transaction() as session:
            event_row = record_event(session, event_id=event_id, type=etype, stripe_object_id=obj["id"],
                                     order_id=None, outcome="received", now=now)
            if event_row is None:
                return WebhookOutcome(event_id, etype, "duplicate")
            if etype == "checkout.session.completed" and obj.get("payment_status") not in ("paid", "no_payment_required"):
                event_row.outcome = "awaiting_async"
                return WebhookOutcome(event_id, etype, "awaiting_async")
            order_id, key = match_order(session, obj)
            event_row.order_id = order_id
            if order_id is None:
                add_anomaly(session, kind="unmatched_payment", now=now, stripe_object_id=obj["id"], event_id=event_id,
                            detail=f"{obj['id']} paid {obj.get('amount_total')} {obj.get('currency')} and matches no "
                                   f"order (metadata={obj.get('metadata')}, client_reference_id="
                                   f"{obj.get('client_reference_id')!r}, payment_link={obj.get('payment_link')!r})")
                event_row.outcome = "anomaly:unmatched_payment"
                return WebhookOutcome(event_id, etype, event_row.outcome)
            order = lock_order(session, order_id)
            set_object_status(session, obj["id"], "complete")
            outcome = self._apply_payment(session, order, obj, key, event_id, now)
            event_row.outcome = outcome
            return WebhookOutcome(event_id, etype, outcome, order_id)

    def _apply_payment(self, session: Session, order: Order, obj: dict[str, Any], key: Optional[str],
                       event_id: str, now: int) -> str:
        def anomaly(kind: str, detail: str) -> str:
            add_anomaly(session, kind=kind, order_id=order.id, stripe_object_id=obj["id"], event_id=event_id,
                        now=now, detail=detail)
            return f"anomaly:{kind}"

        total, currency = obj.get("amount_total"), obj.get("currency")
        if order.status == PAID:
            if order.paid_via == obj["id"]:
                return "already_applied"
            return anomaly("double_payment", f"order {order.id} already paid by {order.paid_via}; "
                                             f"{obj['id']} paid {total} {currency} again (matched by {key})")
        if order.status == CANCELED:
            return anomaly("paid_canceled_order", f"{obj['id']} paid {total} {currency} for canceled order "
                                                  f"{order.id} (matched by {key})")
        if total != order.amount or (currency if isinstance(currency, str) else "").lower() != order.currency:
            return anomaly("amount_mismatch", f"{obj['id']} paid {total} {currency} for order {order.id} "
                                              f"of {order.amount} {order.currency}; order left pending")
        if not mark_paid(session, order.id, stripe_object_id=obj["id"], now=now):  # pragma: no cover - row is locked
            return anomaly("double_payment", f"order {order.id} changed state under {obj['id']}")
        # A per-order link (the only links recorded against an order) carries completed_sessions.limit 1:
        # Stripe deactivated it when this session completed, so it needs no call of ours.
        link = obj.get("payment_link")
        enqueue_cleanup(session, order.id, now=now, keep=obj["id"],
                        deactivated_by_stripe=link if isinstance(link, str) else None)
        return "paid"

    def _expired(self, event_id: str, etype: str, obj: dict[str, Any]) -> WebhookOutcome:
        now = self.clock()
        with self.store.transaction() as session:
            event_row = record_event(session, event_id=event_id, type=etype, stripe_object_id=obj["id"],
                                     order_id=None, outcome="expired", now=now)
            if event_row is None:
                return WebhookOutcome(event_id, etype, "duplicate")
            set_object_status(session, obj["id"], "expired")
            order_id, _ = match_order(session, obj)
            event_row.order_id = order_id
            recovery = _mapping(_mapping(obj.get("after_expiration")).get("recovery"))
            url = recovery.get("url")
            expires = recovery.get("expires_at")
            if not isinstance(expires, int) or isinstance(expires, bool):
                expires = None
            if order_id is None:
                return WebhookOutcome(event_id, etype, "expired", None)
            order = lock_order(session, order_id)
            if order.status != "pending":
                return WebhookOutcome(event_id, etype, "expired", order_id)
            order.pending_reason = f"checkout session {obj['id']} expired unpaid"
            if not isinstance(url, str) or not url:
                return WebhookOutcome(event_id, etype, "expired", order_id)
            order.pending_reason += f"; recovery URL emailed, usable until {expires}"
            if session.scalars(select(StripeObject.id).where(StripeObject.stripe_id == f"{obj['id']}#recovery")).first():
                return WebhookOutcome(event_id, etype, "expired", order_id)
            add_stripe_object(session, kind=RECOVERY_URL, stripe_id=f"{obj['id']}#recovery", url=url, status="active",
                              now=now, order_id=order_id, expires_at=expires)
            session.add(OutboundEmail(order_id=order_id, kind="recovery", url=url, sent_at=now))
            event_row.outcome = "recovery_emailed"
            return WebhookOutcome(event_id, etype, "recovery_emailed", order_id)


def create_webhook_router(matcher: WebhookMatcher) -> APIRouter:
    """``POST /webhooks/stripe``: 200 with the outcome, or 400 naming why the request was refused."""
    router = APIRouter()

    @router.post(WEBHOOK_PATH)
    async def stripe_webhook(request: Request) -> JSONResponse:
        payload = await request.body()
        try:
            result = await run_in_threadpool(matcher.handle, payload, request.headers.get("stripe-signature"))
        except WebhookRejected as exc:
            return JSONResponse({"error": str(exc)}, status_code=400)
        return JSONResponse({"event": result.event_id, "outcome": result.outcome})

    return router



def create_webhook_app(matcher: WebhookMatcher) -> FastAPI:
    """An app serving only the webhook endpoint (the flows whose email links point at Stripe)."""
    app = FastAPI(title="blastpay webhooks", docs_url=None, redoc_url=None, openapi_url=None)
    app.include_router(create_webhook_router(matcher))
    return app
