"""`blastpay live probe` end to end against the emulator over loopback (same code path as Stripe)."""
from __future__ import annotations

import json
import re
from datetime import datetime, timezone

import pytest

from blastpay.live import cli as live_probe
from blastpay.live.probe import STEPS, TTL_24_HOURS_LESS_MARGIN, TTL_RECOVERY


def _today() -> str:
    return datetime.now(timezone.utc).date().isoformat()


def test_probe_records_every_step_to_a_dated_file(live_emulator, record_dir, test_key, capsys):
    assert live_probe.main(["probe", "--base-url", live_emulator.base_url]) == 0
    path = record_dir / f"{_today()}-probe.json"
    assert capsys.readouterr().out.strip() == f"probe recorded to {path}"
    record = json.loads(path.read_text())
    assert [s["step"] for s in record["steps"]] == list(STEPS)
    statuses = {s["step"]: s["response"]["status"] for s in record["steps"]}
    assert statuses.pop("create_checkout_session_30_days") == 400
    assert set(statuses.values()) == {200}
    assert record["target"] == "other" and record["api_base"] == live_emulator.base_url

    refusal = record["refusals"]["create_checkout_session_30_days"]
    assert (refusal["sdk_exception"], refusal["type"], refusal["param"]) == (
        "InvalidRequestError", "invalid_request_error", "expires_at")

    by_step = {s["step"]: s for s in record["steps"]}
    link = by_step["create_payment_link_per_order"]
    assert link["request"]["params"]["restrictions[completed_sessions][limit]"] == "1"
    assert link["request"]["params"]["after_completion[redirect][url"
                                      "]"].endswith("{CHECKOUT_SESSION_ID}")
    assert link["response"]["body"]["metadata"] == {
        "order_id": "order_123", "player_id": "player_42", "product_id": "tournament_fee"}
    plain = by_step["create_payment_link_per_product"]["response"]["body"]
    assert record["notes"]["per_product_link_with_reference"] == plain["url"] + "?client_reference_id=order_123"

    sessions = {s["variant"]: s for s in record["objects"]["checkout_sessions"]}
    day = sessions["ttl_24_hours"]
    assert day["expires_at"] - day["created"] == TTL_24_HOURS_LESS_MARGIN
    recovery = by_step["create_checkout_session_recovery"]
    assert recovery["request"]["params"]["after_expiration[recovery][enabled]"] == "true"
    assert recovery["response"]["body"]["after_expiration"]["recovery"]["enabled"] is True
    assert sessions["recovery_30_minutes"]["expires_at"] - sessions["recovery_30_minutes"]["created"] == TTL_RECOVERY


def test_a_second_probe_on_the_same_day_does_not_overwrite_the_first(live_emulator, record_dir, test_key, tree):
    assert live_probe.main(["probe", "--base-url", live_emulator.base_url]) == 0
    first = (record_dir / f"{_today()}-probe.json").read_text()
    assert live_probe.main(["probe", "--base-url", live_emulator.base_url]) == 0
    assert tree(record_dir) == [f"{_today()}-probe-2.json", f"{_today()}-probe.json"]
    assert (record_dir / f"{_today()}-probe.json").read_text() == first


@pytest.mark.parametrize("key, words", [
    ("sk_live_51HlivekeyABCDEFGHIJ", "test-mode only"),
    ("rk_live_51HlivekeyABCDEFGHIJ", "test-mode only"),
    ("sk_test_bad key!", "malformed"),
    (None, "not set"),
])
def test_unusable_keys_give_one_line_and_write_nothing(live_emulator, record_dir, monkeypatch, capsys, tree, key, words):
    if key is None:
        monkeypatch.delenv("STRIPE_TEST_SECRET_KEY", raising=False)
    else:
        monkeypatch.setenv("STRIPE_TEST_SECRET_KEY", key)
    assert live_probe.main(["probe", "--base-url", live_emulator.base_url]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1 and words in lines[0]
    if key:
        assert key not in captured.err
    assert tree(record_dir) == []


def test_unreachable_base_url_gives_one_line_and_writes_nothing(closed_port_url, record_dir, test_key, capsys, tree):
    assert live_probe.main(["probe", "--base-url", closed_port_url]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1
    assert err[0].startswith(f"blastpay live: error: cannot reach the Stripe API at {closed_port_url}")
    assert tree(record_dir) == []


SECRET_PATTERNS = [
    re.compile(r"(sk|rk|pk)_(test|live)_[A-Za-z0-9]+"),
    re.compile(r"whsec_[A-Za-z0-9]+"),
    re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+"),
]


def test_records_hold_no_keys_secrets_or_personal_data(live_emulator, record_dir, test_key):
    assert live_probe.main(["probe", "--base-url", live_emulator.base_url]) == 0
    path = record_dir / f"{_today()}-probe.json"
    record = json.loads(path.read_text())
    per_order = record["objects"]["payment_links"][0]
    # A parent opens the per-order link and pays with their email; the recheck lists that session.
    emulator = live_emulator.emulator
    visit = emulator.visit(per_order["url"])
    emulator.pay(visit["session"], email="jo.parent@example.org")
    live_emulator.advance_days(31)
    assert live_probe.main(["recheck"]) == 0

    text = path.read_text()
    assert test_key not in text
    for pattern in SECRET_PATTERNS:
        assert pattern.search(text) is None, pattern.pattern
    listed = json.loads(text)["rechecks"][0]["steps"]
    bodies = [s["response"]["body"] for s in listed if s["step"] == "list_sessions_of_payment_link_per_order"]
    details = bodies[0]["data"][0]["customer_details"]
    assert details["email"] == "[redacted]"
