"""docs/adr-approval.json: who approved which item (the stop-gap, the decision) on which evidence (written by
`blastpay adr approve --by NAME --item ITEM`). A record of the earlier single-approval form is one `ApprovalInput`."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import AfterValidator, Field, StringConstraints

from blastpay.sources.schema.common import InputModel, Text

TIMESTAMP_FORMAT = "%Y-%m-%dT%H:%M:%SZ"


def _utc_timestamp(value: str) -> str:
    try:
        datetime.strptime(value, TIMESTAMP_FORMAT)
    except ValueError:
        raise ValueError("must be an ISO UTC timestamp like 2026-11-27T14:03:12Z") from None
    return value


class ApprovalInput(InputModel):
    approved_by: Text = Field(description="the decision-maker's name")
    approved_at: Annotated[str, AfterValidator(_utc_timestamp)] = Field(description="when, ISO 8601 UTC")
    evidence_sha256: Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{64}$")] = Field(
        description="the evidence hash approved (64 lowercase hex digits)")


class ApprovalItems(InputModel):
    items: dict[Literal["stop-gap", "decision"], ApprovalInput] = Field(
        max_length=2, description="each approved item: the stop-gap, the decision")
