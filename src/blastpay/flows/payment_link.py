"""Option 1: the email carries a Stripe Payment Link URL.

- Variant A, ``payment_link_per_order``: one link per order, carrying the order's metadata (copied by
  Stripe to every session the link creates, so the matcher's ``metadata.order_id`` key works
  unchanged), ``restrictions.completed_sessions.limit = 1`` (Stripe deactivates the link after one
  completed session) and a redirect to the success URL with ``{CHECKOUT_SESSION_ID}``.
- Variant B, ``payment_link_per_product``: one link per product *and price* (a link has a fixed
  amount, so orders of one product at two amounts need two links). The email URL adds
  ``?client_reference_id=order_<id>``; Stripe keeps it only if it is letters, digits, ``-`` and ``_``
  up to 200 characters, and drops anything else silently. The link carries only ``product_id``
  metadata and cannot be deactivated for one order: a canceled order's old email still pays.

Payment Links have no ``cancel_url`` and no expiry; each visit creates a new Checkout Session.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

import stripe

from blastpay.flows.checkout_session import line_item
from blastpay.flows.email_link import EmailLink, report_failure, send_link, stripe_error_text
from blastpay.flows.order_models import PAYMENT_LINK, OrderView, order_metadata, order_reference
from blastpay.flows.orders import OrderStore


def product_key(order: OrderView) -> str:
    """What one per-product link is shared by: product, amount and currency."""
    return f"{order.product_id}|{order.amount}|{order.currency}"


def order_link_params(order: OrderView, *, success_url: str) -> dict[str, Any]:
    metadata = order_metadata(order)
    return {
        "line_items": [line_item(order)],
        "metadata": metadata,
        "payment_intent_data": {"metadata": dict(metadata)},
        "restrictions": {"completed_sessions": {"limit": 1}},
        "after_completion": {"type": "redirect", "redirect": {"url": success_url}},
    }


def product_link_params(order: OrderView, *, success_url: str) -> dict[str, Any]:
    metadata = {"product_id": order.product_id}
    return {
        "line_items": [line_item(order)],
        "metadata": metadata,
        "payment_intent_data": {"metadata": dict(metadata)},
        "after_completion": {"type": "redirect", "redirect": {"url": success_url}},
    }


def order_url(link_url: str, order_id: int) -> str:
    """The per-product link's URL for one order, carrying its ``client_reference_id``."""
    sep = "&" if "?" in link_url else "?"
    return f"{link_url}{sep}{urlencode({'client_reference_id': order_reference(order_id)})}"


def blast_per_order(client: stripe.StripeClient, store: OrderStore, orders: list[OrderView], *, now: int,
                    success_url: str) -> dict[int, EmailLink]:
    """Variant A: create one single-use link per order and email it."""
    links: dict[int, EmailLink] = {}
    for order in orders:
        try:
            link = client.v1.payment_links.create(order_link_params(order, success_url=success_url))  # type: ignore[arg-type]
        except stripe.StripeError as exc:
            links[order.id] = report_failure(store, order.id, f"payment link not created: {stripe_error_text(exc)}")
            continue
        store.record_stripe_object(kind=PAYMENT_LINK, stripe_id=link.id, url=link.url, status="active", now=now,
                                   order_id=order.id, product_key=product_key(order))
        links[order.id] = send_link(store, order.id, link.url, now=now)
    return links


def product_link(client: stripe.StripeClient, store: OrderStore, order: OrderView, *, now: int,
                 success_url: str) -> tuple[str, str]:
    """(link id, url) of the active shared link for the order's product and price, created if missing."""
    key = product_key(order)
    for row in store.stripe_objects(kind=PAYMENT_LINK, product_key=key):
        if row.order_id is None and row.status == "active":
            return row.stripe_id, row.url or ""
    link = client.v1.payment_links.create(product_link_params(order, success_url=success_url))  # type: ignore[arg-type]
    store.record_stripe_object(kind=PAYMENT_LINK, stripe_id=link.id, url=link.url, status="active", now=now,
                               product_key=key)
    return link.id, link.url


def blast_per_product(client: stripe.StripeClient, store: OrderStore, orders: list[OrderView], *, now: int,
                      success_url: str) -> dict[int, EmailLink]:
    """Variant B: share one link per product and price; each email adds the order's client_reference_id."""
    links: dict[int, EmailLink] = {}
    for order in orders:
        try:
            _, url = product_link(client, store, order, now=now, success_url=success_url)
        except stripe.StripeError as exc:
            links[order.id] = report_failure(store, order.id, f"payment link not created: {stripe_error_text(exc)}")
            continue
        links[order.id] = send_link(store, order.id, order_url(url, order.id), now=now)
    return links
