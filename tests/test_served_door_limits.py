"""The limits every served door has (``blastpay.http_limits``), over raw loopback sockets.

The emulator's door and the ``/pay`` app's door are the real ones (``Emulator.serve()`` and the uvicorn
configuration ``blastpay serve`` runs); the deadline tests use the same configuration with shorter
deadlines so they end quickly.
"""
from __future__ import annotations

import asyncio
import dataclasses
import json
import logging
import select
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
import uvicorn

from blastpay.emulator import Emulator
from blastpay.emulator.server import LIMITS as EMULATOR_LIMITS
from blastpay.emulator.server import stripe_refusal
from blastpay.flows.serve import PAY_LIMITS, plain_refusal
from blastpay.http_limits import Limits, uvicorn_config


async def _echo(scope: Any, receive: Any, send: Any) -> None:
    """A stand-in application: answers the size of the body it was given."""
    message = await receive()
    body = json.dumps({"received": len(message["body"])}).encode()
    await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"application/json"),
                                                                  (b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})


@contextmanager
def served(app: Any, limits: Limits, render: Any) -> Iterator[int]:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    server = uvicorn.Server(uvicorn_config(app, limits, render))
    thread = threading.Thread(target=lambda: asyncio.run(server.serve(sockets=[sock])), daemon=True)
    thread.start()
    while not server.started and thread.is_alive():
        thread.join(0.01)
    try:
        yield sock.getsockname()[1]
    finally:
        server.should_exit = True
        thread.join(10)
        sock.close()


@pytest.fixture(scope="module")
def emulator_port() -> Iterator[int]:
    with Emulator(seed=3).serve("127.0.0.1", 0) as handle:
        yield handle.port


@pytest.fixture(scope="module")
def pay_port() -> Iterator[int]:
    with served(_echo, PAY_LIMITS, plain_refusal) as port:
        yield port


def read_answer(sock: socket.socket) -> tuple[int, dict[str, str], bytes]:
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        if not chunk:
            break
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = {k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:])}
    while len(body) < int(headers.get("content-length", "0")):
        chunk = sock.recv(65536)
        if not chunk:
            break
        body += chunk
    status = int(lines[0].split()[1]) if lines[0].startswith("HTTP/") else 0
    return status, headers, body


def send_chunked(port: int, path: str, total: int, piece: int = 64 * 1024) -> tuple[int, bytes, int]:
    """POST ``total`` bytes with Transfer-Encoding: chunked, stopping when the server answers or closes.
    Returns the status, the body and how many body bytes were sent before that."""
    sent = 0
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(f"POST {path} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer sk_test_big\r\n"
                     "Content-Type: application/x-www-form-urlencoded\r\nTransfer-Encoding: chunked\r\n\r\n".encode())
        chunk = f"{piece:x}\r\n".encode() + b"a" * piece + b"\r\n"
        sock.settimeout(2)
        try:
            while sent < total:
                if select.select([sock], [], [], 0)[0]:
                    break  # the server has answered (or closed)
                sock.sendall(chunk)
                sent += piece
            else:
                sock.sendall(b"0\r\n\r\n")
        except (TimeoutError, BrokenPipeError, ConnectionResetError):
            pass  # the server stopped reading
        sock.settimeout(10)
        status, _, body = read_answer(sock)
    return status, body, sent


def test_a_chunked_body_over_the_emulators_limit_is_refused_while_it_arrives(emulator_port):
    status, body, sent = send_chunked(emulator_port, "/v1/customers", 20 * EMULATOR_LIMITS.max_body)
    assert status == 413
    assert json.loads(body)["error"]["type"] == "invalid_request_error"
    assert sent < 20 * EMULATOR_LIMITS.max_body  # answered before the whole body was sent


def test_a_chunked_body_over_the_pay_apps_limit_is_refused_while_it_arrives(pay_port):
    status, body, sent = send_chunked(pay_port, "/webhooks/stripe", 40 * PAY_LIMITS.max_body)
    assert status == 413
    assert b"larger than" in body
    assert sent < 40 * PAY_LIMITS.max_body


def test_a_body_under_the_limit_reaches_the_application_whole(pay_port):
    status, body, _ = send_chunked(pay_port, "/webhooks/stripe", 3 * 64 * 1024)
    assert status == 200
    assert json.loads(body) == {"received": 3 * 64 * 1024}


@pytest.mark.parametrize("limits, render", [(EMULATOR_LIMITS, stripe_refusal), (PAY_LIMITS, plain_refusal)],
                         ids=["emulator", "pay"])
def test_a_head_that_never_ends_is_cut_off(limits, render):
    quick = dataclasses.replace(limits, head_timeout=0.3)
    with served(_echo, quick, render) as port, socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        sock.sendall(b"GET /pay/x HTTP/1.1\r\nHost: x\r\nX-Slow: a")  # and nothing more
        status, headers, _ = read_answer(sock)
        assert status == 408
        assert headers["connection"] == "close"


@pytest.mark.parametrize("limits, render", [(EMULATOR_LIMITS, stripe_refusal), (PAY_LIMITS, plain_refusal)],
                         ids=["emulator", "pay"])
def test_a_body_that_stalls_is_cut_off(limits, render):
    quick = dataclasses.replace(limits, body_idle_timeout=0.2, body_timeout=1.0)
    with served(_echo, quick, render) as port, socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        sock.sendall(b"POST /webhooks/stripe HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\nab")
        status, _, body = read_answer(sock)
        assert status == 400
        assert b"did not arrive in time" in body


def test_a_client_that_leaves_mid_body_is_one_log_line(pay_port, caplog):
    with caplog.at_level(logging.WARNING):
        with socket.create_connection(("127.0.0.1", pay_port), timeout=5) as sock:
            sock.sendall(b"POST /webhooks/stripe HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\nabc")
        for _ in range(200):
            if any("closed the connection" in r.getMessage() for r in caplog.records):
                break
            threading.Event().wait(0.01)
    lines = [r for r in caplog.records if "closed the connection" in r.getMessage()]
    assert len(lines) == 1
    assert "\n" not in lines[0].getMessage() and lines[0].exc_info is None
    assert not [r for r in caplog.records if r.exc_info is not None or "Traceback" in r.getMessage()]


def test_the_pay_app_refuses_a_request_line_that_is_not_http(pay_port):
    with socket.create_connection(("127.0.0.1", pay_port), timeout=5) as sock:
        sock.sendall(b"\x00\x01 not http\r\n\r\n")
        status, headers, _ = read_answer(sock)
    assert status == 400
    assert headers["x-content-type-options"] == "nosniff"


def test_blastpay_serve_itself_refuses_a_chunked_body_over_its_limit(tmp_path):
    """The command as a user runs it (uvicorn's own event loop, the embedded emulator, the watched app)."""
    import subprocess
    import sys

    process = subprocess.Popen([sys.executable, "-m", "blastpay.cli", "serve", "--seed", "--port", "0",
                                "--database-url", f"sqlite:///{tmp_path / 'a.db'}"],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        line = process.stdout.readline()  # "serving http://127.0.0.1:PORT (stripe: ...)"
        assert line.startswith("serving http://127.0.0.1:"), line
        port = int(line.split()[1].rsplit(":", 1)[1])
        status, body, sent = send_chunked(port, "/webhooks/stripe", 40 * PAY_LIMITS.max_body)
        assert status == 413 and sent < 40 * PAY_LIMITS.max_body
    finally:
        process.terminate()
        _, err = process.communicate(timeout=30)
    assert "Traceback" not in err
