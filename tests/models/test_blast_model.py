from __future__ import annotations

import numpy as np
import pytest

from blastpay.models.blast import (
    VARIANTS,
    BlastModelError,
    draw_schedule,
    evaluate,
    parent_events,
    simulate,
    simulate_parents,
    variant_specs,
)

NEVER_EXPIRING = ("payment_link_per_order", "payment_link_per_product", "lazy_mint_hmac", "lazy_mint_db")


@pytest.fixture(scope="module")
def specs(registry):
    return variant_specs(registry)


def test_the_seven_variants_take_their_lifetimes_from_the_registry(specs, registry):
    assert tuple(specs) == VARIANTS
    window = registry.figure("checkout-expires-at-window")
    assert specs["ttl_24h"].link_lifetime_h == window
    assert specs["ttl_24h_recovery"].recovery_lifetime_h == registry.figure("checkout-recovery-url-lifetime") * 24
    assert not specs["ttl_30d"].feasible and f"{window:g} h" in specs["ttl_30d"].infeasible_reason
    for name in NEVER_EXPIRING:
        assert specs[name].link_lifetime_h == np.inf


@pytest.mark.parametrize("variant", NEVER_EXPIRING)
def test_never_expiring_links_strand_no_clicker(variant, models, registry):
    model = models["pessimistic"]
    df = simulate_parents(variant, model, 20_000, np.random.default_rng(3), registry=registry,
                          reminder_hours=72.0, scanner_share=0.3)
    clicked = np.isfinite(df.first_click_h)
    assert clicked.any()
    assert df.paid[clicked].all()
    assert not df.stranded.any()
    assert df.first_click_payable[clicked].all()


def test_the_24h_session_strands_exactly_the_parents_who_click_after_24h(models, registry, specs):
    model = models["central"]
    n = 50_000
    df = simulate_parents("ttl_24h", model, n, np.random.default_rng(5), registry=registry)
    late = np.isfinite(df.first_email_latency_h) & (df.first_email_latency_h >= specs["ttl_24h"].link_lifetime_h)
    assert (df.stranded == late).all()
    assert (df.paid == (np.isfinite(df.first_email_latency_h) & ~late)).all()
    expected = model.p * (1 - float(model.cdf(24.0)))
    assert abs(df.stranded.mean() - expected) < 5 * np.sqrt(expected * (1 - expected) / n)


def test_the_30_day_ttl_blast_fails_and_strands_every_order(models, registry):
    metrics = simulate("ttl_30d", models["optimistic"], 1000, np.random.default_rng(0), registry=registry)
    assert metrics["blast_failed"] and metrics["stranded_share"] == 1.0 and metrics["paid_share"] == 0.0
    assert metrics["emails_per_order"] == 0.0
    df = simulate_parents("ttl_30d", models["optimistic"], 100, np.random.default_rng(0), registry=registry)
    assert df.stranded.all() and not df.paid.any()


def test_recovery_url_rescues_some_late_parents_only_within_its_30_days(models, specs):
    sched = draw_schedule(models["central"], 40_000, np.random.default_rng(11))
    plain = evaluate(specs["ttl_24h"], sched)
    recovery = evaluate(specs["ttl_24h_recovery"], sched)
    assert np.all(recovery.paid >= plain.paid)
    assert recovery.paid.sum() > plain.paid.sum()
    rescued = recovery.paid & ~plain.paid
    start = specs["ttl_24h"].link_lifetime_h
    assert np.all(recovery.pay_h[rescued] > start)
    assert np.all(recovery.pay_h[rescued] < start + specs["ttl_24h_recovery"].recovery_lifetime_h)
    assert recovery.emails[rescued].min() == 2


def test_no_recovery_email_without_consent(models, specs):
    sched = draw_schedule(models["central"], 20_000, np.random.default_rng(12), recovery_consent_share=0.0)
    plain = evaluate(specs["ttl_24h"], sched)
    recovery = evaluate(specs["ttl_24h_recovery"], sched)
    assert (recovery.paid == plain.paid).all() and recovery.emails.max() == 1


def test_scanner_loads_pages_and_mints_but_never_pays(models, specs):
    model = models["central"]
    with_scan = draw_schedule(model, 20_000, np.random.default_rng(21), scanner_share=1.0)
    without = draw_schedule(model, 20_000, np.random.default_rng(21), scanner_share=0.0)
    for name in VARIANTS:
        a, b = evaluate(specs[name], with_scan), evaluate(specs[name], without)
        assert (a.paid == b.paid).all()
    lazy = evaluate(specs["lazy_mint_db"], with_scan)
    first = with_scan.first_latency_h
    # the scanner's GET at delivery mints the session; a click while it has more than the reuse margin left reuses
    # it, a later click mints anew
    reuse_until = 24 - specs["lazy_mint_db"].reuse_margin_h
    assert (lazy.sessions_minted[first < reuse_until] == 1).all()
    assert (lazy.sessions_minted[(first >= reuse_until) & np.isfinite(first)] == 2).all()
    assert (lazy.sessions_minted[np.isinf(first)] == 1).all()
    link = evaluate(specs["payment_link_per_order"], with_scan)
    assert (link.sessions_minted[link.paid] == 2).all()
    assert (link.page_loads == link.human_visits + 1).all()
    ttl = evaluate(specs["ttl_24h"], with_scan)
    assert (ttl.sessions_minted == 1).all()


def test_reminder_carries_a_working_link_for_every_variant(models, specs):
    """The mitigation policy's reminder carries a working link: the same never-expiring link, or, for the 24-hour
    variants whose emailed session is dead by 72 h, a fresh Checkout Session (one more session per reminded order)."""
    sched = draw_schedule(models["central"], 30_000, np.random.default_rng(31))
    for name in ("lazy_mint_hmac", "payment_link_per_product", "ttl_24h"):
        base = evaluate(specs[name], sched)
        reminded = evaluate(specs[name], sched, reminder_hours=72.0)
        assert np.all(reminded.paid >= base.paid) and reminded.paid.sum() > base.paid.sum()
    base = evaluate(specs["ttl_24h"], sched)
    reminded = evaluate(specs["ttl_24h"], sched, reminder_hours=72.0)
    # parents who pay through the reminder paid on the fresh session, which was live when they clicked
    via_reminder = reminded.paid & ~base.paid
    assert via_reminder.any() and (reminded.pay_h[via_reminder] >= 72.0).all()
    assert reminded.stranded.sum() < base.stranded.sum()
    unpaid_at_72 = ~(base.pay_h <= 72.0)
    assert (reminded.sessions_minted == 1 + unpaid_at_72).all()


def test_parents_who_leave_come_back_and_lazy_mint_reuses_the_open_session(models, specs):
    sched = draw_schedule(models["central"], 30_000, np.random.default_rng(41), pay_on_first_visit=0.5, max_visits=4)
    lazy = evaluate(specs["lazy_mint_hmac"], sched)
    link = evaluate(specs["payment_link_per_order"], sched)
    assert (link.sessions_minted == link.human_visits).all()
    assert (lazy.sessions_minted <= lazy.human_visits).all()
    assert lazy.sessions_minted.sum() < link.sessions_minted.sum()
    assert lazy.gave_up.any() and not lazy.stranded.any()
    assert (lazy.human_visits[lazy.gave_up] == 4).all()


def test_simulate_metrics_agree_with_the_per_parent_frame(models, registry):
    kwargs = dict(registry=registry, scanner_share=0.2, reminder_hours=48.0)
    metrics = simulate("ttl_24h_recovery", models["central"], 5000, np.random.default_rng(9), **kwargs)
    df = simulate_parents("ttl_24h_recovery", models["central"], 5000, np.random.default_rng(9), **kwargs)
    assert metrics["paid_share"] == pytest.approx(df.paid.mean())
    assert metrics["stranded_share"] == pytest.approx(df.stranded.mean())
    assert metrics["first_click_payable_share"] == pytest.approx(df.first_click_payable.mean())
    assert metrics["page_loads_per_payment"] == pytest.approx(df.page_loads.sum() / df.paid.sum())
    assert metrics["time_to_payment_median_h"] == pytest.approx(df.pay_h[df.paid].median())


def test_progress_is_told_about_every_parent(models, registry):
    seen = []
    simulate("lazy_mint_db", models["central"], 2500, np.random.default_rng(1), registry=registry,
             chunk_size=1000, progress=seen.append)
    assert seen == [1000, 1000, 500]


def test_events_replay_the_same_outcome(models, specs):
    sched = draw_schedule(models["central"], 2000, np.random.default_rng(2), scanner_share=0.5)
    out = evaluate(specs["ttl_24h_recovery"], sched)
    events = parent_events(specs["ttl_24h_recovery"], sched)
    assert events.t_h.is_monotonic_increasing
    assert events.pays.sum() == out.paid.sum()
    assert len(events) == out.page_loads.sum()
    assert not events[events.actor == "scanner"].pays.any()


def test_bad_input_is_refused_with_a_message(models, registry):
    with pytest.raises(BlastModelError, match="unknown variant"):
        simulate("ttl_7d", models["central"], 10, np.random.default_rng(0), registry=registry)
    with pytest.raises(BlastModelError, match="scanner_share"):
        simulate("ttl_24h", models["central"], 10, np.random.default_rng(0), registry=registry, scanner_share=1.5)
    with pytest.raises(BlastModelError, match="n must be"):
        simulate("ttl_24h", models["central"], 0, np.random.default_rng(0), registry=registry)
    with pytest.raises(BlastModelError, match="reminder_hours"):
        simulate("ttl_24h", models["central"], 10, np.random.default_rng(0), registry=registry, reminder_hours=-1)


def test_lazy_mint_reuse_margin_matches_the_flow(specs):
    from blastpay.flows.lazy_mint import REUSE_MARGIN

    assert specs["lazy_mint_hmac"].reuse_margin_h * 3600 == REUSE_MARGIN
    assert specs["lazy_mint_db"].reuse_margin_h * 3600 == REUSE_MARGIN


def test_recovery_without_consent_is_the_24h_session_and_consent_only_helps(models, registry):
    """Stripe's recovery email needs the parent's consent: at a consent share of 0 the recovery variant strands as
    many parents as the plain 24-hour session; at 1 (an upper bound) fewer."""
    out = {}
    for share in (0.0, 1.0):
        out[share] = simulate("ttl_24h_recovery", models["central"], 20_000, np.random.default_rng(9),
                              registry=registry, recovery_consent_share=share)
    plain = simulate("ttl_24h", models["central"], 20_000, np.random.default_rng(9), registry=registry,
                     recovery_consent_share=0.0)
    assert out[0.0]["stranded_share"] == pytest.approx(plain["stranded_share"])
    assert out[1.0]["stranded_share"] < out[0.0]["stranded_share"]


def test_committed_recovery_consent_is_an_explicit_assumption():
    from blastpay import config
    from blastpay.experiments.parameters import load_blast_params

    params = load_blast_params(config.EXPERIMENTS_DIR / "blast.yaml")
    assert 0.0 <= params["recovery_consent_share"] <= 1.0
    text = (config.EXPERIMENTS_DIR / "blast.yaml").read_text()
    assert "ASSUMPTION" in text.split("recovery_consent_share:")[0].rsplit("\n\n", 1)[-1]
