"""The reader's words: one table of display names for every internal id the ADR and its figures show.

Prose, tables and figure labels print ``display(kind, id)`` (the template filter ``dn``), never the id. An id
without a display name fails the render, naming this file; the narrative guard fails the render when an
internal snake_case id appears in the prose outside a code span. API parameter names stay in code spans.
"""

from __future__ import annotations

import re
from typing import Any, Mapping

VARIANTS: dict[str, str] = {
    "payment_link_per_order": "Payment Link per order",
    "payment_link_per_product": "Payment Link per product",
    "lazy_mint_hmac": "Lazy-mint, signed token",
    "lazy_mint_db": "Lazy-mint, database token",
    "ttl_30d": "30-day Checkout Session (the patch)",
    "ttl_24h": "24-hour Checkout Session (today)",
    "ttl_24h_recovery": "24-hour Checkout Session, recovery email",
}

# How each variant is built, for the one place the ADR lists them; API names in code spans.
VARIANT_DETAILS: dict[str, str] = {
    "payment_link_per_order": "one Payment Link per order, order id in the link's `metadata`, "
                              "`restrictions.completed_sessions.limit` 1",
    "payment_link_per_product": "one Payment Link per product, order id as `client_reference_id` in the URL",
    "lazy_mint_hmac": "the token is a random nonce plus an HMAC tag over the nonce and order id; a `pay_tokens` "
                      "table row maps the nonce to the order, and the signing keys are a secret to rotate",
    "lazy_mint_db": "the token is a random value stored in a table row for the order",
    "ttl_30d": "Checkout Session with `expires_at` 30 days out (the sibling bug's patch)",
    "ttl_24h": "Checkout Session with `expires_at` 24 hours out, the longest Stripe allows",
    "ttl_24h_recovery": "24-hour Checkout Session with `after_expiration.recovery` on, the recovery URL re-emailed",
}

OPTIONS: dict[str, str] = {
    "payment_links": "Stripe Payment Links",
    "lazy_mint": "Lazy-mint `/pay/{order_token}`",
    "ttl_30d": "Keep Checkout Sessions with a 30-day TTL",
}

FAULTS: dict[str, str] = {
    "backend_down_at_click": "club's backend down when the parent clicks",
    "stripe_500_at_blast": "Stripe errors (500) during the blast",
    "stripe_429_at_blast": "Stripe rate-limits (429) the blast",
    "stripe_500_at_click": "Stripe errors (500) when the parent clicks",
    "webhook_endpoint_down_6h": "webhook endpoint down for 6 hours",
    "mail_scanner_prefetch": "mail scanner opens every link at delivery",
    "order_canceled_after_blast": "order canceled after the email",
    "amount_changed_after_blast": "amount changed after the email",
    "paid_twice_two_tabs": "parent pays in two tabs at once",
    "paid_twice_two_tabs_webhook_down": "parent pays in two tabs at once while our webhook endpoint is down",
    "paid_twice_second_visit": "parent pays, then opens the email again",
    "none": "no fault (the baseline)",
    "stripe_api_500_15m": "Stripe's API fails (500) for 15 minutes from the blast",
    "stripe_api_500_2h": "Stripe's API fails (500) for 2 hours from the blast",
    "stripe_api_500_8h": "Stripe's API fails (500) for 8 hours from the blast",
    "stripe_api_429_5m": "Stripe rate-limits (429) the blast for 5 minutes",
    "stripe_api_429_1h": "Stripe rate-limits (429) for an hour from the blast",
    "stripe_api_and_pages_down_1h": "Stripe's API and hosted pages down for an hour",
    "stripe_api_and_pages_down_4h": "Stripe's API and hosted pages down for 4 hours",
    "stripe_api_and_pages_down_24h": "Stripe's API and hosted pages down for 24 hours",
    "server_down_30m": "club's server down for 30 minutes while parents click",
    "server_down_4h": "club's server down for 4 hours while parents click",
    "server_down_24h": "club's server down for 24 hours while parents click",
    "database_locked_30m": "club's database locked for 30 minutes while parents click",
    "database_down_4h": "club's database down for 4 hours while parents click",
    "blast_tables_restored_from_backup": "tables the blast wrote restored from a backup taken before it",
    "signing_key_wrong_6h": "token signing key wrong for 6 hours (a bad deploy)",
    "stripe_secret_key_wrong_6h": "our Stripe secret key wrong for 6 hours after the blast went out (a bad deploy; Stripe refuses every backend call as unauthenticated)",
    "stripe_secret_key_wrong_6h_at_blast": "our Stripe secret key wrong for 6 hours from the blast on (a bad deploy just before it)",
    "webhook_endpoint_down_80h": "webhook endpoint down for 80 hours (past Stripe's retries)",
}

DRIVERS: dict[str, str] = {
    "parent_ux": "Parent experience",
    "fulfillment_tracking": "Fulfilment tracking",
    "failure_modes": "Failure modes",
    "retry_cohort": "Retry cohort (Back, then return)",
    "operational_complexity": "Operational complexity",
    "cost": "Cost",
    "migration_path": "Migration path",
}

METRICS: dict[str, str] = {
    "payable_share_of_clickers": "first click reaches a payable page (share of clicking parents)",
    "first_click_payable_share_of_clickers": "first click reaches a payable page (share of clicking parents)",
    "stranded_share_of_clickers": "clicking parents who never manage to pay",
    "page_loads_per_payment": "page loads per payment",
    "webhook_match_rate": "payments matched to their order",
    "fault_cells_money_safe_share": "fault scenarios with money and order state right",
    "fault_cells_parent_can_pay_share": "fault scenarios after which the parent can still pay",
    "sessions_per_paid_order_retry_cohort": "sessions per paid order in the retry cohort",
    "abandoned_sessions_per_paid_order_retry_cohort": "abandoned sessions per paid order in the retry cohort",
    "fault_error_page_share": "parents who meet an error page, mean over fault cells",
    "fault_eventually_pay_share": "parents who pay, mean over fault cells",
    "fault_excess_parent_hours_without_way_to_pay": "extra hours per parent without a way to pay, mean over fault cells",
    "new_moving_parts": "new moving parts",
    "stripe_calls_per_paid_order": "Stripe calls per paid order",
    "reference_flow_lines_of_code": "lines of code a blast, a click and a payment execute",
    "stranded_revenue_per_100_orders_usd": "revenue stranded per 100 orders",
    "fee_per_payment_usd": "Stripe fee per payment",
    "migration_rehearsal_violations": "violations in the migration rehearsal",
}

# What a parent sees: page kinds recorded by the browser journeys.
PAGES: dict[str, str] = {
    "checkout": "Stripe checkout (payable)",
    "success": "club's thank-you page",
    "left_checkout": "club's 'nothing was charged' page",
    "expired": "Stripe 'expired' page",
    "inactive": "Stripe 'link deactivated' page",
    "completed": "Stripe 'payment complete' page",
    "refused": "Stripe 'payment refused' page",
    "not_found": "'Link not valid' page",
    "already_paid": "club's 'Already paid' page",
    "canceled": "club's 'Order canceled' page",
    "try_again": "club's 'Try again in a minute' page",
    "cannot_connect": "browser error: cannot connect",
    "no_email": "nothing: no email was sent",
    "unknown": "unrecognised page",
}

# Journey paths walked in the browser.
PATHS: dict[str, str] = {
    "pay": "opens the email and pays",
    "already_paid": "opens the email again after paying",
    "order_canceled": "opens the email after the club canceled the order",
    "stripe_failing": "opens the email while Stripe's API fails",
    "backend_down": "opens the email while the club's backend is down",
    "link_not_valid": "opens a damaged copy of the link",
}

CLICK_TIMES: dict[str, str] = {"1h": "1 hour after the blast", "25h": "25 hours after the blast",
                               "31d": "31 days after the blast"}

# Migration: the rehearsal's steps (in the order it proved safe) and the orders it tried.
STEPS: dict[str, str] = {
    "deploy_new_path": "Deploy the new link path",
    "accept_new_webhook_shape": "Make the webhook matcher accept the new sessions as well as the old",
    "email_new_links": "Re-email every pending order with its new link",
    "expire_old_sessions": "Expire the old Checkout Sessions",
    "drop_old_webhook_shape": "Drop the old session shape from the matcher",
}

ORDERS: dict[str, str] = {
    "safe": "the safe order",
    "matcher_switched_before_old_sessions_drain": "old shape dropped from the matcher before the old sessions drained",
    "old_sessions_expired_before_new_links": "old sessions expired before the new links went out",
    "new_links_before_matcher_accepts_them": "new links emailed before the matcher accepted them",
    "new_links_before_route_deployed": "new links emailed before the new path was deployed",
}

HARMS: dict[str, str] = {
    "dead_link": "dead links", "double_charge": "double charges", "payment_without_paid_order": "payments without a paid order",
    "paid_order_without_payment": "paid orders without a payment", "stranded": "stranded orders",
}

FEE_TYPES: dict[str, str] = {"tournament_fee": "tournament fee", "monthly_fee": "monthly fee"}

# Latency scenarios and robustness-case words.
SCENARIOS: dict[str, str] = {"central": "central", "optimistic": "optimistic", "pessimistic": "pessimistic"}

# The decision's stated assumptions as the ADR names them (experiments/club.yaml, likelihood.yaml, effort.yaml).
LEVERS: dict[str, str] = {
    "basketball_api_downtime": "hours a year basketball-api cannot be reached",
    "blasts_per_year": "blasts a year",
    "orders_per_blast": "orders a blast",
    "fee_usd": "the fee",
    "return_share": "parents who come back by themselves after an error page",
    "response_share": "parents who act on a re-sent email",
    "retry_cohort_share": "paying parents who press Back and return later",
    "support_contact_minutes": "the minutes a support contact takes",
    "staff_hour_usd": "the cost of a staff hour",
    "error_page_contact_share": "parents who write in after a temporary error page",
    "dead_link_contact_share": "parents told their link no longer works who write in",
    "engineer_day_usd": "the cost of an engineer-day",
    "horizon_years": "the years the build is spread over",
    "stripe_api_downtime": "the downtime of Stripe's API alone, hours a year",
    "stripe_wholly_downtime": "the downtime of Stripe as a whole (API and hosted pages), hours a year",
}

# Kinds of migration step (experiments/effort.yaml).
STEP_KINDS: dict[str, str] = {
    "table_added": "a new table", "table_removed": "dropping a table", "route_added": "a new public route",
    "worker_added": "a new worker", "worker_removed": "retiring a worker", "job_added": "a new scheduled job",
    "job_removed": "retiring a scheduled job", "job_changed": "a change to a scheduled job", "secret_added": "a new secret",
    "stripe_kind_added": "a kind of Stripe object basketball-api has not used before",
    "call_site": "code changes where sessions are created and payments handled", "template": "the email template",
    "doc": "the runbook",
    "serving_change": "a change to how basketball-api is served", "alert_added": "a new alert",
    "feature_flag": "the cut-over flag", "rehearsal": "the cut-over rehearsal", "live_probe": "the test-mode probe",
    "rollback_drill": "the rollback drill",
}

# Yearly harms of the decision (models/yearly_harm.py), as the ADR names them.
YEARLY_HARMS: dict[str, str] = {
    "parents_meeting_an_error_page": "parents who meet an error page",
    "temporary_error_pages": "parents who meet a temporary error page",
    "dead_link_pages": "parents told their link no longer works",
    "parents_stranded": "parents who clicked but never paid",
    "hours_locked_out": "parent-hours locked out after clicking",
    "double_charges": "double charges to refund",
    "support_contacts": "support contacts",
    "paid_still_payable": "paid orders left payable a second time",
    "unmatched_payments": "payments matched by hand",
    "checkout_sessions": "Checkout Sessions created",
    "abandoned_sessions": "sessions left behind by parents who press Back",
    "stripe_calls": "Stripe API calls",
}


def lever(name: str) -> str:
    """The reader's name of one assumption the decision's sensitivity table moves."""
    kind, _, ident = name.partition(":")
    if kind == "likelihood":
        return f"how often: {display('fault', ident)}"
    if kind == "effort":
        return f"engineer-days per step of {display('step_kind', ident)}"
    if kind == "old_email":
        return f"parents who click the old email's link after: {display('fault', ident)}"
    return display("lever", name)


TABLES: dict[str, Mapping[str, str]] = {
    "variant": VARIANTS, "option": OPTIONS, "fault": FAULTS, "driver": DRIVERS, "metric": METRICS,
    "page": PAGES, "path": PATHS, "when": CLICK_TIMES, "scenario": SCENARIOS, "step": STEPS, "order": ORDERS,
    "harm": HARMS, "fee_type": FEE_TYPES, "lever": LEVERS, "step_kind": STEP_KINDS, "yearly_harm": YEARLY_HARMS,
}


class DisplayNameMissing(KeyError):
    """An id the reader would see has no display name."""

    def __str__(self) -> str:  # KeyError quotes its argument; say it plainly
        return str(self.args[0])


def display(kind: str, ident: str) -> str:
    """The reader's name for an internal id; DisplayNameMissing names the table to extend."""
    table = TABLES.get(kind)
    if table is None:
        raise DisplayNameMissing(f"no display-name table {kind!r}; expected one of {', '.join(TABLES)}")
    try:
        return table[ident]
    except KeyError:
        raise DisplayNameMissing(f"no display name for {kind} {ident!r}: add it to src/blastpay/display_names.py") from None


def plain(text: str) -> str:
    """A display name for a figure label: markdown code marks dropped."""
    return text.replace("`", "")


def known_ids() -> set[str]:
    """Every internal id that has a display name."""
    return {ident for table in TABLES.values() for ident in table}


SNAKE_ID = re.compile(r"(?<![\w./{-])[a-z][a-z0-9]*(?:_[a-z0-9]+)+(?![\w/}(-])")


def words(text: Any) -> str:
    """Text from evidence for the prose: a known internal id becomes its display name, any other snake_case
    name (an API parameter, a table) goes in a code span. Existing code spans are left alone."""
    names = {ident: name for kind in ("variant", "fault", "driver", "metric") for ident, name in TABLES[kind].items()}
    parts = str(text).split("`")
    for i in range(0, len(parts), 2):
        parts[i] = SNAKE_ID.sub(lambda m: names.get(m.group(0)) or f"`{m.group(0)}`", parts[i])
    return "`".join(parts)
