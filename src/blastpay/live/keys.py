"""Which Stripe API keys the probe accepts: test-mode secret or restricted keys only.

Stripe: "Test mode secret keys have the prefix sk_test_ and live mode secret keys have
the prefix sk_live_" (docs.stripe.com/api/authentication); restricted keys use
``rk_test_`` / ``rk_live_``. Messages never contain the key itself.
"""
from __future__ import annotations

import re

from blastpay.live.errors import LiveProbeError

KEY_ENV = "STRIPE_TEST_SECRET_KEY"

_TEST_KEY = re.compile(r"(sk|rk)_test_[A-Za-z0-9]{8,247}")
_LIVE_PREFIXES = ("sk_live_", "rk_live_")


def accepted_key_kind(key: str | None) -> str:
    """Return ``"sk_test"`` or ``"rk_test"`` for an acceptable key, else raise LiveProbeError."""
    if key is None or key == "":
        raise LiveProbeError(f"{KEY_ENV} is not set; export a Stripe test-mode secret key (sk_test_...) to run the probe")
    if key.strip().startswith(_LIVE_PREFIXES):
        raise LiveProbeError(
            f"{KEY_ENV} holds a live-mode key; the probe is test-mode only and needs an sk_test_ or rk_test_ key"
        )
    match = _TEST_KEY.fullmatch(key)
    if match is None:
        if key.startswith(("pk_test_", "pk_live_")):
            raise LiveProbeError(f"{KEY_ENV} holds a publishable key; the probe needs a secret key (sk_test_...)")
        raise LiveProbeError(
            f"{KEY_ENV} is malformed: expected sk_test_ or rk_test_ followed by letters and digits only"
        )
    return f"{match.group(1)}_test"
