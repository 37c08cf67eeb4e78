"""Which emulator rules a recorded Stripe test-mode run confirmed, and when.

Each observation reads one recorded answer (or a recheck of it) and says whether it
agrees with a rule of ``blastpay.emulator.rules``. Only records made against Stripe
itself (``target == "stripe"``) count; a run against another base URL verifies nothing.
A rule no live record speaks to stays "cited docs + emulator".
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Iterable

from blastpay.live.probe import DAY, ORDER_METADATA
from blastpay.live.probe_files import probe_files, read_probe

VERIFIED = "verified live"
CONTRADICTED = "contradicted live"
NOT_VERIFIED = "cited docs + emulator"


def _first_step(record: dict[str, Any], name: str) -> dict[str, Any] | None:
    return next((s for s in record.get("steps", []) if s["step"] == name), None)


def _obs(rule: str, holds: bool, day: str, detail: str) -> dict[str, Any]:
    return {"rule": rule, "holds": holds, "date": day, "detail": detail}


def probe_observations(record: dict[str, Any]) -> list[dict[str, Any]]:
    """What the probe's own answers say about the rules."""
    out = []
    day = record["date"]
    step = _first_step(record, "create_checkout_session_30_days")
    if step is not None:
        status = step["response"]["status"]
        error = (step["response"]["body"] or {}).get("error") or {}
        if status >= 400:
            detail = (f"{status} {error.get('type')} code={error.get('code')} param={error.get('param')}: "
                      f"{error.get('message')}")
            out.append(_obs("session.expires_at.max_24h",
                            status == 400 and error.get("param") == "expires_at", day, detail))
        else:
            out.append(_obs("session.expires_at.max_24h", False, day,
                            f"Stripe accepted expires_at 30 days ahead ({status})"))
    return out


def recheck_observations(record: dict[str, Any], recheck: dict[str, Any]) -> list[dict[str, Any]]:
    """What one recheck section says about the rules."""
    out = []
    day = recheck["date"]
    now = recheck["server_time"]
    opened = {s["step"]: s for s in record.get("steps", [])}
    sessions = recheck.get("checkout_sessions", [])

    past = [s for s in sessions if s.get("expires_at") is not None and s["expires_at"] <= now]
    if past:
        open_past = [s["id"] for s in past if s["status"] == "open"]
        out.append(_obs("session.expires.on_clock", not open_past, day,
                        "still open after expires_at: " + ", ".join(open_past) if open_past else
                        f"{len(past)} session(s) past expires_at: statuses " +
                        ", ".join(sorted({s['status'] for s in past}))))
    closed = [s for s in sessions if s["status"] in ("expired", "complete")]
    created_with_url = [
        s for s in ("create_checkout_session_24_hours", "create_checkout_session_recovery")
        if s in opened and (opened[s]["response"]["body"] or {}).get("url")
    ]
    if closed and created_with_url:
        closed_with_url = [s["id"] for s in closed if s["url_present"]]
        out.append(_obs("session.url.only_open", not closed_with_url, day,
                        f"url present at creation on {len(created_with_url)} open session(s); "
                        f"{len(closed) - len(closed_with_url)} of {len(closed)} closed session(s) without url"))
    for s in sessions:
        recovery = s.get("recovery")
        if s["status"] == "expired" and recovery and recovery.get("enabled"):
            ok = recovery["url_present"] and recovery.get("expires_at") is not None
            detail = "recovery url attached" if ok else "expired without a recovery url"
            if recovery.get("expires_at") is not None and s.get("expires_at") is not None:
                detail += f", usable until {(recovery['expires_at'] - s['expires_at']) / DAY:.1f} days after expiry"
            out.append(_obs("recovery.attached_on_expiry", ok, day, detail))

    for link in recheck.get("payment_links", []):
        if not link.get("checked"):
            continue
        restrictions = (link.get("restrictions") or {}).get("completed_sessions")
        limit_reached = bool(restrictions) and restrictions["count"] >= restrictions["limit"]
        if not limit_reached:
            out.append(_obs("link.no_expiry", bool(link["active"] and link["can_start_session"]), day,
                            f"{link['variant']} link {link['age_days']:.0f} days old: active={link['active']}"))
        listed = link.get("sessions", [])
        if listed:
            wrong = [s["id"] for s in listed if s.get("payment_link") != link["id"]]
            out.append(_obs("session.list.by_payment_link", not wrong, day,
                            f"{len(listed)} session(s) listed for the {link['variant']} link"))
            if link["variant"] == "per_order":
                copied = all(all(s["metadata"].get(k) == v for k, v in ORDER_METADATA.items()) for s in listed)
                out.append(_obs("link.metadata_copied", copied, day,
                                f"link metadata on {sum(1 for s in listed if s['metadata'])} of {len(listed)} session(s)"))
    return out


def observations(record: dict[str, Any]) -> list[dict[str, Any]]:
    found = probe_observations(record)
    for recheck in record.get("rechecks", []):
        found += recheck_observations(record, recheck)
    return found


def _emulator_rule_ids() -> list[str]:
    from blastpay.emulator.rules import RULES

    return [rule.id for rule in RULES]


def verification_table(probe_dir: Path, rule_ids: Iterable[str] | None = None) -> list[dict[str, Any]]:
    """Per rule: ``{"rule", "status", "verified_live", "date", "detail", "file"}``.

    ``status`` is "verified live" (latest date a live record agreed), "contradicted live"
    (a live record disagreed: that date wins over any agreement), or "cited docs + emulator".
    ``rule_ids`` defaults to every rule of ``blastpay.emulator.rules``.
    """
    ids = list(rule_ids) if rule_ids is not None else _emulator_rule_ids()
    seen: dict[str, list[tuple[dict[str, Any], str]]] = {}
    for path in probe_files(Path(probe_dir)):
        record = read_probe(path)
        if record.get("target") != "stripe":
            continue
        for obs in observations(record):
            seen.setdefault(obs["rule"], []).append((obs, path.name))
    table = []
    for rule in ids:
        found = seen.get(rule, [])
        against = [f for f in found if not f[0]["holds"]]
        agreeing = [f for f in found if f[0]["holds"]]
        if against:
            obs, name = max(against, key=lambda f: f[0]["date"])
            row = {"status": CONTRADICTED, "verified_live": False}
        elif agreeing:
            obs, name = max(agreeing, key=lambda f: f[0]["date"])
            row = {"status": VERIFIED, "verified_live": True}
        else:
            table.append({"rule": rule, "status": NOT_VERIFIED, "verified_live": False, "date": None,
                          "detail": None, "file": None})
            continue
        table.append({"rule": rule, **row, "date": obs["date"], "detail": obs["detail"], "file": name})
    return table
