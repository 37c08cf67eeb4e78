"""Templates for the Billing and Tax objects: Subscription (and its items), Invoice (and its lines), Tax Registration.

Laid out as ``shapes.TEMPLATES`` is (which merges these): every key of Stripe's fixture object
(``fixtures3.json``), with the value Stripe shows for a feature not in use; ``null`` where the SDK types the
field ``Optional``.
"""
from __future__ import annotations

from typing import Any

_NO_CYCLE_ANCHOR = None
_INVOICE_SETTINGS = {"account_tax_ids": None, "issuer": {"type": "self"}, "custom_fields": None, "description": None,
                     "footer": None}

BILLING_TEMPLATES: dict[str, dict[str, Any]] = {
    "subscription": {
        "id": None, "object": "subscription", "application": None, "application_fee_percent": None,
        "automatic_tax": {"enabled": False, "liability": None, "disabled_reason": None},
        "billing_cycle_anchor": 0, "billing_cycle_anchor_config": _NO_CYCLE_ANCHOR, "billing_mode": {"type": "classic",
                                                                                                    "flexible": None},
        "billing_schedules": [], "billing_thresholds": None, "cancel_at": None, "cancel_at_period_end": False,
        "canceled_at": None, "cancellation_details": {"comment": None, "feedback": None, "reason": None},
        "collection_method": "charge_automatically", "created": 0, "currency": "usd", "customer": None,
        "customer_account": None, "days_until_due": None, "default_payment_method": None, "default_source": None,
        "default_tax_rates": [], "description": None, "discounts": [], "ended_at": None,
        "invoice_settings": _INVOICE_SETTINGS, "items": None, "latest_invoice": None, "livemode": False,
        "managed_payments": None, "metadata": {}, "next_pending_invoice_item_invoice": None, "on_behalf_of": None,
        "pause_collection": None,
        "payment_settings": {"payment_method_options": None, "payment_method_types": None,
                             "save_default_payment_method": "off"},
        "pending_invoice_item_interval": None, "pending_setup_intent": None, "pending_update": None, "schedule": None,
        "start_date": 0, "status": "active", "test_clock": None, "transfer_data": None, "trial_end": None,
        "trial_settings": {"end_behavior": {"missing_payment_method": "create_invoice"}}, "trial_start": None,
    },
    "subscription_item": {
        "id": None, "object": "subscription_item", "billing_thresholds": None, "created": 0, "current_period_end": 0,
        "current_period_start": 0, "discounts": [], "metadata": {}, "plan": None, "price": None, "quantity": 1,
        "subscription": None, "tax_rates": [],
    },
    "plan": {
        "id": None, "object": "plan", "active": True, "amount": None, "amount_decimal": None, "billing_scheme": "per_unit",
        "created": 0, "currency": "usd", "interval": "month", "interval_count": 1, "livemode": False, "metadata": {},
        "meter": None, "nickname": None, "product": None, "tiers_mode": None, "transform_usage": None,
        "trial_period_days": None, "usage_type": "licensed",
    },
    "invoice": {
        "id": None, "object": "invoice", "account_country": "US", "account_name": None, "account_tax_ids": None,
        "amount_due": 0, "amount_overpaid": 0, "amount_paid": 0, "amount_remaining": 0, "amount_shipping": 0,
        "application": None, "attempt_count": 0, "attempted": False, "auto_advance": False,
        "automatic_tax": {"enabled": False, "liability": None, "status": None, "disabled_reason": None,
                          "provider": None},
        "automatically_finalizes_at": None, "billing_reason": None, "collection_method": "charge_automatically",
        "created": 0, "currency": "usd", "custom_fields": None, "customer": None, "customer_account": None,
        "customer_address": None, "customer_email": None, "customer_name": None, "customer_phone": None,
        "customer_shipping": None, "customer_tax_exempt": "none", "customer_tax_ids": [], "default_payment_method": None,
        "default_source": None, "default_tax_rates": [], "description": None, "discounts": [], "due_date": None,
        "effective_at": None, "ending_balance": None, "footer": None, "from_invoice": None, "hosted_invoice_url": None,
        "invoice_pdf": None, "issuer": {"type": "self"}, "last_finalization_error": None, "latest_revision": None,
        "lines": None, "livemode": False, "metadata": {}, "next_payment_attempt": None, "number": None,
        "on_behalf_of": None, "parent": None,
        "payment_settings": {"default_mandate": None, "payment_method_options": None, "payment_method_types": None},
        "period_end": 0, "period_start": 0, "post_payment_credit_notes_amount": 0, "pre_payment_credit_notes_amount": 0,
        "receipt_number": None,
        "rendering": {"amount_tax_display": None, "pdf": {"page_size": "auto"}, "template": None,
                      "template_version": None},
        "shipping_cost": None, "shipping_details": None, "starting_balance": 0, "statement_descriptor": None,
        "status": "draft",
        "status_transitions": {"finalized_at": None, "marked_uncollectible_at": None, "paid_at": None,
                               "voided_at": None},
        "subscription": None, "subtotal": 0, "subtotal_excluding_tax": 0, "test_clock": None, "total": 0,
        "total_discount_amounts": [], "total_excluding_tax": 0, "total_pretax_credit_amounts": [], "total_taxes": [],
        "webhooks_delivered_at": None,
    },
    "line_item": {
        "id": None, "object": "line_item", "amount": 0, "currency": "usd", "description": None, "discount_amounts": [],
        "discountable": True, "discounts": [], "invoice": None, "livemode": False, "metadata": {},
        "parent": None, "period": {"end": 0, "start": 0}, "pretax_credit_amounts": [],
        "pricing": None, "quantity": 1, "quantity_decimal": None, "subscription": None, "subtotal": 0, "taxes": [],
    },
    "tax.registration": {
        "id": None, "object": "tax.registration", "active_from": 0, "country": "US", "country_options": {},
        "created": 0, "expires_at": None, "livemode": False, "status": "active",
    },
}
