"""The `blastpay` command line: one word per stage, each handled by its own package's `cli` module."""

from __future__ import annotations

import argparse
import importlib
import sys
import traceback
from typing import Sequence

from blastpay.redaction import RedactingStream, env_secrets

# word: (module, function, one-line help). Each function takes the words after the command.
COMMANDS = {
    "evidence": ("blastpay.evidence.cli", "evidence_main",
                 "run the notebooks headless, regenerate evidence/ and render the ADR (about 1.5 min)"),
    "check": ("blastpay.evidence.cli", "check_main",
              "fail (exit 1) if committed evidence or documents differ from a regeneration"),
    "decide": ("blastpay.experiments.cli", "decide_main",
               "re-ask the decision with your numbers (--availability, --blasts-per-year, --orders-per-blast, --fee)"),
    "report": ("blastpay.evidence.report", "main",
               "export the executed notebooks to HTML (figures inline, code hidden) for readers without Jupyter"),
    "sandbox": ("blastpay.emulator.cli", "main", "the Stripe emulator: `blastpay sandbox serve` for the real SDK"),
    "serve": ("blastpay.flows.cli", "main", "run the lazy-mint /pay/{order_token} app on loopback"),
    "scan": ("blastpay.scanner.cli", "main", "list Checkout Session call sites of a Python repository"),
    "live": ("blastpay.live.cli", "main", "verify the emulator's rules against Stripe test mode (probe | recheck | compare)"),
    "adr": ("blastpay.adr.cli", "main", "the ADR's approval gate (approve --by NAME --item stop-gap|decision | status | file-followup)"),
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="blastpay",
        description="Evidence and decision record for the email-blast checkout primitive: "
        "Stripe Payment Links vs lazy-mint /pay/{token} vs Checkout Sessions with a 30-day TTL.",
        epilog="Each command has its own --help, e.g. `blastpay scan --help`.",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name, (_module, _func, help_text) in COMMANDS.items():
        p = sub.add_parser(name, help=help_text, add_help=False)
        p.add_argument("rest", nargs=argparse.REMAINDER)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    from blastpay.config import ConfigError
    from blastpay.evidence.pipeline import PipelineError
    from blastpay.evidence.writer import EvidenceError
    from blastpay.sources.inputs import InputError
    from blastpay.sources.registry import SourcesError

    argv = list(sys.argv[1:] if argv is None else argv)
    streams = sys.stdout, sys.stderr
    secrets = env_secrets()
    # every line a command prints loses its credentials; a scan's inventory on stdout is data, left as found
    if argv[:1] != ["scan"]:
        sys.stdout = RedactingStream(streams[0], secrets)
    sys.stderr = RedactingStream(streams[1], secrets)
    try:
        args = build_parser().parse_args(argv[:1])  # the command word; its own parser reads the rest
        module, func, _help = COMMANDS[args.command]
        return int(getattr(importlib.import_module(module), func)(argv[1:]) or 0)
    except (PipelineError, SourcesError, EvidenceError, ConfigError, InputError) as exc:
        print(f"blastpay: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("blastpay: interrupted", file=sys.stderr)
        return 130
    except Exception:  # a bug: its traceback still goes through the redacting stream
        traceback.print_exc()
        return 1
    finally:
        sys.stdout, sys.stderr = streams


if __name__ == "__main__":
    sys.exit(main())
