"""What every input model shares: unknown keys refused, no type coercion (a string where a number belongs is an
error, not a number), every number finite and within a stated range, dates not after the pinned as-of date."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, ValidationInfo

HOURS_IN_A_YEAR = 24 * 366
MAX_USD = 1_000_000.0  # no order, fee or figure in US dollars goes near this


class InputModel(BaseModel):
    """A committed input's mapping: unknown keys refused, types strict, floats finite."""

    model_config = ConfigDict(extra="forbid", strict=True, allow_inf_nan=False, frozen=True)


def _show(value: float) -> str:
    return f"{value:g}" if isinstance(value, float) else str(value)


def _range_check(low: float | None, high: float | None, low_open: bool, high_open: bool) -> Any:
    def check(value: Any) -> Any:
        below = low is not None and (value <= low if low_open else value < low)
        above = high is not None and (value >= high if high_open else value > high)
        if below or above:
            if low is not None and high is not None and not (low_open or high_open):
                raise ValueError(f"must be from {_show(low)} to {_show(high)}")
            parts = []
            if low is not None:
                parts.append(f"{'above' if low_open else 'at least'} {_show(low)}")
            if high is not None:
                parts.append(f"{'below' if high_open else 'at most'} {_show(high)}")
            raise ValueError("must be " + " and ".join(parts))
        return value
    return check


def Bounds(low: float | None = None, high: float | None = None, *, low_open: bool = False,
           high_open: bool = False) -> Any:
    """The range of a number, as metadata: ``Annotated[float, Bounds(0, 1)]`` is a finite number (an integer is
    accepted) from 0 to 1, ``Annotated[int, Bounds(1, 10)]`` a whole number (not a boolean); `low_open` and
    `high_open` exclude the bound."""
    return AfterValidator(_range_check(low, high, low_open, high_open))


Share = Annotated[float, Bounds(0, 1)]
Hours = Annotated[float, Bounds(0, HOURS_IN_A_YEAR)]
PositiveHours = Annotated[float, Bounds(0, HOURS_IN_A_YEAR, low_open=True)]
Usd = Annotated[float, Bounds(0, MAX_USD, low_open=True)]


def _not_after_as_of(value: date, info: ValidationInfo) -> date:
    as_of = (info.context or {}).get("as_of")
    if as_of is not None and value > as_of:
        raise ValueError(f"{value.isoformat()} is after the pinned as-of date {as_of.isoformat()} "
                         "(experiments/run.yaml as_of)")
    return value


def _iso_date_text(value: Any) -> Any:
    if isinstance(value, str):
        try:
            return date.fromisoformat(value)
        except ValueError:
            raise ValueError("must be an ISO date (YYYY-MM-DD)") from None
    return value


# A date read from YAML (already a date) that may not lie after the pinned as-of date.
PastDate = Annotated[date, AfterValidator(_not_after_as_of)]
# The same, written as text (JSON has no dates).
PastDateText = Annotated[date, BeforeValidator(_iso_date_text), AfterValidator(_not_after_as_of)]


def _non_empty(text: str) -> str:
    if not text.strip():
        raise ValueError("must be non-empty text")
    return text


Text = Annotated[str, AfterValidator(_non_empty)]
