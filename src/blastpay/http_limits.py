"""Size and time limits for a served HTTP door, on uvicorn's public configuration.

Both served doors (the Stripe emulator's ``blastpay sandbox serve`` and the lazy-mint ``blastpay serve``)
run uvicorn with its h11 protocol and this module's limits. What uvicorn's configuration expresses is
set there (``uvicorn_config``): the largest request head h11 buffers (``h11_max_incomplete_event_size``),
the connections served at once (``limit_concurrency``, 503 beyond) and the idle time between requests
on a kept-alive connection (``timeout_keep_alive``). What it cannot express is added in two thin layers,
neither of which reaches into uvicorn's internals:

- ``Connection``, a protocol *around* uvicorn's h11 protocol (``Config(http=...)`` takes a protocol
  class; the wrapped one is the class ``--http h11`` names and is given uvicorn's own constructor
  arguments untouched). It forwards every byte and event, and while a request head is arriving it
  counts the head's bytes and reads its request line: a head that does not arrive within
  ``head_timeout`` (uvicorn has no such deadline: a connection that never finishes its head is held
  for ever), a request line that is not HTTP, or a head larger than the limits is refused in the door's
  error shape (``render``) and the connection closed.
- ``Guard``, an ASGI layer in front of the application: header count and size (431), URL length (414)
  and ``Content-Length`` (413) from the parsed head, then the body read before the application runs,
  counted as its chunks arrive (chunked or not; 413 as soon as it passes ``max_body``), with an idle
  deadline between chunks and an overall one (400). A client that disconnects mid-body is one log line.
  The application then receives the whole body in one ``http.request`` message.

Every refusal closes the connection.
"""
from __future__ import annotations

import asyncio
import logging
import re
import socket
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import uvicorn
from uvicorn.config import HTTP_PROTOCOLS
from uvicorn.importer import import_from_string

log = logging.getLogger("blastpay.http")

# (status, message) -> (headers, body) of the refusal; the door decides its shape
Render = Callable[[int, str], tuple[list[tuple[bytes, bytes]], bytes]]
_REQUEST_LINE = re.compile(rb"[A-Z]{1,20} [^\x00-\x20\x7f]+ HTTP/1\.[01]")


@dataclass(frozen=True)
class Limits:
    max_body: int  # bytes of request body, counted as they arrive
    max_url: int = 16_384  # the request target
    max_header: int = 16_384  # one header line (name and value)
    max_head: int = 65_536  # every header line together
    max_headers: int = 100
    head_timeout: float = 10.0  # from the connection (or the previous answer) to the end of the head
    body_idle_timeout: float = 0.5  # the longest pause between two pieces of the body
    body_timeout: float = 10.0  # the whole body
    keep_alive: int = 5  # idle seconds between requests on one connection (uvicorn's timeout_keep_alive)
    concurrency: int = 1000  # connections served at once (uvicorn's limit_concurrency)

    @property
    def max_head_total(self) -> int:
        """The request line and every header line: what ``Connection`` lets a head grow to."""
        return self.max_url + self.max_head + 1024


class Refused(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status, self.message = status, message


class Disconnected(Exception):
    """The client went away before the whole request had arrived."""


def response_bytes(status: int, headers: list[tuple[bytes, bytes]], body: bytes) -> bytes:
    from http import HTTPStatus

    try:
        reason = HTTPStatus(status).phrase
    except ValueError:
        reason = "Error"
    head = [f"HTTP/1.1 {status} {reason}".encode("latin-1")]
    head += [name + b": " + value for name, value in headers]
    head += [b"content-length: " + str(len(body)).encode(), b"connection: close"]
    return b"\r\n".join(head) + b"\r\n\r\n" + body


def _key(address: Any) -> tuple[str, int] | None:
    if isinstance(address, (tuple, list)) and len(address) >= 2:
        return str(address[0]), int(address[1])
    return None


class Connection(asyncio.Protocol):
    """One client connection: uvicorn's h11 protocol inside, the head's size and deadline checked around it.

    Made by ``connection_class``; ``registry`` maps the client's address to its connection so the ASGI
    layer can tell it when a request starts and ends (and the emulator can drop it)."""

    inner_class: Any
    limits: Limits
    render: Render
    registry: dict[tuple[str, int], "Connection"]

    def __init__(self, **uvicorn_arguments: Any) -> None:
        self.inner = self.inner_class(**uvicorn_arguments)
        self.transport: asyncio.Transport | None = None
        self.closed = asyncio.Event()
        self._timer: asyncio.TimerHandle | None = None
        self._key: tuple[str, int] | None = None
        self._refused = False
        self._awaiting_head = True
        self._head = bytearray()
        self._line_checked = False

    # -- asyncio.Protocol -------------------------------------------------------------------------
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]  # asyncio's or uvloop's, which is no subclass
        sock = transport.get_extra_info("socket")
        if sock is not None and sock.family in (socket.AF_INET, socket.AF_INET6):
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)  # head and body leave as two writes
        self._key = _key(transport.get_extra_info("peername"))
        if self._key is not None:
            self.registry[self._key] = self
        self._arm()
        self.inner.connection_made(transport)

    def data_received(self, data: bytes) -> None:
        if self._refused:
            return
        if self._awaiting_head:
            problem = self._scan(data)
            if problem is not None:
                self.refuse(*problem)
                return
        self.inner.data_received(data)

    def eof_received(self) -> bool | None:
        return self.inner.eof_received()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        if self._key is not None and self.registry.get(self._key) is self:
            del self.registry[self._key]
        self.closed.set()
        self.inner.connection_lost(exc)

    def pause_writing(self) -> None:
        self.inner.pause_writing()

    def resume_writing(self) -> None:
        self.inner.resume_writing()

    # -- what the ASGI layer tells it --------------------------------------------------------------
    def request_started(self) -> None:
        self._awaiting_head = False
        self._disarm()

    def request_finished(self) -> None:
        if self.transport is None or self.transport.is_closing():
            return
        self._awaiting_head, self._head, self._line_checked = True, bytearray(), False
        self._arm()

    def refuse(self, status: int, message: str) -> None:
        """Answer ``status`` in the door's shape (nothing else has been answered) and close."""
        self._refused = True
        self._disarm()
        if self.transport is not None and not self.transport.is_closing():
            headers, body = self.render(status, message)
            self.transport.write(response_bytes(status, headers, body))
            self.transport.close()

    async def drop(self) -> None:
        """Close without answering, and return once uvicorn has seen the connection go."""
        self._refused = True
        if self.transport is not None:
            self.transport.close()
        await self.closed.wait()

    # -- the head ------------------------------------------------------------------------------------
    def _scan(self, data: bytes) -> tuple[int, str] | None:
        limits = self.limits
        if not self._head:
            data = data.lstrip(b"\r\n")  # empty lines before a request line are allowed
        start = max(len(self._head) - 3, 0)
        self._head += data
        if not self._line_checked:
            newline = self._head.find(b"\n")
            if newline < 0:
                if len(self._head) > limits.max_url + 64:
                    return 414, f"The request URL is longer than {limits.max_url} bytes."
            else:
                line = bytes(self._head[:newline]).rstrip(b"\r")
                parts = line.split(b" ")
                if len(parts) == 3 and len(parts[1]) > limits.max_url:
                    return 414, f"The request URL is longer than {limits.max_url} bytes."
                if _REQUEST_LINE.fullmatch(line) is None:
                    return 400, "Malformed HTTP request."
                self._line_checked = True
        end = self._head.find(b"\r\n\r\n", start)
        if end < 0:
            if len(self._head) > limits.max_head_total:
                return 431, f"The request headers are longer than {limits.max_head} bytes in all."
            return None
        self._awaiting_head, self._head = False, bytearray()
        self._disarm()
        return None

    def _arm(self) -> None:
        self._disarm()
        loop = asyncio.get_running_loop()
        self._timer = loop.call_later(self.limits.head_timeout, self._head_late)

    def _disarm(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def _head_late(self) -> None:
        self._timer = None
        if self._awaiting_head:
            self.refuse(408, "The request head did not arrive in time.")


def connection_class(limits: Limits, render: Render) -> type[Connection]:
    """A ``Connection`` class for one server: uvicorn's h11 protocol inside, these limits around it."""
    inner = import_from_string(HTTP_PROTOCOLS["h11"])
    return type("GuardedH11Connection", (Connection,),
                {"inner_class": inner, "limits": limits, "render": staticmethod(render), "registry": {}})


ASGIApp = Callable[[Any, Any, Any], Awaitable[None]]


class Guard:
    """The ASGI layer: header and body limits, then the application with the whole body."""

    def __init__(self, app: ASGIApp, limits: Limits, render: Render,
                 connections: dict[tuple[str, int], Connection]) -> None:
        self.app, self.limits, self.render, self.connections = app, limits, render, connections

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        key = _key(scope.get("client"))
        connection = self.connections.get(key) if key is not None else None
        if connection is not None:
            connection.request_started()
        try:
            try:
                self._check_head(scope)
                body = await self._read_body(scope, receive)
            except Refused as refused:
                await self._refuse(send, refused.status, refused.message)
                return
            except Disconnected as gone:
                client = scope.get("client") or ("?", 0)
                log.warning("%s %s from %s:%s: %s", scope["method"], scope["path"][:200], client[0], client[1], gone)
                return
            delivered = False

            async def whole_body() -> dict[str, Any]:
                nonlocal delivered
                if not delivered:
                    delivered = True
                    return {"type": "http.request", "body": body, "more_body": False}
                return await receive()

            inner_scope = dict(scope)
            inner_scope["blastpay.connection"] = connection
            await self.app(inner_scope, whole_body, send)
        finally:
            if connection is not None:
                connection.request_finished()

    def _check_head(self, scope: Any) -> None:
        limits = self.limits
        if len(scope.get("raw_path", b"")) + len(scope.get("query_string", b"")) + 1 > limits.max_url:
            raise Refused(414, f"The request URL is longer than {limits.max_url} bytes.")
        headers = scope["headers"]
        if len(headers) > limits.max_headers:
            raise Refused(431, f"The request has more than {limits.max_headers} headers.")
        total = 0
        for name, value in headers:
            size = len(name) + len(value)
            if size > limits.max_header:
                raise Refused(431, f"A request header is longer than {limits.max_header} bytes.")
            total += size + 4
        if total > limits.max_head:
            raise Refused(431, f"The request headers are longer than {limits.max_head} bytes in all.")
        for name, value in headers:
            if name == b"content-length" and int(value) > limits.max_body:  # h11 has checked it is a number
                raise Refused(413, f"The request body is larger than {limits.max_body} bytes.")

    async def _read_body(self, scope: Any, receive: Any) -> bytes:
        limits = self.limits
        loop = asyncio.get_running_loop()
        deadline = loop.time() + limits.body_timeout
        chunks: list[bytes] = []
        size = 0
        while True:
            wait = min(limits.body_idle_timeout, deadline - loop.time())
            try:
                message = await asyncio.wait_for(receive(), timeout=max(wait, 0.0))
            except TimeoutError:
                raise Refused(400, "The request body did not arrive in time (is Content-Length larger than the "
                                   "body?).") from None
            if message["type"] == "http.disconnect":
                raise Disconnected(f"the client closed the connection after {size} bytes of the request body")
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > limits.max_body:
                raise Refused(413, f"The request body is larger than {limits.max_body} bytes.")
            chunks.append(chunk)
            if not message.get("more_body", False):
                return b"".join(chunks)

    async def _refuse(self, send: Any, status: int, message: str) -> None:
        headers, body = self.render(status, message)
        out = list(headers) + [(b"content-length", str(len(body)).encode()), (b"connection", b"close")]
        await send({"type": "http.response.start", "status": status, "headers": out})
        await send({"type": "http.response.body", "body": body})


def uvicorn_config(app: ASGIApp, limits: Limits, render: Render, **options: Any) -> uvicorn.Config:
    """A ``uvicorn.Config`` serving ``app`` behind ``Guard`` over ``Connection``, with these limits."""
    protocol = connection_class(limits, render)
    options.setdefault("log_level", "warning")
    options.setdefault("lifespan", "off")
    options.setdefault("proxy_headers", False)  # served directly: a client's X-Forwarded-For is not believed
    return uvicorn.Config(Guard(app, limits, render, protocol.registry), http=protocol,
                          h11_max_incomplete_event_size=limits.max_head_total + 4096,
                          limit_concurrency=limits.concurrency, timeout_keep_alive=limits.keep_alive, **options)
