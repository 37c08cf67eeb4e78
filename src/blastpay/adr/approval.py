"""The ADR approval record: who approved which evidence, and whether the ADR is accepted or proposed.

The ADR asks for two approvals, each on its own: the stop-gap (stop the 30-day patch, add our own reminder) and the
decision. The approval record is a committed file, docs/adr-approval.json, with one entry per approved item:

    {"items": {"stop-gap": {"approved_by": "Lucas", "approved_at": "2026-11-27T14:03:12Z", "evidence_sha256": "<64 hex>"},
               "decision": {...}}}

(A record in the earlier single-approval form, the three keys at the top, approved the whole record: both items.)
The ADR is "accepted" while the decision's entry binds the current evidence hash (see
`evidence.manifest.evidence_hash`), and "proposed" otherwise: before any approval, and again as soon as any
evidence file changes after one, with the reason spelled out; the stop-gap's approval is stated beside it.

`blastpay adr approve --by NAME --item stop-gap|decision` refuses stale evidence (a fresh regeneration must match
what is committed), writes the record atomically and re-renders the generated documents (the command lives in
`adr.cli`; filing the follow-up issue, which needs the decision approved, in `adr.forgejo`).
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
from blastpay.evidence.manifest import MANIFEST, evidence_hash
from blastpay.evidence.writer import EvidenceError, sha256_bytes
from blastpay.sources.inputs import InputError

APPROVAL_RECORD = "docs/adr-approval.json"
STOP_GAP, DECISION = "stop-gap", "decision"
ITEMS = (STOP_GAP, DECISION)  # what the ADR asks to approve, each on its own
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


def parse_approvals(text: str, path: Path) -> dict[str, ApprovalRecord]:
    """Validate a record's text against its model (`schema.approval`): item -> its approval. Any problem is a
    one-line error naming file:line and the fix."""
    from blastpay.sources.inputs import parse_document, validate
    from blastpay.sources.schema.approval import ApprovalInput, ApprovalItems

    try:
        doc = parse_document(path, text, "approval record", ApprovalError)
        if isinstance(doc.data, dict) and "items" not in doc.data:  # the earlier form: the whole record approved
            entry = validate(doc, ApprovalInput, ApprovalError)
            entries = {item: entry for item in ITEMS}
        else:
            entries = {str(item): entry for item, entry in validate(doc, ApprovalItems, ApprovalError).items.items()}
    except ApprovalError as exc:
        message, head = str(exc), str(path)
        line, _, problem = (message[len(head):] if message.startswith(head) else ": " + message).partition(": ")
        raise ApprovalError(f"{head}{line}: malformed approval record: {problem} "
                            "(re-run `blastpay adr approve --by NAME --item ITEM`)") from None
    return {item: ApprovalRecord(approved_by=e.approved_by.strip(), approved_at=e.approved_at,
                                 evidence_sha256=e.evidence_sha256) for item, e in entries.items()}


def approvals_json(approvals: dict[str, ApprovalRecord]) -> bytes:
    data = {"items": {item: json.loads(record.to_json()) for item, record in sorted(approvals.items())}}
    return (json.dumps(data, indent=2, sort_keys=True, ensure_ascii=False) + "\n").encode()


def parse_record(text: str, path: Path) -> ApprovalRecord | None:
    """The decision's approval in a record's text (None when only the stop-gap was approved)."""
    return parse_approvals(text, path).get(DECISION)


def read_approvals(path: Path) -> dict[str, ApprovalRecord]:
    """Every committed approval, by item; empty if nobody has approved anything yet."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return {}
    except (OSError, UnicodeDecodeError) as exc:
        raise _malformed(path, f"unreadable ({exc})") from None
    return parse_approvals(text, path)


def read_record(path: Path) -> ApprovalRecord | None:
    """The committed approval of the decision, or None if nobody has approved it yet."""
    return read_approvals(path).get(DECISION)


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


def status_from(record: ApprovalRecord | None, current_hash: str, mismatched: list[str] | None = None) -> ApprovalStatus:
    """Pure: the ADR's status given the committed approval (if any), the current evidence hash and the evidence
    files that no longer match the manifest's hashes (``evidence_mismatches``)."""
    if record is None:
        return ApprovalStatus(PROPOSED, None, None, None, current_hash, AWAITING)
    approved = (
        f"approved by {record.approved_by} on {record.approved_on} "
        f"for evidence {record.evidence_sha256[:SHORT]}"
    )
    if record.evidence_sha256 == current_hash and mismatched:
        shown = ", ".join(mismatched[:3]) + (f" and {len(mismatched) - 3} more" if len(mismatched) > 3 else "")
        status = PROPOSED
        reason = (f"{approved}; but {len(mismatched)} evidence file(s) no longer match the manifest ({shown}), so "
                  "the decision is proposed until the evidence is regenerated (`blastpay evidence`) and re-approved")
    elif record.evidence_sha256 == current_hash:
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


def evidence_mismatches(evidence_dir: Path) -> list[str]:
    """Every evidence file whose bytes no longer hash to what the manifest lists, as "<path> (why)".

    The manifest's comparison rules decide what counts: a screenshot PNG's bytes are informative only, its
    sidecar (listed and checked as a file of its own) is what the evidence says."""
    path = evidence_dir / MANIFEST
    try:
        files = json.loads(path.read_text(encoding="utf-8"))["files"]
        records = sorted((str(rel), str(record["sha256"]), record.get("comparison", "exact"))
                         for rel, record in files.items())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError, KeyError, TypeError, AttributeError):
        raise EvidenceError(f"{path}: evidence manifest missing or malformed (run `make evidence`)") from None
    mismatched = []
    for rel, expected, comparison in records:
        if comparison == "screenshot":
            continue
        target = evidence_dir / rel
        if not target.is_file():
            mismatched.append(f"{rel} (missing)")
        elif sha256_bytes(target.read_bytes()) != expected:
            mismatched.append(f"{rel} (edited)")
    return mismatched


def approval_status(evidence_dir: Path, record_path: Path) -> ApprovalStatus:
    """Raises EvidenceError if the evidence manifest is missing, ApprovalError if the record is malformed.

    Accepted only while the record binds the manifest's evidence hash *and* every evidence file still hashes
    to what the manifest lists (the hash alone is computed from the manifest, which an edit does not touch)."""
    record = read_record(record_path)
    current = evidence_hash(evidence_dir)
    mismatched = evidence_mismatches(evidence_dir) if record is not None and record.evidence_sha256 == current else []
    return status_from(record, current, mismatched)


def item_status(evidence_dir: Path, record_path: Path, item: str) -> ApprovalStatus:
    """One item's approval status, judged as the decision's is (the same evidence binding)."""
    record = read_approvals(record_path).get(item)
    current = evidence_hash(evidence_dir)
    mismatched = evidence_mismatches(evidence_dir) if record is not None and record.evidence_sha256 == current else []
    return status_from(record, current, mismatched)


def approval_context(evidence_dir: Path, record_path: Path | None = None) -> dict[str, Any]:
    """What the ADR template needs: status for the front matter, the line to show, and who/when if approved; the
    stop-gap's own approval beside the decision's."""
    path = record_path or default_record_path()
    st = approval_status(evidence_dir, path)
    stop_gap = item_status(evidence_dir, path, STOP_GAP)
    return {
        "stopgap_status_line": stop_gap.status_line.replace(ACCEPTED, "approved", 1),
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
    items: tuple[str, ...] = ITEMS


def approve(
    by: str,
    *,
    items: tuple[str, ...] = ITEMS,
    evidence_dir: Path,
    record_path: Path,
    docs_root: Path | None = None,
    check: Check,
    render: Render,
    now: Callable[[], datetime] = _utc_now,
) -> ApprovalResult:
    """Record that `by` approved `items` (the stop-gap, the decision, or both) on the current evidence, then
    re-render the generated documents under docs_root. Other items' approvals are kept as they were.

    Refuses, writing nothing, for a blank name, no or an unknown item, a missing or malformed evidence manifest, or
    evidence that `check()` reports as drifted from a fresh regeneration. If rendering fails, the previous record is
    restored.
    """
    name = clean_name(by)
    unknown = [i for i in items if i not in ITEMS]
    if not items or unknown:
        raise ApprovalError(f"approve which item? {', '.join(unknown) or 'none given'} (items: {', '.join(ITEMS)})")
    try:
        current = evidence_hash(evidence_dir)
    except EvidenceError as exc:
        raise ApprovalError(f"cannot approve: {exc}") from None
    approvals = read_approvals(record_path)  # a malformed record stops here, before the slow check
    mismatched = evidence_mismatches(evidence_dir)
    if mismatched:
        raise ApprovalError(f"cannot approve: {len(mismatched)} evidence file(s) do not match the manifest "
                            f"({', '.join(mismatched[:3])}); run `blastpay evidence`, commit, then approve")
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
    approvals.update({item: record for item in items})

    previous = record_path.read_bytes() if record_path.is_file() else None
    write_atomic(record_path, approvals_json(approvals))
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
    return ApprovalResult(record=record, written=written, items=tuple(items))
