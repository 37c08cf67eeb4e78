"""The narrative guard: the ADR's hand-written prose may not contradict the evidence.

Two checks. The prose names the option it argues for (`guard.argues_for("lazy_mint")` in the template);
rendering fails if the decision model recommends another. And every number in the rendered text must be
traceable: it is the formatted form of a value in the evidence tree, a figure or quoted number of a
registry entry the ADR cites, or one of a few structural tokens (issue references such as #487, option
numbers, the MADR version). A number typed into the prose fails the render, naming it and its line.
"""

from __future__ import annotations

import csv
import io
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable

from blastpay.sources.registry import Registry


class NarrativeError(ValueError):
    """The prose contradicts the evidence."""


# Formatting used by the template filters; the guard formats every evidence value the same ways.
def fmt_num(x: float, nd: int = 0) -> str:
    return f"{float(x):,.{nd}f}"


def fmt_pct(x: float, nd: int = 1) -> str:
    return f"{100 * float(x):.{nd}f}%"


def fmt_usd(cents: float) -> str:
    return f"${float(cents) / 100:,.2f}"


def renderings(value: float) -> set[str]:
    """Every way the template may print a number that came from evidence."""
    out = {str(value)}
    for nd in range(0, 4):
        out.add(fmt_num(value, nd))
        out.add(fmt_pct(value, nd))
    out.add(fmt_usd(value))
    out.add(f"${float(value):,.2f}")
    out.add(f"${float(value):,.0f}")
    if float(value).is_integer():
        out.add(str(int(value)))
    return out


def _leaves(obj: Any) -> Iterable[float]:
    if isinstance(obj, bool):
        return
    if isinstance(obj, (int, float)):
        yield float(obj)
    elif isinstance(obj, dict):
        for v in obj.values():
            yield from _leaves(v)
    elif isinstance(obj, list):
        for v in obj:
            yield from _leaves(v)
    elif isinstance(obj, str):
        yield from (float(n.replace(",", "")) for n in NUMBER.findall(obj) if _plain(n))


def _plain(token: str) -> bool:
    return bool(re.fullmatch(r"\d[\d,]*(\.\d+)?", token))


def evidence_values(evidence_dir: Path) -> set[float]:
    values: set[float] = set()
    for path in sorted(evidence_dir.rglob("*")):
        if path.suffix == ".json" and "notebooks" not in path.parts:
            values.update(_leaves(json.loads(path.read_text())))
        elif path.suffix == ".csv":
            for row in csv.reader(io.StringIO(path.read_text())):
                for cell in row:
                    try:
                        values.add(float(cell))
                    except ValueError:
                        values.update(_leaves(cell))
    return values


def registry_values(registry: Registry, cited: Iterable[str]) -> set[float]:
    values: set[float] = set()
    for sid in cited:
        entry = registry.get(sid)
        values.update(_leaves({k: entry.get(k) for k in ("figure", "figure_context", "quote", "title")}))
    return values


# A number is a token of its own: digits glued to letters (a hash prefix such as 726ebe3d, an id such as
# cs_test_a1) are not numbers.
NUMBER = re.compile(r"(?<![\w.$-])\$?\d[\d,]*(?:\.\d+)?%?(?![\w])")
# Text that holds no claims of its own: URLs, code spans, hashes, dates, issue references, option numbers.
STRUCTURAL = [
    re.compile(r"<[^>\s]+>"),
    re.compile(r"\]\([^)]*\)"),
    re.compile(r"https?://\S+"),
    re.compile(r"`[^`]*`"),
    re.compile(r"\b[0-9a-f]{12,}\b"),
    re.compile(r"\b(?=[0-9a-f]*[a-f])[0-9a-f]{7,}\b"),  # hash prefixes with a letter
    re.compile(r"(?<![\d,.])\d{7,}(?![\d,.])"),  # hash prefixes or timestamps of digits only: figures carry separators
    re.compile(r"\bv?\d+(?:\.\d+){2,}\b"),  # version strings such as 16.1.0
    re.compile(r"\b\d{4}-\d{2}-\d{2}(?:T[\d:.]+Z?)?\b"),
    re.compile(r"#\d+"),
    re.compile(r"\b[Oo]ption [1-3]\b"),
    re.compile(r"\bMADR \d\b"),
    re.compile(r"\[[a-z0-9][a-z0-9-]*\]"),  # citation ids may contain digits
    re.compile(r"\[\^\d+\]"),  # footnote markers and the start of their definitions
    re.compile(r"^---$", re.M),
]


def untraceable_numbers(text: str, allowed_values: set[float]) -> list[tuple[int, str]]:
    """(line number, token) of every number in `text` that no allowed value renders to."""
    allowed: set[str] = set()
    for v in allowed_values:
        allowed |= renderings(v)
    found = []
    in_front_matter = in_code = False
    for lineno, line in enumerate(text.splitlines(), 1):
        if lineno == 1 and line == "---":
            in_front_matter = True
            continue
        if in_front_matter:
            in_front_matter = line != "---"
            continue
        if line.startswith("```"):  # a fenced block is code the reader runs (a migration's SQL), not a claim
            in_code = not in_code
            continue
        if in_code:
            continue
        stripped = line
        for pattern in STRUCTURAL:
            stripped = pattern.sub(" ", stripped)
        for token in NUMBER.findall(stripped):
            token = token.rstrip(",")
            if token not in allowed:
                found.append((lineno, token))
    return found


@dataclass
class Guard:
    """Handed to the template as `guard`."""

    recommended_option: str
    option_titles: dict[str, str]
    costs: dict[str, float] = field(default_factory=dict)  # option -> its best variant's cost over the horizon ($)
    claims: list[str] = field(default_factory=list)
    runner_up_option: str = ""
    prose_dir: Path | None = None  # where the per-option prose lives (templates/adr_prose)

    def prose_template(self) -> str:
        """The template holding the prose that argues for the recommended option; rendering fails, naming the file to
        write, when no prose argues for it yet."""
        name = f"adr_prose/{self.recommended_option}.md.j2"
        if self.prose_dir is not None and not (self.prose_dir / f"{self.recommended_option}.md.j2").is_file():
            raise NarrativeError(
                f"the evidence recommends {self._costed(self.recommended_option)} and no prose argues for it: write "
                f"{self.prose_dir / (self.recommended_option + '.md.j2')} (the other options' files are the model)")
        return name

    def compares_with(self, option: str) -> str:
        """The prose contrasts the recommendation with this option: it must be the runner-up."""
        if option != self.runner_up_option:
            raise NarrativeError(
                f"the prose contrasts the recommendation with {self._costed(option)} but the evidence's runner-up is "
                f"{self._costed(self.runner_up_option)}; update the hand-written prose so it compares what the "
                "evidence compares")
        return ""

    def _costed(self, option: str) -> str:
        title = self.option_titles[option]
        return f"{title!r} (${self.costs[option]:,.0f} over the horizon)" if option in self.costs else repr(title)

    def argues_for(self, option: str) -> str:
        if option not in self.option_titles:
            raise NarrativeError(f"the prose argues for unknown option {option!r}")
        self.claims.append(option)
        if option != self.recommended_option:
            raise NarrativeError(
                f"the prose argues for {self._costed(option)} but the evidence recommends "
                f"{self._costed(self.recommended_option)}; update the hand-written prose of the "
                "template so it states what the evidence says"
            )
        return ""


# Text where an internal id may stand: code spans and blocks, link and image targets, URLs, citations, HTML comments.
NOT_PROSE = [
    re.compile(r"<!--.*?-->", re.S),
    re.compile(r"^```.*?^```", re.S | re.M),
    re.compile(r"`[^`\n]*`"),
    re.compile(r"\]\([^)]*\)"),
    re.compile(r"<[^>\s]+>"),
    re.compile(r"https?://\S+"),
    re.compile(r"\[[a-z0-9][a-z0-9-]*\]"),
]


def internal_ids(text: str) -> list[tuple[int, str]]:
    """(line number, id) of every internal snake_case id in the prose outside a code span (front matter
    skipped). Prose names things with ``blastpay.display_names``; ids and API names go in code spans."""
    from blastpay.display_names import SNAKE_ID

    body = text
    if body.startswith("---\n"):
        end = body.find("\n---\n", 4)
        if end != -1:  # keep the line count: blank out the front matter
            body = "\n" * body[: end + 5].count("\n") + body[end + 5:]
    for pattern in NOT_PROSE:
        body = pattern.sub(lambda m: "\n" * m.group(0).count("\n") + " ", body)
    return [(n, tok) for n, line in enumerate(body.splitlines(), 1) for tok in SNAKE_ID.findall(line)]


def check_ids(text: str, name: str) -> None:
    found = internal_ids(text)
    if found:
        listing = ", ".join(f"line {n}: {tok!r}" for n, tok in found[:8])
        more = f" (+{len(found) - 8} more)" if len(found) > 8 else ""
        raise NarrativeError(f"{name}: internal ids in the prose outside a code span: {listing}{more}; name them with "
                             "src/blastpay/display_names.py (template filter dn) or put API names in backticks")


# The first screen (after the front matter, up to the first section) is what the decision-maker reads in full.
FIRST_SCREEN_LINES = 40
FIRST_SCREEN_CODE_SPANS = 6  # only what the reader types or searches: a command, a file
BRACKETED_ID = re.compile(r"\[(?!\^)[a-z][a-z0-9]*(?:-[a-z0-9]+)+\](?!\()")  # [checkout-expires-at-window], not [^3] or [text](url)


def first_screen(text: str) -> list[str]:
    """The lines after the front matter and the generated-file comment, up to the first ``## `` heading."""
    lines = text.splitlines()
    start = 0
    if lines and lines[0] == "---":
        start = lines.index("---", 1) + 1
    body = lines[start:]
    while body and (not body[0].strip() or body[0].startswith("<!--") or body[0].startswith("src/blastpay/")):
        body = body[1:]  # the generated-file comment spans two lines
    end = next((i for i, line in enumerate(body) if line.startswith("## ")), len(body))
    return body[:end]


def check_first_screen(text: str, name: str) -> None:
    screen = first_screen(text)
    if len(screen) > FIRST_SCREEN_LINES:
        raise NarrativeError(f"{name}: the first screen is {len(screen)} lines, more than {FIRST_SCREEN_LINES}")
    spans = sum(len(re.findall(r"`[^`\n]+`", line)) for line in screen)
    if spans > FIRST_SCREEN_CODE_SPANS:
        raise NarrativeError(f"{name}: the first screen has {spans} code spans, more than {FIRST_SCREEN_CODE_SPANS}: "
                             "name things in words; keep code spans for what the reader types or searches")


def check_bracketed_ids(text: str, name: str) -> None:
    """Outside code spans and blocks, a source is cited by its footnote number, never by a bracketed registry id."""
    body = re.sub(r"^```.*?^```", lambda m: "\n" * m.group(0).count("\n"), text, flags=re.S | re.M)
    for n, line in enumerate(body.splitlines(), 1):
        found = BRACKETED_ID.findall(re.sub(r"`[^`\n]*`", " ", line))
        if found:
            raise NarrativeError(f"{name}: line {n}: bracketed source id {found[0]} in the prose; cite it with "
                                 "cite(id), which prints a numbered footnote")


def check_rendered(text: str, evidence_dir: Path, registry: Registry, cited: Iterable[str], name: str) -> None:
    check_ids(text, name)
    check_first_screen(text, name)
    check_bracketed_ids(text, name)
    allowed = evidence_values(evidence_dir) | registry_values(registry, cited)
    bad = untraceable_numbers(text, allowed)
    if bad:
        listing = ", ".join(f"line {n}: {tok!r}" for n, tok in bad[:8])
        more = f" (+{len(bad) - 8} more)" if len(bad) > 8 else ""
        raise NarrativeError(f"{name}: numbers not traceable to evidence or a cited source: {listing}{more}")
