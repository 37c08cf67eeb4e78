"""The experiments' own committed parameters, read through the one input reader and checked: the blast
(experiments/blast.yaml, notebook 02) and the retry cohort (experiments/cohort.yaml, notebook 03). Light on
purpose: `blastpay evidence` checks every input with these before the first notebook starts."""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable

from blastpay.config import ConfigError
from blastpay.sources.inputs import load_input
from blastpay.sources.schema.cohort import CohortParams


def load_blast_params(path: Path) -> dict[str, Any]:
    """Read experiments/blast.yaml, checked against `schema.blast.BlastParams`; the mapping as read."""
    from blastpay.sources.schema.blast import BlastParams

    _params, doc = load_input(path, BlastParams, "blast parameters file", ConfigError)
    return dict(doc.data)


@dataclass(frozen=True)
class CohortConfig:
    parents: tuple[int, ...]
    cancels: tuple[int, ...]  # the counts each parent may have
    return_after_hours: tuple[float, ...]
    first_click_after_hours: float
    amount_cents: int

    @classmethod
    def from_params(cls, cohort: CohortParams, monthly_fee_usd: float) -> "CohortConfig":
        return cls(
            parents=tuple(cohort.parents),
            cancels=tuple(range(cohort.cancels_min, cohort.cancels_max + 1)),
            return_after_hours=tuple(float(h) for h in cohort.return_after_hours),
            first_click_after_hours=float(cohort.first_click_after_hours),
            amount_cents=int(round(float(monthly_fee_usd) * 100)),
        )

    def combinations(self) -> Iterable[tuple[int, ...]]:
        return itertools.product(self.cancels, repeat=len(self.parents))


def load_cohort(cohort_path: Path, fees_path: Path) -> CohortConfig:
    """experiments/cohort.yaml (with the monthly fee from experiments/fees.yaml), errors naming file:line."""
    from blastpay.models.fees import load_fee_params
    from blastpay.sources.inputs import read_document

    cohort, _doc = load_input(cohort_path, CohortParams, "retry cohort file", ConfigError)
    fees = load_fee_params(fees_path)
    if "monthly_fee" not in fees["amounts_usd"]:
        where = read_document(fees_path, "fee parameters file", ConfigError).where("amounts_usd")
        raise ConfigError(f"{where}: amounts_usd.monthly_fee: missing (the retry cohort's amount)")
    return CohortConfig.from_params(cohort, fees["amounts_usd"]["monthly_fee"])
