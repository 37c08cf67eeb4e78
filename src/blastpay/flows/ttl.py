"""Option 3: the email carries a Checkout Session URL minted at blast time.

- ``ttl_30d``: the 30-day ``expires_at`` patch. Stripe refuses it (expires_at must be 30 minutes to
  24 hours after creation); the blast reports each order as failed and leaves it pending with
  Stripe's answer recorded as the reason.
- ``ttl_24h``: the longest session Stripe allows.
- ``ttl_24h_recovery``: 24 hours with ``after_expiration.recovery`` enabled; when the session
  expires, the ``checkout.session.expired`` webhook re-emails its recovery URL (usable 30 days).
"""

from __future__ import annotations

from dataclasses import dataclass

import stripe

from blastpay.flows.checkout_session import SESSION_MAX_TTL, create_checkout_session
from blastpay.flows.email_link import EmailLink, report_failure, send_link, stripe_error_text
from blastpay.flows.order_models import CHECKOUT_SESSION, OrderView
from blastpay.flows.orders import OrderStore

THIRTY_DAYS = 30 * 24 * 60 * 60


@dataclass(frozen=True)
class SessionTtlPolicy:
    name: str
    ttl_seconds: int
    recovery: bool


TTL_POLICIES = {
    "ttl_30d": SessionTtlPolicy("ttl_30d", THIRTY_DAYS, recovery=False),
    "ttl_24h": SessionTtlPolicy("ttl_24h", SESSION_MAX_TTL, recovery=False),
    "ttl_24h_recovery": SessionTtlPolicy("ttl_24h_recovery", SESSION_MAX_TTL, recovery=True),
}


def blast_sessions(client: stripe.StripeClient, store: OrderStore, orders: list[OrderView], *,
                   policy: SessionTtlPolicy, now: int, success_url: str, cancel_url: str) -> dict[int, EmailLink]:
    """Mint one Checkout Session per order at ``now`` and email its URL."""
    links: dict[int, EmailLink] = {}
    for order in orders:
        try:
            session = create_checkout_session(client, order, expires_at=now + policy.ttl_seconds,
                                              success_url=success_url, cancel_url=cancel_url,
                                              recovery=policy.recovery)
        except stripe.StripeError as exc:
            links[order.id] = report_failure(store, order.id, f"checkout session not created: {stripe_error_text(exc)}")
            continue
        store.record_stripe_object(kind=CHECKOUT_SESSION, stripe_id=session.id, url=session.url, status="open",
                                   now=now, order_id=order.id, expires_at=session.expires_at)
        links[order.id] = send_link(store, order.id, session.url, now=now)
    return links
