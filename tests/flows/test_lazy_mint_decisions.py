"""The lazy-mint click's decisions at their edges: how long a session is reused, how many times a click tries,
which Stripe failures keep the idempotency key, and what a failed click leaves on the order."""

import logging
from types import SimpleNamespace

import pytest
from flow_helpers import HOUR, spec
from sqlalchemy import select

from blastpay.flows.lazy_mint import MAX_ROUNDS, REUSE_MARGIN
from blastpay.flows.order_models import CHECKOUT_SESSION, RETIRED, CheckoutAttempt, StripeObject

DAY = 24 * HOUR


@pytest.fixture
def lazy(make_flow):
    emu, flow = make_flow("lazy_mint_hmac")
    (order,) = flow.create_orders([spec()])
    url = flow.blast([order])[order.id].url
    return emu, flow, order, url.rsplit("/", 1)[1]


def _attempts(flow):
    with flow.store.transaction() as db:
        return [(a.attempt, a.idempotency_key, a.state) for a in db.scalars(select(CheckoutAttempt).order_by(
            CheckoutAttempt.id))]


def _sessions(flow, order_id):
    return {o.stripe_id: o.status for o in flow.store.stripe_objects(order_id=order_id, kind=CHECKOUT_SESSION)}


def test_a_session_with_exactly_the_reuse_margin_left_is_reused_and_one_second_less_is_not(lazy):
    emu, flow, order, token = lazy
    first = flow.lazy.open(token)
    assert first.page == "redirect" and first.minted
    emu.advance(DAY - REUSE_MARGIN)  # exactly 30 minutes left
    again = flow.lazy.open(token)
    assert (again.url, again.minted) == (first.url, False)
    emu.advance(1)
    fresh = flow.lazy.open(token)
    assert fresh.minted and fresh.url != first.url
    # the older session is retired with its expiry queued, so the order keeps one payable session
    assert sorted(_sessions(flow, order.id).values()) == ["open", RETIRED]
    assert [(t.action, t.order_id) for t in flow.store.pending_tasks()] == [("expire_session", order.id)]


def test_a_session_already_past_its_expiry_is_marked_expired_without_a_stripe_call(lazy):
    emu, flow, order, token = lazy
    first = flow.lazy.open(token)
    emu.advance(DAY)  # expired at Stripe; its webhook did not reach the store
    with flow.store.transaction() as db:
        db.execute(StripeObject.__table__.update().values(status="open"))
    flow.lazy.open(token)
    statuses = _sessions(flow, order.id)
    assert statuses[first.url.rsplit("/", 1)[1]] == "expired" and flow.store.pending_tasks() == []


def test_a_click_gives_up_after_three_tries_when_stripe_keeps_handing_back_dead_sessions(lazy, caplog):
    emu, flow, order, token = lazy
    made = []

    def create(params, options):
        made.append(options["idempotency_key"])
        assert len(made) <= MAX_ROUNDS, "one click called Stripe more times than it may try"
        return SimpleNamespace(id=f"cs_dead_{len(made)}", status="expired", url=None, expires_at=emu.now())

    flow.lazy.client = SimpleNamespace(v1=SimpleNamespace(checkout=SimpleNamespace(
        sessions=SimpleNamespace(create=create))))
    with caplog.at_level(logging.ERROR, logger="blastpay.lazy_mint"):
        outcome = flow.lazy.open(token)
    assert (outcome.page, outcome.order_id, outcome.detail) == ("try_again", order.id, "no usable session after retries")
    assert len(made) == MAX_ROUNDS == 3 and len(set(made)) == 3  # each try under its own attempt and key
    assert [r.getMessage() for r in caplog.records if r.name == "blastpay.lazy_mint"] == [
        f"lazy-mint: order {order.id} still has no usable session after 3 attempts"]


def test_a_rate_limited_click_keeps_its_key_and_a_server_error_retires_it(lazy):
    emu, flow, order, token = lazy
    emu.set_faults(route="POST /v1/checkout/sessions", error="429", count=1)
    assert flow.lazy.open(token).page == "try_again"
    emu.set_faults(route="POST /v1/checkout/sessions", error="500", count=1)
    assert flow.lazy.open(token).page == "try_again"
    assert flow.lazy.open(token).page == "redirect"
    (first, key1, state1), (second, key2, state2) = _attempts(flow)
    # the 429 left attempt 1 to be replayed under the same key; the 500 voided it; attempt 2 minted
    assert (first, state1, second, state2) == (1, "void", 2, "recorded") and key1 != key2


def test_a_click_that_met_try_again_is_recorded_on_the_order_until_a_session_is_recorded(lazy):
    emu, flow, order, token = lazy
    emu.set_faults(route="POST /v1/checkout/sessions", error="drop", count=1)
    assert flow.lazy.open(token).page == "try_again"
    reason = flow.store.get_order(order.id).pending_reason
    assert reason.startswith("checkout could not be created at a click: ")
    assert flow.lazy.open(token).page == "redirect"
    assert flow.store.get_order(order.id).pending_reason is None


def test_a_paid_or_canceled_order_answers_its_page_with_the_order(lazy):
    emu, flow, order, token = lazy
    flow.pay(flow.click(order.id))
    outcome = flow.lazy.open(token)
    assert (outcome.page, outcome.order_id, outcome.url) == ("already_paid", order.id, None)
    (other,) = flow.create_orders([spec(player_id=2)])
    other_token = flow.blast([other])[other.id].url.rsplit("/", 1)[1]
    flow.cancel_order(other.id)
    assert (flow.lazy.open(other_token).page, flow.lazy.open(other_token).order_id) == ("canceled", other.id)
