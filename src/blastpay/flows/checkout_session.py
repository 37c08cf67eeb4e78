"""The blessed Checkout Session helper: the one place a Checkout Session is created for an order.

Every session carries the order's metadata (``order_id``, ``player_id``, ``product_id``) on the
session and on its PaymentIntent (Stripe does not copy session metadata to the PaymentIntent),
``client_reference_id = order_<id>``, an inline price for the order's amount, success and cancel
URLs, and an explicit ``expires_at``. The webhook matcher's primary match key is
``metadata.order_id``.
"""

from __future__ import annotations

from typing import Any, Optional

import stripe

from blastpay.flows.order_models import OrderView, order_metadata, order_reference

SESSION_MIN_TTL = 30 * 60  # Stripe: expires_at at least 30 minutes after creation
SESSION_MAX_TTL = 24 * 60 * 60  # Stripe: expires_at at most 24 hours after creation (also the default)


def line_item(order: OrderView) -> dict[str, Any]:
    """One line item with an inline price for the order's amount."""
    return {
        "price_data": {
            "currency": order.currency,
            "unit_amount": order.amount,
            "product_data": {"name": order.product_id, "metadata": {"product_id": order.product_id}},
        },
        "quantity": 1,
    }


def checkout_session_params(order: OrderView, *, expires_at: int, success_url: str, cancel_url: str,
                            recovery: bool = False) -> dict[str, Any]:
    """The create parameters for an order's Checkout Session (pure, so tests can read them)."""
    metadata = order_metadata(order)
    params: dict[str, Any] = {
        "mode": "payment",
        "line_items": [line_item(order)],
        "metadata": metadata,
        "client_reference_id": order_reference(order.id),
        "payment_intent_data": {"metadata": dict(metadata)},
        "success_url": success_url,
        "cancel_url": cancel_url,
        "expires_at": int(expires_at),
    }
    if recovery:
        params["after_expiration"] = {"recovery": {"enabled": True}}
    return params


def create_checkout_session(client: stripe.StripeClient, order: OrderView, *, expires_at: int, success_url: str,
                            cancel_url: str, recovery: bool = False,
                            idempotency_key: Optional[str] = None) -> stripe.checkout.Session:
    """Create the order's Checkout Session through Stripe. Stripe errors propagate unchanged."""
    options = {"idempotency_key": idempotency_key} if idempotency_key else None
    params = checkout_session_params(order, expires_at=expires_at, success_url=success_url,
                                     cancel_url=cancel_url, recovery=recovery)
    return client.v1.checkout.sessions.create(params, options)  # type: ignore[arg-type]
