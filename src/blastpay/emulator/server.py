"""The HTTP door: the same wire layer served on loopback by a threading HTTP server."""
from __future__ import annotations

import argparse
import signal
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

from .wire import ConnectionDropped, Wire

MAX_BODY = 1_000_000


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True
    server_version = "blastpay-stripe-emulator"
    wire: Wire

    def log_message(self, format: str, *args: Any) -> None:  # quiet by default
        pass

    def _serve(self) -> None:
        length_text = self.headers.get("Content-Length") or "0"
        try:
            length = int(length_text)
        except ValueError:
            length = -1
        if length < 0 or length > MAX_BODY:
            self._send(400, b'{"error": {"type": "invalid_request_error", "message": "Invalid or too large Content-Length."}}',
                       {"Content-Type": "application/json"})
            self.close_connection = True
            return
        body = self.rfile.read(length) if length else b""
        parts = urlsplit(self.path)
        try:
            response = self.wire.handle(self.command, parts.path, parts.query, dict(self.headers.items()), body)
        except ConnectionDropped:
            self.close_connection = True
            return
        self._send(response.status, response.body, response.headers)

    def _send(self, status: int, body: bytes, headers: dict[str, str]) -> None:
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self._headers_buffer.append(b"\r\n" + body)  # headers and body in one write
        self.flush_headers()

    do_GET = do_POST = do_DELETE = do_PUT = do_PATCH = _serve


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True


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
