"""Checkout Sessions: line items, create, update, expire (by call or by the clock), list, and the customer paying or going back."""
from __future__ import annotations

import copy
import heapq
from typing import Any

from blastpay.emulator import errors
from blastpay.emulator.common import (
    DECLINED_MESSAGE,
    DEFAULT_SESSION_TTL,
    EXPIRES_AT_TOO_EARLY,
    EXPIRES_AT_TOO_LATE,
    MAX_SESSION_TTL,
    MAX_SUBSCRIPTION_LINES,
    MIN_SESSION_TTL,
    NO_INVOICE_CREATION,
    RECOVERY_TTL,
    SESSION_ECHOED,
    _fresh_metadata,
    _merge_metadata,
)
from blastpay.emulator.errors import invalid
from blastpay.emulator.shapes import shaped
from blastpay.emulator.store import Index
from blastpay.emulator.tax import session_automatic_tax


class Checkout:
    """Mixed into ``Backend``; every method runs with ``self.lock`` held unless it says otherwise."""

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
                price = self.create_price(item["price_data"], listed=False, param_prefix=f"{prefix}[price_data]")
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
        if mode == "subscription":
            self._check_subscription_items(items)
        options = {k: p[k] for k in SESSION_ECHOED if k in p}
        if (p.get("automatic_tax") or {}).get("enabled"):
            self._require_tax_behavior(items)
            options["automatic_tax"] = session_automatic_tax(True)
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
            options=options,
        )

    @staticmethod
    def _check_subscription_items(items: list[dict[str, Any]]) -> None:
        recurring = sum(1 for i in items if i["price"]["recurring"])
        for count, kind in ((recurring, "recurring"), (len(items) - recurring, "one-time")):
            if count > MAX_SUBSCRIPTION_LINES:
                raise invalid(f"In `subscription` mode a Checkout Session accepts at most {MAX_SUBSCRIPTION_LINES} line "
                              f"items with {kind} prices, but you passed {count}.", param="line_items")

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
    def pay(self, session_id: str, outcome: str = "succeeded", email: str | None = None,
            address: dict[str, Any] | None = None) -> dict[str, Any]:
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
        billing_address = None
        if session["automatic_tax"]["enabled"]:
            billing_address = self.billing_address(address)
            self.apply_automatic_tax(session, billing_address)
        # a subscription needs a Customer; customer_creation=always asks for one in payment mode too (rule
        # session.customer_creation.always)
        if not session["customer"] and (session["mode"] == "subscription" or session["customer_creation"] == "always"):
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
            subscription = self._start_subscription(session, billing_address)
            session["subscription"] = subscription["id"]
            session["invoice"] = subscription["latest_invoice"]
        session["status"] = "complete"
        session["payment_status"] = "paid" if session["amount_total"] > 0 else "no_payment_required"
        session["url"] = None
        session["customer_details"] = shaped("checkout.session.customer_details", email=payer_email,
                                             address=billing_address)
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
