"""The call-site inventory: data model, JSON and Markdown rendering, loading."""

from __future__ import annotations

import json
import os
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
