"""Action elements at run time (spec 4.4, 5): inputs, outputs, faults, HasError, FaultMessage."""
from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from decimal import Decimal
from typing import Any

import pytest
from helpers import FakeRegistry, assign, flow_from_doc

from flowengine.errors import ActionError
from flowengine.plugins import Action, ActionContext, Parameter
from flowengine.runtime import InterviewResult
from flowengine.types import ApexClass, ApexField, ApexObject, FlowType

BOX = ApexClass("Acme.Box", {"size": ApexField(FlowType("Text")), "weight": ApexField(FlowType("Number"))})


def make_action(name: str, handler: Callable[[Mapping[str, Any], ActionContext], Any],
                inputs: dict[str, FlowType] | None = None, outputs: dict[str, FlowType] | None = None,
                required: tuple[str, ...] = ()) -> Action:
    return Action(name, name, "Test", f"test action {name}", handler,
                  tuple(Parameter(n, t, required=n in required) for n, t in (inputs or {}).items()),
                  tuple(Parameter(n, t) for n, t in (outputs or {}).items()))


calls: list[dict[str, Any]] = []


def record(inputs: Mapping[str, Any], ctx: ActionContext) -> dict[str, Any]:
    calls.append({"inputs": dict(inputs), "element": ctx.element, "flow": ctx.flow})
    return {"echo": inputs.get("text"), "doubled": (inputs.get("n") or 0) * 2}


def fail(inputs: Mapping[str, Any], ctx: ActionContext) -> Any:
    raise ActionError("INVALID_QUANTITY", f"cannot cancel {inputs.get('n')} items")


def crash(inputs: Mapping[str, Any], ctx: ActionContext) -> Any:
    raise KeyError("missing")


def box_maker(inputs: Mapping[str, Any], ctx: ActionContext) -> Any:
    return {"box": ApexObject("Acme.Box", {"size": inputs["size"]}), "boxes": [{"size": "S"}, {"size": "M"}]}


ACTIONS = FakeRegistry([
    make_action("recordCall", record,
                {"text": FlowType("Text"), "n": FlowType("Number"), "price": FlowType("Currency"),
                 "when": FlowType("DateTime"), "tags": FlowType("Text", collection=True)},
                {"echo": FlowType("Text"), "doubled": FlowType("Number")}),
    make_action("alwaysFails", fail, {"n": FlowType("Number")}, {"echo": FlowType("Text")}),
    make_action("crashes", crash),
    make_action("makeBox", box_maker, {"size": FlowType("Text")},
                {"box": FlowType("Apex", apex_class="Acme.Box"),
                 "boxes": FlowType("Apex", apex_class="Acme.Box", collection=True)}, required=("size",)),
    make_action("unknownOutput", lambda i, c: {"surprise": 1}, {}, {"echo": FlowType("Text")}),
    make_action("wrongType", lambda i, c: {"doubled": "lots"}, {}, {"doubled": FlowType("Number")}),
    make_action("notAMapping", lambda i, c: ["doubled"], {}, {"doubled": FlowType("Number")}),
    make_action("returnsNothing", lambda i, c: None, {}, {"echo": FlowType("Text"),
                                                          "all": FlowType("Text", collection=True)}),
    make_action("looseTypes", lambda i, c: {"n": 3, "t": 4.5, "d": "2026-01-31"}, {},
                {"n": FlowType("Number"), "t": FlowType("Text"), "d": FlowType("Date")}),
], [BOX])


def run(variables: dict[str, Any], elements: dict[str, Any], start: str,
        inputs: dict[str, Any] | None = None, trace: bool = False) -> InterviewResult:
    doc = {"flow": "Action_Test", "variables": variables, "elements": elements, "start": start}
    flow = flow_from_doc(doc, registry=lambda: ACTIONS)
    return flow.run(inputs, trace=trace)


@pytest.fixture(autouse=True)
def clear_calls() -> None:
    calls.clear()


# -- inputs ------------------------------------------------------------------------------------

def test_inputs_are_converted_to_the_parameter_types() -> None:
    result = run(
        {"qty": {"type": "Number", "scale": 0, "default": 4}, "day": {"type": "Date", "default": "2026-01-31"},
         "one": {"type": "Text", "default": "solo"}},
        {"Call": {"type": "Action", "action": "recordCall",
                  "inputs": {"text": "{!qty}", "n": "{!qty}", "price": 1.005, "when": "{!day}", "tags": ["{!one}", 2]}}},
        "Call")
    assert result.status == "Finished", result.error
    (call,) = calls
    assert call["inputs"] == {"text": "4", "n": Decimal(4), "price": Decimal("1.01"),
                              "when": dt.datetime(2026, 1, 31, tzinfo=dt.UTC), "tags": ["solo", "2"]}
    assert call["element"] == "Call" and call["flow"] == "Action_Test"


def test_missing_optional_inputs_are_absent() -> None:
    run({}, {"Call": {"type": "Action", "action": "recordCall", "inputs": {"n": 1}}}, "Call")
    assert calls[0]["inputs"] == {"n": Decimal(1)}


def test_null_input_is_passed_as_null() -> None:
    run({"nothing": {"type": "Number"}},
        {"Call": {"type": "Action", "action": "recordCall", "inputs": {"n": "{!nothing}", "text": "a{!nothing}b"}}},
        "Call")
    assert calls[0]["inputs"] == {"n": None, "text": "ab"}


def test_inputs_are_copies_of_objects() -> None:
    seen: list[Any] = []

    def mutate(inputs: Mapping[str, Any], ctx: ActionContext) -> Any:
        inputs["box"].fields["size"] = "changed by the action"
        seen.append(inputs["box"])
        return {}

    registry = FakeRegistry([make_action("mutate", mutate, {"box": FlowType("Apex", apex_class="Acme.Box")})],
                            [BOX])
    doc = {"flow": "Copies", "variables": {"box": {"type": "Apex", "apexClass": "Acme.Box", "output": True,
                                                    "default": {"size": "S"}}},
           "elements": {"Call": {"type": "Action", "action": "mutate", "inputs": {"box": "{!box}"}}},
           "start": "Call"}
    result = flow_from_doc(doc, registry=lambda: registry).run()
    assert seen and result.outputs["box"].fields["size"] == "S"


# -- outputs ----------------------------------------------------------------------------------

def test_outputs_are_stored_under_the_element_and_mapped_to_variables() -> None:
    result = run(
        {"doubled": {"type": "Number", "output": True}, "again": {"type": "Number", "output": True},
         "echoed": {"type": "Text", "output": True}},
        {"Call": {"type": "Action", "action": "recordCall", "inputs": {"n": 2.5, "text": "hi"},
                  "outputs": {"doubled": "doubled"}, "next": "Use"},
         "Use": assign(("again", "Assign", "{!Call.doubled}"), ("echoed", "Assign", "{!Call.echo}!"))},
        "Call")
    assert result.outputs == {"doubled": Decimal(5), "again": Decimal(5), "echoed": "hi!"}


def test_output_mapped_to_a_text_or_scaled_variable_is_converted() -> None:
    result = run(
        {"as_text": {"type": "Text", "output": True}, "whole": {"type": "Number", "scale": 0, "output": True}},
        {"Call": {"type": "Action", "action": "recordCall", "inputs": {"n": 1.25},
                  "outputs": {"doubled": "as_text"}, "next": "Again"},
         "Again": {"type": "Action", "action": "recordCall", "inputs": {"n": 1.25},
                   "outputs": {"doubled": "whole"}, "next": "Use"},
         "Use": assign(("as_text", "Add", "!"))},
        "Call")
    assert result.status == "Finished", result.error
    assert result.outputs == {"as_text": "2.50!", "whole": Decimal(3)}   # 1.25 * 2 keeps its places


def test_object_outputs_are_typed_and_copied() -> None:
    result = run(
        {"box": {"type": "Apex", "apexClass": "Acme.Box", "output": True},
         "boxes": {"type": "Apex", "apexClass": "Acme.Box", "collection": True, "output": True},
         "size": {"type": "Text", "output": True}},
        {"Make": {"type": "Action", "action": "makeBox", "inputs": {"size": "XL"},
                  "outputs": {"box": "box", "boxes": "boxes"}, "next": "Change"},
         "Change": assign(("box.size", "Assign", "tiny"), ("size", "Assign", "{!Make.box.size}"))},
        "Make")
    assert result.outputs["box"] == ApexObject("Acme.Box", {"size": "tiny"})
    assert result.outputs["size"] == "XL"
    assert result.outputs["boxes"] == [ApexObject("Acme.Box", {"size": "S"}), ApexObject("Acme.Box", {"size": "M"})]


def test_outputs_the_action_left_out_are_null() -> None:
    result = run(
        {"echoed": {"type": "Text", "output": True, "default": "before"},
         "all": {"type": "Text", "collection": True, "output": True}},
        {"Call": {"type": "Action", "action": "returnsNothing", "outputs": {"echo": "echoed", "all": "all"}}},
        "Call")
    assert result.outputs == {"echoed": None, "all": []}


def test_outputs_are_converted_from_plain_python_values() -> None:
    result = run(
        {"n": {"type": "Number", "output": True}, "t": {"type": "Text", "output": True},
         "d": {"type": "Date", "output": True}},
        {"Call": {"type": "Action", "action": "looseTypes", "outputs": {"n": "n", "t": "t", "d": "d"}}},
        "Call")
    assert result.outputs == {"n": Decimal(3), "t": "4.5", "d": dt.date(2026, 1, 31)}


def test_reading_the_output_of_an_action_that_has_not_run_faults() -> None:
    result = run(
        {"t": {"type": "Text"}},
        {"Read": assign(("t", "Assign", "{!Call.echo}"), next="Call"),
         "Call": {"type": "Action", "action": "recordCall"}},
        "Read")
    assert result.status == "Failed"
    assert "hasn't been set or assigned" in result.error.message  # type: ignore[union-attr]


@pytest.mark.parametrize(("action", "words"), [
    ("unknownOutput", "unknown output 'surprise'"),
    ("wrongType", "returned a bad doubled: the text 'lots' does not fit Number"),
    ("notAMapping", "returned list, expected a mapping"),
])
def test_bad_action_results_are_faults(action: str, words: str) -> None:
    result = run({}, {"Call": {"type": "Action", "action": action}}, "Call")
    assert result.status == "Failed"
    assert result.error is not None
    assert result.error.element == "Call"
    assert result.error.type == "ActionError"
    assert words in result.error.message
    assert action in result.error.message


# -- faults -------------------------------------------------------------------------------------

def test_fault_without_connector_fails_naming_element_action_and_cause() -> None:
    result = run({"log": {"type": "Text", "output": True}},
                 {"Cancel": {"type": "Action", "action": "alwaysFails", "inputs": {"n": 3}, "next": "After"},
                  "After": assign(("log", "Assign", "ran on"))},
                 "Cancel")
    assert result.status == "Failed"
    assert result.outputs["log"] is None
    error = result.error
    assert error is not None
    assert (error.element, error.type, error.error_code) == ("Cancel", "ActionError", "INVALID_QUANTITY")
    assert error.message == "Cancel (Action alwaysFails): INVALID_QUANTITY: cannot cancel 3 items"
    assert result.to_json()["error"] == {"message": error.message, "element": "Cancel", "type": "ActionError"}


def test_fault_connector_sets_the_fault_message_and_has_error() -> None:
    result = run(
        {"log": {"type": "Text", "output": True}, "before": {"type": "Text", "output": True}},
        {"Start": assign(("before", "Assign", "kept"), ("log", "Add", "[{!$Flow.FaultMessage}]"), next="Cancel"),
         "Cancel": {"type": "Action", "action": "alwaysFails", "inputs": {"n": 3}, "next": "Happy",
                    "fault": "Check"},
         "Happy": assign(("log", "Add", "happy")),
         "Check": {"type": "Decision", "rules": [
             {"name": "Failed_Cancel", "conditions": [{"left": "Cancel", "op": "HasError", "right": True},
                                                      {"left": "Start", "op": "WasVisited", "right": True}],
              "next": "Handle"}], "default": "Happy"},
         "Handle": assign(("log", "Add", "handled: {!$Flow.FaultMessage}"))},
        "Start")
    assert result.status == "Finished", result.error
    assert result.outputs == {"log": "[]handled: INVALID_QUANTITY: cannot cancel 3 items", "before": "kept"}


def test_has_error_is_false_for_an_action_that_succeeded() -> None:
    result = run(
        {"log": {"type": "Text", "output": True}},
        {"Call": {"type": "Action", "action": "recordCall", "next": "Check", "fault": "Check"},
         "Check": {"type": "Decision", "rules": [
             {"name": "Errored", "conditions": [{"left": "Call", "op": "HasError", "right": True}],
              "next": "Note"}], "default": "Fine"},
         "Note": assign(("log", "Assign", "error")),
         "Fine": assign(("log", "Assign", "fine"))},
        "Call")
    assert result.outputs["log"] == "fine"


def test_a_crash_inside_an_action_is_a_fault_naming_the_action() -> None:
    result = run({"msg": {"type": "Text", "output": True}},
                 {"Call": {"type": "Action", "action": "crashes", "fault": "Note"},
                  "Note": assign(("msg", "Assign", "{!$Flow.FaultMessage}"))},
                 "Call")
    assert result.outputs["msg"] == "internal error in action crashes: KeyError: 'missing'"
    failed = run({}, {"Call": {"type": "Action", "action": "crashes"}}, "Call")
    assert failed.status == "Failed"
    assert failed.error.message.startswith("Call (Action crashes): internal error")  # type: ignore[union-attr]


def test_outputs_of_a_faulted_action_are_not_set() -> None:
    result = run({"echoed": {"type": "Text", "output": True, "default": "before"}},
                 {"Cancel": {"type": "Action", "action": "alwaysFails", "outputs": {"echo": "echoed"},
                             "fault": "Done"},
                  "Done": assign(("echoed", "Add", "!"))},
                 "Cancel")
    assert result.outputs["echoed"] == "before!"


def test_fault_message_is_replaced_by_a_later_fault() -> None:
    result = run(
        {"log": {"type": "Text", "output": True}},
        {"First": {"type": "Action", "action": "alwaysFails", "inputs": {"n": 1}, "fault": "Second"},
         "Second": {"type": "Action", "action": "alwaysFails", "inputs": {"n": 2}, "fault": "Note"},
         "Note": assign(("log", "Assign", "{!$Flow.FaultMessage}"))},
        "First")
    assert result.outputs["log"] == "INVALID_QUANTITY: cannot cancel 2 items"


def test_action_trace_shows_inputs_outputs_and_faults() -> None:
    result = run(
        {},
        {"Call": {"type": "Action", "action": "recordCall", "inputs": {"n": 1.5, "text": "x"}, "next": "Cancel"},
         "Cancel": {"type": "Action", "action": "alwaysFails", "inputs": {"n": 2}}},
        "Call", trace=True)
    first, second = result.trace or []
    assert first["action"] == "recordCall"
    assert first["inputs"] == {"n": 1.5, "text": "x"}
    assert first["outputs"] == {"echo": "x", "doubled": 3}
    assert second["inputs"] == {"n": 2}
    assert second["fault"] == "INVALID_QUANTITY: cannot cancel 2 items"
    assert "outputs" not in second
