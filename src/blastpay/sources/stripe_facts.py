"""The Stripe-facts table: the registry entries the decision hinges on, grouped by primitive."""

from __future__ import annotations

from blastpay.sources.registry import Registry

# The facts the ADR's context table shows, in reading order, grouped by what they constrain.
DECISIVE_FACTS: dict[str, list[str]] = {
    "checkout_session": [
        "checkout-expires-at-window",
        "checkout-expires-at-24h-error",
        "checkout-expires-at-not-updatable",
        "checkout-url-only-while-open",
        "checkout-recovery-url-lifetime",
        "checkout-recovery-consent",
    ],
    "payment_link": [
        "payment-link-no-expiry-param",
        "payment-link-deactivate-not-delete",
        "payment-link-completed-sessions-limit",
        "payment-link-metadata-copied",
        "payment-link-client-reference-id",
        "payment-link-no-customer",
    ],
    "webhooks": ["webhooks-duplicates", "webhooks-no-ordering", "webhooks-retry-window"],
}


def facts_table(registry: Registry) -> list[dict[str, str]]:
    """One row per decisive fact; raises SourcesError naming an id the registry lacks."""
    rows = []
    for order, (group, ids) in enumerate(DECISIVE_FACTS.items()):
        for index, sid in enumerate(ids):
            entry = registry.get(sid)
            rows.append(
                {
                    "order": f"{order:02d}-{index:02d}",
                    "group": group,
                    "id": sid,
                    "title": entry["title"],
                    "quote": entry["quote"],
                    "url": entry["url"],
                    "read": entry["read"].isoformat(),
                    "secondary": bool(entry.get("secondary", False)),
                }
            )
    return rows
