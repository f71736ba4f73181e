"""Compiled elements: each node's `run(interview)` does the element's work and returns the next
node. `run_traced` does the same and fills the element's trace entry (spec 7)."""
from __future__ import annotations

from decimal import InvalidOperation
from typing import TYPE_CHECKING, Any, Callable, Mapping

from flowengine.plugins import ActionContext
from flowengine.errors import ActionError, FlowError, FlowRuntimeError
from flowengine.runtime.interview import Interview
from flowengine.references import FAULT_MESSAGE_KEY
from flowengine.types import ValueTypeError, convert_literal, copy_value, to_json

if TYPE_CHECKING:
    from flowengine.plugins import Action
    from flowengine.types import TypeRegistry

Apply = Callable[[Interview], None]
Read = Callable[[Interview], Any]


class Node:
    """One compiled element. Connectors (`next` and the others) are linked after every node of
    the flow exists, since elements may point forwards and backwards."""

    __slots__ = ("name", "type", "next")
    type_name = ""

    def __init__(self, name: str) -> None:
        self.name = name
        self.type = self.type_name
        self.next: Node | None = None

    def run(self, st: Interview) -> Node | None:  # pragma: no cover - abstract
        raise NotImplementedError

    def run_traced(self, st: Interview, entry: dict[str, Any]) -> Node | None:
        return self.run(st)


class AssignmentNode(Node):
    __slots__ = ("items", "described")
    type_name = "Assignment"

    def __init__(self, name: str, items: list[Apply], described: list[tuple[str, str, Read]]) -> None:
        super().__init__(name)
        self.items = items            # each applies one assignment row
        self.described = described    # (ref, op, read the target) per row, for the trace

    def run(self, st: Interview) -> Node | None:
        for apply in self.items:
            apply(st)
        return self.next

    def run_traced(self, st: Interview, entry: dict[str, Any]) -> Node | None:
        rows = entry["assignments"] = []
        for apply, (ref, op, read) in zip(self.items, self.described):
            before = _snapshot(read, st)
            apply(st)
            rows.append({"ref": ref, "op": op, "before": before, "after": _snapshot(read, st)})
        return self.next


class SingleAssignmentNode(AssignmentNode):
    """The common one-row Assignment, without the loop over rows."""

    __slots__ = ("apply",)

    def __init__(self, name: str, items: list[Apply], described: list[tuple[str, str, Read]]) -> None:
        super().__init__(name, items, described)
        self.apply = items[0]

    def run(self, st: Interview) -> Node | None:
        self.apply(st)
        return self.next


class DecisionNode(Node):
    __slots__ = ("rules", "default", "conditions")
    type_name = "Decision"

    def __init__(self, name: str) -> None:
        super().__init__(name)
        self.rules: list[tuple[Callable[[Interview], bool], Node | None, str]] = []  # test, target, outcome
        self.conditions: list[tuple[str, list[Any]]] = []   # outcome → its CompiledConditions
        self.default: Node | None = None

    def run(self, st: Interview) -> Node | None:
        values = st.values
        for test, target, outcome in self.rules:
            if test(st):
                values[outcome] = True
                return target
            values[outcome] = False      # evaluated and not taken (Salesforce: false)
        return self.default

    def run_traced(self, st: Interview, entry: dict[str, Any]) -> Node | None:
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


class LoopNode(Node):
    __slots__ = ("collection", "descending", "set_item", "read_item", "after")
    type_name = "Loop"

    def __init__(self, name: str, collection: Read, descending: bool,
                 set_item: Callable[[Interview, Any], None], read_item: Read) -> None:
        super().__init__(name)
        self.collection = collection
        self.descending = descending
        self.set_item = set_item
        self.read_item = read_item
        self.after: Node | None = None

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
            entry["item"] = to_json(self.read_item(st))
        else:
            entry["iteration"] = None
            entry["done"] = True
        return target


class ActionNode(Node):
    __slots__ = ("action", "inputs", "outputs", "fault", "types", "output_types")
    type_name = "Action"

    def __init__(self, name: str, action: Action, inputs: list[tuple[str, Read]],
                 outputs: list[tuple[Callable[[Interview, Any], None], str]],
                 types: TypeRegistry) -> None:
        super().__init__(name)
        self.action = action
        self.inputs = inputs          # (parameter, getter converting to its type)
        self.outputs = outputs        # (setter of the mapped variable, output name)
        self.output_types = {p.name: p.type for p in action.outputs}
        self.types = types
        self.fault: Node | None = None

    def invoke(self, st: Interview, entry: dict[str, Any] | None) -> Node | None:
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
        except Exception as exc:  # noqa: BLE001 - every failure of an action is its fault
            message, code = _fault_text(exc, action.name)
            if entry is not None:
                entry["fault"] = message
            st.errors.add(self.name)
            if self.fault is None:
                raise ActionFault(message, code) from exc
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

    def run(self, st: Interview) -> Node | None:
        return self.invoke(st, None)

    def run_traced(self, st: Interview, entry: dict[str, Any]) -> Node | None:
        return self.invoke(st, entry)


class ActionFault(Exception):
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


def fault_cause(exc: BaseException) -> str:
    if isinstance(exc, InvalidOperation):   # quantize past the decimal context's precision
        return ("a number has more than 28 significant digits (with its scale), more than "
                "numbers can hold")
    return f"{type(exc).__name__}: {exc}"


def _snapshot(read: Callable[[Interview], Any], st: Interview) -> Any:
    try:
        return to_json(read(st))
    except FlowRuntimeError:
        return None
