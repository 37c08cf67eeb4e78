"""experiments/blast.yaml: the email-blast experiments' parameters (notebook 02)."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from blastpay.sources.schema.common import HOURS_IN_A_YEAR, Bounds, InputModel, Share


class BlastParams(InputModel):
    parents: Annotated[int, Bounds(1, 10_000_000)] = Field(description="parents per scenario and variant in the default run")
    parents_full: Annotated[int, Bounds(1, 10_000_000)] = Field(description="parents per scenario and variant under --full")
    reminder_hours: Annotated[float, Bounds(0, HOURS_IN_A_YEAR)] = Field(
        description="hours after the blast when unpaid orders get a reminder")
    scanner_share: Share = Field(description="share of parents behind a mail scanner that fetches every link")
    validation_parents: Annotated[int, Bounds(1, 10_000)] = Field(description="parents replayed through the emulator-driven flows")
    recovery_consent_share: Share = Field(
        description="assumed share of parents whose session may send Stripe's recovery email")
