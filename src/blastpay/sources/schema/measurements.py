"""experiments/measurements/pay_route_load.json: the `/pay/` route's load figures, measured by
`benchmarks/pay_route_load.py --write` (timings are measured by hand or by CI, never by the evidence run).
Figure names are the benchmark's own; every figure is a non-negative finite number, a list of them, or null."""

from __future__ import annotations

from typing import Annotated, Optional, Union

from pydantic import Field

from blastpay.sources.schema.common import Bounds, InputModel, PastDateText, Share, Text

Measured = Annotated[float, Bounds(0, 1e9)]
FigureValue = Optional[Union[Annotated[int, Bounds(0, 10**12)], Measured, list[Measured]]]


class Machine(InputModel):
    cpus: Annotated[int, Bounds(1, 4096)]
    load_average_1m_at_start: Measured
    node: Text
    platform: Text
    processor: str
    python: Text


class LoadAverage(InputModel):
    start: Measured
    end: Measured


class StripeLatency(InputModel):
    injected_by: list[Text]
    median_ms: Measured
    p99_ms: Measured


class StoreRun(InputModel):
    figures: dict[str, dict[str, FigureValue]] = Field(min_length=1, description="per rate: the figures measured")
    runs: Annotated[int, Bounds(1, 1000)]
    seconds_per_rate: Annotated[float, Bounds(0, 86_400, low_open=True)]
    target_met: Optional[bool] = None
    workers: Annotated[int, Bounds(1, 1024)]
    burst: Optional[dict[str, dict[str, Union[bool, Annotated[int, Bounds(0, 10**9)], list[dict[str, Annotated[int, Bounds(0, 10**9)]]]]]]] = None
    command: Optional[Text] = None
    cpu_budget: Optional[dict[str, Union[Annotated[int, Bounds(0, 10**9)], Measured, Text]]] = None
    designs: Optional[list[Text]] = None
    highest_rate_latency_targets_hold: Optional[bool] = None
    latency_verdicts: Optional[dict[str, bool]] = None
    latency_verdicts_per_rate: Optional[dict[str, dict[str, dict[str, bool]]]] = None
    load_average_1m: Optional[LoadAverage] = None
    measured_at: Optional[PastDateText] = None
    stripe_latency: Optional[StripeLatency] = None


class LoadMeasurements(InputModel):
    command: Text = Field(description="the command that measured and wrote this file")
    machine: Machine
    measured_at: PastDateText = Field(description="the date measured, not after the pinned as-of date")
    returning_share: Share = Field(description="share of clicks from parents returning to a minted session")
    stores: dict[str, StoreRun] = Field(min_length=1, description="per store (and Stripe latency): one run")
    target_route_p99_ms: Annotated[float, Bounds(0, 1e6, low_open=True)]
