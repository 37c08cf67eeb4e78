"""The spike's questions, answered from the browser journeys' evidence (``evidence/journeys/journeys.csv``):
clicks to pay and what the parent sees, per option, on the happy path and each failure path, and the counts
behind a one-sentence verdict on perceived reliability. Pure functions over the journeys' rows, so rendering
the ADR needs neither a browser nor the flows."""

from __future__ import annotations

from typing import Any, Iterable, Mapping, Sequence

from blastpay.display_names import CLICK_TIMES, PATHS

PAYABLE = "checkout"  # the page kind of a payable Stripe checkout (blastpay.experiments.journey_browser.PAYABLE)

# Paths on which the order is payable and the parent means to pay: the journey should end paid.
SHOULD_PAY = ("pay", "stripe_failing", "backend_down")
# Pages that stop a parent who means to pay (a correct refusal, such as "Already paid", is not one of them).
ERROR_PAGES = ("cannot_connect", "try_again", "expired", "no_email", "unknown")


def _int(x: Any) -> int:
    return int(float(x))


def spike_table(rows: Iterable[Mapping[str, Any]], variants: Sequence[str]) -> dict[str, Any]:
    """The spike's questions from the walked journeys (rows of ``journeys.csv`` or ``Journey.row()``).

    ``paths``: one row per walked (path, click time), in ``PATHS`` and time order, with each variant's clicks,
    the pages it showed (page kinds, in order) and the order's status afterwards (None: not walked).
    ``by_variant``: the counts a one-sentence reliability verdict needs: journeys walked; journeys on which
    the parent meant to pay a payable order (``SHOULD_PAY``), how many reached a payable page and how many
    ended paid; of those, how many showed an error page (``ERROR_PAGES``; a closed order's refusal is not counted,
    as in the fault runs); journeys that ended on the club's thank-you page while the order was still
    not paid (the confirmation waits for the webhook); and the click counts of the paid journeys."""
    rows = [dict(r) for r in rows if r["variant"] in variants]
    walked = {(r["path"], r["click_at"]) for r in rows}
    order = sorted(walked, key=lambda pw: (list(PATHS).index(pw[0]), list(CLICK_TIMES).index(pw[1])))
    table = []
    for path, when in order:
        cells: dict[str, Any] = {}
        for v in variants:
            r = next((r for r in rows if (r["variant"], r["path"], r["click_at"]) == (v, path, when)), None)
            cells[v] = None if r is None else {
                "clicks": _int(r["clicks"]), "pages": str(r["pages"]).split(" > "), "order_status": r["order_status"]}
        table.append({"path": path, "click_at": when, "by_variant": cells})
    counts: dict[str, Any] = {}
    for v in variants:
        mine = [r for r in rows if r["variant"] == v]
        should = [r for r in mine if r["path"] in SHOULD_PAY]
        paid = [r for r in should if r["order_status"] == "paid"]
        counts[v] = {
            "journeys": len(mine),
            "should_pay": len(should),
            "reached_payable": sum(1 for r in should if PAYABLE in str(r["pages"]).split(" > ")),
            "paid": len(paid),
            "error_page_journeys": sum(1 for r in should if set(str(r["pages"]).split(" > ")) & set(ERROR_PAGES)),
            "thanked_but_not_paid": sum(1 for r in mine if r["final_page"] == "success" and r["order_status"] != "paid"),
            "clicks_to_pay": sorted({_int(r["clicks"]) for r in paid}),
        }
    return {"paths": table, "by_variant": counts}
