"""The route table: every URL the emulator answers, its parameter schema and the backend verb behind it."""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable

from blastpay.emulator import pages
from blastpay.emulator.params import LIST_PARAMS, Spec
from blastpay.emulator.schemas import (
    ADVANCE,
    CUSTOMER_CREATE,
    CUSTOMER_LIST,
    CUSTOMER_UPDATE,
    EVENT_LIST,
    FAULTS,
    INVOICE_LIST,
    LINK_CREATE,
    LINK_LIST,
    LINK_UPDATE,
    NONE,
    PAY,
    PI_LIST,
    PRICE_CREATE,
    PRICE_LIST,
    PRICE_UPDATE,
    PRODUCT_CREATE,
    PRODUCT_LIST,
    PRODUCT_UPDATE,
    RETRIEVE,
    SESSION_CREATE,
    SESSION_LIST,
    SESSION_UPDATE,
    SUBSCRIPTION_LIST,
    TAX_REGISTRATION_CREATE,
    TAX_REGISTRATION_LIST,
    VISIT,
    WEBHOOK_CREATE,
    WEBHOOK_UPDATE,
)
from blastpay.emulator.sdk_params import sdk_parameters

if TYPE_CHECKING:
    from blastpay.emulator.wire import Wire

ID = r"([A-Za-z0-9_]+)"


@dataclass
class Route:
    method: str
    pattern: re.Pattern[str]
    schema: dict[str, Spec]
    action: Callable[..., Any]
    required: tuple[str, ...] = ()
    kind: str = "api"  # api | sandbox | page
    locked: bool = True
    list_url: str | None = None
    template: str = ""  # e.g. "/v1/products/{id}"
    sdk: frozenset[str] = frozenset()  # parameters the SDK's typed class defines for this route


def route(method: str, path: str, schema: dict[str, Spec] | None, action: Callable[..., Any],
           required: tuple[str, ...] = (), kind: str = "api", locked: bool = True) -> Route:
    template = path.replace(ID, "{id}")
    return Route(method, re.compile(f"^{path}/?$"), schema, action, required, kind, locked,  # type: ignore[arg-type]
                 template=template, sdk=sdk_parameters(method, template) if kind == "api" else frozenset())


def item_list(items: list[dict[str, Any]], p: dict[str, Any], url: str) -> dict[str, Any]:
    limit = p.get("limit", 10)
    return {"object": "list", "data": items[:limit], "has_more": len(items) > limit, "url": url}


def build_routes(wire: "Wire") -> list[Route]:
    """The table, bound to ``wire`` (its backend and its control helpers)."""
    b = wire.backend
    self = wire
    r = route
    return [
        r("POST", r"/v1/products", PRODUCT_CREATE, lambda p: b.create_product(p), ("name",)),
        r("GET", r"/v1/products", PRODUCT_LIST, lambda p: self._filtered(b.list_page("product", None, p, "/v1/products"), p, ("active",))),
        r("GET", rf"/v1/products/{ID}", RETRIEVE, lambda p, i: b._require("product", i)),
        r("POST", rf"/v1/products/{ID}", PRODUCT_UPDATE, lambda p, i: b.update_product(i, p)),
        r("POST", r"/v1/prices", PRICE_CREATE, lambda p: b.create_price(p), ("currency", "unit_amount")),
        r("GET", r"/v1/prices", PRICE_LIST, lambda p: self._filtered(b.list_page("price", None, p, "/v1/prices"), p, ("product", "active", "type"))),
        r("GET", rf"/v1/prices/{ID}", RETRIEVE, lambda p, i: b._require("price", i)),
        r("POST", rf"/v1/prices/{ID}", PRICE_UPDATE, lambda p, i: b.update_price(i, p)),
        r("POST", r"/v1/customers", CUSTOMER_CREATE, lambda p: b.create_customer(p)),
        r("GET", r"/v1/customers", CUSTOMER_LIST, lambda p: self._filtered(b.list_page("customer", None, p, "/v1/customers"), p, ("email",))),
        r("GET", rf"/v1/customers/{ID}", RETRIEVE, lambda p, i: b._require("customer", i)),
        r("POST", rf"/v1/customers/{ID}", CUSTOMER_UPDATE, lambda p, i: b.update_customer(i, p)),
        r("DELETE", rf"/v1/customers/{ID}", NONE, lambda p, i: b.delete_customer(i)),
        r("POST", r"/v1/checkout/sessions", SESSION_CREATE, lambda p: b.create_session(p)),
        r("GET", r"/v1/checkout/sessions", SESSION_LIST, lambda p: b.list_sessions(p)),
        r("GET", rf"/v1/checkout/sessions/{ID}", RETRIEVE, lambda p, i: b._require("checkout.session", i)),
        r("POST", rf"/v1/checkout/sessions/{ID}", SESSION_UPDATE, lambda p, i: b.update_session(i, p)),
        r("POST", rf"/v1/checkout/sessions/{ID}/expire", RETRIEVE, lambda p, i: b.expire_session(i)),
        r("GET", rf"/v1/checkout/sessions/{ID}/line_items", LIST_PARAMS,
          lambda p, i: item_list(b.session_line_items(i), p, f"/v1/checkout/sessions/{i}/line_items")),
        r("POST", r"/v1/payment_links", LINK_CREATE, lambda p: b.create_payment_link(p)),
        r("GET", r"/v1/payment_links", LINK_LIST, lambda p: self._filtered(b.list_page("payment_link", None, p, "/v1/payment_links"), p, ("active",))),
        r("GET", rf"/v1/payment_links/{ID}", RETRIEVE, lambda p, i: b._require("payment_link", i)),
        r("POST", rf"/v1/payment_links/{ID}", LINK_UPDATE, lambda p, i: b.update_payment_link(i, p)),
        r("GET", rf"/v1/payment_links/{ID}/line_items", LIST_PARAMS,
          lambda p, i: item_list(b.link_line_items(i), p, f"/v1/payment_links/{i}/line_items")),
        r("GET", r"/v1/payment_intents", PI_LIST, lambda p: b.list_payment_intents(p)),
        r("GET", rf"/v1/payment_intents/{ID}", RETRIEVE, lambda p, i: b._require("payment_intent", i)),
        r("GET", r"/v1/subscriptions", SUBSCRIPTION_LIST, lambda p: b.list_subscriptions(p)),
        r("GET", rf"/v1/subscriptions/{ID}", RETRIEVE, lambda p, i: b._require("subscription", i)),
        r("DELETE", rf"/v1/subscriptions/{ID}", NONE, lambda p, i: b.cancel_subscription(i)),
        r("GET", r"/v1/invoices", INVOICE_LIST, lambda p: b.list_invoices(p)),
        r("GET", rf"/v1/invoices/{ID}", RETRIEVE, lambda p, i: b._require("invoice", i)),
        r("GET", rf"/v1/invoices/{ID}/lines", LIST_PARAMS,
          lambda p, i: item_list(b.invoice_lines(i), p, f"/v1/invoices/{i}/lines")),
        r("POST", r"/v1/tax/registrations", TAX_REGISTRATION_CREATE, lambda p: b.create_tax_registration(p),
          ("active_from", "country", "country_options")),
        r("GET", r"/v1/tax/registrations", TAX_REGISTRATION_LIST, lambda p: b.list_tax_registrations(p)),
        r("GET", rf"/v1/tax/registrations/{ID}", RETRIEVE, lambda p, i: b.retrieve_tax_registration(i)),
        r("GET", r"/v1/events", EVENT_LIST, lambda p: b.list_events(p)),
        r("GET", rf"/v1/events/{ID}", RETRIEVE, lambda p, i: b._require("event", i)),
        r("POST", r"/v1/webhook_endpoints", WEBHOOK_CREATE, lambda p: self._create_endpoint(p), ("url", "enabled_events")),
        r("GET", r"/v1/webhook_endpoints", LIST_PARAMS, lambda p: b.list_page("webhook_endpoint", None, p, "/v1/webhook_endpoints")),
        r("GET", rf"/v1/webhook_endpoints/{ID}", RETRIEVE, lambda p, i: b._require("webhook_endpoint", i)),
        r("POST", rf"/v1/webhook_endpoints/{ID}", WEBHOOK_UPDATE, lambda p, i: self._update_endpoint(i, p)),
        r("DELETE", rf"/v1/webhook_endpoints/{ID}", NONE, lambda p, i: b.delete_webhook_endpoint(i)),
        # control API
        r("GET", r"/_sandbox/clock", NONE, lambda p: {"now": b.now()}, kind="sandbox"),
        r("POST", r"/_sandbox/clock/advance", ADVANCE, lambda p: {"now": b.advance(p["seconds"])}, ("seconds",),
          kind="sandbox", locked=False),
        r("POST", r"/_sandbox/visit", VISIT, lambda p: b.visit(p["url"]), ("url",), kind="sandbox"),
        r("POST", rf"/_sandbox/checkout/{ID}/pay", PAY,
          lambda p, i: b.pay(i, p.get("outcome", "succeeded"), p.get("email"), p.get("address")),
          kind="sandbox"),
        r("POST", rf"/_sandbox/checkout/{ID}/cancel", NONE, lambda p, i: b.cancel(i), kind="sandbox"),
        r("POST", r"/_sandbox/faults", FAULTS, lambda p: self.set_faults(**p), kind="sandbox"),
        r("POST", r"/_sandbox/reset", NONE, lambda p: self.reset(), kind="sandbox", locked=False),
        r("GET", r"/_sandbox/deliveries", NONE, lambda p: {"object": "list", "data": list(b.deliveries)}, kind="sandbox"),
        r("POST", r"/_sandbox/webhooks/flush", NONE, lambda p: self._flush(), kind="sandbox", locked=False),
        # pages a browser sees
        r("GET", rf"/c/pay/{ID}", NONE, lambda p, i: pages.session_page(b, i), kind="page"),
        r("POST", rf"/c/pay/{ID}", PAY, lambda p, i: pages.pay_form(b, i, p.get("outcome", "succeeded")), kind="page"),
        r("GET", rf"/b/{ID}", None, lambda p, i: pages.link_page(b, i, p), kind="page"),
        r("GET", rf"/r/{ID}", None, lambda p, i: pages.recovery_page(b, i), kind="page"),
    ]
