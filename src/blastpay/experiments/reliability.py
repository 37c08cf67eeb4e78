"""Reliability evidence (notebook 09): pay-token entropy, fuzz cases, races, invariant checks, load.

Everything here is deterministic (seeded, simulated time) except ``load_figures``, which only reads
the committed output of ``benchmarks/pay_route_load.py --write`` (timings are measured by hand or by
CI, never by the evidence run).
"""

from __future__ import annotations

import random
import secrets
import threading
import time
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any, Iterator, Optional
from unittest import mock

from blastpay.flows import tokens
from blastpay.flows.order_models import OrderSpec
from blastpay.flows.orders import OrderStore

LOAD_FILE = Path("experiments/measurements/pay_route_load.json")


@contextmanager
def _counting_random_bytes() -> Iterator[list[int]]:
    """Count the bytes the token module draws from ``secrets`` while the block runs."""
    drawn: list[int] = []
    real = secrets.token_bytes

    def spy(n: Optional[int] = None) -> bytes:
        drawn.append(int(n if n is not None else 32))
        return real(n)

    with mock.patch.object(tokens.secrets, "token_bytes", spy):
        yield drawn


def token_entropy(binding_name: str, keys: str = "k1:" + "11" * 32) -> dict[str, Any]:
    """Entropy of one minted token, measured by counting the random bytes the code draws per token and
    by decoding the token's layout. ``random_bits`` is what a guesser must hit with no key;
    ``tag_bits`` (hmac) is the additional MAC a forger without the key must also hit."""
    store = OrderStore("sqlite://")
    try:
        (order,) = store.create_orders([OrderSpec(parent_id=1, player_id=1, product_id="p", amount=100)], now=0)
        binding = tokens.make_binding(binding_name, tokens.parse_token_keys(keys) if binding_name == "hmac" else None)
        with _counting_random_bytes() as drawn, store.transaction() as session:
            token = binding.mint(session, order.id, now=0)
        raw = tokens._b64decode(token)
        assert raw is not None
        random_bits = 8 * sum(drawn)
        tag_bits = 8 * tokens.TAG_BYTES if binding_name == "hmac" else 0
        return {"binding": binding_name, "random_bits": random_bits, "tag_bits": tag_bits,
                "guess_resistance_bits": random_bits + tag_bits, "token_chars": len(token),
                "token_bytes": len(raw)}
    finally:
        store.dispose()


def token_entropy_bits() -> dict[str, dict[str, Any]]:
    """``token_entropy`` for every binding."""
    return {name: token_entropy(name) for name in ("hmac", "db")}


def load_figures(root: Path, as_of: Optional[date] = None) -> Optional[dict[str, Any]]:
    """The committed load benchmark figures as written (checked against `schema.measurements.LoadMeasurements`,
    measured no later than `as_of` if given), or None if the benchmark has not been written yet."""
    from blastpay.config import ConfigError
    from blastpay.sources.inputs import load_input
    from blastpay.sources.schema.measurements import LoadMeasurements

    path = root / LOAD_FILE
    if not path.exists():
        return None
    return dict(load_input(path, LoadMeasurements, "load measurements file", ConfigError,
                           context={"as_of": as_of})[1].data)


# The load targets of the lazy-mint route (issue #17), read by benchmarks/pay_route_load.py and shown in the ADR.
LOAD_TARGETS = {
    "route_p99_ms": 20.0,  # Stripe on loopback: the route's own p99
    "minting_click_above_stripe_p99_ms": 30.0,  # at Stripe's latency: a minting click's p99 within Stripe's p99 + this
    "db_hold_per_click_p99_ms": 5.0,  # at Stripe's latency: the time a click holds database connections (p99)
    "rate_with_stripe_latency": 200.0,  # clicks/s at which the latency targets must hold
}

ADR_LOAD_FIGURES = ("achieved_rps", "route_p50_ms", "route_p99_ms", "route_p99_ms_each_run", "stripe_per_call_p50_ms")
# With Stripe's latency (a store measured with --stripe-latency-ms): end-to-end times and the connection figures.
ADR_LATENCY_FIGURES = ("stripe_per_call_p99_ms", "minting_click_p50_ms", "minting_click_p99_ms", "client_p99_ms",
                       "db_hold_per_click_p50_ms", "db_hold_per_click_p99_ms", "db_hold_longest_single_p99_ms",
                       "pool_timeouts", "app_cpu_ms_per_request", "emulator_cpu_ms_per_request",
                       "stack_cpu_ms_per_request", "machine_cpu_busy_share", "errors", "server_errors")


def _store_summary(run: dict[str, Any]) -> dict[str, Any]:
    latency = run.get("stripe_latency") or {}
    with_latency = bool(latency.get("median_ms"))
    keys = ADR_LOAD_FIGURES + (ADR_LATENCY_FIGURES if with_latency else ())
    out: dict[str, Any] = {"workers": run.get("workers"), "runs": run.get("runs"),
                           "seconds_per_rate": run.get("seconds_per_rate"),
                           "figures": {group: {k: values.get(k) for k in keys}
                                       for group, values in run["figures"].items() if group != "baseline_404"}}
    if with_latency:
        out.update({
            "stripe_latency": {"median_ms": latency.get("median_ms"), "p99_ms": latency.get("p99_ms"),
                               "injected_by": latency.get("injected_by")},
            "designs": run.get("designs"),
            "latency_verdicts": run.get("latency_verdicts"),
            "latency_verdicts_per_rate": run.get("latency_verdicts_per_rate"),
            "highest_rate_latency_targets_hold": run.get("highest_rate_latency_targets_hold"),
            "cpu_budget": run.get("cpu_budget"),
            "burst": run.get("burst"),
            "load_average_1m": run.get("load_average_1m"),
            "command": run.get("command"),
            "measured_at": run.get("measured_at"),
        })
    return out


def load_summary(load: dict[str, Any]) -> dict[str, Any]:
    """The part of the load record the ADR shows: when, how and on what it was measured, and per store
    and rate the figures of its table. A store measured at Stripe's latency (``stripe_latency.median_ms``
    above 0, e.g. ``postgresql_stripe_300ms``) also carries the end-to-end figures (``minting_click_*``,
    ``client_p99_ms``), the connection hold per click, pool timeouts, CPU per request, the verdicts per
    rate, the highest rate at which every target held, the one-order burst, the load average and the
    exact command. The rest (the 404 baseline, Stripe's per-call p50 beside p99, ...) stays in the
    committed input, so the evidence carries no number the ADR cannot use."""
    return {
        "measured_at": load["measured_at"], "command": load["command"],
        "machine": {"load_average_1m_at_start": load["machine"]["load_average_1m_at_start"]},
        "stores": {store: _store_summary(run) for store, run in load["stores"].items()},
        "targets": LOAD_TARGETS,
    }


def load_rows(load: dict[str, Any]) -> list[dict[str, Any]]:
    """One row per store and load group: workers, rate, pooled p50/p99, each run's p99, CPU per request."""
    keep = ("achieved_rps", "route_p50_ms", "route_p99_ms", "stripe_per_call_p50_ms", "app_cpu_ms_per_request",
            "server_errors", "minting_click_p99_ms", "db_hold_per_click_p99_ms", "pool_timeouts")
    return [{"store": store, "workers": run.get("workers"), "load": group,
             **{k: values.get(k) for k in keep},
             "route_p99_ms_each_run": ", ".join(f"{v:g}" for v in values.get("route_p99_ms_each_run", []))}
            for store, run in sorted(load["stores"].items()) for group, values in sorted(run["figures"].items())]


def load_figure(load: dict[str, Any]):
    """Route p99 of every run, per store and rate, against the target (log scale: a stalled run is
    orders of magnitude above a healthy one)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    target = float(load.get("target_route_p99_ms", 20.0))
    fig, ax = plt.subplots(figsize=(8.5, 3.8))
    labels = []
    for store, run in sorted(load["stores"].items()):
        rates = sorted((g.startswith("old_"), int("".join(filter(str.isdigit, g))), g)
                       for g in run["figures"] if g != "baseline_404")
        for _, _, group in rates:
            values = run["figures"][group]
            row = len(labels)
            workers = run.get("workers")
            labels.append(f"{store.removesuffix(f'_{workers}_workers')} ({workers} worker{'s' if workers != 1 else ''}), "
                          f"{'old in-lock design, ' if group.startswith('old_') else ''}"
                          f"{group.removeprefix('old_').removeprefix('rate_').replace('_rps', ' req/s')}")
            each = values.get("route_p99_ms_each_run") or [values["route_p99_ms"]]
            ax.scatter(each, [row] * len(each), color="#2874a6", alpha=0.6, label="one run" if row == 0 else None)
            ax.scatter([values["route_p99_ms"]], [row], marker="|", s=400, color="#1b4f72",
                       label="all runs pooled" if row == 0 else None)
    ax.axvline(target, color="#c0392b", linestyle="--", label=f"target ({target:g} ms)")
    ax.set_xscale("log")
    ax.set_yticks(range(len(labels)), labels)
    ax.invert_yaxis()
    ax.set_xlabel("p99 of the route's own work (ms, log scale; Stripe's time excluded)")
    ax.grid(True, axis="x", alpha=0.3, which="both")
    ax.legend(loc="lower right", fontsize=8)
    ax.set_title("/pay/{token} under a blast: route p99 per run")
    fig.tight_layout()
    return fig


# -- races ---------------------------------------------------------------------------------------

@dataclass(frozen=True)
class RaceResult:
    """One burst of simultaneous requests against one order and what it left behind."""

    clicks: int
    pages: tuple[str, ...]  # what each click saw: the Checkout Session id it was sent to, or a page name
    sessions_in_stripe: int  # Checkout Sessions Stripe holds for the order
    open_sessions_in_stripe: int  # of those, still payable after the clean-up tasks ran
    order_status: str
    violations: tuple[str, ...]  # check_invariants after the race

    @property
    def ok(self) -> bool:
        return not self.violations


def _burst(calls: list[Callable[[], Any]]) -> list[Any]:
    """Run every call at once (threads released together by a barrier); their results in order."""
    barrier = threading.Barrier(len(calls))
    results: list[Any] = [None] * len(calls)
    errors: list[BaseException] = []

    def run(i: int) -> None:
        barrier.wait()
        try:
            results[i] = calls[i]()
        except BaseException as exc:  # reported after every thread joined
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(calls))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        raise errors[0]
    return results


class RaceRig:
    """A lazy-mint backend (store at ``database_url``) over an emulator, with a known webhook secret.
    ``opener`` and ``poster`` default to calling the app's logic in process; tests that serve the app
    on loopback replace them with HTTP calls."""

    def __init__(self, database_url: str, *, binding: str = "hmac", seed: int = 0) -> None:
        from blastpay.emulator import Emulator
        from blastpay.flows.harness import CANCEL_URL, EXPERIMENT_TOKEN_KEYS, SUCCESS_URL
        from blastpay.flows.lazy_mint import LazyMintConfig
        from blastpay.flows.pay_route import create_app
        from blastpay.flows.webhook_matcher import ENABLED_EVENTS, WEBHOOK_PATH, WebhookMatcher

        self.emu = Emulator(seed=seed)
        self.stripe = self.emu.client()
        self.store = OrderStore(database_url)
        endpoint = self.stripe.v1.webhook_endpoints.create({"url": "http://backend.test" + WEBHOOK_PATH,
                                                           "enabled_events": ENABLED_EVENTS})
        self.secret = endpoint.secret
        self.binding = tokens.make_binding(binding, tokens.parse_token_keys(EXPERIMENT_TOKEN_KEYS))
        self.app = create_app(store=self.store, stripe_client=self.stripe, binding=self.binding, clock=self.emu.now,
                              config=LazyMintConfig(public_base_url="http://backend.test", success_url=SUCCESS_URL,
                                                    cancel_url=CANCEL_URL), webhook_secrets=[self.secret])
        self.lazy = self.app.state.lazy_mint
        self.matcher = WebhookMatcher(self.store, secrets=[self.secret], clock=self.emu.now)
        self.emu.webhook_transport = lambda url, headers, body: 200 if self._deliver(headers, body) else 500
        self.opener: Callable[[str], str] = self._open_in_process
        self.poster: Callable[[bytes, str], int] = self._post_in_process

    # the attributes check_invariants reads
    @property
    def observer(self) -> Any:
        return self.stripe

    def clock(self) -> int:
        return self.emu.now()

    def _deliver(self, headers: dict[str, str], body: bytes) -> bool:
        return self.poster(body, headers["Stripe-Signature"]) < 300

    def _open_in_process(self, token: str) -> str:
        outcome = self.lazy.open(token)
        return outcome.url.rsplit("/", 1)[-1] if outcome.page == "redirect" and outcome.url else outcome.page

    def _post_in_process(self, body: bytes, signature: str) -> int:
        from blastpay.flows.webhook_matcher import WebhookRejected

        try:
            self.matcher.handle(body, signature)
        except WebhookRejected:
            return 400
        return 200

    def new_order(self) -> tuple[int, str]:
        """A pending order, blasted: its token is emailed (the email is what makes it payable)."""
        (order,) = self.store.create_orders([OrderSpec(parent_id=1, player_id=1, product_id="utah-invitational-2026",
                                                       amount=15000)], now=self.emu.now())
        link = self.lazy.blast([order], now=self.emu.now())[order.id]
        return order.id, (link.url or "").rsplit("/", 1)[-1]

    def _result(self, order_id: int, pages: list[str]) -> RaceResult:
        from blastpay.flows.invariants import check_invariants
        from blastpay.flows.stripe_tasks import run_tasks

        run_tasks(self.store, self.stripe, self.emu.now)
        ours = [s for s in self.stripe.v1.checkout.sessions.list({"limit": 100}).auto_paging_iter()
                if s.metadata and s.metadata.to_dict().get("order_id") == str(order_id)]
        return RaceResult(clicks=len(pages), pages=tuple(pages), sessions_in_stripe=len(ours),
                          open_sessions_in_stripe=sum(1 for s in ours if s.status == "open"),
                          order_status=self.store.get_order(order_id).status,
                          violations=tuple(check_invariants(self)))

    def click_race(self, clicks: int) -> RaceResult:
        """``clicks`` simultaneous first clicks on one order's link."""
        order_id, token = self.new_order()
        pages = _burst([lambda: self.opener(token)] * clicks)
        return self._result(order_id, pages)

    def pay_holding_webhook(self, *, near_expiry: bool) -> tuple[int, str, str, bytes, str]:
        """A new order whose first session the parent pays while Stripe's webhook is held back (with
        ``near_expiry``, 20 minutes before the session expires): (order id, token, the paid session,
        the completed event's body, its signature), ready to deliver whenever a race wants it."""
        import json as _json

        from blastpay.emulator.webhooks import signature_header

        order_id, token = self.new_order()
        first = self.opener(token)
        if near_expiry:
            self.emu.advance(24 * 3600 - 20 * 60)
        self.emu.set_faults(webhook="drop", count=1)
        self.emu.pay(first)
        (event,) = self.stripe.v1.events.list({"type": "checkout.session.completed", "limit": 1}).data
        body = _json.dumps(event.to_dict()).encode()
        return order_id, token, first, body, signature_header(self.secret, body, int(time.time()))

    def click_vs_webhook_race(self, *, near_expiry: bool = True, order: str = "together") -> RaceResult:
        """The parent pays the order's session; its webhook arrives while the parent (or a mail scanner)
        clicks the link again. With ``near_expiry`` the paid session had under 30 minutes left, so a
        click that wins the race mints a second session, which the payment's clean-up must retire.
        ``order`` is "together" (released at once by a barrier), "click_first" or "webhook_first"
        (the two interleavings the database lock allows, forced)."""
        if order not in ("together", "click_first", "webhook_first"):
            raise ValueError(f"order must be together, click_first or webhook_first, got {order!r}")
        order_id, token, _, body, signature = self.pay_holding_webhook(near_expiry=near_expiry)
        click, hook = (lambda: self.opener(token)), (lambda: str(self.poster(body, signature)))
        if order == "together":
            page = _burst([click, hook])[0]
        elif order == "click_first":
            page = click()
            hook()
        else:
            hook()
            page = click()
        return self._result(order_id, [page])

    def close(self) -> None:
        self.store.dispose()


# -- fuzzing -------------------------------------------------------------------------------------

_JSON_ODDITIES: tuple[Any, ...] = (None, True, False, 0, -1, 2 ** 63, 1e308, "", "x" * 5000, "order_1", "1e3", "-5",
                                   "\u0000", "\u202e", [], [1, "a"], {}, {"order_id": "1"}, {"nested": {"deeper": []}})


def _mutate(value: Any, rng: random.Random, depth: int = 0) -> Any:
    """``value`` with one random change somewhere inside (replace, delete, or retype a field)."""
    if isinstance(value, dict) and value and depth < 6:
        key = rng.choice(sorted(value, key=str))
        out = dict(value)
        roll = rng.random()
        if roll < 0.15:
            del out[key]
        elif roll < 0.45:
            out[key] = rng.choice(_JSON_ODDITIES)
        else:
            out[key] = _mutate(value[key], rng, depth + 1)
        return out
    if isinstance(value, list) and value and depth < 6:
        i = rng.randrange(len(value))
        return value[:i] + [_mutate(value[i], rng, depth + 1)] + value[i + 1:]
    return rng.choice(_JSON_ODDITIES)


@dataclass(frozen=True)
class FuzzResult:
    cases: int
    statuses: dict[int, int]  # HTTP status -> how many cases got it

    @property
    def server_errors(self) -> int:
        return sum(n for status, n in self.statuses.items() if status >= 500)


def fuzz_app(rig: "RaceRig", web: Any, *, cases: int, seed: int) -> FuzzResult:
    """Send ``cases`` requests, half to ``/pay/{token}`` (mutated real tokens, random strings) and half
    to the webhook endpoint (genuine events with one field mutated, correctly signed so the payload
    reaches the matcher; a tenth with a mutated signature header). ``web`` is a TestClient or httpx
    client for ``rig.app``. Deterministic for a seed."""
    import json as _json
    from urllib.parse import quote

    from blastpay.emulator.webhooks import signature_header

    rng = random.Random(seed)
    order_id, token = rig.new_order()
    session_id = rig.opener(token)
    rig.emu.set_faults(webhook="drop", count=1)
    rig.emu.pay(session_id)
    events = [e.to_dict() for e in rig.stripe.v1.events.list({"limit": 100}).auto_paging_iter()]
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_=.~%+ "
    statuses: dict[int, int] = {}
    for n in range(cases):
        if n % 2 == 0:
            if rng.random() < 0.5:
                chars = list(token)
                for _ in range(rng.randint(1, 4)):
                    chars[rng.randrange(len(chars))] = rng.choice(alphabet)
                if chars == list(token):  # every replacement hit the same character: change one for sure
                    chars[-1] = "A" if chars[-1] != "A" else "B"
                candidate = "".join(chars)
            else:
                candidate = "".join(rng.choice(alphabet) for _ in range(rng.randint(1, 200)))
            response = web.get("/pay/" + quote(candidate, safe=""), follow_redirects=False)
        else:
            event = _mutate(rng.choice(events), rng)
            body = _json.dumps(event).encode()
            signature = signature_header(rig.secret, body, int(time.time()))
            if rng.random() < 0.1:
                signature = signature[: rng.randrange(len(signature))] + rng.choice(alphabet)
            response = web.post("/webhooks/stripe", content=body,
                                headers={"Stripe-Signature": signature, "Content-Type": "application/json"})
        statuses[response.status_code] = statuses.get(response.status_code, 0) + 1
    return FuzzResult(cases=cases, statuses=dict(sorted(statuses.items())))


# -- invariants after a mini-blast ---------------------------------------------------------------

def mini_blast(emu: Any, flow: Any) -> dict[int, int]:
    """Eight parents, one blast, and what parents and the club do over the next three days: pay at
    once, press Back then pay, a canceled order, a discounted order, a declined card, a late payer,
    one who never clicks; the first two webhook events are delivered twice. {parent number: order id}."""
    hour, day = 3600, 86400
    orders = flow.create_orders([OrderSpec(parent_id=100 + i, player_id=i, product_id="utah-invitational-2026",
                                           amount=15000) for i in range(1, 9)])
    o = {i + 1: order.id for i, order in enumerate(orders)}
    emu.set_faults(webhook="duplicate", count=2)
    flow.blast(orders)
    emu.advance(hour)
    for n in (1, 2):
        view = flow.click(o[n])
        if view.page == "checkout":
            flow.pay(view)
    view = flow.click(o[3])
    if view.page == "checkout":
        flow.cancel(view)
        emu.advance(20 * 60)
        again = flow.click(o[3])
        if again.page == "checkout":
            flow.pay(again)
    flow.cancel_order(o[4])
    flow.change_amount(o[5], 12000)
    view = flow.click(o[6])
    if view.page == "checkout":
        flow.pay(view, outcome="declined")
    emu.advance(2 * day)
    view = flow.click(o[7])
    if view.page == "checkout":
        flow.pay(view)
    emu.advance(day)
    flow.settle()
    return o


def invariants_per_variant(seed: int = 0) -> list[dict[str, Any]]:
    """The mini-blast through every flow variant, then the invariant checker: one row per variant."""
    from blastpay.emulator import Emulator
    from blastpay.flows.harness import VARIANTS, build_flow
    from blastpay.flows.invariants import invariant_report

    rows = []
    for variant in VARIANTS:
        emu = Emulator(seed=seed)
        flow = build_flow(variant, emulator=emu)
        try:
            o = mini_blast(emu, flow)
            report = invariant_report(flow)
            rows.append({"variant": variant, "orders": len(o),
                         "paid": sum(flow.order_status(i) == "paid" for i in o.values()),
                         "checks": report.checks, "passed": report.passed, "violations": len(report.violations)})
        finally:
            flow.close()
    return rows


def races(database_url: str, *, rounds: int = 3) -> list[dict[str, Any]]:
    """Click races (2 and 10 simultaneous clicks) and click-versus-webhook races in every interleaving,
    in process against ``database_url``: one row per race."""
    rig = RaceRig(database_url)
    rows = []
    try:
        for clicks in (2, 10):
            for _ in range(rounds):
                r = rig.click_race(clicks)
                rows.append({"race": f"{clicks}_clicks", "sessions_in_stripe": r.sessions_in_stripe,
                             "distinct_pages": len(set(r.pages)), "order_status": r.order_status,
                             "violations": len(r.violations)})
        for order in ("together", "click_first", "webhook_first"):
            for near in (True, False):
                r = rig.click_vs_webhook_race(order=order, near_expiry=near)
                rows.append({"race": f"click_vs_webhook_{order}{'_near_expiry' if near else ''}",
                             "sessions_in_stripe": r.sessions_in_stripe, "distinct_pages": 1,
                             "order_status": r.order_status, "violations": len(r.violations),
                             "open_sessions_after": r.open_sessions_in_stripe})
    finally:
        rig.close()
    return rows


def fuzz(cases: int, seed: int) -> FuzzResult:
    """The mutation fuzzer against the lazy-mint app in process (SQLite in memory)."""
    from fastapi.testclient import TestClient

    rig = RaceRig("sqlite://")
    web = TestClient(rig.app, base_url="http://backend.test", raise_server_exceptions=False)
    try:
        return fuzz_app(rig, web, cases=cases, seed=seed)
    finally:
        web.close()
        rig.close()
