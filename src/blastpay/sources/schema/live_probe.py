"""experiments/live/<date>-probe.json: one person's run of `blastpay live probe` against Stripe's test mode, with
every `blastpay live recheck` appended. The requests and answers are kept as recorded (redacted); the keys the
evidence reads are typed."""

from __future__ import annotations

from typing import Annotated, Any, Literal, Optional

from pydantic import Field

from blastpay.sources.schema.common import Bounds, InputModel, PastDateText, Text

FORMAT = "blastpay-live-probe/1"
UnixTime = Annotated[int, Bounds(0, 2**40)]


class Request(InputModel):
    method: Text
    path: Text
    params: dict[str, Any]


class Response(InputModel):
    status: Annotated[int, Bounds(100, 599)]
    body: Any = Field(description="the answer's JSON body, redacted")


class Step(InputModel):
    step: Text = Field(description="the probe step that made the call")
    request: Request
    response: Response


class MadeLink(InputModel):
    variant: Text
    id: Text
    url: Optional[str] = None
    created: UnixTime


class MadeSession(InputModel):
    variant: Text
    id: Text
    created: UnixTime
    expires_at: Optional[UnixTime] = None


class Objects(InputModel):
    product: Text
    price: Text
    payment_links: list[MadeLink]
    checkout_sessions: list[MadeSession]


class Sdk(InputModel):
    stripe: Text
    api_version: Text


class Recheck(InputModel):
    date: PastDateText = Field(description="UTC date of the recheck, not after the pinned as-of date")
    api_base: Text
    server_time: UnixTime
    payment_links: list[dict[str, Any]]
    checkout_sessions: list[dict[str, Any]]
    steps: list[Step]


class LiveProbe(InputModel):
    format: Literal["blastpay-live-probe/1"]
    date: PastDateText = Field(description="UTC date of the run, not after the pinned as-of date")
    recorded_at: Text
    target: Literal["stripe", "other"] = Field(description="only records made against Stripe itself verify a rule")
    api_base: Text
    key_kind: Text
    sdk: Sdk
    server_time: UnixTime
    objects: Objects
    refusals: dict[str, dict[str, Any]]
    notes: dict[str, str]
    steps: list[Step]
    rechecks: list[Recheck] = Field(default_factory=list)
