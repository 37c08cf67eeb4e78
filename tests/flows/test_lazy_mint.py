"""GET /pay/{order_token}: what each state of the order shows, reuse, Stripe failing, concurrency."""

import re
import threading

import pytest
from flow_helpers import HOUR, spec
from sqlalchemy import select

from blastpay.flows.harness import EXPERIMENT_TOKEN_KEYS
from blastpay.flows.order_models import CHECKOUT_SESSION, PayToken, StripeObject
from blastpay.flows.serve import demo_stack, serve_main
from blastpay.flows.tokens import make_binding, parse_token_keys

PAGE = re.compile(r'data-page="([a-z_]+)"')


def token_of(url):
    return url.rsplit("/", 1)[1]


@pytest.fixture(params=["lazy_mint_hmac", "lazy_mint_db"])
def lazy(request, make_flow):
    emu, flow = make_flow(request.param)
    (order,) = flow.create_orders([spec()])
    link = flow.blast([order])[order.id]
    return emu, flow, order, link.url


def get(flow, url):
    return flow.web.get("/pay/" + token_of(url), follow_redirects=False)


def test_every_bad_token_gets_the_same_404(lazy):
    emu, flow, order, url = lazy
    token = token_of(url)
    bodies = set()
    for bad in ["nope", token[:-1], token[:-2] + ("A" if token[-2] != "A" else "B") + token[-1], "A" * len(token),
                token + "x", "%2e%2e"]:
        r = flow.web.get("/pay/" + bad, follow_redirects=False)
        assert r.status_code == 404 and PAGE.search(r.text).group(1) == "not_found"
        bodies.add(r.text)
    assert len(bodies) == 1  # one page for every failure: nothing tells a forger how close they came
    assert flow.metrics()["stripe_calls"] == 0


def test_repeated_gets_reuse_one_session_and_consume_nothing(lazy):
    emu, flow, order, url = lazy
    first = get(flow, url)  # a mail scanner at delivery
    assert first.status_code == 303 and first.headers["cache-control"] == "no-store"
    emu.advance(22 * HOUR)  # the parent, 22 hours later: 2 hours left on the session
    second = get(flow, url)
    assert second.headers["location"] == first.headers["location"]
    assert flow.metrics()["stripe_calls"] == 1 and flow.store.count(PayToken) == 1


def test_session_nearly_expired_is_replaced_and_retired(lazy):
    emu, flow, order, url = lazy
    first = get(flow, url).headers["location"]
    emu.advance(24 * HOUR - 20 * 60)  # 20 minutes left: too little to finish paying
    second = get(flow, url).headers["location"]
    assert second != first
    flow.settle()  # the queued task expires the old session so the order keeps one live session
    assert emu.visit(first)["page"] == "expired" and emu.visit(second)["page"] == "checkout"
    open_sessions = [s for s in flow.stripe_sessions(order.id) if s.status == "open"]
    assert len(open_sessions) == 1


def test_paid_and_canceled_orders_make_no_stripe_call(lazy):
    emu, flow, order, url = lazy
    view = flow.click(order.id)
    flow.pay(view)
    calls = flow.metrics()["stripe_calls"]
    r = get(flow, url)
    assert r.status_code == 200 and PAGE.search(r.text).group(1) == "already_paid"
    assert flow.metrics()["stripe_calls"] == calls
    (other,) = flow.create_orders([spec(player_id=9)])
    other_url = flow.blast([other])[other.id].url
    flow.cancel_order(other.id)
    r = get(flow, other_url)
    assert r.status_code == 200 and PAGE.search(r.text).group(1) == "canceled"
    assert flow.metrics()["stripe_calls"] == calls


def test_stripe_failing_gives_try_again_and_writes_nothing(lazy):
    emu, flow, order, url = lazy
    emu.set_faults(route="POST /v1/checkout/sessions", error="500", count=1)
    r = get(flow, url)
    assert r.status_code == 503 and r.headers["retry-after"] == "60"
    assert PAGE.search(r.text).group(1) == "try_again"
    assert flow.store.count(StripeObject) == 0
    r = get(flow, url)  # a minute later it works
    assert r.status_code == 303 and flow.store.count(StripeObject) == 1


def test_dropped_connection_is_also_try_again(lazy):
    emu, flow, order, url = lazy
    emu.set_faults(route="POST /v1/checkout/sessions", error="drop", count=1)
    assert get(flow, url).status_code == 503 and flow.store.count(StripeObject) == 0


@pytest.mark.parametrize("variant", ["lazy_mint_hmac", "lazy_mint_db"])
def test_simultaneous_clicks_leave_one_open_session(make_flow, tmp_path, variant):
    emu, flow = make_flow(variant, database_url=f"sqlite:///{tmp_path / 'orders.db'}")
    (order,) = flow.create_orders([spec()])
    path = "/pay/" + token_of(flow.blast([order])[order.id].url)
    barrier = threading.Barrier(8)
    answers = []

    def click():
        barrier.wait()
        answers.append(flow.web.get(path, follow_redirects=False))

    threads = [threading.Thread(target=click) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert [a.status_code for a in answers] == [303] * 8
    assert len({a.headers["location"] for a in answers}) == 1
    assert len([s for s in flow.stripe_sessions(order.id) if s.status == "open"]) == 1
    with flow.store.transaction() as s:
        assert len(s.scalars(select(StripeObject).where(StripeObject.kind == CHECKOUT_SESSION)).all()) == 1


def test_serve_refuses_malformed_keys(monkeypatch, capsys):
    monkeypatch.setenv("BLASTPAY_TOKEN_KEYS", "k1:not-hex")
    assert serve_main(["--port", "0"]) == 2
    err = capsys.readouterr().err.strip()
    assert err == "blastpay serve: BLASTPAY_TOKEN_KEYS entry 1 (k1): key is not hex"


@pytest.mark.parametrize("path", ["/docs", "/redoc", "/openapi.json", "/docs/oauth2-redirect"])
def test_no_api_documentation_is_served(lazy, path):
    emu, flow, order, url = lazy
    assert flow.web.get(path).status_code == 404


def _click_all(web, links):
    """Every link of a demo run, clicked twice: (status, page or Stripe host) per click."""
    seen = []
    for url in list(links.values()) * 2:
        r = web.get("/pay/" + token_of(url), follow_redirects=False)
        page = PAGE.search(r.text)
        seen.append((r.status_code, r.headers.get("location", "").split("/c/pay/")[0] if r.status_code == 303
                     else page.group(1) if page else r.text[:80]))
    return seen


@pytest.mark.slow
def test_serve_survives_restarts_in_the_same_directory(tmp_path, caplog):
    """``blastpay serve`` started, its links clicked, stopped, started again over the same SQLite file
    (a fresh embedded emulator each time), every link clicked again, three times over: only redirects,
    each to the emulator of the current run, and no error in the log."""
    from fastapi.testclient import TestClient

    database_url = f"sqlite:///{tmp_path / 'blastpay.db'}"
    binding = make_binding("hmac", parse_token_keys(EXPERIMENT_TOKEN_KEYS))  # BLASTPAY_TOKEN_KEYS kept across runs
    every_link: dict[int, str] = {}
    notes = []
    for _run in range(3):
        demo = demo_stack(base_url="http://127.0.0.1:9", database_url=database_url, binding=binding, orders=3)
        try:
            every_link.update(demo.links)
            notes.extend(demo.notes)
            with TestClient(demo.app, base_url="http://127.0.0.1:9") as web, caplog.at_level("ERROR"):
                seen = _click_all(web, every_link)
            assert seen == [(303, demo.stripe_base)] * len(seen), seen
        finally:
            demo.close()
    assert len(every_link) == 9
    assert not [r for r in caplog.records if r.levelno >= 40]
    assert len(notes) == 2 and "marked expired" in notes[0]  # the second and third start say what they did


def test_serve_restart_with_an_emulator_repeating_its_ids_never_answers_5xx(tmp_path, caplog):
    """The restart bug as filed (the emulator's id sequence restarts while the file keeps the old rows):
    a colliding id is logged and answered "try again", never a 500, and the retry redirects."""
    from fastapi.testclient import TestClient

    database_url = f"sqlite:///{tmp_path / 'blastpay.db'}"
    binding = make_binding("hmac", parse_token_keys(EXPERIMENT_TOKEN_KEYS))
    statuses = []
    for _run in range(2):
        demo = demo_stack(base_url="http://127.0.0.1:9", database_url=database_url, binding=binding, orders=3,
                          emulator_seed=0)
        try:
            with TestClient(demo.app, base_url="http://127.0.0.1:9", raise_server_exceptions=False) as web, \
                    caplog.at_level("ERROR", logger="blastpay.lazy_mint"):
                for url in demo.links.values():
                    first = web.get("/pay/" + token_of(url), follow_redirects=False).status_code
                    statuses.append(first)
                    if first == 503:
                        statuses.append(web.get("/pay/" + token_of(url), follow_redirects=False).status_code)
        finally:
            demo.close()
    assert all(s in (303, 503) for s in statuses) and statuses[-1] == 303
    assert statuses.count(503) == len([r for r in caplog.records if "cannot record" in r.getMessage()]) >= 1


def test_the_served_app_retries_stripe_as_the_stated_mitigation_policy_says():
    from blastpay import config
    from blastpay.flows.lazy_mint import SDK_RETRIES
    from blastpay.flows.mitigations import load_policy

    assert SDK_RETRIES == load_policy(config.EXPERIMENTS_DIR / "mitigations.yaml").max_network_retries
