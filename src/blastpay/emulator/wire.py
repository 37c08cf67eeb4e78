"""The wire format: route ``/v1/...``, ``/_sandbox/...`` and page requests to the backend.

``Wire.handle(method, path, query, headers, body)`` is the single entry point for both
doors (the in-process SDK transport and the loopback HTTP server). It authenticates,
applies injected faults, decodes Stripe's form encoding, checks parameters, runs the
backend under its lock, serialises JSON, honours ``Idempotency-Key``, and afterwards
(lock released) delivers any webhooks the call made due.

An ``Idempotency-Key`` is *in flight* from the moment its request starts executing until its answer
leaves the emulator, injected latency included: the door calls ``Response.release()`` after holding
the answer (``handle`` releases at once when there is nothing to hold). Meanwhile another request with
the key gets Stripe's 409 ``idempotency_error`` (code ``idempotency_key_in_use``) and nothing is stored
for it; once released, a request with the key replays the stored answer.
"""
from __future__ import annotations

import base64
import copy
import json
from dataclasses import dataclass, field
from typing import Any, Callable

from blastpay.emulator.backend import Backend
from blastpay.emulator.common import API_VERSION
from blastpay.emulator.control import control_parameters
from blastpay.emulator.errors import (
    EmulatorError,
    api_error,
    authentication,
    idempotency_in_use,
    idempotency_mismatch,
    invalid,
    rate_limited,
    unrecognized_url,
    unsupported_parameter,
)
from blastpay.emulator.faults import FaultPlan, webhook_fault
from blastpay.emulator.forms import decode_form
from blastpay.emulator.params import check_fields
from blastpay.emulator.schemas import EVENT_TYPE_PATTERN, FAULTS
from blastpay.emulator.urls import Route, build_routes, item_list


class ConnectionDropped(Exception):
    """An injected fault: the connection closes without a response."""


@dataclass
class Response:
    status: int
    body: bytes
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0  # seconds of injected latency the door waits before answering (outside any lock)
    on_release: Callable[[], None] | None = None  # ends the request's Idempotency-Key being in flight

    def json(self) -> Any:
        return json.loads(self.body)

    def release(self) -> None:
        """The answer is leaving: its Idempotency-Key (if any) is no longer in flight. Idempotent."""
        done, self.on_release = self.on_release, None
        if done is not None:
            done()




class Wire:
    def __init__(self, backend: Backend) -> None:
        self.backend = backend
        self.faults = FaultPlan(backend.seed)
        self._request_counter = 0
        self.routes: list[Route] = build_routes(self)
        self._by_method: dict[str, list[Route]] = {}
        for route in self.routes:
            self._by_method.setdefault(route.method, []).append(route)

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
        holding: list[Callable[[], None]] = []  # set by _handle when this request put a key in flight
        try:
            try:
                response = self._handle(method, path, query, lowered, body, holding)
            except EmulatorError as exc:
                response = self._error(exc)
            response.delay = delay
            if self.backend.outbox.next_due() is not None:
                if path.startswith("/_sandbox/"):
                    self.backend.deliver_due()  # the control API is a test's instrument: it answers after delivering
                else:
                    self.backend.deliver_soon()
        except BaseException:
            for release in holding:
                release()
            raise
        if holding:
            response.on_release = holding[0]
            if delay <= 0:
                response.release()  # nothing to hold: the answer leaves now
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
        # 409 (a key in flight) carries no Stripe-Should-Retry, so the SDK's own rule (retry a 409) applies
        extra = {"Stripe-Should-Retry": "false"} if exc.status < 500 and exc.status != 409 else None
        return self._json(exc.status, exc.to_dict(), extra)

    def _match(self, method: str, path: str) -> tuple[Route, tuple[str, ...]]:
        for route in self._by_method.get(method, ()):
            found = route.pattern.match(path)
            if found:
                return route, found.groups()
        raise unrecognized_url(method, path)

    def _handle(self, method: str, path: str, query: str, headers: dict[str, str], body: bytes | str | None,
                holding: list[Callable[[], None]]) -> Response:
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
        if route.kind == "sandbox" and method == "POST":
            raw: dict[str, Any] = control_parameters(headers, query, body, self.backend.base_url)
        else:
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
            slot = (api_key, idem_key)
            with self.backend.lock:  # look up and claim in one step: two requests never both execute
                if slot in self.backend.idempotency_in_flight:
                    raise idempotency_in_use(idem_key)
                stored = self.backend.idempotency.get(slot)
                if stored is None:
                    self.backend.idempotency_in_flight.add(slot)
                    holding.append(lambda: self._release_key(slot))
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
            with self.backend.lock:
                self.backend.idempotency[(api_key, idem_key)] = (method, path, raw, status, text)
        headers_out = {"Content-Type": "application/json", "Request-Id": self._next_request_id(), "Stripe-Version": API_VERSION}
        if idem_key is not None:
            headers_out["Idempotency-Key"] = idem_key
        return Response(status, text.encode(), headers_out)

    def _release_key(self, slot: tuple[str, str]) -> None:
        with self.backend.lock:
            self.backend.idempotency_in_flight.discard(slot)

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
            session = obj["object"] == "checkout.session"
            items = b.line_items.get(obj["id"]) if session else b.link_inputs[obj["id"]]["items"]
            route = "checkout/sessions" if session else "payment_links"
            obj["line_items"] = item_list(items, {}, f"/v1/{route}/{obj['id']}/line_items")
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
