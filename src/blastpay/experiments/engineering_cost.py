"""Operational complexity and an engineering-cost proxy, measured from the reference flows themselves.

For each variant the same lifecycle (``_lifecycle``: a blast through the policy's blast job, an order canceled and one
re-priced, parents paying, one paying after a reminder) runs through the flow while we record the workers and scheduled
jobs it needed, and:
the HTTP routes its app serves beyond today's webhook endpoint, the database tables it writes beyond those
today's pattern writes, the Stripe object kinds it creates, the secrets it needs, the Stripe API calls per
paid order, and the lines of flow code the run executes (traced, not counted by hand).
"""

from __future__ import annotations

import sys
import threading
from collections import defaultdict
from pathlib import Path
from typing import Any

import pandas as pd
from fastapi.routing import APIRoute
from sqlalchemy import inspect, text

from blastpay.emulator import Emulator
from blastpay.emulator.clock import DEFAULT_START
from blastpay.flows import harness
from blastpay.flows.order_models import OrderSpec
from blastpay.flows.webhook_matcher import WEBHOOK_PATH

FLOWS_DIR = Path(harness.__file__).resolve().parent
# the experiment harness, the parent simulation and the money checker (the test oracle) are not code basketball-api
# would port
NOT_FLOW_CODE = {"harness.py", "__init__.py", "simulation.py", "invariants.py"}
TODAY = "ttl_24h"  # today's pattern: a Checkout Session minted at send
START = DEFAULT_START


class _LineTracer:
    """Records (file, line) pairs executed in the flow modules while active."""

    def __init__(self) -> None:
        self.lines: dict[str, set[int]] = defaultdict(set)

    def _trace(self, frame, event, arg):
        path = Path(frame.f_code.co_filename)
        if path.parent != FLOWS_DIR or path.name in NOT_FLOW_CODE:
            return None
        if event == "line":
            self.lines[path.name].add(frame.f_lineno)
        return self._trace

    # The app under a TestClient runs requests on other threads: trace those too.
    def __enter__(self):
        threading.settrace(self._trace)
        sys.settrace(self._trace)
        return self

    def __exit__(self, *exc):
        sys.settrace(None)
        threading.settrace(None)


def _tables_written(flow: harness.Flow) -> set[str]:
    engine = flow.store.engine
    names = set()
    with engine.connect() as conn:
        for table in inspect(engine).get_table_names():
            if conn.execute(text(f'SELECT COUNT(*) FROM "{table}"')).scalar():
                names.add(table)
    return names


def _stripe_kinds(flow: harness.Flow) -> set[str]:
    c = flow.observer.v1
    kinds = {
        "checkout.session": c.checkout.sessions.list({"limit": 1}).data,
        "payment_link": c.payment_links.list({"limit": 1}).data,
        "price": c.prices.list({"limit": 1}).data,
        "product": c.products.list({"limit": 1}).data,
    }
    return {k for k, found in kinds.items() if found}


def _lifecycle(flow: harness.Flow, emu: Emulator, orders: int) -> list:
    """What a production port has to handle, the same for every variant under the one mitigation policy: a blast
    through the blast job, an order canceled and one re-priced after it, parents who pay, one who comes back after
    the link's first day, and the reminder job."""
    from blastpay import config
    from blastpay.flows.mitigations import BlastJob, cancel_order, change_amount, load_policy, send_reminders

    policy = load_policy(config.EXPERIMENTS_DIR / "mitigations.yaml")
    job = BlastJob(flow, policy)
    created = flow.create_orders(
        [OrderSpec(parent_id=100 + i, player_id=1000 + i, product_id="utah-invitational", amount=35000)
         for i in range(orders + 3)])
    job.send(created)
    emu.advance(1800)
    cancel_order(flow, created[-1].id)
    change_amount(flow, job, created[-2].id, 30000)
    emu.advance(1800)
    for order in created[:orders] + [created[-2]]:
        view = flow.click(order.id)
        if view.page == "checkout":
            flow.pay(view)
    emu.advance(int(policy.reminder_hours[0] * 3600) - 3600)
    send_reminders(flow, job, [created[-3].id])
    view = flow.click(created[-3].id)
    if view.page == "checkout":
        flow.pay(view)
    flow.settle()
    return created


def measure(variant: str, orders: int, seed: int) -> dict[str, Any]:
    emu = Emulator(seed=seed, start=START)
    with _LineTracer() as tracer:
        flow = harness.build_flow(variant, emulator=emu, max_network_retries=2)
    tracer.lines.clear()  # wiring is set-up; only the lifecycle counts
    try:
        with tracer:
            _lifecycle(flow, emu, orders)
        m = flow.metrics()
        routes = sorted(
            r.path for r in flow.app.routes if isinstance(r, APIRoute) and r.path != WEBHOOK_PATH
        )
        return {
            "variant": variant,
            "routes": routes,
            "tables": sorted(_tables_written(flow)),
            "stripe_kinds": sorted(_stripe_kinds(flow)),
            "secrets": ["BLASTPAY_TOKEN_KEYS"] if getattr(flow.lazy, "binding", None) is not None
            and type(flow.lazy.binding).__name__ == "HmacTokens" else [],
            # workers and scheduled jobs the run needed: the clean-up worker when Stripe clean-up tasks were queued;
            # the blast job and the reminder job run under the one policy for every variant
            "workers": sorted({"stripe clean-up worker"} & ({"stripe clean-up worker"}
                              if "stripe_tasks" in _tables_written(flow) else set())),
            "scheduled_jobs": ["blast job (re-queue)", "reminder job"],
            "paid": m["orders_paid"],
            "stripe_calls": m["stripe_calls"],
            "lines_executed": {name: len(lines) for name, lines in sorted(tracer.lines.items())},
        }
    finally:
        flow.close()


def table(orders: int, seed: int, variants=harness.VARIANTS) -> pd.DataFrame:
    measured = {v: measure(v, orders, seed) for v in variants}
    today = measured[TODAY]
    rows = []
    for v, m in measured.items():
        new_routes = sorted(set(m["routes"]) - set(today["routes"]))
        new_tables = sorted(set(m["tables"]) - set(today["tables"]))
        new_kinds = sorted(set(m["stripe_kinds"]) - set(today["stripe_kinds"]))
        new_workers = sorted(set(m["workers"]) - set(today["workers"]))
        new_jobs = sorted(set(m["scheduled_jobs"]) - set(today["scheduled_jobs"]))
        # what the variant no longer needs that today's flow runs (lazy-mint drops the clean-up task table and worker)
        removed = [sorted(set(today[k]) - set(m[k])) for k in ("routes", "tables", "stripe_kinds", "workers",
                                                              "scheduled_jobs", "secrets")]
        added = len(new_routes) + len(new_tables) + len(new_kinds) + len(m["secrets"]) + len(new_workers) + len(new_jobs)
        lines = sum(m["lines_executed"].values())
        rows.append({
            "variant": v,
            "new_routes": " ".join(new_routes),
            "new_tables": " ".join(new_tables),
            "new_stripe_object_kinds": " ".join(new_kinds),
            "new_secrets": " ".join(m["secrets"]),
            "new_workers": "; ".join(new_workers),
            "new_scheduled_jobs": "; ".join(new_jobs),
            "tables": " ".join(m["tables"]),
            "workers": "; ".join(m["workers"]),
            "scheduled_jobs": "; ".join(m["scheduled_jobs"]),
            # everything the variant's production port runs, absolute (not relative to today's pattern), stated the
            # same way for every variant so the ADR can quote it
            "routes": " ".join(m["routes"]),
            "stripe_object_kinds": " ".join(m["stripe_kinds"]),
            "secrets": " ".join(["STRIPE_SECRET_KEY", "STRIPE_WEBHOOK_SECRET"] + m["secrets"]),
            "new_moving_parts": added,
            "removed_moving_parts": "; ".join(name for part in removed for name in part),
            # the net change against today's flow: what the variant adds minus what it lets go
            "net_moving_parts": added - sum(len(part) for part in removed),
            "stripe_calls_per_paid_order": (m["stripe_calls"] / m["paid"]) if m["paid"] else None,
            "paid_orders": m["paid"],
            "reference_flow_lines_of_code": lines,
            "flow_modules": " ".join(f"{k}:{n}" for k, n in m["lines_executed"].items()),
        })
    return pd.DataFrame(rows)


SUMMARY_COLUMNS = ("stripe_calls_per_paid_order", "new_routes", "new_tables", "new_stripe_object_kinds", "new_secrets",
                   "new_workers", "new_scheduled_jobs", "removed_moving_parts", "routes", "tables", "workers",
                   "scheduled_jobs", "secrets", "stripe_object_kinds")


def by_variant(eng: pd.DataFrame) -> dict[str, dict[str, Any]]:
    """cost/summary.json's per-variant block: counts as integers, the rest as the table states it."""
    return {r["variant"]: {"new_moving_parts": int(r["new_moving_parts"]), "net_moving_parts": int(r["net_moving_parts"]),
                           "reference_flow_lines_of_code": int(r["reference_flow_lines_of_code"]),
                           **{k: r[k] for k in SUMMARY_COLUMNS}}
            for r in eng.to_dict("records")}
