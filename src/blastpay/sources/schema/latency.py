"""experiments/latency_scenarios.yaml: the first-click latency scenarios, each a mixture fitted to registry targets.

A target's `value` is an expression over registry ids: an id (that figure as a cumulative share), or
``{mean: [expr, ...]}``, ``{rest_share: {base: expr, of_rest: [expr, ...]}}`` or ``{ratio: [expr, expr]}``.
That the ids exist and give shares in (0, 1) is checked against the registry by `evidence.inputs`.
"""

from __future__ import annotations

from typing import Annotated, Any, Optional, Union

from pydantic import Discriminator, Field, StringConstraints, Tag, field_validator

from blastpay.sources.schema.common import HOURS_IN_A_YEAR, Bounds, InputModel, PositiveHours

COMPONENTS = ("attentive", "daily_check", "deferred")
SourceId = Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9-]*$")]


class Mean(InputModel):
    mean: list["Expression"] = Field(min_length=1, max_length=20)


class Ratio(InputModel):
    ratio: list["Expression"] = Field(min_length=2, max_length=2)


class RestShareOf(InputModel):
    base: "Expression"
    of_rest: list["Expression"] = Field(min_length=1, max_length=20)


class RestShare(InputModel):
    rest_share: RestShareOf




def _expression_kind(value: Any) -> str | None:
    if isinstance(value, str):
        return "id"
    if isinstance(value, dict) and len(value) == 1 and next(iter(value)) in ("mean", "ratio", "rest_share"):
        return str(next(iter(value)))
    return None


Expression = Annotated[
    Union[Annotated[SourceId, Tag("id")], Annotated[Mean, Tag("mean")], Annotated[Ratio, Tag("ratio")],
          Annotated[RestShare, Tag("rest_share")]],
    Discriminator(_expression_kind, custom_error_type="expression",
                  custom_error_message="must be a source id, {mean: [...]}, {ratio: [a, b]} or "
                                       "{rest_share: {base: ..., of_rest: [...]}}"),
]
for _model in (Mean, Ratio, RestShareOf, RestShare):
    _model.model_rebuild()

Positive = Annotated[float, Bounds(0, 1e6, low_open=True)]


class Component(InputModel):
    prior_median_h: PositiveHours = Field(description="the weak prior on the component's median, in hours")
    median_bounds_h: list[PositiveHours] = Field(min_length=2, max_length=2,
                                                 description="[lowest, highest] median the fit may choose, in hours")
    prior_sigma: Annotated[float, Bounds(0, 10, low_open=True)] = Field(description="the weak prior on the component's log-space spread")
    sigma_bounds: list[Annotated[float, Bounds(0, 10, low_open=True)]] = Field(min_length=2, max_length=2,
                                                            description="[lowest, highest] spread the fit may choose")
    start_weight: Annotated[float, Bounds(0, 1, low_open=True, high_open=True)] = Field(
        description="the fit's fixed starting weight")

    @field_validator("median_bounds_h", "sigma_bounds")
    @classmethod
    def _ordered(cls, value: list[float]) -> list[float]:
        if value[0] >= value[1]:
            raise ValueError(f"must be [lowest, highest] with lowest below highest, got {value}")
        return value


class Target(InputModel):
    value: Expression = Field(description="the cumulative share this target gives, from registry figures")
    at_hours: Optional[Annotated[float, Bounds(0, HOURS_IN_A_YEAR * 2, low_open=True)]] = Field(
        None, description="hours since send the share refers to (default: the figures' own at_hours)")
    weight: Optional[Annotated[float, Bounds(0, 100, low_open=True)]] = Field(None, description="multiplies the target's say in the fit")


class Scenario(InputModel):
    p: Annotated[float, Bounds(0, 1, low_open=True)] = Field(description="share of parents who ever click")
    second_email_response: Expression = Field(
        description="response of a second email relative to the first, from registry figures")
    targets: list[Target] = Field(min_length=1, max_length=50)


class LatencyScenarios(InputModel):
    target_sd: Annotated[float, Bounds(0, 1, low_open=True)] = Field(description="residual scale of a target (share)")
    prior_log_sd: Positive = Field(description="log-space standard deviation of the weak priors")
    tolerance: Annotated[float, Bounds(0, 1, low_open=True, high_open=True)] = Field(
        description="a fitted model must reproduce every target within this absolute share")
    components: dict[str, Component] = Field(description="the mixture's components, in order")
    scenarios: dict[str, Scenario] = Field(min_length=1, max_length=10)

    @field_validator("components")
    @classmethod
    def _the_three_components(cls, value: dict[str, Component]) -> dict[str, Component]:
        if tuple(value) != COMPONENTS:
            raise ValueError(f"must be {', '.join(COMPONENTS)} in this order, got {', '.join(value)}")
        return value
