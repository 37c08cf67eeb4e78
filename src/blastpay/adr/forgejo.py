"""Filing the follow-up feature issue on Forgejo through its REST API, only while the ADR is accepted."""

from __future__ import annotations

import json
import re
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Mapping

from blastpay.adr.approval import ApprovalError, approval_status
from blastpay.redaction import redact_url

FORGEJO_TIMEOUT_S = 15.0
FORGEJO_ENV = ("FORGEJO_URL", "FORGEJO_REPO", "FORGEJO_TOKEN")

_REPO = re.compile(r"[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+")

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
        raise ApprovalError("FORGEJO_URL must be an http(s) base URL like https://forgejo.example.org, got "
                            f"{redact_url(url)!r}")
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
    lines = [f"POST {redact_url(target.issues_endpoint)}"]
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
    where = redact_url(target.issues_endpoint)
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
