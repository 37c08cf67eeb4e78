"""The order store: orders, the Stripe objects minted for them, pay tokens, processed webhook events,
anomalies, outbound emails and deferred Stripe clean-up tasks, in one SQLAlchemy database.

SQLite file by default; any SQLAlchemy URL through ``DATABASE_URL``. Every timestamp is an integer
of unix seconds supplied by the caller, so the store never reads a clock itself.

Concurrency: on SQLite every transaction starts with ``BEGIN IMMEDIATE`` (one writer at a time,
so a read-then-write cannot interleave with another); on other databases ``lock_order`` takes a
row lock with ``SELECT ... FOR UPDATE``. No transaction here ever spans a Stripe call: the lazy-mint
click records its intent (a ``checkout_attempts`` row carrying the Stripe ``Idempotency-Key``) in
one short transaction and the session Stripe answered in another. Marking an order paid is a conditional
``UPDATE ... WHERE status = 'pending'`` and webhook events are recorded under a unique event id, so
a payment is applied exactly once whatever the interleaving.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Optional

from sqlalchemy import (
    bindparam,
    create_engine,
    event,
    func,
    insert,
    select,
    update,
)
from sqlalchemy.engine import Connection, Engine, Row, make_url
from sqlalchemy.exc import ArgumentError, IntegrityError
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.pool import StaticPool

from blastpay.flows.order_models import (
    CANCELED,
    CHECKOUT_SESSION,
    MINTING,
    PAID,
    PAYMENT_LINK,
    PENDING,
    RETIRED,
    VOID,
    Anomaly,
    Base,
    CheckoutAttempt,
    Order,
    OrderSpec,
    OrderView,
    OutboundEmail,
    ProcessedEvent,
    StoreError,
    StripeObject,
    StripeTask,
    validate_spec,
)

DEFAULT_DATABASE_URL = "sqlite:///blastpay.db"

# The store's hot reads and its one hot write, built once: each runs as one Core statement on a connection (no ORM
# session, no statement built per call). A read returns rows whose attributes are the table's columns.
_ORDERS, _EMAILS, _OBJECTS, _TASKS = (m.__table__ for m in (Order, OutboundEmail, StripeObject, StripeTask))
_ORDER_BY_ID = select(_ORDERS).where(_ORDERS.c.id == bindparam("order_id"))
_LATEST_EMAIL = select(_EMAILS).where(_EMAILS.c.order_id == bindparam("order_id")).order_by(_EMAILS.c.id.desc()).limit(1)
_LATEST_EMAIL_OF_KIND = (select(_EMAILS).where(_EMAILS.c.order_id == bindparam("order_id"),
                                               _EMAILS.c.kind == bindparam("kind"))
                         .order_by(_EMAILS.c.id.desc()).limit(1))
_OBJECT_BY_URL = select(_OBJECTS).where(_OBJECTS.c.url == bindparam("url")).order_by(_OBJECTS.c.id.desc()).limit(1)
_PENDING_TASKS = select(_TASKS).where(_TASKS.c.done_at.is_(None)).order_by(_TASKS.c.id)
_SET_PENDING_REASON = update(_ORDERS).where(_ORDERS.c.id == bindparam("order_id")).values(
    pending_reason=bindparam("new_reason"))
# Writes inside a caller's transaction: plain table statements (an ORM bulk update would also evaluate its
# WHERE against every order and object loaded in the session; no caller reads a loaded row after these).
_SET_PENDING_REASON_IF_PENDING = update(_ORDERS).where(
    _ORDERS.c.id == bindparam("order_id"), _ORDERS.c.status == PENDING).values(pending_reason=bindparam("new_reason"))
_MARK_PAID = update(_ORDERS).where(_ORDERS.c.id == bindparam("order_id"), _ORDERS.c.status == PENDING).values(
    status=PAID, paid_at=bindparam("paid_now"), paid_via=bindparam("paid_by"), pending_reason=None)
_SET_OBJECT_STATUS = update(_OBJECTS).where(_OBJECTS.c.stripe_id == bindparam("object_id")).values(
    status=bindparam("new_status"))
_STATUSES = select(_ORDERS.c.id, _ORDERS.c.status).where(_ORDERS.c.id.in_(bindparam("order_ids", expanding=True)))
_EMAIL_URLS = (select(_EMAILS.c.order_id, _EMAILS.c.url)
               .where(_EMAILS.c.order_id.in_(bindparam("order_ids", expanding=True))).order_by(_EMAILS.c.id))
_OPEN_SESSIONS = (select(_OBJECTS.c.stripe_id, _OBJECTS.c.url, _OBJECTS.c.expires_at)
                  .where(_OBJECTS.c.order_id == bindparam("order_id"), _OBJECTS.c.kind == CHECKOUT_SESSION,
                         _OBJECTS.c.status == "open")
                  .order_by(_OBJECTS.c.id.desc()))

def database_url_from_env(default: str = DEFAULT_DATABASE_URL) -> str:
    return os.environ.get("DATABASE_URL") or default


def make_engine(database_url: str) -> Engine:
    """An engine for ``database_url``; SQLite gets serialised write transactions and a busy timeout."""
    try:
        url = make_url(database_url)
    except ArgumentError:
        raise StoreError(f"DATABASE_URL is not a SQLAlchemy URL: {database_url!r}") from None
    if url.get_backend_name() != "sqlite":
        # No pre-ping: it costs a round trip per transaction (a third of the route's database time on
        # PostgreSQL). A connection the server dropped fails once, is discarded by the pool, and the
        # caller answers "try again" (the lazy-mint route: 503 with Retry-After).
        return create_engine(url)
    in_memory = url.database in (None, "", ":memory:")
    kwargs: dict = {"connect_args": {"check_same_thread": False, "timeout": 30}}
    if in_memory:
        kwargs["poolclass"] = StaticPool
    engine = create_engine(url, **kwargs)

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn, _record):  # pragma: no cover - exercised through every SQLite test
        dbapi_conn.isolation_level = None  # let the "begin" hook below issue BEGIN itself
        cursor = dbapi_conn.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        if not in_memory:
            cursor.execute("PRAGMA journal_mode=WAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn):  # pragma: no cover - exercised through every SQLite test
        conn.exec_driver_sql("BEGIN IMMEDIATE")

    return engine


class OrderStore:
    """Typed operations over the order database. Each public method is one transaction."""

    def __init__(self, database_url: Optional[str] = None) -> None:
        self.database_url = database_url or database_url_from_env()
        self.engine = make_engine(self.database_url)
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)
        Base.metadata.create_all(self.engine)

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        """A unit of work: committed on success, rolled back (nothing written) on any exception."""
        with self._sessions() as session, session.begin():
            yield session

    def connection(self) -> "contextlib.AbstractContextManager[Connection]":
        """A unit of work for Core statements (the hot reads): the same transaction rules as ``transaction``
        (on SQLite it begins IMMEDIATE), committed on success, rolled back on any exception."""
        return self.engine.begin()

    def dispose(self) -> None:
        self.engine.dispose()

    # -- orders ---------------------------------------------------------------------------------

    def create_orders(self, specs: list[OrderSpec], *, now: int) -> list[OrderView]:
        for spec in specs:
            validate_spec(spec)
        with self.transaction() as session:
            rows = [
                Order(parent_id=s.parent_id, player_id=s.player_id, product_id=s.product_id, amount=s.amount,
                      currency=s.currency, status=PENDING, created_at=now)
                for s in specs
            ]
            session.add_all(rows)
            session.flush()
            return [OrderView.of(r) for r in rows]

    def get_order(self, order_id: int) -> OrderView:
        found = self.find_order(order_id)
        if found is None:
            raise StoreError(f"no order with id {order_id}")
        return found

    def find_order(self, order_id: int) -> Optional[OrderView]:
        with self.connection() as conn:
            row = conn.execute(_ORDER_BY_ID, {"order_id": order_id}).first()
        return OrderView(**row._mapping) if row is not None else None

    def order_statuses(self, order_ids: list[int]) -> dict[int, str]:
        """Each existing order's status, in one statement."""
        with self.connection() as conn:
            return dict(conn.execute(_STATUSES, {"order_ids": list(order_ids)}).all())

    def set_pending_reason(self, order_id: int, reason: Optional[str]) -> None:
        with self.connection() as conn:
            conn.execute(_SET_PENDING_REASON, {"order_id": order_id, "new_reason": reason})

    def cancel_order(self, order_id: int, *, now: int) -> bool:
        """Cancel a pending order; False if it was not pending (already paid or canceled)."""
        with self.transaction() as session:
            done = session.execute(
                update(Order).where(Order.id == order_id, Order.status == PENDING)
                .values(status=CANCELED, canceled_at=now)
            ).rowcount == 1
            if done:
                enqueue_cleanup(session, order_id, now=now, keep=None)
            return done

    def change_amount(self, order_id: int, amount: int, *, now: int) -> OrderView:
        """Change a pending order's amount; every link or session already minted for it is retired."""
        if not isinstance(amount, int) or isinstance(amount, bool) or amount <= 0:
            raise StoreError(f"order amount must be a positive integer of minor units, got {amount!r}")
        with self.transaction() as session:
            if session.execute(
                update(Order).where(Order.id == order_id, Order.status == PENDING).values(amount=amount)
            ).rowcount != 1:
                raise StoreError(f"order {order_id} is not pending; its amount cannot change")
            enqueue_cleanup(session, order_id, now=now, keep=None)
            return OrderView.of(session.get(Order, order_id))

    # -- Stripe objects -------------------------------------------------------------------------

    def record_stripe_object(self, *, kind: str, stripe_id: str, url: Optional[str], status: str, now: int,
                             order_id: Optional[int] = None, product_key: Optional[str] = None,
                             expires_at: Optional[int] = None) -> None:
        with self.transaction() as session:
            add_stripe_object(session, kind=kind, stripe_id=stripe_id, url=url, status=status, now=now,
                              order_id=order_id, product_key=product_key, expires_at=expires_at)

    def stripe_objects(self, *, order_id: Optional[int] = None, kind: Optional[str] = None,
                       product_key: Optional[str] = None) -> list[StripeObject]:
        with self.transaction() as session:
            query = select(StripeObject).order_by(StripeObject.id)
            if order_id is not None:
                query = query.where(StripeObject.order_id == order_id)
            if kind is not None:
                query = query.where(StripeObject.kind == kind)
            if product_key is not None:
                query = query.where(StripeObject.product_key == product_key)
            rows = list(session.scalars(query))
            session.expunge_all()
            return rows

    def stripe_object_by_url(self, url: str) -> Optional[Row]:
        """The newest recorded Stripe object whose URL is ``url`` (a session, a Payment Link, a recovery URL):
        a row with the ``stripe_objects`` columns."""
        with self.connection() as conn:
            return conn.execute(_OBJECT_BY_URL, {"url": url}).first()

    def forget_checkout_sessions(self, reason: str) -> int:
        """The Stripe account behind the store was replaced by an empty one (``blastpay serve`` starts a fresh
        embedded emulator each run): every recorded open Checkout Session is marked expired and every
        unfinished checkout attempt void, so the next click mints against the new account instead of
        redirecting to a session it does not know. Returns how many sessions were marked."""
        with self.transaction() as session:
            sessions = session.execute(
                update(StripeObject).where(StripeObject.kind == CHECKOUT_SESSION, StripeObject.status == "open")
                .values(status="expired")).rowcount
            session.execute(update(CheckoutAttempt).where(CheckoutAttempt.state == MINTING)
                            .values(state=VOID, lease_owner=None, lease_until=None, error=reason))
            return int(sessions or 0)

    def retire_other_objects(self, order_id: int, *, keep: str, now: int) -> None:
        """A fresh link was minted for the order (a re-sent email): queue the retirement of every other live
        per-order object it had (``enqueue_cleanup``), so the order never has two payable links at once."""
        with self.transaction() as session:
            enqueue_cleanup(session, order_id, now=now, keep=keep)

    # -- emails ---------------------------------------------------------------------------------

    def record_email(self, order_id: int, *, kind: str, url: str, now: int) -> None:
        with self.transaction() as session:
            session.add(OutboundEmail(order_id=order_id, kind=kind, url=url, sent_at=now))

    def latest_email(self, order_id: int, kind: Optional[str] = None) -> Optional[Row]:
        """The newest email sent for the order (of `kind`, "blast" or "recovery", if given): a row with the
        ``outbound_emails`` columns."""
        with self.connection() as conn:
            if kind is None:
                return conn.execute(_LATEST_EMAIL, {"order_id": order_id}).first()
            return conn.execute(_LATEST_EMAIL_OF_KIND, {"order_id": order_id, "kind": kind}).first()

    def newest_email_urls(self, order_ids: list[int]) -> dict[int, str]:
        """The link in the newest email for each order that has one, in one statement."""
        with self.connection() as conn:
            return dict(conn.execute(_EMAIL_URLS, {"order_ids": list(order_ids)}).all())

    # -- tasks ----------------------------------------------------------------------------------

    def pending_tasks(self) -> list[Row]:
        """The tasks not yet done, oldest first: rows with the ``stripe_tasks`` columns."""
        with self.connection() as conn:
            return list(conn.execute(_PENDING_TASKS).all())

    def finish_task(self, task_id: int, *, now: int, error: Optional[str] = None) -> None:
        with self.transaction() as session:
            values = {"error": error} if error else {"done_at": now, "error": None}
            session.execute(update(StripeTask).where(StripeTask.id == task_id).values(**values))

    # -- counts ---------------------------------------------------------------------------------

    def count(self, model: type[Base], *where) -> int:
        with self.transaction() as session:
            return int(session.scalar(select(func.count()).select_from(model).where(*where)) or 0)

    def anomalies(self) -> list[Anomaly]:
        with self.transaction() as session:
            rows = list(session.scalars(select(Anomaly).order_by(Anomaly.id)))
            session.expunge_all()
            return rows


# -- helpers that run inside a caller's transaction ----------------------------------------------


def set_pending_reason(session: Session, order_id: int, reason: Optional[str]) -> None:
    """Inside the caller's transaction: why a pending order has no working way to pay now (None: cleared)."""
    session.execute(_SET_PENDING_REASON_IF_PENDING, {"order_id": order_id, "new_reason": reason})


def lock_order(session: Session, order_id: int) -> Optional[Order]:
    """The order row, locked for the rest of the transaction (row lock; SQLite already holds the write lock)."""
    return session.scalars(select(Order).where(Order.id == order_id).with_for_update()).first()


def lock_order_view(session: Session, order_id: int) -> Optional[OrderView]:
    """``lock_order`` for a read-only caller: the same row lock, the columns as an ``OrderView``, no ORM
    object (the lazy-mint route runs this on every click, so it stays at one plain statement)."""
    row = session.execute(select(Order.__table__).where(Order.__table__.c.id == order_id).with_for_update()).first()
    return OrderView(**row._mapping) if row is not None else None


@dataclass(frozen=True)
class SessionRow:
    """An open Checkout Session recorded for an order."""

    stripe_id: str
    url: Optional[str]
    expires_at: Optional[int]


def open_checkout_sessions(session: "Session | Connection", order_id: int) -> list[SessionRow]:
    """The order's recorded open Checkout Sessions, newest first."""
    return [SessionRow(*row) for row in session.execute(_OPEN_SESSIONS, {"order_id": order_id}).all()]


def add_stripe_object(session: Session, *, kind: str, stripe_id: str, url: Optional[str], status: str, now: int,
                      order_id: Optional[int] = None, product_key: Optional[str] = None,
                      expires_at: Optional[int] = None) -> None:
    """Record a Stripe object: one INSERT, no ORM object built (the lazy-mint click path runs this)."""
    session.execute(insert(StripeObject.__table__).values(
        kind=kind, stripe_id=stripe_id, url=url, status=status, created_at=now, order_id=order_id,
        product_key=product_key, expires_at=expires_at))


def mark_paid(session: Session, order_id: int, *, stripe_object_id: str, now: int) -> bool:
    """Pending -> paid, exactly once: True only for the one transaction whose conditional update matched."""
    result = session.execute(_MARK_PAID, {"order_id": order_id, "paid_now": now, "paid_by": stripe_object_id})
    return result.rowcount == 1


def record_event(session: Session, *, event_id: str, type: str, stripe_object_id: Optional[str],
                 order_id: Optional[int], outcome: str, now: int) -> Optional[ProcessedEvent]:
    """Record a webhook event id; None if it was already recorded (a duplicate delivery)."""
    row = ProcessedEvent(event_id=event_id, type=type, stripe_object_id=stripe_object_id,
                         order_id=order_id, outcome=outcome, received_at=now)
    try:
        with session.begin_nested():
            session.add(row)
            session.flush()
    except IntegrityError:
        return None
    return row


def add_anomaly(session: Session, *, kind: str, detail: str, now: int, order_id: Optional[int] = None,
                stripe_object_id: Optional[str] = None, event_id: Optional[str] = None) -> None:
    session.add(Anomaly(kind=kind, detail=detail, created_at=now, order_id=order_id,
                        stripe_object_id=stripe_object_id, event_id=event_id))


def add_task(session: Session, *, action: str, stripe_id: str, order_id: Optional[int], now: int) -> None:
    exists = session.scalars(
        select(StripeTask.id).where(StripeTask.action == action, StripeTask.stripe_id == stripe_id)
    ).first()
    if exists is None:
        session.add(StripeTask(action=action, stripe_id=stripe_id, order_id=order_id, created_at=now))


def enqueue_cleanup(session: Session, order_id: int, *, now: int, keep: Optional[str],
                    deactivated_by_stripe: Optional[str] = None) -> None:
    """Queue the retirement of every live Stripe object minted for the order, except ``keep``:
    active per-order payment links are deactivated and open sessions expired (by ``run_tasks``).
    The rows are marked retired at once, so nothing hands them out again while the task waits.
    ``deactivated_by_stripe`` names a per-order link that Stripe itself deactivated when its
    ``restrictions.completed_sessions.limit`` was reached by this payment: it is marked retired and only
    the sessions it had already opened (another tab) are queued for expiry, with no deactivation call."""
    rows = session.scalars(select(StripeObject).where(StripeObject.order_id == order_id)).all()
    for row in rows:
        if row.stripe_id == keep:
            continue
        if row.kind == PAYMENT_LINK and row.stripe_id == deactivated_by_stripe:
            add_task(session, action="expire_link_sessions", stripe_id=row.stripe_id, order_id=order_id, now=now)
            row.status = RETIRED
            continue
        if row.kind == PAYMENT_LINK and row.status == "active":
            add_task(session, action="deactivate_link", stripe_id=row.stripe_id, order_id=order_id, now=now)
            row.status = RETIRED
        elif row.kind == CHECKOUT_SESSION and row.status == "open":
            add_task(session, action="expire_session", stripe_id=row.stripe_id, order_id=order_id, now=now)
            row.status = RETIRED


def set_object_status(session: Session, stripe_id: str, status: str) -> None:
    session.execute(_SET_OBJECT_STATUS, {"object_id": stripe_id, "new_status": status})


# -- checkout attempts (the lazy-mint click path; each helper is one plain statement) --------------


@dataclass(frozen=True)
class AttemptRow:
    """A checkout attempt as the click path reads it."""

    id: int
    order_id: int
    attempt: int
    idempotency_key: str
    params: str
    amount: int
    expires_at: int
    state: str
    stripe_id: Optional[str]
    lease_owner: Optional[str]
    lease_until: Optional[float]


_ATTEMPT_COLUMNS = tuple(CheckoutAttempt.__table__.c[name] for name in AttemptRow.__dataclass_fields__)


def latest_attempt(session: Session, order_id: int) -> Optional[AttemptRow]:
    """The order's newest checkout attempt (the only one that can still be ``minting``), or None."""
    table = CheckoutAttempt.__table__
    row = session.execute(select(*_ATTEMPT_COLUMNS).where(table.c.order_id == order_id)
                          .order_by(table.c.attempt.desc()).limit(1)).first()
    return AttemptRow(*row) if row is not None else None


def get_attempt(session: Session, attempt_id: int) -> Optional[AttemptRow]:
    row = session.execute(select(*_ATTEMPT_COLUMNS).where(CheckoutAttempt.__table__.c.id == attempt_id)).first()
    return AttemptRow(*row) if row is not None else None


def add_attempt(session: Session, *, order_id: int, attempt: int, idempotency_key: str, params: str, amount: int,
                expires_at: int, now: int, lease_owner: str, lease_until: float) -> int:
    """Write a new ``minting`` attempt held by ``lease_owner``; its id."""
    result = session.execute(insert(CheckoutAttempt.__table__).values(
        order_id=order_id, attempt=attempt, idempotency_key=idempotency_key, params=params, amount=amount,
        expires_at=expires_at, state=MINTING, lease_owner=lease_owner, lease_until=lease_until, created_at=now))
    return int(result.inserted_primary_key[0])


def update_attempt(session: Session, attempt_id: int, *, only_owner: Optional[str] = None,
                   only_state: Optional[str] = None, **values) -> bool:
    """Set columns of an attempt (``only_owner``: only while that click still holds its lease;
    ``only_state``: only while the attempt is in that state). True if the row matched."""
    table = CheckoutAttempt.__table__
    query = update(table).where(table.c.id == attempt_id)
    if only_owner is not None:
        query = query.where(table.c.lease_owner == only_owner)
    if only_state is not None:
        query = query.where(table.c.state == only_state)
    return session.execute(query.values(**values)).rowcount == 1
