"""`blastpay serve` in operation: its Stripe budget, its database, its webhook endpoint and its headers."""

import os

import pytest
import stripe
from fastapi.testclient import TestClient

from blastpay.emulator import Emulator
from blastpay.flows.harness import EXPERIMENT_TOKEN_KEYS
from blastpay.flows.lazy_mint import MINT_LEASE_SECONDS, SDK_RETRIES, STRIPE_TIMEOUT_SECONDS
from blastpay.flows.serve import ServeError, demo_stack, serve_main, served_app, stripe_call_worst_case
from blastpay.flows.tokens import make_binding, parse_token_keys

BINDING = make_binding("hmac", parse_token_keys(EXPERIMENT_TOKEN_KEYS))
BASE = "http://127.0.0.1:9"


def test_one_stripe_call_ends_before_the_mint_lease_lapses():
    """Every attempt timing out, with the SDK's longest back-off between them, still ends inside the lease, so
    a slow Stripe answers the parent "try again" before another click may take the attempt over."""
    assert stripe_call_worst_case(STRIPE_TIMEOUT_SECONDS, SDK_RETRIES) < MINT_LEASE_SECONDS
    assert stripe_call_worst_case(20, 2) == 61.5  # the budget this replaced: twice the lease


def test_the_served_client_uses_that_budget(tmp_path):
    demo = demo_stack(base_url=BASE, database_url=f"sqlite:///{tmp_path / 'a.db'}", binding=BINDING, orders=1)
    try:
        client = demo.app.state.lazy_mint.client
        options = client._requestor._options  # the SDK keeps its settings here
        assert options.max_network_retries == SDK_RETRIES
        http = client._requestor._client
        assert isinstance(http, stripe.RequestsClient) and http._timeout == STRIPE_TIMEOUT_SECONDS
    finally:
        demo.close()


def test_restarts_reuse_one_webhook_endpoint_and_its_secret(tmp_path):
    """Seventeen starts against one Stripe account (16 endpoints is Stripe's limit) leave one endpoint, and a
    delivery Stripe retries after a restart still verifies."""
    emu = Emulator(seed=4)
    database_url = f"sqlite:///{tmp_path / 'a.db'}"
    with emu.serve("127.0.0.1", 0) as handle:
        for start in range(17):
            demo = demo_stack(base_url=BASE, database_url=database_url, binding=BINDING, orders=1 if start == 0 else 0,
                              stripe_base=handle.base_url)
            demo.close()
        endpoints = emu.client().v1.webhook_endpoints.list({"limit": 100}).data
        assert [e.url for e in endpoints] == [BASE + "/webhooks/stripe"]
        assert endpoints[0].status == "enabled"
        demo = demo_stack(base_url=BASE, database_url=database_url, binding=BINDING, orders=0,
                          stripe_base=handle.base_url)
        try:
            received = []
            with TestClient(demo.app, base_url=BASE) as web:
                emu.webhook_transport = lambda url, headers, body: received.append(
                    web.post("/webhooks/stripe", content=body, headers=headers).status_code) or received[-1]
                emu.client().v1.products.create({"name": "x"})  # any event: the endpoint hears only checkout ones
                session = emu.client().v1.checkout.sessions.create({
                    "mode": "payment", "success_url": BASE + "/paid",
                    "line_items": [{"price_data": {"currency": "usd", "unit_amount": 100,
                                                   "product_data": {"name": "x"}}, "quantity": 1}]})
                emu.pay(session.id)
                emu.flush_webhooks()
            assert received and all(status == 200 for status in received)
        finally:
            demo.close()


def test_a_missing_database_is_refused_not_silently_created(tmp_path, capsys):
    missing = tmp_path / "gone.db"
    with pytest.raises(ServeError, match="does not exist"):
        demo_stack(base_url=BASE, database_url=f"sqlite:///{missing}", binding=BINDING, orders=0, require_orders=True)
    assert not missing.exists()
    os.environ.pop("BLASTPAY_TOKEN_KEYS", None)
    assert serve_main(["--port", "0", "--database-url", f"sqlite:///{missing}"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1] == f"blastpay serve: the database file {missing} does not exist; pass --seed to start a new one " \
                      "with demo orders"
    assert not missing.exists()


def test_an_empty_database_is_refused(tmp_path):
    database_url = f"sqlite:///{tmp_path / 'empty.db'}"
    demo_stack(base_url=BASE, database_url=database_url, binding=BINDING, orders=0).close()  # tables, no orders
    with pytest.raises(ServeError, match="holds no orders"):
        demo_stack(base_url=BASE, database_url=database_url, binding=BINDING, orders=0, require_orders=True)


@pytest.mark.parametrize("change", ["deleted", "replaced"])
def test_a_database_deleted_or_replaced_while_serving_stops_the_app(tmp_path, change):
    path = tmp_path / "a.db"
    demo = demo_stack(base_url=BASE, database_url=f"sqlite:///{path}", binding=BINDING, orders=1)
    lost = []
    try:
        app = served_app(demo, lost.append)
        with TestClient(app, base_url=BASE) as web:
            assert web.get("/paid").status_code == 200
            if change == "deleted":
                path.unlink()
            else:
                path.rename(tmp_path / "old.db")
                path.write_bytes((tmp_path / "old.db").read_bytes())
            link = next(iter(demo.links.values()))
            answer = web.get(link.removeprefix(BASE), follow_redirects=False)
            assert answer.status_code == 503
            assert web.get("/paid").status_code == 503
        assert lost == [f"the database file {path} was {change} while serving"]
    finally:
        demo.close()


def test_every_page_carries_the_security_headers_and_is_never_cached(tmp_path):
    demo = demo_stack(base_url=BASE, database_url=f"sqlite:///{tmp_path / 'a.db'}", binding=BINDING, orders=1)
    try:
        link = next(iter(demo.links.values()))
        with TestClient(served_app(demo, lambda _: None), base_url=BASE) as web:
            answers = [web.get(link.removeprefix(BASE), follow_redirects=False), web.get("/pay/not-a-token"),
                       web.get("/paid?session_id=cs_x"), web.get("/back"), web.get("/nowhere"),
                       web.post("/webhooks/stripe", content=b"{}")]
        assert [a.status_code for a in answers] == [303, 404, 200, 200, 404, 400]
        for answer in answers:
            assert answer.headers["x-content-type-options"] == "nosniff"
            assert answer.headers["x-frame-options"] == "DENY"
            assert "frame-ancestors 'none'" in answer.headers["content-security-policy"]
            assert "default-src 'none'" in answer.headers["content-security-policy"]
            assert answer.headers["referrer-policy"] == "no-referrer"
            assert answer.headers["cache-control"] == "no-store"
    finally:
        demo.close()
