"""The ADR approval gate: approve/status round trip, refusals, and filing the follow-up issue on Forgejo."""

from __future__ import annotations

import hashlib
import json
import re
import socket
import threading
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from freezegun import freeze_time

from blastpay import config
from blastpay.adr import cli as approval
from blastpay.adr.approval import ApprovalError, approval_context, approval_status, approve
from blastpay.adr.forgejo import file_followup
from blastpay.evidence.writer import EvidenceError

ADR_REL = "docs/adr-payment-blast-pattern.md"
TOKEN = "s3cret-token-value"
FOLLOWUP_TEXT = "# Switch blast emails to lazy-mint /pay links\n\n## Scope\n\n- [ ] mint on click\n"


def sha(n: int) -> str:
    return f"{n:064x}"


def write_manifest(evidence_dir: Path, files: dict[str, str]) -> None:
    """Evidence files holding the given text, and a manifest listing their real hashes."""
    evidence_dir.mkdir(parents=True, exist_ok=True)
    for rel, text in files.items():
        (evidence_dir / rel).parent.mkdir(parents=True, exist_ok=True)
        (evidence_dir / rel).write_text(text)
    manifest = {"files": {rel: {"sha256": hashlib.sha256(text.encode()).hexdigest(),
                                "producer": "notebooks/01-x.ipynb"} for rel, text in files.items()}}
    (evidence_dir / "manifest.json").write_text(json.dumps(manifest))


@pytest.fixture
def repo(tmp_path):
    """A throwaway repository layout: evidence/ with a hand-built manifest and an empty docs/."""
    evidence = tmp_path / "evidence"
    write_manifest(evidence, {"cost/summary.json": sha(1), "ux/funnel.csv": sha(2)})
    (tmp_path / "docs").mkdir()

    class Repo:
        root = tmp_path
        evidence_dir = evidence
        record = tmp_path / "docs" / "adr-approval.json"
        followup = tmp_path / "docs" / "follow-up-feature-issue.md"
        adr = tmp_path / ADR_REL
        checks: list[int] = []

        def check(self) -> list[str]:
            self.checks.append(1)
            return []

        def render(self, evidence_dir: Path) -> dict[str, bytes]:
            # Stands in for render_documents: the ADR front matter shows the status the gate computes.
            ctx = approval_context(evidence_dir, self.record)
            return {ADR_REL: f"status: {ctx['status']}\n{ctx['status_line']}\n".encode()}

        def approve(self, by: str, **kw):
            kw.setdefault("check", self.check)
            kw.setdefault("render", self.render)
            kw.setdefault("now", lambda: datetime(2026, 11, 27, 14, 3, 12, tzinfo=timezone.utc))
            return approve(by, evidence_dir=self.evidence_dir, record_path=self.record, docs_root=self.root, **kw)

    r = Repo()
    r.checks = []
    return r


# ---------------------------------------------------------------- round trip


def _approved_then_edited(repo, edit):
    repo.approve("Lucas")
    assert approval_status(repo.evidence_dir, repo.record).accepted
    edit(repo.evidence_dir)


@pytest.mark.parametrize("edit, shown", [
    (lambda ev: (ev / "ux" / "funnel.csv").write_text("forged,1\n"), "ux/funnel.csv (edited)"),
    (lambda ev: (ev / "cost" / "summary.json").unlink(), "cost/summary.json (missing)"),
])
def test_an_evidence_file_edited_after_approval_makes_the_adr_proposed(repo, edit, shown):
    """The manifest still lists the approved hashes, but the file no longer has them: not accepted."""
    _approved_then_edited(repo, edit)
    st = approval_status(repo.evidence_dir, repo.record)
    assert st.status == "proposed"
    assert shown in st.reason and "no longer match the manifest" in st.reason


def test_an_edited_evidence_file_refuses_filing_the_followup(repo, forgejo):
    repo.followup.write_text(FOLLOWUP_TEXT)
    _approved_then_edited(repo, lambda ev: (ev / "ux" / "funnel.csv").write_text("forged,1\n"))
    with pytest.raises(ApprovalError, match="nothing filed: the ADR is proposed .*no longer match the manifest"):
        file(repo, forgejo_env(forgejo.url))
    assert forgejo.requests == []


def test_an_edited_evidence_file_refuses_approval(repo):
    (repo.evidence_dir / "ux" / "funnel.csv").write_text("forged,1\n")
    with pytest.raises(ApprovalError, match="do not match the manifest"):
        repo.approve("Lucas")
    assert not repo.record.exists() and repo.checks == []


def test_a_screenshot_counts_by_its_sidecar_not_its_pixels(repo):
    write_manifest(repo.evidence_dir, {"ux/a.png": "pixels", "ux/a.page.json": "{}"})
    manifest = json.loads((repo.evidence_dir / "manifest.json").read_text())
    manifest["files"]["ux/a.png"]["comparison"] = "screenshot"
    (repo.evidence_dir / "manifest.json").write_text(json.dumps(manifest))
    repo.approve("Lucas")
    (repo.evidence_dir / "ux" / "a.png").write_text("other pixels")  # within the screenshot rule: still accepted
    assert approval_status(repo.evidence_dir, repo.record).accepted
    (repo.evidence_dir / "ux" / "a.page.json").write_text('{"text": "forged"}')
    assert not approval_status(repo.evidence_dir, repo.record).accepted


def test_unapproved_adr_is_proposed_awaiting_the_decision_maker(repo):
    st = approval_status(repo.evidence_dir, repo.record)
    assert st.status == "proposed"
    assert st.reason == "awaiting approval by the decision-maker"
    assert st.approved_by is None


def test_approve_then_evidence_change_then_reapprove(repo):
    from blastpay.evidence.manifest import evidence_hash

    first_hash = evidence_hash(repo.evidence_dir)
    result = repo.approve("Lucas")

    record = json.loads(repo.record.read_text())
    entry = {"approved_by": "Lucas", "approved_at": "2026-11-27T14:03:12Z", "evidence_sha256": first_hash}
    assert record == {"items": {"decision": entry, "stop-gap": entry}}
    assert result.record.evidence_sha256 == first_hash
    st = approval_status(repo.evidence_dir, repo.record)
    assert st.status == "accepted"
    assert st.reason == f"approved by Lucas on 2026-11-27 for evidence {first_hash[:8]}"
    assert repo.adr.read_text().startswith("status: accepted\n")  # the ADR was re-rendered in place

    # One evidence file's hash changes: the approval no longer covers what the ADR shows.
    write_manifest(repo.evidence_dir, {"cost/summary.json": sha(1), "ux/funnel.csv": sha(3)})
    new_hash = evidence_hash(repo.evidence_dir)
    assert new_hash != first_hash
    st = approval_status(repo.evidence_dir, repo.record)
    assert st.status == "proposed"
    assert first_hash[:8] in st.reason and new_hash[:8] in st.reason
    assert "approved by Lucas on 2026-11-27" in st.reason
    assert "proposed again until it is re-approved" in st.reason
    assert (st.approved_hash, st.current_hash) == (first_hash, new_hash)

    repo.approve("Lucas", now=lambda: datetime(2026, 11, 28, 9, 0, 0, tzinfo=timezone.utc))
    st = approval_status(repo.evidence_dir, repo.record)
    assert st.status == "accepted"
    assert st.reason == f"approved by Lucas on 2026-11-28 for evidence {new_hash[:8]}"
    assert repo.adr.read_text().startswith("status: accepted\n")


def test_approval_time_comes_from_the_clock_in_utc(repo):
    with freeze_time("2027-01-05 23:59:58"):
        approve("  Lucas  ", evidence_dir=repo.evidence_dir, record_path=repo.record, docs_root=repo.root,
                check=repo.check, render=repo.render)
    record = json.loads(repo.record.read_text())["items"]["decision"]
    assert record["approved_at"] == "2027-01-05T23:59:58Z"
    assert record["approved_by"] == "Lucas"


def test_approval_context_gives_the_template_status_and_approver(repo):
    ctx = approval_context(repo.evidence_dir, repo.record)
    assert (ctx["status"], ctx["approved_by"], ctx["approved_at"]) == ("proposed", None, None)
    assert ctx["status_line"] == "proposed: awaiting approval by the decision-maker"
    repo.approve("Lucas")
    ctx = approval_context(repo.evidence_dir, repo.record)
    assert (ctx["status"], ctx["approved_by"], ctx["approved_at"]) == ("accepted", "Lucas", "2026-11-27T14:03:12Z")
    assert ctx["status_line"].startswith("accepted: approved by Lucas on 2026-11-27")


# ---------------------------------------------------------------- refusals


@pytest.mark.parametrize("name", ["", "   ", "\t"])
def test_blank_name_is_refused_and_nothing_is_written(repo, name):
    with pytest.raises(ApprovalError, match="approver name is empty"):
        repo.approve(name)
    assert not repo.record.exists() and not repo.adr.exists()
    assert repo.checks == []


def test_stale_evidence_is_refused_and_nothing_is_written(repo):
    drift = ["evidence/cost/summary.json (differs)", "docs/adr-payment-blast-pattern.md (differs)"]
    with pytest.raises(ApprovalError) as err:
        repo.approve("Lucas", check=lambda: drift)
    assert "stale evidence" in str(err.value) and "evidence/cost/summary.json (differs)" in str(err.value)
    assert "\n" not in str(err.value)
    assert not repo.record.exists() and not repo.adr.exists()


def test_stale_evidence_keeps_an_earlier_approval_untouched(repo):
    repo.approve("Lucas")
    before = repo.record.read_bytes()
    with pytest.raises(ApprovalError, match="stale evidence"):
        repo.approve("Someone Else", check=lambda: ["evidence/ux/funnel.csv (differs)"])
    assert repo.record.read_bytes() == before


def test_missing_manifest_is_refused_before_the_slow_check(repo):
    (repo.evidence_dir / "manifest.json").unlink()
    with pytest.raises(ApprovalError, match=r"manifest\.json: evidence manifest missing"):
        repo.approve("Lucas")
    assert repo.checks == [] and not repo.record.exists()
    with pytest.raises(EvidenceError, match="evidence manifest missing"):
        approval_status(repo.evidence_dir, repo.record)


@pytest.mark.parametrize(
    "text, problem",
    [
        ("{not json", "malformed JSON"),
        ("[]", "must be a mapping"),
        (json.dumps({"approved_by": "Lucas", "approved_at": "2026-11-27T14:03:12Z"}), "evidence_sha256: missing"),
        (json.dumps({"approved_by": " ", "approved_at": "2026-11-27T14:03:12Z", "evidence_sha256": sha(1)}), "approved_by"),
        (json.dumps({"approved_by": "Lucas", "approved_at": "yesterday", "evidence_sha256": sha(1)}), "approved_at"),
        (json.dumps({"approved_by": "Lucas", "approved_at": "2026-11-27T14:03:12Z", "evidence_sha256": "abc"}), "evidence_sha256"),
        (json.dumps({"approved_by": "Lucas", "approved_at": "2026-11-27T14:03:12Z", "evidence_sha256": sha(1), "x": 1}),
         "x: unknown key"),
    ],
)
def test_malformed_record_is_a_one_line_error_naming_the_file(repo, text, problem):
    repo.record.write_text(text)
    with pytest.raises(ApprovalError) as err:
        approval_status(repo.evidence_dir, repo.record)
    message = str(err.value)
    assert re.match(rf"{re.escape(str(repo.record))}:\d+: malformed approval record: ", message), message
    assert problem in message and message.endswith("(re-run `blastpay adr approve --by NAME --item ITEM`)")
    assert "\n" not in message


def test_failed_render_restores_the_previous_record(repo):
    repo.approve("Lucas")
    before = repo.record.read_bytes()
    write_manifest(repo.evidence_dir, {"cost/summary.json": sha(9)})

    def broken(_evidence_dir):
        raise RuntimeError("adr.md.j2:12: UndefinedError: 'cost' is undefined")

    with pytest.raises(ApprovalError, match="re-rendering the documents failed"):
        repo.approve("Lucas", render=broken)
    assert repo.record.read_bytes() == before
    assert approval_status(repo.evidence_dir, repo.record).status == "proposed"


# ---------------------------------------------------------------- command line


@pytest.fixture
def cli_repo(repo, monkeypatch):
    """Point the package's paths at the throwaway repository so the CLI never touches the real docs/."""
    monkeypatch.setattr(config, "ROOT", repo.root)
    monkeypatch.setattr(config, "EVIDENCE_DIR", repo.evidence_dir)
    monkeypatch.setattr(approval, "run_check", lambda progress=print: [])
    monkeypatch.setattr(approval, "render_documents", repo.render)
    return repo


def test_cli_approve_and_status(cli_repo, capsys):
    assert approval.main(["status"]) == 0
    assert capsys.readouterr().out == ("decision: proposed: awaiting approval by the decision-maker\n"
                                       "stop-gap: proposed: awaiting approval by the decision-maker\n")
    assert approval.main(["approve", "--by", "Lucas", "--item", "stop-gap"]) == 0
    out = capsys.readouterr().out
    digest = json.loads(cli_repo.record.read_text())["items"]["stop-gap"]["evidence_sha256"]
    assert out.count("\n") == 1 and f"Lucas approved the stop-gap on evidence {digest}" in out
    assert "docs/adr-approval.json" in out and ADR_REL in out
    assert approval.main(["status"]) == 0
    decision, stop_gap = capsys.readouterr().out.splitlines()
    assert decision.startswith("decision: proposed") and stop_gap.startswith("stop-gap: accepted: approved by Lucas on ")
    assert approval.main(["approve", "--by", "Lucas", "--item", "decision"]) == 0
    capsys.readouterr()
    assert approval.main(["status"]) == 0
    assert capsys.readouterr().out.startswith("decision: accepted: approved by Lucas on ")


def test_cli_approve_names_what_is_approved(cli_repo, capsys):
    with pytest.raises(SystemExit) as missing:
        approval.main(["approve", "--by", "Lucas"])
    assert missing.value.code == 2 and "--item" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        approval.main(["approve", "--by", "Lucas", "--item", "everything"])
    assert not cli_repo.record.exists()


def test_the_stop_gap_is_approved_on_its_own_and_the_follow_up_needs_the_decision(repo):
    from blastpay.adr.approval import item_status

    repo.approve("Lucas", items=("stop-gap",))
    assert item_status(repo.evidence_dir, repo.record, "stop-gap").accepted
    assert not approval_status(repo.evidence_dir, repo.record).accepted  # the decision is still proposed
    ctx = approval_context(repo.evidence_dir, repo.record)
    assert ctx["status"] == "proposed" and ctx["stopgap_status_line"].startswith("approved: approved by Lucas")
    repo.approve("Lucas", items=("decision",), now=lambda: datetime(2026, 11, 28, 9, 0, 0, tzinfo=timezone.utc))
    record = json.loads(repo.record.read_text())["items"]
    assert record["stop-gap"]["approved_at"] == "2026-11-27T14:03:12Z"  # kept as it was
    assert record["decision"]["approved_at"] == "2026-11-28T09:00:00Z"
    assert approval_status(repo.evidence_dir, repo.record).accepted


def test_a_record_in_the_single_approval_form_approved_both_items(repo):
    from blastpay.adr.approval import item_status
    from blastpay.evidence.manifest import evidence_hash

    repo.record.write_text(json.dumps({"approved_by": "Lucas", "approved_at": "2026-11-27T14:03:12Z",
                                       "evidence_sha256": evidence_hash(repo.evidence_dir)}))
    assert approval_status(repo.evidence_dir, repo.record).accepted
    assert item_status(repo.evidence_dir, repo.record, "stop-gap").accepted


def test_an_unknown_item_in_the_record_is_named(repo):
    repo.record.write_text(json.dumps({"items": {"everything": {"approved_by": "L", "approved_at": "2026-11-27T14:03:12Z",
                                                                 "evidence_sha256": sha(1)}}}))
    with pytest.raises(approval.ApprovalError, match="items.everything: must be one of 'stop-gap' or 'decision'"):
        approval_status(repo.evidence_dir, repo.record)


def test_cli_refusal_is_one_line_and_exit_2(cli_repo, capsys, monkeypatch):
    monkeypatch.setattr(approval, "run_check", lambda progress=print: ["evidence/ux/funnel.csv (differs)"])
    assert approval.main(["approve", "--by", "Lucas", "--item", "decision"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1].startswith("blastpay adr: error: cannot approve stale evidence")
    assert not cli_repo.record.exists()


def test_cli_refuses_an_evidence_dir_the_check_does_not_cover(cli_repo, tmp_path_factory, capsys):
    other = tmp_path_factory.mktemp("other") / "evidence"
    write_manifest(other, {"a.json": sha(5)})
    assert approval.main(["approve", "--by", "Lucas", "--item", "decision", "--evidence-dir", str(other)]) == 2
    assert "approval covers this repository's evidence tree" in capsys.readouterr().err
    assert not cli_repo.record.exists()


# ---------------------------------------------------------------- filing the follow-up issue


class RecordingForgejo:
    """A loopback HTTP server that records each request and answers like Forgejo's create-issue endpoint."""

    def __init__(self, status: int = 201, reply: dict | None = None):
        self.requests: list[dict] = []
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 - http.server hook
                length = int(self.headers.get("Content-Length", 0))
                owner.requests.append(
                    {"method": "POST", "path": self.path, "headers": dict(self.headers), "body": self.rfile.read(length)}
                )
                payload = reply if reply is not None else {
                    "number": 42, "html_url": f"{owner.url}/club/basketball-api/issues/42"
                }
                data = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()
        self.thread.join()


@pytest.fixture
def forgejo():
    with RecordingForgejo() as server:
        yield server


def forgejo_env(url: str, **overrides) -> dict[str, str]:
    env = {"FORGEJO_URL": url, "FORGEJO_REPO": "club/basketball-api", "FORGEJO_TOKEN": TOKEN}
    env.update(overrides)
    return {k: v for k, v in env.items() if v is not None}


def file(repo, env, **kw):
    return file_followup(
        evidence_dir=repo.evidence_dir, record_path=repo.record, followup_path=repo.followup, env=env, **kw
    )


def test_filing_is_refused_before_approval_and_nothing_reaches_forgejo(repo, forgejo):
    repo.followup.write_text(FOLLOWUP_TEXT)
    with pytest.raises(ApprovalError, match="nothing filed: the ADR is proposed .*awaiting approval"):
        file(repo, forgejo_env(forgejo.url))
    assert forgejo.requests == []


def test_filing_is_refused_when_evidence_changed_after_approval(repo, forgejo):
    repo.followup.write_text(FOLLOWUP_TEXT)
    repo.approve("Lucas")
    write_manifest(repo.evidence_dir, {"cost/summary.json": sha(7)})
    with pytest.raises(ApprovalError, match="the evidence has changed since"):
        file(repo, forgejo_env(forgejo.url))
    assert forgejo.requests == []


def test_filing_after_approval_posts_exactly_one_issue(repo, forgejo):
    repo.followup.write_text(FOLLOWUP_TEXT)
    repo.approve("Lucas")
    filed = file(repo, forgejo_env(forgejo.url + "/"))
    assert filed.number == 42 and filed.html_url == f"{forgejo.url}/club/basketball-api/issues/42"
    assert len(forgejo.requests) == 1
    req = forgejo.requests[0]
    assert req["path"] == "/api/v1/repos/club/basketball-api/issues"
    assert req["headers"]["Authorization"] == f"token {TOKEN}"
    assert req["headers"]["Content-Type"] == "application/json"
    assert json.loads(req["body"]) == {
        "title": "Switch blast emails to lazy-mint /pay links",
        "body": "## Scope\n\n- [ ] mint on click\n",
    }


def test_cli_files_and_prints_url_and_number(cli_repo, forgejo, monkeypatch, capsys):
    cli_repo.followup.write_text(FOLLOWUP_TEXT)
    cli_repo.approve("Lucas")
    for name, value in forgejo_env(forgejo.url).items():
        monkeypatch.setenv(name, value)
    assert approval.main(["file-followup"]) == 0
    out = capsys.readouterr().out
    assert out == f"filed issue #42: {forgejo.url}/club/basketball-api/issues/42\n"
    assert len(forgejo.requests) == 1


def test_dry_run_prints_the_request_with_the_token_redacted(repo, forgejo):
    repo.followup.write_text(FOLLOWUP_TEXT)
    repo.approve("Lucas")
    shown = file(repo, forgejo_env(forgejo.url), dry_run=True)
    assert shown.startswith(f"POST {forgejo.url}/api/v1/repos/club/basketball-api/issues\n")
    assert "Authorization: token ***" in shown and TOKEN not in shown
    assert "Switch blast emails to lazy-mint /pay links" in shown
    assert forgejo.requests == []


@pytest.mark.parametrize(
    "overrides, problem",
    [
        ({"FORGEJO_TOKEN": None}, "missing environment variable(s) FORGEJO_TOKEN"),
        ({"FORGEJO_TOKEN": "  "}, "missing environment variable(s) FORGEJO_TOKEN"),
        ({"FORGEJO_REPO": "basketball-api"}, "FORGEJO_REPO must be owner/name"),
        ({"FORGEJO_URL": "forgejo.example.org"}, "FORGEJO_URL must be an http(s) base URL"),
    ],
)
def test_missing_or_malformed_environment_is_a_clear_error_and_files_nothing(repo, forgejo, overrides, problem):
    repo.followup.write_text(FOLLOWUP_TEXT)
    repo.approve("Lucas")
    with pytest.raises(ApprovalError) as err:
        file(repo, forgejo_env(forgejo.url, **overrides))
    assert problem in str(err.value) and "\n" not in str(err.value)
    assert forgejo.requests == []


def test_missing_followup_file_explains_option_3(repo, forgejo):
    repo.approve("Lucas")
    with pytest.raises(ApprovalError, match="no follow-up issue to file.*option 3"):
        file(repo, forgejo_env(forgejo.url))
    assert forgejo.requests == []


def test_followup_without_a_title_line_is_refused(repo, forgejo):
    repo.followup.write_text("Switch to lazy-mint\n\nbody\n")
    repo.approve("Lucas")
    with pytest.raises(ApprovalError, match=r"follow-up-feature-issue\.md:1: the first line must be"):
        file(repo, forgejo_env(forgejo.url))
    assert forgejo.requests == []


def test_unreachable_forgejo_is_a_clear_error(repo):
    repo.followup.write_text(FOLLOWUP_TEXT)
    repo.approve("Lucas")
    with socket.socket() as sock:  # a port that was free a moment ago and now has no listener
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    with pytest.raises(ApprovalError) as err:
        file(repo, forgejo_env(f"http://127.0.0.1:{port}"), timeout=5)
    message = str(err.value)
    assert message.startswith(f"nothing filed: could not reach Forgejo at http://127.0.0.1:{port}/api/v1/repos/")
    assert TOKEN not in message


def test_forgejo_rejection_says_what_it_answered_without_the_token(repo):
    repo.followup.write_text(FOLLOWUP_TEXT)
    repo.approve("Lucas")
    with RecordingForgejo(status=401, reply={"message": "token is required", "url": "https://forgejo/api/swagger"}) as server:
        with pytest.raises(ApprovalError) as err:
            file(repo, forgejo_env(server.url))
    message = str(err.value)
    assert "Forgejo answered 401 Unauthorized" in message and "token is required" in message
    assert TOKEN not in message
    assert len(server.requests) == 1  # tried once, did not retry


def test_a_2xx_answer_that_is_not_an_issue_is_reported(repo):
    repo.followup.write_text(FOLLOWUP_TEXT)
    repo.approve("Lucas")
    with RecordingForgejo(status=200, reply={"ok": True}) as server:
        with pytest.raises(ApprovalError, match="Forgejo answered 200 .* but not with an issue"):
            file(repo, forgejo_env(server.url))
