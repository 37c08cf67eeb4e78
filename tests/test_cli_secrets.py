"""No command prints a credential: planted secrets in URLs, tokens, keys and webhook secrets never reach the
terminal, whatever path the command takes (an error, a dry run, a connection refused)."""

from __future__ import annotations

import hashlib
import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

PASSWORD = "PlantedPassw0rd"
TOKEN = "tok-PlantedForgejoToken-42"
TEST_KEY = "sk_test_PlantedTestKey123456"
LIVE_KEY = "sk_live_PlantedLiveKey123456"
WHSEC = "whsec_PlantedWebhookSecret789"
PLANTED = (PASSWORD, TOKEN, TEST_KEY, LIVE_KEY, WHSEC, "PlantedTestKey", "PlantedLiveKey", "PlantedWebhookSecret")


def closed_port() -> int:
    """A loopback port nothing listens on (bound, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def accepted_repo(tmp_path: Path) -> Path:
    """A repository whose ADR is accepted, so the follow-up filing gets as far as talking to Forgejo."""
    evidence = tmp_path / "evidence"
    evidence.mkdir()
    (evidence / "a.json").write_text("{}\n")
    files = {"a.json": {"sha256": hashlib.sha256(b"{}\n").hexdigest(), "producer": "notebooks/01-x.ipynb"}}
    (evidence / "manifest.json").write_text(json.dumps({"files": files}))
    from blastpay.evidence.manifest import evidence_hash

    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "adr-approval.json").write_text(json.dumps({"approved_by": "Lucas", "approved_at": "2026-11-27T14:03:12Z",
                                                        "evidence_sha256": evidence_hash(evidence)}))
    (docs / "follow-up-feature-issue.md").write_text("# Switch to lazy mint\n\nBody.\n")
    return tmp_path


def run(args: list[str], env: dict[str, str], timeout: float = 120) -> str:
    full_env = {k: v for k, v in os.environ.items() if not k.startswith(("FORGEJO_", "STRIPE_"))}
    full_env.update(env)
    result = subprocess.run([sys.executable, "-m", "blastpay.cli", *args], capture_output=True, text=True,
                            env=full_env, timeout=timeout)
    return result.stdout + result.stderr


def assert_clean(output: str) -> None:
    leaked = [secret for secret in PLANTED if secret in output]
    assert not leaked, f"printed {leaked}: {output[-2000:]}"


def forgejo_env(port: int) -> dict[str, str]:
    return {"FORGEJO_URL": f"http://reporter:{PASSWORD}@127.0.0.1:{port}", "FORGEJO_REPO": "club/basketball-api",
            "FORGEJO_TOKEN": TOKEN}


@pytest.mark.parametrize("extra", [[], ["--dry-run"]], ids=["unreachable", "dry-run"])
def test_filing_the_followup_prints_no_credential(accepted_repo, extra):
    env = dict(forgejo_env(closed_port()), BLASTPAY_ROOT=str(accepted_repo))
    output = run(["adr", "file-followup", *extra], env)
    assert "127.0.0.1" in output  # it did get as far as naming where it would post
    assert_clean(output)


def test_a_malformed_forgejo_url_is_named_without_its_password(accepted_repo):
    env = dict(forgejo_env(1), BLASTPAY_ROOT=str(accepted_repo))
    env["FORGEJO_URL"] = f"http://reporter:{PASSWORD}@forgejo example/?{WHSEC}"
    output = run(["adr", "file-followup"], env)
    assert "FORGEJO_URL must be" in output
    assert_clean(output)


@pytest.mark.parametrize("key", [TEST_KEY, LIVE_KEY, "pk_live_PlantedLiveKey123456"])
def test_the_live_probe_prints_no_key_or_url_password(tmp_path, key):
    base = f"http://probe:{PASSWORD}@127.0.0.1:{closed_port()}/?{WHSEC}"
    output = run(["live", "probe", "--base-url", base, "--dir", str(tmp_path)], {"STRIPE_TEST_SECRET_KEY": key})
    assert "blastpay live: error:" in output
    assert_clean(output)


def test_serve_prints_no_stripe_key_or_url_password(tmp_path):
    base = f"http://stripe:{PASSWORD}@127.0.0.1:{closed_port()}"
    output = run(["serve", "--port", "0", "--seed", "--stripe-base", base, "--database-url",
                  f"sqlite:///{tmp_path / 'a.db'}"], {"STRIPE_API_KEY": TEST_KEY, "STRIPE_WEBHOOK_SECRET": WHSEC})
    assert "blastpay serve" in output
    assert_clean(output)


def test_an_unexpected_error_traceback_is_redacted_too(monkeypatch, capsys):
    from blastpay import cli

    def crash(argv):
        raise RuntimeError(f"could not open http://u:{PASSWORD}@db.internal/x with {TEST_KEY} and {WHSEC}")

    monkeypatch.setitem(cli.COMMANDS, "adr", (__name__, "crash_for_test", "test"))
    monkeypatch.setattr(sys.modules[__name__], "crash_for_test", crash, raising=False)
    assert cli.main(["adr", "status"]) == 1
    captured = capsys.readouterr()
    assert "RuntimeError: could not open http://***@db.internal/x" in captured.err
    assert_clean(captured.out + captured.err)
