"""The HTTP door: the wire layer served by uvicorn (h11), with limits on every input.

The parsing of HTTP is uvicorn's and h11's; the limits a public-facing fake needs are
``blastpay.http_limits`` (uvicorn's public configuration, a protocol around uvicorn's own and an ASGI
layer): request heads (URL, each header, all headers, header count: 431 / 414), bodies (1 MB, counted
as chunks arrive whether or not a ``Content-Length`` was sent: 413), a head deadline (``HEAD_TIMEOUT``
from the connection or the previous answer: 408) and body deadlines (a pause over
``BODY_IDLE_TIMEOUT`` or a body taking over ``BODY_TIMEOUT``: 400). Every refusal is a Stripe-shaped
JSON error (``{"error": {"type": "invalid_request_error", ...}}``) and closes the connection.

The backend runs on a thread pool, so the event loop never waits for it; webhooks the call made due
are delivered by the backend's background deliverer after the answer (``delivery.py``). An injected
latency fault (``POST /_sandbox/faults latency_ms=N``) is an ``asyncio.sleep`` after the backend has
answered, so it delays only that response; the request's Idempotency-Key stays in flight until the
sleep ends (``Response.release``).
"""
from __future__ import annotations

import argparse
import asyncio
import gc
import json
import logging
import signal
import socket
import sys
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import uvicorn

from blastpay.emulator.wire import ConnectionDropped
from blastpay.http_limits import Limits, uvicorn_config

log = logging.getLogger("blastpay.emulator")

MAX_BODY = 1_000_000
MAX_URL = 16_384
MAX_HEADER = 16_384  # one header line (name and value)
MAX_HEAD = 65_536  # the whole request head
MAX_HEADERS = 100
HEAD_TIMEOUT = 10.0
BODY_IDLE_TIMEOUT = 0.5
BODY_TIMEOUT = 10.0
KEEP_ALIVE = 5
CONCURRENCY = 1000  # connections at once; uvicorn answers 503 beyond
WORKERS = 32
LIMITS = Limits(max_body=MAX_BODY, max_url=MAX_URL, max_header=MAX_HEADER, max_head=MAX_HEAD,
                max_headers=MAX_HEADERS, head_timeout=HEAD_TIMEOUT, body_idle_timeout=BODY_IDLE_TIMEOUT,
                body_timeout=BODY_TIMEOUT, keep_alive=KEEP_ALIVE, concurrency=CONCURRENCY)


def stripe_refusal(status: int, message: str) -> tuple[list[tuple[bytes, bytes]], bytes]:
    """The door's refusal: a Stripe-shaped JSON error that the SDK raises as InvalidRequestError."""
    error_type = "api_error" if status >= 500 else "invalid_request_error"
    body = json.dumps({"error": {"type": error_type, "message": message}}).encode()
    return [(b"content-type", b"application/json"), (b"stripe-should-retry", b"false")], body


class _App:
    """The ASGI application: run the wire on a thread with the whole body, answer."""

    def __init__(self, wire: Any, workers: int = WORKERS) -> None:
        self.wire = wire
        self.pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="stripe-emulator")

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        loop = asyncio.get_running_loop()
        body = (await receive()).get("body", b"")  # the whole body: http_limits.Guard has read it
        headers = {name.decode("latin-1"): value.decode("latin-1") for name, value in scope["headers"]}
        path = scope["raw_path"].decode("latin-1")
        query = scope["query_string"].decode("latin-1")
        future = loop.run_in_executor(self.pool, self.wire.handle, scope["method"], path, query, headers, body)
        try:
            response = await asyncio.shield(future)
        except ConnectionDropped:
            connection = scope.get("blastpay.connection")
            if connection is not None:
                await connection.drop()  # the injected fault: close without answering
            return
        except asyncio.CancelledError:  # the server is stopping: the call still ends, and frees its key
            future.add_done_callback(_release_when_done)
            raise
        except Exception as exc:  # a bug in the emulator: still a Stripe-shaped answer, logged in one line
            log.error("%s %s failed: %s: %s", scope["method"], path[:200], type(exc).__name__, exc)
            out, body_out = stripe_refusal(500, "An unknown error occurred in the Stripe emulator.")
            await send({"type": "http.response.start", "status": 500,
                        "headers": out + [(b"content-length", str(len(body_out)).encode())]})
            await send({"type": "http.response.body", "body": body_out})
            return
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

    def __init__(self, wire: Any, host: str, port: int, on_close: Any = None) -> None:
        self._on_close = on_close
        self._sock = _bind(host, port)
        bound_host, bound_port = self._sock.getsockname()[:2]
        shown = f"[{bound_host}]" if ":" in str(bound_host) else bound_host
        self.base_url = f"http://{shown}:{bound_port}"
        self.port = bound_port
        self._app = _App(wire)
        # on close, a connection a client still holds open (an idle keep-alive, a stalled body) gets a second to
        # finish, then is cut: a graceful shutdown would otherwise wait for the client to let go
        config = uvicorn_config(self._app, LIMITS, stripe_refusal, access_log=False, server_header=False,
                                date_header=False, timeout_graceful_shutdown=1)
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
        on_close, self._on_close = self._on_close, None
        if on_close is not None:
            on_close(self)

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
    """``blastpay sandbox serve --host 127.0.0.1 --port N [--seed S] [--start UNIX] [--allow-webhook-host NAME]``."""
    from blastpay.emulator import Emulator

    parser = argparse.ArgumentParser(prog="blastpay sandbox serve", description="Serve the Stripe emulator over HTTP.")
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1, loopback only)")
    parser.add_argument("--port", type=int, default=0, help="port to bind; 0 picks a free one")
    parser.add_argument("--seed", type=int, default=0, help="seed for generated ids")
    parser.add_argument("--start", type=int, default=1_767_225_600, help="simulated start time, unix seconds")
    parser.add_argument("--allow-webhook-host", action="append", default=[], metavar="NAME",
                        help="a host name webhook endpoints may point at besides loopback (repeatable)")
    args = parser.parse_args(argv)
    if not 0 <= args.port <= 65535:
        print(f"error: --port must be 0..65535, got {args.port}", file=sys.stderr)
        return 2
    try:
        emulator = Emulator(seed=args.seed, start=args.start, allow_webhook_hosts=args.allow_webhook_host)
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
