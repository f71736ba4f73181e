"""The flow test file format (`*.flowtest.yaml`) as dataclasses.

A test file names one flow and holds named cases; each case gives inputs, an optional org fixture,
action mocks, and what to expect. `reader.py` loads one, checking the file's own structure
(unknown keys with a did-you-mean, wrong kinds of values, each with file:line); whether the names
a case uses exist in its flow is checked against the loaded flow by `flowengine.testing.checks`.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

from flowengine.conditions import CONDITION_OPERATORS
from flowengine.errors import ValidationError
from flowengine.formats.yaml import Document

__all__ = ["Assertion", "Case", "ConditionSpec", "Expectations", "FaultExpectation",
           "FlowTestFile", "FlowTestSpecError", "MockResult", "MockSpec", "RecordExpectation"]

Path_ = tuple[Any, ...]
STATUSES: Final = ("Finished", "Failed")

FILE_KEYS: Final = ("flow", "description", "org", "mocks", "cases")
CASE_KEYS: Final = ("label", "description", "record", "prior", "inputs", "org", "mocks",
                     "maxElements", "expect", "skip", "xfail", "xml")
EXPECT_KEYS: Final = ("status", "outputs", "variables", "visited", "notVisited", "path", "records",
                      "fault", "assertions", "calls", "limits")
# governor counts a case may expect (as in the result's `limits`)
LIMIT_KEYS: Final = ("queries", "queryRows", "dmlStatements", "dmlRows")
RESULT_KEYS: Final = ("outputs", "fault")
MOCK_FAULT_KEYS: Final = ("errorCode", "message")
RECORD_KEYS: Final = ("object", "id", "where", "fields", "count")
FAULT_KEYS: Final = ("message", "contains", "errorCode", "element")
CONDITION_KEYS: Final = ("left", "op", "right")
ASSERTION_KEYS: Final = ("left", "op", "right", "conditions", "logic", "errorMessage")
# the operators of Salesforce's FlowTestCondition: a Decision's, and IsChanged (a field of $Record
# against $Record__Prior) and WasSelected (a screen choice, which flowengine cannot run)
ASSERTION_OPERATORS: Final = (*CONDITION_OPERATORS, "IsChanged", "WasSelected")


class FlowTestSpecError(ValidationError):
    """A flow test file that is not valid; carries every problem with its file and line."""


@dataclass(frozen=True)
class MockResult:
    """What one call of a mocked action does: return `outputs`, or fail with `error_code`."""

    outputs: dict[str, Any] | None = None
    error_code: str | None = None
    message: str = ""
    path: Path_ = ()

    @property
    def is_fault(self) -> bool:
        return self.error_code is not None


@dataclass(frozen=True)
class MockSpec:
    """Mocked calls of an action (or of one Action element): one result for every call
    (`every_call`), or one result per call in order."""

    target: str
    results: tuple[MockResult, ...]
    every_call: bool
    path: Path_ = ()


@dataclass(frozen=True)
class RecordExpectation:
    """Records of `object` (the one with `id`, or those matching `where`, or all) must have
    `fields`; with `count`, exactly that many must match."""

    object: str
    id: str | None
    where: dict[str, Any]
    fields: dict[str, Any]
    count: int | None
    path: Path_


@dataclass(frozen=True)
class FaultExpectation:
    """The fault of the interview: its exact `message`, a part of it, its error code, its element."""

    message: str | None = None
    contains: str | None = None
    error_code: str | None = None
    element: str | None = None
    path: Path_ = ()


@dataclass(frozen=True)
class ConditionSpec:
    """One condition written like a Decision condition: `{left, op, right}`."""

    left: str
    op: str
    right: Any
    path: Path_


@dataclass(frozen=True)
class Assertion:
    """A Salesforce FlowTest-style assertion: conditions joined by `logic`, and the message shown
    when they do not hold."""

    conditions: tuple[ConditionSpec, ...]
    logic: str
    error_message: str | None
    path: Path_


@dataclass
class Expectations:
    """Everything a case checks after the interview; None/empty means "not checked"."""

    status: str | None = None
    outputs: dict[str, Any] = field(default_factory=dict)
    variables: dict[str, Any] = field(default_factory=dict)
    visited: list[str] = field(default_factory=list)
    not_visited: list[str] = field(default_factory=list)
    path: list[str] | None = None
    records: list[RecordExpectation] = field(default_factory=list)
    fault: FaultExpectation | None = None
    assertions: list[Assertion] = field(default_factory=list)
    calls: dict[str, int] = field(default_factory=dict)
    # governor count → (exact count, or the most allowed when `at_most`)
    limits: dict[str, tuple[int, bool]] = field(default_factory=dict)


@dataclass
class Case:
    """One test case: how to run the flow and what to expect. A triggered flow's case gives the
    triggering `record` (`$Record`) and, for an update, the `prior` one (`$Record__Prior`; the
    fields `record` leaves out keep their prior values)."""

    name: str
    description: str | None
    inputs: dict[str, Any]
    org: Path | None
    mocks: dict[str, MockSpec]
    max_elements: int | None
    expect: Expectations
    skip: str | None
    xfail: str | None
    path: Path_
    line: int
    label: str | None = None
    record: dict[str, Any] | None = None
    prior: dict[str, Any] | None = None
    xml: dict[str, Any] | None = None       # what a Salesforce FlowTest holds that is not read


@dataclass
class FlowTestFile:
    """A parsed, structurally valid flow test file: a `*.flowtest.yaml` or a Salesforce Flow
    Test (`*.flowtest-meta.xml`, one case). The flow is a file (`flow_path`) or an API name
    (`flow_name`) found in the test's project."""

    path: Path
    doc: Document
    flow_path: Path | None
    description: str | None
    cases: list[Case]
    flow_name: str | None = None
    salesforce: bool = False                # read from a Salesforce FlowTest file

    def locate(self, path: Path_, key: bool = False) -> tuple[int, int] | None:
        """Line and column of a node of the test file (see `Document.locate`)."""
        return self.doc.locate(path, key=key)

    def where(self, path: Path_, key: bool = False) -> str:
        """`file:line` of a node, for messages."""
        mark = self.locate(path, key)
        return f"{self.path}:{mark[0]}" if mark else str(self.path)


def display(path: Path_) -> str:
    """`cases.cancel_one.expect.outputs.qty` / `...records[0]`: a path as users write it."""
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out
