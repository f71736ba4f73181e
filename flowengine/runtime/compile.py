"""The interpreter: a checked flow compiled into linked nodes (`flowengine.runtime.nodes`), run as
interviews (`flowengine.runtime.interview`).

Each element becomes a node whose `run(interview)` does its work and returns the next node, so
the hot loop is `node = node.run(st)`. Names, conversions and operators are settled here, at
compile time. Transactions (spec 5), limits (spec 6) and the choice of traced or plain running
(spec 7) live here too.
"""
from __future__ import annotations

import gc
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Callable, Mapping

from flowengine.runtime.values import ValueCompiler, assignment_function
from flowengine.conditions import CompiledCondition, compile_condition, compile_logic
from flowengine.errors import FlowRuntimeError, InputError, LimitExceeded
from flowengine.runtime.interview import Fault, Interview, InterviewResult
from flowengine.model import AssignmentElement, DecisionElement, LoopElement
from flowengine.runtime.nodes import (
    ActionFault, ActionNode, AssignmentNode, DecisionNode, LoopNode, Node, SingleAssignmentNode,
    fault_cause,
)
from flowengine.check.symbols import did_you_mean
from flowengine.types import TEXT_LIKE, FlowType, ValueTypeError, convert_literal, converter

if TYPE_CHECKING:
    from flowengine.check.checker import CheckedFlow
    from flowengine.org.base import OrgStore

__all__ = ["CompiledFlow", "Fault", "Interview", "InterviewResult", "compile_flow"]

DEFAULT_LIMIT = 1_000_000
LEGACY_LIMIT = 2_000          # apiVersion < 57
RECORDED = 10_000             # elements before the limit whose names are kept to name the cycle


# ---------------------------------------------------------------------------------------------

class CompiledFlow:
    """A checked flow compiled once; `run()` starts an interview."""

    def __init__(self, checked: CheckedFlow) -> None:
        self.checked = checked
        self.name = checked.name
        model = checked.model
        self.values = ValueCompiler(checked)
        self.nodes: dict[str, Node] = {}
        for name, element in model.elements.items():
            self.nodes[name] = self._make_node(name, element)
        for name, element in model.elements.items():
            self._link(self.nodes[name], element)
        self.start = self.nodes.get(model.start or "")
        self.uses_visited = any(c.op == "WasVisited" for e in model.elements.values()
                                if isinstance(e, DecisionElement) for r in e.rules for c in r.conditions)
        self.has_actions = bool(checked.actions)
        api = model.apiVersion
        self.default_limit = LEGACY_LIMIT if api < Decimal(57) else DEFAULT_LIMIT
        self.inputs: dict[str, FlowType] = {}
        self.defaults: list[tuple[str, Callable[[Interview], Any]]] = []
        self.collections: list[str] = []
        self.outputs: list[str] = []
        for name, var in model.variables.items():
            vtype = checked.symbols.get(name).type  # type: ignore[union-attr]
            assert vtype is not None
            if var.input:
                self.inputs[name] = vtype
            if var.output:
                self.outputs.append(name)
            if var.default is not None:
                self.defaults.append((name, self.values.compile(var.default, vtype)))
            elif vtype.collection:
                self.collections.append(name)
        self.constants = {name: convert_literal(c.value, checked.symbols.get(name).type,  # type: ignore
                                                checked.types) for name, c in model.constants.items()}
        self.outcomes = [r.name for e in model.elements.values() if isinstance(e, DecisionElement)
                         for r in e.rules]

    # -- compiling --------------------------------------------------------------------------
    def _make_node(self, name: str, element: Any) -> Node:
        if isinstance(element, AssignmentElement):
            items, described = [], []
            for item in element.assignments:
                apply, read = self._assignment(item.ref, item.op, item.value)
                items.append(apply)
                described.append((item.ref, item.op, read))
            kind = SingleAssignmentNode if len(items) == 1 else AssignmentNode
            return kind(name, items, described)
        if isinstance(element, DecisionElement):
            return DecisionNode(name)       # its rules point at other nodes: see _link
        if isinstance(element, LoopElement):
            return self._loop_node(name, element)
        action = self.checked.actions[name]
        inputs = [(p, self.values.compile(raw, action.input(p).type))  # type: ignore[union-attr]
                  for p, raw in element.inputs.items()]
        outputs = [(self._output_setter(path, action.output(out).type), out)  # type: ignore[union-attr]
                   for out, path in element.outputs.items()]
        return ActionNode(name, action, inputs, outputs, self.checked.types)

    def _loop_node(self, name: str, element: LoopElement) -> LoopNode:
        rp = self.values.resolve(element.collection)
        if element.item:
            setter, item_type = self.values.setter(element.item)
            read_item = self.values.ref_getter(self.values.resolve(element.item))
            convert = None if item_type.is_object else converter(rp.type.item, item_type)
            if convert is not None:   # e.g. a Number item into a Text or scaled variable
                def set_converted(st: Interview, value: Any, set_: Any = setter,
                                  convert_: Any = convert) -> None:
                    set_(st, convert_(value))
                setter = set_converted
        else:                         # the current item is read as {!Loop_Name}
            def setter(st: Interview, value: Any, key: str = name) -> None:
                st.values[key] = value

            def read_item(st: Interview, key: str = name) -> Any:
                return st.values.get(key)
        return LoopNode(name, self.values.ref_getter(rp), element.order == "Desc", setter, read_item)

    def _output_setter(self, path: str, output_type: FlowType) -> Callable[[Interview, Any], None]:
        """Store an action output in a variable, converted to the variable's type (a Number
        output mapped to a Text variable becomes text); objects are already copies."""
        setter, target_type = self.values.setter(path)
        convert = None if target_type.is_object else converter(output_type, target_type)
        if convert is None:
            return setter

        def set_converted(st: Interview, value: Any) -> None:
            setter(st, convert(value))
        return set_converted

    def _assignment(self, ref: str, op: str, raw: Any) -> tuple[Callable[[Interview], None],
                                                                Callable[[Interview], Any]]:
        setter, ttype = self.values.setter(ref)
        rp = self.values.resolve(ref)
        read = self.values.ref_getter(rp)
        op = {"Equals": "Assign", "EqualsCount": "AssignCount"}.get(op, op)
        if op == "AssignCount":
            value = self.values.compile(raw, self.values.static_type(raw) or ttype)
            many = True
        elif ttype.collection and op != "RemovePosition":
            value, chosen = self.values.compile_typed(raw, ttype, (ttype.item,))
            many = chosen.collection
        elif op in ("Add", "Subtract") and ttype.kind not in ("Text", "Picklist", "Multipicklist"):
            value = self.values.compile(raw, FlowType("Number"))
            many = False
        elif op in ("Add", "AddItem"):
            value = self.values.compile(raw, FlowType("Text"))
            many = False
        elif op == "RemovePosition":
            value = self.values.compile(raw, FlowType("Number"))
            many = False
        else:
            value = self.values.compile(raw, ttype)
            many = False
        fn = assignment_function(op, ttype, many)
        root = rp.root_name
        constant = None if ttype.collection or ttype.kind in TEXT_LIKE else self._constant(raw, op)
        if not rp.fields and constant is not None:
            fixed = constant[0]

            def apply_constant(st: Interview) -> None:
                values = st.values
                values[root] = fn(values.get(root), fixed)
            apply = apply_constant
        elif not rp.fields:
            def apply_plain(st: Interview) -> None:
                values = st.values
                values[root] = fn(values.get(root), value(st))
            apply = apply_plain
        else:
            def apply_path(st: Interview) -> None:
                try:
                    current = read(st)
                except FlowRuntimeError:
                    current = None       # the object is created by the setter
                setter(st, fn(current, value(st)))
            apply = apply_path
        return apply, read

    def _constant(self, raw: Any, op: str) -> tuple[Any] | None:
        """A scalar literal used as a number (Add 1), folded at compile time."""
        if op in ("Add", "Subtract") and isinstance(raw, (int, Decimal)) and not isinstance(raw, bool):
            return (Decimal(raw),)
        return None

    def _link(self, node: Node, element: Any) -> None:
        nodes = self.nodes
        if isinstance(node, DecisionNode):
            for rule in element.rules:
                conds: list[CompiledCondition] = [compile_condition(self.values, c) for c in rule.conditions]
                tree = self.checked.logic[(node.name, rule.name)]
                test = compile_logic(tree, [c.test for c in conds])
                node.rules.append((test, nodes.get(rule.next or ""), rule.name))
                node.conditions.append((rule.name, conds))
            node.default = nodes.get(element.default or "")
        elif isinstance(node, LoopNode):
            node.next = nodes[element.each]
            node.after = nodes.get(element.after or "")
        else:
            node.next = nodes.get(element.next or "")
            if isinstance(node, ActionNode):
                node.fault = nodes.get(element.fault or "")

    # -- running ----------------------------------------------------------------------------
    def prepare_inputs(self, inputs: Mapping[str, Any] | None) -> dict[str, Any]:
        """Check and convert caller inputs (raw JSON-like values or typed values)."""
        result: dict[str, Any] = {}
        for key, raw in (inputs or {}).items():
            name = next((n for n in self.inputs if n.lower() == key.lower()), None)
            if name is None:
                symbol = self.checked.symbols.get(key)
                if symbol is not None and symbol.kind == "variable":
                    raise InputError(f"{key!r} is not an input variable of flow {self.name} "
                                     f"(inputs: {', '.join(self.inputs) or 'none'}); declare it "
                                     "with input: true to set it from outside")
                raise InputError(f"flow {self.name} has no input {key!r}{did_you_mean(key, self.inputs)}"
                                 f" (inputs: {', '.join(self.inputs) or 'none'})")
            try:
                result[name] = convert_literal(raw, self.inputs[name], self.checked.types)
            except ValueTypeError as exc:
                raise InputError(f"input {name}: {exc}") from None
        return result

    def run(self, inputs: Mapping[str, Any] | None = None, org: OrgStore | None = None,
            trace: bool = False, max_elements: int | None = None,
            rollback: bool = False) -> InterviewResult:
        """Run one interview. Inputs are checked first (InputError). With `org`, the interview
        runs in one transaction: committed when it finishes, rolled back when it fails or when
        `rollback` is set."""
        prepared = self.prepare_inputs(inputs)
        tx = org.begin() if org is not None and self.has_actions else None
        st = Interview(self.name, tx)
        committed = False
        # a trace is a long list of small acyclic dicts: the cyclic garbage collector would
        # rescan it again and again as it grows, so it pauses while a traced interview runs
        pause_gc = trace and gc.isenabled()
        try:
            if pause_gc:
                gc.disable()
            try:
                result = self._interview(st, prepared, trace, max_elements)
            finally:
                if pause_gc:
                    gc.enable()
            if tx is not None:
                if result.ok and not rollback:
                    tx.commit()
                    committed = True
        finally:
            if tx is not None and not committed:
                tx.rollback()
        return result

    def _interview(self, st: Interview, inputs: dict[str, Any], trace: bool,
                   max_elements: int | None) -> InterviewResult:
        values = st.values
        values.update(self.constants)
        for name in self.outcomes:
            values[name] = False
        for name in self.collections:
            values[name] = []
        values.update(inputs)
        # defaults are computed in declaration order after the caller's inputs are in place, so
        # a default may refer to an input; a variable the caller set keeps the caller's value
        for name, get in self.defaults:
            if name in inputs:
                continue
            try:
                values[name] = get(st)
            except FlowRuntimeError as exc:
                return self._failed(st, Fault(f"default value of variable {name}: {exc.message}",
                                              None, "RuntimeError"), 0)
        trace_entries: list[dict[str, Any]] = []
        if trace:
            st.trace = trace_entries
        limit = self.default_limit if max_elements is None else max_elements
        # the last RECORDED elements before the limit run in a loop that remembers their names,
        # so that the error can name the cycle; the hot loops before it do no extra work
        stop = limit - min(limit, RECORDED)
        node = self.start
        count = 0
        if node is None:             # a flow without elements finishes at once
            return InterviewResult(self.name, "Finished", {n: values.get(n) for n in self.outputs},
                                   None, st.trace, 0, dict(values))
        current: Node = node
        try:
            if trace:
                while node is not None and count < stop:
                    count += 1
                    current = node
                    entry = {"step": count, "element": node.name, "type": node.type}
                    trace_entries.append(entry)
                    st.visited.add(node.name)
                    node = node.run_traced(st, entry)
            elif self.uses_visited:
                while node is not None and count < stop:
                    count += 1
                    current = node
                    st.visited.add(node.name)
                    node = node.run(st)
            else:
                while node is not None and count < stop:
                    count += 1
                    current = node
                    node = node.run(st)
            recent: list[str] = []
            while node is not None:
                if count >= limit:
                    raise LimitExceeded(_limit_message(recent, node.name, limit), node.name)
                count += 1
                current = node
                recent.append(node.name)
                st.visited.add(node.name)
                if trace:
                    entry = {"step": count, "element": node.name, "type": node.type}
                    trace_entries.append(entry)
                    node = node.run_traced(st, entry)
                else:
                    node = node.run(st)
        except LimitExceeded as exc:
            return self._failed(st, Fault(exc.message, exc.element, "LimitExceeded"), count)
        except ActionFault as exc:
            assert isinstance(current, ActionNode)
            fault = Fault(f"{current.name} ({current.type} {current.action.name}): "
                          f"{exc.message}", current.name, "ActionError", exc.code)
            return self._failed(st, fault, count)
        except FlowRuntimeError as exc:
            element = exc.element or current.name
            return self._failed(st, Fault(f"{element} ({current.type}): {exc.message}", element,
                                          "RuntimeError"), count)
        except (ArithmeticError, ValueError, TypeError) as exc:
            return self._failed(st, Fault(f"{current.name} ({current.type}): {fault_cause(exc)}",
                                          current.name, "RuntimeError"), count)
        return InterviewResult(self.name, "Finished", {n: values.get(n) for n in self.outputs},
                               None, st.trace, count, dict(values))

    def _failed(self, st: Interview, fault: Fault, count: int) -> InterviewResult:
        if st.trace is not None and st.trace and fault.element == st.trace[-1]["element"]:
            st.trace[-1].setdefault("fault", fault.message)
        return InterviewResult(self.name, "Failed", {n: st.values.get(n) for n in self.outputs},
                               fault, st.trace, count, dict(st.values))


def _limit_message(recent: list[str], next_name: str, limit: int) -> str:
    """Name the limit and the elements of the last cycle: from the previous visit of the element
    that would have run next, to it."""
    text = (f"the interview executed more than {limit:,} elements (the limit on executed elements "
            "per interview)")
    for i in range(len(recent) - 1, -1, -1):
        if recent[i] == next_name:
            return f"{text} in a cycle: {' → '.join(recent[i:] + [next_name])}"
    return f"{text}; it stopped before {next_name}"


def compile_flow(checked: CheckedFlow) -> CompiledFlow:
    return CompiledFlow(checked)
