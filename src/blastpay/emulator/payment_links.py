"""Payment Links: create, update (deactivation, restrictions), the completed-sessions limit, line items."""
from __future__ import annotations

import copy
from typing import Any

from blastpay.emulator import errors
from blastpay.emulator.common import LINK_ECHOED, MAX_LINK_LINE_ITEMS, _fresh_metadata, _merge_metadata
from blastpay.emulator.errors import invalid
from blastpay.emulator.params import UNSET
from blastpay.emulator.shapes import shaped


class PaymentLinks:
    """Mixed into ``Backend``; every method runs with ``self.lock`` held unless it says otherwise."""

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
        automatic_tax: dict[str, Any] = {"enabled": False, "liability": None}
        if (p.get("automatic_tax") or {}).get("enabled"):
            self._require_tax_behavior(items)
            automatic_tax = {"enabled": True, "liability": {"account": None, "type": "self"}}
        after_completion = self._after_completion(p.get("after_completion", {"type": "hosted_confirmation"}))
        restrictions = self._restrictions(p.get("restrictions"))
        code = "test_" + self.ids.token(24)
        link = shaped(
            "payment_link",
            id=self.ids.new("plink"),
            after_completion=after_completion,
            automatic_tax=automatic_tax,
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
