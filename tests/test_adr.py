"""The rendered ADR: one recommendation, every number traceable, and prose that cannot contradict the evidence."""

import json
import re
import shutil

import pytest

from blastpay import config
from blastpay.adr.narrative_guard import evidence_values, registry_values, untraceable_numbers
from blastpay.adr.render import RenderError, render_documents
from blastpay.experiments import decision_inputs
from blastpay.models.decision import Dimension, decide, load_weights
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
    cited = set(re.findall(r"\[([a-z0-9][a-z0-9-]+)\]", adr)) & set(registry.ids())
    allowed = evidence_values(fresh_stage / "evidence") | registry_values(registry, cited)
    assert untraceable_numbers(adr, allowed) == []
    numbers = re.findall(r"\d+\.\d+%", adr)
    assert len(numbers) > 20, "the ADR should quote its evidence"


FIRST_SCREEN_LINES = 40


def _first_screen(adr: str) -> str:
    return "\n".join(adr.splitlines()[:FIRST_SCREEN_LINES])


def _fmt3(x: float) -> str:
    return f"{float(x):.3f}"


def test_the_first_screen_says_what_is_recommended_how_sure_what_flips_it_the_cost_and_to_stop_the_patch(adr):
    decision = json.loads((config.ROOT / "evidence/decision/decision.json").read_text())
    sweep = json.loads((config.ROOT / "evidence/decision/robustness.json").read_text())
    cost = json.loads((config.ROOT / "evidence/cost/summary.json").read_text())
    screen = _first_screen(adr)
    from blastpay.display_names import VARIANTS

    assert VARIANTS[decision["recommended_variant"]] in screen
    assert _fmt3(decision["fair_margin"]) in screen, "the fair margin"
    assert f"**{100 * sweep['recommended_option_win_share']:.1f}%** of {sweep['samples']:,} weight sets" in screen
    flip = decision["smallest_flip"]
    assert "What would flip it:" in screen and VARIANTS[flip["new_winner_variant"]] in screen
    assert _fmt3(flip["flipped_weight"]) in screen
    assert "**Cost.**" in screen and f"${cost['card_fee_usd']['tournament_fee']:,.2f}" in screen
    assert "> **Stop the 30-day patch now.**" in screen and "**Until the Payment Links ship:**" in screen
    assert "`blastpay adr approve --by Lucas`" in screen and "asked to approve" in screen
    assert "our backend" in screen and "Stripe hosts" in screen, "the trade-off each way"


def test_the_adr_is_a_reviewers_length_in_madr_order_with_one_chosen_option(adr):
    assert len(adr.splitlines()) <= 420
    headings = [h for h in re.findall(r"^## (.+)$", adr, re.M)]
    madr = ["Context and Problem Statement", "Decision Drivers", "Considered Options", "Decision Outcome",
            "Pros and Cons of the Options", "More Information"]
    assert headings == madr
    outcome = adr.split("## Decision Outcome", 1)[1].split("\n## ", 1)[0]
    assert "### Consequences" in outcome and "### Confirmation" in outcome
    assert len(re.findall(r"^Chosen option: ", adr, re.M)) == 1
    more = adr.split("## More Information", 1)[1]
    assert "### Migration checklist" in more and "### What a parent sees: the spike's questions" in more
    assert "| yes |" not in adr, "robustness is a weight-space share, not a column of yes"


def test_no_overclaims_the_issue_named(adr):
    assert "only design in which the link never dies" not in adr
    assert "a blast of any size makes no Stripe call" not in adr
    assert "Mail scanners that open links at delivery do mint sessions" in adr
    assert "switching the matcher before the old sessions drained did not" not in adr


def test_the_spike_questions_table_and_the_migration_steps_come_from_evidence(adr):
    from blastpay.display_names import STEPS

    table = adr.split("### What a parent sees: the spike's questions", 1)[1].split("\n### ", 1)[0]
    assert "| Journey |" in table and "click" in table and "`after_completion`" in table and "`cancel_url`" in table
    assert "[payment-link-after-completion]" in table and "[checkout-cancel-url]" in table
    assert table.count("**Perceived reliability**") == 1
    summary = json.loads((config.ROOT / "evidence/migration/summary.json").read_text())
    checklist = adr.split("### Migration checklist", 1)[1].split("\n### ", 1)[0]
    positions = [checklist.index(STEPS[s]) for s in summary["safe_order_steps"]]
    assert positions == sorted(positions), "the checklist follows the rehearsal's proven order"
    assert checklist.count("Rehearsed: ") == len(summary["safe_order_steps"])


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


def test_evidence_that_picks_another_option_makes_rendering_fail_naming_the_contradiction(fresh_stage, tmp_path):
    evidence = _copy_evidence(fresh_stage, tmp_path)
    path = evidence / "decision" / "decision.json"
    decision = json.loads(path.read_text())
    decision["recommended_option"] = "lazy_mint"
    decision["recommended_variant"] = "lazy_mint_db"
    path.write_text(json.dumps(decision))
    with pytest.raises(RenderError, match=r"adr.md.j2:\d+: NarrativeError: the prose argues for 'Stripe Payment Links"):
        render_documents(evidence)


def test_a_weight_change_that_flips_the_winner_fails_the_render(fresh_stage, tmp_path):
    evidence = _copy_evidence(fresh_stage, tmp_path)
    dims = load_weights(config.EXPERIMENTS_DIR / "weights.yaml")
    metrics, infeasible = decision_inputs.collect(evidence)
    # Weigh nothing but the retry cohort: the design that sends a returning parent back to the open session wins.
    heavy = [Dimension(d.name, 10.0 if d.name == "retry_cohort" else 0.0, d.why, d.metrics) for d in dims]
    flipped = decide(metrics["central"], heavy, infeasible)
    assert flipped.recommended_option != "payment_links"
    path = evidence / "decision" / "decision.json"
    decision = json.loads(path.read_text())
    decision.update(recommended_option=flipped.recommended_option, recommended_variant=flipped.recommended_variant)
    path.write_text(json.dumps(decision))
    with pytest.raises(RenderError, match="but the evidence recommends"):
        render_documents(evidence)


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
