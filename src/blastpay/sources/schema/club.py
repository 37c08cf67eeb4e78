"""experiments/club.yaml: the club's volumes, what a harm costs it, basketball-api's assumed availability, and the
values the decision is swept over (placeholders and assumptions, each commented in the file)."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from pydantic import Field, model_validator

from blastpay.sources.schema.common import Bounds, InputModel, Share

Positive = Annotated[float, Bounds(0, 1_000_000, low_open=True)]


class Volumes(InputModel):
    blasts_per_year: Annotated[float, Bounds(0, 10_000, low_open=True)] = Field(description="blasts a year (placeholder)")
    orders_per_blast: Annotated[float, Bounds(0, 1_000_000, low_open=True)] = Field(
        description="orders a blast (placeholder)")
    fee_usd: Annotated[float, Bounds(0, 100_000, low_open=True)] = Field(
        description="the average fee a blast asks, in dollars (placeholder)")


class Availability(InputModel):
    central: Annotated[float, Bounds(0, 1, low_open=True)] = Field(description="the availability the ADR states")
    sweep: list[Annotated[float, Bounds(0, 1, low_open=True)]] = Field(
        min_length=1, max_length=50, description="availabilities the decision is also evaluated at")


class BasketballApi(InputModel):
    availability: Availability = Field(description="basketball-api's availability while parents pay (assumption)")


class Prices(InputModel):
    support_contact_minutes: Annotated[float, Bounds(0, 10_000)] = Field(
        description="minutes someone spends on one support contact")
    staff_hour_usd: Annotated[float, Bounds(0, 10_000)] = Field(description="the club's cost of a staff hour")
    error_page_contact_share: Share = Field(
        description="share of parents who write in after a temporary error page")
    dead_link_contact_share: Share = Field(
        description="share of parents told their link no longer works, for an unpaid order, who write in")
    engineer_day_usd: Annotated[float, Bounds(0, 100_000)] = Field(description="what an engineer-day costs the club")
    horizon_years: Annotated[float, Bounds(0, 50, low_open=True)] = Field(
        description="years the yearly harms are counted over against the one-time build")


class Sweeps(InputModel):
    blasts_per_year: list[Positive] = Field(min_length=1, max_length=50)
    orders_per_blast: list[Positive] = Field(min_length=1, max_length=50)
    fee_usd: list[Positive] = Field(min_length=1, max_length=50)
    availability: list[Annotated[float, Bounds(0, 1, low_open=True)]] = Field(
        min_length=1, max_length=20, description="availabilities of the two-way table")
    reprice_share: list[Share] = Field(min_length=1, max_length=20,
                                       description="shares of orders re-priced after their email, of the two-way table")


class Schedule(InputModel):
    engineers: Annotated[int, Bounds(1, 50)] = Field(description="engineers working on the build at once (placeholder)")
    days_off: list[date] = Field(default_factory=list, max_length=400,
                                 description="weekdays the team does not work (placeholder: holidays)")


class ClubInput(InputModel):
    volumes: Volumes
    schedule: Schedule
    retry_cohort_share: Share = Field(
        description="share of paying parents who press Back and come back later through the emailed link")
    basketball_api: BasketballApi
    prices: Prices
    sweeps: Sweeps


class Component(InputModel):
    availability_from: str | None = Field(default=None, description="`club`: the availability of experiments/club.yaml")
    availability_source: str | None = Field(default=None, description="a sources-registry id whose figure is it")

    @model_validator(mode="after")
    def _one(self) -> "Component":
        if (self.availability_from is None) == (self.availability_source is None):
            raise ValueError("give exactly one of availability_from: club or availability_source: <source id>")
        if self.availability_from not in (None, "club"):
            raise ValueError("availability_from must be club")
        return self


class FaultLikelihood(InputModel):
    baseline: bool = False
    share_of: str | None = Field(default=None, description="a component: the fault is `share` of its downtime")
    share: Share | None = None
    per_year: Annotated[float, Bounds(0, 10_000)] | None = Field(default=None, description="incidents a year")
    per_order: Share | None = Field(default=None, description="events per order")
    while_: str | None = Field(default=None, alias="while",
                               description="per_order only: a component that must be down at the same time")
    counts: list[str] | None = Field(default=None, min_length=1, max_length=2,
                                     description="which part of an outage's cell is weighted: clicks, blast")
    cell_orders: str = Field(default="pair", description="the cell plays the scenario on its first pair of orders or on all")
    old_email_share: Share | None = Field(
        default=None, description="per_order, a scenario that emails a new link: the share of its parents who click "
                                  "the old email's link rather than the new one")
    why: str = Field(default="", description="a sources-registry id, or ASSUMPTION and on what it rests")

    @model_validator(mode="after")
    def _one_way(self) -> "FaultLikelihood":
        ways = [self.baseline, self.share_of is not None, self.per_year is not None, self.per_order is not None]
        if sum(ways) != 1:
            raise ValueError("give exactly one of baseline, share_of (with share), per_year or per_order")
        if (self.share_of is None) != (self.share is None):
            raise ValueError("share_of and share go together")
        if self.while_ is not None and self.per_order is None:
            raise ValueError("`while` applies to per_order only")
        if self.old_email_share is not None and self.per_order is None:
            raise ValueError("old_email_share applies to per_order only")
        if self.counts is not None and not set(self.counts) <= {"clicks", "blast"}:
            raise ValueError("counts takes clicks and blast")
        if self.cell_orders not in ("pair", "all"):
            raise ValueError("cell_orders is pair or all")
        if not self.baseline and not self.why.strip():
            raise ValueError("say why: a source id of the sources registry, or ASSUMPTION and on what it rests")
        return self


class LikelihoodInput(InputModel):
    components: dict[str, Component] = Field(min_length=1, max_length=20)
    faults: dict[str, FaultLikelihood] = Field(min_length=1, max_length=500)

    @model_validator(mode="after")
    def _components(self) -> "LikelihoodInput":
        for name, f in self.faults.items():
            for comp in (f.share_of, f.while_):
                if comp is not None and comp not in self.components:
                    raise ValueError(f"faults.{name}: unknown component {comp!r} (known: {', '.join(self.components)})")
        shares: dict[str, float] = {}
        for f in self.faults.values():
            if f.share_of is not None:
                shares[f.share_of] = shares.get(f.share_of, 0.0) + float(f.share or 0.0)
        for comp, total in shares.items():
            if abs(total - 1.0) > 1e-9:
                raise ValueError(f"the shares of component {comp!r} add up to {total:g}, not 1")
        return self


class ListedStep(InputModel):
    kind: str = Field(description="a kind of unit_days")
    what: str = Field(min_length=1, description="the step, in the checklist's words")
    test: str = Field(min_length=1, description="the test that proves the step done, in the checklist's words")


class EffortInput(InputModel):
    unit_days: dict[str, Annotated[float, Bounds(0, 100)]] = Field(
        min_length=1, max_length=50, description="engineer-days per kind of migration step, tests included")
    option_steps: dict[str, list[ListedStep]] = Field(
        default_factory=dict, description="per option, steps its reference flow's moving parts do not show")
    common_steps: list[ListedStep] = Field(
        default_factory=list, description="steps every option needs: the mitigation policy its figures assume")

    @model_validator(mode="after")
    def _kinds(self) -> "EffortInput":
        steps = list(self.common_steps) + [s for listed in self.option_steps.values() for s in listed]
        unknown = sorted({s.kind for s in steps} - set(self.unit_days))
        if unknown:
            raise ValueError(f"steps of unknown kind(s) {', '.join(unknown)} (not in unit_days)")
        options = sorted(set(self.option_steps) - {"payment_links", "lazy_mint", "ttl_30d"})
        if options:
            raise ValueError(f"option_steps: unknown option(s) {', '.join(options)}")
        return self
