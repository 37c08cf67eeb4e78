"""The evidence pipeline: freshness, reproducibility, drift detection, and refusal of bad input."""

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from blastpay import config
from blastpay.evidence.pipeline import compare, generated_paths


def test_committed_evidence_and_documents_match_a_fresh_regeneration(fresh_stage, repo_root):
    drift = compare(fresh_stage, repo_root)
    assert drift == [], "stale evidence; run `make evidence` and commit:\n" + "\n".join(drift)


def _copy_generated(stage: Path, dest: Path) -> None:
    for rel in generated_paths():
        src = stage / rel
        if src.is_dir():
            shutil.copytree(src, dest / rel)
        else:
            (dest / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, dest / rel)


@pytest.mark.parametrize("victim", ["evidence/stripe-facts/facts.csv", "docs/adr-payment-blast-pattern.md"])
def test_a_hand_edited_file_is_named_as_drift(fresh_stage, tmp_path, victim):
    _copy_generated(fresh_stage, tmp_path)
    target = tmp_path / victim
    target.write_text(target.read_text() + "hand edit\n")
    assert compare(fresh_stage, tmp_path) == [f"{victim} (differs)"]


def test_a_deleted_and_an_extra_evidence_file_are_both_reported(fresh_stage, tmp_path):
    _copy_generated(fresh_stage, tmp_path)
    (tmp_path / "evidence/stripe-facts/facts.json").unlink()
    (tmp_path / "evidence/stray.csv").write_text("a\n1\n")
    assert compare(fresh_stage, tmp_path) == [
        "evidence/stray.csv (not produced)",
        "evidence/stripe-facts/facts.json (missing)",
    ]


def test_the_adr_cites_only_registry_ids_and_lists_their_urls(fresh_stage):
    from blastpay.sources.registry import load_registry

    adr = (fresh_stage / "docs/adr-payment-blast-pattern.md").read_text()
    registry = load_registry(config.SOURCES_DIR)
    import re

    markers = set(re.findall(r"(?<!\n)\[\^(\d+)\]", adr))  # a note's definition starts its line
    notes = dict(re.findall(r"^\[\^(\d+)\]: .*<(\S+)> \(read \d{4}-\d{2}-\d{2}\)$", adr, re.M))
    assert markers, "the ADR cites no source"
    assert markers == set(notes), "every footnote marker has its note and every note is cited"
    urls = {registry.get(sid)["url"] for sid in registry.ids()}
    assert set(notes.values()) <= urls, "every note is a registry source's URL"
    assert [int(n) for n in sorted(notes, key=int)] == list(range(1, len(notes) + 1))


# --- bad input: a scratch copy of the repository's inputs, run through the real CLI -------------------


def _blastpay(root: Path, *args: str) -> subprocess.CompletedProcess:
    env = dict(os.environ, BLASTPAY_ROOT=str(root))
    return subprocess.run(
        [sys.executable, "-m", "blastpay.cli", *args], env=env, capture_output=True, text=True, timeout=600
    )


def _untouched(root: Path) -> bool:
    evidence = sorted(p.relative_to(root).as_posix() for p in (root / "evidence").rglob("*"))
    leftovers = [p.name for p in root.iterdir() if p.name.startswith(".evidence")]
    return evidence == ["evidence/sentinel.txt"] and not list((root / "docs").iterdir()) and not leftovers


def test_a_notebook_that_raises_stops_the_run_naming_it_and_writes_nothing(scratch_repo):
    import nbformat

    for book in (scratch_repo / "notebooks").glob("*.ipynb"):  # one real notebook beside it, not the whole run
        if book.name != "01-stripe-facts.ipynb":
            book.unlink()
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell("x = 1"), nbformat.v4.new_code_cell("raise ValueError('broken input')")]
    nbformat.write(nb, str(scratch_repo / "notebooks" / "00-broken.ipynb"))
    result = _blastpay(scratch_repo, "evidence")
    assert result.returncode != 0
    assert "00-broken.ipynb: cell 2 raised" in result.stderr
    assert "ValueError" in result.stderr and "broken input" in result.stderr
    assert _untouched(scratch_repo)


def test_a_malformed_sources_registry_names_file_and_line_and_writes_nothing(scratch_repo):
    bad = scratch_repo / "experiments" / "sources" / "zz-bad.yaml"
    bad.write_text("- id: fine-id\n  title: t\n  url: https://example.org\n  quote: q\n  read: 2026-01-01\n- id: x: y\n")
    result = _blastpay(scratch_repo, "evidence")
    assert result.returncode == 2
    assert "zz-bad.yaml:6" in result.stderr and "malformed YAML" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert _untouched(scratch_repo)


def test_malformed_run_parameters_are_refused_with_one_line(scratch_repo):
    (scratch_repo / "experiments" / "run.yaml").write_text("as_of: yesterday\nseed: 1\n")
    result = _blastpay(scratch_repo, "evidence")
    assert result.returncode == 2
    assert result.stderr.strip() == (
        f"blastpay: error: {scratch_repo}/experiments/run.yaml:1: as_of: must be an ISO date (YYYY-MM-DD) (the date the "
        "evidence speaks for; the ADR's date and every age are computed from it), got 'yesterday'"
    )
    assert _untouched(scratch_repo)


def test_check_on_a_stale_tree_exits_1_and_prints_the_fix(fresh_stage, tmp_path, monkeypatch, capsys):
    """`blastpay check` against a stale tree, its regeneration being the session's fresh stage (the one step
    stubbed: `generate` copies that stage into the check's temporary tree instead of running the notebooks)."""
    from blastpay.evidence import cli, pipeline

    stale = tmp_path / "repo"
    _copy_generated(fresh_stage, stale)
    (stale / "evidence" / "sentinel.txt").write_text("committed evidence\n")
    edited = stale / "evidence" / "stripe-facts" / "facts.csv"
    edited.write_bytes(edited.read_bytes() + b"hand edit\n")
    regenerated = []

    def from_the_fresh_stage(stage, progress=print, **_kw):
        _copy_generated(fresh_stage, stage)
        regenerated.append(stage)

    monkeypatch.setattr(pipeline, "generate", from_the_fresh_stage)
    monkeypatch.setattr(config, "ROOT", stale)
    assert cli.check_main(["--quiet"]) == 1
    err = capsys.readouterr().err
    assert "evidence/sentinel.txt (not produced)" in err
    assert "evidence/stripe-facts/facts.csv (differs)" in err
    assert "make evidence" in err
    assert len(regenerated) == 1 and not regenerated[0].exists()  # the temporary tree is removed afterwards


def test_check_on_the_fresh_tree_exits_0(fresh_stage, tmp_path, monkeypatch, capsys):
    from blastpay.evidence import cli, pipeline

    _copy_generated(fresh_stage, tmp_path / "repo")
    monkeypatch.setattr(pipeline, "generate", lambda stage, **_kw: _copy_generated(fresh_stage, stage))
    monkeypatch.setattr(config, "ROOT", tmp_path / "repo")
    assert cli.check_main([]) == 0
    assert "fresh" in capsys.readouterr().out


def test_help_lists_every_command_and_each_command_has_its_own_help():
    from blastpay.cli import COMMANDS

    result = subprocess.run([sys.executable, "-m", "blastpay.cli", "--help"], capture_output=True, text=True)
    assert result.returncode == 0
    listed = {line.split()[0] for line in result.stdout.splitlines()
              if re.match(r"^    [a-z]+(\s|$)", line)}  # a command's own line; help text wraps further in
    assert {"evidence", "check", "sandbox", "serve", "scan", "live", "adr"} <= set(COMMANDS) == listed
    for command in COMMANDS:
        own = subprocess.run([sys.executable, "-m", "blastpay.cli", command, "--help"], capture_output=True, text=True)
        assert own.returncode == 0, (command, own.stderr)
        assert f"usage: blastpay {command}" in own.stdout


# --- every committed input is validated before the first notebook: one line, file:line, exit 2 -----------


def _refused(root: Path, expected_file: str) -> str:
    result = _blastpay(root, "evidence")
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, lines
    assert lines[0].startswith(f"blastpay: error: {root}/experiments/{expected_file}:")
    assert _untouched(root)
    return lines[0]


def test_a_malformed_fee_file_names_its_line(scratch_repo):
    path = scratch_repo / "experiments" / "fees.yaml"
    path.write_text(path.read_text().replace("amounts_usd:", "amounts_usd: [", 1))
    line = _refused(scratch_repo, "fees.yaml")
    assert "malformed YAML" in line


def test_a_renamed_latency_scenario_is_named(scratch_repo):
    path = scratch_repo / "experiments" / "latency_scenarios.yaml"
    path.write_text(path.read_text().replace("\n  central:", "\n  middle:", 1))
    line = _refused(scratch_repo, "latency_scenarios.yaml")
    assert "scenario 'central' missing" in line and "middle" in line


def test_an_edited_change_in_the_call_site_inventory_is_refused_not_ignored(scratch_repo):
    path = scratch_repo / "experiments" / "call_sites.json"
    data = json.loads(path.read_text())
    data["sites"][0]["changes"]["lazy_mint"]["change"] = "Do nothing here."
    path.write_text(json.dumps(data, indent=2) + "\n")
    line = _refused(scratch_repo, "call_sites.json")
    assert "sites[0].changes.lazy_mint differs from what the scanner derives" in line


def _tiny_notebook(path, settings=None):
    import nbformat

    nb = nbformat.v4.new_notebook()
    if settings:
        nb.metadata["blastpay"] = settings
    nbformat.write(nb, str(path))
    return path


def test_a_heavy_notebook_starts_first_and_still_waits_for_what_it_needs(tmp_path, monkeypatch):
    from blastpay.evidence import pipeline

    books = [_tiny_notebook(tmp_path / "01-a.ipynb"), _tiny_notebook(tmp_path / "02-b.ipynb"),
             _tiny_notebook(tmp_path / "03-c.ipynb", {"heavy": True}),
             _tiny_notebook(tmp_path / "04-d.ipynb", {"heavy": True, "needs": ["02-b"]})]
    started = []
    monkeypatch.setattr(pipeline, "execute_notebook", lambda path, *a, **k: started.append(path.stem))
    pipeline.run_notebooks(books, tmp_path / "evidence", {}, progress=lambda _: None, workers=1)
    assert started == ["03-c", "01-a", "02-b", "04-d"]
