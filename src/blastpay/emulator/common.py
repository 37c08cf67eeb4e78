"""Constants and helpers shared by the resource modules: Stripe's limits, messages and metadata merging."""
from __future__ import annotations

import re
from typing import Any, Callable

from blastpay.emulator.params import UNSET

API_VERSION = "2026-10-28.endive"
MIN_SESSION_TTL = 30 * 60
MAX_SESSION_TTL = 24 * 3600
DEFAULT_SESSION_TTL = 24 * 3600
RECOVERY_TTL = 30 * 24 * 3600
MAX_WEBHOOK_ENDPOINTS = 16
MAX_LINK_LINE_ITEMS = 20
MAX_SUBSCRIPTION_LINES = 20  # per kind (recurring, one-time) in a subscription-mode Checkout Session
CLIENT_REFERENCE_ID = re.compile(r"^[A-Za-z0-9_-]{1,200}$")
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
EXPIRES_AT_TOO_LATE = "The `expires_at` timestamp must be less than 24 hours from Checkout Session creation."
EXPIRES_AT_TOO_EARLY = "The `expires_at` timestamp must be at least 30 minutes from Checkout Session creation."
DEFAULT_INACTIVE_MESSAGE = "This link is no longer active. Contact the seller for a new link."
EXPIRED_SESSION_MESSAGE = "This checkout session has expired."
EXPIRED_RECOVERY_MESSAGE = "This recovery link has expired."
DECLINED_MESSAGE = "Your card was declined."
# Session create parameters stored and echoed as given (they change nothing the emulator models).
SESSION_ECHOED = ("allow_promotion_codes", "billing_address_collection", "customer_creation", "locale",
                  "submit_type")
LINK_ECHOED = ("allow_promotion_codes", "billing_address_collection", "customer_creation", "payment_method_types",
               "submit_type")
NO_INVOICE_CREATION = {
    "enabled": False,
    "invoice_data": {"account_tax_ids": None, "custom_fields": None, "description": None, "footer": None,
                     "issuer": None, "metadata": {}, "rendering_options": None},
}

Transport = Callable[[str, dict[str, str], bytes], int]


def _merge_metadata(current: dict[str, str], change: Any) -> dict[str, str]:
    if change is UNSET:
        return {}
    merged = dict(current)
    for key, value in change.items():
        if value == "":
            merged.pop(key, None)
        else:
            merged[key] = value
    return merged


def _fresh_metadata(given: Any) -> dict[str, str]:
    if given is None or given is UNSET:
        return {}
    return {k: v for k, v in given.items() if v != ""}
