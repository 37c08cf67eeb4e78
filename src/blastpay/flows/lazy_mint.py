"""Option 2, lazy mint: the email carries ``/pay/{order_token}``; the Checkout Session is minted on click.

``GET /pay/{token}``:

- a token that does not resolve (unknown, tampered, retired key) -> 404, one page for every failure;
- order paid -> "already paid" page, no Stripe call; order canceled -> "canceled" page;
- an open session for the order with at least ``reuse_margin`` (30 minutes) left -> 303 to it, no
  Stripe call: a parent who presses Back and returns gets the same session, so the retry cohort's
  pile of abandoned sessions never forms;
- otherwise a session is minted through the blessed parameters (24 h ``expires_at``) and recorded,
  and the answer is 303 to its URL. An older open session with less than the margin left is retired
  (expired by a queued task) so the order keeps one live session;
- Stripe failing, or the database failing or dropping its connection -> "try again in a minute", 503
  with ``Retry-After``. A database integrity error (a bug, e.g. a Stripe id the store already holds
  for another object) is logged at ERROR and the parent gets the same "try again" page, never a 500.

The GET never consumes the token, so a mail scanner's pre-click at delivery is harmless: at worst it
mints the session the parent then reuses.

Locking and idempotency requirements
------------------------------------

What a port of this route must keep (the follow-up issue lists the same):

1. No Stripe call inside a database transaction or while holding a pooled connection or a row lock.
   A click runs at most two short transactions: *claim* (resolve the token, lock the order row,
   decide, write the intent) and *record* (lock the order row, write the session). Each holds a
   connection for a few milliseconds, whatever Stripe's latency.
2. Before calling Stripe, the claim writes a ``checkout_attempts`` row: the order, a per-order
   attempt counter (1, 2, ...), the ``Idempotency-Key`` (order id, attempt number and a random salt,
   so two databases sharing a Stripe account never replay each other's keys) and the exact create
   parameters, ``expires_at`` included. Every retry of the attempt sends that key with those
   parameters byte for byte, so Stripe answers with the same session instead of creating another.
3. One click at a time calls Stripe for an attempt: the claim takes a lease (``lease_until``, wall
   clock, longer than the Stripe client's timeout). Concurrent clicks on the order wait for the
   holder to record and then redirect to the same session; after the lease lapses (the holder
   crashed) the next click takes the attempt over and replays its key.
4. The attempt counter advances (a new key) only when the attempt is finished: its session is
   recorded (the next mint, after that session expires, completes or is retired, uses attempt + 1),
   or Stripe answered the key with an error it stores for the key's lifetime (5xx, 4xx), or the key
   named an object the store cannot record. A network error or a 429 keeps the attempt: the key
   replays. A 5xx is indeterminate at Stripe, so its key is never reused.
5. A crash or a database error between "create" and "record" leaves the attempt ``minting``; the
   next click replays the key and records the session Stripe created. Stripe keeps a key 24 hours
   and a session lives at most 24 hours from the attempt's claim, so a replay either returns the
   session or (key forgotten) the session has expired already: an attempt whose ``expires_at`` is
   within ``reuse_margin`` of now, or whose amount no longer matches the order, is *resolved*
   (replayed once so whatever Stripe created is recorded as retired and expired) before attempt + 1
   is minted.
6. The record step re-checks the order under its row lock: a session minted for an order that was
   paid, canceled or changed meanwhile is recorded as retired and its expiry queued, never handed out.
   A session that cannot be recorded because of an integrity error is expired at once, the attempt is
   voided, and the error is logged.
7. At most one open, payable session per order: reuse first; otherwise retire the older session
   (queued expiry) before handing out the new one.
8. Production serves no API documentation: ``/docs``, ``/redoc`` and ``/openapi.json`` answer 404.
"""

from __future__ import annotations

import json
import logging
import secrets
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Optional, Union

import stripe
from sqlalchemy.exc import IntegrityError, InterfaceError, OperationalError

from blastpay.flows.checkout_session import SESSION_MAX_TTL, checkout_session_params
from blastpay.flows.email_link import EmailLink, send_link, stripe_error_text
from blastpay.flows.order_models import (
    CANCELED,
    CHECKOUT_SESSION,
    MINTING,
    PAID,
    PENDING,
    RECORDED,
    RETIRED,
    VOID,
    OrderView,
)
from blastpay.flows.orders import (
    OrderStore,
    SessionRow,
    add_attempt,
    add_stripe_object,
    add_task,
    get_attempt,
    latest_attempt,
    lock_order_view,
    open_checkout_sessions,
    set_object_status,
    set_pending_reason,
    update_attempt,
)
from blastpay.flows.tokens import TokenBinding

log = logging.getLogger("blastpay.lazy_mint")

REUSE_MARGIN = 30 * 60
RETRY_AFTER_SECONDS = 60
MINT_LEASE_SECONDS = 30.0  # longer than a Stripe call's worst case, retries included (serve.stripe_call_worst_case)
MINT_WAIT_SECONDS = 10.0  # how long a concurrent click waits for the holder before "try again"
SDK_RETRIES = 2  # experiments/mitigations.yaml max_network_retries; a test keeps the two equal
STRIPE_TIMEOUT_SECONDS = 8  # connect and read timeout of one attempt: 3 attempts + back-off = 25.5 s < the lease
MAX_ROUNDS = 3  # claims per click: the attempt, a resolve of a stale one, a fresh one
_DB_ERRORS = (OperationalError, InterfaceError)


@dataclass(frozen=True)
class LazyMintConfig:
    public_base_url: str  # where /pay/{token} is served, e.g. https://api.example.org
    success_url: str  # may contain {CHECKOUT_SESSION_ID}
    cancel_url: str
    session_ttl: int = SESSION_MAX_TTL
    reuse_margin: int = REUSE_MARGIN
    retry_after: int = RETRY_AFTER_SECONDS
    mint_lease: float = MINT_LEASE_SECONDS
    mint_wait: float = MINT_WAIT_SECONDS


@dataclass(frozen=True)
class PayOutcome:
    """What ``GET /pay/{token}`` decided: page is redirect, not_found, already_paid, canceled or try_again."""

    page: str
    url: Optional[str] = None
    order_id: Optional[int] = None
    minted: bool = False
    detail: Optional[str] = None


@dataclass(frozen=True)
class _Claim:
    """This click holds the lease on an attempt and may call Stripe with its key and parameters."""

    order: OrderView
    attempt_id: int
    attempt: int
    key: str
    params: dict[str, Any]
    amount: int  # the amount the params charge
    owner: str
    resolve_only: bool  # a stale attempt: replay it only to retire whatever it created


@dataclass(frozen=True)
class _Wait:
    """Another click holds the lease on the order's attempt."""

    attempt_id: int


# Stripe errors after which the same key may be sent again (Stripe stored no answer for it).
_REPLAYABLE = (stripe.APIConnectionError, stripe.RateLimitError)


def _replayable(exc: stripe.StripeError) -> bool:
    if isinstance(exc, _REPLAYABLE):
        return True
    # Stripe answers 409 while another request with the same key is still executing.
    code = getattr(getattr(exc, "error", None), "code", None) or getattr(exc, "code", None)
    return code == "idempotency_key_in_use" or exc.http_status == 409


def reusable_session(open_sessions: Sequence[SessionRow], now: int, margin: int) -> Optional[SessionRow]:
    """The recorded open session a click is sent back to: the newest with a URL and at least ``margin`` left."""
    return next((row for row in open_sessions
                 if row.expires_at is not None and row.expires_at - now >= margin and row.url), None)


class LazyMint:
    """The lazy-mint decisions, independent of HTTP.

    ``wall_clock`` (unix seconds) times the minting lease between processes; ``clock`` is the payment
    clock (Stripe's ``expires_at`` arithmetic). ``step_hook(step)``, if set, is called at each step of a
    mint ("claimed", "created", "recorded"): tests raise from it to simulate a crash there."""

    def __init__(self, store: OrderStore, client: stripe.StripeClient, binding: TokenBinding,
                 clock: Callable[[], int], config: LazyMintConfig, *,
                 wall_clock: Callable[[], float] = time.time) -> None:
        self.store, self.client, self.binding, self.clock, self.config = store, client, binding, clock, config
        self.wall_clock = wall_clock
        self.step_hook: Optional[Callable[[str], None]] = None
        self._waiters: dict[int, threading.Event] = {}
        self._waiters_lock = threading.Lock()

    def pay_url(self, token: str) -> str:
        return f"{self.config.public_base_url.rstrip('/')}/pay/{token}"

    def blast(self, orders: Sequence[OrderView], *, now: int) -> dict[int, EmailLink]:
        """Mint a token per order (no Stripe call) and email its /pay URL."""
        links: dict[int, EmailLink] = {}
        for order in orders:
            with self.store.transaction() as session:
                token = self.binding.mint(session, order.id, now=now)
            links[order.id] = send_link(self.store, order.id, self.pay_url(token), now=now)
        return links

    # -- the click ------------------------------------------------------------------------------

    def open(self, token: str) -> PayOutcome:
        now = self.clock()
        deadline = time.monotonic() + self.config.mint_wait
        rounds = 0
        while True:
            try:
                step = self._claim(token, now)
            except _DB_ERRORS as exc:
                return self._db_failed("claim", exc)
            except IntegrityError as exc:  # a bug: surfaced in the log, the parent sees "try again"
                log.error("lazy-mint: integrity error while claiming a mint: %s", exc.orig if exc.orig is not None else exc)
                return PayOutcome("try_again", detail="database integrity error (logged)")
            if isinstance(step, PayOutcome):
                return step
            if isinstance(step, _Wait):
                try:
                    finished = self._wait_for(step.attempt_id, deadline)
                except _DB_ERRORS as exc:
                    return self._db_failed("wait", exc)
                if not finished:
                    return PayOutcome("try_again", detail="another click is still minting this order's session")
                continue
            rounds += 1
            outcome = self._mint(step, now)
            if outcome is not None:
                return outcome
            if rounds >= MAX_ROUNDS:
                log.error("lazy-mint: order %s still has no usable session after %d attempts", step.order.id, rounds)
                return PayOutcome("try_again", order_id=step.order.id, detail="no usable session after retries")

    def _hook(self, step: str) -> None:
        if self.step_hook is not None:
            self.step_hook(step)

    def _claim(self, token: str, now: int) -> Union[PayOutcome, _Claim, _Wait]:
        """Transaction 1: resolve, lock the order row, reuse or retire recorded sessions, and claim the
        order's attempt (a new one, or the unfinished one whose lease lapsed)."""
        margin = self.config.reuse_margin
        with self.store.transaction() as session:
            order = self._resolve_and_reuse(session, token, now)
            if isinstance(order, PayOutcome):
                return order
            wall = self.wall_clock()
            owner = secrets.token_hex(8)
            lease_until = wall + self.config.mint_lease
            attempt = latest_attempt(session, order.id)
            if attempt is not None and attempt.state == MINTING:
                if attempt.lease_until is not None and attempt.lease_until > wall:
                    return _Wait(attempt.id)
                update_attempt(session, attempt.id, lease_owner=owner, lease_until=lease_until)
                stale = attempt.expires_at - now < margin or attempt.amount != order.amount
                return _Claim(order, attempt.id, attempt.attempt, attempt.idempotency_key, json.loads(attempt.params),
                              attempt.amount, owner, resolve_only=stale)
            number = attempt.attempt + 1 if attempt is not None else 1
            params = checkout_session_params(order, expires_at=now + self.config.session_ttl,
                                             success_url=self.config.success_url, cancel_url=self.config.cancel_url)
            key = f"blastpay-pay-{order.id}-{number}-{secrets.token_hex(8)}"
            attempt_id = add_attempt(session, order_id=order.id, attempt=number, idempotency_key=key,
                                     params=json.dumps(params), amount=order.amount, expires_at=params["expires_at"],
                                     now=now, lease_owner=owner, lease_until=lease_until)
            return _Claim(order, attempt_id, number, key, params, order.amount, owner, resolve_only=False)

    def _resolve_and_reuse(self, session: Any, token: str, now: int) -> Union[PayOutcome, OrderView]:
        """Inside the caller's transaction: resolve the token and lock its order; the page to show if the order
        is closed or has an open session with at least ``reuse_margin`` left; otherwise retire the order's
        older open sessions (queued expiry) and return the locked order, which needs a fresh session."""
        order_id = self.binding.resolve(session, token)
        order = lock_order_view(session, order_id) if order_id is not None else None
        if order is None:
            return PayOutcome("not_found")
        if order.status == PAID:
            return PayOutcome("already_paid", order_id=order.id)
        if order.status == CANCELED:
            return PayOutcome("canceled", order_id=order.id)
        open_sessions = open_checkout_sessions(session, order.id)
        reuse = reusable_session(open_sessions, now, self.config.reuse_margin)
        if reuse is not None:
            return PayOutcome("redirect", url=reuse.url, order_id=order.id)
        for row in open_sessions:
            if row.expires_at is not None and row.expires_at > now:
                add_task(session, action="expire_session", stripe_id=row.stripe_id, order_id=order.id, now=now)
                set_object_status(session, row.stripe_id, RETIRED)
            else:
                set_object_status(session, row.stripe_id, "expired")
        return order

    def _mint(self, claim: _Claim, now: int) -> Optional[PayOutcome]:
        """Call Stripe for the claimed attempt (no transaction open), then record. None: claim again."""
        try:
            self._hook("claimed")
            try:
                created = self.client.v1.checkout.sessions.create(claim.params,  # type: ignore[arg-type]
                                                                  {"idempotency_key": claim.key})
            except stripe.StripeError as exc:
                return self._stripe_failed(claim, exc)
            self._hook("created")
            try:
                outcome = self._record(claim, created, now)
            except IntegrityError as exc:
                return self._unrecordable(claim, created, exc)
            except _DB_ERRORS as exc:
                self._release(claim)
                return self._db_failed("record", exc)
            self._hook("recorded")
            return outcome
        finally:
            self._notify(claim.attempt_id)

    def _record(self, claim: _Claim, created: Any, now: int) -> Optional[PayOutcome]:
        """Transaction 2: lock the order row again and record the session Stripe answered with."""
        margin = self.config.reuse_margin
        with self.store.transaction() as session:
            order = lock_order_view(session, claim.order.id)
            if order is None:  # pragma: no cover - orders are never deleted
                return PayOutcome("not_found")
            if not update_attempt(session, claim.attempt_id, only_state=MINTING, state=RECORDED, stripe_id=created.id,
                                  lease_owner=None, lease_until=None):
                return None  # another click took the attempt over and finished it: decide again
            status = created.status
            usable = (not claim.resolve_only and status == "open" and order.status == PENDING
                      and claim.amount == order.amount and (created.expires_at or 0) - now >= margin)
            if usable:
                row_status = "open"
            elif status == "open":
                row_status = RETIRED
                add_task(session, action="expire_session", stripe_id=created.id, order_id=order.id, now=now)
            else:
                row_status = status  # complete or expired
            add_stripe_object(session, kind=CHECKOUT_SESSION, stripe_id=created.id, url=created.url, status=row_status,
                              now=now, order_id=order.id, expires_at=created.expires_at)
            if usable and order.pending_reason:
                set_pending_reason(session, order.id, None)  # a failed click before: the order has a way to pay again
        if usable:
            return PayOutcome("redirect", url=created.url, order_id=claim.order.id, minted=True)
        if status == "complete":
            # The attempt's session was paid (its webhook may still be on its way): show it, never mint again.
            return PayOutcome("redirect", url=created.url, order_id=claim.order.id)
        return None

    def _stripe_failed(self, claim: _Claim, exc: stripe.StripeError) -> Optional[PayOutcome]:
        detail = stripe_error_text(exc)
        # the parent met "try again": recorded on the order, as a failed mint at the blast is, so the blast job's
        # re-send when the incident ends reaches this parent too
        failure = None if claim.resolve_only else f"checkout could not be created at a click: {detail[:500]}"
        if _replayable(exc):
            self._release(claim, failure)
            return PayOutcome("try_again", order_id=claim.order.id, detail=detail)
        # Stripe stores its answer under the key (a 5xx is indeterminate): never send the key again.
        try:
            with self.store.transaction() as session:
                update_attempt(session, claim.attempt_id, only_owner=claim.owner, state=VOID, lease_owner=None,
                               lease_until=None, error=detail[:2000])
                if failure is not None:
                    set_pending_reason(session, claim.order.id, failure)
        except _DB_ERRORS as db_exc:
            return self._db_failed("void", db_exc)
        if claim.resolve_only:
            return None  # the stale attempt created nothing Stripe will hand back: mint a fresh one
        return PayOutcome("try_again", order_id=claim.order.id, detail=detail)

    def _unrecordable(self, claim: _Claim, created: Any, exc: IntegrityError) -> PayOutcome:
        """The store refused the session (an integrity error: a bug, such as a Stripe id it already holds
        for another object). Log it, expire the session so nothing payable is left unrecorded, void the
        attempt so the next click mints under a new key, and show the parent "try again"."""
        log.error("lazy-mint: cannot record Checkout Session %s for order %s (attempt %s): %s; expiring it",
                  created.id, claim.order.id, claim.attempt, exc.orig if exc.orig is not None else exc)
        try:
            self.client.v1.checkout.sessions.expire(created.id)
        except stripe.StripeError as stripe_exc:
            log.error("lazy-mint: could not expire unrecorded session %s: %s", created.id, stripe_error_text(stripe_exc))
        try:
            with self.store.transaction() as session:
                update_attempt(session, claim.attempt_id, state=VOID, lease_owner=None, lease_until=None,
                               stripe_id=created.id, error=f"integrity error recording {created.id}")
        except _DB_ERRORS as db_exc:
            log.error("lazy-mint: could not void attempt %s: %s", claim.attempt_id, db_exc)
        return PayOutcome("try_again", order_id=claim.order.id, detail="database integrity error (logged)")

    def _release(self, claim: _Claim, failure: Optional[str] = None) -> None:
        """Give the lease back so the parent's retry replays the key at once, recording `failure` on the order
        (best effort: if the database is down, the lease lapses on its own)."""
        try:
            with self.store.transaction() as session:
                update_attempt(session, claim.attempt_id, only_owner=claim.owner, lease_owner=None, lease_until=None)
                if failure is not None:
                    set_pending_reason(session, claim.order.id, failure)
        except _DB_ERRORS:
            pass

    def _db_failed(self, step: str, exc: Exception) -> PayOutcome:
        # The database refused or dropped the connection (server restarted, connection killed, SQLite
        # still locked after its timeout). The pool discards a dead connection, so the parent's retry
        # gets a fresh one; a session created before the failure is recorded by that retry (same key).
        orig = getattr(exc, "orig", None)
        return PayOutcome("try_again", detail=f"database ({step}): {type(orig or exc).__name__}")

    # -- waiting for the click that holds the lease ---------------------------------------------

    def _wait_for(self, attempt_id: int, deadline: float) -> bool:
        """Wait until the attempt another click holds is finished or its lease lapsed (True: claim again),
        or the deadline passes (False). A holder in this process wakes the waiter at once; one in another
        process is seen by a one-statement read every 20-100 ms (no lock, no write)."""
        with self._waiters_lock:
            event = self._waiters.setdefault(attempt_id, threading.Event())
        pause = 0.02
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return False
            if event.wait(min(pause, remaining)):  # the holder here finished (or died): a fresh event for next time
                with self._waiters_lock:
                    event = self._waiters.setdefault(attempt_id, threading.Event())
            pause = min(pause * 1.5, 0.1)
            with self.store.transaction() as session:
                row = get_attempt(session, attempt_id)
            if row is None or row.state != MINTING or row.lease_until is None or row.lease_until <= self.wall_clock():
                return True

    def _notify(self, attempt_id: int) -> None:
        with self._waiters_lock:
            event = self._waiters.pop(attempt_id, None)
        if event is not None:
            event.set()


# -- pages ---------------------------------------------------------------------------------------
