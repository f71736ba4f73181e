"""Data types (spec 3): compatibility, literal conversion, rounding, copies and JSON."""
from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal
from typing import Any

import pytest

from flowengine.types import (
    Apex,
    ApexClass,
    ApexField,
    ApexObject,
    Boolean,
    FlowType,
    Number,
    Record,
    RecordValue,
    Text,
    TypeRegistry,
    ValueTypeError,
    assignable,
    canonical_kind,
    convert_literal,
    converter,
    copy_value,
    normalize_class_name,
    round_to_scale,
    text_of,
    to_json,
    type_of_literal,
)

UTC = dt.UTC


class LineSchema:
    """A stand-in for an org object schema."""

    name = "FulfillmentOrderLineItem"

    def field_types(self) -> dict[str, FlowType]:
        return {"Id": FlowType("Text"), "Quantity": FlowType("Number")}


@pytest.fixture
def registry() -> TypeRegistry:
    reg = TypeRegistry()
    reg.add_class(ApexClass("ConnectApi.LineInput", {
        "lineId": ApexField(FlowType("Text")),
        "quantity": ApexField(FlowType("Number", scale=0)),
        "when": ApexField(FlowType("Date")),
        "tags": ApexField(FlowType("Text", collection=True)),
        "child": ApexField(FlowType("Apex", apex_class="ConnectApi.LineInput")),
    }))
    reg.add_object(LineSchema())
    return reg


def convert(value: Any, target: FlowType, registry: TypeRegistry | None = None) -> Any:
    return convert_literal(value, target, registry or TypeRegistry())


# -- names and kinds ------------------------------------------------------------------------------

def test_kind_names() -> None:
    assert canonical_kind("String") == "Text"
    assert canonical_kind("Currency") == "Currency"
    assert canonical_kind("Integer") is None
    assert normalize_class_name("ConnectApi__LineInput") == "ConnectApi.LineInput"


def test_type_helpers_and_display() -> None:
    assert Apex("ConnectApi__LineInput").apex_class == "ConnectApi.LineInput"
    assert str(Number(scale=2, collection=True)) == "collection of Number"
    assert str(Apex("A.B")) == "Apex A.B"
    assert str(Record("Order", collection=True)) == "collection of Record Order"
    assert Text(collection=True).item == Text()
    assert Text().as_collection() == Text(collection=True)
    assert FlowType("Currency").effective_scale == 2
    assert FlowType("Currency", scale=4).effective_scale == 4
    assert Number().effective_scale is None
    assert Boolean().is_object is False and Record("X").is_object


def test_registry_finds_classes_by_either_spelling_ignoring_case(registry: TypeRegistry) -> None:
    cls = registry.apex_class("connectapi__lineinput")
    assert cls is not None and cls.name == "ConnectApi.LineInput"
    assert registry.object_schema("fulfillmentorderlineitem") is not None
    assert registry.field_type(Apex("ConnectApi.LineInput"), "quantity") == Number(scale=0)
    assert registry.field_type(Apex("ConnectApi.LineInput"), "Quantity") is None   # case-sensitive
    assert registry.field_type(Apex("ConnectApi.LineInput", collection=True), "quantity") is None
    assert registry.field_type(Record("FulfillmentOrderLineItem"), "Quantity") == Number()
    assert registry.field_names(Apex("ConnectApi.LineInput"))[:2] == ["lineId", "quantity"]
    assert registry.copy().apex_class("ConnectApi.LineInput") is cls


# -- compatibility (spec 3.4) ---------------------------------------------------------------------

@pytest.mark.parametrize(("source", "target", "ok"), [
    (Number(), Text(), True), (FlowType("Boolean"), Text(), True), (FlowType("Date"), Text(), True),
    (FlowType("Picklist"), Text(), True), (Text(), FlowType("Multipicklist"), True),
    (FlowType("Currency"), Number(), True), (Number(), FlowType("Currency"), True),
    (Text(), Number(), False), (FlowType("Boolean"), Number(), False),
    (FlowType("Date"), FlowType("DateTime"), True), (FlowType("DateTime"), FlowType("Date"), False),
    (FlowType("Time"), FlowType("Time"), True), (Text(), FlowType("Boolean"), False),
    (Apex("A.B"), Apex("a__b"), True), (Apex("A.B"), Apex("A.C"), False),
    (Record("Order"), Record("order"), True), (Record("Order"), Apex("Order"), False),
    (Apex("A.B"), Text(), False),
    (Text(collection=True), Text(), False), (Text(), Text(collection=True), False),
    (Number(collection=True), Text(collection=True), True),
])
def test_assignable(source: FlowType, target: FlowType, ok: bool) -> None:
    assert assignable(source, target) is ok


# -- literals ------------------------------------------------------------------------------------

@pytest.mark.parametrize(("value", "target", "expected"), [
    ("abc", Text(), "abc"), (12, Text(), "12"), (0.1, Text(), "0.1"), (Decimal("2.50"), Text(), "2.50"),
    (True, Text(), "true"), (dt.date(2026, 1, 31), Text(), "2026-01-31"),
    (dt.datetime(2026, 1, 31, 10, tzinfo=dt.timezone(dt.timedelta(hours=2))), Text(), "2026-01-31T08:00:00Z"),
    (" 2 ", Number(), Decimal(2)), (0.1, Number(), Decimal("0.1")), ("1e3", Number(), Decimal(1000)),
    (2.5, Number(scale=0), Decimal(3)), (-2.5, Number(scale=0), Decimal(-3)),
    (Decimal("1.005"), FlowType("Currency"), Decimal("1.01")),
    (True, Boolean(), True), ("FALSE", Boolean(), False), ("true", Boolean(), True),
    ("2026-01-31", FlowType("Date"), dt.date(2026, 1, 31)),
    ("2026-01-31T10:00:00Z", FlowType("DateTime"), dt.datetime(2026, 1, 31, 10, tzinfo=UTC)),
    ("2026-01-31T12:00:00+02:00", FlowType("DateTime"), dt.datetime(2026, 1, 31, 10, tzinfo=UTC)),
    ("2026-01-31T10:00:00", FlowType("DateTime"), dt.datetime(2026, 1, 31, 10, tzinfo=UTC)),
    ("2026-01-31", FlowType("DateTime"), dt.datetime(2026, 1, 31, tzinfo=UTC)),
    (dt.date(2026, 1, 31), FlowType("DateTime"), dt.datetime(2026, 1, 31, tzinfo=UTC)),
    ("09:30:00", FlowType("Time"), dt.time(9, 30)), (34200, FlowType("Time"), dt.time(9, 30)),
    ("Red", FlowType("Picklist"), "Red"), ("a;b", FlowType("Multipicklist"), "a;b"),
    (None, Number(), None), (None, Text(collection=True), []),
    ("x", Text(collection=True), ["x"]), ([1, "2"], Number(collection=True), [Decimal(1), Decimal(2)]),
])
def test_convert_literal(value: Any, target: FlowType, expected: Any) -> None:
    result = convert(value, target)
    assert result == expected
    assert type(result) is type(expected)
    if isinstance(expected, Decimal):
        assert text_of(result) == text_of(expected)      # same decimal places


@pytest.mark.parametrize(("value", "target", "words"), [
    ("abc", Number(), "the text 'abc' does not fit Number (expected a number)"),
    (True, Number(), "the Boolean true does not fit Number"),
    ("NaN", Number(), "expected a finite number"),
    ("Infinity", Number(), "expected a finite number"),
    ("yes", Boolean(), "does not fit Boolean (expected true or false)"),
    (1, Boolean(), "does not fit Boolean"),
    ("31/01/2026", FlowType("Date"), "does not fit Date (expected YYYY-MM-DD)"),
    (dt.datetime(2026, 1, 31, tzinfo=UTC), FlowType("Date"), "does not fit Date"),
    ("soon", FlowType("DateTime"), "expected ISO-8601 such as 2026-01-31T09:30:00Z"),
    ("25:00", FlowType("Time"), "does not fit Time (expected HH:MM:SS)"),
    ([1], Number(), "a list does not fit Number (expected a single value)"),
    ({"a": 1}, Text(), "a mapping does not fit Text"),
    ("x" * 100, Number(), "the text 'xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx...' does not fit Number"),
])
def test_convert_literal_refuses(value: Any, target: FlowType, words: str) -> None:
    with pytest.raises(ValueTypeError) as caught:
        convert(value, target)
    assert words in str(caught.value)


def test_object_literals(registry: TypeRegistry) -> None:
    obj = convert({"lineId": "0a4", "quantity": 2.5, "when": "2026-01-31", "tags": "one",
                   "child": {"quantity": 1}}, Apex("ConnectApi__LineInput"), registry)
    assert obj == ApexObject("ConnectApi.LineInput", {
        "lineId": "0a4", "quantity": Decimal(3), "when": dt.date(2026, 1, 31), "tags": ["one"],
        "child": ApexObject("ConnectApi.LineInput", {"quantity": Decimal(1)})})
    record = convert({"Quantity": 4}, Record("FulfillmentOrderLineItem"), registry)
    assert isinstance(record, RecordValue) and record.fields == {"Quantity": Decimal(4)}


def test_object_literal_errors_name_the_field(registry: TypeRegistry) -> None:
    with pytest.raises(ValueTypeError, match=r"ConnectApi.LineInput has no field 'quantty'; did you mean 'quantity'\?"):
        convert({"quantty": 1}, Apex("ConnectApi.LineInput"), registry)
    with pytest.raises(ValueTypeError, match=r"field 'quantity' of ConnectApi.LineInput: the text 'x' does not fit"):
        convert({"quantity": "x"}, Apex("ConnectApi.LineInput"), registry)
    with pytest.raises(ValueTypeError, match="field 'child' of ConnectApi.LineInput: field 'when'"):
        convert({"child": {"when": "never"}}, Apex("ConnectApi.LineInput"), registry)
    with pytest.raises(ValueTypeError, match="unknown Apex class Nope"):
        convert({}, Apex("Nope"), registry)
    with pytest.raises(ValueTypeError, match="expected a mapping of fields"):
        convert("text", Apex("ConnectApi.LineInput"), registry)


def test_an_object_value_converts_to_a_copy_of_the_same_class(registry: TypeRegistry) -> None:
    original = ApexObject("ConnectApi.LineInput", {"tags": ["a"]})
    copied = convert(original, Apex("connectapi.lineinput"), registry)
    assert copied == original and copied is not original
    assert copied.fields["tags"] is not original.fields["tags"]
    with pytest.raises(ValueTypeError, match="a ConnectApi.LineInput object does not fit Record"):
        convert(original, Record("FulfillmentOrderLineItem"), registry)
    metadata_spelling = ApexObject("ConnectApi__LineInput", {"lineId": "x"})
    assert convert(metadata_spelling, Apex("ConnectApi.LineInput"), registry) == \
        ApexObject("ConnectApi.LineInput", {"lineId": "x"})
    record = RecordValue("FulfillmentOrderLineItem", {"Quantity": Decimal(1)})
    assert convert(record, Record("fulfillmentorderlineitem"), registry) == record
    with pytest.raises(ValueTypeError, match="does not fit Apex"):
        convert(record, Apex("FulfillmentOrderLineItem"), registry)


# -- rounding, conversion functions, copies --------------------------------------------------------

@pytest.mark.parametrize(("value", "scale", "expected"), [
    ("2.5", 0, "3"), ("2.45", 1, "2.5"), ("2.449", 2, "2.45"), ("-0.5", 0, "-1"), ("7", 2, "7.00"),
    ("1.23", None, "1.23"), ("0.5", 20, "0.50000000000000000000"),
])
def test_round_to_scale_is_half_up(value: str, scale: int | None, expected: str) -> None:
    assert str(round_to_scale(Decimal(value), scale)) == expected


def test_converter_is_none_when_nothing_changes() -> None:
    assert converter(Text(), FlowType("Picklist")) is None
    assert converter(Number(), Number()) is None
    assert converter(FlowType("Date"), FlowType("Date")) is None


def test_converters() -> None:
    to_text = converter(Number(), Text())
    assert to_text is not None and to_text(Decimal("1.5")) == "1.5" and to_text(None) == ""
    rounding = converter(Number(), FlowType("Currency"))
    assert rounding is not None and rounding(Decimal("1.005")) == Decimal("1.01") and rounding(None) is None
    midnight = converter(FlowType("Date"), FlowType("DateTime"))
    assert midnight is not None and midnight(dt.date(2026, 1, 31)) == dt.datetime(2026, 1, 31, tzinfo=UTC)
    many = converter(Number(collection=True), Text(collection=True))
    assert many is not None and many([Decimal(1), None]) == ["1", ""]
    copier = converter(Apex("A.B"), Apex("A.B"))
    original = ApexObject("A.B", {"x": [1]})
    assert copier is not None and copier(original) == original and copier(original) is not original


def test_copy_value_is_deep() -> None:
    inner = ApexObject("A.Inner", {"n": Decimal(1)})
    outer = [ApexObject("A.Outer", {"inner": inner, "list": [inner]})]
    copied = copy_value(outer)
    copied[0].fields["inner"].fields["n"] = Decimal(2)
    copied[0].fields["list"][0].fields["n"] = Decimal(3)
    assert inner.fields["n"] == Decimal(1)
    assert copy_value("text") == "text" and copy_value(None) is None


def test_objects_are_equal_by_type_and_fields() -> None:
    assert ApexObject("A.B", {"x": Decimal("1.0")}) == ApexObject("A.B", {"x": Decimal(1)})
    assert ApexObject("A.B", {"x": 1}) != ApexObject("A.C", {"x": 1})
    assert ApexObject("A.B", {}) != RecordValue("A.B", {})
    assert ApexObject("A.B", {"x": 1}) in [ApexObject("A.B", {"x": 1})]
    with pytest.raises(TypeError):
        hash(ApexObject("A.B"))
    assert repr(ApexObject("A.B", {"x": 1})) == "A.B({'x': 1})"


# -- text and JSON --------------------------------------------------------------------------------

@pytest.mark.parametrize(("value", "expected"), [
    (None, ""), (True, "true"), (False, "false"), (Decimal("0.30"), "0.30"), (Decimal("1E+2"), "100"),
    (round_to_scale(Decimal("-0.4"), 0), "0"), (Decimal("-0.00"), "0.00"), (Decimal("-1.5"), "-1.5"),
    (dt.date(2026, 1, 31), "2026-01-31"), (dt.time(9, 30), "09:30:00"),
    (dt.datetime(2026, 1, 31, 10, 0, 5, 123, tzinfo=UTC), "2026-01-31T10:00:05Z"),
    ([Decimal(1), "a", None], "1, a, "),
])
def test_text_of(value: Any, expected: str) -> None:
    assert text_of(value) == expected


@pytest.mark.parametrize(("value", "expected"), [
    (Decimal("3.00"), 3), (Decimal("2.50"), 2.5), (Decimal("0.1") + Decimal("0.2"), 0.3),
    (Decimal("-0"), 0), (Decimal("1E+2"), 100), (None, None), (True, True), ("x", "x"),
    (dt.date(2026, 1, 31), "2026-01-31"), (dt.time(9, 30), "09:30:00"),
    (dt.datetime(2026, 1, 31, 10, tzinfo=dt.timezone(dt.timedelta(hours=-5))), "2026-01-31T15:00:00Z"),
    ([Decimal(1), [Decimal("1.5")]], [1, [1.5]]),
    (ApexObject("A.B", {"n": Decimal(2), "d": dt.date(2026, 1, 1), "kids": [ApexObject("A.C", {})]}),
     {"n": 2, "d": "2026-01-01", "kids": [{}]}),
])
def test_to_json(value: Any, expected: Any) -> None:
    result = to_json(value)
    assert result == expected and type(result) is type(expected)


def test_to_json_writes_whole_numbers_without_a_fraction() -> None:
    assert json.dumps(to_json({"a": Decimal("3.000"), "b": Decimal("0.3")} and
                              [Decimal("3.000"), Decimal("0.3")])) == "[3, 0.3]"


def test_type_of_literal() -> None:
    assert type_of_literal(True) == Boolean()
    assert type_of_literal(Decimal(1)) == Number() == type_of_literal(1)
    assert type_of_literal(dt.datetime(2026, 1, 1)) == FlowType("DateTime")
    assert type_of_literal(dt.date(2026, 1, 1)) == FlowType("Date")
    assert type_of_literal(dt.time(1)) == FlowType("Time")
    assert type_of_literal("x") == Text()
    assert type_of_literal([1]) is None


def test_a_collection_of_objects_converts_each_item_and_names_the_bad_one(registry: TypeRegistry) -> None:
    lines = FlowType("Apex", apex_class="ConnectApi__LineInput", collection=True)
    converted = convert_literal([{"lineId": "a", "quantity": 2.4, "tags": ["x"]},
                                 {"lineId": 7, "child": {"lineId": "c"}}, None], lines, registry)
    assert [type(v) for v in converted] == [ApexObject, ApexObject, type(None)]
    assert converted[0].type_name == "ConnectApi.LineInput"
    assert converted[0].fields == {"lineId": "a", "quantity": Decimal(2), "tags": ["x"]}
    assert converted[1].fields["lineId"] == "7" and converted[1].fields["child"].fields == {"lineId": "c"}
    with pytest.raises(ValueTypeError, match=r"field 'quantity' of ConnectApi.LineInput: .*does not fit"):
        convert_literal([{"lineId": "a"}, {"quantity": "many"}], lines, registry)
    with pytest.raises(ValueTypeError, match=r"ConnectApi.LineInput has no field 'lineID'.*lineId"):
        convert_literal([{"lineId": "a"}, {"lineID": "b"}], lines, registry)
    with pytest.raises(ValueTypeError, match="unknown Apex class Nope"):
        convert_literal([{"lineId": "a"}], FlowType("Apex", apex_class="Nope", collection=True), registry)
    records = convert_literal([{"Id": "x", "Quantity": "3"}],
                              FlowType("Record", object="FulfillmentOrderLineItem", collection=True),
                              registry)
    assert isinstance(records[0], RecordValue) and records[0].fields == {"Id": "x", "Quantity": Decimal(3)}
