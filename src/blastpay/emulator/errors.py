"""Stripe-shaped errors: an exception that knows its HTTP status and JSON body."""
from __future__ import annotations

import json
from typing import Any


class EmulatorError(Exception):
    """An error the emulator answers with, shaped like a Stripe API error.

    ``status`` is the HTTP status; ``to_dict()`` is the ``{"error": {...}}`` body
    Stripe sends, so the SDK raises the same exception class it raises against Stripe.
    """

    def __init__(
        self,
        message: str,
        *,
        status: int = 400,
        type: str = "invalid_request_error",
        code: str | None = None,
        param: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.type = type
        self.code = code
        self.param = param

    def to_dict(self) -> dict[str, Any]:
        error: dict[str, Any] = {"type": self.type, "message": self.message}
        if self.code is not None:
            error["code"] = self.code
        if self.param is not None:
            error["param"] = self.param
        return {"error": error}

    def to_json(self) -> str:
        return json.dumps(self.to_dict())

    def __repr__(self) -> str:
        return f"EmulatorError({self.status}, {self.type}, {self.code}, {self.param!r}, {self.message!r})"


def invalid(message: str, param: str | None = None, code: str | None = None) -> EmulatorError:
    return EmulatorError(message, status=400, code=code, param=param)


SHOWN_NAME = 200


def shown_name(name: str) -> str:
    """A parameter name as an error shows it: at most ``SHOWN_NAME`` characters, so a huge name is not echoed."""
    return name if len(name) <= SHOWN_NAME else name[:SHOWN_NAME] + "..."


def unknown_parameter(param: str) -> EmulatorError:
    shown = shown_name(param)
    return EmulatorError(f"Received unknown parameter: {shown}", status=400, code="parameter_unknown", param=shown)


def unsupported_parameter(param: str, why: str = "") -> EmulatorError:
    """A parameter Stripe accepts here (the SDK defines it) that the emulator does not model."""
    shown = shown_name(param)
    return EmulatorError(
        f"The Stripe emulator does not support the parameter {shown}{': ' + why if why else ''}. Stripe accepts it; "
        "the emulator refuses it rather than ignore it.",
        status=400, code="parameter_unsupported", param=shown,
    )


def missing_parameter(param: str) -> EmulatorError:
    return EmulatorError(
        f"Missing required param: {param}.", status=400, code="parameter_missing", param=param
    )


def no_such(kind: str, object_id: str, param: str = "id") -> EmulatorError:
    return EmulatorError(
        f"No such {kind}: '{object_id}'", status=404, code="resource_missing", param=param
    )


def unrecognized_url(method: str, path: str) -> EmulatorError:
    return EmulatorError(
        f"Unrecognized request URL ({method}: {path}). Please see https://stripe.com/docs "
        "or we can help at https://support.stripe.com/.",
        status=404,
    )


def authentication(message: str) -> EmulatorError:
    return EmulatorError(message, status=401)


def idempotency_mismatch(key: str) -> EmulatorError:
    return EmulatorError(
        "Keys for idempotent requests can only be used with the same parameters they were "
        f"first used with. Try using a key other than '{key}' if you meant to execute a "
        "different request.",
        status=400,
        type="idempotency_error",
    )


def idempotency_in_use(key: str) -> EmulatorError:
    """Another request with this Idempotency-Key is still executing (Stripe stores nothing for this one)."""
    return EmulatorError(
        "There is currently another in-progress request using this Idempotent Key (that probably means you "
        f"submitted twice, and the other request is still going through): {key[:255]}. Please try again later.",
        status=409,
        type="idempotency_error",
        code="idempotency_key_in_use",
    )


def rate_limited() -> EmulatorError:
    return EmulatorError(
        "Request rate limit exceeded. Learn more about rate limits here "
        "https://stripe.com/docs/rate-limits.",
        status=429,
        code="rate_limit",
    )


def api_error() -> EmulatorError:
    return EmulatorError(
        "An unknown error occurred (injected fault).", status=500, type="api_error"
    )
