"""Stripe fees per payment option, and the revenue each option strands.

Every rate comes from the sources registry (experiments/sources/stripe-pricing.yaml); this module holds only the
ids. Amounts, method mix and switches are parameters in experiments/fees.yaml. Fees are computed in float US
dollars without rounding to cents (Stripe's own rounding is not modelled).

Payment Links and Checkout carry the same processing fee: each option's surcharge over the processing fee is
itself a registry figure (0 for Payment Links, "included in Stripe's integrated pricing"; 0 for Checkout, "no
setup fees, monthly fees, or hidden fees"), so the equality is read, not assumed.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterable, Mapping

if TYPE_CHECKING:  # pandas is imported where a table is built, so the fee arithmetic alone loads fast
    import pandas as pd


from blastpay.sources.inputs import InputError, load_input
from blastpay.sources.registry import SourcesError

OPTIONS = ("payment_links", "lazy_mint", "checkout_ttl", "invoicing")
METHODS = ("card", "ach_debit")

SOURCE_IDS = {
    "card_percent": "stripe-card-domestic-percent",
    "card_fixed": "stripe-card-domestic-fixed",
    "ach_percent": "stripe-ach-percent",
    "ach_cap": "stripe-ach-cap",
    "tax_percent": "stripe-tax-percent",
    "billing_percent": "stripe-billing-percent",
    "invoicing_percent": "stripe-invoicing-starter-percent",
    "post_invoice_percent": "stripe-post-payment-invoice-percent",
    "post_invoice_cap": "stripe-post-payment-invoice-cap",
}
# Surcharge of each option over the processing fee (a percentage figure in the registry).
SURCHARGE_SOURCE_IDS = {
    "payment_links": ("stripe-payment-links-included", "invoicing-steer-to-payment-links"),
    "lazy_mint": ("stripe-no-hidden-fees",),  # lazy mint takes payment through Checkout
    "checkout_ttl": ("stripe-no-hidden-fees",),
    "invoicing": ("stripe-invoicing-starter-percent",),
}


class FeeError(InputError):
    """Bad fee input or a registry figure in an unexpected unit."""


def _figure(registry: Any, sid: str, unit: str) -> float:
    try:
        return registry.figure_in(sid, unit)
    except SourcesError as exc:
        raise FeeError(str(exc)) from None


def _fraction(registry: Any, sid: str) -> float:
    return _figure(registry, sid, "share")


def _usd(registry: Any, sid: str) -> float:
    return _figure(registry, sid, "usd")


@dataclass(frozen=True)
class FeeTable:
    """Fee rates (fractions) and fixed amounts (USD), each read from the registry id in SOURCE_IDS."""

    card_percent: float
    card_fixed: float
    ach_percent: float
    ach_cap: float
    tax_percent: float
    billing_percent: float
    invoicing_percent: float
    post_invoice_percent: float
    post_invoice_cap: float
    surcharge: Mapping[str, float]  # option -> fraction of the amount over the processing fee

    @classmethod
    def from_registry(cls, registry: Any) -> "FeeTable":
        values: dict[str, Any] = {}
        for name, sid in SOURCE_IDS.items():
            values[name] = _usd(registry, sid) if name in ("card_fixed", "ach_cap", "post_invoice_cap") \
                else _fraction(registry, sid)
        values["surcharge"] = {opt: _fraction(registry, ids[0]) for opt, ids in SURCHARGE_SOURCE_IDS.items()}
        for ids in SURCHARGE_SOURCE_IDS.values():
            for sid in ids:
                registry.get(sid)  # every cited quote must be in the registry
        return cls(**values)


def processing_fee(amount: float, method: str, table: FeeTable) -> float:
    """Stripe's processing fee for one successful payment of `amount` USD."""
    if amount < 0:
        raise FeeError(f"amount must not be negative, got {amount!r}")
    if method == "card":
        return amount * table.card_percent + table.card_fixed
    if method == "ach_debit":
        return min(amount * table.ach_percent, table.ach_cap)
    raise FeeError(f"unknown payment method {method!r} (choose from {', '.join(METHODS)})")


@dataclass(frozen=True)
class FeeBreakdown:
    option: str
    method: str
    amount: float
    processing: float
    option_surcharge: float
    billing: float
    tax: float
    post_payment_invoice: float

    @property
    def total(self) -> float:
        return self.processing + self.option_surcharge + self.billing + self.tax + self.post_payment_invoice

    @property
    def net(self) -> float:
        return self.amount - self.total


def fee_per_payment(
    amount: float,
    option: str,
    table: FeeTable,
    *,
    method: str = "card",
    recurring: bool = False,
    stripe_tax: bool = False,
    post_payment_invoice: bool = False,
) -> FeeBreakdown:
    """All Stripe fees on one paid order of `amount` USD through `option`.

    Recurring charges add Stripe Billing to every option. Stripe Invoicing's per-invoice fee applies only to
    one-time invoices (recurring invoices are part of Billing). Post-payment invoices (invoice_creation) are a
    Checkout / Payment Links add-on and do not apply to the Invoicing option, whose invoice already exists.
    """
    if option not in OPTIONS:
        raise FeeError(f"unknown option {option!r} (choose from {', '.join(OPTIONS)})")
    processing = processing_fee(amount, method, table)
    surcharge = amount * table.surcharge[option]
    if option == "invoicing" and recurring:
        surcharge = 0.0
    billing = amount * table.billing_percent if recurring else 0.0
    tax = amount * table.tax_percent if stripe_tax else 0.0
    post = (min(amount * table.post_invoice_percent, table.post_invoice_cap)
            if post_payment_invoice and option != "invoicing" else 0.0)
    return FeeBreakdown(option, method, float(amount), processing, surcharge, billing, tax, post)


def expected_fee(amount: float, option: str, table: FeeTable, method_mix: Mapping[str, float], **kwargs: Any) -> float:
    """Fee per payment averaged over the payment-method mix."""
    total_share = sum(method_mix.values())
    if abs(total_share - 1.0) > 1e-9:
        raise FeeError(f"payment_method_mix must add up to 1, got {total_share}")
    return sum(share * fee_per_payment(amount, option, table, method=m, **kwargs).total
               for m, share in method_mix.items() if share)


def stranded_revenue(orders: float, stranded_share: float, amount: float) -> float:
    """Revenue left unpaid by stranded orders: orders x stranded share x amount."""
    if orders < 0 or amount < 0 or not 0.0 <= stranded_share <= 1.0:
        raise FeeError(f"stranded_revenue needs orders >= 0, amount >= 0, 0 <= share <= 1; "
                       f"got {orders!r}, {amount!r}, {stranded_share!r}")
    return orders * stranded_share * amount


def surcharge_evidence(registry: Any) -> pd.DataFrame:
    """The quotes behind each option's surcharge: shows Payment Links and Checkout cost the same to process."""
    import pandas as pd

    rows = []
    for option, ids in SURCHARGE_SOURCE_IDS.items():
        for sid in ids:
            entry = registry.get(sid)
            fig = entry.get("figure")
            rows.append({"option": option, "source_id": sid, "quote": entry["quote"], "url": entry["url"],
                         "surcharge_percent": float(fig["value"]) if fig else None})
    return pd.DataFrame(rows)


# --------------------------------------------------------------------------------------------------------------
# Parameters file and tables


def load_fee_params(path: Path) -> dict[str, Any]:
    """Read experiments/fees.yaml, checked against `schema.fees.FeeParams`; the mapping as read."""
    from blastpay.sources.schema.fees import FeeParams

    _params, doc = load_input(path, FeeParams, "fee parameters file", FeeError)
    return dict(doc.data)


# The fee type every experiment charges (journeys, failure modes, cost): one order amount per fee type.
EXPERIMENT_FEE_TYPE = "tournament_fee"


def order_amount_cents(fee_type: str = EXPERIMENT_FEE_TYPE, params: Mapping[str, Any] | None = None) -> int:
    """The order amount, in cents, of ``fee_type`` in ``experiments/fees.yaml`` (or ``params`` already read)."""
    if params is None:
        from blastpay import config

        params = load_fee_params(config.EXPERIMENTS_DIR / "fees.yaml")
    try:
        return int(round(float(params["amounts_usd"][fee_type]) * 100))
    except KeyError:
        raise FeeError(f"fees.yaml: no amounts_usd.{fee_type}") from None


def fee_table(registry: Any, params: Mapping[str, Any], options: Iterable[str] = OPTIONS) -> pd.DataFrame:
    """One row per (fee kind, option, method): the breakdown of Stripe's fees on one paid order."""
    import pandas as pd

    table = FeeTable.from_registry(registry)
    rows = []
    for kind, amount in params["amounts_usd"].items():
        for option in options:
            for method, share in params["payment_method_mix"].items():
                b = fee_per_payment(amount, option, table, method=method, recurring=bool(params["recurring"][kind]),
                                    stripe_tax=bool(params["stripe_tax"]),
                                    post_payment_invoice=bool(params["post_payment_invoice"]))
                rows.append({"fee": kind, "option": option, "method": method, "method_share": share,
                             "amount_usd": amount, "processing_usd": b.processing,
                             "option_surcharge_usd": b.option_surcharge, "billing_usd": b.billing,
                             "tax_usd": b.tax, "post_payment_invoice_usd": b.post_payment_invoice,
                             "total_fee_usd": b.total, "fee_share_of_amount": b.total / amount, "net_usd": b.net})
    return pd.DataFrame(rows)


def stranded_revenue_table(blast_metrics: Iterable[Mapping[str, Any]], params: Mapping[str, Any]) -> pd.DataFrame:
    """Stranded revenue per blast for every (scenario, variant) metrics dict from blast_model.simulate."""
    import pandas as pd

    rows = []
    orders = params["orders_per_blast"]
    for m in blast_metrics:
        for kind, amount in params["amounts_usd"].items():
            rows.append({"scenario": m["scenario"], "variant": m["variant"], "option": m["option"], "fee": kind,
                         "orders": orders, "stranded_share": m["stranded_share"], "amount_usd": amount,
                         "stranded_revenue_usd": stranded_revenue(orders, m["stranded_share"], amount)})
    return pd.DataFrame(rows)
