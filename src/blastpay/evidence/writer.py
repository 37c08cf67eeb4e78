"""The one evidence writer: every generated file goes through here, in a deterministic form.

CSV: columns sorted, rows sorted, fixed float format, "\n" line ends. JSON: sorted keys, two-space
indent, no NaN. Figures: PNG with fixed metadata and DPI. Each write is recorded for the manifest.

Precision: a float that is not a whole number is written with SIGNIFICANT_DIGITS significant digits (whole
numbers, such as cents and counts, exactly). Six digits is finer than any method here supports (the Monte Carlo
shares carry a standard error in the third digit, cited figures two or three digits) and far coarser than the
last-bit differences between CPUs' vectorised exp/log and BLAS kernels, so evidence is byte-identical on any
machine. Values that feed later notebooks are read back from these files, so downstream figures are computed
from the rounded values.
"""

from __future__ import annotations

import hashlib
import io
import json
import math
import os
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any, Mapping

MANIFEST_PARTS = ".manifest-parts"
SIGNIFICANT_DIGITS = 6
FLOAT_FORMAT = f"%.{SIGNIFICANT_DIGITS}g"
WHOLE_LIMIT = 2**53  # whole floats below this are exact integers and are written in full


def format_float(x: float) -> str:
    """The one float format of the evidence: whole numbers in full, others to SIGNIFICANT_DIGITS digits."""
    x = float(x)
    if x.is_integer() and abs(x) < WHOLE_LIMIT:
        return str(int(x))
    return FLOAT_FORMAT % x


def round_float(x: float) -> float:
    """x as the evidence states it (see format_float)."""
    x = float(x)
    return x if x.is_integer() and abs(x) < WHOLE_LIMIT else float(FLOAT_FORMAT % x)


class EvidenceError(ValueError):
    """Evidence is missing, malformed, or written outside the evidence tree."""


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _clean_json(obj: Any, where: str) -> Any:
    if isinstance(obj, float):
        if not math.isfinite(obj):
            raise EvidenceError(f"{where}: non-finite number {obj!r} cannot be written as JSON evidence")
        return round_float(obj)  # same precision as CSV: stable across platforms' last bits
    if isinstance(obj, dict):
        return {str(k): _clean_json(v, where) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_clean_json(v, where) for v in obj]
    if hasattr(obj, "item") and callable(obj.item):  # numpy scalars
        return _clean_json(obj.item(), where)
    return obj


def nan_to_none(obj: Any) -> Any:
    """Missing values (NaN from pandas) as JSON null: for "no value", not for a number gone wrong."""
    if isinstance(obj, float) and math.isnan(obj):
        return None
    if isinstance(obj, dict):
        return {k: nan_to_none(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [nan_to_none(v) for v in obj]
    if hasattr(obj, "item") and callable(obj.item):
        return nan_to_none(obj.item())
    return obj


def json_bytes(obj: Any, where: str = "json") -> bytes:
    return (json.dumps(_clean_json(obj, where), sort_keys=True, indent=2, ensure_ascii=False) + "\n").encode()


def csv_bytes(frame: Any) -> bytes:
    """A pandas DataFrame (or list of dicts) as CSV with sorted columns and rows."""
    import pandas as pd

    df = frame if isinstance(frame, pd.DataFrame) else pd.DataFrame(list(frame))
    df = df.reindex(sorted(df.columns, key=str), axis=1)
    if len(df.columns):
        df = df.sort_values(list(df.columns), kind="mergesort", na_position="last").reset_index(drop=True)
    buf = io.StringIO()
    df.to_csv(buf, index=False, float_format=format_float, lineterminator="\n")
    return buf.getvalue().encode()


def png_bytes(fig: Any) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=100, metadata={"Software": None}, bbox_inches=None)
    return buf.getvalue()


@dataclass
class EvidenceWriter:
    """Writes evidence files under `root` and records each one for the manifest."""

    root: Path
    producer: str
    seed: int | None = None
    inputs: dict[str, str] = field(default_factory=dict)  # input path -> sha256
    written: dict[str, str] = field(default_factory=dict)  # relative path -> sha256

    def _target(self, rel: str) -> Path:
        pure = PurePosixPath(rel)
        if pure.is_absolute() or ".." in pure.parts or not pure.parts or pure.parts[0].startswith("."):
            raise EvidenceError(f"{rel}: evidence paths are relative, inside the evidence tree")
        if rel in self.written:
            raise EvidenceError(f"{rel}: written twice by {self.producer}")
        return self.root / pure

    # Each write returns the relative path (never the staging path), so notebook output stays reproducible.
    def write_bytes(self, rel: str, data: bytes) -> str:
        target = self._target(rel)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
        self.written[rel] = sha256_bytes(data)
        self._flush_manifest_part()
        return rel

    def csv(self, rel: str, frame: Any) -> str:
        return self.write_bytes(rel, csv_bytes(frame))

    def json(self, rel: str, obj: Any) -> str:
        return self.write_bytes(rel, json_bytes(obj, rel))

    def text(self, rel: str, text: str) -> str:
        return self.write_bytes(rel, text.encode())

    def figure(self, rel: str, fig: Any) -> str:
        import matplotlib.pyplot as plt

        data = png_bytes(fig)
        plt.close(fig)
        return self.write_bytes(rel, data)

    def _flush_manifest_part(self) -> None:
        parts = self.root / MANIFEST_PARTS
        parts.mkdir(parents=True, exist_ok=True)
        record = {"producer": self.producer, "seed": self.seed, "inputs": self.inputs, "files": self.written}
        (parts / f"{self.producer}.json").write_bytes(json_bytes(record))


def hash_paths(paths: list[Path], root: Path) -> dict[str, str]:
    """sha256 of each input file (directories expanded, sorted), keyed by repo-relative path."""
    out: dict[str, str] = {}
    for path in paths:
        files = sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]
        for f in files:
            if "__pycache__" in f.parts:
                continue
            rel = f.relative_to(root).as_posix() if f.is_relative_to(root) else f.as_posix()
            try:
                out[rel] = sha256_bytes(f.read_bytes())
            except FileNotFoundError:
                raise EvidenceError(f"{rel}: declared input file not found") from None
    return out


def digest(mapping: Mapping[str, Any]) -> str:
    return sha256_bytes(json_bytes(mapping))


def read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text())
    except FileNotFoundError:
        raise EvidenceError(f"{path}: evidence file missing (run `make evidence`)") from None
    except json.JSONDecodeError as exc:
        raise EvidenceError(f"{path}:{exc.lineno}: malformed JSON evidence: {exc.msg}") from None


def evidence_root_from_env() -> Path:
    value = os.environ.get("BLASTPAY_EVIDENCE_DIR")
    if not value:
        raise EvidenceError("BLASTPAY_EVIDENCE_DIR is not set: notebooks write evidence only under `blastpay evidence`")
    return Path(value)
