"""Renders the generated documents (the ADR and its companions) from evidence and the sources registry.

Templates use StrictUndefined: a missing value is an error naming the template and line, never an
empty string. Facts are cited by registry id through `cite(id)`; an unknown id fails the render.
"""

from __future__ import annotations

import sys
import traceback
from pathlib import Path
from typing import Any, Callable

import jinja2

from blastpay import config
from blastpay.adr.evidence_view import EvidenceView
from blastpay.display_names import words
from blastpay.evidence.writer import EvidenceError
from blastpay.sources.registry import Registry, SourcesError, load_registry


class RenderError(ValueError):
    """A template could not be rendered; the message names the template and line."""


def environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(config.TEMPLATES_DIR)),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
        autoescape=False,
    )
    env.filters["pct"] = lambda x, nd=1: f"{100 * float(x):.{nd}f}%"
    env.filters["usd"] = lambda cents: f"${float(cents) / 100:,.2f}"
    env.filters["usd_d"] = lambda dollars: f"${float(dollars):,.2f}"
    env.filters["usd0"] = lambda dollars: f"${float(dollars):,.0f}"
    env.filters["cap"] = lambda text: str(text)[:1].upper() + str(text)[1:]  # capitalize() would lower "API", "Back"
    env.filters["cell"] = lambda text: " ".join(str(text).split()).replace("|", "\\|")
    env.filters["num"] = lambda x, nd=0: f"{float(x):,.{nd}f}"
    from blastpay.display_names import display

    env.filters["dn"] = lambda ident, kind: display(kind, ident)  # the reader's name for an internal id
    env.filters["words"] = words
    env.filters["code"] = lambda text: f"`{text}`"
    from blastpay.adr.first_screen import VERDICTS

    env.filters["verdict"] = lambda ident: VERDICTS.get(ident, f"`{ident}`")
    return env


def _template_line(exc: BaseException, template_name: str) -> int | None:
    lineno = getattr(exc, "lineno", None)
    if lineno:
        return lineno
    for frame in reversed(traceback.extract_tb(exc.__traceback__)):
        if frame.filename.endswith(template_name):
            return frame.lineno
    return None


def render_template(name: str, context: dict[str, Any]) -> str:
    env = environment()
    try:
        return env.get_template(name).render(**context)
    except jinja2.TemplateNotFound:
        raise RenderError(f"{config.TEMPLATES_DIR / name}: template not found") from None
    except (jinja2.TemplateError, SourcesError, EvidenceError, KeyError, TypeError, ValueError) as exc:
        # NarrativeError is a ValueError: a contradiction between prose and evidence names its template line.
        line = _template_line(exc, name)
        where = f"{config.TEMPLATES_DIR / name}" + (f":{line}" if line else "")
        msg = getattr(exc, "message", None) or str(exc)
        raise RenderError(f"{where}: {type(exc).__name__}: {msg}") from None


# Every generated document: output path (repo-relative) -> function producing its text.
Renderer = Callable[[EvidenceView, Registry], str]


def _adr(ev: EvidenceView, registry: Registry) -> str:
    """The ADR, then the narrative guard over its text: every number must trace to evidence or a cited source."""
    from blastpay.adr.context import adr_context
    from blastpay.adr.narrative_guard import NarrativeError, check_rendered

    context = adr_context(ev, registry)
    text = render_template("adr.md.j2", context)
    try:
        check_rendered(text, ev.root, registry, context["cite"].used, "docs/adr-payment-blast-pattern.md")
    except NarrativeError as exc:
        raise RenderError(str(exc)) from None
    return text


def _followup(ev: EvidenceView, registry: Registry) -> str | None:
    """The follow-up feature issue, when the recommendation needs implementing (options 1 and 2)."""
    from blastpay.adr.context import adr_context

    context = adr_context(ev, registry)
    if context["decision"]["recommended_option"] not in ("payment_links", "lazy_mint"):
        return None
    return render_template("follow-up-feature-issue.md.j2", context)


def _stripe_behaviour(ev: EvidenceView, registry: Registry) -> str:
    """Every emulator rule, how it is known and whether a recorded live probe verified it (linked from the ADR)."""
    from blastpay.adr.evidence_view import read_csv
    from blastpay.adr.stripe_behaviour import render
    from blastpay.emulator.rules import RULES
    from blastpay.emulator.shapes import emulator_coverage

    rows = read_csv(ev, "stripe-facts/emulator_rules.csv")
    return render(RULES, {r["rule"]: r for r in rows}, emulator_coverage())


def _top_level_adr(ev: EvidenceView, registry: Registry) -> str:
    """The same decision record at the repository root, its relative links rewritten to work from there."""
    return top_level(_adr(ev, registry))


def top_level(text: str) -> str:
    """Rewrite the ADR's links (written for docs/) for a copy at the repository root."""
    import re

    def fix(m: "re.Match[str]") -> str:
        target = m.group(2)
        if re.match(r"[a-z]+:|#|/", target):
            return m.group(0)
        target = target[3:] if target.startswith("../") else "docs/" + target
        return f"{m.group(1)}({target})"

    text = re.sub(r"(!?\[[^\]]*\])\(([^)\s]+)\)", fix, text)
    return text.replace("<!-- Generated by", "<!-- A copy of docs/adr-payment-blast-pattern.md for the top level. Generated by", 1)


# A renderer returning None means the document must not exist (e.g. no follow-up issue for option 3).
GENERATED_DOCS: dict[str, Callable[[EvidenceView, Registry], str | None]] = {
    "docs/adr-payment-blast-pattern.md": _adr,
    "docs/follow-up-feature-issue.md": _followup,
    "docs/stripe-behaviour.md": _stripe_behaviour,
    "adr-payment-blast-pattern.md": _top_level_adr,
}


def render_documents(evidence_dir: Path) -> dict[str, bytes | None]:
    registry = load_registry(config.SOURCES_DIR)
    out: dict[str, bytes | None] = {}
    for rel, renderer in GENERATED_DOCS.items():
        text = renderer(EvidenceView(evidence_dir), registry)
        out[rel] = None if text is None else text.encode()
    return out


if __name__ == "__main__":  # pragma: no cover
    sys.exit("use `blastpay evidence`")
