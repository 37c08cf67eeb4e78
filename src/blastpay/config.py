"""Where things live and the fixed run parameters every generating step shares."""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from blastpay.sources.inputs import InputError, load_input

PACKAGE_DIR = Path(__file__).resolve().parent


def repo_root() -> Path:
    """The repository root: BLASTPAY_ROOT if set, else the checkout this package was installed from."""
    env = os.environ.get("BLASTPAY_ROOT")
    if env:
        return Path(env).resolve()
    return PACKAGE_DIR.parents[1]


ROOT = repo_root()
EXPERIMENTS_DIR = ROOT / "experiments"
SOURCES_DIR = EXPERIMENTS_DIR / "sources"
RUN_PARAMS_FILE = EXPERIMENTS_DIR / "run.yaml"
NOTEBOOKS_DIR = ROOT / "notebooks"
EVIDENCE_DIR = ROOT / "evidence"
DOCS_DIR = ROOT / "docs"
TEMPLATES_DIR = PACKAGE_DIR / "templates"
ADR_PATH = DOCS_DIR / "adr-payment-blast-pattern.md"


class ConfigError(InputError):
    """A committed input file is missing or malformed."""


@dataclass(frozen=True)
class RunParams:
    """Parameters pinned for every generating step, so that two runs give the same bytes."""

    as_of: date
    seed: int

    def env(self) -> dict[str, str]:
        return {
            "TZ": "UTC",
            "MPLBACKEND": "Agg",
            "PYTHONHASHSEED": "0",
            "BLASTPAY_AS_OF": self.as_of.isoformat(),
            "BLASTPAY_SEED": str(self.seed),
            "SOURCE_DATE_EPOCH": "0",
        }


def load_run_params(path: Path | None = None) -> RunParams:
    """Read experiments/run.yaml: `as_of` (ISO date used instead of "now") and `seed`."""
    from blastpay.sources.schema.run import RunInput

    run, _doc = load_input(path or RUN_PARAMS_FILE, RunInput, "run parameters file", ConfigError)
    return RunParams(as_of=run.as_of, seed=run.seed)
