"""Webhook match rate: the share of completed payments the matcher attributes to the right order.

Each (variant, condition) cell blasts a few orders on a fresh emulator, every parent opens the link and
pays, and the webhook deliveries are disturbed as the condition says. Afterwards every payment is
checked against the order the parent meant to pay: matched when that order is paid by exactly that
Checkout Session. An unmatched payment gets the reason read from the order store (the matcher's
anomaly or the absence of any applied event) and from the session Stripe holds.

Conditions:

- ``clean``: no disturbance.
- ``duplicated``: every event delivered twice (emulator fault ``webhook=duplicate``).
- ``reordered``: the payment events held back and delivered newest first (``webhook=reorder``).
- ``delayed_6h``: every delivery held for six hours (``webhook=delay``).
- ``dropped_then_retried``: the first two delivery attempts of every event fail (one 503, one
  dropped connection); Stripe's retry schedule delivers the third.
- ``bare_link``: the parent opens the emailed URL without its query string (a forwarded or copied
  link, or a mail client that strips parameters). Only a URL that carries the order in its query
  (the per-product Payment Link's ``?client_reference_id``) is changed by this.
- ``late_click_30h``: the parent first opens the email 30 hours after the blast (a 24 h session has
  expired; a recovery URL, if any, has been emailed and is what the parent opens).
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import asdict, dataclass
from typing import Any, Optional

from sqlalchemy import select

from blastpay.emulator import Emulator
from blastpay.emulator.state import CLIENT_REFERENCE_ID
from blastpay.flows.harness import VARIANTS, Flow, build_flow
from blastpay.flows.order_models import OrderSpec, ProcessedEvent, order_reference
from blastpay.flows.simulation import START, DirectWebhooks, newest_url, open_url, pay_if_checkout
from blastpay.flows.webhook_matcher import PAYMENT_EVENTS

HOUR, DAY = 3600, 86400
AMOUNT = 15000
CONDITIONS = ("clean", "duplicated", "reordered", "delayed_6h", "dropped_then_retried", "bare_link", "late_click_30h")
INFEASIBLE = ("ttl_30d",)  # Stripe refuses the session at blast time: no payment can happen to match

NO_REFERENCE = "no order reference on the session (link opened without ?client_reference_id)"
NO_WEBHOOK = "no webhook applied (every delivery failed)"


class MatchRateError(ValueError):
    """A cell that cannot be run (unknown condition or variant, bad order count)."""


@dataclass(frozen=True)
class Payment:
    """One completed payment and what the matcher made of it."""

    variant: str
    condition: str
    order_id: int
    session_id: str
    matched: bool
    reason: str  # "" when matched
    client_reference_id: Optional[str]
    metadata_order_id: Optional[str]


@dataclass(frozen=True)
class CellResult:
    variant: str
    condition: str
    orders: int
    payments: int
    matched: int
    double_fulfilments: int
    duplicate_deliveries: int
    out_of_order_deliveries: int
    failed_delivery_attempts: int
    payment_rows: tuple[Payment, ...]

    @property
    def match_rate(self) -> Optional[float]:
        return self.matched / self.payments if self.payments else None

    def row(self) -> dict[str, Any]:
        d = {k: v for k, v in asdict(self).items() if k != "payment_rows"}
        d["match_rate"] = self.match_rate
        return d


def reference_survives(order_id: int) -> bool:
    """Whether the order's client_reference_id is one Stripe keeps (letters, digits, - and _, up to 200)."""
    return bool(CLIENT_REFERENCE_ID.match(order_reference(order_id)))


def _failing_first_attempts(deliver, attempts_to_fail: int):
    """A webhook transport that fails each event's first attempts: 503, then a dropped connection."""
    seen: Counter[str] = Counter()

    def transport(url: str, headers: dict[str, str], body: bytes) -> int:
        event_id = json.loads(body)["id"]
        seen[event_id] += 1
        if seen[event_id] <= attempts_to_fail:
            if seen[event_id] % 2:
                return 503
            raise ConnectionResetError("connection dropped before the response")
        return deliver(url, headers, body)

    return transport


def _deliveries_stats(flow: Flow, deliveries: list[dict[str, Any]]) -> tuple[int, int, int]:
    """Of the payment-event deliveries: extra successful deliveries of an already delivered event,
    deliveries of an event emitted before the one delivered just before it, and failed attempts."""
    payment = [d for d in deliveries if d["type"] in PAYMENT_EVENTS]
    delivered = [d["event"] for d in payment if d["outcome"] == "delivered"]
    duplicates = sum(n - 1 for n in Counter(delivered).values())
    newest_first = [e.id for e in flow.observer.v1.events.list({"limit": 100, "type": "checkout.session.completed"})
                    .auto_paging_iter()]
    emitted = {event_id: -i for i, event_id in enumerate(newest_first)}
    out_of_order = sum(1 for a, b in zip(delivered, delivered[1:]) if emitted.get(b, 0) < emitted.get(a, 0))
    failed = sum(1 for d in payment if d["outcome"] != "delivered")
    return duplicates, out_of_order, failed


def _explain(flow: Flow, order_id: int, session: Any) -> str:
    with flow.store.transaction() as db:
        events = list(db.scalars(select(ProcessedEvent).where(ProcessedEvent.stripe_object_id == session.id,
                                                              ProcessedEvent.type.in_(PAYMENT_EVENTS))))
    if not events:
        return NO_WEBHOOK
    outcomes = {e.outcome for e in events}
    if "anomaly:unmatched_payment" in outcomes:
        metadata = session.metadata.to_dict() if session.metadata else {}
        if session.client_reference_id is None and "order_id" not in metadata:
            return NO_REFERENCE
        return "unmatched_payment"
    other = sorted(o for o in outcomes if o.startswith("anomaly:"))
    if other:
        return other[0].removeprefix("anomaly:")
    wrong = sorted({e.order_id for e in events if e.order_id not in (None, order_id)})
    if wrong:
        return f"attributed to another order ({len(wrong)})"
    return "order not paid by this session"


class MatchBench:
    """One variant's emulator and flow; its conditions run one after another, each on its own orders
    (of a product named after the condition)."""

    def __init__(self, variant: str, seed: int = 0) -> None:
        if variant not in VARIANTS:
            raise MatchRateError(f"unknown variant {variant!r}; expected one of {', '.join(VARIANTS)}")
        self.variant = variant
        self.emu = Emulator(seed=seed, start=START)
        self.flow = build_flow(variant, emulator=self.emu)
        self.direct = DirectWebhooks(self.flow)

    def close(self) -> None:
        self.flow.close()

    def run(self, condition: str, orders: int) -> CellResult:
        """Blast ``orders`` orders; every parent pays under ``condition``."""
        if condition not in CONDITIONS:
            raise MatchRateError(f"unknown condition {condition!r}; expected one of {', '.join(CONDITIONS)}")
        if orders < 1:
            raise MatchRateError(f"a cell needs at least one order, got {orders}")
        emu, flow = self.emu, self.flow
        emu.set_faults(clear=True)
        emu.webhook_transport = self.direct
        first_delivery = len(emu.deliveries)
        specs = [OrderSpec(parent_id=111 + i, player_id=2000 + i, product_id=condition, amount=AMOUNT)
                 for i in range(orders)]
        created = flow.create_orders(specs)
        if condition == "duplicated":
            emu.set_faults(webhook="duplicate", count=10 * orders)
        elif condition == "reordered" and orders >= 2:
            emu.set_faults(webhook="reorder", count=orders)
        elif condition == "delayed_6h":
            emu.set_faults(webhook="delay", seconds=6 * HOUR, count=10 * orders)
        elif condition == "dropped_then_retried":
            emu.webhook_transport = _failing_first_attempts(self.direct, 2)
        flow.blast(created)
        emu.advance(30 * HOUR if condition == "late_click_30h" else HOUR)
        paid: list[tuple[int, str]] = []
        for order in created:
            url = newest_url(flow, order.id)
            if condition == "bare_link" and url is not None:
                url = url.split("?", 1)[0]
            view = pay_if_checkout(flow, open_url(flow, order.id, url))
            if view.page == "success" and view.session_id:
                paid.append((order.id, view.session_id))
        emu.flush_webhooks()
        emu.advance(3 * DAY + HOUR)  # every delay and retry has run its course
        flow.settle()
        emu.set_faults(clear=True)
        emu.webhook_transport = self.direct
        return _evaluate(flow, emu.deliveries[first_delivery:], self.variant, condition, created, paid)


def run_condition(variant: str, condition: str, *, orders: int = 10, seed: int = 0) -> CellResult:
    """One (variant, condition) cell on a fresh emulator and flow."""
    bench = MatchBench(variant, seed)
    try:
        return bench.run(condition, orders)
    finally:
        bench.close()


def _evaluate(flow: Flow, deliveries: list[dict[str, Any]], variant: str, condition: str, created: list[Any],
              paid: list[tuple[int, str]]) -> CellResult:
    rows = []
    for order_id, session_id in paid:
        session = flow.observer.v1.checkout.sessions.retrieve(session_id)
        order = flow.order(order_id)
        matched = order.status == "paid" and order.paid_via == session_id
        metadata = session.metadata.to_dict() if session.metadata else {}
        rows.append(Payment(variant, condition, order_id, session_id, matched,
                            "" if matched else _explain(flow, order_id, session),
                            session.client_reference_id, metadata.get("order_id")))
    ids = [o.id for o in created]
    with flow.store.transaction() as db:
        applied = Counter(db.scalars(select(ProcessedEvent.order_id).where(ProcessedEvent.outcome == "paid",
                                                                           ProcessedEvent.order_id.in_(ids))))
    double = sum(n - 1 for n in applied.values() if n > 1)
    duplicates, out_of_order, failed = _deliveries_stats(flow, deliveries)
    return CellResult(variant, condition, len(created), len(rows), sum(r.matched for r in rows), double, duplicates,
                      out_of_order, failed, tuple(rows))


def run_all(*, variants: tuple[str, ...] = tuple(VARIANTS), conditions: tuple[str, ...] = CONDITIONS,
            orders: int = 10, seed: int = 0, progress: Any = None) -> list[CellResult]:
    """Every variant x condition cell; a variant Stripe refuses (``ttl_30d``) takes no payment to match."""
    results = []
    for variant in variants:
        bench = None if variant in INFEASIBLE else MatchBench(variant, seed)
        try:
            for condition in conditions:
                if bench is None:
                    results.append(CellResult(variant, condition, orders, 0, 0, 0, 0, 0, 0, ()))
                else:
                    results.append(bench.run(condition, orders))
                if progress is not None:
                    progress.update(1)
        finally:
            if bench is not None:
                bench.close()
    return results


def by_condition_table(results: list[CellResult]):
    import pandas as pd

    frame = pd.DataFrame([r.row() for r in results])
    return frame[["variant", "condition", "orders", "payments", "matched", "match_rate", "double_fulfilments",
                  "duplicate_deliveries", "out_of_order_deliveries", "failed_delivery_attempts"]]


def unmatched_table(results: list[CellResult]):
    """One row per payment the matcher did not attribute to its order, with the reason."""
    import pandas as pd

    rows = [{"variant": p.variant, "condition": p.condition, "order_id": p.order_id, "reason": p.reason,
             "client_reference_id": p.client_reference_id or "", "metadata_order_id": p.metadata_order_id or ""}
            for r in results for p in r.payment_rows if not p.matched]
    return pd.DataFrame(rows, columns=["variant", "condition", "order_id", "reason", "client_reference_id",
                                       "metadata_order_id"])


def summary(results: list[CellResult]) -> dict[str, Any]:
    by_variant: dict[str, Any] = {}
    for variant in dict.fromkeys(r.variant for r in results):
        mine = [r for r in results if r.variant == variant]
        payments = sum(r.payments for r in mine)
        matched = sum(r.matched for r in mine)
        reasons = Counter(p.reason for r in mine for p in r.payment_rows if not p.matched)
        by_variant[variant] = {
            "webhook_match_rate": matched / payments if payments else None,
            "payments": payments,
            "matched": matched,
            "double_fulfilments": sum(r.double_fulfilments for r in mine),
            "unmatched_reasons": dict(sorted(reasons.items())),
        }
    return {
        "by_variant": by_variant,
        "conditions": list(dict.fromkeys(r.condition for r in results)),
        "orders_per_cell": max((r.orders for r in results), default=0),
        "order_reference_always_kept_by_stripe": all(reference_survives(i) for i in (1, 999_999, 2**63 - 1)),
    }


def figure(results: list[CellResult]):
    """Heatmap of match rate by variant and condition (grey: no payment possible)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    variants = list(dict.fromkeys(r.variant for r in results))
    conditions = list(dict.fromkeys(r.condition for r in results))
    by = {(r.variant, r.condition): r for r in results}
    grid = np.full((len(variants), len(conditions)), np.nan)
    fig, ax = plt.subplots(figsize=(10, 4.8))
    for i, v in enumerate(variants):
        for j, c in enumerate(conditions):
            r = by[(v, c)]
            if r.payments:
                grid[i, j] = r.match_rate
                label = f"{r.match_rate:.0%}\n{r.matched}/{r.payments}"
            else:
                label = "no\npayment"
            ax.text(j, i, label, ha="center", va="center", fontsize=7.5)
    cmap = plt.get_cmap("RdYlGn").copy()
    cmap.set_bad("#d5d8dc")
    image = ax.imshow(np.ma.masked_invalid(grid), cmap=cmap, vmin=0, vmax=1, aspect="auto")
    ax.set_xticks(range(len(conditions)), conditions, rotation=25, ha="right", fontsize=8)
    ax.set_yticks(range(len(variants)), variants, fontsize=8)
    fig.colorbar(image, ax=ax, label="payments matched to the right order")
    ax.set_title("Webhook match rate by variant and delivery condition", fontsize=10)
    fig.tight_layout()
    return fig
