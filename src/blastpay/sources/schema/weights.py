"""experiments/weights.yaml: the decision model's weights, the metrics of each dimension, and the weight sweep.

A metric's score is 1 for the best feasible variant and falls linearly with the distance from the best, reaching 0
at `scale` (in the metric's own unit). Weights are relative; they need not sum to anything, but not all may be 0.
That each metric names one the evidence provides is checked by `evidence.inputs`.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, field_validator

from blastpay.sources.schema.common import Bounds, InputModel, Text


class Metric(InputModel):
    name: Text = Field(description="the evidence metric scored")
    better: Literal["higher", "lower"] = Field(description="which direction of the metric is better")
    scale: Annotated[float, Bounds(0, 1e9, low_open=True)] = Field(description="the gap from the best judged to matter fully")


class Dimension(InputModel):
    weight: Annotated[float, Bounds(0, 1000)] = Field(description="the dimension's relative weight")
    why: Text = Field(description="why the dimension matters, in a sentence")
    metrics: list[Metric] = Field(min_length=1, max_length=50,
                                  description="the dimension's score is the mean of its metrics' scores")


class Sweep(InputModel):
    samples: Annotated[int, Bounds(1, 1_000_000)] = Field(description="Dirichlet weight vectors drawn around the stated weights")
    concentration: Annotated[float, Bounds(0, 10_000, low_open=True)] = Field(
        description="alpha = concentration x each weight's stated share")
    corner_share: Annotated[float, Bounds(0, 1, low_open=True, high_open=True)] = Field(
        description="one dimension's share at a corner where one driver dominates")


class Weights(InputModel):
    sweep: Sweep
    dimensions: dict[str, Dimension] = Field(min_length=1, max_length=50)

    @field_validator("dimensions")
    @classmethod
    def _not_all_zero(cls, value: dict[str, Dimension]) -> dict[str, Dimension]:
        if sum(d.weight for d in value.values()) <= 0:
            raise ValueError("all weights are zero; at least one dimension needs a positive weight")
        return value
