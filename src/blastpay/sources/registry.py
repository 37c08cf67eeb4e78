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

from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from blastpay.sources.inputs import InputError, load_input

# The units a figure can be read in, and for each the stored units it converts from: (multiply, divide).
CONVERSIONS: dict[str, dict[str, tuple[float, float]]] = {
    "share": {"share": (1.0, 1.0), "percent": (1.0, 100.0)},
    "usd": {"usd": (1.0, 1.0), "cents": (1.0, 100.0)},
    "hours": {"hours": (1.0, 1.0), "days": (24.0, 1.0)},
}


class SourcesError(InputError):
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


def load_file(path: Path, registry: Registry, as_of: date | None = None) -> None:
    """Add the entries of one registry file (validated against `schema.sources.SourcesFile`)."""
    from blastpay.sources.schema.sources import SourcesFile

    _entries, doc = load_input(path, SourcesFile, "sources registry file", SourcesError,
                               context={"as_of": as_of})
    for i, entry in enumerate(doc.data):
        where = doc.where(i)
        sid = entry["id"]
        if sid in registry.entries:
            raise _fail(where, f"duplicate id {sid!r} (first at {registry.origin[sid]})")
        registry.entries[sid] = entry
        registry.origin[sid] = where


def _pinned_as_of(directory: Path) -> date | None:
    """The as-of date of the run.yaml beside the registry directory (experiments/), if there is one."""
    run = directory.parent / "run.yaml"
    if not run.exists():
        return None
    from blastpay.config import load_run_params

    return load_run_params(run).as_of


def load_registry(directory: Path, as_of: date | None = None) -> Registry:
    """Load every *.yaml file of the registry directory; errors name the file and line. No entry may have been read
    after `as_of` (default: the pinned as-of date of the run.yaml beside the directory)."""
    if not directory.is_dir():
        raise SourcesError(f"{directory}: sources registry directory not found")
    registry = Registry()
    as_of = as_of or _pinned_as_of(Path(directory))
    for path in sorted(directory.glob("*.yaml")):
        load_file(path, registry, as_of)
    return registry
