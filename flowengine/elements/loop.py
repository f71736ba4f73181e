"""The Loop element (spec 4.3): each item of a collection in turn, then the way out.

```yaml
Each_Line:
  type: Loop
  collection: lineItemIds      # bare path of a collection
  order: Asc                   # Asc | Desc
  item: currentId              # optional; without it the current item is `Each_Line`
  each: Build_Line_Item        # next-value connector (required)
  after: Cancel_Items          # no-more-values connector (optional)
```
The collection is snapshotted when the loop starts; the loop variable holds a copy of the item.
"""
from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Literal

from flowengine.elements.base import Connector, ElementKind, ElementModel, LintFacts
from flowengine.references import PathSyntaxError, check_path
from flowengine.runtime.nodes import Node, Read, Targets, trace_json
from flowengine.types import FlowType, assignable, copy_value

if TYPE_CHECKING:
    from flowengine.check.context import CheckContext
    from flowengine.check.symbols import ResolvedPath, Symbol, SymbolTable
    from flowengine.formats.sfxml import FlowReader, FlowWriter
    from flowengine.formats.xmltree import XmlNode
    from flowengine.runtime.compile import CompileContext
    from flowengine.runtime.interview import Interview


class LoopElement(ElementModel):
    type: Literal["Loop"]
    collection: str
    order: Literal["Asc", "Desc"] = "Asc"
    item: str | None = None
    each: str
    after: str | None = None


class LoopNode(Node):
    __slots__ = ("collection", "descending", "set_item", "read_item", "after")

    def __init__(self, name: str, collection: Read, descending: bool,
                 set_item: Callable[[Interview, Any], None], read_item: Read) -> None:
        super().__init__(name, "Loop")
        self.collection = collection
        self.descending = descending
        self.set_item = set_item
        self.read_item = read_item
        self.after: Node | None = None

    def link(self, targets: Targets) -> None:
        self.next = targets.get("each")
        self.after = targets.get("after")

    def run(self, st: Interview) -> Node | None:
        state = st.loops.get(self.name)
        if state is None:
            items = self.collection(st) or []
            state = st.loops[self.name] = [items[::-1] if self.descending else list(items), 0]
        items, index = state
        if index < len(items):
            state[1] = index + 1
            self.set_item(st, copy_value(items[index]))
            return self.next
        del st.loops[self.name]
        return self.after

    def run_traced(self, st: Interview, entry: dict[str, Any]) -> Node | None:
        target = self.run(st)
        state = st.loops.get(self.name)
        if state is not None and target is self.next:
            entry["iteration"] = state[1]
            entry["item"] = trace_json(self.read_item(st))
        else:
            entry["iteration"] = None
            entry["done"] = True
        return target


def item_type(ctx: CheckContext, name: str, element: LoopElement,
              report: bool = True) -> FlowType | None:
    """The type of the items of a Loop's collection; None (reported when `report`) if it has none."""
    from flowengine.check.symbols import ResolveError

    path = ("elements", name, "collection")
    if report:
        rp = ctx.resolve(element.collection, path, "loop collection")
    else:
        try:
            rp = ctx.table.resolve(check_path(element.collection))
        except (ResolveError, PathSyntaxError):
            return None
    if rp is None:
        return None
    if not rp.type.collection:
        if report:
            ctx.error(path, f"a Loop needs a collection, but {element.collection!r} is a "
                      f"single value ({rp.type})", "loop.collection")
        return None
    return rp.type.item


class LoopKind(ElementKind):
    name = "Loop"
    model = LoopElement
    loop_shaped = True
    binds_after_others = True
    icon = ('<rect class="tile-logic" width="36" height="36" rx="7"/>'
            '<path class="glyph-line" stroke-width="2.6" d="M21.1 9.5A9 9 0 1 0 27 18"/>'
            '<path class="glyph" d="M23.2 17L30.8 17L27 11.2z"/>')
    mermaid_shape = ('{{"', '"}}')
    xml_tag = "loops"

    def connectors(self, element: LoopElement) -> list[Connector]:
        return [Connector("each", "each", ("each",), element.each, "For Each"),
                Connector("after", "after", ("after",), element.after, "After Last")]

    def bind(self, ctx: CheckContext, name: str, element: LoopElement, symbol: Symbol) -> None:
        if not element.item:            # the current item is read through the loop's name
            symbol.type = item_type(ctx, name, element, report=False)
            symbol.broken = symbol.type is None     # check() reports why

    def resolve(self, table: SymbolTable, symbol: Symbol, text: str,
                fields: tuple[str, ...]) -> ResolvedPath:
        from flowengine.check.symbols import ResolveError

        item = symbol.decl.item
        if item or symbol.type is None:
            raise ResolveError(f"{symbol.name!r} is a Loop element with item: {item}; its current "
                               f"item is read as {{!{item}}}, not through the loop's name")
        return table.resolve_fields(text, symbol, symbol.type, fields)

    def check(self, ctx: CheckContext, name: str, element: LoopElement) -> None:
        items = item_type(ctx, name, element)
        if element.item:
            target = ctx.writable_target(element.item, ("elements", name, "item"))
            if target is not None and items is not None:
                if target.type.collection or not assignable(items, target.type):
                    ctx.error(("elements", name, "item"), f"loop variable {element.item!r} is "
                              f"{target.type}, but the items of {element.collection!r} are "
                              f"{items}", "loop.item")

    def compile(self, ctx: CompileContext, name: str, element: LoopElement) -> Node:
        values = ctx.values
        rp = values.resolve(element.collection)
        if element.item:
            set_item = values.converting_setter(element.item, rp.type.item)
            read_item = values.ref_getter(values.resolve(element.item))
        else:                         # the current item is read as {!Loop_Name}
            def set_item(st: Interview, value: Any, key: str = name) -> None:
                st.values[key] = value

            def read_item(st: Interview, key: str = name) -> Any:
                return st.values.get(key)
        return LoopNode(name, values.ref_getter(rp), element.order == "Desc", set_item, read_item)

    def details(self, name: str, element: LoopElement,
                action: Any = None) -> tuple[str, list[dict[str, Any]]]:
        rows = [["Collection", element.collection],
                ["Direction", "first item to last" if element.order == "Asc" else "last item to first"],
                ["Current item", element.item or f"{name} (the loop itself)"]]
        return self.name, [{"title": "Loop", "columns": [], "rows": rows}]

    def taken(self, entry: dict[str, Any]) -> str:
        return "after" if entry.get("done") else "each"

    def trace_text(self, entry: dict[str, Any]) -> list[str]:
        import json

        if entry.get("done"):
            return ["        no more items: after last"]
        if "iteration" in entry:
            return [f"        iteration {entry['iteration']}: item = "
                    f"{json.dumps(entry.get('item'), default=str)}"]
        return []

    def trace_view(self, entry: dict[str, Any], element: Any, show: Any) -> list[dict[str, Any]]:
        if entry.get("done"):
            return [{"kind": "text", "cls": "no", "text": "No more items: After Last"}]
        if "iteration" in entry:
            return [{"kind": "text", "cls": "", "text": f"Iteration {entry['iteration']}: current "
                     f"item = {show(entry.get('item'))}"}]
        return []

    def from_xml(self, reader: FlowReader, node: XmlNode, path: tuple[Any, ...]) -> dict[str, Any]:
        used = {"collectionReference", "iterationOrder", "assignNextValueToReference",
                "nextValueConnector", "noMoreValuesConnector"}
        out: dict[str, Any] = {**reader.element_base(node, path, used), "type": self.name}
        out["collection"] = reader.text(node.child("collectionReference"), path + ("collection",))
        order = reader.text(node.child("iterationOrder"), path + ("order",))
        if order is not None:
            out["order"] = order
        item = reader.text(node.child("assignNextValueToReference"), path + ("item",))
        if item is not None:
            out["item"] = item
        out["each"] = reader.connector(node.child("nextValueConnector"), path + ("each",), out)
        after = reader.connector(node.child("noMoreValuesConnector"), path + ("after",), out)
        if after:
            out["after"] = after
        return reader.keep(out, node, used, path)

    def to_xml(self, writer: FlowWriter, name: str, element: LoopElement) -> XmlNode:
        from flowengine.formats.sfxml import NODE

        out = writer.element_base(name, element)
        out += [writer.leaf("collectionReference", element.collection),
                writer.leaf("iterationOrder", element.order)]
        if element.item:
            out.append(writer.leaf("assignNextValueToReference", element.item))
        out += writer.connector("nextValueConnector", element.each, element)
        out += writer.connector("noMoreValuesConnector", element.after, element)
        kept = writer.kept(element, ("nextValueConnector", "noMoreValuesConnector"))
        return writer.node(self.xml_tag or "", out + kept, NODE)

    def facts(self, element: LoopElement) -> LintFacts:
        writes = (element.item.split(".")[0],) if element.item else ()
        return LintFacts(loop=True, reads=(element.collection.split(".")[0],), writes=writes)


KIND = LoopKind()
