"""Inventory files, the scan command and the migration checklist."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from blastpay.scanner import (
    OPTIONS,
    InventoryError,
    load_inventory,
    main,
    migration_checklist,
    scan,
    to_json,
)
from blastpay.scanner.inventory import STATUS_NAMED
from blastpay.scanner.spike_sites import spike_named_inventory

COMMITTED = Path(__file__).resolve().parents[2] / "experiments" / "call_sites.json"


def test_scan_command_writes_json_that_loads_back(fixture_root, tmp_path, capsys):
    out = tmp_path / "call_sites.json"
    assert main(["scan", str(fixture_root), "--out", str(out)]) == 0
    loaded = load_inventory(out)
    assert {s.key() for s in loaded.sites} == {s.key() for s in scan(fixture_root).sites}
    assert loaded.rescan_command == f"blastpay scan {fixture_root} --out {out}"
    assert json.loads(out.read_text())["schema"] == "blastpay.call_sites/1"
    assert to_json(loaded) == out.read_text()


def test_scan_command_prints_markdown_with_checklist(fixture_root, capsys):
    assert main([str(fixture_root), "--format", "md", "--option", "lazy_mint"]) == 0
    text = capsys.readouterr().out
    assert "| src/basketball_api/blast.py | 9 | send_tournament_blast |" in text
    assert "## Migration checklist (lazy_mint)" in text


def test_scan_command_rejects_missing_path(tmp_path, capsys):
    out = tmp_path / "out.json"
    assert main([str(tmp_path / "missing"), "--out", str(out)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "no such directory" in err
    assert not out.exists()


def test_load_inventory_errors_are_one_line(tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text("{not json", encoding="utf-8")
    with pytest.raises(InventoryError, match=f"^{bad}:1: malformed JSON"):
        load_inventory(bad)
    bad.write_text(json.dumps({"schema": "other/1"}), encoding="utf-8")
    with pytest.raises(InventoryError, match=f"^{bad}:1: schema: must be one of 'blastpay.call_sites/1', got 'other/1'"):
        load_inventory(bad)


def test_committed_inventory_lists_only_what_the_spike_names():
    inv = load_inventory(COMMITTED)
    assert COMMITTED.read_text() == to_json(spike_named_inventory())
    assert inv.rescan_command == "blastpay scan /path/to/basketball-api --out experiments/call_sites.json"
    assert inv.commit is None and inv.content_hash is None
    assert all(s.status == STATUS_NAMED and s.line is None for s in inv.sites)
    files = {s.file for s in inv.sites}
    assert {"src/basketball_api/services/tournament_checkout.py", "src/basketball_api/routes/webhooks.py",
            "docs/tournament-billing-runbook.md"} <= files
    (hook,) = inv.of_kind("webhook_handler")
    assert hook.symbol == "_handle_generic_order_completed"
    assert inv.of_kind("template") and len(inv.of_kind("session_create")) == 2


@pytest.mark.parametrize("option", OPTIONS)
def test_checklist_default_order(fixture_root, option):
    items = migration_checklist(scan(fixture_root), option)
    kinds = [i["kind"] for i in items]
    assert kinds[0] == "new_route"
    assert kinds.index("webhook_handler") < kinds.index("session_create") < kinds.index("template")
    assert kinds.index("template") < kinds.index("doc") < kinds.index("test")
    assert kinds[-1] == "test"
    creates = [i for i in items if i["kind"] == "session_create"]
    assert creates[0]["symbol"] in ("create_checkout", "MonthlyFeeBilling.open_fee_session")  # helpers before callers
    for item in items:
        assert set(item) == {"kind", "file", "symbol", "line", "status", "change", "verify"}
        assert item["change"] and item["verify"]


def test_checklist_differs_per_option(fixture_root):
    inv = scan(fixture_root)
    changes = {opt: [i["change"] for i in migration_checklist(inv, opt)] for opt in OPTIONS}
    assert len({tuple(c) for c in changes.values()}) == 3
    lazy = migration_checklist(inv, "lazy_mint")
    assert lazy[0]["file"] == "src/basketball_api/routes/pay.py"
    expiry = next(i for i in migration_checklist(inv, "ttl_30d") if i["symbol"] == "create_checkout" and i["kind"] == "expires_at")
    assert "Stripe rejects this value" in expiry["change"]


def test_checklist_custom_order_and_bad_arguments(fixture_root):
    inv = scan(fixture_root)
    items = migration_checklist(inv, "payment_links", order=["test", "doc"])
    kinds = [i["kind"] for i in items]
    assert kinds[0] == "test" and kinds[kinds.index("doc") - 1] == "test"
    assert kinds[kinds.index("doc") + 2:].count("test") == 0
    with pytest.raises(ValueError, match="unknown option 'links'"):
        migration_checklist(inv, "links")
    with pytest.raises(ValueError, match="unknown site kind 'emails'"):
        migration_checklist(inv, "lazy_mint", order=["emails"])


def test_checklist_for_unscanned_inventory_asks_for_a_rescan():
    items = migration_checklist(load_inventory(COMMITTED), "lazy_mint")
    named = [i for i in items if i["status"] == STATUS_NAMED]
    assert named and all(i["line"] is None for i in named)
    assert all("Rescan the repository" in i["verify"] for i in named)
