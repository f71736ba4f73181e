"""Merge fields and paths: parsed once at load (getters and setters are made from them at compile
time, in `flowengine.runtime.access`).

A *value* in a flow file is a literal, one merge field (`"{!path}"`, a typed reference), text with
merge fields inside, or a list/mapping literal whose items may themselves be any of these.
"""
from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from flowengine.types import FlowType

MERGE_FIELD = re.compile(r"\{!([^{}]*)\}")
PATH = re.compile(r"^\$?[A-Za-z][A-Za-z0-9_]*(\.[A-Za-z][A-Za-z0-9_]*)*$")


@dataclass(frozen=True)
class LiteralValue:
    value: Any


@dataclass(frozen=True)
class RefValue:
    path: str


@dataclass(frozen=True)
class TemplateValue:
    parts: tuple[str | RefValue, ...]


@dataclass(frozen=True)
class ListValue:
    items: tuple[ValueSpec, ...]


@dataclass(frozen=True)
class MapValue:
    fields: tuple[tuple[str, ValueSpec], ...]


ValueSpec = LiteralValue | RefValue | TemplateValue | ListValue | MapValue


class PathSyntaxError(ValueError):
    pass


def check_path(text: str) -> str:
    """A bare path (`name` or `name.field.field`), stripped; raises PathSyntaxError otherwise."""
    if not isinstance(text, str):
        raise PathSyntaxError(f"expected a name such as lineItem.quantity, found {text!r}")
    path = text.strip()
    if path.startswith("{!") and path.endswith("}"):
        raise PathSyntaxError(f"{text!r} is a merge field; here write the bare name "
                              f"{path[2:-1].strip()!r} without {{! }}")
    if not PATH.match(path):
        raise PathSyntaxError(f"{text!r} is not a valid name or path (expected name or name.field)")
    return path


def parse_value(raw: Any) -> ValueSpec:
    """Classify a raw YAML value. Raises PathSyntaxError for a malformed merge field."""
    if isinstance(raw, str):
        if "{!" not in raw:
            return LiteralValue(raw)
        whole = MERGE_FIELD.fullmatch(raw.strip()) if raw.strip() == raw else None
        if whole:
            return RefValue(check_path(whole.group(1)))
        parts: list[str | RefValue] = []
        pos = 0
        for match in MERGE_FIELD.finditer(raw):
            if match.start() > pos:
                parts.append(raw[pos:match.start()])
            parts.append(RefValue(check_path(match.group(1))))
            pos = match.end()
        if pos < len(raw):
            parts.append(raw[pos:])
        if any("{!" in p for p in parts if isinstance(p, str)):
            raise PathSyntaxError(f"unclosed merge field in {raw!r} (expected {{!name}})")
        return TemplateValue(tuple(parts))
    if isinstance(raw, list):
        items = tuple(parse_value(v) for v in raw)
        if all(isinstance(i, LiteralValue) for i in items):
            return LiteralValue(raw)
        return ListValue(items)
    if isinstance(raw, dict):
        fields = tuple((str(k), parse_value(v)) for k, v in raw.items())
        if all(isinstance(v, LiteralValue) for _, v in fields):
            return LiteralValue(raw)
        return MapValue(fields)
    return LiteralValue(raw)


def refs_in(spec: ValueSpec) -> list[RefValue]:
    """Every reference inside a value spec."""
    if isinstance(spec, RefValue):
        return [spec]
    if isinstance(spec, TemplateValue):
        return [p for p in spec.parts if isinstance(p, RefValue)]
    if isinstance(spec, ListValue):
        return [r for item in spec.items for r in refs_in(item)]
    if isinstance(spec, MapValue):
        return [r for _, v in spec.fields for r in refs_in(v)]
    return []


GLOBAL_TYPES: dict[str, FlowType] = {
    "$Flow.FaultMessage": FlowType("Text"),
    "$Flow.CurrentDate": FlowType("Date"),
    "$Flow.CurrentDateTime": FlowType("DateTime"),
    "$Flow.InterviewGuid": FlowType("Text"),
    "$Flow.InterviewStartTime": FlowType("DateTime"),
    "$GlobalConstant.True": FlowType("Boolean"),
    "$GlobalConstant.False": FlowType("Boolean"),
    "$GlobalConstant.EmptyString": FlowType("Text"),
}
FAULT_MESSAGE_KEY = "$Flow.FaultMessage"


_MERGE_ROOT = re.compile(r"\{!\s*([^{}]*?)\s*\}")


def merge_field_roots(raw: Any) -> Iterator[str]:
    """Root names of the merge fields in a raw value (text, or lists and mappings of values),
    found without parsing it: for facts about flows that may not be valid."""
    if isinstance(raw, str):
        for match in _MERGE_ROOT.finditer(raw):
            yield match.group(1).split(".")[0]
    elif isinstance(raw, list):
        for item in raw:
            yield from merge_field_roots(item)
    elif isinstance(raw, dict):
        for item in raw.values():
            yield from merge_field_roots(item)
