"""What templates read: the evidence tree (JSON and CSV, each read recorded) and citations of the registry."""

from __future__ import annotations

import csv
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from blastpay.evidence.writer import EvidenceError, read_json
from blastpay.sources.registry import Registry


@dataclass
class EvidenceView:
    """Read-only access to an evidence tree for templates: ev("path/file.json") -> parsed JSON."""

    root: Path
    read: set[str] = field(default_factory=set)

    def __call__(self, rel: str) -> Any:
        self.read.add(rel)
        return read_json(self.root / rel)

    def exists(self, rel: str) -> bool:
        return (self.root / rel).is_file()


@dataclass
class Citations:
    """``cite(id)`` in a template: a numbered footnote marker (``[^3]``), the same number for the same source; the
    document lists ``used`` at its end. The reader sees a number, never a registry id."""

    registry: Registry
    used: list[str] = field(default_factory=list)

    def __call__(self, source_id: str) -> str:
        self.registry.get(source_id)  # raises SourcesError for an unknown id
        if source_id not in self.used:
            self.used.append(source_id)
        return f"[^{self.used.index(source_id) + 1}]"

    def number(self, source_id: str) -> int:
        return self.used.index(source_id) + 1


def read_csv(ev: EvidenceView, rel: str) -> list[dict[str, str]]:
    ev.read.add(rel)
    path = ev.root / rel
    if not path.is_file():
        raise EvidenceError(f"{path}: evidence file missing (run `make evidence`)")
    with path.open(newline="") as fh:
        return list(csv.DictReader(fh))
