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

Screenshots: each page is captured by Chromium at an 800 px wide viewport with a caption bar added on top
(which step, who serves the page: the club's backend, the club's website, Chromium itself, or an "emulated
Stripe page"). ``strip_png`` stacks a journey's steps into one vertical strip; ``strip_sidecar`` holds
what must match exactly between runs (each page's text and DOM outline), while the pixels are compared
within ``blastpay.evidence.manifest.SCREENSHOT_RULE``'s tolerance, so a font or Chromium update does not
fail ``blastpay check``.

Outside the system under test: the club's own website. Success and Back URLs point at
``https://club.example``; the browser resolves that name to a stand-in HTTPS server on loopback
(``ClubSite``, a throwaway self-signed certificate made with ``openssl``; the browser context accepts
it) and every other host name to nothing, so no request leaves the machine.
"""

from __future__ import annotations

import asyncio
import io
import concurrent.futures
import os
import shutil
import ssl
import subprocess
import tempfile
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Iterable, Mapping, Optional, Sequence
from urllib.parse import urlsplit

from blastpay.adr.display_names import display
from blastpay.emulator import Emulator
from blastpay.flows.harness import VARIANTS, Flow, OrderSpec, build_flow

CHROMIUM_PATH = "/usr/bin/chromium"
LAUNCH_ARGS = ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
               "--disable-background-networking", "--disable-component-update", "--disable-sync",
               "--font-render-hinting=none", "--force-color-profile=srgb", "--hide-scrollbars"]
VIEWPORT = {"width": 800, "height": 280}  # one step of a strip: readable at page width
DEVICE_SCALE_FACTOR = 1

HOUR, DAY = 3600, 86400
CLICK_TIMES = {"1h": HOUR, "25h": 25 * HOUR, "31d": 31 * DAY}
PATHS = ("pay", "already_paid", "order_canceled", "stripe_failing", "backend_down", "link_not_valid")
CLUB_SITE = "https://club.example"
RETRY_WAIT = 60  # the "try again in a minute" page: the parent comes back a minute later

# Page kinds a parent can see. "no_email": nothing was sent, so there is no page to open.
PAYABLE = "checkout"
NO_EMAIL = "no_email"
CANNOT_CONNECT = "cannot_connect"
_TITLE_KINDS = {"Session expired": "expired", "Link expired": "expired", "Link deactivated": "inactive",
                "Payment complete": "completed", "Payment refused": "refused", "Not found": "not_found"}


class BrowserMissing(RuntimeError):
    """The Chromium binary the journeys drive is not installed."""


def require_chromium(path: str = CHROMIUM_PATH) -> str:
    """The Chromium executable, or BrowserMissing naming the fix."""
    if os.path.isfile(path) and os.access(path, os.X_OK):
        return path
    found = shutil.which(path)
    if found:
        return found
    raise BrowserMissing(f"Chromium not found at {path}: install it with `bash .ci/browser` (Debian package chromium)")


def page_kind(*, url: str, title: str, data_page: Optional[str], payable: bool) -> str:
    """What kind of page the parent is looking at, from what the browser shows."""
    if url.startswith("chrome-error://"):
        return CANNOT_CONNECT
    if payable:
        return PAYABLE
    if data_page:
        return data_page
    return _TITLE_KINDS.get(title, "unknown")


def club_page(url: str) -> str:
    """The stand-in for the club's website at the success and Back URLs."""
    path = urlsplit(url).path
    if path.startswith("/checkout/success"):
        kind, heading, text = "success", "Thank you", "You are back on the club's website after paying."
    elif path.startswith("/checkout/canceled"):
        kind, heading, text = "left_checkout", "Nothing was charged", "Use the link in your email when you are ready."
    else:
        kind, heading, text = "not_found", "Not found", "There is no page at this address."
    return (f'<!doctype html><html lang="en"><head><meta charset="utf-8"><title>{heading}</title></head>'
            f'<body><main data-page="{kind}"><p>Club website (stand-in)</p><h1>{heading}</h1><p>{text}</p>'
            "</main></body></html>")


SOURCE_STRIPE = "emulated Stripe page"
SOURCE_BACKEND = "club's backend (lazy-mint /pay route)"
SOURCE_CLUB = "club's website (stand-in)"
SOURCE_BROWSER = "Chromium's own error page"
SOURCE_NONE = "no page"
SOURCES = (SOURCE_STRIPE, SOURCE_BACKEND, SOURCE_CLUB, SOURCE_BROWSER, SOURCE_NONE)


def page_source(url: str) -> str:
    """Who served the page at ``url``: the emulator's hosted pages stand in for Stripe's."""
    if url.startswith("chrome-error://"):
        return SOURCE_BROWSER
    parts = urlsplit(url)
    if parts.hostname == "club.example":
        return SOURCE_CLUB
    if parts.path.startswith("/pay/"):
        return SOURCE_BACKEND
    return SOURCE_STRIPE


@dataclass(frozen=True)
class Screen:
    """One page the parent saw: ``name`` is ``<path>-<n>-<kind>``; ``text`` is what the page says (the
    browser's innerText, without the caption bar); ``outline`` the page's element structure; ``source`` who
    served it (``SOURCES``); ``caption`` the bar drawn above it; ``png`` Chromium's screenshot (empty when
    screenshots are off)."""

    name: str
    kind: str
    text: str
    png: bytes
    source: str = ""
    caption: str = ""
    outline: tuple[str, ...] = ()
    redirects: int = 0


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


# -- the browser ------------------------------------------------------------------------------------


class _ClubHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        body = club_page(CLUB_SITE + self.path).encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


class ClubSite:
    """The stand-in club website: HTTPS on 127.0.0.1 with a throwaway self-signed certificate."""

    def __init__(self) -> None:
        if shutil.which("openssl") is None:
            raise BrowserMissing("openssl not found: install it with `bash .ci/browser` (Debian package openssl)")
        self._dir = tempfile.TemporaryDirectory(prefix="club-site-")
        key, cert = os.path.join(self._dir.name, "key.pem"), os.path.join(self._dir.name, "cert.pem")
        subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
                        "-nodes", "-keyout", key, "-out", cert, "-days", "2", "-subj", "/CN=club.example",
                        "-addext", "subjectAltName=DNS:club.example"], check=True, capture_output=True)
        tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        tls.load_cert_chain(cert, key)
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _ClubHandler)
        self._server.daemon_threads = True
        self._server.socket = tls.wrap_socket(self._server.socket, server_side=True)
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.05,), daemon=True)
        self._thread.start()

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._dir.cleanup()


class JourneyBrowser:
    """One headless Chromium for many journeys; each journey gets a fresh context (no shared cookies)."""

    def __init__(self, executable: str = CHROMIUM_PATH, *, screenshots: bool | str = True) -> None:
        """``screenshots``: True for the journeys the evidence shows (``shown``), "all" for every page, False for none."""
        from playwright.sync_api import sync_playwright

        self.executable = require_chromium(executable)
        self.screenshots = screenshots
        self.club = ClubSite()
        # club.example goes to the stand-in; every other name resolves to nothing (loopback IPs need no lookup)
        rules = f"--host-resolver-rules=MAP club.example:443 127.0.0.1:{self.club.port}, MAP * ~NOTFOUND, EXCLUDE 127.0.0.1"
        self._pw = sync_playwright().start()
        try:
            self._browser = self._pw.chromium.launch(executable_path=self.executable,
                                                     args=LAUNCH_ARGS + [rules, "--no-proxy-server"])
        except Exception:
            self._pw.stop()
            self.club.close()
            raise

        self._page: Any = None

    def fresh_page(self) -> Any:
        """The one tab journeys use, with cookies cleared (a new context per journey costs ~0.2 s)."""
        if self._page is None:
            context = self._browser.new_context(viewport=VIEWPORT, device_scale_factor=DEVICE_SCALE_FACTOR,
                                                reduced_motion="reduce", locale="en-US", timezone_id="UTC",
                                                ignore_https_errors=True, service_workers="block")
            self._page = context.new_page()
        self._page.context.clear_cookies()
        return self._page

    def close(self) -> None:
        try:
            self._browser.close()
        finally:
            self._pw.stop()
            self.club.close()

    def __enter__(self) -> "JourneyBrowser":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


_OUTLINE = """(root) => {
  const out = [];
  const walk = (el, depth) => {
    for (const c of el.children) {
      if (c.id === '__blastpay_caption') continue;
      let s = c.tagName.toLowerCase();
      if (c.dataset && c.dataset.page) s += `[data-page=${c.dataset.page}]`;
      if (typeof c.className === 'string' && c.className) s += '.' + c.className.trim().split(/\\s+/).join('.');
      for (const a of ['name', 'value', 'type', 'role', 'method']) if (c.getAttribute(a)) s += `[${a}=${c.getAttribute(a)}]`;
      out.push('  '.repeat(depth) + s);
      walk(c, depth + 1);
    }
  };
  if (root) walk(root, 0);
  return out;
}"""

_CAPTION_ON = """(caption) => {
  const bar = document.createElement('div');
  bar.id = '__blastpay_caption';
  bar.textContent = caption;
  bar.setAttribute('style', 'all: initial; display: block; box-sizing: border-box; width: 100%; margin: 0 0 12px 0;'
    + 'padding: 8px 12px; background: #1f2a44; color: #ffffff; font: 600 15px/1.35 sans-serif; white-space: pre-line;');
  document.body.style.margin = '0';
  document.body.prepend(bar);
  for (const el of document.body.children) if (el !== bar) el.style.marginLeft = el.style.marginRight = '12px';
}"""

_CAPTION_OFF = """() => { const bar = document.getElementById('__blastpay_caption'); if (bar) bar.remove(); }"""

_LOOK = """() => ({
  outline: (""" + _OUTLINE + """)(document.body),
  title: document.title,
  dataPage: (document.querySelector('[data-page]') || {dataset: {}}).dataset.page || null,
  payable: !!document.querySelector('form button[value="succeeded"]'),
  text: document.body ? document.body.innerText : '',
  nav: (() => { const e = performance.getEntriesByType('navigation')[0];
                return e ? e.domContentLoadedEventEnd : null; })(),
})"""


class _Walk:
    """The browser side of one journey: open links, press Pay, record what was seen."""

    def __init__(self, browser: JourneyBrowser, journey: Journey) -> None:
        self.browser, self.journey = browser, journey
        self.page = browser.fresh_page()
        # screenshots cost ~0.1 s each: take them only for journeys the evidence shows (all with screenshots="all")
        self.shoot = browser.screenshots == "all" or (bool(browser.screenshots)
                                                      and shown(journey.variant, journey.click_at, journey.path))

    def _record(self, response: Any, action: str) -> str:
        request = response.request if response is not None else None
        redirects, first_url = 0, None
        while request is not None and request.redirected_from is not None:
            redirects += 1
            request = request.redirected_from
            first_url = request.url
        self.journey.redirects += redirects
        look = self._look()
        kind = page_kind(url=self.page.url, title=look["title"], data_page=look["dataPage"], payable=look["payable"])
        if kind == PAYABLE and self.journey.ms_to_payable is None and look["nav"]:
            self.journey.ms_to_payable = float(look["nav"])
        self.journey.pages.append(kind)
        source = page_source(self.page.url)
        if source == SOURCE_BROWSER:  # Chromium's own words change between builds; what matters is the kind
            text, outline = "", ()
        else:
            text = "\n".join(line.strip() for line in look["text"].splitlines() if line.strip())
            outline = tuple(look["outline"])
        step = len(self.journey.pages)
        via = ""
        if redirects:
            via = f" -> redirected {redirects}x by the {page_source(first_url) if first_url else 'server'}"
        caption = (f"{display('variant', self.journey.variant)} | email opened {display('when', self.journey.click_at)}\n"
                   f"Step {step}: {action}{via} -> {source}")
        png = self._capture(caption) if self.shoot else b""
        self.journey.screens.append(Screen(f"{self.journey.path}-{step}-{kind}", kind, text, png, source, caption,
                                           outline, redirects))
        return kind

    def _capture(self, caption: str) -> bytes:
        """Chromium's screenshot of the viewport with the caption bar on top (removed again afterwards)."""
        self.page.evaluate(_CAPTION_ON, caption)
        try:
            return self.page.screenshot(animations="disabled", caret="hide", scale="device", type="png")
        finally:
            self.page.evaluate(_CAPTION_OFF)

    def nothing_to_open(self, reason: str) -> None:
        """No email was sent: a captioned blank page says so (nothing a parent would see)."""
        caption = (f"{display('variant', self.journey.variant)} | {display('when', self.journey.click_at)}\n"
                   f"No step: {reason}")
        self.page.set_content('<!doctype html><html lang="en"><head><meta charset="utf-8"></head>'
                              f'<body><main data-page="no_email"><p>{reason}</p></main></body></html>')
        png = self._capture(caption) if self.shoot else b""
        self.journey.screens.append(Screen(f"{self.journey.path}-0-{NO_EMAIL}", NO_EMAIL, reason, png,
                                           SOURCE_NONE, caption, ("main[data-page=no_email]", "  p"), 0))

    def _look(self) -> dict[str, Any]:
        """Read the page; Chromium's error page may still be replacing the failed one, so wait and retry."""
        from playwright.sync_api import Error as PlaywrightError

        for _ in range(5):
            try:
                return self.page.evaluate(_LOOK)
            except PlaywrightError as exc:
                if "Execution context was destroyed" not in str(exc):
                    raise
                self.page.wait_for_load_state("load")
        return self.page.evaluate(_LOOK)

    def open(self, url: str, action: str = "opens the emailed link") -> str:
        """The parent clicks the link in the email."""
        from playwright.sync_api import Error as PlaywrightError

        self.journey.clicks += 1
        try:
            response = self.page.goto(url, wait_until="load")
        except PlaywrightError as exc:
            if "net::ERR_" not in str(exc):
                raise
            response = None
            self.page.wait_for_url("chrome-error://**", wait_until="load")  # Chromium's own error page
        return self._record(response, action)

    def press_pay(self) -> str:
        """The parent presses Pay on the checkout page."""
        self.journey.clicks += 1
        with self.page.expect_navigation(wait_until="load") as navigation:
            self.page.click('form button[value="succeeded"]')
        return self._record(navigation.value, "presses Pay")


# -- one variant --------------------------------------------------------------------------------------


FEE_TYPE = "tournament_fee"  # the fee the journeys charge; its amount comes from experiments/fees.yaml


def order_amount_cents(fee_type: str = FEE_TYPE) -> int:
    """The order amount every experiment uses for ``fee_type``, from ``experiments/fees.yaml``."""
    from blastpay import config
    from blastpay.models.fees import load_fee_params

    amounts = load_fee_params(config.EXPERIMENTS_DIR / "fees.yaml")["amounts_usd"]
    return int(round(float(amounts[fee_type]) * 100))


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


STRIP_GAP = 8  # px of grey between the steps of a strip
SCREENS_DIR = "journeys/screens"
SIDECAR_SUFFIX = ".page.json"


def strip_png(journey: Journey) -> bytes:
    """The journey's screenshots stacked top to bottom into one PNG (800 px wide), deterministic bytes."""
    from PIL import Image

    shots = [Image.open(io.BytesIO(s.png)).convert("RGB") for s in journey.screens if s.png]
    if not shots:
        raise ValueError(f"{journey.variant} {journey.click_at} {journey.path}: no screenshots (walk with screenshots on)")
    width = max(im.width for im in shots)
    height = sum(im.height for im in shots) + STRIP_GAP * (len(shots) - 1)
    strip = Image.new("RGB", (width, height), (200, 200, 200))
    y = 0
    for im in shots:
        strip.paste(im, (0, y))
        y += im.height + STRIP_GAP
    out = io.BytesIO()
    strip.save(out, format="PNG", optimize=False, compress_level=9)
    return out.getvalue()


def strip_sidecar(journey: Journey) -> dict[str, Any]:
    """What must match exactly between runs for a strip: every step's caption, who served the page, its
    kind, its text and its element outline (Chromium's own error page: kind only)."""
    return {
        "variant": journey.variant, "click_at": journey.click_at, "path": journey.path,
        "viewport": [VIEWPORT["width"], VIEWPORT["height"]], "gap_px": STRIP_GAP,
        "steps": [{"step": n, "caption": s.caption, "source": s.source, "kind": s.kind, "redirects_before": s.redirects,
                   "text": s.text, "outline": list(s.outline)} for n, s in enumerate(journey.screens, 1)],
    }


def strip_name(journey: Journey) -> str:
    return f"{SCREENS_DIR}/{journey.variant}-{journey.click_at}-{journey.path}.png"


def shown(variant: str, click_at: str, path: str, emailed: bool = True) -> bool:
    """Whether the evidence keeps screenshots of this journey: every unhappy path, and paying on day 31
    (paying at 1 hour or 25 hours looks the same as on day 31 for a link that lasts; the journey table
    records the rest). Where no email was sent, only the day-31 pay journey shows it."""
    if not emailed:
        return path == "pay" and click_at == "31d"
    return path != "pay" or click_at == "31d"


def shown_journeys(journeys: Iterable[Journey]) -> list[Journey]:
    """The walked journeys that ``shown`` keeps, in walk order."""
    return [j for j in journeys if j.screens and shown(j.variant, j.click_at, j.path, j.screens[0].kind != NO_EMAIL)
            and all(s.png for s in j.screens)]


def write_screenshots(writer: Any, journeys: Iterable[Journey]) -> list[str]:
    """Each shown journey as a strip PNG plus its sidecar ``.page.json``, through the evidence writer."""
    written = []
    for j in shown_journeys(journeys):
        rel = strip_name(j)
        writer.write_bytes(rel, strip_png(j))
        writer.json(rel[: -len(".png")] + SIDECAR_SUFFIX, strip_sidecar(j))
        written.append(rel)
    return written


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
