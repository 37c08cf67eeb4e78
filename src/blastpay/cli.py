"""The `blastpay` command line."""

from __future__ import annotations

import argparse
import importlib
import sys
import time
from typing import Callable, Sequence

EPILOG = """\
Typical use:
  blastpay evidence            regenerate every evidence file and the ADR (about a minute)
  blastpay check               regenerate into a temporary tree and list files that drifted
  blastpay sandbox serve       run the Stripe emulator on loopback for the real SDK
  blastpay serve               run the lazy-mint /pay/{token} app against the emulator
  blastpay scan PATH           list checkout call sites of a basketball-api checkout
"""


def _evidence(args: argparse.Namespace) -> int:
    from .pipeline import run_evidence

    result = run_evidence(full=args.full)
    print(f"evidence and documents regenerated in {result.seconds:.1f} s (wall time)")
    return 0


def _check(args: argparse.Namespace) -> int:
    from .pipeline import run_check

    start = time.perf_counter()
    drift = run_check(progress=(lambda _msg: None) if args.quiet else print)
    if drift:
        print("stale evidence or documents; these files differ from a fresh regeneration:", file=sys.stderr)
        for line in drift:
            print(f"  {line}", file=sys.stderr)
        print("fix: run `make evidence` (or `.venv/bin/blastpay evidence`) and commit the result", file=sys.stderr)
        return 1
    print(f"evidence and documents are fresh (checked in {time.perf_counter() - start:.1f} s)")
    return 0


def _delegate(module: str, func: str) -> Callable[[argparse.Namespace], int]:
    """Subcommands implemented by their own module: pass the remaining argv through."""

    def run(args: argparse.Namespace) -> int:
        target = getattr(importlib.import_module(f"blastpay.{module}"), func)
        return int(target(list(args.rest)) or 0)

    return run


DELEGATED = {
    # name: (module, function, help)
    "serve": ("flows.lazy_mint", "serve_main", "run the lazy-mint /pay/{order_token} app on loopback"),
    "scan": ("scanner", "main", "list Checkout Session call sites of a Python repository"),
    "live": ("live_probe", "main", "probe Stripe test mode (probe | recheck | compare)"),
    "adr": ("approval", "main", "the ADR's approval gate (approve --by NAME | status | file-followup)"),
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="blastpay",
        description="Evidence and decision record for the email-blast checkout primitive: "
        "Stripe Payment Links vs lazy-mint /pay/{token} vs Checkout Sessions with a 30-day TTL.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    ev = sub.add_parser("evidence", help="run the notebooks headless, regenerate evidence/ and render the ADR")
    ev.add_argument("--full", action="store_true",
                    help="run the large sweeps instead (1,000,000 parents per scenario, every browser journey, "
                    "literal replays), with progress bars; written to evidence-full/, not over the committed evidence")
    ev.set_defaults(func=_evidence)
    ck = sub.add_parser("check", help="fail (exit 1) if committed evidence or documents differ from a regeneration")
    ck.add_argument("--quiet", action="store_true", help="print only the verdict")
    ck.set_defaults(func=_check)
    sb = sub.add_parser("sandbox", help="the Stripe emulator (`blastpay sandbox serve --help`)")
    sb_sub = sb.add_subparsers(dest="sandbox_command", metavar="SUBCOMMAND")
    sb_sub.required = True
    sbs = sb_sub.add_parser("serve", help="serve the Stripe emulator over HTTP on loopback", add_help=False)
    sbs.add_argument("rest", nargs=argparse.REMAINDER)
    sbs.set_defaults(func=_delegate("emulator.server", "serve_main"))
    for name, (module, func, help_text) in DELEGATED.items():
        p = sub.add_parser(name, help=help_text, add_help=False)
        p.add_argument("rest", nargs=argparse.REMAINDER)
        p.set_defaults(func=_delegate(module, func))
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    from .config import ConfigError
    from .evidence import EvidenceError
    from .pipeline import PipelineError
    from .sources import SourcesError

    argv = list(sys.argv[1:] if argv is None else argv)
    try:
        # Subcommands with their own parser get every remaining word, --help included.
        if argv and argv[0] in DELEGATED:
            module, func, _help = DELEGATED[argv[0]]
            return int(getattr(importlib.import_module(f"blastpay.{module}"), func)(argv[1:]) or 0)
        if argv[:2] == ["sandbox", "serve"]:
            return int(importlib.import_module("blastpay.emulator.server").serve_main(argv[2:]) or 0)
        args = build_parser().parse_args(argv)
        return args.func(args)
    except (PipelineError, SourcesError, EvidenceError, ConfigError) as exc:
        print(f"blastpay: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("blastpay: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
