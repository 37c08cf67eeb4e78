"""The narrative guard: prose may not contradict the evidence, nor quote a number the evidence lacks."""

import json

import pytest

from blastpay.adr.narrative_guard import Guard, NarrativeError, check_rendered, untraceable_numbers
from blastpay.sources.registry import load_registry

TITLES = {"payment_links": "Stripe Payment Links", "lazy_mint": "Lazy-mint", "ttl_30d": "30-day TTL"}


def test_prose_arguing_for_another_option_than_the_evidence_fails_naming_both():
    guard = Guard("payment_links", TITLES)
    with pytest.raises(NarrativeError, match="argues for 'Lazy-mint' but the evidence recommends 'Stripe Payment Links'"):
        guard.argues_for("lazy_mint")
    assert Guard("lazy_mint", TITLES).argues_for("lazy_mint") == ""


def test_numbers_must_render_from_an_allowed_value():
    text = "Stranded 19.3% of parents, $10.45 per payment, 1,234 orders, and a typed 42."
    found = untraceable_numbers(text, {0.193, 10.45, 1234.0})
    assert found == [(1, "42")]


def test_structural_tokens_are_not_claims():
    text = ("See basketball-api #487 and Option 2 in `v1.checkout.sessions.create(expires_at=86400)`, "
            "dated 2026-11-26, hash 9f484ed9dd302250, citation [rate-limits], p99 and sk_test_123, <https://x.org/a1>.")
    assert untraceable_numbers(text, set()) == []


def test_front_matter_is_skipped_but_body_numbers_are_checked():
    text = "---\nstatus: proposed\nevidence: 12345\n---\nBody says 7 days.\n"
    assert untraceable_numbers(text, set()) == [(5, "7")]


def test_check_rendered_accepts_numbers_from_evidence_strings_and_cited_quotes(tmp_path, repo_root):
    (tmp_path / "x.json").write_text(json.dumps({"share": 0.25, "note": "returns after 26 h"}))
    registry = load_registry(repo_root / "experiments" / "sources")
    check_rendered("25.0% and 26 h and 24 hours [checkout-expires-at-window]", tmp_path, registry,
                   ["checkout-expires-at-window"], "adr.md")
    with pytest.raises(NarrativeError, match=r"adr.md: numbers not traceable .*line 1: '99'"):
        check_rendered("25.0% and 99 parents", tmp_path, registry, [], "adr.md")
