"""The call-site inventory: data model, JSON and Markdown rendering, loading."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from blastpay.sources.inputs import InputError, load_input
from blastpay.sources.schema.call_sites import SCHEMA as SCHEMA  # the format's one definition, re-exported
from blastpay.sources.schema.call_sites import CallSites

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


class InventoryError(InputError):
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


def _from_input(data: CallSites) -> Inventory:
    scanned = data.scanned_at
    return Inventory(
        repository=data.repository,
        commit=scanned.commit,
        content_hash=scanned.content_hash,
        files_scanned=scanned.files_scanned,
        sites=[Site(s.kind, s.file, s.line, s.symbol, s.status, dict(s.detail)) for s in data.sites],
        skipped=[SkippedFile(k.path, k.reason) for k in data.skipped],
        rescan_command=data.rescan_command,
        scan_status=scanned.status,
    ).sorted()


def inventory_from_dict(data: Any, source: str = "inventory") -> Inventory:
    """An inventory from its JSON form (as `to_json` writes it); InventoryError on the first problem."""
    try:
        return _from_input(CallSites.model_validate(data))
    except ValidationError as exc:
        problem = exc.errors(include_url=False)[0]
        where = ".".join(str(k) for k in problem["loc"])
        raise InventoryError(f"{source}: {where}: {problem['msg']}") from None


def load_inventory(path: str | os.PathLike[str]) -> Inventory:
    """experiments/call_sites.json (or any inventory file), checked against `schema.call_sites.CallSites`."""
    data, _doc = load_input(Path(path), CallSites, "call-site inventory", InventoryError)
    return _from_input(data)
