"""``Emulator``: the in-process door to the emulator and its control API as plain calls."""
from __future__ import annotations

from typing import Any, Callable, Iterable

import stripe

from blastpay.emulator.deliverer import BackgroundDeliverer
from blastpay.emulator.errors import EmulatorError
from blastpay.emulator.params import check_fields
from blastpay.emulator.server import ServerHandle
from blastpay.emulator.state import Backend
from blastpay.emulator.transport import InProcessHTTPClient
from blastpay.emulator.webhooks import WebhookHosts
from blastpay.emulator.wire import FAULTS, Wire


class Emulator:
    """A stateful, clock-driven Stripe emulator spoken to by the real ``stripe`` SDK.

    >>> emu = Emulator(seed=0)
    >>> client = emu.client()
    >>> client.v1.customers.create({"email": "a@example.test"}).object
    'customer'
    """

    def __init__(self, seed: int = 0, start: int = 1_767_225_600, base_url: str = "http://stripe.emulator.test",
                 allow_webhook_hosts: Iterable[str] = ()) -> None:
        hosts = WebhookHosts(frozenset(h.lower() for h in allow_webhook_hosts))
        self._backend = Backend(seed=seed, start=start, base_url=base_url, webhook_hosts=hosts)
        self._wire = Wire(self._backend)
        self._servers: list[ServerHandle] = []

    # -- time ------------------------------------------------------------------------------
    def now(self) -> int:
        return self._backend.now()

    def advance(self, seconds: int) -> int:
        """Move simulated time forward, firing expiries and due webhook retries on the way."""
        return self._backend.advance(seconds)

    # -- the SDK's way in ------------------------------------------------------------------
    @property
    def base_url(self) -> str:
        return self._backend.base_url

    def http_client(self) -> stripe.HTTPClient:
        return InProcessHTTPClient(self._wire)

    def client(self, api_key: str = "sk_test_emulator") -> stripe.StripeClient:
        return stripe.StripeClient(
            api_key,
            http_client=self.http_client(),
            base_addresses={"api": self.base_url},
            max_network_retries=0,
        )

    # -- the customer's side ---------------------------------------------------------------
    def visit(self, url: str) -> dict[str, Any]:
        with self._backend.lock:
            return self._backend.visit(url)

    def pay(self, session_id: str, outcome: str = "succeeded", email: str | None = None) -> dict[str, Any]:
        try:
            with self._backend.lock:
                return self._backend.pay(session_id, outcome, email)
        finally:
            self._backend.deliver_due()

    def cancel(self, session_id: str) -> dict[str, Any]:
        with self._backend.lock:
            return self._backend.cancel(session_id)

    # -- control ---------------------------------------------------------------------------
    def set_faults(self, **spec: Any) -> None:
        """Inject failures (keys as ``POST /_sandbox/faults``).

        API faults: ``route="POST /v1/checkout/sessions"`` (``*`` matches one path segment;
        ``"*"`` alone matches every /v1 route), ``error="500"|"429"|"drop"``, and either
        ``count=N`` (the next N matching calls) or ``rate=0.3`` (a seeded fraction; ``seed=S``).
        Latency: ``route=...`` with ``latency_ms=N`` (the median) and optionally ``latency_p99_ms=M``
        (a seeded log-normal) delays that route's answers by real wall time, without holding the lock.
        Webhook faults: ``webhook="delay"|"duplicate"|"reorder"|"drop"`` with ``count=N`` events
        (default 1; reorder needs N >= 2) and ``seconds=S`` for delay. ``clear=True`` removes all.
        """
        unknown = sorted(set(spec) - set(FAULTS))
        if unknown:
            raise EmulatorError(f"Received unknown parameter: {unknown[0]}", code="parameter_unknown", param=unknown[0])
        as_form = {k: (str(v).lower() if isinstance(v, bool) else str(v)) for k, v in spec.items()}
        self._wire.set_faults(**check_fields(FAULTS, (), as_form))

    def reset(self) -> None:
        """Forget every object, event, delivery and fault; the clock returns to ``start``."""
        self._wire.reset()

    @property
    def webhook_transport(self) -> Callable[[str, dict[str, str], bytes], int]:
        return self._backend.webhook_transport

    @webhook_transport.setter
    def webhook_transport(self, transport: Callable[[str, dict[str, str], bytes], int]) -> None:
        self._backend.webhook_transport = transport

    @property
    def deliveries(self) -> list[dict[str, Any]]:
        with self._backend.lock:
            return [dict(d) for d in self._backend.deliveries]

    def flush_webhooks(self) -> None:
        self._backend.flush_webhooks()

    # -- the HTTP door ---------------------------------------------------------------------
    def serve(self, host: str = "127.0.0.1", port: int = 0, *, deliver_in_background: bool = True) -> ServerHandle:
        """Serve this emulator over HTTP; URLs it hands out from now on point at the server.

        While served, webhook endpoints must be on loopback or a host given as ``allow_webhook_hosts`` (the
        emulator's own safety rule), and deliveries made due by ``/v1`` calls and pages run on a background
        thread (``deliverer.py``); ``advance``, ``flush_webhooks`` and the control API's pay still answer
        only once what they made due has been attempted. ``deliver_in_background=False`` keeps delivery
        inline, as in process (the flows harness walks a parent step by step over one in-memory database)."""
        handle = ServerHandle(self._wire, host, port, on_close=self._server_closed)
        self._backend.base_url = handle.base_url
        self._backend.restrict_webhook_hosts = True
        if deliver_in_background and self._backend.deliverer is None:
            self._backend.deliverer = BackgroundDeliverer(self._backend)
        self._servers.append(handle)
        return handle

    def _server_closed(self, handle: ServerHandle) -> None:
        if handle in self._servers:
            self._servers.remove(handle)
        if not self._servers and self._backend.deliverer is not None:
            deliverer, self._backend.deliverer = self._backend.deliverer, None
            deliverer.close()
