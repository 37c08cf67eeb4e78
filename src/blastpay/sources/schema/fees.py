"""experiments/fees.yaml: the fee parameters the club can change (the fee rates themselves are registry figures)."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, ValidationInfo, field_validator

from blastpay.sources.schema.common import Bounds, InputModel, Share, Usd

FeeName = str
Method = Literal["card", "ach_debit"]


class FeeParams(InputModel):
    amounts_usd: dict[FeeName, Usd] = Field(min_length=1, description="amount charged per order, in US dollars")
    recurring: dict[FeeName, bool] = Field(
        description="whether each fee recurs (a subscription adds Stripe Billing's fee to every option)")
    payment_method_mix: dict[Method, Share] = Field(
        min_length=1, description="share of payments by method; must add up to 1")
    stripe_tax: bool = Field(description="whether Stripe Tax is charged (only where the account collects tax)")
    post_payment_invoice: bool = Field(description="whether Checkout / Payment Links create post-payment invoices")
    orders_per_blast: Annotated[int, Bounds(1, 1_000_000)] = Field(
        description="orders per blast, to turn stranded shares into money")

    @field_validator("recurring")
    @classmethod
    def _every_fee_says_whether_it_recurs(cls, value: dict[str, bool], info: ValidationInfo) -> dict[str, bool]:
        amounts = info.data.get("amounts_usd") or {}
        missing = [name for name in amounts if name not in value]
        if missing:
            raise ValueError(f"{missing[0]} missing (every fee of amounts_usd says whether it recurs)")
        extra = [name for name in value if name not in amounts]
        if extra:
            raise ValueError(f"{extra[0]} names no fee of amounts_usd")
        return value

    @field_validator("payment_method_mix")
    @classmethod
    def _adds_up_to_one(cls, value: dict[str, float]) -> dict[str, float]:
        total = sum(value.values())
        if abs(total - 1.0) > 1e-9:
            raise ValueError(f"must add up to 1, got {total:g}")
        return value
