"""Stripe form encoding: ``a[b][0][c]=v`` into nested dicts.

Bracketed segments become nested dicts keyed by the segment text (``"0"`` stays a
string key: whether it is a list index is for the parameter schema to say).
An empty segment (``a[]=x``) appends to a list.
"""
from __future__ import annotations

import re
from typing import Any
from urllib.parse import parse_qsl

from blastpay.emulator.errors import EmulatorError, invalid, shown_name

MAX_DEPTH = 10  # Stripe's deepest parameter the emulator serves is 5 levels (line_items[0][price_data][product_data][metadata][k])
MAX_KEY = 1000
MAX_FIELDS = 5000
_KEY = re.compile(r"^([^\[\]]+)((?:\[[^\[\]]*\])*)$")
_SEGMENT = re.compile(r"\[([^\[\]]*)\]")


def split_key(key: str) -> list[str]:
    """``"a[b][0]"`` -> ``["a", "b", "0"]``; raises on malformed brackets."""
    if key.count("[") > MAX_DEPTH:
        root = shown_name(key.partition("[")[0])
        raise invalid(f"Invalid parameter: {root}[...] is nested more than {MAX_DEPTH} levels deep.", param=root or None)
    if len(key) > MAX_KEY:
        raise invalid(f"Invalid parameter name: {shown_name(key)} is longer than {MAX_KEY} characters.",
                      param=shown_name(key) or None)
    match = _KEY.match(key)
    if match is None:
        raise invalid(f"Invalid parameter name: {shown_name(key)!r} is not a well-formed form key.",
                      param=shown_name(key) or None)
    return [match.group(1), *_SEGMENT.findall(match.group(2))]


def decode_form(body: str | bytes | None) -> dict[str, Any]:
    """Decode a form body or query string into nested dicts/lists of strings.

    Raw bytes and percent-escapes alike must be UTF-8 (``%FF`` is refused, not turned into U+FFFD);
    a key is at most ``MAX_KEY`` characters and ``MAX_DEPTH`` brackets deep, checked before any
    nested structure is built, so nothing downstream recurses deeper than that.
    """
    if not body:
        return {}
    if isinstance(body, bytes):
        try:
            body = body.decode("utf-8")
        except UnicodeDecodeError:
            raise invalid("The request body is not valid UTF-8.") from None
    try:
        pairs = parse_qsl(body, keep_blank_values=True, strict_parsing=False, max_num_fields=MAX_FIELDS,
                          errors="strict")
    except UnicodeDecodeError:
        raise invalid("Invalid request: a percent-encoded parameter is not valid UTF-8.") from None
    except ValueError as exc:  # too many fields
        raise invalid(f"Invalid request body: {exc}.") from None
    result: dict[str, Any] = {}
    for key, value in pairs:
        if "\x00" in key or "\x00" in value:
            raise invalid("Parameters must not contain NUL characters.", param=shown_name(key.replace("\x00", "")) or None)
        _insert(result, key, split_key(key), value)
    return result


def _insert(root: dict[str, Any], key: str, path: list[str], value: str) -> None:
    node: Any = root
    for depth, segment in enumerate(path):
        last = depth == len(path) - 1
        if isinstance(node, list):
            if segment != "":
                raise _conflict(key)
            if last:
                node.append(value)
                return
            child: Any = {}
            node.append(child)
            node = child
            continue
        if last:
            if segment in node:
                raise _conflict(key)
            node[segment] = value
            return
        following_is_append = path[depth + 1] == ""
        existing = node.get(segment)
        if existing is None:
            existing = [] if following_is_append else {}
            node[segment] = existing
        elif isinstance(existing, str) or isinstance(existing, list) != following_is_append:
            raise _conflict(key)
        node = existing


def _conflict(key: str) -> EmulatorError:
    name = split_key(key)[0]
    return invalid(f"Invalid parameter: {key!r} conflicts with another value given for {name}.", param=name)
