"""Builds the ADR's template context from the evidence tree and the sources registry.

Everything the template prints comes from here: evidence JSON/CSV files, registry entries, the approval
record, and a few values derived from them in plain arithmetic (never a typed number).
"""

from __future__ import annotations

from typing import Any

from blastpay import config
from blastpay.adr import display_names
from blastpay.adr.approval import approval_context
from blastpay.models.decision import OPTION_OF, OPTION_TITLES
from blastpay.adr.narrative_guard import Guard
from blastpay.evidence.manifest import evidence_hash
from blastpay.adr.evidence_view import Citations, EvidenceView, read_csv
from blastpay.sources.registry import Registry


def adr_context(ev: EvidenceView, registry: Registry) -> dict[str, Any]:
    params = config.load_run_params()
    decision = ev("decision/decision.json")
    latency = ev("latency/summary.json")
    central = latency["by_scenario"]["central"]
    chosen = decision["recommended_variant"]
    today = "ttl_24h"
    ctx: dict[str, Any] = {
        "ev": ev,
        "cite": Citations(registry),
        "registry": registry,
        "guard": Guard(decision["recommended_option"], OPTION_TITLES,
                       {option: decision["scores"][variant] for option, variant in decision["best_of_option"].items()}),
        "as_of": params.as_of.isoformat(),
        "evidence_hash": evidence_hash(ev.root),
        "facts": ev("stripe-facts/facts.json"),
        "rules": ev("stripe-facts/emulator_rules.json"),
        "rule_rows": read_csv(ev, "stripe-facts/emulator_rules.csv"),
        "decision": decision,
        "chosen": chosen,
        "today": today,
        "option_of": OPTION_OF,
        "option_titles": OPTION_TITLES,
        "variant_titles": display_names.VARIANTS,  # the reader's names (display_names.py), not the model's titles
        "latency": latency,
        "central": central,
        "models": ev("latency/models.json"),
        "validation": read_csv(ev, "latency/model_validation.csv"),
        "cohort": ev("retry-cohort/decision_metric.json"),
        "cohort_rows": read_csv(ev, "retry-cohort/summary.csv"),
        "cost": ev("cost/summary.json"),
        "match": ev("webhook-match/summary.json"),
        "faults": ev("failure-modes/summary.json"),
        "fault_matrix": read_csv(ev, "failure-modes/matrix.csv"),
        "migration": ev("migration/summary.json"),
        "checklist": ev("decision/migration_checklist.json"),
        "reliability": ev("reliability/summary.json"),
        "journeys": ev("journeys/summary.json"),
        "robustness": read_csv(ev, "decision/robustness.csv"),
        "sweep": ev("decision/robustness.json"),
        **approval_context(ev.root),
    }
    return ctx
