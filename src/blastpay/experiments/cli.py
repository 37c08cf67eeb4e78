"""`blastpay decide`: the decision re-asked with the club's own numbers, from the committed evidence, in about a second.

With no options it prints the central case the ADR states. Nothing is rerun: the failure-mode cells, the latency
model and the other experiments' figures are read from evidence/, the rest from experiments/.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from dataclasses import asdict, replace
from pathlib import Path
from typing import Any, Callable, NoReturn, Sequence

from blastpay.config import ConfigError


class DecideError(ConfigError):
    """A bad option value (one line)."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:  # one line, exit 2, as every blastpay command refuses bad input
        print(f"blastpay decide: error: {message}", file=sys.stderr)
        raise SystemExit(2)


def _number(name: str, lo: float, hi: float, lo_open: bool = False) -> Callable[[str], float]:
    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{name} must be a number, got {text!r}") from None
        if not math.isfinite(value) or value > hi or value < lo or (lo_open and value == lo):
            bound = f"above {lo:g}" if lo_open else f"at least {lo:g}"
            raise argparse.ArgumentTypeError(f"{name} must be {bound} and at most {hi:g}, got {text}")
        return value
    return parse


def parser() -> argparse.ArgumentParser:
    p = _Parser(prog="blastpay decide",
                description="Each option's expected harms a year, its build and the recommendation, at your numbers "
                "(from the committed evidence; nothing is rerun). With no options: the central case the ADR states.")
    p.add_argument("--availability", metavar="PCT", type=_number("--availability", 0.0, 100.0, lo_open=True),
                   help="basketball-api's availability while parents pay, in percent (e.g. 99.5)")
    p.add_argument("--blasts-per-year", metavar="N", type=_number("--blasts-per-year", 0.0, 10_000, lo_open=True))
    p.add_argument("--orders-per-blast", metavar="N", type=_number("--orders-per-blast", 0.0, 1_000_000, lo_open=True))
    p.add_argument("--fee", metavar="USD", type=_number("--fee", 0.0, 100_000, lo_open=True),
                   help="the average fee a blast asks, in dollars")
    p.add_argument("--return-share", metavar="S", type=_number("--return-share", 0.0, 1.0),
                   help="share of parents who come back by themselves after an error page (0 to 1)")
    p.add_argument("--response-share", metavar="S", type=_number("--response-share", 0.0, 1.0),
                   help="share of parents who act on a re-sent email (0 to 1)")
    p.add_argument("--reprice-share", metavar="PCT", type=_number("--reprice-share", 0.0, 100.0),
                   help="orders re-priced (or otherwise changed) after their email went out, in percent (e.g. 0.5)")
    p.add_argument("--old-email-share", metavar="S", type=_number("--old-email-share", 0.0, 1.0),
                   help="of those orders' parents, the share who click the old email's link, not the new one (0 to 1)")
    p.add_argument("--evidence", metavar="DIR", type=Path, help="evidence directory (default: the committed evidence/)")
    p.add_argument("--json", action="store_true", help="print the figures as JSON")
    return p


def assumptions_from(args: argparse.Namespace, central: Any) -> Any:
    changes = {k: v for k, v in {
        "availability": None if args.availability is None else args.availability / 100,
        "blasts_per_year": args.blasts_per_year, "orders_per_blast": args.orders_per_blast, "fee_usd": args.fee,
        "return_share": args.return_share, "response_share": args.response_share,
        "reprice_share": None if args.reprice_share is None else args.reprice_share / 100,
        "old_email_share": args.old_email_share}.items() if v is not None}
    return replace(central, **changes)


def report(model: Any, a: Any) -> dict[str, Any]:
    from blastpay.experiments.decision_evidence import HEADLINE_HARMS
    from blastpay.experiments.decision_inputs import downtime_hours, harm_value
    from blastpay.models.decision import OPTION_TITLES, VARIANT_TITLES

    harms, d = model.evaluate(a)
    prices = model.prices(a)
    tie = model.break_even("availability", 0.95, 1.0, a)
    reprice = model.break_even("reprice_share", 0.0, 1.0, a)
    return {
        "assumptions": {**asdict(a), "basketball_api_downtime_hours_a_year": downtime_hours(a.availability),
                        "horizon_years": prices.horizon_years},
        "variants": {v: {"title": VARIANT_TITLES[v],
                         "per_year": {h: harm_value(harms[v], h, prices) for h in HEADLINE_HARMS},
                         "yearly_usd": c.yearly_usd, "build_days": c.build_days, "build_usd": c.build_usd,
                         "horizon_usd": c.horizon_usd}
                     for v, c in sorted(d.costed.items(), key=lambda kv: kv[1].horizon_usd)},
        "recommended_variant": d.recommended_variant,
        "recommended_option": OPTION_TITLES[d.recommended_option],
        "runner_up_variant": d.runner_up_variant,
        "margin_usd": d.margin_usd,
        "availability_tie": None if tie.at is None else {"availability": tie.at,
                                                         "downtime_hours_a_year": downtime_hours(tie.at),
                                                         "cheaper_below": tie.cheaper_below,
                                                         "cheaper_above": tie.cheaper_above},
        "reprice_tie": None if reprice.at is None else {"reprice_share": reprice.at,
                                                        "cheaper_below": reprice.cheaper_below,
                                                        "cheaper_above": reprice.cheaper_above},
    }


COLUMNS = (("parents_meeting_an_error_page", "error pages", "{:,.1f}"), ("parents_stranded", "stranded", "{:,.1f}"),
           ("hours_locked_out", "hours locked out", "{:,.1f}"), ("double_charges", "double charges", "{:,.2f}"),
           ("support_contacts", "contacts", "{:,.1f}"), ("checkout_sessions", "sessions", "{:,.0f}"))


def stated(obj: Any) -> Any:
    """Every float as the evidence states it (6 significant digits), so a figure prints as the ADR prints it."""
    from blastpay.evidence.writer import round_float

    if isinstance(obj, float):
        return round_float(obj)
    if isinstance(obj, dict):
        return {k: stated(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [stated(v) for v in obj]
    return obj


def text(r: dict[str, Any]) -> str:
    """The report as a table a reader scans: one row per variant, cheapest first (all harms: --json)."""
    r = stated(r)
    a = r["assumptions"]
    lines = [f"At {a['availability']:.4%} basketball-api availability ({a['basketball_api_downtime_hours_a_year']:.1f} h "
             f"down a year), {a['blasts_per_year']:g} blasts a year x {a['orders_per_blast']:g} orders, "
             f"${a['fee_usd']:,.2f} a fee, {a['return_share']:g} of parents back by themselves after an error page, "
             f"{a['response_share']:g} acting on a re-sent email, {a['reprice_share']:.2%} of orders re-priced after "
             f"their email ({a['old_email_share']:g} of their parents clicking the old one); per year:", ""]
    heads = [h for _, h, _ in COLUMNS] + ["harms $", "build days", f"{a['horizon_years']:g}-year $"]
    rows = [[v["title"]] + [fmt.format(v["per_year"][k]) for k, _, fmt in COLUMNS]
            + [f"{v['yearly_usd']:,.0f}", f"{v['build_days']:g}", f"{v['horizon_usd']:,.0f}"]
            for v in r["variants"].values()]
    widths = [max(len(x[i]) for x in rows + [[""] + heads]) for i in range(len(heads) + 1)]
    lines.append("  ".join([" " * widths[0]] + [h.rjust(w) for h, w in zip(heads, widths[1:])]))
    lines += ["  ".join([row[0].ljust(widths[0])] + [c.rjust(w) for c, w in zip(row[1:], widths[1:])]) for row in rows]
    lines.append("")
    lines.append(f"Recommendation: {r['recommended_option']} ({r['recommended_variant']}); the other options' best, "
                 f"{r['runner_up_variant']}, costs ${r['margin_usd']:,.0f} more over {a['horizon_years']:g} years.")
    t = r["availability_tie"]
    if t is None:
        lines.append("No basketball-api availability from 95% to 100% changes it.")
    else:
        lines.append(f"They cost the same at {t['availability']:.4%} availability ({t['downtime_hours_a_year']:.1f} h down "
                     f"a year): {t['cheaper_below']} is cheaper below it, {t['cheaper_above']} above it.")
    t = r["reprice_tie"]
    if t is None:
        lines.append("No share of orders re-priced after their email changes it.")
    else:
        lines.append(f"They cost the same at {t['reprice_share']:.2%} of orders re-priced after their email: "
                     f"{t['cheaper_below']} is cheaper below it, {t['cheaper_above']} above it.")
    return "\n".join(lines)


def decide_main(argv: Sequence[str]) -> int:
    from blastpay import config
    from blastpay.experiments.decision_inputs import load_model

    args = parser().parse_args(list(argv))
    evidence = args.evidence or config.ROOT / "evidence"
    if not evidence.is_dir():
        raise DecideError(f"{evidence}: no evidence directory (run `blastpay evidence` first)")
    model = load_model(evidence)
    r = report(model, assumptions_from(args, model.central()))
    print(json.dumps(stated(r), indent=2, sort_keys=True) if args.json else text(r))
    return 0
