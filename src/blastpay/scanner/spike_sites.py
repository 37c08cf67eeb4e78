"""The call sites spike 489 names, as an inventory that has not been scanned.

This is the committed stand-in for ``experiments/call_sites.json`` until the
real basketball-api checkout is scanned. Only what the spike text states is
recorded: paths and symbols it names; no line numbers.
"""

from __future__ import annotations

from blastpay.scanner.inventory import (
    DEFAULT_RESCAN_COMMAND,
    DOC,
    EXPIRES_AT,
    SESSION_CREATE,
    STATUS_NAMED,
    TEMPLATE,
    WEBHOOK_HANDLER,
    Inventory,
    Site,
)

SPIKE = "spike 489 (payment-blast pattern)"


def spike_named_inventory() -> Inventory:
    def named(kind: str, file: str | None, symbol: str | None, named_as: str, **extra: object) -> Site:
        return Site(kind, file, None, symbol, STATUS_NAMED, {"named_as": named_as, "named_in": SPIKE, **extra})

    sites = [
        named(SESSION_CREATE, "src/basketball_api/services/tournament_checkout.py", None,
              "blessed helper creating tournament Checkout Sessions", via_wrapper=False),
        named(EXPIRES_AT, None, None,
              "30-day expires_at patch from the sibling Bug issue",
              classification="now + 30 days (as the spike describes the patch)", offset_seconds=2592000,
              within_stripe_limits=False),
        named(SESSION_CREATE, None, None, "monthly-fee checkout flow, whose retry cohort (parents 111, 118, 127) had 2-4 canceled sessions each",
              via_wrapper=False),
        named(WEBHOOK_HANDLER, "src/basketball_api/routes/webhooks.py", "_handle_generic_order_completed",
              "webhook matcher", events=["checkout.session.completed"], matches_on=[],
              metadata_keys_named=["order_id", "player_id", "product_id"]),
        named(TEMPLATE, None, None, "email templates that carry the checkout link"),
        named(DOC, "docs/tournament-billing-runbook.md", None, "runbook with the current (incorrect) session-lifetime framing"),
    ]
    return Inventory(
        repository="basketball-api",
        commit=None,
        content_hash=None,
        files_scanned=0,
        sites=sites,
        skipped=[],
        rescan_command=DEFAULT_RESCAN_COMMAND,
        scan_status=STATUS_NAMED,
    ).sorted()
