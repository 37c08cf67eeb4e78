"""``blastpay scan PATH [--out FILE] [--format json|md] [--option OPTION]``."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from blastpay.atomic_file import write_atomically
from blastpay.scanner.migration import OPTIONS
from blastpay.scanner.report import to_json, to_markdown
from blastpay.scanner.scan_repo import ScanError, scan


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="blastpay scan", description="List the Checkout Session call sites of a Python repository.")
    parser.add_argument("path", type=Path, help="repository to scan")
    parser.add_argument("--out", type=Path, help="write the inventory here instead of stdout")
    parser.add_argument("--format", choices=("json", "md"), help="output format (default: from --out suffix, else json)")
    parser.add_argument("--option", choices=OPTIONS, help="append the migration checklist for this option (md only)")
    return parser


def main(argv: list[str]) -> int:
    """Run the scan command; ``argv`` may start with the word ``scan``."""
    args_in = list(argv)
    if args_in[:1] == ["scan"]:
        args_in = args_in[1:]
    args = build_parser().parse_args(args_in)
    fmt = args.format or ("md" if args.out and args.out.suffix.lower() == ".md" else "json")
    try:
        inventory = scan(args.path)
    except ScanError as exc:
        print(f"blastpay scan: {exc}", file=sys.stderr)
        return 2
    if args.out:
        # rescan command names the output actually written
        inventory.rescan_command = f"blastpay scan {args.path} --out {args.out}"
    text = to_json(inventory) if fmt == "json" else to_markdown(inventory, args.option)
    if args.out is None:
        sys.stdout.write(text)
        return 0
    if not args.out.parent.exists() and str(args.out.parent):
        print(f"blastpay scan: {args.out.parent}: output directory does not exist", file=sys.stderr)
        return 2
    write_atomically(args.out, text)
    print(f"blastpay scan: {len(inventory.sites)} sites, {len(inventory.skipped)} skipped -> {args.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main(sys.argv[1:]))
