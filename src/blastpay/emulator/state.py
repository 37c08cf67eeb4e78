"""The emulator's state and transitions: resources, the clock's effects, events.

No HTTP here. Methods take already-validated parameter dicts (see ``params.py``)
and return Stripe-shaped dicts. Every method is called with ``self.lock`` held by
the caller (``Emulator`` / ``wire``); webhook delivery happens after it is released.
"""
from __future__ import annotations

import copy
import heapq
import json
import re
import threading
import time
from typing import Any, Callable
from urllib.parse import parse_qs, urlsplit

from . import errors
from .clock import SimClock
from .errors import EmulatorError, invalid, no_such
from .ids import IdGenerator
from .params import UNSET
from .store import Index, Store
from .shapes import shaped
from .webhooks import RETRY_WINDOW, Outbox, post_over_http, retry_delay, signature_header

API_VERSION = "2026-10-28.endive"
MIN_SESSION_TTL = 30 * 60
MAX_SESSION_TTL = 24 * 3600
DEFAULT_SESSION_TTL = 24 * 3600
RECOVERY_TTL = 30 * 24 * 3600
MAX_WEBHOOK_ENDPOINTS = 16
MAX_LINK_LINE_ITEMS = 20
CLIENT_REFERENCE_ID = re.compile(r"^[A-Za-z0-9_-]{1,200}$")
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
EXPIRES_AT_TOO_LATE = "The `expires_at` timestamp must be less than 24 hours from Checkout Session creation."
EXPIRES_AT_TOO_EARLY = "The `expires_at` timestamp must be at least 30 minutes from Checkout Session creation."
DEFAULT_INACTIVE_MESSAGE = "This link is no longer active. Contact the seller for a new link."
EXPIRED_SESSION_MESSAGE = "This checkout session has expired."
EXPIRED_RECOVERY_MESSAGE = "This recovery link has expired."
DECLINED_MESSAGE = "Your card was declined."
# Session create parameters stored and echoed as given (they change nothing the emulator models).
SESSION_ECHOED = ("allow_promotion_codes", "billing_address_collection", "customer_creation", "locale",
                  "submit_type")
LINK_ECHOED = ("allow_promotion_codes", "billing_address_collection", "customer_creation", "payment_method_types",
               "submit_type")
NO_INVOICE_CREATION = {
    "enabled": False,
    "invoice_data": {"account_tax_ids": None, "custom_fields": None, "description": None, "footer": None,
                     "issuer": None, "metadata": {}, "rendering_options": None},
}

Transport = Callable[[str, dict[str, str], bytes], int]


def _merge_metadata(current: dict[str, str], change: Any) -> dict[str, str]:
    if change is UNSET:
        return {}
    merged = dict(current)
    for key, value in change.items():
        if value == "":
            merged.pop(key, None)
        else:
            merged[key] = value
    return merged


def _fresh_metadata(given: Any) -> dict[str, str]:
    if given is None or given is UNSET:
        return {}
    return {k: v for k, v in given.items() if v != ""}


class Backend:
    def __init__(self, seed: int = 0, start: int = 1_767_225_600, base_url: str = "http://stripe.emulator.test") -> None:
        self.lock = threading.RLock()
        self.seed = seed
        self.start = start
        self.base_url = base_url.rstrip("/")
        self.webhook_transport: Transport = post_over_http
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
        self.event_bodies: dict[str, bytes] = {}
        self.outbox = Outbox()
        self.held_deliveries: list[tuple[str, str]] = []
        self.deliveries: list[dict[str, Any]] = []
        self.webhook_faults: list[dict[str, Any]] = []
        self.idempotency: dict[tuple[str, str], tuple[str, str, Any, int, str]] = {}
        self.endpoint_secrets: dict[str, str] = {}

    def reset(self) -> None:
        self._initialise()

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

    # -- products, prices, customers -------------------------------------------------------
    def create_product(self, p: dict[str, Any], listed: bool = True) -> dict[str, Any]:
        now = self.now()
        product = shaped(
            "product",
            id=self.ids.new("prod"),
            active=p.get("active", True),
            created=now,
            description=p.get("description"),
            metadata=_fresh_metadata(p.get("metadata")),
            name=p["name"],
            updated=now,
        )
        self.stores["product"].add(self._next_seq(), product, listed)
        return product

    def update_product(self, product_id: str, p: dict[str, Any]) -> dict[str, Any]:
        product = self._require("product", product_id)
        for field in ("name", "active", "description"):
            if field in p:
                product[field] = None if p[field] is UNSET else p[field]
        if "metadata" in p:
            product["metadata"] = _merge_metadata(product["metadata"], p["metadata"])
        product["updated"] = self.now()
        return product

    def create_price(self, p: dict[str, Any], listed: bool = True, param_prefix: str = "") -> dict[str, Any]:
        if "product" in p and "product_data" in p:
            raise invalid("You may only specify one of these parameters: product, product_data.", param=f"{param_prefix}product")
        if "product" in p:
            self._require("product", p["product"], f"{param_prefix}product")
            product_id = p["product"]
        elif "product_data" in p:
            product_id = self.create_product(p["product_data"], listed=listed)["id"]
        else:
            raise errors.missing_parameter(f"{param_prefix}product")
        recurring = None
        if "recurring" in p:
            recurring = shaped("price.recurring", interval=p["recurring"]["interval"],
                               interval_count=p["recurring"].get("interval_count", 1))
        price = shaped(
            "price",
            id=self.ids.new("price"),
            active=p.get("active", True),
            created=self.now(),
            currency=p["currency"].lower(),
            lookup_key=p.get("lookup_key"),
            metadata=_fresh_metadata(p.get("metadata")),
            nickname=p.get("nickname"),
            product=product_id,
            recurring=recurring,
            type="recurring" if recurring else "one_time",
            unit_amount=p["unit_amount"],
            unit_amount_decimal=str(p["unit_amount"]),
        )
        self.stores["price"].add(self._next_seq(), price, listed)
        return price

    def update_price(self, price_id: str, p: dict[str, Any]) -> dict[str, Any]:
        price = self._require("price", price_id)
        for field in ("active", "nickname", "lookup_key"):
            if field in p:
                price[field] = None if p[field] is UNSET else p[field]
        if "metadata" in p:
            price["metadata"] = _merge_metadata(price["metadata"], p["metadata"])
        return price

    def create_customer(self, p: dict[str, Any]) -> dict[str, Any]:
        customer_id = self.ids.new("cus")
        customer = shaped(
            "customer",
            id=customer_id,
            created=self.now(),
            description=p.get("description"),
            email=p.get("email"),
            invoice_prefix=customer_id[4:12].upper(),
            metadata=_fresh_metadata(p.get("metadata")),
            name=p.get("name"),
            phone=p.get("phone"),
        )
        self.stores["customer"].add(self._next_seq(), customer)
        return customer

    def update_customer(self, customer_id: str, p: dict[str, Any]) -> dict[str, Any]:
        customer = self._require("customer", customer_id)
        for field in ("email", "name", "description", "phone"):
            if field in p:
                customer[field] = None if p[field] is UNSET else p[field]
        if "metadata" in p:
            customer["metadata"] = _merge_metadata(customer["metadata"], p["metadata"])
        return customer

    def delete_customer(self, customer_id: str) -> dict[str, Any]:
        self._require("customer", customer_id)
        self.stores["customer"].delete(customer_id)
        return {"id": customer_id, "object": "customer", "deleted": True}

    # -- line items ------------------------------------------------------------------------
    def _line_items(self, given: list[dict[str, Any]], quantity_required: bool = True) -> list[dict[str, Any]]:
        items = []
        for n, item in enumerate(given):
            prefix = f"line_items[{n}]"
            if "price" in item and "price_data" in item:
                raise invalid("You may only specify one of these parameters: price, price_data.", param=f"{prefix}[price]")
            if "price" in item:
                price = self._require("price", item["price"], f"{prefix}[price]")
                if not price["active"]:
                    raise invalid(
                        "The price specified is inactive. This field only accepts active prices.", param=f"{prefix}[price]"
                    )
            elif "price_data" in item:
                price = self.create_price(item["price_data"], listed=False, param_prefix=f"{prefix}[price_data][")
            else:
                raise invalid(f"You must specify either `price` or `price_data` in {prefix}.", param=prefix)
            if "quantity" not in item:
                if quantity_required:
                    raise errors.missing_parameter(f"{prefix}[quantity]")
            quantity = item.get("quantity", 1)
            product = self.stores["product"].get(price["product"]) or {}
            amount = price["unit_amount"] * quantity
            items.append(
                shaped("item", id=self.ids.new("li", 24), amount_subtotal=amount, amount_total=amount,
                       currency=price["currency"], description=product.get("name"), price=price, quantity=quantity)
            )
        currencies = {i["currency"] for i in items}
        if len(currencies) > 1:
            raise invalid("All line items must use the same currency.", param="line_items")
        return items

    @staticmethod
    def _mode_for(items: list[dict[str, Any]]) -> str:
        return "subscription" if any(i["price"]["recurring"] for i in items) else "payment"

    # -- checkout sessions -----------------------------------------------------------------
    def create_session(self, p: dict[str, Any]) -> dict[str, Any]:
        now = self.now()
        mode = p.get("mode", "payment")
        if "line_items" not in p or not p["line_items"]:
            raise errors.missing_parameter("line_items")
        if "customer" in p and "customer_email" in p:
            raise invalid("You may only specify one of these parameters: customer, customer_email.", param="customer")
        if "customer" in p:
            self._require("customer", p["customer"], "customer")
        if mode == "subscription" and "payment_intent_data" in p:
            raise invalid("You can not pass `payment_intent_data` in `subscription` mode.", param="payment_intent_data")
        if mode == "payment" and "subscription_data" in p:
            raise invalid("You can not pass `subscription_data` in `payment` mode.", param="subscription_data")
        expires_at = p.get("expires_at", now + DEFAULT_SESSION_TTL)
        if expires_at > now + MAX_SESSION_TTL:
            raise invalid(EXPIRES_AT_TOO_LATE, param="expires_at")
        if expires_at < now + MIN_SESSION_TTL:
            raise invalid(EXPIRES_AT_TOO_EARLY, param="expires_at")
        items = self._line_items(p["line_items"])
        has_recurring = any(i["price"]["recurring"] for i in items)
        if mode == "payment" and has_recurring:
            raise invalid(
                "You specified `payment` mode but passed a recurring price. Either switch to `subscription` mode "
                "or use only one-time prices.",
                param="mode",
            )
        if mode == "subscription" and not has_recurring:
            raise invalid(
                "You must provide at least one recurring price in `subscription` mode when using prices.", param="mode"
            )
        recovery = (p.get("after_expiration") or {}).get("recovery")
        return self._open_session(
            mode=mode,
            items=items,
            expires_at=expires_at,
            metadata=_fresh_metadata(p.get("metadata")),
            client_reference_id=p.get("client_reference_id"),
            customer=p.get("customer"),
            customer_email=p.get("customer_email"),
            success_url=p.get("success_url"),
            cancel_url=p.get("cancel_url"),
            payment_intent_data=p.get("payment_intent_data"),
            subscription_data=p.get("subscription_data"),
            recovery=recovery,
            payment_link=None,
            recovered_from=None,
            hosted_message=None,
            options={k: p[k] for k in SESSION_ECHOED if k in p},
        )

    def _open_session(self, *, mode, items, expires_at, metadata, client_reference_id, customer, customer_email,
                      success_url, cancel_url, payment_intent_data, subscription_data, recovery, payment_link,
                      recovered_from, hosted_message, options=None) -> dict[str, Any]:
        now = self.now()
        session_id = self.ids.new("cs_test", 58)
        total = sum(i["amount_total"] for i in items)
        after_expiration = None
        if recovery and recovery.get("enabled"):
            after_expiration = {
                "recovery": {
                    "allow_promotion_codes": recovery.get("allow_promotion_codes", False),
                    "enabled": True,
                    "expires_at": None,
                    "url": None,
                }
            }
        options = dict(options or {})
        if "customer_creation" not in options and mode == "payment" and not customer:
            options["customer_creation"] = "if_required"
        if mode == "payment":
            options.setdefault("invoice_creation", copy.deepcopy(NO_INVOICE_CREATION))
        options.setdefault("payment_method_collection", "if_required" if mode == "payment" else "always")
        session = shaped(
            "checkout.session",
            id=session_id,
            after_expiration=after_expiration,
            amount_subtotal=total,
            amount_total=total,
            cancel_url=cancel_url,
            client_reference_id=client_reference_id,
            created=now,
            currency=items[0]["currency"],
            customer=customer,
            customer_email=customer_email,
            expires_at=expires_at,
            metadata=metadata,
            mode=mode,
            payment_link=payment_link,
            recovered_from=recovered_from,
            success_url=success_url,
            url=f"{self.base_url}/c/pay/{session_id}",
            **options,
        )
        seq = self._next_seq()
        self.stores["checkout.session"].add(seq, session)
        self.line_items[session_id] = items
        self.session_inputs[session_id] = {
            "payment_intent_data": payment_intent_data,
            "subscription_data": subscription_data,
            "recovery": recovery,
            "hosted_message": hosted_message,
        }
        if payment_link:
            self.sessions_by_link.setdefault(payment_link, Index()).add(seq, session_id)
        if customer:
            self.sessions_by_customer.setdefault(customer, Index()).add(seq, session_id)
        heapq.heappush(self.expiry_heap, (expires_at, seq, session_id))
        return session

    def update_session(self, session_id: str, p: dict[str, Any]) -> dict[str, Any]:
        session = self._require("checkout.session", session_id)
        if "metadata" in p:
            session["metadata"] = _merge_metadata(session["metadata"], p["metadata"])
        return session

    def expire_session(self, session_id: str) -> dict[str, Any]:
        session = self._require("checkout.session", session_id)
        if session["status"] != "open":
            raise invalid(
                f"Only Checkout Sessions with a status in [\"open\"] can be expired. This Checkout Session has a status of "
                f"\"{session['status']}\".",
                param="session",
            )
        self._expire(session)
        return session

    def _expire(self, session: dict[str, Any]) -> None:
        now = self.now()
        session["status"] = "expired"
        session["url"] = None
        if session["after_expiration"]:
            code = "test_" + self.ids.token(40)
            self.recovery_codes[code] = session["id"]
            session["after_expiration"]["recovery"].update(
                {"expires_at": now + RECOVERY_TTL, "url": f"{self.base_url}/r/{code}"}
            )
        self._emit("checkout.session.expired", session)

    def run_expiries(self) -> None:
        now = self.now()
        heap = self.expiry_heap
        while heap and heap[0][0] <= now:
            _, _, session_id = heapq.heappop(heap)
            session = self.stores["checkout.session"].get(session_id)
            if session is not None and session["status"] == "open":
                self._expire(session)

    def next_expiry(self) -> int | None:
        return self.expiry_heap[0][0] if self.expiry_heap else None

    def session_line_items(self, session_id: str) -> list[dict[str, Any]]:
        self._require("checkout.session", session_id)
        return self.line_items[session_id]

    def list_sessions(self, p: dict[str, Any]) -> dict[str, Any]:
        index = None
        if "payment_link" in p:
            index = self.sessions_by_link.get(p["payment_link"], Index())
        if "customer" in p:
            index = self.sessions_by_customer.get(p["customer"], Index())
        page = self.list_page("checkout.session", index, p, "/v1/checkout/sessions")
        if "status" in p:
            page["data"] = [s for s in page["data"] if s["status"] == p["status"]]
        return page

    # -- payment (the customer's side) -----------------------------------------------------
    def pay(self, session_id: str, outcome: str = "succeeded", email: str | None = None) -> dict[str, Any]:
        if outcome not in ("succeeded", "declined"):
            raise invalid("Invalid outcome: must be one of succeeded or declined", param="outcome")
        session = self._require("checkout.session", session_id, "session")
        if session["status"] == "expired":
            raise invalid("This Checkout Session has expired and can no longer be paid.", param="session")
        if session["status"] == "complete":
            raise invalid("This Checkout Session is already complete.", param="session")
        if outcome == "declined":
            return {"redirect": None, "outcome": "declined", "session": session_id, "message": DECLINED_MESSAGE}
        now = self.now()
        inputs = self.session_inputs[session_id]
        payer_email = email or session["customer_email"]
        if payer_email is None and session["customer"]:
            payer_email = self.stores["customer"].objects[session["customer"]]["email"]
        if payer_email is None:
            payer_email = "customer@example.test"
        if session["mode"] == "subscription" and not session["customer"]:
            session["customer"] = self.create_customer({"email": payer_email})["id"]
        if session["mode"] == "payment":
            pid = inputs["payment_intent_data"] or {}
            intent_id = self.ids.new("pi")
            intent = shaped(
                "payment_intent",
                id=intent_id,
                amount=session["amount_total"],
                amount_received=session["amount_total"],
                client_secret=f"{intent_id}_secret_{self.ids.token(25)}",
                created=now,
                currency=session["currency"],
                customer=session["customer"],
                description=pid.get("description"),
                metadata=_fresh_metadata(pid.get("metadata")),
                payment_method_types=list(session["payment_method_types"]),
                status="succeeded",
            )
            self.stores["payment_intent"].add(self._next_seq(), intent)
            session["payment_intent"] = intent["id"]
        else:
            session["subscription"] = self.ids.new("sub")
        session["status"] = "complete"
        session["payment_status"] = "paid" if session["amount_total"] > 0 else "no_payment_required"
        session["url"] = None
        session["customer_details"] = shaped("checkout.session.customer_details", email=payer_email)
        self._emit("checkout.session.completed", session)
        if session["payment_link"]:
            self._count_link_completion(session["payment_link"])
        if session["success_url"]:
            redirect = session["success_url"].replace("{CHECKOUT_SESSION_ID}", session_id)
        else:
            redirect = f"{self.base_url}/c/pay/{session_id}"
        return {"redirect": redirect, "outcome": "succeeded", "session": session_id, "message": "Payment succeeded."}

    def cancel(self, session_id: str) -> dict[str, Any]:
        session = self._require("checkout.session", session_id, "session")
        return {"redirect": session["cancel_url"], "session": session_id}

    # -- payment links ---------------------------------------------------------------------
    def create_payment_link(self, p: dict[str, Any]) -> dict[str, Any]:
        given = p.get("line_items")
        if not given:
            raise errors.missing_parameter("line_items")
        if len(given) > MAX_LINK_LINE_ITEMS:
            raise invalid(
                f"A payment link supports up to {MAX_LINK_LINE_ITEMS} line items, but you passed {len(given)}.",
                param="line_items",
            )
        items = self._line_items(given)
        mode = self._mode_for(items)
        if mode == "subscription" and "payment_intent_data" in p:
            raise invalid("You can not pass `payment_intent_data` with recurring prices.", param="payment_intent_data")
        if mode == "payment" and "subscription_data" in p:
            raise invalid("There must be at least one line item with a recurring price to use `subscription_data`.",
                          param="subscription_data")
        after_completion = self._after_completion(p.get("after_completion", {"type": "hosted_confirmation"}))
        restrictions = self._restrictions(p.get("restrictions"))
        code = "test_" + self.ids.token(24)
        link = shaped(
            "payment_link",
            id=self.ids.new("plink"),
            after_completion=after_completion,
            currency=items[0]["currency"],
            inactive_message=p.get("inactive_message"),
            metadata=_fresh_metadata(p.get("metadata")),
            payment_intent_data=self._intent_data(p.get("payment_intent_data")),
            restrictions=restrictions,
            subscription_data=self._intent_data(p.get("subscription_data"), "payment_link.subscription_data"),
            url=f"{self.base_url}/b/{code}",
            **{k: p[k] for k in LINK_ECHOED if k in p},
        )
        self.stores["payment_link"].add(self._next_seq(), link)
        self.link_codes[code] = link["id"]
        self.link_inputs[link["id"]] = {"items": items, "mode": mode}
        return link

    @staticmethod
    def _intent_data(given: Any, kind: str = "payment_link.payment_intent_data") -> dict[str, Any] | None:
        if not given or given is UNSET:
            return None
        return shaped(kind, description=given.get("description"), metadata=_fresh_metadata(given.get("metadata")))

    @staticmethod
    def _after_completion(given: dict[str, Any]) -> dict[str, Any]:
        kind = given["type"]
        if kind == "redirect":
            if "redirect" not in given:
                raise errors.missing_parameter("after_completion[redirect]")
            return {"hosted_confirmation": None, "redirect": {"url": given["redirect"]["url"]}, "type": "redirect"}
        if "redirect" in given:
            raise invalid("`after_completion[redirect]` can only be set when `after_completion[type]` is `redirect`.",
                          param="after_completion[redirect]")
        message = (given.get("hosted_confirmation") or {}).get("custom_message")
        return {"hosted_confirmation": {"custom_message": message}, "redirect": None, "type": "hosted_confirmation"}

    @staticmethod
    def _restrictions(given: Any, count: int = 0) -> dict[str, Any] | None:
        if given is None or given is UNSET:
            return None
        completed = given.get("completed_sessions")
        if completed is None or completed is UNSET:
            return None
        return {"completed_sessions": {"count": count, "limit": completed["limit"]}}

    def update_payment_link(self, link_id: str, p: dict[str, Any]) -> dict[str, Any]:
        link = self._require("payment_link", link_id)
        before = copy.deepcopy(link)
        if "active" in p:
            link["active"] = p["active"]
        if "metadata" in p:
            link["metadata"] = _merge_metadata(link["metadata"], p["metadata"])
        if "inactive_message" in p:
            link["inactive_message"] = None if p["inactive_message"] is UNSET else p["inactive_message"]
        if "restrictions" in p:
            count = (link["restrictions"] or {}).get("completed_sessions", {}).get("count", 0)
            link["restrictions"] = self._restrictions(p["restrictions"], count)
        if "after_completion" in p:
            link["after_completion"] = self._after_completion(p["after_completion"])
        if "payment_intent_data" in p:
            if self.link_inputs[link_id]["mode"] == "subscription":
                raise invalid("You can not pass `payment_intent_data` with recurring prices.", param="payment_intent_data")
            link["payment_intent_data"] = self._intent_data(p["payment_intent_data"])
        if "allow_promotion_codes" in p:
            link["allow_promotion_codes"] = p["allow_promotion_codes"]
        previous = {k: before[k] for k in link if link[k] != before[k]}
        if previous:
            self._emit("payment_link.updated", link, previous)
        return link

    def _count_link_completion(self, link_id: str) -> None:
        link = self.stores["payment_link"].objects[link_id]
        restriction = (link["restrictions"] or {}).get("completed_sessions")
        if restriction is None:
            return
        before = copy.deepcopy(link)
        restriction["count"] += 1
        previous = {"restrictions": before["restrictions"]}
        if link["active"] and restriction["count"] >= restriction["limit"]:
            link["active"] = False
            previous["active"] = True
            self._emit("payment_link.updated", link, previous)

    def link_line_items(self, link_id: str) -> list[dict[str, Any]]:
        self._require("payment_link", link_id)
        return self.link_inputs[link_id]["items"]

    def _session_from_link(self, link: dict[str, Any], query: dict[str, list[str]]) -> dict[str, Any]:
        inputs = self.link_inputs[link["id"]]
        reference = (query.get("client_reference_id") or [None])[0]
        if reference is not None and not CLIENT_REFERENCE_ID.match(reference):
            reference = None
        email = (query.get("prefilled_email") or [None])[0]
        if email is not None and not EMAIL.match(email):
            email = None
        completion = link["after_completion"]
        success_url = completion["redirect"]["url"] if completion["type"] == "redirect" else None
        hosted_message = (completion["hosted_confirmation"] or {}).get("custom_message")
        items = [dict(i, id=self.ids.new("li", 24)) for i in inputs["items"]]
        return self._open_session(
            mode=inputs["mode"],
            items=items,
            expires_at=self.now() + DEFAULT_SESSION_TTL,
            metadata=dict(link["metadata"]),
            client_reference_id=reference,
            customer=None,
            customer_email=email,
            success_url=success_url,
            cancel_url=None,
            payment_intent_data=copy.deepcopy(link["payment_intent_data"]),
            subscription_data=copy.deepcopy(link["subscription_data"]),
            recovery=None,
            payment_link=link["id"],
            recovered_from=None,
            hosted_message=hosted_message,
            options={k: link[k] for k in ("allow_promotion_codes", "billing_address_collection", "submit_type",
                                          "customer_creation") if link[k] is not None}
            | {"payment_method_types": link["payment_method_types"] or ["card"]},
        )

    # -- the customer's browser ------------------------------------------------------------
    def visit(self, url: str) -> dict[str, Any]:
        parts = urlsplit(url)
        path = parts.path.rstrip("/")
        query = parse_qs(parts.query, keep_blank_values=True)
        segments = path.split("/")
        if len(segments) == 4 and segments[1] == "c" and segments[2] == "pay":
            session = self.stores["checkout.session"].get(segments[3])
            if session is None:
                raise invalid(f"No page at {url}: unknown Checkout Session.", param="url")
            return self._session_page(session)
        if len(segments) == 3 and segments[1] == "b":
            link_id = self.link_codes.get(segments[2])
            if link_id is None:
                raise invalid(f"No page at {url}: unknown payment link.", param="url")
            link = self.stores["payment_link"].objects[link_id]
            if not link["active"]:
                return {"page": "inactive", "session": None, "message": link["inactive_message"] or DEFAULT_INACTIVE_MESSAGE}
            session = self._session_from_link(link, query)
            return self._session_page(session)
        if len(segments) == 3 and segments[1] == "r":
            original_id = self.recovery_codes.get(segments[2])
            if original_id is None:
                raise invalid(f"No page at {url}: unknown recovery link.", param="url")
            original = self.stores["checkout.session"].objects[original_id]
            if self.now() >= original["after_expiration"]["recovery"]["expires_at"]:
                return {"page": "expired", "session": None, "message": EXPIRED_RECOVERY_MESSAGE}
            return self._session_page(self._recover(original))
        raise invalid(f"No page at {url}: not a Checkout Session, payment link or recovery URL.", param="url")

    def _recover(self, original: dict[str, Any]) -> dict[str, Any]:
        inputs = self.session_inputs[original["id"]]
        items = [dict(i, id=self.ids.new("li", 24)) for i in self.line_items[original["id"]]]
        return self._open_session(
            mode=original["mode"],
            items=items,
            expires_at=self.now() + DEFAULT_SESSION_TTL,
            metadata=dict(original["metadata"]),
            client_reference_id=original["client_reference_id"],
            customer=original["customer"],
            customer_email=original["customer_email"],
            success_url=original["success_url"],
            cancel_url=original["cancel_url"],
            payment_intent_data=copy.deepcopy(inputs["payment_intent_data"]),
            subscription_data=copy.deepcopy(inputs["subscription_data"]),
            recovery=inputs["recovery"],
            payment_link=original["payment_link"],
            recovered_from=original["id"],
            hosted_message=inputs["hosted_message"],
            options={k: original[k] for k in SESSION_ECHOED},
        )

    def _session_page(self, session: dict[str, Any]) -> dict[str, Any]:
        if session["status"] == "open":
            amount = f"{session['amount_total'] / 100:.2f} {session['currency'].upper()}"
            return {"page": "checkout", "session": session["id"], "message": f"Pay {amount}"}
        if session["status"] == "expired":
            return {"page": "expired", "session": session["id"], "message": EXPIRED_SESSION_MESSAGE}
        message = self.session_inputs[session["id"]]["hosted_message"] or "Thanks for your payment."
        return {"page": "completed", "session": session["id"], "message": message}

    # -- payment intents -------------------------------------------------------------------
    def list_payment_intents(self, p: dict[str, Any]) -> dict[str, Any]:
        page = self.list_page("payment_intent", None, p, "/v1/payment_intents")
        if "customer" in p:
            page["data"] = [i for i in page["data"] if i["customer"] == p["customer"]]
        return page

    # -- events and webhook endpoints ------------------------------------------------------
    def create_webhook_endpoint(self, p: dict[str, Any]) -> dict[str, Any]:
        if len(self.stores["webhook_endpoint"]) >= MAX_WEBHOOK_ENDPOINTS:
            raise invalid(f"You have reached the maximum of {MAX_WEBHOOK_ENDPOINTS} test webhook endpoints.", param="url")
        self._check_endpoint_url(p["url"])
        endpoint = shaped(
            "webhook_endpoint",
            id=self.ids.new("we"),
            api_version=p.get("api_version"),
            created=self.now(),
            description=p.get("description"),
            enabled_events=p["enabled_events"],
            metadata=_fresh_metadata(p.get("metadata")),
            url=p["url"],
        )
        secret = "whsec_" + self.ids.token(32)
        self.stores["webhook_endpoint"].add(self._next_seq(), endpoint)
        self.endpoint_secrets[endpoint["id"]] = secret
        return dict(endpoint, secret=secret)

    @staticmethod
    def _check_endpoint_url(url: str) -> None:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise invalid(f"Invalid URL: {url[:200]}. URLs must be absolute http or https URLs.", param="url")

    def update_webhook_endpoint(self, endpoint_id: str, p: dict[str, Any]) -> dict[str, Any]:
        endpoint = self._require("webhook_endpoint", endpoint_id)
        if "url" in p:
            self._check_endpoint_url(p["url"])
            endpoint["url"] = p["url"]
        if "enabled_events" in p:
            endpoint["enabled_events"] = p["enabled_events"]
        if "disabled" in p:
            endpoint["status"] = "disabled" if p["disabled"] else "enabled"
        if "description" in p:
            endpoint["description"] = None if p["description"] is UNSET else p["description"]
        if "metadata" in p:
            endpoint["metadata"] = _merge_metadata(endpoint["metadata"], p["metadata"])
        return endpoint

    def delete_webhook_endpoint(self, endpoint_id: str) -> dict[str, Any]:
        self._require("webhook_endpoint", endpoint_id)
        self.stores["webhook_endpoint"].delete(endpoint_id)
        return {"id": endpoint_id, "object": "webhook_endpoint", "deleted": True}

    def list_events(self, p: dict[str, Any]) -> dict[str, Any]:
        index = None
        if "type" in p:
            index = self.events_by_type.get(p["type"], Index())
        return self.list_page("event", index, p, "/v1/events")

    def _emit(self, event_type: str, obj: dict[str, Any], previous: dict[str, Any] | None = None) -> dict[str, Any]:
        endpoints = [
            e for e in self.stores["webhook_endpoint"].objects.values()
            if e["status"] == "enabled" and ("*" in e["enabled_events"] or event_type in e["enabled_events"])
        ]
        data: dict[str, Any] = {"object": copy.deepcopy(obj)}
        if previous is not None:
            data["previous_attributes"] = copy.deepcopy(previous)
        event = {
            "id": self.ids.new("evt"),
            "object": "event",
            "api_version": API_VERSION,
            "created": self.now(),
            "data": data,
            "livemode": False,
            "pending_webhooks": len(endpoints),
            "request": {"id": None, "idempotency_key": None},
            "type": event_type,
        }
        seq = self._next_seq()
        self.stores["event"].add(seq, event)
        self.events_by_type.setdefault(event_type, Index()).add(seq, event["id"])
        self.event_bodies[event["id"]] = json.dumps(event).encode()
        self._enqueue(event, endpoints)
        return event

    # -- webhook delivery ------------------------------------------------------------------
    def _enqueue(self, event: dict[str, Any], endpoints: list[dict[str, Any]]) -> None:
        if not endpoints:
            return
        now = self.now()
        fault = next((f for f in self.webhook_faults if f["remaining"] > 0), None)
        if fault is not None:
            fault["remaining"] -= 1
        kind = fault["kind"] if fault else None
        for endpoint in endpoints:
            if kind == "drop":
                self._log(event["id"], endpoint, 0, None, "dropped", None, "dropped by fault injection")
            elif kind == "delay":
                self.outbox.schedule(now + fault["seconds"], event["id"], endpoint["id"])
            elif kind == "duplicate":
                self.outbox.schedule(now, event["id"], endpoint["id"])
                self.outbox.schedule(now, event["id"], endpoint["id"])
            elif kind == "reorder":
                self.held_deliveries.append((event["id"], endpoint["id"]))
            else:
                self.outbox.schedule(now, event["id"], endpoint["id"])
        if kind == "reorder" and fault["remaining"] == 0:
            self.release_held()

    def release_held(self) -> None:
        now = self.now()
        for event_id, endpoint_id in reversed(self.held_deliveries):
            self.outbox.schedule(now, event_id, endpoint_id)
        self.held_deliveries.clear()

    def _log(self, event_id: str, endpoint: dict[str, Any], attempt: int, status: int | None, outcome: str,
             next_attempt: int | None, error: str | None = None) -> None:
        self.deliveries.append(
            {
                "event": event_id,
                "type": self.stores["event"].objects[event_id]["type"],
                "endpoint": endpoint["url"],
                "endpoint_id": endpoint["id"],
                "attempt": attempt,
                "status": status,
                "outcome": outcome,
                "error": error,
                "at": self.now(),
                "next_attempt_at": next_attempt,
            }
        )

    def deliver_due(self) -> None:
        """Deliver every delivery due now. Call WITHOUT holding the lock."""
        while True:
            with self.lock:
                item = self.outbox.pop_due(self.now())
                if item is None:
                    return
                endpoint = self.stores["webhook_endpoint"].get(item.endpoint_id)
                if endpoint is None or endpoint["status"] != "enabled":
                    continue
                body = self.event_bodies[item.event_id]
                timestamp = int(self.wall_clock())
                headers = {
                    "Content-Type": "application/json; charset=utf-8",
                    "Stripe-Signature": signature_header(self.endpoint_secrets[endpoint["id"]], body, timestamp),
                    "User-Agent": "Stripe/1.0 (+https://stripe.com/docs/webhooks)",
                }
                url = endpoint["url"]
                transport = self.webhook_transport
            status: int | None
            error = None
            try:
                status = int(transport(url, headers, body))
            except Exception as exc:  # a failed delivery is data, not a crash
                status, error = None, f"{type(exc).__name__}: {exc}"
            with self.lock:
                if status is not None and 200 <= status < 300:
                    self._log(item.event_id, endpoint, item.attempt, status, "delivered", None)
                    continue
                created = self.stores["event"].objects[item.event_id]["created"]
                retry_at = self.now() + retry_delay(item.attempt)
                if retry_at <= created + RETRY_WINDOW:
                    self.outbox.schedule(retry_at, item.event_id, item.endpoint_id, item.attempt + 1)
                    self._log(item.event_id, endpoint, item.attempt, status, "retrying", retry_at, error)
                else:
                    self._log(item.event_id, endpoint, item.attempt, status, "failed", None, error)

    def next_due(self) -> int | None:
        times = [t for t in (self.next_expiry(), self.outbox.next_due()) if t is not None]
        return min(times) if times else None

    def advance(self, seconds: int) -> int:
        """Move the clock, firing expiries and deliveries in time order. Call WITHOUT the lock."""
        if int(seconds) != seconds or seconds < 0:
            raise invalid(f"seconds must be a non-negative whole number, got {seconds!r}", param="seconds")
        with self.lock:
            target = self.now() + int(seconds)
        while True:
            with self.lock:
                due = self.next_due()
                if due is None or due > target:
                    self.clock.move_to(target)
                    self.run_expiries()
                    break
                self.clock.move_to(max(due, self.now()))
                self.run_expiries()
            self.deliver_due()
        self.deliver_due()
        return self.now()

    def flush_webhooks(self) -> None:
        with self.lock:
            self.release_held()
        self.deliver_due()
