"""The click path with Stripe outside every transaction, on a SQLite file and on PostgreSQL: a crash at each
step of a mint, a database error at each statement, a restart of the app and of the emulator. Whatever
happens, an order never has more than one open (payable) session, the parent sees a redirect or a page
(never a 500 for a valid link), and a retry lands on the session Stripe already created when there is one."""

from __future__ import annotations

import dataclasses
import logging
import re

import pytest
from fastapi.testclient import TestClient
from reliability_helpers import HOUR
from sqlalchemy import event, select
from sqlalchemy.exc import OperationalError

from blastpay.emulator import Emulator
from blastpay.experiments.reliability import RaceRig, _burst
from blastpay.flows.harness import CANCEL_URL, SUCCESS_URL
from blastpay.flows.lazy_mint import LazyMintConfig
from blastpay.flows.order_models import CheckoutAttempt
from blastpay.flows.orders import OrderStore
from blastpay.flows.pay_route import create_app
from blastpay.flows.stripe_tasks import run_tasks

PAGE = re.compile(r'data-page="([a-z_]+)"')


class Killed(BaseException):
    """The process dies here: nothing after this point runs, no handler cleans up."""


class WallClock:
    """The lease clock, moved by hand (the lease of a killed click lapses without anyone waiting)."""

    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture(params=["sqlite_file", "postgres"])
def database_url(request, tmp_path):
    if request.param == "sqlite_file":
        return f"sqlite:///{tmp_path / 'mint.db'}"
    return request.getfixturevalue("postgres_url")


class App:
    """One app process over the rig's database and a given emulator (a restart builds another)."""

    def __init__(self, rig: RaceRig, database_url: str, emu: Emulator, wall: WallClock, mint_wait: float = 0.2) -> None:
        self.store = OrderStore(database_url)
        self.stripe = emu.client()
        self.app = create_app(store=self.store, stripe_client=self.stripe, binding=rig.binding, clock=emu.now,
                              config=LazyMintConfig(public_base_url="http://backend.test", success_url=SUCCESS_URL,
                                                    cancel_url=CANCEL_URL, mint_wait=mint_wait),
                              webhook_secrets=[rig.secret], wall_clock=wall)
        self.lazy = self.app.state.lazy_mint
        self.web = TestClient(self.app, base_url="http://backend.test", raise_server_exceptions=False)

    def click(self, token: str) -> str:
        """What the parent got: the session id redirected to, or the page's name; a 500 fails the test."""
        response = self.web.get(f"/pay/{token}", follow_redirects=False)
        assert response.status_code < 500 or response.status_code == 503, (response.status_code, response.text)
        if response.status_code == 303:
            return response.headers["location"].rsplit("/", 1)[-1]
        return PAGE.search(response.text).group(1)

    def close(self) -> None:
        self.web.close()
        self.store.dispose()


@pytest.fixture
def world(database_url):
    rig = RaceRig(database_url)
    wall = WallClock()
    apps: list[App] = []

    def start(emu: Emulator | None = None, mint_wait: float = 0.2) -> App:
        app = App(rig, database_url, emu or rig.emu, wall, mint_wait)
        apps.append(app)
        return app

    yield rig, wall, start
    for app in apps:
        app.close()
    rig.close()


def sessions_of(stripe, order_id: int) -> list:
    return [s for s in stripe.v1.checkout.sessions.list({"limit": 100}).auto_paging_iter()
            if s.metadata and s.metadata.to_dict().get("order_id") == str(order_id)]


def settle(app: App, emu: Emulator) -> None:
    run_tasks(app.store, app.stripe, emu.now)


def open_count(stripe, order_id: int) -> int:
    return sum(1 for s in sessions_of(stripe, order_id) if s.status == "open")


def attempts(store: OrderStore, order_id: int) -> list[tuple[int, str]]:
    with store.transaction() as session:
        return [tuple(r) for r in session.execute(
            select(CheckoutAttempt.attempt, CheckoutAttempt.state)
            .where(CheckoutAttempt.order_id == order_id).order_by(CheckoutAttempt.attempt))]


# -- concurrent clicks ---------------------------------------------------------------------------


def test_burst_of_twenty_clicks_on_one_order_mints_one_session(world):
    rig, _, start = world
    # the waiting clicks wait as long as production lets them (a 0.2 s wait made the burst flaky on a busy machine:
    # the holder's mint and record can take longer than that in wall time)
    app = start(mint_wait=10.0)
    order_id, token = rig.new_order()
    pages = _burst([lambda: app.click(token)] * 20)
    assert len(set(pages)) == 1 and pages[0].startswith("cs_"), pages
    assert len(sessions_of(rig.stripe, order_id)) == 1 and attempts(app.store, order_id) == [(1, "recorded")]


# -- a crash at each step --------------------------------------------------------------------------


@pytest.mark.parametrize("step", ["claimed", "created", "recorded"])
def test_crash_at_each_step_then_the_retry_reuses_what_stripe_made(world, step):
    """The click dies after the claim (Stripe not called yet), after Stripe created the session (not
    recorded) or after recording it (no answer sent). The parent clicks again at once (the dead click
    still holds the lease: "try again"), and again once the lease lapsed: one session, the one Stripe
    made the first time if it made one."""
    rig, wall, start = world
    app = start()
    order_id, token = rig.new_order()

    def die(at: str) -> None:
        if at == step:
            app.lazy.step_hook = None
            raise Killed(at)

    app.lazy.step_hook = die
    with pytest.raises(Killed):
        app.lazy.open(token)
    made = sessions_of(rig.stripe, order_id)
    assert len(made) == (0 if step == "claimed" else 1)
    if step != "recorded":
        assert app.click(token) == "try_again"  # the dead click's lease has not lapsed
        wall.now += app.lazy.config.mint_lease + 1
    retry = app.click(token)
    assert retry.startswith("cs_")
    if made:
        assert retry == made[0].id  # the same key replayed: the session Stripe already created
    settle(app, rig.emu)
    assert len(sessions_of(rig.stripe, order_id)) == 1 and open_count(rig.stripe, order_id) == 1
    assert app.click(token) == retry and attempts(app.store, order_id) == [(1, "recorded")]


def test_crash_then_a_restarted_app_records_the_orphan(world):
    """The process dies between create and record; a new process over the same database (lease
    lapsed) replays the key and records the session the dead one created."""
    rig, wall, start = world
    first = start()
    order_id, token = rig.new_order()
    first.lazy.step_hook = lambda at: (_ for _ in ()).throw(Killed(at)) if at == "created" else None
    with pytest.raises(Killed):
        first.lazy.open(token)
    (orphan,) = sessions_of(rig.stripe, order_id)
    first.close()
    wall.now += 3600
    second = start()
    assert second.click(token) == orphan.id
    assert len(sessions_of(rig.stripe, order_id)) == 1


def test_crash_left_unresolved_until_the_session_nearly_expired_is_retired_not_reused(world):
    """The orphan's parent comes back 23 h 50 min later: the replay finds the session with 10 minutes
    left, records it retired (its expiry queued) and mints attempt 2; one payable session remains."""
    rig, wall, start = world
    app = start()
    order_id, token = rig.new_order()
    app.lazy.step_hook = lambda at: (_ for _ in ()).throw(Killed(at)) if at == "created" else None
    with pytest.raises(Killed):
        app.lazy.open(token)
    app.lazy.step_hook = None
    (orphan,) = sessions_of(rig.stripe, order_id)
    rig.emu.advance(24 * HOUR - 10 * 60)
    wall.now += 24 * HOUR
    fresh = app.click(token)
    assert fresh.startswith("cs_") and fresh != orphan.id
    settle(app, rig.emu)
    assert open_count(rig.stripe, order_id) == 1
    assert attempts(app.store, order_id) == [(1, "recorded"), (2, "recorded")]


def test_amount_changed_while_an_attempt_was_unfinished_retires_the_old_amounts_session(world):
    rig, wall, start = world
    app = start()
    order_id, token = rig.new_order()
    app.lazy.step_hook = lambda at: (_ for _ in ()).throw(Killed(at)) if at == "created" else None
    with pytest.raises(Killed):
        app.lazy.open(token)
    app.lazy.step_hook = None
    app.store.change_amount(order_id, 9900, now=rig.emu.now())
    wall.now += 3600
    fresh = app.click(token)
    settle(app, rig.emu)
    (payable,) = [s for s in sessions_of(rig.stripe, order_id) if s.status == "open"]
    assert payable.id == fresh and payable.amount_total == 9900


def test_order_canceled_while_stripe_was_minting_shows_canceled_and_leaves_nothing_payable(world):
    rig, _, start = world
    app = start()
    order_id, token = rig.new_order()
    app.lazy.step_hook = lambda at: app.store.cancel_order(order_id, now=rig.emu.now()) if at == "created" else None
    assert app.click(token) == "canceled"
    settle(app, rig.emu)
    assert len(sessions_of(rig.stripe, order_id)) == 1 and open_count(rig.stripe, order_id) == 0


def test_paid_order_never_mints_again_even_with_an_unfinished_attempt(world):
    rig, wall, start = world
    app = start()
    order_id, token = rig.new_order()
    first = app.click(token)
    rig.emu.pay(first)  # the webhook marks the order paid
    wall.now += 3600
    assert app.click(token) == "already_paid"
    assert len(sessions_of(rig.stripe, order_id)) == 1


# -- a database error at each statement ------------------------------------------------------------

STATEMENTS = {
    "resolve_token": "FROM pay_tokens",
    "lock_order": "FROM orders",
    "write_attempt": "INSERT INTO checkout_attempts",
    "record_session": "INSERT INTO stripe_objects",
    "finish_attempt": "UPDATE checkout_attempts SET state",
}


@pytest.mark.parametrize("statement", sorted(STATEMENTS))
def test_database_error_at_each_statement_answers_try_again_and_the_retry_keeps_one_session(world, statement):
    rig, _, start = world
    app = start()
    order_id, token = rig.new_order()
    armed = {"left": 1}

    @event.listens_for(app.store.engine, "before_cursor_execute")
    def fail_once(conn, cursor, sql, params, context, executemany):
        if armed["left"] and STATEMENTS[statement] in sql:
            armed["left"] -= 1
            raise OperationalError(sql, params, Exception("injected: server closed the connection"))

    assert app.click(token) == "try_again"
    assert armed["left"] == 0
    made = sessions_of(rig.stripe, order_id)
    retry = app.click(token)
    assert retry.startswith("cs_")
    if made:  # Stripe had created it before the failing write: the retry records that very session
        assert [s.id for s in made] == [retry]
    settle(app, rig.emu)
    assert len(sessions_of(rig.stripe, order_id)) == 1 and open_count(rig.stripe, order_id) == 1


def test_stripe_500_voids_the_key_and_the_next_click_mints_under_a_new_one(world):
    """Stripe stores a 5xx under the key for 24 hours, so the key is never sent again."""
    rig, _, start = world
    app = start()
    order_id, token = rig.new_order()
    rig.emu.set_faults(route="POST /v1/checkout/sessions", error="500", count=1)
    assert app.click(token) == "try_again"
    assert app.click(token).startswith("cs_")
    assert attempts(app.store, order_id) == [(1, "void"), (2, "recorded")]


def test_dropped_stripe_connection_keeps_the_key_for_the_retry(world):
    rig, _, start = world
    app = start()
    order_id, token = rig.new_order()
    rig.emu.set_faults(route="POST /v1/checkout/sessions", error="drop", count=1)
    assert app.click(token) == "try_again"
    assert app.click(token).startswith("cs_")
    assert attempts(app.store, order_id) == [(1, "recorded")]


# -- restarts --------------------------------------------------------------------------------------


def test_restarted_app_reuses_the_recorded_session(world):
    rig, _, start = world
    first = start()
    order_id, token = rig.new_order()
    minted = first.click(token)
    first.close()
    second = start()
    assert second.click(token) == minted and len(sessions_of(rig.stripe, order_id)) == 1


def test_restarted_emulator_against_the_persisted_database(world):
    """The emulator restarts empty with ids of its own: orders minted before keep their recorded row (no
    second session anywhere), new orders mint in the new emulator, at most one open session each."""
    rig, _, start = world
    before = start()
    old_order, old_token = rig.new_order()
    old_session = before.click(old_token)
    before.close()
    emu = Emulator(seed=1)
    after = start(emu)
    assert after.click(old_token) == old_session  # the recorded session; no Stripe call
    new_order, new_token = rig.new_order()
    minted = after.click(new_token)
    assert minted.startswith("cs_") and minted != old_session
    assert open_count(emu.client(), new_order) == 1 and open_count(emu.client(), old_order) == 0


def test_restarted_emulator_repeating_its_ids_is_logged_and_answered_try_again(world, caplog):
    """An emulator restarted with the same seed hands out an id the database already holds: the
    integrity error is logged, the parent sees "try again" (not a 500), the unrecordable session is
    expired at once, and the next click mints under a new key."""
    rig, _, start = world
    before = start()
    _, old_token = rig.new_order()
    taken = before.click(old_token)
    before.close()
    emu = Emulator(seed=0)
    emu.client().v1.webhook_endpoints.create({"url": "http://backend.test/webhooks/stripe",
                                              "enabled_events": ["checkout.session.completed"]})  # as at first start
    after = start(emu)
    order_id, token = rig.new_order()
    with caplog.at_level(logging.ERROR, logger="blastpay.lazy_mint"):
        assert after.click(token) == "try_again"
    assert any(taken in r.getMessage() for r in caplog.records)
    fresh = after.click(token)
    assert fresh.startswith("cs_") and fresh != taken
    assert open_count(emu.client(), order_id) == 1
    assert attempts(after.store, order_id) == [(1, "void"), (2, "recorded")]


def test_lease_is_never_held_by_a_finished_click(world):
    rig, _, start = world
    app = start()
    order_id, token = rig.new_order()
    app.click(token)
    with app.store.transaction() as session:
        row = session.execute(select(CheckoutAttempt.lease_owner, CheckoutAttempt.lease_until)).one()
    assert tuple(row) == (None, None)


def test_config_mint_wait_bounds_a_waiting_click(world):
    """A click that finds another holding the lease waits at most ``mint_wait`` and then says "try again"."""
    rig, _, start = world
    app = start()
    app.lazy.config = dataclasses.replace(app.lazy.config, mint_wait=0.05)
    _, token = rig.new_order()
    app.lazy.step_hook = lambda at: (_ for _ in ()).throw(Killed(at)) if at == "claimed" else None
    with pytest.raises(Killed):
        app.lazy.open(token)
    app.lazy.step_hook = None
    assert app.click(token) == "try_again"
