"""Where the emulator answers the probe differently from a recorded run.

Responses are compared step by step (steps are matched by name, in order):

- the HTTP status of every step;
- structure: every field present on one side and missing on the other, and every field
  that is an object on one side and null on the other;
- decision-relevant values: error ``type``/``code``/``param``; ``active``, ``status``,
  ``payment_status``, ``mode``, ``object``, amounts and currency; everything under
  ``metadata``, ``restrictions``, ``after_completion`` and ``after_expiration``
  (``enabled``, ``allow_promotion_codes``...); and for URLs, links and timestamps only
  whether they are present (``url``, ``payment_link``, ``expires_at``...).

Ids, timestamps and wording of error messages are ignored.
"""
from __future__ import annotations

from typing import Any

VALUE_FIELDS = frozenset(
    {
        "active", "status", "payment_status", "mode", "object", "type", "code", "param", "currency",
        "unit_amount", "amount_total", "amount_subtotal", "livemode", "enabled", "allow_promotion_codes",
        "limit", "count", "ui_mode", "client_reference_id", "billing_scheme",
    }
)
PRESENCE_FIELDS = frozenset(
    {"url", "payment_link", "expires_at", "recovered_from", "payment_intent", "success_url", "cancel_url",
     "customer", "default_price", "after_expiration", "restrictions", "after_completion", "recurring"}
)
VALUE_SUBTREES = frozenset({"metadata", "restrictions", "after_completion", "after_expiration"})
IGNORED_FIELDS = frozenset({"id", "created", "updated", "message", "request_log_url", "doc_url"})
TIMESTAMP_FIELDS = frozenset({"created", "updated", "expires_at"})


def _show(value: Any) -> str:
    if isinstance(value, dict):
        return "an object"
    if isinstance(value, list):
        return f"a list of {len(value)}"
    return repr(value)


def _value_note(key: str, value: Any) -> str:
    return f" ({_show(value)})" if key in VALUE_FIELDS else ""


def _leaf_differs(key: str, path: tuple[str, ...], recorded: Any, replayed: Any) -> str | None:
    in_subtree = any(part in VALUE_SUBTREES for part in path[:-1])
    if key in IGNORED_FIELDS and not in_subtree:
        return None
    if key in TIMESTAMP_FIELDS or (key in PRESENCE_FIELDS and not in_subtree and key not in VALUE_FIELDS):
        if (recorded is None) != (replayed is None):
            return f"recorded {'null' if recorded is None else 'present'} / emulator {'null' if replayed is None else 'present'}"
        return None
    if key in VALUE_FIELDS or in_subtree:
        if recorded != replayed:
            return f"recorded {_show(recorded)} / emulator {_show(replayed)}"
    return None


def _walk(recorded: Any, replayed: Any, path: tuple[str, ...], out: list[tuple[str, str]]) -> None:
    where = ".".join(path)
    if isinstance(recorded, dict) and isinstance(replayed, dict):
        for key in recorded.keys() - replayed.keys():
            out.append((f"{where}.{key}" if where else key,
                        "only in the recorded response" + _value_note(key, recorded[key])))
        for key in replayed.keys() - recorded.keys():
            out.append((f"{where}.{key}" if where else key,
                        "only in the emulator's response" + _value_note(key, replayed[key])))
        for key in recorded.keys() & replayed.keys():
            _walk(recorded[key], replayed[key], path + (key,), out)
        return
    if isinstance(recorded, list) and isinstance(replayed, list):
        if path and path[-1] == "data" and len(recorded) != len(replayed):
            out.append((where, f"recorded {len(recorded)} items / emulator {len(replayed)}"))
        if recorded and replayed and isinstance(recorded[0], dict) and isinstance(replayed[0], dict):
            _walk(recorded[0], replayed[0], path + ("0",), out)
        return
    key = path[-1] if path else ""
    if (isinstance(recorded, dict)) != (isinstance(replayed, dict)) and (recorded is None or replayed is None):
        if key not in IGNORED_FIELDS:
            out.append((where, f"recorded {_show(recorded) if recorded is not None else 'null'} / "
                               f"emulator {_show(replayed) if replayed is not None else 'null'}"))
        return
    message = _leaf_differs(key, path, recorded, replayed)
    if message is not None:
        out.append((where, message))


def step_differences(recorded_step: dict[str, Any], replayed_step: dict[str, Any]) -> list[str]:
    """Differences between two exchanges of the same step, as ``path: what`` lines."""
    name = recorded_step["step"]
    lines = []
    a_req, b_req = recorded_step["request"], replayed_step["request"]
    if (a_req["method"], a_req["path"].split("/")[1:3]) != (b_req["method"], b_req["path"].split("/")[1:3]):
        lines.append(f"{name}: request: recorded {a_req['method']} {a_req['path']} / "
                     f"emulator {b_req['method']} {b_req['path']}")
    a, b = recorded_step["response"], replayed_step["response"]
    if a["status"] != b["status"]:
        lines.append(f"{name}: HTTP status: recorded {a['status']} / emulator {b['status']}")
    found: list[tuple[str, str]] = []
    _walk(a["body"], b["body"], (), found)
    lines += [f"{name}: {path}: {what}" for path, what in sorted(found)]
    return lines


def differences(recorded: dict[str, Any], replayed: dict[str, Any]) -> list[str]:
    """Every difference between a recorded probe and a replay of it, one line each."""
    lines: list[str] = []
    a_steps, b_steps = recorded["steps"], replayed["steps"]
    b_by_name: dict[str, list[dict[str, Any]]] = {}
    for step in b_steps:
        b_by_name.setdefault(step["step"], []).append(step)
    seen: dict[str, int] = {}
    for step in a_steps:
        name = step["step"]
        index = seen.get(name, 0)
        seen[name] = index + 1
        candidates = b_by_name.get(name, [])
        if index >= len(candidates):
            lines.append(f"{name}: made in the recorded run, not by the emulator replay")
            continue
        lines += step_differences(step, candidates[index])
    for name, steps in b_by_name.items():
        extra = len(steps) - seen.get(name, 0)
        if extra > 0:
            lines.append(f"{name}: made by the emulator replay ({extra} time(s)), not in the recorded run")
    return lines
