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


def test_a_refusal_names_both_options_with_their_scores_and_the_margin():
    guard = Guard("payment_links", TITLES, {"payment_links": 0.9125, "lazy_mint": 0.88, "ttl_30d": 0.5})
    with pytest.raises(NarrativeError) as refused:
        guard.argues_for("lazy_mint")
    message = str(refused.value)
    assert "'Lazy-mint' (score 0.880)" in message
    assert "'Stripe Payment Links' (score 0.912)" in message or "'Stripe Payment Links' (score 0.913)" in message
    assert "margin of 0.033" in message or "margin of 0.032" in message
    assert "lazy_mint" not in message and "payment_links" not in message


@pytest.mark.parametrize("prefix", ["726ebe3d", "12345678", "00000000", "9e9e9e9e", "1234567e"])
def test_hash_prefixes_that_start_with_digits_are_not_numbers(prefix):
    text = (f"**Status: proposed: approved by Lucas on 2026-11-27 for evidence {prefix}; the evidence has changed "
            f"since (now {prefix[::-1]}).** Built with stripe 16.1.0 and id cs_test_{prefix}.")
    assert untraceable_numbers(text, set()) == []


def test_a_typed_number_beside_a_hash_is_still_caught():
    assert untraceable_numbers("evidence 726ebe3d shows 42 parents", set()) == [(1, "42")]


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


@pytest.mark.parametrize("prefix", ["726ebe3d", "20261127"])
def test_the_adr_renders_whatever_digits_the_evidence_hash_starts_with(prefix, monkeypatch, tmp_path):
    """The status line quotes 8-hex-digit prefixes of the approved and current hashes; their digits are no claim."""
    from blastpay import config
    from blastpay.adr import approval, context
    from blastpay.adr.render import render_documents

    current = prefix + "0" * 56
    record = tmp_path / "adr-approval.json"
    record.write_text(json.dumps({"approved_by": "Lucas", "approved_at": "2026-11-27T14:03:12Z",
                                  "evidence_sha256": prefix[::-1] + "1" * 56}))
    monkeypatch.setattr(context, "evidence_hash", lambda _root: current)
    monkeypatch.setattr(approval, "evidence_hash", lambda _root: current)
    monkeypatch.setattr(approval, "default_record_path", lambda: record)
    adr = render_documents(config.EVIDENCE_DIR)["docs/adr-payment-blast-pattern.md"].decode()
    assert f"for evidence {prefix[::-1]}" in adr and f"now {prefix}" in adr


def test_an_internal_id_in_the_prose_fails_the_render_naming_it_but_code_spans_links_and_front_matter_do_not(tmp_path):
    from blastpay.adr.narrative_guard import check_ids, internal_ids

    text = ("---\nstatus: proposed\nevidence_manifest: x\n---\n"
            "Lazy-mint strands 0.0% against `ttl_24h`; see [the table](../evidence/latency/model_validation.csv),\n"
            "<!-- generated from stripe_facts -->\n"
            "```\nblastpay scan --option lazy_mint\n```\n"
            "Cost: lazy_mint_db $0.00, and `expires_at` or /pay/{order_token} are fine.\n"
            "Faults: stripe_500_at_blast.\n")
    assert internal_ids(text) == [(10, "lazy_mint_db"), (11, "stripe_500_at_blast")]
    with pytest.raises(NarrativeError, match=r"internal ids in the prose outside a code span: line 10: 'lazy_mint_db'"):
        check_ids(text, "adr.md")


def test_display_names_cover_every_id_the_evidence_names_and_words_wraps_api_names():
    from blastpay.adr.render import words
    from blastpay.display_names import DisplayNameMissing, display
    from blastpay.flows.harness import VARIANTS

    assert all(display("variant", v) for v in VARIANTS)
    assert words("faults: stripe_500_at_blast; param expires_at; `already_code`") == (
        "faults: Stripe errors (500) during the blast; param `expires_at`; `already_code`")
    with pytest.raises(DisplayNameMissing, match="display_names.py"):
        display("fault", "a_new_fault")
