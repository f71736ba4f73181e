"""What the record elements share: the object and its fields, filters and their logic, field
values to write, reading records into flow values, DML faults, governor counts, and the XML
forms of all of these (Salesforce's `FlowRecordFilter`, `FlowInputFieldAssignment`,
`FlowOutputFieldAssignment`).

A filter in a flow file:

```yaml
filters:
  - {field: Status, op: EqualTo, value: Draft}
  - {field: Quantity, op: GreaterThan, value: "{!minimum}"}
  - {field: Id, op: In, value: "{!lineIds}"}
logic: and                   # and | or | custom over filter numbers: "1 AND (2 OR 3)"
```
"""
from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final, Literal

from flowengine.conditions import LogicError, logic_tree
from flowengine.elements.base import StrictModel
from flowengine.errors import OrgError, did_you_mean
from flowengine.org.query import FILTER_OPERATORS, FilterOperator, RecordFilter
from flowengine.references import merge_field_roots
from flowengine.runtime.nodes import FaultingNode
from flowengine.types import NUMERIC, TEXT_LIKE, FlowType, ObjectValue, RecordValue, to_json

if TYPE_CHECKING:
    from flowengine.check.context import CheckContext
    from flowengine.formats.sfxml import FlowReader, FlowWriter
    from flowengine.formats.xmltree import XmlNode
    from flowengine.runtime.interview import Interview
    from flowengine.runtime.values import ValueCompiler

__all__ = ["DATA_ICON", "RecordFilterModel", "RecordsNode"]

DATA_TILE: Final = '<rect class="tile-data" width="36" height="36" rx="7"/>'
DATA_ICON: Final = (DATA_TILE + '<ellipse class="glyph" cx="18" cy="11.5" rx="8" ry="3"/>'
                    '<path class="glyph" d="M10 14v10c0 1.7 3.6 3 8 3s8-1.3 8-3V14c-1.6 '
                    '1.3-4.6 2-8 2s-6.4-.7-8-2z"/>')
# fields a flow never writes: the platform sets them
SYSTEM_FIELDS: Final = frozenset({"Id", "CreatedDate", "CreatedById", "LastModifiedDate",
                                  "LastModifiedById", "SystemModstamp", "IsDeleted"})
ORDERING_OPS: Final = frozenset({"GreaterThan", "LessThan", "GreaterThanOrEqualTo",
                                 "LessThanOrEqualTo"})
TEXT_OPS: Final = frozenset({"StartsWith", "EndsWith", "Contains"})
SHOWN_RECORDS: Final = 20          # records a trace entry shows


class RecordFilterModel(StrictModel):
    """`field op value`: one filter of Get, Update or Delete Records."""

    field: str
    op: FilterOperator
    value: Any = None


# ---------------------------------------------------------------------------------------------
# Checks

def object_schema(ctx: CheckContext, path: tuple[Any, ...], name: str | None) -> Any:
    """The schema of the object an element works on, or None after reporting why."""
    if not name:
        ctx.error(path, "the element names no object (object: the API name of an object, "
                  "e.g. Account or Invoice__c)", "records.object")
        return None
    schema = ctx.types.object_schema(name)
    if schema is None and not getattr(ctx, "plugins_failed", False):
        from flowengine.check.declarations import unknown_object

        ctx.error(path, unknown_object(name, ctx.types.object_names()), "records.object")
    return schema


def field_def(schema: Any, name: str) -> Any:
    """The FieldDef of `name` (Id included), or None."""
    if name == "Id":
        return _ID_FIELD
    return next((f for f in schema.fields if f.name == name), None)


@dataclass(frozen=True)
class _IdField:
    name: str = "Id"
    type: FlowType = FlowType("Text")
    read_only: bool = True
    reference_to: str | None = None
    calculated: Any = None
    rollup: Any = None
    required: bool = False
    sf_type: str = "Id"


_ID_FIELD: Final = _IdField()


def check_field(ctx: CheckContext, path: tuple[Any, ...], schema: Any, name: str,
                key: bool = False) -> Any:
    """The FieldDef of a field the element names, or None after reporting it unknown."""
    found = field_def(schema, name)
    if found is None:
        names = ["Id"] + [f.name for f in schema.fields]
        hint = did_you_mean(name, names)
        case = next((n for n in names if n.lower() == name.lower()), None)
        ctx.error(path, f"object {schema.name} has no field {name!r}"
                  f"{hint or (f'; did you mean {case!r}?' if case else '')}"
                  f"{'' if hint or case else ' (its fields: ' + ', '.join(names[:25]) + ')'}",
                  "records.field", key=key)
    return found


def check_filters(ctx: CheckContext, element: str, base: tuple[Any, ...], schema: Any,
                  filters: Sequence[RecordFilterModel], logic: str | None) -> None:
    """Fields, operators and values of the filters, and their logic."""
    for i, flt in enumerate(filters):
        check_filter(ctx, base + ("filters", i), schema, i, flt)
    check_logic(ctx, element, base, logic, len(filters))


def check_filter(ctx: CheckContext, where: tuple[Any, ...], schema: Any, i: int,
                 flt: RecordFilterModel) -> None:
    """The field, operator and value of filter number `i` (0-based)."""
    fdef = check_field(ctx, where + ("field",), schema, flt.field)
    if fdef is None:
        return
    ftype = fdef.type
    if flt.op == "IsNull":
        ctx.check_value(flt.value, FlowType("Boolean"), where + ("value",),
                        context=f"filter {i + 1}: Is Null takes True or False: ")
        return
    if flt.op in TEXT_OPS and ftype.kind not in TEXT_LIKE:
        ctx.error(where + ("op",), f"filter {i + 1}: {flt.op} compares text, but "
                  f"{schema.name}.{flt.field} is {ftype}", "records.filter-op")
        return
    if flt.op in ORDERING_OPS and ftype.kind not in NUMERIC | TEXT_LIKE | {
            "Date", "DateTime", "Time"}:
        ctx.error(where + ("op",), f"filter {i + 1}: {flt.op} orders values, but "
                  f"{schema.name}.{flt.field} is {ftype}", "records.filter-op")
        return
    if flt.op in ("In", "NotIn"):
        ctx.check_value(flt.value, ftype.as_collection(), where + ("value",),
                        context=f"filter {i + 1}: {flt.op} takes a collection of "
                                f"{ftype.item}: ")
        return
    if flt.value is None and flt.op not in ("EqualTo", "NotEqualTo"):
        ctx.error(where, f"filter {i + 1}: {flt.op} needs a value", "records.filter-value")
        return
    ctx.check_value(flt.value, ftype, where + ("value",),
                    context=f"filter {i + 1} on {schema.name}.{flt.field} ({ftype}): ")


def check_logic(ctx: CheckContext, element: str, base: tuple[Any, ...], logic: str | None,
                count: int) -> None:
    if logic is None or count == 0:
        return
    try:
        ctx.logic[(element, "filters")] = logic_tree(logic, count)
    except LogicError as exc:
        ctx.error(base + ("logic",), f"filter logic: {exc}", "logic")


def check_field_values(ctx: CheckContext, base: tuple[Any, ...], schema: Any,
                       values: Mapping[str, Any], creating: bool) -> None:
    """Field values to write: known, writable fields, values of their types."""
    for name, raw in values.items():
        where = base + ("values", name)
        fdef = check_field(ctx, where, schema, name, key=True)
        if fdef is None:
            continue
        why = read_only_reason(fdef)
        if why:
            ctx.error(where, f"{schema.name}.{name} cannot be written: {why}",
                      "records.read-only", key=True)
            continue
        ctx.check_value(raw, fdef.type, where, context=f"{schema.name}.{name} ({fdef.type}): ")
    if creating:
        for fdef in schema.fields:
            if fdef.required and fdef.default is None and not fdef.is_computed \
                    and not fdef.read_only and fdef.name not in values:
                ctx.error(base + ("values",) if values else base + ("object",),
                          f"{schema.name}.{fdef.name} is required: creating a record without it "
                          "fails with REQUIRED_FIELD_MISSING", "records.required",
                          key=bool(values))


def read_only_reason(fdef: Any) -> str | None:
    if fdef.name in SYSTEM_FIELDS or getattr(fdef, "read_only", False):
        return "the platform sets it"
    if getattr(fdef, "calculated", None) is not None:
        return "it is a formula field, calculated from the record"
    if getattr(fdef, "rollup", None) is not None:
        return "it is a roll-up summary of the record's children"
    return None


def record_reference(ctx: CheckContext, path: tuple[Any, ...], ref: str,
                     writable: bool = False) -> FlowType | None:
    """The type of a record variable or record collection an element reads (or writes), or
    None after reporting why it is not one."""
    rp = ctx.writable_target(ref, path) if writable else ctx.resolve(ref, path)
    if rp is None:
        return None
    if rp.type.kind != "Record":
        ctx.error(path, f"{ref!r} is {rp.type}, not a record variable or record collection",
                  "records.reference")
        return None
    return rp.type


# ---------------------------------------------------------------------------------------------
# Compiling and running

CompiledFilter = tuple[str, str, Callable[[Any], Any]]   # field, operator, value getter


def compile_filters(values: ValueCompiler, schema: Any,
                    filters: Sequence[RecordFilterModel]) -> list[CompiledFilter]:
    out: list[CompiledFilter] = []
    for flt in filters:
        fdef = field_def(schema, flt.field)
        if flt.op == "IsNull":
            target = FlowType("Boolean")
        elif flt.op in ("In", "NotIn"):
            target = fdef.type.as_collection()
        else:
            target = fdef.type
        out.append((flt.field, flt.op, values.compile(flt.value, target)))
    return out


def filters_now(st: Interview, compiled: Sequence[CompiledFilter]) -> list[RecordFilter]:
    return [RecordFilter(name, op, _plain(get(st))) for name, op, get in compiled]  # type: ignore[arg-type]


def _plain(value: Any) -> Any:
    return list(value) if isinstance(value, list) else value


def within_ids(logic: str, count: int) -> str:
    """The logic of `count` filters, put after a first filter (`Id In ...`) that must hold too."""
    import re

    if logic.lower() == "and":
        return "and"
    joined = f" {logic.upper()} ".join(str(i) for i in range(2, count + 2)) \
        if logic.lower() == "or" else re.sub(r"\d+", lambda m: str(int(m.group()) + 1), logic)
    return f"1 AND ({joined})"


def logic_text(logic: str | None) -> str:
    return "and" if logic is None else logic


def record_value(object_name: str, row: Mapping[str, Any]) -> RecordValue:
    return RecordValue(object_name, dict(row))


def fields_to_write(schema: Any, record: ObjectValue, creating: bool) -> dict[str, Any]:
    """The fields of a record variable that a DML statement writes: every field it holds but
    those the platform sets (Id, system, formula and roll-up fields)."""
    out = {}
    for name, value in record.fields.items():
        fdef = field_def(schema, name)
        if fdef is None:
            if "." in name or name not in schema.field_types():
                continue                   # a relationship's record read through a lookup
        elif read_only_reason(fdef):
            continue
        out[name] = value
    return out


class RecordsNode(FaultingNode):
    """A node that reads or writes records: counts governor limits, faults with the DML
    message of Salesforce."""

    __slots__ = ("object_name",)
    fault_type = "RuntimeError"
    verb = "look up"                     # "This error occurred when the flow tried to ..."

    def __init__(self, name: str, type_name: str, object_name: str) -> None:
        super().__init__(name, type_name)
        self.object_name = object_name

    @property
    def described(self) -> str:
        return self.type

    @property
    def subject(self) -> str:
        return f"{self.type} {self.name}"

    def org(self, st: Interview) -> Any:
        if st.org is None:
            raise OrgError(f"{self.type} needs an org store to {self.verb} {self.object_name} "
                           "records (run it with --org)", "ORG_REQUIRED")
        return st.org

    def fault_text(self, exc: BaseException) -> tuple[str, str | None]:
        if isinstance(exc, OrgError):
            return (f"This error occurred when the flow tried to {self.verb} records: "
                    f"{exc.error_code}: {exc.message}. You can look up ExceptionCode values in "
                    "the SOAP API Developer Guide.", exc.error_code)
        return super().fault_text(exc)

    @staticmethod
    def record_limits(st: Interview, entry: dict[str, Any] | None) -> None:
        if entry is not None:
            entry["limits"] = st.limits.to_json()


class DmlNode(RecordsNode):
    """A node that writes the records a record variable or collection holds (`records:`)."""

    __slots__ = ("records", "records_text", "many")

    def __init__(self, name: str, type_name: str, object_name: str,
                 records: Callable[[Any], Any] | None, records_text: str = "",
                 many: bool = False) -> None:
        super().__init__(name, type_name, object_name)
        self.records = records            # getter of the variable (no copy), or None
        self.records_text = records_text
        self.many = many                  # the variable is a collection

    def targets(self, st: Interview) -> list[ObjectValue]:
        """The records the variable holds (a null collection holds none)."""
        assert self.records is not None
        held = self.records(st)
        if held is None:
            if self.many:
                return []
            raise OrgError(f"the record variable {self.records_text} is null: it hasn't been set "
                           "or assigned", "MISSING_ARGUMENT")
        items = held if isinstance(held, list) else [held]
        for i, record in enumerate(items):
            if record is None:
                raise OrgError(f"record [{i}] of {self.records_text} is null", "MISSING_ARGUMENT")
        return items

    def matching(self, st: Interview, ids: list[str] | None,
                 filters: list[RecordFilter]) -> list[str]:
        """The Ids of the records that match `filters` (among `ids`, when given): one query."""
        logic = self.logic                                       # type: ignore[attr-defined]
        if ids is not None:
            if not ids:
                return []
            logic = within_ids(logic, len(filters))
            filters = [RecordFilter("Id", "In", list(ids))] + filters
        org = self.org(st)
        st.limits.query(self.name, f"{st.flow_name}.{self.name}:query")
        found = org.select(self.object_name, filters, logic, fields=["Id"])
        st.limits.rows_retrieved(len(found), self.name)
        return [row["Id"] for row in found]

    @staticmethod
    def ids_of(records: Sequence[ObjectValue], call: str) -> list[str]:
        ids = []
        for record in records:
            record_id = record.fields.get("Id")
            if not record_id:
                raise OrgError(f"Id not specified in {call} call", "MISSING_ARGUMENT")
            ids.append(record_id)
        return ids


def shown(records: Sequence[Any]) -> list[Any]:
    """What a trace entry keeps of records: the first few."""
    return [to_json(r) for r in records[:SHOWN_RECORDS]]


# ---------------------------------------------------------------------------------------------
# Canvas and trace

def filter_rows(filters: Sequence[RecordFilterModel]) -> list[list[str]]:
    from flowengine.render.details import show_value

    return [[str(i), f.field, f.op, show_value(f.value)] for i, f in enumerate(filters, 1)]


def filters_group(filters: Sequence[RecordFilterModel], logic: str | None,
                  title: str = "Filter records") -> dict[str, Any]:
    if not filters:
        return {"title": title, "note": "no filters: every record", "columns": [], "rows": []}
    joined = logic_text(logic)
    note = f"conditions joined by {joined if joined in ('and', 'or') else 'custom: ' + joined}"
    return {"title": title, "note": note, "columns": ["#", "Field", "Operator", "Value"],
            "rows": filter_rows(filters)}


def query_text(query: Mapping[str, Any]) -> str:
    """`FulfillmentOrderLineItem WHERE FulfillmentOrderId EqualTo '0a3…' ORDER BY Quantity DESC
    LIMIT 1`: a query of a trace entry, in words."""
    import json

    parts = [str(query.get("object"))]
    filters = query.get("filters") or []
    if filters:
        conds = [f"{f} {op} {json.dumps(v, default=str)}" for f, op, v in filters]
        logic = query.get("logic", "and")
        joined = f" {logic.upper()} ".join(conds) if logic in ("and", "or") \
            else f"{'; '.join(conds)} [{logic}]"
        parts.append("WHERE " + joined)
    if query.get("sort"):
        parts.append(f"ORDER BY {query['sort']}")
    if query.get("limit") is not None:
        parts.append(f"LIMIT {query['limit']}")
    return " ".join(parts)


def trace_query(filters: Sequence[RecordFilter], object_name: str, logic: str,
                sort: str | None = None, limit: int | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {"object": object_name,
                           "filters": [[f.field, f.op, to_json(f.value)] for f in filters],
                           "logic": logic}
    if sort:
        out["sort"] = sort
    if limit is not None:
        out["limit"] = limit
    return out


def limits_line(entry: Mapping[str, Any]) -> list[str]:
    limits = entry.get("limits")
    if not limits:
        return []
    return ["        limits used: " + ", ".join(
        f"{v['used']:,}/{v['limit']:,} {label}" for label, v in (
            ("queries", limits["queries"]), ("rows retrieved", limits["queryRows"]),
            ("DML statements", limits["dmlStatements"]), ("DML rows", limits["dmlRows"])))]


def limits_view(entry: Mapping[str, Any]) -> list[dict[str, Any]]:
    text = limits_line(entry)
    if not text:
        return []
    line = text[0].strip()
    return [{"kind": "text", "cls": "note", "text": line[:1].upper() + line[1:]}]


# ---------------------------------------------------------------------------------------------
# Salesforce XML

def filters_from_xml(reader: FlowReader, node: XmlNode, path: tuple[Any, ...],
                     out: dict[str, Any]) -> None:
    """`filters` and `filterLogic` of an element into `out` (`filters`, `logic`)."""
    filters = []
    for i, flt in enumerate(node.all("filters")):
        where = path + ("filters", i)
        reader.at(where, flt)
        row: dict[str, Any] = {"field": reader.text(flt.child("field"), where + ("field",)),
                               "op": reader.text(flt.child("operator"), where + ("op",))}
        if flt.child("value") is not None:
            row["value"] = reader.value(flt.child("value"), where + ("value",))
        filters.append(reader.keep(row, flt, {"field", "operator", "value"}, where))
    if filters:
        out["filters"] = filters
    logic = node.child("filterLogic")
    if logic is not None:
        out["logic"] = reader.text(logic, path + ("logic",))


def filters_to_xml(writer: FlowWriter, name: str, filters: Sequence[RecordFilterModel],
                   logic: str | None) -> list[XmlNode]:
    from flowengine.formats.sfxml import BASE

    out = []
    if logic is not None:
        out.append(writer.leaf("filterLogic", logic))
    for i, flt in enumerate(filters):
        kids = [writer.leaf("field", flt.field), writer.leaf("operator", flt.op)]
        if flt.value is not None:
            kids.append(writer.value("value", flt.value, f"{name}.filters[{i}]"))
        out.append(writer.node("filters", kids + writer.kept(flt), BASE))
    return out


def values_from_xml(reader: FlowReader, node: XmlNode, path: tuple[Any, ...],
                    out: dict[str, Any]) -> None:
    """`inputAssignments` into `out["values"]` (field → value); what else one says is kept."""
    values: dict[str, Any] = {}
    for item in node.all("inputAssignments"):
        fname = item.text_of("field") or ""
        where = path + ("values", fname)
        reader.at(where, item)
        values[fname] = reader.value(item.child("value"), where)
        rest = reader.rest(item, {"field", "value"}, ())
        if rest:
            out.setdefault("xml", {})[f"inputAssignments:{fname}"] = rest
    if values:
        out["values"] = values


def values_to_xml(writer: FlowWriter, name: str, values: Mapping[str, Any],
                  kept: dict[str, Any]) -> list[XmlNode]:
    from flowengine.formats.sfxml import BASE

    out = []
    for fname, value in values.items():
        extra = kept.pop(f"inputAssignments:{fname}", None) or {}
        kids = [writer.leaf("field", fname)] + writer.raw_children(extra)
        if value is not None:
            kids.append(writer.value("value", value, f"{name}.values.{fname}"))
        out.append(writer.node("inputAssignments", kids, BASE))
    return out


def connectors_from_xml(reader: FlowReader, node: XmlNode, path: tuple[Any, ...],
                        out: dict[str, Any]) -> None:
    target = reader.connector(node.child("connector"), path + ("next",), out)
    if target:
        out["next"] = target
    fault = reader.connector(node.child("faultConnector"), path + ("fault",), out)
    if fault:
        out["fault"] = fault


def connectors_to_xml(writer: FlowWriter, element: Any) -> list[XmlNode]:
    return writer.connector("connector", element.next, element) + \
        writer.connector("faultConnector", getattr(element, "fault", None), element)


def rest_to_xml(writer: FlowWriter, kept: dict[str, Any]) -> list[XmlNode]:
    rest = {k: v for k, v in kept.items() if k not in ("connector", "faultConnector")}
    return writer.raw_children(rest) if rest else []


def filter_reads(filters: Sequence[RecordFilterModel]) -> list[str]:
    return [root for f in filters for root in merge_field_roots(f.value)]


Verb = Literal["look up", "create", "update", "delete", "roll back"]
__all__ += ["FILTER_OPERATORS", "Verb"]
