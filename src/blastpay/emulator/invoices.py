"""Invoices: the ones a subscription bills (its first when its Checkout Session completes, then one per period).

An invoice the emulator makes is paid at once by the card the customer saved in Checkout: it is created,
finalized and paid in one step, and emits ``invoice.created``, ``invoice.finalized``, ``invoice.paid`` and
``invoice.payment_succeeded`` in that order (Stripe leaves a renewal invoice a draft for about an hour; the
emulator does not model the wait). The subscription that billed it is ``parent.subscription_details``, whose
``metadata`` is a snapshot of the subscription's metadata; the invoice's own ``metadata`` is empty; a line
billed for a subscription item carries the subscription's metadata, a one-time line none.
"""
from __future__ import annotations

import copy
from typing import Any

from blastpay.emulator.shapes import shaped
from blastpay.emulator.store import Index

INVOICE_EVENTS = ("invoice.created", "invoice.finalized", "invoice.paid", "invoice.payment_succeeded")


class Invoices:
    """Mixed into ``Backend``; every method runs with ``self.lock`` held unless it says otherwise."""

    def _invoice_line(self, invoice_id: str, subscription: dict[str, Any], item: dict[str, Any],
                      sub_item_id: str | None, period: tuple[int, int]) -> dict[str, Any]:
        price = item["price"]
        details = None
        if sub_item_id is not None:
            details = {"invoice_item": None, "proration": False, "proration_details": {"credited_items": None},
                       "subscription": subscription["id"], "subscription_item": sub_item_id}
        parent = {"type": "subscription_item_details" if details else "invoice_item_details",
                  "subscription_item_details": details,
                  "invoice_item_details": None if details else {
                      "invoice_item": self.ids.new("ii"), "proration": False,
                      "proration_details": {"credited_items": None}, "subscription": subscription["id"]}}
        return shaped(
            "line_item", id=self.ids.new("il"), amount=item["amount_subtotal"], currency=price["currency"],
            description=f"{item['quantity']} × {item['description']}", invoice=invoice_id,
            metadata=dict(subscription["metadata"]) if sub_item_id else {}, parent=parent,
            period={"end": period[1], "start": period[0]},
            pricing={"price_details": {"price": price["id"], "product": price["product"]}, "type": "price_details",
                     "unit_amount_decimal": price["unit_amount_decimal"]},
            quantity=item["quantity"], subtotal=item["amount_subtotal"],
            taxes=[{"amount": item["amount_tax"], "tax_behavior": price["tax_behavior"], "tax_rate_details": None,
                    "taxability_reason": "standard_rated", "taxable_amount": item["amount_subtotal"],
                    "type": "tax_rate_details"}] if item["amount_tax"] else [],
        )

    def _bill(self, subscription: dict[str, Any], billed: list[tuple[dict[str, Any], str | None]], reason: str,
              period: tuple[int, int], invoice_period: tuple[int, int],
              invoice_id: str | None = None) -> dict[str, Any]:
        """Create, finalize and pay the invoice for ``billed`` (line item, subscription item id or None).

        ``period`` is the service period the lines bill; ``invoice_period`` the invoice's own period_start and
        period_end (for a subscription's first invoice both are its creation, for a renewal the period ended)."""
        now = self.now()
        invoice_id = invoice_id or self.ids.new("in")
        customer = self.stores["customer"].objects[subscription["customer"]]
        inputs = self.subscription_inputs[subscription["id"]]
        lines = [self._invoice_line(invoice_id, subscription, item, si, period) for item, si in billed]
        subtotal = sum(item["amount_subtotal"] for item, _ in billed)
        tax = sum(item["amount_tax"] for item, _ in billed)
        exclusive = sum(item["amount_tax"] for item, _ in billed if item["price"]["tax_behavior"] == "exclusive")
        total = subtotal + exclusive
        automatic_tax = {"enabled": subscription["automatic_tax"]["enabled"], "liability": None, "status": None,
                         "disabled_reason": None, "provider": None}
        if automatic_tax["enabled"]:
            automatic_tax.update(liability={"account": None, "type": "self"}, status="complete", provider="stripe")
        invoice = shaped(
            "invoice", id=invoice_id, amount_due=total, amount_paid=total, amount_remaining=0, attempt_count=1,
            attempted=True, automatic_tax=automatic_tax, billing_reason=reason, created=now,
            currency=subscription["currency"], customer=subscription["customer"],
            customer_address=inputs["address"], customer_email=customer["email"], customer_name=customer["name"],
            effective_at=now, ending_balance=0,
            lines={"object": "list", "data": lines, "has_more": False, "url": f"/v1/invoices/{invoice_id}/lines"},
            number=f"{customer['invoice_prefix']}-{customer['next_invoice_sequence']:04d}",
            parent={"quote_details": None, "type": "subscription_details",
                    "subscription_details": {"metadata": dict(subscription["metadata"]),
                                             "subscription": subscription["id"], "subscription_proration_date": None}},
            period_end=invoice_period[1], period_start=invoice_period[0],
            status="paid",
            status_transitions={"finalized_at": now, "marked_uncollectible_at": None, "paid_at": now,
                                "voided_at": None},
            subtotal=subtotal, subtotal_excluding_tax=subtotal - (tax - exclusive), total=total,
            total_excluding_tax=total - tax, webhooks_delivered_at=now,
            total_taxes=[{"amount": tax, "tax_behavior": "exclusive" if exclusive else "inclusive",
                          "tax_rate_details": None, "taxability_reason": "standard_rated",
                          "taxable_amount": subtotal, "type": "tax_rate_details"}] if tax else [],
        )
        customer["next_invoice_sequence"] += 1
        seq = self._next_seq()
        self.stores["invoice"].add(seq, invoice)
        self.invoices_by_subscription.setdefault(subscription["id"], Index()).add(seq, invoice_id)
        return invoice

    def _emit_invoice_events(self, invoice: dict[str, Any]) -> None:
        """The events of an invoice created, finalized and paid at once, each with the invoice as it was then."""
        paid = copy.deepcopy(invoice)
        draft = dict(paid, status="draft", amount_paid=0, amount_remaining=paid["amount_due"], attempted=False,
                     attempt_count=0, number=None, status_transitions={**paid["status_transitions"],
                                                                        "finalized_at": None, "paid_at": None})
        finalized = dict(draft, status="open", number=paid["number"],
                         status_transitions={**draft["status_transitions"], "finalized_at": paid["created"]})
        self._emit("invoice.created", draft)
        self._emit("invoice.finalized", finalized)
        self._emit("invoice.paid", paid)
        self._emit("invoice.payment_succeeded", paid)

    def list_invoices(self, p: dict[str, Any]) -> dict[str, Any]:
        index = None
        if "subscription" in p:
            index = self.invoices_by_subscription.get(p["subscription"], Index())
        page = self.list_page("invoice", index, p, "/v1/invoices")
        for name in ("customer", "status"):
            if name in p:
                page["data"] = [i for i in page["data"] if i[name] == p[name]]
        return page

    def invoice_lines(self, invoice_id: str) -> list[dict[str, Any]]:
        return self._require("invoice", invoice_id)["lines"]["data"]
