"""Opaque pay tokens: what a lazy-mint email carries instead of a Stripe URL.

Two bindings from token to order, both resolved through a ``pay_tokens`` row and both revealing
nothing about the order (no id, no personal data, no count):

- ``hmac``: ``base64url(len(kid) || kid || nonce[16] || tag[16])`` where
  ``tag = HMAC-SHA256(key[kid], "blastpay/pay/v1" || kid || nonce || order_id)[:16]``. The row maps the
  nonce to the order; the tag binds the pair, so a token cannot be re-pointed at another order even
  by someone who can write the tokens table, and a token minted under a key that is no longer
  configured stops resolving (rotation: new tokens use the first key; older keys stay listed for
  the overlap). 128 bits of nonce, 128-bit tag.
- ``db``: ``base64url(32 random bytes)``; the row stores only its SHA-256, so a copy of the database
  does not yield working links. 256 bits.

Keys come from ``BLASTPAY_TOKEN_KEYS="kid1:<hex>,kid0:<hex>"`` (first is current; keys at least
32 bytes). Resolving never writes: a token can be opened any number of times (mail scanners
pre-click) and is never consumed.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os
import re
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Optional, Protocol

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from blastpay.flows.order_models import PayToken

TOKEN_KEYS_ENV = "BLASTPAY_TOKEN_KEYS"
MIN_KEY_BYTES = 32
NONCE_BYTES = 16
TAG_BYTES = 16
DB_TOKEN_BYTES = 32
_KID = re.compile(r"^[A-Za-z0-9_-]{1,16}$")
_B64URL = re.compile(r"^[A-Za-z0-9_-]{16,128}$")
_DOMAIN = b"blastpay/pay/v1"


class TokenKeyError(ValueError):
    """The configured token keys are malformed."""


@dataclass(frozen=True)
class TokenKeys:
    current_kid: str
    keys: Mapping[str, bytes]


def parse_token_keys(value: Optional[str]) -> TokenKeys:
    """Parse ``"kid1:<hex>,kid0:<hex>"``; the first entry signs new tokens. One-line errors."""
    if not value or not value.strip():
        raise TokenKeyError(f"{TOKEN_KEYS_ENV} is empty; expected 'kid:hexkey[,kid:hexkey...]'")
    keys: dict[str, bytes] = {}
    order: list[str] = []
    for n, entry in enumerate(value.split(","), start=1):
        kid, sep, hexkey = entry.strip().partition(":")
        if not sep:
            raise TokenKeyError(f"{TOKEN_KEYS_ENV} entry {n} has no ':'; expected 'kid:hexkey'")
        if not _KID.match(kid):
            raise TokenKeyError(f"{TOKEN_KEYS_ENV} entry {n}: key id {kid!r} must be 1-16 of A-Z a-z 0-9 _ -")
        if kid in keys:
            raise TokenKeyError(f"{TOKEN_KEYS_ENV} entry {n}: key id {kid!r} is listed twice")
        try:
            key = bytes.fromhex(hexkey.strip())
        except ValueError:
            raise TokenKeyError(f"{TOKEN_KEYS_ENV} entry {n} ({kid}): key is not hex") from None
        if len(key) < MIN_KEY_BYTES:
            raise TokenKeyError(f"{TOKEN_KEYS_ENV} entry {n} ({kid}): key has {len(key)} bytes, needs at least {MIN_KEY_BYTES}")
        keys[kid] = key
        order.append(kid)
    return TokenKeys(current_kid=order[0], keys=keys)


def token_keys_from_env(environ: Mapping[str, str] = os.environ) -> TokenKeys:
    return parse_token_keys(environ.get(TOKEN_KEYS_ENV))


def _b64encode(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def _b64decode(token: str) -> Optional[bytes]:
    if not isinstance(token, str) or not _B64URL.match(token):
        return None
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
    except (binascii.Error, ValueError):
        return None
    # Only the canonical spelling counts: the last character's spare bits must be zero, so no two
    # strings resolve to the same token.
    return raw if _b64encode(raw) == token else None


class TokenBinding(Protocol):
    name: str

    def mint(self, session: Session, order_id: int, *, now: int) -> str: ...

    def resolve(self, session: Session, token: str) -> Optional[int]: ...


# The resolve lookups, built once (every click and every look at a /pay/ link runs one).
_HMAC_ROW = select(PayToken.order_id, PayToken.kid).where(PayToken.lookup == bindparam("lookup"),
                                                          PayToken.binding == "hmac")
_DB_ORDER = select(PayToken.order_id).where(PayToken.lookup == bindparam("lookup"), PayToken.binding == "db")


class HmacTokens:
    """Signed tokens with a key id; the nonce row maps to the order and the tag binds the two."""

    name = "hmac"

    def __init__(self, keys: TokenKeys) -> None:
        self.keys = keys

    def _tag(self, key: bytes, kid: bytes, nonce: bytes, order_id: int) -> bytes:
        message = _DOMAIN + bytes([len(kid)]) + kid + nonce + str(order_id).encode("ascii")
        return hmac.new(key, message, hashlib.sha256).digest()[:TAG_BYTES]

    def mint(self, session: Session, order_id: int, *, now: int) -> str:
        kid = self.keys.current_kid.encode("ascii")
        nonce = secrets.token_bytes(NONCE_BYTES)
        session.add(PayToken(order_id=order_id, binding=self.name, lookup=nonce.hex(), kid=self.keys.current_kid,
                             created_at=now))
        session.flush()
        return _b64encode(bytes([len(kid)]) + kid + nonce + self._tag(self.keys.keys[self.keys.current_kid], kid, nonce, order_id))

    def resolve(self, session: Session, token: str) -> Optional[int]:
        raw = _b64decode(token)
        if raw is None or len(raw) < 1:
            return None
        kid_len = raw[0]
        if not 1 <= kid_len <= 16 or len(raw) != 1 + kid_len + NONCE_BYTES + TAG_BYTES:
            return None
        kid = raw[1:1 + kid_len]
        nonce = raw[1 + kid_len:1 + kid_len + NONCE_BYTES]
        tag = raw[1 + kid_len + NONCE_BYTES:]
        key = self.keys.keys.get(kid.decode("ascii", errors="replace"))
        row = session.execute(_HMAC_ROW, {"lookup": nonce.hex()}).first()
        # Compute a tag whatever happened above, so every failure costs the same work.
        expected = self._tag(key or b"\0" * MIN_KEY_BYTES, kid, nonce, row.order_id if row else 0)
        valid = hmac.compare_digest(expected, tag)
        if key is None or row is None or row.kid != kid.decode("ascii", errors="replace") or not valid:
            return None
        return row.order_id


class DbTokens:
    """Random tokens; the row stores the token's SHA-256 and the order it belongs to."""

    name = "db"

    @staticmethod
    def _digest(token: str) -> str:
        return hashlib.sha256(token.encode("ascii")).hexdigest()

    def mint(self, session: Session, order_id: int, *, now: int) -> str:
        token = _b64encode(secrets.token_bytes(DB_TOKEN_BYTES))
        session.add(PayToken(order_id=order_id, binding=self.name, lookup=self._digest(token), created_at=now))
        session.flush()
        return token

    def resolve(self, session: Session, token: str) -> Optional[int]:
        raw = _b64decode(token)
        if raw is None or len(raw) != DB_TOKEN_BYTES:
            return None
        return session.execute(_DB_ORDER, {"lookup": self._digest(token)}).scalar()


def make_binding(name: str, keys: Optional[TokenKeys] = None) -> TokenBinding:
    """The token binding called ``name`` ("hmac" needs ``keys``)."""
    if name == "hmac":
        if keys is None:
            raise TokenKeyError(f"the hmac token binding needs keys ({TOKEN_KEYS_ENV})")
        return HmacTokens(keys)
    if name == "db":
        return DbTokens()
    raise ValueError(f"unknown token binding {name!r}; expected 'hmac' or 'db'")
