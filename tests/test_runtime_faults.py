"""Faults and transactions (spec 5), limits (spec 6), the result and its trace (spec 7), globals."""
from __future__ import annotations

import copy
import datetime as dt
import json
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from decimal import Decimal
from typing import Any

import pytest
from helpers import FakeRegistry, assign, flow_from_doc

from flowengine.api import Flow
from flowengine.errors import ActionError, InputError, ValidationError
from flowengine.plugins import Action, ActionContext, Parameter
from flowengine.runtime import InterviewResult
from flowengine.types import FlowType

UTC = dt.UTC


# -- an in-memory org store that records what the interpreter asks of it -------------------------

class FakeTransaction:
    def __init__(self, store: FakeStore) -> None:
        self.store = store
        self.records: dict[str, dict[str, Any]] = copy.deepcopy(store.committed)

    def get(self, object_name: str, record_id: str) -> dict[str, Any] | None:
        return self.records.get(record_id)

    def query(self, object_name: str, where: Mapping[str, Any] | None = None,
              order_by: Any = ("Id",)) -> list[dict[str, Any]]:
        return [r for r in self.records.values() if all(r.get(k) == v for k, v in (where or {}).items())]

    def insert(self, object_name: str, fields: Mapping[str, Any]) -> str:
        record_id = f"a00{len(self.records) + 1:015d}"
        self.records[record_id] = {"Id": record_id, **fields}
        self.store.log.append(f"insert {fields.get('Body')}")
        return record_id

    def update(self, object_name: str, record_id: str, fields: Mapping[str, Any]) -> None:
        self.records[record_id].update(fields)

    @contextmanager
    def savepoint(self) -> Iterator[None]:
        saved = copy.deepcopy(self.records)
        self.store.log.append("savepoint")
        try:
            yield
        except BaseException:
            self.records = saved
            self.store.log.append("rollback to savepoint")
            raise
        self.store.log.append("release savepoint")

    def commit(self) -> None:
        self.store.committed = self.records
        self.store.log.append("commit")

    def rollback(self) -> None:
        self.store.log.append("rollback")


class FakeStore:
    def __init__(self) -> None:
        self.log: list[str] = []
        self.committed: dict[str, dict[str, Any]] = {}

    def begin(self) -> FakeTransaction:
        self.log.append("begin")
        return FakeTransaction(self)

    def close(self) -> None:
        self.log.append("close")

    def bodies(self) -> list[str]:
        return [r["Body"] for r in self.committed.values()]


def write_note(inputs: Mapping[str, Any], ctx: ActionContext) -> dict[str, Any]:
    org = ctx.require_org()
    record_id = org.insert("Note", {"Body": inputs["body"]})
    if inputs["body"].startswith("fail"):
        raise ActionError("NOTE_REJECTED", f"note {inputs['body']!r} was rejected")
    if inputs["body"].startswith("bad output"):
        return {"noteId": record_id, "surprise": True}
    return {"noteId": record_id}


ticks: list[int] = []


def tick(inputs: Mapping[str, Any], ctx: ActionContext) -> dict[str, Any]:
    ticks.append(1)
    return {}


REGISTRY = FakeRegistry([
    Action("writeNote", "Write a note", "Test", "Inserts a Note record.", write_note,
           (Parameter("body", FlowType("Text"), required=True),), (Parameter("noteId", FlowType("Text")),)),
    Action("tick", "Tick", "Test", "Counts its calls.", tick),
])


def flow(doc: dict[str, Any]) -> Flow:
    doc = {"flow": doc.pop("flow", "Fault_Test"), **doc}
    return flow_from_doc(doc, registry=lambda: REGISTRY)


def note(body: str, next: str | None = None, fault: str | None = None) -> dict[str, Any]:
    element: dict[str, Any] = {"type": "Action", "action": "writeNote", "inputs": {"body": body}}
    if next:
        element["next"] = next
    if fault:
        element["fault"] = fault
    return element




# -- transactions --------------------------------------------------------------------------------

def test_a_finished_interview_commits() -> None:
    store = FakeStore()
    result = flow({"elements": {"First": note("one", next="Second"), "Second": note("two")},
                   "start": "First"}).run(org=store)
    assert result.status == "Finished"
    assert store.log == ["begin", "savepoint", "insert one", "release savepoint",
                         "savepoint", "insert two", "release savepoint", "commit"]
    assert store.bodies() == ["one", "two"]


def test_a_failed_interview_rolls_everything_back() -> None:
    store = FakeStore()
    result = flow({"elements": {"First": note("one", next="Second"), "Second": note("fail now")},
                   "start": "First"}).run(org=store)
    assert result.status == "Failed"
    assert result.error.message == ("Second (Action writeNote): NOTE_REJECTED: note 'fail now' "  # type: ignore
                                    "was rejected")
    assert store.log[-3:] == ["insert fail now", "rollback to savepoint", "rollback"]
    assert "commit" not in store.log
    assert store.bodies() == []


def test_rollback_mode_rolls_back_a_finished_interview() -> None:
    store = FakeStore()
    result = flow({"elements": {"First": note("one")}, "start": "First"}).run(org=store, rollback=True)
    assert result.status == "Finished"
    assert store.log[-1] == "rollback" and "commit" not in store.log
    assert store.bodies() == []


def test_a_handled_fault_undoes_only_the_faulting_action() -> None:
    store = FakeStore()
    result = flow({
        "variables": {"message": {"type": "Text", "output": True}},
        "elements": {"First": note("one", next="Second"),
                     "Second": note("fail here", next="Third", fault="Recover"),
                     "Recover": assign(("message", "Assign", "{!$Flow.FaultMessage}"), next="Third"),
                     "Third": note("three")},
        "start": "First"}).run(org=store)
    assert result.status == "Finished", result.error
    assert result.outputs["message"] == "NOTE_REJECTED: note 'fail here' was rejected"
    assert store.bodies() == ["one", "three"]
    assert store.log.count("rollback to savepoint") == 1 and store.log[-1] == "commit"


def test_bad_outputs_undo_the_actions_writes() -> None:
    store = FakeStore()
    result = flow({"elements": {"Write": note("bad output", fault="Next"), "Next": note("after")},
                   "start": "Write"}).run(org=store)
    assert result.status == "Finished"
    assert store.bodies() == ["after"]


def test_a_runtime_error_after_an_action_rolls_back() -> None:
    store = FakeStore()
    result = flow({
        "variables": {"items": {"type": "Text", "collection": True}},
        "elements": {"Write": note("one", next="Break"), "Break": assign(("items", "RemovePosition", 1))},
        "start": "Write"}).run(org=store)
    assert result.status == "Failed"
    assert result.error.element == "Break"  # type: ignore[union-attr]
    assert store.log[-1] == "rollback" and store.bodies() == []


def test_a_flow_without_actions_opens_no_transaction() -> None:
    store = FakeStore()
    result = flow({"variables": {"n": {"type": "Number", "output": True}},
                   "elements": {"Count": assign(("n", "Add", 1))}, "start": "Count"}).run(org=store)
    assert result.status == "Finished"
    assert store.log == []


def test_an_action_that_needs_an_org_faults_without_one() -> None:
    result = flow({"elements": {"Write": note("one")}, "start": "Write"}).run()
    assert result.status == "Failed"
    assert "ORG_REQUIRED" in result.error.message  # type: ignore[union-attr]


# -- run-time errors in Assignment, Decision, Loop -----------------------------------------------

BOXES = {"Acme.Box": {"fields": {"items": {"type": "Text", "collection": True}, "size": "Text"}}}


def test_loop_over_a_collection_inside_a_null_object_fails() -> None:
    result = flow({"types": BOXES, "variables": {"box": {"type": "Apex", "apexClass": "Acme.Box"}},
                   "elements": {"Each_Item": {"type": "Loop", "collection": "box.items", "each": "Body"},
                                "Body": assign(("box.size", "Assign", "x"), next="Each_Item")},
                   "start": "Each_Item"}).run()
    assert result.status == "Failed"
    assert result.error.element == "Each_Item"  # type: ignore[union-attr]
    assert result.error.type == "RuntimeError"  # type: ignore[union-attr]
    assert result.error.message.startswith("Each_Item (Loop): The flow tried to read {!box.items}")  # type: ignore


def test_failed_result_keeps_the_outputs_so_far() -> None:
    result = flow({"variables": {"n": {"type": "Number", "output": True}, "c": {"type": "Text", "collection": True}},
                   "elements": {"Count": assign(("n", "Add", 1), ("c", "RemovePosition", 1))},
                   "start": "Count"}).run()
    assert result.status == "Failed"
    assert result.outputs["n"] == Decimal(1)
    assert result.elements_executed == 1


# -- limits -------------------------------------------------------------------------------------

def counter_flow(api: str, limit: int) -> Flow:
    return flow({
        "apiVersion": float(api),
        "variables": {"n": {"type": "Number", "output": True, "default": 0},
                      "limit": {"type": "Number", "input": True, "default": limit}},
        "elements": {
            "Increment": assign(("n", "Add", 1), next="Check"),
            "Check": {"type": "Decision", "rules": [
                {"name": "Again", "conditions": [{"left": "n", "op": "LessThan", "right": "{!limit}"}],
                 "next": "Increment"}]}},
        "start": "Increment"})


@pytest.mark.parametrize(("api", "limit"), [("56.0", 2_000), ("56.9", 2_000), ("57.0", 1_000_000),
                                            ("62.0", 1_000_000)])
def test_default_limit_depends_on_api_version(api: str, limit: int) -> None:
    assert counter_flow(api, 1).compiled.default_limit == limit


def test_old_api_version_fails_after_2000_elements_naming_the_cycle() -> None:
    result = counter_flow("56.0", 1_001).run()
    assert result.status == "Failed"
    error = result.error
    assert error is not None and error.type == "LimitExceeded"
    assert "more than 2,000 elements" in error.message
    assert "Increment → Check → Increment" in error.message or "Check → Increment → Check" in error.message
    assert result.elements_executed == 2_000
    assert counter_flow("56.0", 1_000).run().status == "Finished"       # exactly 2,000 elements


def test_new_api_version_runs_past_2000_elements() -> None:
    result = counter_flow("57.0", 1_500).run()
    assert result.status == "Finished"
    assert result.elements_executed == 3_000


@pytest.mark.parametrize("bad", [0, -1, 10.5, 1e6, Decimal(100), "100", True])
def test_max_elements_must_be_a_positive_whole_number(bad: Any) -> None:
    with pytest.raises(ValueError, match="max_elements must be a positive whole number, not"):
        counter_flow("62.0", 5).run(max_elements=bad)


def test_max_elements_overrides_the_default() -> None:
    assert counter_flow("56.0", 1_500).run(max_elements=3_000).status == "Finished"
    result = counter_flow("62.0", 1_500).run(max_elements=10)
    assert result.status == "Failed"
    assert "more than 10 elements" in result.error.message  # type: ignore[union-attr]
    assert result.elements_executed == 10


def test_limit_names_the_cycle_through_a_loop() -> None:
    f = flow({
        "variables": {"lines": {"type": "Number", "collection": True, "input": True},
                      "n": {"type": "Number"}},
        "elements": {"Each_Line": {"type": "Loop", "collection": "lines", "each": "Build_Line_Item"},
                     "Build_Line_Item": assign(("n", "Add", "{!Each_Line}"), next="Each_Line")},
        "start": "Each_Line"})
    result = f.run({"lines": list(range(100))}, max_elements=50, trace=True)
    assert result.status == "Failed"
    assert "Each_Line → Build_Line_Item → Each_Line" in result.error.message  # type: ignore[union-attr]
    assert len(result.trace or []) == 50


def test_finding_the_cycle_does_not_call_actions_again() -> None:
    ticks.clear()
    f = flow({"elements": {"Tick": {"type": "Action", "action": "tick", "next": "Again"},
                           "Again": {"type": "Decision", "rules": [
                               {"name": "Yes", "conditions": [{"left": "$GlobalConstant.True", "op": "EqualTo",
                                                               "right": True}], "next": "Tick"}]}},
              "start": "Tick"})
    result = f.run(max_elements=10)
    assert result.status == "Failed"
    assert "Tick → Again → Tick" in result.error.message or "Again → Tick → Again" in result.error.message  # type: ignore
    assert len(ticks) == 5


# -- result and trace ---------------------------------------------------------------------------

TYPES = {"Acme.Parcel": {"fields": {"tracking": "Text", "weight": {"type": "Number", "scale": 3}}}}


def shapes_flow() -> Flow:
    return flow({
        "flow": "Shapes", "types": TYPES,
        "variables": {
            "whole": {"type": "Number", "scale": 2, "output": True, "default": 3},
            "part": {"type": "Number", "scale": 1, "output": True, "default": 2.5},
            "day": {"type": "Date", "output": True, "default": "2026-01-31"},
            "when": {"type": "DateTime", "output": True, "default": "2026-01-31T10:00:00+02:00"},
            "clock": {"type": "Time", "output": True, "default": "09:30:00"},
            "flag": {"type": "Boolean", "output": True, "default": True},
            "nothing": {"type": "Text", "output": True},
            "names": {"type": "Text", "collection": True, "output": True, "default": ["a", "b"]},
            "parcel": {"type": "Apex", "apexClass": "Acme.Parcel", "output": True},
            "hidden": {"type": "Text", "default": "not an output"},
        },
        "elements": {"Fill": assign(("parcel.tracking", "Assign", "T1"), ("parcel.weight", "Assign", 2))},
        "start": "Fill"})


def test_to_json_shape_and_values() -> None:
    result = shapes_flow().run()
    data = result.to_json()
    assert list(data) == ["flow", "status", "outputs", "error", "limits"]
    assert {k: v["used"] for k, v in data["limits"].items()} == \
        {"queries": 0, "queryRows": 0, "dmlStatements": 0, "dmlRows": 0}
    assert data["flow"] == "Shapes" and data["status"] == "Finished" and data["error"] is None
    assert data["outputs"] == {
        "whole": 3, "part": 2.5, "day": "2026-01-31", "when": "2026-01-31T08:00:00Z", "clock": "09:30:00",
        "flag": True, "nothing": None, "names": ["a", "b"], "parcel": {"tracking": "T1", "weight": 2},
    }
    text = json.dumps(data)
    assert '"whole": 3,' in text and '"weight": 2}' in text
    assert "trace" in result.to_json(trace=True)


def test_to_json_of_a_failure() -> None:
    result = flow({"variables": {"c": {"type": "Text", "collection": True}},
                   "elements": {"Break": assign(("c", "RemovePosition", 2))}, "start": "Break"}).run()
    error = result.to_json()["error"]
    assert set(error) == {"message", "element", "type"}
    assert error["element"] == "Break" and error["type"] == "RuntimeError"
    assert error["message"].startswith("Break (Assignment): RemovePosition 2")


def test_trace_entries_for_every_element_type() -> None:
    f = flow({
        "variables": {"words": {"type": "Text", "collection": True, "default": ["x"]},
                      "n": {"type": "Number", "default": 1}, "t": {"type": "Text"}},
        "elements": {
            "Set_Up": assign(("n", "Add", 1), ("t", "Assign", "n is {!n}"), next="Check"),
            "Check": {"type": "Decision", "rules": [
                {"name": "Small", "conditions": [{"left": "n", "op": "LessThan", "right": 2}], "next": "Set_Up"},
                {"name": "Two", "logic": "or", "conditions": [{"left": "n", "op": "EqualTo", "right": 2},
                                                             {"left": "t", "op": "IsNull", "right": True}],
                 "next": "Each_Word"}]},
            "Each_Word": {"type": "Loop", "collection": "words", "each": "Write", "after": "Done"},
            "Write": note("{!Each_Word}", next="Each_Word"),
            "Done": assign(("t", "Add", "!"))},
        "start": "Set_Up"})
    result = f.run(org=FakeStore(), trace=True)
    assert result.status == "Finished", result.error
    trace = result.trace or []
    assert [(e["step"], e["element"], e["type"]) for e in trace] == [
        (1, "Set_Up", "Assignment"), (2, "Check", "Decision"), (3, "Each_Word", "Loop"),
        (4, "Write", "Action"), (5, "Each_Word", "Loop"), (6, "Done", "Assignment")]
    assert trace[0]["assignments"] == [
        {"ref": "n", "op": "Add", "before": 1, "after": 2},
        {"ref": "t", "op": "Assign", "before": None, "after": "n is 2"}]
    assert trace[1]["outcome"] == "Two"
    assert trace[1]["conditions"] == [
        {"outcome": "Small", "condition": "n LessThan 2", "left": 2, "result": False},
        {"outcome": "Two", "condition": "n EqualTo 2", "left": 2, "result": True},
        {"outcome": "Two", "condition": "t IsNull true", "left": "n is 2", "result": False}]
    assert (trace[2]["iteration"], trace[2]["item"]) == (1, "x")
    assert trace[3]["inputs"] == {"body": "x"} and trace[3]["outputs"] == {"noteId": "a00000000000000001"}
    assert trace[4].get("done") is True
    assert json.dumps(trace)


def test_decision_trace_shows_default_and_probe_faults() -> None:
    result = flow({"types": TYPES, "variables": {"p": {"type": "Apex", "apexClass": "Acme.Parcel"}},
                   "elements": {"Check": {"type": "Decision", "rules": [
                       {"name": "Heavy", "conditions": [{"left": "p", "op": "IsNull", "right": False},
                                                        {"left": "p.weight", "op": "GreaterThan", "right": 1}]}]}},
                   "start": "Check"}).run(trace=True)
    assert result.status == "Finished"
    (entry,) = result.trace or []
    assert entry["outcome"] == "default"
    assert entry["conditions"][1]["left"].startswith("<The flow tried to read {!p.weight}")


def test_trace_shows_literal_right_hand_sides_as_json() -> None:
    result = flow({"variables": {"n": {"type": "Number", "default": 9}, "d": {"type": "Date"},
                                 "t": {"type": "Text"}},
                   "elements": {"Check": {"type": "Decision", "rules": [
                       {"name": "Any", "logic": "and", "conditions": [
                           {"left": "n", "op": "NotIn", "right": [1, 2.5]}, {"left": "d", "op": "EqualTo", "right": None},
                           {"left": "t", "op": "NotEqualTo", "right": "a b"},
                           {"left": "d", "op": "NotEqualTo", "right": "{!$Flow.CurrentDate}"}]}]}},
                   "start": "Check"}).run(trace=True)
    (entry,) = result.trace or []
    assert [row["condition"] for row in entry["conditions"]] == [
        "n NotIn [1, 2.5]", "d EqualTo null", "t NotEqualTo a b", "d NotEqualTo {!$Flow.CurrentDate}"]


def test_trace_marks_the_failing_element() -> None:
    result = flow({"variables": {"c": {"type": "Text", "collection": True}},
                   "elements": {"Break": assign(("c", "RemovePosition", 2))}, "start": "Break"}).run(trace=True)
    (entry,) = result.trace or []
    assert entry["fault"] == result.error.message  # type: ignore[union-attr]


def test_no_trace_unless_asked() -> None:
    result = shapes_flow().run()
    assert result.trace is None
    assert result.to_json(trace=True)["trace"] == []


# -- globals, inputs and defaults -----------------------------------------------------------------

def globals_flow() -> Flow:
    names = ["$Flow.CurrentDate", "$Flow.CurrentDateTime", "$Flow.InterviewGuid", "$Flow.InterviewStartTime",
             "$GlobalConstant.True", "$GlobalConstant.False", "$GlobalConstant.EmptyString", "$Flow.FaultMessage"]
    variables = {"today": {"type": "Date"}, "now": {"type": "DateTime"}, "guid": {"type": "Text"},
                 "started": {"type": "DateTime"}, "yes": {"type": "Boolean"}, "no": {"type": "Boolean"},
                 "empty": {"type": "Text"}, "fault": {"type": "Text"}}
    variables = {k: {**v, "output": True} for k, v in variables.items()}
    variables["guid_again"] = {"type": "Text", "output": True}
    items = [(var, "Assign", f"{{!{name}}}") for var, name in zip(list(variables)[:8], names)]
    items.append(("guid_again", "Assign", "{!$Flow.InterviewGuid}"))
    return flow({"variables": variables, "elements": {"Read": assign(*items)}, "start": "Read"})


def test_globals() -> None:
    f = globals_flow()
    before = dt.datetime.now(UTC).replace(microsecond=0)
    out = f.run().outputs
    after = dt.datetime.now(UTC)
    assert out["today"] == dt.datetime.now(UTC).date() or out["today"] == before.date()
    assert before <= out["now"] <= after and out["now"].tzinfo is not None
    assert before <= out["started"] <= out["now"]
    assert out["guid"] and out["guid"] == out["guid_again"]
    assert f.run().outputs["guid"] != out["guid"]
    assert (out["yes"], out["no"], out["empty"], out["fault"]) == (True, False, "", None)


def test_a_default_can_refer_to_an_input() -> None:
    f = flow({"variables": {"qty": {"type": "Number", "input": True, "default": 1},
                            "double": {"type": "Number", "output": True, "default": "{!qty}"},
                            "label": {"type": "Text", "output": True, "input": True, "default": "qty {!qty}"}},
              "elements": {"Twice": assign(("double", "Add", "{!qty}"))}, "start": "Twice"})
    assert f.run().outputs == {"double": Decimal(2), "label": "qty 1"}
    assert f.run({"qty": 5}).outputs == {"double": Decimal(10), "label": "qty 5"}
    assert f.run({"qty": 5, "label": "mine"}).outputs["label"] == "mine"


def test_a_faulting_default_fails_the_interview_naming_the_variable() -> None:
    result = flow({"types": TYPES, "variables": {"p": {"type": "Apex", "apexClass": "Acme.Parcel"},
                                                 "t": {"type": "Text", "default": "{!p.tracking}"}},
                   "elements": {"Nothing": assign(("t", "Add", "x"))}, "start": "Nothing"}).run()
    assert result.status == "Failed"
    assert result.error.message.startswith("default value of variable t: The flow tried to read")  # type: ignore


def test_inputs_are_checked_and_converted() -> None:
    f = flow({"variables": {"qty": {"type": "Number", "scale": 0, "input": True, "output": True},
                            "day": {"type": "Date", "input": True, "output": True},
                            "secret": {"type": "Text"}},
              "elements": {"Noop": assign(("qty", "Add", 0))}, "start": "Noop"})
    assert f.run({"QTY": "2.5", "day": "2026-01-31"}).outputs == {"qty": Decimal(3), "day": dt.date(2026, 1, 31)}
    with pytest.raises(InputError, match=r"has no input 'qtty'; did you mean 'qty'\?"):
        f.run({"qtty": 1})
    with pytest.raises(InputError, match="'secret' is not an input variable"):
        f.run({"secret": "x"})
    with pytest.raises(InputError, match="input qty: the text 'lots' does not fit Number"):
        f.run({"qty": "lots"})


def test_interview_result_is_an_interview_result() -> None:
    assert isinstance(shapes_flow().run(), InterviewResult)


def test_limit_on_a_straight_path_names_where_it_stopped() -> None:
    f = flow({"variables": {"n": {"type": "Number"}},
              "elements": {"One": assign(("n", "Add", 1), next="Two"), "Two": assign(("n", "Add", 1), next="Three"),
                           "Three": assign(("n", "Add", 1))},
              "start": "One"})
    result = f.run(max_elements=2)
    assert result.status == "Failed"
    assert result.error.message.endswith("more than 2 elements (the limit on executed elements per "  # type: ignore
                                         "interview); it stopped before Three")
    assert f.run(max_elements=3).status == "Finished"


# -- formulas and templates (spec 3.5) -----------------------------------------------------------

def test_formulas_and_templates_are_recalculated_every_time_they_are_read() -> None:
    f = flow({
        "variables": {"counter": {"type": "Number", "default": 0}, "limit": {"type": "Number", "default": 3},
                      "log": {"type": "Text", "output": True}},
        "formulas": {"remaining": {"type": "Number", "expression": "{!limit} - {!counter}"}},
        "templates": {"status": "{!counter} done, {!remaining} to go"},
        "elements": {"Work": assign(("log", "Add", "[{!status}]"), ("counter", "Add", 1),
                                    ("log", "Add", "[{!status}]"), ("counter", "Add", "{!remaining}"),
                                    ("log", "Add", "[{!remaining}]"))},
        "start": "Work"})
    assert f.run().outputs["log"] == "[0 done, 3 to go][1 done, 2 to go][0]"


def test_formula_in_a_decision_and_a_loop_body() -> None:
    f = flow({
        "variables": {"n": {"type": "Number", "output": True, "default": 0}},
        "formulas": {"small": {"type": "Boolean", "expression": "{!n} < 3"}},
        "elements": {"Step": assign(("n", "Add", 1), next="Check"),
                     "Check": {"type": "Decision", "rules": [
                         {"name": "Still_Small", "conditions": [{"left": "small", "op": "EqualTo", "right": True}],
                          "next": "Step"}]}},
        "start": "Step"})
    assert f.run().outputs["n"] == Decimal(3)


def test_a_formula_fault_fails_the_interview_naming_the_formula() -> None:
    f = flow({
        "variables": {"count": {"type": "Number", "input": True, "default": 0},
                      "average": {"type": "Number", "scale": 1, "output": True}},
        "formulas": {"perItem": {"type": "Number", "expression": "10 / {!count}"}},
        "elements": {"Compute": assign(("average", "Assign", "{!perItem}"))},
        "start": "Compute"})
    assert f.run({"count": 4}).outputs["average"] == Decimal("2.5")
    result = f.run()
    assert result.status == "Failed"
    assert result.error.element == "Compute" and result.error.type == "RuntimeError"  # type: ignore[union-attr]
    assert result.error.message.startswith("Compute (Assignment): formula perItem failed")  # type: ignore


def test_a_formula_fault_in_an_action_input_fails_the_interview() -> None:
    f = flow({
        "variables": {"count": {"type": "Number", "default": 0}},
        "formulas": {"body": {"type": "Text", "expression": "TEXT(1 / {!count})"}},
        "elements": {"Write": note("{!body}", fault="Done"), "Done": assign(("count", "Add", 1))},
        "start": "Write"})
    result = f.run(org=FakeStore())
    assert result.status == "Failed"
    assert "formula body failed" in result.error.message  # type: ignore[union-attr]


def test_numbers_beyond_18_digits_fail_with_a_clear_message() -> None:
    # a Salesforce Number holds at most 18 digits (knowledge article 000386249)
    with pytest.raises(ValidationError, match="more than 18 digits before the decimal point"):
        flow({"variables": {"n": {"type": "Number", "scale": 2, "default": "99999999999999999999999999"}},
              "elements": {"Grow": assign(("n", "Add", 1))}, "start": "Grow"})
    result = flow({"variables": {"n": {"type": "Number", "scale": 2, "default": "999999999999999999"}},
                   "elements": {"Grow": assign(("n", "Add", 1))}, "start": "Grow"}).run()
    assert result.status == "Failed"
    assert "the result 1000000000000000000.00 has more than 18 digits" in result.error.message  # type: ignore[union-attr]


def test_a_date_out_of_range_fails_the_interview() -> None:
    result = flow({"variables": {"d": {"type": "Date", "default": "2026-01-01"}},
                   "elements": {"Far": assign(("d", "Add", 99999999))}, "start": "Far"}).run()
    assert result.status == "Failed"
    assert result.error.message.startswith("Far (Assignment): OverflowError")  # type: ignore[union-attr]
