"""Real screenshots of what a parent sees: captured by Chromium, captioned, readable at page width, and
compared on regeneration by what matters (text and structure exactly, pixels within a tolerance)."""
import io
import json

import pytest
from PIL import Image

from blastpay.evidence.manifest import COMPARISON_RULES, PIXEL_TOLERANCE, comparison_rule, evidence_hash
from blastpay.evidence.pipeline import compare
from blastpay.experiments import journeys

SHOWN_PLAN = {"1h": ("pay", "already_paid", "order_canceled", "stripe_failing", "link_not_valid"), "31d": ("pay", "backend_down")}


@pytest.fixture(scope="module")
def shot(browser):
    browser.screenshots = True
    try:
        walked = [j for v in ("lazy_mint_db", "payment_link_per_order", "ttl_24h", "ttl_30d")
                  for j in journeys.walk_variant(browser, v, SHOWN_PLAN, seed=489)]
    finally:
        browser.screenshots = False
    return {(j.variant, j.click_at, j.path): j for j in journeys.shown_journeys(walked)}


class _Writer:
    def __init__(self):
        self.files = {}

    def write_bytes(self, rel, data):
        self.files[rel] = data
        return rel

    def json(self, rel, obj):
        self.files[rel] = (json.dumps(obj, sort_keys=True, indent=2) + "\n").encode()
        return rel


def _steps(journey):
    return [(s["source"], s["text"].splitlines()[0] if s["text"] else s["kind"])
            for s in journeys.strip_sidecar(journey)["steps"]]


def test_the_clubs_own_pages_are_captured_with_their_words(shot):
    assert _steps(shot["lazy_mint_db", "1h", "stripe_failing"])[0] == ("club's backend (lazy-mint /pay route)",
                                                                         "Try again in a minute")
    for path, heading in [("already_paid", "Already paid"), ("order_canceled", "Order canceled"),
                          ("link_not_valid", "Link not valid")]:
        assert _steps(shot["lazy_mint_db", "1h", path]) == [("club's backend (lazy-mint /pay route)", heading)]
    assert _steps(shot["lazy_mint_db", "31d", "backend_down"]) == [("Chromium's own error page", "cannot_connect")]


def test_stripes_hosted_pages_are_labelled_emulated(shot):
    day31 = journeys.strip_sidecar(shot["lazy_mint_db", "31d", "pay"])["steps"]
    assert [s["source"] for s in day31] == ["emulated Stripe page", "club's website (stand-in)"]
    assert "redirected 1x by the club's backend" in day31[0]["caption"]  # the /pay redirect, shown in the caption
    assert day31[0]["caption"].endswith("-> emulated Stripe page")
    assert _steps(shot["ttl_24h", "31d", "pay"]) == [("emulated Stripe page", "Session expired")]
    assert _steps(shot["payment_link_per_order", "1h", "already_paid"]) == [("emulated Stripe page", "Link deactivated")]
    assert journeys.strip_sidecar(shot["ttl_30d", "31d", "pay"])["steps"][0]["source"] == "no page"


def test_strips_are_page_width_and_one_step_per_page(shot):
    for journey in shot.values():
        image = Image.open(io.BytesIO(journeys.strip_png(journey)))
        steps = len(journey.screens)
        assert image.width == 800
        assert image.height == steps * journeys.VIEWPORT["height"] + (steps - 1) * journeys.STRIP_GAP


def test_each_strip_has_a_sidecar_and_the_screenshot_rule(shot):
    writer = _Writer()
    written = journeys.write_screenshots(writer, shot.values())
    assert "journeys/screens/lazy_mint_db-31d-pay.png" in written
    for rel in written:
        assert comparison_rule(rel, writer.files) == "screenshot"
        sidecar = json.loads(writer.files[rel[:-4] + ".page.json"])
        assert sidecar["steps"] and all(step["caption"] for step in sidecar["steps"])
    assert comparison_rule("journeys/summary.json", writer.files) == "exact"
    assert "pixelmatch" in COMPARISON_RULES["screenshot"]


def _tree(tmp_path, name, files):
    root = tmp_path / name
    for rel, data in files.items():
        target = root / "evidence" / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
    manifest = {"files": {rel: {"sha256": str(hash(data)), "comparison": comparison_rule(rel, files)}
                          for rel, data in files.items()}}
    (root / "evidence" / "manifest.json").write_text(json.dumps(manifest, sort_keys=True))
    return root


def _recapture(browser, css):
    """The day-31 lazy-mint checkout page again, with `css` applied (a font update stand-in)."""
    from blastpay.emulator import Emulator
    from blastpay.flows.harness import build_flow

    flow = build_flow("lazy_mint_db", emulator=Emulator(seed=489), over_http=True)
    try:
        order = flow.create_orders([journeys._spec(0, journeys.order_amount_cents())])[0]
        flow.blast([order])
        page = browser.fresh_page()
        page.goto(flow.store.latest_email(order.id).url)
        if css:
            page.add_style_tag(content=css)
        page.evaluate(journeys._CAPTION_ON, "caption\nStep 1: opens the emailed link -> emulated Stripe page")
        return page.screenshot(type="png")
    finally:
        flow.close()


def test_a_font_change_passes_the_freshness_check_but_changed_words_or_layout_do_not(browser, tmp_path, monkeypatch):
    from blastpay.evidence import pipeline

    monkeypatch.setattr(pipeline, "generated_paths", lambda: ["evidence"])
    base = _recapture(browser, None)
    serif = _recapture(browser, "* { font-family: 'DejaVu Serif', serif !important; }")
    restyled = _recapture(browser, "body { background: #c03030 !important; }")
    assert base != serif
    sidecar = b'{"steps": [{"text": "Pay 350.00 USD"}]}\n'
    committed = _tree(tmp_path, "committed", {"journeys/screens/a.png": base, "journeys/screens/a.page.json": sidecar})
    same_words = _tree(tmp_path, "font", {"journeys/screens/a.png": serif, "journeys/screens/a.page.json": sidecar})
    assert compare(same_words, committed) == []  # pixels within tolerance, sidecar identical, manifest sha ignored
    other_words = _tree(tmp_path, "words", {"journeys/screens/a.png": base,
                                            "journeys/screens/a.page.json": sidecar.replace(b"350", b"150")})
    assert "evidence/journeys/screens/a.page.json (differs)" in compare(other_words, committed)
    recoloured = _tree(tmp_path, "colour", {"journeys/screens/a.png": restyled, "journeys/screens/a.page.json": sidecar})
    drift = compare(recoloured, committed)[0]
    assert drift.startswith("evidence/journeys/screens/a.png (screenshot differs:")
    assert f"tolerance {PIXEL_TOLERANCE:.0%}" in drift


def test_a_plain_png_must_still_be_byte_identical(tmp_path, monkeypatch):
    from blastpay.evidence import pipeline

    monkeypatch.setattr(pipeline, "generated_paths", lambda: ["evidence"])
    committed = _tree(tmp_path, "a", {"cost/figure.png": b"\x89PNG one"})
    fresh = _tree(tmp_path, "b", {"cost/figure.png": b"\x89PNG two"})
    assert "evidence/cost/figure.png (differs)" in compare(fresh, committed)


def test_the_evidence_hash_ignores_screenshot_bytes_but_not_sidecars(tmp_path):
    def manifest(png_sha, sidecar_sha):
        root = tmp_path / f"{png_sha}-{sidecar_sha}"
        root.mkdir(exist_ok=True)
        (root / "manifest.json").write_text(json.dumps({"files": {
            "journeys/screens/a.png": {"sha256": png_sha, "comparison": "screenshot"},
            "journeys/screens/a.page.json": {"sha256": sidecar_sha, "comparison": "exact"}}}))
        return evidence_hash(root)

    assert manifest("p1", "s1") == manifest("p2", "s1")
    assert manifest("p1", "s1") != manifest("p1", "s2")


def test_two_walks_give_identical_sidecars_and_matching_pixels(browser):
    browser.screenshots = True
    try:
        first, second = (journeys.walk_variant(browser, "lazy_mint_hmac", {"31d": ("pay",)}, seed=1) for _ in range(2))
    finally:
        browser.screenshots = False
    [a], [b] = journeys.shown_journeys(first), journeys.shown_journeys(second)
    assert journeys.strip_sidecar(a) == journeys.strip_sidecar(b)
    from blastpay.evidence.pipeline import screenshot_pixels_differ

    assert screenshot_pixels_differ(journeys.strip_png(a), journeys.strip_png(b)) is None
