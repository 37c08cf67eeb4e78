"""The scanner finds exactly the sites planted in the basketball-api fixture."""

from __future__ import annotations

from pathlib import Path

from blastpay.scanner import scan
from blastpay.scanner.walk import file_kind

MARKER = "site:"


def planted_sites(root: Path) -> set[tuple[str, str, int, str | None]]:
    """(kind, file, line, symbol) for every line carrying a ``site: KIND | SYMBOL`` marker comment."""
    planted = set()
    for path in sorted(root.rglob("*")):
        if not path.is_file() or file_kind(path.name) is None:
            continue
        rel = path.relative_to(root).as_posix()
        for lineno, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if MARKER not in line or "`site`" in line:
                continue
            marker = line.split(MARKER, 1)[1]
            for end in ("#}", "-->"):
                marker = marker.split(end, 1)[0]
            kind, _, symbol = (part.strip() for part in marker.partition("|"))
            planted.add((kind, rel, lineno, symbol or None))
    return planted


def test_fixture_has_a_marker_for_every_kind(fixture_root):
    kinds = {k for k, *_ in planted_sites(fixture_root)}
    assert kinds == {"session_create", "expires_at", "url_flow", "webhook_handler", "template", "doc", "test"}


def test_every_planted_site_found_and_nothing_else(fixture_root):
    found = {s.key() for s in scan(fixture_root).sites}
    planted = planted_sites(fixture_root)
    assert found - planted == set(), "false positives"
    assert planted - found == set(), "missed sites"


def test_decoys_are_not_reported(fixture_root):
    files = {s.file for s in scan(fixture_root).sites}
    for decoy in ("src/basketball_api/services/roster.py", "src/basketball_api/db.py",
                  "src/basketball_api/templates/emails/roster_update.html", "docs/roster-policy.md",
                  "tests/test_roster.py", "src/basketball_api/services/emails.py"):
        assert decoy not in files


def _site(inv, kind, file, symbol):
    matches = [s for s in inv.sites if s.kind == kind and s.file == file and s.symbol == symbol]
    assert len(matches) == 1, (kind, file, symbol, matches)
    return matches[0]


def test_call_reached_only_through_wrapper_of_wrapper_names_its_chain(fixture_root):
    site = _site(scan(fixture_root), "session_create", "src/basketball_api/blast.py", "send_tournament_blast")
    assert site.detail["chain"] == [
        "basketball_api.campaigns.checkout_link_for",
        "basketball_api.services.tournament_checkout.create_checkout",
        "stripe.checkout.Session.create",
    ]
    assert site.detail["via_wrapper"] is True


def test_aliased_stripe_client_flow_is_a_direct_create(fixture_root):
    inv = scan(fixture_root)
    site = _site(inv, "session_create", "src/basketball_api/services/monthly_fees.py", "MonthlyFeeBilling.open_fee_session")
    assert site.detail["chain"] == ["StripeClient.v1.checkout.sessions.create"]
    route = _site(inv, "session_create", "src/basketball_api/routes/fees.py", "bill_monthly_fee")
    assert route.detail["route"] == "POST /families/{family_id}/monthly-fee/{month}"


def test_expires_at_values_are_classified(fixture_root):
    inv = scan(fixture_root)
    tournament = _site(inv, "expires_at", "src/basketball_api/services/tournament_checkout.py", "create_checkout")
    assert tournament.detail["classification"] == "now + 30 days"
    assert tournament.detail["offset_seconds"] == 30 * 86400
    assert tournament.detail["within_stripe_limits"] is False
    assert tournament.detail["resolved_source"] == "int((now + timedelta(days=30)).timestamp())"
    monthly = _site(inv, "expires_at", "src/basketball_api/services/monthly_fees.py", "MonthlyFeeBilling.open_fee_session")
    assert monthly.detail["classification"] == "now + 24 hours"
    assert monthly.detail["within_stripe_limits"] is True


def test_webhook_handlers_report_what_they_match_on(fixture_root):
    inv = scan(fixture_root)
    completed = _site(inv, "webhook_handler", "src/basketball_api/routes/webhooks.py", "_handle_generic_order_completed")
    assert completed.detail["events"] == ["checkout.session.completed"]
    assert completed.detail["matches_on"] == ["metadata.order_id", "metadata.player_id", "metadata.product_id"]
    expired = _site(inv, "webhook_handler", "src/basketball_api/routes/webhooks.py", "_handle_session_expired")
    assert expired.detail["matches_on"] == ["session id"]
    dispatcher = _site(inv, "webhook_handler", "src/basketball_api/routes/webhooks.py", "stripe_webhook")
    assert dispatcher.detail["role"] == "dispatcher"


def test_url_flows_name_their_sink(fixture_root):
    inv = scan(fixture_root)
    sinks = {(s.symbol, s.detail["sink"]) for s in inv.of_kind("url_flow")}
    assert sinks == {
        ("send_tournament_blast", "passed to send_payment_email()"),
        ("start_checkout", "returned from route handler POST /orders/{order_id}/checkout"),
        ("resume_checkout", "redirect RedirectResponse()"),
        ("bill_monthly_fee", "passed to notify_family()"),
    }


def test_template_variable_learned_from_code(fixture_root):
    # fee_link is not a conventional URL name: the template is found because
    # the code passes a session URL under that key to notify_family().
    site = _site(scan(fixture_root), "template", "src/basketball_api/templates/emails/monthly_fee.txt", None)
    assert site.detail["variables"] == ["fee_link"]


def test_test_sites_say_what_they_assert(fixture_root):
    site = _site(scan(fixture_root), "test", "tests/test_checkout.py", "test_checkout_session_lasts_30_days")
    assert "asserts expires_at" in site.detail["references"]
    assert "patches stripe.checkout.Session.create" in site.detail["references"]
