"""Reading a committed input: the one place that parses a YAML or JSON input file, validates it against its
model (``blastpay.sources.schema``) and turns any problem into a one-line error naming ``file:line``.

- ``read_document``: parse the file once, keeping each node's line. YAML is read with a safe loader that
  refuses anchors and aliases outright (no committed input uses them; an alias bomb is refused at its first
  anchor) and duplicate keys (YAML would silently keep the last one); JSON refuses ``NaN`` and ``Infinity``.
  An empty file is refused.
- ``validate``: check a document against its pydantic model; the first error becomes
  ``file:line: key.path: message``, the line found from the node marks along pydantic's error location.
- ``load_input``: both, for one file.
"""

from __future__ import annotations

import json
import math
import re
from pathlib import Path
from typing import Any, TypeVar, get_args, get_origin

import yaml
from pydantic import BaseModel, RootModel, ValidationError

M = TypeVar("M", bound=BaseModel)


class InputError(ValueError):
    """A committed input is missing, malformed or out of range; the message is one line naming file:line."""


# ---------------------------------------------------------------- parsing


class _InputLoader(yaml.SafeLoader):
    """PyYAML's safe loader without anchors, aliases or duplicate keys."""

    def compose_node(self, parent: Any, index: Any) -> Any:
        event = self.peek_event()
        if isinstance(event, yaml.AliasEvent) or getattr(event, "anchor", None):
            raise yaml.MarkedYAMLError(problem="anchors and aliases (&name, *name) are not allowed in an input",
                                       problem_mark=event.start_mark)
        return super().compose_node(parent, index)

    def construct_mapping(self, node: Any, deep: bool = False) -> Any:
        seen: set[Any] = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=True)
            try:
                duplicate = key in seen
            except TypeError:  # an unhashable key: the base class refuses it with its own message
                break
            if duplicate:
                raise yaml.MarkedYAMLError(problem=f"duplicate key {key!r}", problem_mark=key_node.start_mark)
            seen.add(key)
        return super().construct_mapping(node, deep=deep)


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a number an input may hold")


class Document:
    """A parsed input with the line of each key, so any message can name file:line."""

    def __init__(self, path: Path, data: Any, root: Any, text: str) -> None:
        self.path, self.data, self._root, self._text = Path(path), data, root, text

    def _node(self) -> Any:
        if self._root is None and self.path.suffix == ".json":
            try:  # JSON is YAML: its node marks give the lines (parsed only when a message needs one)
                self._root = yaml.compose(self._text, Loader=yaml.SafeLoader)
            except yaml.YAMLError:
                self._root = False
        return self._root or None

    def line(self, *keys: Any) -> int | None:
        """1-based line of the value at `keys` (mapping keys or sequence indices); the deepest one found."""
        node = root = self._node()
        found = None
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
        if found is None and root is not None:
            found = root.start_mark.line + 1
        return found

    def where(self, *keys: Any) -> str:
        line = self.line(*keys)
        return f"{self.path}:{line}" if line else str(self.path)


def read_document(path: Path, what: str, error: type[Exception] = InputError) -> Document:
    """Parse `path` (YAML, or JSON by its suffix); `error(...)` naming file:line if it is missing, unreadable,
    empty or malformed. `what` says what the file is, for the message ("fee parameters file")."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise error(f"{path}: {what} not found") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise error(f"{path}: cannot read the {what} ({exc.__class__.__name__}: {exc})".splitlines()[0]) from None
    return parse_document(path, text, what, error)


def _unbuildable_scalar(root: Any) -> Any:
    """The first scalar node under ``root`` that PyYAML parses but cannot turn into a value, or None."""
    stack = [root] if root is not None else []
    while stack:
        node = stack.pop(0)
        if isinstance(node, yaml.ScalarNode):
            try:
                yaml.SafeLoader("").construct_object(node, deep=True)
            except (ValueError, OverflowError, yaml.YAMLError):
                return node
        elif isinstance(node, yaml.SequenceNode):
            stack.extend(node.value)
        elif isinstance(node, yaml.MappingNode):
            stack.extend(v for pair in node.value for v in pair)
    return None


def parse_document(path: Path, text: str, what: str, error: type[Exception] = InputError) -> Document:
    """`text`, the content of `path`, parsed as `read_document` does."""
    path = Path(path)
    if not text.strip():
        raise error(f"{path}:1: the {what} is empty")
    if path.suffix == ".json":
        try:
            data = json.loads(text, parse_constant=_refuse_constant)
        except json.JSONDecodeError as exc:
            raise error(f"{path}:{exc.lineno}: malformed JSON: {exc.msg}") from None
        except ValueError as exc:
            found = re.search(r"\b(NaN|-?Infinity)\b", text)
            where = f"{path}:{text.count(chr(10), 0, found.start()) + 1}" if found else str(path)
            raise error(f"{where}: malformed JSON: {exc}") from None
        return Document(path, data, None, text)
    loader = _InputLoader(text)
    try:
        root = loader.get_single_node()
        data = loader.construct_document(root) if root is not None else None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{path}:{mark.line + 1}" if mark else str(path)
        problem = getattr(exc, "problem", None) or str(exc)
        raise error(f"{where}: malformed YAML: {problem}".splitlines()[0]) from None
    except (ValueError, OverflowError) as exc:  # a scalar YAML reads but cannot build (a date such as 2026-12-32)
        node = _unbuildable_scalar(root)
        where = f"{path}:{node.start_mark.line + 1}" if node is not None else str(path)
        value = f" {node.value!r}" if node is not None else ""
        raise error(f"{where}: malformed YAML: value{value} cannot be read ({exc})".splitlines()[0]) from None
    finally:
        loader.dispose()
    if root is None:
        raise error(f"{path}:1: the {what} is empty (only comments)")
    return Document(path, data, root, text)


# ---------------------------------------------------------------- validation

_KIND = {
    "int_type": "a whole number", "int_from_float": "a whole number", "int_parsing": "a whole number",
    "float_type": "a number", "float_parsing": "a number", "bool_type": "true or false",
    "bool_parsing": "true or false", "string_type": "text", "date_type": "an ISO date (YYYY-MM-DD)",
    "date_parsing": "an ISO date (YYYY-MM-DD)", "date_from_datetime_parsing": "an ISO date (YYYY-MM-DD)",
    "list_type": "a list", "tuple_type": "a list", "dict_type": "a mapping", "model_type": "a mapping",
    "model_attributes_type": "a mapping", "none_required": "null",
}


def _show(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _number(value: Any) -> str:
    return f"{value:g}" if isinstance(value, float) else str(value)


def _message(err: Any, model: type[BaseModel], loc: tuple[Any, ...]) -> str:
    kind, ctx, got = err["type"], err.get("ctx") or {}, err.get("input")
    if kind == "missing":
        return "missing" + _described(model, loc)
    if kind == "extra_forbidden":
        known = _known_keys(model, loc[:-1])
        return "unknown key" + (f" (expected {', '.join(known)})" if known else "")
    if kind in ("finite_number",) or (isinstance(got, float) and not math.isfinite(got)):
        return f"must be a finite number, got {_show(got)}"
    if kind in ("greater_than", "greater_than_equal", "less_than", "less_than_equal"):
        return _range_message(model, loc, got)
    if kind in ("too_short", "too_long"):
        size = ctx.get("min_length") if kind == "too_short" else ctx.get("max_length")
        if kind == "too_short":
            return "must not be empty" if size == 1 else f"needs at least {size} entries"
        return f"may hold at most {size} entries, got {ctx.get('actual_length')}"
    if kind == "literal_error":
        return f"must be one of {ctx.get('expected')}, got {_show(got)}"
    if kind == "string_pattern_mismatch":
        return f"{_show(got)} must match {ctx.get('pattern')}"
    if kind in ("value_error", "assertion_error"):
        text = str(ctx.get("error", err["msg"]))
        if text.startswith("must ") and ", got " not in text:
            text += f"{_described(model, loc)}, got {_show(got)}"
        return text
    if kind in _KIND:
        return f"must be {_KIND[kind]}{_described(model, loc)}, got {_show(got)}"
    return f"{err['msg'][:1].lower()}{err['msg'][1:]}, got {_show(got)}"


def _models_in(annotation: Any) -> list[type[BaseModel]]:
    """The models an annotation can hold directly (through Optional, Union and Annotated)."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    if get_origin(annotation) in (list, dict, tuple):
        return []
    return [m for arg in get_args(annotation) for m in _models_in(arg)]


def _items_of(annotation: Any) -> Any:
    """The type of a container's items (list[X], dict[K, X]), through Optional and Annotated; None if not one."""
    origin = get_origin(annotation)
    if origin in (list, tuple):
        return get_args(annotation)[0]
    if origin is dict:
        return get_args(annotation)[1]
    for arg in get_args(annotation):
        found = _items_of(arg)
        if found is not None:
            return found
    return None


def _field_at(model: type[BaseModel], loc: tuple[Any, ...]) -> Any:
    """The pydantic FieldInfo of the value at `loc`, or None when `loc` ends inside a container or a union."""
    current: Any = model
    info = None
    for key in loc:
        models = _models_in(current)
        if models and issubclass(models[-1], RootModel):
            current = models[-1].model_fields["root"].annotation
            models = _models_in(current)
        fields = models[-1].model_fields if models else {}
        by_alias = {(f.alias or name): f for name, f in fields.items()}
        if isinstance(key, str) and key in by_alias:
            info = by_alias[key]
            current = info.annotation
        elif _items_of(current) is not None:
            info, current = None, _items_of(current)
        # anything else (a union's tag, a validator's name) leaves the place unchanged
    return info


def _described(model: type[BaseModel], loc: tuple[Any, ...]) -> str:
    info = _field_at(model, loc)
    return f" ({info.description})" if info is not None and info.description else ""


def _known_keys(model: type[BaseModel], loc: tuple[Any, ...]) -> list[str]:
    """The keys the mapping at `loc` may hold."""
    if not loc:
        current: Any = model
    else:
        info = _field_at(model, loc)
        current = info.annotation if info is not None else None
        if current is None:  # inside a container: walk again to the item type
            current = model
            for key in loc:
                models = _models_in(current)
                if models and issubclass(models[-1], RootModel):
                    current = models[-1].model_fields["root"].annotation
                    models = _models_in(current)
                fields = models[-1].model_fields if models else {}
                if isinstance(key, str) and key in fields:
                    current = fields[key].annotation
                elif _items_of(current) is not None:
                    current = _items_of(current)
    models = _models_in(current)
    if models and issubclass(models[-1], RootModel):
        models = _models_in(_items_of(models[-1].model_fields["root"].annotation))
    if not models:
        return []
    return [info.alias or name for name, info in models[-1].model_fields.items()]


def _range_message(model: type[BaseModel], loc: tuple[Any, ...], got: Any) -> str:
    info = _field_at(model, loc)
    low = high = None
    low_open = high_open = False
    for meta in getattr(info, "metadata", []) if info is not None else []:
        for name in ("ge", "gt", "le", "lt"):
            value = getattr(meta, name, None)
            if value is not None:
                if name in ("ge", "gt"):
                    low, low_open = value, name == "gt"
                else:
                    high, high_open = value, name == "lt"
    if low is None and high is None:
        return f"is out of range, got {_show(got)}"
    if low is not None and high is not None:
        text = f"must be from {_number(low)} to {_number(high)}"
        if low_open or high_open:
            text = (f"must be {'above' if low_open else 'at least'} {_number(low)} and "
                    f"{'below' if high_open else 'at most'} {_number(high)}")
    elif low is not None:
        text = f"must be {'above' if low_open else 'at least'} {_number(low)}"
    else:
        text = f"must be {'below' if high_open else 'at most'} {_number(high)}"
    return f"{text}{_described(model, loc)}, got {_show(got)}"


def _data_path(data: Any, loc: tuple[Any, ...], missing: bool) -> tuple[Any, ...]:
    """The part of pydantic's location that names keys and indices of the data (union tags and validator names
    dropped), plus the last key when it is the one missing."""
    out: list[Any] = []
    node = data
    for key in loc:
        if isinstance(node, dict) and not isinstance(key, int) and key in node:
            out.append(key)
            node = node[key]
        elif isinstance(node, list) and isinstance(key, int) and 0 <= key < len(node):
            out.append(key)
            node = node[key]
    if missing and loc and (not out or out[-1] != loc[-1]):
        out.append(loc[-1])
    return tuple(out)


def _dotted(path: tuple[Any, ...]) -> str:
    text = ""
    for key in path:
        text += f"[{key}]" if isinstance(key, int) else (f".{key}" if text else str(key))
    return text


def format_error(doc: Document, exc: ValidationError, model: type[BaseModel]) -> str:
    """The first of pydantic's errors as one line: ``file:line: key.path: message``."""
    errors = exc.errors(include_url=False)
    # an unknown key first: a misspelt key also makes the one it stands for missing, and the typo is the news
    err = next((e for e in errors if e["type"] == "extra_forbidden"), errors[0])
    path = _data_path(doc.data, tuple(err["loc"]), err["type"] == "missing")
    same_place = [e for e in errors if _data_path(doc.data, tuple(e["loc"]), e["type"] == "missing") == path]
    if len(same_place) > 1:  # a union: the alternative that got past the type check says most
        err = next((e for e in same_place if e["type"] not in _KIND), err)
    loc = tuple(err["loc"])
    model_loc = tuple(k for k in loc if not (isinstance(k, str) and k.startswith(("function-", "union["))))
    if err["type"] == "missing":
        where = doc.where(*path[:-1])
    else:
        where = doc.where(*path)
    message = _message(err, model, model_loc)
    kinds = list(dict.fromkeys(_KIND[e["type"]] for e in same_place if e["type"] in _KIND))
    if len(kinds) > 1 and len(kinds) == len(same_place):  # a union: every alternative refused the value
        message = f"must be {' or '.join(kinds)}, got {_show(err.get('input'))}"
    key = _dotted(path)
    line = f"{where}: {key}: {message}" if key else f"{where}: {message}"
    return " ".join(line.split())


def validate(doc: Document, model: type[M], error: type[Exception] = InputError,
             context: dict[str, Any] | None = None) -> M:
    """`doc` checked against `model`; `error(...)` with one line naming file:line on the first problem."""
    try:
        return model.model_validate(doc.data, context=context or {})
    except ValidationError as exc:
        raise error(format_error(doc, exc, model)) from None


def load_input(path: Path, model: type[M], what: str, error: type[Exception] = InputError,
               context: dict[str, Any] | None = None) -> tuple[M, Document]:
    """Parse and validate one input file; the model and the document (for later messages naming lines)."""
    doc = read_document(path, what, error)
    return validate(doc, model, error, context), doc
