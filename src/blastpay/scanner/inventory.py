"""The call-site inventory: data model, JSON and Markdown rendering, loading."""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

SCHEMA = "blastpay.call_sites/1"

SESSION_CREATE = "session_create"
EXPIRES_AT = "expires_at"
URL_FLOW = "url_flow"
WEBHOOK_HANDLER = "webhook_handler"
TEMPLATE = "template"
DOC = "doc"
TEST = "test"
KINDS = (SESSION_CREATE, EXPIRES_AT, URL_FLOW, WEBHOOK_HANDLER, TEMPLATE, DOC, TEST)

STATUS_SCANNED = "scanned"
STATUS_NAMED = "named by the spike, not yet scanned"

DEFAULT_RESCAN_COMMAND = "blastpay scan /path/to/basketball-api --out experiments/call_sites.json"


class InventoryError(ValueError):
    """An inventory file that cannot be read; the message is one line."""


@dataclass
class Site:
    kind: str
    file: str | None
    line: int | None
    symbol: str | None
    status: str = STATUS_SCANNED
    detail: dict[str, Any] = field(default_factory=dict)

    def key(self) -> tuple[str, str | None, int | None, str | None]:
        return (self.kind, self.file, self.line, self.symbol)

    def sort_key(self) -> tuple:
        kind_rank = KINDS.index(self.kind) if self.kind in KINDS else len(KINDS)
        return (kind_rank, self.kind, self.file or "", self.line or 0, self.symbol or "")


@dataclass(frozen=True)
class SkippedFile:
    path: str
    reason: str


@dataclass
class Inventory:
    repository: str
    commit: str | None
    content_hash: str | None
    files_scanned: int
    sites: list[Site]
    skipped: list[SkippedFile] = field(default_factory=list)
    rescan_command: str = DEFAULT_RESCAN_COMMAND
    scan_status: str = STATUS_SCANNED

    def sorted(self) -> "Inventory":
        self.sites.sort(key=Site.sort_key)
        self.skipped.sort(key=lambda s: (s.path, s.reason))
        return self

    def of_kind(self, kind: str) -> list[Site]:
        return [s for s in self.sites if s.kind == kind]


def inventory_to_dict(inv: Inventory) -> dict[str, Any]:
    from blastpay.scanner.migration import OPTIONS, site_change

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


def inventory_from_dict(data: Any, source: str = "inventory") -> Inventory:
    if not isinstance(data, dict):
        raise InventoryError(f"{source}: top level is not a JSON object")
    if data.get("schema") != SCHEMA:
        raise InventoryError(f"{source}: schema is {data.get('schema')!r}, expected {SCHEMA!r}")
    scanned = data.get("scanned_at") or {}
    sites = []
    for i, raw in enumerate(data.get("sites") or []):
        if not isinstance(raw, dict) or "kind" not in raw:
            raise InventoryError(f"{source}: sites[{i}] has no 'kind'")
        line = raw.get("line")
        if line is not None and not isinstance(line, int):
            raise InventoryError(f"{source}: sites[{i}].line is {line!r}, expected an integer or null")
        sites.append(Site(raw["kind"], raw.get("file"), line, raw.get("symbol"),
                          raw.get("status", STATUS_SCANNED), dict(raw.get("detail") or {})))
    skipped = [SkippedFile(k["path"], k["reason"]) for k in data.get("skipped") or []]
    return Inventory(
        repository=data.get("repository", ""),
        commit=scanned.get("commit"),
        content_hash=scanned.get("content_hash"),
        files_scanned=int(scanned.get("files_scanned") or 0),
        sites=sites,
        skipped=skipped,
        rescan_command=data.get("rescan_command", DEFAULT_RESCAN_COMMAND),
        scan_status=scanned.get("status", STATUS_SCANNED),
    ).sorted()


def load_inventory(path: str | os.PathLike[str]) -> Inventory:
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except OSError as exc:
        raise InventoryError(f"{p}: cannot read inventory ({exc.strerror})") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InventoryError(f"{p}: not valid JSON (line {exc.lineno}: {exc.msg})") from None
    return inventory_from_dict(data, str(p))


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
        from blastpay.scanner.migration import migration_checklist

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


def write_atomically(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` via a temporary file and rename: never half-written."""
    path = Path(path)
    parent = path.parent if str(path.parent) else Path(".")
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
