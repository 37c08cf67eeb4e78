"""Security and caching headers on every answer of the lazy-mint app.

The pages carry an order's token in their URL and hold no script, style, image or form of their own, so
the policy allows nothing: no framing (``frame-ancestors 'none'`` and ``X-Frame-Options: DENY`` for older
browsers), no content type sniffing, no ``Referer`` carrying the token to the next site, and no cache
keeping a page that says "paid" or "try again" (``Cache-Control: no-store``)."""

from __future__ import annotations

from typing import Any

CONTENT_SECURITY_POLICY = "default-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
HEADERS: tuple[tuple[bytes, bytes], ...] = (
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"content-security-policy", CONTENT_SECURITY_POLICY.encode()),
    (b"referrer-policy", b"no-referrer"),
    (b"cache-control", b"no-store"),
)
_NAMES = {name for name, _ in HEADERS}


class PageHeaders:
    """ASGI middleware: every response gets ``HEADERS``, replacing any the route set for the same names."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def with_headers(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                kept = [(n, v) for n, v in message.get("headers", []) if n.lower() not in _NAMES]
                message = dict(message, headers=kept + list(HEADERS))
            await send(message)

        await self.app(scope, receive, with_headers)
