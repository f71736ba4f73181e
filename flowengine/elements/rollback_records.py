"""The Roll Back Records element (Salesforce `recordRollbacks`, `FlowRecordRollback`): undoes
every record change of the transaction so far — the interview's own creates, updates and
deletes, and what its actions wrote — and goes on. Variables keep their values (a record created
and rolled back keeps its Id in the flow). It is one DML statement against the governor limits.

```yaml
Undo:
  type: RollbackRecords
  next: Log_Failure
```
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any, Literal

from flowengine.elements import records as rec
from flowengine.elements.base import ElementKind, ElementModel
from flowengine.runtime.nodes import Node

if TYPE_CHECKING:
    from flowengine.formats.sfxml import FlowReader, FlowWriter
    from flowengine.formats.xmltree import XmlNode
    from flowengine.runtime.compile import CompileContext
    from flowengine.runtime.interview import Interview


class RollbackRecordsElement(ElementModel):
    type: Literal["RollbackRecords"]
    next: str | None = None


class RollbackRecordsNode(Node):
    __slots__ = ()

    def run(self, st: Interview) -> Node | None:
        from flowengine.runtime.compile import roll_back_records

        if st.base is not None:
            st.limits.dml(0, self.name)
            roll_back_records(st)
        return self.next

    def run_traced(self, st: Interview, entry: dict[str, Any]) -> Node | None:
        rolled = st.base is not None
        target = self.run(st)
        entry["rolledBack"] = rolled
        rec.RecordsNode.record_limits(st, entry)
        return target


class RollbackRecordsKind(ElementKind):
    name = "RollbackRecords"
    model = RollbackRecordsElement
    tile = "data"
    icon = rec.DATA_ICON + ('<path class="glyph-line" stroke-width="2" '
                            'd="M30 27a4 4 0 1 0-4 4M22.5 27.5l3.5 3.5"/>')
    mermaid_shape = ('[("', '")]')
    xml_tag = "recordRollbacks"

    def needs_org(self, element: Any) -> bool:
        return True

    def compile(self, ctx: CompileContext, name: str, element: RollbackRecordsElement) -> Node:
        ctx.rolls_back = True
        return RollbackRecordsNode(name, self.name)

    def caption(self, element: Any, action: Any = None) -> str:
        return "Roll Back Records"

    def details(self, name: str, element: Any,
                action: Any = None) -> tuple[str, list[dict[str, Any]]]:
        return "Roll Back Records", [{"title": "Undo every record change of the transaction so "
                                      "far", "columns": [], "rows": []}]

    def trace_text(self, entry: dict[str, Any]) -> list[str]:
        if "rolledBack" not in entry:
            return []
        head = "        rolled back every record change so far" if entry["rolledBack"] else \
            "        nothing to roll back (no org store)"
        return [head] + rec.limits_line(entry)

    def trace_view(self, entry: dict[str, Any], element: Any, show: Any) -> list[dict[str, Any]]:
        return [{"kind": "text", "cls": "note", "text": line.strip()[:1].upper() + line.strip()[1:]}
                for line in self.trace_text(entry)]

    def from_xml(self, reader: FlowReader, node: XmlNode, path: tuple[Any, ...]) -> dict[str, Any]:
        used = {"connector"}
        out: dict[str, Any] = {**reader.element_base(node, path, used), "type": self.name}
        target = reader.connector(node.child("connector"), path + ("next",), out)
        if target:
            out["next"] = target
        return reader.keep(out, node, used, path)

    def to_xml(self, writer: FlowWriter, name: str, element: RollbackRecordsElement) -> XmlNode:
        from flowengine.formats.sfxml import NODE

        out = writer.element_base(name, element) + writer.connector("connector", element.next,
                                                                     element)
        return writer.node(self.xml_tag or "", out + writer.kept(element, ("connector",)), NODE)


KIND = RollbackRecordsKind()
