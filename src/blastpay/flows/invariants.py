"""The money invariants of a payment flow, checked against the order store and Stripe's own records.

After any run of a flow:

1. every paid order was paid exactly once: Stripe holds exactly one captured payment for it (a
   complete, paid Checkout Session whose PaymentIntent succeeded), for the order's amount and
   currency, and the order records that session as what paid it;
2. every pending order has a working way to pay (the newest email's link still leads to a payable
   page for the order's current amount) or a recorded reason why not;
3. no captured payment lacks a paid order: every captured session belongs to exactly one order and
   that order is paid by it, a canceled or pending order has no captured payment, and every
   succeeded PaymentIntent belongs to a captured session.

Stripe is read through its public API (``checkout.sessions``, ``payment_intents``,
``payment_links``), and a session is attributed to an order only by what Stripe carries
(``metadata.order_id``, then ``client_reference_id`` ``order_<id>``), independently of the webhook
matcher's own bookkeeping. Nothing here writes: a check can run any number of times.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any, Optional
from urllib.parse import parse_qs, urlsplit

import stripe
from sqlalchemy import select

from blastpay.flows.orders import (
    CANCELED,
    CHECKOUT_SESSION,
    PAID,
    PAYMENT_LINK,
    PENDING,
    RECOVERY_URL,
    Order,
    OrderStore,
    OutboundEmail,
    StripeObject,
    parse_order_reference,
)
from blastpay.flows.tokens import TokenBinding


@dataclass
class InvariantReport:
    """``checks`` counts the individual facts examined (one per order, captured payment and
    PaymentIntent); ``violations`` lists, one line each, every one that did not hold."""

    checks: int = 0
    violations: list[str] = field(default_factory=list)

    @property
    def passed(self) -> int:
        return self.checks - len(self.violations)


def _attributed_order(session: Any) -> Optional[int]:
    """The order a Checkout Session belongs to, by what Stripe carries on it."""
    metadata = session.metadata.to_dict() if getattr(session, "metadata", None) else {}
    value = metadata.get("order_id")
    if isinstance(value, str) and value.isdigit():
        return int(value)
    return parse_order_reference(session.client_reference_id)


def _captured(session: Any, intents: dict[str, Any]) -> bool:
    if session.status != "complete" or session.payment_status != "paid":
        return False
    intent = intents.get(session.payment_intent or "")
    return intent is not None and intent.status == "succeeded"


class _Stripe:
    """Everything the checker reads from Stripe, fetched once."""

    def __init__(self, client: stripe.StripeClient) -> None:
        self.client = client
        self.sessions = list(client.v1.checkout.sessions.list({"limit": 100}).auto_paging_iter())
        self.intents = {i.id: i for i in client.v1.payment_intents.list({"limit": 100}).auto_paging_iter()}
        self.by_id = {s.id: s for s in self.sessions}

    def link_amount(self, link_id: str) -> Optional[tuple[int, str]]:
        items = list(self.client.v1.payment_links.line_items.list(link_id, {"limit": 100}).auto_paging_iter())
        if len(items) != 1:
            return None
        return int(items[0].amount_total), str(items[0].currency)


def _way_to_pay(order: Order, email: Optional[OutboundEmail], objects: dict[str, StripeObject], stripe_view: _Stripe,
                now: int, binding: Optional[TokenBinding], db_session: Any) -> Optional[str]:
    """None if the newest email still leads to a payable page for the order, else why not."""
    if email is None:
        return "no email was sent"
    parts = urlsplit(email.url)
    segments = parts.path.rstrip("/").split("/")
    if len(segments) >= 3 and segments[-2] == "pay" and segments[-3] != "c":
        if binding is None:
            return f"the email carries a /pay/ link but the flow has no token binding: {email.url}"
        resolved = binding.resolve(db_session, segments[-1])
        return None if resolved == order.id else f"the emailed /pay/ token resolves to {resolved}, not the order"
    row = objects.get(email.url) or objects.get(f"{parts.scheme}://{parts.netloc}{parts.path}")
    if row is None:
        return f"the emailed URL is not a Stripe object the store recorded: {email.url}"
    if row.kind == CHECKOUT_SESSION:
        s = stripe_view.by_id.get(row.stripe_id) or stripe_view.client.v1.checkout.sessions.retrieve(row.stripe_id)
        if s.status != "open" or (s.expires_at or 0) <= now:
            return f"the emailed Checkout Session {row.stripe_id} is {s.status} (expires_at {s.expires_at}, now {now})"
        if s.amount_total != order.amount:
            return f"the emailed Checkout Session {row.stripe_id} charges {s.amount_total}, the order is {order.amount}"
        return None
    if row.kind == PAYMENT_LINK:
        link = stripe_view.client.v1.payment_links.retrieve(row.stripe_id)
        if not link.active:
            return f"the emailed payment link {row.stripe_id} is inactive"
        if row.order_id is None:  # shared per-product link: the order travels in client_reference_id
            ref = (parse_qs(parts.query).get("client_reference_id") or [None])[0]
            if parse_order_reference(ref) != order.id:
                return f"the emailed product link carries client_reference_id {ref!r}, not the order"
        elif (link.metadata.to_dict() if link.metadata else {}).get("order_id") != str(order.id):
            return f"the emailed payment link {row.stripe_id} carries another order's metadata"
        amount = stripe_view.link_amount(row.stripe_id)
        if amount != (order.amount, order.currency):
            return f"the emailed payment link {row.stripe_id} charges {amount}, the order is {order.amount} {order.currency}"
        return None
    if row.kind == RECOVERY_URL:
        original = stripe_view.client.v1.checkout.sessions.retrieve(row.stripe_id.split("#", 1)[0])
        after = original.after_expiration.to_dict() if original.after_expiration else {}
        expires = (after.get("recovery") or {}).get("expires_at")
        if not expires or expires <= now:
            return f"the emailed recovery URL for {original.id} expired at {expires} (now {now})"
        if original.amount_total != order.amount:
            return f"the emailed recovery URL recovers {original.amount_total}, the order is {order.amount}"
        return None
    return f"the emailed URL is a {row.kind}, which is not payable"


def check_store(store: OrderStore, stripe_client: stripe.StripeClient, *, now: int,
                binding: Optional[TokenBinding] = None) -> InvariantReport:
    """Check the invariants over ``store`` against what ``stripe_client`` reads from Stripe at time ``now``.
    ``binding`` resolves ``/pay/{token}`` links (lazy mint); without it such links count as unusable."""
    report = InvariantReport()
    stripe_view = _Stripe(stripe_client)
    captured_by_order: dict[int, list[Any]] = defaultdict(list)
    for s in stripe_view.sessions:
        if _captured(s, stripe_view.intents):
            report.checks += 1
            order_id = _attributed_order(s)
            if order_id is None:
                report.violations.append(f"captured payment {s.id} ({s.amount_total} {s.currency}) belongs to no order "
                                         f"(metadata {s.metadata.to_dict() if s.metadata else {}}, "
                                         f"client_reference_id {s.client_reference_id!r})")
            else:
                captured_by_order[order_id].append(s)
    session_intents = {s.payment_intent for s in stripe_view.sessions if s.payment_intent}
    for intent in stripe_view.intents.values():
        if intent.status == "succeeded":
            report.checks += 1
            if intent.id not in session_intents:
                report.violations.append(f"PaymentIntent {intent.id} captured {intent.amount} {intent.currency} "
                                         f"outside any Checkout Session")

    with store.transaction() as db:
        orders = {o.id: o for o in db.scalars(select(Order).order_by(Order.id))}
        objects = {row.url: row for row in db.scalars(select(StripeObject)) if row.url}
        newest: dict[int, OutboundEmail] = {}
        for email in db.scalars(select(OutboundEmail).order_by(OutboundEmail.id)):
            newest[email.order_id] = email
        for order_id in sorted(set(captured_by_order) - set(orders)):
            ids = ", ".join(s.id for s in captured_by_order[order_id])
            report.violations.append(f"captured payment {ids} names order {order_id}, which does not exist")
        for order in orders.values():
            report.checks += 1
            captured = captured_by_order.get(order.id, [])
            ids = ", ".join(s.id for s in captured)
            if order.status == PAID:
                if len(captured) != 1:
                    report.violations.append(f"order {order.id} is paid but has {len(captured)} captured payments"
                                             f"{' (' + ids + ')' if ids else ''}")
                    continue
                (s,) = captured
                if order.paid_via != s.id:
                    report.violations.append(f"order {order.id} records {order.paid_via!r} as what paid it, "
                                             f"but Stripe captured {s.id}")
                elif s.amount_total != order.amount or (s.currency or "").lower() != order.currency:
                    report.violations.append(f"order {order.id} of {order.amount} {order.currency} was paid by {s.id} "
                                             f"for {s.amount_total} {s.currency}")
            elif order.status == CANCELED:
                if captured:
                    report.violations.append(f"order {order.id} is canceled but Stripe captured {ids}")
            elif order.status == PENDING:
                if captured:
                    report.violations.append(f"order {order.id} is pending but Stripe captured {ids}")
                    continue
                if order.pending_reason:
                    continue
                why = _way_to_pay(order, newest.get(order.id), objects, stripe_view, now, binding, db)
                if why is not None:
                    report.violations.append(f"order {order.id} is pending with no working way to pay and no "
                                             f"recorded reason: {why}")
            else:
                report.violations.append(f"order {order.id} has unknown status {order.status!r}")
    return report


def invariant_report(flow: Any) -> InvariantReport:
    """The report for a harness flow (``blastpay.flows.harness.Flow``): its store, its Stripe, its clock."""
    binding = flow.lazy.binding if getattr(flow, "lazy", None) is not None else None
    return check_store(flow.store, flow.observer, now=flow.clock(), binding=binding)


def check_invariants(flow: Any) -> list[str]:
    """Every invariant violation after a flow run, one line each; ``[]`` when the money is consistent."""
    return invariant_report(flow).violations
