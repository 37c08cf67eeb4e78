"""Reading a committed YAML input: one place that turns a missing or malformed file into a one-line error."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml


def read_mapping(path: Path, error: type[Exception], what: str) -> dict[str, Any]:
    """The YAML mapping in `path`; `error(...)` naming the file (and line) if it is missing, malformed or not a
    mapping. `what` says what the file is, for the message ("fee parameters file")."""
    try:
        data = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise error(f"{path}: {what} not found") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{path}:{mark.line + 1}" if mark else str(path)
        raise error(f"{where}: malformed YAML: {getattr(exc, 'problem', None) or exc}") from None
    if not isinstance(data, dict):
        raise error(f"{path}: expected a mapping in the {what}")
    return data
