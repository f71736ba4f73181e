"""The interpreter: a checked flow compiled into linked nodes, run as interviews.

Each element becomes a node whose `run(interview)` does its work and returns the next node, so
the hot loop is `node = node.run(st)`. Names, conversions and operators were all settled at
compile time. Faults, transactions (spec 5), limits (spec 6) and the trace (spec 7) live here.
"""
from __future__ import annotations

import datetime as _dt
import gc
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any, Callable, Literal, Mapping

from flowengine.action import ActionContext
from flowengine.compiler import ValueCompiler, assignment_function
from flowengine.conditions import CompiledCondition, compile_condition, compile_logic
from flowengine.errors import ActionError, FlowError, FlowRuntimeError, InputError, LimitExceeded
from flowengine.model import ActionElement, AssignmentElement, DecisionElement, LoopElement
from flowengine.references import FAULT_MESSAGE_KEY, new_guid
from flowengine.symbols import did_you_mean
from flowengine.types import (
    TEXT_LIKE, FlowType, ValueTypeError, convert_literal, converter, copy_value, to_json,
)

if TYPE_CHECKING:
    from flowengine.checker import CheckedFlow
    from flowengine.org.base import OrgStore, OrgTransaction

DEFAULT_LIMIT = 1_000_000
LEGACY_LIMIT = 2_000          # apiVersion < 57
RECORDED = 10_000             # elements before the limit whose names are kept to name the cycle


class Interview:
    """The state of one run: resource values, visited elements, faults, the org transaction."""

    __slots__ = ("values", "visited", "errors", "org", "guid", "start_time", "loops",
                 "flow_name", "trace")

    def __init__(self, flow_name: str, org: OrgTransaction | None) -> None:
        self.values: dict[str, Any] = {}
        self.visited: set[str] = set()
        self.errors: set[str] = set()
        self.org = org
        self.guid = new_guid()
        self.start_time = _dt.datetime.now(_dt.timezone.utc).replace(microsecond=0)
        self.loops: dict[str, list[Any]] = {}
        self.flow_name = flow_name
        self.trace: list[dict[str, Any]] | None = None


@dataclass
class Fault:
    """Why an interview failed: the message, the element, and the kind of error."""

    message: str
    element: str | None
    type: str                      # ActionError | RuntimeError | LimitExceeded
    error_code: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {"message": self.message, "element": self.element, "type": self.type}


@dataclass
class InterviewResult:
    """What an interview did (spec 7)."""

    flow: str
    status: Literal["Finished", "Failed"]
    outputs: dict[str, Any]
    error: Fault | None = None
    trace: list[dict[str, Any]] | None = None
    elements_executed: int = 0
    variables: dict[str, Any] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.status == "Finished"

    def to_json(self, trace: bool = False) -> dict[str, Any]:
        data: dict[str, Any] = {
            "flow": self.flow, "status": self.status,
            "outputs": {k: to_json(v) for k, v in self.outputs.items()},
            "error": self.error.to_json() if self.error else None,
        }
        if trace:
            data["trace"] = self.trace or []
        return data


class _Node:
    __slots__ = ("name", "type", "next")

    def __init__(self, name: str, type_: str) -> None:
        self.name = name
        self.type = type_
        self.next: _Node | None = None

    def run(self, st: Interview) -> _Node | None:  # pragma: no cover - abstract
        raise NotImplementedError

    def run_traced(self, st: Interview, entry: dict[str, Any]) -> _Node | None:
        return self.run(st)


class _AssignmentNode(_Node):
    __slots__ = ("items", "described")

    def run(self, st: Interview) -> _Node | None:
        for apply in self.items:
            apply(st)
        return self.next

    def run_traced(self, st: Interview, entry: dict[str, Any]) -> _Node | None:
        rows = entry["assignments"] = []
        for apply, (ref, op, read) in zip(self.items, self.described):
            before = _snapshot(read, st)
            apply(st)
            rows.append({"ref": ref, "op": op, "before": before, "after": _snapshot(read, st)})
        return self.next


class _SingleAssignmentNode(_AssignmentNode):
    __slots__ = ("apply",)

    def run(self, st: Interview) -> _Node | None:
        self.apply(st)
        return self.next


class _DecisionNode(_Node):
    __slots__ = ("rules", "default", "conditions")

    def run(self, st: Interview) -> _Node | None:
        values = st.values
        for test, target, outcome in self.rules:
            if test(st):
                values[outcome] = True
                return target
            values[outcome] = False      # evaluated and not taken (Salesforce: false)
        return self.default

    def run_traced(self, st: Interview, entry: dict[str, Any]) -> _Node | None:
        # evaluates exactly what run() does, in the same order; each condition is also probed
        # on its own for display, without letting a probe's fault change the run
        rows = entry["conditions"] = []
        values = st.values
        for (test, target, outcome), (_, conds) in zip(self.rules, self.conditions):
            for cond in conds:
                rows.append({"outcome": outcome, "condition": cond.text,
                             "left": _probe(lambda s, c=cond: to_json(copy_value(c.left(s))), st),
                             "result": _probe(cond.test, st)})
            if test(st):
                values[outcome] = True
                entry["outcome"] = outcome
                return target
            values[outcome] = False
        entry["outcome"] = "default"
        return self.default


def _probe(read: Callable[[Interview], Any], st: Interview) -> Any:
    try:
        return read(st)
    except FlowRuntimeError as exc:
        return f"<{exc.message}>"


class _LoopNode(_Node):
    __slots__ = ("collection", "descending", "set_item", "read_item", "after")

    def run(self, st: Interview) -> _Node | None:
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

    def run_traced(self, st: Interview, entry: dict[str, Any]) -> _Node | None:
        target = self.run(st)
        state = st.loops.get(self.name)
        if state is not None and target is self.next:
            entry["iteration"] = state[1]
            entry["item"] = to_json(self.read_item(st))
        else:
            entry["iteration"] = None
            entry["done"] = True
        return target


class _ActionNode(_Node):
    __slots__ = ("action", "inputs", "outputs", "fault", "types", "output_types")

    def invoke(self, st: Interview, entry: dict[str, Any] | None) -> _Node | None:
        action = self.action
        inputs = {name: get(st) for name, get in self.inputs}
        if entry is not None:
            entry["action"] = action.name
            entry["inputs"] = {k: to_json(v) for k, v in inputs.items()}
        ctx = ActionContext(st.org, st.flow_name, self.name)
        try:
            if st.org is not None:
                # outputs are checked inside the savepoint: bad outputs undo the action's writes
                with st.org.savepoint():
                    outputs = self.check_outputs(action.handler(inputs, ctx))
            else:
                outputs = self.check_outputs(action.handler(inputs, ctx))
        except (ActionError, FlowRuntimeError, FlowError, Exception) as exc:  # noqa: BLE001
            message, code = _fault_text(exc, action.name)
            if entry is not None:
                entry["fault"] = message
            st.errors.add(self.name)
            if self.fault is None:
                raise _ActionFault(message, code) from exc
            st.values[FAULT_MESSAGE_KEY] = message
            return self.fault
        st.values[self.name] = outputs
        for setter, name in self.outputs:
            setter(st, copy_value(outputs.get(name)))
        if entry is not None:
            entry["outputs"] = {k: to_json(v) for k, v in outputs.items()}
        return self.next

    def check_outputs(self, raw: Any) -> dict[str, Any]:
        if raw is None:
            raw = {}
        if not isinstance(raw, Mapping):
            raise FlowRuntimeError(f"action {self.action.name} returned {type(raw).__name__}, "
                                   "expected a mapping of output names to values")
        unknown = [k for k in raw if k not in self.output_types]
        if unknown:
            raise FlowRuntimeError(f"action {self.action.name} returned unknown output {unknown[0]!r}")
        out: dict[str, Any] = {}
        for name, ptype in self.output_types.items():
            try:
                out[name] = convert_literal(raw.get(name), ptype, self.types)
            except ValueTypeError as exc:
                raise FlowRuntimeError(f"action {self.action.name} returned a bad {name}: {exc}") from None
        return out

    def run(self, st: Interview) -> _Node | None:
        return self.invoke(st, None)

    def run_traced(self, st: Interview, entry: dict[str, Any]) -> _Node | None:
        return self.invoke(st, entry)


class _ActionFault(Exception):
    def __init__(self, message: str, code: str | None) -> None:
        super().__init__(message)
        self.message = message
        self.code = code


def _fault_text(exc: BaseException, action: str) -> tuple[str, str | None]:
    code = getattr(exc, "error_code", None)
    if isinstance(exc, ActionError):
        return f"{exc.error_code}: {exc.message}", exc.error_code
    if isinstance(exc, FlowError):
        return (f"{code}: {exc}" if code else str(exc)), code
    return f"internal error in action {action}: {type(exc).__name__}: {exc}", None


def _cause(exc: BaseException) -> str:
    if isinstance(exc, InvalidOperation):   # quantize past the decimal context's precision
        return ("a number has more than 28 significant digits (with its scale), more than "
                "numbers can hold")
    return f"{type(exc).__name__}: {exc}"


def _snapshot(read: Callable[[Interview], Any], st: Interview) -> Any:
    try:
        return to_json(read(st))
    except FlowRuntimeError:
        return None


# ---------------------------------------------------------------------------------------------

class CompiledFlow:
    """A checked flow compiled once; `run()` starts an interview."""

    def __init__(self, checked: CheckedFlow) -> None:
        self.checked = checked
        self.name = checked.name
        model = checked.model
        self.values = ValueCompiler(checked)
        self.nodes: dict[str, _Node] = {}
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
    def _make_node(self, name: str, element: Any) -> _Node:
        if isinstance(element, AssignmentElement):
            node: _Node = _AssignmentNode(name, "Assignment")
            node.items, node.described = [], []  # type: ignore[attr-defined]
            for item in element.assignments:
                apply, read = self._assignment(item.ref, item.op, item.value)
                node.items.append(apply)  # type: ignore[attr-defined]
                node.described.append((item.ref, item.op, read))  # type: ignore[attr-defined]
            if len(element.assignments) == 1:
                single = _SingleAssignmentNode(name, "Assignment")
                single.items, single.described = node.items, node.described  # type: ignore
                single.apply = node.items[0]  # type: ignore[attr-defined]
                return single
            return node
        if isinstance(element, DecisionElement):
            node = _DecisionNode(name, "Decision")
            return node
        if isinstance(element, LoopElement):
            node = _LoopNode(name, "Loop")
            rp = self.values.resolve(element.collection)
            node.collection = self.values.ref_getter(rp)  # type: ignore[attr-defined]
            node.descending = element.order == "Desc"  # type: ignore[attr-defined]
            if element.item:
                setter, item_type = self.values.setter(element.item)
                read_item = self.values.ref_getter(self.values.resolve(element.item))
                convert = None if item_type.is_object else converter(rp.type.item, item_type)
                if convert is not None:   # e.g. a Number item into a Text or scaled variable
                    def set_converted(st: Interview, value: Any, set_: Any = setter,
                                      convert_: Any = convert) -> None:
                        set_(st, convert_(value))
                    setter = set_converted
            else:
                def setter(st: Interview, value: Any, key: str = name) -> None:
                    st.values[key] = value

                def read_item(st: Interview, key: str = name) -> Any:
                    return st.values.get(key)
            node.set_item = setter  # type: ignore[attr-defined]
            node.read_item = read_item  # type: ignore[attr-defined]
            return node
        node = _ActionNode(name, "Action")
        action = self.checked.actions[name]
        node.action = action  # type: ignore[attr-defined]
        node.types = self.checked.types  # type: ignore[attr-defined]
        node.inputs = [(p, self.values.compile(raw, action.input(p).type))  # type: ignore[union-attr]
                       for p, raw in element.inputs.items()]  # type: ignore[attr-defined]
        node.outputs = [(self._output_setter(path, action.output(out).type), out)  # type: ignore
                        for out, path in element.outputs.items()]
        node.output_types = {p.name: p.type for p in action.outputs}  # type: ignore[attr-defined]
        return node

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
        from decimal import Decimal as _D
        if op in ("Add", "Subtract") and isinstance(raw, (int, _D)) and not isinstance(raw, bool):
            return (_D(raw),)
        return None

    def _link(self, node: _Node, element: Any) -> None:
        nodes = self.nodes
        if isinstance(element, DecisionElement):
            rules = []
            conditions = []
            for rule in element.rules:
                conds: list[CompiledCondition] = [compile_condition(self.values, c) for c in rule.conditions]
                tree = self.checked.logic[(node.name, rule.name)]
                test = compile_logic(tree, [c.test for c in conds])
                rules.append((test, nodes.get(rule.next or ""), rule.name))
                conditions.append((rule.name, conds))
            node.rules = rules  # type: ignore[attr-defined]
            node.conditions = conditions  # type: ignore[attr-defined]
            node.default = nodes.get(element.default or "")  # type: ignore[attr-defined]
        elif isinstance(element, LoopElement):
            node.next = nodes[element.each]
            node.after = nodes.get(element.after or "")  # type: ignore[attr-defined]
        else:
            node.next = nodes.get(element.next or "")
            if isinstance(element, ActionElement):
                node.fault = nodes.get(element.fault or "")  # type: ignore[attr-defined]

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
        if trace:
            st.trace = []
        limit = self.default_limit if max_elements is None else max_elements
        # the last RECORDED elements before the limit run in a loop that remembers their names,
        # so that the error can name the cycle; the hot loops before it do no extra work
        stop = limit - min(limit, RECORDED)
        node = self.start
        count = 0
        current = node
        try:
            if trace:
                while node is not None and count < stop:
                    count += 1
                    current = node
                    entry = {"step": count, "element": node.name, "type": node.type}
                    st.trace.append(entry)  # type: ignore[union-attr]
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
                    st.trace.append(entry)  # type: ignore[union-attr]
                    node = node.run_traced(st, entry)
                else:
                    node = node.run(st)
        except LimitExceeded as exc:
            return self._failed(st, Fault(exc.message, exc.element, "LimitExceeded"), count)
        except _ActionFault as exc:
            fault = Fault(f"{current.name} ({current.type} {current.action.name}): "  # type: ignore
                          f"{exc.message}", current.name, "ActionError", exc.code)
            return self._failed(st, fault, count)
        except FlowRuntimeError as exc:
            element = exc.element or current.name
            return self._failed(st, Fault(f"{element} ({current.type}): {exc.message}", element,
                                          "RuntimeError"), count)
        except (ArithmeticError, ValueError, TypeError) as exc:
            return self._failed(st, Fault(f"{current.name} ({current.type}): {_cause(exc)}",
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
