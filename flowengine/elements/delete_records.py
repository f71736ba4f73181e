"""The Delete Records element (Salesforce `recordDeletes`, `FlowRecordDelete`).

```yaml
Remove_Lines:                         # the records a variable holds (by their Ids)
  type: DeleteRecords
  records: lines

Remove_Drafts:                        # the records that match filters
  type: DeleteRecords
  object: Invoice__c
  filters:
    - {field: Status__c, op: EqualTo, value: Draft}
  next: Done
  fault: Log_Failure
```

As in Salesforce, deleting a record deletes its master-detail children too, clears lookups to it
(or is refused with `DELETE_FAILED` where a lookup forbids it), and refuses a record deleted
before (`ENTITY_IS_DELETED`) or an Id of no record (`INVALID_CROSS_REFERENCE_KEY`). By filters,
the element queries first (one query), then deletes every record found in one statement. All
records of one element are deleted or none is. The variable keeps the records it held.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar, Literal

from pydantic import Field

from flowengine.elements import records as rec
from flowengine.elements.base import ElementModel
from flowengine.elements.update_records import UpdateRecordsKind

if TYPE_CHECKING:
    from flowengine.check.context import CheckContext
    from flowengine.runtime.interview import Interview
    from flowengine.runtime.nodes import Node


class DeleteRecordsElement(ElementModel):
    type: Literal["DeleteRecords"]
    records: str | None = None
    object: str | None = None
    filters: list[rec.RecordFilterModel] = Field(default_factory=list)
    logic: str | None = None
    next: str | None = None
    fault: str | None = None


class DeleteRecordsNode(rec.DmlNode):
    __slots__ = ("filters", "logic")
    verb = "delete"

    def __init__(self, name: str, object_name: str, records: Any = None, records_text: str = "",
                 many: bool = False, filters: list[rec.CompiledFilter] | None = None,
                 logic: str = "and") -> None:
        super().__init__(name, "DeleteRecords", object_name, records, records_text, many)
        self.filters = filters or []
        self.logic = logic

    def prepare(self, st: Interview, entry: dict[str, Any] | None) -> Any:
        filters = rec.filters_now(st, self.filters)
        if entry is not None and (filters or self.records is None):
            entry["query"] = rec.trace_query(filters, self.object_name, self.logic)
        return filters

    def work(self, st: Interview, entry: dict[str, Any] | None, prepared: Any) -> Any:
        if self.records is not None:
            ids = list(dict.fromkeys(self.ids_of(self.targets(st), "a delete")))
            if prepared:
                ids = self.matching(st, ids, prepared)
        else:
            ids = self.matching(st, None, prepared)
        if ids:
            org = self.org(st)
            st.limits.dml(len(ids), self.name, f"{st.flow_name}.{self.name}")
            org.delete_many(self.object_name, ids)
        return ids

    def finish(self, st: Interview, entry: dict[str, Any] | None, ids: Any) -> None:
        if entry is not None:
            entry["object"] = self.object_name
            entry["deleted"] = ids[:rec.SHOWN_RECORDS]
            entry["count"] = len(ids)
            self.record_limits(st, entry)


class DeleteRecordsKind(UpdateRecordsKind):
    name = "DeleteRecords"
    model: ClassVar[type[ElementModel]] = DeleteRecordsElement
    icon = rec.DATA_ICON + '<path class="glyph-line" stroke-width="2.2" d="M23 23l6 6M29 23l-6 6"/>'
    xml_tag = "recordDeletes"
    verb = "delete"

    def check_values(self, ctx: CheckContext, base: tuple[Any, ...], schema: Any,
                     element: Any) -> None:
        """Delete Records sets no fields."""

    def node(self, name: str, object_name: str, schema: Any, **options: Any) -> Node:
        options.pop("values", None)
        return DeleteRecordsNode(name, object_name, **options)


KIND = DeleteRecordsKind()
