"""experiments/call_sites.json: the call-site inventory of basketball-api's checkout (`blastpay scan --out`), from
which the migration checklist renders. Each site's `changes` are derived by the scanner, not read: `evidence.inputs`
refuses a file whose changes differ from the derivation."""

from __future__ import annotations

from typing import Annotated, Any, Literal, Optional

from pydantic import Field

from blastpay.sources.schema.common import Bounds, InputModel, Text

SCHEMA = "blastpay.call_sites/1"
SiteKind = Literal["session_create", "expires_at", "url_flow", "webhook_handler", "template", "doc", "test"]
Option = Literal["payment_links", "lazy_mint", "ttl_30d"]


class ScannedAt(InputModel):
    status: Text = Field(description="scanned, or named by the spike and not yet scanned")
    commit: Optional[str] = Field(description="the scanned repository's commit (null outside a git work tree)")
    content_hash: Optional[str] = Field(description="hash of the scanned files' contents")
    files_scanned: Annotated[int, Bounds(0, 10_000_000)]


class Change(InputModel):
    change: Text = Field(description="what changes at the site under the option")
    verify: Text = Field(description="how to check the change")


class CallSite(InputModel):
    kind: SiteKind
    file: Optional[str] = Field(description="path in the scanned repository (null when only named)")
    line: Optional[Annotated[int, Bounds(1, 10_000_000)]] = Field(description="line of the site (null when only named)")
    symbol: Optional[str] = Field(description="the function or name at the site")
    status: Text = "scanned"
    detail: dict[str, Any] = Field(default_factory=dict, description="what the scanner found at the site")
    changes: Optional[dict[Option, Change]] = Field(
        None, description="the change under each option, as the scanner derives it")


class SkippedFile(InputModel):
    path: Text
    reason: Text


class CallSites(InputModel):
    schema_: Literal["blastpay.call_sites/1"] = Field(alias="schema", description="the file format")
    repository: Text = Field(description="the scanned repository's name")
    rescan_command: Text = Field(description="the command that regenerates this file")
    scanned_at: ScannedAt
    sites: list[CallSite] = Field(max_length=100_000)
    skipped: list[SkippedFile] = Field(default_factory=list, description="files the scanner could not read")
