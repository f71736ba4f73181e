"""The interpreter: a checked flow compiled into linked nodes, run as interviews.

Each element kind compiles its elements into nodes (`ElementKind.compile`) whose `run(interview)`
does the element's work and returns the next node, so the hot loop is `node = node.run(st)`;
the nodes are then linked along the kinds' connectors. Names, conversions and operators are
settled at compile time. Transactions (spec 5), limits (spec 6) and the choice of traced or
plain running (spec 7) live here.
"""
from __future__ import annotations

import gc
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from flowengine.check.symbols import did_you_mean
from flowengine.elements import kind_of
from flowengine.errors import FlowRuntimeError, InputError, LimitExceeded
from flowengine.runtime.access import reads_store
from flowengine.runtime.fused import fuse_cycles
from flowengine.runtime.interview import Fault, Interview, InterviewResult
from flowengine.runtime.nodes import ElementFault, Node, fault_cause
from flowengine.runtime.trace import TRACE_CHUNK, TraceBuffer
from flowengine.runtime.values import ValueCompiler
from flowengine.types import FlowType, ValueTypeError, convert_literal

if TYPE_CHECKING:
    from flowengine.check import CheckedFlow
    from flowengine.org.base import OrgStore

__all__ = ["CompileContext", "CompiledFlow", "Fault", "Interview", "InterviewResult", "compile_flow"]

DEFAULT_LIMIT = 1_000_000
LEGACY_LIMIT = 2_000          # apiVersion < 57
RECORDED = 10_000             # elements before the limit whose names are kept to name the cycle


@dataclass
class CompileContext:
    """What element kinds compile with: the checked flow and its value compiler."""

    checked: CheckedFlow
    values: ValueCompiler
    uses_visited: bool = False      # some condition asks WasVisited: record visits
    rolls_back: bool = False        # a Roll Back Records element returns to the start


class CompiledFlow:
    """A checked flow compiled once; `run()` starts an interview."""

    def __init__(self, checked: CheckedFlow) -> None:
        self.checked = checked
        self.name = checked.name
        model = checked.model
        ctx = CompileContext(checked, ValueCompiler(checked))
        self.values = ctx.values
        self.nodes: dict[str, Node] = {name: kind_of(element).compile(ctx, name, element)
                                       for name, element in model.elements.items()}
        self.initial: dict[str, Any] = {}
        needs_org = False
        for name, element in model.elements.items():
            kind = kind_of(element)
            self.nodes[name].link({c.key: self.nodes.get(c.target) if c.target else None
                                   for c in kind.connectors(element)})
            self.initial.update(kind.initial_values(name, element))
            needs_org = needs_org or kind.needs_org(element)
        self.start = self.nodes.get(model.start or "")
        # cycles of two elements that the interview runs in one loop (flowengine.runtime.fused)
        self.fused = fuse_cycles(self.nodes.values())
        self.uses_visited = ctx.uses_visited
        self.rolls_back = ctx.rolls_back
        api = model.api_version
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
        # the interview runs in an org transaction: an element needs one, or a value (of an
        # element, a default, a formula or a template) reads the store
        self.has_actions = needs_org or ctx.values.reads_org or self._formulas_read_org() or \
            checked.templates_read_org
        self.constants = {name: convert_literal(c.value, checked.symbols.get(name).type,  # type: ignore
                                                checked.types) for name, c in model.constants.items()}
        self.trigger = model.trigger
        self.entry = compile_entry(checked, self.values) if model.trigger is not None else None

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

    def _prepare(self, inputs: Mapping[str, Any] | None, record: Any, prior: Any) -> dict[str, Any]:
        """The checked inputs, with `$Record` and `$Record__Prior` when a record is given."""
        prepared = self.prepare_inputs(inputs)
        if record is not None:
            prepared["$Record"] = record
            prepared["$Record__Prior"] = prior
        return prepared

    def _formulas_read_org(self) -> bool:
        """Whether a formula reads the org store: a related record through a lookup, or the
        Organization record."""
        from flowengine.check.symbols import ResolveError
        from flowengine.references import PathSyntaxError

        for formula in self.checked.formulas.values():
            for ref in formula.references:
                try:
                    if reads_store(self.values.resolve(ref), self.checked.types):
                        return True
                except (ResolveError, PathSyntaxError):
                    continue
        return False

    def entry_matches(self, record: Any, prior: Any = None) -> bool:
        """Whether a record (and its prior values) meets the flow's entry conditions — and,
        with `onlyWhenChanged`, did not meet them before the update."""
        if self.entry is None:
            return True
        if not self.entry(self._state(record, prior)):
            return False
        trigger = self.trigger
        if trigger is not None and trigger.onlyWhenChanged and prior is not None:
            return not self.entry(self._state(prior, prior))
        return True

    def _state(self, record: Any, prior: Any) -> Interview:
        st = Interview(self.name, None)
        st.values.update(self.constants)
        st.values["$Record"] = record
        st.values["$Record__Prior"] = prior
        return st

    def run_in(self, transaction: Any, inputs: Mapping[str, Any] | None = None, *,
               record: Any = None, prior: Any = None, limits: Any = None, trace: bool = False,
               max_elements: int | None = None) -> InterviewResult:
        """Run one interview inside a transaction the caller owns (a triggered flow, a
        subflow, an event subscriber): no commit or rollback here — a failed interview's
        result says so and the caller decides. `limits` are the transaction's governor counts
        (shared by every interview in it); `record` and `prior` are `$Record` and
        `$Record__Prior`."""
        prepared = self._prepare(inputs, record, prior)
        st = Interview(self.name, transaction)
        if limits is not None:
            st.limits = limits
        return self._interview(st, prepared, trace, max_elements)

    def run(self, inputs: Mapping[str, Any] | None = None, org: OrgStore | None = None,
            trace: bool = False, max_elements: int | None = None,
            rollback: bool = False, *, record: Any = None, prior: Any = None) -> InterviewResult:
        """Run one interview. Inputs are checked first (InputError). With `org`, the interview
        runs in one transaction: committed when it finishes, rolled back when it fails or when
        `rollback` is set. `record` and `prior` give `$Record` and `$Record__Prior` (a
        triggered flow run by hand)."""
        prepared = self._prepare(inputs, record, prior)
        tx = org.begin() if org is not None and self.has_actions else None
        st = Interview(self.name, tx)
        shared = getattr(tx, "limits", None)     # automation: the transaction's own counts
        if shared is not None:
            st.limits = shared
        committed = False
        result: InterviewResult | None = None
        # a trace is a long list of small acyclic dicts: the cyclic garbage collector would
        # rescan it again and again as it grows, so it pauses while a traced interview runs
        pause_gc = trace and gc.isenabled()
        try:
            if pause_gc:
                gc.disable()
            try:
                if tx is not None and self.rolls_back:
                    start_savepoint(st)
                result = self._interview(st, prepared, trace, max_elements)
            finally:
                if pause_gc:
                    gc.enable()
                if st.base is not None:
                    end_savepoint(st, undo=result is None or not result.ok)
            assert result is not None
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
        values.update(self.initial)
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
        trace_entries = TraceBuffer()
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
                                   None, _entries(st), 0, dict(values), st.limits)
        # `count` is the number of elements run so far, the running one included; when a node's
        # `run` raises, `node` is still the node that raised (the faults below name it)
        try:
            if trace and self.fused:
                # as below, a fused cycle's entries appended by the cycle (fused.AddCycle)
                visit = st.visited.add
                keep = trace_entries.keep
                while node is not None and count < stop:
                    end = min(stop, count + TRACE_CHUNK)
                    while count < end:
                        cycle = node.cycle
                        if cycle is not None:
                            after, done = cycle.run_traced(st, count, stop, trace_entries)
                            if done != count:
                                node, count = after, done
                                if node is None:
                                    break
                                continue
                        count += 1
                        entry = {"step": count, "element": node.name, "type": node.type}
                        keep(entry)
                        visit(node.name)
                        node = node.run_traced(st, entry)
                        if node is None:
                            break
                    trace_entries.compact()
            elif trace:
                visit = st.visited.add
                keep = trace_entries.keep
                while node is not None and count < stop:
                    # a chunk of steps appends to the buffer's list directly; the buffer then
                    # sets aside what it does not keep, so its memory stays bounded
                    first, last = count + 1, min(stop, count + TRACE_CHUNK)
                    for count in range(first, last + 1):
                        entry = {"step": count, "element": node.name, "type": node.type}
                        keep(entry)
                        visit(node.name)
                        node = node.run_traced(st, entry)
                        if node is None:
                            break
                    trace_entries.compact()
            elif self.uses_visited:
                visit = st.visited.add
                for count in range(1, stop + 1):  # noqa: B007 (count is read after the loop)
                    visit(node.name)
                    node = node.run(st)
                    if node is None:
                        break
            elif self.fused:
                # the loop below, but a fused cycle runs its steps in a loop of its own; a step
                # it leaves undone (count unchanged) runs here
                while count < stop:
                    cycle = node.cycle
                    if cycle is not None:
                        after, done = cycle.run(st, count, stop)
                        if done != count:
                            node, count = after, done
                            if node is None:
                                break
                            continue
                    count += 1
                    node = node.run(st)
                    if node is None:
                        break
            else:
                for count in range(1, stop + 1):  # noqa: B007 (count is read after the loop)
                    node = node.run(st)
                    if node is None:
                        break
            recent: list[str] = []
            while node is not None:
                if count >= limit:
                    raise LimitExceeded(_limit_message(recent, node.name, limit), node.name)
                count += 1
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
        except ElementFault as exc:
            fault = Fault(f"{exc.element} ({exc.described}): {exc.message}", exc.element,
                          exc.fault_type, exc.code)
            return self._failed(st, fault, count)
        except FlowRuntimeError as exc:
            assert node is not None
            element = exc.element or node.name
            return self._failed(st, Fault(f"{element} ({node.type}): {exc.message}", element,
                                          "RuntimeError"), count)
        except (ArithmeticError, ValueError, TypeError) as exc:
            assert node is not None
            return self._failed(st, Fault(f"{node.name} ({node.type}): {fault_cause(exc)}",
                                          node.name, "RuntimeError"), count)
        return InterviewResult(self.name, "Finished", {n: values.get(n) for n in self.outputs},
                               None, _entries(st), count, dict(values), st.limits)

    def _failed(self, st: Interview, fault: Fault, count: int) -> InterviewResult:
        last = st.trace.last() if st.trace is not None else None
        if last is not None and fault.element == last["element"]:
            last.setdefault("fault", fault.message)
        return InterviewResult(self.name, "Failed", {n: st.values.get(n) for n in self.outputs},
                               fault, _entries(st), count, dict(st.values), st.limits)


class _RolledBack(Exception):
    """Leaves the transaction's first savepoint undoing what it holds (Roll Back Records)."""


def start_savepoint(st: Interview) -> None:
    """Open the savepoint at the start of the transaction that Roll Back Records returns to."""
    assert st.org is not None
    st.base = st.org.savepoint()
    st.base.__enter__()


def end_savepoint(st: Interview, undo: bool) -> None:
    """Close the start savepoint: release it (keeping what was written) or undo its writes."""
    base, st.base = st.base, None
    if undo:
        base.__exit__(_RolledBack, _RolledBack(), None)
    else:
        base.__exit__(None, None, None)


def roll_back_records(st: Interview) -> None:
    """Undo every record change of the transaction so far (Roll Back Records) and go on in a
    new savepoint."""
    end_savepoint(st, undo=True)
    start_savepoint(st)


def compile_entry(checked: CheckedFlow, values: ValueCompiler) -> Callable[[Interview], bool] | None:
    """The entry conditions of a triggered flow as one test (None: every record enters)."""
    from flowengine.check.trigger import ENTRY
    from flowengine.conditions import Condition, compile_condition, compile_logic, logic_tree

    trigger = checked.model.trigger
    assert trigger is not None
    if trigger.formula is not None:
        formula = checked.formulas.get(f"{ENTRY}.formula")
        if formula is None:
            return None

        def by_formula(st: Interview) -> bool:
            return formula.evaluate(st) is True
        return by_formula
    if not trigger.filters:
        return None
    tests: list[Callable[[Interview], bool]] = []
    for flt in trigger.filters:
        if flt.op == "IsChanged":
            tests.append(_is_changed(flt.field, flt.value is not False))
        else:
            cond = Condition(left=f"$Record.{flt.field}", op=flt.op, right=flt.value)
            tests.append(compile_condition(values, cond).test)
    tree = checked.logic.get((ENTRY, "filters"))
    if tree is None:
        tree = logic_tree("and", len(tests))
    return compile_logic(tree, tests)


def _is_changed(field: str, wanted: bool) -> Callable[[Interview], bool]:
    def test(st: Interview) -> bool:
        record, prior = st.values.get("$Record"), st.values.get("$Record__Prior")
        changed = prior is not None and record is not None and \
            prior.fields.get(field) != record.fields.get(field)
        return changed is wanted
    return test


def _entries(st: Interview) -> list[dict[str, Any]] | None:
    """The interview's trace as the result keeps it (None when it was not traced)."""
    return st.trace.entries() if st.trace is not None else None


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
