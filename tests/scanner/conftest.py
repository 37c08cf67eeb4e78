from __future__ import annotations

import shutil
from pathlib import Path

import pytest

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "basketball_api_repo"


@pytest.fixture
def fixture_root() -> Path:
    return FIXTURE


@pytest.fixture
def fixture_copy(tmp_path: Path) -> Path:
    dest = tmp_path / "basketball-api"
    shutil.copytree(FIXTURE, dest)
    return dest


def _write_repo(root: Path, files: dict[str, str]) -> Path:
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return root


@pytest.fixture
def write_repo():
    """write_repo(root, {relative path: text}) writes a small repository."""
    return _write_repo
