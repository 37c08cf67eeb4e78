"""The journey rules that need no browser."""
import pytest

from blastpay.experiments import journeys


@pytest.mark.parametrize("look, kind", [
    (dict(url="http://127.0.0.1:1/c/pay/cs_1", title="Pay 150.00 USD", data_page=None, payable=True), "checkout"),
    (dict(url="http://127.0.0.1:1/c/pay/cs_1", title="Session expired", data_page=None, payable=False), "expired"),
    (dict(url="http://127.0.0.1:1/b/x", title="Link deactivated", data_page=None, payable=False), "inactive"),
    (dict(url="http://127.0.0.1:1/pay/t", title="Already paid", data_page="already_paid", payable=False), "already_paid"),
    (dict(url="chrome-error://chromewebdata/", title="127.0.0.1", data_page=None, payable=False), "cannot_connect"),
    (dict(url="http://127.0.0.1:1/x", title="Something else", data_page=None, payable=False), "unknown"),
])
def test_page_kind(look, kind):
    assert journeys.page_kind(**look) == kind


def test_club_stand_in_pages():
    assert 'data-page="success"' in journeys.club_page("https://club.example/checkout/success?session_id=cs_1")
    assert 'data-page="left_checkout"' in journeys.club_page("https://club.example/checkout/canceled")


@pytest.mark.parametrize("plan, message", [
    ({"2d": ("pay",)}, "unknown click time '2d'"),
    ({"1h": ("fly",)}, "unknown journey path 'fly'"),
])
def test_bad_plan_is_named(plan, message):
    with pytest.raises(ValueError, match=message):
        journeys.check_plan(plan)


def test_unknown_variant_is_named():
    with pytest.raises(ValueError, match="unknown flow variant 'ttl_7d'"):
        journeys.run_journeys(["ttl_7d"])


def test_missing_chromium_names_the_fix(tmp_path):
    with pytest.raises(journeys.BrowserMissing, match=r"bash \.ci/browser"):
        journeys.require_chromium(str(tmp_path / "no-chromium"))


def test_plan_is_walked_in_time_order():
    steps = journeys.check_plan({"31d": ("backend_down", "pay"), "1h": ("stripe_failing", "pay")})
    assert steps == [("1h", ["pay", "stripe_failing"]), ("31d", ["pay", "backend_down"])]
