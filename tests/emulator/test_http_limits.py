"""Hostile requests against the served emulator: each gets a Stripe-shaped refusal within a second.

Raw sockets on 127.0.0.1 with bounded timeouts; the server is the real ``Emulator.serve()``.
"""
from __future__ import annotations

import json
import socket
import time
from typing import Any, Iterator

import pytest

from blastpay.emulator import Emulator

AUTH = b"Authorization: Bearer sk_test_hostile\r\n"


@pytest.fixture(scope="module")
def served() -> Iterator[Any]:
    emu = Emulator(seed=5)
    with emu.serve("127.0.0.1", 0) as handle:
        yield handle


def exchange(port: int, request: bytes, timeout: float = 3.0) -> tuple[int, dict[str, str], bytes, float]:
    """Send ``request`` raw; read one response. Returns status, headers, body and seconds taken."""
    started = time.monotonic()
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        try:
            sock.sendall(request)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the server may refuse and close before it has read everything we send
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = sock.recv(65536)
            if not chunk:
                break
            data += chunk
        head, _, body = data.partition(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        headers = {k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:])}
        length = int(headers.get("content-length", "0"))
        while len(body) < length:
            chunk = sock.recv(65536)
            if not chunk:
                break
            body += chunk
    elapsed = time.monotonic() - started
    status = int(lines[0].split()[1]) if lines and lines[0].startswith("HTTP/") else 0
    return status, headers, body, elapsed


def stripe_error(body: bytes) -> dict[str, Any]:
    error = json.loads(body)["error"]
    assert error["type"] == "invalid_request_error"
    assert isinstance(error["message"], str) and error["message"]
    return error


def post(path: str, body: bytes, extra: bytes = b"") -> bytes:
    return (f"POST {path} HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\n"
            f"Content-Length: {len(body)}\r\n").encode() + AUTH + extra + b"\r\n" + body


def test_a_header_line_over_64_kib_cannot_smuggle_an_authorization(served):
    pad = b"a" * (65536 - len(b"X-Pad: "))
    request = b"GET /v1/customers HTTP/1.1\r\nHost: x\r\nX-Pad: " + pad + b"Authorization: Bearer sk_test_x\r\n\r\n"
    status, _, body, elapsed = exchange(served.port, request)
    assert status == 431
    assert "header" in stripe_error(body)["message"]
    assert elapsed < 1.0


def test_the_same_smuggled_key_on_its_own_line_is_authenticated(served):
    """The control case: the probe above fails because of the long line, not because of the key."""
    status, _, _, _ = exchange(served.port, b"GET /v1/customers HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer sk_test_x\r\n"
                                            b"Connection: close\r\n\r\n")
    assert status == 200


@pytest.mark.parametrize("param", ["limit", "unit_amount", "expires_at", "quantity"])
def test_a_parameter_nested_1000_levels_deep_is_a_short_400(served, param):
    key = param + "[a]" * 1000
    request = post("/v1/prices", f"{key}=1".encode(), b"Connection: close\r\n")
    status, _, body, elapsed = exchange(served.port, request)
    assert status == 400
    error = stripe_error(body)
    assert "nested" in error["message"]
    assert error["param"] == param
    assert len(body) < 1000
    assert elapsed < 1.0


def test_a_parameter_nested_300_levels_deep_in_a_query_is_a_short_400(served):
    request = ("GET /v1/customers?" + "limit" + "[a]" * 300 + "=1 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n").encode()
    status, _, body, elapsed = exchange(served.port, request + AUTH + b"\r\n")
    assert status == 400
    assert "{" not in stripe_error(body)["message"]  # no dump of a Python dict
    assert elapsed < 1.0


def test_content_length_larger_than_the_body_is_refused_within_a_second(served):
    request = (b"POST /v1/customers HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\n"
               b"Content-Length: 100\r\n" + AUTH + b"\r\nemail=a%40b.c")
    status, headers, body, elapsed = exchange(served.port, request)
    assert status == 400
    assert "Content-Length" in stripe_error(body)["message"]
    assert headers.get("connection") == "close"
    assert elapsed < 1.0


def test_percent_ff_in_a_body_is_refused_not_stored_as_a_replacement_character(served):
    status, _, body, elapsed = exchange(served.port, post("/v1/customers", b"name=%FF", b"Connection: close\r\n"))
    assert status == 400
    assert "UTF-8" in stripe_error(body)["message"]
    assert elapsed < 1.0


def test_raw_invalid_utf8_in_a_body_is_refused(served):
    status, _, body, _ = exchange(served.port, post("/v1/customers", b"name=\xff", b"Connection: close\r\n"))
    assert status == 400
    assert "UTF-8" in stripe_error(body)["message"]


def test_a_one_megabyte_unknown_parameter_name_is_refused_without_echoing_it(served):
    name = b"x" * 1_000_000
    status, _, body, elapsed = exchange(served.port, post("/v1/customers", name + b"=1", b"Connection: close\r\n"))
    assert status in (400, 413)
    stripe_error(body)
    assert len(body) < 2000
    assert elapsed < 1.0


def test_a_long_unknown_parameter_name_under_the_body_limit_is_shown_shortened(served):
    name = b"y" * 900
    status, _, body, _ = exchange(served.port, post("/v1/customers", name + b"=1", b"Connection: close\r\n"))
    assert status == 400
    error = stripe_error(body)
    assert error["code"] == "parameter_unknown"
    assert len(body) < 1000


def test_a_body_over_the_limit_is_413(served):
    request = (b"POST /v1/customers HTTP/1.1\r\nHost: x\r\nContent-Length: 5000000\r\n" + AUTH + b"\r\n")
    status, _, body, elapsed = exchange(served.port, request)
    assert status == 413
    stripe_error(body)
    assert elapsed < 1.0


def test_too_many_headers_is_431(served):
    many = b"".join(f"X-H{i}: v\r\n".encode() for i in range(200))
    status, _, body, _ = exchange(served.port, b"GET /v1/customers HTTP/1.1\r\nHost: x\r\n" + many + AUTH + b"\r\n")
    assert status == 431
    stripe_error(body)


def test_garbage_is_a_stripe_shaped_400(served):
    status, _, body, elapsed = exchange(served.port, b"\x00\x01 not http at all\r\n\r\n")
    assert status == 400
    stripe_error(body)
    assert elapsed < 1.0


def test_no_key_is_401_and_a_live_key_is_refused(served):
    status, _, body, _ = exchange(served.port, b"GET /v1/customers HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    assert status == 401
    status, _, body, _ = exchange(served.port, b"GET /v1/customers HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
                                               b"Authorization: Bearer sk_live_abc\r\n\r\n")
    assert status == 401
    assert "test mode only" in json.loads(body)["error"]["message"]


def test_keep_alive_serves_several_requests_on_one_connection(served):
    one = b"GET /_sandbox/clock HTTP/1.1\r\nHost: x\r\n\r\n"
    with socket.create_connection(("127.0.0.1", served.port), timeout=3) as sock:
        for _ in range(3):
            sock.sendall(one)
            data = b""
            while b"}" not in data:
                data += sock.recv(4096)
            assert data.startswith(b"HTTP/1.1 200")
