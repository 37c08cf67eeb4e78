"""`blastpay scan` reads regular files only and writes --out only as a regular file, atomically."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from blastpay.scanner.cli import main

SCAN = [sys.executable, "-m", "blastpay.cli", "scan"]


def run_scan(*args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*SCAN, *map(str, args)], capture_output=True, text=True, timeout=timeout)


def test_a_fifo_named_like_python_is_skipped_with_a_note_not_waited_on(fixture_copy):
    fifo = fixture_copy / "src" / "x.py"
    os.mkfifo(fifo)
    git = fixture_copy / ".git"
    git.mkdir(exist_ok=True)
    os.mkfifo(git / "HEAD")  # a FIFO where the commit is read from, too
    result = run_scan(fixture_copy)  # before the fix this never returned: the timeout fails the test
    assert result.returncode == 0
    assert "blastpay scan: skipped src/x.py: not a regular file (a FIFO)" in result.stderr.splitlines()
    assert '"path": "src/x.py"' in result.stdout and "call_sites" not in result.stderr


@pytest.mark.parametrize("target", ["/dev/full", "/dev/null"])
def test_out_on_a_device_is_refused_and_the_device_left_alone(fixture_copy, target, capsys):
    before = os.stat(target)
    assert main(["scan", str(fixture_copy), "--out", target]) == 2
    err = capsys.readouterr().err.strip()
    assert err == f"blastpay scan: --out {target}: is not a regular file (a device, FIFO or socket); give the " \
                  "path of a regular file"
    after = os.stat(target)
    assert (after.st_ino, after.st_mode) == (before.st_ino, before.st_mode)


def test_out_on_a_directory_is_one_line_not_a_traceback(fixture_copy, tmp_path):
    result = run_scan(fixture_copy, "--out", tmp_path)
    assert result.returncode == 2
    assert result.stderr.strip() == f"blastpay scan: --out {tmp_path}: is a directory; give the path of a file"


def test_out_on_a_symlink_is_refused(fixture_copy, tmp_path, capsys):
    real = tmp_path / "real.json"
    real.write_text("keep", encoding="utf-8")
    link = tmp_path / "link.json"
    link.symlink_to(real)
    assert main(["scan", str(fixture_copy), "--out", str(link)]) == 2
    assert "symbolic link" in capsys.readouterr().err
    assert link.is_symlink() and real.read_text(encoding="utf-8") == "keep"


def test_out_in_a_missing_directory_is_refused(fixture_copy, tmp_path, capsys):
    assert main(["scan", str(fixture_copy), "--out", str(tmp_path / "nope" / "x.json")]) == 2
    assert capsys.readouterr().err.strip() == \
        f"blastpay scan: --out {tmp_path / 'nope' / 'x.json'}: the directory {tmp_path / 'nope'} does not exist"


def test_out_on_a_regular_file_is_replaced_whole(fixture_copy, tmp_path):
    (tmp_path / "out").mkdir()
    out = tmp_path / "out" / "inv.json"
    out.write_text("old", encoding="utf-8")
    assert main(["scan", str(fixture_copy), "--out", str(out)]) == 0
    assert out.read_text(encoding="utf-8").startswith("{")
    assert [p.name for p in out.parent.iterdir()] == ["inv.json"]  # no temporary file left
