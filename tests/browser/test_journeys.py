"""What a parent sees in a real browser under each option (headless Chromium, loopback only)."""
import pytest

from blastpay.experiments import journeys

LINKS_THAT_LAST = ["payment_link_per_order", "payment_link_per_product", "lazy_mint_hmac", "lazy_mint_db"]
LAZY = ["lazy_mint_hmac", "lazy_mint_db"]
SESSION_URLS = ["ttl_24h", "ttl_24h_recovery"]


@pytest.mark.parametrize("variant", LINKS_THAT_LAST)
@pytest.mark.parametrize("when", ["1h", "25h", "31d"])
def test_lasting_links_reach_a_payable_page_and_pay_once(journey, variant, when):
    j = journey(variant, when, "pay")
    assert j.pages == ["checkout", "success"]
    assert j.clicks == 2  # the email link, then Pay
    assert j.redirects == 2  # link -> Checkout Session, Pay -> club's success page
    assert j.order_status == "paid"
    assert j.paid_sessions == 1


@pytest.mark.parametrize("variant", SESSION_URLS)
def test_session_url_in_the_email_is_payable_at_one_hour_with_one_redirect(journey, variant):
    j = journey(variant, "1h", "pay")
    assert j.pages == ["checkout", "success"]
    assert (j.clicks, j.redirects) == (2, 1)  # the email opens the session itself; only Pay redirects
    assert (j.order_status, j.paid_sessions) == ("paid", 1)


@pytest.mark.parametrize("when", ["25h", "31d"])
def test_ttl_24h_shows_the_expired_page_after_a_day(journey, when):
    j = journey("ttl_24h", when, "pay")
    assert j.pages == ["expired"]
    assert (j.clicks, j.redirects, j.order_status, j.paid_sessions) == (1, 0, "pending", 0)


def test_recovery_email_pays_at_25_hours_and_is_dead_on_day_31(journey):
    at_25h = journey("ttl_24h_recovery", "25h", "pay")
    assert at_25h.pages == ["checkout", "success"]
    assert at_25h.redirects == 2  # recovery URL -> new session, Pay -> success
    assert at_25h.order_status == "paid"
    assert journey("ttl_24h_recovery", "31d", "pay").pages == ["expired"]


@pytest.mark.parametrize("when", ["1h", "31d"])
def test_ttl_30d_sends_no_email_so_there_is_nothing_to_open(journey, when):
    j = journey("ttl_30d", when, "pay")
    assert j.pages == [] and j.final_page == "no_email" and j.clicks == 0
    assert j.order_status == "pending"


def test_opening_a_paid_order_again(journey):
    seen = {v: journey(v, "1h", "already_paid").pages for v in LAZY + ["payment_link_per_order"] + SESSION_URLS}
    assert seen == {"lazy_mint_hmac": ["already_paid"], "lazy_mint_db": ["already_paid"],
                    "payment_link_per_order": ["inactive"], "ttl_24h": ["completed"],
                    "ttl_24h_recovery": ["completed"]}
    shared = journey("payment_link_per_product", "1h", "already_paid")
    assert shared.pages == ["checkout"]  # a shared link offers to take the money again
    assert shared.paid_sessions == 1  # the journey stops before paying twice


def test_opening_a_canceled_order(journey):
    seen = {v: journey(v, "1h", "order_canceled").pages[0] for v in LAZY + ["payment_link_per_order"] + SESSION_URLS}
    assert seen == {"lazy_mint_hmac": "canceled", "lazy_mint_db": "canceled", "payment_link_per_order": "inactive",
                    "ttl_24h": "expired", "ttl_24h_recovery": "expired"}
    shared = journey("payment_link_per_product", "1h", "order_canceled")
    assert shared.pages == ["checkout", "success"]  # a shared link cannot be turned off for one order
    assert (shared.order_status, shared.paid_sessions) == ("canceled", 1)


def test_stripe_failing_during_the_click(journey):
    for variant in LAZY:
        j = journey(variant, "1h", "stripe_failing")
        assert j.pages == ["try_again", "checkout", "success"]  # the minute later, the same link works
        assert (j.clicks, j.order_status, j.paid_sessions) == (3, "paid", 1)
    for variant in ["payment_link_per_order", "payment_link_per_product", "ttl_24h"]:
        # the link was minted at blast time; opening it makes no API call of ours
        assert journey(variant, "1h", "stripe_failing").pages == ["checkout", "success"]


def test_backend_down(journey):
    for variant in LAZY:
        j = journey(variant, "31d", "backend_down")
        assert j.pages == ["cannot_connect"]
        assert (j.order_status, j.paid_sessions) == ("pending", 0)
    for variant in ["payment_link_per_order", "payment_link_per_product"]:
        j = journey(variant, "31d", "backend_down")
        assert j.pages == ["checkout", "success"]  # the parent pays at Stripe...
        assert (j.order_status, j.paid_sessions) == ("pending", 1)  # ...but the webhook cannot reach the club


def test_a_damaged_link(journey):
    for variant in LAZY:
        assert journey(variant, "1h", "link_not_valid").pages == ["not_found"]  # the club's "Link not valid"
    for variant in ["payment_link_per_order"] + SESSION_URLS:
        assert journey(variant, "1h", "link_not_valid").pages == ["not_found"]  # Stripe's not-found page
    shared = journey("payment_link_per_product", "1h", "link_not_valid")
    assert shared.pages == ["checkout"]  # the product link still opens; only the order reference is wrong


def test_summary(walked):
    summary = journeys.summary(walked)["by_variant"]
    assert {v: s["day31_page"] for v, s in summary.items()} == {
        "payment_link_per_order": "checkout", "payment_link_per_product": "checkout", "lazy_mint_hmac": "checkout",
        "lazy_mint_db": "checkout", "ttl_30d": "no_email", "ttl_24h": "expired", "ttl_24h_recovery": "expired"}
    assert summary["lazy_mint_hmac"]["clicks_to_pay_1h"] == 2
    assert summary["ttl_30d"]["clicks_to_pay_1h"] is None


def test_every_page_seen_is_recorded_with_its_text_and_the_amount_from_fees_yaml(walked):
    import yaml

    from blastpay import config

    amount = yaml.safe_load((config.EXPERIMENTS_DIR / "fees.yaml").read_text())["amounts_usd"]["tournament_fee"]
    screens = {f"{j.variant}-{j.click_at}-{s.name}": s for j in walked for s in j.screens}
    assert len(screens) == sum(len(j.pages) for j in walked)
    checkout = screens["lazy_mint_hmac-31d-pay-1-checkout"]
    assert f"Pay {amount:.2f} USD" in checkout.text
    assert checkout.source == "emulated Stripe page"
    assert "expired" in screens["ttl_24h-31d-pay-1-expired"].text.lower()
