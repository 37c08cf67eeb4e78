"""``blastpay scan PATH [--out FILE] [--format json|md] [--option OPTION]``."""

from __future__ import annotations

import argparse
import os
import stat
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


def out_refusal(out: Path) -> str | None:
    """Why ``--out`` cannot be written atomically as a regular file, or None. A new file in an existing
    directory, or an existing regular file (replaced whole), is fine; a directory, a device such as
    /dev/full, a FIFO or a symlink is not (replacing it would silently swap the device for a file)."""
    parent = out.parent if str(out.parent) else Path(".")
    try:
        info = os.lstat(out)
    except FileNotFoundError:
        info = None
    except OSError as exc:
        return f"cannot check it ({exc.strerror})"
    if info is not None:
        if stat.S_ISLNK(info.st_mode):
            return "is a symbolic link; give the path of a regular file"
        if stat.S_ISDIR(info.st_mode):
            return "is a directory; give the path of a file"
        if not stat.S_ISREG(info.st_mode):
            return "is not a regular file (a device, FIFO or socket); give the path of a regular file"
    if not parent.is_dir():
        return f"the directory {parent} does not exist"
    return None


def main(argv: list[str]) -> int:
    """Run the scan command; ``argv`` may start with the word ``scan``."""
    args_in = list(argv)
    if args_in[:1] == ["scan"]:
        args_in = args_in[1:]
    args = build_parser().parse_args(args_in)
    fmt = args.format or ("md" if args.out and args.out.suffix.lower() == ".md" else "json")
    if args.out is not None and (refusal := out_refusal(args.out)) is not None:
        print(f"blastpay scan: --out {args.out}: {refusal}", file=sys.stderr)
        return 2
    try:
        inventory = scan(args.path)
    except ScanError as exc:
        print(f"blastpay scan: {exc}", file=sys.stderr)
        return 2
    for skipped in inventory.skipped:
        if skipped.reason.startswith("not a regular file"):
            print(f"blastpay scan: skipped {skipped.path}: {skipped.reason}", file=sys.stderr)
    if args.out:
        # rescan command names the output actually written
        inventory.rescan_command = f"blastpay scan {args.path} --out {args.out}"
    text = to_json(inventory) if fmt == "json" else to_markdown(inventory, args.option)
    if args.out is None:
        sys.stdout.write(text)
        return 0
    refusal = out_refusal(args.out)
    if refusal is not None:
        print(f"blastpay scan: --out {args.out}: {refusal}", file=sys.stderr)
        return 2
    try:
        write_atomically(args.out, text)
    except OSError as exc:
        print(f"blastpay scan: --out {args.out}: cannot write ({exc.strerror or exc})", file=sys.stderr)
        return 2
    print(f"blastpay scan: {len(inventory.sites)} sites, {len(inventory.skipped)} skipped -> {args.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main(sys.argv[1:]))
