"""The in-process door: a ``stripe.HTTPClient`` that hands requests to the wire layer, no sockets."""
from __future__ import annotations

import time
from typing import Any, Mapping, Optional
from urllib.parse import urlsplit

import stripe
from requests.structures import CaseInsensitiveDict

from blastpay.emulator.wire import ConnectionDropped, Wire


class InProcessHTTPClient(stripe.HTTPClient):
    name = "blastpay-emulator"

    def __init__(self, wire: Wire) -> None:
        super().__init__()
        self._wire = wire

    def request(
        self,
        method: str,
        url: str,
        headers: Optional[Mapping[str, str]],
        post_data: Any = None,
        *,
        _usage: Optional[list[str]] = None,
    ) -> tuple[bytes, int, Mapping[str, str]]:
        parts = urlsplit(url)
        try:
            response = self._wire.handle(method, parts.path, parts.query, dict(headers or {}), post_data)
        except ConnectionDropped as exc:
            raise stripe.APIConnectionError(
                f"Unexpected error communicating with Stripe (connection dropped by injected fault: {exc}).",
                should_retry=True,
            ) from None
        try:
            if response.delay > 0:
                time.sleep(response.delay)  # injected latency: this caller waits, the backend's lock is already free
        finally:
            response.release()  # the answer leaves: its Idempotency-Key is no longer in flight
        return response.body, response.status, CaseInsensitiveDict(response.headers)

    def request_stream(self, method, url, headers, post_data=None, *, _usage=None):  # type: ignore[override]
        body, status, headers_out = self.request(method, url, headers, post_data, _usage=_usage)
        import io

        return io.BytesIO(body), status, headers_out

    def close(self) -> None:
        pass
