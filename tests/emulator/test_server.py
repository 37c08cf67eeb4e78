"""``blastpay sandbox serve``: prints its URL, binds loopback, stops cleanly on SIGINT/SIGTERM."""
from __future__ import annotations

import json
import signal
import subprocess
import sys
import urllib.request

import pytest
import stripe

from blastpay.emulator.server import serve_main


def _start(*args: str) -> tuple[subprocess.Popen[str], str]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "blastpay.emulator", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    line = proc.stdout.readline().strip()
    return proc, line


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_serve_prints_url_and_stops_cleanly(sig):
    proc, base_url = _start("--host", "127.0.0.1", "--port", "0", "--seed", "3", "--start", "1800000000")
    try:
        assert base_url.startswith("http://127.0.0.1:")
        with urllib.request.urlopen(base_url + "/_sandbox/clock", timeout=10) as response:
            assert json.loads(response.read()) == {"now": 1800000000}
        client = stripe.StripeClient("sk_test_x", base_addresses={"api": base_url}, max_network_retries=0)
        link = client.v1.payment_links.create(
            {"line_items": [{"price_data": {"currency": "usd", "unit_amount": 100, "product_data": {"name": "x"}},
                             "quantity": 1}]}
        )
        assert link.url.startswith(base_url + "/b/")
    finally:
        proc.send_signal(sig)
        code = proc.wait(timeout=20)
    assert code == 0
    assert "Traceback" not in proc.stderr.read()


def test_serve_refuses_bad_port(capsys):
    assert serve_main(["--port", "70000"]) == 2
    assert "--port must be 0..65535" in capsys.readouterr().err
