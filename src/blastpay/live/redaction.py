"""Removing secrets and personal data from recorded Stripe requests and responses.

What goes: API keys (``sk_``/``rk_``/``pk_`` with ``test``/``live``), webhook secrets
(``whsec_``), the key used for the run wherever it appears, email addresses, the value of
any field that holds a secret or a person's details (``client_secret``, ``email``, ``name``
inside customer/billing/shipping details, ``phone``, ``address``...), and the fragment of
hosted Checkout URLs (it encodes the account's publishable key). What stays: object ids,
amounts, statuses, metadata the probe itself set, and whether a field was null, so a
recorded response keeps its shape and its decision-relevant values.
"""
from __future__ import annotations

import re
from typing import Any, Iterable

from blastpay.redaction import KEY_PATTERN as _KEY_PATTERN
from blastpay.redaction import REDACTED
from blastpay.redaction import WHSEC_PATTERN as _WHSEC_PATTERN

_EMAIL_PATTERN = re.compile(r"[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+")
_CHECKOUT_FRAGMENT = re.compile(r"(https://checkout\.stripe\.com/[^\s#\"]*)#[^\s\"]*")

# Fields whose value is a secret or personal wherever they occur.
SECRET_FIELDS = frozenset(
    {
        "client_secret",
        "secret",
        "email",
        "customer_email",
        "receipt_email",
        "prefilled_email",
        "phone",
        "address",
        "line1",
        "line2",
        "postal_code",
        "tax_ids",
        "ip_address",
        "user_agent",
    }
)
# Objects that describe a person: every string inside them goes.
PERSONAL_CONTAINERS = frozenset(
    {"customer_details", "billing_details", "shipping_details", "shipping", "individual", "collected_information"}
)

# Request parameters arrive flat (``customer_details[email]``): the last bracketed part names the field.
_PARAM_PART = re.compile(r"[^\[\]]+")


def redact_text(text: str, secrets: Iterable[str] = ()) -> str:
    """Replace keys, webhook secrets, emails, given literals and Checkout URL fragments in a string."""
    for secret in secrets:
        if secret:
            text = text.replace(secret, REDACTED)
    text = _KEY_PATTERN.sub(REDACTED, text)
    text = _WHSEC_PATTERN.sub(REDACTED, text)
    text = _EMAIL_PATTERN.sub(REDACTED, text)
    return _CHECKOUT_FRAGMENT.sub(lambda m: f"{m.group(1)}#{REDACTED}", text)


def _field_parts(key: str) -> list[str]:
    return _PARAM_PART.findall(key) or [key]


def _is_sensitive_field(key: str) -> bool:
    return any(part in SECRET_FIELDS for part in _field_parts(key))


def _is_personal_container(key: str) -> bool:
    return any(part in PERSONAL_CONTAINERS for part in _field_parts(key))


def _blank(value: Any) -> Any:
    """Keep null and structure, drop every leaf value."""
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, dict):
        return {k: _blank(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_blank(v) for v in value]
    return REDACTED


def redact(value: Any, secrets: Iterable[str] = ()) -> Any:
    """A copy of a JSON-like value with secrets and personal data replaced by ``[redacted]``."""
    secrets = tuple(s for s in secrets if s)
    if isinstance(value, dict):
        out: dict[str, Any] = {}
        for key, item in value.items():
            if _is_personal_container(key) or _is_sensitive_field(key):
                out[key] = _blank(item)
            else:
                out[key] = redact(item, secrets)
        return out
    if isinstance(value, list):
        return [redact(item, secrets) for item in value]
    if isinstance(value, str):
        return redact_text(value, secrets)
    return value
