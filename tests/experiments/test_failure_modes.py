"""Failure modes: one fault list and one mitigation policy for every variant; cells measured per parent."""

from contextlib import contextmanager

import pytest

from blastpay import config
from blastpay.emulator import Emulator
from blastpay.experiments import failure_modes as fm
from blastpay.flows import invariants
from blastpay.flows.harness import VARIANTS, build_flow
from blastpay.flows.mitigations import BlastJob, load_policy, send_reminders
from blastpay.flows.order_models import OrderSpec
from blastpay.flows.simulation import DirectWebhooks, newest_url, open_url, pay_if_checkout

HOUR = 3600


@pytest.fixture(scope="module")
def plan():
    return fm.load_plan(config.EXPERIMENTS_DIR / "faults.yaml")


@pytest.fixture(scope="module")
def policy():
    return load_policy(config.EXPERIMENTS_DIR / "mitigations.yaml")


@contextmanager
def _flow(variant, retries=0):
    """A variant's flow on a fresh emulator with two pending orders, closed on the way out."""
    emu = Emulator(seed=0)
    flow = build_flow(variant, emulator=emu, max_network_retries=retries)
    try:
        DirectWebhooks(flow)
        orders = flow.create_orders([OrderSpec(parent_id=111 + i, player_id=i, product_id="camp", amount=15000)
                                     for i in range(2)])
        yield emu, flow, orders
    finally:
        flow.close()


@pytest.mark.slow
def test_every_variant_runs_the_same_fault_list_under_the_same_policy(plan, policy):
    faults = ("stripe_api_500_15m", "server_down_30m")
    cells = fm.run_matrix(plan=plan, policy=policy, faults=faults, seed=3)
    by_variant = {}
    for c in cells:
        by_variant.setdefault(c.variant, []).append((c.fault, c.fault_spec, c.policy, c.orders))
    assert set(by_variant) == set(VARIANTS)
    first = next(iter(by_variant.values()))
    assert all(runs == first for runs in by_variant.values())
    assert [f for f, *_ in first] == list(faults)
    assert "max_network_retries=2" in first[0][2] and "requeue_backoff_minutes" in first[0][2]


def test_ok_never_covers_a_parent_who_met_an_error_page(plan, policy):
    lazy = fm.run_cell("server_down_4h", "lazy_mint_db", plan=plan, policy=policy)
    assert lazy.error_page_share > 0 and fm.short_label(lazy) != "ok"
    assert "unreachable" in lazy.parent_sees
    # the parent who does not come back by themselves pays only through the reminder (and only some answer it)
    assert lazy.eventually_pay_share_if_not < lazy.eventually_pay_share_if_returning == 1.0
    hosted = fm.run_cell("server_down_4h", "payment_link_per_order", plan=plan, policy=policy)
    assert hosted.error_page_share == 0 and fm.short_label(hosted) == "ok"


def test_a_stripe_outage_at_blast_delays_hosted_emails_until_the_job_retries(plan, policy):
    cell = fm.run_cell("stripe_api_500_2h", "ttl_24h", plan=plan, policy=policy)
    assert cell.blast_attempts > cell.orders and cell.orders_paid == cell.orders
    assert cell.parent_hours_without_way_to_pay > 1.5  # no email for the outage's two hours
    assert cell.error_page_share == 0 and cell.money_safe
    lazy = fm.run_cell("stripe_api_500_2h", "lazy_mint_hmac", plan=plan, policy=policy)
    assert lazy.error_page_share > 0  # the parents who click in the outage meet "try again"


def test_sdk_retries_absorb_a_single_500_and_the_job_requeues_an_outage(policy):
    with _flow("payment_link_per_order", retries=policy.max_network_retries) as (emu, flow, orders):
        emu.set_faults(route="*", error="500", count=1)
        job = BlastJob(flow, policy)
        assert job.send(orders[:1]) == {orders[0].id: True} and job.next_due() is None
        emu.set_faults(route="*", error="500", rate=1.0, seed=0)
        assert job.send(orders[1:]) == {orders[1].id: False}
        assert job.next_due() == emu.now() + int(policy.requeue_backoff_minutes[0] * 60)
        emu.set_faults(clear=True)
        emu.advance(int(policy.requeue_backoff_minutes[0] * 60))
        assert job.run_due() == 1 and newest_url(flow, orders[1].id) is not None
        assert [(o, a, ok) for o, a, ok in job.log if o == orders[1].id] == [(orders[1].id, 1, False), (orders[1].id, 2, True)]


def test_each_blast_attempt_carries_its_own_idempotency_key(policy):
    with _flow("ttl_24h", retries=2) as (emu, flow, orders):
        seen = []
        inner = flow.http.inner.request

        def spy(method, url, headers, post_data=None):
            if method.lower() == "post":
                seen.append(headers.get("Idempotency-Key"))
            return inner(method, url, headers, post_data)

        flow.http.inner.request = spy
        emu.set_faults(route="*", error="500", count=1)  # the SDK retries this request with the same key
        BlastJob(flow, policy).send(orders[:1])
        assert seen == [f"blast-order{orders[0].id}-attempt1-1"] * 2


def test_a_reminder_under_the_24_hour_session_carries_a_fresh_session(policy):
    with _flow("ttl_24h", retries=2) as (emu, flow, orders):
        job = BlastJob(flow, policy)
        job.send(orders)
        first = newest_url(flow, orders[0].id)
        emu.advance(25 * HOUR)
        assert invariants.way_to_pay(flow, orders[0].id) is not None  # the emailed session is dead
        assert send_reminders(flow, job, [o.id for o in orders]) == {orders[0].id: "fresh", orders[1].id: "fresh"}
        assert newest_url(flow, orders[0].id) != first and invariants.way_to_pay(flow, orders[0].id) is None
        assert pay_if_checkout(flow, open_url(flow, orders[0].id, newest_url(flow, orders[0].id))).page == "success"


def test_amount_change_recovery_text_says_what_happened(plan, policy):
    lazy = fm.run_cell("amount_changed_after_blast", "lazy_mint_db", plan=plan, policy=policy)
    assert lazy.money_safe and "refund" not in lazy.recovers and "amount_mismatch" not in lazy.recovers
    shared = fm.run_cell("amount_changed_after_blast", "payment_link_per_product", plan=plan, policy=policy)
    assert not shared.money_safe and "amount_mismatch" in shared.recovers


def test_unknown_faults_and_variants_are_refused_by_name(plan, policy):
    with pytest.raises(fm.FailureModeError, match="unknown fault"):
        fm.run_cell("meteor", "ttl_24h", plan=plan, policy=policy)
    with pytest.raises(fm.FailureModeError, match="unknown variant"):
        fm.run_cell("none", "carrier_pigeon", plan=plan, policy=policy)


def test_payment_for_a_canceled_order_is_a_money_violation():
    with _flow("payment_link_per_product") as (emu, flow, orders):
        flow.blast(orders)
        flow.cancel_order(orders[0].id)
        pay_if_checkout(flow, open_url(flow, orders[0].id, newest_url(flow, orders[0].id)))
        violations = invariants.invariant_violations(flow)
        assert [v.kind for v in violations] == [invariants.PAYMENT_WITHOUT_PAID_ORDER]
        assert "paid_canceled_order" in violations[0].detail and not invariants.money_safe(violations)


def test_a_lost_expiry_event_leaves_a_stranded_order():
    with _flow("ttl_24h") as (emu, flow, orders):
        flow.blast(orders)
        emu.webhook_transport = lambda url, headers, body: 200  # accepted by the network, never applied
        emu.advance(25 * HOUR)
        found = invariants.invariant_violations(flow)
        assert [v.kind for v in found] == [invariants.STRANDED_ORDER] * 2
        assert invariants.money_safe(found) and not invariants.parent_can_pay(flow)


@pytest.mark.parametrize("variant", ["payment_link_per_order", "lazy_mint_db", "ttl_24h"])
def test_reminders_follow_the_order_store_not_the_simulated_truth(plan, policy, variant):
    """With the webhook endpoint down past the reminder, paid orders still look pending in our store: production
    reminds them too, and the live way to pay an already-paid order it leaves is counted as a risk."""
    cell = fm.run_cell("webhook_endpoint_down_80h", variant, plan=plan, policy=policy)
    assert "reminder reached" in cell.parent_sees
    assert cell.paid_orders_still_payable_share > 0
    assert any(v.startswith("paid_order_still_payable") for v in cell.violations)
    base = fm.run_cell("none", variant, plan=plan, policy=policy)
    assert base.paid_orders_still_payable_share == 0 and "reminder reached" not in base.parent_sees


def test_wrong_stripe_secret_key_hits_every_variant_through_its_own_stripe_calls(plan, policy):
    """Our Stripe secret key wrong for 6 h is in the fault list for every variant; a variant whose click calls
    Stripe (lazy mint mints at click) meets it at click, one whose email carries a Stripe URL does not."""
    assert "stripe_secret_key_wrong_6h" in plan.faults
    lazy = fm.run_cell("stripe_secret_key_wrong_6h", "lazy_mint_db", plan=plan, policy=policy)
    link = fm.run_cell("stripe_secret_key_wrong_6h", "payment_link_per_order", plan=plan, policy=policy)
    assert lazy.error_page_share > 0
    assert link.error_page_share == 0
    assert lazy.money_safe and link.money_safe


def test_the_wrong_key_wrapper_answers_401_to_the_backend_only():
    from blastpay.flows.simulation import WrongSecretKey

    with _flow("ttl_24h") as (emu, flow, orders):
        flow.http.inner = WrongSecretKey(flow.http.inner)
        import stripe

        with pytest.raises(stripe.AuthenticationError):
            flow.client.v1.checkout.sessions.list({"limit": 1})
        flow.observer.v1.checkout.sessions.list({"limit": 1})  # the harness's own look still works


def test_a_reminder_resends_a_live_payment_link_after_asking_stripe_with_the_backend_client(policy):
    with _flow("payment_link_per_order", retries=2) as (emu, flow, orders):
        job = BlastJob(flow, policy)
        job.send(orders)
        first = newest_url(flow, orders[0].id)
        calls = flow.http.calls
        assert send_reminders(flow, job, [orders[0].id]) == {orders[0].id: "resent"}
        assert newest_url(flow, orders[0].id) == first
        assert flow.http.calls == calls + 1  # one retrieve, counted as the backend's own Stripe call
        emu.set_faults(route="*", error="500", count=10)  # Stripe cannot confirm the link: a fresh one is tried
        assert send_reminders(flow, job, [orders[1].id]) == {orders[1].id: "failed"}


def test_a_reminder_does_not_resend_a_pay_link_whose_token_row_was_lost(policy):
    from sqlalchemy import delete

    from blastpay.flows.order_models import PayToken

    with _flow("lazy_mint_db", retries=2) as (emu, flow, orders):
        job = BlastJob(flow, policy)
        job.send(orders)
        first = newest_url(flow, orders[0].id)
        assert send_reminders(flow, job, [orders[0].id]) == {orders[0].id: "resent"}
        with flow.store.transaction() as db:
            db.execute(delete(PayToken).where(PayToken.order_id == orders[1].id))
        assert send_reminders(flow, job, [orders[1].id]) == {orders[1].id: "fresh"}
        assert newest_url(flow, orders[0].id) == first
        assert invariants.way_to_pay(flow, orders[1].id) is None


@pytest.mark.parametrize("variant", ["payment_link_per_order", "ttl_24h"])
def test_a_fresh_link_from_the_job_retires_the_one_it_replaces(policy, variant):
    with _flow(variant, retries=0) as (emu, flow, orders):
        job = BlastJob(flow, policy)
        job.send(orders[:1])
        first = newest_url(flow, orders[0].id)
        emu.set_faults(route="*", error="500", count=1)  # Stripe cannot confirm the emailed link: a fresh one goes out
        assert send_reminders(flow, job, [orders[0].id]) == {orders[0].id: "fresh"}
        assert newest_url(flow, orders[0].id) != first
        flow.settle()  # the clean-up worker
        assert flow.store.stripe_object_by_url(first).status in ("retired", "expired")  # expired: Stripe's webhook said so
        assert flow.store.stripe_object_by_url(newest_url(flow, orders[0].id)).status in ("active", "open")
        old = flow.store.stripe_object_by_url(first).stripe_id
        if variant.startswith("payment_link"):
            assert flow.observer.v1.payment_links.retrieve(old).active is False
        else:
            assert flow.observer.v1.checkout.sessions.retrieve(old).status == "expired"


def test_after_lost_rows_the_job_resends_only_to_orders_our_records_say_lack_a_link(policy):
    from sqlalchemy import delete

    from blastpay.flows.mitigations import resend_after_incident
    from blastpay.flows.order_models import PayToken

    with _flow("lazy_mint_db", retries=0) as (emu, flow, orders):
        job = BlastJob(flow, policy)
        job.send(orders)
        first = newest_url(flow, orders[0].id)
        with flow.store.transaction() as db:
            db.execute(delete(PayToken).where(PayToken.order_id == orders[1].id))  # a restore lost this order's token
        assert resend_after_incident(flow, job, [o.id for o in orders], error_pages=False) == {orders[1].id: "fresh"}
        assert newest_url(flow, orders[0].id) == first and invariants.way_to_pay(flow, orders[1].id) is None
    with _flow("payment_link_per_order", retries=0) as (emu, flow, orders):
        job = BlastJob(flow, policy)
        from blastpay.flows.simulation import WrongSecretKey

        good = flow.http.inner
        flow.http.inner = WrongSecretKey(good)  # our key refused: a 401 the job does not re-queue
        job.send(orders[:1])
        assert newest_url(flow, orders[0].id) is None and job.next_due() is None
        flow.http.inner = good
        assert resend_after_incident(flow, job, [orders[0].id], error_pages=False) == {orders[0].id: "fresh"}
        assert invariants.way_to_pay(flow, orders[0].id) is None
        assert resend_after_incident(flow, job, [orders[0].id], error_pages=False) == {}  # on record now: nothing


@pytest.mark.parametrize("variant", ["payment_link_per_order", "lazy_mint_db", "ttl_24h"])
def test_after_an_incident_that_could_show_an_error_page_every_pending_order_is_resent_whatever_the_option(
        policy, variant):
    """The same re-send for every option: no option's records say which parents met Stripe's own error page."""
    from blastpay.flows.mitigations import resend_after_incident

    with _flow(variant, retries=0) as (emu, flow, orders):
        job = BlastJob(flow, policy)
        job.send(orders)
        sent = resend_after_incident(flow, job, [o.id for o in orders], error_pages=True)
        assert set(sent) == {o.id for o in orders} and set(sent.values()) <= {"resent", "fresh"}
        for order in orders:
            assert invariants.way_to_pay(flow, order.id) is None


def test_a_lazy_mint_click_that_met_try_again_is_recorded_so_the_incident_resend_reaches_its_parent(policy):
    from blastpay.flows.mitigations import resend_after_incident
    from blastpay.flows.simulation import open_url

    with _flow("lazy_mint_db", retries=0) as (emu, flow, orders):
        job = BlastJob(flow, policy)
        job.send(orders)
        emu.set_faults(route="POST /v1/checkout/sessions", error="500", count=2)  # Stripe's API down at both clicks
        for order in orders:
            assert open_url(flow, order.id, newest_url(flow, order.id)).page == "try_again"
            assert "could not be created at a click" in flow.store.get_order(order.id).pending_reason
        assert open_url(flow, orders[0].id, newest_url(flow, orders[0].id)).page == "checkout"  # Stripe is back
        assert flow.store.get_order(orders[0].id).pending_reason is None  # its way to pay works again: cleared
        # the record alone (lost rows, no error-page incident) brings a fresh link to the parent who met "try again"
        assert resend_after_incident(flow, job, [o.id for o in orders], error_pages=False) == {orders[1].id: "fresh"}
        assert flow.store.get_order(orders[1].id).pending_reason is None
        assert open_url(flow, orders[1].id, newest_url(flow, orders[1].id)).page == "checkout"


@pytest.mark.parametrize("fault", ["stripe_api_and_pages_down_4h"])
def test_a_stripe_wide_outage_costs_payment_link_and_lazy_mint_parents_the_same(plan, policy, fault):
    """One response model for every re-sent email, and the same re-send for every option: when Stripe is wholly down
    both options' parents meet an error page, and the ones who pay only from a re-sent email count at the reminder's
    response share whichever email it was."""
    link = fm.run_cell(fault, "payment_link_per_order", plan=plan, policy=policy)
    lazy = fm.run_cell(fault, "lazy_mint_db", plan=plan, policy=policy)
    assert link.error_page_share == lazy.error_page_share > 0
    assert link.eventually_pay_share == lazy.eventually_pay_share < 1
    for cell in (link, lazy):
        by_email = [p for p in cell.parents if p.paid_via == "email"]
        assert by_email and all(p.met_error and not p.returns for p in by_email)
    assert [p.paid_via for p in link.parents] == [p.paid_via for p in lazy.parents]


def test_a_parent_who_would_come_back_by_themselves_pays_for_sure_whichever_comes_first(plan, policy):
    cell = fm.run_cell("server_down_4h", "lazy_mint_db", plan=plan, policy=policy)
    erred = [p for p in cell.parents if p.met_error]
    assert erred and all(p.paid_via == ("click" if p.returns else "email") for p in erred)
    assert cell.eventually_pay_share_if_returning == 1.0


def test_a_double_charge_is_never_money_safe_even_when_the_matcher_flagged_it(plan, policy):
    cell = fm.run_cell("paid_twice_second_visit", "payment_link_per_product", plan=plan, policy=policy)
    # the scenario plays on the blast's first pair of parents (one who comes back by themselves, one who does not)
    assert cell.double_charges == fm.SCENARIO_TARGETS and not cell.money_safe
    assert [p.double_charged for p in cell.parents] == [True] * fm.SCENARIO_TARGETS + \
        [False] * (len(cell.parents) - fm.SCENARIO_TARGETS)
    assert fm.short_label(cell) == "charged twice\n(refund)"
    assert not invariants.money_safe([invariants.Violation(invariants.DOUBLE_CHARGE_REPORTED, 1, "flagged")])
    assert invariants.money_safe([invariants.Violation(invariants.STRANDED_ORDER, 1, "no way to pay")])
