"""The HTTP door: the wire layer served by uvicorn (httptools parser), with limits on every input.

The parsing of HTTP is uvicorn's and httptools' (llhttp); this module only adds what a
public-facing fake needs and uvicorn leaves to the application:

- limits on the request head (URL, each header, all headers, header count): 431 / 414;
- a limit on the body (``Content-Length`` or the bytes received): 413;
- time limits: a head must arrive within ``HEAD_TIMEOUT`` seconds of the connection (or of the
  previous response), and the body may pause for at most ``BODY_IDLE_TIMEOUT`` between chunks and
  take at most ``BODY_TIMEOUT`` in all: 408;

every refusal is a Stripe-shaped JSON error (``{"error": {"type": "invalid_request_error", ...}}``)
and closes the connection. The backend runs on a thread pool (a webhook delivery made during a
call may call back into this server), so the event loop never waits for it; an injected latency
fault (``POST /_sandbox/faults latency_ms=N``) is an ``asyncio.sleep`` after the backend has
answered, so it delays only that response; the request's Idempotency-Key stays in flight until the
sleep ends (``Response.release``).
"""
from __future__ import annotations

import argparse
import asyncio
import gc
import json
import signal
import socket
import sys
import threading
from concurrent.futures import ThreadPoolExecutor
from http import HTTPStatus
from typing import Any

import httptools
import uvicorn
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from blastpay.emulator.wire import ConnectionDropped

MAX_BODY = 1_000_000
MAX_URL = 16_384
MAX_HEADER = 16_384  # one header line (name and value)
MAX_HEAD = 65_536  # the whole request head
MAX_HEADERS = 100
HEAD_TIMEOUT = 10.0
BODY_IDLE_TIMEOUT = 0.5
BODY_TIMEOUT = 10.0
KEEP_ALIVE = 5
WORKERS = 32

_REASONS = {s.value: s.phrase for s in HTTPStatus}


def refusal(status: int, message: str) -> bytes:
    """A complete HTTP response carrying a Stripe-shaped error; the connection closes after it."""
    body = json.dumps({"error": {"type": "invalid_request_error", "message": message}}).encode()
    head = (
        f"HTTP/1.1 {status} {_REASONS.get(status, 'Error')}\r\ncontent-type: application/json\r\n"
        f"content-length: {len(body)}\r\nstripe-should-retry: false\r\nconnection: close\r\n\r\n"
    )
    return head.encode("latin-1") + body


class _Refused(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status, self.message = status, message


class EmulatorProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol with size and time limits that answer in Stripe's error shape."""

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        sock = transport.get_extra_info("socket")
        if sock is not None and sock.family in (socket.AF_INET, socket.AF_INET6):
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)  # head and body leave as two writes
        self._head_timer: asyncio.TimerHandle | None = None
        self._refused: _Refused | None = None
        self._head_bytes = 0
        self._arm_head_timer()

    def _arm_head_timer(self) -> None:
        self._cancel_head_timer()
        self._head_timer = self.loop.call_later(HEAD_TIMEOUT, self._refuse_now, 408,
                                                "The request head did not arrive in time.")

    def _cancel_head_timer(self) -> None:
        timer = getattr(self, "_head_timer", None)
        if timer is not None:
            timer.cancel()
            self._head_timer = None

    def _refuse_now(self, status: int, message: str) -> None:
        if not self.transport.is_closing():
            self.transport.write(refusal(status, message))
            self.transport.close()

    def connection_lost(self, exc: Exception | None) -> None:
        self._cancel_head_timer()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        self._unset_keepalive_if_required()
        try:
            self.parser.feed_data(data)
        except _Refused as refused:  # raised outside a parser callback (never by httptools itself)
            self._refuse_now(refused.status, refused.message)
        except httptools.HttpParserUpgrade:
            self._refuse_now(400, "Protocol upgrades are not supported.")
        except httptools.HttpParserError:
            refused = self._refused
            self._refused = None
            if refused is None:
                self._refuse_now(400, "Malformed HTTP request.")
            else:
                self._refuse_now(refused.status, refused.message)

    def _refuse(self, status: int, message: str) -> None:
        self._refused = _Refused(status, message)
        raise self._refused

    # parser callbacks ------------------------------------------------------------------
    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._head_bytes = 0
        self.scope["blastpay.protocol"] = self  # type: ignore[typeddict-unknown-key]

    def on_url(self, url: bytes) -> None:
        if len(self.url) + len(url) > MAX_URL:
            self._refuse(414, f"The request URL is longer than {MAX_URL} bytes.")
        self._head_bytes += len(url)
        super().on_url(url)

    def on_header(self, name: bytes, value: bytes) -> None:
        size = len(name) + len(value)
        self._head_bytes += size + 4
        if size > MAX_HEADER:
            self._refuse(431, f"A request header is longer than {MAX_HEADER} bytes.")
        if self._head_bytes > MAX_HEAD:
            self._refuse(431, f"The request headers are longer than {MAX_HEAD} bytes in all.")
        if len(self.headers) >= MAX_HEADERS:
            self._refuse(431, f"The request has more than {MAX_HEADERS} headers.")
        super().on_header(name, value)

    def on_headers_complete(self) -> None:
        self._cancel_head_timer()
        length = None
        for name, value in self.headers:
            if name == b"content-length":
                try:
                    length = int(value)
                except ValueError:
                    self._refuse(400, "Invalid Content-Length.")
        if length is not None and length > MAX_BODY:
            self._refuse(413, f"The request body is larger than {MAX_BODY} bytes.")
        super().on_headers_complete()

    def on_body(self, body: bytes) -> None:
        if self.cycle is not None and len(self.cycle.body) + len(body) > MAX_BODY:
            self._refuse(413, f"The request body is larger than {MAX_BODY} bytes.")
        super().on_body(body)

    def on_response_complete(self) -> None:
        super().on_response_complete()
        if not self.transport.is_closing():
            self._arm_head_timer()


class _App:
    """The ASGI application: read the body under time limits, run the wire on a thread, answer."""

    def __init__(self, wire: Any, workers: int = WORKERS) -> None:
        self.wire = wire
        self.pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="stripe-emulator")

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        loop = asyncio.get_running_loop()
        try:
            body = await self._body(receive, loop)
        except _Refused as refused:
            self._drop(scope, refusal(refused.status, refused.message))
            return
        headers = {name.decode("latin-1"): value.decode("latin-1") for name, value in scope["headers"]}
        path = scope["raw_path"].decode("latin-1")
        query = scope["query_string"].decode("latin-1")
        future = loop.run_in_executor(self.pool, self.wire.handle, scope["method"], path, query, headers, body)
        try:
            response = await asyncio.shield(future)
        except ConnectionDropped:
            self._drop(scope, b"")  # the injected fault: close without answering
            return
        except asyncio.CancelledError:  # the server is stopping: the call still ends, and frees its key
            future.add_done_callback(_release_when_done)
            raise
        try:
            delay = getattr(response, "delay", 0.0)
            if delay > 0:
                await asyncio.sleep(delay)
        finally:
            response.release()  # before the answer is sent: a replay sent on receipt finds the key free
        out = [(b"content-length", str(len(response.body)).encode())]
        out += [(name.lower().encode("latin-1"), value.encode("latin-1")) for name, value in response.headers.items()]
        await send({"type": "http.response.start", "status": response.status, "headers": out})
        await send({"type": "http.response.body", "body": response.body})

    async def _body(self, receive: Any, loop: asyncio.AbstractEventLoop) -> bytes:
        chunks: list[bytes] = []
        deadline = loop.time() + BODY_TIMEOUT
        while True:
            wait = min(BODY_IDLE_TIMEOUT, deadline - loop.time())
            try:
                message = await asyncio.wait_for(receive(), timeout=max(wait, 0.0))
            except TimeoutError:
                raise _Refused(400, "The request body did not arrive in time (is Content-Length larger than the "
                                    "body?).") from None
            if message["type"] == "http.disconnect":
                raise _Refused(400, "The client closed the connection before sending the whole body.")
            chunks.append(message.get("body", b""))
            if not message.get("more_body", False):
                return b"".join(chunks)

    @staticmethod
    def _drop(scope: Any, answer: bytes) -> None:
        protocol = scope.get("blastpay.protocol")
        if protocol is None:
            return
        if protocol.cycle is not None:
            protocol.cycle.disconnected = True  # tell uvicorn not to add its own 500
        if answer:
            protocol.transport.write(answer)
        protocol.transport.close()


def _release_when_done(future: "asyncio.Future[Any]") -> None:
    if not future.cancelled() and future.exception() is None:
        future.result().release()


def _bind(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError:
        sock.close()
        raise
    sock.set_inheritable(True)
    return sock


class ServerHandle:
    """A running server (uvicorn on its own thread). ``base_url``; ``close()``; a context manager."""

    def __init__(self, wire: Any, host: str, port: int) -> None:
        self._sock = _bind(host, port)
        bound_host, bound_port = self._sock.getsockname()[:2]
        shown = f"[{bound_host}]" if ":" in str(bound_host) else bound_host
        self.base_url = f"http://{shown}:{bound_port}"
        self.port = bound_port
        self._app = _App(wire)
        config = uvicorn.Config(self._app, http=EmulatorProtocol, lifespan="off", log_level="warning",
                                access_log=False, timeout_keep_alive=KEEP_ALIVE, server_header=False, date_header=False)
        self._server = uvicorn.Server(config)
        self._failed: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="stripe-emulator", daemon=True)
        self._thread.start()
        while not self._server.started and self._thread.is_alive():
            self._thread.join(0.01)
        if not self._server.started:
            raise OSError(f"the emulator's server did not start: {self._failed!r}")

    def _run(self) -> None:
        try:
            asyncio.run(self._server.serve(sockets=[self._sock]))
        except BaseException as exc:  # noqa: BLE001 - reported by __init__ / close
            self._failed = exc

    def close(self) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=10)
        self._app.pool.shutdown(wait=False, cancel_futures=True)
        self._sock.close()

    def __enter__(self) -> "ServerHandle":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


FULL_COLLECTION_THRESHOLD = 1_000_000


def quiet_full_collections() -> None:
    """Stop the served process's automatic full garbage collections; young generations still run.

    The emulator keeps every object it creates for as long as it runs, as Stripe does, so a full
    collection scans an ever-growing heap and frees nothing: with a few thousand Checkout Sessions
    stored, one such pass held every connection for about 50 ms (``benchmarks/pay_route_load.py``
    showed it as bursts of slow requests). Only ``blastpay sandbox serve`` does this, never the
    library: an in-process emulator leaves its host's collector alone.
    """
    gc.collect()
    gc.freeze()
    young, middle, _ = gc.get_threshold()
    gc.set_threshold(young, middle, FULL_COLLECTION_THRESHOLD)


def serve_main(argv: list[str]) -> int:
    """``blastpay sandbox serve --host 127.0.0.1 --port N [--seed S] [--start UNIX]``."""
    from blastpay.emulator import Emulator

    parser = argparse.ArgumentParser(prog="blastpay sandbox serve", description="Serve the Stripe emulator over HTTP.")
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1, loopback only)")
    parser.add_argument("--port", type=int, default=0, help="port to bind; 0 picks a free one")
    parser.add_argument("--seed", type=int, default=0, help="seed for generated ids")
    parser.add_argument("--start", type=int, default=1_767_225_600, help="simulated start time, unix seconds")
    args = parser.parse_args(argv)
    if not 0 <= args.port <= 65535:
        print(f"error: --port must be 0..65535, got {args.port}", file=sys.stderr)
        return 2
    try:
        emulator = Emulator(seed=args.seed, start=args.start)
        handle = emulator.serve(args.host, args.port)
    except (OSError, ValueError) as exc:
        print(f"error: cannot serve on {args.host}:{args.port}: {exc}", file=sys.stderr)
        return 1
    quiet_full_collections()
    stop = threading.Event()

    def _stop(signum: int, frame: Any) -> None:
        stop.set()

    previous = {sig: signal.signal(sig, _stop) for sig in (signal.SIGINT, signal.SIGTERM)}
    print(handle.base_url, flush=True)
    try:
        while not stop.wait(0.5):
            pass
    finally:
        handle.close()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    return 0
