"""The retry cohort: the composed combinations equal a literal replay, and each design's session count."""

import pytest

from blastpay import config
from blastpay.experiments import retry_cohort as rc

COLUMNS = ["return_after_hours", "combination", "parent_id", "cancels", "clicks", "pages_seen", "sessions_minted",
           "sessions_expired", "sessions_open", "paid", "matched_to_order", "pending_reason"]


@pytest.fixture(scope="module")
def cfg():
    from blastpay.experiments.parameters import load_cohort

    return load_cohort(config.EXPERIMENTS_DIR / "cohort.yaml", config.EXPERIMENTS_DIR / "fees.yaml")


@pytest.mark.slow
@pytest.mark.parametrize("variant", ["payment_link_per_product", "lazy_mint_db"])
def test_composed_combinations_equal_a_literal_replay_of_all_81_orders(cfg, variant):
    composed = rc.run(cfg, 7, variants=[variant])
    literal = rc.run(cfg, 7, variants=[variant], literal=True)
    key = COLUMNS[:3]
    assert len(composed) == len(literal) == 27 * 3 * len(cfg.return_after_hours)
    a = composed[COLUMNS].sort_values(key).reset_index(drop=True)
    b = literal[COLUMNS].sort_values(key).reset_index(drop=True)
    assert a.equals(b)


@pytest.fixture(scope="module")
def four_designs(cfg):
    """One replay of the cohort through four designs, shared by the tests that read it."""
    return rc.run(cfg, 11, variants=["lazy_mint_hmac", "lazy_mint_db", "payment_link_per_order", "ttl_24h"])


def test_each_design_creates_the_sessions_it_promises(cfg, four_designs):
    rows = four_designs
    same_day = rows[rows.return_after_hours == 2]
    by = {(r.variant, r.cancels): r for r in same_day.itertuples()}
    for k in cfg.cancels:
        # lazy mint sends every return to the order's open session: one session, however often Back is pressed
        assert by[("lazy_mint_hmac", k)].sessions_minted == 1
        # a Payment Link creates a session per visit and has no back link: k abandoned sessions plus the paid one
        assert by[("payment_link_per_order", k)].sessions_minted == k + 1
        assert by[("payment_link_per_order", k)].sessions_expired == k
        # a Checkout Session URL in the email is the same session on every visit within its 24 hours
        assert by[("ttl_24h", k)].sessions_minted == 1
    assert same_day.paid.all() and same_day.matched_to_order.all()
    # next day the emailed session is dead; under the shared policy a fresh one is sent before the parent returns,
    # so every return is a new session (one per day), as lazy mint's click mints one per day
    next_day = rows[rows.return_after_hours == 26]
    for variant in ("ttl_24h", "lazy_mint_hmac"):
        mine = next_day[next_day.variant == variant]
        assert mine.paid.all() and (mine.sessions_abandoned == mine.cancels).all()


def test_todays_flow_reproduces_the_incident_under_the_pay_button_cause(cfg):
    rows = rc.run(cfg, 13, variants=[], today=True)
    minting = rows[rows.variant == "today_pay_button_mints"]
    # every Back leaves a session behind, whatever the return delay: the 2-4 canceled sessions of 111, 118, 127
    assert (minting.sessions_abandoned == minting.cancels).all() and minting.paid.all()
    # same-day returns find the earlier sessions still open: a second way to pay the same order
    assert (minting[minting.return_after_hours == 2].max_open_sessions >= 2).all()
    assert (minting[minting.return_after_hours == 26].max_open_sessions == 1).all()  # next day they have expired
    resend = rows[rows.variant == "today_resend_after_expiry"]
    assert (resend[resend.return_after_hours == 2].sessions_abandoned == 0).all()
    assert (resend[resend.return_after_hours == 26].sessions_abandoned == resend[resend.return_after_hours == 26].cancels).all()
    summary = rc.summarise(rows)
    metric = rc.decision_metric(summary)
    assert metric["today_pay_button_mints"] == pytest.approx(3.0)  # cancels 2, 3, 4 equally often


def test_open_sessions_are_measured_from_stripe_for_every_variant(cfg, four_designs):
    """max_open_sessions is counted from the emulator after every step, not assumed to be 1: a Payment Link opens a
    new session on every visit, so a parent who pressed Back k times the same day holds k + 1 open sessions."""
    rows = four_designs
    by = {(r.variant, r.return_after_hours, r.cancels): r for r in rows.itertuples()}
    for k in cfg.cancels:
        assert by[("payment_link_per_order", 2, k)].max_open_sessions == k + 1
        assert by[("payment_link_per_order", 26, k)].max_open_sessions == 1  # the earlier ones expired overnight
        assert by[("lazy_mint_db", 2, k)].max_open_sessions == 1
        assert by[("ttl_24h", 2, k)].max_open_sessions == 1
    cost = rc.abandoned_session_cost(rc.summarise(rows[rows.variant != "lazy_mint_hmac"]))
    assert cost["payment_link_per_order"]["max_open_sessions_per_order"] == max(cfg.cancels) + 1
