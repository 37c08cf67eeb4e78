"""The rules registry: every rule names a test that exists, and the rendered document lists them all."""
from __future__ import annotations

import ast
from pathlib import Path

from blastpay.emulator.rules import RULES

ROOT = Path(__file__).resolve().parents[2]


def _functions(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    return {node.name for node in tree.body if isinstance(node, ast.FunctionDef)}


def test_every_rule_names_a_test_that_exists():
    missing = []
    for rule in RULES:
        file, _, name = rule.test.partition("::")
        path = ROOT / file
        if not path.exists() or name not in _functions(path):
            missing.append(f"{rule.id} -> {rule.test}")
    assert missing == []


def test_rules_are_unique_and_complete():
    ids = [r.id for r in RULES]
    assert len(ids) == len(set(ids))
    for rule in RULES:
        assert rule.settled_by in ("stripe-docs", "assumption"), rule.id
        assert rule.statement and rule.source and rule.quote, rule.id


def test_rendered_document_lists_every_rule_the_assumptions_and_the_shape_coverage():
    from blastpay.adr.stripe_behaviour import render
    from blastpay.emulator.shapes import emulator_coverage

    text = render(RULES, {}, emulator_coverage())
    for rule in RULES:
        assert f"`{rule.id}`" in text
    assumptions = text.split("## Assumptions", 1)[1]
    assert sum(1 for r in RULES if r.settled_by == "assumption") == assumptions.count("\n- `")
    assert "| `checkout.session` |" in text.split("## Object shapes", 1)[1]
