"""The hosted pages' behaviour: what a parent sees at a session, Payment Link or recovery URL (HTML is in ``pages.py``)."""
from __future__ import annotations

import copy
from typing import Any
from urllib.parse import parse_qs, urlsplit

from blastpay.emulator.common import (
    CLIENT_REFERENCE_ID,
    DEFAULT_INACTIVE_MESSAGE,
    DEFAULT_SESSION_TTL,
    EMAIL,
    EXPIRED_RECOVERY_MESSAGE,
    EXPIRED_SESSION_MESSAGE,
    SESSION_ECHOED,
)
from blastpay.emulator.errors import invalid
from blastpay.emulator.tax import session_automatic_tax


class HostedPages:
    """Mixed into ``Backend``; every method runs with ``self.lock`` held unless it says otherwise."""

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
            | {"payment_method_types": link["payment_method_types"] or ["card"],
               "automatic_tax": session_automatic_tax(link["automatic_tax"]["enabled"])},
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
            options={k: original[k] for k in SESSION_ECHOED}
            | {"automatic_tax": session_automatic_tax(original["automatic_tax"]["enabled"])},
        )

    def _session_page(self, session: dict[str, Any]) -> dict[str, Any]:
        if session["status"] == "open":
            amount = f"{session['amount_total'] / 100:.2f} {session['currency'].upper()}"
            return {"page": "checkout", "session": session["id"], "message": f"Pay {amount}"}
        if session["status"] == "expired":
            return {"page": "expired", "session": session["id"], "message": EXPIRED_SESSION_MESSAGE}
        message = self.session_inputs[session["id"]]["hosted_message"] or "Thanks for your payment."
        return {"page": "completed", "session": session["id"], "message": message}
