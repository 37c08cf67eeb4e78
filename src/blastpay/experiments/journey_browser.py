"""What the journeys' browser does: headless Chromium (Debian's package, driven by Playwright), the stand-in
club website, what kind of page a parent is looking at and who served it, and the screenshots.

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

The journeys themselves (which links, which clicks, which clock) live in ``blastpay.experiments.journeys``;
this module knows a journey only as the object it records pages into.
"""

from __future__ import annotations

import io
import os
import shutil
import ssl
import subprocess
import tempfile
import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Iterable, Optional
from urllib.parse import urlsplit

from blastpay.display_names import display

# A blastpay.experiments.journeys.Journey; not imported, because that module imports this one.
Journey = Any

CHROMIUM_PATH = "/usr/bin/chromium"
LAUNCH_ARGS = ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
               "--disable-background-networking", "--disable-component-update", "--disable-sync",
               "--font-render-hinting=none", "--force-color-profile=srgb", "--hide-scrollbars"]
VIEWPORT = {"width": 800, "height": 280}  # one step of a strip: readable at page width
DEVICE_SCALE_FACTOR = 1
CLUB_SITE = "https://club.example"

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


# -- screenshots as evidence ------------------------------------------------------------------------


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

