"""experiments/run.yaml: the parameters pinned for every generating step."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from pydantic import Field

from blastpay.sources.schema.common import Bounds, InputModel


class RunInput(InputModel):
    as_of: date = Field(description="the date the evidence speaks for; the ADR's date and every age are computed from it")
    seed: Annotated[int, Bounds(0, 2**63 - 1)] = Field(description="the root seed; each experiment derives its own from it")
