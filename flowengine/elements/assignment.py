"""The Assignment element (spec 4.1): rows of `ref op value`, run top to bottom.

```yaml
Build_Line_Item:
  type: Assignment
  assignments:
    - {ref: lineItem.quantity, op: Assign, value: "{!quantity}"}
    - {ref: cancelInput.fulfillmentOrderLineItemsToCancel, op: Add, value: "{!lineItem}"}
  next: Cancel_Items
```
"""
from __future__ import annotations

import datetime as _dt
from collections.abc import Callable
from decimal import ROUND_HALF_UP, Decimal
from typing import TYPE_CHECKING, Annotated, Any, Final, Literal

from pydantic import Field, field_validator

from flowengine.elements.base import ElementKind, ElementModel, LintFacts, StrictModel
from flowengine.errors import FlowRuntimeError
from flowengine.references import LiteralValue, RefValue, TemplateValue, merge_field_roots
from flowengine.runtime.membership import Membership
from flowengine.runtime.nodes import Apply, Node, Read, snapshot, trace_json
from flowengine.types import (
    MAX_INTEGER_DIGITS,
    MAX_TEXT,
    NUMERIC,
    TEXT_LIKE,
    FlowType,
    copy_value,
    describe,
    number_problem,
    round_to_scale,
    text_of,
)

if TYPE_CHECKING:
    from flowengine.check.context import CheckContext
    from flowengine.formats.sfxml import FlowReader, FlowWriter
    from flowengine.formats.xmltree import XmlNode
    from flowengine.runtime.compile import CompileContext
    from flowengine.runtime.interview import Interview
    from flowengine.runtime.values import ValueCompiler

ASSIGNMENT_OPERATORS = (
    "Assign", "Equals", "Add", "Subtract", "AssignCount", "EqualsCount", "AddItem", "AddAtStart",
    "RemoveFirst", "RemoveAll", "RemoveAfterFirst", "RemoveBeforeFirst", "RemovePosition",
    "RemoveUncommon",
)
AssignmentOp = Literal[ASSIGNMENT_OPERATORS]  # type: ignore[valid-type]
COLLECTION_ONLY_OPS = {"AddAtStart", "RemoveFirst", "RemoveAll", "RemoveAfterFirst",
                       "RemoveBeforeFirst", "RemovePosition", "RemoveUncommon"}
COLLECTION_OPS = ("Assign", "Add", "AddAtStart", "RemoveFirst", "RemoveAll", "RemoveAfterFirst",
                  "RemoveBeforeFirst", "RemovePosition", "RemoveUncommon")
# the operators each data type takes (Salesforce Help, "Flow Operators in Assignment Elements";
# Metadata API, FlowAssignmentOperator): Add on Date/Time, Boolean, Time or records is refused
# there, so it is refused here
SINGLE_OPS = {"Text": ("Assign", "Add"), "Multipicklist": ("Assign", "Add", "AddItem"),
              "Number": ("Assign", "Add", "Subtract", "AssignCount"),
              "Currency": ("Assign", "Add", "Subtract", "AssignCount"),
              "Date": ("Assign", "Add", "Subtract")}
OP_ALIASES = {"Equals": "Assign", "EqualsCount": "AssignCount"}


class AssignmentItem(StrictModel):
    ref: str
    op: AssignmentOp
    value: Any = None

    @field_validator("op")
    @classmethod
    def _canonical_op(cls, value: str) -> str:
        # Flow Builder's labels Equals and EqualsCount are the operators Assign and AssignCount
        return OP_ALIASES.get(value, value)


class AssignmentElement(ElementModel):
    type: Literal["Assignment"]
    assignments: Annotated[list[AssignmentItem], Field(min_length=1)]
    next: str | None = None


# -- checks ---------------------------------------------------------------------------------------

def check_item(checker: CheckContext, path: tuple[Any, ...], ref: str, op: str, value: Any) -> None:
    """One assignment row: the target is writable and the operator and value fit its type."""
    target = checker.writable_target(ref, path + ("ref",))
    if target is None:
        return
    t = target.type
    op = OP_ALIASES.get(op, op)
    vpath = path + ("value",)
    bad = f"operator {op} does not apply to {ref!r}, which is {t}"
    if t.collection:
        if op in ("Subtract", "AddItem", "AssignCount"):
            checker.error(path + ("op",), bad + " (a collection; it takes "
                          f"{', '.join(COLLECTION_OPS)})", "operator.type")
        elif op == "RemovePosition":
            checker.check_value(value, FlowType("Number", scale=0), vpath)
        elif op == "RemoveUncommon":    # "Value: a collection of the same data type"
            checker.check_value(value, t, vpath)
        else:   # an item, or a collection of them (see the table in spec 4.1)
            checker.check_value(value, t, vpath, (t.item,))
        return
    if op in COLLECTION_ONLY_OPS:
        checker.error(path + ("op",), f"{op} is a collection operator, but {ref!r} is a single "
                      f"value ({t}); use it on a collection variable", "operator.collection")
        return
    if op == "Assign":
        checker.check_value(value, t, vpath)
    elif op == "Add" and t.kind in TEXT_LIKE:
        checker.check_value(value, FlowType("Text"), vpath)
    elif op in ("Add", "Subtract") and (t.kind in NUMERIC or t.kind == "Date"):
        checker.check_value(value, FlowType("Number"), vpath)
    elif op == "AddItem" and t.kind == "Multipicklist":
        checker.check_value(value, FlowType("Text"), vpath)
    elif op == "AssignCount" and t.kind in NUMERIC:
        spec, vtype = checker.value_types(value, vpath)
        if spec is None or (isinstance(spec, RefValue) and (vtype is None or vtype.collection)):
            return
        found = (f"{{!{spec.path}}}, a single value ({vtype})" if isinstance(spec, RefValue)
                 else "text with merge fields" if isinstance(spec, TemplateValue)
                 else describe(spec.value) if isinstance(spec, LiteralValue) else "a literal")
        checker.error(vpath, "AssignCount counts the items of a collection: the value must be a "
                      f"merge field of a collection, e.g. \"{{!lineItems}}\"; found {found}",
                      "value.type")
    else:
        takes = SINGLE_OPS.get("Text" if t.kind in ("Text", "Picklist") else t.kind, ("Assign",))
        checker.error(path + ("op",), f"{bad} (a {t.kind} takes {', '.join(takes)})",
                      "operator.type")


# -- compiling --------------------------------------------------------------------------------------

def compile_item(compiler: ValueCompiler, ref: str, op: str, raw: Any) -> tuple[Apply, Read]:
    """One assignment row → a function applying it, and the reader of its target (trace)."""
    apply, read, _ = compile_row(compiler, ref, op, raw)
    return apply, read


def compile_row(compiler: ValueCompiler, ref: str, op: str,
                raw: Any) -> tuple[Apply, Read, Callable[[str, list[Apply], list[Any]], Node] | None]:
    """Like `compile_item`, also giving a maker of a node specialised for the row when it is the
    element's only one (None: the general node), see `_single_node`."""
    setter, ttype = compiler.setter(ref)
    rp = compiler.resolve(ref)
    read = compiler.ref_getter(rp)
    op = OP_ALIASES.get(op, op)
    if op == "AssignCount":
        value = compiler.compile(raw, compiler.static_type(raw) or ttype)
        many = True
    elif ttype.collection and op != "RemovePosition":
        value, chosen = compiler.compile_typed(raw, ttype, (ttype.item,))
        many = chosen.collection
    elif op in ("Add", "Subtract") and ttype.kind not in ("Text", "Picklist", "Multipicklist"):
        value = compiler.compile(raw, FlowType("Number"))
        many = False
    elif op in ("Add", "AddItem"):
        value = compiler.compile(raw, FlowType("Text"))
        many = False
    elif op == "RemovePosition":
        value = compiler.compile(raw, FlowType("Number"))
        many = False
    else:
        value = compiler.compile(raw, ttype)
        many = False
    fn = assignment_function(op, ttype, many)
    root = rp.root_name
    constant = None if ttype.collection or ttype.kind in TEXT_LIKE else _constant(raw, op)
    special = None
    if not rp.fields and constant is not None:
        fixed = constant[0]

        def apply_constant(st: Interview) -> None:
            values = st.values
            values[root] = fn(values.get(root), fixed)
        apply = apply_constant
        special = _single_node(op, ttype, root, fixed, fn)
    elif not rp.fields:
        def apply_plain(st: Interview) -> None:
            values = st.values
            values[root] = fn(values.get(root), value(st))
        apply = apply_plain
    elif _same_path(raw, ref):
        # `X.list RemoveAll X.list`: the value is the target itself, read as the target is (a
        # null object on the way is created by the setter), so emptying a collection field of
        # an Apex-defined variable never assigned works, as Salesforce's samples rely on
        copy = copy_value

        def apply_self(st: Interview) -> None:
            try:
                current = read(st)
            except FlowRuntimeError:
                current = None
            setter(st, fn(current, copy(current)))
        apply = apply_self
    else:
        def apply_path(st: Interview) -> None:
            try:
                current = read(st)
            except FlowRuntimeError:
                current = None       # the object is created by the setter
            setter(st, fn(current, value(st)))
        apply = apply_path
    return apply, read, special


def _same_path(raw: Any, ref: str) -> bool:
    """Whether an assignment's value is a merge field of its own target (`{!X}` for X)."""
    if not isinstance(raw, str):
        return False
    text = raw.strip()
    return text.startswith("{!") and text.endswith("}") and \
        text[2:-1].strip().lower() == ref.strip().lower()


def _constant(raw: Any, op: str) -> tuple[Any] | None:
    """A scalar literal used as a number (Add 1), folded at compile time."""
    if op in ("Add", "Subtract") and isinstance(raw, (int, Decimal)) and not isinstance(raw, bool):
        return (Decimal(raw),)
    return None


class AssignmentNode(Node):
    __slots__ = ("items", "rows")

    def __init__(self, name: str, items: list[Apply], rows: list[tuple[str, str, Read]]) -> None:
        super().__init__(name, "Assignment")
        self.items = items            # each applies one assignment row
        self.rows = rows              # (ref, op, read the target) per row, for the trace

    def run(self, st: Interview) -> Node | None:
        for apply in self.items:
            apply(st)
        return self.next

    def run_traced(self, st: Interview, entry: dict[str, Any]) -> Node | None:
        rows = entry["assignments"] = []
        for apply, (ref, op, read) in zip(self.items, self.rows):
            before = snapshot(read, st)
            apply(st)
            rows.append({"ref": ref, "op": op, "before": before, "after": snapshot(read, st)})
        return self.next


class SingleAssignmentNode(AssignmentNode):
    """The common one-row Assignment, without the loop over rows."""

    __slots__ = ("apply",)

    def __init__(self, name: str, items: list[Apply], rows: list[tuple[str, str, Read]]) -> None:
        super().__init__(name, items, rows)
        self.apply = items[0]

    def run(self, st: Interview) -> Node | None:
        self.apply(st)
        return self.next


def _single_node(op: str, ttype: FlowType, root: str, fixed: Decimal,
                 fn: Callable[[Any, Any], Any]) -> Callable[[str, list[Apply], list[Any]], Node]:
    """The node of a one-row Assignment that adds or subtracts a number literal to a Number
    variable (`counter Add 1`): the row's work done in the node's `run`, with no call of a
    function per row. A Number with a scale gets the rounding and the 18-digit check that
    `_arithmetic` gives it; any other row of this shape calls its operator function."""
    scale = ttype.effective_scale if ttype.kind in NUMERIC else None

    def make(name: str, items: list[Apply], rows: list[Any]) -> Node:
        if scale is not None and op in ("Add", "Subtract"):
            node_class = RoundedAddNode if op == "Add" else RoundedSubtractNode
            return node_class(name, items, rows, root, fixed, Decimal(1).scaleb(-scale), fn)
        return ConstantRowNode(name, items, rows, root, fixed, fn)
    return make


class ConstantRowNode(SingleAssignmentNode):
    """A one-row Assignment of a literal to a variable, applied in `run`."""

    __slots__ = ("root", "fixed", "fn")

    def __init__(self, name: str, items: list[Apply], rows: list[tuple[str, str, Read]],
                 root: str, fixed: Any, fn: Callable[[Any, Any], Any]) -> None:
        super().__init__(name, items, rows)
        self.root, self.fixed, self.fn = root, fixed, fn

    def run(self, st: Interview) -> Node | None:
        values = st.values
        values[self.root] = self.fn(values.get(self.root), self.fixed)
        return self.next

    def run_traced(self, st: Interview, entry: dict[str, Any]) -> Node | None:
        # AssignmentNode.run_traced for the one row, whose target is a variable's own value
        rows = entry["assignments"] = []
        ref, op, _ = self.rows[0]
        values = st.values
        before = trace_json(values.get(self.root))
        self.run(st)
        rows.append({"ref": ref, "op": op, "before": before,
                     "after": trace_json(values.get(self.root))})
        return self.next


class RoundedAddNode(ConstantRowNode):
    """`x Add <number literal>` on a Number (or Currency) variable with a scale: the sum (the
    literal itself when x is null), rounded half-up to the scale, within 18 digits (as
    `_arithmetic`'s Add)."""

    __slots__ = ("step", "quantum")

    def __init__(self, name: str, items: list[Apply], rows: list[tuple[str, str, Read]],
                 root: str, step: Decimal, quantum: Decimal, fn: Callable[[Any, Any], Any]) -> None:
        super().__init__(name, items, rows, root, step, fn)
        self.step, self.quantum = step, quantum

    def run(self, st: Interview) -> Node | None:
        values = st.values
        root, step = self.root, self.step
        old = values.get(root)
        new = (step if old is None else old + step).quantize(self.quantum, ROUND_HALF_UP)
        if not _LOW < new < _LIMIT:
            raise FlowRuntimeError(f"the result {number_problem(new)}")
        values[root] = new
        return self.next


class RoundedSubtractNode(RoundedAddNode):
    """`x Subtract <number literal>` on a Number (or Currency) variable with a scale (a null x
    counts as 0), as `_arithmetic`'s Subtract."""

    __slots__ = ()

    def run(self, st: Interview) -> Node | None:
        values = st.values
        root = self.root
        old = values.get(root)
        # quantize gives back a value that has the scale already (round_to_scale's shortcut)
        new = ((_ZERO if old is None else old) - self.step).quantize(self.quantum, ROUND_HALF_UP)
        if not _LOW < new < _LIMIT:
            raise FlowRuntimeError(f"the result {number_problem(new)}")
        values[root] = new
        return self.next


# -- the kind --------------------------------------------------------------------------------------

class AssignmentKind(ElementKind):
    name = "Assignment"
    model = AssignmentElement
    droppable_items = ("assignments",)
    xml_tag = "assignments"
    icon = ('<rect class="tile-logic" width="36" height="36" rx="7"/>'
            '<rect class="glyph" x="10" y="12.5" width="16" height="3.6" rx="1.6"/>'
            '<rect class="glyph" x="10" y="20" width="16" height="3.6" rx="1.6"/>')

    def check(self, ctx: CheckContext, name: str, element: AssignmentElement) -> None:
        index = ctx.item_indexes(name, "assignments", len(element.assignments))
        for i, item in zip(index, element.assignments):
            check_item(ctx, ("elements", name, "assignments", i), item.ref, item.op, item.value)

    def compile(self, ctx: CompileContext, name: str, element: AssignmentElement) -> Node:
        items, rows = [], []
        special = None
        for item in element.assignments:
            apply, read, special = compile_row(ctx.values, item.ref, item.op, item.value)
            items.append(apply)
            rows.append((item.ref, item.op, read))
        if len(items) > 1:
            return AssignmentNode(name, items, rows)
        if special is not None:
            return special(name, items, rows)
        return SingleAssignmentNode(name, items, rows)

    def details(self, name: str, element: AssignmentElement,
                action: Any = None) -> tuple[str, list[dict[str, Any]]]:
        from flowengine.render.details import show_value

        return self.name, [{"title": "Assignments", "columns": ["Variable", "Operator", "Value"],
                            "rows": [[i.ref, i.op, show_value(i.value)] for i in element.assignments]}]

    def trace_text(self, entry: dict[str, Any]) -> list[str]:
        import json

        return [f"        {row['ref']} {row['op']}: {json.dumps(row['before'], default=str)}"
                f" → {json.dumps(row['after'], default=str)}" for row in entry.get("assignments", [])]

    def trace_view(self, entry: dict[str, Any], element: Any, show: Any) -> list[dict[str, Any]]:
        if "assignments" not in entry:
            return []
        return [{"kind": "assign", "rows": [
            (row["ref"], row["op"], show(row["before"]), show(row["after"]))
            for row in entry["assignments"]]}]

    def from_xml(self, reader: FlowReader, node: XmlNode, path: tuple[Any, ...]) -> dict[str, Any]:
        used = {"assignmentItems", "connector"}
        out: dict[str, Any] = {**reader.element_base(node, path, used), "type": self.name}
        items = []
        for i, item in enumerate(node.all("assignmentItems")):
            where = path + ("assignments", i)
            reader.at(where, item)
            row: dict[str, Any] = {"ref": reader.text(item.child("assignToReference"), where + ("ref",)),
                                   "op": reader.text(item.child("operator"), where + ("op",))}
            if item.child("value") is not None:
                row["value"] = reader.value(item.child("value"), where + ("value",))
            items.append(reader.keep(row, item, {"assignToReference", "operator", "value"}, where))
        out["assignments"] = items
        target = reader.connector(node.child("connector"), path + ("next",), out)
        if target:
            out["next"] = target
        return reader.keep(out, node, used, path)

    def to_xml(self, writer: FlowWriter, name: str, element: AssignmentElement) -> XmlNode:
        from flowengine.formats.sfxml import BASE, NODE

        out = writer.element_base(name, element)
        for i, item in enumerate(element.assignments):
            kids = [writer.leaf("assignToReference", item.ref), writer.leaf("operator", item.op)]
            if item.value is not None:
                kids.append(writer.value("value", item.value, f"{name}.assignments[{i}]"))
            out.append(writer.node("assignmentItems", kids + writer.kept(item), BASE))
        out += writer.connector("connector", element.next, element)
        return writer.node(self.xml_tag or "", out + writer.kept(element, ("connector",)), NODE)

    def facts(self, element: AssignmentElement) -> LintFacts:
        return LintFacts(writes=tuple(i.ref.split(".")[0] for i in element.assignments),
                         reads=tuple(r for i in element.assignments
                                     for r in merge_field_roots(i.value)))


KIND = AssignmentKind()


# -- the operators (spec 4.1): each returns new_value = fn(old, value) -------------------------------

# bounds on what an assignment may build, as Salesforce's heap limit bounds a real interview: a
# list added to itself in a loop doubles each time and would exhaust memory in a few dozen steps
MAX_ITEMS: Final = 1_000_000        # items of one collection
# MAX_TEXT (flowengine.types): characters of one text, as for formula results


def _check_items(count: int) -> None:
    if count > MAX_ITEMS:
        raise FlowRuntimeError(f"the collection would hold {count:,} items; a collection holds "
                               f"at most {MAX_ITEMS:,}")


def _bounded_text(result: str) -> str:
    if len(result) > MAX_TEXT:
        raise FlowRuntimeError(f"the text would be {len(result):,} characters long; a text holds "
                               f"at most {MAX_TEXT:,}")
    return result


def assignment_function(op: str, target: FlowType, value_is_collection: bool) -> Callable[[Any, Any], Any]:
    """The pure function an assignment item applies: `(current, value) -> new`."""
    t = target
    scale = t.effective_scale
    if t.collection:
        return _collection_op(op, value_is_collection)
    if op in ("Assign", "Equals"):
        return lambda old, v: v
    if op in ("AssignCount", "EqualsCount"):
        return lambda old, v: Decimal(len(v or ()))
    if t.kind in TEXT_LIKE:
        if op == "AddItem":
            return lambda old, v: v if not old else \
                (old if v in (None, "") else _bounded_text(f"{old};{v}"))
        return lambda old, v: _bounded_text((old or "") + text_of(v))
    if t.kind in NUMERIC:
        return _arithmetic(op, scale)
    if t.kind == "Date":
        sign = 1 if op == "Add" else -1

        def shift(old: Any, v: Any) -> Any:
            if old is None or v is None:
                return old
            return old + _dt.timedelta(days=int(sign * v))  # a fraction of a day is dropped
        return shift
    raise AssertionError(f"operator {op} on {t} passed the checker")


_LIMIT = Decimal(10) ** MAX_INTEGER_DIGITS     # a Number is between _LOW and _LIMIT, exclusive
_LOW = -_LIMIT
_ZERO = Decimal(0)


def _arithmetic(op: str, scale: int | None) -> Callable[[Any, Any], Any]:
    """Add / Subtract on a Number or Currency: null added changes nothing, a null target counts
    as 0, the result is rounded half-up to the target's scale and must fit a Number: a Number
    holds at most 18 digits before the decimal point (Salesforce's limit)."""
    if op == "Add":
        if scale is None:
            def add(old: Any, v: Any) -> Any:
                if v is None:
                    return old
                new = v if old is None else old + v
                if _LOW < new < _LIMIT:
                    return new
                raise FlowRuntimeError(f"the result {number_problem(new)}")
            return add
        quantum = round_to_scale(Decimal(1), scale)

        def add_rounded(old: Any, v: Any) -> Any:
            if v is None:
                return old
            new = (v if old is None else old + v).quantize(quantum, ROUND_HALF_UP)
            if _LOW < new < _LIMIT:
                return new
            raise FlowRuntimeError(f"the result {number_problem(new)}")
        return add_rounded
    if scale is None:
        def subtract(old: Any, v: Any) -> Any:
            if v is None:
                return old
            new = (_ZERO if old is None else old) - v
            if _LOW < new < _LIMIT:
                return new
            raise FlowRuntimeError(f"the result {number_problem(new)}")
        return subtract

    def subtract_rounded(old: Any, v: Any) -> Any:
        if v is None:
            return old
        new = round_to_scale((_ZERO if old is None else old) - v, scale)
        if _LOW < new < _LIMIT:
            return new
        raise FlowRuntimeError(f"the result {number_problem(new)}")
    return subtract_rounded


def _collection_op(op: str, many: bool) -> Callable[[Any, Any], Any]:
    def items(v: Any) -> list[Any]:
        if v is None:
            return []
        return list(v) if many else [v]

    if op in ("Assign", "Equals"):
        return lambda old, v: items(v)
    if op == "Add":
        def add(old: Any, v: Any) -> Any:
            # appended in place: a variable's list is its own (every other place that keeps a
            # collection keeps a copy), so n Adds cost n, not n²
            if old is None:
                return items(v)
            new = items(v)
            _check_items(len(old) + len(new))
            old.extend(new)
            return old
        return add
    if op == "AddAtStart":
        def add_at_start(old: Any, v: Any) -> Any:
            # in place, as Add is: the variable's list is its own
            new = items(v)
            if old is None:
                return new
            _check_items(len(new) + len(old))
            old[:0] = new
            return old
        return add_at_start
    # the operators below compare items by equality: through an index of the value's items
    # (flowengine.runtime.membership), so they are linear in both collections
    if op == "RemoveAll":
        def remove_all(old: Any, v: Any) -> Any:
            drop = Membership(items(v))
            return [x for x in (old or []) if x not in drop]
        return remove_all
    if op in ("RemoveFirst", "RemoveAfterFirst", "RemoveBeforeFirst"):
        def first_match(old: Any, v: Any) -> tuple[list[Any], int | None]:
            result = list(old or [])
            wanted = Membership(items(v))
            return result, next((i for i, x in enumerate(result) if x in wanted), None)

        if op == "RemoveFirst":
            def remove_first(old: Any, v: Any) -> Any:
                result, found = first_match(old, v)
                if found is not None:
                    del result[found]
                return result
            return remove_first
        after = op == "RemoveAfterFirst"

        def cut(old: Any, v: Any) -> Any:
            result, found = first_match(old, v)
            if found is None:
                return result
            return result[: found + 1] if after else result[found:]
        return cut
    if op == "RemoveUncommon":
        def keep_common(old: Any, v: Any) -> Any:
            keep = Membership(items(v))
            return [x for x in (old or []) if x in keep]
        return keep_common
    if op == "RemovePosition":
        def remove_at(old: Any, v: Any) -> Any:
            result = list(old or [])
            if v is None or v != v.to_integral_value() or not 1 <= v <= len(result):
                raise FlowRuntimeError(f"RemovePosition {v}: position out of range for a collection "
                                       f"of {len(result)} items (positions start at 1)")
            del result[int(v) - 1]
            return result
        return remove_at
    raise AssertionError(f"collection operator {op} passed the checker")
