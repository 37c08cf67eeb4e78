"""experiments/cohort.yaml: the monthly-fee retry cohort (notebook 03), every combination of cancel counts replayed."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field, ValidationInfo, field_validator

from blastpay.sources.schema.common import Bounds, InputModel, PositiveHours

MAX_COMBINATIONS = 10_000  # cancel counts ** parents: every combination is replayed through the emulator


class CohortParams(InputModel):
    parents: list[Annotated[int, Bounds(1, 10**12)]] = Field(min_length=1, max_length=10, description="the parents' ids")
    cancels_min: Annotated[int, Bounds(0, 20)] = Field(description="fewest canceled sessions a parent may have had")
    cancels_max: Annotated[int, Bounds(0, 20)] = Field(description="most canceled sessions a parent may have had")
    return_after_hours: list[PositiveHours] = Field(
        min_length=1, max_length=20, description="hours after pressing Back when a parent comes back")
    first_click_after_hours: PositiveHours = Field(description="first click, hours after the email went out")

    @field_validator("parents")
    @classmethod
    def _distinct(cls, value: list[int]) -> list[int]:
        if len(set(value)) != len(value):
            raise ValueError("parents must not repeat")
        return value

    @field_validator("cancels_max")
    @classmethod
    def _bounded(cls, value: int, info: ValidationInfo) -> int:
        low, parents = info.data.get("cancels_min"), info.data.get("parents")
        if low is not None and low > value:
            raise ValueError(f"cancels_max ({value}) is below cancels_min ({low})")
        if low is not None and parents:
            combinations = (value - low + 1) ** len(parents)
            if combinations > MAX_COMBINATIONS:
                raise ValueError(f"{combinations} combinations of cancel counts to replay; at most {MAX_COMBINATIONS}")
        return value
