"""The order store's data model: order, Stripe object, pay token, processed event, anomaly, outbound email,
Stripe task and checkout attempt tables; the statuses and kinds they use; the order snapshots the flows pass
around; and the order reference Stripe objects carry."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Optional

from sqlalchemy import Float, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

PENDING, PAID, CANCELED = "pending", "paid", "canceled"
ORDER_STATUSES = (PENDING, PAID, CANCELED)

# Kinds of Stripe object recorded against an order (or, for a per-product link, against a product).
CHECKOUT_SESSION, PAYMENT_LINK, RECOVERY_URL = "checkout_session", "payment_link", "recovery_url"
# A live object the store no longer hands out; its Stripe-side retirement is queued as a task.
RETIRED = "retired"

# Order ids are INTEGER columns: a reference or metadata value beyond this range names no order (and must not
# reach the database, where PostgreSQL would refuse it).
MAX_ORDER_ID = 2**31 - 1
_ORDER_REF = re.compile(r"^order_([1-9][0-9]{0,9})$")


class StoreError(ValueError):
    """A request to the store names something that does not exist or is not allowed."""


class Base(DeclarativeBase):
    pass


class Order(Base):
    __tablename__ = "orders"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    parent_id: Mapped[int] = mapped_column(Integer, index=True)
    player_id: Mapped[int] = mapped_column(Integer)
    product_id: Mapped[str] = mapped_column(String(200))
    amount: Mapped[int] = mapped_column(Integer)  # minor units (cents)
    currency: Mapped[str] = mapped_column(String(3))
    status: Mapped[str] = mapped_column(String(16), default=PENDING)
    created_at: Mapped[int] = mapped_column(Integer)
    paid_at: Mapped[Optional[int]] = mapped_column(Integer, nullable=True)
    paid_via: Mapped[Optional[str]] = mapped_column(String(255), nullable=True)  # cs_... that paid it
    canceled_at: Mapped[Optional[int]] = mapped_column(Integer, nullable=True)
    pending_reason: Mapped[Optional[str]] = mapped_column(Text, nullable=True)


class StripeObject(Base):
    __tablename__ = "stripe_objects"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    order_id: Mapped[Optional[int]] = mapped_column(ForeignKey("orders.id"), nullable=True, index=True)
    product_key: Mapped[Optional[str]] = mapped_column(String(255), nullable=True, index=True)
    kind: Mapped[str] = mapped_column(String(32))
    stripe_id: Mapped[str] = mapped_column(String(255), unique=True)
    url: Mapped[Optional[str]] = mapped_column(Text, nullable=True)
    # open/complete/expired/retired for sessions, active/inactive/retired for links and recovery URLs
    status: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[int] = mapped_column(Integer)
    expires_at: Mapped[Optional[int]] = mapped_column(Integer, nullable=True)


class PayToken(Base):
    __tablename__ = "pay_tokens"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id"), index=True)
    binding: Mapped[str] = mapped_column(String(8))  # "hmac" or "db"
    lookup: Mapped[str] = mapped_column(String(128), unique=True)  # nonce (hmac) or sha256 of the token (db)
    kid: Mapped[Optional[str]] = mapped_column(String(32), nullable=True)
    created_at: Mapped[int] = mapped_column(Integer)


class ProcessedEvent(Base):
    __tablename__ = "processed_events"

    event_id: Mapped[str] = mapped_column(String(255), primary_key=True)
    type: Mapped[str] = mapped_column(String(100))
    stripe_object_id: Mapped[Optional[str]] = mapped_column(String(255), nullable=True)
    order_id: Mapped[Optional[int]] = mapped_column(Integer, nullable=True)
    outcome: Mapped[str] = mapped_column(String(32))
    received_at: Mapped[int] = mapped_column(Integer)


class Anomaly(Base):
    __tablename__ = "anomalies"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    kind: Mapped[str] = mapped_column(String(32), index=True)
    order_id: Mapped[Optional[int]] = mapped_column(Integer, nullable=True)
    stripe_object_id: Mapped[Optional[str]] = mapped_column(String(255), nullable=True)
    event_id: Mapped[Optional[str]] = mapped_column(String(255), nullable=True)
    detail: Mapped[str] = mapped_column(Text)
    created_at: Mapped[int] = mapped_column(Integer)


class OutboundEmail(Base):
    __tablename__ = "outbound_emails"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id"), index=True)
    kind: Mapped[str] = mapped_column(String(16))  # "blast" or "recovery"
    url: Mapped[str] = mapped_column(Text)
    sent_at: Mapped[int] = mapped_column(Integer)


class StripeTask(Base):
    """A Stripe call deferred out of a request or webhook (deactivate a link, expire a session)."""

    __tablename__ = "stripe_tasks"
    __table_args__ = (UniqueConstraint("action", "stripe_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    action: Mapped[str] = mapped_column(String(32))  # "deactivate_link", "expire_link_sessions" or "expire_session"
    stripe_id: Mapped[str] = mapped_column(String(255))
    order_id: Mapped[Optional[int]] = mapped_column(Integer, nullable=True)
    created_at: Mapped[int] = mapped_column(Integer)
    done_at: Mapped[Optional[int]] = mapped_column(Integer, nullable=True)
    error: Mapped[Optional[str]] = mapped_column(Text, nullable=True)


# States of a checkout attempt (one per Idempotency-Key the lazy-mint route sends Stripe).
MINTING, RECORDED, VOID = "minting", "recorded", "void"


class CheckoutAttempt(Base):
    """One Checkout Session create the lazy-mint route intends, written before Stripe is called.

    ``idempotency_key`` and ``params`` (the exact create parameters, JSON) are fixed when the row is
    written, so every retry of the attempt (a concurrent click after the lease lapses, a click after a
    crash or a failed record) replays the same request and Stripe answers with the same session.
    ``state``: ``minting`` (a session may or may not exist at Stripe), ``recorded`` (``stripe_id`` is
    in ``stripe_objects``), ``void`` (Stripe answered the key with an error it stores, or the key names
    objects the store cannot record: never sent again). ``lease_until`` (wall-clock unix seconds) and
    ``lease_owner`` say which click may call Stripe for the attempt now; others wait for it."""

    __tablename__ = "checkout_attempts"
    __table_args__ = (UniqueConstraint("order_id", "attempt"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id"), index=True)
    attempt: Mapped[int] = mapped_column(Integer)  # 1, 2, ... per order
    idempotency_key: Mapped[str] = mapped_column(String(255), unique=True)
    params: Mapped[str] = mapped_column(Text)
    amount: Mapped[int] = mapped_column(Integer)
    expires_at: Mapped[int] = mapped_column(Integer)  # the expires_at the params ask Stripe for
    state: Mapped[str] = mapped_column(String(16), default=MINTING)
    stripe_id: Mapped[Optional[str]] = mapped_column(String(255), nullable=True)
    lease_owner: Mapped[Optional[str]] = mapped_column(String(64), nullable=True)
    lease_until: Mapped[Optional[float]] = mapped_column(Float, nullable=True)
    created_at: Mapped[int] = mapped_column(Integer)
    error: Mapped[Optional[str]] = mapped_column(Text, nullable=True)


@dataclass(frozen=True)
class OrderSpec:
    """What an order is created from."""

    parent_id: int
    player_id: int
    product_id: str
    amount: int
    currency: str = "usd"


@dataclass(frozen=True)
class OrderView:
    """A detached snapshot of one order row."""

    id: int
    parent_id: int
    player_id: int
    product_id: str
    amount: int
    currency: str
    status: str
    created_at: int
    paid_at: Optional[int]
    paid_via: Optional[str]
    canceled_at: Optional[int]
    pending_reason: Optional[str]

    @classmethod
    def of(cls, row: Order) -> "OrderView":
        return cls(
            id=row.id, parent_id=row.parent_id, player_id=row.player_id, product_id=row.product_id,
            amount=row.amount, currency=row.currency, status=row.status, created_at=row.created_at,
            paid_at=row.paid_at, paid_via=row.paid_via, canceled_at=row.canceled_at,
            pending_reason=row.pending_reason,
        )


def order_reference(order_id: int) -> str:
    """The order id as Stripe carries it in ``client_reference_id`` (letters, digits, ``_`` only)."""
    return f"order_{int(order_id)}"


def parse_order_reference(value: object) -> Optional[int]:
    """The order id in an ``order_<n>`` reference, or None if the value is not one."""
    if not isinstance(value, str):
        return None
    match = _ORDER_REF.match(value)
    if not match or int(match.group(1)) > MAX_ORDER_ID:
        return None
    return int(match.group(1))


def order_metadata(order: OrderView) -> dict[str, str]:
    """The metadata every Stripe object minted for an order carries (the webhook match key is order_id)."""
    return {"order_id": str(order.id), "player_id": str(order.player_id), "product_id": order.product_id}


def validate_spec(spec: OrderSpec) -> None:
    if not isinstance(spec.amount, int) or isinstance(spec.amount, bool) or spec.amount <= 0:
        raise StoreError(f"order amount must be a positive integer of minor units, got {spec.amount!r}")
    if not (isinstance(spec.currency, str) and re.fullmatch(r"[a-z]{3}", spec.currency)):
        raise StoreError(f"order currency must be a lower-case ISO code such as 'usd', got {spec.currency!r}")
    if not (isinstance(spec.product_id, str) and 0 < len(spec.product_id) <= 200):
        raise StoreError(f"order product_id must be a non-empty string of at most 200 characters, got {spec.product_id!r}")
