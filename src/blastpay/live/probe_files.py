"""Where probe records live, how they are named, found, read and written (atomically).

A probe run writes ``<dir>/<YYYY-MM-DD>-probe.json`` (UTC date of the run; a second
run on the same day gets ``-probe-2.json``, ``-probe-3.json``...). ``<dir>`` is
``experiments/live/`` in the repository, or ``$BLASTPAY_LIVE_DIR`` when set. These
files are inputs: a person's test-mode run that the evidence cites, committed by that
person; nothing regenerates them.
"""
from __future__ import annotations

import json
import os
import re
from datetime import date
from pathlib import Path
from typing import Any

from blastpay.atomic_file import write_atomically
from blastpay.live.errors import LiveProbeError

DIR_ENV = "BLASTPAY_LIVE_DIR"
FORMAT = "blastpay-live-probe/1"
_NAME = re.compile(r"(\d{4}-\d{2}-\d{2})-probe(?:-(\d+))?\.json")


def repository_root() -> Path:
    return Path(__file__).resolve().parents[3]


def probe_dir() -> Path:
    override = os.environ.get(DIR_ENV)
    return Path(override) if override else repository_root() / "experiments" / "live"


def _order(path: Path) -> tuple[str, int] | None:
    match = _NAME.fullmatch(path.name)
    if match is None:
        return None
    return match.group(1), int(match.group(2) or 1)


def probe_files(directory: Path) -> list[Path]:
    """Probe records in ``directory``, oldest first."""
    if not directory.is_dir():
        return []
    found = [(order, p) for p in directory.iterdir() if (order := _order(p)) is not None]
    return [p for _, p in sorted(found)]


def newest_probe_file(directory: Path) -> Path:
    files = probe_files(directory)
    if not files:
        raise LiveProbeError(f"no probe record (YYYY-MM-DD-probe.json) in {directory}; run `blastpay live probe` first")
    return files[-1]


def new_probe_path(directory: Path, day: date) -> Path:
    """The first free ``<day>-probe[-N].json`` name in ``directory``."""
    stem = day.isoformat()
    candidate = directory / f"{stem}-probe.json"
    n = 2
    while candidate.exists():
        candidate = directory / f"{stem}-probe-{n}.json"
        n += 1
    return candidate


def write_probe(path: Path, record: dict[str, Any]) -> None:
    """Write a probe record as JSON, atomically (readers never see half a file)."""
    write_atomically(path, json.dumps(record, indent=2, sort_keys=False, ensure_ascii=False) + "\n")


def read_probe(path: Path, as_of: date | None = None) -> dict[str, Any]:
    """A probe record as written, checked against `schema.live_probe.LiveProbe` (and, given `as_of`, dated no
    later than it); LiveProbeError naming file:line on the first problem."""
    from blastpay.sources.inputs import read_document, validate
    from blastpay.sources.schema.live_probe import LiveProbe

    if not path.exists():
        raise LiveProbeError(f"probe record not found: {path}")
    doc = read_document(path, "probe record", LiveProbeError)
    if not isinstance(doc.data, dict) or doc.data.get("format") != FORMAT:
        raise LiveProbeError(f"{doc.where('format')}: {path.name} is not a probe record (expected format {FORMAT!r})")
    validate(doc, LiveProbe, LiveProbeError, context={"as_of": as_of})
    return doc.data
