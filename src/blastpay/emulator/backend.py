"""The backend: stores, the simulated clock, ids and idempotency records, with each resource's verbs mixed in.

No HTTP here. Methods take already-validated parameter dicts (see ``schemas.py``) and return Stripe-shaped
dicts. Every method is called with ``self.lock`` held by the caller (``Emulator`` / ``wire``) unless it says
otherwise; webhook delivery happens after it is released (``delivery.py``)."""
from __future__ import annotations

import threading
import time
from typing import Any, Callable

from blastpay.emulator.checkout import Checkout
from blastpay.emulator.clock import SimClock
from blastpay.emulator.common import Transport
from blastpay.emulator.customers import Customers
from blastpay.emulator.delivery import Delivery
from blastpay.emulator.errors import invalid, no_such
from blastpay.emulator.events import Events
from blastpay.emulator.hosted import HostedPages
from blastpay.emulator.ids import IdGenerator
from blastpay.emulator.payment_intents import PaymentIntents
from blastpay.emulator.payment_links import PaymentLinks
from blastpay.emulator.products import Products
from blastpay.emulator.store import Index, Store
from blastpay.emulator.subscriptions import Subscriptions
from blastpay.emulator.tax import Tax
from blastpay.emulator.webhooks import HttpWebhookTransport, Outbox, WebhookHosts

LOOPBACK_ONLY = WebhookHosts()  # endpoints on loopback only, no host named on the command line


class Backend(Products, Customers, Checkout, PaymentLinks, HostedPages, PaymentIntents, Subscriptions, Tax, Events,
              Delivery):
    def __init__(self, seed: int = 0, start: int = 1_767_225_600, base_url: str = "http://stripe.emulator.test",
                 webhook_hosts: WebhookHosts = LOOPBACK_ONLY) -> None:
        self.lock = threading.RLock()
        # held for a whole delivery pass (deliver_due, advance, flush, reset); always taken before ``lock``
        self.delivery_lock = threading.RLock()
        self.deliverer: Any = None  # a BackgroundDeliverer while served (deliverer.py); None: deliver inline
        self.seed = seed
        self.start = start
        self.base_url = base_url.rstrip("/")
        self.webhook_hosts = webhook_hosts
        self.restrict_webhook_hosts = False  # set while served: endpoints elsewhere are refused at creation
        self.webhook_transport: Transport = HttpWebhookTransport(webhook_hosts)
        self.wall_clock: Callable[[], float] = time.time
        self._initialise()

    # -- lifecycle -------------------------------------------------------------------------
    def _initialise(self) -> None:
        self.clock = SimClock(self.start)
        self.ids = IdGenerator(self.seed)
        self._seq = 0
        self.stores: dict[str, Store] = {
            kind: Store()
            for kind in (
                "product",
                "price",
                "customer",
                "checkout.session",
                "payment_link",
                "payment_intent",
                "event",
                "webhook_endpoint",
                "subscription",
                "invoice",
                "tax.registration",
            )
        }
        self.line_items: dict[str, list[dict[str, Any]]] = {}
        self.session_inputs: dict[str, dict[str, Any]] = {}
        self.link_inputs: dict[str, dict[str, Any]] = {}
        self.link_codes: dict[str, str] = {}
        self.recovery_codes: dict[str, str] = {}
        self.sessions_by_link: dict[str, Index] = {}
        self.sessions_by_customer: dict[str, Index] = {}
        self.events_by_type: dict[str, Index] = {}
        self.expiry_heap: list[tuple[int, int, str]] = []
        self.renewal_heap: list[tuple[int, int, str]] = []  # (period end, seq, subscription id)
        self.subscription_inputs: dict[str, dict[str, Any]] = {}
        self.subscriptions_by_customer: dict[str, Index] = {}
        self.invoices_by_subscription: dict[str, Index] = {}
        self.event_bodies: dict[str, bytes] = {}
        self.outbox = Outbox()
        self.held_deliveries: list[tuple[str, str]] = []
        self.deliveries: list[dict[str, Any]] = []
        self.webhook_faults: list[dict[str, Any]] = []
        self.idempotency: dict[tuple[str, str], tuple[str, str, Any, int, str]] = {}
        # (api key, Idempotency-Key) of requests executing or holding their answer (wire.py)
        self.idempotency_in_flight: set[tuple[str, str]] = set()
        self.endpoint_secrets: dict[str, str] = {}

    def reset(self) -> None:
        with self.delivery_lock, self.lock:
            self._initialise()

    def deliver_soon(self) -> None:
        """After a call that may have made deliveries due: the background deliverer's job while served,
        otherwise done now (the in-process door, whose evidence depends on the order of events)."""
        if self.deliverer is not None:
            self.deliverer.kick()
        else:
            self.deliver_due()

    def now(self) -> int:
        return self.clock.now()

    def _next_seq(self) -> int:
        self._seq += 1
        return self._seq

    def store(self, kind: str) -> Store:
        return self.stores[kind]

    def _require(self, kind: str, object_id: str, param: str = "id") -> dict[str, Any]:
        obj = self.stores[kind].get(object_id)
        if obj is None:
            raise no_such(kind, object_id, param)
        return obj

    # -- listing ---------------------------------------------------------------------------
    def list_page(self, kind: str, index: Index | None, params: dict[str, Any], url: str) -> dict[str, Any]:
        store = self.stores[kind]
        index = store.all if index is None else index
        limit = params.get("limit", 10)
        after = params.get("starting_after")
        before = params.get("ending_before")
        if after is not None and before is not None:
            raise invalid("You may only specify one of these parameters: ending_before, starting_after.", param="starting_after")
        after_seq = before_seq = None
        if after is not None:
            after_seq = store.seq_of.get(after)
            if after_seq is None:
                raise no_such(kind, after, "starting_after")
        if before is not None:
            before_seq = store.seq_of.get(before)
            if before_seq is None:
                raise no_such(kind, before, "ending_before")
        ids, has_more = index.page(limit, after_seq, before_seq)
        return {"object": "list", "data": [store.objects[i] for i in ids], "has_more": has_more, "url": url}

    def next_due(self) -> int | None:
        times = [t for t in (self.next_expiry(), self.next_renewal(), self.outbox.next_due()) if t is not None]
        return min(times) if times else None

    def advance(self, seconds: int) -> int:
        """Move the clock, firing expiries and deliveries in time order. Call WITHOUT the lock."""
        if int(seconds) != seconds or seconds < 0:
            raise invalid(f"seconds must be a non-negative whole number, got {seconds!r}", param="seconds")
        with self.delivery_lock:  # a background pass under way finishes first; none starts until we are done
            with self.lock:
                target = self.now() + int(seconds)
            while True:
                with self.lock:
                    due = self.next_due()
                    if due is None or due > target:
                        self.clock.move_to(target)
                        self.run_expiries()
                        self.run_renewals()
                        break
                    self.clock.move_to(max(due, self.now()))
                    self.run_expiries()
                    self.run_renewals()
                self.deliver_due()
            self.deliver_due()
            return self.now()
