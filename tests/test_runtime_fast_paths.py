"""The interpreter's specialised nodes give what the general ones give (spec 4.1, 4.2).

A one-row Assignment that adds or subtracts a number literal to a Number variable, and a
one-outcome Decision that orders a variable against another or a literal, run in nodes of
their own; the same rows and conditions written so that the general nodes run them (a second
row, a record field on the left) must give the same values, outcomes and faults, at the
edges of rounding, of nulls and of the 18 digits a Number holds."""
from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
import yaml

from flowengine.api import load_flow_text
from flowengine.errors import InputError

BIG = "999999999999999999"          # the largest whole Number: 18 digits


def _run_assignment(scale: int | None, start: Any, op: str, value: Any, general: bool) -> Any:
    decl: dict[str, Any] = {"type": "Number", "input": True, "output": True}
    if scale is not None:
        decl["scale"] = scale
    rows = [{"ref": "x", "op": op, "value": value}]
    if general:                        # a second row: the element runs in the general node
        rows.append({"ref": "other", "op": "Assign", "value": 1})
    doc = {"flow": "Fast_Assignment",
           "variables": {"x": decl, "other": {"type": "Number"}},
           "elements": {"Step": {"type": "Assignment", "assignments": rows}},
           "start": "Step"}
    flow = load_flow_text(yaml.safe_dump(doc, sort_keys=False))
    try:
        result = flow.run({"x": Decimal(start)} if start is not None else {})
    except InputError as exc:        # the start value does not fit the scale
        return "input", str(exc)
    if result.error is not None:
        return "fault", result.error.message, result.error.element
    value = result.outputs["x"]
    return "ok", str(value) if isinstance(value, Decimal) else value


@pytest.mark.parametrize("scale", [None, 0, 2, 17])
@pytest.mark.parametrize("start", [None, "0", "-0.5", "2.555", BIG, "-" + BIG, "99999999999.5"])
@pytest.mark.parametrize("op", ["Add", "Subtract"])
@pytest.mark.parametrize("value", [1, -1, 0, "0.5", "2.345"])
def test_adding_a_literal_as_the_general_node_does(scale: int | None, start: Any, op: str,
                                                   value: Any) -> None:
    literal = float(value) if isinstance(value, str) else value
    fast = _run_assignment(scale, start, op, literal, general=False)
    assert fast == _run_assignment(scale, start, op, literal, general=True)


def test_a_literal_added_past_18_digits_fails_with_the_numbers_words() -> None:
    fault = _run_assignment(0, BIG, "Add", 1, general=False)
    assert fault[0] == "fault" and fault[2] == "Step"
    assert "1000000000000000000 has more than 18 digits before the decimal point" in fault[1]
    below = _run_assignment(0, "-" + BIG, "Subtract", 1, general=False)
    assert below[0] == "fault" and "-1000000000000000000 has more than 18 digits" in below[1]


def test_a_literal_added_rounds_half_up_to_the_scale() -> None:
    assert _run_assignment(0, "2", "Add", 0.5, general=False) == ("ok", "3")
    assert _run_assignment(0, "-2", "Subtract", 0.5, general=False) == ("ok", "-3")
    assert _run_assignment(2, None, "Subtract", 2.345, general=False) == ("ok", "-2.35")


def _decide(x_scale: int | None, y_scale: int | None, op: str, right: Any,
            x: Any, y: Any) -> tuple[Any, Any]:
    """The outcome of `x op right` in a one-outcome Decision (the specialised node) and of
    `box.n op right` (a field on the left: the general test), box.n holding x."""
    def number(scale: int | None) -> dict[str, Any]:
        return {"type": "Number", "input": True} if scale is None else \
            {"type": "Number", "scale": scale, "input": True}

    # a Number variable without a scale holds whole numbers (Variable Resource), a field of
    # the same type as x has scale 0 then
    field = {"type": "Number", "scale": 0 if x_scale is None else x_scale}

    def decision(left: str, outcome: str, after: str | None) -> dict[str, Any]:
        return {"type": "Decision",
                "rules": [{"name": outcome, "conditions": [{"left": left, "op": op, "right": right}],
                           **({"next": after} if after else {})}],
                **({"default": after} if after else {})}
    doc = {"flow": "Fast_Decision",
           "types": {"Acme.Box": {"fields": {"n": field}}},
           "variables": {"x": number(x_scale), "y": number(y_scale),
                         "box": {"type": "Apex", "apexClass": "Acme.Box"},
                         "fast_result": {"type": "Boolean", "output": True},
                         "slow_result": {"type": "Boolean", "output": True}},
           "elements": {
               "Copy": {"type": "Assignment", "assignments": [{"ref": "box.n", "op": "Assign",
                                                               "value": "{!x}"}], "next": "Fast"},
               "Fast": decision("x", "Fast_Yes", "Record_Fast"),
               "Record_Fast": {"type": "Assignment", "assignments": [
                   {"ref": "fast_result", "op": "Assign", "value": "{!Fast_Yes}"}], "next": "Slow"},
               "Slow": decision("box.n", "Slow_Yes", "Record_Slow"),
               "Record_Slow": {"type": "Assignment", "assignments": [
                   {"ref": "slow_result", "op": "Assign", "value": "{!Slow_Yes}"}]}},
           "start": "Copy"}
    flow = load_flow_text(yaml.safe_dump(doc, sort_keys=False))
    inputs = {k: v for k, v in (("x", x), ("y", y)) if v is not None}
    result = flow.run(inputs)
    assert result.ok, result.error
    return result.outputs["fast_result"], result.outputs["slow_result"]


@pytest.mark.parametrize("op", ["LessThan", "GreaterThanOrEqualTo", "EqualTo", "NotEqualTo"])
@pytest.mark.parametrize("x_scale,y_scale", [(0, 0), (0, 1), (2, 0), (None, 2), (1, None)])
@pytest.mark.parametrize("x,y", [("4", "4.4"), ("4", "4.5"), ("5", "4.5"), ("-4", "-4.5"),
                                 (None, "1"), ("1", None), (None, None), (BIG, BIG)])
def test_ordering_two_variables_as_the_general_test_does(op: str, x_scale: int | None,
                                                         y_scale: int | None, x: Any,
                                                         y: Any) -> None:
    fast, slow = _decide(x_scale, y_scale, op, "{!y}", x, y)
    assert fast == slow


@pytest.mark.parametrize("op", ["LessThan", "GreaterThan", "EqualTo", "NotEqualTo"])
@pytest.mark.parametrize("x_scale", [0, 2, None])
@pytest.mark.parametrize("right", [3, "2.5", "-2.5", 0])
@pytest.mark.parametrize("x", ["3", "2", "-3", None])
def test_ordering_against_a_literal_as_the_general_test_does(op: str, x_scale: int | None,
                                                             right: Any, x: Any) -> None:
    literal = float(right) if isinstance(right, str) else right
    fast, slow = _decide(x_scale, 0, op, literal, x, None)
    assert fast == slow


def test_a_right_hand_number_of_more_places_is_rounded_to_the_lefts_scale() -> None:
    # y = 4.4 read as a Number of scale 0 is 4: 4 < 4 does not hold
    assert _decide(0, 1, "LessThan", "{!y}", "4", "4.4") == (False, False)
    assert _decide(0, 1, "LessThan", "{!y}", "4", "4.5") == (True, True)
    # a literal too: 2.5 read as a whole number is 3
    assert _decide(0, 0, "GreaterThan", 2.5, "3", None) == (False, False)


# -- fused cycles (flowengine.runtime.fused): an Assignment and a Decision run in one loop ------

def _cycle_flow(*, op: str = "Add", step: Any = 1, scale: int = 0, compare: str = "LessThan",
                right: Any = "{!limit}", stay: str = "rule", start: str = "Increment",
                counter: Any = 0, api: str | None = None, after: str | None = "Report",
                visited: bool = False, warm: int | None = None, rounds: int | None = None) -> Any:
    """`counter op step` → `counter compare right` → back to the Assignment on the outcome
    (`stay: rule`) or on the default (`stay: default`); the other way leads to `after`. With
    `visited`, a Decision after Report asks whether Check was visited (`seen`). With `warm`,
    a cycle that is not fused runs `warm` times first (two elements each), then goes to
    `start`. With `rounds`, the cycle runs that many times over, from 0 each time."""
    number: dict[str, Any] = {"type": "Number", "scale": scale, "input": True, "output": True}
    if counter is not None:
        number["default"] = counter
    rule: dict[str, Any] = {"name": "Again", "conditions": [
        {"left": "counter", "op": compare, "right": right}]}
    check: dict[str, Any] = {"type": "Decision", "rules": [rule]}
    if stay == "rule":
        rule["next"] = "Increment"
        if after:
            check["default"] = after
    else:
        check["default"] = "Increment"
        if after:
            rule["next"] = after
    doc: dict[str, Any] = {
        "flow": "Fused",
        "variables": {"counter": number,
                      "limit": {"type": "Number", "scale": 0, "input": True},
                      "message": {"type": "Text", "output": True},
                      "seen": {"type": "Boolean", "output": True}},
        "elements": {
            "Increment": {"type": "Assignment", "next": "Check",
                          "assignments": [{"ref": "counter", "op": op, "value": step}]},
            "Check": check,
            "Report": {"type": "Assignment", "assignments": [
                {"ref": "message", "op": "Assign", "value": "at {!counter}, {!Again}"}]}},
        "start": start}
    if api is not None:
        doc["apiVersion"] = api
    if warm is not None:
        doc["variables"]["warmth"] = {"type": "Number", "scale": 0, "default": 0}
        doc["elements"]["Warm"] = {"type": "Assignment", "next": "Warm_Check",
                                   "assignments": [{"ref": "warmth", "op": "Add", "value": 1}]}
        doc["elements"]["Warm_Check"] = {   # two conditions: the general Decision node
            "type": "Decision", "default": start, "rules": [
                {"name": "Warming", "next": "Warm", "conditions": [
                    {"left": "warmth", "op": "LessThan", "right": warm},
                    {"left": "warmth", "op": "GreaterThan", "right": -1}]}]}
        doc["start"] = "Warm"
    if rounds is not None:
        assert after == "Report"
        doc["variables"]["done_rounds"] = {"type": "Number", "scale": 0, "default": 0,
                                           "output": True}
        check["default" if stay == "rule" else "next"] = "Next_Round"
        if stay != "rule":
            rule["next"] = "Next_Round"
        doc["elements"]["Next_Round"] = {"type": "Assignment", "next": "More", "assignments": [
            {"ref": "done_rounds", "op": "Add", "value": 1},
            {"ref": "counter", "op": "Assign", "value": 0}]}
        doc["elements"]["More"] = {"type": "Decision", "default": "Report", "rules": [
            {"name": "Again_Round", "next": "Increment", "conditions": [
                {"left": "done_rounds", "op": "LessThan", "right": rounds},
                {"left": "done_rounds", "op": "GreaterThan", "right": -1}]}]}
    if visited:
        doc["elements"]["Report"]["next"] = "Saw_Check"
        doc["elements"]["Saw_Check"] = {"type": "Decision", "rules": [
            {"name": "Saw", "conditions": [{"left": "Check", "op": "WasVisited", "right": True}],
             "next": "Mark"}]}
        doc["elements"]["Mark"] = {"type": "Assignment", "assignments": [
            {"ref": "seen", "op": "Assign", "value": True}]}
    return load_flow_text(yaml.safe_dump(doc, sort_keys=False))


def _seen(result: Any) -> tuple[Any, ...]:
    """All an interview's result shows, types and scales of numbers included."""
    return (result.status, repr(result.outputs), repr(result.error), repr(result.trace),
            result.elements_executed, repr(sorted(result.variables.items(), key=str)),
            result.limits.to_json())


def _fused_as_general(flow: Any, inputs: dict[str, Any], **run: Any) -> Any:
    """Run the flow with its cycle fused and with the general loop (`fused` off): the same
    result, in every detail. The fused run's result."""
    compiled = flow.compiled
    assert compiled.fused and compiled.nodes["Increment"].cycle is not None
    fast = flow.run(inputs, **run)
    compiled.fused = False
    try:
        slow = flow.run(inputs, **run)
    finally:
        compiled.fused = True
    assert _seen(fast) == _seen(slow)
    return fast


@pytest.mark.parametrize("trace", [False, True])
@pytest.mark.parametrize("limit", [0, 1, 2, 3, 10, 2_499, 2_500, 2_501, 4_999, 5_000, 5_001,
                                   7_500, 12_345, 30_000])
def test_a_fused_counter_loop_runs_as_the_general_loop(limit: int, trace: bool) -> None:
    flow = _cycle_flow()
    result = _fused_as_general(flow, {"limit": limit}, trace=trace, max_elements=10**6)
    assert result.ok and result.outputs["counter"] == max(limit, 1)
    assert result.elements_executed == 2 * max(limit, 1) + 1


@pytest.mark.parametrize("trace", [False, True])
@pytest.mark.parametrize("max_elements", [1, 2, 3, 10_000, 10_001, 10_002, 10_003, 15_000,
                                          15_001, 20_000, 20_001, 20_002, 30_001, 40_000])
def test_a_fused_loop_stops_at_the_element_limit_as_the_general_loop(max_elements: int,
                                                                      trace: bool) -> None:
    flow = _cycle_flow()
    result = _fused_as_general(flow, {"limit": 10**6}, trace=trace, max_elements=max_elements)
    assert result.error is not None and result.error.type == "LimitExceeded"
    assert result.elements_executed == max_elements
    # the limit's own words: the element that would have run and the cycle
    nxt = "Check" if max_elements % 2 else "Increment"
    assert result.error.element == nxt
    assert f"executed more than {max_elements:,} elements" in result.error.message


@pytest.mark.parametrize("trace", [False, True])
@pytest.mark.parametrize("limit,max_elements", [(5_000, 10_000), (5_000, 10_001), (5_000, 20_000),
                                                (5_000, 20_001), (5_000, 20_002), (9_999, 30_000),
                                                (10_000, 30_000), (10_001, 30_000)])
def test_a_fused_loop_ending_at_the_limit_or_one_past(limit: int, max_elements: int,
                                                      trace: bool) -> None:
    # the loop runs 2 * limit + 1 elements: at, one below and one past the limit
    flow = _cycle_flow()
    result = _fused_as_general(flow, {"limit": limit}, trace=trace, max_elements=max_elements)
    assert result.ok is (2 * limit + 1 <= max_elements)


@pytest.mark.parametrize("trace", [False, True])
@pytest.mark.parametrize("shape", [
    {"op": "Subtract", "compare": "GreaterThan", "right": 0, "counter": 3_000},
    {"op": "Subtract", "step": -2, "compare": "LessThanOrEqualTo", "right": "{!limit}"},
    {"compare": "GreaterThanOrEqualTo", "stay": "default"},
    {"compare": "GreaterThan", "right": 2_600, "stay": "default", "after": None},
    {"stay": "rule", "after": None},
    {"start": "Check"},
    {"counter": None},
    {"scale": 2, "step": 0.25},
    {"scale": 2, "step": 0.255},                  # each sum rounded half-up: 0.26 a step
    {"scale": 1, "step": 0.5, "counter": -3_000},
    {"scale": 3, "step": -0.0005, "compare": "GreaterThan", "right": -3, "counter": 0},
    {"scale": 0, "step": 0.5},                    # 0.5 rounds up to 1 each step
    {"scale": 0, "step": 0.4},                    # rounds to 0: the loop runs to the limit
    {"step": 0, "compare": "LessThanOrEqualTo", "right": 5},
    {"api": "50.0"},                              # 2,000 elements: none fused
])
def test_fused_loops_of_every_shape_as_the_general_loop(shape: dict[str, Any], trace: bool) -> None:
    flow = _cycle_flow(**shape)
    _fused_as_general(flow, {"limit": 3_000}, trace=trace, max_elements=50_000)


@pytest.mark.parametrize("trace", [False, True])
@pytest.mark.parametrize("inputs", [{}, {"limit": 10}, {"counter": None, "limit": 10}])
def test_a_null_limit_or_counter_runs_as_the_general_loop(inputs: dict[str, Any],
                                                          trace: bool) -> None:
    flow = _cycle_flow(counter=None)
    _fused_as_general(flow, inputs, trace=trace, max_elements=30_000)


@pytest.mark.parametrize("trace", [False, True])
@pytest.mark.parametrize("start,scale,step", [
    (BIG[:-4] + "0000", 0, 1_000),               # past 18 digits after a few thousand steps
    ("-" + BIG[:-4] + "0000", 0, -1_000),
    ("99999999990", 17, 1),                      # past the 28 digits of the decimal context
])
def test_a_fused_loop_faults_where_the_general_loop_does(start: str, scale: int, step: int,
                                                         trace: bool) -> None:
    # the counter moves away from 0 until it faults: the outcome `counter < 0` (or `> 0`) is
    # never taken, and the default leads back
    compare = "GreaterThan" if step < 0 else "LessThan"
    flow = _cycle_flow(step=step, scale=scale, compare=compare, right=0, stay="default")
    result = _fused_as_general(flow, {"counter": Decimal(start)}, trace=trace,
                               max_elements=10**6)
    assert result.error is not None and result.error.element == "Increment"
    assert result.elements_executed % 2 == 1
    if trace:
        assert result.trace[-1]["element"] == "Increment" and "fault" in result.trace[-1]


@pytest.mark.parametrize("trace", [False, True])
@pytest.mark.parametrize("step", [1_000, -1_000])
def test_a_fused_loop_faulting_inside_the_cycle_leaves_the_outcome_taken(step: int,
                                                                        trace: bool) -> None:
    # `counter <= BIG` holds (the outcome Again is true) until the Assignment faults
    compare, limit = ("LessThanOrEqualTo", BIG) if step > 0 else \
        ("GreaterThanOrEqualTo", "-" + BIG)
    flow = _cycle_flow(step=step, compare=compare)
    start = Decimal(limit) - 5_000 * step
    result = _fused_as_general(flow, {"counter": start, "limit": Decimal(limit)}, trace=trace,
                               max_elements=10**6)
    assert result.error is not None and result.error.element == "Increment"
    assert result.variables["Again"] is True and result.elements_executed == 2 * 5_000 + 1


def test_a_traced_fused_loop_marks_its_elements_visited() -> None:
    flow = _cycle_flow(visited=True)
    result = _fused_as_general(flow, {"limit": 12_000}, trace=True, max_elements=10**6)
    assert result.outputs["seen"] is True


def test_a_traced_fused_loop_keeps_the_head_the_tail_and_counts_the_rest() -> None:
    flow = _cycle_flow()
    result = _fused_as_general(flow, {"limit": 100_000}, trace=True, max_elements=10**6)
    trace = result.trace
    assert [e.get("step") for e in trace[:3]] == [1, 2, 3]
    summary = trace[5_000]
    assert summary["omitted"] == 200_001 - 10_000 and summary["steps"] == [5_001, 195_001]
    assert summary["elements"] == {"Check": 95_000, "Increment": 95_001}
    assert trace[-1]["element"] == "Report" and trace[-2]["outcome"] == "default"
    assert trace[-3]["assignments"] == [{"ref": "counter", "op": "Add", "before": 99_999,
                                         "after": 100_000}]


@pytest.mark.parametrize("trace", [False, True])
@pytest.mark.parametrize("rounds,limit,max_elements", [
    (3, 20, 10**6), (4, 3_001, 10**6), (3, 7_000, 10**6), (5, 3_000, 25_001), (5, 3_000, 40_000)])
def test_a_fused_loop_entered_again_and_again(rounds: int, limit: int, max_elements: int,
                                              trace: bool) -> None:
    flow = _cycle_flow(rounds=rounds)
    result = _fused_as_general(flow, {"limit": limit}, trace=trace, max_elements=max_elements)
    if result.ok:
        assert result.outputs["done_rounds"] == rounds


@pytest.mark.parametrize("trace", [False, True])
@pytest.mark.parametrize("start", ["Increment", "Check"])
@pytest.mark.parametrize("warm", [1, 2_499, 2_500, 2_501, 3_000, 7_777])
def test_a_fused_loop_entered_late_or_at_an_odd_step(warm: int, start: str, trace: bool) -> None:
    # the cycle starts after the trace's head has filled, or across its end, at an even or
    # an odd step: the entries kept and the summary as the general loop gives them
    flow = _cycle_flow(warm=warm, start=start)
    result = _fused_as_general(flow, {"limit": 20_000}, trace=trace, max_elements=10**6)
    if not trace:
        return
    omitted = result.trace[5_000]["elements"]
    assert ("Warm" in omitted) is (2 * warm > 5_000) and omitted["Increment"] > 10_000
