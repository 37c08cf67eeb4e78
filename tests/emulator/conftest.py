"""Two doors onto one emulator: in process and over loopback HTTP.

Tests speak only through the public SDK (StripeClient / legacy class methods) and the
control API: plain ``Emulator`` calls in process, ``/_sandbox/...`` over HTTP.
"""
from __future__ import annotations

import json
import threading
import urllib.error
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Iterator

import pytest
import stripe

from blastpay.emulator import Emulator, EmulatorError
from blastpay.emulator.clock import DEFAULT_START as START


class WebhookSink:
    """Records webhook deliveries and answers with ``status`` (changeable)."""

    def __init__(self, settle: Any = None) -> None:
        self._received: list[tuple[dict[str, str], bytes]] = []
        self.status = 200
        self.lock = threading.Lock()
        self.settle = settle  # over HTTP: flush, so deliveries a /v1 call made due have been attempted

    @property
    def received(self) -> list[tuple[dict[str, str], bytes]]:
        if self.settle is not None:
            self.settle()
        return self._received

    def accept(self, headers: dict[str, str], body: bytes) -> int:
        with self.lock:
            self._received.append((headers, body))
            return self.status

    def events(self) -> list[dict[str, Any]]:
        return [json.loads(body) for _, body in self.received]

    def types(self) -> list[str]:
        return [e["type"] for e in self.events()]


class InProcessDoor:
    name = "in-process"

    def __init__(self) -> None:
        self.emu = Emulator(seed=7, start=START)
        self.client = self.emu.client("sk_test_conformance")
        self.sink = WebhookSink()
        self.hook_url = "http://hooks.example.test/stripe/webhook"
        self.emu.webhook_transport = lambda url, headers, body: self.sink.accept(headers, body)
        self.api_base = self.emu.base_url

    def sdk_client(self, api_key: str) -> stripe.StripeClient:
        return self.emu.client(api_key)

    def legacy_http_client(self) -> stripe.HTTPClient | None:
        return self.emu.http_client()

    def now(self) -> int:
        return self.emu.now()

    def advance(self, seconds: int) -> int:
        return self.emu.advance(seconds)

    def visit(self, url: str) -> dict[str, Any]:
        return self.emu.visit(url)

    def pay(self, session_id: str, outcome: str = "succeeded") -> dict[str, Any]:
        return self.emu.pay(session_id, outcome)

    def cancel(self, session_id: str) -> dict[str, Any]:
        return self.emu.cancel(session_id)

    def set_faults(self, **spec: Any) -> None:
        self.emu.set_faults(**spec)

    def deliveries(self) -> list[dict[str, Any]]:
        return self.emu.deliveries

    def flush(self) -> None:
        self.emu.flush_webhooks()

    def reset(self) -> None:
        self.emu.reset()

    def close(self) -> None:
        pass


class _SinkHandler(BaseHTTPRequestHandler):
    sink: WebhookSink

    def log_message(self, *args: Any) -> None:
        pass

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        status = self.sink.accept(dict(self.headers.items()), body)
        self.send_response(status)
        self.send_header("Content-Length", "0")
        self.end_headers()


class HttpDoor:
    name = "http"

    def __init__(self) -> None:
        self.emu = Emulator(seed=7, start=START)
        self.server = self.emu.serve("127.0.0.1", 0)
        self.api_base = self.server.base_url
        self.client = self.sdk_client("sk_test_conformance")
        self.sink = WebhookSink(settle=self.flush)
        handler = type("SinkHandler", (_SinkHandler,), {"sink": self.sink})
        self.sink_server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.sink_server.daemon_threads = True
        threading.Thread(target=self.sink_server.serve_forever, daemon=True).start()
        self.hook_url = f"http://127.0.0.1:{self.sink_server.server_address[1]}/stripe/webhook"

    def sdk_client(self, api_key: str) -> stripe.StripeClient:
        return stripe.StripeClient(api_key, base_addresses={"api": self.api_base}, max_network_retries=0)

    def legacy_http_client(self) -> stripe.HTTPClient | None:
        return None

    def _call(self, method: str, path: str, **form: Any) -> Any:
        data = json.dumps(form).encode() if method == "POST" else None
        request = urllib.request.Request(self.api_base + path, data=data, method=method,
                                         headers={"Content-Type": "application/json"} if data is not None else {})
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                return json.loads(response.read())
        except urllib.error.HTTPError as exc:
            error = json.loads(exc.read())["error"]
            raise EmulatorError(error["message"], status=exc.code, type=error["type"], code=error.get("code"),
                                param=error.get("param")) from None

    def now(self) -> int:
        return self._call("GET", "/_sandbox/clock")["now"]

    def advance(self, seconds: int) -> int:
        return self._call("POST", "/_sandbox/clock/advance", seconds=seconds)["now"]

    def visit(self, url: str) -> dict[str, Any]:
        return self._call("POST", "/_sandbox/visit", url=url)

    def pay(self, session_id: str, outcome: str = "succeeded") -> dict[str, Any]:
        return self._call("POST", f"/_sandbox/checkout/{session_id}/pay", outcome=outcome)

    def cancel(self, session_id: str) -> dict[str, Any]:
        return self._call("POST", f"/_sandbox/checkout/{session_id}/cancel")

    def set_faults(self, **spec: Any) -> None:
        self._call("POST", "/_sandbox/faults", **spec)

    def deliveries(self) -> list[dict[str, Any]]:
        self.flush()  # /v1 calls leave their deliveries to the background deliverer; flush waits for them
        return self._call("GET", "/_sandbox/deliveries")["data"]

    def flush(self) -> None:
        self._call("POST", "/_sandbox/webhooks/flush")

    def reset(self) -> None:
        self._call("POST", "/_sandbox/reset")

    def close(self) -> None:
        self.server.close()
        self.sink_server.shutdown()
        self.sink_server.server_close()


@pytest.fixture(scope="session")
def http_door() -> Iterator[HttpDoor]:
    """One loopback server for the whole run; each test starts from ``/_sandbox/reset``."""
    made = HttpDoor()
    try:
        yield made
    finally:
        made.close()


@pytest.fixture(params=["in-process", "http"])
def door(request: pytest.FixtureRequest) -> Iterator[InProcessDoor | HttpDoor]:
    if request.param == "in-process":
        yield InProcessDoor()
        return
    made = request.getfixturevalue("http_door")
    made.reset()
    made.sink.received.clear()
    made.sink.status = 200
    yield made


@pytest.fixture
def price(door: Any) -> Any:
    product = door.client.v1.products.create({"name": "Spring tournament fee"})
    return door.client.v1.prices.create({"currency": "usd", "unit_amount": 4500, "product": product.id})


@pytest.fixture
def hook(door: Any) -> Any:
    """A webhook endpoint for every event, pointing at the door's sink; returns (endpoint, secret)."""
    endpoint = door.client.v1.webhook_endpoints.create({"url": door.hook_url, "enabled_events": ["*"]})
    return endpoint
