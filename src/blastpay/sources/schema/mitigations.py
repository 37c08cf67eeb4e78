"""experiments/mitigations.yaml: the one mitigation policy every variant runs under (flows.mitigations applies it)."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from blastpay.sources.schema.common import HOURS_IN_A_YEAR, Bounds, InputModel


class MitigationPolicyInput(InputModel):
    max_network_retries: Annotated[int, Bounds(0, 10)] = Field(
        description="retries of the backend's Stripe client, with the SDK's exponential back-off")
    idempotency_key_per_order_and_attempt: bool = Field(
        description="every Stripe POST of the blast job carries an Idempotency-Key per order and attempt")
    requeue_backoff_minutes: list[Annotated[float, Bounds(0, 7 * 24 * 60, low_open=True)]] = Field(
        max_length=20, description="minutes after a transient failure before each re-try of the blast job")
    deactivate_and_reemail_on_change: bool = Field(
        description="retire the emailed link of a canceled or changed order (and re-email on an amount change)")
    reminder_hours: list[Annotated[float, Bounds(0, HOURS_IN_A_YEAR, low_open=True)]] = Field(
        max_length=20, description="hours after the blast when every pending order gets a reminder")
    resend_after_incident: bool = Field(
        description="a fresh link to every pending order that lacks one when an incident ends")
