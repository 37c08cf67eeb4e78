"""Pay tokens: they resolve only to the order they were minted for, reveal nothing, and rotate."""

import base64

import pytest

from blastpay.flows import tokens
from blastpay.flows.order_models import OrderSpec
from blastpay.flows.orders import OrderStore
from blastpay.flows.tokens import DbTokens, HmacTokens, TokenKeyError, make_binding, parse_token_keys

KEYS = "k1:" + "ab" * 32 + ",k0:" + "cd" * 32


@pytest.fixture
def store():
    s = OrderStore("sqlite://")
    yield s
    s.dispose()


def _orders(store, n=2):
    return store.create_orders([OrderSpec(parent_id=111, player_id=7 + i, product_id="utah-invitational-2026",
                                          amount=15000) for i in range(n)], now=0)


def _mint(store, binding, order_id):
    with store.transaction() as s:
        return binding.mint(s, order_id, now=0)


def _resolve(store, binding, token):
    with store.transaction() as s:
        return binding.resolve(s, token)


@pytest.mark.parametrize("binding", [HmacTokens(parse_token_keys(KEYS)), DbTokens()], ids=["hmac", "db"])
def test_token_resolves_to_its_order_and_is_not_consumed(store, binding):
    a, b = _orders(store)
    ta, tb = _mint(store, binding, a.id), _mint(store, binding, b.id)
    assert ta != tb
    for _ in range(3):  # opening a link again (a mail scanner first, then the parent) changes nothing
        assert _resolve(store, binding, ta) == a.id
    assert _resolve(store, binding, tb) == b.id


@pytest.mark.parametrize("binding", [HmacTokens(parse_token_keys(KEYS)), DbTokens()], ids=["hmac", "db"])
def test_any_flipped_character_or_stranger_resolves_to_nothing(store, binding):
    (order,) = _orders(store, 1)
    token = _mint(store, binding, order.id)
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    for i in range(len(token)):
        other = alphabet[(alphabet.index(token[i]) + 1) % len(alphabet)]
        tampered = token[:i] + other + token[i + 1:]
        assert _resolve(store, binding, tampered) is None, f"flipping position {i} still resolved"
    for junk in ["", "x", "order_1", "1", token + "A", token[:-1], "../" + token, "%00" * 20]:
        assert _resolve(store, binding, junk) is None


def test_hmac_token_carries_no_order_id(store):
    binding = HmacTokens(parse_token_keys(KEYS))
    orders = _orders(store, 2)
    for order in orders:
        raw = base64.urlsafe_b64decode(_mint(store, binding, order.id) + "==")
        # the only structure is: key id length, key id, 16 random bytes, 16 tag bytes
        assert raw[0] == 2 and raw[1:3] == b"k1" and len(raw) == 3 + 32


def test_hmac_row_repointed_at_another_order_does_not_resolve(store):
    from sqlalchemy import update

    from blastpay.flows.order_models import PayToken

    binding = HmacTokens(parse_token_keys(KEYS))
    a, b = _orders(store)
    token = _mint(store, binding, a.id)
    with store.transaction() as s:
        s.execute(update(PayToken).values(order_id=b.id))
    assert _resolve(store, binding, token) is None


def test_key_rotation_keeps_old_tokens_during_overlap_then_drops_them(store):
    (order,) = _orders(store, 1)
    old = HmacTokens(parse_token_keys("k0:" + "cd" * 32))
    token = _mint(store, old, order.id)
    overlap = HmacTokens(parse_token_keys(KEYS))  # k1 signs new tokens, k0 still accepted
    assert _resolve(store, overlap, token) == order.id
    assert _mint(store, overlap, order.id) != token
    retired = HmacTokens(parse_token_keys("k1:" + "ab" * 32))
    assert _resolve(store, retired, token) is None


def test_db_tokens_store_only_a_digest(store):
    from sqlalchemy import select

    from blastpay.flows.order_models import PayToken

    (order,) = _orders(store, 1)
    token = _mint(store, DbTokens(), order.id)
    with store.transaction() as s:
        lookups = list(s.scalars(select(PayToken.lookup)))
    assert lookups and token not in lookups[0]
    assert len(base64.urlsafe_b64decode(token + "=")) == 32


@pytest.mark.parametrize("value,needle", [
    ("", "empty"),
    ("k1", "no ':'"),
    ("k1:zz", "not hex"),
    ("k1:abcd", "at least 32"),
    ("bad kid:" + "ab" * 32, "key id"),
    ("k1:" + "ab" * 32 + ",k1:" + "cd" * 32, "twice"),
])
def test_malformed_keys_are_refused_with_one_line(value, needle):
    with pytest.raises(TokenKeyError) as info:
        parse_token_keys(value)
    assert needle in str(info.value) and "\n" not in str(info.value)


def test_first_key_signs():
    keys = parse_token_keys(KEYS)
    assert keys.current_kid == "k1" and set(keys.keys) == {"k1", "k0"}
    with pytest.raises(TokenKeyError):
        make_binding("hmac", None)
    with pytest.raises(ValueError):
        make_binding("jwt")


@pytest.mark.parametrize("kid", ["k", "k1", "k10", "kid4", "k" * 5, "k" * 8, "k" * 15, "k" * 16])
def test_a_key_id_of_any_allowed_length_signs_tokens_that_open_their_order(store, kid):
    binding = HmacTokens(parse_token_keys(f"{kid}:" + "ab" * 32))
    (order,) = _orders(store, 1)
    token = _mint(store, binding, order.id)
    assert _resolve(store, binding, token) == order.id


def test_tokens_open_their_order_whatever_character_they_end_with(store, monkeypatch):
    # with a three-character key id the token's last character carries six bits, so all 64 occur
    binding = HmacTokens(parse_token_keys("k10:" + "ab" * 32))
    (order,) = _orders(store, 1)
    nonces = iter(range(2000))
    monkeypatch.setattr(tokens.secrets, "token_bytes", lambda n: next(nonces).to_bytes(n, "big"))
    endings = set()
    while len(endings) < 64:
        token = _mint(store, binding, order.id)
        assert _resolve(store, binding, token) == order.id, f"token ending in {token[-1]!r} opens nothing"
        endings.add(token[-1])


@pytest.mark.parametrize("value", [None, "   "])
def test_an_unset_or_blank_key_variable_is_reported_as_empty(value):
    with pytest.raises(TokenKeyError, match="is empty"):
        parse_token_keys(value)


def test_a_malformed_key_is_reported_with_its_entry_number_counted_from_one():
    with pytest.raises(TokenKeyError, match=r"entry 2 \(k0\): key is not hex"):
        parse_token_keys("k1:" + "ab" * 32 + ",k0:zz")


def test_a_key_with_a_stray_colon_is_refused_as_not_hex_under_its_key_id():
    with pytest.raises(TokenKeyError, match=r"entry 1 \(k1\): key is not hex"):
        parse_token_keys("k1:" + "ab" * 16 + ":" + "ab" * 16)


def test_choosing_a_binding_badly_names_what_is_wrong():
    with pytest.raises(TokenKeyError, match="BLASTPAY_TOKEN_KEYS"):
        make_binding("hmac", None)
    with pytest.raises(ValueError, match="'jwt'.*'hmac' or 'db'"):
        make_binding("jwt")
