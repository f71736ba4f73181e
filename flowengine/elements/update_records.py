"""The Update Records element (Salesforce `recordUpdates`, `FlowRecordUpdate`).

```yaml
Save_Lines:                           # the records a variable holds, as they are now
  type: UpdateRecords
  records: lines                      # a record variable or record collection (with Ids)

Close_Lines:                          # the records that match filters, given new values
  type: UpdateRecords
  object: FulfillmentOrderLineItem
  filters:                            # none: every record of the object
    - {field: FulfillmentOrderId, op: EqualTo, value: "{!fulfillmentOrderId}"}
  logic: and
  values: {Quantity: 0}
  next: Done
  fault: Log_Failure
```

A record variable writes every field it holds but those the platform sets (Id, system, formula
and roll-up fields); a record without an Id is refused (`MISSING_ARGUMENT`), one deleted in the
meantime too (`ENTITY_IS_DELETED`). With `records:`, `filters:` narrow the update to the records
that match them in the store, and `values:` sets those fields only (Salesforce's "update the
triggering record" with conditions and field values). By filters, the element queries first (one
query, its rows count as retrieved), then writes every record found in one statement; finding
none is not an error. All records of one element are updated or none is.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar, Literal

from pydantic import Field

from flowengine.elements import records as rec
from flowengine.elements.base import ElementKind, ElementModel, LintFacts
from flowengine.errors import OrgError
from flowengine.references import merge_field_roots

if TYPE_CHECKING:
    from flowengine.check.context import CheckContext
    from flowengine.formats.sfxml import FlowReader, FlowWriter
    from flowengine.formats.xmltree import XmlNode
    from flowengine.runtime.compile import CompileContext
    from flowengine.runtime.interview import Interview
    from flowengine.runtime.nodes import Node


class UpdateRecordsElement(ElementModel):
    type: Literal["UpdateRecords"]
    records: str | None = None
    object: str | None = None
    filters: list[rec.RecordFilterModel] = Field(default_factory=list)
    logic: str | None = None
    values: dict[str, Any] = Field(default_factory=dict)
    next: str | None = None
    fault: str | None = None


class UpdateRecordsNode(rec.DmlNode):
    __slots__ = ("schema", "filters", "logic", "values")
    verb = "update"

    def __init__(self, name: str, object_name: str, schema: Any, records: Any = None,
                 records_text: str = "", many: bool = False,
                 filters: list[rec.CompiledFilter] | None = None, logic: str = "and",
                 values: list[tuple[str, Any]] | None = None) -> None:
        super().__init__(name, "UpdateRecords", object_name, records, records_text, many)
        self.schema = schema
        self.filters = filters or []
        self.logic = logic
        self.values = values or []

    def prepare(self, st: Interview, entry: dict[str, Any] | None) -> Any:
        filters = rec.filters_now(st, self.filters)
        new = {name: get(st) for name, get in self.values}
        if entry is not None and (filters or self.records is None):
            entry["query"] = rec.trace_query(filters, self.object_name, self.logic)
        return filters, new

    def work(self, st: Interview, entry: dict[str, Any] | None, prepared: Any) -> Any:
        filters, new = prepared
        held: dict[str, Any] = {}
        if self.records is not None:
            targets = self.targets(st)
            ids = self.ids_of(targets, "an update")
            held = dict(zip(ids, targets))
            if len(held) < len(ids):
                raise OrgError(f"Duplicate id in list: {self.records_text} holds a record twice",
                               "DUPLICATE_VALUE")
            if filters:
                ids = self.matching(st, ids, filters)
        else:
            ids = self.matching(st, None, filters)
        updates = {i: new if new else rec.fields_to_write(self.schema, held[i], creating=False)
                   for i in ids}
        if updates:
            org = self.org(st)
            st.limits.dml(len(updates), self.name, f"{st.flow_name}.{self.name}")
            if len(updates) == 1:
                (record_id, fields), = updates.items()
                org.update(self.object_name, record_id, fields)
            else:
                org.update_many(self.object_name, updates)
        return ids

    def finish(self, st: Interview, entry: dict[str, Any] | None, ids: Any) -> None:
        if entry is not None:
            entry["object"] = self.object_name
            entry["updated"] = ids[:rec.SHOWN_RECORDS]
            entry["count"] = len(ids)
            self.record_limits(st, entry)


class UpdateRecordsKind(ElementKind):
    name = "UpdateRecords"
    model: ClassVar[type[ElementModel]] = UpdateRecordsElement
    can_fault = True
    reports_errors = True
    tile = "data"
    icon = rec.DATA_ICON + '<path class="glyph-line" stroke-width="2" d="M22 30l7-7"/>'
    mermaid_shape = ('[("', '")]')
    xml_tag = "recordUpdates"
    verb = "update"

    def needs_plugins(self, element: Any) -> bool:
        return True

    def needs_org(self, element: Any) -> bool:
        return True

    def check(self, ctx: CheckContext, name: str, element: Any) -> None:
        base = ("elements", name)
        if element.records is not None:
            if element.object:
                ctx.error(base + ("object",), f"records: {self.verb}s the records a variable "
                          "holds, of the variable's object; object: belongs to the other form "
                          "(records found by filters)", "records.mode")
            rtype = rec.record_reference(ctx, base + ("records",), element.records)
            if rtype is None:
                return
            schema = rec.object_schema(ctx, base + ("records",), rtype.object)
        else:
            schema = rec.object_schema(ctx, base + ("object",), element.object)
        if schema is None:
            return
        rec.check_filters(ctx, name, base, schema, element.filters, element.logic)
        self.check_values(ctx, base, schema, element)

    def check_values(self, ctx: CheckContext, base: tuple[Any, ...], schema: Any,
                     element: Any) -> None:
        if not element.values and element.records is None:
            ctx.error(base + ("object",), "the element sets no field (values: field → new value)",
                      "records.values")
        rec.check_field_values(ctx, base, schema, element.values, creating=False)

    def compile(self, ctx: CompileContext, name: str, element: Any) -> Node:
        values = ctx.values
        types = ctx.checked.types
        records: dict[str, Any] = {}
        object_name = element.object
        if element.records is not None:
            rp = values.resolve(element.records)
            object_name = rp.type.object or ""
            records = {"records": values.ref_getter(rp), "records_text": element.records,
                       "many": rp.type.collection}
        schema = types.object_schema(object_name)
        return self.node(name, object_name, schema, **records,
                         filters=rec.compile_filters(values, schema, element.filters),
                         logic=rec.logic_text(element.logic),
                         values=[(f, values.compile(raw, rec.field_def(schema, f).type))
                                 for f, raw in getattr(element, "values", {}).items()])

    def node(self, name: str, object_name: str, schema: Any, **options: Any) -> Node:
        return UpdateRecordsNode(name, object_name, schema, **options)

    # -- canvas and runs -------------------------------------------------------------------
    def caption(self, element: Any, action: Any = None) -> str:
        return f"{self.verb.capitalize()} Records"

    def note(self, element: Any, action: Any = None) -> str | None:
        return element.object or element.records

    def details(self, name: str, element: Any,
                action: Any = None) -> tuple[str, list[dict[str, Any]]]:
        from flowengine.render.details import show_value

        title = self.caption(element)
        groups: list[dict[str, Any]] = []
        if element.records is not None:
            groups.append({"title": "The records of", "columns": [],
                           "rows": [["Variable", element.records]]})
        if element.filters or element.records is None:
            groups.append(rec.filters_group(element.filters, element.logic,
                                            f"{element.object or 'The'} records to {self.verb}"))
        if getattr(element, "values", None):
            groups.append({"title": "New field values", "columns": ["Field", "Value"],
                           "rows": [[k, show_value(v)] for k, v in element.values.items()]})
        return f"{title} · {element.object or element.records}", groups

    def trace_text(self, entry: dict[str, Any]) -> list[str]:
        done = f"{self.verb}d"
        lines = [f"        query: {rec.query_text(entry['query'])}"] if "query" in entry else []
        if done in entry:
            count = entry.get("count", 0)
            lines.append(f"        {done} {count} {entry.get('object')} record{'s' * (count != 1)}"
                         + (f": {', '.join(entry[done])}" if entry[done] else "")
                         + (" ..." if count > len(entry[done]) else ""))
        return lines + rec.limits_line(entry)

    def trace_view(self, entry: dict[str, Any], element: Any, show: Any) -> list[dict[str, Any]]:
        return [{"kind": "text", "cls": "ok" if line.strip().startswith(self.verb) else "note",
                 "text": line.strip()[:1].upper() + line.strip()[1:]}
                for line in self.trace_text(entry)]

    # -- Salesforce XML --------------------------------------------------------------------
    def from_xml(self, reader: FlowReader, node: XmlNode, path: tuple[Any, ...]) -> dict[str, Any]:
        used = {"object", "inputReference", "filters", "filterLogic", "connector",
                "faultConnector"} | ({"inputAssignments"} if self.name == "UpdateRecords" else set())
        out: dict[str, Any] = {**reader.element_base(node, path, used), "type": self.name}
        for tag, key in (("object", "object"), ("inputReference", "records")):
            if node.child(tag) is not None:
                out[key] = reader.text(node.child(tag), path + (key,))
        rec.filters_from_xml(reader, node, path, out)
        if self.name == "UpdateRecords":
            rec.values_from_xml(reader, node, path, out)
        rec.connectors_from_xml(reader, node, path, out)
        return reader.keep(out, node, used, path)

    def to_xml(self, writer: FlowWriter, name: str, element: Any) -> XmlNode:
        from flowengine.formats.sfxml import NODE

        kept = dict(element.xml or {})
        out = writer.element_base(name, element)
        out += rec.connectors_to_xml(writer, element)
        out += rec.filters_to_xml(writer, name, element.filters, element.logic)
        if getattr(element, "values", None):
            out += rec.values_to_xml(writer, name, element.values, kept)
        if element.records:
            out.append(writer.leaf("inputReference", element.records))
        if element.object:
            out.append(writer.leaf("object", element.object))
        return writer.node(self.xml_tag or "", out + rec.rest_to_xml(writer, kept), NODE)

    def facts(self, element: Any) -> LintFacts:
        reads = rec.filter_reads(element.filters)
        reads += list(merge_field_roots(list(getattr(element, "values", {}).values())))
        if element.records:
            reads.append(element.records.split(".")[0])
        what = f"{element.object} records" if element.object else f"the records of {element.records}"
        return LintFacts(doing=f"{self.verb}s {what}",
                         failing=f"the {self.verb}", reads=tuple(reads), dml=True,
                         query=element.records is None or bool(element.filters),
                         filtered=bool(element.filters))


KIND = UpdateRecordsKind()
