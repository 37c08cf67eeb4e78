"""The inventory as a reader sees it: JSON (with each site's change under every option) and Markdown (with the
migration checklist for one option)."""

from __future__ import annotations

import json
from typing import Any

from blastpay.scanner.inventory import (
    DOC,
    EXPIRES_AT,
    KINDS,
    SCHEMA,
    SESSION_CREATE,
    TEMPLATE,
    TEST,
    URL_FLOW,
    WEBHOOK_HANDLER,
    Inventory,
    Site,
)
from blastpay.scanner.migration import OPTIONS, migration_checklist, site_change


def inventory_to_dict(inv: Inventory) -> dict[str, Any]:
    inv.sorted()
    return {
        "schema": SCHEMA,
        "repository": inv.repository,
        "scanned_at": {
            "status": inv.scan_status,
            "commit": inv.commit,
            "content_hash": inv.content_hash,
            "files_scanned": inv.files_scanned,
        },
        "rescan_command": inv.rescan_command,
        "sites": [
            {
                "kind": s.kind,
                "file": s.file,
                "line": s.line,
                "symbol": s.symbol,
                "status": s.status,
                "detail": s.detail,
                "changes": {opt: site_change(s, opt) for opt in OPTIONS},
            }
            for s in inv.sites
        ],
        "skipped": [{"path": k.path, "reason": k.reason} for k in inv.skipped],
    }


def to_json(inv: Inventory) -> str:
    return json.dumps(inventory_to_dict(inv), indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def _md_cell(value: Any) -> str:
    text = "" if value is None else str(value)
    return text.replace("|", "\\|").replace("\n", " ")


def _detail_summary(site: Site) -> str:
    d = site.detail
    if site.kind == SESSION_CREATE:
        return " -> ".join(d.get("chain", [])) or d.get("named_as", "")
    if site.kind == EXPIRES_AT:
        return f"`{d.get('source', '')}`: {d.get('classification', '')}"
    if site.kind == URL_FLOW:
        return f"{d.get('sink', '')}: `{d.get('source', '')}`"
    if site.kind == WEBHOOK_HANDLER:
        return f"events {', '.join(d.get('events', [])) or '-'}; matches on {', '.join(d.get('matches_on', [])) or '-'}"
    if site.kind == TEST:
        return "; ".join(d.get("references", []))
    if site.kind in (TEMPLATE, DOC):
        return d.get("text", "") or d.get("named_as", "")
    return json.dumps(d, sort_keys=True)


def to_markdown(inv: Inventory, option: str | None = None) -> str:
    inv.sorted()
    out = [f"# Checkout call sites: {inv.repository}", ""]
    out.append(f"- status: {inv.scan_status}")
    out.append(f"- commit: {inv.commit or 'none (not a git work tree)'}")
    out.append(f"- content hash: {inv.content_hash or 'none'}")
    out.append(f"- files scanned: {inv.files_scanned}")
    out.append(f"- rescan: `{inv.rescan_command}`")
    out.append("")
    for kind in KINDS:
        sites = inv.of_kind(kind)
        if not sites:
            continue
        out += [f"## {kind} ({len(sites)})", "", "| file | line | symbol | status | detail |", "|---|---|---|---|---|"]
        for s in sites:
            out.append(f"| {_md_cell(s.file)} | {_md_cell(s.line)} | {_md_cell(s.symbol)} | {_md_cell(s.status)} | {_md_cell(_detail_summary(s))} |")
        out.append("")
    if option is not None:
        out += [f"## Migration checklist ({option})", "", "| # | file | symbol | line | status | change | verify |", "|---|---|---|---|---|---|---|"]
        for i, item in enumerate(migration_checklist(inv, option), 1):
            out.append(f"| {i} | {_md_cell(item['file'])} | {_md_cell(item['symbol'])} | {_md_cell(item['line'])} | "
                       f"{_md_cell(item['status'])} | {_md_cell(item['change'])} | {_md_cell(item['verify'])} |")
        out.append("")
    if inv.skipped:
        out += ["## Skipped files", "", "| path | reason |", "|---|---|"]
        out += [f"| {_md_cell(k.path)} | {_md_cell(k.reason)} |" for k in inv.skipped]
        out.append("")
    return "\n".join(out)
