"""Customers: create, update, delete."""
from __future__ import annotations

from typing import Any

from blastpay.emulator.common import _fresh_metadata, _merge_metadata
from blastpay.emulator.params import UNSET
from blastpay.emulator.shapes import shaped


class Customers:
    """Mixed into ``Backend``; every method runs with ``self.lock`` held unless it says otherwise."""

    def create_customer(self, p: dict[str, Any]) -> dict[str, Any]:
        customer_id = self.ids.new("cus")
        customer = shaped(
            "customer",
            id=customer_id,
            created=self.now(),
            description=p.get("description"),
            email=p.get("email"),
            invoice_prefix=customer_id[4:12].upper(),
            metadata=_fresh_metadata(p.get("metadata")),
            name=p.get("name"),
            phone=p.get("phone"),
        )
        self.stores["customer"].add(self._next_seq(), customer)
        return customer

    def update_customer(self, customer_id: str, p: dict[str, Any]) -> dict[str, Any]:
        customer = self._require("customer", customer_id)
        for field in ("email", "name", "description", "phone"):
            if field in p:
                customer[field] = None if p[field] is UNSET else p[field]
        if "metadata" in p:
            customer["metadata"] = _merge_metadata(customer["metadata"], p["metadata"])
        return customer

    def delete_customer(self, customer_id: str) -> dict[str, Any]:
        self._require("customer", customer_id)
        self.stores["customer"].delete(customer_id)
        return {"id": customer_id, "object": "customer", "deleted": True}
