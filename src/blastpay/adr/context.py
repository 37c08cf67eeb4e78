"""Builds the ADR's template context from the evidence tree and the sources registry.

Everything the template prints comes from here: evidence JSON/CSV files, registry entries, the approval
record, and a few values derived from them in plain arithmetic (never a typed number).
"""

from __future__ import annotations

from typing import Any

from blastpay import config, display_names
from blastpay.adr import first_screen
from blastpay.adr import tables as adr_tables
from blastpay.adr.approval import approval_context
from blastpay.adr.evidence_view import Citations, EvidenceView, read_csv
from blastpay.adr.narrative_guard import Guard
from blastpay.adr.spike_questions import spike_table
from blastpay.evidence.manifest import evidence_hash
from blastpay.evidence.writer import EvidenceError
from blastpay.models import fees
from blastpay.models.decision import OPTION_OF, OPTION_TITLES
from blastpay.sources.inputs import read_document
from blastpay.sources.registry import Registry


def adr_context(ev: EvidenceView, registry: Registry) -> dict[str, Any]:
    params = config.load_run_params()
    decision = ev("decision/decision.json")
    latency = ev("latency/summary.json")
    central = latency["by_scenario"]["central"]
    chosen = decision["recommended_variant"]
    runner_up = decision["runner_up_variant"]
    today = "ttl_24h"
    ctx: dict[str, Any] = {
        "ev": ev,
        "cite": Citations(registry),
        "registry": registry,
        "guard": Guard(decision["recommended_option"], OPTION_TITLES,
                       {option: decision["variants"][variant]["horizon_usd"]
                        for option, variant in decision["best_of_option"].items() if variant in decision["variants"]},
                       runner_up_option=decision["runner_up_option"], prose_dir=config.TEMPLATES_DIR / "adr_prose"),
        "as_of": params.as_of.isoformat(),
        "evidence_hash": evidence_hash(ev.root),
        "facts": ev("stripe-facts/facts.json"),
        "rules": ev("stripe-facts/emulator_rules.json"),
        "decision": decision,
        "chosen": chosen,
        "today": today,
        "option_of": OPTION_OF,
        "option_titles": OPTION_TITLES,
        "variant_titles": display_names.VARIANTS,
        "variant_details": display_names.VARIANT_DETAILS,  # the reader's names (display_names.py), not the model's titles
        "latency": latency,
        "central": central,
        "cohort": ev("retry-cohort/decision_metric.json"),
        "cost": ev("cost/summary.json"),
        "match": ev("webhook-match/summary.json"),
        "faults": ev("failure-modes/summary.json"),
        "migration": ev("migration/summary.json"),
        "checklist": ev("decision/migration_checklist.json"),
        "reliability": ev("reliability/summary.json"),
        "fee_type": fees.EXPERIMENT_FEE_TYPE,
        "fees_at_club_fee": decision["central"]["card_fee_usd"],
        "yearly_saving_at_full_uptime": decision["break_even"]["yearly_saving_at_no_downtime"],
        **approval_context(ev.root),
        # short names the templates share (the prose files of templates/adr_prose use them too)
        "d": decision, "a": decision["central"], "V": decision["variants"], "w": chosen, "ru": runner_up,
        "be": decision["break_even"], "hy": decision["central"]["horizon_years"], "sg": decision["stopgap"],
        "rp": decision["break_even"]["amount_changed_after_blast_share"],
        "lm": "lazy_mint_db", "pl": "payment_link_per_order",
    }
    ctx["spike_variants"] = list(dict.fromkeys([chosen, runner_up, today, "ttl_30d"]))
    journeys = read_csv(ev, "journeys/journeys.csv")
    ctx["spike"] = spike_table(journeys, ctx["spike_variants"])
    ctx["migration_steps"] = migration_steps(ctx["migration"], read_csv(ev, "migration/rehearsal.csv"),
                                             ctx["checklist"], chosen)
    ctx["verified"] = first_screen.verified(ctx["rules"], ctx["checklist"])
    ctx["load_verdict"] = first_screen.load_verdict(ctx["reliability"].get("load"))
    ctx["stopgap"] = first_screen.stopgap(central, latency)
    rule_rows = {r["rule"]: r for r in read_csv(ev, "stripe-facts/emulator_rules.csv")}
    steps = read_csv(ev, "decision/build_steps.csv")
    by_fault = read_csv(ev, "decision/harms_by_fault.csv")
    ctx["fault_count"] = len([f for f in ctx["faults"]["faults"] if f != "none"])
    ctx["cell_parents"] = int(next(iter(ctx["faults"]["by_variant"].values()))["parents_per_cell"])
    ctx["step_summary"] = {v: adr_tables.step_summary([s for s in steps if s["variant"] == v])
                           for v in decision["variants"]}
    ctx["plan_rows"] = adr_tables.plan_rows([s for s in steps if s["variant"] == chosen], ctx["checklist"]["items"])
    ctx["schema_note"] = adr_tables.schema_note([s for s in steps if s["variant"] == chosen])
    ctx["fault_table"] = adr_tables.fault_table(by_fault, chosen, runner_up)
    ctx["proof"] = lambda *rules: adr_tables.proof(rule_rows, rules)
    ctx["spike_cell"] = lambda path, when, variant: adr_tables.journey_cell(journeys, path, when, variant)
    ctx["screen_caption"] = lambda variant, when, path: adr_tables.screen_caption(ev, journeys, variant, when, path)
    ctx["added_parts"] = lambda variant: adr_tables.added_parts(ctx["cost"]["by_variant"][variant])
    ctx["likelihood_of"] = lambda fault: next(r for r in by_fault if r["fault"] == fault and r["variant"] == chosen)
    ctx.update(adr_tables.recurring(ev, ctx["proof"], decision["recommended_option"], OPTION_OF[runner_up]))
    ctx["cohort_cfg"] = read_document(config.EXPERIMENTS_DIR / "cohort.yaml", "retry-cohort file", EvidenceError).data
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
