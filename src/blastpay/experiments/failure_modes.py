"""Failure modes: every flow variant run with one fault injected, and the money invariant checked after.

A cell is one (fault, variant) pair: a few orders of their own (a product named after the fault) blasted
on the variant's emulator and flow (a variant's cells run one after another on one flow), the fault
injected around the parents' clicks and payments, the automatic recovery given time to run (Stripe's
webhook retries over simulated days), and then ``check_invariants`` on the cell's orders. Each cell records what the
parent saw, whether money and order state stayed right, whether the parent still has a working way
to pay, and what recovers the order.

Speed: webhooks are delivered straight into the same ``WebhookMatcher.handle`` the endpoint calls
(signed, verified, applied), and a click on ``/pay/{token}`` calls the same ``LazyMint.open`` the route
calls, without the HTTP hop; the flows' own tests cover that hop.

Our backend being down is modelled here, outside the flows: while it is down a click on a link to
our backend (``/pay/{token}``) shows the browser's connection error, and every webhook delivery to
it fails (answered 503), so the emulator retries on its schedule. Stripe failing is the emulator's
own fault injection on ``/v1`` routes (500 or 429); Stripe's hosted pages are not subject to it.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import asdict, dataclass
from typing import Any, Callable, Optional
from urllib.parse import urlsplit

from blastpay.emulator import Emulator
from blastpay.flows.harness import VARIANTS, Flow, ParentView, build_flow
from blastpay.flows.orders import CANCELED, PAID, PENDING, RECOVERY_URL, Order, OrderSpec, OrderView
from blastpay.flows.webhook_matcher import ENABLED_EVENTS, WebhookMatcher, WebhookRejected

MINUTE, HOUR, DAY = 60, 3600, 86400
from blastpay.emulator.clock import DEFAULT_START as START
RETRY_WINDOW = 3 * DAY + HOUR  # the emulator retries a webhook for up to three days
AMOUNT = 15000

FAULTS = (
    "backend_down_at_click",
    "stripe_500_at_blast",
    "stripe_429_at_blast",
    "stripe_500_at_click",
    "webhook_endpoint_down_6h",
    "mail_scanner_prefetch",
    "order_canceled_after_blast",
    "amount_changed_after_blast",
    "paid_twice_two_tabs",
    "paid_twice_second_visit",
)

# Kinds of invariant violation. Only a stranded order leaves money right; a double charge is
# money-safe only when the matcher recorded it as an anomaly (someone will refund it).
PAYMENT_WITHOUT_PAID_ORDER = "payment_without_paid_order"
DOUBLE_CHARGE_REPORTED = "double_charge_reported"
DOUBLE_CHARGE_UNREPORTED = "double_charge_unreported"
PAID_ORDER_WITHOUT_PAYMENT = "paid_order_without_payment"
STRANDED_ORDER = "stranded_order"
NOT_MONEY = (STRANDED_ORDER, DOUBLE_CHARGE_REPORTED)


class FailureModeError(ValueError):
    """A cell that cannot be run (unknown fault or variant, bad order count)."""


# -- what the parent's browser does -------------------------------------------------------------


@dataclass
class Backend:
    """Whether our backend answers. While down, clicks on our links and webhook deliveries fail;
    ``webhooks_up`` False takes down only the webhook endpoint."""

    up: bool = True
    webhooks_up: bool = True


class DirectWebhooks:
    """The flow's webhooks, delivered by the emulator straight into a ``WebhookMatcher`` on its store.

    A fresh endpoint is registered (its secret is what the matcher verifies) and the flow's own endpoint
    is disabled, so each event is applied once. ``rewrite``, if given, changes an event before the matcher
    sees it (the event is re-signed): a way to model a matcher that reads fewer fields.
    """

    URL = "http://backend.direct/webhooks/stripe"

    def __init__(self, flow: Flow, backend: Optional[Backend] = None,
                 rewrite: Optional[Callable[[dict[str, Any]], dict[str, Any]]] = None) -> None:
        for endpoint in flow.observer.v1.webhook_endpoints.list({"limit": 100}).auto_paging_iter():
            flow.observer.v1.webhook_endpoints.update(endpoint.id, {"disabled": True})
        created = flow.observer.v1.webhook_endpoints.create({"url": self.URL, "enabled_events": ENABLED_EVENTS})  # type: ignore[typeddict-item]
        self.secret = created.secret
        self.matcher = WebhookMatcher(flow.store, secrets=[self.secret], clock=flow.clock)
        self.backend = backend or Backend()
        self.rewrite = rewrite
        flow.emu.webhook_transport = self

    def __call__(self, url: str, headers: dict[str, str], body: bytes) -> int:
        if not (self.backend.up and self.backend.webhooks_up):
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
        return 200


def open_url(flow: Flow, order_id: int, url: Optional[str], backend: Optional[Backend] = None,
             route_live: bool = True) -> ParentView:
    """The parent opens ``url`` (any link an email carried, not only the newest), as ``Flow.click`` does.

    A ``/pay/`` link needs our backend: with ``backend.up`` False the browser shows a connection error
    (page ``unreachable``), and with ``route_live`` False the route is not deployed yet (``not_found``).
    """
    if url is None:
        return ParentView(order_id, "no_link", message="no email carries a link for this order")
    before = flow.http.calls
    hops = 0
    if url.startswith(flow.public_base + "/"):
        if backend is not None and not backend.up:
            return ParentView(order_id, "unreachable", message="the club's server does not answer", url=url)
        if not route_live:
            return ParentView(order_id, "not_found", message="no such page on the club's server yet", url=url)
        if flow.lazy is None or not urlsplit(url).path.startswith("/pay/"):
            return ParentView(order_id, "not_found", message="no such page on the club's server", url=url)
        outcome = flow.lazy.open(urlsplit(url).path.removeprefix("/pay/"))
        if outcome.page != "redirect":
            flow.settle()
            return ParentView(order_id, outcome.page, message=outcome.detail or "", stripe_calls=flow.http.calls - before,
                              url=url)
        url, hops = outcome.url or "", 1
    seen = flow.emu.visit(url)
    flow.settle()
    return ParentView(order_id, seen["page"], session_id=seen.get("session"), message=seen.get("message", ""),
                      hops=hops, stripe_calls=flow.http.calls - before, url=url)


def newest_url(flow: Flow, order_id: int) -> Optional[str]:
    email = flow.store.latest_email(order_id)
    return email.url if email is not None else None


def first_url(flow: Flow, order_id: int) -> Optional[str]:
    """The link in the first email sent for the order (what a parent who never saw a later email opens)."""
    from sqlalchemy import select

    from blastpay.flows.orders import OutboundEmail

    with flow.store.transaction() as session:
        return session.scalars(select(OutboundEmail.url).where(OutboundEmail.order_id == order_id)
                               .order_by(OutboundEmail.id).limit(1)).first()


def pay_if_checkout(flow: Flow, view: ParentView) -> ParentView:
    """Press Pay when the parent is on a checkout page; otherwise the view is what they are left with."""
    if view.page != "checkout":
        return view
    return flow.pay(view)


# -- the invariant ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Violation:
    kind: str
    order_id: Optional[int]
    detail: str

    def text(self) -> str:
        where = f"order {self.order_id}: " if self.order_id is not None else ""
        return f"{self.kind}: {where}{self.detail}"


def captured_payments(flow: Flow) -> list[Any]:
    """Every Checkout Session in Stripe that took money (complete and paid)."""
    return [s for s in flow.observer.v1.checkout.sessions.list({"limit": 100}).auto_paging_iter()
            if s.status == "complete" and s.payment_status == "paid"]


def _orders(flow: Flow) -> list[OrderView]:
    from sqlalchemy import select

    with flow.store.transaction() as session:
        return [OrderView.of(o) for o in session.scalars(select(Order).order_by(Order.id))]


def has_working_link(flow: Flow, order_id: int) -> bool:
    """Whether the newest email for the order leads to a payable page now (checked without visiting it)."""
    url = newest_url(flow, order_id)
    if url is None:
        return False
    path = urlsplit(url).path
    if url.startswith(flow.public_base + "/pay/"):
        return True  # the route mints a session for a pending order on every click
    if path.startswith("/b/"):
        bare = url.split("?", 1)[0]
        for link in flow.observer.v1.payment_links.list({"limit": 100}).auto_paging_iter():
            if link.url == bare:
                return bool(link.active)
        return False
    if path.startswith("/c/pay/"):
        return flow.observer.v1.checkout.sessions.retrieve(path.rsplit("/", 1)[1]).status == "open"
    if path.startswith("/r/"):
        for row in flow.store.stripe_objects(order_id=order_id, kind=RECOVERY_URL):
            if row.url == url:
                return row.expires_at is None or row.expires_at > flow.clock()
    return False


def _owner(s: Any) -> Optional[int]:
    """The order a payment names (metadata.order_id, else client_reference_id), if any."""
    metadata = s.metadata.to_dict() if s.metadata else {}
    value = metadata.get("order_id") or (s.client_reference_id or "").removeprefix("order_")
    return int(value) if str(value).isdigit() else None


def invariant_violations(flow: Flow, order_ids: Optional[set[int]] = None, since: Optional[int] = None) -> list[Violation]:
    """Every order paid exactly once with one captured payment, or unpaid with a working way to pay or a
    recorded reason; no captured payment lacks a paid order. Double charges the matcher recorded as an
    anomaly are listed as reported.

    ``order_ids`` limits the check to those orders and the payments attributed to them; a payment that
    names no order at all is then included when it was created at or after ``since``.
    """
    orders = {o.id: o for o in _orders(flow)}
    anomalies = flow.store.anomalies()
    anomaly_of = {a.stripe_object_id: a for a in anomalies if a.stripe_object_id}
    paid_by = {o.paid_via: o for o in orders.values() if o.status == PAID and o.paid_via}
    out: list[Violation] = []
    captured_ids = set()
    for s in captured_payments(flow):
        captured_ids.add(s.id)
        anomaly = anomaly_of.get(s.id)
        owner = paid_by[s.id].id if s.id in paid_by else (
            anomaly.order_id if anomaly is not None and anomaly.order_id is not None else _owner(s))
        if order_ids is not None:
            if owner is None and (since is None or s.created < since):
                continue
            if owner is not None and owner not in order_ids:
                continue
        if s.id in paid_by:
            order = paid_by[s.id]
            if s.amount_total != order.amount:
                out.append(Violation(PAYMENT_WITHOUT_PAID_ORDER, order.id,
                                     f"{s.id} took {s.amount_total} for an order of {order.amount}"))
            continue
        if anomaly is not None and anomaly.kind == "double_payment":
            out.append(Violation(DOUBLE_CHARGE_REPORTED, anomaly.order_id,
                                 f"{s.id} took {s.amount_total} again (recorded as double_payment)"))
            continue
        if anomaly is None and owner is not None and owner in orders and orders[owner].status == PAID:
            out.append(Violation(DOUBLE_CHARGE_UNREPORTED, owner,
                                 f"{s.id} took {s.amount_total} for an already paid order, nothing recorded"))
            continue
        why = f"recorded as {anomaly.kind}" if anomaly is not None else "no webhook applied it"
        out.append(Violation(PAYMENT_WITHOUT_PAID_ORDER, owner, f"{s.id} took {s.amount_total} {s.currency}; {why}"))
    for order in orders.values():
        if order_ids is not None and order.id not in order_ids:
            continue
        if order.status == PAID and order.paid_via not in captured_ids:
            out.append(Violation(PAID_ORDER_WITHOUT_PAYMENT, order.id, f"marked paid via {order.paid_via}, "
                                                                        "which took no money"))
        if order.status == PENDING and not order.pending_reason and not has_working_link(flow, order.id):
            out.append(Violation(STRANDED_ORDER, order.id, "pending, no working link and no recorded reason"))
    return out


def check_invariants(flow: Flow, order_ids: Optional[set[int]] = None, since: Optional[int] = None) -> list[str]:
    """One line per invariant violation in ``flow`` (empty when money and order state are right).
    ``order_ids`` and ``since`` scope the check as in ``invariant_violations``."""
    return [v.text() for v in invariant_violations(flow, order_ids, since)]


def money_safe(violations: list[Violation]) -> bool:
    return all(v.kind in NOT_MONEY for v in violations)


def parent_can_pay(flow: Flow, order_ids: Optional[set[int]] = None) -> bool:
    """Every order (of ``order_ids``, if given) is closed (paid or canceled) or has a working way to pay now."""
    return all(o.status in (PAID, CANCELED) or has_working_link(flow, o.id) for o in _orders(flow)
               if order_ids is None or o.id in order_ids)


# -- cells --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Cell:
    fault: str
    variant: str
    parent_sees: str
    money_safe: bool
    parent_can_pay: bool
    recovers: str
    recovery_verified: bool
    violations: tuple[str, ...]
    orders: int
    orders_paid: int
    anomalies: str

    def row(self) -> dict[str, Any]:
        d = asdict(self)
        d["violations"] = " | ".join(self.violations)
        return d


def _specs(n: int, product: str) -> list[OrderSpec]:
    return [OrderSpec(parent_id=111 + i, player_id=2000 + i, product_id=product, amount=AMOUNT) for i in range(n)]


def _pages(views: list[ParentView]) -> str:
    counts = Counter(v.page for v in views)
    return ", ".join(f"{page} x{n}" if n > 1 else page for page, n in sorted(counts.items()))


class VariantBench:
    """One variant's emulator and flow, shared by its fault cells (run one after another), with our
    backend's availability wired into webhook delivery."""

    def __init__(self, variant: str, seed: int) -> None:
        if variant not in VARIANTS:
            raise FailureModeError(f"unknown variant {variant!r}; expected one of {', '.join(VARIANTS)}")
        self.variant = variant
        self.emu = Emulator(seed=seed, start=START)
        self.flow = build_flow(variant, emulator=self.emu)
        self.backend = Backend()
        DirectWebhooks(self.flow, self.backend)

    def close(self) -> None:
        self.flow.close()


class _Run:
    """One cell: its own orders (of a product named after the fault) on the variant's shared flow."""

    def __init__(self, bench: VariantBench, fault: str, n_orders: int) -> None:
        self.emu, self.flow, self.backend, self.variant = bench.emu, bench.flow, bench.backend, bench.variant
        self.emu.set_faults(clear=True)
        self.backend.up = self.backend.webhooks_up = True
        self.since = self.emu.now()
        self.orders = self.flow.create_orders(_specs(n_orders, product=fault))
        self.order_ids = {o.id for o in self.orders}
        self.hosted = not self.variant.startswith("lazy_mint")

    def click(self, order_id: int, url: Optional[str] = None) -> ParentView:
        return open_url(self.flow, order_id, url if url is not None else newest_url(self.flow, order_id), self.backend)

    def click_and_pay(self, order_id: int, url: Optional[str] = None) -> tuple[ParentView, ParentView]:
        first = self.click(order_id, url)
        return first, pay_if_checkout(self.flow, first)

    def drain(self) -> None:
        """Let Stripe's webhook retries and the clean-up tasks run their course."""
        self.emu.flush_webhooks()
        self.emu.advance(RETRY_WINDOW)
        self.flow.settle()

    def reblast_failed(self) -> None:
        """The operator's recovery for a failed blast: send again to orders that got no email."""
        missing = [o for o in self.orders if newest_url(self.flow, o.id) is None
                   and self.flow.order_status(o.id) == PENDING]
        if missing:
            self.flow.blast(missing)


def _finish(run: _Run, fault: str, parent_sees: str, recovers: str,
            recovery: Optional[Callable[[], bool]] = None) -> Cell:
    if run.variant == "ttl_30d":
        parent_sees = "no email: Stripe refused the 30-day session at blast time (reason recorded on each order)"
        recovers = "nothing recovers it: Stripe refuses a 30-day expires_at whatever the fault"
        recovery = None
    violations = invariant_violations(run.flow, run.order_ids, run.since)
    can_pay = parent_can_pay(run.flow, run.order_ids)
    verified = can_pay and not violations
    if recovery is not None and not verified:
        verified = recovery()
    kinds = Counter(a.kind for a in run.flow.store.anomalies() if a.created_at >= run.since)
    anomalies = ", ".join(f"{k} x{v}" for k, v in sorted(kinds.items()))
    paid = sum(run.flow.order_status(o.id) == PAID for o in run.orders)
    return Cell(fault, run.variant, parent_sees, money_safe(violations), can_pay, recovers, bool(verified),
                tuple(v.text() for v in violations), len(run.orders), paid, anomalies)


def _pay_all_later(run: _Run) -> bool:
    """After an operator's re-send, every pending order's parent clicks and pays; True if all are then paid."""
    run.reblast_failed()
    for o in run.orders:
        if run.flow.order_status(o.id) == PENDING:
            run.click_and_pay(o.id)
    run.drain()
    return all(run.flow.order_status(o.id) in (PAID, CANCELED) for o in run.orders) and \
        money_safe(invariant_violations(run.flow, run.order_ids, run.since))


def cell_backend_down_at_click(run: _Run) -> Cell:
    run.flow.blast(run.orders)
    run.emu.advance(HOUR)
    run.backend.up = False
    firsts = [run.click_and_pay(o.id) for o in run.orders]
    run.emu.advance(2 * HOUR)
    run.backend.up = True
    for o in run.orders:  # the parents who met an error try the same link again later
        if run.flow.order_status(o.id) == PENDING and not run.flow.stripe_sessions(o.id):
            run.click_and_pay(o.id)
    run.drain()
    if run.hosted:
        sees = f"{_pages([f for f, _ in firsts])}; pays; confirmation waits until our webhook endpoint is back"
        recovers = "Stripe retries the webhook (1 min .. 12 h apart, up to 3 days); nothing to do"
    else:
        sees = f"{_pages([f for f, _ in firsts])} (browser error); the same link works once the backend is back"
        recovers = "the parent clicks the same link again; nothing minted while down"
    return _finish(run, "backend_down_at_click", sees, recovers)


def _cell_stripe_at_blast(run: _Run, fault: str, error: str) -> Cell:
    failing = len(run.orders) if error == "500" else max(1, len(run.orders) - 1)
    run.emu.set_faults(route="*", error=error, count=failing)
    run.flow.blast(run.orders)
    run.emu.set_faults(clear=True)
    run.emu.advance(HOUR)
    views = [run.click_and_pay(o.id) for o in run.orders]
    run.drain()
    sees = _pages([v for v, _ in views])
    if run.variant.startswith("lazy_mint"):
        recovers = "nothing to recover: the blast makes no Stripe call"
    elif run.variant == "ttl_30d":
        recovers = "nothing recovers it: Stripe refuses a 30-day expires_at whatever the fault"
    else:
        sees += " (no email for the orders whose mint failed; reason recorded)"
        recovers = "an operator re-sends the blast to orders with a recorded reason"
    recovery = None if run.variant == "ttl_30d" else (lambda: _pay_all_later(run))
    return _finish(run, fault, sees, recovers, recovery)


def cell_stripe_500_at_click(run: _Run) -> Cell:
    run.flow.blast(run.orders)
    run.emu.advance(HOUR)
    run.emu.set_faults(route="*", error="500", count=1)
    views = [run.click_and_pay(o.id) for o in run.orders]
    run.emu.set_faults(clear=True)
    run.emu.advance(MINUTE)
    for o in run.orders:  # "try again in a minute"
        if run.flow.order_status(o.id) == PENDING:
            run.click_and_pay(o.id)
    run.drain()
    if run.variant.startswith("lazy_mint"):
        recovers = "the parent retries the same link after the Retry-After minute"
    else:
        recovers = "not in our path: the emailed link is Stripe-hosted (emulated faults cover API routes only)"
    return _finish(run, "stripe_500_at_click", _pages([v for v, _ in views]), recovers)


def cell_webhook_endpoint_down(run: _Run) -> Cell:
    run.flow.blast(run.orders)
    run.emu.advance(HOUR)
    run.backend.webhooks_up = False
    for o in run.orders:
        run.click_and_pay(o.id)
    run.emu.advance(2 * HOUR)
    returning = [run.click(o.id) for o in run.orders]  # no confirmation came: the parent checks the link
    run.emu.advance(4 * HOUR)
    run.backend.webhooks_up = True
    run.drain()
    sees = f"pays; back at the link during the outage: {_pages(returning)}"
    recovers = "Stripe retries the webhook after the 6 h outage; the orders turn paid without anyone acting"
    return _finish(run, "webhook_endpoint_down_6h", sees, recovers)


def cell_mail_scanner(run: _Run) -> Cell:
    run.flow.blast(run.orders)
    scans = [run.click(o.id) for o in run.orders]  # the scanner fetches at delivery, follows redirects, never pays
    run.emu.advance(2 * HOUR)
    views = [run.click_and_pay(o.id) for o in run.orders]
    run.drain()
    sessions = sum(len(run.flow.stripe_sessions(o.id)) for o in run.orders)
    sees = (f"{_pages([v for v, _ in views])}, pays (scanner saw {_pages(scans)}; "
            f"{sessions} sessions for {len(run.orders)} orders)")
    return _finish(run, "mail_scanner_prefetch", sees, "nothing to recover: the prefetch consumes nothing")


def cell_order_canceled(run: _Run) -> Cell:
    run.flow.blast(run.orders)
    run.emu.advance(30 * MINUTE)
    target = run.orders[0].id
    run.flow.cancel_order(target)
    run.emu.advance(30 * MINUTE)
    view, after = run.click_and_pay(target)
    for o in run.orders[1:]:
        run.click_and_pay(o.id)
    run.drain()
    sees = view.page + ("; pays for a canceled order" if after.page == "success" else "")
    recovers = ("a refund by hand (anomaly paid_canceled_order recorded)" if after.page == "success"
                else "nothing to recover: the canceled order's link no longer takes money")
    return _finish(run, "order_canceled_after_blast", sees, recovers)


def cell_amount_changed(run: _Run) -> Cell:
    run.flow.blast(run.orders)
    run.emu.advance(30 * MINUTE)
    target = run.orders[0].id
    old = first_url(run.flow, target)
    run.flow.change_amount(target, AMOUNT - 3000)
    run.emu.advance(30 * MINUTE)
    view, after = run.click_and_pay(target, old)  # the parent opens the first email, as most do
    second = None
    if run.flow.order_status(target) == PENDING:
        second = run.click_and_pay(target)[1]
    for o in run.orders[1:]:
        run.click_and_pay(o.id)
    run.drain()
    sees = f"old email: {view.page}" + (f" ({view.message})" if view.page == "checkout" else "")
    sees += ", pays" if after.page == "success" else ""
    if second is not None:
        sees += f"; new email: {second.page}"
    if after.page == "success":
        recovers = "a refund of the old-amount payment by hand (anomaly amount_mismatch); the order is paid via the new link"
    elif old == newest_url(run.flow, target) or not run.hosted:
        recovers = "nothing to recover: the same link charges the new amount"
    else:
        recovers = "nothing to recover: the old link is dead and the new email charges the new amount"
    return _finish(run, "amount_changed_after_blast", sees, recovers)


def cell_two_tabs(run: _Run) -> Cell:
    run.flow.blast(run.orders)
    run.emu.advance(HOUR)
    target = run.orders[0].id
    tab_a, tab_b = run.click(target), run.click(target)
    paid_a = pay_if_checkout(run.flow, tab_a)
    paid_b = pay_if_checkout(run.flow, tab_b) if tab_b.page == "checkout" else tab_b
    for o in run.orders[1:]:
        run.click_and_pay(o.id)
    run.drain()
    same = tab_a.session_id is not None and tab_a.session_id == tab_b.session_id
    sees = (f"two tabs: {'the same session' if same else 'two sessions'}; first pays ({paid_a.page}), "
            f"second tab: {paid_b.page}")
    charged_twice = paid_a.page == "success" and paid_b.page == "success"
    recovers = ("a refund by hand (anomaly double_payment recorded)" if charged_twice
                else "nothing to recover: the second payment is refused")
    return _finish(run, "paid_twice_two_tabs", sees, recovers)


def cell_second_visit(run: _Run) -> Cell:
    run.flow.blast(run.orders)
    run.emu.advance(HOUR)
    for o in run.orders:
        run.click_and_pay(o.id)
    run.emu.advance(DAY)
    target = run.orders[0].id
    view, after = run.click_and_pay(target)
    run.drain()
    sees = f"a day after paying, the same email shows: {view.page}" + ("; pays again" if after.page == "success" else "")
    recovers = ("a refund by hand (anomaly double_payment recorded)" if after.page == "success"
                else "nothing to recover: the link shows the order is paid or no longer takes money")
    return _finish(run, "paid_twice_second_visit", sees, recovers)


_CELLS: dict[str, Callable[[_Run], Cell]] = {
    "backend_down_at_click": cell_backend_down_at_click,
    "stripe_500_at_blast": lambda run: _cell_stripe_at_blast(run, "stripe_500_at_blast", "500"),
    "stripe_429_at_blast": lambda run: _cell_stripe_at_blast(run, "stripe_429_at_blast", "429"),
    "stripe_500_at_click": cell_stripe_500_at_click,
    "webhook_endpoint_down_6h": cell_webhook_endpoint_down,
    "mail_scanner_prefetch": cell_mail_scanner,
    "order_canceled_after_blast": cell_order_canceled,
    "amount_changed_after_blast": cell_amount_changed,
    "paid_twice_two_tabs": cell_two_tabs,
    "paid_twice_second_visit": cell_second_visit,
}


def run_cell(fault: str, variant: str, *, orders: int = 2, seed: int = 0,
             bench: Optional[VariantBench] = None) -> Cell:
    """Run one (fault, variant) cell: on ``bench`` (a variant's shared flow) or on a fresh one."""
    if fault not in _CELLS:
        raise FailureModeError(f"unknown fault {fault!r}; expected one of {', '.join(FAULTS)}")
    if orders < 2:
        raise FailureModeError(f"a cell needs at least 2 orders (one faulted, one control), got {orders}")
    own = bench is None
    bench = bench or VariantBench(variant, seed)
    if bench.variant != variant:
        raise FailureModeError(f"the bench runs {bench.variant!r}, not {variant!r}")
    try:
        return _CELLS[fault](_Run(bench, fault, orders))
    finally:
        if own:
            bench.close()


def run_matrix(*, faults: tuple[str, ...] = FAULTS, variants: tuple[str, ...] = tuple(VARIANTS), orders: int = 2,
               seed: int = 0, progress: Any = None) -> list[Cell]:
    """Every fault x variant cell; each variant's cells share one flow and run in the order of ``faults``."""
    cells = []
    for variant in variants:
        bench = VariantBench(variant, seed)
        try:
            for fault in faults:
                cells.append(run_cell(fault, variant, orders=orders, bench=bench))
                if progress is not None:
                    progress.update(1)
        finally:
            bench.close()
    order = {f: i for i, f in enumerate(faults)}
    return sorted(cells, key=lambda c: order[c.fault])


def matrix_table(cells: list[Cell]):
    import pandas as pd

    return pd.DataFrame([c.row() for c in cells])


def summary(cells: list[Cell]) -> dict[str, Any]:
    """``by_variant``: share of fault cells that stay money-safe and leave the parent a way to pay."""
    by_variant: dict[str, Any] = {}
    for variant in dict.fromkeys(c.variant for c in cells):
        mine = [c for c in cells if c.variant == variant]
        by_variant[variant] = {
            "cells": len(mine),
            "fault_cells_money_safe_share": sum(c.money_safe for c in mine) / len(mine),
            "fault_cells_parent_can_pay_share": sum(c.parent_can_pay for c in mine) / len(mine),
            "fault_cells_recovery_verified_share": sum(c.recovery_verified for c in mine) / len(mine),
            "unsafe_faults": [c.fault for c in mine if not c.money_safe],
            "no_way_to_pay_faults": [c.fault for c in mine if not c.parent_can_pay],
        }
    return {"by_variant": by_variant, "faults": list(dict.fromkeys(c.fault for c in cells))}


def short_label(cell: Cell) -> str:
    if not cell.money_safe:
        return "money\nwrong"
    if not cell.parent_can_pay:
        return "no way\nto pay"
    if any(v.startswith(DOUBLE_CHARGE_REPORTED) for v in cell.violations):
        return "refund\n(flagged)"
    return "ok"


def matrix_figure(cells: list[Cell]):
    """Faults x variants: green safe and payable, amber safe but no way to pay, red money wrong."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np
    from matplotlib.colors import ListedColormap

    faults = list(dict.fromkeys(c.fault for c in cells))
    variants = list(dict.fromkeys(c.variant for c in cells))
    grid = np.zeros((len(faults), len(variants)))
    by = {(c.fault, c.variant): c for c in cells}
    fig, ax = plt.subplots(figsize=(10.5, 6.2))
    for i, f in enumerate(faults):
        for j, v in enumerate(variants):
            c = by[(f, v)]
            grid[i, j] = 0 if not c.money_safe else (1 if not c.parent_can_pay else
                                                      (2 if short_label(c).startswith("refund") else 3))
            ax.text(j, i, short_label(c), ha="center", va="center", fontsize=7.5)
    ax.imshow(grid, cmap=ListedColormap(["#e74c3c", "#f5b041", "#f9e79f", "#82e0aa"]), vmin=0, vmax=3, aspect="auto")
    ax.set_xticks(range(len(variants)), variants, rotation=30, ha="right", fontsize=8)
    ax.set_yticks(range(len(faults)), faults, fontsize=8)
    ax.set_title("Fault x variant: money right and a way to pay left (green), flagged refund (yellow),\n"
                 "no way to pay (amber), money wrong (red)", fontsize=10)
    fig.tight_layout()
    return fig
