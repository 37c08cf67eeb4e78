"""Products and prices: create, update (the catalogue a session or link sells)."""
from __future__ import annotations

from typing import Any

from blastpay.emulator import errors
from blastpay.emulator.common import _fresh_metadata, _merge_metadata
from blastpay.emulator.errors import invalid
from blastpay.emulator.params import UNSET
from blastpay.emulator.shapes import shaped


def _param(prefix: str, name: str) -> str:
    """A parameter's name as Stripe reports it: ``product`` at the top level, ``line_items[0][price_data][product]``
    inside a nested hash."""
    return f"{prefix}[{name}]" if prefix else name


class Products:
    """Mixed into ``Backend``; every method runs with ``self.lock`` held unless it says otherwise."""

    # -- products, prices, customers -------------------------------------------------------
    def create_product(self, p: dict[str, Any], listed: bool = True) -> dict[str, Any]:
        now = self.now()
        product = shaped(
            "product",
            id=self.ids.new("prod"),
            active=p.get("active", True),
            created=now,
            description=p.get("description"),
            metadata=_fresh_metadata(p.get("metadata")),
            name=p["name"],
            updated=now,
        )
        self.stores["product"].add(self._next_seq(), product, listed)
        return product

    def update_product(self, product_id: str, p: dict[str, Any]) -> dict[str, Any]:
        product = self._require("product", product_id)
        for field in ("name", "active", "description"):
            if field in p:
                product[field] = None if p[field] is UNSET else p[field]
        if "metadata" in p:
            product["metadata"] = _merge_metadata(product["metadata"], p["metadata"])
        product["updated"] = self.now()
        return product

    def create_price(self, p: dict[str, Any], listed: bool = True, param_prefix: str = "") -> dict[str, Any]:
        if "product" in p and "product_data" in p:
            raise invalid("You may only specify one of these parameters: product, product_data.", param=_param(param_prefix, "product"))
        if "product" in p:
            self._require("product", p["product"], _param(param_prefix, "product"))
            product_id = p["product"]
        elif "product_data" in p:
            product_id = self.create_product(p["product_data"], listed=listed)["id"]
        else:
            raise errors.missing_parameter(_param(param_prefix, "product"))
        recurring = None
        if "recurring" in p:
            recurring = shaped("price.recurring", interval=p["recurring"]["interval"],
                               interval_count=p["recurring"].get("interval_count", 1))
        price = shaped(
            "price",
            id=self.ids.new("price"),
            active=p.get("active", True),
            created=self.now(),
            currency=p["currency"].lower(),
            lookup_key=p.get("lookup_key"),
            metadata=_fresh_metadata(p.get("metadata")),
            nickname=p.get("nickname"),
            product=product_id,
            recurring=recurring,
            tax_behavior=p.get("tax_behavior", "unspecified"),
            type="recurring" if recurring else "one_time",
            unit_amount=p["unit_amount"],
            unit_amount_decimal=str(p["unit_amount"]),
        )
        self.stores["price"].add(self._next_seq(), price, listed)
        return price

    def update_price(self, price_id: str, p: dict[str, Any]) -> dict[str, Any]:
        price = self._require("price", price_id)
        for field in ("active", "nickname", "lookup_key"):
            if field in p:
                price[field] = None if p[field] is UNSET else p[field]
        if "metadata" in p:
            price["metadata"] = _merge_metadata(price["metadata"], p["metadata"])
        return price
