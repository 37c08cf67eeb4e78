"""Subscriptions: started when a subscription-mode Checkout Session completes, renewed by the clock.

- The Subscription carries ``subscription_data.metadata`` given to the session (or to the Payment Link that
  opened it), never the session's own ``metadata``; its ``description`` likewise.
- Its first invoice (``billing_reason`` ``subscription_create``) bills every line of the session, one-time
  prices included, and is paid as the session completes; ``checkout.session.completed`` names both
  (``subscription``, ``invoice``).
- When the clock reaches the end of a period (``items.data[].current_period_end``) the subscription renews:
  a ``subscription_cycle`` invoice bills the recurring lines only, is paid at once, and
  ``customer.subscription.updated`` follows. A period is the price's interval (``month`` is a calendar
  month from the billing cycle anchor, the day clamped to the month's last day).
- ``DELETE /v1/subscriptions/{id}`` cancels at once (``customer.subscription.deleted``): no more renewals.
"""
from __future__ import annotations

import calendar
import copy
import heapq
from datetime import datetime, timedelta, timezone
from typing import Any

from blastpay.emulator.common import _fresh_metadata
from blastpay.emulator.errors import invalid
from blastpay.emulator.invoices import Invoices
from blastpay.emulator.shapes import shaped
from blastpay.emulator.store import Index


def add_interval(anchor: int, interval: str, count: int, periods: int) -> int:
    """The unix time ``periods`` intervals of ``count`` ``interval`` after ``anchor`` (UTC calendar months)."""
    start = datetime.fromtimestamp(anchor, tz=timezone.utc)
    steps = count * periods
    if interval in ("day", "week"):
        return int((start + timedelta(days=steps * (7 if interval == "week" else 1))).timestamp())
    months = steps * (12 if interval == "year" else 1)
    month_index = start.month - 1 + months
    year, month = start.year + month_index // 12, month_index % 12 + 1
    day = min(start.day, calendar.monthrange(year, month)[1])
    return int(start.replace(year=year, month=month, day=day).timestamp())


class Subscriptions(Invoices):
    """Mixed into ``Backend``; every method runs with ``self.lock`` held unless it says otherwise."""

    def _start_subscription(self, session: dict[str, Any], address: dict[str, Any] | None) -> dict[str, Any]:
        """The subscription a completed subscription-mode session creates, with its first invoice paid."""
        now = self.now()
        data = self.session_inputs[session["id"]]["subscription_data"] or {}
        items = self.line_items[session["id"]]
        recurring = [i for i in items if i["price"]["recurring"]]
        interval = recurring[0]["price"]["recurring"]
        period_end = add_interval(now, interval["interval"], interval["interval_count"], 1)
        sub_id, invoice_id = self.ids.new("sub"), self.ids.new("in")
        sub_items = []
        for item in recurring:
            price = item["price"]
            plan = shaped("plan", id=price["id"], amount=price["unit_amount"],
                          amount_decimal=price["unit_amount_decimal"], created=price["created"],
                          currency=price["currency"], interval=price["recurring"]["interval"],
                          interval_count=price["recurring"]["interval_count"], product=price["product"])
            sub_items.append(shaped("subscription_item", id=self.ids.new("si", 14), created=now,
                                    current_period_end=period_end, current_period_start=now, plan=plan, price=price,
                                    quantity=item["quantity"], subscription=sub_id))
        automatic_tax = {"enabled": session["automatic_tax"]["enabled"], "liability": None, "disabled_reason": None}
        if automatic_tax["enabled"]:
            automatic_tax["liability"] = {"account": None, "type": "self"}
        subscription = shaped(
            "subscription", id=sub_id, automatic_tax=automatic_tax, billing_cycle_anchor=now, created=now,
            currency=session["currency"], customer=session["customer"], description=data.get("description"),
            items={"object": "list", "data": sub_items, "has_more": False,
                   "url": f"/v1/subscription_items?subscription={sub_id}"},
            latest_invoice=invoice_id, metadata=_fresh_metadata(data.get("metadata")), start_date=now,
        )
        seq = self._next_seq()
        self.stores["subscription"].add(seq, subscription)
        self.subscriptions_by_customer.setdefault(session["customer"], Index()).add(seq, sub_id)
        by_price = {si["price"]["id"]: si["id"] for si in sub_items}
        self.subscription_inputs[sub_id] = {
            "recurring": [copy.deepcopy(i) for i in recurring], "address": address, "periods": 1,
            "interval": (interval["interval"], interval["interval_count"]), "items": by_price,
        }
        billed = [(i, by_price.get(i["price"]["id"]) if i["price"]["recurring"] else None) for i in items]
        invoice = self._bill(subscription, billed, "subscription_create", (now, period_end), (now, now), invoice_id)
        self._emit("customer.subscription.created", subscription)
        self._emit_invoice_events(invoice)
        heapq.heappush(self.renewal_heap, (period_end, seq, sub_id))
        return subscription

    def next_renewal(self) -> int | None:
        return self.renewal_heap[0][0] if self.renewal_heap else None

    def run_renewals(self) -> None:
        """Renew every subscription whose period ended at or before now."""
        heap = self.renewal_heap
        while heap and heap[0][0] <= self.now():
            due, seq, sub_id = heapq.heappop(heap)
            subscription = self.stores["subscription"].get(sub_id)
            if subscription is None or subscription["status"] != "active":
                continue
            self._renew(subscription, due, seq)

    def _renew(self, subscription: dict[str, Any], due: int, seq: int) -> None:
        inputs = self.subscription_inputs[subscription["id"]]
        before = copy.deepcopy(subscription)
        interval, count = inputs["interval"]
        inputs["periods"] += 1
        start = due
        end = add_interval(subscription["billing_cycle_anchor"], interval, count, inputs["periods"])
        for si in subscription["items"]["data"]:
            si["current_period_start"], si["current_period_end"] = start, end
        items = [copy.deepcopy(i) for i in inputs["recurring"]]
        if subscription["automatic_tax"]["enabled"]:
            self.tax_items(items, inputs["address"] or {})
        billed = [(i, inputs["items"][i["price"]["id"]]) for i in items]
        previous_start = before["items"]["data"][0]["current_period_start"]
        invoice = self._bill(subscription, billed, "subscription_cycle", (start, end), (previous_start, start))
        subscription["latest_invoice"] = invoice["id"]
        self._emit_invoice_events(invoice)
        self._emit("customer.subscription.updated", subscription,
                   {"items": before["items"], "latest_invoice": before["latest_invoice"]})
        heapq.heappush(self.renewal_heap, (end, seq, subscription["id"]))

    def cancel_subscription(self, sub_id: str) -> dict[str, Any]:
        subscription = self._require("subscription", sub_id)
        if subscription["status"] == "canceled":
            raise invalid(f"A canceled subscription can only update its cancellation_details and metadata. "
                          f"Subscription {sub_id} is canceled.", param="subscription")
        now = self.now()
        subscription.update(status="canceled", canceled_at=now, ended_at=now)
        subscription["cancellation_details"] = dict(subscription["cancellation_details"], reason="cancellation_requested")
        self._emit("customer.subscription.deleted", subscription)
        return subscription

    def list_subscriptions(self, p: dict[str, Any]) -> dict[str, Any]:
        index = None
        if "customer" in p:
            index = self.subscriptions_by_customer.get(p["customer"], Index())
        page = self.list_page("subscription", index, p, "/v1/subscriptions")
        status = p.get("status")  # by default every subscription that is not canceled
        if status is None:
            page["data"] = [s for s in page["data"] if s["status"] != "canceled"]
        elif status != "all":
            page["data"] = [s for s in page["data"] if s["status"] == status]
        return page
