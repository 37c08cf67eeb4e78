"""A parent's journey through each option, walked in a real browser (headless Chromium via Playwright).

For each flow variant a seeded Stripe emulator and the backend app are served on loopback; orders are
blasted at t0 and the emulator clock is moved (never slept) to each click time. The browser opens the
emailed link, follows every redirect, lands on a page and, when the page is payable, presses Pay. Each
journey records what the parent saw: the kinds of pages, clicks, redirects, the final page, the order's
status afterwards, every page's text as the browser rendered it and (optionally) Chromium's screenshot
of it, and (for benchmarks only) the browser-measured time from opening the link to a payable page.

Paths walked (``PATHS``):

- ``pay``: open the newest email for the order, pay if the page allows it;
- ``already_paid``: after ``pay``, open the same email again;
- ``order_canceled``: the club cancels the order, then the parent opens the email;
- ``stripe_failing``: every Stripe API call fails while the parent opens the email; if the page says to
  try again, the faults clear, a minute passes and the parent opens the same link again;
- ``backend_down``: the club's backend is stopped (its socket closed) before the parent opens the email;
- ``link_not_valid``: the parent opens a damaged copy of the emailed link (its last characters changed).

Screenshots, the browser and the stand-in club website: ``blastpay.experiments.journey_browser``.
The spike's questions table built from these journeys' rows: ``blastpay.adr.spike_questions``.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
from dataclasses import dataclass, field
from typing import Any, Iterable, Mapping, Optional, Sequence

from blastpay.emulator import Emulator
from blastpay.experiments.journey_browser import (  # noqa: F401  (re-exported: notebooks and tests use journeys.X)
    _CAPTION_OFF,
    _CAPTION_ON,
    _LOOK,
    _OUTLINE,
    CANNOT_CONNECT,
    CHROMIUM_PATH,
    CLUB_SITE,
    DEVICE_SCALE_FACTOR,
    LAUNCH_ARGS,
    NO_EMAIL,
    PAYABLE,
    SCREENS_DIR,
    SIDECAR_SUFFIX,
    SOURCE_BACKEND,
    SOURCE_BROWSER,
    SOURCE_CLUB,
    SOURCE_NONE,
    SOURCE_STRIPE,
    SOURCES,
    STRIP_GAP,
    VIEWPORT,
    BrowserMissing,
    ClubSite,
    JourneyBrowser,
    Screen,
    _Walk,
    club_page,
    page_kind,
    page_source,
    require_chromium,
    shown,
    shown_journeys,
    strip_name,
    strip_png,
    strip_sidecar,
    write_screenshots,
)
from blastpay.flows.harness import VARIANTS, Flow, OrderSpec, build_flow
from blastpay.models import fees
from blastpay.models.fees import EXPERIMENT_FEE_TYPE

HOUR, DAY = 3600, 86400
CLICK_TIMES = {"1h": HOUR, "25h": 25 * HOUR, "31d": 31 * DAY}
PATHS = ("pay", "already_paid", "order_canceled", "stripe_failing", "backend_down", "link_not_valid")
RETRY_WAIT = 60  # the "try again in a minute" page: the parent comes back a minute later


@dataclass
class Journey:
    """One parent's walk. ``ms_to_payable`` is browser-measured and belongs in benchmarks only."""

    variant: str
    click_at: str
    path: str
    pages: list[str] = field(default_factory=list)
    clicks: int = 0
    redirects: int = 0
    order_status: str = ""
    paid_sessions: int = 0
    ms_to_payable: Optional[float] = None
    screens: list[Screen] = field(default_factory=list)

    @property
    def final_page(self) -> str:
        return self.pages[-1] if self.pages else NO_EMAIL

    @property
    def reached_payable(self) -> bool:
        return PAYABLE in self.pages

    def row(self) -> dict[str, Any]:
        """The journey as evidence: no timings."""
        return {"variant": self.variant, "click_at": self.click_at, "path": self.path,
                "pages": " > ".join(self.pages) if self.pages else NO_EMAIL, "clicks": self.clicks,
                "redirects": self.redirects, "final_page": self.final_page, "order_status": self.order_status,
                "paid_sessions": self.paid_sessions}


# -- one variant --------------------------------------------------------------------------------------


FEE_TYPE = EXPERIMENT_FEE_TYPE  # the fee the journeys charge (as every experiment does): its amount is in experiments/fees.yaml


def order_amount_cents(fee_type: str = FEE_TYPE) -> int:
    """The order amount every experiment uses for ``fee_type``, from ``experiments/fees.yaml``."""
    return fees.order_amount_cents(fee_type)


def _spec(n: int, amount: int) -> OrderSpec:
    return OrderSpec(parent_id=500 + n, player_id=9000 + n, product_id="utah-invitational-2026", amount=amount)


def damaged(url: str) -> str:
    """The emailed link with its last characters changed, as a mangled copy-paste would leave it."""
    head, tail = url[:-4], url[-4:]
    return head + "".join("x" if ch != "x" else "y" for ch in tail)


def _paid_sessions(flow: Flow, order_id: int) -> int:
    return sum(1 for s in flow.stripe_sessions(order_id) if s.payment_status == "paid")


def _finish(flow: Flow, journey: Journey, order_id: int) -> Journey:
    flow.emu.flush_webhooks()  # Stripe delivers the webhooks that Pay queued
    flow.settle()
    journey.order_status = flow.order_status(order_id)
    journey.paid_sessions = _paid_sessions(flow, order_id)
    return journey


def _email_url(flow: Flow, order_id: int) -> Optional[str]:
    email = flow.store.latest_email(order_id)
    return email.url if email is not None else None


def _walk(browser: JourneyBrowser, flow: Flow, journey: Journey, order_id: int, *,
          stripe_failing: bool = False) -> Journey:
    """Open the newest email for the order and pay if the page allows it. With ``stripe_failing`` every
    Stripe API call fails during the first click; a "try again" page brings the parent back a minute later."""
    url = _email_url(flow, order_id)
    if url is None:
        if browser.screenshots and shown(journey.variant, journey.click_at, journey.path, emailed=False):
            _Walk(browser, journey).nothing_to_open("No email was sent: Stripe refused to create the link at blast time.")
        return _finish(flow, journey, order_id)
    walk = _Walk(browser, journey)
    if journey.path == "link_not_valid":
        url = damaged(url)
    if stripe_failing:
        flow.emu.set_faults(route="*", error="500", rate=1.0)
    try:
        kind = walk.open(url)
    finally:
        if stripe_failing:
            flow.emu.set_faults(clear=True)
    if kind == "try_again":
        flow.emu.advance(RETRY_WAIT)
        kind = walk.open(_email_url(flow, order_id) or url, "opens the same link a minute later")
    if kind == PAYABLE and journey.path not in ("already_paid", "link_not_valid"):
        walk.press_pay()
    return _finish(flow, journey, order_id)


def _advance_to(emu: Emulator, t0: int, offset: int) -> None:
    target = t0 + offset
    if emu.now() < target:
        emu.advance(target - emu.now())


Plan = Mapping[str, Sequence[str]]  # click time -> paths walked at that time

FULL_PLAN: dict[str, tuple[str, ...]] = {when: PATHS for when in CLICK_TIMES}
# The evidence default (keeps the notebook near 15 s): pay at every click time; already paid, canceled and
# Stripe failing at 1 hour; the backend down on day 31 (walked in place, as the flow's last journey).
# FULL_PLAN walks every path at every time.
DEFAULT_PLAN: dict[str, tuple[str, ...]] = {
    "1h": ("pay", "already_paid", "order_canceled", "stripe_failing", "link_not_valid"),
    "25h": ("pay",),
    "31d": ("pay", "backend_down"),
}


def check_plan(plan: Plan) -> list[tuple[str, list[str]]]:
    """The plan in time order with paths in PATHS order; ValueError naming an unknown time or path."""
    for when, paths in plan.items():
        if when not in CLICK_TIMES:
            raise ValueError(f"unknown click time {when!r}; expected one of {', '.join(CLICK_TIMES)}")
        for path in paths:
            if path not in PATHS:
                raise ValueError(f"unknown journey path {path!r}; expected one of {', '.join(PATHS)}")
    return [(when, [p for p in PATHS if p in set(plan[when])]) for when in sorted(plan, key=CLICK_TIMES.get)]


def walk_variant(browser: JourneyBrowser, variant: str, plan: Plan = DEFAULT_PLAN, *, seed: int = 0) -> list[Journey]:
    """The plan's journeys for one variant: one seeded emulator for the in-place paths, one per outage."""
    if variant not in VARIANTS:
        raise ValueError(f"unknown flow variant {variant!r}; expected one of {', '.join(VARIANTS)}")
    steps = check_plan(plan)
    journeys: list[Journey] = []
    # stopping the backend ends a flow, so only the last click time walks it in place; earlier ones get their own
    last = len(steps) - 1
    in_place = [(when, [p for p in paths if p != "backend_down" or i == last]) for i, (when, paths) in enumerate(steps)]
    journeys += _walk_in_place(browser, variant, in_place, seed)
    for when, paths in steps[:last]:
        if "backend_down" in paths:
            journeys.append(_walk_backend_down(browser, variant, when, seed))
    return journeys


def _walk_in_place(browser: JourneyBrowser, variant: str, steps: list[tuple[str, list[str]]],
                   seed: int) -> list[Journey]:
    emu = Emulator(seed=seed)
    flow = build_flow(variant, emulator=emu, over_http=True)
    try:
        t0 = emu.now()
        slots = [(when, path) for when, paths in steps for path in paths if path != "already_paid"]
        slots += [(when, "pay") for when, paths in steps if "already_paid" in paths and "pay" not in paths]
        amount = order_amount_cents()
        orders = flow.create_orders([_spec(n, amount) for n in range(len(slots))])
        order_of = {slot: o.id for slot, o in zip(slots, orders)}
        flow.blast(orders)
        journeys: list[Journey] = []
        for when, paths in steps:
            _advance_to(emu, t0, CLICK_TIMES[when])
            for path in paths:
                journey = Journey(variant, when, path)
                if path == "pay":
                    _walk(browser, flow, journey, order_of[(when, "pay")])
                elif path == "already_paid":
                    # the same parent opens the same email again, after paying (skipped if they could not pay)
                    if "pay" not in paths or flow.order_status(order_of[(when, "pay")]) != "paid":
                        continue
                    _walk(browser, flow, journey, order_of[(when, "pay")])
                elif path == "order_canceled":
                    flow.cancel_order(order_of[(when, path)])
                    _walk(browser, flow, journey, order_of[(when, path)])
                elif path == "link_not_valid":
                    _walk(browser, flow, journey, order_of[(when, path)])
                elif path == "stripe_failing":
                    _walk(browser, flow, journey, order_of[(when, path)], stripe_failing=True)
                elif path == "backend_down":  # always the flow's last journey (see walk_variant)
                    if flow.http_server is not None:
                        flow.http_server.close()  # the club's backend is down: its port refuses connections
                    _walk(browser, flow, journey, order_of[(when, path)])
                journeys.append(journey)
        return journeys
    finally:
        flow.close()


def _walk_backend_down(browser: JourneyBrowser, variant: str, when: str, seed: int) -> Journey:
    emu = Emulator(seed=seed)
    flow = build_flow(variant, emulator=emu, over_http=True)
    try:
        t0 = emu.now()
        order = flow.create_orders([_spec(0, order_amount_cents())])[0]
        flow.blast([order])
        _advance_to(emu, t0, CLICK_TIMES[when])
        if flow.http_server is not None:
            flow.http_server.close()  # the club's backend is down: its port refuses connections
        return _walk(browser, flow, Journey(variant, when, "backend_down"), order.id)
    finally:
        flow.close()


# -- every variant ------------------------------------------------------------------------------------


def run_journeys(variants: Iterable[str] = VARIANTS, plan: Plan = DEFAULT_PLAN, *, seed: int = 0,
                 executable: str = CHROMIUM_PATH, screenshots: bool | str = True) -> list[Journey]:
    """Walk every variant in one browser. Safe to call from a notebook (runs off the kernel's event loop)."""
    variants = list(variants)
    unknown = [v for v in variants if v not in VARIANTS]
    if unknown:
        raise ValueError(f"unknown flow variant {unknown[0]!r}; expected one of {', '.join(VARIANTS)}")
    check_plan(plan)
    require_chromium(executable)

    def work() -> list[Journey]:
        with JourneyBrowser(executable, screenshots=screenshots) as browser:
            return [j for v in variants for j in walk_variant(browser, v, plan, seed=seed)]

    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return work()
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:  # Playwright's sync API needs no loop
        return pool.submit(work).result()


# -- evidence -----------------------------------------------------------------------------------------


def journeys_table(journeys: Iterable[Journey]) -> Any:
    import pandas as pd

    return pd.DataFrame([j.row() for j in journeys])


def _find(journeys: list[Journey], variant: str, when: str, path: str) -> Optional[Journey]:
    return next((j for j in journeys if (j.variant, j.click_at, j.path) == (variant, when, path)), None)


def summary(journeys: Iterable[Journey]) -> dict[str, Any]:
    """Per variant: what the parent sees on day 31 and the cost of paying at 1 hour (null: cannot pay)."""
    journeys = list(journeys)
    by_variant: dict[str, Any] = {}
    for variant in dict.fromkeys(j.variant for j in journeys):
        entry: dict[str, Any] = {}
        for when in CLICK_TIMES:
            pay = _find(journeys, variant, when, "pay")
            if pay is None:
                continue
            entry[f"page_{when}"] = pay.pages[0] if pay.pages else NO_EMAIL
            entry[f"clicks_to_pay_{when}"] = pay.clicks if pay.reached_payable else None
            entry[f"redirects_{when}"] = pay.redirects
            entry[f"order_status_{when}"] = pay.order_status
        if "page_31d" in entry:
            entry["day31_page"] = entry["page_31d"]
        for path in PATHS[1:]:
            seen = [j for j in journeys if j.variant == variant and j.path == path]
            if path == "already_paid" and entry.get("order_status_1h") != "paid" and not seen:
                entry["already_paid_pages"] = None  # never paid, so never "already paid"
                continue
            if seen:
                entry[f"{path}_pages"] = {j.click_at: (" > ".join(j.pages) or NO_EMAIL) for j in seen}
                entry[f"{path}_order_status"] = {j.click_at: j.order_status for j in seen}
        by_variant[variant] = entry
    return {"by_variant": by_variant}

