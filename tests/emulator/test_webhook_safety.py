"""Where a served emulator sends webhooks, how, and when (the emulator's own safety rules, not Stripe's)."""
from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Iterator

import pytest
import stripe

from blastpay.emulator import Emulator
from blastpay.emulator.webhooks import HttpWebhookTransport, WebhookHostRefused

PRICE = {"currency": "usd", "unit_amount": 500, "product_data": {"name": "Fee"}}


def expire_a_session(client: stripe.StripeClient) -> None:
    session = client.v1.checkout.sessions.create({"mode": "payment", "success_url": "https://club.test/ok",
                                                  "line_items": [{"price_data": PRICE, "quantity": 1}]})
    client.v1.checkout.sessions.expire(session.id)


class Sink:
    """A loopback webhook receiver answering ``status`` (with ``location`` for a redirect); ``hold`` makes each
    request wait until released (at most ``hold_for`` seconds)."""

    def __init__(self, status: int = 200, location: str | None = None, hold: bool = False, hold_for: float = 5.0) -> None:
        self.status, self.location = status, location
        self.release = threading.Event()
        if not hold:
            self.release.set()
        self.hold_for = hold_for
        self.requests: list[str] = []
        self.answered = 0
        sink = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def _answer(self) -> None:
                length = int(self.headers.get("Content-Length", "0"))
                self.rfile.read(length)
                sink.requests.append(self.command)
                sink.release.wait(sink.hold_for)
                sink.answered += 1  # before the answer leaves: once the emulator has it, this count includes it
                self.send_response(sink.status)
                if sink.location:
                    self.send_header("Location", sink.location)
                self.send_header("Content-Length", "0")
                self.end_headers()

            do_POST = do_GET = _answer

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"

    def close(self) -> None:
        self.release.set()
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def served() -> Iterator[tuple[Emulator, stripe.StripeClient]]:
    emu = Emulator(seed=21, allow_webhook_hosts=["hooks.allowed.test"])
    with emu.serve("127.0.0.1", 0) as handle:
        yield emu, stripe.StripeClient("sk_test_safety", base_addresses={"api": handle.base_url},
                                       max_network_retries=0)


@pytest.mark.parametrize("url", [
    "http://10.0.0.5/hook", "http://192.168.1.10/hook", "http://172.16.0.1/hook", "http://169.254.169.254/latest",
    "http://[fd00::1]/hook", "http://[fe80::1]/hook", "http://metadata.google.internal/hook", "http://db/hook",
    "https://example.com/hook", "http://0.0.0.0/hook",
])
def test_a_served_emulator_refuses_endpoints_off_loopback(served, url):
    emu, client = served
    with pytest.raises(stripe.InvalidRequestError) as refused:
        client.v1.webhook_endpoints.create({"url": url, "enabled_events": ["*"]})
    assert refused.value.http_status == 400
    assert refused.value.error.param == "url"
    assert "loopback" in refused.value.user_message and "--allow-webhook-host" in refused.value.user_message
    assert client.v1.webhook_endpoints.list().data == []


@pytest.mark.parametrize("url", ["http://127.0.0.1:9/h", "http://127.8.9.10:9/h", "http://localhost:9/h",
                                 "http://[::1]:9/h", "https://hooks.allowed.test/h"])
def test_loopback_and_hosts_named_on_the_command_line_are_accepted(served, url):
    _, client = served
    assert client.v1.webhook_endpoints.create({"url": url, "enabled_events": ["*"]}).url == url


def test_moving_an_endpoint_off_loopback_is_refused(served):
    _, client = served
    endpoint = client.v1.webhook_endpoints.create({"url": "http://127.0.0.1:9/h", "enabled_events": ["*"]})
    with pytest.raises(stripe.InvalidRequestError):
        client.v1.webhook_endpoints.update(endpoint.id, {"url": "http://169.254.169.254/"})


@pytest.mark.parametrize("url", ["http://10.9.9.9/hook", "http://169.254.169.254/", "http://internal-db/"])
def test_an_in_process_emulator_never_sends_off_loopback_either(url):
    """In process, endpoints are labels for the caller's own transport; the default one, which does reach the
    network, refuses before connecting (so this test sends nothing anywhere)."""
    emu = Emulator(seed=22)
    assert isinstance(emu.webhook_transport, HttpWebhookTransport)
    with pytest.raises(WebhookHostRefused, match="loopback"):
        emu.webhook_transport(url, {}, b"{}")


def test_a_redirect_is_a_failed_delivery_retried_on_the_schedule(served):
    emu, client = served
    target = Sink()
    redirecting = Sink(status=302, location=target.url)
    try:
        client.v1.webhook_endpoints.create({"url": redirecting.url, "enabled_events": ["checkout.session.expired"]})
        expire_a_session(client)
        emu.flush_webhooks()
        (first,) = emu.deliveries
        assert (first["status"], first["outcome"], first["next_attempt_at"]) == (302, "retrying", first["at"] + 60)
        assert target.requests == []  # the redirect was not followed
        emu.advance(60)
        assert [d["attempt"] for d in emu.deliveries] == [1, 2]
        assert target.requests == []
    finally:
        target.close()
        redirecting.close()


def test_an_api_call_answers_before_its_webhooks_are_delivered(served):
    """Three endpoints that hold every delivery: the expire call answers while all three are still waiting
    (delivery is not on the API request path), and flush returns once all three have been answered."""
    emu, client = served
    sinks = [Sink(hold=True) for _ in range(3)]
    try:
        for sink in sinks:
            client.v1.webhook_endpoints.create({"url": sink.url, "enabled_events": ["checkout.session.expired"]})
        expire_a_session(client)
        assert sum(sink.answered for sink in sinks) == 0  # none has answered yet: the call did not wait for them
        for sink in sinks:
            sink.release.set()
        emu.flush_webhooks()
        assert [sink.answered for sink in sinks] == [1, 1, 1]
        log = [d for d in emu.deliveries if d["type"] == "checkout.session.expired"]
        assert sorted((d["endpoint"], d["status"], d["outcome"]) for d in log) == \
            sorted((sink.url, 200, "delivered") for sink in sinks)
    finally:
        for sink in sinks:
            sink.close()
