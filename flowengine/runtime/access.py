"""Run-time access to values: getters and setters made once, at compile time, from resolved
paths; globals; the renderer of text with merge fields.

The interview state offers `values` (a dict keyed by the declared name of each resource) and the
globals' sources (`guid`, `start_time`).
"""
from __future__ import annotations

import datetime as _dt
import uuid
from collections.abc import Callable
from typing import Any

from flowengine.errors import FlowRuntimeError
from flowengine.references import FAULT_MESSAGE_KEY
from flowengine.types import (
    MAX_TEXT,
    ApexObject,
    FlowType,
    ObjectValue,
    RecordValue,
    TypeRegistry,
    text_of,
)

Getter = Callable[[Any], Any]
Setter = Callable[[Any, Any], None]


def global_getter(name: str) -> Getter:
    if name == "$Flow.FaultMessage":
        return lambda st: st.values.get(FAULT_MESSAGE_KEY)
    if name == "$Flow.CurrentDate":
        return lambda st: _dt.datetime.now(_dt.UTC).date()
    if name == "$Flow.CurrentDateTime":
        return lambda st: _dt.datetime.now(_dt.UTC).replace(microsecond=0)
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


def template_renderer(parts: list[str | Getter]) -> Getter:
    """Text with merge fields substituted (null → empty text), at most `MAX_TEXT` characters."""
    if len(parts) == 1 and isinstance(parts[0], str):
        fixed = parts[0]
        return lambda st: fixed

    def render(st: Any) -> str:
        text = "".join(p if isinstance(p, str) else text_of(p(st)) for p in parts)
        if len(text) > MAX_TEXT:
            raise FlowRuntimeError(f"text with merge fields would be {len(text):,} characters "
                                   f"long; the limit is {MAX_TEXT:,}")
        return text
    return render


def memoized(name: str, compute: Getter) -> Getter:
    """`compute`, run at most once per evaluation: while a value that reads formulas and
    templates is being computed (`st.memo` is set), each of them is computed once and then
    reused, so formulas that refer to each other many times cost linear time, not exponential.
    The memo lasts one evaluation, because variables may change between evaluations."""
    def value(st: Any) -> Any:
        memo = st.memo
        if memo is None:
            st.memo = {}
            try:
                return compute(st)
            finally:
                st.memo = None
        try:
            return memo[name]
        except KeyError:
            result = memo[name] = compute(st)
            return result
    return value


def resource_getter(resources: Any, symbol: Any) -> Getter:
    """The getter of a resource. Formulas and templates compute when read: `resources` holds
    the compiled ones (`formulas`, `templates`: name → evaluator), looked up when read, so a
    resource may use one compiled after it."""
    name = symbol.name
    if symbol.kind == "global":
        return organization
    if symbol.kind == "formula":
        formulas = resources.formulas
        return memoized(name, lambda st: formulas[name].evaluate(st))
    if symbol.kind == "template":
        templates = resources.templates
        return memoized(name, lambda st: templates[name](st))

    def value(st: Any) -> Any:
        return st.values.get(name)
    return value


def path_getter(resources: Any, resolved: Any, types: TypeRegistry | None = None) -> Getter:
    """The getter of a resolved path (`flowengine.check.symbols.ResolvedPath`). With `types`,
    a step through a lookup's relationship (`{!item.OrderSummary.Status}`) reads the parent
    record from the org store."""
    if resolved.symbol is None:
        return global_getter(resolved.text)
    base = resource_getter(resources, resolved.symbol)
    links = relationship_steps(resolved, types) if types is not None else {}
    if links:
        return related_getter(base, resolved.fields, resolved.text, links)
    return field_getter(base, resolved.fields, resolved.text)


def reads_store(resolved: Any, types: TypeRegistry) -> bool:
    """Whether reading a resolved path reads the org store: a step through a lookup, or the
    Organization record of {!$Organization.…}."""
    symbol = resolved.symbol
    return (symbol is not None and symbol.kind == "global") or \
        bool(relationship_steps(resolved, types))


def relationship_steps(resolved: Any, types: TypeRegistry) -> dict[int, tuple[str, str]]:
    """Step index → (lookup field, parent object) for the steps of a path that cross a lookup."""
    out: dict[int, tuple[str, str]] = {}
    for i, (name, owner) in enumerate(zip(resolved.fields, resolved.owner_types)):
        if owner.kind != "Record":
            continue
        schema = types.object_schema(owner.object)
        if schema is not None and name not in schema.field_types():
            link = types.relationship(owner, name)
            if link is not None:
                out[i] = link
    return out


def related_getter(base: Getter, fields: tuple[str, ...], text: str,
                   links: dict[int, tuple[str, str]]) -> Getter:
    """Read `base.f1.f2…` where some steps cross a lookup to its parent record, which is read
    from the org store (a null lookup reads as null, as a Salesforce flow reads it)."""
    def get(st: Any) -> Any:
        value = base(st)
        walked = text.split(".")[0]
        for i, name in enumerate(fields):
            if value is None:
                if i and (i - 1) in links:
                    return None            # the lookup before this step was empty
                raise FlowRuntimeError(f"The flow tried to read {{!{text}}}, but {walked} is null "
                                       "because it hasn't been set or assigned.")
            link = links.get(i)
            if link is None:
                value = value.fields.get(name) if isinstance(value, ObjectValue) else value.get(name)
            else:
                parent_id = value.fields.get(link[0]) if isinstance(value, ObjectValue) else None
                value = _parent(st, link[1], parent_id, text) if parent_id else None
            walked += "." + name
        return value
    return get


def organization(st: Any) -> RecordValue:
    """The org's Organization record, as {!$Organization.…} reads it: the org store's (the one
    with the lowest Id); with no store, or none in it, a record whose every field is null."""
    rows = st.org.query("Organization", order_by=("Id",)) if st.org is not None else []
    return RecordValue("Organization", rows[0] if rows else {})


def _parent(st: Any, object_name: str, record_id: str, text: str) -> Any:
    if st.org is None:
        raise FlowRuntimeError(f"reading {{!{text}}} needs the org store: it reads a related "
                               f"{object_name} record")
    found = st.org.get(object_name, record_id)
    return None if found is None else RecordValue(object_name, found)
