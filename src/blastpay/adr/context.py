"""Builds the ADR's template context from the evidence tree and the sources registry.

Everything the template prints comes from here: evidence JSON/CSV files, registry entries, the approval
record, and a few values derived from them in plain arithmetic (never a typed number).
"""

from __future__ import annotations

from typing import Any

from blastpay import config, display_names
from blastpay.adr import first_screen
from blastpay.adr.approval import approval_context
from blastpay.adr.evidence_view import Citations, EvidenceView, read_csv
from blastpay.adr.narrative_guard import Guard
from blastpay.adr.spike_questions import spike_table
from blastpay.evidence.manifest import evidence_hash
from blastpay.models import fees
from blastpay.models.decision import OPTION_OF, OPTION_TITLES
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
        "variant_titles": display_names.VARIANTS,
        "variant_details": display_names.VARIANT_DETAILS,  # the reader's names (display_names.py), not the model's titles
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
        "fee_type": fees.EXPERIMENT_FEE_TYPE,
        **approval_context(ev.root),
    }
    ctx["spike_variants"] = list(dict.fromkeys([chosen, decision["runner_up_variant"], today, "ttl_30d"]))
    ctx["spike"] = spike_table(read_csv(ev, "journeys/journeys.csv"), ctx["spike_variants"])
    ctx["migration_steps"] = migration_steps(ctx["migration"], read_csv(ev, "migration/rehearsal.csv"),
                                             ctx["checklist"], chosen)
    ctx["fault_rows"] = {v: [r for r in ctx["fault_matrix"] if r["variant"] == v] for v in decision["scores"]}
    engineering = read_csv(ev, "cost/engineering.csv")
    ctx["margin_story"] = first_screen.margin_story(decision["dimension_verdicts_detail"])
    ctx["verified"] = first_screen.verified(ctx["rules"], ctx["checklist"])
    ctx["build"] = {v: first_screen.build_of(engineering, v) for v in decision["scores"]}
    ctx["weights_robust"] = first_screen.weights_robust(ctx["robustness"])
    ctx["weight_flips"] = first_screen.weight_flips(ctx["robustness"])
    ctx["fault_counts"] = first_screen.fault_counts(ctx["faults"], chosen)
    ctx["money_safe_cells"] = first_screen.money_safe_cells(ctx["faults"])
    ctx["load_verdict"] = first_screen.load_verdict(ctx["reliability"].get("load"))
    ctx["stopgap"] = first_screen.stopgap(central, latency)
    return ctx


# Which rehearsed unsafe order proves each step of the safe order (it moved that step, or the one it guards, earlier).
STEP_PROOF = {
    "deploy_new_path": "new_links_before_route_deployed",
    "accept_new_webhook_shape": "new_links_before_matcher_accepts_them",
    "email_new_links": "old_sessions_expired_before_new_links",
    "expire_old_sessions": "old_sessions_expired_before_new_links",
    "drop_old_webhook_shape": "matcher_switched_before_old_sessions_drain",
}
HARMS = ("dead_link", "double_charge", "payment_without_paid_order", "paid_order_without_payment", "stranded")


def migration_steps(summary: dict[str, Any], rehearsal: list[dict[str, str]], checklist: dict[str, Any],
                    variant: str) -> dict[str, Any]:
    """The migration checklist in the rehearsal's proven order: each step with the safe run's result for
    ``variant``, the unsafe order that proves it and what that order broke, and the call sites it changes.
    Call-site items of kinds no step names (url flow, templates, docs, tests) follow, in the checklist's order."""
    runs = {r["order_name"]: r for r in rehearsal if r["variant"] == variant}

    def result(name: str) -> dict[str, Any]:
        r = runs[name]
        return {"order": name, "orders": int(r["orders"]), "orders_paid": int(r["orders_paid"]),
                "violations": int(r["violations"]), "harms": {h: int(r[h]) for h in HARMS if int(r[h])}}

    kinds = summary["step_site_kinds"]
    items = list(checklist["items"])
    # Reverting the 30-day patch comes before every step: while it is deployed, every create of the blast fails.
    revert = [i for i in items if i["kind"] == "expires_at"]
    no_sites = {"drop_old_webhook_shape", "expire_old_sessions"}
    steps: list[dict[str, Any]] = []
    proven_by: dict[str, int] = {}
    for n, step in enumerate(summary["safe_order_steps"], 1):
        kind = kinds.get(step)
        mine = [i for i in items if i["kind"] == kind and kind != "expires_at"] if step not in no_sites else []
        order = STEP_PROOF[step]
        steps.append({"step": step, "proof": result(order), "call_sites": mine, "same_proof_as": proven_by.get(order)})
        proven_by.setdefault(order, n)
    named = {kinds[s] for s in summary["safe_order_steps"]} | {"expires_at"}
    return {"safe": result("safe"), "safe_held": summary["safe_order_held"], "steps": steps, "revert": revert,
            "other_items": [i for i in items if i["kind"] not in named]}
