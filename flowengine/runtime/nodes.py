"""Compiled elements: the node base classes and the one fault model.

Each element kind compiles its elements into nodes (`flowengine.elements.*`): `run(interview)`
does the element's work and returns the next node; `run_traced` does the same and fills the
element's trace entry (spec 7). Nodes are linked after every node of the flow exists, since
connectors point forwards and backwards.

Elements that can fault derive from `FaultingNode`: their work runs inside a savepoint of the
org transaction; when it fails, its own writes are undone, the element is marked as faulted
(`HasError`), and the interview goes on along the fault connector with `$Flow.FaultMessage` set
— or, without one, fails with an `ElementFault`. Governor limits (`LimitExceeded`) are never
caught.
"""
from __future__ import annotations

from collections.abc import Callable, Mapping
from decimal import Decimal, InvalidOperation
from typing import Any, Final

from flowengine.errors import ActionError, FlowError, FlowRuntimeError, LimitExceeded
from flowengine.references import FAULT_MESSAGE_KEY
from flowengine.runtime.interview import Interview
from flowengine.types import ObjectValue, to_json

Apply = Callable[[Interview], None]
Read = Callable[[Interview], Any]
Targets = Mapping[str, "Node | None"]      # connector key → linked node (None: the end)


class Node:
    """One compiled element."""

    __slots__ = ("name", "type", "next", "cycle")

    def __init__(self, name: str, type_name: str) -> None:
        self.name = name
        self.type = type_name
        self.next: Node | None = None
        # a cycle of nodes the interpreter may run in one loop from here (flowengine.runtime.fused)
        self.cycle: Any = None

    def link(self, targets: Targets) -> None:
        """Point the node's connectors at the nodes of their targets (keys as the kind's
        `connectors()` gives them)."""
        self.next = targets.get("next")

    def run(self, st: Interview) -> Node | None:  # pragma: no cover - abstract
        raise NotImplementedError

    def run_traced(self, st: Interview, entry: dict[str, Any]) -> Node | None:
        return self.run(st)


class ElementFault(Exception):
    """An element failed and has no fault connector: the interview fails."""

    def __init__(self, message: str, code: str | None, element: str, described: str,
                 fault_type: str) -> None:
        super().__init__(message)
        self.message = message
        self.code = code
        self.element = element
        self.described = described      # "Action cancelFulfillmentOrderItem"
        self.fault_type = fault_type     # the `type` of the interview's Fault


class FaultingNode(Node):
    """A node whose work may fault (see the module docstring). Subclasses implement `work`
    (and `finish` for what happens after the savepoint is released)."""

    __slots__ = ("fault",)
    fault_type = "RuntimeError"

    def __init__(self, name: str, type_name: str) -> None:
        super().__init__(name, type_name)
        self.fault: Node | None = None

    def link(self, targets: Targets) -> None:
        super().link(targets)
        self.fault = targets.get("fault")

    @property
    def described(self) -> str:
        """How an interview's fault names what failed: the element's type and what it does."""
        return self.type

    @property
    def subject(self) -> str:
        """What failed, inside a sentence ("action cancelFulfillmentOrderItem")."""
        return f"element {self.name}"

    def prepare(self, st: Interview, entry: dict[str, Any] | None) -> Any:
        """Evaluate what the work needs, before its savepoint (a fault here, such as reading
        through a null reference, is the flow's, not the element's)."""
        return None

    def work(self, st: Interview, entry: dict[str, Any] | None, prepared: Any) -> Any:  # pragma: no cover
        raise NotImplementedError

    def finish(self, st: Interview, entry: dict[str, Any] | None, result: Any) -> None:
        """After the work succeeded and its savepoint was released."""

    def fault_text(self, exc: BaseException) -> tuple[str, str | None]:
        """The fault message and its error code."""
        code = getattr(exc, "error_code", None)
        if isinstance(exc, ActionError):
            return f"{exc.error_code}: {exc.message}", exc.error_code
        if isinstance(exc, FlowError):
            return (f"{code}: {exc}" if code else str(exc)), code
        return f"internal error in {self.subject}: {type(exc).__name__}: {exc}", None

    def run(self, st: Interview) -> Node | None:
        return self.guarded(st, None)

    def run_traced(self, st: Interview, entry: dict[str, Any]) -> Node | None:
        return self.guarded(st, entry)

    def guarded(self, st: Interview, entry: dict[str, Any] | None) -> Node | None:
        prepared = self.prepare(st, entry)
        try:
            if st.org is not None:
                with st.org.savepoint():
                    result = self.work(st, entry, prepared)
            else:
                result = self.work(st, entry, prepared)
        except LimitExceeded:
            raise
        except Exception as exc:
            message, code = self.fault_text(exc)
            if entry is not None:
                entry["fault"] = message
            st.errors.add(self.name)
            if self.fault is None:
                raise ElementFault(message, code, self.name, self.described,
                                   self.fault_type) from exc
            st.values[FAULT_MESSAGE_KEY] = message
            return self.fault
        self.finish(st, entry, result)
        return self.next


def fault_cause(exc: BaseException) -> str:
    """A Python error inside an element, in words."""
    if isinstance(exc, InvalidOperation):   # quantize past the decimal context's precision
        return ("a number has more than 28 significant digits (with its scale), more than "
                "numbers can hold")
    return f"{type(exc).__name__}: {exc}"


TRACE_ITEMS: Final = 100       # items of a collection that a trace entry keeps
TRACE_TEXT: Final = 1_000      # characters of a text that a trace entry keeps


def trace_json(value: Any) -> Any:
    """A value as a trace entry keeps it: JSON data (`to_json`) with at most TRACE_ITEMS items of
    a collection and TRACE_TEXT characters of a text, at every level; what is cut is counted.
    Without it, a loop that grows a list kept a full copy per step: quadratic time and memory."""
    kind = type(value)
    if kind is Decimal:         # the common cases first; `to_json`'s rule, inline: a call per
        return int(value) if value == value.to_integral_value() else float(value)   # traced value costs ~5 %
    if value is None or kind is bool:
        return value
    if isinstance(value, list):
        shown = [trace_json(v) for v in value[:TRACE_ITEMS]]
        if len(value) > TRACE_ITEMS:
            shown.append(f"… {len(value) - TRACE_ITEMS:,} more items")
        return shown
    if isinstance(value, str):
        if len(value) <= TRACE_TEXT:
            return value
        return f"{value[:TRACE_TEXT]}… ({len(value) - TRACE_TEXT:,} more characters)"
    if isinstance(value, ObjectValue):
        return {k: trace_json(v) for k, v in value.fields.items()}
    return to_json(value)


def snapshot(read: Read, st: Interview) -> Any:
    """A value for the trace (`trace_json`); None when it cannot be read."""
    try:
        return trace_json(read(st))
    except FlowRuntimeError:
        return None


def probe(read: Read, st: Interview) -> Any:
    """Read for display only: a fault becomes its message."""
    try:
        return read(st)
    except FlowRuntimeError as exc:
        return f"<{exc.message}>"
