"""The lazy-mint click where something goes wrong part-way: what the parent gets, what the operator reads in the
log, what the store keeps for the next click, and which lease or key a failing click may touch."""

import logging
import re
import sqlite3
import threading
from types import SimpleNamespace

import pytest
import stripe
from flow_helpers import spec
from sqlalchemy import event, select
from sqlalchemy.exc import IntegrityError, OperationalError

from blastpay.flows.email_link import stripe_error_text
from blastpay.flows.lazy_mint import MAX_ROUNDS, REUSE_MARGIN, LazyMint, LazyMintConfig, PayOutcome
from blastpay.flows.order_models import CHECKOUT_SESSION, PAYMENT_LINK, RETIRED, CheckoutAttempt
from blastpay.flows.orders import add_stripe_object

LOGGER = "blastpay.lazy_mint"


class Killed(BaseException):
    """The click's process dies here: nothing after this point runs."""


@pytest.fixture
def lazy(make_flow):
    emu, flow = make_flow("lazy_mint_hmac")
    (order,) = flow.create_orders([spec()])
    url = flow.blast([order])[order.id].url
    wall = [1_800_000_000.0]
    flow.lazy.wall_clock = lambda: wall[0]
    return emu, flow, order, url.rsplit("/", 1)[1], wall


def _attempts(flow):
    with flow.store.transaction() as db:
        return [dict(attempt=a.attempt, state=a.state, stripe_id=a.stripe_id, lease_owner=a.lease_owner,
                     lease_until=a.lease_until, error=a.error)
                for a in db.scalars(select(CheckoutAttempt).order_by(CheckoutAttempt.id))]


def _sessions_api(create=None, expire=None, real=None):
    """A Stripe client whose Checkout Session calls are ``create``/``expire`` (the real ones where not given)."""
    return SimpleNamespace(v1=SimpleNamespace(checkout=SimpleNamespace(sessions=SimpleNamespace(
        create=create or real.create, expire=expire or real.expire))))


def _sessions(flow, order_id):
    return {o.stripe_id: o.status for o in flow.store.stripe_objects(order_id=order_id, kind=CHECKOUT_SESSION)}


def _errors(caplog):
    return [r.getMessage() for r in caplog.records if r.name == LOGGER and r.levelno == logging.ERROR]


def _fail_statement(flow, fragment, exc, *, skip=0):
    """Raise ``exc`` from the database at the next statement containing ``fragment`` (after ``skip`` of them)."""
    state = {"skip": skip, "left": 1}

    @event.listens_for(flow.store.engine, "before_cursor_execute")
    def fail(conn, cursor, sql, params, context, executemany):
        if state["left"] and fragment in sql:
            if state["skip"]:
                state["skip"] -= 1
                return
            state["left"] -= 1
            raise exc

    return state


def test_pay_url_joins_a_base_with_a_trailing_slash_without_doubling_it(lazy):
    emu, flow, order, token, wall = lazy
    config = LazyMintConfig(public_base_url="https://club.example.org/", success_url="https://club.example.org/ok",
                            cancel_url="https://club.example.org/back")
    mint = LazyMint(flow.store, flow.client, flow.lazy.binding, emu.now, config)
    assert mint.pay_url("abc") == "https://club.example.org/pay/abc"


# -- the store refuses the session Stripe created --------------------------------------------------


@pytest.fixture
def colliding(lazy):
    """Stripe creates the session, but the store already holds its id for another object (the restart bug):
    recording it fails with an integrity error."""
    emu, flow, order, token, wall = lazy
    real = flow.client.v1.checkout.sessions
    made = []

    def create(params, options):
        created = real.create(params, options)
        made.append(created.id)
        with flow.store.transaction() as db:
            add_stripe_object(db, kind=PAYMENT_LINK, stripe_id=created.id, url=None, status="active", now=emu.now())
        return created

    flow.lazy.client = _sessions_api(create=create, real=real)
    return emu, flow, order, token, made


def test_a_session_the_store_cannot_record_is_expired_logged_and_its_attempt_voided(colliding, caplog):
    emu, flow, order, token, made = colliding
    with caplog.at_level(logging.ERROR, logger=LOGGER):
        outcome = flow.lazy.open(token)
    (sid,) = made
    assert outcome == PayOutcome("try_again", order_id=order.id, detail="database integrity error (logged)")
    assert _errors(caplog) == [f"lazy-mint: cannot record Checkout Session {sid} for order {order.id} (attempt 1): "
                               "UNIQUE constraint failed: stripe_objects.stripe_id; expiring it"]
    assert flow.observer.v1.checkout.sessions.retrieve(sid).status == "expired"  # nothing payable left unrecorded
    assert _attempts(flow) == [dict(attempt=1, state="void", stripe_id=sid, lease_owner=None, lease_until=None,
                                    error=f"integrity error recording {sid}")]


def test_an_unrecordable_session_stripe_will_not_expire_is_named_in_the_log(colliding, caplog):
    emu, flow, order, token, made = colliding

    def expire(session_id):
        raise stripe.APIConnectionError("Connection reset by peer")

    flow.lazy.client.v1.checkout.sessions.expire = expire
    with caplog.at_level(logging.ERROR, logger=LOGGER):
        assert flow.lazy.open(token).page == "try_again"
    (sid,) = made
    assert _errors(caplog)[1:] == [f"lazy-mint: could not expire unrecorded session {sid}: "
                                   "APIConnectionError: Connection reset by peer"]
    assert [a["state"] for a in _attempts(flow)] == ["void"]


def test_an_attempt_the_database_will_not_void_is_named_in_the_log(colliding, caplog):
    emu, flow, order, token, made = colliding
    # the record's own UPDATE goes through (and is rolled back with the refused INSERT); the void's fails
    _fail_statement(flow, "UPDATE checkout_attempts", OperationalError("UPDATE", {}, sqlite3.OperationalError(
        "disk I/O error")), skip=1)
    with caplog.at_level(logging.ERROR, logger=LOGGER):
        outcome = flow.lazy.open(token)
    assert outcome == PayOutcome("try_again", order_id=order.id, detail="database integrity error (logged)")
    (attempt,) = _attempts(flow)
    (cannot_record, cannot_void) = _errors(caplog)
    assert cannot_void.splitlines()[0] == "lazy-mint: could not void attempt 1: (sqlite3.OperationalError) disk I/O error"
    assert attempt["state"] == "minting" and attempt["lease_owner"] is not None  # left to lapse


# -- Stripe refuses the create ---------------------------------------------------------------------


def _refusing(flow, exc):
    calls = []

    def create(params, options):
        calls.append(options["idempotency_key"])
        raise exc

    flow.lazy.client = _sessions_api(create=create, real=flow.client.v1.checkout.sessions)
    return calls


def test_a_refused_create_shows_try_again_and_records_stripe_s_message_on_the_attempt_and_the_order(lazy):
    emu, flow, order, token, wall = lazy
    long = "Invalid line_items[0][price_data][product_data][name]: " + "x" * 3000
    exc = stripe.InvalidRequestError(long, param="line_items", http_status=400, code="parameter_invalid_string_blank")
    _refusing(flow, exc)
    detail = stripe_error_text(exc)
    outcome = flow.lazy.open(token)
    assert outcome == PayOutcome("try_again", order_id=order.id, detail=detail)
    (attempt,) = _attempts(flow)
    assert (attempt["state"], attempt["lease_owner"], attempt["lease_until"]) == ("void", None, None)
    assert attempt["error"] == detail[:2000] and len(attempt["error"]) == 2000
    reason = flow.store.get_order(order.id).pending_reason
    assert reason == "checkout could not be created at a click: " + detail[:500]


@pytest.mark.parametrize("exc", [stripe.RateLimitError("Too many requests", http_status=429),
                                 stripe.APIConnectionError("Connection reset by peer"),
                                 stripe.APIError("Conflict", http_status=409)],
                         ids=["429", "network", "409-without-code"])
def test_a_failure_stripe_stored_no_answer_for_keeps_the_key_and_gives_the_lease_back(lazy, exc):
    emu, flow, order, token, wall = lazy
    calls = _refusing(flow, exc)
    outcome = flow.lazy.open(token)
    assert outcome == PayOutcome("try_again", order_id=order.id, detail=stripe_error_text(exc))
    assert flow.store.get_order(order.id).pending_reason == ("checkout could not be created at a click: "
                                                            + stripe_error_text(exc))
    (attempt,) = _attempts(flow)
    assert (attempt["state"], attempt["lease_owner"], attempt["lease_until"]) == ("minting", None, None)
    flow.lazy.open(token)  # at once: no lease to wait for, the same key replayed
    assert len(calls) == 2 and calls[0] == calls[1]


@pytest.mark.parametrize("error", ["429", "500"])
def test_a_click_whose_lease_was_taken_over_leaves_the_new_holder_s_lease_and_attempt_alone(lazy, error):
    """Click A's Stripe call outlives its lease; click B (another process) takes the attempt over and is still
    calling Stripe when A's call fails. A must neither free B's lease nor void the attempt B is replaying."""
    emu, flow, order, token, wall = lazy
    other = LazyMint(flow.store, flow.client, flow.lazy.binding, emu.now, flow.lazy.config,
                     wall_clock=flow.lazy.wall_clock)

    def b_dies(step):
        raise Killed(step)

    def a_claimed(step):
        if step != "claimed":
            return
        flow.lazy.step_hook = None
        wall[0] += flow.lazy.config.mint_lease + 1
        other.step_hook = b_dies  # B holds the lease from here on, as if its Stripe call were in flight
        with pytest.raises(Killed):
            other.open(token)
        emu.set_faults(route="POST /v1/checkout/sessions", error=error, count=1)

    flow.lazy.step_hook = a_claimed
    assert flow.lazy.open(token).page == "try_again"
    (attempt,) = _attempts(flow)
    assert attempt["state"] == "minting" and attempt["lease_owner"] is not None  # still B's
    assert attempt["lease_until"] == wall[0] + flow.lazy.config.mint_lease
    wall[0] += flow.lazy.config.mint_lease + 1  # B died: its lease lapses and the next click replays its key
    assert flow.lazy.open(token).page == "redirect"
    assert [(a["attempt"], a["state"]) for a in _attempts(flow)] == [(1, "recorded")]


# -- the database fails part-way -------------------------------------------------------------------

DB_DOWN = OperationalError("SELECT", {}, ConnectionResetError("server closed the connection unexpectedly"))


@pytest.mark.parametrize(("fragment", "step"), [("FROM pay_tokens", "claim"),
                                                 ("INSERT INTO stripe_objects", "record")])
def test_a_database_failure_names_the_step_and_the_driver_error(lazy, fragment, step):
    emu, flow, order, token, wall = lazy
    _fail_statement(flow, fragment, DB_DOWN)
    assert flow.lazy.open(token) == PayOutcome("try_again", detail=f"database ({step}): ConnectionResetError")


def test_a_database_failure_while_voiding_a_refused_attempt_names_the_void(lazy):
    emu, flow, order, token, wall = lazy
    emu.set_faults(route="POST /v1/checkout/sessions", error="500", count=1)
    _fail_statement(flow, "UPDATE checkout_attempts", DB_DOWN)
    assert flow.lazy.open(token) == PayOutcome("try_again", detail="database (void): ConnectionResetError")


def test_an_integrity_error_while_claiming_is_logged_and_answered_try_again(lazy, caplog):
    emu, flow, order, token, wall = lazy
    _fail_statement(flow, "INSERT INTO checkout_attempts", IntegrityError("INSERT", {}, sqlite3.IntegrityError(
        "UNIQUE constraint failed: checkout_attempts.idempotency_key")))
    with caplog.at_level(logging.ERROR, logger=LOGGER):
        outcome = flow.lazy.open(token)
    assert outcome == PayOutcome("try_again", detail="database integrity error (logged)")
    assert _errors(caplog) == ["lazy-mint: integrity error while claiming a mint: "
                               "UNIQUE constraint failed: checkout_attempts.idempotency_key"]
    assert _attempts(flow) == [] and flow.lazy.open(token).page == "redirect"


# -- a click that finds another click minting ------------------------------------------------------


@pytest.fixture
def held(lazy):
    """A click in another process claimed the order's attempt and died before calling Stripe: its lease
    still runs. ``polls`` counts the waiting click's reads of the attempt."""
    emu, flow, order, token, wall = lazy
    other = LazyMint(flow.store, flow.client, flow.lazy.binding, emu.now, flow.lazy.config,
                     wall_clock=flow.lazy.wall_clock)

    def dies(step):
        raise Killed(step)

    other.step_hook = dies
    with pytest.raises(Killed):
        other.open(token)
    flow.lazy.config = LazyMintConfig(**{**flow.lazy.config.__dict__, "mint_wait": 0.3})
    polls = []

    @event.listens_for(flow.store.engine, "before_cursor_execute")
    def count(conn, cursor, sql, params, context, executemany):
        if "FROM checkout_attempts" in sql and "checkout_attempts.id =" in sql:
            polls.append(wall[0])

    return emu, flow, order, token, wall, polls


def test_a_click_waits_for_the_holder_s_lease_and_then_says_another_click_is_minting(held):
    emu, flow, order, token, wall, polls = held
    claims = []

    @event.listens_for(flow.store.engine, "before_cursor_execute")
    def claim(conn, cursor, sql, params, context, executemany):
        if "FROM checkout_attempts" in sql and "checkout_attempts.order_id =" in sql:
            claims.append(1)
    outcome = flow.lazy.open(token)
    assert outcome == PayOutcome("try_again", detail="another click is still minting this order's session")
    # it claimed once, then read the attempt every 20-100 ms while it waited, and wrote nothing
    assert len(claims) == 1 and 2 <= len(polls) <= 15
    (attempt,) = _attempts(flow)
    assert attempt["state"] == "minting" and attempt["lease_until"] == wall[0] + flow.lazy.config.mint_lease


def test_a_waiting_click_takes_the_attempt_over_as_soon_as_the_holder_s_lease_lapses(held):
    emu, flow, order, token, wall, polls = held
    lease_until = _attempts(flow)[0]["lease_until"]

    @event.listens_for(flow.store.engine, "before_cursor_execute")
    def lapse(conn, cursor, sql, params, context, executemany):
        if len(polls) == 2:
            wall[0] = lease_until  # the wall clock reaches the end of the lease during the second wait
    outcome = flow.lazy.open(token)
    assert outcome.page == "redirect" and outcome.minted
    assert len(polls) == 2  # no read after the one that saw the lease lapse
    assert [(a["attempt"], a["state"]) for a in _attempts(flow)] == [(1, "recorded")]


def test_a_database_failure_while_waiting_names_the_wait(held):
    emu, flow, order, token, wall, polls = held
    _fail_statement(flow, "checkout_attempts.id =", DB_DOWN)
    assert flow.lazy.open(token) == PayOutcome("try_again", detail="database (wait): ConnectionResetError")


def test_a_click_that_outlived_its_lease_is_sent_to_the_session_the_click_that_took_over_recorded(lazy):
    """Click A's Stripe call outlives its lease; click B (another process) takes the attempt over, replays the key
    and records the session. A's own call then returns that same session: A sends its parent there too, and
    neither records it twice nor expires it."""
    emu, flow, order, token, wall = lazy
    other = LazyMint(flow.store, flow.client, flow.lazy.binding, emu.now, flow.lazy.config,
                     wall_clock=flow.lazy.wall_clock)
    taken_over = []

    def a_claimed(step):
        if step == "claimed":
            flow.lazy.step_hook = None
            wall[0] += flow.lazy.config.mint_lease + 1
            taken_over.append(other.open(token))

    flow.lazy.step_hook = a_claimed
    outcome = flow.lazy.open(token)
    (b,) = taken_over
    assert b == PayOutcome("redirect", url=b.url, order_id=order.id, minted=True)
    assert (outcome.page, outcome.url, outcome.minted) == ("redirect", b.url, False)
    sid = b.url.rsplit("/", 1)[1]
    assert [(a["attempt"], a["state"], a["stripe_id"]) for a in _attempts(flow)] == [(1, "recorded", sid)]
    assert [(s.id, s.status) for s in flow.stripe_sessions(order.id)] == [(sid, "open")]
    assert len(flow.store.stripe_objects(order_id=order.id)) == 1


def _orphan_a_session(flow, order, token):
    """A click that dies right after Stripe created its session: that session, which nobody handed out."""
    def dies(step):
        if step == "created":
            flow.lazy.step_hook = None
            raise Killed(step)

    flow.lazy.step_hook = dies
    with pytest.raises(Killed):
        flow.lazy.open(token)
    (orphan,) = flow.stripe_sessions(order.id)
    return orphan


# -- how long a session must still live to be handed out ---------------------------------------------


@pytest.mark.parametrize(("left", "handed_out"), [(REUSE_MARGIN, True), (REUSE_MARGIN - 1, False)],
                         ids=["exactly-the-margin", "one-second-less"])
def test_an_orphaned_session_is_handed_out_only_with_the_reuse_margin_left(lazy, left, handed_out):
    """A click died after Stripe created the session; the parent comes back when it has ``left`` seconds to live."""
    emu, flow, order, token, wall = lazy

    orphan = _orphan_a_session(flow, order, token)
    emu.advance(orphan.expires_at - emu.now() - left)
    wall[0] += flow.lazy.config.mint_lease + 1
    outcome = flow.lazy.open(token)
    assert outcome.page == "redirect" and outcome.minted
    assert (outcome.url == orphan.url) is handed_out
    states = [(a["attempt"], a["state"]) for a in _attempts(flow)]
    assert states == ([(1, "recorded")] if handed_out else [(1, "recorded"), (2, "recorded")])
    tasks = [(t.action, t.stripe_id, t.order_id) for t in flow.store.pending_tasks()]
    assert tasks == ([] if handed_out else [("expire_session", orphan.id, order.id)])


def test_sessions_made_with_less_than_the_reuse_margin_to_live_are_never_handed_out(lazy):
    """A club that sets the session lifetime below the reuse margin gets "try again" and every session it made
    retired with its expiry queued, never a checkout page that expires under the parent; a failed click's reason
    stays on the order."""
    emu, flow, order, token, wall = lazy
    flow.lazy.config = LazyMintConfig(**{**flow.lazy.config.__dict__, "session_ttl": 3600, "reuse_margin": 2 * 3600})
    emu.set_faults(route="POST /v1/checkout/sessions", error="429", count=1)
    assert flow.lazy.open(token).page == "try_again"
    reason = flow.store.get_order(order.id).pending_reason
    real, calls = flow.client.v1.checkout.sessions, []

    def create(params, options):
        calls.append(options["idempotency_key"])
        assert len(calls) <= MAX_ROUNDS, "one click called Stripe more times than it may try"
        return real.create(params, options)

    flow.lazy.client = _sessions_api(create=create, real=real)
    outcome = flow.lazy.open(token)
    assert outcome == PayOutcome("try_again", order_id=order.id, detail="no usable session after retries")
    made = flow.stripe_sessions(order.id)
    assert len(made) == 3 and all(s.expires_at == emu.now() + 3600 for s in made)
    assert sorted(_sessions(flow, order.id).values()) == [RETIRED] * 3
    assert sorted((t.action, t.stripe_id, t.order_id) for t in flow.store.pending_tasks()) == sorted(
        ("expire_session", s.id, order.id) for s in made)
    assert flow.store.get_order(order.id).pending_reason == reason


def test_a_create_answered_with_a_paid_session_sends_the_parent_there_and_mints_nothing_more(lazy):
    """Stripe answers the attempt's key with a session already paid (its webhook still on the way): the parent is
    shown that session, which is recorded as complete; nothing is minted or retired."""
    emu, flow, order, token, wall = lazy
    made = []

    def create(params, options):
        made.append(options["idempotency_key"])
        return SimpleNamespace(id="cs_paid_1", status="complete", url="https://checkout.example/c/pay/cs_paid_1",
                               expires_at=params["expires_at"])

    flow.lazy.client = _sessions_api(create=create, real=flow.client.v1.checkout.sessions)
    outcome = flow.lazy.open(token)
    assert outcome == PayOutcome("redirect", url="https://checkout.example/c/pay/cs_paid_1", order_id=order.id)
    assert len(made) == 1 and _sessions(flow, order.id) == {"cs_paid_1": "complete"}
    assert [(a["attempt"], a["state"], a["stripe_id"]) for a in _attempts(flow)] == [(1, "recorded", "cs_paid_1")]
    assert flow.store.pending_tasks() == []


# -- a click waiting on a holder in another thread --------------------------------------------------


@pytest.fixture
def threaded(make_flow, tmp_path):
    """A flow over a SQLite file (clicks in two threads), a hand-moved lease clock, and ``first_poll``: set when
    a waiting click first reads the attempt it waits for."""
    emu, flow = make_flow("lazy_mint_hmac", database_url=f"sqlite:///{tmp_path / 'orders.db'}")
    (order,) = flow.create_orders([spec()])
    token = flow.blast([order])[order.id].url.rsplit("/", 1)[1]
    wall = [1_800_000_000.0]
    flow.lazy.wall_clock = lambda: wall[0]
    # long enough for the holder's Stripe call and record on a busy machine; a waiter on a dead holder waits it out
    flow.lazy.config = LazyMintConfig(**{**flow.lazy.config.__dict__, "mint_wait": 2.0})
    first_poll = threading.Event()

    @event.listens_for(flow.store.engine, "before_cursor_execute")
    def polled(conn, cursor, sql, params, context, executemany):
        if "FROM checkout_attempts" in sql and "checkout_attempts.id =" in sql:
            first_poll.set()

    return emu, flow, order, token, wall, first_poll


def _click_in_thread(mint, token):
    answer = {}
    thread = threading.Thread(target=lambda: answer.update(outcome=mint.open(token)))
    thread.start()
    return thread, answer


@pytest.mark.parametrize("holder_fate", ["records", "dies", "rate_limited_elsewhere"])
def test_a_waiting_click_follows_the_holder(threaded, holder_fate):
    """The holder records its session (the waiter is sent to it), dies in this process (the waiter keeps waiting
    on the lease and then says "try again") or, in another process, meets a 429 and gives the lease back (the
    waiter takes the attempt over at once and replays its key)."""
    emu, flow, order, token, wall, first_poll = threaded
    holder = flow.lazy if holder_fate != "rate_limited_elsewhere" else LazyMint(
        flow.store, flow.client, flow.lazy.binding, emu.now, flow.lazy.config, wall_clock=flow.lazy.wall_clock)
    waiting = {}

    def claimed(step):
        if step != "claimed":
            return
        holder.step_hook = None
        waiting["thread"], waiting["answer"] = _click_in_thread(flow.lazy, token)
        assert first_poll.wait(5)
        if holder_fate == "dies":
            raise Killed(step)
        if holder_fate == "rate_limited_elsewhere":
            emu.set_faults(route="POST /v1/checkout/sessions", error="429", count=1)

    holder.step_hook = claimed
    if holder_fate == "dies":
        with pytest.raises(Killed):
            holder.open(token)
    else:
        held = holder.open(token)
    waiting["thread"].join(10)
    waiter = waiting["answer"]["outcome"]
    (session,) = flow.stripe_sessions(order.id) or [None]
    if holder_fate == "records":
        assert held.minted and waiter == PayOutcome("redirect", url=held.url, order_id=order.id)
    elif holder_fate == "dies":
        assert waiter == PayOutcome("try_again", detail="another click is still minting this order's session")
        assert session is None
    else:
        assert held.page == "try_again" and waiter.minted and waiter.url == session.url
    states = [(a["attempt"], a["state"]) for a in _attempts(flow)]
    assert states == ([(1, "minting")] if holder_fate == "dies" else [(1, "recorded")])


@pytest.mark.parametrize("stale_by", ["expiry", "amount"])
def test_a_stale_orphan_whose_replay_stripe_refuses_is_dropped_and_the_parent_gets_a_fresh_session_at_once(
        lazy, stale_by):
    """A click died after Stripe created the session; the parent comes back when that attempt is stale (ten
    minutes of life left, or the order's amount changed). Its replay meets a 500: nothing of it can be handed
    out, so the same click mints under a new key, and no failure is left on the order."""
    emu, flow, order, token, wall = lazy

    orphan = _orphan_a_session(flow, order, token)
    if stale_by == "expiry":
        emu.advance(orphan.expires_at - emu.now() - 10 * 60)
    else:
        flow.store.change_amount(order.id, 9900, now=emu.now())
    wall[0] += flow.lazy.config.mint_lease + 1
    emu.set_faults(route="POST /v1/checkout/sessions", error="500", count=1)
    outcome = flow.lazy.open(token)
    assert outcome.page == "redirect" and outcome.minted and outcome.url != orphan.url
    assert [(a["attempt"], a["state"]) for a in _attempts(flow)] == [(1, "void"), (2, "recorded")]
    assert flow.store.get_order(order.id).pending_reason is None


def test_the_session_sends_the_parent_back_to_the_club_s_pages_under_a_key_naming_order_and_attempt(lazy):
    emu, flow, order, token, wall = lazy
    outcome = flow.lazy.open(token)
    session = flow.observer.v1.checkout.sessions.retrieve(outcome.url.rsplit("/", 1)[1])
    assert (session.success_url, session.cancel_url) == (flow.lazy.config.success_url, flow.lazy.config.cancel_url)
    with flow.store.transaction() as db:
        (key,) = db.scalars(select(CheckoutAttempt.idempotency_key)).all()
    assert re.fullmatch(rf"blastpay-pay-{order.id}-1-[0-9a-f]{{16}}", key)


def test_an_unrecordable_session_of_a_taken_over_attempt_is_logged_with_its_attempt_number(colliding, caplog):
    emu, flow, order, token, made = colliding

    def dies(step):
        flow.lazy.step_hook = None
        raise Killed(step)

    flow.lazy.step_hook = dies  # the first click dies before calling Stripe; the next takes its attempt over
    with pytest.raises(Killed):
        flow.lazy.open(token)
    flow.lazy.wall_clock = lambda: 1_800_000_000.0 + flow.lazy.config.mint_lease + 1
    with caplog.at_level(logging.ERROR, logger=LOGGER):
        assert flow.lazy.open(token).page == "try_again"
    (sid,) = made
    assert _errors(caplog)[0].startswith(f"lazy-mint: cannot record Checkout Session {sid} for order {order.id} "
                                         "(attempt 1): ")
