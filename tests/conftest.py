import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import freezegun
import pytest

# freezegun patches time for every thread: a test that freezes the clock would also freeze the event loop of a
# server another thread runs (the session's loopback emulator), whose timers then fall due only in the frozen
# future, so it never exits. Event loops and the servers on them keep real time.
freezegun.configure(extend_ignore_list=["asyncio", "uvicorn", "h11"])

ROOT = Path(__file__).resolve().parents[1]
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


@pytest.fixture(scope="session")
def repo_root() -> Path:
    return ROOT


class Background:
    """A command started in its own process when the session starts, so it runs while other tests do; `wait()`
    returns once it has finished and fails the test that waits, with the command's error output, if it failed."""

    def __init__(self, name: str, args: list[str], env: dict[str, str] | None = None) -> None:
        self.name = name
        self.dir = Path(tempfile.mkdtemp(prefix=f"blastpay-{name}-"))
        self.log = self.dir / "stderr.txt"
        with open(self.log, "wb") as err:
            self.process = subprocess.Popen(args + [str(self.dir / "out")], stdout=subprocess.DEVNULL, stderr=err,
                                            env={**os.environ, **(env or {})}, start_new_session=True)

    def wait(self) -> Path:
        if self.process.wait() != 0:
            pytest.fail(f"{self.name} failed (exit {self.process.returncode}):\n"
                        + self.log.read_text(errors="replace")[-4000:])
        return self.dir / "out"

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, 15)  # its notebook kernels and worker processes are in its session
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, 9)
                self.process.wait()
        shutil.rmtree(self.dir, ignore_errors=True)


# What a fresh regeneration is: `blastpay check`'s own step, into a directory given last.
REGENERATE = "import sys; from pathlib import Path; from blastpay.evidence.pipeline import generate; " \
             "generate(Path(sys.argv[1]), progress=lambda _m: None)"
BACKGROUND: dict[str, Background] = {}


# A test is marked by what it needs: Chromium (`browser`; its journeys are walked page by page, so also `slow`),
# PostgreSQL (`postgres`), a regeneration of the evidence (`slow`). `pytest -m "not slow"` is the loop to run while working; `make test` runs everything.
MARKED_BY_FIXTURE = {"browser": ("browser", "slow"), "postgres_url": ("postgres",), "fresh_stage": ("slow",),
                     "numeric_regeneration": ("slow",)}


# A test that waits for a regeneration waits as long as the whole run takes on a busy machine, not the
# per-test limit of pyproject.toml.
REGENERATION_TIMEOUT = 1800


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(session, config, items):
    for item in items:
        for fixture, markers in MARKED_BY_FIXTURE.items():
            if fixture in getattr(item, "fixturenames", ()):
                for marker in markers:
                    item.add_marker(marker)
        callspec = getattr(item, "callspec", None)
        if callspec is not None and "postgres" in callspec.params.values():  # a backend fixture parametrized by name
            item.add_marker("postgres")
        if {"fresh_stage", "numeric_regeneration"} & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.timeout(REGENERATION_TIMEOUT))


@pytest.hookimpl(trylast=True)
def pytest_collection_finish(session):
    """Start the session's one regeneration as soon as the tests are known, if any test selected needs it."""
    config, items = session.config, session.items
    if config.option.collectonly:
        return
    if any("fresh_stage" in getattr(item, "fixturenames", ()) for item in items) and _chromium_missing() is None:
        BACKGROUND["fresh_stage"] = Background("fresh-stage", [sys.executable, "-c", REGENERATE])
    for item in items:  # each numeric configuration of tests/test_reproducibility.py, all at once
        if "numeric_regeneration" in getattr(item, "fixturenames", ()):
            _start_numeric(item.module, item.callspec.params["name"])


def _start_numeric(module, name: str) -> Background:
    key = f"numeric:{name}"
    if key not in BACKGROUND:
        BACKGROUND[key] = Background("numeric", [sys.executable, "-c", module.REGENERATE_NUMERIC,
                                                 json.dumps(module.CONFIGURATIONS[name])])
    return BACKGROUND[key]


def pytest_sessionfinish(session, exitstatus):
    for job in BACKGROUND.values():
        job.stop()
    BACKGROUND.clear()


def _chromium_missing() -> str | None:
    """Why Chromium cannot run (notebook 08 drives it), or None."""
    from blastpay.experiments.journey_browser import BrowserMissing, require_chromium

    try:
        require_chromium()
    except BrowserMissing as exc:
        return str(exc)
    return None


@pytest.fixture(scope="session")
def fresh_stage():
    """The session's one regeneration of every evidence file and document (started when the session started).
    Outside CI it skips when Chromium is missing, as every test of a fresh regeneration does; in CI it fails."""
    missing = _chromium_missing()
    if missing is not None:
        require_or_skip(False, f"the evidence run needs Chromium (notebook 08): {missing}")
    job = BACKGROUND.get("fresh_stage")
    if job is None:  # selected without collection (a plugin's own run): start it now
        job = BACKGROUND["fresh_stage"] = Background("fresh-stage", [sys.executable, "-c", REGENERATE])
    return job.wait()


@pytest.fixture
def scratch_repo(tmp_path, repo_root):
    """A scratch copy of the repository's inputs, notebooks and code (run it with BLASTPAY_ROOT): its committed
    evidence is one sentinel file, its docs/ empty."""
    root = tmp_path / "repo"
    for rel in ("experiments", "notebooks", "src"):
        shutil.copytree(repo_root / rel, root / rel, ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
    (root / "evidence").mkdir()
    (root / "evidence" / "sentinel.txt").write_text("committed evidence\n")
    (root / "docs").mkdir()
    return root


@pytest.fixture
def numeric_regeneration(request) -> Path:
    """What the numeric notebooks wrote under the configuration `name` (tests/test_reproducibility.py), from the
    process the session started for it."""
    return _start_numeric(request.module, request.getfixturevalue("name")).wait()


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
