"""Template and documentation sites: session-URL variables in templates and
prose that describes how long a checkout session or payment link lives."""

from __future__ import annotations

import re

from blastpay.scanner.inventory import DOC, TEMPLATE, Site
from blastpay.scanner.walk import SourceFile

TEMPLATE_EXPRESSION = re.compile(r"\{\{(.*?)\}\}|\{%(.*?)%\}|\$\{(.*?)\}")
IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*")
LIFETIME = re.compile(
    r"expires?_at|\bexpir(?:e|es|ed|y|ation|ing)\b|\bttl\b|\blifetime\b|\bvalid for\b"
    r"|\b\d+\s*(?:-\s*)?(?:minutes?|mins?|hours?|hrs?|h|days?|d|weeks?)\b",
    re.IGNORECASE,
)
CHECKOUT_CONTEXT = re.compile(r"checkout|\bsessions?\b|payment[ _-]?links?|expires_at", re.IGNORECASE)
HEADING = re.compile(r"^\s{0,3}#{1,6}\s+(.*?)\s*#*\s*$")
SESSION_URL_SUFFIXES = (".url",)


def is_template(f: SourceFile) -> bool:
    if f.kind == "template":
        return True
    return f.path.endswith(".txt") and ("{{" in f.text or "{%" in f.text)


STRING_LITERAL = re.compile(r"'[^']*'|\"[^\"]*\"")


def _url_variables(expression: str, variables: set[str]) -> list[str]:
    """Identifiers in a template expression (string literals removed) that name a session URL."""
    found = []
    for ident in IDENTIFIER.findall(STRING_LITERAL.sub(" ", expression)):
        last = ident.rsplit(".", 1)[-1]
        if (ident in variables or last in variables or any(last.endswith("_" + v) for v in variables)
                or (ident.endswith(SESSION_URL_SUFFIXES) and "session" in ident.lower())):
            found.append(ident)
    return found


def template_sites(files: list[SourceFile], variables: set[str]) -> list[Site]:
    """Lines of template files that reference a session-URL variable."""
    sites = []
    for f in files:
        if not is_template(f):
            continue
        for lineno, line in enumerate(f.text.splitlines(), 1):
            names: list[str] = []
            for m in TEMPLATE_EXPRESSION.finditer(line):
                names += _url_variables(next(g for g in m.groups() if g is not None), variables)
            if names:
                sites.append(Site(TEMPLATE, f.path, lineno, None, detail={
                    "variables": sorted(set(names)), "text": line.strip()[:200]}))
    return sites


def _paragraphs(lines: list[str]) -> list[tuple[int, int]]:
    spans, start = [], None
    for i, line in enumerate(lines):
        if line.strip():
            if start is None:
                start = i
        elif start is not None:
            spans.append((start, i))
            start = None
    if start is not None:
        spans.append((start, len(lines)))
    return spans


def doc_sites(files: list[SourceFile]) -> list[Site]:
    """Lines of documentation that state a lifetime in a paragraph about checkout sessions or links."""
    sites = []
    for f in files:
        if f.kind != "doc" or is_template(f):
            continue
        lines = f.text.splitlines()
        headings: list[str | None] = []
        current = None
        for line in lines:
            m = HEADING.match(line) if f.path.endswith(".md") else None
            if m:
                current = m.group(1)
            headings.append(current)
        for start, end in _paragraphs(lines):
            paragraph = "\n".join(lines[start:end] + [headings[start] or ""])
            if not CHECKOUT_CONTEXT.search(paragraph):
                continue
            for i in range(start, end):
                if HEADING.match(lines[i]):
                    continue
                hits = LIFETIME.findall(lines[i])
                if hits:
                    sites.append(Site(DOC, f.path, i + 1, headings[i], detail={
                        "mentions": sorted({h.lower() for h in hits}), "text": lines[i].strip()[:200]}))
    return sites
