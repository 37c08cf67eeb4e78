"""The one mitigation policy every variant runs under (``experiments/mitigations.yaml``).

- ``BlastJob``: mints and emails each order's link through the variant's own blast, with the backend's
  Stripe client retrying as production configures it, an Idempotency-Key per order and attempt, and a queue
  that re-tries every transiently failed order after a back-off (``run_due`` as simulated time passes).
- ``resend_after_incident``: when an incident ends, a working link to every pending order (after one that could have
  shown an error page) or to every pending order whose link is no longer on record (after lost rows).
- ``send_reminders``: a reminder to every pending order carrying a working link (the same one when our record
  of it and Stripe's answer say it still takes money, else a fresh one minted through the job).
- ``cancel_order`` / ``change_amount``: retire what the emailed link points at and, on an amount change,
  re-email a fresh link (lazy mint needs none).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Iterator, Optional

from blastpay.config import ConfigError
from blastpay.flows.email_link import send_link
from blastpay.flows.harness import Flow
from blastpay.flows.order_models import CANCELED, CHECKOUT_SESSION, PAID, PAYMENT_LINK, RECOVERY_URL, OrderView
from blastpay.sources.inputs import load_input
from blastpay.sources.schema.mitigations import MitigationPolicyInput

TRANSIENT = ("APIError", "RateLimitError", "APIConnectionError", "Timeout")
REMINDER = "reminder"
RESEND = "resend"  # the re-send when an incident ends


@dataclass(frozen=True)
class MitigationPolicy:
    max_network_retries: int
    idempotency_key_per_order_and_attempt: bool
    requeue_backoff_minutes: tuple[float, ...]
    deactivate_and_reemail_on_change: bool
    reminder_hours: tuple[float, ...]
    resend_after_incident: bool

    @classmethod
    def from_input(cls, policy: MitigationPolicyInput) -> "MitigationPolicy":
        return cls(
            max_network_retries=policy.max_network_retries,
            idempotency_key_per_order_and_attempt=policy.idempotency_key_per_order_and_attempt,
            requeue_backoff_minutes=tuple(float(m) for m in policy.requeue_backoff_minutes),
            deactivate_and_reemail_on_change=policy.deactivate_and_reemail_on_change,
            reminder_hours=tuple(float(h) for h in policy.reminder_hours),
            resend_after_incident=policy.resend_after_incident,
        )

    def describe(self) -> dict[str, Any]:
        return {k: list(v) if isinstance(v, tuple) else v for k, v in asdict(self).items()}


def load_policy(path: Path) -> MitigationPolicy:
    """experiments/mitigations.yaml, checked against `schema.mitigations.MitigationPolicyInput`."""
    return MitigationPolicy.from_input(load_input(path, MitigationPolicyInput, "mitigation policy", ConfigError)[0])


def _transient(error: Optional[str]) -> bool:
    return bool(error) and any(name in (error or "") for name in TRANSIENT)


class BlastJob:
    """The blast as a job: one attempt per order now, failed orders re-queued after each back-off."""

    def __init__(self, flow: Flow, policy: MitigationPolicy) -> None:
        self.flow, self.policy = flow, policy
        self.attempts: dict[int, int] = {}
        self.queue: dict[int, int] = {}  # order id -> simulated time of its next attempt
        self.log: list[tuple[int, int, bool]] = []  # (order id, attempt, ok)

    def send(self, orders: list[OrderView]) -> dict[int, bool]:
        out = {}
        for order in orders:
            out[order.id] = self._attempt(order.id)
        return out

    def _attempt(self, order_id: int) -> bool:
        flow = self.flow
        order = flow.store.get_order(order_id)
        if order.status in (PAID, CANCELED):
            self.queue.pop(order_id, None)
            return True
        n = self.attempts.get(order_id, 0) + 1
        self.attempts[order_id] = n
        if self.policy.idempotency_key_per_order_and_attempt:
            flow.http.set_idempotency_scope(f"blast-order{order_id}-attempt{n}")
        try:
            link = flow.blast([order])[order_id]
        finally:
            flow.http.set_idempotency_scope(None)
        self.log.append((order_id, n, link.ok))
        if link.ok:
            flow.store.set_pending_reason(order_id, None)
            self.queue.pop(order_id, None)
            # a re-sent Stripe link replaces the one the order had: the clean-up worker retires the old one, so the
            # order never has two payable links (a /pay/ link mints nothing here; its route keeps one session)
            fresh = flow.store.stripe_object_by_url((link.url or "").split("?", 1)[0])
            if fresh is not None and fresh.order_id == order_id:
                flow.store.retire_other_objects(order_id, keep=fresh.stripe_id, now=flow.clock())
            return True
        backoff = self.policy.requeue_backoff_minutes
        if _transient(link.error) and n <= len(backoff):
            self.queue[order_id] = flow.clock() + int(backoff[n - 1] * 60)
        else:
            self.queue.pop(order_id, None)
        return False

    def next_due(self) -> Optional[int]:
        return min(self.queue.values()) if self.queue else None

    def run_due(self) -> int:
        """Re-try every queued order whose back-off has passed; how many were tried."""
        now = self.flow.clock()
        due = sorted(o for o, t in self.queue.items() if t <= now)
        for order_id in due:
            self._attempt(order_id)
        return len(due)


def send_reminders(flow: Flow, job: BlastJob, order_ids: list[int], kind: str = REMINDER) -> dict[int, str]:
    """A reminder to every pending order: ``resent`` (the same link still takes money) or ``fresh`` (a new
    link minted through the job) or ``failed`` (the job could not mint; re-queued if transient)."""
    out = {}
    for order, email in _pending_with_newest_email(flow, order_ids):
        if email is not None and link_still_takes_money(flow, order, email.url):
            send_link(flow.store, order.id, email.url, now=flow.clock(), kind=kind)
            out[order.id] = "resent"
        else:
            out[order.id] = "fresh" if job._attempt(order.id) else "failed"
    return out


def resend_after_incident(flow: Flow, job: BlastJob, order_ids: list[int], *, error_pages: bool) -> dict[int, str]:
    """When an incident ends. After one that could have shown a parent an error page (``error_pages``: our server or
    database down, Stripe's API or hosted pages down, a wrong key), every pending order is sent a working link the way
    the reminder sends it, whatever the variant: no option's records say which parents met Stripe's own error page, so
    none is re-sent by what it happened to record. After any other incident (the blast's rows restored from a backup),
    a fresh link, through the job, to every pending order our own records say lacks one: no email went out, the mint's
    failure is recorded on the order, or the emailed link is no longer in our records (a token or link row lost).
    Neither asks Stripe whether an order was paid, so an order whose payment webhook is late may be sent a link."""
    if error_pages:
        return send_reminders(flow, job, order_ids, kind=RESEND)
    out = {}
    for order, email in _pending_with_newest_email(flow, order_ids):
        if email is None or order.pending_reason or not _link_on_record(flow, order, email.url):
            out[order.id] = "fresh" if job._attempt(order.id) else "failed"
    return out


def _pending_with_newest_email(flow: Flow, order_ids: list[int]) -> Iterator[tuple[OrderView, Any]]:
    """Each order of ``order_ids`` still pending in our store, with the newest email sent for it (or None)."""
    for order_id in order_ids:
        order = flow.store.get_order(order_id)
        if order.status == "pending":
            yield order, flow.store.latest_email(order_id)


def _link_on_record(flow: Flow, order: OrderView, url: str) -> bool:
    if url.startswith(flow.public_base + "/pay/"):
        if flow.lazy is None:
            return False
        with flow.store.transaction() as db:
            return flow.lazy.binding.resolve(db, url.rstrip("/").rsplit("/", 1)[-1]) == order.id
    return flow.store.stripe_object_by_url(url.split("?", 1)[0]) is not None


def link_still_takes_money(flow: Flow, order: OrderView, url: str) -> bool:
    """What the reminder job can know, the way production would: a ``/pay/`` link does while its token still
    resolves to the order in our database (the route mints on click); a Stripe URL does when our record of it is
    live and Stripe, asked with the backend's own client (one retrieve, under the same retries and faults as every
    other call), says it is. Any error counts as no."""
    if url.startswith(flow.public_base + "/pay/"):
        return _link_on_record(flow, order, url)
    row = flow.store.stripe_object_by_url(url.split("?", 1)[0])
    if row is None or row.status not in ("open", "active"):
        return False
    now = flow.clock()
    try:
        if row.kind == CHECKOUT_SESSION:
            session = flow.client.v1.checkout.sessions.retrieve(row.stripe_id)
            return session.status == "open" and session.expires_at > now and session.amount_total == order.amount
        if row.kind == PAYMENT_LINK:
            return bool(flow.client.v1.payment_links.retrieve(row.stripe_id).active)
        if row.kind == RECOVERY_URL:
            return row.expires_at is not None and row.expires_at > now
    except Exception:  # noqa: BLE001 - a link Stripe would not confirm is not re-sent; a fresh one is minted
        return False
    return False


def cancel_order(flow: Flow, order_id: int) -> bool:
    """Cancel the order; the clean-up worker retires what its emailed link points at."""
    return flow.cancel_order(order_id)


def change_amount(flow: Flow, job: BlastJob, order_id: int, amount: int) -> None:
    """Change a pending order's amount; retire the old link and, where the email carries a Stripe URL,
    email a fresh one through the job (lazy mint's next click mints at the new amount)."""
    flow.store.change_amount(order_id, amount, now=flow.clock())
    flow.settle()
    if flow.lazy is None:
        job.send([flow.store.get_order(order_id)])
