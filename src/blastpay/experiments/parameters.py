"""The experiments' own committed parameters, read through the one input reader and checked: the blast
(experiments/blast.yaml, notebook 02) and the retry cohort (experiments/cohort.yaml, notebook 03). Light on
purpose: `blastpay evidence` checks every input with these before the first notebook starts."""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable

from blastpay.config import ConfigError
from blastpay.sources.inputs import read_document, read_mapping

BLAST_PARAMS = {  # key: (type, lowest allowed, highest allowed, what it is)
    "parents": (int, 1, 10_000_000, "parents per scenario and variant in the default run"),
    "parents_full": (int, 1, 10_000_000, "parents per scenario and variant under --full"),
    "reminder_hours": ((int, float), 0, 24 * 365, "hours after the blast when unpaid orders get a reminder"),
    "scanner_share": ((int, float), 0, 1, "share of parents behind a mail scanner"),
    "validation_parents": (int, 1, 10_000, "parents replayed through the emulator-driven flows"),
    "recovery_consent_share": ((int, float), 0, 1, "assumed share of parents whose session may send Stripe's recovery email"),
}


def load_blast_params(path: Path) -> dict[str, Any]:
    """Read experiments/blast.yaml and check every parameter; errors name file:line and what is expected."""
    doc = read_document(path, ConfigError, "blast parameters file")
    for key, (kind, low, high, what) in BLAST_PARAMS.items():
        value = doc.data.get(key)
        if key not in doc.data:
            raise ConfigError(f"{doc.where()}: missing {key} ({what})")
        if isinstance(value, bool) or not isinstance(value, kind) or not low <= value <= high:
            raise ConfigError(f"{doc.where(key)}: {key} must be a number from {low:g} to {high:g} ({what}), got {value!r}")
    unknown = sorted(set(doc.data) - set(BLAST_PARAMS))
    if unknown:
        raise ConfigError(f"{doc.where(unknown[0])}: unknown parameter {unknown[0]!r} (expected {', '.join(BLAST_PARAMS)})")
    return dict(doc.data)


@dataclass(frozen=True)
class CohortConfig:
    parents: tuple[int, ...]
    cancels: tuple[int, ...]  # the counts each parent may have
    return_after_hours: tuple[float, ...]
    first_click_after_hours: float
    amount_cents: int

    @classmethod
    def from_yaml(cls, cohort: dict[str, Any], fees: dict[str, Any]) -> "CohortConfig":
        return cls(
            parents=tuple(int(p) for p in cohort["parents"]),
            cancels=tuple(range(int(cohort["cancels_min"]), int(cohort["cancels_max"]) + 1)),
            return_after_hours=tuple(float(h) for h in cohort["return_after_hours"]),
            first_click_after_hours=float(cohort["first_click_after_hours"]),
            amount_cents=int(round(float(fees["amounts_usd"]["monthly_fee"]) * 100)),
        )

    def combinations(self) -> Iterable[tuple[int, ...]]:
        return itertools.product(self.cancels, repeat=len(self.parents))


def load_cohort(cohort_path: Path, fees_path: Path) -> CohortConfig:
    """experiments/cohort.yaml (with the monthly fee from experiments/fees.yaml), errors naming the file."""
    cohort = read_mapping(cohort_path, ConfigError, "retry cohort file")
    fees = read_mapping(fees_path, ConfigError, "fee parameters file")
    try:
        return CohortConfig.from_yaml(cohort, fees)
    except KeyError as exc:
        raise ConfigError(f"{cohort_path}: missing {exc.args[0]!r}") from None
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"{cohort_path}: {exc}") from None
