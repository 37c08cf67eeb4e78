"""Parameter schemas: check decoded form values and coerce them to Python types.

Each route declares the parameters Stripe accepts there; anything else is refused
with Stripe's ``Received unknown parameter: X``. Values arrive as strings (form
encoding) and leave as ``str``/``int``/``bool``/``dict``/``list``.
``UNSET`` stands for an empty string posted to a parameter that may be unset.
"""
from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlsplit

from blastpay.emulator.errors import EmulatorError, invalid, missing_parameter, shown_name, unknown_parameter


class _Unset:
    def __repr__(self) -> str:
        return "UNSET"


UNSET: Any = _Unset()

METADATA_MAX_KEYS = 50
METADATA_KEY_MAX = 40
METADATA_VALUE_MAX = 500


def _empty(path: str) -> EmulatorError:
    return invalid(
        f"You passed an empty string for '{path}'. We assume empty values are an attempt to "
        f"unset a parameter; however '{path}' cannot be unset. You should remove '{path}' from "
        "your request or supply a non-empty value.",
        param=path,
        code="parameter_invalid_empty",
    )


class Spec:
    unsettable = False

    def coerce(self, value: Any, path: str) -> Any:  # pragma: no cover - interface
        raise NotImplementedError

    def check(self, value: Any, path: str) -> Any:
        if value == "":
            if self.unsettable:
                return UNSET
            raise _empty(path)
        return self.coerce(value, path)


class Str(Spec):
    def __init__(self, max_length: int = 5000, unsettable: bool = False) -> None:
        self.max_length = max_length
        self.unsettable = unsettable

    def check(self, value: Any, path: str) -> Any:
        if value == "" and not self.unsettable:
            raise _empty(path)
        return super().check(value, path)

    def coerce(self, value: Any, path: str) -> str:
        if not isinstance(value, str):
            raise invalid(f"Invalid string: {path} must be a string, not a hash or array.", param=path)
        if len(value) > self.max_length:
            raise invalid(
                f"Invalid {path}: must be at most {self.max_length} characters", param=path, code="string_length_exceeds_maximum"
            )
        return value


_INTEGER = re.compile(r"-?[0-9]+")
_INDEX = re.compile(r"[0-9]{1,5}")


class Int(Spec):
    def __init__(self, minimum: int | None = None, maximum: int | None = None, unsettable: bool = False) -> None:
        self.minimum, self.maximum, self.unsettable = minimum, maximum, unsettable

    def coerce(self, value: Any, path: str) -> int:
        if not isinstance(value, str) or len(value) > 19 or _INTEGER.fullmatch(value) is None:
            raise invalid(f"Invalid integer: {_show(value)}", param=path, code="parameter_invalid_integer")
        number = int(value)
        if self.minimum is not None and number < self.minimum:
            raise invalid(
                f"This value must be greater than or equal to {self.minimum}.", param=path, code="parameter_invalid_integer"
            )
        if self.maximum is not None and number > self.maximum:
            raise invalid(
                f"This value must be less than or equal to {self.maximum}.", param=path, code="parameter_invalid_integer"
            )
        return number


class Bool(Spec):
    def coerce(self, value: Any, path: str) -> bool:
        if value in ("true", "false"):
            return value == "true"
        raise invalid(f"Invalid boolean: {_show(value)}", param=path)


class Enum(Spec):
    def __init__(self, *choices: str, unsettable: bool = False) -> None:
        self.choices = choices
        self.unsettable = unsettable

    def coerce(self, value: Any, path: str) -> str:
        if value not in self.choices:
            listed = ", ".join(self.choices[:-1]) + (", or " if len(self.choices) > 2 else " or ") + self.choices[-1]
            if len(self.choices) == 1:
                listed = self.choices[0]
            raise invalid(f"Invalid {path.split('[')[-1].rstrip(']')}: must be one of {listed}", param=path)
        return value


class Metadata(Spec):
    """Key-value strings. ``""`` for the whole map clears it; ``""`` for a key unsets that key."""

    unsettable = True

    def coerce(self, value: Any, path: str) -> dict[str, str]:
        if not isinstance(value, dict):
            raise invalid(f"Invalid hash: {path} must be a set of key-value pairs.", param=path)
        if len(value) > METADATA_MAX_KEYS:
            raise invalid(
                f"Invalid {path}: you can specify up to {METADATA_MAX_KEYS} keys, but you passed {len(value)}.", param=path
            )
        out: dict[str, str] = {}
        for key, item in value.items():
            item_path = f"{path}[{key}]"
            if not isinstance(item, str):
                raise invalid(f"Invalid string: {item_path} must be a string, not a hash or array.", param=item_path)
            if len(key) > METADATA_KEY_MAX:
                raise invalid(
                    f"Metadata keys can have up to {METADATA_KEY_MAX} characters, but you passed in a key that is "
                    f"{len(key)} characters.",
                    param=item_path,
                )
            if len(item) > METADATA_VALUE_MAX:
                raise invalid(
                    f"Metadata values can have up to {METADATA_VALUE_MAX} characters, but you passed in a value that is "
                    f"{len(item)} characters.",
                    param=item_path,
                )
            out[key] = item
        return out


class Obj(Spec):
    def __init__(self, fields: dict[str, Spec], required: tuple[str, ...] = (), unsettable: bool = False) -> None:
        self.fields, self.required, self.unsettable = fields, required, unsettable

    def coerce(self, value: Any, path: str) -> dict[str, Any]:
        if not isinstance(value, dict):
            raise invalid(f"Invalid hash: {path} must be a set of key-value pairs.", param=path)
        return check_fields(self.fields, self.required, value, prefix=path)


class ListOf(Spec):
    def __init__(self, item: Spec, max_items: int = 100) -> None:
        self.item, self.max_items = item, max_items

    def coerce(self, value: Any, path: str) -> list[Any]:
        if isinstance(value, dict):
            if not all(_INDEX.fullmatch(k) for k in value):
                raise invalid(f"Invalid array: {path} must be an array.", param=path)
            items = [(f"{path}[{k}]", value[k]) for k in sorted(value, key=int)]
        elif isinstance(value, list):
            items = [(f"{path}[{i}]", v) for i, v in enumerate(value)]
        else:
            raise invalid(f"Invalid array: {path} must be an array.", param=path)
        if len(items) > self.max_items:
            raise invalid(
                f"Invalid {path}: you may pass at most {self.max_items} items, but you passed {len(items)}.", param=path
            )
        return [self.item.check(v, p) for p, v in items]


class Url(Str):
    """An absolute http or https URL with a host (and, if given, a port 0..65535)."""

    def __init__(self, max_length: int = 5000) -> None:
        super().__init__(max_length=max_length)

    def coerce(self, value: Any, path: str) -> str:
        text = super().coerce(value, path)
        try:
            parts = urlsplit(text)
            parts.port  # noqa: B018 - raises ValueError for a port that is not a number in range
            host = parts.hostname
        except ValueError:
            host = None
            parts = None
        if parts is None or parts.scheme not in ("http", "https") or not host:
            raise invalid(f"Invalid URL: {text[:200]}. URLs must be absolute http or https URLs.", param=path,
                          code="url_invalid")
        return text


def _show(value: Any) -> str:
    if isinstance(value, dict):
        return "a hash"
    if isinstance(value, list):
        return "an array"
    return str(value)[:100]


def check_fields(fields: dict[str, Spec], required: tuple[str, ...], values: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """Validate ``values`` against ``fields``; returns the coerced dict."""
    out: dict[str, Any] = {}
    for name, value in values.items():
        path = f"{prefix}[{name}]" if prefix else name
        spec = fields.get(name)
        if spec is None:
            raise unknown_parameter(path)
        try:
            out[name] = spec.check(value, path)
        except (ValueError, TypeError, OverflowError) as exc:  # a parser that is not total yet: still a 400
            raise invalid(f"Invalid {shown_name(path)}: {str(exc)[:200]}", param=shown_name(path)) from None
    for name in required:
        if name not in out or out[name] is UNSET:
            raise missing_parameter(f"{prefix}[{name}]" if prefix else name)
    return out


EXPAND = ListOf(Str(max_length=500), max_items=20)
LIST_PARAMS: dict[str, Spec] = {
    "limit": Int(1, 100),
    "starting_after": Str(),
    "ending_before": Str(),
    "expand": EXPAND,
}


class Currency(Str):
    def __init__(self) -> None:
        super().__init__(max_length=3)

    def coerce(self, value: Any, path: str) -> str:
        text = super().coerce(value, path) if isinstance(value, str) else super().coerce(value, path)
        if len(text) != 3 or not text.isascii() or not text.isalpha():
            raise invalid(f"Invalid currency: {text}. Stripe currently supports these currencies: usd, eur, gbp, ...", param=path)
        return text.lower()


class Fraction(Spec):
    def coerce(self, value: Any, path: str) -> float:
        try:
            number = float(value) if isinstance(value, (str, int, float)) else None
        except ValueError:
            number = None
        if number is None or not 0.0 <= number <= 1.0:
            raise invalid(f"Invalid {path}: must be a number between 0 and 1, got {_show(value)}", param=path)
        return number
