"""Static checks at load time (spec 1–4): names, types, values, operators, connectors, actions.

Each test loads YAML text and asserts the exact problem: code, line (and column where it says
something), path and message. Problems come from `ValidationError.problems`.
"""
from __future__ import annotations

import textwrap
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import yaml
from helpers import INVOICE_LINE, FakeRegistry

from flowengine.api import load_flow_text
from flowengine.errors import Problem, ValidationError
from flowengine.plugins import Action, Parameter
from flowengine.types import Apex, ApexClass, ApexField, Number, Text

FLOWS = Path(__file__).parent.parent / "flows"


def check(text: str, registry: Any = None) -> list[Problem]:
    """Every problem of a flow text: the errors (and warnings) it fails with, or its warnings."""
    text = textwrap.dedent(text).lstrip("\n")
    try:
        flow = load_flow_text(text, "flow.yaml", registry=registry)
    except ValidationError as exc:
        return exc.problems
    return flow.warnings


def errors(text: str, registry: Any = None) -> list[Problem]:
    return [p for p in check(text, registry) if p.severity == "error"]


def one_error(text: str, registry: Any = None) -> Problem:
    found = errors(text, registry)
    assert len(found) == 1, "\n".join(map(str, found))
    return found[0]


def valid(text: str, registry: Any = None) -> Any:
    return load_flow_text(textwrap.dedent(text).lstrip("\n"), "flow.yaml", registry=registry)


def flow_text(variables: dict[str, Any] | None = None, elements: dict[str, Any] | None = None,
              start: str | None = None, **sections: Any) -> str:
    doc: dict[str, Any] = {"flow": "Test_Flow", **sections}
    if variables:
        doc["variables"] = variables
    if elements:
        doc["elements"] = elements
        doc["start"] = start or next(iter(elements))
    return yaml.safe_dump(doc, sort_keys=False)


def assign_flow(variables: dict[str, Any], *items: tuple[str, str, Any], **sections: Any) -> str:
    """One Assignment element `Set_Values` with `items` (ref, op, value)."""
    return flow_text(variables, {"Set_Values": {"type": "Assignment", "assignments": [
        {"ref": ref, "op": op, "value": value} for ref, op, value in items]}}, **sections)


def decision_flow(variables: dict[str, Any], *conditions: tuple[str, str, Any],
                  logic: str = "and") -> str:
    return flow_text(variables, {"Check": {"type": "Decision", "rules": [{
        "name": "Rule_1", "logic": logic,
        "conditions": [{"left": left, "op": op, "right": right} for left, op, right in conditions]}]}})


def codes(problems: list[Problem]) -> list[str]:
    return [p.code for p in problems]


# -- flow name and the namespace (spec 1) -------------------------------------------------------------

@pytest.mark.parametrize(("name", "message"), [
    ("1st_Flow", "flow name '1st_Flow' is not valid: expected a letter first, then only letters, "
                 "digits and underscores"),
    ("Cancel-Items", "flow name 'Cancel-Items' is not valid: expected a letter first, then only "
                     "letters, digits and underscores"),
    ("Cancel__Items", "flow name 'Cancel__Items' must not contain two underscores in a row"),
    ("Cancel_Items_", "flow name 'Cancel_Items_' must not end with an underscore"),
    ("A" * 81, f"flow name {'A' * 20!r}... is 81 characters long; at most 80 are allowed"),
])
def test_flow_name_rules(name: str, message: str) -> None:
    problem = one_error(f"flow: {name}\n")
    assert (problem.code, problem.line, problem.column, problem.path, problem.message) == \
        ("name.invalid", 1, 7, "flow", message)


@pytest.mark.parametrize("name", ["A", "Cancel_Items", "a1_b2_c3", "A" * 80])
def test_valid_flow_names(name: str) -> None:
    assert valid(f"flow: {name}\n").name == name


def test_the_flow_name_must_be_text_and_is_required() -> None:
    assert one_error("flow: 12\n").message == "expected text for 'flow', found the number 12"
    problem = one_error("label: Demo\n")
    assert (problem.code, problem.line, problem.message) == \
        ("schema.missing-key", 1, "missing required key 'flow'")


DECLARATIONS = {"variables": "{type: Text}", "constants": "{type: Text, value: x}",
                "formulas": "{type: Text, expression: \"'x'\"}", "templates": "hello"}


def _declare(section: str, name: str) -> str:
    """YAML declaring `name` in `section`; an element or an outcome is a Decision."""
    if section in DECLARATIONS:
        return f"{section}:\n  {name}: {DECLARATIONS[section]}\n"
    element, outcome = (name, "Big") if section == "elements" else ("Check", name)
    return (f"elements:\n  {element}:\n    type: Decision\n    rules:\n      - name: {outcome}\n"
            f"        conditions:\n          - {{left: $Flow.CurrentDate, op: IsNull, right: false}}\n"
            f"start: {element}\n")


@pytest.mark.parametrize(("first", "second", "what"), [
    ("variables", "constants", "variable"), ("variables", "formulas", "variable"),
    ("constants", "templates", "constant"), ("formulas", "elements", "formula"),
    ("templates", "elements", "template"), ("variables", "outcomes", "variable"),
    ("templates", "outcomes", "template"),
])
def test_names_are_unique_case_insensitively_across_sections(first: str, second: str,
                                                             what: str) -> None:
    problem = one_error("flow: Demo\n" + _declare(first, "total") + _declare(second, "TOTAL"))
    assert problem.code == "name.duplicate"
    assert problem.message == (
        f"duplicate name 'TOTAL': already used by the {what} 'total' on line 3 (names are unique "
        "across variables, constants, formulas, templates, elements and outcomes, ignoring case)")


def test_an_outcome_may_not_share_its_elements_name() -> None:
    problem = one_error("flow: Demo\n" + _declare("elements", "Check").replace("- name: Big",
                                                                              "- name: check"))
    assert (problem.line, problem.path) == (6, "elements.Check.rules[0].name")
    assert problem.message.startswith("duplicate name 'check': already used by the Decision "
                                      "element 'Check' on line 3")


def test_a_duplicate_name_points_at_the_second_and_names_the_first() -> None:
    problem = one_error("""
        flow: Demo
        variables:
          lineItem: {type: Text}
        constants:
          LineItem: {type: Text, value: x}
    """)
    assert (problem.line, problem.column, problem.path) == (5, 3, "constants.LineItem")
    assert problem.message.startswith("duplicate name 'LineItem': already used by the variable "
                                      "'lineItem' on line 3")


@pytest.mark.parametrize(("name", "message"), [
    ("bad__name", "name 'bad__name' must not contain two underscores in a row"),
    ("bad_", "name 'bad_' must not end with an underscore"),
    ("9lives", "name '9lives' is not valid: expected a letter first, then only letters, digits "
               "and underscores"),
])
def test_resource_names_follow_the_api_name_rules(name: str, message: str) -> None:
    problem = one_error(f"flow: Demo\nvariables:\n  {name}: {{type: Text}}\n")
    assert (problem.code, problem.line, problem.path, problem.message) == \
        ("name.invalid", 3, f"variables.{name}", message)


# -- structure: unknown keys, element types, operators ------------------------------------------------

@pytest.mark.parametrize(("text", "line", "path", "message"), [
    ("flow: Demo\nvariable:\n  x: Text\n", 2, "variable",
     "unknown key 'variable'; did you mean 'variables'? (allowed here: flow, label, description, "
     "apiVersion, start, types, variables, constants, formulas, templates, elements, processType, "
     "status, runInMode, interviewLabel, environments, processMetadataValues, startLocation, "
     "trigger)"),
    ("flow: Demo\nvariables:\n  x: {type: Text, colection: true}\n", 3, "variables.x.colection",
     "unknown key 'colection'; did you mean 'collection'? (allowed here: type, apexClass, object, "
     "collection, scale, description, input, output, default)"),
    ("flow: Demo\nelements:\n  A:\n    type: Assignment\n    assignments:\n"
     "      - {ref: x, op: Assign, valeu: 1}\nstart: A\n", 6,
     "elements.A.assignments[0].valeu",
     "unknown key 'valeu'; did you mean 'value'? (allowed here: ref, op, value)"),
    ("flow: Demo\nelements:\n  A:\n    type: Decision\n    rules:\n      - name: R\n"
     "        conditons: []\nstart: A\n", 7, "elements.A.rules[0].conditons",
     "unknown key 'conditons'; did you mean 'conditions'? (allowed here: name, label, logic, "
     "conditions, next)"),
])
def test_unknown_keys_have_a_did_you_mean(text: str, line: int, path: str, message: str) -> None:
    problem = [p for p in errors(text) if p.code == "schema.unknown-key"][0]
    assert (problem.line, problem.path, problem.message) == (line, path, message)


def test_unknown_element_type_and_missing_type() -> None:
    found = errors("""
        flow: Demo
        elements:
          A: {type: Assigment, assignments: []}
          B: {assignments: []}
        start: A
    """)
    kept = (", GetRecords, CreateRecords, UpdateRecords, DeleteRecords, RollbackRecords, "
            "Subflow, CollectionFilter, CollectionSort; or, kept from Salesforce XML: Screen, "
            "Wait, CollectionProcessor, CustomError, Transform, ApexPluginCall, Step, "
            "OrchestratedStage")
    assert [(p.code, p.line, p.path, p.message) for p in found] == [
        ("schema.unknown-element-type", 3, "elements.A.type",
         "unknown element type 'Assigment'; did you mean 'Assignment'? (expected one of: "
         f"Assignment, Decision, Loop, Action{kept})"),
        ("schema.missing-key", 4, "elements.B",
         f"element has no 'type' (expected one of: Assignment, Decision, Loop, Action{kept})"),
    ]


def test_unknown_operators_have_a_did_you_mean() -> None:
    found = errors("""
        flow: Demo
        variables:
          n: Number
        elements:
          A:
            type: Assignment
            assignments:
              - {ref: n, op: Asign, value: 1}
            next: B
          B:
            type: Decision
            rules:
              - name: R
                conditions:
                  - {left: n, op: GreaterThen, right: 1}
        start: A
    """)
    assert [(p.code, p.line, p.column, p.path) for p in found] == [
        ("schema.unknown-value", 8, 22, "elements.A.assignments[0].op"),
        ("schema.unknown-value", 15, 27, "elements.B.rules[0].conditions[0].op"),
    ]
    assert found[0].message.startswith("unknown operator 'Asign'; did you mean 'Assign'? (expected "
                                       "one of: Assign, Equals, Add, ")
    assert found[1].message.startswith("unknown operator 'GreaterThen'; did you mean 'GreaterThan'?")


def test_a_broken_element_does_not_hide_other_problems() -> None:
    found = errors("""
        flow: Demo
        variables:
          n: Number
        constants:
          Limit: {type: Number, value: 10}
        elements:
          A:
            type: Assignment
            assignments:
              - {ref: n, op: Frobnicate, value: 1}
              - {ref: Limit, op: Assign, value: 2}
              - {ref: n, op: Assign, value: abc}
            nxt: B
          B:
            type: Loop
            collection: n
            order: Sideways
            each: Nowhere
        start: A
    """)
    assert [(p.line, p.code, p.path) for p in found] == [
        # the broken item is left out; the others are checked, and keep their places
        (10, "schema.unknown-value", "elements.A.assignments[0].op"),
        (11, "write.readonly", "elements.A.assignments[1].ref"),
        (12, "value.type", "elements.A.assignments[2].value"),
        (13, "schema.unknown-key", "elements.A.nxt"),
        # the Loop is checked although its order is unknown
        (16, "loop.collection", "elements.B.collection"),
        (17, "schema.unknown-value", "elements.B.order"),
        (18, "connector.unknown", "elements.B.each"),
    ]


def test_problems_in_every_section_are_all_reported_in_file_order() -> None:
    found = errors("""
        flow: Bad__Name
        apiVersion: latest
        variables:
          n: {type: Numbr}
          t: {type: Text, default: [1]}
        constants:
          K: {type: Number, value: abc}
        elements:
          A:
            type: Assignment
            assignments:
              - {ref: n, op: Assign, value: 1}
              - {ref: zz, op: Assign, value: 1}
        start: A
    """)
    assert [(p.line, p.code) for p in found] == [
        (1, "name.invalid"), (2, "schema.type"), (4, "schema.unknown-value"), (5, "value.type"),
        (7, "value.type"), (13, "reference.unknown"),
    ]
    # `n` is declared with an error: using it is not reported again
    assert not any("'n'" in p.message for p in found[1:] if p.line > 4)


def test_a_section_that_is_not_a_mapping() -> None:
    found = errors("""
        flow: Demo
        variables: [total, count]
        elements:
          Set_Total:
            type: Assignment
            assignments:
              - {ref: total, op: Assign, value: 1}
        start: Set_Total
    """)
    # references into the broken section are not reported a second time
    assert [(p.line, p.code, p.message) for p in found] == [
        (2, "schema.type", "expected a mapping of keys for 'variables', found a list")]


# -- literals and their types (spec 3.4) -------------------------------------------------------------

@pytest.mark.parametrize(("decl", "literal"), [
    ({"type": "Text"}, "abc"), ({"type": "Text"}, 12), ({"type": "Text"}, 2.5),
    ({"type": "Text"}, True), ({"type": "Text"}, "2026-01-31"), ({"type": "String"}, "x"),
    ({"type": "Picklist"}, "Open"), ({"type": "Picklist"}, 3), ({"type": "Multipicklist"}, "a;b"),
    ({"type": "Number"}, 3), ({"type": "Number"}, "4.5"), ({"type": "Number", "scale": 0}, 2.5),
    ({"type": "Currency"}, 1.234), ({"type": "Currency"}, -7),
    ({"type": "Boolean"}, True), ({"type": "Boolean"}, "false"),
    ({"type": "Date"}, "2026-01-31"), ({"type": "DateTime"}, "2026-01-31T09:30:00Z"),
    ({"type": "DateTime"}, "2026-01-31"), ({"type": "Time"}, "09:30:00"),
    ({"type": "Text", "collection": True}, ["a", 1]), ({"type": "Number", "collection": True}, []),
    ({"type": "Date", "collection": True}, ["2026-01-31"]),
])
def test_literals_that_fit(decl: dict[str, Any], literal: Any) -> None:
    valid(flow_text({"v": {**decl, "default": literal}}))


@pytest.mark.parametrize(("decl", "literal", "message"), [
    ({"type": "Number"}, "abc", "the text 'abc' does not fit Number (expected a number)"),
    ({"type": "Number"}, True, "the Boolean true does not fit Number (expected a number)"),
    ({"type": "Currency"}, "1,5", "the text '1,5' does not fit Currency (expected a number)"),
    ({"type": "Boolean"}, 1, "the number 1 does not fit Boolean (expected true or false)"),
    ({"type": "Boolean"}, "yes please",
     "the text 'yes please' does not fit Boolean (expected true or false)"),
    ({"type": "Date"}, "2026-02-30", "the text '2026-02-30' does not fit Date (expected YYYY-MM-DD)"),
    ({"type": "Date"}, "2026-01-31T10:00:00Z",
     "the text '2026-01-31T10:00:00Z' does not fit Date (expected YYYY-MM-DD)"),
    ({"type": "DateTime"}, "tomorrow", "the text 'tomorrow' does not fit DateTime (expected "
                                       "ISO-8601 such as 2026-01-31T09:30:00Z)"),
    ({"type": "Time"}, "25:00", "the text '25:00' does not fit Time (expected HH:MM:SS)"),
    ({"type": "Text"}, ["a"], "a list does not fit Text (expected a single value)"),
    ({"type": "Text"}, {"a": 1}, "a mapping does not fit Text"),
    ({"type": "Text", "collection": True}, "a",
     "the text 'a' does not fit collection of Text (expected a list, e.g. [a, b])"),
    ({"type": "Number", "collection": True}, 3,
     "the number 3 does not fit collection of Number (expected a list, e.g. [1, 2])"),
])
def test_literals_that_do_not_fit(decl: dict[str, Any], literal: Any, message: str) -> None:
    text = flow_text({"v": {**decl, "default": literal}})
    problem = one_error(text)
    assert (problem.code, problem.path, problem.message) == ("value.type", "variables.v.default",
                                                             message)
    lines = text.splitlines()
    default_line = next(i for i, line in enumerate(lines, 1) if "default:" in line)
    # a list or mapping literal is dumped on the lines after `default:`
    assert problem.line == default_line + isinstance(literal, (list, dict))


def test_the_wrong_item_of_a_list_literal_is_pointed_at() -> None:
    problem = one_error("""
        flow: Demo
        variables:
          weights: {type: Number, collection: true, default: [1, 2, heavy]}
    """)
    assert (problem.line, problem.column, problem.path, problem.message) == \
        (3, 61, "variables.weights.default[2]",
         "the text 'heavy' does not fit Number (expected a number)")


def test_a_number_literal_is_rounded_to_scale_not_refused() -> None:
    flow = valid(flow_text({"q": {"type": "Number", "scale": 0, "default": 2.5, "output": True}}))
    assert flow.run().outputs["q"] == Decimal(3)


def test_constants_are_checked_against_their_type() -> None:
    found = errors("""
        flow: Demo
        constants:
          Limit: {type: Number, value: ten}
          Parcel: {type: Apex, value: {}}
          Missing: {type: Text}
    """)
    assert [(p.line, p.code, p.message) for p in found] == [
        (3, "value.type", "the text 'ten' does not fit Number (expected a number)"),
        (4, "type.constant", "a constant must have a scalar type, not Apex"),
        (5, "schema.missing-key", "missing required key 'value'"),
    ]


@pytest.mark.parametrize(("source", "target", "fits"), [
    ("Number", "Text", True), ("Boolean", "Text", True), ("Date", "Text", True),
    ("DateTime", "Text", True), ("Time", "Text", True), ("Currency", "Text", True),
    ("Picklist", "Text", True), ("Text", "Picklist", True), ("Text", "Multipicklist", True),
    ("Number", "Currency", True), ("Currency", "Number", True), ("Date", "DateTime", True),
    ("DateTime", "Date", False), ("Text", "Number", False), ("Number", "Boolean", False),
    ("Boolean", "Number", False), ("Date", "Time", False), ("Text", "Date", False),
])
def test_reference_compatibility(source: str, target: str, fits: bool) -> None:
    text = assign_flow({"src": {"type": source}, "dst": {"type": target}}, ("dst", "Assign", "{!src}"))
    if fits:
        valid(text)
    else:
        problem = one_error(text)
        assert (problem.code, problem.path, problem.message) == (
            "value.type", "elements.Set_Values.assignments[0].value",
            f"{{!src}} is {source}, which does not fit {target}")


def test_a_collection_does_not_fit_a_single_value_nor_the_reverse() -> None:
    found = errors(assign_flow({"one": {"type": "Text"}, "many": {"type": "Text", "collection": True},
                                "n": {"type": "Number"}},
                               ("one", "Assign", "{!many}"), ("n", "Add", "{!many}")))
    assert [p.message for p in found] == [
        "{!many} is collection of Text, which does not fit Text",
        "{!many} is collection of Text, which does not fit Number",
    ]


# -- Apex-defined classes (spec 3.3) --------------------------------------------------------------------

PARCEL_TYPES = """
types:
  Acme.Parcel:
    fields:
      trackingNumber: Text
      weightKg: {type: Number, scale: 3}
      box: {type: Apex, apexClass: Acme__Box}
      labels: {type: Text, collection: true}
  Acme__Box:
    fields:
      size: Text
      parcels: {type: Apex, apexClass: Acme.Parcel, collection: true}
"""


def parcel_flow(text: str) -> str:
    """`flow: Demo` and the PARCEL_TYPES (lines 1-13), then `text` (dedented) from line 14."""
    return "flow: Demo\n" + PARCEL_TYPES + textwrap.dedent(text)


def test_flow_classes_nested_and_in_both_spellings() -> None:
    flow = valid(parcel_flow("""
        variables:
          parcel: {type: Apex, apexClass: Acme.Parcel, output: true}
          same: {type: Apex, apexClass: acme__parcel}
          box: {type: Apex, apexClass: Acme.Box}
        elements:
          Build:
            type: Assignment
            assignments:
              - {ref: parcel.box.size, op: Assign, value: L}
              - {ref: parcel.weightKg, op: Assign, value: 1.5}
              - {ref: same, op: Assign, value: "{!parcel}"}
              - {ref: box.parcels, op: Add, value: "{!same}"}
              - {ref: parcel, op: Assign, value: {trackingNumber: T1, box: {size: S}}}
        start: Build
    """))
    assert flow.run().outputs["parcel"].fields["box"].fields == {"size": "S"}


def test_an_unknown_class_has_a_did_you_mean() -> None:
    found = errors(parcel_flow("""
        variables:
          parcel: {type: Apex, apexClass: Acme.Parcle}
          noClass: {type: Apex}
        elements:
          Use:
            type: Assignment
            assignments:
              - {ref: parcel.weightKg, op: Assign, value: 1}
        start: Use
    """))
    assert [(p.code, p.line, p.path, p.message) for p in found] == [
        ("type.unknown-class", 16, "variables.parcel.apexClass",
         "unknown Apex class 'Acme.Parcle'; did you mean 'Acme.Parcel'? (declare it under types:, "
         "or install the plug-in that defines it)"),
        ("type.apex-class", 17, "variables.noClass.type",
         "type Apex needs apexClass: the Apex-defined class name"),
    ]   # and `parcel.weightKg` is not reported again


def test_class_declarations_are_checked() -> None:
    found = errors("""
        flow: Demo
        types:
          Acme.Parcel:
            fields:
              weight: Number
              bad__field: Text
              inner: {type: Apex, apexClass: Acme.Nothing}
          Acme__Parcel:
            fields: {}
          "Acme Box":
            fields: {}
    """)
    assert [(p.code, p.line) for p in found] == [
        ("name.invalid", 6), ("type.unknown-class", 7), ("type.duplicate-class", 8),
        ("type.class-name", 10)]
    assert found[2].message == ("class 'Acme__Parcel' is declared twice: 'Acme.Parcel' is the same "
                                "class (the __ spelling equals the dotted one, ignoring case)")


def test_a_flow_class_may_not_redefine_a_plugin_class() -> None:
    registry = FakeRegistry([CREATE], [ApexClass("Acme.Parcel", {"weight": ApexField(Number())})])
    problem = one_error("""
        flow: Demo
        types:
          Acme.Parcel:
            fields: {size: Text}
        elements:
          Create:
            type: Action
            action: createThing
        start: Create
    """, registry=lambda: registry)
    assert (problem.code, problem.line, problem.message) == (
        "type.duplicate-class", 3, "class 'Acme.Parcel' is already defined by an installed "
                                   "plug-in; give the flow's class another name")


@pytest.mark.parametrize(("ref", "message"), [
    ("parcel.weightkg", "Apex Acme.Parcel has no field 'weightkg'; did you mean 'weightKg'? "
                        "(field names are case-sensitive)"),
    ("parcel.Box.size", "Apex Acme.Parcel has no field 'Box'; did you mean 'box'? (field names are "
                        "case-sensitive)"),
    ("parcel.box.sise", "Apex Acme.Box has no field 'sise'; did you mean 'size'?"),
    ("parcel.colour", "Apex Acme.Parcel has no field 'colour' (its fields: trackingNumber, "
                      "weightKg, box, labels)"),
    ("parcel.box.parcels.weightKg", "'parcel.box.parcels' is a collection of Apex Acme.Parcel and "
                                    "has no field 'weightKg'; loop over it to read the fields of "
                                    "each item"),
    ("parcel.trackingNumber.length", "'parcel.trackingNumber' is Text and has no fields"),
])
def test_field_paths_are_resolved_case_sensitively(ref: str, message: str) -> None:
    problem = one_error(parcel_flow(f"""
        variables:
          parcel: {{type: Apex, apexClass: Acme.Parcel}}
        elements:
          Use:
            type: Assignment
            assignments:
              - {{ref: {ref}, op: Assign, value: null}}
        start: Use
    """))
    assert (problem.code, problem.line, problem.column, problem.message) == \
        ("reference.invalid", 21, 15, message)


def test_record_fields() -> None:
    registry = FakeRegistry(objects=[INVOICE_LINE])
    found = errors("""
        flow: Demo
        variables:
          line: {type: Record, object: InvoiceLine}
          other: {type: Record, object: invoiceLine}
          ghost: {type: Record, object: InvoiceLines}
          qty: Number
        elements:
          Use:
            type: Assignment
            assignments:
              - {ref: line.Quantity, op: Assign, value: 2}
              - {ref: qty, op: Assign, value: "{!line.quantity}"}
              - {ref: other, op: Assign, value: "{!line}"}
              - {ref: line, op: Assign, value: {Quantity: 1, Colour: red}}
        start: Use
    """, registry=lambda: registry)
    assert [(p.code, p.line, p.message) for p in found] == [
        ("type.unknown-object", 5, "unknown object 'InvoiceLines'; did you mean 'InvoiceLine'? "
                                   "(flowengine knows the standard objects, the installed plug-ins' "
                                   "and the project's own: a Salesforce DX project's objects/ "
                                   "folder, or a flowengine-objects.yaml beside the flows)"),
        ("reference.invalid", 12, "Record InvoiceLine has no field 'quantity'; did you mean "
                                  "'Quantity'? (field names are case-sensitive)"),
        ("value.field", 14, "Record InvoiceLine has no field 'Colour' (its fields: Id, InvoiceId, "
                            "Quantity, UnitPrice, Status, Shipped, DueDate, Amount, CreatedDate, "
                            "CreatedById, LastModifiedDate, LastModifiedById, SystemModstamp, "
                            "IsDeleted)"),
    ]


def test_apex_accepts_only_the_same_class() -> None:
    problem = one_error(parcel_flow("""
        variables:
          parcel: {type: Apex, apexClass: Acme.Parcel}
          box: {type: Apex, apexClass: Acme.Box}
        elements:
          Use:
            type: Assignment
            assignments:
              - {ref: parcel, op: Assign, value: "{!box}"}
        start: Use
    """))
    assert problem.message == "{!box} is Apex Acme.Box, which does not fit Apex Acme.Parcel"


# -- references (spec 2) ---------------------------------------------------------------------------

def test_unknown_references_have_a_did_you_mean() -> None:
    found = errors("""
        flow: Demo
        variables:
          quantity: Number
          message: Text
        templates:
          summary: "Canceled {!quantty} items"
        elements:
          Use:
            type: Assignment
            assignments:
              - {ref: quantiy, op: Assign, value: 1}
              - {ref: message, op: Assign, value: "{!$Flow.FaultMesage}"}
              - {ref: message, op: Assign, value: "{!nothing_like_it}"}
        start: Use
    """)
    assert [(p.code, p.line, p.path, p.message) for p in found] == [
        ("reference.unknown", 6, "templates.summary.text",
         "unknown name 'quantty'; did you mean 'quantity'? (no variable, constant, formula, "
         "template or element has that name)"),
        ("reference.unknown", 11, "elements.Use.assignments[0].ref",
         "unknown name 'quantiy'; did you mean 'quantity'? (no variable, constant, formula, "
         "template or element has that name)"),
        ("reference.unknown", 12, "elements.Use.assignments[1].value",
         "unknown global '$Flow.FaultMesage'; did you mean '$Flow.FaultMessage'?"),
        ("reference.unknown", 13, "elements.Use.assignments[2].value",
         "unknown name 'nothing_like_it' (no variable, constant, formula, template or element has "
         "that name)"),
    ]


@pytest.mark.parametrize(("where", "value", "message"), [
    ("value", "{!message", "unclosed merge field in '{!message' (expected {!name})"),
    ("value", "{!message.}", "'message.' is not a valid name or path (expected name or name.field)"),
    ("ref", "{!message}", "'{!message}' is a merge field; here write the bare name 'message' "
                          "without {! }"),
])
def test_malformed_merge_fields_and_paths(where: str, value: str, message: str) -> None:
    item = {"ref": "message", "op": "Assign", "value": "x", where: value}
    problem = one_error(flow_text({"message": {"type": "Text"}},
                                  {"Use": {"type": "Assignment", "assignments": [item]}}))
    assert (problem.code, problem.message) == ("reference.syntax", message)


def test_globals_resolve_case_insensitively_and_have_types() -> None:
    valid(assign_flow({"d": {"type": "Date"}, "t": {"type": "Text"}, "b": {"type": "Boolean"}},
                      ("d", "Assign", "{!$Flow.CurrentDate}"), ("t", "Assign", "{!$flow.faultmessage}"),
                      ("b", "Assign", "{!$GlobalConstant.True}"),
                      ("t", "Assign", "{!$GlobalConstant.EmptyString}")))


def test_templates_cannot_show_whole_objects() -> None:
    problem = one_error(parcel_flow("""
        variables:
          parcel: {type: Apex, apexClass: Acme.Parcel}
        templates:
          good: "Parcel {!parcel.trackingNumber} weighs {!parcel.weightKg} kg"
          bad: "Parcel {!parcel}"
    """))
    assert (problem.line, problem.column, problem.message) == (
        19, 8, "{!parcel} is Apex Acme.Parcel and cannot be written into text; name one of its fields")


def test_templates_and_formulas_that_refer_to_each_other_in_a_circle() -> None:
    problem = one_error("""
        flow: Demo
        templates:
          a: "x {!b}"
          b: "y {!a}"
    """)
    assert (problem.code, problem.message) == (
        "resource.cycle", "resources refer to each other in a circle: a → b → a")


# -- writes (spec 4.1) -----------------------------------------------------------------------------

@pytest.mark.parametrize(("ref", "message"), [
    ("Limit", "cannot write to 'Limit': 'Limit' is a constant, which is read-only; only variables "
              "can be written"),
    ("Doubled", "cannot write to 'Doubled': 'Doubled' is a formula, which is read-only; only "
                "variables can be written"),
    ("Summary", "cannot write to 'Summary': 'Summary' is a template, which is read-only; only "
                "variables can be written"),
    ("$Flow.FaultMessage", "cannot write to the global $Flow.FaultMessage: globals are read-only; "
                           "only variables can be written"),
    ("$GlobalConstant.True", "cannot write to the global $GlobalConstant.True: globals are "
                             "read-only; only variables can be written"),
    ("Use", "cannot write to 'Use': 'Use' is an Assignment element, which is read-only; only "
            "variables can be written"),
    ("Big", "cannot write to 'Big': 'Big' is an outcome, which is read-only; only variables can "
            "be written"),
])
def test_only_variables_can_be_written(ref: str, message: str) -> None:
    problem = one_error(f"""
        flow: Demo
        variables:
          n: Number
        constants:
          Limit: {{type: Number, value: 10}}
        formulas:
          Doubled: {{type: Number, expression: "{{!n}} * 2"}}
        templates:
          Summary: "n is {{!n}}"
        elements:
          Use:
            type: Assignment
            assignments:
              - {{ref: {ref}, op: Assign, value: x}}
            next: Check
          Check:
            type: Decision
            rules:
              - name: Big
                conditions:
                  - {{left: n, op: GreaterThan, right: 1}}
        start: Use
    """)
    assert (problem.code, problem.line, problem.column, problem.path, problem.message) == \
        ("write.readonly", 14, 15, "elements.Use.assignments[0].ref", message)


def test_action_outputs_cannot_be_written() -> None:
    problem = one_error("""
        flow: Demo
        elements:
          Create:
            type: Action
            action: createThing
            next: Use
          Use:
            type: Assignment
            assignments:
              - {ref: Create.thingId, op: Assign, value: x}
        start: Create
    """, registry=ACTIONS)
    assert (problem.code, problem.message) == (
        "write.readonly", "cannot write to 'Create.thingId': Create is an Action element, and action "
                          "outputs are read-only (map the output to a variable under the element's "
                          "outputs: instead); only variables can be written")


# -- assignment operators per target type (spec 4.1) ---------------------------------------------

VALID_OPERATORS = [
    ("Text", "Assign", "x"), ("Text", "Add", "x"), ("Text", "Add", 3), ("Text", "Equals", "x"),
    ("Picklist", "Add", "x"), ("Multipicklist", "Add", "x"), ("Multipicklist", "AddItem", "b"),
    ("Number", "Add", 1), ("Number", "Subtract", 1.5), ("Number", "AssignCount", "{!texts}"),
    ("Number", "EqualsCount", "{!texts}"), ("Currency", "Add", 1), ("Currency", "Subtract", 1),
    ("Currency", "AssignCount", "{!texts}"),
    ("Date", "Assign", "2026-01-31"), ("Date", "Add", 2), ("Date", "Subtract", 1),
    ("Boolean", "Assign", False), ("Time", "Assign", "10:00:00"),
    ("Text[]", "Assign", ["a"]), ("Text[]", "Assign", "a"), ("Text[]", "Add", "a"),
    ("Text[]", "Add", "{!texts}"), ("Text[]", "AddAtStart", "a"), ("Text[]", "RemoveFirst", "a"),
    ("Text[]", "RemoveAll", "{!texts}"), ("Text[]", "RemoveAfterFirst", "a"),
    ("Text[]", "RemoveBeforeFirst", "a"), ("Text[]", "RemovePosition", 2),
    ("Text[]", "RemoveUncommon", "{!texts}"), ("Number[]", "Add", 1),
]


@pytest.mark.parametrize(("target", "op", "value"), VALID_OPERATORS)
def test_valid_assignment_operators(target: str, op: str, value: Any) -> None:
    kind = target.rstrip("[]")
    valid(assign_flow({"x": {"type": kind, "collection": target.endswith("[]")},
                       "texts": {"type": "Text", "collection": True}}, ("x", op, value)))


INVALID_OPERATORS = [
    ("Text", "Subtract", "x", "operator.type",
     "operator Subtract does not apply to 'x', which is Text (a Text takes Assign, Add)"),
    ("Text", "AddItem", "x", "operator.type",
     "operator AddItem does not apply to 'x', which is Text (a Text takes Assign, Add)"),
    ("Text", "AssignCount", "{!texts}", "operator.type",
     "operator AssignCount does not apply to 'x', which is Text (a Text takes Assign, Add)"),
    ("Boolean", "Add", True, "operator.type",
     "operator Add does not apply to 'x', which is Boolean (a Boolean takes Assign)"),
    ("Time", "Add", 1, "operator.type",
     "operator Add does not apply to 'x', which is Time (a Time takes Assign)"),
    # a Date/Time variable takes Equals only ("Flow Operators in Assignment Elements")
    ("DateTime", "Add", 0.5, "operator.type",
     "operator Add does not apply to 'x', which is DateTime (a DateTime takes Assign)"),
    ("DateTime", "Subtract", 1, "operator.type",
     "operator Subtract does not apply to 'x', which is DateTime (a DateTime takes Assign)"),
    ("Number", "AddItem", 1, "operator.type",
     "operator AddItem does not apply to 'x', which is Number (a Number takes Assign, Add, "
     "Subtract, AssignCount)"),
    ("Date", "AssignCount", "{!texts}", "operator.type",
     "operator AssignCount does not apply to 'x', which is Date (a Date takes Assign, Add, "
     "Subtract)"),
    ("Number", "RemoveAll", 1, "operator.collection",
     "RemoveAll is a collection operator, but 'x' is a single value (Number); use it on a "
     "collection variable"),
    ("Text", "AddAtStart", "a", "operator.collection",
     "AddAtStart is a collection operator, but 'x' is a single value (Text); use it on a "
     "collection variable"),
    ("Text", "RemovePosition", 1, "operator.collection",
     "RemovePosition is a collection operator, but 'x' is a single value (Text); use it on a "
     "collection variable"),
    ("Text[]", "Subtract", "a", "operator.type",
     "operator Subtract does not apply to 'x', which is collection of Text (a collection; it takes "
     "Assign, Add, AddAtStart, RemoveFirst, RemoveAll, RemoveAfterFirst, RemoveBeforeFirst, "
     "RemovePosition, RemoveUncommon)"),
    ("Text[]", "AddItem", "a", "operator.type", None),
    ("Number[]", "AssignCount", "{!texts}", "operator.type", None),
]


@pytest.mark.parametrize(("target", "op", "value", "code", "message"), INVALID_OPERATORS)
def test_invalid_assignment_operators(target: str, op: str, value: Any, code: str,
                                      message: str | None) -> None:
    kind = target.rstrip("[]")
    problem = one_error(assign_flow({"x": {"type": kind, "collection": target.endswith("[]")},
                                     "texts": {"type": "Text", "collection": True}}, ("x", op, value)))
    assert (problem.code, problem.path) == (code, "elements.Set_Values.assignments[0].op")
    if message:
        assert problem.message == message


@pytest.mark.parametrize(("target", "op", "value", "message"), [
    ("Number", "Add", "abc", "the text 'abc' does not fit Number (expected a number)"),
    ("Date", "Add", "2026-01-31", "the text '2026-01-31' does not fit Number (expected a number)"),
    ("Number[]", "Add", "abc", "the text 'abc' does not fit Number (expected a number) (expected "
                               "collection of Number or Number)"),
    ("Text[]", "RemovePosition", "first", "the text 'first' does not fit Number (expected a number)"),
    ("Number", "AssignCount", 3, "AssignCount counts the items of a collection: the value must be "
                                 "a merge field of a collection, e.g. \"{!lineItems}\"; found the "
                                 "number 3"),
    ("Number", "AssignCount", "{!n}", "AssignCount counts the items of a collection: the value must "
                                      "be a merge field of a collection, e.g. \"{!lineItems}\"; "
                                      "found {!n}, a single value (Number)"),
])
def test_operator_values_are_type_checked(target: str, op: str, value: Any, message: str) -> None:
    kind = target.rstrip("[]")
    problem = one_error(assign_flow({"x": {"type": kind, "collection": target.endswith("[]")},
                                     "n": {"type": "Number"}}, ("x", op, value)))
    assert (problem.code, problem.path, problem.message) == \
        ("value.type", "elements.Set_Values.assignments[0].value", message)


# -- decisions (spec 4.2) --------------------------------------------------------------------------

DECISION_VARS = {"t": {"type": "Text"}, "n": {"type": "Number"}, "c": {"type": "Currency"},
                 "d": {"type": "Date"}, "dt": {"type": "DateTime"}, "tm": {"type": "Time"},
                 "b": {"type": "Boolean"}, "texts": {"type": "Text", "collection": True},
                 "nums": {"type": "Number", "collection": True}}


@pytest.mark.parametrize(("left", "op", "right"), [
    ("t", "EqualTo", "abc"), ("t", "EqualTo", 3), ("n", "EqualTo", "{!c}"), ("n", "NotEqualTo", None),
    ("n", "GreaterThan", 1), ("c", "LessThan", "{!n}"), ("d", "GreaterThanOrEqualTo", "2026-01-31"),
    ("d", "LessThan", "{!dt}"), ("dt", "LessThanOrEqualTo", "{!d}"), ("tm", "GreaterThan", "09:00:00"),
    ("t", "StartsWith", "ab"), ("t", "EndsWith", "{!n}"), ("t", "Contains", "x"),
    ("texts", "Contains", "x"), ("nums", "Contains", 3), ("t", "IsNull", True), ("n", "IsBlank", False),
    ("Check", "HasError", False),   # a Decision may be named (Salesforce: Action, Decision, ...)
    ("texts", "IsEmpty", True), ("t", "WasSet", True), ("t", "In", ["a", "b"]), ("t", "In", "{!texts}"),
    ("n", "NotIn", "{!nums}"), ("b", "EqualTo", "{!$GlobalConstant.True}"),
    ("Check", "WasVisited", False),
])
def test_valid_conditions(left: str, op: str, right: Any) -> None:
    valid(decision_flow(DECISION_VARS, (left, op, right)))


@pytest.mark.parametrize(("left", "op", "right", "where", "code", "message"), [
    ("t", "GreaterThan", "a", "op", "operator.type",
     "GreaterThan compares numbers, dates and times; it does not apply to Text"),
    ("b", "LessThan", True, "op", "operator.type",
     "LessThan compares numbers, dates and times; it does not apply to Boolean"),
    ("texts", "GreaterThan", 1, "op", "operator.type",
     "GreaterThan compares numbers, dates and times; it does not apply to collection of Text"),
    ("n", "StartsWith", "1", "op", "operator.type", "StartsWith is for text; it does not apply to Number"),
    ("n", "Contains", 1, "op", "operator.type",
     "Contains is for text and collections; it does not apply to Number"),
    ("n", "IsEmpty", True, "op", "operator.type",
     "IsEmpty is a collection operator, but this is a single value (Number); use IsNull or IsBlank"),
    ("texts", "In", "{!texts}", "op", "operator.type",
     "In tests one value against a collection; the left side is a collection"),
    ("t", "In", "a", "right", "value.type",
     "the text 'a' does not fit collection of Text (expected a list, e.g. [a, b])"),
    ("n", "NotIn", "{!n}", "right", "value.type",
     "{!n} is Number, which does not fit collection of Number"),
    ("n", "EqualTo", "abc", "right", "value.type",
     "the text 'abc' does not fit Number (expected a number)"),
    ("d", "GreaterThan", "{!n}", "right", "value.type",
     "{!n} is Number, which does not fit Date or DateTime"),
    ("n", "GreaterThan", None, "right", "condition.right", "GreaterThan needs a right-hand value"),
    ("t", "IsNull", "maybe", "right", "value.type",
     "the text 'maybe' does not fit Boolean (expected true or false)"),
    ("t", "IsNull", None, "op", "condition.right", "IsNull needs right: true or right: false"),
    ("t", "WasVisited", True, "left", "condition.element",
     "WasVisited takes an element name, and 't' is not an element"),
    ("Chek", "HasError", True, "left", "condition.element",
     "HasError takes an element name, and 'Chek' is not an element; did you mean 'Check'?"),
    ("nope", "EqualTo", 1, "left", "reference.unknown",
     "unknown name 'nope' (no variable, constant, formula, template or element has that name)"),
])
def test_invalid_conditions(left: str, op: str, right: Any, where: str, code: str,
                            message: str) -> None:
    problem = one_error(decision_flow(DECISION_VARS, (left, op, right)))
    assert (problem.code, problem.path, problem.message) == \
        (code, f"elements.Check.rules[0].conditions[0].{where}", message)


@pytest.mark.parametrize(("logic", "count"), [
    ("and", 3), ("or", 3), ("AND", 2), ("1 AND (2 OR NOT 3)", 3), ("(1 OR 2) AND 3", 3),
    ("1 and 2 and 3", 3), ("NOT 1", 1), ("((1))", 1),
])
def test_valid_logic(logic: str, count: int) -> None:
    conditions = [("n", "GreaterThan", i) for i in range(count)]
    valid(decision_flow(DECISION_VARS, *conditions, logic=logic))


@pytest.mark.parametrize(("logic", "count", "message"), [
    ("1 AND 4", 3, "custom logic names condition 4, but there are only 3 (numbered from 1)"),
    ("0 OR 1", 1, "custom logic names condition 0, but there is only 1 (numbered from 1)"),
    ("1 AND 2", 3, "custom logic '1 AND 2' does not use condition 3"),
    ("1", 3, "custom logic '1' does not use conditions 2, 3"),
    ("1 OR 2 AND 3", 3, "custom logic '1 OR 2 AND 3' mixes AND and OR without parentheses; add "
                        "parentheses to say which goes first"),
    ("1 AND", 1, "custom logic '1 AND' ends too early"),
    ("1 AND (2 OR 3", 3, "missing ')' in custom logic '1 AND (2 OR 3'"),
    ("1 AND 2)", 2, "unexpected ')' in custom logic '1 AND 2)'"),
    ("1 & 2", 2, "unexpected '&' in custom logic '1 & 2' (expected condition numbers, AND, OR, NOT "
                 "and parentheses)"),
    ("custom", 2, "logic 'custom' needs the expression itself, e.g. logic: \"1 AND (2 OR 3)\""),
    ("", 1, "custom logic is empty"),
])
def test_invalid_logic(logic: str, count: int, message: str) -> None:
    conditions = [("n", "GreaterThan", i) for i in range(count)]
    problem = one_error(decision_flow(DECISION_VARS, *conditions, logic=logic))
    assert (problem.code, problem.path, problem.message) == \
        ("logic", "elements.Check.rules[0].logic", message)


def test_outcomes_are_readable_booleans() -> None:
    valid("""
        flow: Demo
        variables:
          n: Number
          big: Boolean
        elements:
          Check:
            type: Decision
            rules:
              - name: Is_Big
                conditions:
                  - {left: n, op: GreaterThan, right: 10}
            default: Note
          Note:
            type: Assignment
            assignments:
              - {ref: big, op: Assign, value: "{!Is_Big}"}
        start: Check
    """)


# -- loops (spec 4.3) ------------------------------------------------------------------------------

def test_loop_checks() -> None:
    found = errors("""
        flow: Demo
        variables:
          id: Text
          ids: {type: Text, collection: true}
          n: Number
        elements:
          Over_Single:
            type: Loop
            collection: id
            each: Over_Ids
          Over_Ids:
            type: Loop
            collection: ids
            item: n
            each: As_Merge_Field
          As_Merge_Field:
            type: Loop
            collection: "{!ids}"
            each: Unknown_Collection
          Unknown_Collection:
            type: Loop
            collection: idz
            item: ids
            each: Over_Single
        start: Over_Single
    """)
    assert [(p.code, p.line, p.message) for p in found] == [
        ("loop.collection", 9, "a Loop needs a collection, but 'id' is a single value (Text)"),
        ("loop.item", 14, "loop variable 'n' is Number, but the items of 'ids' are Text"),
        ("reference.syntax", 18, "loop collection: '{!ids}' is a merge field; here write the bare "
                                 "name 'ids' without {! }"),
        ("reference.unknown", 22, "loop collection: unknown name 'idz'; did you mean 'id'? (no "
                                  "variable, constant, formula, template or element has that name)"),
    ]


def test_the_current_item_of_a_loop_without_item() -> None:
    found = errors(parcel_flow("""
        variables:
          parcels: {type: Apex, apexClass: Acme.Parcel, collection: true}
          parcel: {type: Apex, apexClass: Acme.Parcel}
          total: Number
          code: Text
        elements:
          Each_Parcel:
            type: Loop
            collection: parcels
            each: Add
          Add:
            type: Assignment
            assignments:
              - {ref: total, op: Add, value: "{!Each_Parcel.weightKg}"}
              - {ref: code, op: Assign, value: "{!Each_Parcel.box.size}"}
              - {ref: code, op: Assign, value: "{!Each_Parcel.wieghtKg}"}
              - {ref: parcels, op: Add, value: "{!Each_Parcel}"}
            next: With_Item
          With_Item:
            type: Loop
            collection: parcels
            item: parcel
            each: Read
          Read:
            type: Assignment
            assignments:
              - {ref: code, op: Assign, value: "{!With_Item.trackingNumber}"}
            next: With_Item
        start: Each_Parcel
    """))
    assert [(p.line, p.message) for p in found] == [
        (30, "Apex Acme.Parcel has no field 'wieghtKg'; did you mean 'weightKg'?"),
        (41, "'With_Item' is a Loop element with item: parcel; its current item is read as "
             "{!parcel}, not through the loop's name"),
    ]


# -- connectors and start (spec 4) ----------------------------------------------------------------

def test_every_kind_of_connector_is_resolved() -> None:
    found = errors("""
        flow: Demo
        variables:
          ids: {type: Text, collection: true}
        elements:
          Loop_Ids:
            type: Loop
            collection: ids
            each: Chek
            after: Dne
          Check:
            type: Decision
            rules:
              - name: Has_Ids
                conditions:
                  - {left: ids, op: IsEmpty, right: false}
                next: loop_ids
            default: Nowhere
          Done:
            type: Action
            action: createThing
            next: Gone
            fault: Check2
        start: Loop_Ids
    """, registry=ACTIONS)
    assert [(p.line, p.column, p.path, p.message) for p in found] == [
        (8, 11, "elements.Loop_Ids.each", "connector 'each' of element Loop_Ids goes to 'Chek', "
                                          "which is not an element; did you mean 'Check'?"),
        (9, 12, "elements.Loop_Ids.after", "connector 'after' of element Loop_Ids goes to 'Dne', "
                                           "which is not an element; did you mean 'Done'?"),
        (16, 15, "elements.Check.rules[0].next",
         "the connector of outcome 'Has_Ids' of element Check goes to 'loop_ids', which is not an "
         "element; did you mean 'Loop_Ids'? (element names in connectors are case-sensitive)"),
        (17, 14, "elements.Check.default", "connector 'default' of element Check goes to "
                                           "'Nowhere', which is not an element"),
        (21, 11, "elements.Done.next", "connector 'next' of element Done goes to 'Gone', which is "
                                       "not an element; did you mean 'Done'?"),
        (22, 12, "elements.Done.fault", "connector 'fault' of element Done goes to 'Check2', which "
                                        "is not an element; did you mean 'Check'?"),
    ]


def test_start_is_required_with_elements_and_must_exist() -> None:
    without_start = """
        flow: Demo
        variables:
          x: Date
        elements:
          First:
            type: Assignment
            assignments:
              - {ref: x, op: Assign, value: null}
    """
    missing = one_error(without_start)
    assert (missing.code, missing.line, missing.path, missing.message) == (
        "start.missing", 4, "elements", "missing required key 'start': the name of the first "
                                        "element, e.g. start: First")
    unknown = one_error(textwrap.dedent(without_start) + "start: Frist\n")
    assert (unknown.code, unknown.line, unknown.column, unknown.message) == (
        "start.unknown", 9, 8, "start names 'Frist', which is not an element; did you mean 'First'?")
    assert valid("flow: Demo\n").model.start is None     # no elements, no start


def test_unreachable_elements_are_warnings() -> None:
    flow = valid("""
        flow: Demo
        variables:
          x: Number
        elements:
          First:
            type: Assignment
            assignments:
              - {ref: x, op: Add, value: 1}
          Orphan:
            type: Assignment
            assignments:
              - {ref: x, op: Add, value: 2}
            next: First
        start: First
    """)
    [warning] = flow.warnings
    assert (warning.severity, warning.code, warning.line, warning.path, warning.message) == (
        "warning", "graph.unreachable", 9, "elements.Orphan",
        "element 'Orphan' cannot be reached from start 'First': no connector leads to it")


def test_cycles_are_allowed() -> None:
    valid("""
        flow: Demo
        variables:
          x: Number
        elements:
          Again:
            type: Assignment
            assignments:
              - {ref: x, op: Add, value: 1}
            next: Check
          Check:
            type: Decision
            rules:
              - name: More
                conditions:
                  - {left: x, op: LessThan, right: 3}
                next: Again
        start: Again
    """)


# -- actions (spec 4.4) ----------------------------------------------------------------------------

ITEM = ApexClass("Acme.Item", {"code": ApexField(Text()), "quantity": ApexField(Number())})


def _handler(inputs: Any, context: Any) -> dict[str, Any]:
    return {}


CANCEL = Action(
    "cancelItems", "Cancel Items", "Acme", "Cancels items.", _handler,
    inputs=(Parameter("orderId", Text(), required=True), Parameter("quantity", Number(scale=0)),
            Parameter("item", Apex("Acme.Item")), Parameter("items", Apex("Acme.Item", collection=True))),
    outputs=(Parameter("canceled", Number()), Parameter("result", Apex("Acme.Item"))))
CREATE = Action("createThing", "Create Thing", "Acme", "Creates a thing.", _handler,
                outputs=(Parameter("thingId", Text()),))
REGISTRY = FakeRegistry([CANCEL, CREATE], [ITEM])


def ACTIONS() -> FakeRegistry:
    return REGISTRY


ACTION_FLOW = """
flow: Demo
variables:
  orderId: Text
  count: Number
  note: Text
  item: {type: Apex, apexClass: Acme.Item}
  Limit2: Boolean
constants:
  Limit: {type: Number, value: 3}
elements:
  Cancel:
    type: Action
    action: %s
    inputs:
%s
    outputs:
%s
    next: Use
  Use:
    type: Assignment
    assignments:
      - {ref: count, op: Assign, value: "{!Cancel.canceled}"}
      - {ref: note, op: Assign, value: "{!Cancel.result.code}"}
start: Cancel
"""


def action_flow(inputs: str = "      orderId: \"{!orderId}\"", outputs: str = "      {}",
                action: str = "cancelItems") -> str:
    return ACTION_FLOW % (action, inputs, outputs)


def test_a_valid_action_element() -> None:
    flow = valid(action_flow("      orderId: \"{!orderId}\"\n      quantity: 2.5\n"
                             "      item: {code: A, quantity: \"{!count}\"}\n"
                             "      items: [\"{!item}\", {code: B}]",
                             "      canceled: count\n      result: item"), registry=ACTIONS)
    assert flow.checked.actions == {"Cancel": CANCEL}


def test_an_unknown_action_has_a_did_you_mean() -> None:
    problem = one_error(action_flow(action="cancelItem"), registry=ACTIONS)
    assert (problem.code, problem.line, problem.column, problem.path, problem.message) == (
        "action.unknown", 13, 13, "elements.Cancel.action",
        "unknown action 'cancelItem'; did you mean 'cancelItems'? (see 'flowengine actions list')")


@pytest.mark.parametrize(("inputs", "code", "line", "path", "message"), [
    ("      orderId: x\n      quantiy: 1", "action.input", 16, "elements.Cancel.inputs.quantiy",
     "element Cancel: action cancelItems has no input 'quantiy'; did you mean 'quantity'? (its "
     "inputs: orderId, quantity, item, items)"),
    ("      quantity: 1", "action.required", 14, "elements.Cancel.inputs",
     "element Cancel does not set the required input 'orderId' (Text) of action cancelItems"),
    ("      orderId: x\n      quantity: many", "value.type", 16, "elements.Cancel.inputs.quantity",
     "element Cancel: input quantity of action cancelItems expects Number: the text 'many' does "
     "not fit Number (expected a number)"),
    ("      orderId: x\n      item: \"{!note}\"", "value.type", 16, "elements.Cancel.inputs.item",
     "element Cancel: input item of action cancelItems expects Apex Acme.Item: {!note} is Text, "
     "which does not fit Apex Acme.Item"),
    ("      orderId: x\n      items: \"{!item}\"", "value.type", 16, "elements.Cancel.inputs.items",
     "element Cancel: input items of action cancelItems expects collection of Apex Acme.Item: "
     "{!item} is Apex Acme.Item, which does not fit collection of Apex Acme.Item"),
    ("      orderId: x\n      item: {code: A, qty: 1}", "value.field", 16,
     "elements.Cancel.inputs.item.qty",
     "element Cancel: input item of action cancelItems expects Apex Acme.Item: Apex Acme.Item has "
     "no field 'qty' (its fields: code, quantity)"),
])
def test_action_inputs_are_checked(inputs: str, code: str, line: int, path: str,
                                   message: str) -> None:
    problem = one_error(action_flow(inputs), registry=ACTIONS)
    assert (problem.code, problem.line, problem.path, problem.message) == (code, line, path, message)


@pytest.mark.parametrize(("outputs", "code", "message"), [
    ("      cancelled: count", "action.output",
     "element Cancel: action cancelItems has no output 'cancelled'; did you mean 'canceled'? (its "
     "outputs: canceled, result)"),
    ("      result: count", "action.output-type",
     "element Cancel: output result of action cancelItems is Apex Acme.Item, which does not fit "
     "'count' (Number)"),
    ("      canceled: Limit", "write.readonly",
     "cannot write to 'Limit': 'Limit' is a constant, which is read-only; only variables can be "
     "written"),
    ("      canceled: cnt", "reference.unknown",
     "unknown name 'cnt'; did you mean 'count'? (no variable, constant, formula, template or "
     "element has that name)"),
])
def test_action_outputs_are_checked(outputs: str, code: str, message: str) -> None:
    problem = one_error(action_flow(outputs=outputs), registry=ACTIONS)
    assert (problem.code, problem.line, problem.message) == (code, 17, message)


def test_reading_action_outputs() -> None:
    found = errors(ACTION_FLOW.replace("{!Cancel.canceled}", "{!Cancel.cancelled}")
                   .replace("{!Cancel.result.code}", "{!Cancel}") % (
                       "cancelItems", "      orderId: x", "      {}"), registry=ACTIONS)
    assert [(p.line, p.message) for p in found] == [
        (22, "action cancelItems (element Cancel) has no output 'cancelled'; did you mean "
             "'canceled'? (outputs: canceled, result)"),
        (23, "'Cancel' is an Action element; name one of its outputs, e.g. Cancel.outputName"),
    ]


def test_references_to_an_unknown_actions_outputs_are_not_reported_twice() -> None:
    assert codes(errors(action_flow(action="nothing"), registry=ACTIONS)) == ["action.unknown"]


def test_a_registry_that_fails_to_load_is_reported() -> None:
    def broken() -> Any:
        raise RuntimeError("plug-in exploded")

    problem = one_error(action_flow(), registry=broken)
    assert (problem.code, problem.line, problem.message) == (
        "plugins", 1, "cannot load action plug-ins: plug-in exploded")


# -- formulas (spec 3.5) ---------------------------------------------------------------------------

@pytest.mark.parametrize(("declaration", "line", "column"), [
    ('{type: Number, expression: "{!n} + * 2"}', 5, 41),
    ("{type: Number, expression: '{!n} + * 2'}", 5, 41),
    ("{type: Number, expression: 1 + * 2}", 5, 37),
    ('{type: Number, expression: "\\"a\\" + * 2"}', 5, 42),
    ("\n    type: Number\n    expression: |\n      IF({!n} > 1,\n         {!n} + * 2, 0)", 9, 17),
    ("\n    type: Number\n    expression: >\n      IF({!n} > 1,\n         {!n} + * 2, 0)", 9, 17),
    ('\n    type: Number\n    expression: "IF({!n} > 1,\n      {!n} + * 2, 0)"', 8, 14),
])
def test_a_formula_syntax_error_points_at_its_line_and_column(declaration: str, line: int,
                                                              column: int) -> None:
    problem = one_error(f"flow: Demo\nvariables:\n  n: Number\nformulas:\n  f: {declaration}\n")
    assert (problem.code, problem.line, problem.column, problem.path) == \
        ("formula", line, column, "formulas.f.expression")
    assert problem.message == "formula f: expected a value after '+', found '*'"


def test_a_formula_of_the_wrong_type() -> None:
    found = errors("""
        flow: Demo
        variables:
          n: Number
        formulas:
          asText: {type: Text, expression: "{!n} + 1"}
          asBoolean: {type: Boolean, expression: "{!n} + 1"}
          asNumber: {type: Number, expression: "'a' & 'b'"}
          unknown: {type: Number, expression: "{!m} + 1"}
    """)
    assert [(p.line, p.message) for p in found] == [
        (6, "formula asBoolean: formula computes Number, but it is declared Boolean"),
        (7, "formula asNumber: formula computes Text, but it is declared Number"),
        (8, "formula unknown: unknown name 'm' (no variable, constant, formula, template or "
            "element has that name)"),
    ]
    # a type error points at the start of the expression; an unknown name at the name
    assert (found[0].column, found[1].column, found[2].column) == (43, 41, 40)


def test_a_formula_is_read_only_and_typed_by_its_declaration() -> None:
    problem = one_error("""
        flow: Demo
        variables:
          n: Number
          flag: Boolean
        formulas:
          doubled: {type: Number, expression: "{!n} * 2"}
        elements:
          Use:
            type: Assignment
            assignments:
              - {ref: flag, op: Assign, value: "{!doubled}"}
        start: Use
    """)
    assert problem.message == "{!doubled} is Number, which does not fit Boolean"


# -- the graph and the rest of the file layout --------------------------------------------------------

def test_the_graph_has_every_connector_with_its_kind() -> None:
    flow = valid("""
        flow: Demo
        variables:
          ids: {type: Text, collection: true}
        elements:
          Each_Id:
            type: Loop
            collection: ids
            each: Check
            after: Done
          Check:
            type: Decision
            rules:
              - name: default
                conditions:
                  - {left: Each_Id, op: EqualTo, right: x}
                next: Done
            default: Each_Id
          Done:
            type: Action
            action: createThing
            fault: Each_Id
        start: Each_Id
    """, registry=ACTIONS)
    edges = sorted((u, v, k, d["kind"]) for u, v, k, d in flow.checked.graph.edges(keys=True, data=True))
    assert edges == [
        ("$start", "Each_Id", "start", "start"),
        ("Check", "Done", "default", "outcome"),      # an outcome named `default` is an outcome
        ("Check", "Each_Id", "default", "default"),
        ("Done", "Each_Id", "fault", "fault"),
        ("Each_Id", "Check", "each", "each"),
        ("Each_Id", "Done", "after", "after"),
    ]


def test_plugins_are_not_loaded_for_a_flow_that_needs_none() -> None:
    def exploding() -> Any:
        raise AssertionError("the registry was loaded")

    valid(PARCEL_TYPES.join(["flow: Demo\n", "variables:\n  p: {type: Apex, apexClass: Acme.Box}\n"]),
          registry=exploding)


@pytest.mark.parametrize(("value", "expected"), [("56", Decimal("56")), ("62.0", Decimal("62.0"))])
def test_api_version(value: str, expected: Decimal) -> None:
    assert valid(f"flow: Demo\napiVersion: {value}\n").model.apiVersion == expected


def test_yaml_booleans_where_names_belong_get_a_hint() -> None:
    problem = one_error("""
        flow: Demo
        elements:
          Check:
            type: Decision
            rules:
              - name: Yes
                conditions:
                  - {left: $Flow.CurrentDate, op: IsNull, right: false}
        start: Check
    """)
    assert (problem.line, problem.path, problem.message) == (
        6, "elements.Check.rules[0].name",
        "expected text for 'name', found the Boolean true (YAML reads true/false, yes/no and "
        "on/off as Booleans: quote it to mean text)")


# -- robustness: a broken file is reported, never a crash ------------------------------------------

ODD_VALUES = [None, True, 0, -1, 2.5, "", "x", "{!x}", "{!", "{!$Flow.X}", [], [1, "a"], {}, {"a": 1},
              "Assign", "RemoveAll", "IsEmpty", "In", "Apex", "Record", "Loop", "Action", "custom",
              "1 OR (2", "__", "a.b.c", "$GlobalConstant.True", 10**30, "2026-01-31", [[[]]],
              {"type": "Number"}]


def _mutations(doc: Any, rnd: Any) -> Any:
    import copy

    doc = copy.deepcopy(doc)
    for _ in range(rnd.randint(1, 3)):
        paths: list[tuple[Any, ...]] = []
        todo: list[tuple[Any, tuple[Any, ...]]] = [(doc, ())]
        while todo:
            node, path = todo.pop()
            if path:
                paths.append(path)
            items = node.items() if isinstance(node, dict) else enumerate(node) \
                if isinstance(node, list) else ()
            todo += [(value, path + (key,)) for key, value in items]
        path = rnd.choice(paths)
        parent = doc
        for key in path[:-1]:
            parent = parent[key]
        if rnd.random() < 0.8 or not isinstance(parent, dict):
            parent[path[-1]] = copy.deepcopy(rnd.choice(ODD_VALUES))
        else:
            del parent[path[-1]]
    return doc


def test_mutated_flows_fail_with_problems_not_crashes() -> None:
    import random

    seeds = [yaml.safe_load(action_flow("      orderId: x\n      items: [{code: a}]",
                                        "      canceled: count"))]
    seeds += [yaml.safe_load(p.read_text(encoding="utf-8"))
              for p in sorted(FLOWS.glob("*.yaml")) if ".flowtest." not in p.name]
    rnd = random.Random(20260131)
    outcomes = {"valid": 0, "problems": 0}
    for _ in range(300):
        text = yaml.safe_dump(_mutations(rnd.choice(seeds), rnd), sort_keys=False)
        try:
            load_flow_text(text, "flow.yaml", registry=ACTIONS)
            outcomes["valid"] += 1
        except ValidationError as exc:
            assert exc.problems and all(p.line for p in exc.problems), str(exc)
            outcomes["problems"] += 1
    assert outcomes["problems"] > 200
