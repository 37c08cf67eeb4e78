"""PaymentIntents: listing (they are created when a payment-mode session completes, in ``checkout.py``)."""
from __future__ import annotations

from typing import Any


class PaymentIntents:
    """Mixed into ``Backend``; every method runs with ``self.lock`` held unless it says otherwise."""

    # -- payment intents -------------------------------------------------------------------
    def list_payment_intents(self, p: dict[str, Any]) -> dict[str, Any]:
        page = self.list_page("payment_intent", None, p, "/v1/payment_intents")
        if "customer" in p:
            page["data"] = [i for i in page["data"] if i["customer"] == p["customer"]]
        return page
