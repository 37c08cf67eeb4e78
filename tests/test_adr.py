"""The rendered ADR: one recommendation, every number traceable, and prose that cannot contradict the evidence."""

import json
import re
import shutil

import pytest

from blastpay import config
from blastpay.adr.narrative_guard import evidence_values, first_screen, registry_values, untraceable_numbers
from blastpay.adr.render import RenderError, render_documents
from blastpay.sources.registry import load_registry

ADR = "docs/adr-payment-blast-pattern.md"


@pytest.fixture(scope="module")
def adr(fresh_stage):
    return (fresh_stage / ADR).read_text()


def test_exactly_one_recommendation_and_no_hedging(adr):
    assert len(re.findall(r"^Chosen option: ", adr, re.M)) == 1
    assert "it depends" not in adr.lower()
    decision = json.loads((config.ROOT / "evidence/decision/decision.json").read_text())
    assert 'Chosen option: **"' in adr and decision["recommended_option_title"] in adr


def test_every_number_in_the_adr_traces_to_evidence_or_a_cited_source(adr, fresh_stage):
    registry = load_registry(config.SOURCES_DIR)
    cited = [line.split("<", 1)[1].split(">", 1)[0] for line in adr.splitlines() if line.startswith("[^")]
    ids = [sid for sid in registry.ids() if registry.get(sid)["url"] in cited]
    allowed = evidence_values(fresh_stage / "evidence") | registry_values(registry, ids)
    assert untraceable_numbers(adr, allowed) == []
    assert len(re.findall(r"\$[\d,]+", adr)) > 20, "the ADR should quote its evidence in dollars"


def _money(x: float) -> str:
    return f"${float(x):,.0f}"


def test_the_first_screen_states_the_yearly_harms_the_break_even_the_cost_and_two_separate_approvals(adr):
    decision = json.loads((config.ROOT / "evidence/decision/decision.json").read_text())
    screen = "\n".join(first_screen(adr))
    from blastpay.display_names import VARIANTS

    w, ru = decision["recommended_variant"], decision["runner_up_variant"]
    assert VARIANTS[w] in screen and VARIANTS[ru] in screen
    for v in (w, ru, "ttl_24h"):
        r = decision["variants"][v]
        assert _money(r["horizon_usd"]) in screen and _money(r["yearly_usd"]) in screen
        assert f"{r['yearly']['parents_stranded']:,.1f}" in screen
    tie = decision["break_even"]["availability_horizon"]
    if tie["at"] is not None:
        assert f"above {tie['downtime_hours_a_year']:,.1f}," in screen, "the number Lucas checks"
    reprice = decision["break_even"]["amount_changed_after_blast_share"]
    if reprice["at"] is not None:
        assert f"above {100 * reprice['at']:.2f}%," in screen
    assert "three facts the club can check" in screen
    assert _money(decision["margin_usd"]) in screen and f"{decision['margin_engineer_days']:,.1f} engineer-days" in screen
    missing = decision["without_removed_parts"]
    if missing is not None:
        assert _money(missing["margin_usd"]) in screen, "what the answer is if basketball-api lacks the task worker"
    assert "--item stop-gap" in screen and "--item decision" in screen and '"approve stop-gap"' in screen
    assert "1. **The stop-gap, today.**" in screen and "2. **The decision:**" in screen
    assert f"{decision['variants'][w]['build_days']:,.2f} engineer-days" in screen
    assert "it depends" not in screen.lower() and "judges" not in screen


def test_the_adr_is_in_madr_order_with_one_chosen_option_and_the_spikes_questions(adr):
    headings = [h for h in re.findall(r"^## (.+)$", adr, re.M)]
    madr = ["Context and Problem Statement", "Decision Drivers", "Considered Options", "Decision Outcome",
            "The spike's questions, one by one", "Pros and Cons of the Options", "More Information"]
    assert headings == madr
    outcome = adr.split("## Decision Outcome", 1)[1].split("\n## ", 1)[0]
    assert "### Consequences" in outcome and "### Confirmation" in outcome
    assert len(re.findall(r"^Chosen option: ", adr, re.M)) == 1
    more = adr.split("## More Information", 1)[1]
    for section in ("### How the yearly figures are computed", "### What would change the answer",
                    "### The retry cohort, plainly", "### Migration checklist", "### What a parent sees"):
        assert section in more


SPIKE_QUESTIONS = ["never expire", "per-order metadata", "success and cancel URL", "tax, subscription mode, line items",
                   "fee difference", "where does the route live", "if our service is down", "Token forgery",
                   "99% of real parent open latency", "day 31", "re-engagement", "Parent experience",
                   "Operational complexity", "Fulfilment tracking", "Cost", "Failure modes", "Migration",
                   "retry cohort"]


def test_every_question_of_the_spike_has_its_row_with_an_answer_evidence_and_how_it_is_known(adr):
    table = adr.split("## The spike's questions, one by one", 1)[1].split("\n## ", 1)[0]
    rows = [line for line in table.splitlines() if line.startswith("| ") and not line.startswith("| Question")]
    for question in SPIKE_QUESTIONS:
        row = next((r for r in rows if question.lower() in r.split("|")[1].lower()), None)
        assert row is not None, question
        cells = [c.strip() for c in row.strip("|").split("|")]
        assert len(cells) == 4 and all(cells), row


def test_the_checklist_sums_to_the_engineer_days_and_every_step_has_a_test_and_a_rollback(adr):
    decision = json.loads((config.ROOT / "evidence/decision/decision.json").read_text())
    checklist = adr.split("### Migration checklist", 1)[1].split("\n### ", 1)[0]
    rows = [line for line in checklist.splitlines() if re.match(r"^\| \d+ \|", line)]
    cells = [[c.strip() for c in r.strip("|").split("|")] for r in rows]
    assert cells and all(c[3] and c[5] for c in cells), "a test and a rollback for every step"
    days = sum(float(c[4]) for c in cells)
    assert days == pytest.approx(decision["variants"][decision["recommended_variant"]]["build_days"])
    assert "flag" in checklist and ("Schema" in checklist or "schema" in checklist)
    assert "live probe" in checklist


def test_no_overclaims_and_no_bracketed_source_ids_in_the_prose(adr):
    from blastpay.adr.narrative_guard import BRACKETED_ID

    assert "only design in which the link never dies" not in adr
    assert "a blast of any size makes no Stripe call" not in adr
    prose = re.sub(r"`[^`\n]*`", " ", adr)
    assert not BRACKETED_ID.findall(prose)
    assert re.search(r"\[\^1\]", adr) and re.search(r"^\[\^1\]: ", adr, re.M), "numbered footnotes"


def test_spike_table_counts_journeys_from_rows():
    from blastpay.adr.spike_questions import spike_table

    rows = [
        {"variant": "a", "path": "pay", "click_at": "1h", "clicks": "2", "pages": "checkout > success",
         "final_page": "success", "order_status": "paid"},
        {"variant": "a", "path": "backend_down", "click_at": "31d", "clicks": "2", "pages": "checkout > success",
         "final_page": "success", "order_status": "pending"},
        {"variant": "b", "path": "pay", "click_at": "1h", "clicks": "1", "pages": "expired",
         "final_page": "expired", "order_status": "pending"},
        {"variant": "b", "path": "order_canceled", "click_at": "1h", "clicks": "1", "pages": "expired",
         "final_page": "expired", "order_status": "canceled"},  # a closed order refused: not an error page
    ]
    t = spike_table(rows, ["a", "b"])
    assert [(r["path"], r["click_at"]) for r in t["paths"]] == [("pay", "1h"), ("order_canceled", "1h"),
                                                                ("backend_down", "31d")]
    assert t["paths"][2]["by_variant"]["b"] is None and t["by_variant"]["b"]["journeys"] == 2
    assert t["by_variant"]["a"] == {"journeys": 2, "should_pay": 2, "reached_payable": 2, "paid": 1,
                                    "error_page_journeys": 0, "thanked_but_not_paid": 1, "clicks_to_pay": [2]}
    assert t["by_variant"]["b"]["error_page_journeys"] == 1 and t["by_variant"]["b"]["paid"] == 0


def _copy_evidence(fresh_stage, tmp_path):
    shutil.copytree(fresh_stage / "evidence", tmp_path / "evidence")
    return tmp_path / "evidence"


def _prose_copy(tmp_path, monkeypatch):
    templates = tmp_path / "templates"
    shutil.copytree(config.TEMPLATES_DIR, templates)
    monkeypatch.setattr(config, "TEMPLATES_DIR", templates)
    return templates


def test_prose_that_argues_for_another_option_than_the_evidence_fails_the_render_naming_both(fresh_stage, tmp_path,
                                                                                            monkeypatch):
    """A prose file that argues for the wrong option (here the lazy-mint prose filed under the recommended option's
    name) refuses to render, naming what it argues for and what the evidence recommends."""
    evidence = _copy_evidence(fresh_stage, tmp_path)
    decision = json.loads((evidence / "decision" / "decision.json").read_text())
    prose = _prose_copy(tmp_path, monkeypatch) / "adr_prose"
    other = next(p for p in prose.glob("*.md.j2") if p.stem.split(".")[0] != decision["recommended_option"])
    shutil.copy(other, prose / f"{decision['recommended_option']}.md.j2")
    with pytest.raises(RenderError, match=r"NarrativeError: the prose argues for .* but the evidence recommends"):
        render_documents(evidence)


def test_evidence_that_picks_an_option_no_prose_argues_for_fails_the_render_naming_the_file_to_write(
        fresh_stage, tmp_path, monkeypatch):
    evidence = _copy_evidence(fresh_stage, tmp_path)
    decision = json.loads((evidence / "decision" / "decision.json").read_text())
    prose = _prose_copy(tmp_path, monkeypatch) / "adr_prose"
    (prose / f"{decision['recommended_option']}.md.j2").unlink()
    with pytest.raises(RenderError, match=r"no prose argues for it: write .*adr_prose"):
        render_documents(evidence)


def test_club_numbers_that_flip_the_winner_render_the_other_options_prose(fresh_stage, tmp_path):
    """Re-evaluated with basketball-api down a tenth as long, the evidence recommends another option; its runner-up
    changes with it, and the document renders that option's prose, contrasting it with the new runner-up."""
    from blastpay.experiments.decision_inputs import Knobs, load_model

    evidence = _copy_evidence(fresh_stage, tmp_path)
    model = load_model(evidence)
    base = json.loads((evidence / "decision" / "decision.json").read_text())
    factor = 0.1 if base["recommended_option"] == "payment_links" else 10.0
    _, flipped = model.evaluate(model.central(), Knobs(downtime_factor={"basketball_api": factor}))
    assert flipped.recommended_option != base["recommended_option"]
    path = evidence / "decision" / "decision.json"
    decision = dict(base)
    decision.update(recommended_option=flipped.recommended_option, recommended_variant=flipped.recommended_variant,
                    runner_up_variant=flipped.runner_up_variant, runner_up_option=base["recommended_option"])
    path.write_text(json.dumps(decision))
    text = render_documents(evidence)[ADR].decode()
    title = next(line for line in text.splitlines() if line.startswith("# "))
    assert {"lazy_mint": "lazy-mint", "payment_links": "Payment Link"}[flipped.recommended_option] in title


def test_a_number_typed_into_the_prose_fails_the_render(fresh_stage, tmp_path, monkeypatch):
    evidence = _copy_evidence(fresh_stage, tmp_path)
    templates = tmp_path / "templates"
    shutil.copytree(config.TEMPLATES_DIR, templates)
    adr = templates / "adr.md.j2"
    adr.write_text(adr.read_text().replace("## Context and Problem Statement",
                                           "## Context and Problem Statement\n\nSome 8,675,309 parents pay late.\n"))
    monkeypatch.setattr(config, "TEMPLATES_DIR", templates)
    with pytest.raises(RenderError, match=r"numbers not traceable .*'8,675,309'"):
        render_documents(evidence)


def test_option_3_gets_no_follow_up_issue(fresh_stage, tmp_path):
    from blastpay.adr.evidence_view import EvidenceView
    from blastpay.adr.render import _followup

    evidence = _copy_evidence(fresh_stage, tmp_path)
    assert (fresh_stage / "docs" / "follow-up-feature-issue.md").read_text().startswith("# ")
    path = evidence / "decision" / "decision.json"
    decision = json.loads(path.read_text())
    decision.update(recommended_option="ttl_30d", recommended_variant="ttl_24h")
    path.write_text(json.dumps(decision))
    assert _followup(EvidenceView(evidence), load_registry(config.SOURCES_DIR)) is None


def test_no_internal_id_in_the_adr_prose_and_the_rule_table_lives_in_stripe_behaviour(adr, fresh_stage):
    from blastpay.adr.narrative_guard import internal_ids

    assert internal_ids(adr) == []
    assert "[docs/stripe-behaviour.md](stripe-behaviour.md)" in adr
    assert "| Rule | Settled by | Verified live |" not in adr
    behaviour = (fresh_stage / "docs" / "stripe-behaviour.md").read_text()
    rules = behaviour.split("## Object shapes", 1)[0]  # the coverage table after it has no live column
    rows = [line for line in rules.splitlines() if line.startswith("| `")]
    assert rows and all(line.endswith(("| no |", ")|")) or "| yes (" in line or "contradicted" in line for line in rows)
    assert "cited docs + emulator" not in behaviour


def test_the_top_level_copy_is_the_same_record_with_links_that_work_from_the_root(adr, fresh_stage):
    from blastpay.adr.render import GENERATED_DOCS

    assert "adr-payment-blast-pattern.md" in GENERATED_DOCS  # so `blastpay check` covers it
    top = (fresh_stage / "adr-payment-blast-pattern.md").read_text()
    images = re.findall(r"!\[[^\]]*\]\(([^)]+)\)", top)
    assert images and all((fresh_stage / target).is_file() for target in images)
    assert "(docs/stripe-behaviour.md)" in top
    assert re.sub(r"\]\([^)]*\)", "]()", top).split("-->", 1)[1] == re.sub(r"\]\([^)]*\)", "]()", adr).split("-->", 1)[1]


def test_top_level_rewrites_relative_links_only():
    from blastpay.adr.render import top_level

    text = "<!-- Generated by x -->\n![a](../evidence/a.png) [b](stripe-behaviour.md) <https://x.org> [c](https://y.org/z)\n"
    assert top_level(text).splitlines()[1] == "![a](evidence/a.png) [b](docs/stripe-behaviour.md) <https://x.org> [c](https://y.org/z)"
