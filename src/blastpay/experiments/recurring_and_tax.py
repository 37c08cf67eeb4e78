"""Recurring fees, tax and multi-line orders: what changes for each option, run through the real SDK.

For each option the email can carry (a per-order Payment Link, lazy-mint's session minted at click, a
Checkout Session minted at send) and each case the spike asks about:

- ``monthly_fee``: the fee is a recurring price, so the checkout starts a Subscription. What today's
  parameters do with it; where the order id lands (session, Subscription, its first and renewal
  invoices) with and without ``subscription_data.metadata``; which events Stripe sends for the first
  payment and for a renewal, and what the webhook matcher makes of them; what a second payable
  session for the same order does (the per-order link's ``completed_sessions`` limit, lazy-mint's
  retired session, a reminder that mints a second session at send time).
- ``tax``: ``automatic_tax[enabled]`` with today's inline prices, then with ``tax_behavior``
  exclusive or inclusive, with and without a tax registration where the parent lives; what the
  parent must enter and what the matcher's amount check does with the taxed total.
- ``multi_line_items``: a tournament fee plus a jersey on one order: attribution, the line item
  limits of each primitive, and a monthly fee plus a one-time jersey.

Each scenario runs on a fresh emulator with the option's flow (``flows.harness.build_flow``): the
order store and the real webhook matcher receive the emulator's webhooks. The Stripe objects are
minted with the flows' own parameter builders, adapted as each case needs (the same adaptation a
port would make), and recorded against the order as the flows record them.
"""

from __future__ import annotations

import contextlib
import copy
import re
from dataclasses import dataclass
from typing import Any, Callable, Iterator

import stripe
from sqlalchemy import select

from blastpay.emulator import Emulator
from blastpay.flows.checkout_session import SESSION_MAX_TTL, checkout_session_params
from blastpay.flows.harness import CANCEL_URL, SUCCESS_URL, Flow, build_flow
from blastpay.flows.order_models import CHECKOUT_SESSION, PAYMENT_LINK, OrderSpec, OrderView, ProcessedEvent
from blastpay.flows.payment_link import order_link_params
from blastpay.flows.simulation import START

OPTIONS = ("payment_link", "lazy_mint", "checkout_session")
CASES = ("monthly_fee", "tax", "multi_line_items")
FLOW_VARIANT = {"payment_link": "payment_link_per_order", "lazy_mint": "lazy_mint_db", "checkout_session": "ttl_24h"}
DAY = 86400
MONTH = 31 * DAY  # the emulator's clock starts on 1 January: the first period ends on 1 February
FEE, JERSEY = 4500, 2500
MONTHLY = 3000
INVOICE_EVENTS = ("invoice.created", "invoice.finalized", "invoice.paid", "invoice.payment_succeeded")


_STRIPE_ID = re.compile(r"\b(price|prod|plink|cs_test)_[A-Za-z0-9]+")


class RecurringError(ValueError):
    """A scenario that cannot be run (unknown option or case)."""


@dataclass(frozen=True)
class Observation:
    """One thing seen for an option in a case: ``value`` is a bool, a whole number or a short text."""

    option: str
    case: str
    check: str
    value: Any


# -- the pieces a scenario is built from --------------------------------------------------------------

def item(name: str, amount: int, *, monthly: bool = False, tax_behavior: str | None = None) -> dict[str, Any]:
    """An inline-priced line item, as the flows' ``line_item`` builds them."""
    price: dict[str, Any] = {"currency": "usd", "unit_amount": amount,
                             "product_data": {"name": name, "metadata": {"product_id": name}}}
    if monthly:
        price["recurring"] = {"interval": "month"}
    if tax_behavior:
        price["tax_behavior"] = tax_behavior
    return {"price_data": price, "quantity": 1}


def mint_params(option: str, order: OrderView, items: list[dict[str, Any]], *, now: int, subscription: bool = False,
                subscription_metadata: bool = True, automatic_tax: bool = False, today: bool = False) -> dict[str, Any]:
    """The create parameters the option sends for ``order``: the flows' builder, with ``items`` and the case's
    changes. ``today`` keeps the builder's parameters as they are (only the line items differ)."""
    if option == "payment_link":
        params = order_link_params(order, success_url=SUCCESS_URL)
    else:
        params = checkout_session_params(order, expires_at=now + SESSION_MAX_TTL, success_url=SUCCESS_URL,
                                         cancel_url=CANCEL_URL)
    params["line_items"] = copy.deepcopy(items)
    if automatic_tax:
        params["automatic_tax"] = {"enabled": True}
    if today:
        return params
    if subscription:
        params.pop("payment_intent_data", None)
        if option != "payment_link":
            params["mode"] = "subscription"
        if subscription_metadata:
            params["subscription_data"] = {"metadata": dict(params["metadata"])}
    return params


class Lab:
    """One option's flow on a fresh emulator: orders, minting through the SDK, a parent opening and paying."""

    def __init__(self, option: str, seed: int) -> None:
        if option not in OPTIONS:
            raise RecurringError(f"unknown option {option!r}; expected one of {', '.join(OPTIONS)}")
        self.option = option
        self.emu = Emulator(seed=seed, start=START)
        self.flow: Flow = build_flow(FLOW_VARIANT[option], emulator=self.emu)
        self.stripe = self.flow.observer

    def order(self, amount: int) -> OrderView:
        spec = OrderSpec(parent_id=1, player_id=7, product_id="spring-league", amount=amount)
        return self.flow.create_orders([spec])[0]

    def mint(self, order: OrderView, params: dict[str, Any]) -> str:
        """Create the option's object with ``params`` through the backend's client; the URL the parent opens."""
        now = self.emu.now()
        if self.option == "payment_link":
            link = self.flow.client.v1.payment_links.create(params)  # type: ignore[arg-type]
            self.flow.store.record_stripe_object(kind=PAYMENT_LINK, stripe_id=link.id, url=link.url, status="active",
                                                 now=now, order_id=order.id)
            return link.url
        session = self.flow.client.v1.checkout.sessions.create(params)  # type: ignore[arg-type]
        self.flow.store.record_stripe_object(kind=CHECKOUT_SESSION, stripe_id=session.id, url=session.url,
                                             status="open", now=now, order_id=order.id, expires_at=session.expires_at)
        return session.url or ""

    def refusal(self, params: dict[str, Any]) -> str:
        """Stripe's answer to creating the option's object with ``params``: its error, or "accepted"."""
        try:
            if self.option == "payment_link":
                self.flow.client.v1.payment_links.create(params)  # type: ignore[arg-type]
            else:
                self.flow.client.v1.checkout.sessions.create(params)  # type: ignore[arg-type]
        except stripe.InvalidRequestError as exc:
            return "refused: " + _STRIPE_ID.sub(lambda m: m.group(1) + "_…", exc.user_message or "")
        return "accepted"

    def open(self, url: str) -> str:
        """The parent opens ``url``: the Checkout Session they see."""
        seen = self.emu.visit(url)
        if seen["page"] != "checkout":
            raise RecurringError(f"the parent saw a {seen['page']!r} page at {url}, not a checkout")
        return seen["session"]

    def pay(self, session_id: str) -> Any:
        """Pay (webhooks delivered to the matcher before this returns); the completed session."""
        self.emu.pay(session_id)
        self.flow.settle()
        return self.stripe.v1.checkout.sessions.retrieve(session_id)

    def outcomes(self, *types: str) -> list[str]:
        """The matcher's outcome for every event of ``types`` it received, in arrival order."""
        with self.flow.store.transaction() as session:
            rows = session.scalars(select(ProcessedEvent).where(ProcessedEvent.type.in_(types))).all()
            return [row.outcome for row in rows]

    def event_types(self, since: int = 0) -> list[str]:
        """The types of every event Stripe created after the first ``since``, oldest first."""
        events = self.stripe.v1.events.list({"limit": 100}).data
        return [e.type for e in reversed(events)][since:]

    def receive_invoice_events(self) -> None:
        """The club adds invoice.paid to the matcher's webhook endpoint (what following renewals needs)."""
        endpoint = self.stripe.v1.webhook_endpoints.list().data[0]
        self.stripe.v1.webhook_endpoints.update(endpoint.id, {"enabled_events": [*endpoint.enabled_events,
                                                                                  "invoice.paid"]})

    def close(self) -> None:
        self.flow.close()


@contextlib.contextmanager
def lab(option: str, seed: int) -> Iterator[Lab]:
    made = Lab(option, seed)
    try:
        yield made
    finally:
        made.close()


def _has_order(metadata: Any, order: OrderView) -> bool:
    return bool(metadata) and metadata.to_dict().get("order_id") == str(order.id)


# -- the three cases ----------------------------------------------------------------------------------

def monthly_fee(option: str, seed: int) -> dict[str, Any]:
    found: dict[str, Any] = {}
    monthly = [item("monthly-training", MONTHLY, monthly=True)]
    with lab(option, seed) as lb:
        order = lb.order(MONTHLY)
        found["today_params_with_recurring_price"] = lb.refusal(
            mint_params(option, order, monthly, now=lb.emu.now(), today=True))
        before = len(lb.event_types())
        session = lb.pay(lb.open(lb.mint(order, mint_params(option, order, monthly, now=lb.emu.now(),
                                                            subscription=True))))
        found["events_on_first_payment"] = " ".join(lb.event_types(before))
        found["order_paid_by_checkout_session_completed"] = lb.flow.order_status(order.id) == "paid"
        subscription = lb.stripe.v1.subscriptions.retrieve(session.subscription)
        first = lb.stripe.v1.invoices.retrieve(session.invoice)
        found["order_id_on_session"] = _has_order(session.metadata, order)
        found["order_id_on_subscription"] = _has_order(subscription.metadata, order)
        found["order_id_on_first_invoice_subscription_details"] = _has_order(
            first.parent.subscription_details.metadata, order)
        found["order_id_on_invoice_own_metadata"] = _has_order(first.metadata, order)
        before = len(lb.event_types())
        lb.emu.advance(MONTH)
        found["events_on_renewal"] = " ".join(lb.event_types(before))
        renewal = lb.stripe.v1.invoices.list({"subscription": subscription.id}).data[0]
        found["renewal_billing_reason"] = renewal.billing_reason
        found["order_id_on_renewal_invoice_subscription_details"] = _has_order(
            renewal.parent.subscription_details.metadata, order)
        found["renewal_events_received_by_todays_matcher"] = len(lb.outcomes(*INVOICE_EVENTS))
        lb.receive_invoice_events()
        lb.emu.advance(28 * DAY)
        found["matcher_outcome_for_invoice_paid"] = " ".join(sorted(set(lb.outcomes("invoice.paid"))))
    with lab(option, seed) as lb:
        order = lb.order(MONTHLY)
        session = lb.pay(lb.open(lb.mint(order, mint_params(option, order, monthly, now=lb.emu.now(),
                                                            subscription=True, subscription_metadata=False))))
        subscription = lb.stripe.v1.subscriptions.retrieve(session.subscription)
        first = lb.stripe.v1.invoices.retrieve(session.invoice)
        found["order_id_on_subscription_without_subscription_data"] = _has_order(subscription.metadata, order)
        found["order_id_on_invoice_without_subscription_data"] = _has_order(
            first.parent.subscription_details.metadata, order)
        found["order_paid_without_subscription_data"] = lb.flow.order_status(order.id) == "paid"
    found.update(second_session(option, seed, monthly))
    return found


def second_session(option: str, seed: int, monthly: list[dict[str, Any]]) -> dict[str, Any]:
    """A second payable session for one monthly order, the way each option can come to have one: paid after the
    matcher's clean-up has run (the flows expire an order's other open sessions once it is paid), and paid
    before it has."""
    found: dict[str, Any] = {}
    for cleanup_first in (True, False):
        with lab(option, seed) as lb:
            order = lb.order(MONTHLY)
            params = mint_params(option, order, monthly, now=lb.emu.now(), subscription=True)
            url = lb.mint(order, params)
            first = lb.open(url)
            if option == "payment_link":  # two tabs on the one link (completed_sessions limit 1)
                second = lb.open(url)
            elif option == "lazy_mint":  # the route retires the older session before it hands out another
                lb.stripe.v1.checkout.sessions.expire(first)
                first, second = lb.open(lb.mint(order, params)), first
            else:  # a reminder email mints a new session while the first is still open
                second = lb.open(lb.mint(order, mint_params(option, order, monthly, now=lb.emu.now(),
                                                            subscription=True)))
            lb.emu.pay(first)
            if cleanup_first:
                lb.flow.settle()
            payable = _payable(lb, second)
            subscriptions = len(lb.stripe.v1.subscriptions.list().data)
            when = "after_cleanup" if cleanup_first else "before_cleanup"
            found[f"second_session_payable_{when}"] = payable
            found[f"subscriptions_for_one_order_{when}"] = subscriptions
            found[f"matcher_outcomes_{when}"] = " ".join(lb.outcomes("checkout.session.completed"))
            if option == "payment_link" and cleanup_first:
                found["link_active_after_first_subscription"] = lb.stripe.v1.payment_links.list().data[0].active
            if option != "payment_link" and cleanup_first:
                found["session_lifetime_hours"] = (lb.stripe.v1.checkout.sessions.retrieve(first).expires_at
                                                   - lb.stripe.v1.checkout.sessions.retrieve(first).created) // 3600
    return found


def _payable(lb: Lab, session_id: str) -> bool:
    try:
        lb.pay(session_id)
    except Exception:  # noqa: BLE001 - the emulator refuses an expired session with a Stripe-shaped error
        return False
    return True


def tax(option: str, seed: int) -> dict[str, Any]:
    found: dict[str, Any] = {}
    with lab(option, seed) as lb:
        order = lb.order(FEE)
        found["today_params_with_automatic_tax"] = lb.refusal(
            mint_params(option, order, [item("tournament", FEE)], now=lb.emu.now(), automatic_tax=True, today=True))
    for registered in (False, True):
        for behavior in ("exclusive", "inclusive"):
            with lab(option, seed) as lb:
                if registered:
                    lb.stripe.v1.tax.registrations.create({
                        "country": "US", "active_from": "now",
                        "country_options": {"us": {"state": "CA", "type": "state_sales_tax"}}})
                order = lb.order(FEE)
                params = mint_params(option, order, [item("tournament", FEE, tax_behavior=behavior)],
                                     now=lb.emu.now(), automatic_tax=True, today=True)
                session_id = lb.open(lb.mint(order, params))
                opened = lb.stripe.v1.checkout.sessions.retrieve(session_id)
                done = lb.pay(session_id)
                key = f"{'registered' if registered else 'unregistered'}_{behavior}"
                found[f"{key}_status_before_address"] = opened.automatic_tax.status
                found[f"{key}_parent_entered_address"] = done.customer_details.address is not None
                found[f"{key}_amount_tax"] = done.total_details.amount_tax
                found[f"{key}_amount_total"] = done.amount_total
                found[f"{key}_matcher_outcome"] = " ".join(lb.outcomes("checkout.session.completed"))
                found[f"{key}_order_status"] = lb.flow.order_status(order.id)
    return found


def multi_line_items(option: str, seed: int) -> dict[str, Any]:
    found: dict[str, Any] = {}
    lines = [item("tournament", FEE), item("jersey", JERSEY)]
    with lab(option, seed) as lb:
        order = lb.order(FEE + JERSEY)
        done = lb.pay(lb.open(lb.mint(order, mint_params(option, order, lines, now=lb.emu.now()))))
        found["line_items_on_session"] = len(lb.stripe.v1.checkout.sessions.line_items.list(done.id).data)
        found["amount_total"] = done.amount_total
        found["matcher_outcome"] = " ".join(lb.outcomes("checkout.session.completed"))
        found["order_status"] = lb.flow.order_status(order.id)
        limit = 20 if option == "payment_link" else 100
        found["line_item_limit_accepted"] = lb.refusal(
            mint_params(option, order, [item(f"item-{n}", 100) for n in range(limit)], now=lb.emu.now()))
        found["line_item_limit_plus_one"] = lb.refusal(
            mint_params(option, order, [item(f"item-{n}", 100) for n in range(limit + 1)], now=lb.emu.now()))
        found["line_item_limit"] = limit
    with lab(option, seed) as lb:
        order = lb.order(MONTHLY + JERSEY)
        mixed = [item("monthly-training", MONTHLY, monthly=True), item("jersey", JERSEY)]
        done = lb.pay(lb.open(lb.mint(order, mint_params(option, order, mixed, now=lb.emu.now(), subscription=True))))
        found["monthly_with_jersey_order_status"] = lb.flow.order_status(order.id)
        lb.emu.advance(MONTH)
        invoices = lb.stripe.v1.invoices.list({"subscription": done.subscription}).data
        found["monthly_with_jersey_first_invoice_total"] = invoices[-1].total
        found["monthly_with_jersey_renewal_invoice_total"] = invoices[0].total
    return found


SCENARIOS: dict[str, Callable[[str, int], dict[str, Any]]] = {
    "monthly_fee": monthly_fee, "tax": tax, "multi_line_items": multi_line_items}


def run_case(option: str, case: str, seed: int) -> list[Observation]:
    if case not in SCENARIOS:
        raise RecurringError(f"unknown case {case!r}; expected one of {', '.join(CASES)}")
    if option not in OPTIONS:
        raise RecurringError(f"unknown option {option!r}; expected one of {', '.join(OPTIONS)}")
    return [Observation(option, case, check, value) for check, value in SCENARIOS[case](option, seed).items()]


def run_all(seed: int, progress: Any = None) -> list[Observation]:
    out: list[Observation] = []
    for option in OPTIONS:
        for case in CASES:
            out += run_case(option, case, seed)
            if progress is not None:
                progress.update(1)
    return out


# -- what the evidence says ---------------------------------------------------------------------------

_COMMON_RULES = {
    "monthly_fee": ["subscription.created_on_completion", "invoice.subscription_details_metadata",
                    "invoice.own_metadata_empty", "subscription.renews_on_clock", "subscription.renewal_paid_at_once",
                    "subscription.one_per_completed_session", "session.mode.matches_prices"],
    "tax": ["tax.behavior_required", "tax.requires_location", "tax.only_where_registered", "tax.exclusive_inclusive",
            "tax.emulated_rate", "tax.registrations_api"],
    "multi_line_items": ["subscription.line_items_20_each", "subscription.renews_on_clock",
                         "invoice.subscription_details_metadata"],
}
_OPTION_RULES = {
    ("payment_link", "monthly_fee"): ["link.subscription_data_metadata", "link.metadata_copied",
                                      "link.limit_subscription_mode", "link.limit_open_sessions"],
    ("lazy_mint", "monthly_fee"): ["subscription.metadata_from_subscription_data", "session.expire_endpoint.open_only",
                                   "session.expired.cannot_pay", "session.expires_at.max_24h"],
    ("checkout_session", "monthly_fee"): ["subscription.metadata_from_subscription_data", "session.expires_at.max_24h"],
    ("payment_link", "tax"): ["link.automatic_tax", "tax.behavior_required_link"],
    ("payment_link", "multi_line_items"): ["link.line_items.max_20", "link.metadata_copied"],
    ("lazy_mint", "multi_line_items"): ["session.line_items.max_100"],
    ("checkout_session", "multi_line_items"): ["session.line_items.max_100"],
}
_COMMON_SOURCES = {
    "monthly_fee": ["checkout-session-subscription-and-invoice", "invoice-subscription-details-metadata",
                    "invoice-line-subscription-metadata", "invoice-billing-reason", "events-invoice-paid",
                    "subscriptions-webhooks", "stripe-billing-percent"],
    "tax": ["tax-registration-required", "tax-registrations-api", "tax-behavior", "tax-behavior-required-error",
            "automatic-tax-default-scope", "stripe-tax-percent"],
    "multi_line_items": ["checkout-subscription-one-time-lines", "checkout-metadata-in-events"],
}
_OPTION_SOURCES = {
    ("payment_link", "monthly_fee"): ["payment-link-subscription-data-metadata", "payment-link-metadata-copied",
                                      "payment-link-completed-sessions-limit", "payment-link-subscription-data"],
    ("lazy_mint", "monthly_fee"): ["checkout-subscription-data-metadata", "checkout-expire-endpoint",
                                   "checkout-expires-at-window"],
    ("checkout_session", "monthly_fee"): ["checkout-subscription-data-metadata", "checkout-expires-at-window"],
    ("payment_link", "tax"): ["payment-link-automatic-tax"],
    ("lazy_mint", "tax"): ["checkout-automatic-tax"],
    ("checkout_session", "tax"): ["checkout-automatic-tax"],
    ("payment_link", "multi_line_items"): ["payment-link-line-items", "payment-link-metadata-copied"],
    ("lazy_mint", "multi_line_items"): ["checkout-line-item-limits"],
    ("checkout_session", "multi_line_items"): ["checkout-line-item-limits"],
}
_NAMES = {"payment_link": "a per-order Payment Link", "lazy_mint": "lazy-mint (a session minted at click)",
          "checkout_session": "a Checkout Session minted at send"}
_SECOND = {"payment_link": "a second tab opened on the link", "lazy_mint": "the session the route retired",
           "checkout_session": "a reminder's second session"}


def rules_for(option: str, case: str) -> list[str]:
    return sorted(set(_COMMON_RULES[case] + _OPTION_RULES.get((option, case), [])))


def sources_for(option: str, case: str) -> list[str]:
    return sorted(set(_COMMON_SOURCES[case] + _OPTION_SOURCES.get((option, case), [])))


def _yes(value: bool, yes: str, no: str) -> str:
    return yes if value else no


def _usd(cents: int) -> str:
    return f"${cents / 100:,.2f}"


def sentence(option: str, case: str, f: dict[str, Any]) -> str:
    """The one sentence the ADR can quote for ``option`` in ``case``, built from what was found."""
    name = _NAMES[option]
    if case == "monthly_fee":
        metadata = "subscription_data.metadata on the link" if option == "payment_link" else \
            "subscription_data.metadata on the session"
        return (
            f"A monthly fee through {name}: today's parameters are {f['today_params_with_recurring_price'][:7]} "
            f"with a recurring price; checkout.session.completed still marks the order "
            f"{_yes(f['order_paid_by_checkout_session_completed'], 'paid', 'unpaid')}, but the order id reaches the "
            f"Subscription and its invoices (parent.subscription_details.metadata) "
            f"{_yes(f['order_id_on_subscription'] and not f['order_id_on_subscription_without_subscription_data'], 'only when ' + metadata + ' is set', 'regardless of subscription_data')}, "
            f"and each renewal arrives only as invoice.paid/invoice.payment_succeeded "
            f"({f['renewal_events_received_by_todays_matcher']} reach today's matcher, which records invoice.paid as "
            f"'{f['matcher_outcome_for_invoice_paid']}' once its endpoint subscribes to it); "
            f"{_SECOND[option]} "
            f"{_yes(f['second_session_payable_before_cleanup'], 'can still be paid', 'cannot be paid')} before the "
            f"matcher's clean-up runs, leaving {f['subscriptions_for_one_order_before_cleanup']} subscription(s) "
            f"billing the order every month.")
    if case == "tax":
        return (
            f"Automatic tax on {name}: today's inline prices are {f['today_params_with_automatic_tax'][:7]} "
            f"(no tax_behavior); with one, the parent must enter a billing address "
            f"(status {f['unregistered_exclusive_status_before_address']} until then), no tax is added where the club "
            f"has no registration (total {_usd(f['unregistered_exclusive_amount_total'])}), and where it has one an exclusive "
            f"price raises the total to {_usd(f['registered_exclusive_amount_total'])} so the matcher records "
            f"{f['registered_exclusive_matcher_outcome']} and leaves the order {f['registered_exclusive_order_status']}, "
            f"while an inclusive price keeps {_usd(f['registered_inclusive_amount_total'])} (tax "
            f"{_usd(f['registered_inclusive_amount_tax'])} inside) and the order is {f['registered_inclusive_order_status']}.")
    return (
        f"A tournament fee plus a jersey through {name}: {f['line_items_on_session']} line items totalling "
        f"{_usd(f['amount_total'])} are attributed by the order's metadata (matcher: {f['matcher_outcome']}, order "
        f"{f['order_status']}); up to {f['line_item_limit']} line items are accepted and "
        f"{f['line_item_limit'] + 1} {f['line_item_limit_plus_one'][:7]}; a one-time jersey beside a monthly fee is "
        f"billed on the first invoice only ({_usd(f['monthly_with_jersey_first_invoice_total'])} then "
        f"{_usd(f['monthly_with_jersey_renewal_invoice_total'])} a month).")


def findings(observations: list[Observation]) -> dict[str, dict[str, dict[str, Any]]]:
    out: dict[str, dict[str, dict[str, Any]]] = {}
    for o in observations:
        out.setdefault(o.option, {}).setdefault(o.case, {})[o.check] = o.value
    return out


def summary(observations: list[Observation]) -> dict[str, Any]:
    """Per option and case: what was found, the rule and registry ids behind it, and a sentence to quote."""
    found = findings(observations)
    options: dict[str, Any] = {}
    for option, cases in found.items():
        options[option] = {case: {"found": values, "rules": rules_for(option, case),
                                  "sources": sources_for(option, case), "sentence": sentence(option, case, values)}
                           for case, values in cases.items()}
    return {
        "options": options,
        "rule_ids": sorted({r for o in options.values() for c in o.values() for r in c["rules"]}),
        "source_ids": sorted({s for o in options.values() for c in o.values() for s in c["sources"]}),
        "amounts_cents": {"tournament_fee": FEE, "jersey": JERSEY, "monthly_fee": MONTHLY},
    }


def observations_table(observations: list[Observation]) -> Any:
    import pandas as pd

    return pd.DataFrame([{"option": o.option, "case": o.case, "check": o.check,
                          "value": str(o.value).lower() if isinstance(o.value, bool) else str(o.value)}
                         for o in observations], columns=["option", "case", "check", "value"])
