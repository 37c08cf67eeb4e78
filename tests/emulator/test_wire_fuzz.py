"""Bad input never produces a 500 or a traceback: malformed and unknown form params at every route."""
from __future__ import annotations

import json
from urllib.parse import quote

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from blastpay.emulator.state import Backend
from blastpay.emulator.wire import Wire

WIRE = Wire(Backend(seed=1))
AUTH = {"Authorization": "Bearer sk_test_fuzz"}
ROUTES = [r for r in WIRE.routes if r.kind in ("api", "sandbox")]
PAGES = [r for r in WIRE.routes if r.kind == "page"]

text = st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=30)
segment = st.one_of(st.just(""), st.from_regex(r"[0-9]{1,3}", fullmatch=True), text)
key_tail = st.lists(segment.map(lambda s: f"[{s}]"), max_size=3).map("".join)
garbage = st.sampled_from(["[", "]", "a[b", "a]b[", "[x]", "a[b]]", "a[][0]", "%", "%zz", "=", "&&", "\x00"])
value = st.one_of(text, st.integers().map(str), st.sampled_from(["true", "false", "", "-1", "1e9", "99999999999999999999"]))


def _path(route, ident: str) -> str:
    pattern = route.pattern.pattern.strip("^$").replace("/?", "")
    return pattern.replace("([A-Za-z0-9_]+)", ident)


def _known(route) -> list[str]:
    return sorted(route.schema or {}) or ["anything"]


@st.composite
def requests_with_unknown(draw):
    route = draw(st.sampled_from(ROUTES))
    pairs = []
    for _ in range(draw(st.integers(0, 4))):
        name = draw(st.sampled_from(_known(route)))
        pairs.append((name + draw(key_tail), draw(value)))
    unknown = draw(st.from_regex(r"[a-z]{1,12}", fullmatch=True).filter(lambda n: n not in (route.schema or {})))
    pairs.insert(draw(st.integers(0, len(pairs))), (unknown + draw(key_tail), draw(value)))
    ident = draw(st.one_of(st.just("x_missing"), st.from_regex(r"[A-Za-z0-9_]{1,40}", fullmatch=True)))
    return route, _path(route, ident), pairs


@st.composite
def requests_malformed(draw):
    route = draw(st.sampled_from(ROUTES + PAGES))
    pairs = []
    for _ in range(draw(st.integers(1, 5))):
        name = draw(st.one_of(st.sampled_from(_known(route)), text, garbage))
        pairs.append((name + draw(st.one_of(key_tail, garbage)), draw(st.one_of(value, garbage))))
    ident = draw(st.from_regex(r"[A-Za-z0-9_]{1,40}", fullmatch=True))
    raw = draw(st.booleans())
    return route, _path(route, ident), pairs, raw


def _encode(pairs) -> str:
    return "&".join(f"{quote(k, safe='[]')}={quote(v)}" for k, v in pairs)


def _send(method: str, path: str, body: str) -> tuple[int, bytes]:
    WIRE.set_faults(clear=True)  # a generated request may have injected faults on purpose
    if method == "GET":
        response = WIRE.handle(method, path, body, AUTH, None)
    else:
        response = WIRE.handle(method, path, "", AUTH, body)
    return response.status, response.body


def _assert_stripe_error(status: int, body: bytes) -> None:
    assert 400 <= status < 500, (status, body[:300])
    error = json.loads(body)["error"]
    assert isinstance(error["type"], str) and isinstance(error["message"], str) and error["message"]
    assert "Traceback" not in error["message"]


@settings(max_examples=400, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
@given(requests_with_unknown())
def test_unknown_parameters_always_get_a_stripe_shaped_4xx(case):
    route, path, pairs = case
    status, body = _send(route.method, path, _encode(pairs))
    _assert_stripe_error(status, body)


@settings(max_examples=400, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
@given(requests_malformed())
def test_malformed_parameters_never_cause_a_server_error(case):
    route, path, pairs, raw = case
    body = "&".join(f"{k}={v}" for k, v in pairs) if raw else _encode(pairs)
    status, payload = _send(route.method, path, body)
    assert status < 500, payload[:300]
    if status >= 400 and route.kind != "page":
        _assert_stripe_error(status, payload)


@settings(max_examples=200, deadline=None, derandomize=True)
@given(st.binary(max_size=200), st.sampled_from(ROUTES))
def test_arbitrary_bytes_as_body(body, route):
    WIRE.set_faults(clear=True)
    response = WIRE.handle(route.method, _path(route, "x_1"), "", AUTH, body)
    assert response.status < 500
