"""The Salesforce Flow Test front end: `Name.flowtest-meta.xml` (`Name.flowtest` in a metadata
format `flowtests/` folder) ⇄ flow test data.

A Flow Test is one test of one flow (`FlowTest` in the Metadata API, 55.0 and later). Reading
gives a source document whose data has the shape of a `*.flowtest.yaml` file with one case, named
by the file, so the flow test reader (`flowengine.testing.reader`) checks both forms alike and
every problem points into the XML (`Name.flowtest-meta.xml:12:9:`):

    FlowTest                               flow test data
    flowApiName                            flow: (the flow's API name)
    label, description                     cases.NAME.label, cases.NAME.description
    Start test point, parameters of type
      InputTriggeringRecordInitial         cases.NAME.record (a create test) or .prior (an update)
      InputTriggeringRecordUpdated         cases.NAME.record (an update test)
      InputVariable                        cases.NAME.inputs
    Finish test point, assertions          cases.NAME.expect.assertions
    anything else                          cases.NAME.xml (kept, written back, not interpreted)

Writing gives XML as Salesforce's retrieve writes it (the declaration, the metadata namespace,
four spaces a level, children in the schema's order, which is by code point). Hostile XML is
refused by `xmltree.parse_xml`.
"""
from __future__ import annotations

import datetime as _dt
import json
import os
from decimal import Decimal
from typing import Any, Final

from flowengine.errors import LoadError, Problem, ValidationError, did_you_mean
from flowengine.formats.sfxml import FlowReader, FlowWriter, WriteError, XmlDocument
from flowengine.formats.xmltree import XmlNode, parse_xml, write_xml
from flowengine.source import Path

__all__ = ["FLOWTEST_SUFFIXES", "FlowTestReader", "FlowTestWriter", "flowtest_name_of",
           "is_flowtest_xml", "load", "parse", "to_flowtest_xml"]

FLOWTEST_SUFFIXES: Final = (".flowtest-meta.xml", ".flowtest")
RECORD_PARAMETERS: Final = ("InputTriggeringRecordInitial", "InputTriggeringRecordUpdated")
# what a case can say that a FlowTest cannot
NOT_IN_XML: Final = {"org": "an org fixture", "mocks": "action mocks",
                     "maxElements": "a limit on executed elements", "skip": "skip",
                     "xfail": "xfail"}
# the base type's fields (`Metadata`) come before FlowTest's own
_BASE: Final = ("fullName", "module")
# the children each part of a FlowTest may have (Metadata API 66.0); anything else is refused
FLOWTEST_CHILDREN: Final = (*_BASE, "description", "flowApiName", "flowTestDataSources",
                            "flowTestFlowVersions", "isolatedObjectExternalKeys", "label",
                            "testPoints", "testType")
POINT_CHILDREN: Final = ("assertions", "elementApiName", "isUseMockOutput", "parameters")
PARAMETER_CHILDREN: Final = ("leftValueReference", "type", "value")
CONDITION_CHILDREN: Final = ("leftValueReference", "operator", "rightValue")
VALUE_CHILDREN: Final = ("booleanValue", "dateTimeValue", "dateValue", "elementReference",
                         "jsonValue", "numberValue", "sobjectValue", "stringValue", "timeValue")
PARAMETER_TYPES: Final = (*RECORD_PARAMETERS, "InputVariable", "ScheduledPath",
                          "MockElementOutput")


def flowtest_name_of(file: str | os.PathLike[str]) -> str:
    """A Flow Test is named by its file, as in Salesforce: `Name.flowtest-meta.xml` → `Name`."""
    base = os.path.basename(os.fspath(file))
    for suffix in FLOWTEST_SUFFIXES:
        if base.lower().endswith(suffix):
            return base[: -len(suffix)]
    return base


def is_flowtest_xml(file: str | os.PathLike[str]) -> bool:
    """`Name.flowtest-meta.xml`, or `Name.flowtest` in a folder called `flowtests`."""
    path = os.fspath(file)
    name = os.path.basename(path).lower()
    if name.endswith(".flowtest-meta.xml"):
        return True
    return name.endswith(".flowtest") and os.path.basename(os.path.dirname(path)) == "flowtests"


def load(path: str | os.PathLike[str]) -> XmlDocument:
    """Read and parse one Flow Test file."""
    from flowengine.formats import read_text

    name = os.fspath(path)
    return parse(read_text(name, what="flow test files", expected="a flow test file"), name)


def parse(text: str, file: str | None = None) -> XmlDocument:
    """Flow Test XML → a source document of flow test data; the test is named by `file`.
    Problems that do not stop reading (a parameter Salesforce does not accept) are in the
    document's `problems`."""
    root = parse_xml(text, file, root_tag="FlowTest")
    reader = FlowTestReader(file)
    data = reader.flowtest(root, flowtest_name_of(file) if file else "Flow_Test")
    doc = XmlDocument(data, file, reader.marks, reader.texts, text)
    doc.problems.extend(reader.problems)
    return doc


# ---------------------------------------------------------------------------------------------
# Reading

class FlowTestReader(FlowReader):
    """FlowTest XML nodes → flow test data, recording where each part came from."""

    def __init__(self, file: str | None) -> None:
        super().__init__()
        self.file = file
        self.problems: list[Problem] = []

    def problem(self, node: XmlNode, message: str, path: Path = ()) -> None:
        self.problems.append(Problem("error", "flowtest", message, self.file, node.line,
                                     node.column, ".".join(str(p) for p in path) or None))

    def known(self, node: XmlNode, allowed: tuple[str, ...], what: str) -> bool:
        """Are the children of `node` all ones `allowed`? Each other one is a problem, by
        name: nothing in a Flow Test is dropped or kept unread without a word."""
        fine = True
        for child in node.children:
            if child.tag not in allowed:
                fine = False
                self.problem(child, f"unknown element <{child.tag}> in {what}"
                             f"{did_you_mean(child.tag, allowed)} (expected: "
                             f"{', '.join(allowed)})")
        return fine

    def flowtest(self, root: XmlNode, name: str) -> dict[str, Any]:
        case_path: Path = ("cases", name)
        self.known(root, FLOWTEST_CHILDREN, "a FlowTest")
        for point in root.all("testPoints"):
            self.known(point, POINT_CHILDREN, "a test point")
            for parameter in point.all("parameters"):
                self.known(parameter, PARAMETER_CHILDREN, "a parameter")
                self._known_value(parameter.child("value"))
            for node in point.all("assertions"):
                for condition in node.all("conditions"):
                    self.known(condition, CONDITION_CHILDREN, "a condition")
                    self._known_value(condition.child("rightValue"))
        self.at((), root)
        self.at(case_path, root)
        case: dict[str, Any] = {}
        data: dict[str, Any] = {"cases": {name: case}}
        flow = root.child("flowApiName")
        if flow is not None:
            data = {"flow": self.text(flow, ("flow",)), **data}
        else:
            self.problem(root, "a FlowTest needs <flowApiName>: the API name of the flow it tests")
        label = root.child("label")
        if label is not None and label.text != name.replace("_", " "):
            case["label"] = self.text(label, case_path + ("label",))
        description = root.child("description")
        if description is not None:
            case["description"] = self.text(description, case_path + ("description",))
        kept: dict[str, Any] = {}
        others: list[XmlNode] = []
        for point in root.all("testPoints"):
            element = point.text_of("elementApiName")
            if element == "Start" and "Start" not in kept:
                self.start_point(point, case, case_path, kept)
            elif element == "Finish" and "Finish" not in kept:
                self.finish_point(point, case, case_path, kept)
            else:
                others.append(point)
        if others:
            kept["testPoints"] = [self.raw(p, case_path + ("xml", "testPoints", i))
                                  for i, p in enumerate(others)]
        rest = self.rest(root, {"flowApiName", "label", "description", "testPoints"},
                         case_path + ("xml",))
        kept.update(rest or {})
        kept = {k: v for k, v in kept.items() if v is not None}
        if kept:
            case["xml"] = kept
        return data

    def _known_value(self, node: XmlNode | None) -> None:
        if node is not None:
            self.known(node, VALUE_CHILDREN, f"<{node.tag}>")

    # -- the Start test point: the triggering record, inputs -----------------------------------
    def start_point(self, point: XmlNode, case: dict[str, Any], path: Path,
                    kept: dict[str, Any]) -> None:
        records: dict[str, tuple[dict[str, Any], XmlNode]] = {}
        unread: list[XmlNode] = []
        for parameter in point.all("parameters"):
            kind = parameter.text_of("type")
            ref = parameter.text_of("leftValueReference")
            if kind not in PARAMETER_TYPES:
                self.problem(parameter.child("type") or parameter, f"unknown parameter type "
                             f"{kind!r}{did_you_mean(str(kind), PARAMETER_TYPES)} (expected one "
                             f"of: {', '.join(PARAMETER_TYPES)})")
            elif kind in RECORD_PARAMETERS:
                if ref != "$Record":
                    self.problem(parameter, f"a {kind} parameter sets the triggering record: "
                                 f"its leftValueReference must be $Record, found {ref!r} (the "
                                 "record before an update is the InputTriggeringRecordInitial "
                                 "of an update test)")
                elif kind in records:
                    self.problem(parameter, f"a second {kind} parameter: a test has one "
                                 "triggering record of each kind")
                else:
                    fields = self.record(parameter, path)
                    if fields is not None:
                        records[kind] = (fields, parameter)
            elif kind == "InputVariable" and ref:
                inputs = case.setdefault("inputs", {})
                self.at(path + ("inputs",), parameter)
                inputs[ref] = self.value(parameter.child("value"), path + ("inputs", ref))
                self.at(path + ("inputs", ref), parameter)
            else:
                unread.append(parameter)
        initial, updated = records.get(RECORD_PARAMETERS[0]), records.get(RECORD_PARAMETERS[1])
        if updated is not None and initial is None:
            self.problem(updated[1], "an InputTriggeringRecordUpdated parameter (the record "
                         "after an update) needs an InputTriggeringRecordInitial one (the record "
                         "before it)")
        elif updated is not None and initial is not None:
            self._put(case, "prior", initial, path)
            self._put(case, "record", updated, path)
        elif initial is not None:
            self._put(case, "record", initial, path)
        extra = [c for c in point.children if c.tag not in ("elementApiName", "parameters")]
        self._keep_point(point, "Start", unread + extra, kept, path)

    def _put(self, case: dict[str, Any], key: str, found: tuple[dict[str, Any], XmlNode],
             path: Path) -> None:
        fields, node = found
        case[key] = fields
        self.at(path + (key,), node)

    def record(self, parameter: XmlNode, path: Path) -> dict[str, Any] | None:
        """The fields of a triggering record: the JSON object of its `sobjectValue`."""
        from flowengine.formats.jsondata import parse_json

        value = parameter.child("value")
        node = value.child("sobjectValue") if value is not None else None
        if node is None:
            self.problem(parameter, "a triggering record parameter needs <value><sobjectValue> "
                         "with the record's fields as a JSON object")
            return None
        try:
            fields = parse_json(node.text, exact=True)
        except LoadError as exc:
            found = exc.problem
            self.problem(node, f"sobjectValue: {found.message}"
                         + (f" (line {found.line}, column {found.column} of the JSON)"
                            if found.line else ""))
            return None
        if not isinstance(fields, dict):
            self.problem(node, "sobjectValue must be a JSON object of the record's fields, "
                         f"found {type(fields).__name__}")
            return None
        return fields

    # -- the Finish test point: assertions --------------------------------------------------
    def finish_point(self, point: XmlNode, case: dict[str, Any], path: Path,
                     kept: dict[str, Any]) -> None:
        nodes = point.all("assertions")
        if nodes:
            where = path + ("expect", "assertions")
            self.at(path + ("expect",), nodes[0])
            self.at(where, nodes[0])
            case["expect"] = {"assertions": [self.assertion(node, where + (i,))
                                             for i, node in enumerate(nodes)]}
        extra = [c for c in point.children if c.tag not in ("elementApiName", "assertions")]
        self._keep_point(point, "Finish", extra, kept, path)

    def assertion(self, node: XmlNode, path: Path) -> dict[str, Any]:
        self.at(path, node)
        out: dict[str, Any] = {}
        conditions = node.all("conditions")
        for child in node.children:
            if child.tag not in ("conditions", "errorMessage"):
                self.problem(child, f"unexpected <{child.tag}> in an assertion (expected "
                             "<conditions> and <errorMessage>)")
        if len(conditions) == 1:
            out.update(self.condition(conditions[0], path))
        else:
            if not conditions:
                self.problem(node, "an assertion without conditions: give at least one "
                             "<conditions>")
            out["conditions"] = [self.condition(c, path + ("conditions", j))
                                 for j, c in enumerate(conditions)]
        message = node.child("errorMessage")
        if message is not None:
            out["errorMessage"] = self.text(message, path + ("errorMessage",))
        return out

    def condition(self, node: XmlNode, path: Path) -> dict[str, Any]:
        self.at(path, node)
        out: dict[str, Any] = {}
        for tag, key in (("leftValueReference", "left"), ("operator", "op")):
            child = node.child(tag)
            if child is not None:
                out[key] = self.text(child, path + (key,))
        right = node.child("rightValue")
        if right is not None:
            out["right"] = self.value(right, path + ("right",))
        return out

    def _keep_point(self, point: XmlNode, name: str, children: list[XmlNode],
                    kept: dict[str, Any], path: Path) -> None:
        """What a Start or Finish test point holds besides what is read, kept under `xml:`."""
        kept[name] = self.raw(XmlNode(point.tag, children, line=point.line, column=point.column),
                              path + ("xml", name)) if children else None


# ---------------------------------------------------------------------------------------------
# Writing

class FlowTestWriter(FlowWriter):
    """A case of flow test data → a `FlowTest` element. Whatever a FlowTest cannot hold is a
    problem with its place in the source document (`doc`), all of them raised together."""

    def __init__(self, doc: Any) -> None:
        self.doc = doc
        self.problems: list[Problem] = []

    def refuse(self, path: Path, message: str) -> None:
        mark = self.doc.locate(path, key=True) if self.doc is not None else None
        self.problems.append(Problem("error", "convert", message, getattr(self.doc, "file", None),
                                     mark[0] if mark else None, mark[1] if mark else None,
                                     ".".join(str(p) for p in path) or None))

    def flowtest(self, name: str, flow_api_name: str, case: dict[str, Any],
                 path: Path) -> XmlNode:
        for key, what in NOT_IN_XML.items():
            if key in case:
                self.refuse(path + (key,), f"a Salesforce Flow Test cannot hold {what} "
                            f"({key}:); remove it to write case {name!r} as a FlowTest")
        kept = dict(case.get("xml") or {})
        out = [self.leaf("flowApiName", flow_api_name),
               self.leaf("label", case.get("label") or name.replace("_", " "))]
        if case.get("description") is not None:
            out.append(self.leaf("description", case["description"]))
        start = self.start_point(case, kept.pop("Start", None), path)
        finish = self.finish_point(case, kept.pop("Finish", None), path)
        out += [p for p in (start, finish) if p is not None]
        out += self.raw_children(kept) if kept else []
        rank = {tag: i for i, tag in enumerate(_BASE)}
        ordered = sorted(out, key=lambda c: (0, rank[c.tag], "") if c.tag in rank
                         else (1, 0, c.tag))
        return XmlNode("FlowTest", ordered)

    def start_point(self, case: dict[str, Any], kept: Any, path: Path) -> XmlNode | None:
        parameters: list[XmlNode] = []
        record, prior = case.get("record"), case.get("prior")
        if prior is not None:
            parameters.append(self.record_parameter(RECORD_PARAMETERS[0], prior, path + ("prior",)))
            if record is not None:
                # Salesforce's updated record is the whole record: the fields `record:` leaves
                # out keep their prior values
                if isinstance(record, dict) and isinstance(prior, dict):
                    record = {**prior, **record}
                parameters.append(self.record_parameter(RECORD_PARAMETERS[1], record,
                                                        path + ("record",)))
        elif record is not None:
            parameters.append(self.record_parameter(RECORD_PARAMETERS[0], record,
                                                    path + ("record",)))
        for name, value in (case.get("inputs") or {}).items():
            parameters.append(self.node("parameters", [
                self.leaf("leftValueReference", name), self.leaf("type", "InputVariable"),
                self.value("value", value, f"inputs.{name}")]))
        extra = self.raw_children(kept) if isinstance(kept, dict) else []
        if not parameters and not extra:
            return None
        return self._point("Start", parameters + extra)

    def record_parameter(self, kind: str, fields: Any, path: Path) -> XmlNode:
        if not isinstance(fields, dict):
            self.refuse(path, "a triggering record is a mapping of field names to values")
            fields = {}
        value = XmlNode("value", [self.leaf("sobjectValue", _json_object(fields))])
        return XmlNode("parameters", [self.leaf("leftValueReference", "$Record"),
                                      self.leaf("type", kind), value])

    def finish_point(self, case: dict[str, Any], kept: Any, path: Path) -> XmlNode | None:
        expect = case.get("expect") or {}
        base = path + ("expect",)
        for key in expect:
            if key != "assertions":
                self.refuse(base + (key,), f"a Salesforce Flow Test checks its flow with "
                            f"assertions only; expect.{key} cannot be written as a FlowTest "
                            "(write it as an assertion, e.g. {left: x, op: EqualTo, right: 1})")
        assertions = [self.assertion(a, base + ("assertions", i))
                      for i, a in enumerate(expect.get("assertions") or [])]
        extra = self.raw_children(kept) if isinstance(kept, dict) else []
        if not assertions and not extra:
            return None
        return self._point("Finish", assertions + extra)

    def assertion(self, data: dict[str, Any], path: Path) -> XmlNode:
        logic = str(data.get("logic", "and")).strip().lower()
        if logic != "and":
            self.refuse(path + ("logic",), "a Salesforce Flow Test assertion holds when all of "
                        f"its conditions do; logic {data.get('logic')!r} cannot be written "
                        "(split it into assertions, or use logic: and)")
        conditions = data["conditions"] if "conditions" in data else [data]
        out = [self.condition(c, path + (("conditions", j) if "conditions" in data else ()))
               for j, c in enumerate(conditions)]
        if data.get("errorMessage") is not None:
            out.append(self.leaf("errorMessage", data["errorMessage"]))
        return XmlNode("assertions", out)

    def condition(self, data: dict[str, Any], path: Path) -> XmlNode:
        out = [self.leaf("leftValueReference", data.get("left")),
               self.leaf("operator", data.get("op"))]
        if "right" in data:
            try:
                out.append(self.value("rightValue", data["right"], ".".join(map(str, path))))
            except WriteError as exc:
                self.refuse(path + ("right",), str(exc))
        return XmlNode("conditions", out)

    def _point(self, element: str, children: list[XmlNode]) -> XmlNode:
        return XmlNode("testPoints", sorted([self.leaf("elementApiName", element)] + children,
                                            key=lambda c: c.tag))


def to_flowtest_xml(name: str, flow_api_name: str, case: dict[str, Any], doc: Any = None,
                    path: Path = ()) -> str:
    """One case of flow test data as the text of `name.flowtest-meta.xml`. Raises
    ValidationError naming each part that a FlowTest cannot hold (with its place in `doc`)."""
    writer = FlowTestWriter(doc)
    root = writer.flowtest(name, flow_api_name, case, path)
    if writer.problems:
        raise ValidationError(writer.problems)
    return write_xml(root)


def _json_object(fields: dict[str, Any]) -> str:
    """A record's fields as compact JSON, numbers exact (`41255.00` stays so)."""
    return "{" + ",".join(f"{json.dumps(str(k), ensure_ascii=False)}:{_json(v)}"
                          for k, v in fields.items()) + "}"


def _json(value: Any) -> str:
    if isinstance(value, bool) or value is None or isinstance(value, (int, str)):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, Decimal):
        return format(value, "f") if value.as_tuple().exponent > 0 else str(value)  # type: ignore[operator]
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, _dt.datetime):
        utc = value.astimezone(_dt.UTC) if value.tzinfo else value
        return json.dumps(utc.strftime("%Y-%m-%dT%H:%M:%S.000Z"))
    if isinstance(value, (_dt.date, _dt.time)):
        return json.dumps(value.isoformat())
    if isinstance(value, dict):
        return _json_object(value)
    if isinstance(value, list):
        return "[" + ",".join(_json(v) for v in value) + "]"
    return json.dumps(str(value), ensure_ascii=False)
