"""The ADR approval record: who approved which evidence, and whether the ADR is accepted or proposed.

The approval record is a committed file, docs/adr-approval.json:

    {"approved_by": "Lucas", "approved_at": "2026-11-27T14:03:12Z", "evidence_sha256": "<64 hex>"}

The ADR is "accepted" while the record's hash equals the current evidence hash (see
`evidence.manifest.evidence_hash`), and "proposed" otherwise: before any approval, and again as soon as any
evidence file changes after one, with the reason spelled out.

`blastpay adr approve --by NAME` refuses stale evidence (a fresh regeneration must match what is
committed), writes the record atomically and re-renders the generated documents so the ADR shows
accepted (the command lives in `adr.cli`; filing the follow-up issue in `adr.forgejo`).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable

from blastpay import config
from blastpay.atomic_file import write_atomically as write_atomic
from blastpay.evidence.manifest import evidence_hash
from blastpay.evidence.writer import EvidenceError
from blastpay.sources.inputs import InputError

APPROVAL_RECORD = "docs/adr-approval.json"
FOLLOWUP_ISSUE = "docs/follow-up-feature-issue.md"
PROPOSED = "proposed"
ACCEPTED = "accepted"
AWAITING = "awaiting approval by the decision-maker"
TIMESTAMP_FORMAT = "%Y-%m-%dT%H:%M:%SZ"
SHORT = 8  # hex digits of a hash quoted in status lines
FORGEJO_TIMEOUT_S = 15.0
FORGEJO_ENV = ("FORGEJO_URL", "FORGEJO_REPO", "FORGEJO_TOKEN")
_REPO = re.compile(r"[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+")

Check = Callable[[], list[str]]
Render = Callable[[Path], dict[str, bytes]]


class ApprovalError(InputError):
    """The approval gate refused an action, or an input it reads is missing or malformed."""


# ---------------------------------------------------------------- paths


def default_record_path() -> Path:
    return config.ROOT / APPROVAL_RECORD


def default_followup_path() -> Path:
    return config.ROOT / FOLLOWUP_ISSUE


# ---------------------------------------------------------------- the record


@dataclass(frozen=True)
class ApprovalRecord:
    approved_by: str
    approved_at: str  # ISO 8601 UTC, e.g. 2026-11-27T14:03:12Z
    evidence_sha256: str

    def to_json(self) -> bytes:
        data = {
            "approved_by": self.approved_by,
            "approved_at": self.approved_at,
            "evidence_sha256": self.evidence_sha256,
        }
        return (json.dumps(data, indent=2, sort_keys=True, ensure_ascii=False) + "\n").encode()

    @property
    def approved_on(self) -> str:
        return self.approved_at[:10]


def _malformed(path: Path, what: str) -> ApprovalError:
    return ApprovalError(f"{path}: malformed approval record: {what} (re-run `blastpay adr approve --by NAME`)")


def parse_record(text: str, path: Path) -> ApprovalRecord:
    """Validate a record's text (against `schema.approval.ApprovalInput`); any problem is a one-line error naming
    file:line and the fix."""
    from blastpay.sources.inputs import parse_document, validate
    from blastpay.sources.schema.approval import ApprovalInput

    try:
        record = validate(parse_document(path, text, "approval record", ApprovalError), ApprovalInput, ApprovalError)
    except ApprovalError as exc:
        message, head = str(exc), str(path)
        line, _, problem = (message[len(head):] if message.startswith(head) else ": " + message).partition(": ")
        raise ApprovalError(f"{head}{line}: malformed approval record: {problem} "
                            "(re-run `blastpay adr approve --by NAME`)") from None
    return ApprovalRecord(approved_by=record.approved_by.strip(), approved_at=record.approved_at,
                          evidence_sha256=record.evidence_sha256)


def read_record(path: Path) -> ApprovalRecord | None:
    """The committed approval, or None if nobody has approved yet."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    except (OSError, UnicodeDecodeError) as exc:
        raise _malformed(path, f"unreadable ({exc})") from None
    return parse_record(text, path)


# ---------------------------------------------------------------- status


@dataclass(frozen=True)
class ApprovalStatus:
    status: str  # "proposed" | "accepted"
    approved_by: str | None
    approved_at: str | None
    approved_hash: str | None
    current_hash: str
    reason: str

    @property
    def accepted(self) -> bool:
        return self.status == ACCEPTED

    @property
    def status_line(self) -> str:
        return f"{self.status}: {self.reason}"


def status_from(record: ApprovalRecord | None, current_hash: str) -> ApprovalStatus:
    """Pure: the ADR's status given the committed approval (if any) and the current evidence hash."""
    if record is None:
        return ApprovalStatus(PROPOSED, None, None, None, current_hash, AWAITING)
    approved = (
        f"approved by {record.approved_by} on {record.approved_on} "
        f"for evidence {record.evidence_sha256[:SHORT]}"
    )
    if record.evidence_sha256 == current_hash:
        status, reason = ACCEPTED, approved
    else:
        status = PROPOSED
        reason = (
            f"{approved}; the evidence has changed since (now {current_hash[:SHORT]}), "
            "so the decision is proposed again until it is re-approved"
        )
    return ApprovalStatus(
        status, record.approved_by, record.approved_at, record.evidence_sha256, current_hash, reason
    )


def approval_status(evidence_dir: Path, record_path: Path) -> ApprovalStatus:
    """Raises EvidenceError if the evidence manifest is missing, ApprovalError if the record is malformed."""
    return status_from(read_record(record_path), evidence_hash(evidence_dir))


def approval_context(evidence_dir: Path, record_path: Path | None = None) -> dict[str, Any]:
    """What the ADR template needs: status for the front matter, the line to show, and who/when if approved."""
    st = approval_status(evidence_dir, record_path or default_record_path())
    return {
        "status": st.status,
        "status_line": st.status_line,
        "approved_by": st.approved_by,
        "approved_at": st.approved_at,
        "approved_hash": st.approved_hash,
        "reason": st.reason,
    }


# ---------------------------------------------------------------- approve


def _utc_now() -> datetime:
    return datetime.now(timezone.utc)


def clean_name(by: str | None) -> str:
    name = (by or "").strip()
    if not name:
        raise ApprovalError("approver name is empty: pass --by NAME (the decision-maker approving the ADR)")
    if any(ch in name for ch in "\r\n\t\x00"):
        raise ApprovalError(f"approver name {name!r} contains control characters")
    return name


@dataclass(frozen=True)
class ApprovalResult:
    record: ApprovalRecord
    written: list[str]  # the record and each re-rendered document, as given paths


def approve(
    by: str,
    *,
    evidence_dir: Path,
    record_path: Path,
    docs_root: Path | None = None,
    check: Check,
    render: Render,
    now: Callable[[], datetime] = _utc_now,
) -> ApprovalResult:
    """Record that `by` approved the current evidence, then re-render the generated documents under docs_root.

    Refuses, writing nothing, for a blank name, a missing or malformed evidence manifest, or evidence that
    `check()` reports as drifted from a fresh regeneration. If rendering fails, the previous record is restored.
    """
    name = clean_name(by)
    try:
        current = evidence_hash(evidence_dir)
    except EvidenceError as exc:
        raise ApprovalError(f"cannot approve: {exc}") from None
    read_record(record_path)  # a malformed record stops here, before the slow check
    drift = check()  # the caller turns a failed regeneration into an ApprovalError
    if drift:
        shown = ", ".join(drift[:3]) + (f" and {len(drift) - 3} more" if len(drift) > 3 else "")
        raise ApprovalError(
            f"cannot approve stale evidence: {len(drift)} committed file(s) differ from a fresh regeneration "
            f"({shown}); run `blastpay evidence`, commit, then approve"
        )
    stamp = now()
    if stamp.tzinfo is None:
        raise ApprovalError("approval time must be timezone-aware")
    record = ApprovalRecord(name, stamp.astimezone(timezone.utc).strftime(TIMESTAMP_FORMAT), current)

    previous = record_path.read_bytes() if record_path.is_file() else None
    write_atomic(record_path, record.to_json())
    try:
        docs = render(evidence_dir)
    except Exception as exc:
        if previous is None:
            record_path.unlink(missing_ok=True)
        else:
            write_atomic(record_path, previous)
        raise ApprovalError(f"approval not recorded: re-rendering the documents failed: {exc}") from None
    root = docs_root if docs_root is not None else config.ROOT
    written = [str(record_path)]
    for rel, data in docs.items():
        if data is None:  # the evidence calls for no such document (e.g. no follow-up issue)
            continue
        write_atomic(root / rel, data)
        written.append(str(root / rel))
    return ApprovalResult(record=record, written=written)
