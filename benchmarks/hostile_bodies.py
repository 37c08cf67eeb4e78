"""Memory of each served door under a body far over its limit, sent chunked (no Content-Length).

Starts ``blastpay sandbox serve`` and ``blastpay serve --seed`` (its own embedded emulator, a throwaway SQLite
file) as child processes on loopback, reads each one's resident memory (``VmRSS``) before, then streams a
chunked body of ``--mb`` megabytes (``POST /v1/customers`` to the emulator, ``POST /webhooks/stripe`` with a bad
signature to the app) until the server answers or stops reading, and reads ``VmRSS`` and the peak ``VmHWM``
after. Before the body caps counted chunks as they arrived, each door read the whole body first.

Prints ``name: value`` lines per door: status, megabytes sent before the answer, RSS before, after and peak (MB),
and the peak over the before figure (the baseline measured in the same run).

    .venv/bin/python benchmarks/hostile_bodies.py [--mb 200]
"""

from __future__ import annotations

import argparse
import os
import select
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BLASTPAY = str(Path(sys.executable).with_name("blastpay"))
PIECE = 64 * 1024


def memory_mb(pid: int) -> dict[str, float]:
    fields = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        name, _, value = line.partition(":")
        if name in ("VmRSS", "VmHWM"):
            fields[name] = int(value.split()[0]) / 1024
    return fields


def start(args: list[str], ready: str) -> tuple[subprocess.Popen[str], str]:
    process = subprocess.Popen([BLASTPAY, *args], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    assert process.stdout is not None
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        if line.startswith(ready):
            url = line[len(ready):].split()[0] if ready else line.strip()
            return process, url
        if not line and process.poll() is not None:
            break
    process.kill()
    raise SystemExit(f"hostile_bodies: {' '.join(args)} did not start")


def stream(port: int, path: str, total: int) -> tuple[str, int]:
    """POST ``total`` bytes chunked; returns the status line and the bytes sent before the server answered."""
    sent = 0
    with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
        sock.sendall(f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer sk_test_hostile\r\n"
                     "Content-Type: application/x-www-form-urlencoded\r\nStripe-Signature: t=1,v1=00\r\n"
                     "Transfer-Encoding: chunked\r\n\r\n".encode())
        chunk = f"{PIECE:x}\r\n".encode() + b"a" * PIECE + b"\r\n"
        sock.settimeout(5)
        try:
            while sent < total and not select.select([sock], [], [], 0)[0]:
                sock.sendall(chunk)
                sent += PIECE
            if sent >= total:
                sock.sendall(b"0\r\n\r\n")
        except (TimeoutError, BrokenPipeError, ConnectionResetError):
            pass
        sock.settimeout(120)
        try:
            answer = sock.recv(4096).split(b"\r\n", 1)[0].decode("latin-1")
        except (TimeoutError, ConnectionResetError):
            answer = "(no answer)"
    return answer or "(closed)", sent


def measure(name: str, args: list[str], ready: str, path: str, total: int) -> None:
    process, url = start(args, ready)
    try:
        port = int(url.rsplit(":", 1)[1].split("/")[0])
        time.sleep(0.5)  # let start-up allocations settle before the baseline
        before = memory_mb(process.pid)
        status, sent = stream(port, path, total)
        time.sleep(0.5)
        after = memory_mb(process.pid)
    finally:
        process.terminate()
        process.wait(timeout=20)
    print(f"{name}_status: {status}")
    print(f"{name}_sent_mb: {sent / 1e6:.1f}")
    print(f"{name}_rss_before_mb: {before['VmRSS']:.0f}")
    print(f"{name}_rss_after_mb: {after['VmRSS']:.0f}")
    print(f"{name}_rss_peak_mb: {after['VmHWM']:.0f}")
    print(f"{name}_peak_over_before: {after['VmHWM'] / before['VmRSS']:.2f}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--mb", type=int, default=200, help="megabytes of chunked body to send (default 200)")
    args = parser.parse_args()
    if not 1 <= args.mb <= 2000:
        print("hostile_bodies: --mb must be in [1, 2000]", file=sys.stderr)
        return 2
    total = args.mb * 1_000_000
    measure("emulator", ["sandbox", "serve", "--port", "0"], "", "/v1/customers", total)
    with tempfile.TemporaryDirectory() as tmp:
        env_db = f"sqlite:///{os.path.join(tmp, 'hostile.db')}"
        measure("pay_app", ["serve", "--seed", "--port", "0", "--database-url", env_db], "serving ", "/webhooks/stripe",
                total)
    return 0


if __name__ == "__main__":
    sys.exit(main())
