"""The Create Records element (Salesforce `recordCreates`, `FlowRecordCreate`).

```yaml
Create_Invoice:                       # from field values
  type: CreateRecords
  object: Invoice__c
  values: {Name: INV-1, Amount__c: "{!amount}", Account__c: "{!accountId}"}
  storeId: invoiceId                  # optional: a Text variable gets the new Id
  storeOutputAutomatically: true      # optional: {!Create_Invoice} is the new Id
  next: Done
  fault: Log_Failure

Create_Lines:                         # from a record variable or record collection
  type: CreateRecords
  records: newLines                   # each record gets its new Id
```

The store checks every record as the platform does (required fields, picklist values,
references, field types) and all records of one element are created or none is: a refusal is the
element's fault, with Salesforce's status code (`REQUIRED_FIELD_MISSING`...). A record given with
an Id already set is refused (`INVALID_FIELD_FOR_INSERT_UPDATE`), as Salesforce refuses it.
Fields the platform sets (Id, system, formula and roll-up fields) that a record variable holds
are not written. Creating a platform event (`object: Name__e`, or a standard event) publishes
it: subscribers receive it after the transaction commits.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any, Literal

from pydantic import Field

from flowengine.elements import records as rec
from flowengine.elements.base import ElementKind, ElementModel, LintFacts
from flowengine.errors import OrgError
from flowengine.references import merge_field_roots
from flowengine.types import FlowType

if TYPE_CHECKING:
    from flowengine.check.context import CheckContext
    from flowengine.check.symbols import ResolvedPath, Symbol, SymbolTable
    from flowengine.formats.sfxml import FlowReader, FlowWriter
    from flowengine.formats.xmltree import XmlNode
    from flowengine.runtime.compile import CompileContext
    from flowengine.runtime.interview import Interview
    from flowengine.runtime.nodes import Node

# what Salesforce's Create Records does besides creating (upsert, API 62+): kept, not run
_UPSERT = ("doesUpsert", "doesUpsertAllOrNone", "upsertExternalIdField", "upsertStandardIdField",
           "operationMultMatchingRecords", "operationOneMatchingRecord",
           "operationZeroMatchingRecords", "filters", "filterLogic")


class CreateRecordsElement(ElementModel):
    type: Literal["CreateRecords"]
    object: str | None = None
    values: dict[str, Any] = Field(default_factory=dict)
    records: str | None = None
    storeId: str | None = None
    storeOutputAutomatically: bool | None = None
    next: str | None = None
    fault: str | None = None


class CreateRecordsNode(rec.DmlNode):
    __slots__ = ("values", "schema", "store_id", "keep")
    verb = "create"

    def __init__(self, name: str, object_name: str, schema: Any, values: list[tuple[str, Any]],
                 records: Any = None, records_text: str = "", many: bool = False,
                 store_id: Any = None, keep: bool = False) -> None:
        super().__init__(name, "CreateRecords", object_name, records, records_text, many)
        self.schema = schema
        self.values = values              # (field, getter) of values:
        self.store_id = store_id          # setter of storeId:, or None
        self.keep = keep                  # the element holds the new Id

    def prepare(self, st: Interview, entry: dict[str, Any] | None) -> Any:
        if self.records is None:
            return [{name: get(st) for name, get in self.values}]
        return None

    def work(self, st: Interview, entry: dict[str, Any] | None, prepared: Any) -> Any:
        targets = None
        rows = prepared
        if rows is None:
            targets = self.targets(st)
            rows = []
            for record in targets:
                if record.fields.get("Id"):
                    raise OrgError(f"cannot specify Id in an insert call (a record of "
                                   f"{self.records_text} has Id {record.fields['Id']})",
                                   "INVALID_FIELD_FOR_INSERT_UPDATE")
                rows.append(rec.fields_to_write(self.schema, record, creating=True))
        if not rows:
            return targets, []
        org = self.org(st)
        st.limits.dml(len(rows), self.name, f"{st.flow_name}.{self.name}")
        if len(rows) == 1:
            return targets, [org.insert(self.object_name, rows[0])]
        return targets, org.insert_many(self.object_name, rows)

    def finish(self, st: Interview, entry: dict[str, Any] | None, result: Any) -> None:
        targets, ids = result
        if targets is not None:
            for record, new_id in zip(targets, ids):
                record.fields["Id"] = new_id
        else:
            if self.keep:
                st.values[self.name] = ids[0]
            if self.store_id is not None:
                self.store_id(st, ids[0])
        if entry is not None:
            entry["object"] = self.object_name
            entry["created"] = ids[:rec.SHOWN_RECORDS]
            entry["count"] = len(ids)
            self.record_limits(st, entry)


class CreateRecordsKind(ElementKind):
    name = "CreateRecords"
    model = CreateRecordsElement
    can_fault = True
    tile = "data"
    icon = rec.DATA_ICON + '<path class="glyph-line" stroke-width="2.2" d="M26 22v8M22 26h8"/>'
    mermaid_shape = ('[("', '")]')
    xml_tag = "recordCreates"

    def needs_plugins(self, element: CreateRecordsElement) -> bool:
        return True

    def needs_org(self, element: CreateRecordsElement) -> bool:
        return True

    def bind(self, ctx: CheckContext, name: str, element: CreateRecordsElement,
             symbol: Symbol) -> None:
        if element.storeOutputAutomatically and element.records is None:
            symbol.type = FlowType("Text")          # the new record's Id

    def resolve(self, table: SymbolTable, symbol: Symbol, text: str,
                fields: tuple[str, ...]) -> ResolvedPath:
        from flowengine.check.symbols import ResolveError

        if symbol.type is None:
            raise ResolveError(f"{symbol.name!r} is a Create Records element that does not store "
                               "the new Id automatically (storeOutputAutomatically: true, with "
                               "values:)")
        return table.resolve_fields(text, symbol, symbol.type, fields)

    def check(self, ctx: CheckContext, name: str, element: CreateRecordsElement) -> None:
        base = ("elements", name)
        kept = [k for k in _UPSERT if k in (element.xml or {})]
        if kept:
            ctx.error(base, f"Create Records {name!r} upserts ({', '.join(kept)}), which "
                      "flowengine does not run yet", "unsupported", severity="warning")
        if element.records is not None:
            if element.values or element.object or element.storeId:
                ctx.error(base + ("records",), "records: creates the records a variable holds; "
                          "object:, values: and storeId: belong to the other form (field values)",
                          "records.mode")
            if element.storeOutputAutomatically:
                ctx.error(base + ("storeOutputAutomatically",), "with records:, the new Ids are "
                          "set on the records themselves; storeOutputAutomatically applies to "
                          "values:", "records.mode")
            rtype = rec.record_reference(ctx, base + ("records",), element.records)
            if rtype is not None and ctx.types.object_schema(rtype.object) is None:
                rec.object_schema(ctx, base + ("records",), rtype.object)
            return
        schema = rec.object_schema(ctx, base + ("object",), element.object)
        if schema is None:
            return
        rec.check_field_values(ctx, base, schema, element.values, creating=True)
        if element.storeId:
            target = ctx.writable_target(element.storeId, base + ("storeId",))
            if target is not None and (target.type.collection or target.type.kind != "Text"):
                ctx.error(base + ("storeId",), f"storeId gets the new record's Id (Text), but "
                          f"{element.storeId!r} is {target.type}", "records.store")

    def compile(self, ctx: CompileContext, name: str, element: CreateRecordsElement) -> Node:
        values = ctx.values
        types = ctx.checked.types
        if element.records is not None:
            rp = values.resolve(element.records)
            object_name = rp.type.object or ""
            return CreateRecordsNode(name, object_name, types.object_schema(object_name), [],
                                     values.ref_getter(rp), element.records, rp.type.collection)
        schema = types.object_schema(element.object)
        compiled = [(fname, values.compile(raw, rec.field_def(schema, fname).type))
                    for fname, raw in element.values.items()]
        store_id = values.setter(element.storeId)[0] if element.storeId else None
        return CreateRecordsNode(name, element.object or "", schema, compiled,
                                 store_id=store_id, keep=bool(element.storeOutputAutomatically))

    def initial_values(self, name: str, element: CreateRecordsElement) -> dict[str, Any]:
        return {name: None} if element.storeOutputAutomatically and not element.records else {}

    # -- canvas and runs -------------------------------------------------------------------
    def caption(self, element: CreateRecordsElement, action: Any = None) -> str:
        return "Create Records"

    def note(self, element: CreateRecordsElement, action: Any = None) -> str | None:
        return element.object or element.records

    def details(self, name: str, element: CreateRecordsElement,
                action: Any = None) -> tuple[str, list[dict[str, Any]]]:
        from flowengine.render.details import show_value

        if element.records is not None:
            return "Create Records", [{"title": "Create the records of", "columns": [],
                                       "rows": [["Variable", element.records]]}]
        groups = [{"title": f"New {element.object} record", "columns": ["Field", "Value"],
                   "rows": [[k, show_value(v)] for k, v in element.values.items()]}]
        stored = [["Id stored in", element.storeId]] if element.storeId else []
        if element.storeOutputAutomatically:
            stored.append(["Id stored", f"automatically, in {name}"])
        if stored:
            groups.append({"title": "New Id", "columns": [], "rows": stored})
        return f"Create Records · {element.object}", groups

    def trace_text(self, entry: dict[str, Any]) -> list[str]:
        if "created" not in entry:
            return []
        count = entry.get("count", 0)
        return [f"        created {count} {entry.get('object')} record{'s' * (count != 1)}: "
                f"{', '.join(entry['created'])}{' ...' if count > len(entry['created']) else ''}"
                ] + rec.limits_line(entry)

    def trace_view(self, entry: dict[str, Any], element: Any, show: Any) -> list[dict[str, Any]]:
        if "created" not in entry:
            return []
        count = entry.get("count", 0)
        return [{"kind": "text", "cls": "ok", "text": f"Created {count} {entry.get('object')} "
                 f"record{'s' * (count != 1)}: {', '.join(entry['created'])}"}] + \
            rec.limits_view(entry)

    # -- Salesforce XML --------------------------------------------------------------------
    def from_xml(self, reader: FlowReader, node: XmlNode, path: tuple[Any, ...]) -> dict[str, Any]:
        used = {"object", "inputAssignments", "inputReference", "assignRecordIdToReference",
                "storeOutputAutomatically", "connector", "faultConnector"}
        out: dict[str, Any] = {**reader.element_base(node, path, used), "type": self.name}
        for tag, key in (("object", "object"), ("inputReference", "records"),
                         ("assignRecordIdToReference", "storeId")):
            if node.child(tag) is not None:
                out[key] = reader.text(node.child(tag), path + (key,))
        rec.values_from_xml(reader, node, path, out)
        flag = reader.flag(node.child("storeOutputAutomatically"))
        if flag is not None:
            out["storeOutputAutomatically"] = flag
        rec.connectors_from_xml(reader, node, path, out)
        return reader.keep(out, node, used, path)

    def to_xml(self, writer: FlowWriter, name: str, element: CreateRecordsElement) -> XmlNode:
        from flowengine.formats.sfxml import NODE

        kept = dict(element.xml or {})
        out = writer.element_base(name, element)
        if element.storeId:
            out.append(writer.leaf("assignRecordIdToReference", element.storeId))
        out += rec.connectors_to_xml(writer, element)
        out += rec.values_to_xml(writer, name, element.values, kept)
        if element.records:
            out.append(writer.leaf("inputReference", element.records))
        if element.object:
            out.append(writer.leaf("object", element.object))
        if element.storeOutputAutomatically is not None:
            out.append(writer.leaf("storeOutputAutomatically", element.storeOutputAutomatically))
        return writer.node(self.xml_tag or "", out + rec.rest_to_xml(writer, kept), NODE)

    def facts(self, element: CreateRecordsElement) -> LintFacts:
        reads = list(merge_field_roots(list(element.values.values())))
        if element.records:
            reads.append(element.records.split(".")[0])
        writes = (element.storeId.split(".")[0],) if element.storeId else ()
        what = f"{element.object} records" if element.object else f"the records of {element.records}"
        return LintFacts(doing=f"creates {what}",
                         failing="the create", reads=tuple(reads), writes=writes, dml=True)


KIND = CreateRecordsKind()
