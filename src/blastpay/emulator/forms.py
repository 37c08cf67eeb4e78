"""Stripe form encoding: ``a[b][0][c]=v`` into nested dicts.

Bracketed segments become nested dicts keyed by the segment text (``"0"`` stays a
string key: whether it is a list index is for the parameter schema to say).
An empty segment (``a[]=x``) appends to a list.
"""
from __future__ import annotations

import re
from typing import Any
from urllib.parse import parse_qsl

from .errors import EmulatorError, invalid

_KEY = re.compile(r"^([^\[\]]+)((?:\[[^\[\]]*\])*)$")
_SEGMENT = re.compile(r"\[([^\[\]]*)\]")


def split_key(key: str) -> list[str]:
    """``"a[b][0]"`` -> ``["a", "b", "0"]``; raises on malformed brackets."""
    match = _KEY.match(key)
    if match is None:
        raise invalid(f"Invalid parameter name: {key!r} is not a well-formed form key.", param=key[:200] or None)
    return [match.group(1), *_SEGMENT.findall(match.group(2))]


def decode_form(body: str | bytes | None) -> dict[str, Any]:
    """Decode a form body or query string into nested dicts/lists of strings."""
    if not body:
        return {}
    if isinstance(body, bytes):
        try:
            body = body.decode("utf-8")
        except UnicodeDecodeError:
            raise invalid("The request body is not valid UTF-8.") from None
    try:
        pairs = parse_qsl(body, keep_blank_values=True, strict_parsing=False, max_num_fields=5000)
    except ValueError as exc:  # too many fields
        raise invalid(f"Invalid request body: {exc}.") from None
    result: dict[str, Any] = {}
    for key, value in pairs:
        if "\x00" in key or "\x00" in value:
            raise invalid("Parameters must not contain NUL characters.", param=key.replace("\x00", "")[:200] or None)
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
