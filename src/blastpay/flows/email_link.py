"""What a blast email carries for one order, and the record of sending it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

from blastpay.flows.orders import OrderStore

BLAST, RECOVERY = "blast", "recovery"


@dataclass(frozen=True)
class EmailLink:
    """The link emailed for an order; ``ok`` is False when nothing could be minted (``error`` says why)."""

    url: Optional[str]
    ok: bool
    error: Optional[str] = None


def send_link(store: OrderStore, order_id: int, url: str, *, now: int, kind: str = BLAST) -> EmailLink:
    """Record the outbound email carrying ``url`` (delivery itself is the mailer's job)."""
    store.record_email(order_id, kind=kind, url=url, now=now)
    return EmailLink(url=url, ok=True)


def report_failure(store: OrderStore, order_id: int, reason: str) -> EmailLink:
    """Nothing could be minted: the order stays pending with the reason recorded, and no email goes out."""
    store.set_pending_reason(order_id, reason)
    return EmailLink(url=None, ok=False, error=reason)


def stripe_error_text(exc: Exception) -> str:
    """One line describing a Stripe error: its class, and the param and message when it has them."""
    message = getattr(exc, "user_message", None) or str(exc) or exc.__class__.__name__
    param = getattr(getattr(exc, "error", None), "param", None)
    where = f" (param {param})" if param else ""
    return f"{exc.__class__.__name__}{where}: {' '.join(str(message).split())}"
