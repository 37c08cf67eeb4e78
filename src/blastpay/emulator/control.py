"""The control API's guard against cross-site requests: the emulator's own safety rule, not Stripe behaviour.

A web page open in the same browser as a running emulator could otherwise reset it or inject faults with a
plain HTML form (a form may post to any origin, and the browser sends it without asking). So a ``POST``
to ``/_sandbox/...`` must carry its parameters as a JSON object with ``Content-Type: application/json``
(``{}`` when there are none): a page on another origin cannot send that content type without the
browser first asking the emulator's permission (a CORS preflight), which the emulator never grants. A
request whose ``Origin`` header names another origin is refused too. Values are JSON strings, numbers or
booleans, read as the same text a form would carry (``{"seconds": 60}``, ``{"clear": true}``), or an object of them one
level deep for a nested parameter (``{"address": {"country": "US"}}``).
"""
from __future__ import annotations

import json
from typing import Any

from blastpay.emulator.errors import EmulatorError, invalid

JSON_ONLY = ("The control API takes its parameters as a JSON object with Content-Type: application/json "
             "(send {} when there are none); form posts are refused so that a web page cannot drive the emulator.")


def forbidden(message: str) -> EmulatorError:
    return EmulatorError(message, status=403)


def control_parameters(headers: dict[str, str], query: str, body: bytes | str | None, own_origin: str) -> dict[str, Any]:
    """The parameters of a ``POST /_sandbox/...`` request, or a Stripe-shaped refusal. ``headers`` are lower-cased."""
    origin = headers.get("origin")
    if origin is not None and origin.rstrip("/") != own_origin.rstrip("/"):
        raise forbidden(f"Cross-origin requests to the control API are refused (Origin: {origin[:200]}).")
    media_type = headers.get("content-type", "").split(";", 1)[0].strip().lower()
    if media_type != "application/json":
        raise invalid(JSON_ONLY)
    if query:
        raise invalid("Control API parameters go in the JSON body, not in the query string.")
    text = body.decode("utf-8", "replace") if isinstance(body, bytes) else (body or "")
    try:
        decoded: Any = json.loads(text) if text.strip() else {}
    except ValueError:
        raise invalid("The request body is not valid JSON.") from None
    if not isinstance(decoded, dict):
        raise invalid("The request body must be a JSON object.")
    return {name: _as_text(name, value) for name, value in decoded.items()}


def _as_text(name: str, value: Any, depth: int = 0) -> Any:
    """A value as the text a form would carry; an object (``{"address": {"country": "US"}}``, a form's
    ``address[country]``) keeps its keys, one level deep, each value read the same way."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (str, int, float)):
        return str(value)
    if isinstance(value, dict) and depth == 0:
        return {str(k)[:200]: _as_text(f"{name}[{k}]", v, depth + 1) for k, v in value.items()}
    raise invalid(f"Invalid {name[:200]}: must be a string, a number or a boolean.", param=name[:200])
