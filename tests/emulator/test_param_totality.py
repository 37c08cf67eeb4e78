"""Every parameter parser is total: any value is accepted or refused with a Stripe-shaped 400 naming it."""
from __future__ import annotations

import json
from urllib.parse import quote

from hypothesis import given, settings
from hypothesis import strategies as st

from blastpay.emulator.errors import EmulatorError
from blastpay.emulator.forms import decode_form
from blastpay.emulator.params import Bool, Enum, Int, ListOf, Obj, Str, Url, check_fields
from blastpay.emulator.schemas import ADVANCE, FAULTS, PRICE_CREATE, SESSION_CREATE, WEBHOOK_CREATE
from blastpay.emulator.state import Backend
from blastpay.emulator.wire import Wire

AUTH = {"Authorization": "Bearer sk_test_total"}
text = st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=40)
# values shaped like the malformed ones seen in production, and anything else
numberish = st.one_of(st.from_regex(r"[-+ 0-9.eE_x]{1,25}", fullmatch=True), st.integers().map(str),
                      st.sampled_from(["--5", "--1", "-", "+5", " 5", "5 ", "0x10", "1e3", "٣", "²", "1_000", "nan"]))
urlish = st.one_of(st.sampled_from(["http://[::1", "http://[::1]:99999", "http://h:-1", "http://:80", "https://",
                                    "http://[vx.1]", "ftp://h", "http://h:port/", "//h/x", "http://%zz"]),
                   text.map(lambda t: "http://" + t), text)
nested = st.recursive(st.one_of(text, numberish), lambda inner: st.one_of(
    st.lists(inner, max_size=3), st.dictionaries(st.one_of(text, numberish), inner, max_size=3)), max_leaves=8)

KINDS = {
    "integer": Int(1, 100),
    "timestamp": Int(0),  # expires_at
    "amount": Int(0, 99_999_999),  # unit_amount
    "boolean": Bool(),
    "enum": Enum("payment", "subscription"),
    "url": Url(),
    "nested": Obj({"price": Str(), "quantity": Int(1, 999_999), "items": ListOf(Int(0))}),
}


def _refused_naming(exc: EmulatorError, param: str) -> None:
    assert exc.status == 400
    body = exc.to_dict()["error"]
    assert body["type"] == "invalid_request_error" and body["message"]
    assert body.get("param", "").split("[")[0] == param


@settings(max_examples=300, deadline=None)
@given(kind=st.sampled_from(sorted(KINDS)), value=st.one_of(numberish, urlish, nested))
def test_every_typed_parameter_accepts_or_refuses_with_a_400_naming_it(kind, value):
    try:
        check_fields({kind: KINDS[kind]}, (), {kind: value})
    except EmulatorError as exc:
        _refused_naming(exc, kind)


@settings(max_examples=300, deadline=None)
@given(body=st.one_of(text, st.binary(max_size=60),
                      st.lists(st.tuples(st.one_of(text, st.sampled_from(["a[", "a]", "a[b][", "a[][x]", "[]"])),
                                         text), max_size=5)
                      .map(lambda pairs: "&".join(f"{quote(k, safe='[]')}={quote(v)}" for k, v in pairs))))
def test_the_form_decoder_returns_nested_strings_or_a_400(body):
    try:
        decoded = decode_form(body)
    except EmulatorError as exc:
        assert exc.status == 400
        return
    assert isinstance(decoded, dict)


WIRE = Wire(Backend(seed=2))
CASES = [  # (method, path, parameter, schema, fixed form, sent as JSON?)
    ("POST", "/v1/checkout/sessions", "expires_at", SESSION_CREATE, "mode=payment", False),
    ("POST", "/v1/prices", "unit_amount", PRICE_CREATE, "currency=usd&product_data[name]=x", False),
    ("POST", "/v1/webhook_endpoints", "url", WEBHOOK_CREATE, "enabled_events[]=*", False),
    ("POST", "/_sandbox/clock/advance", "seconds", ADVANCE, None, True),
    ("POST", "/_sandbox/faults", "count", FAULTS, None, True),
]


@settings(max_examples=200, deadline=None)
@given(case=st.sampled_from(CASES), value=st.one_of(numberish, urlish))
def test_no_malformed_value_is_a_500_over_the_wire(case, value):
    method, path, param, _, fixed, as_json = case
    if as_json:
        extra = {"route": "POST /v1/customers", "error": "500"} if param == "count" else {}
        body = json.dumps({param: value, **extra})
        headers = dict(AUTH, **{"Content-Type": "application/json"})
    else:
        body = f"{param}={quote(value)}&{fixed}"
        headers = AUTH
    response = WIRE.handle(method, path, "", headers, body)
    assert response.status < 500, response.body
    if response.status >= 400:
        error = response.json()["error"]
        assert error["type"] == "invalid_request_error"
    WIRE.set_faults(clear=True)


def test_the_values_seen_in_production_are_400s_naming_their_parameter():
    for method, path, param, value, fixed, as_json in [
        ("POST", "/v1/checkout/sessions", "expires_at", "--5", "mode=payment", False),
        ("POST", "/_sandbox/clock/advance", "seconds", "--5", None, True),
        ("POST", "/_sandbox/faults", "count", "--1", None, True),
        ("POST", "/v1/webhook_endpoints", "url", "http://[::1", "enabled_events[]=*", False),
    ]:
        if as_json:
            body = json.dumps({param: value, "route": "*", "error": "500"} if param == "count" else {param: value})
            headers = dict(AUTH, **{"Content-Type": "application/json"})
        else:
            body, headers = f"{param}={quote(value)}&{fixed}", AUTH
        response = WIRE.handle(method, path, "", headers, body)
        assert response.status == 400, (param, response.body)
        assert response.json()["error"]["param"] == param
