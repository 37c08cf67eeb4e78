"""`blastpay sandbox serve`: the Stripe emulator over HTTP for the real SDK."""

from __future__ import annotations

import argparse
from typing import Sequence


def main(argv: Sequence[str]) -> int:
    argv = list(argv)
    if argv[:1] == ["serve"]:
        from blastpay.emulator import serve_main

        return int(serve_main(argv[1:]) or 0)
    parser = argparse.ArgumentParser(prog="blastpay sandbox", description="The stateful, clock-driven Stripe emulator.")
    sub = parser.add_subparsers(dest="action", metavar="SUBCOMMAND", required=True)
    sub.add_parser("serve", help="serve the Stripe emulator over HTTP on loopback (`blastpay sandbox serve --help`)")
    parser.parse_args(argv)  # prints usage and exits 2 for anything but `serve`
    return 2
