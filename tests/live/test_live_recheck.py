"""`blastpay live recheck`: the recorded objects revisited after the emulator clock moves 31 days."""
from __future__ import annotations

import json

from blastpay.live import cli as live_probe
from blastpay.live.probe_files import newest_probe_file


def _probe(live_emulator, record_dir):
    assert live_probe.main(["probe", "--base-url", live_emulator.base_url]) == 0
    return newest_probe_file(record_dir)


def test_recheck_after_31_days_finds_links_active_and_sessions_expired(live_emulator, record_dir, test_key, capsys):
    path = _probe(live_emulator, record_dir)
    probe_text = json.loads(path.read_text())
    live_emulator.advance_days(31)
    assert live_probe.main(["recheck"]) == 0
    assert "2 of 2 payment link(s) at least 30 days old" in capsys.readouterr().out

    record = json.loads(path.read_text())
    assert {k: v for k, v in record.items() if k != "rechecks"} == {
        k: v for k, v in probe_text.items() if k != "rechecks"}
    (section,) = record["rechecks"]
    assert section["server_time"] - record["server_time"] >= 31 * 86400
    links = {link["variant"]: link for link in section["payment_links"]}
    assert links["per_order"]["checked"] and links["per_product"]["checked"]
    assert links["per_order"]["active"] is True and links["per_order"]["can_start_session"] is True
    assert links["per_order"]["restrictions"] == {"completed_sessions": {"count": 0, "limit": 1}}
    assert links["per_product"]["sessions"] == []
    sessions = {s["variant"]: s for s in section["checkout_sessions"]}
    assert sessions["ttl_24_hours"]["status"] == "expired" and not sessions["ttl_24_hours"]["url_present"]
    recovery = sessions["recovery_30_minutes"]["recovery"]
    assert recovery["url_present"] and recovery["expires_at"] > sessions["recovery_30_minutes"]["expires_at"]


def test_recheck_sees_a_paid_one_time_link_deactivated(live_emulator, record_dir, test_key):
    path = _probe(live_emulator, record_dir)
    per_order = json.loads(path.read_text())["objects"]["payment_links"][0]
    emulator = live_emulator.emulator
    emulator.pay(emulator.visit(per_order["url"] + "?client_reference_id=order_123")["session"])
    live_emulator.advance_days(31)
    assert live_probe.main(["recheck", str(path)]) == 0
    link = json.loads(path.read_text())["rechecks"][0]["payment_links"][0]
    assert (link["active"], link["can_start_session"]) == (False, False)
    (session,) = link["sessions"]
    assert session["status"] == "complete" and session["payment_link"] == per_order["id"]
    assert session["metadata"]["order_id"] == "order_123"


def test_recheck_of_young_links_says_when_to_come_back(live_emulator, record_dir, test_key):
    path = _probe(live_emulator, record_dir)
    live_emulator.advance_days(2)
    assert live_probe.main(["recheck"]) == 0
    assert live_probe.main(["recheck"]) == 0
    rechecks = json.loads(path.read_text())["rechecks"]
    assert len(rechecks) == 2
    for link in rechecks[0]["payment_links"]:
        assert link["checked"] is False
        assert link["reason"].startswith("younger than 30 days; recheck on or after 2026-01-31")
    steps = [s["step"] for s in rechecks[0]["steps"]]
    assert not any(step.startswith("retrieve_payment_link") for step in steps)


def test_recheck_without_a_record_is_one_line(record_dir, test_key, capsys):
    assert live_probe.main(["recheck"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "no probe record" in err[0]


def test_recheck_against_an_unreachable_host_leaves_the_record_unchanged(
        live_emulator, record_dir, test_key, closed_port_url, capsys):
    path = _probe(live_emulator, record_dir)
    before = path.read_bytes()
    assert live_probe.main(["recheck", "--base-url", closed_port_url]) == 2
    assert "cannot reach" in capsys.readouterr().err
    assert path.read_bytes() == before
