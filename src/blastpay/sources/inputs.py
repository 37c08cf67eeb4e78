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


class InputDocument:
    """A committed YAML (or JSON) input with the line of each key, so a semantic error can name file:line."""

    def __init__(self, path: Path, data: Any, root: Any) -> None:
        self.path, self.data, self._root = Path(path), data, root

    def line(self, *keys: Any) -> int | None:
        """1-based line of the value at `keys` (mapping keys or sequence indices); the deepest one found."""
        node, found = self._root, None
        for key in keys:
            if isinstance(node, yaml.MappingNode):
                match = next(((k, v) for k, v in node.value if k.value == str(key)), None)
                if match is None:
                    break
                found, node = match[0].start_mark.line + 1, match[1]
            elif isinstance(node, yaml.SequenceNode) and isinstance(key, int) and 0 <= key < len(node.value):
                node = node.value[key]
                found = node.start_mark.line + 1
            else:
                break
        return found if found is not None else (self._root.start_mark.line + 1 if self._root is not None else None)

    def where(self, *keys: Any) -> str:
        line = self.line(*keys)
        return f"{self.path}:{line}" if line else str(self.path)


def read_document(path: Path, error: type[Exception], what: str) -> InputDocument:
    """Like read_mapping (the same one-line errors), keeping each key's line for later messages."""
    data = read_mapping(path, error, what)
    return InputDocument(Path(path), data, yaml.compose(Path(path).read_text(encoding="utf-8")))
