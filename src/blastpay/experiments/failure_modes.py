"""Failure modes: every variant runs the same fault list under the same mitigation policy, and each cell is measured.

A cell is one (fault, variant) pair on a fresh emulator and flow: 16 orders blasted through the policy's blast job
(``flows.mitigations``), parents opening their email at stated times, the fault as an outage with a start and a
duration (``experiments/faults.yaml``), the policy's re-send when it ends (opened like a reminder by a parent who
had clicked), a reminder at 72 h, and time run through Stripe's webhook retries; then the money checker runs.

Each cell reports what a parent lives through, time-weighted:

- ``parent_hours_without_way_to_pay``: per parent, hours from the blast until they paid (or the horizon) during
  which a click would not have reached a payable page (no email yet, a dead link, our server, its database or Stripe
  down), probed after every event and every ``probe_every_hours``; ``excess_parent_hours``: minus the no-fault cell;
- ``error_page_share``: share of parents who met an error page on any click while their order still took money;
- ``eventually_pay_share``: share who pay within the horizon; whether a parent who met an error comes back is an
  assumption (``error_return_share``: each pair of parents runs both behaviours, so any value weights measured shares);
- ``money_safe``: no payment without a paid order, no unflagged double charge.

"ok" is reserved for a cell in which money stayed right, nobody met an error page and everybody paid.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field, replace
from typing import Any, Optional

from sqlalchemy import delete

from blastpay.emulator import Emulator
from blastpay.experiments.failure_mode_summary import recovery_text, short_label, summary  # noqa: F401 (re-exported)
from blastpay.experiments.fault_cell import Cell, ParentRow, matrix_table, parents_table  # noqa: F401 (re-exported)
from blastpay.experiments.fault_plan import FaultPlan, load_plan, shows_error_pages  # noqa: F401 (re-exported)
from blastpay.experiments.workers import exit_with_parent
from blastpay.flows.harness import VARIANTS, Flow, build_flow
from blastpay.flows.invariants import (
    DOUBLE_CHARGE_REPORTED,
    DOUBLE_CHARGE_UNREPORTED,
    StripeSnapshot,
    invariant_violations,
    live_ways_for_paid,
    money_safe,
    ways_to_pay,
)
from blastpay.flows.mitigations import (
    BlastJob,
    MitigationPolicy,
    cancel_order,
    change_amount,
    resend_after_incident,
    send_reminders,
)
from blastpay.flows.order_models import CANCELED, PAID, PENDING, OrderSpec, PayToken, StripeObject
from blastpay.flows.orders import open_checkout_sessions
from blastpay.flows.simulation import (
    ERROR_PAGES,
    HOUR,
    MINUTE,
    RETRY_WINDOW,
    START,
    DatabaseFault,
    DirectWebhooks,
    ServerAvailability,
    StripeAvailability,
    WrongSecretKey,
    first_url,
    newest_url,
    observing,
    open_url,
    pay_if_checkout,
    settle,
)
from blastpay.flows.tokens import make_binding, parse_token_keys
from blastpay.models.fees import EXPERIMENT_FEE_TYPE, order_amount_cents

AMOUNT = order_amount_cents(EXPERIMENT_FEE_TYPE)  # one order amount per fee type, from experiments/fees.yaml
WRONG_TOKEN_KEYS = "k9:" + "99" * 32  # a deploy that lost the signing keys the emails were minted with
DOUBLE_CHARGES = (DOUBLE_CHARGE_REPORTED, DOUBLE_CHARGE_UNREPORTED)
SCENARIO_TARGETS = 2  # the orders a single-order scenario plays on (experiments/likelihood.yaml divides by them)
# Pages that tell a parent whose order still wants their money that the link no longer works: a support contact.
DEAD_LINK_PAGES = frozenset({"expired", "inactive", "not_found"})


class FailureModeError(ValueError):
    """A cell that cannot be run (unknown fault or variant)."""


@dataclass
class _Parent:
    order_id: int
    returns: bool
    click_after_h: float
    pages: list[str] = field(default_factory=list)
    met_error: bool = False
    met_dead_link: bool = False
    paid_at: Optional[int] = None
    paid_via_email: bool = False  # paid from a re-sent email (the reminder or the re-send after an incident)
    returned: bool = False
    return_due: bool = False  # will come back by themselves (a returner after an error) and has not yet
    first_click_at: Optional[int] = None
    unpayable_s: int = 0  # while unpaid and the order open: seconds in which a click would not have paid
    unpayable_after_click_s: int = 0  # the part of it after the parent's first click


class _Cell:
    """One (fault, variant) run: the event loop over simulated time."""

    def __init__(self, fault: str, variant: str, plan: FaultPlan, policy: MitigationPolicy, seed: int) -> None:
        if variant not in VARIANTS:
            raise FailureModeError(f"unknown variant {variant!r}; expected one of {', '.join(VARIANTS)}")
        if fault not in plan.faults:
            raise FailureModeError(f"unknown fault {fault!r}; expected one of {', '.join(plan.faults)}")
        self.fault, self.variant, self.plan, self.policy = fault, variant, plan, policy
        self.spec = plan.faults[fault]
        self.emu = Emulator(seed=seed, start=START)
        self.flow: Flow = build_flow(variant, emulator=self.emu, max_network_retries=policy.max_network_retries)
        self.server = ServerAvailability()
        self.pages = StripeAvailability()
        DirectWebhooks(self.flow, self.server)
        DatabaseFault(self.flow, self.server)
        self.job = BlastJob(self.flow, policy)
        self.api_error: Optional[str] = None
        self.t0 = self.emu.now()
        self.events: list[tuple[int, int, str, Any]] = []
        self._seq = 0
        self.unpayable_seconds = 0
        specs = [OrderSpec(parent_id=111 + i, player_id=2000 + i, product_id=f"fault-{fault}", amount=AMOUNT)
                 for i in range(2 * len(plan.first_click_hours))]
        self.orders = self.flow.create_orders(specs)
        self.parents = {o.id: _Parent(o.id, returns=(i % 2 == 0), click_after_h=plan.first_click_hours[i // 2])
                        for i, o in enumerate(self.orders)}
        self.first_views: list[str] = []
        self.notes: list[str] = []
        self.good_key = getattr(self.flow.lazy, "binding", None)
        self.paid_still_payable: dict[int, str] = {}
        self.fault_window: list[Optional[int]] = [None, None]  # simulated times the fault went on and off
        # a scenario on single orders plays on the first pair: one parent who comes back by themselves after an error
        # page and one who does not, so any assumed share of returners weights it as it weights an outage
        self.targets = {o.id for o in self.orders[:SCENARIO_TARGETS]}

    # -- scheduling -------------------------------------------------------------------------------

    def at(self, hours: float, kind: str, payload: Any = None) -> None:
        self._seq += 1
        self.events.append((self.t0 + int(round(hours * HOUR)), self._seq, kind, payload))

    def after(self, seconds: int, kind: str, payload: Any = None) -> None:
        self._seq += 1
        self.events.append((self.emu.now() + seconds, self._seq, kind, payload))

    # -- what happens ------------------------------------------------------------------------------

    def _status(self, order_id: int) -> str:
        with observing():
            return self.flow.store.get_order(order_id).status

    def _schedule_first_clicks(self) -> None:
        waiting = [p for p in self.parents.values() if not p.pages and not getattr(p, "_scheduled", False)
                   and "first_click" not in {e[2] + str(e[3]) for e in self.events if e[3] == p.order_id}]
        emailed = self._newest_urls([p.order_id for p in waiting]) if waiting else {}
        for p in waiting:
            if emailed.get(p.order_id) is not None:
                p._scheduled = True  # type: ignore[attr-defined]
                self.after(int(p.click_after_h * HOUR), "first_click", p.order_id)

    def _resend_after_incident(self) -> None:
        """The policy's step when an incident ends (``flows.mitigations.resend_after_incident``): after one that could
        have shown a parent an error page, a working link to every pending order; after lost rows, to every pending
        order that lacks one. A parent who already clicked and has not paid opens it as they would a reminder."""
        if not self.policy.resend_after_incident:
            return
        with observing():
            pending = [o.id for o in self.orders if self.flow.store.get_order(o.id).status == PENDING]
        sent = resend_after_incident(self.flow, self.job, pending, error_pages=shows_error_pages(self.spec))
        if sent:
            self.notes.append("after the incident: " + _counts(sent.values()))
        for order_id, result in sent.items():
            if result != "failed" and self.parents[order_id].pages and self.parents[order_id].paid_at is None:
                self.after(int(self.plan.reminder_click_after_hours * HOUR), "resend_click", order_id)
        self._schedule_first_clicks()

    def _set_fault(self, on: bool) -> None:
        spec = self.spec
        if "hours" in spec and self.fault_window[0 if on else 1] is None:
            self.fault_window[0 if on else 1] = self.emu.now()
        if "stripe_api" in spec:
            self.api_error = spec["stripe_api"] if on else None
            self._apply_api_fault()
        if spec.get("stripe_pages") == "down":
            self.pages.pages_up = not on
        if spec.get("server") == "down":
            self.server.up = not on
        if spec.get("database") == "down":
            self.server.db_up = not on
        if spec.get("webhooks") == "down":
            self.server.webhooks_up = not on
        if spec.get("wrong_token_key") and self.flow.lazy is not None and type(self.good_key).__name__ == "HmacTokens":
            self.flow.lazy.binding = make_binding("hmac", parse_token_keys(WRONG_TOKEN_KEYS)) if on else self.good_key
        if spec.get("stripe_secret_key") == "wrong":
            http = self.flow.http
            if on and not isinstance(http.inner, WrongSecretKey):
                http.inner = WrongSecretKey(http.inner)
            elif not on and isinstance(http.inner, WrongSecretKey):
                http.inner = http.inner.inner
        if spec.get("restore_blast_tables") and on:
            with observing(), self.flow.store.transaction() as db:
                lost_tokens = db.execute(delete(PayToken)).rowcount
                lost_objects = db.execute(delete(StripeObject)).rowcount
            self.notes.append(f"restored: {lost_tokens} token rows and {lost_objects} link rows lost")
            self._resend_after_incident()  # the restore is the incident; the operator knows the blast's rows went

    def _apply_api_fault(self) -> None:
        self.emu.set_faults(clear=True)
        if self.api_error is not None:
            self.emu.set_faults(route="*", error=self.api_error, rate=1.0, seed=0)

    def _observe(self):
        """Lift Stripe API faults while the harness looks (observation takes no simulated time)."""
        cell = self

        class _Lift:
            def __enter__(self_inner):
                if cell.api_error is not None:
                    cell.emu.set_faults(clear=True)
                return self_inner

            def __exit__(self_inner, *exc):
                cell._apply_api_fault()

        return _Lift()

    def click(self, p: _Parent, url: Optional[str] = None, via_email: bool = False, pay: bool = True) -> str:
        if p.paid_at is not None:
            return "paid"
        with self._observe():
            pending = self._status(p.order_id) == PENDING
            url = url if url is not None else newest_url(self.flow, p.order_id)
        view = open_url(self.flow, p.order_id, url, self.server, stripe=self.pages)
        self._clicked(p)
        p.pages.append(view.page)
        if pending and view.page in ERROR_PAGES:
            p.met_error = True
            p.met_dead_link = p.met_dead_link or view.page in DEAD_LINK_PAGES
        if pay and view.page == "checkout":
            done = pay_if_checkout(self.flow, view)
            if done.page == "success":
                # a parent who would come back by themselves anyway pays for sure, whichever comes first
                p.paid_at, p.paid_via_email = self.emu.now(), via_email and not p.return_due
            elif done.page in ERROR_PAGES and pending:
                p.met_error = True
        return view.page

    def on_first_click(self, order_id: int) -> None:
        p = self.parents[order_id]
        scenario = self.spec.get("scenario")
        target = order_id in self.targets
        if scenario == "two_tabs" and target:
            self._clicked(p)
            a = open_url(self.flow, order_id, newest_url(self.flow, order_id), self.server, stripe=self.pages)
            b = open_url(self.flow, order_id, newest_url(self.flow, order_id), self.server, stripe=self.pages)
            p.pages += [a.page, b.page]
            first = pay_if_checkout(self.flow, a)
            second = pay_if_checkout(self.flow, b)
            if first.page == "success" or second.page == "success":
                p.paid_at = self.emu.now()
            self.first_views.append(a.page)
            same = a.session_id is not None and a.session_id == b.session_id
            self.notes.append(f"two tabs: {'the same session' if same else 'two sessions'}; "
                              f"second tab {second.page}")
            return
        if scenario == "amount_change" and target:
            page = self.click(p, url=first_url(self.flow, order_id))
            self.first_views.append(page)
            self.notes.append(f"old email: {page}")
            if p.paid_at is None:  # the new email is a re-sent email, answered as any other
                self.after(int(self.plan.reminder_click_after_hours * HOUR), "resend_click", order_id)
        else:
            page = self.click(p)
            self.first_views.append(page)
        if p.paid_at is None and p.met_error and p.returns and not p.returned:
            p.returned = p.return_due = True
            self.after(int(self.plan.error_return_after_hours * HOUR), "return_click", order_id)
        if scenario == "second_visit" and target and p.paid_at is not None:
            self.after(24 * HOUR, "second_visit", order_id)

    def handle(self, kind: str, payload: Any) -> None:
        if kind == "fault_start":
            self._set_fault(True)
        elif kind == "fault_end":
            self._set_fault(False)
            self._resend_after_incident()
        elif kind == "first_click":
            self.on_first_click(payload)
        elif kind == "return_click":
            self.parents[payload].return_due = False
            self.click(self.parents[payload])
        elif kind == "resend_click":  # answered like any re-sent email: at the reminder's response share
            self.click(self.parents[payload], via_email=True)
        elif kind == "reminder":
            # production only knows its own order store: an order paid in Stripe whose webhook was lost still looks
            # pending and gets the reminder (with whatever link the policy sends), as every other pending order
            with observing():
                pending = [o.id for o in self.orders if self.flow.store.get_order(o.id).status == PENDING]
            sent = send_reminders(self.flow, self.job, pending)
            self.notes.append("reminder: " + _counts(sent.values()))
            paid_reminded = sum(self.parents[o].paid_at is not None for o in sent)
            if paid_reminded:
                self.notes.append(f"reminder reached {paid_reminded} parent(s) who had already paid")
            self._paid_risk_probe([])
            self._schedule_first_clicks()
            for order_id in pending:
                self.after(int(self.plan.reminder_click_after_hours * HOUR), "reminder_click", order_id)
        elif kind == "reminder_click":
            p = self.parents[payload]
            if p.pages:  # a parent who never had an email has their first click scheduled from the reminder
                self.click(p, via_email=True)
        elif kind == "second_visit":
            p = self.parents[payload]
            view = open_url(self.flow, payload, newest_url(self.flow, payload), self.server, stripe=self.pages)
            after = pay_if_checkout(self.flow, view)
            self.notes.append(f"a day after paying, the same email shows {view.page}"
                              + ("; pays again" if after.page == "success" else ""))
        elif kind == "scanner":
            pages = [open_url(self.flow, o.id, newest_url(self.flow, o.id), self.server, stripe=self.pages).page
                     for o in self.orders]
            self.notes.append(f"scanner saw {_counts(pages)}")
        elif kind == "cancel":
            for order_id in self.targets:
                cancel_order(self.flow, order_id)
        elif kind == "amount_change":
            for order_id in self.targets:
                change_amount(self.flow, self.job, order_id, AMOUNT - 3000)

    def _newest_urls(self, order_ids: list[int]) -> dict[int, str]:
        """The link in the newest email for each order (``newest_url`` for many orders, in one query)."""
        with observing():
            return self.flow.store.newest_email_urls(order_ids)

    def payable_now(self, order_ids: list[int], view: Optional[StripeSnapshot] = None) -> dict[int, bool]:
        """Would a click pay now? The link takes money (the one checker's test), and whatever serves the click
        answers: our server and its database for /pay/, and Stripe (its API when lazy mint has to mint)."""
        with self._observe(), observing():
            ways = ways_to_pay(self.flow, order_ids, view)
            urls = self._newest_urls(order_ids)
            out = {}
            for order_id in order_ids:
                url = urls.get(order_id)
                ok = url is not None and ways[order_id] is None and self.pages.pages_up
                if ok and url.startswith(self.flow.public_base + "/"):
                    ok = self.server.up and self.server.db_up
                    # our backend cannot create a session now (Stripe's API failing, or our key refused): only a
                    # recorded session with time left makes the click pay
                    if ok and (self.api_error is not None or isinstance(self.flow.http.inner, WrongSecretKey)):
                        with self.flow.store.transaction() as db:
                            fresh = [r for r in open_checkout_sessions(db, order_id)
                                     if (r.expires_at or 0) - self.emu.now() > 30 * MINUTE]
                        ok = bool(fresh)
                out[order_id] = ok
        return out

    def run(self) -> Cell:
        plan, spec = self.plan, self.spec
        if "start" in spec:
            self.at(float(spec["start"]), "fault_start")
            if "hours" in spec:
                self.at(float(spec["start"]) + float(spec["hours"]), "fault_end")
        scenario = spec.get("scenario")
        if scenario == "scanner":
            self.at(1 / 60, "scanner")
        if scenario in ("cancel", "amount_change"):
            self.at(0.1, scenario)
        for h in self.policy.reminder_hours:
            self.at(h, "reminder")
        self.events.sort()
        if self.events and self.events[0][0] == self.t0:  # a fault from the first second: on before the blast
            while self.events and self.events[0][0] == self.t0 and self.events[0][2] == "fault_start":
                self.handle("fault_start", None)
                self.events.pop(0)
        self.job.send(self.orders)
        self._schedule_first_clicks()
        horizon = self.t0 + int(plan.horizon_hours * HOUR)
        step = int(plan.probe_every_hours * HOUR)
        next_tick = self.t0 + step
        self._state_at, self._unpayable = self.emu.now(), self._probe([])
        while self.emu.now() < horizon:
            self.events.sort()
            candidates = [horizon, next_tick]
            if self.events:
                candidates.append(self.events[0][0])
            due = self.job.next_due()
            if due is not None:
                candidates.append(due)
            t = min(candidates)
            if t > self.emu.now():
                self.emu.advance(t - self.emu.now())
            # what held since the last look held until now (piecewise constant between events and ticks)
            self._accrue(self.emu.now() - self._state_at)
            # one look at Stripe serves both probes of a tick when nothing acts between them (probes only read)
            view: list[StripeSnapshot] = []
            if t >= next_tick:
                next_tick += step
                self._paid_risk_probe(view)
            if due is not None and due <= self.emu.now():
                view = []
                self.job.run_due()
                self._schedule_first_clicks()
            while self.events and self.events[0][0] <= self.emu.now():
                view = []
                _, _, kind, payload = self.events.pop(0)
                self.handle(kind, payload)
            self._state_at, self._unpayable = self.emu.now(), self._probe(view)
        return self._finish()

    def _snapshot(self, shared: list[StripeSnapshot]) -> StripeSnapshot:
        """A look at Stripe now, kept in `shared` (at most one) for the next probe at the same moment."""
        if not shared:
            with self._observe(), observing():
                shared.append(StripeSnapshot(self.flow.observer))
        return shared[0]

    def _paid_risk_probe(self, shared: list[StripeSnapshot]) -> None:
        """Which parents who already paid could pay the same order again with a click now (measured, not decided
        on: the harness's own look at Stripe and the store)."""
        paid = [o.id for o in self.orders if self.parents[o.id].paid_at is not None]
        if not paid:
            return
        view = self._snapshot(shared)
        with self._observe(), observing():
            live = live_ways_for_paid(self.flow, paid, view)
        for order_id, ways in live.items():
            if ways:
                self.paid_still_payable.setdefault(order_id, ways[0])

    def _probe(self, shared: list[StripeSnapshot]) -> list[int]:
        """The parents who still have to pay and could not pay with a click right now."""
        unpaid = [o.id for o in self.orders if self.parents[o.id].paid_at is None]
        with observing():
            status = self.flow.store.order_statuses(unpaid)
        open_orders = [o for o in unpaid if status.get(o) != CANCELED]
        if not open_orders:
            return []
        payable = self.payable_now(open_orders, self._snapshot(shared))
        return [o for o, ok in payable.items() if not ok]

    def _accrue(self, seconds: int) -> None:
        """What the last probe found held for ``seconds``: each parent it found unable to pay accrues them."""
        self.unpayable_seconds += len(self._unpayable) * seconds
        for order_id in self._unpayable:
            p = self.parents[order_id]
            p.unpayable_s += seconds
            if p.first_click_at is not None and p.first_click_at <= self._state_at:
                p.unpayable_after_click_s += seconds

    def _clicked(self, p: _Parent) -> None:
        if p.first_click_at is None:
            p.first_click_at = self.emu.now()

    def _finish(self) -> Cell:
        self._set_fault(False)
        self.api_error = None
        self.emu.set_faults(clear=True)
        self.server.up = self.server.webhooks_up = self.server.db_up = True
        self.pages.pages_up = True
        self.emu.flush_webhooks()
        self.emu.advance(RETRY_WINDOW)
        settle(self.flow)
        violations = invariant_violations(self.flow)
        with observing():
            status = {o.id: self.flow.store.get_order(o.id).status for o in self.orders}
        ids = list(status)
        ways = ways_to_pay(self.flow, ids)
        can_pay = all(status[i] in (PAID, CANCELED) or ways[i] is None for i in ids)
        counted = [p for p in self.parents.values() if status[p.order_id] != CANCELED or p.paid_at is not None]
        n = max(1, len(counted))

        def pay_weight(p: _Parent) -> float:
            if p.paid_at is None or status[p.order_id] == CANCELED:
                return 0.0
            return self.plan.reminder_response_share if p.paid_via_email else 1.0

        returners = [p for p in counted if p.returns]
        others = [p for p in counted if not p.returns]
        pay_r = sum(map(pay_weight, returners)) / max(1, len(returners))
        pay_n = sum(map(pay_weight, others)) / max(1, len(others))
        kinds = Counter(a.kind for a in self.flow.store.anomalies())
        sees = _counts(self.first_views) or "no email"
        if self.notes:
            sees += "; " + "; ".join(self.notes)
        paid = sum(s == PAID for s in status.values())
        charged_twice = {v.order_id for v in violations if v.kind in DOUBLE_CHARGES}
        cell = Cell(
            fault=self.fault, variant=self.variant, parent_sees=sees, money_safe=money_safe(violations),
            parent_can_pay=can_pay,
            error_page_share=sum(p.met_error for p in counted) / n,
            parent_hours_without_way_to_pay=self.unpayable_seconds / HOUR / n,
            eventually_pay_share_if_returning=pay_r, eventually_pay_share_if_not=pay_n,
            eventually_pay_share=self.plan.error_return_share * pay_r + (1 - self.plan.error_return_share) * pay_n,
            recovers="", violations=tuple(v.text() for v in violations) + tuple(
                f"paid_order_still_payable: order {o} was paid yet {w} still took money" for o, w in
                sorted(self.paid_still_payable.items())), orders=len(self.orders), orders_paid=paid,
            anomalies=", ".join(f"{k} x{v}" for k, v in sorted(kinds.items())),
            blast_attempts=len(self.job.log), policy=_policy_text(self.policy), fault_spec=_spec_text(self.spec),
            paid_orders_still_payable_share=len(self.paid_still_payable) / max(
                1, sum(p.paid_at is not None for p in self.parents.values())),
            double_charges=len(charged_twice), parents=self._parent_rows(status, charged_twice),
        )
        return replace(cell, recovers=recovery_text(cell, kinds))

    def _parent_rows(self, status: dict[int, str], charged_twice: set[Optional[int]]) -> tuple[ParentRow, ...]:
        on, off = self.fault_window
        rows = []
        for i, o in enumerate(self.orders):
            p = self.parents[o.id]
            in_fault = (on is not None and p.first_click_at is not None and on <= p.first_click_at
                        and (off is None or p.first_click_at < off))
            paid = p.paid_at is not None and status[o.id] != CANCELED
            rows.append(ParentRow(
                fault=self.fault, variant=self.variant, parent=i, returns=p.returns,
                first_click_h=None if p.first_click_at is None else (p.first_click_at - self.t0) / HOUR,
                first_click_in_fault=in_fault, met_error=p.met_error, met_dead_link=p.met_dead_link,
                paid_via=("email" if p.paid_via_email else "click") if paid else "none",
                order_open=status[o.id] != CANCELED or p.paid_at is not None,
                hours_without_way_to_pay=p.unpayable_s / HOUR,
                hours_without_way_to_pay_after_first_click=p.unpayable_after_click_s / HOUR,
                paid_still_payable=o.id in self.paid_still_payable, double_charged=o.id in charged_twice))
        return tuple(rows)

    def close(self) -> None:
        self.flow.close()


def _counts(pages) -> str:
    counts = Counter(pages)
    return ", ".join(f"{page} x{n}" if n > 1 else page for page, n in sorted(counts.items()))


def _policy_text(policy: MitigationPolicy) -> str:
    return "; ".join(f"{k}={v}" for k, v in sorted(policy.describe().items()))


def _spec_text(spec: dict[str, Any]) -> str:
    return ", ".join(f"{k}={v}" for k, v in sorted(spec.items())) or "no fault"


def run_cell(fault: str, variant: str, *, plan: FaultPlan, policy: MitigationPolicy, seed: int = 0) -> Cell:
    cell = _Cell(fault, variant, plan, policy, seed)
    try:
        return cell.run()
    finally:
        cell.close()


def _run_cell_args(args: tuple[str, str, FaultPlan, MitigationPolicy, int]) -> Cell:
    fault, variant, plan, policy, seed = args
    return run_cell(fault, variant, plan=plan, policy=policy, seed=seed)


def run_matrix(*, plan: FaultPlan, policy: MitigationPolicy, variants: tuple[str, ...] = tuple(VARIANTS),
               faults: Optional[tuple[str, ...]] = None, seed: int = 0, progress: Any = None,
               workers: Optional[int] = None) -> list[Cell]:
    """Every fault x variant cell, each on its own emulator; excess hours against the variant's baseline.

    Cells are independent (own emulator, own seed), so they run in `workers` processes (default: one per
    CPU, at most 2) and the result does not depend on the order they finish in."""
    import multiprocessing
    import os
    from concurrent.futures import ProcessPoolExecutor

    faults = tuple(plan.faults) if faults is None else faults
    jobs = [(fault, variant, plan, policy, seed) for variant in variants for fault in dict.fromkeys(("none",) + faults)]
    workers = min(2, os.cpu_count() or 1) if workers is None else workers
    results: dict[tuple[str, str], Cell] = {}
    if workers <= 1:
        for job in jobs:
            results[(job[0], job[1])] = _run_cell_args(job)
            if progress is not None:
                progress.update(1)
    else:
        with ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context("spawn"),
                                 initializer=exit_with_parent) as pool:
            for job, cell in zip(jobs, pool.map(_run_cell_args, jobs)):
                results[(job[0], job[1])] = cell
                if progress is not None:
                    progress.update(1)
    cells = []
    for variant in variants:
        base = results[("none", variant)].parent_hours_without_way_to_pay
        cells += [replace(results[(f, variant)],
                          excess_parent_hours=max(0.0, results[(f, variant)].parent_hours_without_way_to_pay - base))
                  for f in faults]
    order = {f: i for i, f in enumerate(faults)}
    return sorted(cells, key=lambda c: (order[c.fault], VARIANTS.index(c.variant)))
