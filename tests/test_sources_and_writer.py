from datetime import date

import pytest

from blastpay.adr.evidence_view import Citations
from blastpay.adr.render import RenderError, render_template
from blastpay.evidence.writer import EvidenceError, EvidenceWriter, csv_bytes, json_bytes
from blastpay.sources.registry import SourcesError, load_registry

GOOD = """- id: a-fact
  title: A fact
  url: https://docs.stripe.com/x
  quote: "quoted"
  read: 2026-11-26
  figure: {value: 0.5, unit: share}
"""


def _registry(tmp_path, *texts):
    for i, text in enumerate(texts):
        (tmp_path / f"{i}.yaml").write_text(text)
    return load_registry(tmp_path)


def test_registry_reads_figures_and_refuses_unknown_ids(tmp_path):
    reg = _registry(tmp_path, GOOD)
    assert reg.figure("a-fact") == 0.5
    assert reg.get("a-fact")["read"] == date(2026, 11, 26)
    with pytest.raises(SourcesError, match="unknown source id 'nope'"):
        reg.get("nope")


@pytest.mark.parametrize(
    "text, message",
    [
        (GOOD.replace("  quote: \"quoted\"\n", ""), "0.yaml:1: [0].quote: missing"),
        (GOOD.replace("2026-11-26", "last week"), "0.yaml:5: [0].read: must be an ISO date (YYYY-MM-DD)"),
        (GOOD.replace("https://docs.stripe.com/x", "docs.stripe.com"), "0.yaml:3: [0].url: 'docs.stripe.com' must match"),
        (GOOD.replace("0.5, unit: share", "lots, unit: share"), "0.yaml:6: [0].figure.value: must be a number"),
        (GOOD.replace("0.5, unit: share", "1.5, unit: share"), "0.yaml:6: [0].figure: a figure in unit 'share' must be at most 1"),
        (GOOD.replace("0.5, unit: share", ".nan, unit: share"), "0.yaml:6: [0].figure.value: must be a finite number, got nan"),
        (GOOD.replace("id: a-fact", "id: A Fact"), "0.yaml:1: [0].id: 'A Fact' must match"),
        (GOOD + "  colour: red\n", "0.yaml:7: [0].colour: unknown key (expected id, title"),
        ("id: not-a-list\n", "0.yaml:1: must be a list"),
        ("", "0.yaml:1: the sources registry file is empty"),
    ],
)
def test_malformed_entries_name_file_line_and_problem(tmp_path, text, message):
    with pytest.raises(SourcesError) as refused:
        _registry(tmp_path, text)
    assert str(refused.value).startswith(f"{tmp_path}/{message}") and "\n" not in str(refused.value)


def test_duplicate_ids_across_files_name_both_places(tmp_path):
    with pytest.raises(SourcesError, match=r"1.yaml:1: duplicate id 'a-fact' \(first at .*0.yaml:1\)"):
        _registry(tmp_path, GOOD, GOOD)


def test_citing_an_unknown_id_fails(tmp_path):
    cite = Citations(_registry(tmp_path, GOOD))
    assert cite("a-fact") == "[^1]" and cite("a-fact") == "[^1]"  # the same number for the same source
    assert cite.used == ["a-fact"]
    with pytest.raises(SourcesError):
        cite("made-up")


def test_csv_sorts_columns_and_rows_so_diffs_mean_real_change():
    rows = [{"b": 2, "a": "y"}, {"b": 1, "a": "x"}]
    assert csv_bytes(rows) == b"a,b\nx,1\ny,2\n"
    assert csv_bytes(list(reversed(rows))) == csv_bytes(rows)


def test_json_sorts_keys_and_refuses_nan():
    assert json_bytes({"b": 1, "a": [1.5]}) == b'{\n  "a": [\n    1.5\n  ],\n  "b": 1\n}\n'
    with pytest.raises(EvidenceError, match="non-finite"):
        json_bytes({"x": float("nan")}, "evidence/x.json")


def test_writer_refuses_paths_outside_the_tree_and_double_writes(tmp_path):
    writer = EvidenceWriter(root=tmp_path, producer="t")
    with pytest.raises(EvidenceError):
        writer.text("../escape.txt", "x")
    writer.text("ok.txt", "x")
    with pytest.raises(EvidenceError, match="written twice"):
        writer.text("ok.txt", "y")


def test_template_errors_name_the_template_and_line(tmp_path, monkeypatch):
    from blastpay import config

    monkeypatch.setattr(config, "TEMPLATES_DIR", tmp_path)
    (tmp_path / "t.md.j2").write_text("line one\n{{ missing_value }}\n")
    with pytest.raises(RenderError, match=r"t.md.j2:2: UndefinedError: 'missing_value' is undefined"):
        render_template("t.md.j2", {})
    (tmp_path / "s.md.j2").write_text("ok\nok\n{% if %}\n")
    with pytest.raises(RenderError, match=r"s.md.j2:3: TemplateSyntaxError"):
        render_template("s.md.j2", {})


def test_figures_convert_between_units_and_refuse_the_rest(tmp_path):
    text = GOOD.replace("0.5, unit: share", "2.9, unit: percent") + GOOD.replace("a-fact", "lifetime").replace(
        "0.5, unit: share", "30, unit: days")
    reg = _registry(tmp_path, text)
    assert reg.figure_in("a-fact", "share") == 2.9 / 100.0
    assert reg.figure_in("lifetime", "hours") == 720.0
    with pytest.raises(SourcesError, match="source 'lifetime' has unit 'days'; usd or cents expected"):
        reg.figure_in("lifetime", "usd")
