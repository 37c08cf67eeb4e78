"""The ADR approval gate: who approved which evidence, and filing the follow-up issue once approved.

The approval record is a committed file, docs/adr-approval.json:

    {"approved_by": "Lucas", "approved_at": "2026-11-27T14:03:12Z", "evidence_sha256": "<64 hex>"}

The ADR is "accepted" while the record's hash equals the current evidence hash (see
`pipeline.evidence_hash`), and "proposed" otherwise: before any approval, and again as soon as any
evidence file changes after one, with the reason spelled out.

`blastpay adr approve --by NAME` refuses stale evidence (a fresh regeneration must match what is
committed), writes the record atomically and re-renders the generated documents so the ADR shows
accepted. `blastpay adr file-followup` posts docs/follow-up-feature-issue.md to a Forgejo repository
through its REST API, and only while the ADR is accepted.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
import tempfile
import urllib.error
import urllib.request
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable, Mapping, Sequence

from . import config

APPROVAL_RECORD = "docs/adr-approval.json"
FOLLOWUP_ISSUE = "docs/follow-up-feature-issue.md"
PROPOSED = "proposed"
ACCEPTED = "accepted"
AWAITING = "awaiting approval by the decision-maker"
TIMESTAMP_FORMAT = "%Y-%m-%dT%H:%M:%SZ"
SHORT = 8  # hex digits of a hash quoted in status lines
FORGEJO_TIMEOUT_S = 15.0
FORGEJO_ENV = ("FORGEJO_URL", "FORGEJO_REPO", "FORGEJO_TOKEN")
_HEX64 = re.compile(r"[0-9a-f]{64}")
_REPO = re.compile(r"[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+")

Check = Callable[[], list[str]]
Render = Callable[[Path], dict[str, bytes]]


class ApprovalError(ValueError):
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
    """Validate a record's text; any problem is a one-line error naming the file."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise _malformed(path, f"not JSON ({exc.msg} at line {exc.lineno})") from None
    if not isinstance(data, dict):
        raise _malformed(path, "expected a JSON object")
    missing = [k for k in ("approved_by", "approved_at", "evidence_sha256") if k not in data]
    if missing:
        raise _malformed(path, f"missing {', '.join(missing)}")
    by, at, sha = data["approved_by"], data["approved_at"], data["evidence_sha256"]
    if not isinstance(by, str) or not by.strip():
        raise _malformed(path, "approved_by must be a non-empty name")
    if not isinstance(at, str):
        raise _malformed(path, f"approved_at must be an ISO UTC timestamp, got {at!r}")
    try:
        datetime.strptime(at, TIMESTAMP_FORMAT)
    except ValueError:
        raise _malformed(path, f"approved_at must be an ISO UTC timestamp like 2026-11-27T14:03:12Z, got {at!r}") from None
    if not isinstance(sha, str) or not _HEX64.fullmatch(sha):
        raise _malformed(path, f"evidence_sha256 must be 64 lowercase hex digits, got {sha!r}")
    return ApprovalRecord(approved_by=by.strip(), approved_at=at, evidence_sha256=sha)


def read_record(path: Path) -> ApprovalRecord | None:
    """The committed approval, or None if nobody has approved yet."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    except (OSError, UnicodeDecodeError) as exc:
        raise _malformed(path, f"unreadable ({exc})") from None
    return parse_record(text, path)


def write_atomic(path: Path, data: bytes) -> None:
    """Write through a temporary file in the same directory and os.replace it: readers see old or new, never half."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


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
    from .pipeline import evidence_hash

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


def _default_check() -> list[str]:
    from .pipeline import run_check

    print("checking the committed evidence against a fresh regeneration ...", file=sys.stderr)
    return run_check(progress=lambda msg: print(msg, file=sys.stderr))


def _default_render(evidence_dir: Path) -> dict[str, bytes | None]:
    from .render import render_documents

    return render_documents(evidence_dir)


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
    check: Check = _default_check,
    render: Render = _default_render,
    now: Callable[[], datetime] = _utc_now,
) -> ApprovalResult:
    """Record that `by` approved the current evidence, then re-render the generated documents under docs_root.

    Refuses, writing nothing, for a blank name, a missing or malformed evidence manifest, or evidence that
    `check()` reports as drifted from a fresh regeneration. If rendering fails, the previous record is restored.
    """
    from .evidence import EvidenceError
    from .pipeline import PipelineError, evidence_hash

    name = clean_name(by)
    try:
        current = evidence_hash(evidence_dir)
    except EvidenceError as exc:
        raise ApprovalError(f"cannot approve: {exc}") from None
    read_record(record_path)  # a malformed record stops here, before the slow check
    try:
        drift = check()
    except PipelineError as exc:
        raise ApprovalError(f"cannot approve: the freshness check failed: {exc}") from None
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


# ---------------------------------------------------------------- follow-up issue on Forgejo


@dataclass(frozen=True)
class FollowupIssue:
    title: str
    body: str


@dataclass(frozen=True)
class ForgejoTarget:
    url: str  # base URL without trailing slash
    repo: str  # owner/name
    token: str

    @property
    def issues_endpoint(self) -> str:
        return f"{self.url}/api/v1/repos/{self.repo}/issues"


@dataclass(frozen=True)
class FiledIssue:
    number: int
    html_url: str


def load_followup(path: Path) -> FollowupIssue:
    """First line `# Title` is the issue title; the rest is its body."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ApprovalError(
            f"{path}: no follow-up issue to file; it is rendered only when the ADR recommends option 1 or 2 "
            "(if it recommends option 3, keeping the TTL patch, there is no follow-up issue), "
            "otherwise run `blastpay evidence`"
        ) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ApprovalError(f"{path}: unreadable follow-up issue ({exc})") from None
    first, _, rest = text.partition("\n")
    if not first.startswith("# ") or not first[2:].strip():
        raise ApprovalError(f"{path}:1: the first line must be the issue title as `# Title`, got {first[:60]!r}")
    body = rest.strip("\n")
    if not body.strip():
        raise ApprovalError(f"{path}: the follow-up issue has a title but no body")
    return FollowupIssue(title=first[2:].strip(), body=body + "\n")


def forgejo_target(env: Mapping[str, str]) -> ForgejoTarget:
    missing = [name for name in FORGEJO_ENV if not env.get(name, "").strip()]
    if missing:
        raise ApprovalError(
            f"missing environment variable(s) {', '.join(missing)}: set FORGEJO_URL (e.g. https://forgejo.example.org), "
            "FORGEJO_REPO (owner/name) and FORGEJO_TOKEN (an access token with issue write scope)"
        )
    url = env["FORGEJO_URL"].strip().rstrip("/")
    if not re.fullmatch(r"https?://[^\s/?#]+(/[^\s?#]*)?", url):
        raise ApprovalError(f"FORGEJO_URL must be an http(s) base URL like https://forgejo.example.org, got {url!r}")
    repo = env["FORGEJO_REPO"].strip()
    if not _REPO.fullmatch(repo) or repo.split("/")[0] in (".", "..") or repo.split("/")[1] in (".", ".."):
        raise ApprovalError(f"FORGEJO_REPO must be owner/name, got {repo!r}")
    token = env["FORGEJO_TOKEN"].strip()
    if any(ch.isspace() or not ch.isprintable() for ch in token):
        raise ApprovalError("FORGEJO_TOKEN contains whitespace or control characters")
    return ForgejoTarget(url=url, repo=repo, token=token)


def request_headers(target: ForgejoTarget, *, redact: bool = False) -> dict[str, str]:
    return {
        "Authorization": f"token {'***' if redact else target.token}",
        "Content-Type": "application/json",
        "Accept": "application/json",
    }


def request_body(issue: FollowupIssue) -> bytes:
    return json.dumps({"title": issue.title, "body": issue.body}, ensure_ascii=False).encode()


def describe_request(target: ForgejoTarget, issue: FollowupIssue) -> str:
    """What `--dry-run` prints: the request as it would go out, token redacted."""
    lines = [f"POST {target.issues_endpoint}"]
    lines += [f"{k}: {v}" for k, v in request_headers(target, redact=True).items()]
    lines += ["", json.dumps({"title": issue.title, "body": issue.body}, indent=2, ensure_ascii=False)]
    return "\n".join(lines)


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    """A redirect would turn the POST into a GET and could carry the token to another host: report it instead."""

    def redirect_request(self, req, fp, code, msg, headers, newurl):  # noqa: D401 - urllib hook
        return None


def _one_line(text: str, token: str, limit: int = 200) -> str:
    flat = " ".join(text.split())
    if token:
        flat = flat.replace(token, "***")
    return flat[:limit] + ("..." if len(flat) > limit else "")


def post_issue(target: ForgejoTarget, issue: FollowupIssue, *, timeout: float = FORGEJO_TIMEOUT_S) -> FiledIssue:
    """POST the issue; any failure is one ApprovalError line saying what Forgejo answered (never the token)."""
    request = urllib.request.Request(
        target.issues_endpoint, data=request_body(issue), headers=request_headers(target), method="POST"
    )
    opener = urllib.request.build_opener(_NoRedirect)
    where = target.issues_endpoint
    try:
        with opener.open(request, timeout=timeout) as response:
            status, raw = response.status, response.read()
    except urllib.error.HTTPError as exc:
        detail = exc.read().decode("utf-8", "replace") if exc.fp else ""
        try:
            detail = json.loads(detail).get("message") or detail
        except (json.JSONDecodeError, AttributeError):
            pass
        extra = f" to {exc.headers.get('Location')}" if 300 <= exc.code < 400 and exc.headers.get("Location") else ""
        said = f": {_one_line(str(detail), target.token)}" if str(detail).strip() else ""
        raise ApprovalError(
            f"nothing filed: Forgejo answered {exc.code} {exc.reason}{extra} for POST {where}{said}"
        ) from None
    except (urllib.error.URLError, TimeoutError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        raise ApprovalError(f"nothing filed: could not reach Forgejo at {where}: {_one_line(str(reason), target.token)}") from None
    if not 200 <= status < 300:
        raise ApprovalError(f"nothing filed: Forgejo answered {status} for POST {where}")
    try:
        data = json.loads(raw)
        return FiledIssue(number=int(data["number"]), html_url=str(data["html_url"]))
    except (json.JSONDecodeError, KeyError, TypeError, ValueError):
        raise ApprovalError(
            f"Forgejo answered {status} for POST {where} but not with an issue (no number/html_url): "
            f"{_one_line(raw.decode('utf-8', 'replace'), target.token)}; check the repository before retrying"
        ) from None


def file_followup(
    *,
    evidence_dir: Path,
    record_path: Path,
    followup_path: Path,
    env: Mapping[str, str],
    dry_run: bool = False,
    timeout: float = FORGEJO_TIMEOUT_S,
) -> FiledIssue | str:
    """Post the follow-up issue, or with dry_run return the request description; refuses unless accepted."""
    st = approval_status(evidence_dir, record_path)
    if not st.accepted:
        raise ApprovalError(f"nothing filed: the ADR is {st.status} ({st.reason}); approve it first with `blastpay adr approve --by NAME`")
    issue = load_followup(followup_path)
    target = forgejo_target(env)
    if dry_run:
        return describe_request(target, issue)
    return post_issue(target, issue, timeout=timeout)


# ---------------------------------------------------------------- command line


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="blastpay adr",
        description="The ADR's approval gate: approve the current evidence, show the status, file the follow-up issue.",
    )
    sub = parser.add_subparsers(dest="action", metavar="ACTION")
    sub.required = True
    ap = sub.add_parser("approve", help="record who approved the current evidence and re-render the ADR as accepted")
    ap.add_argument("--by", required=True, metavar="NAME", help="the decision-maker approving")
    ap.add_argument("--evidence-dir", type=Path, default=None, metavar="DIR", help="evidence tree (default: evidence/)")
    st = sub.add_parser("status", help="print whether the ADR is proposed or accepted, and why")
    st.add_argument("--evidence-dir", type=Path, default=None, metavar="DIR", help="evidence tree (default: evidence/)")
    ff = sub.add_parser(
        "file-followup",
        help="post docs/follow-up-feature-issue.md to Forgejo (env FORGEJO_URL, FORGEJO_REPO, FORGEJO_TOKEN)",
    )
    ff.add_argument("--dry-run", action="store_true", help="print the request that would be sent, token redacted")
    ff.add_argument("--evidence-dir", type=Path, default=None, metavar="DIR", help="evidence tree (default: evidence/)")
    return parser


def _rel(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(config.ROOT))
    except ValueError:
        return str(path)


def _run(args: argparse.Namespace) -> int:
    evidence_dir = args.evidence_dir or config.EVIDENCE_DIR
    record_path = default_record_path()
    if args.action == "status":
        print(approval_status(evidence_dir, record_path).status_line)
        return 0
    if args.action == "approve":
        if evidence_dir.resolve() != config.EVIDENCE_DIR.resolve():
            raise ApprovalError(
                f"--evidence-dir {evidence_dir}: approval covers this repository's evidence tree "
                f"({config.EVIDENCE_DIR}) only, which the freshness check regenerates and the ADR is rendered from; "
                "set BLASTPAY_ROOT to the checkout that holds the other tree"
            )
        result = approve(args.by, evidence_dir=evidence_dir, record_path=record_path)
        rec = result.record
        docs = ", ".join(_rel(Path(p)) for p in result.written[1:])
        print(
            f"{rec.approved_by} approved evidence {rec.evidence_sha256} at {rec.approved_at}; "
            f"recorded in {_rel(record_path)}, re-rendered {docs or 'no documents'}"
        )
        return 0
    outcome = file_followup(
        evidence_dir=evidence_dir,
        record_path=record_path,
        followup_path=default_followup_path(),
        env=os.environ,
        dry_run=args.dry_run,
    )
    if isinstance(outcome, str):
        print(outcome)
    else:
        print(f"filed issue #{outcome.number}: {outcome.html_url}")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """`blastpay adr approve|status|file-followup`; a refusal is one line on stderr and exit 2."""
    from .evidence import EvidenceError

    args = build_parser().parse_args(list(sys.argv[1:] if argv is None else argv))
    try:
        return _run(args)
    except (ApprovalError, EvidenceError, config.ConfigError) as exc:
        print(f"blastpay adr: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
