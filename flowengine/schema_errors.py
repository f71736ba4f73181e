"""Turn pydantic's structural errors into problems that point at YAML lines, in our words."""
from __future__ import annotations

import types as _pytypes
import typing
from typing import Any

from flowengine.errors import Problem
from flowengine.loader import Document
from flowengine.model import ELEMENT_CLASSES, FlowModel
from flowengine.symbols import did_you_mean


def display_path(path: tuple[Any, ...]) -> str:
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def _unwrap(ann: Any) -> Any:
    while True:
        origin = typing.get_origin(ann)
        if origin is typing.Annotated:
            ann = typing.get_args(ann)[0]
            continue
        if origin in (typing.Union, _pytypes.UnionType):
            args = [a for a in typing.get_args(ann) if a is not type(None)]
            if len(args) == 1:
                ann = args[0]
                continue
        return ann


def _walk(loc: tuple[Any, ...]) -> tuple[tuple[Any, ...], Any]:
    """Follow a pydantic `loc` through the model: the data path (union tags dropped) and the
    annotation found at its end."""
    ann: Any = FlowModel
    path: list[Any] = []
    for item in loc:
        ann = _unwrap(ann)
        origin = typing.get_origin(ann)
        if isinstance(ann, type) and hasattr(ann, "model_fields"):
            path.append(item)
            info = ann.model_fields.get(item)
            ann = info.annotation if info else None
        elif origin is dict:
            path.append(item)
            ann = typing.get_args(ann)[1]
        elif origin is list:
            path.append(item)
            ann = typing.get_args(ann)[0]
        elif origin is typing.Union or origin is _pytypes.UnionType:
            ann = ELEMENT_CLASSES.get(item)          # discriminated union: loc holds the tag
        else:
            path.append(item)
            ann = None
    return tuple(path), _unwrap(ann) if ann is not None else None


def _kind_of(value: Any) -> str:
    if value is None:
        return "nothing (null)"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, bool):
        return f"the Boolean {str(value).lower()}"
    if isinstance(value, str):
        return f"the text {value!r}"
    return f"{value!r}"


def problems_from_pydantic(exc: Any, doc: Document) -> list[Problem]:
    problems: list[Problem] = []
    seen: set[tuple[Any, ...]] = set()
    for err in exc.errors(include_url=False):
        loc = tuple(err["loc"])
        kind = err["type"]
        value = err.get("input")
        ctx = err.get("ctx") or {}
        at_key = False
        if kind == "extra_forbidden":
            path, _ = _walk(loc)
            _, parent = _walk(loc[:-1])
            allowed = list(getattr(parent, "model_fields", {}))
            key = loc[-1]
            message = f"unknown key {key!r}{did_you_mean(str(key), allowed)}"
            if allowed:
                message += f" (allowed here: {', '.join(allowed)})"
            at_key = True
        elif kind == "missing":
            path, _ = _walk(loc)
            message = f"missing required key {loc[-1]!r}"
            path = path[:-1]
        else:
            path, ann = _walk(loc)
            if kind == "literal_error":
                expected = ctx.get("expected", "")
                options = [o.strip().strip("'") for o in expected.replace(" or ", ", ").split(",")]
                what = {"op": "operator", "type": "type", "order": "loop order"}.get(str(loc[-1]), "value")
                message = (f"unknown {what} {value!r}{did_you_mean(str(value), options)} "
                           f"(expected one of: {', '.join(options)})")
            elif kind == "union_tag_invalid":
                message = (f"unknown element type {ctx.get('tag')!r}"
                           f"{did_you_mean(str(ctx.get('tag')), ELEMENT_CLASSES)} "
                           f"(expected one of: {', '.join(ELEMENT_CLASSES)})")
                path = path + ("type",)
            elif kind == "union_tag_not_found":
                message = f"element has no 'type' (expected one of: {', '.join(ELEMENT_CLASSES)})"
            elif kind in ("model_type", "dict_type", "model_attributes_type"):
                message = f"expected a mapping of keys, found {_kind_of(value)}"
            elif kind == "list_type":
                message = f"expected a list, found {_kind_of(value)}"
            elif kind == "too_short":
                message = f"{loc[-1]!r} must not be empty"
            elif kind == "string_type":
                message = f"expected text, found {_kind_of(value)}"
            elif kind in ("bool_type", "bool_parsing"):
                message = f"expected true or false, found {_kind_of(value)}"
            elif kind.startswith(("int_", "decimal_", "float_")):
                message = f"expected a number, found {_kind_of(value)}"
            elif kind in ("greater_than_equal", "less_than_equal"):
                message = f"{value!r} is out of range ({err['msg'].lower()})"
            elif kind == "value_error":
                message = str(ctx.get("error", err["msg"]))
            else:
                message = err["msg"]
            del ann
        if path in seen:
            continue
        seen.add(path)
        mark = doc.locate(path, key=at_key)
        problems.append(Problem("error", f"schema.{kind}", message, doc.file,
                                mark[0] if mark else None, mark[1] if mark else None,
                                display_path(path) or None))
    return problems
