"""verification_table: which emulator rules a recorded Stripe test-mode run confirmed, and when."""
from __future__ import annotations

import json

from blastpay.emulator.rules import RULES
from blastpay.live import cli as live_probe
from blastpay.live.cli import verification_table
from blastpay.live.probe_files import newest_probe_file


def _as_if_recorded_on_stripe(path, day):
    record = json.loads(path.read_text())
    record["target"] = "stripe"
    record["date"] = day
    for section in record["rechecks"]:
        section["date"] = day
    path.write_text(json.dumps(record))
    return record


def _by_rule(table):
    return {row["rule"]: row for row in table}


def test_without_records_every_emulator_rule_is_docs_and_emulator_only(tmp_path):
    table = verification_table(tmp_path / "nothing-here")
    assert [row["rule"] for row in table] == [rule.id for rule in RULES]
    assert {(row["status"], row["verified_live"], row["date"]) for row in table} == {
        ("cited docs + emulator", False, None)}


def test_a_run_against_another_host_verifies_nothing(live_emulator, record_dir, test_key):
    assert live_probe.main(["probe", "--base-url", live_emulator.base_url]) == 0
    assert not any(row["verified_live"] for row in verification_table(record_dir))


def test_a_stripe_probe_and_recheck_verify_their_rules_with_the_date(live_emulator, record_dir, test_key):
    assert live_probe.main(["probe", "--base-url", live_emulator.base_url]) == 0
    live_emulator.advance_days(31)
    assert live_probe.main(["recheck"]) == 0
    _as_if_recorded_on_stripe(newest_probe_file(record_dir), "2026-12-28")

    rows = _by_rule(verification_table(record_dir))
    verified = {rule for rule, row in rows.items() if row["verified_live"]}
    assert verified == {"session.expires_at.max_24h", "session.expires.on_clock", "session.url.only_open",
                        "recovery.attached_on_expiry", "link.no_expiry"}
    assert rows["session.expires_at.max_24h"]["date"] == "2026-12-28"
    assert "param=expires_at" in rows["session.expires_at.max_24h"]["detail"]
    assert "30.0 days after expiry" in rows["recovery.attached_on_expiry"]["detail"]
    assert rows["link.metadata_copied"]["status"] == "cited docs + emulator"


def test_a_contradicting_answer_is_reported_as_such(live_emulator, record_dir, test_key):
    assert live_probe.main(["probe", "--base-url", live_emulator.base_url]) == 0
    record = _as_if_recorded_on_stripe(newest_probe_file(record_dir), "2026-12-01")
    step = next(s for s in record["steps"] if s["step"] == "create_checkout_session_30_days")
    step["response"] = {"status": 200, "body": {"object": "checkout.session"}}
    newest_probe_file(record_dir).write_text(json.dumps(record))
    row = _by_rule(verification_table(record_dir, ["session.expires_at.max_24h", "link.no_expiry"]))
    assert row["session.expires_at.max_24h"]["status"] == "contradicted live"
    assert row["session.expires_at.max_24h"]["detail"] == "Stripe accepted expires_at 30 days ahead (200)"
    assert row["link.no_expiry"]["status"] == "cited docs + emulator"
