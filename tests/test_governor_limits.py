"""Governor limits, per transaction, each at exactly the limit and one past it, through YAML and
through `.flow-meta.xml`: 100 queries, 50,000 rows retrieved, 150 DML statements, 10,000 rows
written. Past a limit the interview fails whatever fault connectors say, and rolls back."""
from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from helpers import FakeRegistry, load_in_form

from flowengine.org.schema import FieldDef, ObjectSchema
from flowengine.types import Number, Text

ITEM = ObjectSchema("Item__c", "a0I", (FieldDef("Name", Text()), FieldDef("Size__c", Number())))
ROWS = 5_000


def registry() -> FakeRegistry:
    return FakeRegistry(objects=(ITEM,))


@pytest.fixture(scope="module")
def seeded(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A store file with 5,000 items (copied for each test that writes)."""
    from flowengine.org import open_org

    path = tmp_path_factory.mktemp("limits") / "org.sqlite"
    with open_org(path, (ITEM,)) as store, store.begin() as tx:
        tx.insert_many("Item__c", [{"Name": f"I{i}", "Size__c": i} for i in range(ROWS)])
    return path


@pytest.fixture
def org(seeded: Path, tmp_path: Path) -> Iterator[Any]:
    import shutil

    from flowengine.org import open_org

    path = tmp_path / "org.sqlite"
    shutil.copy(seeded, path)
    with open_org(path, (ITEM,)) as store:
        yield store


@pytest.fixture(params=["yaml", "xml"])
def form(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def count(org: Any) -> int:
    with org.begin(write=False) as tx:
        return len(tx.select("Item__c", fields=["Id"]))


# Marks the store (a record named Before), then runs `body` `times` times in a loop; the body's
# element has a fault connector, which a governor limit ignores.
LOOPED = """
    flow: Looped
    variables:
      times: {{type: Number, input: true}}
      n: {{type: Number, default: 0}}
      was_caught: {{type: Boolean, output: true}}
    elements:
      Before: {{type: CreateRecords, object: Item__c, values: {{Name: Before}}, next: Again}}
      Again:
        type: Decision
        rules: [{{name: More, conditions: [{{left: n, op: LessThan, right: "{{!times}}"}}], next: Body}}]
      Body: {body}
      Count: {{type: Assignment, assignments: [{{ref: n, op: Add, value: 1}}], next: Again}}
      Caught: {{type: Assignment, assignments: [{{ref: was_caught, op: Assign, value: true}}]}}
    start: Before
"""
GET_ALL = ("{type: GetRecords, object: Item__c, filters: [{field: Name, op: StartsWith, value: I}], "
           "storeOutputAutomatically: true, next: Count, fault: Caught}")
GET_ONE = ("{type: GetRecords, object: Item__c, filters: [{field: Size__c, op: EqualTo, "
           "value: 7}], firstOnly: true, storeOutputAutomatically: true, next: Count, fault: Caught}")
CREATE = "{type: CreateRecords, object: Item__c, values: {Name: x}, next: Count, fault: Caught}"


def run_looped(form: str, tmp_path: Path, org: Any, body: str, times: int) -> Any:
    flow = load_in_form(form, LOOPED.format(body=body), tmp_path, registry)
    return flow.run({"times": times}, org=org)


def assert_limit_failure(result: Any, org: Any, message: str, records: int) -> None:
    assert result.status == "Failed"
    assert result.error.type == "LimitExceeded" and result.error.element == "Body"
    assert result.error.message.startswith(message), result.error.message
    assert result.outputs["was_caught"] is None           # the fault connector was not taken
    assert count(org) == records                          # Before was rolled back


def test_100_queries_pass_and_the_101st_fails(form: str, tmp_path: Path, org: Any) -> None:
    ok = run_looped(form, tmp_path, org, GET_ONE, 100)
    assert ok.ok, ok.error
    assert (ok.limits.queries, ok.limits.query_rows) == (100, 100)
    failed = run_looped(form, tmp_path, org, GET_ONE, 101)
    assert_limit_failure(failed, org, "Too many SOQL queries: 101 (a transaction may run 100",
                         ROWS + 1)
    assert failed.limits.queries == 101


def test_50000_rows_pass_and_one_more_fails(form: str, tmp_path: Path, org: Any) -> None:
    ok = run_looped(form, tmp_path, org, GET_ALL, 10)             # 10 × 5,000 rows
    assert ok.ok, ok.error
    assert ok.limits.query_rows == 50_000
    text = LOOPED.format(body=GET_ALL.replace("next: Count", "next: One"))
    text = text.replace("      Caught:", f"      One: {GET_ONE}\n      Caught:")
    flow = load_in_form(form, text, tmp_path, registry)
    # 10 × (5,000 + 1) rows: the 10th query of all items is the one that goes past 50,000
    failed = flow.run({"times": 10}, org=org)
    assert_limit_failure(failed, org, "Too many query rows: 50001 (a transaction may retrieve "
                                      "50,000 records in all; this query would bring it to "
                                      "50,009)", ROWS + 1)


def test_150_dml_statements_pass_and_the_151st_fails(form: str, tmp_path: Path, org: Any) -> None:
    ok = run_looped(form, tmp_path, org, CREATE, 149)           # and Before: 150 statements
    assert ok.ok, ok.error
    assert (ok.limits.dml_statements, ok.limits.dml_rows) == (150, 150)
    assert count(org) == ROWS + 150
    failed = run_looped(form, tmp_path, org, CREATE, 150)
    assert failed.status == "Failed"
    assert failed.error.message.startswith("Too many DML statements: 151")
    assert count(org) == ROWS + 150                             # nothing of the second run


def test_10000_rows_written_pass_and_one_more_fails(form: str, tmp_path: Path, org: Any) -> None:
    flow = load_in_form(form, """
        flow: Bulk
        variables:
          times: {type: Number, input: true}
          n: {type: Number, default: 0}
          item: {type: Record, object: Item__c}
          items: {type: Record, object: Item__c, collection: true}
        elements:
          Again:
            type: Decision
            rules: [{name: More, conditions: [{left: n, op: LessThan, right: "{!times}"}], next: Add}]
            default: Save
          Add:
            type: Assignment
            assignments:
              - {ref: item.Size__c, op: Assign, value: "{!n}"}
              - {ref: items, op: Add, value: "{!item}"}
              - {ref: n, op: Add, value: 1}
            next: Again
          Save: {type: CreateRecords, records: items}
        start: Again
    """, tmp_path, registry)
    ok = flow.run({"times": 10_000}, org=org)
    assert ok.ok, ok.error
    assert (ok.limits.dml_statements, ok.limits.dml_rows) == (1, 10_000)
    assert count(org) == ROWS + 10_000
    failed = flow.run({"times": 10_001}, org=org)
    assert failed.status == "Failed" and failed.error.element == "Save"
    assert failed.error.message.startswith("Too many DML rows: 10001 (a transaction may write "
                                           "10,000 records in all; this statement would bring "
                                           "it to 10,001)")
    assert count(org) == ROWS + 10_000


def test_counts_in_the_trace_and_the_json_result(tmp_path: Path, org: Any) -> None:
    result = run_looped("yaml", tmp_path, org, GET_ONE, 2)
    data = result.to_json()
    assert data["limits"]["queries"] == {"used": 2, "limit": 100}
    assert data["limits"]["dmlStatements"] == {"used": 1, "limit": 150}
    traced = load_in_form("yaml", LOOPED.format(body=GET_ONE), tmp_path, registry).run(
        {"times": 1}, org=org, trace=True)
    body = next(e for e in traced.trace if e["element"] == "Body")
    assert body["limits"]["queries"]["used"] == 1 and body["limits"]["queryRows"]["used"] == 1
    from flowengine.runtime.trace import format_trace_entry
    assert "limits used: 1/100 queries, 1/50,000 rows retrieved, 1/150 DML statements, " \
        "1/10,000 DML rows" in format_trace_entry(body)
