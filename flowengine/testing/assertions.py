"""Comparing what an interview did with what a case expects.

Each failed expectation becomes a `Mismatch`: what was checked, where the expectation is written
(file:line), the expected and the actual value as text. Values are compared as flow values: numbers
by value (`3` equals `3.00`), text exactly, record Ids in their 15- or 18-character form, and an
expected object (a mapping) checks only the fields it lists.
"""
from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Final

from flowengine.errors import FlowRuntimeError
from flowengine.org.ids import looks_like_id
from flowengine.types import ObjectValue, to_json

if TYPE_CHECKING:
    from flowengine.runtime import InterviewResult
    from flowengine.testing.checks import CompiledAssertion, FinalState, PreparedCase
    from flowengine.testing.mocks import MockPlan
    from flowengine.testing.spec import FaultExpectation, FlowTestFile, Path_

__all__ = ["Mismatch", "evaluate", "same", "show"]


@dataclass
class Mismatch:
    """One failed expectation."""

    label: str
    where: str
    expected: str
    actual: str
    note: str = ""

    def render(self) -> str:
        lines = [f"{self.label}  ({self.where})",
                 f"    expected: {self.expected}",
                 f"    actual:   {self.actual}"]
        if self.note:
            lines.append(f"    {self.note}")
        return "\n".join(lines)


def show(value: Any) -> str:
    """A flow value as compact JSON text, cut after MAX_SHOWN characters (a failure must stay
    readable when an output is a megabyte)."""
    return shorten(json.dumps(to_json(value), ensure_ascii=False, default=str), MAX_SHOWN)


MAX_SHOWN: Final = 1_000         # characters of one value in a failure


def shorten(text: str, limit: int) -> str:
    """`text`, or its first `limit` characters and how many more there were."""
    if len(text) <= limit:
        return text
    return f"{text[:limit]}… ({len(text) - limit:,} more characters)"


def same(expected: Any, actual: Any) -> bool:
    """Does `actual` match `expected`? Objects match on the fields that `expected` lists."""
    if isinstance(expected, ObjectValue):
        if not isinstance(actual, ObjectValue) or \
                actual.type_name.lower() != expected.type_name.lower():
            return False
        return all(same(v, actual.fields.get(k)) for k, v in expected.fields.items())
    if isinstance(expected, dict):
        if isinstance(actual, ObjectValue):
            actual = actual.fields
        if not isinstance(actual, dict):
            return False
        return all(same(v, actual.get(k)) for k, v in expected.items())
    if isinstance(expected, list):
        return isinstance(actual, list) and len(actual) == len(expected) and \
            all(same(e, a) for e, a in zip(expected, actual))
    if isinstance(expected, str) and isinstance(actual, str):
        return expected == actual or _same_id(expected, actual)
    if isinstance(expected, bool) or isinstance(actual, bool):
        return expected is actual
    if _number(expected) and _number(actual):
        return Decimal(str(expected)) == Decimal(str(actual))
    return bool(expected == actual)


def _number(value: Any) -> bool:
    return isinstance(value, (int, float, Decimal)) and not isinstance(value, bool)


def _same_id(a: str, b: str) -> bool:
    """`0a4DM0000000001` and `0a4DM0000000001YAA` name the same record."""
    return len(a) != len(b) and looks_like_id(a) and looks_like_id(b) and a[:15] == b[:15]


def evaluate(test: FlowTestFile, prepared: PreparedCase, result: InterviewResult,
             state: FinalState, plan: MockPlan, records: Sequence[Mismatch] = ()) -> list[Mismatch]:
    """Every failed expectation of a case, in the order they are written."""
    case = prepared.case
    expect = case.expect
    out: list[Mismatch] = []
    base = case.path + ("expect",)

    def where(path: Path_) -> str:
        return test.where(path)

    wanted_status = expect.status or (None if expect.fault else "Finished")
    if wanted_status and result.status != wanted_status:
        note = f"error: {result.error.message}" if result.error else ""
        at = where(base + ("status",)) if expect.status else test.where(case.path, key=True)
        label = "status" if expect.status else "status (expected Finished by default)"
        out.append(Mismatch(label, at, wanted_status, result.status, note))
    for check in prepared.values:
        try:
            actual = check.read(result, state)
        except FlowRuntimeError as exc:
            out.append(Mismatch(check.label, where(check.path), show(check.expected),
                                f"<cannot be read: {exc.message}>"))
            continue
        if not same(check.expected, actual):
            out.append(Mismatch(check.label, where(check.path), show(check.expected), show(actual)))
    from flowengine.runtime.trace import is_summary, visits_in

    trace = result.trace or []
    executed = [entry["element"] for entry in trace if not is_summary(entry)]
    ran = set(visits_in(trace))
    missing = [n for n in expect.visited if n not in ran]
    if missing:
        out.append(Mismatch("visited", where(base + ("visited",)), _names(expect.visited),
                            _names(sorted(ran, key=lambda n: executed.index(n) if n in executed
                                               else len(executed))),
                            f"never ran: {', '.join(missing)}"))
    unwanted = [n for n in expect.not_visited if n in ran]
    if unwanted:
        steps = ", ".join(f"{n} (step {executed.index(n) + 1})" if n in executed else n
                          for n in unwanted)
        out.append(Mismatch("notVisited", where(base + ("notVisited",)),
                            f"none of {_names(expect.not_visited)}", f"ran {steps}"))
    summarised = next((e for e in trace if is_summary(e)), None)
    if expect.path is not None and summarised is not None:
        out.append(Mismatch("path", where(base + ("path",)), f"{len(expect.path)} steps",
                            f"{result.elements_executed:,} steps, more than a trace keeps "
                            "(a path is checked for runs of at most "
                            f"{len(trace) - 1:,} steps)"))
    elif expect.path is not None and executed != expect.path:
        out.append(_path_mismatch(expect.path, executed, where(base + ("path",))))
    if expect.fault is not None:
        out.extend(_fault_mismatches(expect.fault, result, state, plan, where))
    for target, count in expect.calls.items():
        actual_count = plan.count(target)
        if actual_count != count:
            out.append(Mismatch(f"calls.{target}", where(base + ("calls", target)),
                                f"{count} call{'s' if count != 1 else ''}",
                                f"{actual_count} call{'s' if actual_count != 1 else ''}"))
    used = result.limits.to_json()
    for key, (count, at_most) in expect.limits.items():
        actual_count = used[key]["used"]
        if actual_count > count if at_most else actual_count != count:
            out.append(Mismatch(f"limits.{key}", where(base + ("limits", key)),
                                f"at most {count:,}" if at_most else f"{count:,}",
                                f"{actual_count:,}"))
    out.extend(records)
    for assertion in prepared.assertions:
        out.extend(_assertion_mismatch(assertion, state, where(assertion.path)))
    for message in plan.overruns:
        out.append(Mismatch("mocks", where(case.path + ("mocks",)), "a mocked result per call",
                            "more calls than results", message))
    return out


def _assertion_mismatch(assertion: CompiledAssertion, state: FinalState,
                        where: str) -> list[Mismatch]:
    """A FlowTest assertion that does not hold: its conditions and the values they saw."""
    try:
        if assertion.test(state):
            return []
        error = ""
    except FlowRuntimeError as exc:
        error = exc.message
    lefts = []
    for text, left in assertion.conditions:
        name = text.split(" ", 1)[0]
        try:
            lefts.append(f"{name} = {show(left(state))}")
        except FlowRuntimeError as exc:
            lefts.append(f"{name} cannot be read ({exc.message})")
    label = assertion.label + (f": {assertion.error_message}" if assertion.error_message else "")
    expected = " and ".join(text for text, _ in assertion.conditions)
    if assertion.logic not in ("and", ""):
        expected += f" (logic: {assertion.logic})"
    actual = ", ".join(lefts) + (f" → {error}" if error else " → false")
    return [Mismatch(label, where, expected, actual)]


def _names(names: Iterable[str]) -> str:
    return ", ".join(names) or "(none)"


def _path_mismatch(expected: list[str], actual: list[str], where: str) -> Mismatch:
    step = next((i for i, (e, a) in enumerate(zip(expected, actual)) if e != a),
                min(len(expected), len(actual)))
    got = actual[step] if step < len(actual) else "the end of the interview"
    want = expected[step] if step < len(expected) else "the end of the interview"
    note = f"first difference at step {step + 1}: expected {want}, got {got}"
    return Mismatch("path", where, _arrows(expected), _arrows(actual), note)


def _arrows(names: list[str], limit: int = 30) -> str:
    if len(names) > limit:
        head = " → ".join(names[: limit - 5])
        return f"{head} → … ({len(names) - limit + 5} more) → " + " → ".join(names[-5:])
    return " → ".join(names) or "(no elements)"


def _fault_mismatches(spec: FaultExpectation, result: InterviewResult, state: FinalState,
                      plan: MockPlan, where: Any) -> list[Mismatch]:
    """The interview's fault: the unhandled one of a Failed interview, else the last one a fault
    connector handled (`$Flow.FaultMessage`)."""
    from flowengine.references import FAULT_MESSAGE_KEY

    message: str | None
    if result.error is not None:
        message, element, code = result.error.message, result.error.element, result.error.error_code
    else:
        message = state.values.get(FAULT_MESSAGE_KEY)
        faulted = [e for e in (result.trace or []) if "fault" in e]
        element = faulted[-1]["element"] if faulted else None
        failed_calls = [c for c in plan.calls if c.error_code is not None and c.element == element]
        code = failed_calls[-1].error_code if failed_calls else None
    if message is None:
        return [Mismatch("fault", where(spec.path), _fault_text(spec), "no fault: the interview "
                         f"{result.status.lower()} without an error")]
    out = []
    if spec.message is not None and message != spec.message:
        out.append(Mismatch("fault.message", where(spec.path + ("message",)),
                            json.dumps(spec.message), json.dumps(message)))
    if spec.contains is not None and spec.contains not in message:
        out.append(Mismatch("fault.contains", where(spec.path + ("contains",)),
                            f"a message containing {json.dumps(spec.contains)}", json.dumps(message)))
    if spec.error_code is not None and code != spec.error_code:
        out.append(Mismatch("fault.errorCode", where(spec.path + ("errorCode",)), spec.error_code,
                            str(code), f"message: {message}"))
    if spec.element is not None and element != spec.element:
        out.append(Mismatch("fault.element", where(spec.path + ("element",)), spec.element,
                            str(element), f"message: {message}"))
    return out


def _fault_text(spec: FaultExpectation) -> str:
    parts = []
    if spec.message:
        parts.append(json.dumps(spec.message))
    if spec.contains:
        parts.append(f"containing {json.dumps(spec.contains)}")
    if spec.error_code:
        parts.append(f"errorCode {spec.error_code}")
    if spec.element:
        parts.append(f"at {spec.element}")
    return "a fault " + ", ".join(parts)
