"""The probe: the Stripe calls whose answers the choice of checkout primitive rests on.

Steps (each recorded as request and response):

1. a Product and a one-time Price;
2. a per-order Payment Link (metadata order_id/player_id/product_id,
   ``restrictions.completed_sessions.limit=1``, redirect after completion carrying
   ``{CHECKOUT_SESSION_ID}``) and a per-product Payment Link (plain; its URL is noted
   with ``?client_reference_id=order_123`` appended, the per-recipient form);
3. a Checkout Session with ``expires_at`` 30 days ahead (Stripe's refusal is the answer
   recorded), one 24 hours ahead less a margin, and one with
   ``after_expiration.recovery`` enabled expiring just after the 30-minute minimum, so a
   later recheck sees it expired with its recovery URL.

Times are computed from Stripe's own clock (the ``created`` of the objects just made),
not the local one, so the probe means the same against Stripe and against the emulator.
"""
from __future__ import annotations

from typing import Any

import stripe

from blastpay.live.client import call, call_expecting_refusal
from blastpay.live.recording import RecordingHTTPClient
from blastpay.live.redaction import redact

MINUTE = 60
HOUR = 3600
DAY = 86400

PRODUCT_NAME = "blastpay live probe"
UNIT_AMOUNT = 2500
CURRENCY = "usd"
REDIRECT_URL = "https://example.com/paid?session_id={CHECKOUT_SESSION_ID}"
ORDER_METADATA = {"order_id": "order_123", "player_id": "player_42", "product_id": "tournament_fee"}
CLIENT_REFERENCE_ID = "order_123"
TTL_30_DAYS = 30 * DAY
TTL_24_HOURS_LESS_MARGIN = 24 * HOUR - 10 * MINUTE
TTL_RECOVERY = 30 * MINUTE + 5 * MINUTE

STEPS = (
    "create_product",
    "create_price",
    "create_payment_link_per_order",
    "create_payment_link_per_product",
    "create_checkout_session_30_days",
    "create_checkout_session_24_hours",
    "create_checkout_session_recovery",
)


def _session_params(price_id: str, expires_at: int) -> dict[str, Any]:
    return {
        "mode": "payment",
        "line_items": [{"price": price_id, "quantity": 1}],
        "success_url": REDIRECT_URL,
        "metadata": dict(ORDER_METADATA),
        "expires_at": expires_at,
    }


def _refusal(answer: Any) -> dict[str, Any] | None:
    if isinstance(answer, stripe.InvalidRequestError):
        error = (answer.json_body or {}).get("error") or {}
        return redact({
            "sdk_exception": type(answer).__name__,
            "http_status": answer.http_status,
            "type": error.get("type"),
            "code": error.get("code"),
            "param": error.get("param"),
            "message": error.get("message"),
        })
    return None


def run_probe(client: stripe.StripeClient, recorder: RecordingHTTPClient, base_url: str) -> dict[str, Any]:
    """Make the probe's calls; return the objects made, the refusals met and the notes."""
    v1 = client.v1
    product = call(recorder, "create_product", base_url, lambda: v1.products.create(
        {"name": PRODUCT_NAME, "metadata": {"purpose": "blastpay-live-probe"}}))
    clock = int(product.created)
    price = call(recorder, "create_price", base_url, lambda: v1.prices.create(
        {"product": product.id, "unit_amount": UNIT_AMOUNT, "currency": CURRENCY}))
    clock = max(clock, int(price.created))
    line_items = [{"price": price.id, "quantity": 1}]

    per_order = call(recorder, "create_payment_link_per_order", base_url, lambda: v1.payment_links.create({
        "line_items": line_items,
        "metadata": dict(ORDER_METADATA),
        "restrictions": {"completed_sessions": {"limit": 1}},
        "after_completion": {"type": "redirect", "redirect": {"url": REDIRECT_URL}},
    }))
    per_product = call(recorder, "create_payment_link_per_product", base_url,
                       lambda: v1.payment_links.create({"line_items": line_items}))

    thirty_days = call_expecting_refusal(recorder, "create_checkout_session_30_days", base_url,
                                         lambda: v1.checkout.sessions.create(_session_params(price.id, clock + TTL_30_DAYS)))
    refusals = {}
    sessions = []
    refusal = _refusal(thirty_days)
    if refusal is not None:
        refusals["create_checkout_session_30_days"] = refusal
    else:
        sessions.append({"variant": "ttl_30_days", "id": thirty_days.id, "created": thirty_days.created,
                         "expires_at": thirty_days.expires_at})
        clock = max(clock, int(thirty_days.created))

    day = call(recorder, "create_checkout_session_24_hours", base_url,
               lambda: v1.checkout.sessions.create(_session_params(price.id, clock + TTL_24_HOURS_LESS_MARGIN)))
    clock = max(clock, int(day.created))
    sessions.append({"variant": "ttl_24_hours", "id": day.id, "created": day.created, "expires_at": day.expires_at})

    recovery_params = _session_params(price.id, clock + TTL_RECOVERY)
    recovery_params["after_expiration"] = {"recovery": {"enabled": True}}
    recovery = call(recorder, "create_checkout_session_recovery", base_url,
                    lambda: v1.checkout.sessions.create(recovery_params))
    sessions.append({"variant": "recovery_30_minutes", "id": recovery.id, "created": recovery.created,
                     "expires_at": recovery.expires_at})

    links_made_at = int(price.created)
    return {
        "server_time": clock,
        "objects": {
            "product": product.id,
            "price": price.id,
            "payment_links": [
                {"variant": "per_order", "id": per_order.id, "url": per_order.url, "created": links_made_at},
                {"variant": "per_product", "id": per_product.id, "url": per_product.url, "created": links_made_at},
            ],
            "checkout_sessions": sessions,
        },
        "refusals": refusals,
        "notes": {
            "per_product_link_with_reference": f"{per_product.url}?client_reference_id={CLIENT_REFERENCE_ID}",
            "payment_link_created": "Payment Links carry no created timestamp; the Price's created time stands in",
            "expires_at_basis": "expires_at values are computed from the created time Stripe returned, not the local clock",
        },
    }
