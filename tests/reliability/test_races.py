"""Races on one lazy-mint link, with the app served by uvicorn on loopback and the store in a SQLite
file or PostgreSQL: simultaneous clicks mint one session; a click racing the payment's webhook never
leaves a second payable session or a second payment."""

import re

import httpx
import pytest

from blastpay.experiments.reliability import RaceRig, _burst
from blastpay.flows.harness import LoopbackServer
from blastpay.flows.webhook_matcher import WEBHOOK_PATH


@pytest.fixture(params=["sqlite_file", "postgres"])
def database_url(request, tmp_path):
    if request.param == "sqlite_file":
        return f"sqlite:///{tmp_path / 'races.db'}"
    return request.getfixturevalue("postgres_url")


@pytest.fixture
def served(database_url):
    """A RaceRig whose clicks and webhook deliveries go over loopback HTTP to uvicorn."""
    rig = RaceRig(database_url)
    server = LoopbackServer(rig.app)
    client = httpx.Client(base_url=server.base_url, timeout=30, limits=httpx.Limits(max_connections=20))

    def open_over_http(token: str) -> str:
        response = client.get(f"/pay/{token}", follow_redirects=False)
        if response.status_code == 303:
            return response.headers["location"].rsplit("/", 1)[-1]
        assert response.status_code < 500, response.text
        page = re.search(r'data-page="([a-z_]+)"', response.text)
        return page.group(1) if page else f"http_{response.status_code}"

    def post_over_http(body: bytes, signature: str) -> int:
        return client.post(WEBHOOK_PATH, content=body,
                           headers={"Stripe-Signature": signature, "Content-Type": "application/json"}).status_code

    rig.opener, rig.poster = open_over_http, post_over_http
    yield rig
    client.close()
    server.close()
    rig.close()


@pytest.mark.parametrize("clicks,rounds", [(2, 3), (10, 3), (20, 2)])
def test_simultaneous_clicks_mint_one_session(served, clicks, rounds):
    for _ in range(rounds):
        result = served.click_race(clicks)
        assert len(result.pages) == clicks
        assert len(set(result.pages)) == 1 and result.pages[0].startswith("cs_"), result.pages
        assert result.sessions_in_stripe == 1 and result.open_sessions_in_stripe == 1
        assert result.order_status == "pending" and result.violations == ()


@pytest.mark.parametrize("near_expiry", [True, False], ids=["session_near_expiry", "session_fresh"])
@pytest.mark.parametrize("order", ["together", "click_first", "webhook_first"])
def test_click_racing_the_payment_webhook_leaves_nothing_payable(served, order, near_expiry):
    result = served.click_vs_webhook_race(order=order, near_expiry=near_expiry)
    assert result.order_status == "paid"
    assert result.open_sessions_in_stripe == 0  # a session minted by the losing click was retired
    assert result.violations == ()
    if order == "webhook_first":
        assert result.pages == ("already_paid",)
    if order == "click_first":
        assert result.sessions_in_stripe == (2 if near_expiry else 1)


def test_ten_clicks_racing_the_webhook_on_a_paid_session(served):
    """Ten clicks and the webhook released together, twice over: still one payment, nothing payable."""
    for _ in range(2):
        order_id, token, first, body, sig = served.pay_holding_webhook(near_expiry=True)
        results = _burst([lambda token=token: served.opener(token)] * 10
                         + [lambda body=body, sig=sig: served.poster(body, sig)])
        assert results[-1] == 200
        minted = {p for p in results[:-1] if isinstance(p, str) and p.startswith("cs_") and p != first}
        assert len(minted) <= 1  # the clicks that beat the webhook share one new session
        after = served._result(order_id, [])
        assert after.order_status == "paid" and after.open_sessions_in_stripe == 0 and after.violations == ()


def test_dropped_database_connection_answers_try_again_then_recovers(postgres_url):
    """The server kills the app's pooled connection (a restart, an admin): the click in flight gets the
    503 "try again" page with Retry-After, nothing is written, and the parent's retry mints the session."""
    from fastapi.testclient import TestClient
    from sqlalchemy import create_engine, text

    rig = RaceRig(postgres_url)
    try:
        client = TestClient(rig.app, raise_server_exceptions=False)
        order_id, token = rig.new_order()
        admin = create_engine(postgres_url, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            killed = conn.execute(text("SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                                       "WHERE datname = current_database() AND pid <> pg_backend_pid()")).scalar()
        admin.dispose()
        assert killed >= 1
        first = client.get(f"/pay/{token}", follow_redirects=False)
        assert first.status_code == 503 and first.headers["retry-after"] == "60"
        assert 'data-page="try_again"' in first.text
        assert rig.store.stripe_objects(order_id=order_id) == []
        retry = client.get(f"/pay/{token}", follow_redirects=False)
        assert retry.status_code == 303 and "/c/pay/cs_" in retry.headers["location"]
        client.close()
    finally:
        rig.close()
