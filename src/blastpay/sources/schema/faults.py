"""experiments/faults.yaml: the fault list every variant runs (experiments.failure_modes), with the assumptions of
return behaviour and their sweep. Times are hours after the blast; a fault is an outage with a start and a duration,
or a scenario played out by the parents.

`Fault` is the one place a fault's keys are stated: a new per-fault key (or an optional sub-mapping, a model of its
own) is one more field here, and `faults.yaml` may carry it on any fault at once.
"""

from __future__ import annotations

from typing import Literal, Optional

from pydantic import Field, ValidationInfo, field_validator, model_validator

from blastpay.sources.schema.common import Hours, InputModel, PositiveHours, Share

Down = Literal["down"]
OUTAGES = ("stripe_api", "stripe_pages", "server", "database", "webhooks", "restore_blast_tables",
           "wrong_token_key", "stripe_secret_key")


class Fault(InputModel):
    stripe_api: Optional[Literal["500", "429"]] = Field(None, description="what Stripe's API answers during the outage")
    stripe_pages: Optional[Down] = Field(None, description="Stripe's hosted pages down too")
    server: Optional[Down] = Field(None, description="our own server down")
    database: Optional[Down] = Field(None, description="our database down or locked")
    webhooks: Optional[Down] = Field(None, description="our webhook endpoint down")
    restore_blast_tables: Optional[bool] = Field(
        None, description="the blast's tables restored from a backup (tokens and link rows lost)")
    wrong_token_key: Optional[bool] = Field(None, description="a deploy with a rotated or wrong token signing key")
    stripe_secret_key: Optional[Literal["wrong"]] = Field(None, description="our Stripe secret key wrong or rotated")
    scenario: Optional[Literal["scanner", "cancel", "amount_change", "two_tabs", "second_visit"]] = Field(
        None, description="what the parents or the club do instead of (or besides) an outage")
    start: Optional[Hours] = Field(None, description="hours after the blast when the outage starts")
    hours: Optional[PositiveHours] = Field(None, description="how long the outage lasts, in hours")

    @model_validator(mode="after")
    def _an_outage_has_a_start(self) -> "Fault":
        outage = [name for name in OUTAGES if getattr(self, name) not in (None, False)]
        if outage and self.start is None:
            raise ValueError(f"the outage ({outage[0]}) needs a start (hours after the blast)")
        if self.hours is not None and self.start is None:
            raise ValueError("hours needs a start")
        return self


class ErrorReturnShare(InputModel):
    central: Share = Field(description="the central value of the assumption")
    sweep: list[Share] = Field(min_length=1, max_length=20, description="every value the robustness sweep uses")


class FaultPlanInput(InputModel):
    first_click_hours: list[Hours] = Field(
        min_length=1, max_length=50, description="first-click times; two parents (orders) per time")
    horizon_hours: PositiveHours = Field(description="measures are taken from the blast to here")
    probe_every_hours: PositiveHours = Field(description="how often, besides after every event, a way to pay is asked")
    error_return_after_hours: PositiveHours = Field(
        description="hours after an error page when a returning parent comes back")
    reminder_click_after_hours: PositiveHours = Field(description="hours after a reminder when a parent opens it")
    error_return_share: ErrorReturnShare = Field(
        description="share of parents who, having met an error page, come back by themselves")
    reminder_response_share: Share = Field(description="share of still-unpaid parents who act on the reminder")
    faults: dict[str, Fault] = Field(min_length=1, max_length=200, description="the fault list, `none` the baseline")

    @field_validator("faults")
    @classmethod
    def _has_the_baseline(cls, value: dict[str, Fault]) -> dict[str, Fault]:
        if "none" not in value:
            raise ValueError("the fault list needs the `none` baseline")
        return value

    @field_validator("probe_every_hours")
    @classmethod
    def _probes_bounded(cls, value: float, info: ValidationInfo) -> float:
        horizon = info.data.get("horizon_hours")
        if horizon is not None and horizon / value > 10_000:
            raise ValueError(f"probes every {value:g} h over a {horizon:g} h horizon: more than 10000 probes")
        return value
