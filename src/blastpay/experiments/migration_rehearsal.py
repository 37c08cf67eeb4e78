"""Migration rehearsal: cut over from today's 24-hour Checkout Sessions to a target variant while orders
are pending under the old sessions, and count what goes wrong for each order of the cut-over steps.

Today's pattern (basketball-api): a Checkout Session per order minted at blast time with
``metadata.order_id`` and no ``client_reference_id``, expiring after 24 h, and a webhook handler
(``_handle_generic_order_completed``) that reads only ``metadata.order_id``. The rehearsal mints such
sessions into the target flow's order store, lets some parents pay before the cut-over, then applies
the cut-over steps two simulated hours apart while parents keep clicking: after each step one parent
opens the newest email and one opens the first (old) email (and, if it is dead, the newest), and
finally every parent whose order is still pending opens the newest email and pays.

Steps, each mapped to the call-site kind the scanner's migration checklist orders by:

- ``deploy_new_path`` (``new_route``): our click path is served (the lazy-mint ``/pay/{token}`` route;
  Stripe-hosted targets serve nothing of ours, so for them it is a no-op).
- ``accept_new_webhook_shape`` (``webhook_handler``): the handler reads the new variant's match keys
  as well as ``metadata.order_id``.
- ``email_new_links`` (``session_create``, then ``url_flow`` and ``template``): the blast code mints
  the target's link; every order still pending is emailed it.
- ``expire_old_sessions`` (``expires_at``): every pre-cut-over session still open is expired through
  the API instead of waiting out its 24 h.
- ``drop_old_webhook_shape`` (``webhook_handler``): the handler reads only the new variant's keys.

Violations counted per rehearsal: a captured payment without a paid order, an order charged twice
(reported or not), a paid order without a payment, a parent who opens the newest email while the
order is pending and finds no payable page (``dead_link``), and an order still unpaid at the end
(``stranded``).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Optional

from blastpay.emulator import Emulator
from blastpay.flows.checkout_session import checkout_session_params
from blastpay.flows.email_link import send_link
from blastpay.flows.harness import CANCEL_URL, SUCCESS_URL, VARIANTS, build_flow
from blastpay.flows.invariants import (
    DOUBLE_CHARGE_REPORTED,
    DOUBLE_CHARGE_UNREPORTED,
    PAID_ORDER_WITHOUT_PAYMENT,
    PAYMENT_WITHOUT_PAID_ORDER,
    invariant_violations,
)
from blastpay.flows.order_models import CHECKOUT_SESSION, PAID, PENDING, OrderSpec, OrderView
from blastpay.flows.simulation import (
    START,
    DirectWebhooks,
    ServerAvailability,
    first_url,
    newest_url,
    open_url,
    pay_if_checkout,
)
from blastpay.flows.webhook_matcher import EXPIRY_EVENT, PAYMENT_EVENTS
from blastpay.scanner.inventory import EXPIRES_AT, SESSION_CREATE, WEBHOOK_HANDLER
from blastpay.scanner.migration import DEFAULT_ORDER, NEW_ROUTE

HOUR, DAY = 3600, 86400
AMOUNT = 15000
OLD_SESSION_TTL = 24 * HOUR
CUTOVER_AT = 4 * HOUR  # after the old blast
STEP_GAP = 2 * HOUR
FINAL_SWEEP_AT = 20 * HOUR  # every link in play is still inside its 24 h, so lifetime does not blur the result
PAID_BEFORE = 1

DEPLOY, ACCEPT, EMAIL, EXPIRE, DROP = ("deploy_new_path", "accept_new_webhook_shape", "email_new_links",
                                       "expire_old_sessions", "drop_old_webhook_shape")
STEP_SITE_KIND = {DEPLOY: NEW_ROUTE, ACCEPT: WEBHOOK_HANDLER, EMAIL: SESSION_CREATE, EXPIRE: EXPIRES_AT,
                  DROP: WEBHOOK_HANDLER}
SAFE_ORDER = (DEPLOY, ACCEPT, EMAIL, EXPIRE, DROP)
UNSAFE_ORDERS: dict[str, tuple[str, ...]] = {
    "matcher_switched_before_old_sessions_drain": (DEPLOY, ACCEPT, DROP, EMAIL, EXPIRE),
    "old_sessions_expired_before_new_links": (DEPLOY, ACCEPT, EXPIRE, EMAIL, DROP),
    "new_links_before_matcher_accepts_them": (DEPLOY, EMAIL, ACCEPT, EXPIRE, DROP),
    "new_links_before_route_deployed": (EMAIL, DEPLOY, ACCEPT, EXPIRE, DROP),
}

# Fields a handler matches a Checkout Session to its order by.
METADATA, REFERENCE, LINK, RECOVERED = "metadata.order_id", "client_reference_id", "payment_link", "recovered_from"
OLD_KEYS = frozenset({METADATA})  # basketball-api's _handle_generic_order_completed reads metadata["order_id"]
NEW_KEYS: dict[str, frozenset[str]] = {
    "payment_link_per_order": frozenset({METADATA, LINK}),
    "payment_link_per_product": frozenset({REFERENCE}),  # the shared link carries no order metadata
    "lazy_mint_hmac": frozenset({METADATA, REFERENCE}),
    "lazy_mint_db": frozenset({METADATA, REFERENCE}),
    "ttl_24h": frozenset({METADATA, REFERENCE}),
    "ttl_24h_recovery": frozenset({METADATA, REFERENCE, RECOVERED}),
}
INFEASIBLE = {"ttl_30d": "Stripe refuses expires_at 30 days after creation (at most 24 h): no link can be minted"}

DEAD_LINK, STRANDED, DOUBLE_CHARGE = "dead_link", "stranded", "double_charge"
VIOLATION_KINDS = (PAYMENT_WITHOUT_PAID_ORDER, DOUBLE_CHARGE, PAID_ORDER_WITHOUT_PAYMENT, DEAD_LINK, STRANDED)
SHORT_LABELS = {PAYMENT_WITHOUT_PAID_ORDER: "unmatched payment", DOUBLE_CHARGE: "paid twice",
                PAID_ORDER_WITHOUT_PAYMENT: "paid, no money", DEAD_LINK: "dead link", STRANDED: "stranded"}


class MigrationError(ValueError):
    """A rehearsal that cannot be run (unknown variant or step, an order that skips a step)."""


def site_kind_order(steps: tuple[str, ...] | list[str]) -> list[str]:
    """The scanner site kinds in the order ``steps`` first touch them (for ``migration_checklist(order=...)``),
    followed by the kinds no step touches, in the checklist's default order."""
    kinds = list(dict.fromkeys(STEP_SITE_KIND[s] for s in steps))
    return kinds + [k for k in DEFAULT_ORDER if k not in kinds]


def check_steps(steps: tuple[str, ...] | list[str]) -> tuple[str, ...]:
    unknown = [s for s in steps if s not in STEP_SITE_KIND]
    if unknown:
        raise MigrationError(f"unknown cut-over step {unknown[0]!r}; expected some of {', '.join(STEP_SITE_KIND)}")
    if sorted(steps) != sorted(STEP_SITE_KIND):
        raise MigrationError(f"a cut-over order lists every step exactly once: {', '.join(SAFE_ORDER)}")
    return tuple(steps)


def matcher_view(keys: frozenset[str]):
    """An event rewrite that leaves only ``keys`` on a Checkout Session: a handler reading only those fields."""

    def rewrite(event: dict[str, Any]) -> dict[str, Any]:
        if event.get("type") not in (*PAYMENT_EVENTS, EXPIRY_EVENT):
            return event
        obj = event["data"]["object"]
        if METADATA not in keys and isinstance(obj.get("metadata"), dict):
            obj["metadata"] = {k: v for k, v in obj["metadata"].items() if k != "order_id"}
        for key in (REFERENCE, LINK, RECOVERED):
            if key not in keys:
                obj[key] = None
        return event

    return rewrite


@dataclass
class CutoverState:
    route_live: bool = False
    keys: frozenset[str] = OLD_KEYS
    new_links: bool = False


@dataclass
class Rehearsal:
    variant: str
    order_name: str
    steps: tuple[str, ...]
    orders: int = 0
    paid: int = 0
    violations: list[tuple[str, Optional[int], str]] = field(default_factory=list)

    def counts(self) -> dict[str, int]:
        c = Counter(kind for kind, _, _ in self.violations)
        return {kind: c.get(kind, 0) for kind in VIOLATION_KINDS}

    def row(self) -> dict[str, Any]:
        return {"variant": self.variant, "order_name": self.order_name, "steps": " > ".join(self.steps),
                "site_kinds": " > ".join(site_kind_order(self.steps)[:len(set(STEP_SITE_KIND.values()))]),
                "orders": self.orders, "orders_paid": self.paid, "violations": len(self.violations), **self.counts()}


class MigrationBench:
    """A target variant's emulator and flow; rehearsals run one after another, each on its own orders."""

    def __init__(self, variant: str, seed: int = 0) -> None:
        if variant not in NEW_KEYS:
            raise MigrationError(f"no rehearsal for {variant!r}; expected one of {', '.join(NEW_KEYS)}")
        self.variant = variant
        self.emu = Emulator(seed=seed, start=START)
        self.flow = build_flow(variant, emulator=self.emu)
        self.state = CutoverState()
        self.backend = ServerAvailability()
        self.direct = DirectWebhooks(self.flow, self.backend, rewrite=lambda event: matcher_view(self.state.keys)(event))

    def close(self) -> None:
        self.flow.close()

    # -- today's pattern ----------------------------------------------------------------------

    def old_blast(self, orders: list[OrderView]) -> None:
        """basketball-api's blast: a 24 h session per order with metadata.order_id and no client_reference_id."""
        now = self.emu.now()
        for order in orders:
            params = checkout_session_params(order, expires_at=now + OLD_SESSION_TTL, success_url=SUCCESS_URL,
                                             cancel_url=CANCEL_URL)
            params.pop("client_reference_id")
            session = self.flow.client.v1.checkout.sessions.create(params)  # type: ignore[arg-type]
            self.flow.store.record_stripe_object(kind=CHECKOUT_SESSION, stripe_id=session.id, url=session.url,
                                                 status="open", now=now, order_id=order.id,
                                                 expires_at=session.expires_at)
            send_link(self.flow.store, order.id, session.url, now=now)

    # -- steps --------------------------------------------------------------------------------

    def apply(self, step: str, orders: list[OrderView], old_sessions: set[str]) -> None:
        flow = self.flow
        if step == DEPLOY:
            self.state.route_live = True
        elif step == ACCEPT:
            self.state.keys = self.state.keys | NEW_KEYS[self.variant]
        elif step == DROP:
            self.state.keys = NEW_KEYS[self.variant]
        elif step == EMAIL:
            self.state.new_links = True
            pending = [o for o in orders if flow.order_status(o.id) == PENDING]
            if pending:
                flow.blast(pending)
        elif step == EXPIRE:
            for session_id in sorted(old_sessions):
                if flow.observer.v1.checkout.sessions.retrieve(session_id).status == "open":
                    flow.observer.v1.checkout.sessions.expire(session_id)
        flow.settle()

    # -- parents ------------------------------------------------------------------------------

    def _open(self, order_id: int, url: Optional[str]):
        return open_url(self.flow, order_id, url, self.backend, route_live=self.state.route_live)

    def parent_opens_newest(self, order_id: int, record: Rehearsal, when: str) -> None:
        if self.flow.order_status(order_id) != PENDING:
            return
        view = pay_if_checkout(self.flow, self._open(order_id, newest_url(self.flow, order_id)))
        if view.page not in ("success", "completed", "already_paid"):
            record.violations.append((DEAD_LINK, order_id, f"{when}: the newest email shows {view.page}"))

    def parent_opens_first(self, order_id: int, record: Rehearsal, when: str) -> None:
        if self.flow.order_status(order_id) != PENDING:
            return
        first = first_url(self.flow, order_id)
        view = pay_if_checkout(self.flow, self._open(order_id, first))
        if view.page == "success":
            return
        newest = newest_url(self.flow, order_id)
        if newest != first:
            self.parent_opens_newest(order_id, record, when + " (after the first email showed " + view.page + ")")
        else:
            record.violations.append((DEAD_LINK, order_id, f"{when}: the only email shows {view.page}"))

    # -- one rehearsal ------------------------------------------------------------------------

    def rehearse(self, order_name: str, steps: tuple[str, ...]) -> Rehearsal:
        steps = check_steps(steps)
        self.emu.set_faults(clear=True)
        self.state = CutoverState()
        record = Rehearsal(self.variant, order_name, steps)
        flow, emu = self.flow, self.emu
        since = emu.now()
        n = PAID_BEFORE + 2 * len(steps)
        orders = flow.create_orders([OrderSpec(parent_id=111 + i, player_id=2000 + i, product_id=order_name,
                                               amount=AMOUNT) for i in range(n)])
        record.orders = n
        t0 = emu.now()
        self.old_blast(orders)
        old_sessions = {row.stripe_id for o in orders for row in flow.store.stripe_objects(order_id=o.id)}
        emu.advance(HOUR)
        for o in orders[:PAID_BEFORE]:
            pay_if_checkout(flow, self._open(o.id, newest_url(flow, o.id)))
        groups = [orders[PAID_BEFORE + 2 * i: PAID_BEFORE + 2 * i + 2] for i in range(len(steps))]
        for i, (step, (newest_parent, first_parent)) in enumerate(zip(steps, groups)):
            emu.advance(t0 + CUTOVER_AT + i * STEP_GAP - emu.now())
            self.apply(step, orders, old_sessions)
            emu.advance(HOUR)
            when = f"{(emu.now() - t0) // HOUR} h, after {step}"
            self.parent_opens_newest(newest_parent.id, record, when)
            self.parent_opens_first(first_parent.id, record, when)
        emu.advance(t0 + FINAL_SWEEP_AT - emu.now())
        for o in orders:
            if flow.order_status(o.id) == PENDING:
                pay_if_checkout(flow, self._open(o.id, newest_url(flow, o.id)))
        emu.flush_webhooks()
        emu.advance(3 * DAY + HOUR)
        flow.settle()
        ids = {o.id for o in orders}
        for v in invariant_violations(flow, ids, since):
            kind = DOUBLE_CHARGE if v.kind in (DOUBLE_CHARGE_REPORTED, DOUBLE_CHARGE_UNREPORTED) else v.kind
            if kind in VIOLATION_KINDS:
                record.violations.append((kind, v.order_id, v.detail))
        for o in orders:
            status = flow.order_status(o.id)
            if status == PENDING:
                record.violations.append((STRANDED, o.id, "still unpaid after every parent opened the newest email"))
        record.paid = sum(flow.order_status(o.id) == PAID for o in orders)
        return record


def rehearse(variant: str, steps: tuple[str, ...] = SAFE_ORDER, *, seed: int = 0, order_name: str = "safe") -> Rehearsal:
    """One rehearsal of ``steps`` for ``variant`` on a fresh emulator and flow."""
    bench = MigrationBench(variant, seed)
    try:
        return bench.rehearse(order_name, steps)
    finally:
        bench.close()


def run_all(*, variants: tuple[str, ...] = tuple(VARIANTS), seed: int = 0, progress: Any = None) -> list[Rehearsal]:
    """The safe order and every unsafe order, for every variant that can take a payment."""
    out = []
    for variant in variants:
        if variant in INFEASIBLE:
            continue
        bench = MigrationBench(variant, seed)
        try:
            for name, steps in (("safe", SAFE_ORDER), *UNSAFE_ORDERS.items()):
                out.append(bench.rehearse(name, steps))
                if progress is not None:
                    progress.update(1)
        finally:
            bench.close()
    return out


def rehearsal_table(records: list[Rehearsal]):
    import pandas as pd

    return pd.DataFrame([r.row() for r in records])


def violations_table(records: list[Rehearsal]):
    import pandas as pd

    rows = [{"variant": r.variant, "order_name": r.order_name, "kind": kind, "detail": detail}
            for r in records for kind, _, detail in r.violations]
    return pd.DataFrame(rows, columns=["variant", "order_name", "kind", "detail"])


def summary(records: list[Rehearsal], variants: tuple[str, ...] = tuple(VARIANTS)) -> dict[str, Any]:
    by_variant: dict[str, Any] = {}
    for variant in variants:
        if variant in INFEASIBLE:
            by_variant[variant] = {"migration_rehearsal_violations": None, "unsafe_order_violations": None,
                                   "infeasible": INFEASIBLE[variant]}
            continue
        mine = {r.order_name: r for r in records if r.variant == variant}
        if not mine:
            continue
        by_variant[variant] = {
            "migration_rehearsal_violations": len(mine["safe"].violations),
            "unsafe_order_violations": sum(len(r.violations) for name, r in mine.items() if name != "safe"),
            "unsafe_order_violations_by_order": {name: len(r.violations) for name, r in mine.items() if name != "safe"},
        }
    held = all(v["migration_rehearsal_violations"] == 0 for v in by_variant.values()
               if v["migration_rehearsal_violations"] is not None)
    return {
        "by_variant": by_variant,
        # scanner site kinds, ready for migration_checklist(inventory, option, order=...)
        "safe_order": site_kind_order(SAFE_ORDER),
        "safe_order_steps": list(SAFE_ORDER),
        "safe_order_held": held,
        "step_site_kinds": dict(STEP_SITE_KIND),
        "unsafe_orders": [{"name": name, "steps": list(steps), "site_kinds": site_kind_order(steps)}
                          for name, steps in UNSAFE_ORDERS.items()],
    }


def figure(records: list[Rehearsal]):
    """Violations per target variant and cut-over order."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    variants = list(dict.fromkeys(r.variant for r in records))
    names = ["safe", *UNSAFE_ORDERS]
    by = {(r.variant, r.order_name): r for r in records}
    grid = np.array([[len(by[(v, n)].violations) for n in names] for v in variants], dtype=float)
    fig, ax = plt.subplots(figsize=(10, 4.6))
    ax.imshow(grid, cmap="Reds", vmin=0, vmax=max(4.0, grid.max()), aspect="auto")
    for i, v in enumerate(variants):
        for j, n in enumerate(names):
            counts = {k: c for k, c in by[(v, n)].counts().items() if c}
            label = "\n".join(f"{SHORT_LABELS[k]} x{c}" for k, c in counts.items()) or "0"
            ax.text(j, i, label, ha="center", va="center", fontsize=6.5)
    ax.set_xticks(range(len(names)), [n.replace("_", " ") for n in names], rotation=20, ha="right", fontsize=7.5)
    ax.set_yticks(range(len(variants)), variants, fontsize=8)
    ax.set_title("Cut-over violations by target variant and order of steps (0 = nothing paid twice, unmatched "
                 "or stranded)", fontsize=9.5)
    fig.tight_layout()
    return fig
