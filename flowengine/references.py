"""Merge fields and paths: parsed once at load, turned into fast getters and setters at compile.

A *value* in a flow file is a literal, one merge field (`"{!path}"`, a typed reference), text with
merge fields inside, or a list/mapping literal whose items may themselves be any of these.
"""
from __future__ import annotations

import datetime as _dt
import re
import uuid
from dataclasses import dataclass
from typing import Any, Callable, Union

from flowengine.errors import FlowRuntimeError
from flowengine.types import ApexObject, FlowType, ObjectValue, RecordValue, TypeRegistry, text_of

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
    parts: tuple[Union[str, RefValue], ...]


@dataclass(frozen=True)
class ListValue:
    items: tuple[ValueSpec, ...]


@dataclass(frozen=True)
class MapValue:
    fields: tuple[tuple[str, ValueSpec], ...]


ValueSpec = Union[LiteralValue, RefValue, TemplateValue, ListValue, MapValue]


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
        parts: list[Union[str, RefValue]] = []
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


# ---------------------------------------------------------------------------------------------
# Resolved paths → getters and setters. The interview state offers `values` (a dict keyed by
# the declared name of each resource) and the globals below.

Getter = Callable[[Any], Any]
Setter = Callable[[Any, Any], None]

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


def global_getter(name: str) -> Getter:
    if name == "$Flow.FaultMessage":
        return lambda st: st.values.get(FAULT_MESSAGE_KEY)
    if name == "$Flow.CurrentDate":
        return lambda st: _dt.datetime.now(_dt.timezone.utc).date()
    if name == "$Flow.CurrentDateTime":
        return lambda st: _dt.datetime.now(_dt.timezone.utc).replace(microsecond=0)
    if name == "$Flow.InterviewGuid":
        return lambda st: st.guid
    if name == "$Flow.InterviewStartTime":
        return lambda st: st.start_time
    constant = {"$GlobalConstant.True": True, "$GlobalConstant.False": False,
                "$GlobalConstant.EmptyString": ""}[name]
    return lambda st: constant


def new_guid() -> str:
    return uuid.uuid4().hex


def field_getter(base: Getter, fields: tuple[str, ...], text: str) -> Getter:
    """Read `base.f1.f2…`; reading through null is a run-time fault, as in Salesforce."""
    if not fields:
        return base

    def get(st: Any) -> Any:
        value = base(st)
        walked = text.split(".")[0]
        for name in fields:
            if value is None:
                raise FlowRuntimeError(f"The flow tried to read {{!{text}}}, but {walked} is null "
                                       "because it hasn't been set or assigned.")
            value = value.fields.get(name) if isinstance(value, ObjectValue) else value.get(name)
            walked += "." + name
        return value

    if len(fields) == 1:
        only = fields[0]
        root = text.split(".")[0]

        def get_one(st: Any) -> Any:
            value = base(st)
            if value is None:
                raise FlowRuntimeError(f"The flow tried to read {{!{text}}}, but {root} is null "
                                       "because it hasn't been set or assigned.")
            return value.fields.get(only) if isinstance(value, ObjectValue) else value.get(only)
        return get_one
    return get


def path_setter(name: str, fields: tuple[str, ...], owner_types: tuple[FlowType, ...],
                registry: TypeRegistry) -> Setter:
    """Write `name.f1.f2…`; a null Apex object or record on the way is created first
    (Salesforce auto-instantiates it). `owner_types[i]` is the type of the object holding
    `fields[i]`."""
    if not fields:
        def set_plain(st: Any, value: Any) -> None:
            st.values[name] = value
        return set_plain

    def make(t: FlowType) -> ObjectValue:
        if t.kind == "Record":
            schema = registry.object_schema(t.object)
            return RecordValue(schema.name if schema else str(t.object))
        cls = registry.apex_class(t.apex_class)
        return ApexObject(cls.name if cls else str(t.apex_class))

    def set_field(st: Any, value: Any) -> None:
        values = st.values
        obj = values.get(name)
        if obj is None:
            obj = values[name] = make(owner_types[0])
        for i, f in enumerate(fields[:-1]):
            nxt = obj.fields.get(f)
            if nxt is None:
                nxt = obj.fields[f] = make(owner_types[i + 1])
            obj = nxt
        obj.fields[fields[-1]] = value

    return set_field


def template_renderer(parts: list[Union[str, Getter]]) -> Getter:
    """Text with merge fields substituted (null → empty text)."""
    if len(parts) == 1 and isinstance(parts[0], str):
        fixed = parts[0]
        return lambda st: fixed

    def render(st: Any) -> str:
        return "".join(p if isinstance(p, str) else text_of(p(st)) for p in parts)
    return render
