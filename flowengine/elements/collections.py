"""The Collection Filter and Collection Sort elements (Salesforce `collectionProcessors`,
`FlowCollectionProcessor`, of type `FilterCollectionProcessor` and `SortCollectionProcessor`).

```yaml
Big_Lines:
  type: CollectionFilter
  collection: lines                   # a collection
  item: currentItem_Big_Lines         # the variable that holds each item while it is tested
  logic: and                          # and | or | custom
  conditions:
    - {left: currentItem_Big_Lines.Quantity, op: GreaterThan, right: 5}
  # or, instead of conditions and logic:
  formula: "{!currentItem_Big_Lines.Quantity} > 5"
  next: Use_Big_Lines                 # {!Big_Lines} is the items that met the conditions

Sort_Lines:
  type: CollectionSort
  collection: lines                   # sorted in place
  sort:                               # up to three keys; none: the items themselves
    - {field: Quantity, order: Desc, nullsFirst: false}
  limit: 10                           # optional: keep only the first items
  next: Use_Lines
```

Flow Builder declares the item variable (`currentItem_<element>`) as a resource of the flow; so
do flows written by hand. The filtered collection holds copies of the items, in their order.
Sorting compares text ignoring case (as SOQL's ORDER BY does), numbers by value, and keeps the
order of equal items; null and empty text go first or last as `nullsFirst` says (default: last).
"""
from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import TYPE_CHECKING, Annotated, Any, Final, Literal

from pydantic import Field

from flowengine.conditions import (
    CompiledCondition,
    Condition,
    LogicError,
    check_condition,
    compile_condition,
    compile_logic,
    logic_tree,
)
from flowengine.elements.base import ElementKind, ElementModel, LintFacts, StrictModel
from flowengine.references import merge_field_roots
from flowengine.runtime.nodes import Node
from flowengine.types import FlowType, ObjectValue, copy_value, to_json

if TYPE_CHECKING:
    from flowengine.check.context import CheckContext
    from flowengine.check.symbols import ResolvedPath, Symbol, SymbolTable
    from flowengine.formats.sfxml import FlowReader, FlowWriter
    from flowengine.formats.xmltree import XmlNode
    from flowengine.runtime.compile import CompileContext
    from flowengine.runtime.interview import Interview

FILTER_TYPE: Final = "FilterCollectionProcessor"
SORT_TYPE: Final = "SortCollectionProcessor"
FORMULA_LOGIC: Final = "formula_evaluates_to_true"
MAX_SORT_KEYS: Final = 3
_ICON_FILTER: Final = ('<rect class="tile-logic" width="36" height="36" rx="7"/>'
                       '<path class="glyph" d="M9 10h18l-7 8v8l-4-2v-6z"/>')
_ICON_SORT: Final = ('<rect class="tile-logic" width="36" height="36" rx="7"/>'
                     '<path class="glyph-line" stroke-width="2.4" d="M12 9v18M8 23l4 4 4-4'
                     'M20 11h8M20 17h6M20 23h4"/>')


# ---------------------------------------------------------------------------------------------
# Collection Filter

class CollectionFilterElement(ElementModel):
    type: Literal["CollectionFilter"]
    collection: str
    item: str
    logic: str | None = None
    conditions: list[Condition] = Field(default_factory=list)
    formula: str | None = None
    next: str | None = None


class CollectionFilterNode(Node):
    __slots__ = ("collection", "set_item", "test", "conditions")

    def __init__(self, name: str, collection: Any, set_item: Any, test: Any,
                 conditions: list[CompiledCondition]) -> None:
        super().__init__(name, "CollectionFilter")
        self.collection = collection
        self.set_item = set_item
        self.test = test
        self.conditions = conditions

    def run(self, st: Interview) -> Node | None:
        kept = []
        for item in self.collection(st) or []:
            self.set_item(st, copy_value(item))
            if self.test(st):
                kept.append(copy_value(item))
        st.values[self.name] = kept
        return self.next

    def run_traced(self, st: Interview, entry: dict[str, Any]) -> Node | None:
        items = self.collection(st) or []
        target = self.run(st)
        entry["tested"] = len(items)
        entry["kept"] = len(st.values[self.name])
        entry["items"] = [to_json(i) for i in st.values[self.name][:20]]
        return target


def _item_type(ctx: CheckContext, path: tuple[Any, ...], ref: str) -> FlowType | None:
    rp = ctx.resolve(ref, path, "collection")
    if rp is None:
        return None
    if not rp.type.collection:
        ctx.error(path, f"{ref!r} is a single value ({rp.type}), not a collection",
                  "collection.type")
        return None
    return rp.type.item


class CollectionFilterKind(ElementKind):
    name = "CollectionFilter"
    model = CollectionFilterElement
    icon = _ICON_FILTER
    binds_after_others = True
    xml_tag = "collectionProcessors"

    def xml_accepts(self, node: XmlNode) -> bool:
        return node.text_of("collectionProcessorType") == FILTER_TYPE

    def bind(self, ctx: CheckContext, name: str, element: CollectionFilterElement,
             symbol: Symbol) -> None:
        from flowengine.check.symbols import ResolveError
        from flowengine.references import PathSyntaxError, check_path

        try:
            rp = ctx.table.resolve(check_path(element.collection))
        except (ResolveError, PathSyntaxError):
            symbol.broken = True             # check() reports why
            return
        if not rp.type.collection:
            symbol.broken = True
            return
        symbol.type = rp.type
        symbol.broken = False

    def resolve(self, table: SymbolTable, symbol: Symbol, text: str,
                fields: tuple[str, ...]) -> ResolvedPath:
        assert symbol.type is not None
        return table.resolve_fields(text, symbol, symbol.type, fields)

    def readonly_reason(self, symbol: Symbol) -> str:
        return (f"{symbol.name} is a Collection Filter element; the collection it filtered is "
                "read-only (assign it to a variable to change it)")

    def check(self, ctx: CheckContext, name: str, element: CollectionFilterElement) -> None:
        base = ("elements", name)
        items = _item_type(ctx, base + ("collection",), element.collection)
        target = ctx.writable_target(element.item, base + ("item",))
        if items is not None and target is not None and (
                target.type.collection or target.type != items):
            ctx.error(base + ("item",), f"the item variable {element.item!r} is {target.type}, "
                      f"but the items of {element.collection!r} are {items}", "collection.item")
        if element.formula is not None:
            if element.conditions:
                ctx.error(base + ("formula",), "a Collection Filter tests either conditions or a "
                          "formula, not both", "collection.conditions")
            ctx.compile_expression(f"{name}.formula", element.formula, FlowType("Boolean"),
                                   base + ("formula",), f"element {name}: formula")
            return
        if not element.conditions:
            ctx.error(base, f"Collection Filter {name!r} has no conditions (conditions: or "
                      "formula:)", "collection.conditions")
            return
        try:
            ctx.logic[(name, "conditions")] = logic_tree(element.logic or "and",
                                                         len(element.conditions))
        except LogicError as exc:
            ctx.error(base + ("logic",), str(exc), "logic")
        for i, cond in enumerate(element.conditions):
            check_condition(ctx, base + ("conditions", i), cond)

    def compile(self, ctx: CompileContext, name: str, element: CollectionFilterElement) -> Node:
        values = ctx.values
        rp = values.resolve(element.collection)
        set_item = values.setter(element.item)[0]
        conditions: list[CompiledCondition] = []
        test: Callable[[Interview], bool]
        if element.formula is not None:
            formula = ctx.checked.formulas[f"{name}.formula"]

            def formula_test(st: Interview) -> bool:
                return formula.evaluate(st) is True
            test = formula_test
        else:
            conditions = [compile_condition(values, c) for c in element.conditions]
            test = compile_logic(ctx.checked.logic[(name, "conditions")],
                                 [c.test for c in conditions])
        return CollectionFilterNode(name, values.ref_getter(rp), set_item, test, conditions)

    def initial_values(self, name: str, element: CollectionFilterElement) -> dict[str, Any]:
        return {name: []}

    def caption(self, element: Any, action: Any = None) -> str:
        return "Collection Filter"

    def note(self, element: Any, action: Any = None) -> str | None:
        return element.collection

    def details(self, name: str, element: CollectionFilterElement,
                action: Any = None) -> tuple[str, list[dict[str, Any]]]:
        from flowengine.render.details import show_value

        rows = [["Collection", element.collection], ["Current item", element.item]]
        groups: list[dict[str, Any]] = [{"title": "Filter", "columns": [], "rows": rows}]
        if element.formula is not None:
            groups.append({"title": "Keep the items for which the formula is true",
                           "columns": [], "rows": [["Formula", element.formula]]})
        else:
            logic = element.logic or "and"
            groups.append({"title": "Keep the items that meet the conditions",
                           "note": f"conditions joined by {logic}",
                           "columns": ["#", "Resource", "Operator", "Value"],
                           "rows": [[str(i), c.left, c.op, show_value(c.right)]
                                    for i, c in enumerate(element.conditions, 1)]})
        return "Collection Filter", groups

    def trace_text(self, entry: dict[str, Any]) -> list[str]:
        if "kept" not in entry:
            return []
        return [f"        kept {entry['kept']} of {entry['tested']} items"]

    def trace_view(self, entry: dict[str, Any], element: Any, show: Any) -> list[dict[str, Any]]:
        if "kept" not in entry:
            return []
        return [{"kind": "text", "cls": "ok",
                 "text": f"Kept {entry['kept']} of {entry['tested']} items"}]

    def from_xml(self, reader: FlowReader, node: XmlNode, path: tuple[Any, ...]) -> dict[str, Any]:
        used = {"collectionProcessorType", "collectionReference", "assignNextValueToReference",
                "conditionLogic", "conditions", "formula", "connector"}
        out: dict[str, Any] = {**reader.element_base(node, path, used), "type": self.name}
        out["collection"] = reader.text(node.child("collectionReference"), path + ("collection",))
        out["item"] = reader.text(node.child("assignNextValueToReference"), path + ("item",))
        logic = reader.text(node.child("conditionLogic"), path + ("logic",))
        formula = node.child("formula")
        if formula is not None:
            out["formula"] = reader.text(formula, path + ("formula",))
        elif logic is not None:
            out["logic"] = logic
        if formula is not None and logic not in (None, FORMULA_LOGIC):
            out.setdefault("xml", {})["conditionLogic"] = logic
        conditions = []
        for c, cond in enumerate(node.all("conditions")):
            where = path + ("conditions", c)
            reader.at(where, cond)
            row: dict[str, Any] = {
                "left": reader.text(cond.child("leftValueReference"), where + ("left",)),
                "op": reader.text(cond.child("operator"), where + ("op",))}
            if cond.child("rightValue") is not None:
                row["right"] = reader.value(cond.child("rightValue"), where + ("right",))
            conditions.append(reader.keep(row, cond, {"leftValueReference", "operator",
                                                      "rightValue"}, where))
        if conditions:
            out["conditions"] = conditions
        target = reader.connector(node.child("connector"), path + ("next",), out)
        if target:
            out["next"] = target
        return reader.keep(out, node, used, path)

    def to_xml(self, writer: FlowWriter, name: str, element: CollectionFilterElement) -> XmlNode:
        from flowengine.formats.sfxml import BASE, NODE

        kept = dict(element.xml or {})
        out = writer.element_base(name, element)
        out += [writer.leaf("assignNextValueToReference", element.item),
                writer.leaf("collectionProcessorType", FILTER_TYPE),
                writer.leaf("collectionReference", element.collection)]
        if element.formula is not None:
            out.append(writer.leaf("conditionLogic", kept.pop("conditionLogic", FORMULA_LOGIC)))
            out.append(writer.leaf("formula", element.formula))
        else:
            out.append(writer.leaf("conditionLogic", element.logic or "and"))
        for c, cond in enumerate(element.conditions):
            parts = [writer.leaf("leftValueReference", cond.left), writer.leaf("operator", cond.op)]
            if cond.right is not None:
                parts.append(writer.value("rightValue", cond.right, f"{name}.conditions[{c}]"))
            out.append(writer.node("conditions", parts + writer.kept(cond), BASE))
        out += writer.connector("connector", element.next, element)
        rest = {k: v for k, v in kept.items() if k != "connector"}
        return writer.node(self.xml_tag or "", out + writer.raw_children(rest), NODE)

    def facts(self, element: CollectionFilterElement) -> LintFacts:
        reads = [element.collection.split(".")[0]]
        for cond in element.conditions:
            reads.append(cond.left.split(".")[0])
            reads += merge_field_roots(cond.right)
        if element.formula:
            reads += merge_field_roots(element.formula)
        return LintFacts(reads=tuple(reads), writes=(element.item.split(".")[0],))


# ---------------------------------------------------------------------------------------------
# Collection Sort

class SortKey(StrictModel):
    field: str | None = None
    order: Literal["Asc", "Desc"] = "Asc"
    nullsFirst: bool = False


class CollectionSortElement(ElementModel):
    type: Literal["CollectionSort"]
    collection: str
    sort: Annotated[list[SortKey], Field(max_length=MAX_SORT_KEYS)] = Field(default_factory=list)
    limit: int | None = None
    next: str | None = None


class _Key:
    """One item's sort key: nulls apart, text without case, everything else as it is."""

    __slots__ = ("value",)

    def __init__(self, value: Any) -> None:
        self.value = value.lower() if isinstance(value, str) else value

    def __lt__(self, other: _Key) -> bool:
        try:
            return bool(self.value < other.value)
        except TypeError:
            return str(self.value) < str(other.value)


def _blank(value: Any) -> bool:
    return value is None or value == ""


class CollectionSortNode(Node):
    __slots__ = ("collection", "keys", "limit")

    def __init__(self, name: str, collection: Any, keys: list[SortKey], limit: int | None) -> None:
        super().__init__(name, "CollectionSort")
        self.collection = collection
        self.keys = keys
        self.limit = limit

    def run(self, st: Interview) -> Node | None:
        items = self.collection(st)
        if items is None:
            return self.next
        ordered = list(items)
        for key in reversed(self.keys or [SortKey()]):     # stable: the last key first
            ordered = self._sorted(ordered, key)
        if self.limit is not None:
            del ordered[self.limit:]
        items[:] = ordered                                  # in place, as Salesforce sorts
        return self.next

    @staticmethod
    def _sorted(items: list[Any], key: SortKey) -> list[Any]:
        def value(item: Any) -> Any:
            if key.field is None:
                return item
            return item.fields.get(key.field) if isinstance(item, ObjectValue) else None
        blanks = [i for i in items if _blank(value(i))]
        # sorted() keeps equal items in their order, with reverse=True too
        rest = sorted((i for i in items if not _blank(value(i))), key=lambda i: _Key(value(i)),
                      reverse=key.order == "Desc")
        return blanks + rest if key.nullsFirst else rest + blanks

    def run_traced(self, st: Interview, entry: dict[str, Any]) -> Node | None:
        target = self.run(st)
        items = self.collection(st) or []
        entry["count"] = len(items)
        entry["items"] = [to_json(i) for i in items[:20]]
        return target


class CollectionSortKind(ElementKind):
    name = "CollectionSort"
    model = CollectionSortElement
    icon = _ICON_SORT
    xml_tag = "collectionProcessors"

    def xml_accepts(self, node: XmlNode) -> bool:
        return node.text_of("collectionProcessorType") == SORT_TYPE

    def check(self, ctx: CheckContext, name: str, element: CollectionSortElement) -> None:
        base = ("elements", name)
        target = ctx.writable_target(element.collection, base + ("collection",))
        if target is None:
            return
        if not target.type.collection:
            ctx.error(base + ("collection",), f"{element.collection!r} is a single value "
                      f"({target.type}), not a collection", "collection.type")
            return
        item = target.type.item
        for i, key in enumerate(element.sort):
            where = base + ("sort", i)
            if key.field is None:
                if item.is_object:
                    ctx.error(where, f"the items of {element.collection!r} are {item}: name the "
                              "field to sort by", "collection.sort")
                continue
            if not item.is_object:
                ctx.error(where + ("field",), f"the items of {element.collection!r} are {item}, "
                          "which have no fields", "collection.sort")
                continue
            ftype = ctx.types.field_type(item, key.field)
            if ftype is None:
                from flowengine.check.symbols import no_field_message
                ctx.error(where + ("field",), no_field_message(
                    item, key.field, ctx.types.field_names(item)), "collection.sort")
            elif ftype.collection or ftype.is_object:
                ctx.error(where + ("field",), f"{key.field} is {ftype}, which cannot be sorted",
                          "collection.sort")
        if not element.sort and item.is_object:
            ctx.error(base + ("sort",), f"the items of {element.collection!r} are {item}: name "
                      "the field to sort by (sort: [{field: Name}])", "collection.sort")
        if element.limit is not None and element.limit < 1:
            ctx.error(base + ("limit",), f"limit keeps the first items: a positive number, not "
                      f"{element.limit}", "collection.limit")

    def compile(self, ctx: CompileContext, name: str, element: CollectionSortElement) -> Node:
        values = ctx.values
        return CollectionSortNode(name, values.ref_getter(values.resolve(element.collection)),
                                  list(element.sort), element.limit)

    def caption(self, element: Any, action: Any = None) -> str:
        return "Collection Sort"

    def note(self, element: Any, action: Any = None) -> str | None:
        return element.collection

    def details(self, name: str, element: CollectionSortElement,
                action: Any = None) -> tuple[str, list[dict[str, Any]]]:
        rows = [[k.field or "(the items)", "descending" if k.order == "Desc" else "ascending",
                 "first" if k.nullsFirst else "last"] for k in element.sort or [SortKey()]]
        groups = [{"title": f"Sort {element.collection}", "columns": ["By", "Order", "Nulls"],
                   "rows": rows}]
        if element.limit is not None:
            groups.append({"title": "Keep", "columns": [],
                           "rows": [["First items", str(element.limit)]]})
        return "Collection Sort", groups

    def trace_text(self, entry: dict[str, Any]) -> list[str]:
        return [f"        sorted: {entry['count']} items"] if "count" in entry else []

    def trace_view(self, entry: dict[str, Any], element: Any, show: Any) -> list[dict[str, Any]]:
        return [{"kind": "text", "cls": "ok", "text": f"Sorted: {entry['count']} items"}] \
            if "count" in entry else []

    def from_xml(self, reader: FlowReader, node: XmlNode, path: tuple[Any, ...]) -> dict[str, Any]:
        used = {"collectionProcessorType", "collectionReference", "sortOptions", "limit",
                "connector"}
        out: dict[str, Any] = {**reader.element_base(node, path, used), "type": self.name}
        out["collection"] = reader.text(node.child("collectionReference"), path + ("collection",))
        keys = []
        for i, opt in enumerate(node.all("sortOptions")):
            where = path + ("sort", i)
            reader.at(where, opt)
            key: dict[str, Any] = {}
            if opt.child("sortField") is not None:
                key["field"] = reader.text(opt.child("sortField"), where + ("field",))
            order = reader.text(opt.child("sortOrder"), where + ("order",))
            if order is not None:
                key["order"] = order
            nulls = reader.flag(opt.child("doesPutEmptyStringAndNullFirst"))
            if nulls is not None:
                key["nullsFirst"] = nulls
            keys.append(reader.keep(key, opt, {"sortField", "sortOrder",
                                               "doesPutEmptyStringAndNullFirst"}, where))
        if keys:
            out["sort"] = keys
        limit = node.child("limit")
        if limit is not None and limit.text:
            reader.at(path + ("limit",), limit)
            out["limit"] = int(limit.text) if limit.text.strip().lstrip("-").isdigit() else limit.text
        target = reader.connector(node.child("connector"), path + ("next",), out)
        if target:
            out["next"] = target
        return reader.keep(out, node, used, path)

    def to_xml(self, writer: FlowWriter, name: str, element: CollectionSortElement) -> XmlNode:
        from flowengine.formats.sfxml import BASE, NODE

        out = writer.element_base(name, element)
        out += [writer.leaf("collectionProcessorType", SORT_TYPE),
                writer.leaf("collectionReference", element.collection)]
        if element.limit is not None:
            out.append(writer.leaf("limit", Decimal(element.limit)))
        for key in element.sort:
            kids = [writer.leaf("doesPutEmptyStringAndNullFirst", key.nullsFirst),
                    writer.leaf("sortOrder", key.order)]
            if key.field is not None:
                kids.append(writer.leaf("sortField", key.field))
            out.append(writer.node("sortOptions", kids + writer.kept(key), BASE))
        out += writer.connector("connector", element.next, element)
        return writer.node(self.xml_tag or "", out + writer.kept(element, ("connector",)), NODE)

    def facts(self, element: CollectionSortElement) -> LintFacts:
        root = element.collection.split(".")[0]
        return LintFacts(reads=(root,), writes=(root,))


FILTER_KIND = CollectionFilterKind()
SORT_KIND = CollectionSortKind()
KINDS = [FILTER_KIND, SORT_KIND]
