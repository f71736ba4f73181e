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
