"""Validation of the vectorised blast model against the emulator-driven flows on a shared sample.

The same parents (one `blast_model.Schedule`) go through both: the vectorised model evaluates them in
arrays; here every GET the model says happens (`blast_model.parent_events`) is replayed in time order
through the real flow, the emulator's clock moving to each event. Per parent we compare: paid or not,
first click payable, and Checkout Sessions created.
"""

from __future__ import annotations

import math
from typing import Any

import pandas as pd

from blastpay.emulator import Emulator
from blastpay.emulator.clock import DEFAULT_START as START
from blastpay.flows.harness import build_flow
from blastpay.flows.order_models import OrderSpec
from blastpay.models import blast as blast_model


def replay(variant: str, schedule: blast_model.Schedule, registry: Any, seed: int) -> pd.DataFrame:
    """Drive the flow through every event of the schedule; one row per parent."""
    events = blast_model.parent_events(variant, schedule, registry=registry)
    emu = Emulator(seed=seed, start=START)
    flow = build_flow(variant, emulator=emu)
    try:
        orders = flow.create_orders([OrderSpec(parent_id=i, player_id=i, product_id="tournament", amount=35000)
                                     for i in range(schedule.n)])
        ids = [o.id for o in orders]
        flow.blast(orders)
        first_payable: dict[int, bool] = {}
        loads = [0] * schedule.n
        for ev in events.itertuples():
            target = START + int(round(ev.t_h * 3600))
            if target > emu.now():
                emu.advance(target - emu.now())
            # A reminder repeats the blast email's link; the recovery email carries the recovery URL.
            view = flow.click(ids[ev.parent], "recovery" if ev.email == "recovery" else "blast")
            loads[ev.parent] += 1
            if ev.actor != "parent":
                continue
            first_payable.setdefault(ev.parent, view.page == "checkout")
            if view.page == "checkout" and ev.pays:
                flow.pay(view)
        emu.advance(3 * 24 * 3600)  # expiries and retries after the last event
        flow.settle()
        sessions = flow.sessions_by_order()
        return pd.DataFrame({
            "parent": range(schedule.n),
            "variant": variant,
            "paid": [flow.order_status(i) == "paid" for i in ids],
            "first_click_payable": [first_payable.get(p, False) for p in range(schedule.n)],
            "sessions_minted": [len(sessions.get(i, [])) for i in ids],
            "page_loads": loads,
        })
    finally:
        flow.close()


def compare(model: pd.DataFrame, driven: pd.DataFrame) -> dict[str, Any]:
    """Per-parent agreement and the aggregate difference against its sampling error (two standard errors)."""
    m = model.set_index("parent")
    d = driven.set_index("parent")
    n = len(m)
    out: dict[str, Any] = {"parents": n}
    for col in ("paid", "first_click_payable", "sessions_minted"):
        a = m[col].astype(float)
        b = d[col].astype(float)
        out[f"{col}_agreement"] = float((a == b).mean())
        diff = float(b.mean() - a.mean())
        sd = float(pd.concat([a, b]).std(ddof=1)) if n > 1 else 0.0
        se = math.sqrt(2.0) * sd / math.sqrt(n) if n else 0.0
        out[f"{col}_model_mean"] = float(a.mean())
        out[f"{col}_emulator_mean"] = float(b.mean())
        out[f"{col}_within_2se"] = abs(diff) <= 2 * se + 1e-12
    return out
