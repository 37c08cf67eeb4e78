"""The decision's committed inputs, typed and checked: the club's numbers (``experiments/club.yaml``), how often each
fault happens (``experiments/likelihood.yaml``) and what each kind of migration step takes
(``experiments/effort.yaml``). A bad value is one line naming file:line and the key."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any, Literal, Optional

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from blastpay.config import ConfigError
from blastpay.sources.inputs import read_document


class DecisionInputError(ConfigError):
    """A decision input is missing, malformed or inconsistent (one line, file:line)."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


Share = Field(ge=0.0, le=1.0)


class VolumesIn(_Strict):
    blasts_per_year: float = Field(gt=0, le=10_000, description="blasts a year (placeholder)")
    orders_per_blast: float = Field(gt=0, le=1_000_000, description="orders a blast (placeholder)")
    fee_usd: float = Field(gt=0, le=100_000, description="the average fee a blast asks, in dollars (placeholder)")


class AvailabilityIn(_Strict):
    central: float = Field(gt=0.0, le=1.0)
    sweep: list[float] = Field(min_length=1)

    @field_validator("sweep")
    @classmethod
    def _shares(cls, v: list[float]) -> list[float]:
        if any(not (0 < x <= 1) for x in v):
            raise ValueError("every swept availability must be above 0 and at most 1")
        return v


class BasketballApiIn(_Strict):
    availability: AvailabilityIn


class PricesIn(_Strict):
    support_contact_minutes: float = Field(ge=0, le=10_000)
    staff_hour_usd: float = Field(ge=0, le=10_000)
    error_page_contact_share: float = Share
    engineer_day_usd: float = Field(ge=0, le=100_000)
    horizon_years: float = Field(gt=0, le=50)


class SweepsIn(_Strict):
    blasts_per_year: list[float] = Field(min_length=1)
    orders_per_blast: list[float] = Field(min_length=1)
    fee_usd: list[float] = Field(min_length=1)

    @model_validator(mode="after")
    def _positive(self) -> "SweepsIn":
        for name in ("blasts_per_year", "orders_per_blast", "fee_usd"):
            if any(x <= 0 for x in getattr(self, name)):
                raise ValueError(f"{name}: every swept value must be positive")
        return self


class ClubIn(_Strict):
    volumes: VolumesIn
    retry_cohort_share: float = Share
    basketball_api: BasketballApiIn
    prices: PricesIn
    sweeps: SweepsIn


class ComponentIn(_Strict):
    availability_from: Optional[Literal["club"]] = None
    availability_source: Optional[str] = None

    @model_validator(mode="after")
    def _one(self) -> "ComponentIn":
        if (self.availability_from is None) == (self.availability_source is None):
            raise ValueError("give exactly one of availability_from: club or availability_source: <source id>")
        return self


class FaultLikelihoodIn(_Strict):
    baseline: bool = False
    share_of: Optional[str] = None
    share: Optional[float] = Field(default=None, ge=0.0, le=1.0)
    per_year: Optional[float] = Field(default=None, ge=0.0, le=10_000)
    per_order: Optional[float] = Field(default=None, ge=0.0, le=1.0)
    while_: Optional[str] = Field(default=None, alias="while")
    counts: Optional[list[Literal["clicks", "blast"]]] = Field(default=None, min_length=1)
    cell_orders: Literal["1", "all"] = "1"
    why: str = ""

    @model_validator(mode="after")
    def _one_way(self) -> "FaultLikelihoodIn":
        ways = [self.baseline, self.share_of is not None, self.per_year is not None, self.per_order is not None]
        if sum(ways) != 1:
            raise ValueError("give exactly one of baseline, share_of (with share), per_year or per_order")
        if (self.share_of is None) != (self.share is None):
            raise ValueError("share_of and share go together")
        if self.while_ is not None and self.per_order is None:
            raise ValueError("`while` applies to per_order only")
        if not self.baseline and not self.why.strip():
            raise ValueError("say why: a source id of the sources registry, or ASSUMPTION and on what it rests")
        return self


class LikelihoodIn(_Strict):
    components: dict[str, ComponentIn] = Field(min_length=1)
    faults: dict[str, FaultLikelihoodIn] = Field(min_length=1)

    @model_validator(mode="after")
    def _components(self) -> "LikelihoodIn":
        for name, f in self.faults.items():
            for comp in (f.share_of, f.while_):
                if comp is not None and comp not in self.components:
                    raise ValueError(f"faults.{name}: unknown component {comp!r} (known: {', '.join(self.components)})")
        shares: dict[str, float] = {}
        for f in self.faults.values():
            if f.share_of is not None:
                shares[f.share_of] = shares.get(f.share_of, 0.0) + float(f.share or 0.0)
        for comp, total in shares.items():
            if not math.isclose(total, 1.0, abs_tol=1e-9):
                raise ValueError(f"the shares of component {comp!r} add up to {total:g}, not 1")
        return self


class EffortIn(_Strict):
    unit_days: dict[str, float]


def _locate(doc: Any, loc: tuple[Any, ...]) -> str:
    keys = [("while" if k == "while_" else k) for k in loc if not isinstance(k, str) or not k.startswith("function-")]
    return doc.where(*keys)


def load(path: Path, model: type[BaseModel], what: str) -> Any:
    """Read and validate one input; the first problem as one line: file:line: key.path: message."""
    doc = read_document(path, DecisionInputError, what)
    try:
        return model.model_validate(doc.data)
    except ValidationError as exc:
        errors = exc.errors()
        # a misspelt key shows as an unknown key and a missing one: name the unknown one, it says what to fix
        err = next((e for e in errors if e.get("type") == "extra_forbidden"), errors[0])
        loc = tuple(err.get("loc", ()))
        key = ".".join(str(k) for k in loc) or "(top level)"
        message = err.get("msg", "invalid").removeprefix("Value error, ")
        if err.get("type") == "extra_forbidden":
            message = "unknown key"
        raise DecisionInputError(f"{_locate(doc, loc)}: {key}: {message}") from None


def load_club(path: Path) -> ClubIn:
    return load(path, ClubIn, "club file")


def load_likelihood(path: Path, faults: list[str]) -> LikelihoodIn:
    """likelihood.yaml, with exactly one entry per fault of the fault list."""
    like = load(path, LikelihoodIn, "likelihood file")
    missing = [f for f in faults if f not in like.faults]
    extra = [f for f in like.faults if f not in faults]
    if missing or extra:
        doc = read_document(path, DecisionInputError, "likelihood file")
        parts = ([f"no entry for fault(s) {', '.join(missing)}"] if missing else []) + (
            [f"fault(s) {', '.join(extra)} are not in experiments/faults.yaml"] if extra else [])
        raise DecisionInputError(f"{doc.where('faults', *(extra[:1]))}: faults: {'; '.join(parts)}")
    return like


def load_effort(path: Path) -> dict[str, float]:
    from blastpay.models.effort import EffortError, check_unit_days

    effort = load(path, EffortIn, "effort file")
    try:
        return check_unit_days(effort.unit_days, str(path))
    except EffortError as exc:
        doc = read_document(path, DecisionInputError, "effort file")
        raise DecisionInputError(f"{doc.where('unit_days')}: {str(exc).split(': ', 1)[1]}") from None
