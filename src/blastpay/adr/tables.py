"""Rows and phrases the ADR's tables need, built from evidence rows: the migration plan with its tests, efforts and
rollbacks, the failure-mode table with each fault's weight, how each answer is known, what a journey showed, and
what each screenshot's caption must say. Pure functions over evidence rows; every number stays as the evidence
wrote it, so the narrative guard can trace it."""

from __future__ import annotations

from typing import Any, Iterable, Mapping

from blastpay import display_names

# The rehearsed cut-over order, by kind of step: build the new path (flag off), make the matcher take both shapes,
# switch the links (call sites and templates), rehearse and gate, then retire what the old path needed.
RANK = {"secret_added": 1, "table_added": 1, "route_added": 1, "stripe_kind_added": 1, "worker_added": 1,
        "job_added": 1, "feature_flag": 1, "webhook_handler": 2, "session_create": 3, "expires_at": 3, "url_flow": 3,
        "test": 3, "template": 3, "rehearsal": 4, "live_probe": 4, "rollback_drill": 4, "worker_removed": 5,
        "job_removed": 5, "table_removed": 6, "doc": 6}
NOT_NAMED = "a file the spike does not name (the rescan pins it)"


def _rank(step: Mapping[str, Any]) -> int:
    """The jobs every option needs come first (the stop-gap among them), then the test-mode probe: it checks Stripe's
    behaviour before anything is built on it."""
    if step.get("common") in ("True", True) and step["kind"] == "job_added":
        return -1
    if step["kind"] == "live_probe":
        return 0
    return RANK.get(step.get("site") or step["kind"], 3)


def plan_rows(steps: list[dict[str, str]], items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The chosen option's steps in the order to do them, each with where, the test that proves it, its effort and
    its rollback. A call-site step's change is the inventory's text for that site."""
    changes = {(i.get("kind"), i.get("file") or None): i for i in items}
    rows = []
    for s in sorted(steps, key=lambda s: (_rank(s), int(s["step"]))):
        site = s.get("site") or None
        item = changes.get((site, s.get("file") or None)) if site else None
        where = s.get("file") or ("basketball-api" if item is None else NOT_NAMED)
        if s["kind"] == "live_probe":
            where = "this repository, with basketball-api's test-mode key"
        rows.append({"what": _words(s["what"] if item is None else item["change"]),
                     "where": where,
                     "test": _words(s.get("test") or ""), "days": float(s["days"]), "rollback": _words(s["rollback"])})
    return rows


def _words(text: str) -> str:
    return display_names.words(text)


def step_summary(steps: list[dict[str, str]]) -> str:
    """The kinds of step an option needs of its own (not the cut-over or the mitigation jobs every option needs, nor
    optional clean-up of no cost), in words and without counts (the checklist has them)."""
    cutover = ("feature_flag", "rehearsal", "live_probe", "rollback_drill")
    own = [s for s in sorted(steps, key=_rank) if s["kind"] not in cutover and s.get("common") not in ("True", True)
           and float(s["days"]) > 0]
    names = [display_names.STEP_KINDS.get(k, k) for k in dict.fromkeys(s["kind"] for s in own)]
    if not names:
        return "the reminder and incident jobs every option needs"
    return ", ".join(names) + ", and the reminder and incident jobs every option needs"


def schema_note(steps: list[dict[str, str]]) -> str:
    """The schema change an option needs, from its table steps: the reference flow's tables as PostgreSQL DDL (the
    migration's up step; its down step drops them), or the sentence saying none is needed."""
    added = [s["what"].split("create table ", 1)[1] for s in steps if s["kind"] == "table_added"]
    if not added:
        return ("Schema: no new table. The link's id and URL are stored where today's session id is (the reference flow's "
                "table of Stripe objects, with the link's kind). If basketball-api keeps the session id on the order "
                "itself, the migration adds the link's id beside it (part of the step that creates, stores and retires "
                "the link); its down step drops the column.\n\n```sql\nALTER TABLE orders ADD COLUMN "
                "stripe_payment_link_id VARCHAR(255);\n-- down: ALTER TABLE orders DROP COLUMN stripe_payment_link_id;\n```")
    from sqlalchemy.dialects import postgresql
    from sqlalchemy.schema import CreateTable

    from blastpay.flows.order_models import Base

    ddl = [str(CreateTable(Base.metadata.tables[t]).compile(dialect=postgresql.dialect())).strip() + ";"
           for t in added]
    down = "; ".join(f"DROP TABLE {t}" for t in reversed(added))
    return ("Schema: the migration's up step creates the reference flow's tables (`src/blastpay/flows/order_models.py`), "
            f"its down step runs `{down};`\n\n```sql\n" + "\n".join(ddl) + "\n```")


def how_often(row: Mapping[str, str]) -> str:
    """A fault's likelihood in words, with the numbers as harms_by_fault.csv wrote them."""
    if row.get("share_of"):
        comp = {"basketball_api": "basketball-api's", "stripe_api": "Stripe's API's",
                "stripe_wholly": "Stripe's (API and pages)"}.get(row["share_of"], row["share_of"])
        return f"{100 * float(row['share']):.1f}% of {comp} downtime"
    if row.get("per_year"):
        return f"{float(row['per_year']):g} a year"
    if row.get("per_order"):
        text = f"{100 * float(row['per_order']):.1f}% of orders"
        if row.get("old_email_share") not in (None, "", "1.0", "1"):
            text += f", {100 * float(row['old_email_share']):.0f}% of their parents clicking the old email"
        return text + (" while basketball-api is down" if row.get("while") else "")
    return "-"


def fault_table(by_fault: list[dict[str, str]], chosen: str, runner_up: str) -> list[dict[str, Any]]:
    """Per fault: how often, and the yearly error pages and parents stranded it brings each leader."""
    def find(variant: str, fault: str) -> Mapping[str, str]:
        return next(r for r in by_fault if r["variant"] == variant and r["fault"] == fault)

    faults = [r["fault"] for r in by_fault if r["variant"] == chosen and not r["fault"].startswith("(")]
    out = []
    for fault in faults:
        mine, theirs = find(chosen, fault), find(runner_up, fault)
        out.append({"fault": fault, "how_often": how_often(mine),
                    "w_errors": float(mine["temporary_error_pages"]) + float(mine["dead_link_pages"]),
                    "w_stranded": float(mine["parents_stranded"]),
                    "ru_errors": float(theirs["temporary_error_pages"]) + float(theirs["dead_link_pages"]),
                    "ru_stranded": float(theirs["parents_stranded"])})
    return out


def proof(rule_rows: Mapping[str, Mapping[str, str]], rules: Iterable[str]) -> str:
    """How an answer is known: verified in Stripe's test mode when every rule behind it was, else the docs (or an
    assumption) and the emulator."""
    rows = [rule_rows[r] for r in rules]
    if rows and all(r.get("verified_on") for r in rows):
        return "Verified in Stripe's test mode"
    if any(r.get("settled_by") == "assumption" for r in rows):
        return "An assumption where the docs are silent, run in the emulator; test mode not yet run"
    return "Stripe's docs and the emulator; test mode not yet run"


def journey_cell(journeys: list[dict[str, str]], path: str, when: str, variant: str) -> str:
    r = next((r for r in journeys if (r["path"], r["click_at"], r["variant"]) == (path, when, variant)), None)
    if r is None:
        return "not walked"
    pages = " → ".join(display_names.display("page", p) for p in r["pages"].split(" > "))
    clicks = int(float(r["clicks"]))
    return f"{clicks} click{'' if clicks == 1 else 's'}: {pages}; order {r['order_status']}"


def screen_caption(ev: Any, journeys: list[dict[str, str]], variant: str, when: str, path: str) -> str:
    """Who served each page of a screenshot, and the order's state when the last one was shown: a thank-you page
    shown while the order still waits for its webhook says so."""
    sidecar = ev(f"journeys/screens/{variant}-{when}-{path}.page.json")
    sources = list(dict.fromkeys(step["source"] for step in sidecar["steps"]))
    r = next(r for r in journeys if (r["path"], r["click_at"], r["variant"]) == (path, when, variant))
    status = r["order_status"]
    if r["final_page"] == "success" and status != "paid":
        state = f"the order still {status}: the thank-you page came before the payment webhook"
    else:
        state = f"the order {status}"
    return "served by " + ", then ".join(sources) + "; " + state


def added_parts(row: Mapping[str, Any]) -> str:
    parts = [row.get(k) or "" for k in ("new_routes", "new_tables", "new_stripe_object_kinds", "new_secrets",
                                        "new_workers", "new_scheduled_jobs")]
    return _words("; ".join(p for p in parts if p))


RECURRING_OPTIONS = {"payment_links": "payment_link", "lazy_mint": "lazy_mint", "ttl_30d": "checkout_session"}
CASES = {"monthly_fee": "A monthly fee as a subscription", "tax": "Automatic tax", "multi_line_items": "Several line items"}


def recurring(ev: Any, proof: Any, chosen_option: str, runner_up_option: str) -> dict[str, Any]:
    """The spike's question on subscriptions, tax and line items, from evidence/recurring/summary.json: the answer's
    one sentence, the cases for the section (each option's quotable sentence), the sources to cite and how it is known."""
    data = ev("recurring/summary.json")
    options = data["options"]
    w, ru = RECURRING_OPTIONS[chosen_option], RECURRING_OPTIONS[runner_up_option]
    link, lazy = options["payment_link"]["monthly_fee"]["found"], options["lazy_mint"]["monthly_fee"]["found"]
    answer = ("The same for both except one: with a monthly fee as a subscription, a second payable session "
              f"starts a second subscription ({link['subscriptions_for_one_order_before_cleanup']} for the "
              f"Payment Link before the clean-up, {lazy['subscriptions_for_one_order_before_cleanup']} for "
              "lazy-mint; an assumption: Stripe's docs do not say whether a session a Payment Link opened stays payable "
              "once the link's limit is reached); for either, the order id reaches the subscription's invoices only "
              "through the subscription's metadata, renewals need the invoice events, and automatic tax needs prices "
              "marked tax-inclusive.")
    cases = [{"case": CASES[case], "w": _words(options[w][case]["sentence"]), "ru": _words(options[ru][case]["sentence"])}
             for case in CASES]
    rules = sorted({r for o in (w, ru) for c in CASES for r in options[o][c]["rules"]})
    sources = list(dict.fromkeys(sid for c in CASES for sid in options[w][c]["sources"]))
    return {"recurring": data, "recurring_answer": answer, "recurring_cases": cases,
            "recurring_evidence": "Subscription, invoice and tax runs through both options",
            "recurring_sources": sources[:3], "recurring_all_sources": sources, "recurring_proof": proof(*rules)}
