"""`blastpay live compare`: a recorded run against a replay on the emulator."""
from __future__ import annotations

import copy
import json

from blastpay.live import cli as live_probe
from blastpay.live.compare import differences
from blastpay.live.probe_files import newest_probe_file


def _recorded(live_emulator, record_dir):
    assert live_probe.main(["probe", "--base-url", live_emulator.base_url]) == 0
    return newest_probe_file(record_dir)




def test_a_record_made_on_the_emulator_matches_a_fresh_in_process_emulator(live_emulator, record_dir, test_key, capsys):
    _recorded(live_emulator, record_dir)
    capsys.readouterr()
    assert live_probe.main(["compare"]) == 0
    assert capsys.readouterr().out.strip() == "no differences"


def test_compare_against_a_running_emulator_url(live_emulator, record_dir, test_key, capsys):
    path = _recorded(live_emulator, record_dir)
    assert live_probe.main(["compare", str(path), "--base-url", live_emulator.base_url]) == 0


def test_decision_relevant_differences_are_listed(live_emulator, record_dir, test_key, capsys):
    path = _recorded(live_emulator, record_dir)
    record = json.loads(path.read_text())
    steps = {s["step"]: s for s in record["steps"]}
    # What a live answer could differ in: the error's code, a field the emulator lacks,
    # an echoed restriction, and a session created without a url.
    steps["create_checkout_session_30_days"]["response"]["body"]["error"]["code"] = "parameter_invalid_integer"
    steps["create_checkout_session_30_days"]["response"]["body"]["error"]["doc_url"] = "https://docs.stripe.com/x"
    steps["create_payment_link_per_order"]["response"]["body"]["restrictions"]["completed_sessions"]["limit"] = 2
    steps["create_checkout_session_24_hours"]["response"]["body"]["url"] = None
    steps["create_checkout_session_24_hours"]["response"]["body"]["id"] = "cs_test_other"
    steps["create_checkout_session_24_hours"]["response"]["body"]["created"] += 7
    path.write_text(json.dumps(record))
    capsys.readouterr()

    assert live_probe.main(["compare"]) == 1
    out = capsys.readouterr().out.splitlines()
    assert out[0] == "4 difference(s) between the recorded responses and the emulator's:"
    assert sorted(line.strip() for line in out[1:]) == sorted([
        "create_checkout_session_30_days: error.code: only in the recorded response ('parameter_invalid_integer')",
        "create_checkout_session_30_days: error.doc_url: only in the recorded response",
        "create_payment_link_per_order: restrictions.completed_sessions.limit: recorded 2 / emulator 1",
        "create_checkout_session_24_hours: url: recorded null / emulator present",
    ])


def _step(name, status, body):
    return {"step": name, "request": {"method": "POST", "path": "/v1/payment_links", "params": {}},
            "response": {"status": status, "body": body}}


def test_metadata_echo_status_and_missing_steps_are_differences_ids_and_times_are_not():
    link = {"id": "plink_1", "object": "payment_link", "active": True, "metadata": {"order_id": "order_123"},
            "url": "https://buy.stripe.com/test_1", "created": 1}
    recorded = {"steps": [_step("link", 200, link), _step("only_recorded", 200, {})]}
    replayed_link = dict(link, id="plink_2", created=99, url="http://127.0.0.1:1/b/x", metadata={})
    replayed = {"steps": [_step("link", 200, replayed_link), _step("only_replayed", 200, {})]}
    assert differences(recorded, replayed) == [
        "link: metadata.order_id: only in the recorded response",
        "only_recorded: made in the recorded run, not by the emulator replay",
        "only_replayed: made by the emulator replay (1 time(s)), not in the recorded run",
    ]
    inactive = copy.deepcopy(replayed_link)
    inactive.update(active=False, metadata={"order_id": "order_123"})
    assert differences({"steps": [_step("link", 200, link)]}, {"steps": [_step("link", 400, inactive)]}) == [
        "link: HTTP status: recorded 200 / emulator 400",
        "link: active: recorded True / emulator False",
    ]
