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
from sqlalchemy import bindparam, select

from blastpay.flows.order_models import CANCELED, PAID, PENDING, Anomaly, Order, OutboundEmail, parse_order_reference
from blastpay.flows.orders import OrderStore, open_checkout_sessions
from blastpay.flows.tokens import TokenBinding

# Kinds of violation. A stranded order leaves the money right. A second charge never does: recorded by the webhook
# matcher as a ``double_payment`` anomaly (someone is told to refund it) or not, a parent was charged twice and is owed
# a refund, whose processing fee Stripe's docs do not say comes back.
PAYMENT_WITHOUT_PAID_ORDER = "payment_without_paid_order"
DOUBLE_CHARGE_REPORTED = "double_charge_reported"
DOUBLE_CHARGE_UNREPORTED = "double_charge_unreported"
PAID_ORDER_WITHOUT_PAYMENT = "paid_order_without_payment"
STRANDED_ORDER = "stranded_order"
NOT_MONEY = (STRANDED_ORDER,)


@dataclass(frozen=True)
class Violation:
    kind: str
    order_id: Optional[int]
    detail: str

    def text(self) -> str:
        return f"{self.kind}: {self.detail}"


@dataclass
class InvariantReport:
    """``checks`` counts the individual facts examined (one per order, captured payment and
    PaymentIntent); ``found`` lists every one that did not hold, typed; ``violations`` the same, one line each."""

    checks: int = 0
    found: list[Violation] = field(default_factory=list)

    @property
    def violations(self) -> list[str]:
        return [v.detail for v in self.found]

    @property
    def passed(self) -> int:
        return self.checks - len(self.found)

    def add(self, kind: str, order_id: Optional[int], detail: str) -> None:
        self.found.append(Violation(kind, order_id, detail))


def money_safe(violations: list[Violation]) -> bool:
    """No violation that leaves money wrong (a stranded order does not; any double charge does, flagged or not)."""
    return all(v.kind in NOT_MONEY for v in violations)


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


class JsonRecord(dict):
    """A Stripe object as the API's JSON returned it, read by attribute like the SDK's objects (``s.status``,
    ``s.metadata.to_dict()``) without the SDK's per-key object construction, which dominated the checker's time."""

    def __getattr__(self, name: str) -> Any:
        try:
            value = self[name]
        except KeyError:
            raise AttributeError(name) from None
        return JsonRecord(value) if isinstance(value, dict) else value

    def to_dict(self) -> dict[str, Any]:
        return dict(self)


def list_all(client: stripe.StripeClient, path: str, **filters: Any) -> list[JsonRecord]:
    """Every object of a list endpoint, paged with ``starting_after`` as Stripe documents, through the SDK's
    ``raw_request`` (the same client, key and retries; only the JSON is not turned into SDK objects)."""
    out: list[JsonRecord] = []
    params: dict[str, Any] = {"limit": 100, **filters}
    while True:
        page = client.raw_request("get", path, **params).data
        out += [JsonRecord(item) for item in page["data"]]
        if not page.get("has_more") or not page["data"]:
            return out
        params["starting_after"] = page["data"][-1]["id"]


class StripeSnapshot:
    """Everything the checker reads from Stripe, each kind fetched once, when first needed. Valid while nothing
    writes to Stripe: a caller may share one between checks made at the same moment."""

    def __init__(self, client: stripe.StripeClient) -> None:
        self.client = client
        self.sessions = list_all(client, "/v1/checkout/sessions")
        self._intents: Optional[dict[str, Any]] = None
        self._amounts: dict[str, Optional[tuple[int, str]]] = {}
        self.by_id = {s.id: s for s in self.sessions}
        self.by_url = {s.url: s for s in self.sessions if s.get("url")}
        self.by_recovery_url: dict[str, Any] = {}
        for s in self.sessions:
            url = ((s.get("after_expiration") or {}).get("recovery") or {}).get("url")
            if url:
                self.by_recovery_url[url] = s
        self._links: Optional[dict[str, Any]] = None

    @property
    def intents(self) -> dict[str, Any]:
        if self._intents is None:
            self._intents = {i.id: i for i in list_all(self.client, "/v1/payment_intents")}
        return self._intents

    def link_by_url(self, url: str) -> Optional[Any]:
        if self._links is None:
            self._links = {link.url: link for link in list_all(self.client, "/v1/payment_links")}
        return self._links.get(url)

    def link_amount(self, link_id: str) -> Optional[tuple[int, str]]:
        if link_id not in self._amounts:
            items = list_all(self.client, f"/v1/payment_links/{link_id}/line_items")
            self._amounts[link_id] = (int(items[0].amount_total), str(items[0].currency)) if len(items) == 1 else None
        return self._amounts[link_id]


def _session_way(s: Any, order: Order, now: int) -> Optional[str]:
    if s.status != "open" or (s.expires_at or 0) <= now:
        return f"the emailed Checkout Session {s.id} is {s.status} (expires_at {s.expires_at}, now {now})"
    if s.amount_total != order.amount:
        return f"the emailed Checkout Session {s.id} charges {s.amount_total}, the order is {order.amount}"
    return None


def _link_way(link: Any, order: Order, query: str, stripe_view: StripeSnapshot) -> Optional[str]:
    if not link.active:
        return f"the emailed payment link {link.id} is inactive"
    metadata = link.metadata.to_dict() if link.metadata else {}
    if "order_id" not in metadata:  # shared per-product link: the order travels in client_reference_id
        ref = (parse_qs(query).get("client_reference_id") or [None])[0]
        if parse_order_reference(ref) != order.id:
            return f"the emailed product link carries client_reference_id {ref!r}, not the order"
    elif metadata.get("order_id") != str(order.id):
        return f"the emailed payment link {link.id} carries another order's metadata"
    amount = stripe_view.link_amount(link.id)
    if amount != (order.amount, order.currency):
        return f"the emailed payment link {link.id} charges {amount}, the order is {order.amount} {order.currency}"
    return None


def _way_to_pay(order: Order, email: Optional[OutboundEmail], stripe_view: StripeSnapshot, now: int,
                binding: Optional[TokenBinding], db_session: Any) -> Optional[str]:
    """None if the newest email still leads to a payable page for the order, else why not.

    The one "way to pay" test: a ``/pay/{token}`` link must resolve to the order through the binding; a
    Stripe URL is looked up in Stripe itself (not in the store's bookkeeping), so what counts is what the
    parent's click would meet.
    """
    if email is None:
        return "no email was sent"
    parts = urlsplit(email.url)
    bare = f"{parts.scheme}://{parts.netloc}{parts.path}"
    segments = parts.path.rstrip("/").split("/")
    if len(segments) >= 3 and segments[-2] == "pay" and segments[-3] != "c":
        if binding is None:
            return f"the email carries a /pay/ link but the flow has no token binding: {email.url}"
        resolved = binding.resolve(db_session, segments[-1])
        return None if resolved == order.id else f"the emailed /pay/ token resolves to {resolved}, not the order"
    session = stripe_view.by_url.get(email.url) or stripe_view.by_url.get(bare) or \
        stripe_view.by_id.get(segments[-1])  # Stripe clears a session's url once it expires or completes
    if session is not None:
        return _session_way(session, order, now)
    original = stripe_view.by_recovery_url.get(email.url) or stripe_view.by_recovery_url.get(bare)
    if original is not None:
        after = original.after_expiration.to_dict() if original.after_expiration else {}
        expires = (after.get("recovery") or {}).get("expires_at")
        if not expires or expires <= now:
            return f"the emailed recovery URL for {original.id} expired at {expires} (now {now})"
        if original.amount_total != order.amount:
            return f"the emailed recovery URL recovers {original.amount_total}, the order is {order.amount}"
        return None
    link = stripe_view.link_by_url(bare)
    if link is not None:
        return _link_way(link, order, parts.query, stripe_view)
    return f"the emailed URL is no Stripe object that takes money: {email.url}"


def _anomalies(db: Any) -> dict[str, Anomaly]:
    return {a.stripe_object_id: a for a in db.scalars(select(Anomaly).order_by(Anomaly.id)) if a.stripe_object_id}


def check_store(store: OrderStore, stripe_client: stripe.StripeClient, *, now: int,
                binding: Optional[TokenBinding] = None, order_ids: Optional[set[int]] = None,
                since: Optional[int] = None) -> InvariantReport:
    """Check the invariants over ``store`` against what ``stripe_client`` reads from Stripe at time ``now``.
    ``binding`` resolves ``/pay/{token}`` links (lazy mint); without it such links count as unusable.

    ``order_ids`` limits the check to those orders and the payments attributed to them; a payment that
    names no order at all is then included when it was created at or after ``since``. A second capture for
    a paid order is ``double_charge_reported`` when the matcher recorded a ``double_payment`` anomaly for it.
    """
    report = InvariantReport()
    stripe_view = StripeSnapshot(stripe_client)

    def in_scope(order_id: Optional[int], created: int) -> bool:
        if order_ids is None:
            return True
        if order_id is None:
            return since is None or created >= since
        return order_id in order_ids

    captured_by_order: dict[int, list[Any]] = defaultdict(list)
    for s in stripe_view.sessions:
        if _captured(s, stripe_view.intents):
            order_id = _attributed_order(s)
            if not in_scope(order_id, s.created):
                continue
            report.checks += 1
            if order_id is None:
                report.add(PAYMENT_WITHOUT_PAID_ORDER, None,
                           f"captured payment {s.id} ({s.amount_total} {s.currency}) belongs to no order "
                           f"(metadata {s.metadata.to_dict() if s.metadata else {}}, "
                           f"client_reference_id {s.client_reference_id!r})")
            else:
                captured_by_order[order_id].append(s)
    if order_ids is None:
        session_intents = {s.payment_intent for s in stripe_view.sessions if s.payment_intent}
        for intent in stripe_view.intents.values():
            if intent.status == "succeeded":
                report.checks += 1
                if intent.id not in session_intents:
                    report.add(PAYMENT_WITHOUT_PAID_ORDER, None,
                               f"PaymentIntent {intent.id} captured {intent.amount} {intent.currency} "
                               f"outside any Checkout Session")

    with store.transaction() as db:
        orders = {o.id: o for o in db.scalars(select(Order).order_by(Order.id))
                  if order_ids is None or o.id in order_ids}
        anomaly_of = _anomalies(db)
        newest: dict[int, OutboundEmail] = {}
        for email in db.scalars(select(OutboundEmail).order_by(OutboundEmail.id)):
            newest[email.order_id] = email
        for order_id in sorted(set(captured_by_order) - set(orders)):
            ids = ", ".join(s.id for s in captured_by_order[order_id])
            report.add(PAYMENT_WITHOUT_PAID_ORDER, order_id,
                       f"captured payment {ids} names order {order_id}, which does not exist")

        def recorded(captured: list[Any]) -> str:
            kinds = sorted({anomaly_of[s.id].kind for s in captured if s.id in anomaly_of})
            return f" (recorded as {', '.join(kinds)})" if kinds else " (nothing recorded)"

        for order in orders.values():
            report.checks += 1
            captured = captured_by_order.get(order.id, [])
            ids = ", ".join(s.id for s in captured)
            if order.status == PAID:
                if len(captured) == 0:
                    report.add(PAID_ORDER_WITHOUT_PAYMENT, order.id,
                               f"order {order.id} is paid but has 0 captured payments")
                    continue
                if len(captured) > 1:
                    extra = [s for s in captured if s.id != order.paid_via]
                    flagged = all(s.id in anomaly_of and anomaly_of[s.id].kind == "double_payment" for s in extra)
                    # an extra payment the matcher recorded as something else (e.g. unmatched) is a payment the
                    # system does not know paid this order; one with nothing recorded is a silent double charge
                    other = any(s.id in anomaly_of and anomaly_of[s.id].kind != "double_payment" for s in extra)
                    kind = DOUBLE_CHARGE_REPORTED if flagged else (
                        PAYMENT_WITHOUT_PAID_ORDER if other else DOUBLE_CHARGE_UNREPORTED)
                    report.add(kind, order.id,
                               f"order {order.id} is paid but has {len(captured)} captured payments ({ids})"
                               f"{recorded(extra)}")
                    continue
                (s,) = captured
                if order.paid_via != s.id:
                    report.add(PAYMENT_WITHOUT_PAID_ORDER, order.id,
                               f"order {order.id} records {order.paid_via!r} as what paid it, but Stripe captured {s.id}")
                elif s.amount_total != order.amount or (s.currency or "").lower() != order.currency:
                    report.add(PAYMENT_WITHOUT_PAID_ORDER, order.id,
                               f"order {order.id} of {order.amount} {order.currency} was paid by {s.id} "
                               f"for {s.amount_total} {s.currency}{recorded(captured)}")
            elif order.status == CANCELED:
                if captured:
                    report.add(PAYMENT_WITHOUT_PAID_ORDER, order.id,
                               f"order {order.id} is canceled but Stripe captured {ids}{recorded(captured)}")
            elif order.status == PENDING:
                if captured:
                    report.add(PAYMENT_WITHOUT_PAID_ORDER, order.id,
                               f"order {order.id} is pending but Stripe captured {ids}{recorded(captured)}")
                    continue
                if order.pending_reason:
                    continue
                why = _way_to_pay(order, newest.get(order.id), stripe_view, now, binding, db)
                if why is not None:
                    report.add(STRANDED_ORDER, order.id,
                               f"order {order.id} is pending with no working way to pay and no recorded reason: {why}")
            else:
                report.add(PAYMENT_WITHOUT_PAID_ORDER, order.id, f"order {order.id} has unknown status {order.status!r}")
    return report


def _binding(flow: Any) -> Optional[TokenBinding]:
    return flow.lazy.binding if getattr(flow, "lazy", None) is not None else None


def invariant_report(flow: Any, order_ids: Optional[set[int]] = None, since: Optional[int] = None) -> InvariantReport:
    """The report for a harness flow (``blastpay.flows.harness.Flow``): its store, its Stripe, its clock."""
    return check_store(flow.store, flow.observer, now=flow.clock(), binding=_binding(flow),
                       order_ids=order_ids, since=since)


def invariant_violations(flow: Any, order_ids: Optional[set[int]] = None,
                         since: Optional[int] = None) -> list[Violation]:
    """Every violation after a flow run, typed (scoped as in ``check_store``)."""
    return invariant_report(flow, order_ids, since).found


def check_invariants(flow: Any) -> list[str]:
    """Every invariant violation after a flow run, one line each; ``[]`` when the money is consistent."""
    return invariant_report(flow).violations


_ORDERS_IN = select(Order.__table__).where(Order.__table__.c.id.in_(bindparam("ids", expanding=True)))
_EMAILS_IN = (select(OutboundEmail.__table__)
              .where(OutboundEmail.__table__.c.order_id.in_(bindparam("ids", expanding=True)))
              .order_by(OutboundEmail.__table__.c.id))


def _orders_and_newest_emails(db: Any, order_ids: list[int]) -> tuple[dict[int, Any], dict[int, Any]]:
    """The orders among ``order_ids`` and the newest email sent for each, in two statements (rows whose
    attributes are the tables' columns, read on the transaction's connection)."""
    conn = db.connection()
    orders = {o.id: o for o in conn.execute(_ORDERS_IN, {"ids": list(order_ids)})}
    newest: dict[int, Any] = {}
    for email in conn.execute(_EMAILS_IN, {"ids": list(order_ids)}):
        newest[email.order_id] = email
    return orders, newest


def ways_to_pay(flow: Any, order_ids: list[int], stripe_view: Optional[StripeSnapshot] = None
                ) -> dict[int, Optional[str]]:
    """For each order: None when the newest email for it leads to a payable page now (checked without
    visiting it), else why not. Availability of our server is not part of it (see ``flows.simulation``).
    ``stripe_view``: a snapshot of Stripe taken since Stripe's last write (default: a fresh one)."""
    stripe_view = stripe_view or StripeSnapshot(flow.observer)
    out: dict[int, Optional[str]] = {}
    with flow.store.transaction() as db:
        orders, newest = _orders_and_newest_emails(db, order_ids)
        for order_id in order_ids:
            order = orders.get(order_id)
            if order is None:
                out[order_id] = f"order {order_id} does not exist"
                continue
            out[order_id] = _way_to_pay(order, newest.get(order_id), stripe_view, flow.clock(), _binding(flow), db)
    return out


def _route_reuses_a_session(flow: Any, db: Any, order_id: int, now: int) -> bool:
    """Whether the ``/pay/`` route would redirect to a session it recorded for the order (the one the parent
    paid, while its webhook is late) instead of minting a fresh one: the route's own reuse rule."""
    from blastpay.flows.lazy_mint import reusable_session

    return reusable_session(open_checkout_sessions(db, order_id), now, flow.lazy.config.reuse_margin) is not None


def live_ways_for_paid(flow: Any, order_ids: list[int], stripe_view: Optional[StripeSnapshot] = None
                       ) -> dict[int, list[str]]:
    """For orders the customer has already paid (Stripe captured a payment for them), every way a click could
    still take a second payment now: an open, unexpired Checkout Session attributed to the order, an active
    Payment Link the newest email carries for it, or a ``/pay/`` link while our store still says pending (the
    route would mint a fresh session). Each is a risk of a second charge, counted as such by the harness; an order
    with no live way maps to ``[]``. Reads Stripe and the store only; writes nothing. ``stripe_view`` as in
    ``ways_to_pay``."""
    stripe_view = stripe_view or StripeSnapshot(flow.observer)
    now = flow.clock()
    live: dict[int, list[str]] = {o: [] for o in order_ids}
    for s in stripe_view.sessions:
        order_id = _attributed_order(s)
        if order_id in live and s.status == "open" and (s.expires_at or 0) > now:
            live[order_id].append(s.id)
    with flow.store.transaction() as db:
        orders, newest = _orders_and_newest_emails(db, order_ids)
        for order_id in order_ids:
            order, email = orders.get(order_id), newest.get(order_id)
            if order is None or email is None:
                continue
            parts = urlsplit(email.url)
            segments = parts.path.rstrip("/").split("/")
            if len(segments) >= 3 and segments[-2] == "pay" and segments[-3] != "c":
                binding = _binding(flow)
                if order.status == PENDING and binding is not None and binding.resolve(db, segments[-1]) == order_id \
                        and not _route_reuses_a_session(flow, db, order_id, now):
                    # the route would mint a fresh session (the token is random: never in evidence)
                    live[order_id].append("its /pay/ link (the store still says pending and holds no session to reuse)")
                continue
            link = stripe_view.link_by_url(f"{parts.scheme}://{parts.netloc}{parts.path}")
            if link is not None and _link_way(link, order, parts.query, stripe_view) is None:
                live[order_id].append(link.id)
    return live


def way_to_pay(flow: Any, order_id: int) -> Optional[str]:
    """``ways_to_pay`` for one order."""
    return ways_to_pay(flow, [order_id])[order_id]


def has_working_link(flow: Any, order_id: int) -> bool:
    return way_to_pay(flow, order_id) is None


def parent_can_pay(flow: Any, order_ids: Optional[set[int]] = None) -> bool:
    """Every order (of ``order_ids``, if given) is closed (paid or canceled) or has a working way to pay now."""
    with flow.store.transaction() as db:
        rows = [(o.id, o.status) for o in db.scalars(select(Order).order_by(Order.id))]
    return all(status in (PAID, CANCELED) or has_working_link(flow, oid) for oid, status in rows
               if order_ids is None or oid in order_ids)
