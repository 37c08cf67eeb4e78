"""Values the ADR's first screen states, derived from evidence in plain comparisons (never a typed number):
how much is verified (live-verified rules, assumptions, whether basketball-api was scanned), the load benchmark's
verdict on lazy-mint's route, and the stop-gap's figures (today's sessions with our own reminder, Stripe's recovery
email at the assumed consent)."""

from __future__ import annotations

from typing import Any


def verified(rules: dict[str, Any], checklist: dict[str, Any]) -> dict[str, Any]:
    return {
        "live": rules.get("verified_live", 0),
        "contradicted": rules.get("contradicted_live", 0),
        "rules": rules.get("rules"),
        "assumptions": rules["assumptions"] if isinstance(rules.get("assumptions"), int) else len(rules.get("assumptions", [])),
        "scanned": "not yet scanned" not in str(checklist.get("inventory_status", "")),
    }


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
