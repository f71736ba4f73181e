"""Assignment at run time (spec 4.1): every operator row, rounding, copies, null objects."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest
import yaml

from flowengine.api import load_flow_text
from flowengine.errors import ValidationError
from flowengine.runtime import InterviewResult
from flowengine.types import ApexObject

UTC = dt.UTC
PARCEL_TYPES = {
    "Acme.Parcel": {"fields": {"tracking": "Text", "weight": {"type": "Number", "scale": 3},
                               "box": {"type": "Apex", "apexClass": "Acme.Box"}}},
    "Acme.Box": {"fields": {"size": "Text", "labels": {"type": "Text", "collection": True}}},
}


def run_assignment(variables: dict[str, Any], *items: tuple[str, str, Any],
                   types: dict[str, Any] | None = None,
                   inputs: dict[str, Any] | None = None) -> InterviewResult:
    """One Assignment element `Assign_Values` with `items`; every variable is an output."""
    doc: dict[str, Any] = {"flow": "Assignment_Test"}
    if types:
        doc["types"] = types
    doc["variables"] = {name: {**decl, "output": True} for name, decl in variables.items()}
    doc["elements"] = {"Assign_Values": {
        "type": "Assignment",
        "assignments": [{"ref": ref, "op": op, "value": value} for ref, op, value in items]}}
    doc["start"] = "Assign_Values"
    return load_flow_text(yaml.safe_dump(doc, sort_keys=False)).run(inputs)


def outputs(variables: dict[str, Any], *items: tuple[str, str, Any], **kw: Any) -> dict[str, Any]:
    result = run_assignment(variables, *items, **kw)
    assert result.status == "Finished", result.error
    return result.outputs


NUM = {"type": "Number"}
TEXT = {"type": "Text"}
TEXTS = {"type": "Text", "collection": True}
NUMS = {"type": "Number", "collection": True}


# -- Assign -------------------------------------------------------------------------------------

def test_assign_replaces_and_equals_is_an_alias() -> None:
    out = outputs({"a": {**NUM, "default": 1}, "b": {**NUM, "default": 1}},
                  ("a", "Assign", 7), ("b", "Equals", 8))
    assert out == {"a": Decimal(7), "b": Decimal(8)}


def test_assign_converts_to_the_target_type() -> None:
    out = outputs({"n": {**NUM, "scale": 1, "default": 2.5}, "t": TEXT,
                   "d": {"type": "Date", "default": "2026-01-31"},
                   "when": {"type": "DateTime"}, "flag": {"type": "Text"}},
                  ("t", "Assign", "{!n}"), ("when", "Assign", "{!d}"), ("flag", "Assign", True))
    assert out["t"] == "2.5"
    assert out["when"] == dt.datetime(2026, 1, 31, tzinfo=UTC)
    assert out["flag"] == "true"


@pytest.mark.parametrize(("scale", "value", "expected"), [
    (0, "2.5", "3"), (0, "3.5", "4"), (1, "2.45", "2.5"), (1, "2.44", "2.4"), (0, "-2.5", "-3"),
    (2, "1.005", "1.01"),
])
def test_assign_rounds_half_up_to_the_scale(scale: int, value: str, expected: str) -> None:
    out = outputs({"src": {**NUM, "scale": 3, "default": value}, "n": {**NUM, "scale": scale}},
                  ("n", "Assign", "{!src}"))
    assert out["n"] == Decimal(expected)
    assert str(out["n"]) == expected


def test_currency_with_scale_two_rounds_each_result() -> None:
    out = outputs({"price": {"type": "Currency", "scale": 2}, "sum": {"type": "Currency", "scale": 2}},
                  ("price", "Assign", 1.005), ("sum", "Add", 0.004), ("sum", "Add", 0.001))
    assert out["price"] == Decimal("1.01")
    # each result is rounded: 0.004 → 0.00, then 0.00 + 0.001 → 0.00
    assert out["sum"] == Decimal("0.00")


def test_number_and_currency_variables_without_scale_hold_whole_numbers() -> None:
    # Salesforce Help, Variable Resource: "Decimal Places ... If you leave this field blank or
    # set it to zero, only whole numbers appear when your flow runs"
    out = outputs({"n": NUM, "price": {"type": "Currency"}, "src": {**NUM, "scale": 2, "default": 2.5}},
                  ("n", "Assign", "{!src}"), ("price", "Assign", 1.49))
    assert out["n"] == Decimal(3)
    assert out["price"] == Decimal(1)


def test_a_scale_above_17_is_refused() -> None:
    with pytest.raises(ValidationError, match="scale"):
        outputs({"n": {**NUM, "scale": 18}}, ("n", "Assign", 1))


def test_literal_assigned_to_a_scaled_number_is_rounded() -> None:
    assert outputs({"n": {**NUM, "scale": 0}}, ("n", "Assign", 2.5))["n"] == Decimal(3)


# -- Text, Picklist, Multipicklist ----------------------------------------------------------------

def test_text_add_appends_and_null_counts_as_empty() -> None:
    out = outputs({"t": TEXT, "missing": TEXT, "n": {**NUM, "default": 4}},
                  ("t", "Add", "ab"), ("t", "Add", "{!missing}"), ("t", "Add", "{!n}"), ("t", "Add", "-"))
    assert out["t"] == "ab4-"


def test_picklist_add_appends_like_text() -> None:
    out = outputs({"p": {"type": "Picklist", "default": "Red"}}, ("p", "Add", "dish"))
    assert out["p"] == "Reddish"


def test_multipicklist_additem_inserts_a_separator_and_add_appends_text() -> None:
    out = outputs({"m": {"type": "Multipicklist"}, "plain": {"type": "Multipicklist", "default": "A"}},
                  ("m", "AddItem", "Red"), ("m", "AddItem", "Blue"), ("m", "AddItem", ""),
                  ("plain", "Add", "B"))
    assert out["m"] == "Red;Blue"
    assert out["plain"] == "AB"


# -- Number and Currency --------------------------------------------------------------------------

def test_number_arithmetic_is_exact_decimal() -> None:
    out = outputs({"n": {**NUM, "scale": 2}}, ("n", "Add", 0.1), ("n", "Add", 0.2))
    assert out["n"] == Decimal("0.3")


def test_null_number_target_counts_as_zero() -> None:
    out = outputs({"a": NUM, "s": NUM, "c": {"type": "Currency", "scale": 2}},
                  ("a", "Add", 5), ("s", "Subtract", 5), ("c", "Subtract", 1.5))
    assert out == {"a": Decimal(5), "s": Decimal(-5), "c": Decimal("-1.50")}


def test_adding_a_null_value_leaves_the_number_alone() -> None:
    out = outputs({"n": {**NUM, "default": 3}, "nothing": NUM}, ("n", "Add", "{!nothing}"),
                  ("n", "Subtract", "{!nothing}"))
    assert out["n"] == Decimal(3)


def test_add_and_subtract_round_to_the_target_scale() -> None:
    out = outputs({"a": {**NUM, "scale": 0, "default": 2}, "b": {**NUM, "scale": 1, "default": 5}},
                  ("a", "Add", 0.5), ("b", "Subtract", 0.05))
    assert out["a"] == Decimal(3)
    assert out["b"] == Decimal("5.0")       # 4.95 rounds half up to 5.0


def test_assigncount_counts_items_and_equalscount_is_an_alias() -> None:
    out = outputs({"items": {**TEXTS, "default": ["a", "b", "c"]}, "empty": TEXTS,
                   "n": NUM, "m": {**NUM, "default": 9}, "zero": {**NUM, "default": 9}},
                  ("n", "AssignCount", "{!items}"), ("m", "EqualsCount", "{!items}"),
                  ("zero", "AssignCount", "{!empty}"))
    assert out["n"] == out["m"] == Decimal(3)
    assert out["zero"] == Decimal(0)


# -- Date and DateTime ----------------------------------------------------------------------------

def test_date_add_and_subtract_days() -> None:
    out = outputs({"d": {"type": "Date", "default": "2026-01-31"},
                   "e": {"type": "Date", "default": "2026-03-01"}},
                  ("d", "Add", 1), ("e", "Subtract", 1))
    assert out["d"] == dt.date(2026, 2, 1)
    assert out["e"] == dt.date(2026, 2, 28)


def test_date_add_drops_the_fraction_of_a_day() -> None:
    out = outputs({"d": {"type": "Date", "default": "2026-01-31"}}, ("d", "Add", 1.9))
    assert out["d"] == dt.date(2026, 2, 1)


@pytest.mark.parametrize("op", ["Add", "Subtract"])
def test_datetime_add_and_subtract_are_refused(op: str) -> None:
    # Salesforce Help, "Flow Operators in Assignment Elements": a Date/Time variable takes Equals
    # only (FlowAssignmentOperator); Add and Subtract are for Number, Currency and Date
    with pytest.raises(ValidationError, match=f"operator {op} does not apply to 't', which is "
                       r"DateTime \(a DateTime takes Assign\)"):
        outputs({"t": {"type": "DateTime", "default": "2026-01-31T00:00:00Z"}}, ("t", op, 0.5))


def test_a_number_beyond_18_digits_fails_the_assignment() -> None:
    result = run_assignment({"n": {**NUM, "default": 999999999999999999}}, ("n", "Add", 1))
    assert result.status == "Failed"
    assert "more than 18 digits before the decimal point" in result.error.message  # type: ignore[union-attr]


def test_adding_days_to_a_null_date_leaves_it_null() -> None:
    assert outputs({"d": {"type": "Date"}}, ("d", "Add", 3))["d"] is None


# -- collections -----------------------------------------------------------------------------

def test_collection_assign_replaces_and_a_single_item_makes_a_one_item_collection() -> None:
    out = outputs({"a": {**TEXTS, "default": ["x", "y"]}, "b": {**TEXTS, "default": ["z"]},
                   "one": {**TEXT, "default": "solo"}},
                  ("a", "Assign", ["p", "q"]), ("b", "Assign", "{!one}"))
    assert out["a"] == ["p", "q"]
    assert out["b"] == ["solo"]


def test_collection_assign_copies_the_source_collection() -> None:
    out = outputs({"src": {**TEXTS, "default": ["a"]}, "dst": TEXTS},
                  ("dst", "Assign", "{!src}"), ("src", "Add", "b"))
    assert out["dst"] == ["a"]
    assert out["src"] == ["a", "b"]


def test_collection_add_appends_an_item_or_every_item_of_a_collection() -> None:
    out = outputs({"c": {**TEXTS, "default": ["a"]}, "more": {**TEXTS, "default": ["b", "c"]}},
                  ("c", "Add", "{!more}"), ("c", "Add", "d"), ("c", "Add", ["e", "f"]))
    assert out["c"] == ["a", "b", "c", "d", "e", "f"]


def test_collection_add_to_itself_doubles_it() -> None:
    out = outputs({"c": {**NUMS, "default": [1, 2]}}, ("c", "Add", "{!c}"))
    assert out["c"] == [Decimal(1), Decimal(2), Decimal(1), Decimal(2)]


def test_collection_add_at_start_keeps_the_order_of_the_items() -> None:
    out = outputs({"c": {**TEXTS, "default": ["c"]}}, ("c", "AddAtStart", ["a", "b"]),
                  ("c", "AddAtStart", "z"))
    assert out["c"] == ["z", "a", "b", "c"]


def test_collection_add_converts_items_to_the_item_type() -> None:
    out = outputs({"c": {**NUMS, "scale": 0}, "t": {**TEXTS}}, ("c", "Add", 2.5), ("t", "Add", 7))
    assert out["c"] == [Decimal(3)]
    assert out["t"] == ["7"]


def test_remove_first_and_remove_all() -> None:
    out = outputs({"a": {**TEXTS, "default": ["x", "y", "x", "z"]},
                   "b": {**TEXTS, "default": ["x", "y", "x", "z"]},
                   "c": {**TEXTS, "default": ["x", "y", "x", "z"]}},
                  ("a", "RemoveFirst", "x"), ("b", "RemoveAll", "x"), ("c", "RemoveAll", ["x", "z"]))
    assert out["a"] == ["y", "x", "z"]
    assert out["b"] == ["y", "z"]
    assert out["c"] == ["y"]


def test_remove_first_with_a_collection_removes_the_first_item_equal_to_any() -> None:
    out = outputs({"a": {**TEXTS, "default": ["p", "y", "x"]}}, ("a", "RemoveFirst", ["x", "y"]))
    assert out["a"] == ["p", "x"]


def test_remove_all_of_itself_empties_the_collection() -> None:
    out = outputs({"a": {**TEXTS, "default": ["x", "y"]}}, ("a", "RemoveAll", "{!a}"))
    assert out["a"] == []


def test_remove_matches_text_exactly() -> None:
    out = outputs({"a": {**TEXTS, "default": ["SKU-1", "sku-1"]}}, ("a", "RemoveAll", "sku-1"))
    assert out["a"] == ["SKU-1"]


@pytest.mark.parametrize(("op", "value", "expected"), [
    ("RemoveAfterFirst", "b", ["a", "b"]),
    ("RemoveBeforeFirst", "b", ["b", "c", "b"]),
    ("RemoveAfterFirst", "nope", ["a", "b", "c", "b"]),
    ("RemoveBeforeFirst", "nope", ["a", "b", "c", "b"]),
    ("RemoveAfterFirst", ["c", "b"], ["a", "b"]),
])
def test_remove_after_and_before_first(op: str, value: Any, expected: list[str]) -> None:
    out = outputs({"a": {**TEXTS, "default": ["a", "b", "c", "b"]}}, ("a", op, value))
    assert out["a"] == expected


def test_remove_position_is_one_based() -> None:
    out = outputs({"a": {**TEXTS, "default": ["a", "b", "c", "d"]}, "pos": {**NUM, "default": 3}},
                  ("a", "RemovePosition", 1), ("a", "RemovePosition", "{!pos}"))
    assert out["a"] == ["b", "c"]


@pytest.mark.parametrize("position", [0, 4, -1, 1.5])
def test_remove_position_out_of_range_fails_the_interview(position: Any) -> None:
    result = run_assignment({"a": {**TEXTS, "default": ["a", "b", "c"]}}, ("a", "RemovePosition", position))
    assert result.status == "Failed"
    assert result.error is not None
    assert result.error.element == "Assign_Values"
    assert result.error.type == "RuntimeError"
    assert "out of range" in result.error.message and "3 items" in result.error.message
    assert result.outputs["a"] == ["a", "b", "c"]


def test_remove_position_of_a_null_number_fails() -> None:
    result = run_assignment({"a": {**TEXTS, "default": ["a"]}, "pos": NUM}, ("a", "RemovePosition", "{!pos}"))
    assert result.status == "Failed"
    assert "RemovePosition" in result.error.message  # type: ignore[union-attr]


def test_remove_uncommon_keeps_the_targets_order() -> None:
    out = outputs({"a": {**TEXTS, "default": ["d", "c", "b", "a"]}, "keep": {**TEXTS, "default": ["a", "c", "x"]}},
                  ("a", "RemoveUncommon", "{!keep}"))
    assert out["a"] == ["c", "a"]


def test_remove_uncommon_takes_only_a_collection() -> None:
    # FlowAssignmentOperator / "Flow Operators in Assignment Elements": RemoveUncommon's value is
    # a collection of the same data type
    with pytest.raises(ValidationError, match="does not fit collection of Text"):
        outputs({"a": {**TEXTS, "default": ["d", "c", "c"]}}, ("a", "RemoveUncommon", "c"))


def test_operators_on_a_null_collection_input() -> None:
    out = outputs({"a": {**TEXTS, "input": True}}, ("a", "Add", "x"), inputs={"a": None})
    assert out["a"] == ["x"]


# -- Apex-defined objects ------------------------------------------------------------------------

PARCEL = {"type": "Apex", "apexClass": "Acme.Parcel"}
PARCELS = {**PARCEL, "collection": True}


def test_adding_an_object_adds_a_copy() -> None:
    out = outputs({"parcel": PARCEL, "parcels": PARCELS},
                  ("parcel.tracking", "Assign", "A"), ("parcels", "Add", "{!parcel}"),
                  ("parcel.tracking", "Assign", "B"), ("parcels", "Add", "{!parcel}"),
                  types=PARCEL_TYPES)
    assert [p.fields["tracking"] for p in out["parcels"]] == ["A", "B"]
    assert out["parcel"].fields["tracking"] == "B"


def test_assigning_an_object_copies_it_deeply() -> None:
    out = outputs({"a": PARCEL, "b": PARCEL},
                  ("a.box.size", "Assign", "S"), ("b", "Assign", "{!a}"), ("a.box.size", "Assign", "L"),
                  types=PARCEL_TYPES)
    assert out["b"].fields["box"].fields["size"] == "S"
    assert out["a"].fields["box"].fields["size"] == "L"


def test_writing_a_field_through_null_creates_the_objects() -> None:
    out = outputs({"parcel": PARCEL}, ("parcel.box.size", "Assign", "M"), types=PARCEL_TYPES)
    parcel = out["parcel"]
    assert isinstance(parcel, ApexObject) and parcel.type_name == "Acme.Parcel"
    assert parcel.fields["box"] == ApexObject("Acme.Box", {"size": "M"})


def test_field_assignment_rounds_to_the_fields_scale_and_add_works_on_a_null_field() -> None:
    out = outputs({"parcel": PARCEL}, ("parcel.weight", "Assign", 1.23456),
                  ("parcel.weight", "Add", 0.0005), types=PARCEL_TYPES)
    assert out["parcel"].fields["weight"] == Decimal("1.236")   # 1.235 + 0.0005, half up
    out = outputs({"parcel": PARCEL}, ("parcel.weight", "Add", 2), types=PARCEL_TYPES)
    assert out["parcel"].fields["weight"] == Decimal(2)


def test_reading_a_field_through_null_fails_with_salesforces_words() -> None:
    result = run_assignment({"parcel": PARCEL, "t": TEXT}, ("t", "Assign", "{!parcel.tracking}"),
                            types=PARCEL_TYPES)
    assert result.status == "Failed"
    message = result.error.message  # type: ignore[union-attr]
    assert "{!parcel.tracking}" in message
    assert "hasn't been set or assigned" in message
    assert result.error.element == "Assign_Values"  # type: ignore[union-attr]


def test_x_remove_all_x_empties_a_collection_of_an_object_never_assigned() -> None:
    # Salesforce's own sample flows reset `Input.list RemoveAll Input.list` on a fresh Apex-defined
    # variable: the object is created, the collection empty; reading it elsewhere still faults
    box = {"type": "Apex", "apexClass": "Acme.Box", "output": True}
    out = outputs({"box": box}, ("box.labels", "RemoveAll", "{!box.labels}"), types=PARCEL_TYPES)
    assert out["box"] == ApexObject("Acme.Box", {"labels": []})
    other = {"type": "Apex", "apexClass": "Acme.Box"}
    failed = run_assignment({"box": box, "other": other},
                            ("box.labels", "RemoveAll", "{!other.labels}"), types=PARCEL_TYPES)
    assert failed.status == "Failed" and "{!other.labels}" in failed.error.message  # type: ignore


def test_remove_all_compares_objects_by_their_fields() -> None:
    out = outputs({"parcel": PARCEL, "parcels": {**PARCELS, "default": [{"tracking": "A"}, {"tracking": "B"},
                                                                         {"tracking": "A"}]}},
                  ("parcel.tracking", "Assign", "A"), ("parcels", "RemoveAll", "{!parcel}"),
                  types=PARCEL_TYPES)
    assert [p.fields["tracking"] for p in out["parcels"]] == ["B"]


def test_object_literal_values() -> None:
    out = outputs({"t": {**TEXT, "default": "T-9"}, "parcels": PARCELS},
                  ("parcels", "Add", {"tracking": "{!t}", "weight": 1.5}), types=PARCEL_TYPES)
    assert out["parcels"] == [ApexObject("Acme.Parcel", {"tracking": "T-9", "weight": Decimal("1.500")})]


# -- order of items ------------------------------------------------------------------------------

def test_items_run_top_to_bottom_each_seeing_the_earlier_ones() -> None:
    out = outputs({"a": {**NUM, "default": 1}, "b": NUM, "t": TEXT},
                  ("a", "Add", 1), ("b", "Assign", "{!a}"), ("a", "Add", "{!b}"),
                  ("t", "Assign", "a={!a} b={!b}"))
    assert out == {"a": Decimal(4), "b": Decimal(2), "t": "a=4 b=2"}


def test_text_with_merge_fields_shows_null_as_empty() -> None:
    out = outputs({"t": TEXT, "missing": NUM, "d": {"type": "Date", "default": "2026-01-31"}},
                  ("t", "Assign", "[{!missing}] on {!d}"))
    assert out["t"] == "[] on 2026-01-31"


def test_collection_add_at_start_leaves_earlier_copies_alone() -> None:
    # AddAtStart grows the variable's own list: a copy assigned before must not change with it
    out = outputs({"a": {**TEXTS, "default": ["x"]}, "b": TEXTS},
                  ("b", "Assign", "{!a}"), ("a", "AddAtStart", "w"), ("a", "AddAtStart", "{!a}"))
    assert out["b"] == ["x"]
    assert out["a"] == ["w", "x", "w", "x"]


def test_a_number_read_into_its_own_scale_keeps_its_places() -> None:
    scaled = {"type": "Number", "scale": 2}
    out = outputs({"x": {**scaled, "default": 1.25}, "y": scaled, "z": {"type": "Number", "scale": 1},
                   "t": TEXT},
                  ("y", "Assign", "{!x}"), ("z", "Assign", "{!x}"), ("t", "Assign", "{!y} {!z}"))
    assert str(out["y"]) == "1.25"
    assert str(out["z"]) == "1.3"       # 1.25 rounded half up to one place
    assert out["t"] == "1.25 1.3"
