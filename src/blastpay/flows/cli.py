"""`blastpay serve`: the lazy-mint /pay/{order_token} app on loopback, against the emulator."""

from __future__ import annotations

from typing import Sequence


def main(argv: Sequence[str]) -> int:
    from blastpay.flows.serve import serve_main

    return int(serve_main(list(argv)) or 0)
