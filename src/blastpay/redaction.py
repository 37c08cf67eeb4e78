"""Credentials out of everything the command line prints.

What goes: Stripe keys (``sk_``/``rk_``/``pk_`` with ``test``/``live``), webhook signing secrets
(``whsec_``), the user and password of a URL (``http://user:secret@host`` prints as
``http://***@host``), the value after ``Authorization: token|Bearer|Basic``, and the literal values of the
environment variables that hold secrets (``SECRET_ENV``). ``blastpay.cli`` passes every line a command
prints through ``RedactingStream``; ``blastpay.live.redaction`` builds on the same patterns for recorded
Stripe traffic.
"""
from __future__ import annotations

import os
import re
from collections.abc import Iterable, Mapping
from typing import Any, TextIO

REDACTED = "[redacted]"
KEY_PATTERN = re.compile(r"\b(?:sk|rk|pk)_(?:test|live)_[A-Za-z0-9]+")
WHSEC_PATTERN = re.compile(r"\bwhsec_[A-Za-z0-9]+")
URL_USERINFO = re.compile(r"(?P<scheme>\b[A-Za-z][A-Za-z0-9+.-]*://)(?P<userinfo>[^/?#@\s'\"]+)@")
AUTHORIZATION = re.compile(r"(?i)(\bauthorization\s*[:=]\s*['\"]?(?:token|bearer|basic)\s+)[^\s'\",]+")
SECRET_ENV = ("FORGEJO_TOKEN", "FORGEJO_URL", "STRIPE_TEST_SECRET_KEY", "STRIPE_API_KEY", "STRIPE_WEBHOOK_SECRET",
              "BLASTPAY_TOKEN_KEYS", "DATABASE_URL", "DATABASE_URL_POSTGRES")
MIN_LITERAL = 6  # shorter values would redact ordinary words


def redact_url(url: str) -> str:
    """``url`` without the user and password it may carry."""
    return URL_USERINFO.sub(lambda m: f"{m.group('scheme')}***@", url)


def redact_credentials(text: str, literals: Iterable[str] = ()) -> str:
    """``text`` with every credential this module knows replaced."""
    for literal in sorted((s for s in literals if s and len(s) >= MIN_LITERAL), key=len, reverse=True):
        text = text.replace(literal, REDACTED)
    text = URL_USERINFO.sub(lambda m: f"{m.group('scheme')}***@", text)
    text = AUTHORIZATION.sub(lambda m: m.group(1) + REDACTED, text)
    text = KEY_PATTERN.sub(REDACTED, text)
    return WHSEC_PATTERN.sub(REDACTED, text)


def env_secrets(environ: Mapping[str, str] = os.environ) -> list[str]:
    """The secret values the environment holds: each of ``SECRET_ENV``, and for URLs their password, and for
    token keys (``name:hex,...``) each key."""
    found: list[str] = []
    for name in SECRET_ENV:
        value = (environ.get(name) or "").strip()
        if not value:
            continue
        userinfo = URL_USERINFO.search(value)
        if userinfo is not None:
            found += [part for part in userinfo.group("userinfo").split(":")[1:] if part]
        if name == "BLASTPAY_TOKEN_KEYS":
            found += [part.split(":", 1)[-1].strip() for part in value.split(",")]
        if not value.startswith(("http://", "https://", "sqlite:", "postgresql")):
            found.append(value)
    return found


class RedactingStream:
    """A text stream that redacts credentials from whatever is written through it."""

    def __init__(self, inner: TextIO, literals: Iterable[str] = ()) -> None:
        self._inner = inner
        self._literals = tuple(literals)

    def write(self, text: str) -> int:
        self._inner.write(redact_credentials(text, self._literals))
        return len(text)

    def writelines(self, lines: Iterable[str]) -> None:
        for line in lines:
            self.write(line)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)
