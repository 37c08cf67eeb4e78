"""An SDK HTTP client that records every request and response it carries, redacted.

It wraps the SDK's own default client (or any ``stripe.HTTPClient``), so the calls go
over the same code path whether they reach Stripe or the emulator. Each exchange is
labelled with the probe step that made it.
"""
from __future__ import annotations

import json
from contextlib import contextmanager
from typing import Any, Iterator, Mapping, Optional, Tuple
from urllib.parse import parse_qsl, urlsplit

import stripe

from blastpay.live.redaction import redact


def _decode_params(query: str) -> dict[str, str]:
    return dict(parse_qsl(query, keep_blank_values=True))


def _parse_body(body: Any) -> Any:
    text = body.decode("utf-8", "replace") if isinstance(body, (bytes, bytearray)) else str(body)
    try:
        return json.loads(text)
    except ValueError:
        return {"unparsed_body": text[:2000]}


class RecordingHTTPClient(stripe.HTTPClient):
    """Delegates to ``inner`` and appends ``{step, request, response}`` to ``exchanges``."""

    name = "blastpay-recording"

    def __init__(self, inner: stripe.HTTPClient, secrets: tuple[str, ...] = ()) -> None:
        super().__init__()
        self.inner = inner
        self.secrets = secrets
        self.exchanges: list[dict[str, Any]] = []
        self.current_step = "unlabelled"

    @contextmanager
    def step(self, label: str) -> Iterator[None]:
        previous, self.current_step = self.current_step, label
        try:
            yield
        finally:
            self.current_step = previous

    def request(
        self,
        method: str,
        url: str,
        headers: Optional[Mapping[str, str]],
        post_data: Any = None,
        *,
        _usage: Any = None,
    ) -> Tuple[Any, int, Mapping[str, str]]:
        parts = urlsplit(url)
        params = _decode_params(parts.query)
        if post_data:
            raw = post_data.decode("utf-8") if isinstance(post_data, (bytes, bytearray)) else str(post_data)
            params.update(_decode_params(raw))
        body, status, response_headers = self.inner.request(method, url, headers, post_data)
        self.exchanges.append(
            {
                "step": self.current_step,
                "request": {"method": method.upper(), "path": parts.path, "params": redact(params, self.secrets)},
                "response": {"status": status, "body": redact(_parse_body(body), self.secrets)},
            }
        )
        return body, status, response_headers

    def close(self) -> None:
        self.inner.close()
