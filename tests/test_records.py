"""The record elements (Get, Create, Update, Delete and Roll Back Records, Collection Filter and
Sort) against a store of the tests' own objects, each flow run from YAML and from the
`.flow-meta.xml` it converts to; DML errors as faults with Salesforce's status codes."""
from __future__ import annotations

import textwrap
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from helpers import FakeRegistry, load_in_form

from flowengine.api import Flow, load_flow, load_flow_text
from flowengine.errors import ValidationError
from flowengine.org.schema import FieldDef, ObjectSchema
from flowengine.types import FlowType, Number, Text

CURRENCY = FlowType("Currency")
ACCOUNT = ObjectSchema("Account", "001", (
    FieldDef("Name", Text(), required=True),
    FieldDef("Industry", FlowType("Picklist"), picklist=("Retail", "Energy", "Media")),
    FieldDef("NumberOfEmployees", Number()),
    FieldDef("AnnualRevenue", CURRENCY),
    FieldDef("Active__c", FlowType("Boolean"), default=False),
))
INVOICE = ObjectSchema("Invoice__c", "a0A", (
    FieldDef("Name", Text(), required=True),
    FieldDef("Account__c", Text(), reference_to="Account", relationship_name="Account__r",
             on_delete="restrict"),
    FieldDef("Code__c", Text(), unique=True),
    FieldDef("Amount__c", CURRENCY),
    FieldDef("Status__c", FlowType("Picklist"), picklist=("Draft", "Sent", "Paid"),
             default="Draft"),
    FieldDef("Due__c", FlowType("Date")),
))
LINE = ObjectSchema("Invoice_Line__c", "a0B", (
    FieldDef("Invoice__c", Text(), required=True, reference_to="Invoice__c",
             relationship_name="Invoice__r", on_delete="cascade", sf_type="MasterDetail"),
    FieldDef("Quantity__c", Number(), required=True),
))
SCHEMAS = (ACCOUNT, INVOICE, LINE)
ACCOUNTS = [("Acme", "Retail", 120, True), ("Globex", "Energy", 40, False),
            ("Initech", None, 9, True), ("acme labs", "Media", None, False)]


def registry() -> FakeRegistry:
    return FakeRegistry(objects=SCHEMAS)


@pytest.fixture
def org(tmp_path: Path) -> Iterator[Any]:
    """A store with four accounts, an invoice of Acme (two lines) and one of Globex."""
    from flowengine.org import open_org

    store = open_org(tmp_path / "org.sqlite", SCHEMAS)
    with store.begin() as tx:
        ids = {name: tx.insert("Account", {"Name": name, "Industry": industry,
                                           "NumberOfEmployees": staff, "Active__c": active})
               for name, industry, staff, active in ACCOUNTS}
        acme = tx.insert("Invoice__c", {"Name": "INV-1", "Account__c": ids["Acme"],
                                        "Amount__c": Decimal("100.50"), "Status__c": "Sent",
                                        "Code__c": "C-1"})
        tx.insert("Invoice__c", {"Name": "INV-2", "Account__c": ids["Globex"],
                                 "Amount__c": Decimal(20)})
        tx.insert_many("Invoice_Line__c", [{"Invoice__c": acme, "Quantity__c": 1},
                                           {"Invoice__c": acme, "Quantity__c": 2}])
    yield store
    store.close()


@pytest.fixture(params=["yaml", "xml"])
def form(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def load(form: str, tmp_path: Path) -> Any:
    """`load(text)`: the flow of YAML `text`, or of the `.flow-meta.xml` it converts to."""
    def load_text(text: str) -> Flow:
        return load_in_form(form, text, tmp_path, registry)
    return load_text


def problems(text: str) -> list[tuple[str, str]]:
    """(code, message) of every error of a YAML flow."""
    with pytest.raises(ValidationError) as caught:
        load_flow_text(textwrap.dedent(text).lstrip("\n"), "flow.yaml", registry=registry)
    return [(p.code, p.message) for p in caught.value.problems if p.severity == "error"]


def names_of(records: Any) -> list[str]:
    return [r.fields["Name"] for r in records or []]


def rows(org: Any, object_name: str) -> list[dict[str, Any]]:
    with org.begin(write=False) as tx:
        return tx.query(object_name, order_by=("Name",) if object_name != "Invoice_Line__c"
                        else ("Id",))


GET = """
    flow: Find
    apiVersion: "62.0"
    variables:
      found: {{type: Record, object: Account, collection: true, output: true}}
      wanted: {{type: Text, collection: true, default: [Acme, Globex]}}
    elements:
      Get:
        type: GetRecords
        object: Account
        filters: [{filters}]
        logic: {logic}
        sortBy: Name
        store: found
    start: Get
"""


# -- Get Records ---------------------------------------------------------------------------------

@pytest.mark.parametrize("flt, expected", [
    ("{field: Name, op: EqualTo, value: acme}", ["Acme"]),             # text ignores case
    ("{field: Name, op: NotEqualTo, value: Acme}", ["acme labs", "Globex", "Initech"]),
    ("{field: NumberOfEmployees, op: GreaterThan, value: 40}", ["Acme"]),
    ("{field: NumberOfEmployees, op: GreaterThanOrEqualTo, value: 40}", ["Acme", "Globex"]),
    ("{field: NumberOfEmployees, op: LessThan, value: 40}", ["Initech"]),
    ("{field: NumberOfEmployees, op: LessThanOrEqualTo, value: 40}", ["Globex", "Initech"]),
    ("{field: Name, op: StartsWith, value: ACME}", ["Acme", "acme labs"]),
    ("{field: Name, op: EndsWith, value: ex}", ["Globex"]),
    ("{field: Name, op: Contains, value: nit}", ["Initech"]),
    ("{field: Industry, op: IsNull, value: true}", ["Initech"]),
    ("{field: Industry, op: IsNull, value: false}", ["Acme", "acme labs", "Globex"]),
    ("{field: Name, op: In, value: '{!wanted}'}", ["Acme", "Globex"]),
    ("{field: Name, op: NotIn, value: '{!wanted}'}", ["acme labs", "Initech"]),
    ("{field: Active__c, op: EqualTo, value: true}", ["Acme", "Initech"]),
    # as in SOQL, NotEqualTo is true of null, an ordering comparison with null is false, and
    # EqualTo null tests for null; NotIn is false of null
    ("{field: Industry, op: NotIn, value: [Retail]}", ["acme labs", "Globex"]),
    ("{field: NumberOfEmployees, op: NotEqualTo, value: 9}", ["Acme", "acme labs", "Globex"]),
    ("{field: NumberOfEmployees, op: LessThan, value: 1000}", ["Acme", "Globex", "Initech"]),
    ("{field: Industry, op: EqualTo}", ["Initech"]),
])
def test_every_filter_operator(load: Any, org: Any, flt: str, expected: list[str]) -> None:
    result = load(GET.format(filters=flt, logic="and")).run({}, org=org)
    assert result.ok, result.error
    assert sorted(names_of(result.outputs["found"]), key=str.lower) == \
        sorted(expected, key=str.lower)


@pytest.mark.parametrize("logic, expected", [
    ("and", ["Initech"]),
    ("or", ["Acme", "Globex", "Initech"]),
    ("'1 AND (2 OR 3)'", ["Acme", "Initech"]),
    ("'(1 OR 2) AND NOT 3'", ["acme labs"]),
])
def test_filter_logic(load: Any, org: Any, logic: str, expected: list[str]) -> None:
    filters = ("{field: NumberOfEmployees, op: LessThan, value: 200}, "
               "{field: Active__c, op: EqualTo, value: true}, "
               "{field: Name, op: StartsWith, value: I}")
    if logic.startswith("'(1"):
        filters = ("{field: Name, op: StartsWith, value: acme}, "
                   "{field: Industry, op: EqualTo, value: Media}, "
                   "{field: Active__c, op: EqualTo, value: true}")
    result = load(GET.format(filters=filters, logic=logic)).run({}, org=org)
    assert result.ok, result.error
    assert sorted(names_of(result.outputs["found"]), key=str.lower) == \
        sorted(expected, key=str.lower)


def test_sort_first_record_limit_and_fields(load: Any, org: Any) -> None:
    flow = load("""
        flow: Sorted
        apiVersion: "62.0"
        variables:
          top: {type: Record, object: Account, output: true}
          two: {type: Record, object: Account, collection: true, output: true}
          n: {type: Number, input: true, default: 2}
        elements:
          Biggest:
            type: GetRecords
            object: Account
            filters: [{field: NumberOfEmployees, op: IsNull, value: false}]
            sortBy: NumberOfEmployees
            sortOrder: Desc
            store: top
            fields: [Name]
            next: Smallest
          Smallest:
            type: GetRecords
            object: Account
            sortBy: NumberOfEmployees
            sortOrder: Asc
            limit: "{!n}"
            store: two
        start: Biggest
    """)
    result = flow.run({}, org=org)
    assert result.ok, result.error
    top = result.outputs["top"]
    assert set(top.fields) == {"Id", "Name"} and top.fields["Name"] == "Acme"
    # ascending puts nulls first, as SOQL does
    assert [r.fields["NumberOfEmployees"] for r in result.outputs["two"]] == [None, 9]
    assert result.limits.queries == 2 and result.limits.query_rows == 3


def test_limit_needs_api_60_and_a_whole_number(org: Any) -> None:
    base = """
        flow: Limited
        apiVersion: "{api}"
        elements:
          Get: {{type: GetRecords, object: Account, limit: {limit}, storeOutputAutomatically: true}}
        start: Get
    """
    assert problems(base.format(api="59.0", limit=2)) == [
        ("records.limit", "limit needs API version 60.0 or later; the flow's apiVersion is 59.0")]
    assert problems(base.format(api="60.0", limit=0))[0][1].startswith(
        "limit: the number of records to get must be a whole number from 1 to 50,000")
    flow = load_flow_text(textwrap.dedent(base.format(api="60.0", limit=3)), registry=registry)
    assert len(flow.run({}, org=org).variables["Get"]) == 3


def test_store_automatically_single_and_collection_and_nothing_found(load: Any, org: Any) -> None:
    flow = load("""
        flow: Automatic
        variables:
          name: {type: Text, output: true}
          count: {type: Number, output: true}
          none: {type: Boolean, output: true}
        elements:
          One:
            type: GetRecords
            object: Account
            filters: [{field: Name, op: EqualTo, value: Globex}]
            firstOnly: true
            storeOutputAutomatically: true
            next: All
          All:
            type: GetRecords
            object: Account
            storeOutputAutomatically: true
            next: Nothing
          Nothing:
            type: GetRecords
            object: Account
            filters: [{field: Name, op: EqualTo, value: Nobody}]
            storeOutputAutomatically: true
            next: Use
          Use:
            type: Assignment
            assignments:
              - {ref: name, op: Assign, value: "{!One.Name}"}
              - {ref: count, op: AssignCount, value: "{!All}"}
              - {ref: One.Industry, op: Assign, value: Media}
            next: Empty
          Empty:
            type: Decision
            rules: [{name: Is_Empty, conditions: [{left: Nothing, op: IsNull, right: true}]}]
        start: One
    """)
    result = flow.run({}, org=org)
    assert result.ok, result.error
    assert result.outputs["name"] == "Globex" and result.outputs["count"] == 4
    assert result.variables["Nothing"] is None and result.variables["Is_Empty"] is True
    assert result.variables["One"].fields["Industry"] == "Media"     # assignable, like a variable
    assert {r["Name"]: r["Industry"] for r in rows(org, "Account")}["Globex"] == "Energy"


@pytest.mark.parametrize("nulls, expected", [(True, None), (False, "kept")])
def test_outputs_and_nulls_if_none_found(load: Any, org: Any, nulls: bool, expected: Any) -> None:
    flow = load(f"""
        flow: Outputs
        variables:
          name: {{type: Text, output: true, default: kept}}
          staff: {{type: Number, output: true}}
          wanted: {{type: Text, input: true}}
        elements:
          Get:
            type: GetRecords
            object: Account
            filters: [{{field: Name, op: EqualTo, value: "{{!wanted}}"}}]
            outputs: {{Name: name, NumberOfEmployees: staff}}
            nullsIfNoneFound: {str(nulls).lower()}
        start: Get
    """)
    found = flow.run({"wanted": "Acme"}, org=org)
    assert (found.outputs["name"], found.outputs["staff"]) == ("Acme", 120)
    assert flow.run({"wanted": "Nobody"}, org=org).outputs["name"] == expected


def test_parent_fields_through_a_lookup(load: Any, org: Any) -> None:
    flow = load("""
        flow: Parents
        variables:
          industries: {type: Text, output: true, default: ""}
        elements:
          Get: {type: GetRecords, object: Invoice__c, sortBy: Name, storeOutputAutomatically: true, next: Each}
          Each: {type: Loop, collection: Get, each: Add, after: Orphan}
          Add:
            type: Assignment
            assignments: [{ref: industries, op: Add, value: "{!Each.Account__r.Industry};"}]
            next: Each
          Orphan: {type: CreateRecords, object: Invoice__c, values: {Name: INV-3}, storeOutputAutomatically: true}
        start: Get
    """)
    result = flow.run({}, org=org, rollback=True)
    assert result.ok, result.error
    assert result.outputs["industries"] == "Retail;Energy;"


# -- Create Records ------------------------------------------------------------------------------

def test_create_from_values_stores_the_new_id(load: Any, org: Any) -> None:
    flow = load("""
        flow: Create
        variables:
          id: {type: Text, output: true}
          matches: {type: Boolean, output: true}
          amount: {type: Currency, scale: 2, input: true}
        elements:
          New:
            type: CreateRecords
            object: Invoice__c
            values: {Name: INV-9, Amount__c: "{!amount}", Due__c: 2026-12-31}
            storeId: id
            storeOutputAutomatically: true
            next: Compare
          Compare:
            type: Decision
            rules: [{name: Same, conditions: [{left: New, op: EqualTo, right: "{!id}"}], next: Mark}]
          Mark: {type: Assignment, assignments: [{ref: matches, op: Assign, value: true}]}
        start: New
    """)
    result = flow.run({"amount": "12.5"}, org=org)
    assert result.ok, result.error
    assert result.outputs["matches"] is True and result.outputs["id"].startswith("a0A")
    created = {r["Name"]: r for r in rows(org, "Invoice__c")}["INV-9"]
    assert created["Id"] == result.outputs["id"]
    assert (created["Amount__c"], str(created["Due__c"]), created["Status__c"]) == \
        (Decimal("12.5"), "2026-12-31", "Draft")
    assert result.limits.dml_statements == 1 and result.limits.dml_rows == 1


def test_create_from_a_collection_sets_every_id(load: Any, org: Any) -> None:
    flow = load("""
        flow: Many
        variables:
          invoices: {type: Record, object: Invoice__c, collection: true, output: true}
          one: {type: Record, object: Invoice__c}
          n: {type: Number, default: 0}
        elements:
          Build:
            type: Assignment
            assignments:
              - {ref: one.Name, op: Assign, value: "INV-{!n}"}
              - {ref: invoices, op: Add, value: "{!one}"}
              - {ref: n, op: Add, value: 1}
            next: Enough
          Enough:
            type: Decision
            rules: [{name: More, conditions: [{left: n, op: LessThan, right: 3}], next: Build}]
            default: Save
          Save: {type: CreateRecords, records: invoices}
        start: Build
    """)
    result = flow.run({}, org=org)
    assert result.ok, result.error
    ids = [r.fields["Id"] for r in result.outputs["invoices"]]
    assert len(set(ids)) == 3 and all(i.startswith("a0A") for i in ids)
    assert {r["Name"] for r in rows(org, "Invoice__c")} >= {"INV-0", "INV-1", "INV-2"}
    assert result.limits.dml_statements == 1 and result.limits.dml_rows == 3


CREATE_FAULT = """
    flow: Bad_Create
    variables:
      invoice: {{type: Record, object: Invoice__c}}
      message: {{type: Text, output: true}}
    elements:
      Before: {{type: CreateRecords, object: Account, values: {{Name: Before}}, next: Fill}}
      Fill:
        type: Assignment
        assignments: [{assignments}]
        next: Save
      Save: {{type: CreateRecords, records: invoice{fault}}}
      Note: {{type: Assignment, assignments: [{{ref: message, op: Assign, value: "{{!$Flow.FaultMessage}}"}}]}}
    start: Before
"""


@pytest.mark.parametrize("assignments, code, detail", [
    ("{ref: invoice.Amount__c, op: Assign, value: 5}", "REQUIRED_FIELD_MISSING", "Name"),
    ("{ref: invoice.Name, op: Assign, value: X}, {ref: invoice.Status__c, op: Assign, value: Lost}",
     "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST", "Lost"),
    ("{ref: invoice.Name, op: Assign, value: X}, "
     "{ref: invoice.Account__c, op: Assign, value: 001000000000099AAA}",
     "INVALID_CROSS_REFERENCE_KEY", "001000000000099AAA"),
    ("{ref: invoice.Name, op: Assign, value: X}, "
     "{ref: invoice.Id, op: Assign, value: a0A000000000009AAA}",
     "INVALID_FIELD_FOR_INSERT_UPDATE", "Id"),
    ("{ref: invoice.Name, op: Assign, value: X}, "               # an Id of another object
     "{ref: invoice.Account__c, op: Assign, value: a0BXX00000000992AA}",
     "FIELD_INTEGRITY_EXCEPTION", "Account__c"),
    ("{ref: invoice.Name, op: Assign, value: X}, {ref: invoice.Code__c, op: Assign, value: C-1}",
     "DUPLICATE_VALUE", "C-1"),
])
def test_create_errors_are_faults_with_salesforce_codes(load: Any, org: Any, assignments: str,
                                                        code: str, detail: str) -> None:
    handled = load(CREATE_FAULT.format(assignments=assignments, fault=", fault: Note"))
    result = handled.run({}, org=org)
    assert result.ok, result.error
    message = result.outputs["message"]
    assert message.startswith(f"This error occurred when the flow tried to create records: {code}: ")
    assert detail in message and message.endswith(
        "You can look up ExceptionCode values in the SOAP API Developer Guide.")
    assert "Before" in {r["Name"] for r in rows(org, "Account")}     # the fault path committed

    unhandled = load(CREATE_FAULT.format(assignments=assignments, fault="")
                     .replace("Name: Before", "Name: Lost"))
    failed = unhandled.run({}, org=org)
    assert failed.status == "Failed" and failed.error.element == "Save"
    assert failed.error.message.startswith(f"Save (CreateRecords): This error occurred when the "
                                           f"flow tried to create records: {code}: ")
    assert "Lost" not in {r["Name"] for r in rows(org, "Account")}   # everything rolled back


def test_create_checks_fields_values_and_required_fields() -> None:
    found = problems("""
        flow: Checked
        variables: {n: {type: Number}}
        elements:
          New:
            type: CreateRecords
            object: Invoice__c
            values: {Amount__c: "{!n}", Stauts__c: Sent, Due__c: soon, CreatedDate: 2026-01-01}
            storeId: n
        start: New
    """)
    assert sorted(found) == sorted([
        ("records.field", "object Invoice__c has no field 'Stauts__c'; did you mean 'Status__c'?"),
        ("value.type", "Invoice__c.Due__c (Date): the text 'soon' does not fit Date (expected "
                       "YYYY-MM-DD)"),
        ("records.read-only", "Invoice__c.CreatedDate cannot be written: the platform sets it"),
        ("records.required", "Invoice__c.Name is required: creating a record without it fails "
                             "with REQUIRED_FIELD_MISSING"),
        ("records.store", "storeId gets the new record's Id (Text), but 'n' is Number"),
    ])


def test_unknown_objects_and_fields_have_hints() -> None:
    found = problems("""
        flow: Unknown
        elements:
          Get:
            type: GetRecords
            object: Acount
            storeOutputAutomatically: true
            next: Find
          Find:
            type: GetRecords
            object: Account
            filters: [{field: name, op: EqualTo, value: x}, {field: NumberOfEmployees, op: GreaterThan, value: many},
                      {field: Active__c, op: Contains, value: x}]
            storeOutputAutomatically: true
        start: Get
    """)
    assert found[0][0] == "records.object" and found[0][1].startswith(
        "unknown object 'Acount'; did you mean 'Account'?")
    assert found[1:] == [
        ("records.field", "object Account has no field 'name'; did you mean 'Name'?"),
        ("value.type", "filter 2 on Account.NumberOfEmployees (Number): the text 'many' does "
                       "not fit Number (expected a number)"),
        ("records.filter-op", "filter 3: Contains compares text, but Account.Active__c is Boolean"),
    ]


# -- Update and Delete Records -------------------------------------------------------------------

def test_update_a_record_variable_and_a_collection(load: Any, org: Any) -> None:
    flow = load("""
        flow: Update
        variables:
          account: {type: Record, object: Account}
        elements:
          Get: {type: GetRecords, object: Account, sortBy: Name, storeOutputAutomatically: true, next: Each}
          Each: {type: Loop, collection: Get, item: account, each: Grow, after: Save_All}
          Grow:
            type: Assignment
            assignments: [{ref: account.NumberOfEmployees, op: Assign, value: 1}]
            next: Each
          Save_All: {type: UpdateRecords, records: Get, next: One}
          One: {type: GetRecords, object: Account, filters: [{field: Name, op: EqualTo, value: Acme}],
                firstOnly: true, storeOutputAutomatically: true, next: Rename}
          Rename: {type: Assignment, assignments: [{ref: One.Name, op: Assign, value: ACME Corp}], next: Save_One}
          Save_One: {type: UpdateRecords, records: One}
        start: Get
    """)
    result = flow.run({}, org=org)
    assert result.ok, result.error
    # the loop changed copies of the items; the collection itself was saved unchanged
    staff = {r["Name"]: r["NumberOfEmployees"] for r in rows(org, "Account")}
    assert staff == {"ACME Corp": 120, "acme labs": None, "Globex": 40, "Initech": 9}
    assert result.limits.dml_statements == 2 and result.limits.dml_rows == 5


def test_update_by_filters_and_a_variable_with_filters(load: Any, org: Any) -> None:
    flow = load("""
        flow: Update_Found
        variables:
          acme: {type: Record, object: Account, collection: true}
        elements:
          Close:
            type: UpdateRecords
            object: Invoice__c
            filters: [{field: Status__c, op: EqualTo, value: Draft}]
            values: {Status__c: Paid, Amount__c: 0}
            next: Get
          Get: {type: GetRecords, object: Account, store: acme, next: Activate}
          Activate:
            type: UpdateRecords
            records: acme
            filters: [{field: Name, op: StartsWith, value: acme}]
            logic: and
            values: {Active__c: true}
            next: Nobody
          Nobody:
            type: UpdateRecords
            object: Account
            filters: [{field: Name, op: EqualTo, value: Nobody}]
            values: {Active__c: false}
        start: Close
    """)
    result = flow.run({}, org=org)
    assert result.ok, result.error
    invoices = {r["Name"]: (r["Status__c"], r["Amount__c"]) for r in rows(org, "Invoice__c")}
    assert invoices == {"INV-1": ("Sent", Decimal("100.50")), "INV-2": ("Paid", 0)}
    active = {r["Name"]: r["Active__c"] for r in rows(org, "Account")}
    assert active == {"Acme": True, "acme labs": True, "Globex": False, "Initech": True}
    assert result.limits.queries == 4 and result.limits.dml_statements == 2


def test_update_and_delete_errors(load: Any, org: Any) -> None:
    flow = load("""
        flow: Twice
        variables:
          message: {type: Text, output: true}
          ghost: {type: Record, object: Account}
          failed: {type: Boolean, output: true}
        elements:
          Get: {type: GetRecords, object: Account, filters: [{field: Name, op: EqualTo, value: Initech}],
                firstOnly: true, storeOutputAutomatically: true, next: Remove}
          Remove: {type: DeleteRecords, records: Get, next: Again}
          Again: {type: UpdateRecords, records: Get, fault: Note}
          Note:
            type: Assignment
            assignments: [{ref: message, op: Assign, value: "{!$Flow.FaultMessage}"}]
            next: No_Id
          No_Id: {type: UpdateRecords, records: ghost, values: {Name: x}, fault: Check}
          Check:
            type: Decision
            rules: [{name: Has_Error, conditions: [{left: No_Id, op: HasError, right: true}], next: Flag}]
          Flag: {type: Assignment, assignments: [{ref: failed, op: Assign, value: true}]}
        start: Get
    """)
    result = flow.run({}, org=org)
    assert result.ok, result.error
    assert result.outputs["message"].startswith(
        "This error occurred when the flow tried to update records: ENTITY_IS_DELETED: ")
    assert result.outputs["failed"] is True
    assert "Initech" not in {r["Name"] for r in rows(org, "Account")}


def test_a_restricting_lookup_refuses_the_delete(load: Any, org: Any) -> None:
    flow = load("""
        flow: Delete_Acme
        variables: {message: {type: Text, output: true}}
        elements:
          Remove:
            type: DeleteRecords
            object: Account
            filters: [{field: Name, op: StartsWith, value: acme}]
            fault: Note
          Note: {type: Assignment, assignments: [{ref: message, op: Assign, value: "{!$Flow.FaultMessage}"}]}
        start: Remove
    """)
    result = flow.run({}, org=org)
    assert result.outputs["message"].startswith(
        "This error occurred when the flow tried to delete records: DELETE_FAILED: ")
    assert {"Acme", "acme labs"} <= {r["Name"] for r in rows(org, "Account")}   # all or nothing


def test_delete_cascades_to_master_detail_children(load: Any, org: Any) -> None:
    flow = load("""
        flow: Delete
        elements:
          Remove:
            type: DeleteRecords
            object: Invoice__c
            filters: [{field: Status__c, op: EqualTo, value: Sent}]
        start: Remove
    """)
    result = flow.run({}, org=org)
    assert result.ok, result.error
    assert [r["Name"] for r in rows(org, "Invoice__c")] == ["INV-2"]
    assert rows(org, "Invoice_Line__c") == []
    assert result.limits.queries == 1 and result.limits.dml_statements == 1


# -- Roll Back Records ---------------------------------------------------------------------------

def test_roll_back_undoes_every_change_so_far(load: Any, org: Any) -> None:
    flow = load("""
        flow: Undo
        variables:
          id: {type: Text, output: true}
        elements:
          First: {type: CreateRecords, object: Account, values: {Name: First}, storeId: id, next: Remove}
          Remove: {type: DeleteRecords, object: Account, filters: [{field: Name, op: EqualTo, value: Initech}], next: Undo}
          Undo: {type: RollbackRecords, next: Second}
          Second: {type: CreateRecords, object: Account, values: {Name: Second}}
        start: First
    """)
    result = flow.run({}, org=org, trace=True)
    assert result.ok, result.error
    names = {r["Name"] for r in rows(org, "Account")}
    assert "Second" in names and "First" not in names and "Initech" in names
    assert result.outputs["id"].startswith("001")          # the variable keeps the Id
    assert result.limits.dml_statements == 4
    undo = next(e for e in result.trace if e["element"] == "Undo")
    assert undo["rolledBack"] is True


# -- Collection Filter and Sort ------------------------------------------------------------------

def test_collection_filter_by_conditions_and_by_formula(load: Any, org: Any) -> None:
    flow = load("""
        flow: Filters
        variables:
          currentItem_Big: {type: Record, object: Account}
          currentItem_Named: {type: Record, object: Account}
          big_count: {type: Number, output: true}
          named_count: {type: Number, output: true}
        elements:
          Get: {type: GetRecords, object: Account, storeOutputAutomatically: true, next: Big}
          Big:
            type: CollectionFilter
            collection: Get
            item: currentItem_Big
            logic: 1 OR 2
            conditions:
              - {left: currentItem_Big.NumberOfEmployees, op: GreaterThan, right: 100}
              - {left: currentItem_Big.Industry, op: EqualTo, right: Media}
            next: Named
          Named:
            type: CollectionFilter
            collection: Get
            item: currentItem_Named
            formula: "BEGINS(LOWER({!currentItem_Named.Name}), 'acme')"
            next: Count
          Count:
            type: Assignment
            assignments:
              - {ref: big_count, op: AssignCount, value: "{!Big}"}
              - {ref: named_count, op: AssignCount, value: "{!Named}"}
        start: Get
    """)
    result = flow.run({}, org=org)
    assert result.ok, result.error
    assert sorted(names_of(result.variables["Big"])) == ["Acme", "acme labs"]
    assert (result.outputs["big_count"], result.outputs["named_count"]) == (2, 2)


def test_collection_sort_by_fields_nulls_and_limit(load: Any, org: Any) -> None:
    flow = load("""
        flow: Sorts
        variables:
          accounts: {type: Record, object: Account, collection: true, output: true}
          texts: {type: Text, collection: true, default: [b, "", C, a], output: true}
        elements:
          Get: {type: GetRecords, object: Account, store: accounts, next: By_Industry}
          By_Industry:
            type: CollectionSort
            collection: accounts
            sort:
              - {field: Industry, order: Desc, nullsFirst: true}
              - {field: Name, order: Asc}
            limit: 3
            next: Words
          Words: {type: CollectionSort, collection: texts, sort: [{order: Asc}]}
        start: Get
    """)
    result = flow.run({}, org=org)
    assert result.ok, result.error
    assert names_of(result.outputs["accounts"]) == ["Initech", "Acme", "acme labs"]
    assert result.outputs["texts"] == ["a", "b", "C", ""]


def test_collection_elements_check_their_items() -> None:
    found = problems("""
        flow: Bad
        variables:
          accounts: {type: Record, object: Account, collection: true}
          currentItem_F: {type: Record, object: Invoice__c}
          one: {type: Record, object: Account}
        elements:
          F:
            type: CollectionFilter
            collection: accounts
            item: currentItem_F
            conditions: [{left: currentItem_F.Name, op: EqualTo, right: x}]
            next: S
          S: {type: CollectionSort, collection: accounts, sort: [{field: Colour}], next: T}
          T: {type: CollectionSort, collection: one}
        start: F
    """)
    assert found == [
        ("collection.item", "the item variable 'currentItem_F' is Record Invoice__c, but the items "
                            "of 'accounts' are Record Account"),
        ("collection.sort", "Record Account has no field 'Colour' (its fields: Id, Name, "
                            "Industry, NumberOfEmployees, AnnualRevenue, Active__c, CreatedDate, "
                            "CreatedById, LastModifiedDate, LastModifiedById, SystemModstamp, "
                            "IsDeleted)"),
        ("collection.type", "'one' is a single value (Record Account), not a collection"),
    ]


# -- without an org ------------------------------------------------------------------------------

def test_record_elements_need_an_org() -> None:
    flow = load_flow_text(textwrap.dedent("""
        flow: No_Org
        variables: {message: {type: Text, output: true}}
        elements:
          Get: {type: GetRecords, object: Account, storeOutputAutomatically: true, fault: Note}
          Note: {type: Assignment, assignments: [{ref: message, op: Assign, value: "{!$Flow.FaultMessage}"}]}
        start: Get
    """), registry=registry)
    assert flow.run({}).outputs["message"] == (
        "This error occurred when the flow tried to look up records: ORG_REQUIRED: GetRecords "
        "needs an org store to look up Account records (run it with --org). You can look up "
        "ExceptionCode values in the SOAP API Developer Guide.")


# -- Salesforce XML ------------------------------------------------------------------------------

SALESFORCE_XML = """<?xml version="1.0" encoding="UTF-8"?>
<Flow xmlns="http://soap.sforce.com/2006/04/metadata">
    <apiVersion>62.0</apiVersion>
    <assignments>
        <name>Copy</name>
        <label>Copy</label>
        <locationX>0</locationX>
        <locationY>0</locationY>
        <assignmentItems>
            <assignToReference>accounts</assignToReference>
            <operator>Assign</operator>
            <value>
                <elementReference>Active_Only</elementReference>
            </value>
        </assignmentItems>
        <connector>
            <targetReference>By_Staff</targetReference>
        </connector>
    </assignments>
    <collectionProcessors>
        <name>Active_Only</name>
        <label>Active Only</label>
        <locationX>0</locationX>
        <locationY>0</locationY>
        <assignNextValueToReference>currentItem_Active_Only</assignNextValueToReference>
        <collectionProcessorType>FilterCollectionProcessor</collectionProcessorType>
        <collectionReference>Get_Accounts</collectionReference>
        <conditionLogic>formula_evaluates_to_true</conditionLogic>
        <connector>
            <targetReference>Copy</targetReference>
        </connector>
        <formula>{!currentItem_Active_Only.Active__c}</formula>
    </collectionProcessors>
    <collectionProcessors>
        <name>By_Staff</name>
        <label>By Staff</label>
        <locationX>0</locationX>
        <locationY>0</locationY>
        <collectionProcessorType>SortCollectionProcessor</collectionProcessorType>
        <collectionReference>accounts</collectionReference>
        <connector>
            <targetReference>Each_Account</targetReference>
        </connector>
        <limit>1</limit>
        <sortOptions>
            <doesPutEmptyStringAndNullFirst>false</doesPutEmptyStringAndNullFirst>
            <sortField>NumberOfEmployees</sortField>
            <sortOrder>Desc</sortOrder>
        </sortOptions>
    </collectionProcessors>
    <label>Invoice Biggest</label>
    <loops>
        <name>Each_Account</name>
        <label>Each Account</label>
        <locationX>0</locationX>
        <locationY>0</locationY>
        <collectionReference>accounts</collectionReference>
        <iterationOrder>Asc</iterationOrder>
        <nextValueConnector>
            <targetReference>New_Invoice</targetReference>
        </nextValueConnector>
        <noMoreValuesConnector>
            <targetReference>Mark_Sent</targetReference>
        </noMoreValuesConnector>
    </loops>
    <processMetadataValues>
        <name>CanvasMode</name>
        <value>
            <stringValue>AUTO_LAYOUT_CANVAS</stringValue>
        </value>
    </processMetadataValues>
    <processType>AutoLaunchedFlow</processType>
    <recordCreates>
        <name>New_Invoice</name>
        <label>New Invoice</label>
        <locationX>0</locationX>
        <locationY>0</locationY>
        <assignRecordIdToReference>invoiceId</assignRecordIdToReference>
        <connector>
            <targetReference>Each_Account</targetReference>
        </connector>
        <inputAssignments>
            <field>Account__c</field>
            <value>
                <elementReference>Each_Account.Id</elementReference>
            </value>
        </inputAssignments>
        <inputAssignments>
            <field>Name</field>
            <value>
                <stringValue>INV-BIG</stringValue>
            </value>
        </inputAssignments>
        <object>Invoice__c</object>
    </recordCreates>
    <recordLookups>
        <name>Get_Accounts</name>
        <label>Get Accounts</label>
        <locationX>0</locationX>
        <locationY>0</locationY>
        <assignNullValuesIfNoRecordsFound>false</assignNullValuesIfNoRecordsFound>
        <connector>
            <targetReference>Active_Only</targetReference>
        </connector>
        <filterLogic>and</filterLogic>
        <filters>
            <field>NumberOfEmployees</field>
            <operator>GreaterThan</operator>
            <value>
                <numberValue>0.0</numberValue>
            </value>
        </filters>
        <getFirstRecordOnly>false</getFirstRecordOnly>
        <object>Account</object>
        <queriedFields>Id</queriedFields>
        <queriedFields>Name</queriedFields>
        <queriedFields>NumberOfEmployees</queriedFields>
        <queriedFields>Active__c</queriedFields>
        <storeOutputAutomatically>true</storeOutputAutomatically>
    </recordLookups>
    <recordUpdates>
        <name>Mark_Sent</name>
        <label>Mark Sent</label>
        <locationX>0</locationX>
        <locationY>0</locationY>
        <filterLogic>and</filterLogic>
        <filters>
            <field>Id</field>
            <operator>EqualTo</operator>
            <value>
                <elementReference>invoiceId</elementReference>
            </value>
        </filters>
        <inputAssignments>
            <field>Status__c</field>
            <value>
                <stringValue>Sent</stringValue>
            </value>
        </inputAssignments>
        <object>Invoice__c</object>
    </recordUpdates>
    <start>
        <locationX>0</locationX>
        <locationY>0</locationY>
        <connector>
            <targetReference>Get_Accounts</targetReference>
        </connector>
    </start>
    <status>Active</status>
    <variables>
        <name>accounts</name>
        <dataType>SObject</dataType>
        <isCollection>true</isCollection>
        <isInput>false</isInput>
        <isOutput>false</isOutput>
        <objectType>Account</objectType>
    </variables>
    <variables>
        <name>currentItem_Active_Only</name>
        <dataType>SObject</dataType>
        <isCollection>false</isCollection>
        <isInput>false</isInput>
        <isOutput>false</isOutput>
        <objectType>Account</objectType>
    </variables>
    <variables>
        <name>invoiceId</name>
        <dataType>String</dataType>
        <isCollection>false</isCollection>
        <isInput>false</isInput>
        <isOutput>true</isOutput>
    </variables>
</Flow>
"""


def test_a_salesforce_flow_with_record_elements_runs_and_round_trips(tmp_path: Path,
                                                                     org: Any) -> None:
    from flowengine.formats.sfxml import to_xml_text
    from flowengine.formats.xmltree import canonical, parse_xml

    path = tmp_path / "Invoice_Biggest.flow-meta.xml"
    path.write_text(SALESFORCE_XML, encoding="utf-8")
    flow = load_flow(path, registry=registry)
    kinds = {name: e.type for name, e in flow.model.elements.items()}
    assert kinds == {"Copy": "Assignment", "Active_Only": "CollectionFilter",
                     "By_Staff": "CollectionSort", "Each_Account": "Loop",
                     "New_Invoice": "CreateRecords", "Get_Accounts": "GetRecords",
                     "Mark_Sent": "UpdateRecords"}
    assert canonical(parse_xml(to_xml_text(flow.model))) == canonical(parse_xml(SALESFORCE_XML))
    result = flow.run({}, org=org)
    assert result.ok, result.error
    created = {r["Name"]: r for r in rows(org, "Invoice__c")}["INV-BIG"]
    assert created["Id"] == result.outputs["invoiceId"] and created["Status__c"] == "Sent"
    with org.begin(write=False) as tx:
        assert tx.get("Account", created["Account__c"])["Name"] == "Acme"   # most staff, active


def test_other_collection_processors_are_kept_not_run(tmp_path: Path) -> None:
    from flowengine.errors import UnsupportedError

    text = SALESFORCE_XML.replace("SortCollectionProcessor", "RecommendationMapCollectionProcessor")
    path = tmp_path / "Invoice_Biggest.flow-meta.xml"
    path.write_text(text, encoding="utf-8")
    flow = load_flow(path, registry=registry)
    assert flow.model.elements["By_Staff"].type == "CollectionProcessor"
    assert [p.message for p in flow.unsupported] == [
        "Collection Processor 'By_Staff' is not supported yet: flowengine reads, draws and "
        "converts it, but cannot run it"]
    with pytest.raises(UnsupportedError):
        flow.run({})
