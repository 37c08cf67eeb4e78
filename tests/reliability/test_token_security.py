"""Pay tokens through the real /pay route: nothing the app did not mint opens an order, every failure
looks the same, keys rotate cleanly, tokens say nothing about the order, and they cannot be guessed."""

import base64
import binascii
import hashlib
import inspect
import re
from unittest import mock
from urllib.parse import quote

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from blastpay.emulator import Emulator
from blastpay.experiments.reliability import token_entropy
from blastpay.flows import tokens
from blastpay.flows.harness import CANCEL_URL, SUCCESS_URL
from blastpay.flows.lazy_mint import LazyMintConfig
from blastpay.flows.order_models import Order, OrderSpec, PayToken
from blastpay.flows.orders import OrderStore
from blastpay.flows.pay_route import create_app
from blastpay.flows.tokens import DbTokens, HmacTokens, make_binding, parse_token_keys, token_keys_from_env

KEY_OLD = "k0:" + "0f" * 32
KEY_NEW = "k1:" + "f0" * 32
PARENT, PLAYER, PRODUCT, ORDER_ID = 424242, 515151, "utah-invitational-2026", 987654321
FUZZ = settings(max_examples=150, derandomize=True, deadline=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])


class PayApp:
    """The lazy-mint app over one store and emulator, rebuilt with other keys as rotation demands."""

    def __init__(self, binding_name: str, keys: str = KEY_NEW) -> None:
        self.emu = Emulator(seed=0)
        self.stripe = self.emu.client()
        self.store = OrderStore("sqlite://")
        self.binding_name = binding_name
        self.use_keys(keys)
        with self.store.transaction() as session:  # a distinctive, large order id
            session.add(Order(id=ORDER_ID, parent_id=PARENT, player_id=PLAYER, product_id=PRODUCT, amount=15000,
                              currency="usd", status="pending", created_at=self.emu.now()))
        self.orders = [ORDER_ID] + [o.id for o in self.store.create_orders(
            [OrderSpec(parent_id=PARENT, player_id=PLAYER + i, product_id=PRODUCT, amount=15000) for i in range(3)],
            now=self.emu.now())]
        self.tokens = {oid: self.mint(oid) for oid in self.orders}

    def use_keys(self, keys: str) -> None:
        binding = make_binding(self.binding_name, parse_token_keys(keys) if self.binding_name == "hmac" else None)
        self.binding = binding
        app = create_app(store=self.store, stripe_client=self.stripe, binding=binding, clock=self.emu.now,
                         config=LazyMintConfig(public_base_url="http://backend.test", success_url=SUCCESS_URL,
                                               cancel_url=CANCEL_URL), webhook_secrets=["whsec_test"])
        self.web = TestClient(app, base_url="http://backend.test")

    def mint(self, order_id: int) -> str:
        with self.store.transaction() as session:
            return self.binding.mint(session, order_id, now=self.emu.now())

    def get(self, token: str):
        return self.web.get("/pay/" + quote(token, safe=""), follow_redirects=False)

    def resolve(self, token: str):
        with self.store.transaction() as session:
            return self.binding.resolve(session, token)


def fingerprint(response):
    """Everything a client can see of a response."""
    return response.status_code, sorted(response.headers.items()), response.content


@pytest.fixture(params=["hmac", "db"])
def pay_app(request):
    app = PayApp(request.param)
    yield app
    app.store.dispose()


@pytest.fixture
def not_found(pay_app):
    response = pay_app.get("A" * 43)
    assert response.status_code == 404 and 'data-page="not_found"' in response.text
    return fingerprint(response)


def test_minted_tokens_open_their_own_order(pay_app):
    for order_id, token in pay_app.tokens.items():
        assert pay_app.resolve(token) == order_id
        response = pay_app.get(token)
        assert response.status_code == 303 and response.headers["location"].startswith(pay_app.emu.base_url)
        session_id = response.headers["location"].rsplit("/", 1)[-1]
        assert pay_app.stripe.v1.checkout.sessions.retrieve(session_id).metadata["order_id"] == str(order_id)


@FUZZ
@given(st.text(min_size=0, max_size=200))
def test_no_arbitrary_string_opens_an_order(pay_app, not_found, candidate):
    if candidate in pay_app.tokens.values():
        return
    assert pay_app.resolve(candidate) is None
    # A '/' or a dot segment makes it another path (the router's own 404), not a token.
    if candidate and "/" not in candidate and candidate not in (".", ".."):
        assert fingerprint(pay_app.get(candidate)) == not_found


@FUZZ
@given(st.binary(min_size=16, max_size=96))
def test_no_well_formed_base64_stranger_opens_an_order(pay_app, not_found, raw):
    candidate = base64.urlsafe_b64encode(raw).rstrip(b"=").decode()
    if candidate in pay_app.tokens.values():
        return
    assert pay_app.resolve(candidate) is None
    assert fingerprint(pay_app.get(candidate)) == not_found


@FUZZ
@given(st.data())
def test_a_forged_token_with_the_right_layout_opens_nothing(pay_app, not_found, data):
    """Keep a real token's key id and nonce (so its row exists) and guess the rest."""
    token = data.draw(st.sampled_from(sorted(pay_app.tokens.values())))
    raw = tokens._b64decode(token)
    keep = data.draw(st.integers(min_value=0, max_value=len(raw) - 1))
    forged = raw[:keep] + data.draw(st.binary(min_size=len(raw) - keep, max_size=len(raw) - keep))
    if forged == raw:
        return
    candidate = tokens._b64encode(forged)
    assert pay_app.resolve(candidate) is None
    assert fingerprint(pay_app.get(candidate)) == not_found


ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"


def test_flipping_any_character_or_bit_gives_the_same_404(pay_app, not_found):
    token = pay_app.tokens[ORDER_ID]
    tried = 0
    for i in range(len(token)):
        for other in {ALPHABET[(ALPHABET.index(token[i]) + k) % 64] for k in (1, 17, 32)} | {"=", "~", "é"}:
            tampered = token[:i] + other + token[i + 1:]
            assert fingerprint(pay_app.get(tampered)) == not_found, f"position {i} -> {other!r}"
            tried += 1
    raw = tokens._b64decode(token)
    for i in range(len(raw)):
        for bit in range(8):
            flipped = tokens._b64encode(raw[:i] + bytes([raw[i] ^ (1 << bit)]) + raw[i + 1:])
            assert fingerprint(pay_app.get(flipped)) == not_found, f"byte {i} bit {bit}"
            tried += 1
    for variant in (token + "\n", token + "=", token + "==", token.upper(), token[:-1], token + "A", " " + token,
                    base64.b64encode(tokens._b64decode(token)).decode().rstrip("=")):
        if variant != token and "/" not in variant:  # a '/' is another path: the router's own 404
            assert fingerprint(pay_app.get(variant)) == not_found, repr(variant)
    assert tried > 8 * len(raw)


def test_overlong_and_control_character_tokens_are_404_not_500(pay_app, not_found):
    for junk in ("A" * 10_000, "\x00" * 50, "%00" * 30, "order_1", str(ORDER_ID), "\u202e" * 20):
        assert fingerprint(pay_app.get(junk)) == not_found, repr(junk[:20])


def test_key_rotation_overlap_then_retirement():
    app = PayApp("hmac", keys=KEY_OLD)
    try:
        old = app.tokens[ORDER_ID]
        assert app.get(old).status_code == 303
        app.use_keys(KEY_NEW + "," + KEY_OLD)  # new key signs, old key still verifies
        new = app.mint(ORDER_ID)
        assert new.startswith(tokens._b64encode(b"\x02k1")[:3]) and old != new
        first = app.get(old)
        assert first.status_code == 303 and app.get(new).headers["location"] == first.headers["location"]
        app.use_keys(KEY_NEW)  # the old key is removed
        not_found = fingerprint(app.get("A" * 47))
        assert fingerprint(app.get(old)) == not_found
        assert app.get(new).status_code == 303
        app.use_keys(KEY_OLD)  # a rollback to the old key alone does not honour tokens it never signed
        assert fingerprint(app.get(new)) == not_found
    finally:
        app.store.dispose()


def test_rotation_through_the_environment_variable():
    both = token_keys_from_env({tokens.TOKEN_KEYS_ENV: f" {KEY_NEW} , {KEY_OLD} "})
    assert both.current_kid == "k1" and set(both.keys) == {"k0", "k1"}
    store = OrderStore("sqlite://")
    try:
        (order,) = store.create_orders([OrderSpec(parent_id=1, player_id=1, product_id="p", amount=100)], now=0)
        with store.transaction() as s:
            old = HmacTokens(parse_token_keys(KEY_OLD)).mint(s, order.id, now=0)
        with store.transaction() as s:
            assert HmacTokens(both).resolve(s, old) == order.id
            assert HmacTokens(token_keys_from_env({tokens.TOKEN_KEYS_ENV: KEY_NEW})).resolve(s, old) is None
    finally:
        store.dispose()


def _readable_forms(token: str) -> list[bytes]:
    forms = [token.encode()]
    for decode in (base64.urlsafe_b64decode, base64.b64decode, base64.b32decode, base64.b16decode):
        for pad in ("", "=", "==", "==="):
            try:
                forms.append(decode(token + pad))
            except (binascii.Error, ValueError):
                pass
    return forms


def test_tokens_carry_no_order_id_or_personal_data(pay_app):
    secrets_of_the_order = [str(ORDER_ID).encode(), f"{ORDER_ID:x}".encode(), str(PARENT).encode(),
                            str(PLAYER).encode(), PRODUCT.encode(), b"utah", b"order_"]
    for width in (4, 8):
        secrets_of_the_order += [ORDER_ID.to_bytes(width, "big"), ORDER_ID.to_bytes(width, "little")]
    token = pay_app.tokens[ORDER_ID]
    forms = _readable_forms(token)
    assert len(forms) > 1  # at least one base64 reading decoded
    for form in forms:
        for needle in secrets_of_the_order:
            assert needle not in form and needle.lower() not in form.lower(), (needle, form)
    # Two orders' tokens share nothing beyond the layout prefix (the key id for hmac).
    raws = [tokens._b64decode(t) for t in pay_app.tokens.values()]
    prefix = 3 if pay_app.binding_name == "hmac" else 0
    assert len({r[prefix:prefix + 8] for r in raws}) == len(raws)


def test_the_database_row_cannot_be_turned_back_into_a_working_link(pay_app, not_found):
    with pay_app.store.transaction() as session:
        rows = list(session.query(PayToken))
    for row in rows:
        for candidate in (row.lookup, tokens._b64encode(bytes.fromhex(row.lookup))):
            assert fingerprint(pay_app.get(candidate)) == not_found


def test_hmac_comparison_is_constant_time_on_every_path(pay_app):
    """The tag comparison goes through hmac.compare_digest, and a tag is computed and compared on every
    failure path too (unknown key id, unknown nonce), so failures cost the same work."""
    if pay_app.binding_name != "hmac":
        # db tokens are found by the SHA-256 of the presented token, so the lookup compares digests an
        # attacker cannot steer; the raw token is never compared.
        assert "==" not in inspect.getsource(DbTokens.resolve).split("select(", 1)[0].replace("len(raw) !=", "")
        with mock.patch.object(tokens.hashlib, "sha256", wraps=hashlib.sha256) as digest:
            pay_app.resolve(pay_app.tokens[ORDER_ID])
        assert digest.called
        return
    token = pay_app.tokens[ORDER_ID]
    raw = tokens._b64decode(token)
    unknown_kid = tokens._b64encode(raw[:1] + b"zz" + raw[3:])
    unknown_nonce = tokens._b64encode(raw[:3] + bytes(16) + raw[19:])
    bad_tag = tokens._b64encode(raw[:-1] + bytes([raw[-1] ^ 1]))
    for candidate in (token, unknown_kid, unknown_nonce, bad_tag):
        with mock.patch.object(tokens.hmac, "compare_digest", wraps=tokens.hmac.compare_digest) as compare:
            pay_app.resolve(candidate)
        assert compare.call_count == 1, candidate
    assert not re.search(r"\btag\s*==|==\s*tag\b|expected\s*==", inspect.getsource(HmacTokens.resolve))


@pytest.mark.parametrize("binding", ["hmac", "db"])
def test_entropy_is_at_least_128_bits_and_matches_the_code(binding):
    figures = token_entropy(binding)
    expected_random = {"hmac": tokens.NONCE_BYTES, "db": tokens.DB_TOKEN_BYTES}[binding] * 8
    assert figures["random_bits"] == expected_random >= 128
    assert figures["guess_resistance_bits"] >= 128
    if binding == "hmac":
        assert figures["tag_bits"] == 128 and figures["token_bytes"] == 1 + 2 + 16 + 16
