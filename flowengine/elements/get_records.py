"""The Get Records element (Salesforce `recordLookups`, `FlowRecordLookup`): finds records of an
object by filters, in the database.

```yaml
Find_Lines:
  type: GetRecords
  object: FulfillmentOrderLineItem
  filters:                            # none: every record of the object
    - {field: FulfillmentOrderId, op: EqualTo, value: "{!fulfillmentOrderId}"}
    - {field: Quantity, op: GreaterThan, value: 0}
  logic: and                          # and | or | custom: "1 AND (2 OR 3)"
  sortBy: Quantity                    # optional, with sortOrder: Asc | Desc
  sortOrder: Desc
  firstOnly: false                    # true: the first record only
  limit: 10                           # API 60+: at most this many records (not with firstOnly)
  # where the records go — one of:
  storeOutputAutomatically: true      # the element holds them: {!Find_Lines}, {!Find_Lines.Id}
  store: lines                        # a record variable or record collection of the object
  outputs: {Id: lineId, Quantity: qty}   # fields of the first record into variables
  fields: [Id, Quantity]              # the fields to read (Id always); none: every field
  nullsIfNoneFound: true              # outputs: set them to null when nothing is found
  next: Use_Lines
  fault: Log_Failure
```

When nothing is found, the element (or `store:` variable) holds null — a single record and a
collection alike, as in Salesforce, where "Is Null" is the test after a Get Records; `outputs:`
variables are set to null only with `nullsIfNoneFound: true` and otherwise keep their values.
Without `firstOnly`, a `store:` variable's kind decides (a collection gets every record); an
element storing automatically gets every record unless `firstOnly: true`.
"""
from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING, Any, Final, Literal

from pydantic import Field

from flowengine.elements import records as rec
from flowengine.elements.base import ElementKind, ElementModel, LintFacts
from flowengine.errors import FlowRuntimeError
from flowengine.org.query import Sort
from flowengine.types import FlowType, assignable, copy_value, to_json

if TYPE_CHECKING:
    from flowengine.check.context import CheckContext
    from flowengine.check.symbols import ResolvedPath, Symbol, SymbolTable
    from flowengine.formats.sfxml import FlowReader, FlowWriter
    from flowengine.formats.xmltree import XmlNode
    from flowengine.runtime.compile import CompileContext
    from flowengine.runtime.interview import Interview
    from flowengine.runtime.nodes import Node

# Get Records' `limit` exists since API version 60.0 (Spring '24). The most it may be is not
# documented in the references available to us: flowengine takes up to the 50,000 rows a
# transaction may retrieve (docs/conformance.md).
LIMIT_SINCE: Final = Decimal("60.0")
MAX_LIMIT: Final = 50_000


class GetRecordsElement(ElementModel):
    type: Literal["GetRecords"]
    object: str
    filters: list[rec.RecordFilterModel] = Field(default_factory=list)
    logic: str | None = None
    sortBy: str | None = None
    sortOrder: Literal["Asc", "Desc"] | None = None
    firstOnly: bool | None = None
    limit: Any = None
    fields: list[str] = Field(default_factory=list)
    store: str | None = None
    outputs: dict[str, str] = Field(default_factory=dict)
    storeOutputAutomatically: bool | None = None
    nullsIfNoneFound: bool | None = None
    next: str | None = None
    fault: str | None = None


class GetRecordsNode(rec.RecordsNode):
    __slots__ = ("filters", "logic", "sort", "limit", "first", "fields", "assign", "outputs",
                 "nulls")
    verb = "look up"

    def __init__(self, name: str, element: GetRecordsElement, filters: list[rec.CompiledFilter],
                 limit: Any, first: bool, assign: Any, outputs: list[tuple[Any, str]]) -> None:
        super().__init__(name, "GetRecords", element.object)
        self.filters = filters
        self.logic = rec.logic_text(element.logic)
        self.sort = (Sort(element.sortBy, element.sortOrder == "Desc"),) if element.sortBy else ()
        self.limit = limit                # a getter, or None
        self.first = first
        fields = list(element.fields) or list(element.outputs) or None
        self.fields = (["Id"] + [f for f in fields if f != "Id"]) if fields else None
        self.assign = assign              # setter of the records (element or store:), or None
        self.outputs = outputs            # (setter, field) of outputs:
        self.nulls = bool(element.nullsIfNoneFound)

    def prepare(self, st: Interview, entry: dict[str, Any] | None) -> Any:
        filters = rec.filters_now(st, self.filters)
        limit = 1 if self.first else None
        if self.limit is not None:
            limit = _limit(self.limit(st))
        if entry is not None:
            sort = f"{self.sort[0].field} {'DESC' if self.sort[0].descending else 'ASC'}" \
                if self.sort else None
            entry["query"] = rec.trace_query(filters, self.object_name, self.logic, sort, limit)
        return filters, limit

    def work(self, st: Interview, entry: dict[str, Any] | None, prepared: Any) -> Any:
        filters, limit = prepared
        org = self.org(st)
        st.limits.query(self.name, f"{st.flow_name}.{self.name}")
        rows = org.select(self.object_name, filters, self.logic, self.sort, limit, self.fields)
        st.limits.rows_retrieved(len(rows), self.name)
        return rows

    def finish(self, st: Interview, entry: dict[str, Any] | None, rows: Any) -> None:
        found = [rec.record_value(self.object_name, row) for row in rows]
        if self.assign is not None:
            if not found:
                self.assign(st, None)
            else:
                self.assign(st, found[0] if self.first else found)
        if self.outputs and (found or self.nulls):
            first = found[0] if found else None
            for setter, field in self.outputs:
                setter(st, copy_value(first.fields.get(field)) if first is not None else None)
        if entry is not None:
            entry["found"] = len(found)
            entry["records"] = rec.shown(found)
            self.record_limits(st, entry)


def _limit(value: Any) -> int:
    if value is None or not isinstance(value, Decimal) or value != value.to_integral() \
            or not 1 <= value <= MAX_LIMIT:
        raise FlowRuntimeError(f"the number of records to get must be a whole number from 1 to "
                               f"{MAX_LIMIT:,}, not {to_json(value)}")
    return int(value)


class GetRecordsKind(ElementKind):
    name = "GetRecords"
    model = GetRecordsElement
    can_fault = True
    tile = "data"
    icon = rec.DATA_ICON + '<path class="glyph-line" stroke-width="2" d="M22 25l5 5"/>'
    mermaid_shape = ('[("', '")]')
    xml_tag = "recordLookups"

    def needs_plugins(self, element: GetRecordsElement) -> bool:
        return True

    def needs_org(self, element: GetRecordsElement) -> bool:
        return True

    # -- names -----------------------------------------------------------------------------
    @staticmethod
    def first_only(ctx: Any, element: GetRecordsElement) -> bool:
        """Whether the element gets one record (not a collection)."""
        if element.firstOnly is not None:
            return element.firstOnly
        if element.outputs:
            return True
        if element.store:
            from flowengine.check.symbols import ResolveError
            from flowengine.references import PathSyntaxError, check_path
            try:
                return not ctx.table.resolve(check_path(element.store)).type.collection
            except (ResolveError, PathSyntaxError):
                return True
        return False

    def bind(self, ctx: CheckContext, name: str, element: GetRecordsElement, symbol: Symbol) -> None:
        if element.storeOutputAutomatically:
            if ctx.types.object_schema(element.object) is None:
                symbol.broken = True                    # check() reports the unknown object
                return
            symbol.type = FlowType("Record", object=element.object,
                                   collection=not self.first_only(ctx, element))
            symbol.assignable = True        # Assignments may set the fields it holds

    def resolve(self, table: SymbolTable, symbol: Symbol, text: str,
                fields: tuple[str, ...]) -> ResolvedPath:
        from flowengine.check.symbols import ResolveError

        element = symbol.decl
        if symbol.type is None:
            where = f"in {element.store}" if element.store else \
                "in the variables of its outputs" if element.outputs else "nowhere"
            raise ResolveError(f"{symbol.name!r} is a Get Records element that stores its records "
                               f"{where}, not automatically (storeOutputAutomatically: true)")
        return table.resolve_fields(text, symbol, symbol.type, fields)

    def readonly_reason(self, symbol: Symbol) -> str:
        return (f"{symbol.name} is a Get Records element that does not store its records "
                "automatically (storeOutputAutomatically: true)")

    # -- checks ----------------------------------------------------------------------------
    def check(self, ctx: CheckContext, name: str, element: GetRecordsElement) -> None:
        base = ("elements", name)
        if "relatedRecords" in (element.xml or {}):
            ctx.error(base, f"Get Records {name!r} also gets related records (relatedRecords), "
                      "which flowengine does not run yet", "unsupported", severity="warning")
        schema = rec.object_schema(ctx, base + ("object",), element.object)
        if schema is None:
            return
        rec.check_filters(ctx, name, base, schema, element.filters, element.logic)
        for i, fname in enumerate(element.fields):
            rec.check_field(ctx, base + ("fields", i), schema, fname)
        if element.sortBy:
            rec.check_field(ctx, base + ("sortBy",), schema, element.sortBy)
        elif element.sortOrder:
            ctx.error(base + ("sortOrder",), "sortOrder without sortBy: name the field to sort "
                      "by", "records.sort")
        self._check_limit(ctx, base, element)
        modes = [m for m, on in (("storeOutputAutomatically: true",
                                  bool(element.storeOutputAutomatically)),
                                 ("store", bool(element.store)),
                                 ("outputs", bool(element.outputs))) if on]
        if not modes:
            ctx.error(base, f"Get Records {name!r} stores its records nowhere: set store: (a "
                      "record variable or collection), outputs: (fields into variables) or "
                      "storeOutputAutomatically: true", "records.output")
        elif len(modes) > 1:
            ctx.error(base, f"Get Records {name!r} stores its records in more than one way "
                      f"({' and '.join(modes)}); choose one", "records.output")
        first = self.first_only(ctx, element)
        if element.store:
            target = rec.record_reference(ctx, base + ("store",), element.store, writable=True)
            if target is not None:
                if target.object != element.object:
                    ctx.error(base + ("store",), f"{element.store!r} holds {target.object} records, "
                              f"but the element gets {element.object} records", "records.store")
                elif element.firstOnly is not None and target.collection == first:
                    ctx.error(base + ("store",), f"{element.store!r} is "
                              f"{'a record collection' if target.collection else 'a single record'}"
                              f", but firstOnly is {str(first).lower()}", "records.store")
        if element.outputs and element.firstOnly is False:
            ctx.error(base + ("outputs",), "outputs: stores fields of the first record; it cannot "
                      "be used with firstOnly: false", "records.output")
        for fname, target_ref in element.outputs.items():
            fdef = rec.check_field(ctx, base + ("outputs", fname), schema, fname, key=True)
            out = ctx.writable_target(target_ref, base + ("outputs", fname))
            if fdef is not None and out is not None and not assignable(fdef.type, out.type):
                ctx.error(base + ("outputs", fname), f"{element.object}.{fname} is {fdef.type}, "
                          f"which does not fit {target_ref!r} ({out.type})", "records.output")

    @staticmethod
    def _check_limit(ctx: CheckContext, base: tuple[Any, ...], element: GetRecordsElement) -> None:
        if element.limit is None:
            return
        where = base + ("limit",)
        if ctx.model.api_version < LIMIT_SINCE:
            ctx.error(where, f"limit needs API version {LIMIT_SINCE} or later; the flow's "
                      f"apiVersion is {ctx.model.api_version}", "records.limit")
            return
        if element.firstOnly:
            ctx.error(where, "limit with firstOnly: true: the first record only is one record",
                      "records.limit")
            return
        if ctx.check_value(element.limit, FlowType("Number"), where, context="limit: ") is None:
            return
        if not isinstance(element.limit, str):
            try:
                _limit(Decimal(str(element.limit)))
            except (FlowRuntimeError, ArithmeticError) as exc:
                ctx.error(where, f"limit: {getattr(exc, 'message', exc)}", "records.limit")

    # -- compiling -------------------------------------------------------------------------
    def compile(self, ctx: CompileContext, name: str, element: GetRecordsElement) -> Node:
        values = ctx.values
        schema = ctx.checked.types.object_schema(element.object)
        filters = rec.compile_filters(values, schema, element.filters)
        limit = values.compile(element.limit, FlowType("Number")) \
            if element.limit is not None else None
        first = element.firstOnly if element.firstOnly is not None else \
            self._first_compiled(values, element)
        assign: Any = None
        if element.storeOutputAutomatically:
            def assign(st: Interview, value: Any, key: str = name) -> None:
                st.values[key] = value
        elif element.store:
            assign = values.setter(element.store)[0]
        outputs = [(values.converting_setter(target, values.types.field_type(
                    FlowType("Record", object=element.object), fname) or FlowType("Text")), fname)
                   for fname, target in element.outputs.items()]
        return GetRecordsNode(name, element, filters, limit, first, assign, outputs)

    @staticmethod
    def _first_compiled(values: Any, element: GetRecordsElement) -> bool:
        if element.outputs:
            return True
        if element.store:
            return not values.resolve(element.store).type.collection
        return False

    def initial_values(self, name: str, element: GetRecordsElement) -> dict[str, Any]:
        return {name: None} if element.storeOutputAutomatically else {}

    # -- canvas and runs -------------------------------------------------------------------
    def caption(self, element: GetRecordsElement, action: Any = None) -> str:
        return "Get Records"

    def note(self, element: GetRecordsElement, action: Any = None) -> str | None:
        return element.object

    def details(self, name: str, element: GetRecordsElement,
                action: Any = None) -> tuple[str, list[dict[str, Any]]]:
        groups = [rec.filters_group(element.filters, element.logic,
                                    f"Get {element.object} records")]
        how = [["How many", "the first record only" if element.firstOnly or element.outputs
                else "all records" if element.firstOnly is False or not element.store
                else f"as {element.store} holds them"]]
        if element.sortBy:
            order = "descending" if element.sortOrder == "Desc" else "ascending"
            how.append(["Sort", f"{element.sortBy} {order}"])
        if element.limit is not None:
            how.append(["At most", str(element.limit)])
        if element.storeOutputAutomatically:
            how.append(["Stored", f"automatically, in {name}"])
        elif element.store:
            how.append(["Stored in", element.store])
        if element.fields:
            how.append(["Fields", ", ".join(element.fields)])
        groups.append({"title": "Store", "columns": [], "rows": how})
        if element.outputs:
            groups.append({"title": "Fields stored in", "columns": ["Field", "Variable"],
                           "rows": [[k, v] for k, v in element.outputs.items()]})
        return f"Get Records · {element.object}", groups

    def trace_text(self, entry: dict[str, Any]) -> list[str]:
        import json

        lines = []
        if "query" in entry:
            lines.append(f"        query: {rec.query_text(entry['query'])}")
        if "found" in entry:
            lines.append(f"        found {entry['found']} record{'s' * (entry['found'] != 1)}")
            lines += [f"          {json.dumps(r, default=str)}" for r in entry.get("records", [])]
        return lines + rec.limits_line(entry)

    def trace_view(self, entry: dict[str, Any], element: Any, show: Any) -> list[dict[str, Any]]:
        lines: list[dict[str, Any]] = []
        if "query" in entry:
            lines.append({"kind": "text", "cls": "note", "text": rec.query_text(entry["query"])})
        if "found" in entry:
            lines.append({"kind": "text", "cls": "ok",
                          "text": f"Found {entry['found']} record{'s' * (entry['found'] != 1)}"})
            records = entry.get("records") or []
            if records:
                lines.append({"kind": "table", "title": "Records",
                              "rows": [[str(i), show(r)] for i, r in enumerate(records, 1)]})
        return lines + rec.limits_view(entry)

    # -- Salesforce XML --------------------------------------------------------------------
    def from_xml(self, reader: FlowReader, node: XmlNode, path: tuple[Any, ...]) -> dict[str, Any]:
        used = {"object", "filters", "filterLogic", "sortField", "sortOrder", "getFirstRecordOnly",
                "limit", "queriedFields", "outputReference", "outputAssignments",
                "storeOutputAutomatically", "assignNullValuesIfNoRecordsFound", "connector",
                "faultConnector"}
        out: dict[str, Any] = {**reader.element_base(node, path, used), "type": self.name}
        out["object"] = reader.text(node.child("object"), path + ("object",))
        rec.filters_from_xml(reader, node, path, out)
        for tag, key in (("sortField", "sortBy"), ("sortOrder", "sortOrder"),
                         ("outputReference", "store")):
            if node.child(tag) is not None:
                out[key] = reader.text(node.child(tag), path + (key,))
        for tag, key in (("getFirstRecordOnly", "firstOnly"),
                         ("storeOutputAutomatically", "storeOutputAutomatically"),
                         ("assignNullValuesIfNoRecordsFound", "nullsIfNoneFound")):
            flag = reader.flag(node.child(tag))
            if flag is not None:
                out[key] = flag
        if node.child("limit") is not None:
            out["limit"] = reader.value(node.child("limit"), path + ("limit",))
        fields = [reader.text(f, path + ("fields", i)) for i, f in enumerate(node.all("queriedFields"))]
        if fields:
            out["fields"] = fields
        outputs: dict[str, Any] = {}
        for item in node.all("outputAssignments"):
            fname = item.text_of("field") or ""
            outputs[fname] = reader.text(item.child("assignToReference"), path + ("outputs", fname))
        if outputs:
            out["outputs"] = outputs
        rec.connectors_from_xml(reader, node, path, out)
        return reader.keep(out, node, used, path)

    def to_xml(self, writer: FlowWriter, name: str, element: GetRecordsElement) -> XmlNode:
        from flowengine.formats.sfxml import BASE, NODE

        out = writer.element_base(name, element)
        if element.nullsIfNoneFound is not None:
            out.append(writer.leaf("assignNullValuesIfNoRecordsFound", element.nullsIfNoneFound))
        out += rec.connectors_to_xml(writer, element)
        out += rec.filters_to_xml(writer, name, element.filters, element.logic)
        if element.firstOnly is not None:
            out.append(writer.leaf("getFirstRecordOnly", element.firstOnly))
        if element.limit is not None:
            out.append(writer.value("limit", element.limit, f"{name}.limit"))
        out.append(writer.leaf("object", element.object))
        for fname, target in element.outputs.items():
            out.append(writer.node("outputAssignments", [writer.leaf("assignToReference", target),
                                                         writer.leaf("field", fname)], BASE))
        if element.store:
            out.append(writer.leaf("outputReference", element.store))
        out += [writer.leaf("queriedFields", f) for f in element.fields]
        if element.sortBy:
            out.append(writer.leaf("sortField", element.sortBy))
        if element.sortOrder:
            out.append(writer.leaf("sortOrder", element.sortOrder))
        if element.storeOutputAutomatically is not None:
            out.append(writer.leaf("storeOutputAutomatically", element.storeOutputAutomatically))
        kept = dict(element.xml or {})
        return writer.node(self.xml_tag or "", out + rec.rest_to_xml(writer, kept), NODE)

    def facts(self, element: GetRecordsElement) -> LintFacts:
        writes = [element.store.split(".")[0]] if element.store else []
        writes += [t.split(".")[0] for t in element.outputs.values()]
        return LintFacts(doing=f"gets {element.object} records", failing="the query",
                         reads=tuple(rec.filter_reads(element.filters)), writes=tuple(writes),
                         query=True, filtered=bool(element.filters))


KIND = GetRecordsKind()
