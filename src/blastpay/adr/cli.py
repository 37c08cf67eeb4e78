"""`blastpay adr approve --by NAME --item stop-gap|decision | status | file-followup`: the approval gate's command line."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Sequence

from blastpay import config
from blastpay.adr.approval import (
    ITEMS,
    ApprovalError,
    approval_status,
    approve,
    default_followup_path,
    default_record_path,
    item_status,
)
from blastpay.adr.forgejo import file_followup
from blastpay.adr.render import render_documents
from blastpay.evidence.pipeline import PipelineError, run_check
from blastpay.evidence.writer import EvidenceError


def freshness_check() -> list[str]:
    """The committed evidence against a fresh regeneration; a regeneration that fails refuses the approval."""
    print("checking the committed evidence against a fresh regeneration ...", file=sys.stderr)
    try:
        return run_check(progress=lambda msg: print(msg, file=sys.stderr))
    except PipelineError as exc:
        raise ApprovalError(f"cannot approve: the freshness check failed: {exc}") from None


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="blastpay adr",
        description="The ADR's approval gate: approve the current evidence, show the status, file the follow-up issue.",
    )
    sub = parser.add_subparsers(dest="action", metavar="ACTION")
    sub.required = True
    ap = sub.add_parser("approve", help="record who approved the current evidence and re-render the ADR as accepted")
    ap.add_argument("--by", required=True, metavar="NAME", help="the decision-maker approving")
    ap.add_argument("--item", required=True, action="append", choices=ITEMS, dest="items",
                    help="what is approved, each on its own: the stop-gap or the decision (repeat for both)")
    ap.add_argument("--evidence-dir", type=Path, default=None, metavar="DIR", help="evidence tree (default: evidence/)")
    st = sub.add_parser("status", help="print whether the ADR is proposed or accepted, and why")
    st.add_argument("--evidence-dir", type=Path, default=None, metavar="DIR", help="evidence tree (default: evidence/)")
    ff = sub.add_parser(
        "file-followup",
        help="post docs/follow-up-feature-issue.md to Forgejo (env FORGEJO_URL, FORGEJO_REPO, FORGEJO_TOKEN)",
    )
    ff.add_argument("--dry-run", action="store_true", help="print the request that would be sent, token redacted")
    ff.add_argument("--evidence-dir", type=Path, default=None, metavar="DIR", help="evidence tree (default: evidence/)")
    return parser


def _rel(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(config.ROOT))
    except ValueError:
        return str(path)


def _run(args: argparse.Namespace) -> int:
    evidence_dir = args.evidence_dir or config.EVIDENCE_DIR
    record_path = default_record_path()
    if args.action == "status":
        print(f"decision: {approval_status(evidence_dir, record_path).status_line}")
        print(f"stop-gap: {item_status(evidence_dir, record_path, ITEMS[0]).status_line}")
        return 0
    if args.action == "approve":
        if evidence_dir.resolve() != config.EVIDENCE_DIR.resolve():
            raise ApprovalError(
                f"--evidence-dir {evidence_dir}: approval covers this repository's evidence tree "
                f"({config.EVIDENCE_DIR}) only, which the freshness check regenerates and the ADR is rendered from; "
                "set BLASTPAY_ROOT to the checkout that holds the other tree"
            )
        result = approve(args.by, items=tuple(dict.fromkeys(args.items)), evidence_dir=evidence_dir,
                         record_path=record_path, check=freshness_check, render=render_documents)
        rec = result.record
        docs = ", ".join(_rel(Path(p)) for p in result.written[1:])
        print(
            f"{rec.approved_by} approved the {' and the '.join(result.items)} on evidence {rec.evidence_sha256} "
            f"at {rec.approved_at}; "
            f"recorded in {_rel(record_path)}, re-rendered {docs or 'no documents'}"
        )
        return 0
    outcome = file_followup(
        evidence_dir=evidence_dir,
        record_path=record_path,
        followup_path=default_followup_path(),
        env=os.environ,
        dry_run=args.dry_run,
    )
    if isinstance(outcome, str):
        print(outcome)
    else:
        print(f"filed issue #{outcome.number}: {outcome.html_url}")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """`blastpay adr approve|status|file-followup`; a refusal is one line on stderr and exit 2."""
    args = build_parser().parse_args(list(sys.argv[1:] if argv is None else argv))
    try:
        return _run(args)
    except (ApprovalError, EvidenceError, config.ConfigError) as exc:
        print(f"blastpay adr: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
