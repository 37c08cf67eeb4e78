"""Fixtures for the live-probe tests: an emulator on loopback, a record directory, a test key."""
from __future__ import annotations

import json
import socket
import urllib.request
from pathlib import Path
from typing import Iterator

import pytest

from blastpay.emulator import Emulator

TEST_KEY = "sk_test_51ProbeKeyForTests0123456789abcdefXYZ"


class LiveEmulator:
    def __init__(self, emulator: Emulator, base_url: str) -> None:
        self.emulator = emulator
        self.base_url = base_url

    def sandbox(self, path: str, **form: object) -> bytes:
        request = urllib.request.Request(f"{self.base_url}/_sandbox/{path}", data=json.dumps(form).encode(),
                                         headers={"Content-Type": "application/json"}, method="POST")
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.read()

    def advance_days(self, days: int) -> None:
        self.sandbox("clock/advance", seconds=days * 86400)


@pytest.fixture
def live_emulator() -> Iterator[LiveEmulator]:
    emulator = Emulator(seed=0)
    with emulator.serve(host="127.0.0.1", port=0) as handle:
        yield LiveEmulator(emulator, handle.base_url)


@pytest.fixture
def record_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    directory = tmp_path / "experiments-live"
    monkeypatch.setenv("BLASTPAY_LIVE_DIR", str(directory))
    return directory


@pytest.fixture
def test_key(monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("STRIPE_TEST_SECRET_KEY", TEST_KEY)
    return TEST_KEY


@pytest.fixture
def closed_port_url() -> str:
    """A loopback URL on a port nothing listens on."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}"


def _tree(directory: Path) -> list[str]:
    return sorted(str(p.relative_to(directory)) for p in directory.rglob("*")) if directory.exists() else []


@pytest.fixture
def tree():
    """Every path under a directory, relative and sorted ([] if it does not exist)."""
    return _tree
