"""The sources registry: every external fact the evidence or the ADR uses, with URL, quote and date read.

The registry is a directory of YAML files (experiments/sources/*.yaml), each a list of entries::

    - id: stripe-checkout-expires-at-window
      title: ...
      url: https://...
      quote: "verbatim, short"
      read: 2026-11-26
      via: shared/reference/stripe-facts.md   # optional: where the quote was taken from
      secondary: true                         # optional
      figure: {value: 0.029, unit: share}     # optional: the number code reads
      figure_context: {...}                   # optional: extra data for the code that reads it
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import yaml

ID_PATTERN = re.compile(r"^[a-z0-9][a-z0-9-]*$")
REQUIRED = ("id", "title", "url", "quote", "read")
OPTIONAL = ("via", "secondary", "figure", "figure_context", "note")
UNITS = {"share", "percent", "usd", "cents", "hours", "days", "count", "seconds"}
# The units a figure can be read in, and for each the stored units it converts from: (multiply, divide).
CONVERSIONS: dict[str, dict[str, tuple[float, float]]] = {
    "share": {"share": (1.0, 1.0), "percent": (1.0, 100.0)},
    "usd": {"usd": (1.0, 1.0), "cents": (1.0, 100.0)},
    "hours": {"hours": (1.0, 1.0), "days": (24.0, 1.0)},
}


class SourcesError(ValueError):
    """The registry is malformed, or a caller asked for an id it does not hold."""


@dataclass
class Registry:
    entries: dict[str, dict[str, Any]] = field(default_factory=dict)
    origin: dict[str, str] = field(default_factory=dict)  # id -> "file:line"

    def ids(self) -> list[str]:
        return sorted(self.entries)

    def get(self, source_id: str) -> dict[str, Any]:
        try:
            return self.entries[source_id]
        except KeyError:
            raise SourcesError(f"unknown source id {source_id!r} (not in the sources registry)") from None

    def figure(self, source_id: str) -> float:
        entry = self.get(source_id)
        fig = entry.get("figure")
        if fig is None:
            raise SourcesError(f"source {source_id!r} ({self.origin[source_id]}) has no figure")
        return float(fig["value"])

    def figure_in(self, source_id: str, unit: str) -> float:
        """The figure converted to `unit` ("share", "usd" or "hours"); SourcesError if its unit does not convert."""
        fig = self.get(source_id).get("figure")
        if fig is None:
            raise SourcesError(f"source {source_id!r} ({self.origin[source_id]}) has no figure")
        accepted = CONVERSIONS[unit]
        if fig.get("unit") not in accepted:
            raise SourcesError(f"source {source_id!r} has unit {fig.get('unit')!r}; {' or '.join(accepted)} expected")
        multiply, divide = accepted[fig["unit"]]
        return float(fig["value"]) * multiply / divide

    def __contains__(self, source_id: object) -> bool:
        return source_id in self.entries


def _fail(where: str, message: str) -> SourcesError:
    return SourcesError(f"{where}: {message}")


def _validate(entry: Any, where: str) -> dict[str, Any]:
    if not isinstance(entry, dict):
        raise _fail(where, "each entry must be a mapping")
    missing = [k for k in REQUIRED if k not in entry or entry[k] in (None, "")]
    if missing:
        raise _fail(where, f"entry is missing {', '.join(missing)}")
    unknown = sorted(set(entry) - set(REQUIRED) - set(OPTIONAL))
    if unknown:
        raise _fail(where, f"unknown field(s) {', '.join(unknown)}")
    if not isinstance(entry["id"], str) or not ID_PATTERN.match(entry["id"]):
        raise _fail(where, f"id {entry['id']!r} must match {ID_PATTERN.pattern}")
    if not isinstance(entry["url"], str) or not re.match(r"^https?://\S+$", entry["url"]):
        raise _fail(where, f"url {entry['url']!r} is not an http(s) URL")
    if not isinstance(entry["read"], date):
        raise _fail(where, f"read {entry['read']!r} must be an ISO date (YYYY-MM-DD)")
    for key in ("title", "quote"):
        if not isinstance(entry[key], str):
            raise _fail(where, f"{key} must be text")
    fig = entry.get("figure")
    if fig is not None:
        if not isinstance(fig, dict) or "value" not in fig:
            raise _fail(where, "figure must be a mapping with a value")
        if isinstance(fig["value"], bool) or not isinstance(fig["value"], (int, float)):
            raise _fail(where, f"figure value {fig['value']!r} is not a number")
        if fig.get("unit") not in UNITS:
            raise _fail(where, f"figure unit {fig.get('unit')!r} is not one of {', '.join(sorted(UNITS))}")
    return entry


def load_file(path: Path, registry: Registry) -> None:
    text = path.read_text(encoding="utf-8")
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{path}:{mark.line + 1}" if mark else str(path)
        raise _fail(where, f"malformed YAML: {getattr(exc, 'problem', None) or exc}") from None
    if data is None:
        return
    if not isinstance(data, list) or not isinstance(node, yaml.SequenceNode):
        raise _fail(f"{path}:1", "expected a YAML list of entries")
    for item, item_node in zip(data, node.value):
        where = f"{path}:{item_node.start_mark.line + 1}"
        entry = _validate(item, where)
        sid = entry["id"]
        if sid in registry.entries:
            raise _fail(where, f"duplicate id {sid!r} (first at {registry.origin[sid]})")
        registry.entries[sid] = entry
        registry.origin[sid] = where


def load_registry(directory: Path) -> Registry:
    """Load every *.yaml file of the registry directory; errors name the file and line."""
    if not directory.is_dir():
        raise SourcesError(f"{directory}: sources registry directory not found")
    registry = Registry()
    for path in sorted(directory.glob("*.yaml")):
        load_file(path, registry)
    return registry
