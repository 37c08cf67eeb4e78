"""Tax: registrations (``/v1/tax/registrations``) and automatic tax on Checkout Sessions and Payment Links.

What the emulator models of Stripe Tax, and no more:

- ``automatic_tax[enabled]=true`` on a session or link needs every price to say whether it includes tax
  (``tax_behavior`` ``exclusive`` or ``inclusive``): the emulator's account has no default tax behaviour, so a
  price left ``unspecified`` is refused when the session or link is created;
- an open session with automatic tax waits for the customer's location (``automatic_tax.status``
  ``requires_location_inputs``); the parent enters a billing address when paying (the emulator's parent
  lives at ``DEFAULT_ADDRESS`` unless the pay call names another), and the session records it in
  ``customer_details.address``;
- tax is charged only where the account has an active registration for the address (country, and state in
  the US); there the emulator charges ``TAX_RATE`` (a round figure of its own: real rates come from Stripe's
  tax engine); elsewhere the tax is 0 and the status is ``complete`` all the same;
- ``exclusive`` adds the tax on top of the line's amount; ``inclusive`` carves it out of the amount, which
  stays what the parent pays.
"""
from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from blastpay.emulator.errors import invalid
from blastpay.emulator.shapes import shaped

TAX_RATE = Decimal("0.10")
DEFAULT_ADDRESS = {"city": "San Francisco", "country": "US", "line1": "1 Main Street", "line2": None,
                   "postal_code": "94103", "state": "CA"}
ADDRESS_KEYS = ("city", "country", "line1", "line2", "postal_code", "state")


def tax_behavior_missing(price_id: str) -> str:
    return (f"The price `{price_id}` does not have a `tax_behavior` set which is required for automatic tax "
            "computation. Please visit https://stripe.com/docs/tax/products-prices-tax-categories-tax-behavior"
            "#tax-behavior for more information.")


def line_tax(amount: int, behavior: str, registered: bool) -> int:
    """The tax on a line of ``amount`` cents: 0 unless registered; on top (exclusive) or inside (inclusive)."""
    if not registered or amount <= 0:
        return 0
    if behavior == "exclusive":
        return int((Decimal(amount) * TAX_RATE).quantize(Decimal(1), ROUND_HALF_UP))
    net = (Decimal(amount) / (1 + TAX_RATE)).quantize(Decimal(1), ROUND_HALF_UP)
    return amount - int(net)


def session_automatic_tax(enabled: bool) -> dict[str, Any]:
    """A new session's ``automatic_tax``: waiting for the customer's location when enabled."""
    if not enabled:
        return {"enabled": False, "liability": None, "provider": None, "status": None}
    return {"enabled": True, "liability": {"account": None, "type": "self"}, "provider": "stripe",
            "status": "requires_location_inputs"}


class Tax:
    """Mixed into ``Backend``; every method runs with ``self.lock`` held unless it says otherwise."""

    # -- registrations ---------------------------------------------------------------------
    def create_tax_registration(self, p: dict[str, Any]) -> dict[str, Any]:
        now = self.now()
        active_from = now if p["active_from"] == "now" else p["active_from"]
        if not isinstance(active_from, int) and not str(active_from).isdigit():
            raise invalid("Invalid active_from: must be `now` or a unix timestamp", param="active_from")
        active_from = int(active_from)
        country = p["country"].upper()
        options = p["country_options"]
        if country == "US":
            us = options.get("us")
            if not us:
                raise invalid("country_options[us] is required for a registration in US.", param="country_options[us]")
            country_options = {"us": {"state": us["state"].upper(), "type": us["type"]}}
        elif options:
            raise invalid(f"The emulator models registrations in US only (country_options for {country} are refused).",
                          param="country_options")
        else:
            country_options = {}
        registration = shaped("tax.registration", id=self.ids.new("taxreg", 14), active_from=active_from,
                              country=country, country_options=country_options, created=now,
                              expires_at=p.get("expires_at"), status="active" if active_from <= now else "scheduled")
        self.stores["tax.registration"].add(self._next_seq(), registration)
        return registration

    def list_tax_registrations(self, p: dict[str, Any]) -> dict[str, Any]:
        for registration in self.stores["tax.registration"].objects.values():
            self._refresh_registration(registration)
        page = self.list_page("tax.registration", None, p, "/v1/tax/registrations")
        if "status" in p and p["status"] != "all":
            page["data"] = [r for r in page["data"] if r["status"] == p["status"]]
        return page

    def retrieve_tax_registration(self, registration_id: str) -> dict[str, Any]:
        return self._refresh_registration(self._require("tax.registration", registration_id))

    def _refresh_registration(self, registration: dict[str, Any]) -> dict[str, Any]:
        now = self.now()
        if registration["expires_at"] is not None and registration["expires_at"] <= now:
            registration["status"] = "expired"
        elif registration["active_from"] <= now:
            registration["status"] = "active"
        return registration

    def registered_for(self, address: dict[str, Any]) -> bool:
        """Whether an active registration covers ``address`` (its country; in the US, its state)."""
        for registration in self.stores["tax.registration"].objects.values():
            if self._refresh_registration(registration)["status"] != "active":
                continue
            if registration["country"] != (address.get("country") or "").upper():
                continue
            if registration["country"] == "US":
                if registration["country_options"]["us"]["state"] != (address.get("state") or "").upper():
                    continue
            return True
        return False

    # -- automatic tax ---------------------------------------------------------------------
    @staticmethod
    def _require_tax_behavior(items: list[dict[str, Any]]) -> None:
        for n, item in enumerate(items):
            if item["price"]["tax_behavior"] == "unspecified":
                raise invalid(tax_behavior_missing(item["price"]["id"]), param=f"line_items[{n}]")

    @staticmethod
    def billing_address(given: dict[str, Any] | None) -> dict[str, Any]:
        address = dict(DEFAULT_ADDRESS)
        if given:
            address = {key: given.get(key) for key in ADDRESS_KEYS}
        return address

    def tax_items(self, items: list[dict[str, Any]], address: dict[str, Any]) -> int:
        """Lay tax over ``items`` (each item's amount_tax and amount_total) for ``address``; the tax in all."""
        registered = self.registered_for(address)
        total_tax = 0
        for item in items:
            tax = line_tax(item["amount_subtotal"], item["price"]["tax_behavior"], registered)
            item["amount_tax"] = tax
            item["amount_total"] = item["amount_subtotal"] + (tax if item["price"]["tax_behavior"] == "exclusive" else 0)
            total_tax += tax
        return total_tax

    def apply_automatic_tax(self, session: dict[str, Any], address: dict[str, Any]) -> None:
        """At payment: the parent's address is known; compute the tax and the session's totals."""
        items = self.line_items[session["id"]]
        tax = self.tax_items(items, address)
        session["amount_total"] = sum(i["amount_total"] for i in items)
        session["total_details"] = dict(session["total_details"], amount_tax=tax)
        session["automatic_tax"] = dict(session["automatic_tax"], status="complete")
