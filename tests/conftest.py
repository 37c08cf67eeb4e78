import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


@pytest.fixture(scope="session")
def repo_root() -> Path:
    return ROOT


@pytest.fixture(scope="session")
def fresh_stage(tmp_path_factory):
    """One regeneration of every evidence file and document per test session (the notebooks run here)."""
    from blastpay.evidence.pipeline import generate
    from blastpay.experiments.journey_browser import BrowserMissing, require_chromium

    try:
        require_chromium()
    except BrowserMissing as exc:  # notebook 08 drives it: outside CI every test of a fresh regeneration skips
        require_or_skip(False, f"the evidence run needs Chromium (notebook 08): {exc}")
    stage = tmp_path_factory.mktemp("stage")
    generate(stage, progress=lambda _m: None)
    return stage


@pytest.fixture
def make_flow():
    """build_flow over a fresh seeded emulator; every flow is closed after the test."""
    from blastpay.emulator import Emulator
    from blastpay.flows.harness import build_flow

    made = []

    def make(variant, **kwargs):
        emu = Emulator(seed=0)
        flow = build_flow(variant, emulator=emu, **kwargs)
        made.append(flow)
        return emu, flow

    yield make
    for flow in made:
        flow.close()


def require_or_skip(condition: bool, reason: str) -> None:
    """Outside CI a missing system service skips with a printed reason; in CI it fails."""
    if condition:
        return
    if IN_CI:
        pytest.fail(f"required in CI: {reason}")
    pytest.skip(reason)
