"""The HTTP door: the same wire layer served on loopback by a threading HTTP server."""
from __future__ import annotations

import argparse
import gc
import signal
import sys
import threading
import json
import socketserver
from http import HTTPStatus
from typing import Any
from urllib.parse import urlsplit

from .wire import ConnectionDropped, Wire

MAX_BODY = 1_000_000
MAX_LINE = 65536
MAX_HEADERS = 100


class _Handler(socketserver.StreamRequestHandler):
    """A small HTTP/1.1 keep-alive handler: request line, headers, Content-Length body.

    ``http.server`` parses headers with the email package, which costs more than the
    emulator's own work per call; this reads them directly.
    """

    disable_nagle_algorithm = True
    wire: Wire

    def handle(self) -> None:
        while True:
            line = self.rfile.readline(MAX_LINE + 1)
            if not line:
                return
            if line in (b"\r\n", b"\n"):
                continue
            parts = line.decode("latin-1").split()
            if len(parts) != 3 or not parts[2].startswith("HTTP/1.") or len(line) > MAX_LINE:
                self._send(400, _bad("Malformed HTTP request line."), {"Content-Type": "application/json"}, close=True)
                return
            method, target, version = parts
            headers: dict[str, str] = {}
            for _ in range(MAX_HEADERS + 1):
                raw = self.rfile.readline(MAX_LINE + 1)
                if raw in (b"\r\n", b"\n", b""):
                    break
                name, sep, value = raw.decode("latin-1").partition(":")
                if not sep:
                    self._send(400, _bad("Malformed HTTP header."), {"Content-Type": "application/json"}, close=True)
                    return
                headers[name.strip()] = value.strip()
            else:
                self._send(400, _bad("Too many HTTP headers."), {"Content-Type": "application/json"}, close=True)
                return
            lowered = {k.lower(): v for k, v in headers.items()}
            if "chunked" in lowered.get("transfer-encoding", "").lower():
                self._send(411, _bad("Send a Content-Length; chunked bodies are not supported."),
                           {"Content-Type": "application/json"}, close=True)
                return
            try:
                length = int(lowered.get("content-length", "0"))
            except ValueError:
                length = -1
            if length < 0 or length > MAX_BODY:
                self._send(400, _bad("Invalid or too large Content-Length."), {"Content-Type": "application/json"},
                           close=True)
                return
            body = self.rfile.read(length) if length else b""
            close = lowered.get("connection", "").lower() == "close" or (
                version == "HTTP/1.0" and lowered.get("connection", "").lower() != "keep-alive"
            )
            parsed = urlsplit(target)
            try:
                response = self.wire.handle(method, parsed.path, parsed.query, headers, body)
            except ConnectionDropped:
                return  # the injected fault: close without answering
            self._send(response.status, response.body, response.headers, close)
            if close:
                return

    def _send(self, status: int, body: bytes, headers: dict[str, str], close: bool = False) -> None:
        lines = [f"HTTP/1.1 {status} {_REASONS.get(status, 'Status')}", f"Content-Length: {len(body)}"]
        lines += [f"{name}: {value}" for name, value in headers.items()]
        if close:
            lines.append("Connection: close")
        self.wfile.write(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body)


def _bad(message: str) -> bytes:
    return json.dumps({"error": {"type": "invalid_request_error", "message": message}}).encode()


_REASONS = {s.value: s.phrase for s in HTTPStatus}


class _Server(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True
    block_on_close = False


class ServerHandle:
    """A running loopback server. ``base_url``; ``close()``; usable as a context manager."""

    def __init__(self, wire: Wire, host: str, port: int) -> None:
        handler = type("Handler", (_Handler,), {"wire": wire})
        self._server = _Server((host, port), handler)
        bound_host, bound_port = self._server.server_address[:2]
        shown = f"[{bound_host}]" if ":" in str(bound_host) else bound_host
        self.base_url = f"http://{shown}:{bound_port}"
        self.port = bound_port
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.05,), name="stripe-emulator", daemon=True)
        self._thread.start()

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

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
    from . import Emulator

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
