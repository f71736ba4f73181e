"""Reading a flow test file's YAML into the dataclasses of `flowengine.testing.spec`
(`load_flowtest`, `parse_flowtest`).

Every problem is collected (unknown keys with a did-you-mean, values of the wrong kind), each with
the line and column of the test file, and raised once by `parse_flowtest`.
"""
from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any, Final

from flowengine.check.symbols import did_you_mean
from flowengine.errors import Problem
from flowengine.formats.yaml import Document, read_yaml
from flowengine.testing.spec import (
    ASSERTION_KEYS,
    ASSERTION_OPERATORS,
    CASE_KEYS,
    CONDITION_KEYS,
    EXPECT_KEYS,
    FAULT_KEYS,
    FILE_KEYS,
    LIMIT_KEYS,
    MOCK_FAULT_KEYS,
    RECORD_KEYS,
    RESULT_KEYS,
    STATUSES,
    Assertion,
    Case,
    ConditionSpec,
    Expectations,
    FaultExpectation,
    FlowTestFile,
    FlowTestSpecError,
    MockResult,
    MockSpec,
    Path_,
    RecordExpectation,
    display,
)
from flowengine.types import describe

# `flow: Name` names a flow by its API name (found in the test's project); anything else is a file
API_NAME: Final = re.compile(r"[A-Za-z][A-Za-z0-9_]*")


class SpecReader:
    """Walks the document, collecting every problem instead of stopping at the first."""

    def __init__(self, doc: Document, salesforce: bool = False) -> None:
        self.doc = doc
        self.file = doc.file or "<flowtest>"
        self.salesforce = salesforce
        self.problems: list[Problem] = []

    def error(self, path: Path_, message: str, key: bool = False) -> None:
        mark = self.doc.locate(path, key=key)
        self.problems.append(Problem("error", "flowtest", message, self.file,
                                     mark[0] if mark else None, mark[1] if mark else None,
                                     display(path) or None))

    # -- generic shapes -------------------------------------------------------------------------
    def mapping(self, value: Any, path: Path_, allowed: tuple[str, ...], what: str,
                required: tuple[str, ...] = ()) -> dict[str, Any] | None:
        if not isinstance(value, dict):
            self.error(path, f"{what} must be a mapping, found {describe(value)}")
            return None
        for key in value:
            if key not in allowed:
                self.error(path + (key,), f"unknown key {key!r} in {what}"
                           f"{did_you_mean(str(key), allowed)} (allowed: {', '.join(allowed)})",
                           key=True)
        for key in required:
            if key not in value:
                self.error(path, f"{what} is missing the required key {key!r}")
        return value

    def text(self, value: Any, path: Path_, what: str, optional: bool = True) -> str | None:
        if value is None and optional:
            return None
        if not isinstance(value, str) or not value.strip():
            self.error(path, f"{what} must be text, found {describe(value)}")
            return None
        return value

    def names(self, value: Any, path: Path_, what: str) -> list[str]:
        if value is None:
            return []
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, list):
            self.error(path, f"{what} must be a list of element names, found {describe(value)}")
            return []
        names = []
        for i, item in enumerate(value):
            if isinstance(item, str) and item.strip():
                names.append(item.strip())
            else:
                self.error(path + (i,), f"{what} must list element names, found {describe(item)}")
        return names

    def count(self, value: Any, path: Path_, what: str, minimum: int) -> int | None:
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
            self.error(path, f"{what} must be a whole number of at least {minimum}, "
                       f"found {describe(value)}")
            return None
        return value

    def plain_mapping(self, value: Any, path: Path_, what: str) -> dict[str, Any]:
        if value is None:
            return {}
        if not isinstance(value, dict):
            self.error(path, f"{what} must be a mapping of names to values, found {describe(value)}")
            return {}
        return dict(value)

    def reason(self, value: Any, path: Path_, what: str) -> str | None:
        """`skip:`/`xfail:` take a reason (text) or true."""
        if value is None or value is False:
            return None
        if value is True:
            return f"marked {what} in the flow test file"
        if isinstance(value, str) and value.strip():
            return value
        self.error(path, f"{what} takes a reason (text) or true, found {describe(value)}")
        return None

    # -- the file ---------------------------------------------------------------------------------
    def read_file(self) -> FlowTestFile | None:
        data = self.doc.data
        if not isinstance(data, dict):
            self.error((), "a flow test file must be a mapping with 'flow' (the flow file, "
                       f"relative to this file) and 'cases'; found {describe(data)}")
            return None
        self.mapping(data, (), FILE_KEYS, "the flow test file", required=("flow", "cases"))
        base = Path(self.file).parent
        flow = self.text(data.get("flow"), ("flow",), "flow", optional="flow" not in data)
        description = self.text(data.get("description"), ("description",), "description")
        default_org = self._org(data, (), base)
        default_mocks = self.mocks(data.get("mocks"), ("mocks",))
        cases: list[Case] = []
        raw_cases = data.get("cases")
        if "cases" in data:
            if not isinstance(raw_cases, dict) or not raw_cases:
                self.error(("cases",), "cases must be a mapping of case names to cases (at least "
                           f"one), found {describe(raw_cases)}")
            else:
                for name, raw in raw_cases.items():
                    case = self.case(str(name), raw, ("cases", name), base, default_org,
                                     default_mocks)
                    if case is not None:
                        cases.append(case)
        if flow is None:
            return None
        if self.salesforce or API_NAME.fullmatch(flow.strip()):
            return FlowTestFile(Path(self.file), self.doc, None, description, cases,
                                flow_name=flow.strip(), salesforce=self.salesforce)
        return FlowTestFile(Path(self.file), self.doc, base / flow, description, cases)

    def _org(self, data: dict[str, Any], path: Path_, base: Path,
             inherited: Path | None = None) -> Path | None:
        if "org" not in data:
            return inherited
        value = data["org"]
        if value is None:
            return None                       # `org: null` turns a file-wide fixture off
        text = self.text(value, path + ("org",), "org (a fixture file, relative to this file)")
        return base / text if text else None

    def case(self, name: str, raw: Any, path: Path_, base: Path, default_org: Path | None,
             default_mocks: dict[str, MockSpec]) -> Case | None:
        if raw is None:
            raw = {}
        data = self.mapping(raw, path, CASE_KEYS, f"case {name!r}")
        if data is None:
            return None
        mocks = dict(default_mocks)
        mocks.update(self.mocks(data.get("mocks"), path + ("mocks",)))
        expect = self.expectations(data.get("expect"), path + ("expect",))
        mark = self.doc.locate(path, key=True)
        record = self.record(data, "record", path)
        prior = self.record(data, "prior", path)
        if prior is not None and "record" not in data:
            self.error(path + ("prior",), "prior is the record before an update: give record "
                       "too (the record after it)", key=True)
        xml = data.get("xml")
        if xml is not None and not isinstance(xml, dict):
            self.error(path + ("xml",), "xml keeps what a Salesforce Flow Test holds that "
                       f"flowengine does not read: a mapping, found {describe(xml)}")
            xml = None
        for key in xml or {}:
            if key not in XML_KEYS and not self.salesforce:    # the XML reader refused it
                self.error(path + ("xml", key), f"unknown key {key!r} in xml:"
                           f"{did_you_mean(str(key), XML_KEYS)} (xml: keeps the parts of a "
                           f"Salesforce Flow Test flowengine does not read: {', '.join(XML_KEYS)})",
                           key=True)
        skip = self.reason(data.get("skip"), path + ("skip",), "skip")
        return Case(
            name=name,
            description=self.text(data.get("description"), path + ("description",), "description"),
            inputs=self.plain_mapping(data.get("inputs"), path + ("inputs",), "inputs"),
            org=self._org(data, path, base, default_org),
            mocks=mocks,
            max_elements=self.count(data.get("maxElements"), path + ("maxElements",),
                                    "maxElements", 1),
            expect=expect,
            skip=skip or cannot_run(xml, expect),
            xfail=self.reason(data.get("xfail"), path + ("xfail",), "xfail"),
            path=path,
            line=mark[0] if mark else 1,
            label=self.text(data.get("label"), path + ("label",), "label"),
            record=record,
            prior=prior,
            xml=xml,
        )

    def record(self, data: dict[str, Any], key: str, path: Path_) -> dict[str, Any] | None:
        """`record:` or `prior:`: a mapping of field names to values."""
        if key not in data:
            return None
        value = data[key]
        if not isinstance(value, dict):
            self.error(path + (key,), f"{key} must be a mapping of the triggering record's "
                       f"field names to values, found {describe(value)}")
            return None
        return dict(value)

    # -- mocks ------------------------------------------------------------------------------------
    def mocks(self, raw: Any, path: Path_) -> dict[str, MockSpec]:
        if raw is None:
            return {}
        if not isinstance(raw, dict):
            self.error(path, "mocks must be a mapping of action (or Action element) names to "
                       f"results, found {describe(raw)}")
            return {}
        out: dict[str, MockSpec] = {}
        for target, value in raw.items():
            where = path + (target,)
            if isinstance(value, list):
                if not value:
                    self.error(where, f"mock {target!r} lists no results; give at least one")
                    continue
                results = [self.mock_result(item, where + (i,), target) for i, item in enumerate(value)]
                every = False
            else:
                results = [self.mock_result(value, where, target)]
                every = True
            if all(r is not None for r in results):
                out[str(target)] = MockSpec(str(target), tuple(results), every, where)  # type: ignore[arg-type]
        return out

    def mock_result(self, raw: Any, path: Path_, target: str) -> MockResult | None:
        data = self.mapping(raw, path, RESULT_KEYS, f"a result of mock {target!r}")
        if data is None:
            return None
        if ("outputs" in data) == ("fault" in data):
            self.error(path, f"a result of mock {target!r} needs exactly one of 'outputs' (what "
                       "the action returns) or 'fault' ({errorCode, message}: how it fails)")
            return None
        if "outputs" in data:
            return MockResult(outputs=self.plain_mapping(data["outputs"], path + ("outputs",),
                                                         "outputs"), path=path)
        fault = self.mapping(data["fault"], path + ("fault",), MOCK_FAULT_KEYS,
                             f"the fault of mock {target!r}", required=("errorCode",))
        if fault is None:
            return None
        code = self.text(fault.get("errorCode"), path + ("fault", "errorCode"), "errorCode")
        message = fault.get("message", "")
        if not isinstance(message, str):
            self.error(path + ("fault", "message"), f"message must be text, found {describe(message)}")
            message = ""
        if code is None:
            return None
        return MockResult(error_code=code, message=message or f"mocked {code} fault", path=path)

    # -- expectations -----------------------------------------------------------------------------
    def expectations(self, raw: Any, path: Path_) -> Expectations:
        out = Expectations()
        if raw is None:
            return out
        data = self.mapping(raw, path, EXPECT_KEYS, "expect")
        if data is None:
            return out
        status = data.get("status")
        if status is not None:
            if status in STATUSES:
                out.status = status
            else:
                self.error(path + ("status",), f"unknown status {status!r}"
                           f"{did_you_mean(str(status), STATUSES)} (expected Finished or Failed)")
        out.outputs = self.plain_mapping(data.get("outputs"), path + ("outputs",), "outputs")
        out.variables = self.plain_mapping(data.get("variables"), path + ("variables",), "variables")
        out.visited = self.names(data.get("visited"), path + ("visited",), "visited")
        out.not_visited = self.names(data.get("notVisited"), path + ("notVisited",), "notVisited")
        if "path" in data:
            out.path = self.names(data.get("path"), path + ("path",), "path")
        out.records = self.records(data.get("records"), path + ("records",))
        out.fault = self.fault(data, path)
        out.assertions = self.assertions(data.get("assertions"), path + ("assertions",))
        calls = self.plain_mapping(data.get("calls"), path + ("calls",), "calls")
        for target, n in calls.items():
            checked = self.count(n, path + ("calls", target), f"calls.{target}", 0)
            if checked is not None:
                out.calls[str(target)] = checked
        limits = self.plain_mapping(data.get("limits"), path + ("limits",), "limits")
        for key, value in limits.items():
            where = path + ("limits", key)
            if key not in LIMIT_KEYS:
                self.error(where, f"unknown governor count {key!r}{did_you_mean(str(key), LIMIT_KEYS)}"
                           f" (expected one of: {', '.join(LIMIT_KEYS)})", key=True)
                continue
            at_most = isinstance(value, dict)
            if at_most:
                bound = self.mapping(value, where, ("atMost",), f"limits.{key}")
                value = (bound or {}).get("atMost")
                where = where + ("atMost",)
            checked = self.count(value, where, f"limits.{key}" + (".atMost" if at_most else ""), 0)
            if checked is not None:
                out.limits[str(key)] = (checked, at_most)
        return out

    def records(self, raw: Any, path: Path_) -> list[RecordExpectation]:
        if raw is None:
            return []
        if not isinstance(raw, list):
            self.error(path, "records must be a list of {object, id or where, fields, count}, "
                       f"found {describe(raw)}")
            return []
        out = []
        for i, item in enumerate(raw):
            where = path + (i,)
            data = self.mapping(item, where, RECORD_KEYS, "a record expectation",
                                required=("object",))
            if data is None:
                continue
            obj = self.text(data.get("object"), where + ("object",), "object",
                            optional="object" not in data)
            rid = data.get("id")
            if rid is not None and not isinstance(rid, str):
                self.error(where + ("id",), f"id must be text (quote Ids), found {describe(rid)}")
                rid = None
            if rid is not None and "where" in data:
                self.error(where + ("where",), "give either id (one record) or where (a filter), "
                           "not both")
            count = self.count(data.get("count"), where + ("count",), "count", 0)
            fields = self.plain_mapping(data.get("fields"), where + ("fields",), "fields")
            if not fields and count is None:
                self.error(where, "a record expectation needs fields (values to check), count "
                           "(how many records match), or both")
            if obj is not None:
                out.append(RecordExpectation(obj, rid, self.plain_mapping(
                    data.get("where"), where + ("where",), "where"), fields, count, where))
        return out

    def fault(self, data: dict[str, Any], path: Path_) -> FaultExpectation | None:
        if "fault" not in data:
            return None
        raw = data["fault"]
        where = path + ("fault",)
        if isinstance(raw, str):
            return FaultExpectation(message=raw, path=where)
        fault = self.mapping(raw, where, FAULT_KEYS, "fault (the exact message as text, or "
                             "{message, contains, errorCode, element})")
        if fault is None:
            return None
        values = {k: self.text(fault.get(k), where + (k,), k) for k in FAULT_KEYS}
        if not fault:
            self.error(where, "fault needs at least one of message, contains, errorCode or element")
        return FaultExpectation(values["message"], values["contains"], values["errorCode"],
                                values["element"], where)

    def assertions(self, raw: Any, path: Path_) -> list[Assertion]:
        if raw is None:
            return []
        if not isinstance(raw, list):
            self.error(path, "assertions must be a list of conditions such as {left: counter, op: "
                       f"EqualTo, right: 5}}, found {describe(raw)}")
            return []
        out = []
        for i, item in enumerate(raw):
            where = path + (i,)
            data = self.mapping(item, where, ASSERTION_KEYS, "an assertion")
            if data is None:
                continue
            message = self.text(data.get("errorMessage"), where + ("errorMessage",), "errorMessage")
            logic = data.get("logic", "and")
            if not isinstance(logic, str):
                self.error(where + ("logic",), f"logic must be and, or, or custom logic such as "
                           f"\"1 AND (2 OR 3)\", found {describe(logic)}")
                continue
            if "conditions" in data:
                extra = [k for k in CONDITION_KEYS if k in data]
                if extra:
                    self.error(where + (extra[0],), "an assertion has either conditions or "
                               "left/op/right, not both", key=True)
                    continue
                conds = data["conditions"]
                if not isinstance(conds, list) or not conds:
                    self.error(where + ("conditions",), "conditions must be a non-empty list, "
                               f"found {describe(conds)}")
                    continue
                parsed = [self.condition(c, where + ("conditions", j)) for j, c in enumerate(conds)]
            else:
                if "logic" in data:
                    self.error(where + ("logic",), "logic joins several conditions; list them "
                               "under conditions", key=True)
                parsed = [self.condition({k: data[k] for k in CONDITION_KEYS if k in data}, where)]
            if all(c is not None for c in parsed):
                out.append(Assertion(tuple(parsed), logic, message, where))  # type: ignore[arg-type]
        return out

    def condition(self, raw: Any, path: Path_) -> ConditionSpec | None:
        data = self.mapping(raw, path, CONDITION_KEYS, "a condition", required=("left", "op"))
        if data is None or "left" not in data or "op" not in data:
            return None
        left = self.text(data["left"], path + ("left",), "left (a bare path such as counter)",
                         optional=False)
        op = data["op"]
        if op not in ASSERTION_OPERATORS:
            self.error(path + ("op",), f"unknown operator {op!r}{did_you_mean(str(op), ASSERTION_OPERATORS)}"
                       f" (expected one of: {', '.join(ASSERTION_OPERATORS)})")
            return None
        if left is None:
            return None
        return ConditionSpec(left.strip(), op, data.get("right"), path)


def load_flowtest(path: str | os.PathLike[str]) -> FlowTestFile:
    """Read and validate a flow test file: a `*.flowtest.yaml`, or a Salesforce Flow Test
    (`*.flowtest-meta.xml`; `*.flowtest` in a `flowtests` folder), whose org fixture comes from
    beside it or from `pyproject.toml` (see `flowengine.testing.project`). Raises LoadError
    (unreadable, not YAML or XML) or FlowTestSpecError (every structural problem, each with its
    line)."""
    from flowengine.formats import sftest

    if not sftest.is_flowtest_xml(path):
        return parse_flowtest(read_yaml(path))
    from flowengine.testing.project import flowtest_fixture

    test = parse_flowtest(sftest.load(path), salesforce=True)
    fixture = flowtest_fixture(Path(path))
    for case in test.cases:
        case.org = fixture
    return test


def parse_flowtest(doc: Any, salesforce: bool = False) -> FlowTestFile:
    """Validate a parsed document (YAML, or a Salesforce Flow Test's XML when `salesforce`) as
    a flow test file."""
    reader = SpecReader(doc, salesforce)
    # problems the loader records without stopping (a duplicate key: a case written twice)
    reader.problems.extend(p for p in getattr(doc, "problems", []) if p.severity == "error")
    result = reader.read_file()
    if reader.problems or result is None:
        raise FlowTestSpecError(reader.problems)
    return result


# -- what a case asks for that flowengine cannot run: the case is skipped, saying why ------------

_KNOWN_XML: Final = {
    # FlowTest fields that change nothing in a local run
    "fullName": None, "module": None, "testType": None, "flowTestFlowVersions": None,
    "isolatedObjectExternalKeys": None,
    "flowTestDataSources": "test data from an Apex class (flowTestDataSources): flowengine does "
                           "not run Apex; give the records as an org fixture",
    "testPoints": "a test point other than Start and Finish",
}
XML_KEYS: Final = (*_KNOWN_XML, "Start", "Finish")
_PARAMETERS: Final = {
    "ScheduledPath": "a scheduled path (a ScheduledPath parameter): flowengine runs a triggered "
                     "flow's immediate path only",
    "MockElementOutput": "mocked element outputs (a MockElementOutput parameter)",
}


def cannot_run(xml: dict[str, Any] | None, expect: Expectations) -> str | None:
    """Why a case cannot run here (the parts of a Salesforce Flow Test flowengine does not
    run), or None."""
    reasons: list[str] = []
    for key, value in (xml or {}).items():
        if key in ("Start", "Finish"):
            reasons.extend(_point_reasons(key, value))
        elif _KNOWN_XML.get(key):
            reasons.append(str(_KNOWN_XML[key]))
    for assertion in expect.assertions:
        for cond in assertion.conditions:
            if cond.op == "WasSelected":
                reasons.append(f"WasSelected ({cond.left}): it tests a screen choice, and "
                               "flowengine does not run screens")
            elif isinstance(cond.right, dict) and "xml" in cond.right:
                kind = next(iter(cond.right["xml"] or {"a value": None}))
                reasons.append(f"a value flowengine does not read ({kind}, compared with "
                               f"{cond.left})")
    if not reasons:
        return None
    return "uses what flowengine cannot run: " + "; ".join(dict.fromkeys(reasons))


def _point_reasons(point: str, kept: Any) -> list[str]:
    if not isinstance(kept, dict):
        return [f"a {point} test point flowengine cannot read"]
    out = []
    parameters = kept.get("parameters")
    for parameter in parameters if isinstance(parameters, list) else [parameters] if parameters \
            else []:
        kind = parameter.get("type") if isinstance(parameter, dict) else None
        out.append(_PARAMETERS.get(str(kind), f"a {kind} parameter at the {point} test point"))
    if "assertions" in kept:
        out.append(f"assertions at the {point} test point (flowengine checks assertions when "
                   "the interview finishes)")
    if str(kept.get("isUseMockOutput", "false")) == "true":
        out.append("mocked outputs (isUseMockOutput)")
    out += [f"<{tag}> at the {point} test point, which flowengine does not know" for tag in kept
            if tag not in ("parameters", "assertions", "isUseMockOutput")]
    return out
