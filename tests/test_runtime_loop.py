"""Loop at run time (spec 4.3): snapshot, copies, order, the current item, after, re-entry."""
from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from helpers import assign, flow_from_doc

from flowengine.runtime import InterviewResult

TYPES = {"Acme.Parcel": {"fields": {"tracking": "Text", "weight": "Number"}}}
PARCELS = {"type": "Apex", "apexClass": "Acme.Parcel", "collection": True,
           "default": [{"tracking": "A", "weight": 1}, {"tracking": "B", "weight": 2}]}


def run(variables: dict[str, Any], elements: dict[str, Any], start: str,
        inputs: dict[str, Any] | None = None, **kw: Any) -> InterviewResult:
    doc = {"flow": "Loop_Test", "types": TYPES, "variables": variables, "elements": elements, "start": start}
    result = flow_from_doc(doc).run(inputs, **kw)
    assert result.status == "Finished", result.error
    return result




def test_loop_visits_every_item_in_order_then_after() -> None:
    result = run(
        {"words": {"type": "Text", "collection": True, "default": ["a", "b", "c"]},
         "word": {"type": "Text"}, "log": {"type": "Text", "output": True}},
        {"Each_Word": {"type": "Loop", "collection": "words", "item": "word", "each": "Log_Word",
                       "after": "Finish"},
         "Log_Word": assign(("log", "Add", "{!word},"), next="Each_Word"),
         "Finish": assign(("log", "Add", "end"))},
        "Each_Word")
    assert result.outputs["log"] == "a,b,c,end"


@pytest.mark.parametrize(("order", "expected"), [("Asc", "1,2,3,"), ("Desc", "3,2,1,")])
def test_loop_order(order: str, expected: str) -> None:
    result = run(
        {"nums": {"type": "Number", "collection": True, "default": [1, 2, 3]},
         "log": {"type": "Text", "output": True}},
        {"Each_Num": {"type": "Loop", "collection": "nums", "order": order, "each": "Log_Num"},
         "Log_Num": assign(("log", "Add", "{!Each_Num},"), next="Each_Num")},
        "Each_Num")
    assert result.outputs["log"] == expected


def test_descending_loop_leaves_the_collection_in_order() -> None:
    result = run(
        {"nums": {"type": "Number", "collection": True, "default": [1, 2], "output": True}},
        {"Each_Num": {"type": "Loop", "collection": "nums", "order": "Desc", "each": "Nothing"},
         "Nothing": assign(("nums", "Add", 9), next="Each_Num")},
        "Each_Num")
    assert result.outputs["nums"] == [Decimal(1), Decimal(2), Decimal(9), Decimal(9)]


def test_collection_is_snapshotted_when_the_loop_starts() -> None:
    result = run(
        {"nums": {"type": "Number", "collection": True, "default": [1, 2], "output": True},
         "count": {"type": "Number", "output": True, "default": 0}},
        {"Each_Num": {"type": "Loop", "collection": "nums", "each": "Grow"},
         "Grow": assign(("nums", "Add", "{!Each_Num}"), ("nums", "RemovePosition", 1), ("count", "Add", 1),
                        next="Each_Num")},
        "Each_Num")
    assert result.outputs["count"] == Decimal(2)
    assert result.outputs["nums"] == [Decimal(1), Decimal(2)]


def test_loop_variable_is_a_copy_of_the_item() -> None:
    result = run(
        {"parcels": {**PARCELS, "output": True}, "parcel": {"type": "Apex", "apexClass": "Acme.Parcel"}},
        {"Each_Parcel": {"type": "Loop", "collection": "parcels", "item": "parcel", "each": "Rename"},
         "Rename": assign(("parcel.tracking", "Assign", "changed"), next="Each_Parcel")},
        "Each_Parcel")
    assert [p.fields["tracking"] for p in result.outputs["parcels"]] == ["A", "B"]


def test_current_item_through_the_loops_name() -> None:
    result = run(
        {"parcels": PARCELS, "total": {"type": "Number", "output": True},
         "names": {"type": "Text", "output": True}},
        {"Each_Parcel": {"type": "Loop", "collection": "parcels", "each": "Sum_Up"},
         "Sum_Up": assign(("total", "Add", "{!Each_Parcel.weight}"), ("names", "Add", "{!Each_Parcel.tracking}"),
                          next="Each_Parcel")},
        "Each_Parcel")
    assert result.outputs == {"total": Decimal(3), "names": "AB"}


def test_current_item_written_to_a_field_of_an_object() -> None:
    result = run(
        {"words": {"type": "Text", "collection": True, "default": ["x", "y"]},
         "holder": {"type": "Apex", "apexClass": "Acme.Parcel", "output": True}},
        {"Each_Word": {"type": "Loop", "collection": "words", "item": "holder.tracking", "each": "Count"},
         "Count": assign(("holder.weight", "Add", 1), next="Each_Word")},
        "Each_Word", trace=True)
    assert result.outputs["holder"].fields == {"tracking": "y", "weight": Decimal(2)}
    loop_entries = [e for e in result.trace or [] if e["element"] == "Each_Word"]
    assert [e.get("item") for e in loop_entries] == ["x", "y", None]


def test_empty_collection_goes_straight_to_after() -> None:
    result = run(
        {"nums": {"type": "Number", "collection": True}, "log": {"type": "Text", "output": True}},
        {"Each_Num": {"type": "Loop", "collection": "nums", "each": "Body", "after": "Finish"},
         "Body": assign(("log", "Add", "body"), next="Each_Num"),
         "Finish": assign(("log", "Add", "after"))},
        "Each_Num")
    assert result.outputs["log"] == "after"
    assert result.elements_executed == 2


def test_loop_without_after_ends_the_interview() -> None:
    result = run(
        {"nums": {"type": "Number", "collection": True, "default": [1]},
         "count": {"type": "Number", "output": True}},
        {"Each_Num": {"type": "Loop", "collection": "nums", "each": "Body"},
         "Body": assign(("count", "Add", 1), next="Each_Num")},
        "Each_Num")
    assert result.outputs["count"] == Decimal(1)
    assert result.elements_executed == 3


def test_reentering_after_after_starts_a_fresh_iteration() -> None:
    result = run(
        {"nums": {"type": "Number", "collection": True, "default": [1, 2]},
         "rounds": {"type": "Number", "default": 0}, "log": {"type": "Text", "output": True}},
        {"Each_Num": {"type": "Loop", "collection": "nums", "each": "Body", "after": "Next_Round"},
         "Body": assign(("log", "Add", "{!Each_Num}"), next="Each_Num"),
         "Next_Round": assign(("rounds", "Add", 1), ("log", "Add", "|"), next="Again"),
         "Again": {"type": "Decision", "rules": [
             {"name": "More", "conditions": [{"left": "rounds", "op": "LessThan", "right": 2}],
              "next": "Each_Num"}]}},
        "Each_Num")
    assert result.outputs["log"] == "12|12|"


def test_second_round_sees_the_collection_as_it_is_then() -> None:
    result = run(
        {"nums": {"type": "Number", "collection": True, "default": [1]},
         "rounds": {"type": "Number", "default": 0}, "log": {"type": "Text", "output": True}},
        {"Each_Num": {"type": "Loop", "collection": "nums", "each": "Body", "after": "Next_Round"},
         "Body": assign(("log", "Add", "{!Each_Num}"), next="Each_Num"),
         "Next_Round": assign(("rounds", "Add", 1), ("log", "Add", "|"), ("nums", "Add", 2), next="Again"),
         "Again": {"type": "Decision", "rules": [
             {"name": "More", "conditions": [{"left": "rounds", "op": "LessThan", "right": 2}],
              "next": "Each_Num"}]}},
        "Each_Num")
    assert result.outputs["log"] == "1|12|"


def test_nested_loops() -> None:
    result = run(
        {"outer": {"type": "Text", "collection": True, "default": ["a", "b"]},
         "inner": {"type": "Number", "collection": True, "default": [1, 2]},
         "log": {"type": "Text", "output": True}},
        {"Each_Outer": {"type": "Loop", "collection": "outer", "each": "Each_Inner"},
         "Each_Inner": {"type": "Loop", "collection": "inner", "each": "Log_Pair", "after": "Each_Outer"},
         "Log_Pair": assign(("log", "Add", "{!Each_Outer}{!Each_Inner} "), next="Each_Inner")},
        "Each_Outer")
    assert result.outputs["log"] == "a1 a2 b1 b2 "


def test_loop_over_a_null_collection_input() -> None:
    result = run(
        {"nums": {"type": "Number", "collection": True, "input": True}, "log": {"type": "Text", "output": True}},
        {"Each_Num": {"type": "Loop", "collection": "nums", "each": "Body", "after": "Finish"},
         "Body": assign(("log", "Add", "x"), next="Each_Num"),
         "Finish": assign(("log", "Add", "done"))},
        "Each_Num", inputs={"nums": None})
    assert result.outputs["log"] == "done"


def test_trace_shows_iteration_and_item() -> None:
    result = run(
        {"words": {"type": "Text", "collection": True, "default": ["a", "b"]}, "word": {"type": "Text"}},
        {"Each_Word": {"type": "Loop", "collection": "words", "item": "word", "each": "Body"},
         "Body": assign(("word", "Add", "!"), next="Each_Word")},
        "Each_Word", trace=True)
    loops = [e for e in result.trace or [] if e["type"] == "Loop"]
    assert [(e["iteration"], e.get("item"), e.get("done", False)) for e in loops] == [
        (1, "a", False), (2, "b", False), (None, None, True)]


def test_loop_item_is_converted_to_the_loop_variables_type() -> None:
    result = run(
        {"nums": {"type": "Number", "scale": 1, "collection": True, "default": [1.5, 2]},
         "text": {"type": "Text", "output": True}, "whole": {"type": "Number", "scale": 0, "output": True},
         "log": {"type": "Text", "output": True}},
        {"As_Text": {"type": "Loop", "collection": "nums", "item": "text", "each": "Append", "after": "As_Whole"},
         "Append": assign(("text", "Add", "!"), ("log", "Add", "{!text} "), next="As_Text"),
         "As_Whole": {"type": "Loop", "collection": "nums", "item": "whole", "each": "Log_Whole"},
         "Log_Whole": assign(("log", "Add", "{!whole} "), next="As_Whole")},
        "As_Text")
    assert result.outputs["log"] == "1.5! 2.0! 2 2 "      # the items keep their scale, 1
    assert result.outputs["whole"] == Decimal(2)


def test_leaving_the_body_without_after_and_coming_back_continues_the_loop() -> None:
    # a Decision in the body jumps out of the loop; the next visit of the Loop element goes on
    # with the next item instead of starting again (only taking `after` resets the loop)
    result = run(
        {"nums": {"type": "Number", "collection": True, "default": [1, 2, 3]},
         "log": {"type": "Text", "output": True}},
        {"Each_Num": {"type": "Loop", "collection": "nums", "each": "Is_Two", "after": "Finish"},
         "Is_Two": {"type": "Decision", "rules": [
             {"name": "Two", "conditions": [{"left": "Each_Num", "op": "EqualTo", "right": 2}], "next": "Outside"}],
             "default": "Body"},
         "Body": assign(("log", "Add", "{!Each_Num}"), next="Each_Num"),
         "Outside": assign(("log", "Add", "(out)"), next="Each_Num"),
         "Finish": assign(("log", "Add", "|end"))},
        "Each_Num")
    assert result.outputs["log"] == "1(out)3|end"
