"""Parameter schemas: what each route accepts (names, types, limits), checked by ``params.check_fields``.

Every name here is one the SDK's typed class for the route defines (``tests/emulator/test_sdk_params.py``);
the SDK's other parameters are refused by name as not supported by the emulator (``sdk_params.py``).
"""
from __future__ import annotations

import re

from blastpay.emulator.params import (
    EXPAND,
    LIST_PARAMS,
    Bool,
    Currency,
    Enum,
    Fraction,
    Int,
    ListOf,
    Metadata,
    Obj,
    Spec,
    Str,
    Url,
)


# -- parameter schemas ---------------------------------------------------------------------
def _with(base: dict[str, Spec], **more: Spec) -> dict[str, Spec]:
    merged = dict(base)
    merged.update(more)
    return merged


RETRIEVE = {"expand": EXPAND}
INTENT_DATA = Obj({"metadata": Metadata(), "description": Str(1000)})
RECURRING = Obj({"interval": Enum("day", "week", "month", "year"), "interval_count": Int(1, 365)}, required=("interval",))
PRODUCT_DATA = Obj({"name": Str(250), "description": Str(40000), "metadata": Metadata()}, required=("name",))
TAX_BEHAVIOR = Enum("exclusive", "inclusive", "unspecified")
AUTOMATIC_TAX = Obj({"enabled": Bool()}, required=("enabled",))
PRICE_DATA = Obj(
    {"currency": Currency(), "unit_amount": Int(0, 99_999_999), "product": Str(), "product_data": PRODUCT_DATA,
     "recurring": RECURRING, "tax_behavior": TAX_BEHAVIOR},
    required=("currency", "unit_amount"),
)
LINE_ITEM = Obj({"price": Str(), "price_data": PRICE_DATA, "quantity": Int(1, 999_999)})
PRODUCT_CREATE = {"name": Str(250), "description": Str(40000), "active": Bool(), "metadata": Metadata(), "expand": EXPAND}
PRODUCT_UPDATE = _with(PRODUCT_CREATE, description=Str(40000, unsettable=True))
PRICE_CREATE = {
    "currency": Currency(), "unit_amount": Int(0, 99_999_999), "product": Str(), "product_data": PRODUCT_DATA,
    "recurring": RECURRING, "metadata": Metadata(), "nickname": Str(), "active": Bool(), "lookup_key": Str(200),
    "tax_behavior": TAX_BEHAVIOR, "expand": EXPAND,
}
PRICE_UPDATE = {"active": Bool(), "metadata": Metadata(), "nickname": Str(unsettable=True),
                "lookup_key": Str(200, unsettable=True), "expand": EXPAND}
CUSTOMER_CREATE = {"email": Str(512), "name": Str(256), "description": Str(), "phone": Str(20), "metadata": Metadata(),
                   "expand": EXPAND}
CUSTOMER_UPDATE = {k: (Str(s.max_length, unsettable=True) if isinstance(s, Str) else s) for k, s in CUSTOMER_CREATE.items()}
SESSION_CREATE = {
    "mode": Enum("payment", "subscription"),
    "line_items": ListOf(LINE_ITEM, 100),
    "metadata": Metadata(),
    "client_reference_id": Str(200),
    "customer": Str(),
    "customer_email": Str(800),
    "success_url": Str(5000),
    "cancel_url": Str(5000),
    "payment_intent_data": INTENT_DATA,
    "subscription_data": INTENT_DATA,
    "expires_at": Int(0),
    "after_expiration": Obj(
        {"recovery": Obj({"enabled": Bool(), "allow_promotion_codes": Bool()}, required=("enabled",))},
        required=("recovery",),
    ),
    "allow_promotion_codes": Bool(),
    "customer_creation": Enum("always", "if_required"),
    "ui_mode": Enum("hosted"),
    "locale": Str(10),
    "submit_type": Enum("auto", "book", "donate", "pay", "subscribe"),
    "billing_address_collection": Enum("auto", "required"),
    "automatic_tax": AUTOMATIC_TAX,
    "expand": EXPAND,
}
SESSION_UPDATE = {"metadata": Metadata(), "expand": EXPAND}
SESSION_LIST = _with(LIST_PARAMS, payment_link=Str(), customer=Str(), status=Enum("open", "complete", "expired"))
AFTER_COMPLETION = Obj(
    {"type": Enum("redirect", "hosted_confirmation"), "redirect": Obj({"url": Str(2048)}, required=("url",)),
     "hosted_confirmation": Obj({"custom_message": Str(500)})},
    required=("type",),
)
RESTRICTIONS_FIELDS = {"completed_sessions": Obj({"limit": Int(1, 10_000)}, required=("limit",))}
LINK_CREATE = {
    "line_items": ListOf(LINE_ITEM, 100),
    "metadata": Metadata(),
    "payment_intent_data": INTENT_DATA,
    "subscription_data": INTENT_DATA,
    "after_completion": AFTER_COMPLETION,
    "restrictions": Obj(RESTRICTIONS_FIELDS, required=("completed_sessions",)),
    "inactive_message": Str(500),
    "allow_promotion_codes": Bool(),
    "customer_creation": Enum("always", "if_required"),
    "payment_method_types": ListOf(Str(100)),
    "submit_type": Enum("auto", "book", "donate", "pay", "subscribe"),
    "billing_address_collection": Enum("auto", "required"),
    "automatic_tax": AUTOMATIC_TAX,
    "expand": EXPAND,
}
LINK_UPDATE = {
    "active": Bool(),
    "metadata": Metadata(),
    "inactive_message": Str(500, unsettable=True),
    "restrictions": Obj(RESTRICTIONS_FIELDS, required=("completed_sessions",), unsettable=True),
    "after_completion": AFTER_COMPLETION,
    "payment_intent_data": Obj({"metadata": Metadata(), "description": Str(1000)}, unsettable=True),
    "allow_promotion_codes": Bool(),
    "expand": EXPAND,
}
EVENT_TYPE = Str(100)
WEBHOOK_CREATE = {"url": Url(5000), "enabled_events": ListOf(EVENT_TYPE, 300), "description": Str(5000),
                  "metadata": Metadata(), "api_version": Str(100), "expand": EXPAND}
WEBHOOK_UPDATE = {"url": Url(5000), "enabled_events": ListOf(EVENT_TYPE, 300), "description": Str(5000, unsettable=True),
                  "metadata": Metadata(), "disabled": Bool(), "expand": EXPAND}
EVENT_LIST = _with(LIST_PARAMS, type=Str(100))
PI_LIST = _with(LIST_PARAMS, customer=Str())
CUSTOMER_LIST = _with(LIST_PARAMS, email=Str(512))
PRICE_LIST = _with(LIST_PARAMS, product=Str(), active=Bool(), type=Enum("one_time", "recurring"))
PRODUCT_LIST = _with(LIST_PARAMS, active=Bool())
LINK_LIST = _with(LIST_PARAMS, active=Bool())
SUBSCRIPTION_LIST = _with(LIST_PARAMS, customer=Str(),
                          status=Enum("active", "all", "canceled", "ended", "incomplete", "incomplete_expired",
                                      "past_due", "paused", "trialing", "unpaid"))
INVOICE_LIST = _with(LIST_PARAMS, customer=Str(), subscription=Str(),
                     status=Enum("draft", "open", "paid", "uncollectible", "void"))
# Registrations: the emulator models the US shape of country_options (a state's sales tax) only.
TAX_REGISTRATION_CREATE = {
    "active_from": Str(20), "country": Str(2), "expires_at": Int(0),
    "country_options": Obj({"us": Obj({"state": Str(2), "type": Enum("state_sales_tax", "local_amusement_tax",
                                                                          "local_lease_tax", "state_communications_tax",
                                                                          "state_retail_delivery_fee")},
                                      required=("state", "type"))}),
    "expand": EXPAND,
}
TAX_REGISTRATION_LIST = _with(LIST_PARAMS, status=Enum("active", "all", "expired", "scheduled"))
NONE: dict[str, Spec] = {}
ADVANCE = {"seconds": Int(0, 10 * 365 * 24 * 3600)}
VISIT = {"url": Str(10_000)}
PAY = {"outcome": Enum("succeeded", "declined"), "email": Str(512),
       "address": Obj({"city": Str(200), "country": Str(2), "line1": Str(200), "line2": Str(200),
                       "postal_code": Str(20), "state": Str(50)}, required=("country",))}
FAULTS = {
    "route": Str(500), "error": Enum("500", "429", "drop"), "count": Int(1, 1_000_000), "rate": Fraction(),
    "seed": Int(0), "webhook": Enum("delay", "duplicate", "reorder", "drop"), "seconds": Int(1, 30 * 24 * 3600),
    "clear": Bool(), "latency_ms": Int(0, 60_000), "latency_p99_ms": Int(0, 120_000),
}
EVENT_TYPE_PATTERN = re.compile(r"^(\*|[a-z_]+(\.[a-z_]+)+)$")
