"""A case checked against the flow it tests, before anything runs.

Every name a case uses (inputs, outputs, variables, elements, mocks, objects and fields) must
exist in the flow or the org, and every expected value must fit the type it is compared with.
Problems point at the line of the test file, with a did-you-mean; the result is a
`PreparedCase` whose expected values are already converted to flow values and whose FlowTest
assertions are compiled exactly like Decision conditions.
"""
from __future__ import annotations

import datetime as _dt
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from flowengine.check.symbols import did_you_mean
from flowengine.elements import kind_of
from flowengine.errors import FlowError, Problem, ValidationError
from flowengine.runtime.access import new_guid
from flowengine.testing.spec import Case, FlowTestFile, Path_, display
from flowengine.types import FlowType, ValueTypeError, convert_literal

if TYPE_CHECKING:
    from flowengine.api import Flow
    from flowengine.plugins import Action

__all__ = ["CaseSpecError", "CompiledAssertion", "FinalState", "PreparedCase", "ValueCheck",
           "prepare_case"]


class CaseSpecError(ValidationError):
    """A case that does not fit its flow (unknown names, values of the wrong type)."""


@dataclass
class FinalState:
    """What an interview left behind, shaped like the interpreter's state so that compiled
    getters and conditions can read it."""

    values: dict[str, Any]
    visited: set[str]
    errors: set[str]
    flow_name: str
    org: Any = None
    trace: Any = None
    loops: dict[str, Any] = field(default_factory=dict)
    memo: dict[str, Any] | None = None
    indexes: dict[object, Any] = field(default_factory=dict)
    guid: str = field(default_factory=new_guid)
    start_time: _dt.datetime = field(
        default_factory=lambda: _dt.datetime.now(_dt.UTC).replace(microsecond=0))


@dataclass
class ValueCheck:
    """`label` (e.g. `outputs.counter`) must read `expected` from the final state."""

    label: str
    path: Path_
    read: Callable[[Any, FinalState], Any]      # (result, state) -> actual value
    expected: Any


@dataclass
class CompiledAssertion:
    label: str
    path: Path_
    test: Callable[[FinalState], bool]
    conditions: list[tuple[str, Callable[[FinalState], Any]]]   # (text, left getter)
    error_message: str | None
    logic: str = "and"


@dataclass
class PreparedCase:
    case: Case
    inputs: dict[str, Any]
    values: list[ValueCheck]
    assertions: list[CompiledAssertion]
    record_types: dict[int, dict[str, FlowType]]       # index of records[] -> field types
    record_expected: dict[int, dict[str, Any]]          # converted expected field values
    action_elements: frozenset[str]


def prepare_case(test: FlowTestFile, case: Case, flow: Flow) -> PreparedCase:
    """Check `case` against `flow`; raises CaseSpecError with every problem."""
    return _Preparer(test, case, flow).run()


class _Preparer:
    def __init__(self, test: FlowTestFile, case: Case, flow: Flow) -> None:
        self.test = test
        self.case = case
        self.flow = flow
        self.checked = flow.checked
        self.model = flow.checked.model
        self.types = flow.checked.types
        self.problems: list[Problem] = []
        self.elements = list(self.model.elements)
        self.action_elements = {n for n, e in self.model.elements.items()
                                if kind_of(e).facts(e).action is not None}
        self.actions: dict[str, Action] = {}
        for action in self.checked.actions.values():
            self.actions.setdefault(action.name.lower(), action)
        self._values: Any = None

    @property
    def values(self) -> Any:
        if self._values is None:
            from flowengine.runtime.values import ValueCompiler
            self._values = ValueCompiler(self.checked)
        return self._values

    def error(self, path: Path_, message: str, key: bool = False) -> None:
        mark = self.test.locate(path, key=key)
        self.problems.append(Problem("error", "flowtest", message, str(self.test.path),
                                     mark[0] if mark else None, mark[1] if mark else None,
                                     display(path) or None))

    def run(self) -> PreparedCase:
        case, base = self.case, self.case.path
        expect = case.expect
        inputs = self.check_inputs()
        self.check_mocks()
        values: list[ValueCheck] = []
        outputs = {n for n, v in self.model.variables.items() if v.output}
        for name, raw in expect.outputs.items():
            path = base + ("expect", "outputs", name)
            if name not in outputs:
                self.error(path, f"{name!r} is not an output variable of flow {self.model.flow}"
                           f"{did_you_mean(str(name), outputs)} (outputs: "
                           f"{', '.join(sorted(outputs)) or 'none'})", key=True)
                continue
            vtype = self.checked.symbols.get(name).type  # type: ignore[union-attr]
            expected = self.convert(raw, vtype, path)
            if expected is not _BAD:
                values.append(ValueCheck(f"outputs.{name}", path, _output(name), expected))
        for text, raw in expect.variables.items():
            check = self.variable_check(str(text), raw, base + ("expect", "variables", text))
            if check is not None:
                values.append(check)
        for key in ("visited", "not_visited"):
            for i, name in enumerate(getattr(expect, key)):
                self.check_element(name, base + ("expect", _camel(key), i))
        for i, name in enumerate(expect.path or []):
            self.check_element(name, base + ("expect", "path", i))
        if expect.fault and expect.fault.element:
            self.check_element(expect.fault.element, expect.fault.path + ("element",))
        for target in expect.calls:
            self.check_call_target(target, base + ("expect", "calls", target))
        record_types, record_expected = self.check_records()
        assertions = self.compile_assertions()
        if self.problems:
            raise CaseSpecError(self.problems)
        return PreparedCase(case, inputs, values, assertions, record_types, record_expected,
                            frozenset(self.action_elements))

    # -- values ------------------------------------------------------------------------------------
    def convert(self, raw: Any, target: FlowType | None, path: Path_) -> Any:
        if target is None:
            return raw
        try:
            return convert_literal(raw, target, self.types)
        except ValueTypeError as exc:
            self.error(path, f"expected value {exc}")
            return _BAD

    def variable_check(self, text: str, raw: Any, path: Path_) -> ValueCheck | None:
        from flowengine.check.symbols import ResolveError
        from flowengine.references import PathSyntaxError, check_path

        try:
            rp = self.checked.symbols.resolve(check_path(text))
        except (ResolveError, PathSyntaxError) as exc:
            self.error(path, str(exc), key=True)
            return None
        expected = self.convert(raw, rp.type, path)
        if expected is _BAD:
            return None
        getter = self.values.ref_getter(rp)
        return ValueCheck(f"variables.{text}", path, lambda res, st: getter(st), expected)

    def check_inputs(self) -> dict[str, Any]:
        from flowengine.errors import InputError

        prepared: dict[str, Any] = {}
        for name, raw in self.case.inputs.items():
            try:
                prepared.update(self.flow.compiled.prepare_inputs({name: raw}))
            except InputError as exc:
                self.error(self.case.path + ("inputs", name), str(exc), key=True)
        return prepared

    def check_element(self, name: str, path: Path_) -> None:
        if name not in self.model.elements:
            self.error(path, f"flow {self.model.flow} has no element {name!r}"
                       f"{did_you_mean(name, self.elements)}")

    # -- mocks and calls ------------------------------------------------------------------------------
    def mock_action(self, target: str, path: Path_, what: str) -> Action | None:
        if target in self.action_elements:
            return self.checked.actions.get(target)
        action = self.actions.get(target.lower())
        if action is None:
            known = sorted(self.action_elements) + sorted(a.name for a in self.actions.values())
            self.error(path, f"{what} {target!r} is neither an Action element nor an action that "
                       f"flow {self.model.flow} calls{did_you_mean(target, known)} "
                       f"(known: {', '.join(known) or 'none'})", key=True)
        return action

    def check_mocks(self) -> None:
        for target, mock in self.case.mocks.items():
            action = self.mock_action(target, mock.path, "mock")
            if action is None:
                continue
            for result in mock.results:
                for name, raw in (result.outputs or {}).items():
                    where = result.path + ("outputs", name)
                    param = action.output(name)
                    if param is None:
                        names = [p.name for p in action.outputs]
                        self.error(where, f"action {action.name} has no output {name!r}"
                                   f"{did_you_mean(name, names)} (outputs: "
                                   f"{', '.join(names) or 'none'})", key=True)
                        continue
                    try:
                        convert_literal(raw, param.type, self.types)
                    except ValueTypeError as exc:
                        self.error(where, f"mocked output {name} ({param.type}): {exc}")

    def check_call_target(self, target: str, path: Path_) -> None:
        self.mock_action(target, path, "calls:")

    # -- records ----------------------------------------------------------------------------------
    def check_records(self) -> tuple[dict[int, dict[str, FlowType]], dict[int, dict[str, Any]]]:
        types: dict[int, dict[str, FlowType]] = {}
        expected: dict[int, dict[str, Any]] = {}
        for i, rec in enumerate(self.case.expect.records):
            schema = self.types.object_schema(rec.object)
            if schema is None:
                self.error(rec.path + ("object",), f"unknown object {rec.object!r}"
                           f"{did_you_mean(rec.object, self.types.object_names())} (objects: "
                           f"{', '.join(self.types.object_names()) or 'none'})")
                continue
            ftypes = dict(schema.field_types())
            types[i] = ftypes
            converted: dict[str, Any] = {}
            for part in ("where", "fields"):
                for name, raw in getattr(rec, part).items():
                    where = rec.path + (part, name)
                    if name not in ftypes:
                        self.error(where, f"{schema.name} has no field {name!r}"
                                   f"{did_you_mean(str(name), ftypes)}", key=True)
                        continue
                    value = self.convert(raw, ftypes[name], where)
                    if part == "fields" and value is not _BAD:
                        converted[name] = value
            expected[i] = converted
        return types, expected

    # -- FlowTest assertions -------------------------------------------------------------------------
    def compile_assertions(self) -> list[CompiledAssertion]:
        from flowengine.check.context import SymbolContext
        from flowengine.conditions import (
            Condition,
            LogicError,
            check_condition,
            compile_condition,
            compile_logic,
            logic_tree,
        )

        if not self.case.expect.assertions:
            return []
        # the flow's own names, with problems pointed at the test file: the same rules and
        # messages as a Decision condition, with lines in the test file
        checker = SymbolContext(self.model, self.test.doc, self.checked.types, self.checked.symbols)
        compiled: list[CompiledAssertion] = []
        for i, assertion in enumerate(self.case.expect.assertions):
            conds = []
            for spec in assertion.conditions:
                cond = Condition(left=spec.left, op=spec.op, right=spec.right)
                before = len(checker.problems.items)
                check_condition(checker, spec.path, cond)
                if len(checker.problems.items) == before:
                    conds.append(cond)
            try:
                tree = logic_tree(assertion.logic, len(assertion.conditions))
            except LogicError as exc:
                self.error(assertion.path + ("logic",), str(exc))
                continue
            if len(conds) != len(assertion.conditions):
                continue
            try:
                parts = [compile_condition(self.values, c) for c in conds]
            except FlowError as exc:          # pragma: no cover - the checks above caught it
                self.error(assertion.path, str(exc))
                continue
            compiled.append(CompiledAssertion(
                f"assertions[{i}]", assertion.path, compile_logic(tree, [p.test for p in parts]),
                [(p.text, p.left) for p in parts], assertion.error_message,
                assertion.logic.strip().lower() if assertion.logic.strip().lower() in ("and", "or")
                else assertion.logic))
        self.problems.extend(p for p in checker.problems.items if p.severity == "error")
        return compiled


class _Bad:
    def __repr__(self) -> str:
        return "<invalid>"


_BAD: Any = _Bad()


def _output(name: str) -> Callable[[Any, FinalState], Any]:
    def read(result: Any, state: FinalState) -> Any:
        return result.outputs.get(name)
    return read


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(p.title() for p in rest)
