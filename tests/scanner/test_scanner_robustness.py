"""Bad files are reported in ``skipped`` and never stop the scan."""

from __future__ import annotations

import os
import subprocess

import pytest

from blastpay.scanner import scan


def _reasons(inv):
    return {s.path: s.reason for s in inv.skipped}


def test_bad_files_are_skipped_with_reasons_and_sites_still_found(fixture_copy, tmp_path):
    clean = {s.key() for s in scan(fixture_copy).sites}
    src = fixture_copy / "src" / "basketball_api"
    (src / "broken.py").write_text("def oops(:\n    pass\n", encoding="utf-8")
    (src / "blob.py").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)))
    (fixture_copy / "docs" / "latin1.md").write_bytes("Caf\xe9 checkout sessions expire".encode("latin-1"))
    (src / "loop_a").symlink_to(src / "loop_b")
    (src / "loop_b").symlink_to(src / "loop_a")
    (src / "up").symlink_to(src, target_is_directory=True)  # a directory cycle
    outside = tmp_path / "outside.py"
    outside.write_text("import stripe\nstripe.checkout.Session.create()\n", encoding="utf-8")
    (src / "escape.py").symlink_to(outside)
    for excluded in (".git", ".venv", "node_modules", "__pycache__"):
        d = fixture_copy / excluded
        d.mkdir(exist_ok=True)
        (d / "hidden.py").write_text("import stripe\nstripe.checkout.Session.create()\n", encoding="utf-8")

    inv = scan(fixture_copy)

    reasons = _reasons(inv)
    assert reasons["src/basketball_api/broken.py"] == "Python syntax error at line 1: invalid syntax"
    assert reasons["src/basketball_api/blob.py"] == "binary file"
    assert reasons["docs/latin1.md"].startswith("not UTF-8 text")
    assert reasons["src/basketball_api/loop_a"] == "symlink loop"
    assert reasons["src/basketball_api/loop_b"] == "symlink loop"
    assert reasons["src/basketball_api/up"].startswith("symlink to a directory inside the root")
    assert reasons["src/basketball_api/escape.py"] == "symlink points outside the scanned root"
    assert not any(p.startswith((".git/", ".venv/", "node_modules/", "__pycache__/")) for p in reasons)
    assert {s.key() for s in inv.sites} == clean


def test_huge_file_is_skipped(fixture_copy):
    big = fixture_copy / "src" / "basketball_api" / "generated.py"
    big.write_text("X = 1\n" * 2000, encoding="utf-8")
    inv = scan(fixture_copy, max_file_bytes=10_000)
    assert _reasons(inv)["src/basketball_api/generated.py"] == "file larger than 10000 bytes"


def test_deeply_nested_code_does_not_stop_the_scan(fixture_copy):
    clean = {s.key() for s in scan(fixture_copy).sites}
    (fixture_copy / "deep.py").write_text("x = " + "(" * 5000 + "1" + ")" * 5000 + "\n", encoding="utf-8")
    for name, terms in (("chain.py", 400), ("too_long.py", 5000)):
        long_chain = " + ".join(["session.url"] * terms)
        (fixture_copy / name).write_text(
            "import stripe\n\ndef f():\n    session = stripe.checkout.Session.create()\n"
            f"    return send_email({long_chain})\n", encoding="utf-8")
    inv = scan(fixture_copy)
    assert _reasons(inv)["deep.py"].startswith("Python syntax error")
    assert _reasons(inv)["too_long.py"] == "Python file too deeply nested to parse"
    keys = {s.key() for s in inv.sites}
    assert ("session_create", "chain.py", 4, "f") in keys
    assert keys - clean <= {("session_create", "chain.py", 4, "f"), ("url_flow", "chain.py", 5, "f")}


def test_scan_is_deterministic_and_hash_tracks_content(fixture_copy):
    first, second = scan(fixture_copy), scan(fixture_copy)
    from blastpay.scanner import to_json

    assert to_json(first) == to_json(second)
    (fixture_copy / "docs" / "roster-policy.md").write_text("changed\n", encoding="utf-8")
    assert scan(fixture_copy).content_hash != first.content_hash
    assert first.commit is None


def test_commit_is_recorded_for_a_git_work_tree(fixture_copy):
    env = {**os.environ, "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.invalid",
           "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@example.invalid"}

    def run(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run(["git", "-C", str(fixture_copy), *args], check=True, capture_output=True, env=env, text=True)

    run("init", "-q")
    run("add", ".")
    run("commit", "-q", "-m", "fixture")
    head = run("rev-parse", "HEAD").stdout.strip()
    assert scan(fixture_copy).commit == head
    run("pack-refs", "--all")
    assert scan(fixture_copy).commit == head


def test_missing_root_is_a_clear_error(tmp_path):
    from blastpay.scanner import ScanError

    with pytest.raises(ScanError, match="no such directory"):
        scan(tmp_path / "nope")
