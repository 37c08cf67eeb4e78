"""The wire format: route ``/v1/...``, ``/_sandbox/...`` and page requests to the backend.

``Wire.handle(method, path, query, headers, body)`` is the single entry point for both
doors (the in-process SDK transport and the loopback HTTP server). It authenticates,
applies injected faults, decodes Stripe's form encoding, checks parameters, runs the
backend under its lock, serialises JSON, honours ``Idempotency-Key``, and afterwards
(lock released) delivers any webhooks the call made due.
"""
from __future__ import annotations

import base64
import copy
import json
import re
from dataclasses import dataclass, field
from typing import Any, Callable

from . import pages
from blastpay.emulator.sdk_params import sdk_parameters
from .errors import unsupported_parameter
from .errors import EmulatorError, api_error, authentication, idempotency_mismatch, invalid, rate_limited, unrecognized_url
from .faults import FaultPlan, webhook_fault
from .forms import decode_form
from .params import (
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
    check_fields,
)
from .state import API_VERSION, Backend


class ConnectionDropped(Exception):
    """An injected fault: the connection closes without a response."""


@dataclass
class Response:
    status: int
    body: bytes
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0  # seconds of injected latency the door waits before answering (outside any lock)

    def json(self) -> Any:
        return json.loads(self.body)


# -- parameter schemas ---------------------------------------------------------------------
def _with(base: dict[str, Spec], **more: Spec) -> dict[str, Spec]:
    merged = dict(base)
    merged.update(more)
    return merged


RETRIEVE = {"expand": EXPAND}
INTENT_DATA = Obj({"metadata": Metadata(), "description": Str(1000)})
RECURRING = Obj({"interval": Enum("day", "week", "month", "year"), "interval_count": Int(1, 365)}, required=("interval",))
PRODUCT_DATA = Obj({"name": Str(250), "description": Str(40000), "metadata": Metadata()}, required=("name",))
PRICE_DATA = Obj(
    {"currency": Currency(), "unit_amount": Int(0, 99_999_999), "product": Str(), "product_data": PRODUCT_DATA,
     "recurring": RECURRING},
    required=("currency", "unit_amount"),
)
LINE_ITEM = Obj({"price": Str(), "price_data": PRICE_DATA, "quantity": Int(1, 999_999)})
PRODUCT_CREATE = {"name": Str(250), "description": Str(40000), "active": Bool(), "metadata": Metadata(), "expand": EXPAND}
PRODUCT_UPDATE = _with(PRODUCT_CREATE, description=Str(40000, unsettable=True))
PRICE_CREATE = {
    "currency": Currency(), "unit_amount": Int(0, 99_999_999), "product": Str(), "product_data": PRODUCT_DATA,
    "recurring": RECURRING, "metadata": Metadata(), "nickname": Str(), "active": Bool(), "lookup_key": Str(200),
    "expand": EXPAND,
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
WEBHOOK_CREATE = {"url": Str(5000), "enabled_events": ListOf(EVENT_TYPE, 300), "description": Str(5000),
                  "metadata": Metadata(), "api_version": Str(100), "expand": EXPAND}
WEBHOOK_UPDATE = {"url": Str(5000), "enabled_events": ListOf(EVENT_TYPE, 300), "description": Str(5000, unsettable=True),
                  "metadata": Metadata(), "disabled": Bool(), "expand": EXPAND}
EVENT_LIST = _with(LIST_PARAMS, type=Str(100))
PI_LIST = _with(LIST_PARAMS, customer=Str())
CUSTOMER_LIST = _with(LIST_PARAMS, email=Str(512))
PRICE_LIST = _with(LIST_PARAMS, product=Str(), active=Bool(), type=Enum("one_time", "recurring"))
PRODUCT_LIST = _with(LIST_PARAMS, active=Bool())
LINK_LIST = _with(LIST_PARAMS, active=Bool())
NONE: dict[str, Spec] = {}
ADVANCE = {"seconds": Int(0, 10 * 365 * 24 * 3600)}
VISIT = {"url": Str(10_000)}
PAY = {"outcome": Enum("succeeded", "declined"), "email": Str(512)}
FAULTS = {
    "route": Str(500), "error": Enum("500", "429", "drop"), "count": Int(1, 1_000_000), "rate": Fraction(),
    "seed": Int(0), "webhook": Enum("delay", "duplicate", "reorder", "drop"), "seconds": Int(1, 30 * 24 * 3600),
    "clear": Bool(), "latency_ms": Int(0, 60_000), "latency_p99_ms": Int(0, 120_000),
}
EVENT_TYPE_PATTERN = re.compile(r"^(\*|[a-z_]+(\.[a-z_]+)+)$")

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


class Wire:
    def __init__(self, backend: Backend) -> None:
        self.backend = backend
        self.faults = FaultPlan(backend.seed)
        self._request_counter = 0
        b = backend
        r = self._route
        self.routes: list[Route] = [
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
              lambda p, i: _item_list(b.session_line_items(i), p, f"/v1/checkout/sessions/{i}/line_items")),
            r("POST", r"/v1/payment_links", LINK_CREATE, lambda p: b.create_payment_link(p)),
            r("GET", r"/v1/payment_links", LINK_LIST, lambda p: self._filtered(b.list_page("payment_link", None, p, "/v1/payment_links"), p, ("active",))),
            r("GET", rf"/v1/payment_links/{ID}", RETRIEVE, lambda p, i: b._require("payment_link", i)),
            r("POST", rf"/v1/payment_links/{ID}", LINK_UPDATE, lambda p, i: b.update_payment_link(i, p)),
            r("GET", rf"/v1/payment_links/{ID}/line_items", LIST_PARAMS,
              lambda p, i: _item_list(b.link_line_items(i), p, f"/v1/payment_links/{i}/line_items")),
            r("GET", r"/v1/payment_intents", PI_LIST, lambda p: b.list_payment_intents(p)),
            r("GET", rf"/v1/payment_intents/{ID}", RETRIEVE, lambda p, i: b._require("payment_intent", i)),
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
            r("POST", rf"/_sandbox/checkout/{ID}/pay", PAY, lambda p, i: b.pay(i, p.get("outcome", "succeeded"), p.get("email")),
              kind="sandbox"),
            r("POST", rf"/_sandbox/checkout/{ID}/cancel", NONE, lambda p, i: b.cancel(i), kind="sandbox"),
            r("POST", r"/_sandbox/faults", FAULTS, lambda p: self.set_faults(**p), kind="sandbox"),
            r("POST", r"/_sandbox/reset", NONE, lambda p: self.reset(), kind="sandbox"),
            r("GET", r"/_sandbox/deliveries", NONE, lambda p: {"object": "list", "data": list(b.deliveries)}, kind="sandbox"),
            r("POST", r"/_sandbox/webhooks/flush", NONE, lambda p: self._flush(), kind="sandbox", locked=False),
            # pages a browser sees
            r("GET", rf"/c/pay/{ID}", NONE, lambda p, i: pages.session_page(b, i), kind="page"),
            r("POST", rf"/c/pay/{ID}", PAY, lambda p, i: pages.pay_form(b, i, p.get("outcome", "succeeded")), kind="page"),
            r("GET", rf"/b/{ID}", None, lambda p, i: pages.link_page(b, i, p), kind="page"),
            r("GET", rf"/r/{ID}", None, lambda p, i: pages.recovery_page(b, i), kind="page"),
        ]
        self._by_method: dict[str, list[Route]] = {}
        for route in self.routes:
            self._by_method.setdefault(route.method, []).append(route)

    @staticmethod
    def _route(method: str, path: str, schema: dict[str, Spec] | None, action: Callable[..., Any],
               required: tuple[str, ...] = (), kind: str = "api", locked: bool = True) -> Route:
        template = path.replace(ID, "{id}")
        return Route(method, re.compile(f"^{path}/?$"), schema, action, required, kind, locked,  # type: ignore[arg-type]
                     template=template, sdk=sdk_parameters(method, template) if kind == "api" else frozenset())

    # -- control helpers -------------------------------------------------------------------
    def set_faults(self, **spec: Any) -> dict[str, Any]:
        """Add fault rules. See ``Emulator.set_faults`` for the keys."""
        unknown = set(spec) - set(FAULTS)
        if unknown:
            raise invalid(f"Received unknown parameter: {sorted(unknown)[0]}", param=sorted(unknown)[0])
        with self.backend.lock:
            if spec.get("clear"):
                self.faults.clear()
                self.backend.webhook_faults.clear()
            if "latency_p99_ms" in spec and "latency_ms" not in spec:
                raise invalid("latency_p99_ms needs latency_ms (the median).", param="latency_ms")
            if "latency_ms" in spec:
                self.faults.add_latency(spec.get("route", "*"), spec["latency_ms"], spec.get("latency_p99_ms"),
                                        spec.get("seed"))
            if "error" in spec or ("route" in spec and "latency_ms" not in spec):
                if "error" not in spec:
                    raise invalid("A route fault needs error=500|429|drop or latency_ms=N.", param="error")
                self.faults.add_route_fault(spec.get("route", "*"), str(spec["error"]), spec.get("count"),
                                            spec.get("rate"), spec.get("seed"))
            if "webhook" in spec:
                self.backend.webhook_faults.append(webhook_fault(spec["webhook"], spec.get("count"), spec.get("seconds")))
            if not ({"clear", "error", "route", "webhook", "latency_ms"} & set(spec)):
                raise invalid("Nothing to do: give route+error, webhook, or clear=true.", param="route")
        return {"faults": len(self.faults.rules) + len(self.faults.latencies) + len(self.backend.webhook_faults)}

    def reset(self) -> dict[str, Any]:
        self.backend.reset()
        self.faults = FaultPlan(self.backend.seed)
        return {"now": self.backend.now()}

    def _flush(self) -> dict[str, Any]:
        before = len(self.backend.deliveries)
        self.backend.flush_webhooks()
        return {"attempts": len(self.backend.deliveries) - before}

    def _create_endpoint(self, p: dict[str, Any]) -> dict[str, Any]:
        _check_event_types(p["enabled_events"])
        return self.backend.create_webhook_endpoint(p)

    def _update_endpoint(self, endpoint_id: str, p: dict[str, Any]) -> dict[str, Any]:
        if "enabled_events" in p:
            _check_event_types(p["enabled_events"])
        return self.backend.update_webhook_endpoint(endpoint_id, p)

    @staticmethod
    def _filtered(page: dict[str, Any], p: dict[str, Any], fields: tuple[str, ...]) -> dict[str, Any]:
        for name in fields:
            if name in p:
                page["data"] = [o for o in page["data"] if o.get(name) == p[name]]
        return page

    # -- the entry point -------------------------------------------------------------------
    def handle(self, method: str, path: str, query: str, headers: dict[str, str], body: bytes | str | None) -> Response:
        method = method.upper()
        lowered = {k.lower(): v for k, v in headers.items()}
        delay = self.faults.delay(method, path) if path.startswith("/v1/") else 0.0
        try:
            response = self._handle(method, path, query, lowered, body)
        except EmulatorError as exc:
            response = self._error(exc)
        response.delay = delay
        if self.backend.outbox.next_due() is not None:
            self.backend.deliver_due()
        return response

    def _next_request_id(self) -> str:
        self._request_counter += 1
        return f"req_{self._request_counter:014d}"

    def _json(self, status: int, payload: Any, extra: dict[str, str] | None = None) -> Response:
        headers = {"Content-Type": "application/json", "Request-Id": self._next_request_id(), "Stripe-Version": API_VERSION}
        if extra:
            headers.update(extra)
        return Response(status, json.dumps(payload).encode(), headers)

    def _error(self, exc: EmulatorError) -> Response:
        extra = {"Stripe-Should-Retry": "false"} if exc.status < 500 else None
        return self._json(exc.status, exc.to_dict(), extra)

    def _match(self, method: str, path: str) -> tuple[Route, tuple[str, ...]]:
        for route in self._by_method.get(method, ()):
            found = route.pattern.match(path)
            if found:
                return route, found.groups()
        raise unrecognized_url(method, path)

    def _handle(self, method: str, path: str, query: str, headers: dict[str, str], body: bytes | str | None) -> Response:
        if len(path) > 2000:
            raise unrecognized_url(method, path[:200] + "...")
        route, groups = self._match(method, path)
        if route.kind == "api":
            api_key = _api_key(headers)
            fault = self.faults.check(method, path)
            if fault == "500":
                raise api_error()
            if fault == "429":
                raise rate_limited()
            if fault == "drop":
                raise ConnectionDropped(f"{method} {path}")
        raw = decode_form(query) if (method != "POST" or query) else {}
        if method == "POST" or method == "DELETE":
            raw.update(decode_form(body))
        if route.kind == "page":
            return self._page(route, groups, raw)
        if route.sdk:
            for name in raw:
                if name not in route.schema and name in route.sdk:
                    raise unsupported_parameter(name)
        params = check_fields(route.schema, route.required, raw)
        if route.kind == "sandbox":
            return self._json(200, self._run(route, params, groups))
        idem_key = headers.get("idempotency-key") if method == "POST" else None
        if idem_key is not None:
            if len(idem_key) > 255:
                raise invalid("Idempotency keys can be at most 255 characters long.", param="Idempotency-Key")
            stored = self.backend.idempotency.get((api_key, idem_key))
            if stored is not None:
                s_method, s_path, s_params, s_status, s_body = stored
                if (s_method, s_path, s_params) != (method, path, raw):
                    raise idempotency_mismatch(idem_key)
                return Response(s_status, s_body.encode(), {"Content-Type": "application/json",
                                                            "Request-Id": self._next_request_id(),
                                                            "Idempotent-Replayed": "true",
                                                            "Stripe-Version": API_VERSION})
        try:
            result = self._run(route, params, groups)
            status, text = 200, json.dumps(self._expand(result, params.get("expand")))
        except EmulatorError as exc:
            if idem_key is None:
                raise
            status, text = exc.status, exc.to_json()
        if idem_key is not None:
            self.backend.idempotency[(api_key, idem_key)] = (method, path, raw, status, text)
        headers_out = {"Content-Type": "application/json", "Request-Id": self._next_request_id(), "Stripe-Version": API_VERSION}
        if idem_key is not None:
            headers_out["Idempotency-Key"] = idem_key
        return Response(status, text.encode(), headers_out)

    def _run(self, route: Route, params: dict[str, Any], groups: tuple[str, ...]) -> Any:
        if not route.locked:
            return route.action(params, *groups)
        with self.backend.lock:
            return route.action(params, *groups)

    def _page(self, route: Route, groups: tuple[str, ...], raw: dict[str, Any]) -> Response:
        if route.schema is not None:
            raw = check_fields(route.schema, route.required, raw)
        with self.backend.lock:
            status, html, location = route.action(raw, *groups)
        headers = {"Content-Type": "text/html; charset=utf-8"}
        if location:
            headers["Location"] = location
        return Response(status, html.encode(), headers)

    # -- expansion -------------------------------------------------------------------------
    def _expand(self, obj: Any, paths: list[str] | None) -> Any:
        if not paths:
            return obj
        obj = copy.deepcopy(obj)
        for n, path in enumerate(paths):
            if obj.get("object") == "list" and path.startswith("data."):
                for item in obj["data"]:
                    self._expand_one(item, path[5:], f"expand[{n}]")
            else:
                self._expand_one(obj, path, f"expand[{n}]")
        return obj

    _EXPANDABLE = {
        "customer": "customer",
        "payment_intent": "payment_intent",
        "payment_link": "payment_link",
        "product": "product",
        "price": "price",
    }

    def _expand_one(self, obj: dict[str, Any], path: str, param: str) -> None:
        b = self.backend
        if path == "line_items" and obj.get("object") in ("checkout.session", "payment_link"):
            items = b.line_items.get(obj["id"]) if obj["object"] == "checkout.session" else b.link_inputs[obj["id"]]["items"]
            obj["line_items"] = _item_list(items, {}, f"/v1/checkout/sessions/{obj['id']}/line_items")
            return
        head, _, rest = path.partition(".")
        kind = self._EXPANDABLE.get(head)
        if kind is None or head not in obj:
            raise invalid(f"This property cannot be expanded ({path}).", param=param)
        value = obj[head]
        if isinstance(value, str):
            with b.lock:
                found = b.stores[kind].get(value)
            if found is not None:
                obj[head] = copy.deepcopy(found)
        if rest and isinstance(obj[head], dict):
            self._expand_one(obj[head], rest, param)


def _item_list(items: list[dict[str, Any]], p: dict[str, Any], url: str) -> dict[str, Any]:
    limit = p.get("limit", 10)
    return {"object": "list", "data": items[:limit], "has_more": len(items) > limit, "url": url}


def _check_event_types(types: list[str]) -> None:
    for n, name in enumerate(types):
        if not EVENT_TYPE_PATTERN.match(name):
            raise invalid(f"Invalid enabled_events[{n}]: {name[:100]!r} is not an event type.", param=f"enabled_events[{n}]")


TEST_MODE_ONLY = "The Stripe emulator is test mode only: live mode keys (sk_live_..., rk_live_...) are refused. Use an sk_test_ key."


def _api_key(headers: dict[str, str]) -> str:
    auth = headers.get("authorization", "")
    key = ""
    if auth.startswith("Bearer "):
        key = auth[7:].strip()
    elif auth.startswith("Basic "):
        try:
            key = base64.b64decode(auth[6:].strip(), validate=True).decode("utf-8").split(":", 1)[0]
        except (ValueError, UnicodeDecodeError):
            raise authentication("Invalid authorization header: basic credentials are not valid base64.") from None
    if not key:
        raise authentication(
            "You did not provide an API key. You need to provide your API key in the Authorization header, using "
            "Bearer auth (e.g. 'Authorization: Bearer YOUR_SECRET_KEY')."
        )
    if key.startswith(("sk_live_", "rk_live_")):
        raise authentication(TEST_MODE_ONLY)
    if not key.startswith(("sk_test_", "rk_test_")) or len(key) <= 8:
        shown = key[:8] + "*" * min(max(len(key) - 12, 0), 20) + key[-4:] if len(key) > 12 else key[:3] + "***"
        raise authentication(f"Invalid API Key provided: {shown}")
    return key
