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
    record: Any = None                                  # $Record (a RecordValue), or None
    prior: Any = None                                   # $Record__Prior


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
        record, prior = self.triggering_records()
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
                            frozenset(self.action_elements), record, prior)

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

    # -- the triggering record ----------------------------------------------------------------
    def triggering_records(self) -> tuple[Any, Any]:
        """`record:` and `prior:` as `$Record` and `$Record__Prior`, checked against the
        flow's trigger: a create test (a record) or an update test (a record and its prior
        values) of a flow that such a change starts. Fields the record leaves out keep their
        prior values."""
        case, trigger = self.case, self.model.trigger
        base = case.path
        if trigger is None:
            if case.record is not None:
                self.error(base + ("record",), f"flow {self.model.flow} has no trigger: a "
                           "triggering record ($Record) is only for flows a record change or a "
                           "platform event starts", key=True)
            return None, None
        if case.record is None:
            if trigger.type != "PlatformEvent":
                self.error(base, f"flow {self.model.flow} starts when {_change(trigger)}: give "
                           "the triggering record (record:, or an InputTriggeringRecordInitial "
                           "parameter of $Record at the Start test point)", key=True)
            return None, None
        if case.prior is not None and trigger.on not in ("Update", "CreateAndUpdate"):
            self.error(base + ("prior",), f"flow {self.model.flow} starts when "
                       f"{_change(trigger)}, not when one is updated: an update test (prior: and "
                       "record:, or InputTriggeringRecordInitial and InputTriggeringRecordUpdated) "
                       "does not fit it; give record: only", key=True)
        elif case.prior is None and trigger.on == "Update":
            self.error(base + ("record",), f"flow {self.model.flow} starts when "
                       f"{_change(trigger)}: give prior: too, the record before the update (an "
                       "InputTriggeringRecordUpdated parameter with the InputTriggeringRecordInitial "
                       "one)", key=True)
        prior = self._record_value(trigger.object, case.prior, "prior")
        merged = {**(case.prior or {}), **case.record}
        return self._record_value(trigger.object, merged, "record"), prior

    def _record_value(self, object_name: str, fields: dict[str, Any] | None, key: str) -> Any:
        from flowengine.types import RecordValue

        if fields is None:
            return None
        fields = {k: v for k, v in fields.items() if k != "attributes"}  # REST's sObject JSON
        rtype = FlowType("Record", object=object_name)
        try:
            value = convert_literal(fields, rtype, self.types)
        except (ValueTypeError, ValueError) as exc:
            self.error(self.case.path + (key,), f"{key} (a {object_name} record): {exc}")
            return None
        return value if isinstance(value, RecordValue) else None

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
            parts: list[Any] = []
            for spec in assertion.conditions:
                if spec.op == "IsChanged":
                    part = self.is_changed(checker, spec)
                    if part is not None:
                        parts.append(part)
                    continue
                cond = Condition(left=spec.left, op=spec.op, right=spec.right)
                before = len(checker.problems.items)
                check_condition(checker, spec.path, cond)
                if len(checker.problems.items) == before:
                    try:
                        parts.append(compile_condition(self.values, cond))
                    except FlowError as exc:   # pragma: no cover - the checks above caught it
                        self.error(spec.path, str(exc))
            try:
                tree = logic_tree(assertion.logic, len(assertion.conditions))
            except LogicError as exc:
                self.error(assertion.path + ("logic",), str(exc))
                continue
            if len(parts) != len(assertion.conditions):
                continue
            compiled.append(CompiledAssertion(
                f"assertions[{i}]", assertion.path, compile_logic(tree, [p.test for p in parts]),
                [(p.text, p.left) for p in parts], assertion.error_message,
                assertion.logic.strip().lower() if assertion.logic.strip().lower() in ("and", "or")
                else assertion.logic))
        self.problems.extend(p for p in checker.problems.items if p.severity == "error")
        return compiled

    def is_changed(self, checker: Any, spec: Any) -> Any:
        """`$Record.Field IsChanged true|false`: the field's value differs from its value in
        `$Record__Prior` (false in a create test, which has no prior record), compared as the
        entry conditions' IsChanged compares it."""
        from flowengine.conditions import CompiledCondition

        trigger = self.model.trigger
        head, _, field_name = spec.left.partition(".")
        schema = self.types.object_schema(trigger.object) if trigger is not None else None
        fields = dict(schema.field_types()) if schema is not None else {}
        if head != "$Record" or not field_name or "." in field_name or trigger is None:
            self.error(spec.path + ("left",), "IsChanged compares a field of the triggering "
                       f"record with its prior value: left must be $Record.FieldName, found "
                       f"{spec.left!r}")
            return None
        if field_name not in fields:
            self.error(spec.path + ("left",), f"{trigger.object} has no field {field_name!r}"
                       f"{did_you_mean(field_name, fields)}")
            return None
        before = len(checker.problems.items)
        checker.check_value(spec.right, FlowType("Boolean"), spec.path + ("right",),
                            context="IsChanged takes true or false: ")
        if len(checker.problems.items) != before or not isinstance(spec.right, bool):
            if len(checker.problems.items) == before:
                self.error(spec.path + ("right",), "IsChanged takes true or false")
            return None
        wanted = spec.right

        def changed(st: Any) -> bool:
            record, prior = st.values.get("$Record"), st.values.get("$Record__Prior")
            moved = prior is not None and record is not None and \
                prior.fields.get(field_name) != record.fields.get(field_name)
            return moved is wanted

        def left(st: Any) -> Any:
            record = st.values.get("$Record")
            return record.fields.get(field_name) if record is not None else None
        return CompiledCondition(changed, left, f"{spec.left} IsChanged {show_bool(wanted)}")


def _change(trigger: Any) -> str:
    if trigger.type == "PlatformEvent":
        return f"a {trigger.object} event is published"
    what = {"Create": "created", "Update": "updated", "CreateAndUpdate": "created or updated",
            "Delete": "deleted"}.get(str(trigger.on), "changed")
    return f"a {trigger.object} record is {what}"


def show_bool(value: bool) -> str:
    return "true" if value else "false"


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
