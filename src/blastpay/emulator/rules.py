"""Every Stripe behaviour the emulator enforces, with its source and the test that proves it.

``settled_by`` is ``"stripe-docs"`` when a Stripe source (docs page or the SDK's own
docstrings) states the behaviour, and ``"assumption"`` when Stripe's documentation is
silent and the emulator had to choose; the ADR inherits the assumptions.
``blastpay.adr.stripe_behaviour`` renders them into docs/stripe-behaviour.md.
"""
from __future__ import annotations

from dataclasses import dataclass

CONFORMANCE = "tests/emulator/test_conformance.py"
WEBHOOKS = "tests/emulator/test_webhooks.py"
FAULT_TESTS = "tests/emulator/test_faults.py"
PAGES = "tests/emulator/test_pages.py"
ABANDONED = "https://docs.stripe.com/payments/checkout/abandoned-carts"
SESSION_PARAMS = "stripe/params/checkout/_session_create_params.py (stripe 16.1.0, https://pypi.org/project/stripe/16.1.0/)"
LINK_PARAMS = "stripe/params/_payment_link_create_params.py (stripe 16.1.0, https://pypi.org/project/stripe/16.1.0/)"
LINK_API = "https://stripe.com/docs/payment-links/api"
URL_PARAMS = "https://docs.stripe.com/payment-links/url-parameters"
WEBHOOK_DOCS = "https://docs.stripe.com/webhooks"
SHAPES = "tests/emulator/test_shapes.py"
LIMITS = "tests/emulator/test_http_limits.py"
RECURRING = "tests/emulator/test_subscription_and_tax_rules.py"
SDK = "(stripe 16.1.0, https://pypi.org/project/stripe/16.1.0/)"
FIXTURES3 = ("stripe/openapi openapi/fixtures3.json at f6c2a48fbac2819d1feba8143d942ffc65e1c0d2 "
             "(https://github.com/stripe/openapi), vendored in src/blastpay/emulator/reference/")


@dataclass(frozen=True)
class Rule:
    id: str
    statement: str
    source: str
    quote: str
    settled_by: str  # "stripe-docs" | "assumption"
    test: str  # pytest node id (file::function)


def _r(id: str, statement: str, source: str, quote: str, settled_by: str, test: str) -> Rule:
    return Rule(id, statement, source, quote, settled_by, test)


RULES: tuple[Rule, ...] = (
    # -- Checkout Session lifetime -------------------------------------------------------------
    _r("session.expires_at.max_24h",
       "Creating a Checkout Session with expires_at more than 24 hours after creation fails with InvalidRequestError "
       "(param expires_at) and Stripe's message.",
       f"{SESSION_PARAMS}; message as reported in https://github.com/alexmorrisnz/moodle-paygw_stripe/pull/72",
       "The `expires_at` timestamp must be less than 24 hours from Checkout Session creation.",
       "stripe-docs", f"{CONFORMANCE}::test_expires_at_more_than_24_hours_is_refused"),
    _r("session.expires_at.min_30min",
       "expires_at less than 30 minutes after creation is refused (InvalidRequestError, param expires_at); the message "
       "wording is the emulator's, adapted from Stripe's older 60-minute message.",
       ABANDONED, "The minimum `expires_at` allowed is 30 minutes from when the session is created.",
       "stripe-docs", f"{CONFORMANCE}::test_expires_at_less_than_30_minutes_is_refused"),
    _r("session.expires_at.default_24h",
       "Without expires_at a session expires 24 hours after creation.",
       SESSION_PARAMS, "By default, this value is 24 hours from creation.",
       "stripe-docs", f"{CONFORMANCE}::test_expires_at_defaults_to_24_hours"),
    _r("session.expires_at.window_inclusive",
       "The window is inclusive at both ends: exactly 30 minutes and exactly 24 hours are accepted.",
       SESSION_PARAMS, "It can be anywhere from 30 minutes to 24 hours after Checkout Session creation.",
       "assumption", f"{CONFORMANCE}::test_expires_at_window_bounds_are_accepted"),
    _r("session.expires_at.not_updatable",
       "expires_at cannot be changed after creation: updating it is refused as an unknown parameter.",
       "stripe/params/checkout/_session_modify_params.py (stripe 16.1.0)",
       "accepts only collected_information, expand, line_items, metadata, payment_intent_data and shipping_options",
       "stripe-docs", f"{CONFORMANCE}::test_expires_at_cannot_be_updated"),
    _r("session.expires.on_clock",
       "When the clock reaches expires_at an open session becomes expired, loses its url, and "
       "checkout.session.expired is emitted with the event's created equal to expires_at.",
       "https://stripe.com/docs/payments/checkout/managing-limited-inventory",
       "When a Checkout Session expires, its status property changes to expired ... Stripe sends the "
       "checkout.session.expired event.",
       "stripe-docs", f"{CONFORMANCE}::test_session_expires_when_clock_reaches_expires_at"),
    _r("session.expire_endpoint.open_only",
       "POST /v1/checkout/sessions/{id}/expire expires an open session at once; on a session that is not open it "
       "fails with InvalidRequestError.",
       "https://docs.stripe.com/api/checkout/sessions/expire",
       "A Checkout Session can be expired when it is in one of these statuses: `open`.",
       "stripe-docs", f"{CONFORMANCE}::test_expire_endpoint_only_for_open_sessions"),
    _r("session.url.only_open",
       "url is present while the session is open and null once it is complete or expired.",
       "stripe/checkout/_session.py:2755-2759 (stripe 16.1.0)", "This value is only present when the session is active.",
       "stripe-docs", f"{CONFORMANCE}::test_url_only_while_open"),
    _r("session.expired.cannot_pay",
       "An expired session cannot be paid (a Stripe-shaped error) and its page says it has expired.",
       "https://docs.stripe.com/api/checkout/sessions/expire",
       "After it expires, a customer can't complete a Checkout Session and customers loading the Checkout Session "
       "see a message saying the Checkout Session is expired.",
       "stripe-docs", f"{CONFORMANCE}::test_expired_session_cannot_be_paid"),
    _r("session.complete.cannot_pay_twice",
       "A complete session cannot be paid again.",
       "stripe/checkout/_session.py:2723-2726 (stripe 16.1.0)",
       "The status of the Checkout Session, one of `open`, `complete`, or `expired`.",
       "assumption", f"{CONFORMANCE}::test_complete_session_cannot_be_paid_again"),
    # -- recovery ------------------------------------------------------------------------------
    _r("recovery.attached_on_expiry",
       "With after_expiration.recovery.enabled, a recovery URL and its expires_at (30 days later) are attached to the "
       "session when it expires, and are in the checkout.session.expired event.",
       ABANDONED,
       "When the session expires with recovery enabled, the webhook payload contains after_expiration, which includes "
       "a URL denoted by `after_expiration.recovery.url`",
       "stripe-docs", f"{CONFORMANCE}::test_recovery_url_attached_on_expiry"),
    _r("recovery.lifetime_30_days",
       "A recovery URL works for 30 days after expiry; afterwards its page says it has expired and no session is made.",
       ABANDONED, "the recovery URL for a session is usable for 30 days, denoted by the "
       "`after_expiration.recovery.expires_at` timestamp.",
       "stripe-docs", f"{CONFORMANCE}::test_recovery_url_usable_for_30_days"),
    _r("recovery.new_session_recovered_from",
       "Opening a recovery URL creates a new open session whose recovered_from is the expired session's id, with the "
       "same line items and amount.",
       ABANDONED, "When the customer opens this URL, it creates a new Checkout Session that's a copy of the original "
       "expired session.",
       "stripe-docs", f"{CONFORMANCE}::test_recovery_creates_session_with_recovered_from"),
    _r("recovery.keeps_metadata",
       "The recovered session keeps the original's metadata, client_reference_id, payment_link and "
       "payment_intent_data (Stripe's docs only say \"a copy\").",
       ABANDONED, "it creates a new Checkout Session that's a copy of the original expired session.",
       "assumption", f"{CONFORMANCE}::test_recovered_session_keeps_metadata_and_reference"),
    _r("recovery.after_expire_endpoint",
       "A session expired through the expire endpoint also gets its recovery URL.",
       "stripe-facts.md, Not found", "Whether a session expired via the `expire` endpoint gets a recovery URL.",
       "assumption", f"{CONFORMANCE}::test_recovery_url_after_expire_endpoint"),
    _r("recovery.each_visit_new_session",
       "Every visit to a valid recovery URL creates another new session.",
       "stripe-facts.md, Not found", "The docs only say \"copy of the original expired session\".",
       "assumption", f"{CONFORMANCE}::test_recovery_creates_session_with_recovered_from"),
    # -- completion ----------------------------------------------------------------------------
    _r("session.complete.paid",
       "Paying an open session makes it complete with payment_status paid and emits checkout.session.completed "
       "carrying the session's metadata and client_reference_id.",
       "https://docs.stripe.com/metadata/use-cases",
       "It also appears in the events sent to your webhook endpoint that contain that Checkout Session (including the "
       "`checkout.session.completed` event).",
       "stripe-docs", f"{CONFORMANCE}::test_paid_session_completes_with_metadata_in_event"),
    _r("session.complete.no_cost",
       "Paying a session whose total is 0 completes it with payment_status no_payment_required, not paid: no payment "
       "is collected (the emulator's reading of the no_payment_required status for a no-cost order).",
       "https://stripe.com/docs/payments/checkout/no-cost-orders",
       "If the total amount is 0, Checkout doesn't collect a payment method from the customer.",
       "assumption", f"{CONFORMANCE}::test_no_cost_session_completes_without_a_payment"),
    _r("session.success_url.placeholder",
       "After payment the customer is redirected to success_url with {CHECKOUT_SESSION_ID} replaced by the id.",
       "stripe/params/_payment_link_create_params.py:216-244 (stripe 16.1.0)",
       "You can embed `{CHECKOUT_SESSION_ID}` into the URL to have the `id` of the completed checkout session included.",
       "stripe-docs", f"{CONFORMANCE}::test_success_url_gets_session_id"),
    _r("session.cancel_url.back",
       "With cancel_url the page shows a back link; following it leaves the session open.",
       SESSION_PARAMS, "If set, Checkout displays a back button and customers will be directed to this URL if they "
       "decide to cancel payment",
       "stripe-docs", f"{CONFORMANCE}::test_cancel_returns_cancel_url_and_leaves_session_open"),
    _r("session.declined.stays_open",
       "A declined card leaves the session open and unpaid, with no event; a later good card completes it.",
       "https://docs.stripe.com/testing", "4000 0000 0000 0002 (generic decline)",
       "assumption", f"{CONFORMANCE}::test_declined_payment_leaves_session_open"),
    _r("payment_intent.created_on_completion",
       "No PaymentIntent exists while a payment-mode session is open; one is created when it completes.",
       "https://github.com/stripe/stripe-dotnet/issues/3113",
       "A PaymentIntent is no longer created during Checkout Session creation in payment mode. Instead, a PaymentIntent "
       "will be created when the Session is confirmed.",
       "stripe-docs", f"{CONFORMANCE}::test_payment_intent_carries_payment_intent_data_metadata_only"),
    _r("payment_intent.metadata_from_payment_intent_data",
       "The PaymentIntent carries payment_intent_data.metadata and not the session's own metadata.",
       "https://github.com/stripe/stripe-node/issues/1126",
       "If you want to instead have metadata on the underlying PaymentIntent you'd use the "
       "`payment_intent_data.metadata` property",
       "stripe-docs", f"{CONFORMANCE}::test_payment_intent_carries_payment_intent_data_metadata_only"),
    _r("session.mode.matches_prices",
       "payment mode refuses recurring prices; subscription mode needs at least one recurring price; "
       "payment_intent_data is refused in subscription mode (messages are the emulator's wording).",
       SESSION_PARAMS, "Pass `subscription` if the Checkout Session includes at least one recurring item.",
       "assumption", f"{CONFORMANCE}::test_mode_must_match_price_types"),
    _r("session.mode.default_payment",
       "mode may be omitted and then means payment (the SDK marks it optional).",
       SESSION_PARAMS, "mode: NotRequired[\"Literal['payment', 'setup', 'subscription']|str\"]",
       "assumption", f"{CONFORMANCE}::test_mode_defaults_to_payment"),
    _r("session.customer",
       "customer must name an existing Customer; customer and customer_email cannot both be given.",
       SESSION_PARAMS, "ID of an existing Customer", "assumption",
       f"{CONFORMANCE}::test_session_customer_must_exist_and_excludes_customer_email"),
    _r("session.customer_creation.always",
       "customer_creation=always in payment mode creates a Customer (with the payer's email) when the session is paid "
       "and sets the session's and its PaymentIntent's customer; if_required, the default, creates none for a one-time "
       "payment.",
       f"stripe/checkout/_session.py:2516-2519 {SDK}",
       "Configure whether a Checkout Session creates a Customer when the Checkout Session completes.", "stripe-docs",
       f"{CONFORMANCE}::test_customer_creation_always_creates_a_customer_when_the_session_is_paid"),
    _r("session.client_reference_id.max_200",
       "client_reference_id on session create is limited to 200 characters.",
       "https://hexdocs.pm/tiger_stripe/", "Max length: 200", "stripe-docs",
       f"{CONFORMANCE}::test_session_client_reference_id_max_200"),
    _r("session.list.by_payment_link",
       "Sessions created from a Payment Link carry payment_link and can be listed with payment_link=plink_...",
       "stripe/checkout/_session.py:2649-2652 (stripe 16.1.0)", "The ID of the Payment Link that created this Session.",
       "stripe-docs", f"{CONFORMANCE}::test_sessions_list_filters_by_payment_link"),
    # -- payment links -------------------------------------------------------------------------
    _r("link.no_expiry",
       "A Payment Link has no expiry: visiting it 31 days after creation still opens a checkout.",
       LINK_PARAMS, "PaymentLinkCreateParams has no expires_at or any date-based field", "stripe-docs",
       f"{CONFORMANCE}::test_payment_link_works_after_31_days"),
    _r("link.each_visit_new_session",
       "Every visit to an active Payment Link opens a new Checkout Session (a parent who presses Back and comes back "
       "through the link leaves the first one open until it expires).",
       "stripe/_payment_link.py:40-42 (stripe 16.1.0; the PaymentLink description of Stripe's API reference)",
       "When a customer opens a payment link it will open a new [checkout session]",
       "stripe-docs", f"{CONFORMANCE}::test_each_visit_to_a_payment_link_opens_a_new_session"),
    _r("link.deactivate",
       "active=false makes visits show the inactive message (inactive_message or a default); active=true reopens it.",
       LINK_API, "After you deactivate a link, customers can't finalize purchases using the link anymore ... If you "
       "want to reuse a deactivated payment link, turn it back on by setting the active attribute to true.",
       "stripe-docs", f"{CONFORMANCE}::test_deactivated_link_shows_inactive_message"),
    _r("link.default_inactive_message",
       "The default deactivated-link text is the emulator's own wording.",
       "https://docs.stripe.com/docs/payment-links/customize", "they're shown a default message",
       "assumption", f"{CONFORMANCE}::test_deactivated_link_shows_inactive_message"),
    _r("link.no_delete",
       "Payment Links cannot be deleted: DELETE /v1/payment_links/{id} is an unrecognised URL.",
       LINK_API, "After you've created a payment link, you can't delete it.", "stripe-docs",
       f"{CONFORMANCE}::test_payment_link_cannot_be_deleted"),
    _r("link.limit_deactivates",
       "When completed sessions reach restrictions.completed_sessions.limit the link deactivates itself "
       "(payment_link.updated is emitted) and further visits show the inactive page.",
       "https://docs.stripe.com/payments/no-code/collect-addresses",
       "When the payment link reaches the limit, it automatically deactivates and customers can't use it to make a "
       "purchase.",
       "stripe-docs", f"{CONFORMANCE}::test_completed_sessions_limit_deactivates_link"),
    _r("link.limit_update_keeps_count",
       "Updating restrictions.completed_sessions.limit keeps the count of sessions already completed: the link "
       "deactivates when that count reaches the new limit.",
       "stripe/_payment_link.py:449-452 (stripe 16.1.0)",
       "The current number of checkout sessions that have been completed on the payment link which count towards the "
       "`completed_sessions` restriction to be met.",
       "stripe-docs", f"{CONFORMANCE}::test_raising_the_limit_after_payments_keeps_their_count"),
    _r("link.limit_open_sessions",
       "Sessions opened before the limit was reached stay open and can still be paid; count may then exceed limit.",
       "stripe-facts.md, Not found", "Nothing was found on what happens to sessions already open when the limit is "
       "reached.", "assumption", f"{CONFORMANCE}::test_sessions_open_when_limit_reached_can_still_complete"),
    _r("link.metadata_copied",
       "A link's metadata is copied to each session it creates, so it arrives in checkout.session.completed.",
       LINK_PARAMS, "Metadata associated with this Payment Link will automatically be copied to checkout sessions "
       "created by this payment link.",
       "stripe-docs", f"{CONFORMANCE}::test_link_metadata_reaches_completed_event"),
    _r("link.session_expiry_24h",
       "A session opened from a Payment Link expires 24 hours after the visit, like any default session.",
       "stripe-facts.md, Not found", "Stripe does not document the lifetime of a link's session.",
       "assumption", f"{CONFORMANCE}::test_link_session_expires_after_24_hours"),
    _r("link.client_reference_id.url",
       "client_reference_id in the link URL (letters, digits, - and _, up to 200) reaches the session; invalid values "
       "are silently dropped and the page still works.",
       URL_PARAMS, "`client_reference_id` can be composed of alphanumeric characters, dashes, or underscores, and be "
       "any value up to 200 characters. Invalid values are silently dropped, but your payment page continues to work "
       "as expected.",
       "stripe-docs", f"{CONFORMANCE}::test_client_reference_id_from_url"),
    _r("link.prefilled_email.url",
       "prefilled_email in the link URL sets the session's customer_email; invalid values are disregarded.",
       URL_PARAMS, "`prefilled_email` must be a valid email address. Invalid values are disregarded",
       "stripe-docs", f"{CONFORMANCE}::test_prefilled_email_from_url"),
    _r("link.line_items.max_20",
       "A Payment Link accepts 1 to 20 line items; 21 are refused.",
       LINK_PARAMS, "Up to 20 line items are supported.", "stripe-docs",
       f"{CONFORMANCE}::test_payment_link_accepts_up_to_20_line_items"),
    _r("link.price_data",
       "Payment Link line items may use price_data instead of a Price id.",
       LINK_PARAMS, "One of `price` or `price_data` is required.", "stripe-docs",
       f"{CONFORMANCE}::test_payment_link_with_price_data"),
    _r("link.after_completion",
       "after_completion redirect sends the customer to its URL with {CHECKOUT_SESSION_ID} filled in; "
       "hosted_confirmation shows custom_message.",
       LINK_PARAMS, "You can embed `{CHECKOUT_SESSION_ID}` into the URL to have the `id` of the completed checkout "
       "session included.",
       "stripe-docs", f"{CONFORMANCE}::test_link_after_completion_redirect_and_hosted_confirmation"),
    _r("link.payment_intent_data",
       "A link's payment_intent_data.metadata lands on the PaymentIntent; the link's metadata does not.",
       LINK_PARAMS, "Set of key-value pairs that will declaratively set metadata on Payment Intents generated from this "
       "payment link.",
       "stripe-docs", f"{CONFORMANCE}::test_link_payment_intent_data_reaches_payment_intent"),
    _r("link.no_customer_param",
       "Payment Link create has no customer parameter: passing one is an unknown parameter.",
       "https://docs.stripe.com/mobile/digital-goods/payment-links",
       "Use Stripe Checkout or Elements for a more dynamic cart or to attach a `Customer` to the `Checkout Session`.",
       "stripe-docs", f"{CONFORMANCE}::test_payment_link_refuses_customer_and_client_reference_id"),
    _r("link.updated_event",
       "Updating a link emits payment_link.updated with previous_attributes.",
       "https://docs.stripe.com/api/events/types", "payment_link.updated: Occurs when a payment link is updated.",
       "stripe-docs", f"{CONFORMANCE}::test_update_emits_payment_link_updated"),
    # -- subscriptions (a recurring fee) ---------------------------------------------------------
    _r("subscription.created_on_completion",
       "Paying a subscription-mode session starts an active Subscription (session.subscription) and its first "
       "invoice (session.invoice: billing_reason subscription_create, paid, the session's total), emitting "
       "customer.subscription.created, invoice.created, invoice.finalized, invoice.paid and "
       "invoice.payment_succeeded before checkout.session.completed (that order is the emulator's; Stripe "
       "guarantees none). Registry: checkout-session-subscription-and-invoice, invoice-billing-reason.",
       f"stripe/checkout/_session.py:2552-2555, 2735-2738 {SDK}",
       "The ID of the Subscription for Checkout Sessions in `subscription` mode. ... ID of the invoice created by the "
       "Checkout Session, if it exists.",
       "stripe-docs", f"{RECURRING}::test_paid_subscription_session_starts_a_subscription_with_its_first_invoice"),
    _r("subscription.metadata_from_subscription_data",
       "The Subscription carries the session's subscription_data.metadata (and description); the session's own "
       "metadata is not copied to it. Registry: checkout-subscription-data-metadata.",
       "https://github.com/pay-rails/pay/issues/734 (Stripe staff)",
       "That'll put metadata on the Checkout Session, I'm guessing you're looking for the metadata to end up on the "
       "Subscription. In that case, you can pass in `subscription_data.metadata`",
       "stripe-docs", f"{RECURRING}::test_subscription_metadata_comes_from_subscription_data_only"),
    _r("link.subscription_data_metadata",
       "A Payment Link's subscription_data.metadata reaches every Subscription its sessions start; the link's own "
       "metadata reaches its sessions (and checkout.session.completed) but not the Subscription or its invoices. "
       "Registry: payment-link-subscription-data-metadata, payment-link-metadata-copied.",
       f"stripe/params/_payment_link_create_params.py:1106-1109 {SDK}",
       "Set of key-value pairs that will declaratively set metadata on Subscriptions generated from this payment "
       "link.",
       "stripe-docs",
       f"{RECURRING}::test_payment_link_subscription_data_metadata_reaches_the_subscription_and_link_metadata_does_not"),
    _r("invoice.subscription_details_metadata",
       "A subscription's invoice names it in parent.subscription_details.subscription and carries a snapshot of its "
       "metadata in parent.subscription_details.metadata; a line billed for a subscription item carries the "
       "subscription's metadata. Registry: invoice-subscription-details-metadata, invoice-line-subscription-metadata.",
       f"stripe/_invoice.py:763-773; stripe/_invoice_line_item.py:277-280 {SDK}",
       "Set of key-value pairs defined as subscription metadata when an invoice is created. Becomes an immutable "
       "snapshot of the subscription metadata at the time of invoice finalization.",
       "stripe-docs", f"{RECURRING}::test_invoice_carries_subscription_metadata_in_parent_and_lines_not_its_own"),
    _r("invoice.own_metadata_empty",
       "A subscription's invoice has empty metadata of its own, and its one-time lines carry none: nothing copies the "
       "session's or the subscription's metadata there (Stripe documents no such copy).",
       "stripe-facts.md, Not found", "Stripe documents metadata copied to subscription_details and subscription lines "
       "only.",
       "assumption", f"{RECURRING}::test_invoice_carries_subscription_metadata_in_parent_and_lines_not_its_own"),
    _r("subscription.renews_on_clock",
       "When the clock reaches a period's end the subscription renews: a subscription_cycle invoice bills its "
       "recurring lines (one-time lines were on the first invoice only), latest_invoice moves to it, and "
       "invoice.created/finalized/paid/payment_succeeded then customer.subscription.updated are emitted; a month "
       "is a calendar month from the billing cycle anchor. Registry: invoice-billing-reason, "
       "checkout-subscription-one-time-lines.",
       f"stripe/params/checkout/_session_create_params.py:266-268; stripe/_invoice.py:1544-1569 {SDK}",
       "Line items with one-time Prices will be on the initial invoice only. ... `subscription_cycle`: A subscription "
       "advanced into a new period.",
       "stripe-docs", f"{RECURRING}::test_subscription_renews_each_month_on_the_clock_billing_recurring_lines_only"),
    _r("subscription.renewal_paid_at_once",
       "A renewal invoice is created, finalized and paid by the saved card in one step (Stripe keeps it a draft for "
       "about an hour first); every renewal in the emulator succeeds.",
       "stripe-facts.md, Not found", "The emulator does not model the draft hour or failed renewals.",
       "assumption", f"{RECURRING}::test_subscription_renews_each_month_on_the_clock_billing_recurring_lines_only"),
    _r("subscription.cancel",
       "DELETE /v1/subscriptions/{id} cancels at once (status canceled, customer.subscription.deleted); it is not "
       "billed again; the list leaves canceled subscriptions out unless status says otherwise.",
       f"stripe/_subscription_service.py:52-53 {SDK}",
       "Cancels a customer's subscription immediately. The customer won't be charged again for the subscription.",
       "stripe-docs", f"{RECURRING}::test_canceled_subscription_is_not_billed_again"),
    _r("subscription.one_per_completed_session",
       "Every completed subscription-mode session starts its own Subscription: two sessions for one order, both "
       "paid, bill the parent twice every month. Registry: checkout-session-subscription-and-invoice.",
       f"stripe/checkout/_session.py:2735-2738 {SDK}",
       "The ID of the Subscription for Checkout Sessions in `subscription` mode.",
       "stripe-docs", f"{RECURRING}::test_each_completed_subscription_session_starts_its_own_subscription"),
    _r("subscription.line_items_20_each",
       "A subscription-mode session takes at most 20 line items with recurring prices and 20 with one-time prices "
       "(the refusal's wording is the emulator's). Registry: checkout-subscription-one-time-lines.",
       SESSION_PARAMS,
       "For `subscription` mode, there is a maximum of 20 line items with recurring Prices and 20 line items with "
       "one-time Prices.",
       "stripe-docs", f"{RECURRING}::test_subscription_mode_takes_20_recurring_and_20_one_time_line_items"),
    _r("link.limit_subscription_mode",
       "restrictions.completed_sessions counts completed subscription-mode sessions as it counts payments: a per-order "
       "link with limit 1 deactivates after the first subscription starts, and a session opened before that can still "
       "complete (a second subscription). Stripe's docs do not speak of the mode.",
       "https://docs.stripe.com/payments/no-code/collect-addresses",
       "A payment link is considered \"paid for\" when a Checkout Session is complete.",
       "assumption", f"{RECURRING}::test_per_order_link_with_limit_1_deactivates_after_one_subscription"),
    _r("session.line_items.max_100",
       "A payment-mode Checkout Session takes at most 100 line items; 101 are refused (the wording is the "
       "emulator's). Registry: checkout-line-item-limits.",
       SESSION_PARAMS, "For `payment` mode, there is a maximum of 100 line items",
       "stripe-docs", f"{RECURRING}::test_payment_mode_session_takes_at_most_100_line_items"),
    # -- tax ---------------------------------------------------------------------------------------
    _r("tax.behavior_required",
       "automatic_tax[enabled]=true on a Checkout Session whose price has tax_behavior unspecified is refused with "
       "Stripe's message (the emulator's account has no default tax behaviour); price_data may set tax_behavior. "
       "Registry: tax-behavior-required-error, tax-behavior.",
       "https://github.com/stripe-samples/firebase-subscription-payments/issues/48 (Stripe's error as reported)",
       "The price `price_1INgJAHYgolSBA35MeYSHoYE` does not have a `tax_behavior` set which is required for automatic "
       "tax computation.",
       "stripe-docs", f"{RECURRING}::test_automatic_tax_refuses_a_price_without_tax_behavior"),
    _r("tax.behavior_required_link",
       "A Payment Link with automatic_tax refuses such a price at creation too (the report is of Checkout; the "
       "emulator assumes the link checks when it is made).",
       "stripe-facts.md, Not found", "Stripe documents the tax_behavior requirement for Checkout.",
       "assumption", f"{RECURRING}::test_payment_link_automatic_tax_refuses_a_price_without_tax_behavior"),
    _r("tax.requires_location",
       "An open session with automatic tax has automatic_tax.status requires_location_inputs; the parent enters a "
       "billing address to pay (customer_details.address), and the status becomes complete. Registry: "
       "checkout-automatic-tax.",
       f"stripe/params/checkout/_session_create_params.py:453-459 {SDK}",
       "Enabling this parameter causes Checkout to collect any billing address information necessary for tax "
       "calculation.",
       "stripe-docs", f"{RECURRING}::test_open_session_with_automatic_tax_waits_for_the_parents_address"),
    _r("tax.only_where_registered",
       "Tax is charged only when an active tax registration covers the billing address (its country and, in the US, "
       "its state); elsewhere amount_tax is 0. Registry: tax-registration-required.",
       "https://docs.stripe.com/payments/mobile/checkout-sessions/collect-taxes",
       "Stripe Tax only collects tax in jurisdictions where you have an active registration.",
       "stripe-docs", f"{RECURRING}::test_tax_is_charged_only_where_registered"),
    _r("tax.exclusive_inclusive",
       "An exclusive price's tax is added to amount_total; an inclusive price's tax is carved out of its amount, "
       "amount_total unchanged; both show in total_details.amount_tax and the line's amount_tax. Registry: "
       "tax-behavior.",
       "https://docs.stripe.com/payments/advanced/tax",
       "Exclusive: The product price doesn't include tax, which is added as a separate amount. Inclusive: The product "
       "price includes any tax amount.",
       "stripe-docs", f"{RECURRING}::test_exclusive_tax_raises_the_total_inclusive_tax_is_carved_out"),
    _r("tax.emulated_rate",
       "Where registered, the emulator charges a flat 10% (rounded half up to the cent), a round figure of its own: "
       "Stripe's rates come from its tax engine per jurisdiction and product tax code.",
       "stripe-facts.md, Not found", "The emulator has no tax engine.",
       "assumption", f"{RECURRING}::test_exclusive_tax_raises_the_total_inclusive_tax_is_carved_out"),
    _r("tax.registrations_api",
       "POST /v1/tax/registrations (country, country_options[us][state,type], active_from now or a time) records a "
       "registration, scheduled until active_from; it can be listed and retrieved. Registrations outside the US are "
       "refused by the emulator. Registry: tax-registrations-api.",
       "https://docs.stripe.com/api/tax/registrations",
       "A Tax Registration lets us know that your business is registered to collect tax on payments within a region, "
       "enabling you to automatically collect tax.",
       "stripe-docs", f"{RECURRING}::test_tax_registrations_create_list_and_retrieve"),
    _r("link.automatic_tax",
       "A Payment Link's automatic_tax reaches every session it opens: the parent enters an address and the tax is "
       "computed as on any session. Registry: payment-link-automatic-tax.",
       LINK_PARAMS, "Enabling this parameter causes the payment link to collect any billing address information "
       "necessary for tax calculation.",
       "stripe-docs", f"{RECURRING}::test_payment_link_automatic_tax_reaches_its_sessions"),
    _r("tax.subscription_renewals",
       "A subscription started with automatic tax taxes each renewal at the billing address given at checkout.",
       "stripe-facts.md, Not found", "Stripe documents no detail of how renewals find the address.",
       "assumption", f"{RECURRING}::test_subscription_renewals_are_taxed_at_the_checkout_address"),
    # -- resources -----------------------------------------------------------------------------
    _r("price.types",
       "Prices are one_time, or recurring with an interval; line items accept either through price or price_data.",
       SESSION_PARAMS, "line_items with price or price_data", "stripe-docs",
       f"{CONFORMANCE}::test_prices_one_time_and_recurring"),
    _r("price.inactive_refused",
       "An inactive Price is refused in line items (InvalidRequestError naming the line item).",
       "https://docs.stripe.com/api/prices/object", "active: Whether the price can be used for new purchases.",
       "assumption", f"{CONFORMANCE}::test_inactive_price_refused"),
    _r("metadata.limits",
       "metadata takes up to 50 keys, keys up to 40 characters, values up to 500 characters; an empty value unsets "
       "a key and an empty metadata clears it.",
       "https://docs.stripe.com/metadata", "You can add 50 total key-value pairs ... key: 40-character limit ... value: "
       "500-character limit.",
       "stripe-docs", f"{CONFORMANCE}::test_metadata_limits_and_unsetting"),
    _r("list.pagination",
       "Lists are newest first, limit 1..100 (default 10), with starting_after/ending_before cursors and has_more.",
       "https://docs.stripe.com/api/pagination", "limit: A limit on the number of objects to be returned, between 1 and "
       "100.", "stripe-docs", f"{CONFORMANCE}::test_list_pagination"),
    _r("events.list_retrieve",
       "Events can be listed (filtered by type) and retrieved by id.",
       "https://docs.stripe.com/api/events", "List all events ... Retrieve an event", "stripe-docs",
       f"{CONFORMANCE}::test_events_list_and_retrieve"),
    # -- API surface ---------------------------------------------------------------------------
    _r("api.unknown_parameter",
       "An unknown parameter (at any depth) fails with InvalidRequestError \"Received unknown parameter: X\" and "
       "param X.",
       "https://docs.stripe.com/api/errors", "Invalid request errors arise when your request has invalid parameters.",
       "stripe-docs", f"{CONFORMANCE}::test_unknown_parameter_rejected"),
    _r("api.unknown_route",
       "An unknown URL fails with a Stripe-shaped 404 (InvalidRequestError), not a plain-text page.",
       "https://docs.stripe.com/api/errors", "invalid_request_error", "stripe-docs",
       f"{CONFORMANCE}::test_unknown_route_is_invalid_request"),
    _r("api.resource_missing",
       "Retrieving a missing object fails with 404 InvalidRequestError code resource_missing.",
       "https://docs.stripe.com/error-codes", "resource_missing: The ID provided is not valid.",
       "stripe-docs", f"{CONFORMANCE}::test_missing_object_is_resource_missing"),
    _r("api.live_key_refused",
       "sk_live_ keys are refused with AuthenticationError saying the emulator is test mode only; sk_test_ keys work.",
       "https://docs.stripe.com/api/authentication", "Test mode secret keys have the prefix sk_test_ and live mode "
       "secret keys have the prefix sk_live_.", "stripe-docs", f"{CONFORMANCE}::test_live_key_refused"),
    _r("api.idempotency",
       "Same Idempotency-Key and parameters replay the first response; same key with other parameters fails with "
       "IdempotencyError; keys are at most 255 characters.",
       "https://docs.stripe.com/idempotency", "Idempotency keys are up to 255 characters long.", "stripe-docs",
       f"{CONFORMANCE}::test_idempotency_key_replays_and_rejects_other_params"),
    _r("api.idempotency.in_flight",
       "While a request with an Idempotency-Key is still executing (until its answer leaves, injected latency "
       "included), another request with the same key is not executed: it fails with 409 idempotency_error, code "
       "idempotency_key_in_use, \"There is currently another in-progress request using this Idempotent Key ...\", "
       "and nothing is stored for it; once the first has answered, the key replays its stored response. The code and "
       "the 409 are Stripe's (the SDK's own error-code list; stripe-python retries a 409 and raises it as APIError, "
       "error.code idempotency_key_in_use); the message is as "
       "reported from Stripe by a secondary source (https://agentifact.com/bugs/"
       "stripe-api-idempotency-key-collision-handling); the 409 carries no Stripe-Should-Retry header (an "
       "assumption: Stripe's docs do not say).",
       "https://docs.stripe.com/idempotency; stripe/_payment_intent.py:280 (stripe 16.1.0) lists the error code "
       "idempotency_key_in_use; stripe/_http_client.py:150-152 (stripe 16.1.0) \"Retry on conflict errors\" "
       "(status 409)",
       "We save results only after the execution of an endpoint begins. If incoming parameters fail validation, or "
       "the request conflict[s with another that's executing concurrently, no idempotent result is saved]",
       "stripe-docs", f"{CONFORMANCE}::test_idempotency_key_in_flight_is_409_then_replays"),
    _r("api.legacy_pattern",
       "The legacy class-method pattern (stripe.api_base, stripe.checkout.Session.create) works like StripeClient.",
       "stripe-python README (16.1.0)", "The legacy pattern used prior to that version is still available to use",
       "stripe-docs", f"{CONFORMANCE}::test_legacy_class_methods_work"),
    # -- webhooks ------------------------------------------------------------------------------
    _r("webhook.secret_on_create",
       "Creating a webhook endpoint returns a whsec_ secret; retrieving it later does not show the secret.",
       WEBHOOK_DOCS, "Stripe signs every webhook event by including a signature in the Stripe-Signature header",
       "assumption", f"{WEBHOOKS}::test_webhook_endpoint_secret_only_on_create"),
    _r("webhook.signature",
       "Deliveries carry Stripe-Signature t=<wall-clock>,v1=HMAC-SHA256(secret, \"{t}.{body}\") that "
       "stripe.Webhook.construct_event accepts; the event's created is simulated time.",
       "stripe/_webhook.py:101-129 (stripe 16.1.0)", "generate_signature_header returns f\"t={timestamp},"
       "{scheme}={signature}\"", "stripe-docs", f"{WEBHOOKS}::test_webhook_signature_verifies_with_construct_event"),
    _r("webhook.enabled_events",
       "An endpoint receives only the event types in enabled_events (\"*\" means all).",
       "https://docs.stripe.com/api/webhook_endpoints/create", "enabled_events: The list of events to enable for this "
       "endpoint.", "stripe-docs", f"{WEBHOOKS}::test_endpoint_receives_only_enabled_events"),
    _r("webhook.retries_3_days",
       "A failed delivery (non-2xx or no answer) is retried on the simulated clock with back-off 1, 3, 9, 27, 81, "
       "243 minutes then every 12 hours, for up to 3 days after the event (the exact schedule is the emulator's).",
       WEBHOOK_DOCS, "Stripe attempts to deliver events to your destination for up to three days with an exponential "
       "back off in live mode", "assumption", f"{WEBHOOKS}::test_failed_delivery_retried_over_three_days"),
    _r("webhook.max_16_endpoints",
       "At most 16 webhook endpoints can be registered.",
       WEBHOOK_DOCS, "You can register up to 16 webhook endpoints", "stripe-docs",
       f"{WEBHOOKS}::test_at_most_16_webhook_endpoints"),
    _r("webhook.duplicates_and_order",
       "Deliveries can be made to arrive twice, late, out of order or never (fault injection), as Stripe warns.",
       WEBHOOK_DOCS, "Stripe doesn't guarantee the delivery of events in the order that they're generated ... Webhook "
       "endpoints might occasionally receive the same event more than once.",
       "stripe-docs", f"{WEBHOOKS}::test_webhook_faults_duplicate_delay_reorder_drop"),
    # -- faults --------------------------------------------------------------------------------
    _r("faults.sdk_exceptions",
       "Injected 500, 429 and dropped connections make the SDK raise APIError, RateLimitError and "
       "APIConnectionError.",
       "stripe/_api_requestor.py:494-514 (stripe 16.1.0)", "Excess requests get HTTP 429. stripe-python raises "
       "`RateLimitError`", "stripe-docs", f"{FAULT_TESTS}::test_api_faults_raise_sdk_exceptions"),
    # -- pages ---------------------------------------------------------------------------------
    _r("pages.hosted_journey",
       "The HTTP door serves pages at the URLs it hands out: a link redirects to a session page with the amount, a "
       "Pay button and a back link; paying redirects to the success URL; deactivated links show their message.",
       ABANDONED, "customers loading the Checkout Session see a message saying the Checkout Session is expired.",
       "assumption", f"{PAGES}::test_browser_journey_through_pages"),
    # -- object shapes and the wire --------------------------------------------------------------
    _r("shape.fixture_keys",
       "Every object returned (product, price, customer, checkout.session and its line items, payment_link, "
       "payment_intent, event and its data.object, webhook_endpoint, subscription, invoice and its lines, "
       "tax.registration) has every key of Stripe's fixture object with "
       "the same JSON type, or null where the SDK types the field Optional (a feature not in use).",
       FIXTURES3, "one example object for every API resource: the objects stripe-mock serves",
       "stripe-docs", f"{SHAPES}::test_every_fixture_key_with_its_json_type"),
    _r("shape.list_envelope",
       "A list is {object: \"list\", data, has_more, url}.",
       "https://docs.stripe.com/api/pagination", "object / data / has_more / url",
       "stripe-docs", f"{SHAPES}::test_list_envelopes_have_stripes_keys"),
    _r("params.sdk_accounted",
       "Every parameter the SDK's typed classes define for a served route is modelled (stored and echoed where Stripe "
       "echoes it) or refused with invalid_request_error, code parameter_unsupported, naming it; a name the SDK does "
       "not define is Stripe's 'Received unknown parameter'.",
       "stripe/params/ (stripe 16.1.0, https://pypi.org/project/stripe/16.1.0/)",
       "class SessionCreateParams(RequestOptions): ... (one TypedDict per route)",
       "stripe-docs", "tests/emulator/test_sdk_params.py::test_every_sdk_parameter_is_modelled_or_refused_by_name"),
    _r("wire.form_utf8",
       "A body whose bytes or percent-escapes are not UTF-8 (e.g. %FF) is refused with a 400 rather than stored "
       "with a replacement character.",
       "stripe-facts.md, Not found", "Stripe does not document how it treats invalid UTF-8 in a form body.",
       "assumption", f"{LIMITS}::test_percent_ff_in_a_body_is_refused_not_stored_as_a_replacement_character"),
    _r("wire.limits",
       "Parameters nest at most 10 levels (Stripe's deepest served parameter has 5); request heads over 64 KiB or "
       "one header over 16 KiB get 431, bodies over 1 MB 413, a body that stops arriving 400 within 0.5 s.",
       SESSION_PARAMS, "line_items[].price_data.product_data.metadata (the deepest parameter the emulator serves; "
       "Stripe documents no nesting or header limit)",
       "assumption", f"{LIMITS}::test_a_parameter_nested_1000_levels_deep_is_a_short_400"),
)
