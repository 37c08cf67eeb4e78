"""The recheck: what became of the recorded objects once a month has passed.

For every recorded Payment Link at least 30 days old (by Stripe's clock): is it still
active, could it still start a session (active, and its completed-sessions limit not
reached), and which sessions it has started (listed by ``payment_link``, with their
statuses). For every recorded Checkout Session: its final status, whether it still has
a ``url``, and its recovery URL if one was attached. Younger links are listed with the
date from which a recheck will cover them.

Stripe has no "what time is it" endpoint, so the recheck reads Stripe's clock from the
``created`` of an inactive Product it makes for that purpose (recorded like every call).
"""
from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

import stripe

from blastpay.live.client import call
from blastpay.live.probe import DAY
from blastpay.live.recording import RecordingHTTPClient

LINK_AGE_DAYS = 30


def _utc_day(timestamp: int) -> str:
    return datetime.fromtimestamp(timestamp, tz=timezone.utc).date().isoformat()


def can_start_session(link: dict[str, Any]) -> bool:
    """A visit opens a checkout when the link is active and its completed-sessions limit is not reached."""
    if not link.get("active"):
        return False
    restrictions = link.get("restrictions")
    if restrictions and restrictions.get("completed_sessions"):
        completed = restrictions["completed_sessions"]
        return int(completed["count"]) < int(completed["limit"])
    return True


def _session_summary(session: dict[str, Any]) -> dict[str, Any]:
    summary: dict[str, Any] = {
        "id": session["id"],
        "status": session.get("status"),
        "payment_status": session.get("payment_status"),
        "url_present": bool(session.get("url")),
        "payment_link": session.get("payment_link"),
        "metadata": dict(session.get("metadata") or {}),
    }
    after = session.get("after_expiration")
    recovery = after.get("recovery") if after else None
    if recovery is not None:
        summary["recovery"] = {
            "enabled": recovery.get("enabled"),
            "url_present": bool(recovery.get("url")),
            "expires_at": recovery.get("expires_at"),
        }
    return summary


def run_recheck(
    client: stripe.StripeClient, recorder: RecordingHTTPClient, base_url: str, record: dict[str, Any]
) -> dict[str, Any]:
    """Revisit the objects of one probe record; return the recheck section (without its date)."""
    v1 = client.v1
    clock = call(recorder, "read_stripe_clock", base_url, lambda: v1.products.create(
        {"name": "blastpay live recheck clock", "active": False}))
    now = int(clock.created)

    links = []
    for made in record["objects"]["payment_links"]:
        age_days = (now - int(made["created"])) / DAY
        entry: dict[str, Any] = {"variant": made["variant"], "id": made["id"], "age_days": round(age_days, 2)}
        if age_days < LINK_AGE_DAYS:
            entry.update(checked=False,
                         reason=f"younger than {LINK_AGE_DAYS} days; recheck on or after "
                                f"{_utc_day(int(made['created']) + LINK_AGE_DAYS * DAY)}")
        else:
            link = call(recorder, f"retrieve_payment_link_{made['variant']}", base_url,
                        lambda: v1.payment_links.retrieve(made["id"])).to_dict()  # noqa: B023 (called at once)
            sessions = call(recorder, f"list_sessions_of_payment_link_{made['variant']}", base_url,
                            lambda: v1.checkout.sessions.list({"payment_link": made["id"], "limit": 100})).to_dict()  # noqa: B023
            entry.update(
                checked=True,
                active=bool(link.get("active")),
                url_present=bool(link.get("url")),
                can_start_session=can_start_session(link),
                restrictions=link.get("restrictions"),
                metadata=dict(link.get("metadata") or {}),
                sessions=[_session_summary(s) for s in sessions.get("data", [])],
            )
        links.append(entry)

    sessions_out = []
    for made in record["objects"]["checkout_sessions"]:
        session = call(recorder, f"retrieve_checkout_session_{made['variant']}", base_url,
                       lambda: v1.checkout.sessions.retrieve(made["id"])).to_dict()  # noqa: B023 (called at once)
        summary = _session_summary(session)
        summary["variant"] = made["variant"]
        summary["expires_at"] = session.get("expires_at")
        sessions_out.append(summary)

    return {"server_time": now, "payment_links": links, "checkout_sessions": sessions_out}
