"""Values the ADR's first screen states, derived from evidence in plain comparisons (never a typed number).

- where the margin comes from: per driver, whether the recommended variant wins, ties or loses against the runner-up
  (``decision.json`` ``dimension_scores``);
- how much is verified: live-verified rules, assumptions, whether basketball-api was scanned, placeholder fees;
- what the chosen option needs built (``cost/engineering.csv``): tables, workers, jobs, secrets, Stripe object kinds,
  reference-flow size;
- whether halving or doubling any single weight keeps the answer (``decision/robustness.csv``);
- counts the prose states (faults without the baseline, money-safe fault cells).
"""

from __future__ import annotations

from typing import Any

from blastpay import display_names

TIE = 1e-6


def margin_story(detail: dict[str, dict[str, Any]]) -> dict[str, list[Any]]:
    """Where the margin comes from (``decision.json`` ``dimension_verdicts_detail``): the drivers (reader's names)
    on which the recommended variant gains on the runner-up and gives back, each with the size of its weighted
    contribution to the margin, largest first, and the drivers where the two tie."""
    out: dict[str, list[Any]] = {"gains": [], "gives": [], "ties": []}
    for dim, d in sorted(detail.items(), key=lambda kv: (-float(kv[1]["contribution_size"]), kv[0])):
        name = display_names.display("driver", dim)
        name = name[:1].lower() + name[1:]
        if d["verdict"] == "ties":
            out["ties"].append(name)
        else:
            out["gains" if d["verdict"] == "wins" else "gives"].append({"name": name, "size": d["contribution_size"]})
    return out


def build_of(engineering: list[dict[str, str]], variant: str) -> dict[str, Any]:
    """What the reference flow of ``variant`` runs on, from ``cost/engineering.csv``."""
    row = next((r for r in engineering if r["variant"] == variant), None)
    if row is None:
        return {}
    return {
        "tables": row.get("tables", "").split(),
        "new_tables": row.get("new_tables", "").split(),
        "workers": [w.strip() for w in row.get("workers", "").split(";") if w.strip()],
        "jobs": [j.strip() for j in row.get("scheduled_jobs", "").split(";") if j.strip()],
        "routes": row.get("new_routes", "").split(),
        "secrets": row.get("new_secrets", "").split(),
        "stripe_object_kinds": row.get("new_stripe_object_kinds", "").split(),
        "lines": int(row["reference_flow_lines_of_code"]) if row.get("reference_flow_lines_of_code") else None,
    }


def weights_robust(robustness: list[dict[str, str]]) -> bool | None:
    """True when every halved-or-doubled single weight keeps the recommended option; None when not measured."""
    rows = [r for r in robustness if r.get("kind") == "weights"]
    if not rows:
        return None
    return all(r.get("same_option_as_base") == "True" for r in rows)


def weight_flips(robustness: list[dict[str, str]]) -> list[str]:
    """The halved-or-doubled single weights that change the recommended option, in the reader's words
    ("failure modes halved")."""
    out = []
    for r in robustness:
        if r.get("kind") == "weights" and r.get("same_option_as_base") != "True":
            dim, _, change = r["case"].rpartition(" ")
            name = display_names.display("driver", dim)
            out.append(f"{name[:1].lower() + name[1:]} {change}")
    return out


def verified(rules: dict[str, Any], checklist: dict[str, Any]) -> dict[str, Any]:
    return {
        "live": rules.get("verified_live", 0),
        "contradicted": rules.get("contradicted_live", 0),
        "rules": rules.get("rules"),
        "assumptions": rules["assumptions"] if isinstance(rules.get("assumptions"), int) else len(rules.get("assumptions", [])),
        "scanned": "not yet scanned" not in str(checklist.get("inventory_status", "")),
    }


def fault_counts(faults: dict[str, Any], variant: str) -> dict[str, int]:
    names = [f for f in faults["faults"] if f != "none"]
    fv = faults["by_variant"][variant]
    cells = int(fv.get("cells", len(names)))
    return {"faults": len(names), "baseline": len(faults["faults"]) - len(names), "cells": cells,
            "money_safe_cells": round(float(fv["fault_cells_money_safe_share"]) * cells)}


def money_safe_cells(faults: dict[str, Any]) -> dict[str, tuple[int, int]]:
    out = {}
    for v, fv in faults["by_variant"].items():
        cells = int(fv.get("cells", len(faults["faults"]) - 1))
        out[v] = (cells - round(float(fv["fault_cells_money_safe_share"]) * cells), cells)
    return out


def load_verdict(load: dict[str, Any] | None) -> dict[str, Any] | None:
    """The load benchmark of the store that injects Stripe's latency: date, machine load, whether targets held."""
    if not load:
        return None
    stores = load.get("stores", {})
    for name, s in sorted(stores.items()):
        if "latency_verdicts" in s:
            la = s.get("load_average_1m") or {}
            cpu = s.get("cpu_budget") or None
            if cpu:
                cpu = dict(cpu, rate_label=str(cpu["rate"]).removeprefix("rate_").removesuffix("_rps") + " clicks/s")
            per_rate = (s.get("latency_verdicts_per_rate") or {}).get("new") or {}
            rates = sorted(per_rate, key=float)
            targets = [{"name": k, "highest": max((r for r in rates if per_rate[r].get(k)), key=float, default=None)}
                       for k in s["latency_verdicts"]]
            lowest = f"rate_{rates[0]}_rps" if rates else None
            figures = s.get("figures") or {}
            hold = None
            if lowest and lowest in figures and f"old_{lowest}" in figures:
                hold = {"rate": rates[0], "new": figures[lowest].get("db_hold_per_click_p99_ms"),
                        "old": figures[f"old_{lowest}"].get("db_hold_per_click_p99_ms"),
                        "busy": figures[lowest].get("machine_cpu_busy_share")}
            by_rate = [{"rate": r, "minting_p99": figures.get(f"rate_{r}_rps", {}).get("minting_click_p99_ms"),
                        "hold_p99": figures.get(f"rate_{r}_rps", {}).get("db_hold_per_click_p99_ms"),
                        "busy": figures.get(f"rate_{r}_rps", {}).get("machine_cpu_busy_share")} for r in rates]
            old_top = figures.get(f"old_rate_{rates[-1]}_rps", {}) if rates else {}
            return {"store": name, "measured_at": s.get("measured_at", load.get("measured_at")), "cpu": cpu,
                    "targets": targets, "hold": hold, "by_rate": by_rate, "limits": load.get("targets") or {},
                    "seconds": s.get("seconds_per_rate"), "latency": s.get("stripe_latency") or {},
                    "old_top_cpu": old_top.get("stack_cpu_ms_per_request"),
                    "load_start": la.get("start"), "load_end": la.get("end"),
                    "highest_rate": s.get("highest_rate_latency_targets_hold"),
                    "held": [k for k, ok in s["latency_verdicts"].items() if ok],
                    "failed": [k for k, ok in s["latency_verdicts"].items() if not ok]}
    return None


def stopgap(central: dict[str, Any], latency: dict[str, Any], today: str = "ttl_24h") -> dict[str, Any]:
    """The stop-gap the evidence measures, central scenario: today's 24-hour sessions plus our own reminder that
    carries a fresh 24-hour session (the blast model's reminder rows), and Stripe's recovery email at the assumed
    consent share and, as an upper bound, with every parent consenting (``recovery_consent_sweep``)."""
    reminder = (latency.get("reminder_by_scenario") or {}).get("central", {}).get(today)
    sweep = [r for r in latency.get("recovery_consent_sweep") or []
             if r.get("scenario") == "central" and r.get("reminder_hours") is None]
    consent = latency.get("recovery_consent_share")
    assumed = next((r for r in sweep if consent is not None and r["recovery_consent_share"] == consent), None)
    everyone = next((r for r in sweep if r["recovery_consent_share"] == 1), None)
    return {
        "today_stranded": central[today]["stranded_share_of_clickers"],
        "reminder_hours": latency.get("reminder_hours"),
        "reminder_stranded": reminder["stranded_share_of_clickers"] if reminder else None,
        "consent_share": float(consent) if consent is not None else None,
        "recovery_stranded_assumed": assumed["stranded_share_of_clickers"] if assumed else None,
        "recovery_stranded_all_consent": everyone["stranded_share_of_clickers"] if everyone else None,
    }


# The load benchmark's verdicts, in the reader's words.
VERDICTS = {
    "db_hold_per_click_p99_under_5ms": "the time a click holds database connections",
    "minting_click_p99_within_stripe_p99_plus_30ms": "a click that creates a Checkout Session answers within Stripe's own p99 plus an allowance",
    "no_pool_timeouts": "no connection-pool timeouts",
    "sustained_without_errors": "sustained without errors",
}
