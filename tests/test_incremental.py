"""`blastpay evidence` reruns only the notebooks whose inputs, code or upstream evidence changed; `blastpay check`
and `--force` run every notebook."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from blastpay import config
from blastpay.evidence import reuse
from blastpay.evidence.manifest import MANIFEST
from blastpay.evidence.pipeline import notebooks


@pytest.fixture(scope="module")
def sources() -> dict[str, list[str]]:
    return reuse.notebook_sources(notebooks())


def test_each_key_covers_the_modules_a_notebook_reaches_only_through_others(sources):
    # every notebook imports blastpay.evidence.notebook, which imports the writer: never named by a notebook itself
    for stem, names in sources.items():
        assert "src/blastpay/evidence/writer.py" in names, stem
    # the failure-mode notebook reaches the fee model through failure_modes, and the fee file through the fee model
    assert "src/blastpay/models/fees.py" in sources["06-failure-modes"]
    assert "experiments/fees.yaml" in sources["06-failure-modes"]
    assert "src/blastpay/models/decision.py" not in sources["06-failure-modes"]
    # and the emulator's vendored Stripe fixtures, a data file its modules read by name
    assert "src/blastpay/emulator/reference/fixtures3-served.json" in sources["06-failure-modes"]


def test_no_key_covers_the_document_templates(sources):
    # the documents are rendered on every run: a template edit reruns no notebook
    assert not [name for names in sources.values() for name in names if name.startswith("src/blastpay/templates")]


def test_the_club_prices_volumes_and_likelihoods_are_read_by_the_decision_notebook_alone(sources):
    for name in ("experiments/club.yaml", "experiments/likelihood.yaml", "experiments/effort.yaml"):
        assert [stem for stem, names in sources.items() if name in names] == ["10-decision"], name


def test_a_key_names_files_by_repository_path_only(sources):
    for names in sources.values():
        for name in reuse.hash_sources(names):
            assert not name.startswith("/") and str(config.ROOT) not in name and ".." not in name


def _tree(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


@pytest.mark.slow
def test_a_price_edit_reruns_only_the_decision_notebook_and_the_documents(scratch_repo, fresh_stage):
    scratch = scratch_repo  # with the session's fresh evidence and documents as its committed ones
    for rel in ("evidence", "docs"):
        shutil.rmtree(scratch / rel)
        shutil.copytree(fresh_stage / rel, scratch / rel)
    club = scratch / "experiments" / "club.yaml"
    text = club.read_text()
    assert "engineer_day_usd: 600.00" in text
    club.write_text(text.replace("engineer_day_usd: 600.00", "engineer_day_usd: 650.00", 1))
    before = _tree(scratch / "evidence")

    result = subprocess.run([sys.executable, "-m", "blastpay.cli", "evidence"], capture_output=True, text=True,
                            env=dict(os.environ, BLASTPAY_ROOT=str(scratch)), timeout=600)

    assert result.returncode == 0, result.stderr
    ran = [line for line in result.stdout.splitlines() if " runs: " in line]
    assert ran == ["notebooks/10-decision.ipynb runs: changed: experiments/club.yaml"]
    reused = next(line for line in result.stdout.splitlines() if line.startswith("reused"))
    assert sorted(reused.split(": ", 1)[1].split(", ")) == [s.stem for s in notebooks() if s.stem != "10-decision"]
    after = _tree(scratch / "evidence")
    changed = {rel for rel in set(before) | set(after) if before.get(rel) != after.get(rel)}
    assert changed, "the price edit changed no evidence"
    assert all(rel.startswith(("decision/", "notebooks/10-decision")) or rel == MANIFEST for rel in changed), changed
    assert (scratch / "docs" / "adr-payment-blast-pattern.md").read_bytes() != \
        (fresh_stage / "docs" / "adr-payment-blast-pattern.md").read_bytes()  # the documents were rendered again
    assert not [p.name for p in scratch.iterdir() if p.name.startswith(".evidence")]


def test_why_a_notebook_runs_names_the_changed_input():
    extra = {"full": False}
    old = {"reads": {"experiments/a.yaml": "1", "src/blastpay/x.py": "2"}, "upstream": {"02-b": "u"}, "extra": extra}
    assert reuse.why_changed(old, {"experiments/a.yaml": "1", "src/blastpay/x.py": "3"}, {"02-b": "u"}, extra) == \
        "changed: src/blastpay/x.py"
    assert reuse.why_changed(old, dict(old["reads"]), {"02-b": "v"}, extra) == "upstream evidence changed: 02-b"
    assert reuse.why_changed(None, {}, {}, extra) == "no earlier run recorded"
