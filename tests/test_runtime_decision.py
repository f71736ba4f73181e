"""Decision at run time (spec 4.2): every operator, text case, nulls, custom logic, outcomes."""
from __future__ import annotations

from typing import Any

import pytest
import yaml

from flowengine.api import load_flow_text
from flowengine.runtime import InterviewResult

TYPES = {"Acme.Parcel": {"fields": {"tracking": "Text", "weight": "Number"}}}


def decide(variables: dict[str, Any], *conditions: tuple[str, str, Any], logic: str = "and",
           inputs: dict[str, Any] | None = None, trace: bool = False) -> InterviewResult:
    """A Decision `Check` with one rule `Yes` over `conditions`; `outcome` says which way it went."""
    doc: dict[str, Any] = {"flow": "Decision_Test", "types": TYPES}
    doc["variables"] = {**variables, "outcome": {"type": "Text", "output": True}}
    rule = {"name": "Yes", "logic": logic,
            "conditions": [{"left": left, "op": op, "right": right} for left, op, right in conditions],
            "next": "Said_Yes"}
    doc["elements"] = {
        "Check": {"type": "Decision", "rules": [rule], "default": "Said_No"},
        "Said_Yes": {"type": "Assignment", "assignments": [{"ref": "outcome", "op": "Assign", "value": "yes"}]},
        "Said_No": {"type": "Assignment", "assignments": [{"ref": "outcome", "op": "Assign", "value": "no"}]},
    }
    doc["start"] = "Check"
    return load_flow_text(yaml.safe_dump(doc, sort_keys=False)).run(inputs, trace=trace)


def holds(variables: dict[str, Any], *conditions: tuple[str, str, Any], **kw: Any) -> bool:
    result = decide(variables, *conditions, **kw)
    assert result.status == "Finished", result.error
    return {"yes": True, "no": False}[result.outputs["outcome"]]


def var(type_: str, value: Any = None, **extra: Any) -> dict[str, Any]:
    decl: dict[str, Any] = {"type": type_, **extra}
    if value is not None:
        decl["default"] = value
    return decl


# -- comparisons --------------------------------------------------------------------------------

@pytest.mark.parametrize(("op", "right", "expected"), [
    ("EqualTo", 5, True), ("EqualTo", 5.0, True), ("EqualTo", 4, False),
    ("NotEqualTo", 4, True), ("NotEqualTo", 5, False),
    ("GreaterThan", 4, True), ("GreaterThan", 5, False),
    ("LessThan", 6, True), ("LessThan", 5, False),
    ("GreaterThanOrEqualTo", 5, True), ("GreaterThanOrEqualTo", 6, False),
    ("LessThanOrEqualTo", 5, True), ("LessThanOrEqualTo", 4, False),
    ("In", [1, 5], True), ("In", [1, 2], False), ("NotIn", [1, 2], True), ("NotIn", [5], False),
])
def test_number_operators(op: str, right: Any, expected: bool) -> None:
    assert holds({"n": var("Number", 5)}, ("n", op, right)) is expected


@pytest.mark.parametrize(("op", "right", "expected"), [
    ("EqualTo", "hello world", True), ("EqualTo", "HELLO World", True), ("EqualTo", "hello", False),
    ("NotEqualTo", "HELLO WORLD", False), ("NotEqualTo", "bye", True),
    ("StartsWith", "HELLO", True), ("StartsWith", "world", False),
    ("EndsWith", "WORLD", True), ("EndsWith", "hello", False),
    ("Contains", "O W", True), ("Contains", "xyz", False),
    ("In", ["x", "Hello World"], True), ("NotIn", ["HELLO WORLD"], False), ("NotIn", ["x"], True),
])
def test_text_operators_ignore_case(op: str, right: Any, expected: bool) -> None:
    assert holds({"t": var("Text", "Hello World")}, ("t", op, right)) is expected


def test_picklist_and_multipicklist_compare_like_text() -> None:
    assert holds({"p": var("Picklist", "Red")}, ("p", "EqualTo", "RED"))
    assert holds({"m": var("Multipicklist", "Red;Blue")}, ("m", "Contains", "blue"))


@pytest.mark.parametrize(("left", "right", "expected"), [
    ("001000000000001AAA", "001000000000001AAA", True),
    ("001000000000001AAA", "001000000000001aaa", False),     # 18-character Ids: exact
    ("a0B000000000001", "A0B000000000001", False),           # 15-character Ids: exact
    ("ORDER-00000001AB", "order-00000001ab", True),          # not an Id (has '-'): ignores case
])
def test_record_ids_compare_exactly(left: str, right: str, expected: bool) -> None:
    assert holds({"t": var("Text", left)}, ("t", "EqualTo", right)) is expected
    assert holds({"t": var("Text", left)}, ("t", "NotEqualTo", right)) is not expected


def test_contains_on_collections() -> None:
    nums = {**var("Number", [1, 2.5], collection=True), "scale": 1}
    assert holds({"c": nums}, ("c", "Contains", 2.5))
    assert holds({"c": nums}, ("c", "Contains", 1.0))
    assert not holds({"c": nums}, ("c", "Contains", 3))
    words = var("Text", ["Red", "Blue"], collection=True)
    assert holds({"c": words}, ("c", "Contains", "blue"))      # an item equal ignoring case
    assert not holds({"c": words}, ("c", "Contains", "Bl"))    # whole items, not text inside them
    assert not holds({"c": var("Text", collection=True)}, ("c", "Contains", "x"))


def test_ids_in_a_collection_compare_exactly() -> None:
    ids = var("Text", ["001000000000001AAA"], collection=True)
    assert not holds({"ids": ids}, ("ids", "Contains", "001000000000001aaa"))
    assert holds({"ids": ids}, ("ids", "Contains", "001000000000001AAA"))


@pytest.mark.parametrize(("op", "right", "expected"), [
    ("EqualTo", "2026-01-31", True), ("GreaterThan", "2026-01-30", True),
    ("LessThan", "2026-01-30", False), ("LessThanOrEqualTo", "2026-01-31T23:59:59Z", True),
    ("GreaterThan", "2026-01-30T12:00:00Z", True),
])
def test_date_comparisons(op: str, right: Any, expected: bool) -> None:
    assert holds({"d": var("Date", "2026-01-31")}, ("d", op, right)) is expected


def test_datetime_and_time_comparisons() -> None:
    assert holds({"t": var("DateTime", "2026-01-31T10:00:00Z")}, ("t", "GreaterThan", "2026-01-31T09:59:59Z"))
    assert holds({"t": var("DateTime", "2026-01-31T10:00:00+01:00")}, ("t", "EqualTo", "2026-01-31T09:00:00Z"))
    assert holds({"t": var("Time", "10:30:00")}, ("t", "LessThan", "11:00:00"))


def test_boolean_equality() -> None:
    assert holds({"b": var("Boolean", True)}, ("b", "EqualTo", True))
    assert holds({"b": var("Boolean", True)}, ("b", "EqualTo", "{!$GlobalConstant.True}"))
    assert holds({"b": var("Boolean", False)}, ("b", "NotEqualTo", True))


def test_reference_on_the_right() -> None:
    assert holds({"a": var("Number", 3), "b": var("Number", 3.0)}, ("a", "EqualTo", "{!b}"))
    assert holds({"a": var("Number", 3), "b": var("Number", 4)}, ("a", "LessThan", "{!b}"))


def test_objects_compare_by_fields() -> None:
    parcel = {"type": "Apex", "apexClass": "Acme.Parcel"}
    same = {"a": {**parcel, "default": {"tracking": "T", "weight": 1}},
            "b": {**parcel, "default": {"tracking": "T", "weight": 1.0}}}
    assert holds(same, ("a", "EqualTo", "{!b}"))
    other = {"a": same["a"], "b": {**parcel, "default": {"tracking": "T", "weight": 2}}}
    assert holds(other, ("a", "NotEqualTo", "{!b}"))


# -- null ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("op", ["GreaterThan", "LessThan", "GreaterThanOrEqualTo", "LessThanOrEqualTo"])
def test_ordering_with_null_is_false(op: str) -> None:
    assert not holds({"n": var("Number"), "m": var("Number", 1)}, ("n", op, 1))
    assert not holds({"n": var("Number"), "m": var("Number", 1)}, ("m", op, "{!n}"))
    assert not holds({"d": var("Date")}, ("d", op, "2026-01-01"))


def test_equal_to_null() -> None:
    assert holds({"n": var("Number")}, ("n", "EqualTo", None))
    assert not holds({"n": var("Number", 1)}, ("n", "EqualTo", None))
    assert holds({"n": var("Number", 1)}, ("n", "NotEqualTo", None))
    assert holds({"t": var("Text"), "u": var("Text")}, ("t", "EqualTo", "{!u}"))
    assert not holds({"t": var("Text")}, ("t", "EqualTo", ""))


@pytest.mark.parametrize("op", ["StartsWith", "EndsWith", "Contains"])
def test_text_operators_with_null_are_false(op: str) -> None:
    assert not holds({"t": var("Text")}, ("t", op, "a"))
    assert not holds({"t": var("Text", "abc"), "u": var("Text")}, ("t", op, "{!u}"))


def test_in_with_null() -> None:
    assert not holds({"t": var("Text")}, ("t", "In", ["a"]))
    assert holds({"t": var("Text")}, ("t", "NotIn", ["a"]))


# -- unary tests --------------------------------------------------------------------------------

@pytest.mark.parametrize(("value", "is_null", "is_blank"), [
    # IsBlank is also true for text of only whitespace (FlowComparisonOperator)
    (None, True, True), ("", False, True), ("x", False, False), (" ", False, True),
    ("\t\n", False, True), (" x ", False, False),
])
def test_is_null_and_is_blank_on_text(value: Any, is_null: bool, is_blank: bool) -> None:
    inputs = {"t": value}
    decl = {"t": var("Text", input=True)}
    assert holds(decl, ("t", "IsNull", True), inputs=inputs) is is_null
    assert holds(decl, ("t", "IsNull", False), inputs=inputs) is not is_null
    assert holds(decl, ("t", "IsBlank", True), inputs=inputs) is is_blank
    assert holds(decl, ("t", "IsBlank", False), inputs=inputs) is not is_blank


def test_is_blank_on_numbers_is_only_null() -> None:
    assert not holds({"n": var("Number", 0)}, ("n", "IsBlank", True))
    assert holds({"n": var("Number")}, ("n", "IsBlank", True))


def test_is_empty_on_collections() -> None:
    assert holds({"c": var("Text", collection=True)}, ("c", "IsEmpty", True))
    assert holds({"c": var("Text", ["a"], collection=True)}, ("c", "IsEmpty", False))
    assert not holds({"c": var("Text", ["a"], collection=True)}, ("c", "IsEmpty", True))


def test_is_null_on_a_field_and_on_a_null_object() -> None:
    parcel = {"type": "Apex", "apexClass": "Acme.Parcel"}
    assert holds({"p": {**parcel, "default": {"weight": 1}}}, ("p.tracking", "IsNull", True))
    assert holds({"p": parcel}, ("p", "IsNull", True))


def test_was_set_is_true_when_the_value_is_set() -> None:
    decl = {"t": var("Text", input=True), "n": var("Number", 0)}
    assert holds(decl, ("t", "WasSet", True), inputs={"t": "x"})
    assert holds(decl, ("t", "WasSet", False))
    assert holds(decl, ("t", "WasSet", False), inputs={"t": ""})
    assert holds(decl, ("n", "WasSet", True))


def test_was_set_sees_assignments_and_record_fields() -> None:
    doc = {
        "flow": "Was_Set", "types": TYPES,
        "variables": {"p": {"type": "Apex", "apexClass": "Acme.Parcel"}, "t": var("Text"),
                      "seen": var("Text", output=True)},
        "elements": {
            "Set_It": {"type": "Assignment", "assignments": [{"ref": "t", "op": "Assign", "value": "x"},
                                                             {"ref": "p.tracking", "op": "Assign", "value": "T"}],
                       "next": "Check"},
            "Check": {"type": "Decision", "rules": [{"name": "Both", "conditions": [
                {"left": "t", "op": "WasSet", "right": True},
                {"left": "p.tracking", "op": "WasSet", "right": True},
                {"left": "p.weight", "op": "WasSet", "right": False}], "next": "Mark"}]},
            "Mark": {"type": "Assignment", "assignments": [{"ref": "seen", "op": "Assign", "value": "yes"}]},
        },
        "start": "Set_It",
    }
    result = load_flow_text(yaml.safe_dump(doc, sort_keys=False)).run()
    assert result.outputs["seen"] == "yes"


# -- custom logic and rules ---------------------------------------------------------------------

@pytest.mark.parametrize(("a", "b", "c", "expected"), [
    (1, 1, 1, True), (1, 0, 0, True), (1, 0, 1, False), (0, 1, 0, False), (1, 1, 0, True),
])
def test_custom_logic_with_not_and_parentheses(a: int, b: int, c: int, expected: bool) -> None:
    decl = {"a": var("Number", a), "b": var("Number", b), "c": var("Number", c)}
    assert holds(decl, ("a", "EqualTo", 1), ("b", "EqualTo", 1), ("c", "EqualTo", 1),
                 logic="1 AND (2 OR NOT 3)") is expected


@pytest.mark.parametrize(("logic", "a", "b", "expected"), [
    ("and", 1, 0, False), ("and", 1, 1, True), ("or", 0, 1, True), ("or", 0, 0, False),
    ("NOT (1 OR 2)", 0, 0, True), ("NOT (1 OR 2)", 1, 0, False), ("not 1 and not 2", 0, 0, True),
])
def test_and_or_and_not(logic: str, a: int, b: int, expected: bool) -> None:
    decl = {"a": var("Number", a), "b": var("Number", b)}
    assert holds(decl, ("a", "EqualTo", 1), ("b", "EqualTo", 1), logic=logic) is expected


def test_and_stops_at_the_first_false_condition() -> None:
    parcel = {"type": "Apex", "apexClass": "Acme.Parcel"}
    # reading p.weight would fault, but the first condition is false and AND stops there
    assert not holds({"p": parcel}, ("p", "IsNull", False), ("p.weight", "GreaterThan", 1))
    assert not holds({"p": parcel}, ("p", "IsNull", False), ("p.weight", "GreaterThan", 1), trace=True)


def test_a_fault_in_a_condition_fails_the_interview() -> None:
    parcel = {"type": "Apex", "apexClass": "Acme.Parcel"}
    result = decide({"p": parcel}, ("p.weight", "GreaterThan", 1))
    assert result.status == "Failed"
    assert result.error.element == "Check"  # type: ignore[union-attr]
    assert "hasn't been set or assigned" in result.error.message  # type: ignore[union-attr]


def assign(ref: str, op: str, value: Any, next: str | None = None) -> dict[str, Any]:
    element: dict[str, Any] = {"type": "Assignment", "assignments": [{"ref": ref, "op": op, "value": value}]}
    if next:
        element["next"] = next
    return element


def rule(name: str, *conditions: tuple[str, str, Any], next: str | None = None) -> dict[str, Any]:
    found: dict[str, Any] = {"name": name,
                             "conditions": [{"left": c[0], "op": c[1], "right": c[2]} for c in conditions]}
    if next:
        found["next"] = next
    return found


def rules_flow(value: int, with_default: bool = True) -> InterviewResult:
    doc: dict[str, Any] = {
        "flow": "Rules", "variables": {"n": var("Number", value), "taken": var("Text", output=True),
                                       "flags": var("Text", output=True)},
        "elements": {
            "Pick": {"type": "Decision", "rules": [
                rule("Small", ("n", "LessThan", 10), next="Note_Small"),
                rule("Tiny", ("n", "LessThan", 5), next="Note_Tiny"),
                rule("Big", ("n", "GreaterThan", 100)),
            ]},
            "Note_Small": assign("taken", "Assign", "small", next="Show_Flags"),
            "Note_Tiny": assign("taken", "Assign", "tiny", next="Show_Flags"),
            "Note_Other": assign("taken", "Assign", "other", next="Show_Flags"),
            "Show_Flags": assign("flags", "Assign", "{!Small} {!Tiny} {!Big}"),
        },
        "start": "Pick",
    }
    if with_default:
        doc["elements"]["Pick"]["default"] = "Note_Other"
    return load_flow_text(yaml.safe_dump(doc, sort_keys=False)).run()


def test_first_true_rule_wins_and_outcomes_read_as_booleans() -> None:
    result = rules_flow(3)
    assert result.outputs == {"taken": "small", "flags": "true false false"}


def test_default_outcome_when_no_rule_is_true() -> None:
    assert rules_flow(50).outputs == {"taken": "other", "flags": "false false false"}


def test_a_rule_without_next_ends_the_interview() -> None:
    result = rules_flow(500)
    assert result.status == "Finished"
    assert result.outputs == {"taken": None, "flags": None}
    assert result.elements_executed == 1


def test_no_default_ends_the_interview() -> None:
    result = rules_flow(50, with_default=False)
    assert result.status == "Finished"
    assert result.outputs["taken"] is None
    assert result.elements_executed == 1


def test_outcome_is_false_again_when_a_later_visit_takes_another_way() -> None:
    doc = {
        "flow": "Revisit",
        "variables": {"n": var("Number", 0), "log": var("Text", output=True)},
        "elements": {
            "Step": assign("n", "Add", 1, next="Pick"),
            "Pick": {"type": "Decision", "rules": [rule("First", ("n", "EqualTo", 1), next="Write_Log"),
                                                   rule("Second", ("n", "EqualTo", 2), next="Write_Log")]},
            "Write_Log": assign("log", "Add", "[{!First} {!Second}]", next="Step"),
        },
        "start": "Step",
    }
    result = load_flow_text(yaml.safe_dump(doc, sort_keys=False)).run()
    assert result.outputs["log"] == "[true false][false true]"


# -- element tests ------------------------------------------------------------------------------

def test_was_visited() -> None:
    doc = {
        "flow": "Visits",
        "variables": {"log": var("Text", output=True), "n": var("Number", 0)},
        "elements": {
            "Count": assign("n", "Add", 1, next="Check"),
            "Check": {"type": "Decision", "rules": [
                rule("Saw_Extra", ("Extra", "WasVisited", True), next="Done"),
                rule("Not_Extra", ("Extra", "WasVisited", False), ("Count", "WasVisited", True), next="Extra")]},
            "Extra": assign("log", "Add", "extra;", next="Count"),
            "Done": assign("log", "Add", "done {!n}"),
        },
        "start": "Count",
    }
    flow = load_flow_text(yaml.safe_dump(doc, sort_keys=False))
    assert flow.run().outputs["log"] == "extra;done 2"
    assert flow.run(trace=True).outputs["log"] == "extra;done 2"


def test_a_traced_decision_shows_a_faulting_condition_and_fails_where_it_is_reached() -> None:
    parcel = {"type": "Apex", "apexClass": "Acme.Parcel"}
    # OR: the first condition is true, so the second's fault is shown but not raised
    passed = decide({"p": parcel, "n": var("Number", 1)}, ("n", "EqualTo", 1),
                    ("p.weight", "GreaterThan", 1), logic="or", trace=True)
    assert passed.status == "Finished" and passed.outputs["outcome"] == "yes"
    rows = passed.trace[0]["conditions"]  # type: ignore[index]
    assert [r["result"] for r in rows][0] is True
    assert "hasn't been set or assigned" in rows[1]["result"]
    # the first is false: the rule needs the second, whose fault fails the interview
    failed = decide({"p": parcel, "n": var("Number", 0)}, ("n", "EqualTo", 1),
                    ("p.weight", "GreaterThan", 1), logic="or", trace=True)
    assert failed.status == "Failed"
    assert "hasn't been set or assigned" in failed.error.message  # type: ignore[union-attr]
    assert failed.error.message == decide(  # type: ignore[union-attr]
        {"p": parcel, "n": var("Number", 0)}, ("n", "EqualTo", 1), ("p.weight", "GreaterThan", 1),
        logic="or").error.message  # type: ignore[union-attr]
