"""Automation: record-triggered flows (before save, after save, before delete) around every write,
with entry conditions, $Record and $Record__Prior, recursion control, batches of 200 and
bulkified limits; platform events delivered after commit; subflows. Each test builds a small
project (flow files and a flowengine-objects.yaml) in a temporary folder."""
from __future__ import annotations

import json
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from flowengine.automation import AutomatedStore, Automation, FlowProject
from flowengine.cli import main
from flowengine.errors import OrgError, ValidationError
from flowengine.org import open_org
from flowengine.runtime.limits import GovernorLimitExceeded

OBJECTS = """
objects:
  Ticket__c:
    fields:
      Status__c: {type: Picklist, values: [New, Open, Closed], default: New}
      Priority__c: {type: Number, precision: 3, scale: 0}
      Note__c: {type: Text, length: 255}
      Parent__c: {type: Lookup, referenceTo: Ticket__c}
  Alert__e:
    fields:
      Message__c: {type: Text, length: 255}
      Level__c: {type: Number, precision: 3, scale: 0}
"""


@pytest.fixture
def project(tmp_path: Path) -> Path:
    (tmp_path / "flowengine-objects.yaml").write_text(textwrap.dedent(OBJECTS), encoding="utf-8")
    return tmp_path


def flows(folder: Path, **texts: str) -> None:
    for name, text in texts.items():
        (folder / f"{name}.yaml").write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")


@pytest.fixture
def org(project: Path, org_target: str) -> Iterator[Any]:
    """The test's org store, once per backend."""
    store = open_org(org_target, project=project)
    yield store
    store.close()


def automation(project: Path, org: Any, trace: bool = False) -> Automation:
    return Automation(FlowProject.open(project), org, trace=trace)


def tickets(org: Any) -> dict[str, dict[str, Any]]:
    with org.begin(write=False) as tx:
        return {r["Name"]: r for r in tx.query("Ticket__c")}


def log(org: Any) -> list[dict[str, Any]]:
    with org.begin(write=False) as tx:
        return tx.interviews()


BEFORE = """
    flow: Prioritise
    trigger: {type: RecordBeforeSave, object: Ticket__c, on: CreateAndUpdate}
    elements:
      Decide:
        type: Decision
        rules: [{name: Urgent, conditions: [{left: $Record.Note__c, op: Contains, right: urgent}], next: Raise}]
      Raise: {type: Assignment, assignments: [{ref: $Record.Priority__c, op: Assign, value: 1}]}
    start: Decide
"""
AFTER = """
    flow: Open_Child
    trigger:
      type: RecordAfterSave
      object: Ticket__c
      on: Create
      filters: [{field: Priority__c, op: EqualTo, value: 1}]
    elements:
      Child:
        type: CreateRecords
        object: Ticket__c
        values: {Name: "Follow-up of {!$Record.Name}", Parent__c: "{!$Record.Id}", Status__c: Open}
    start: Child
"""


# -- record-triggered flows ------------------------------------------------------------------

def test_before_save_changes_the_record_and_after_save_sees_it_written(project: Path,
                                                                       org: Any) -> None:
    flows(project, prioritise=BEFORE, open_child=AFTER)
    auto = automation(project, org)
    with auto.begin() as tx:
        tx.insert_many("Ticket__c", [{"Name": "T1", "Note__c": "urgent: printer"},
                                     {"Name": "T2", "Note__c": "later"}])
    found = tickets(org)
    assert found["T1"]["Priority__c"] == 1 and found["T2"]["Priority__c"] is None
    child = found["Follow-up of T1"]
    assert child["Parent__c"] == found["T1"]["Id"] and child["Status__c"] == "Open"
    assert "Follow-up of T2" not in found                     # the entry condition held it back
    ran = [(e["flow"], e["trigger"]) for e in log(org)]
    assert ran[:2] == [("Prioritise", "RecordBeforeSave on Ticket__c (Create)")] * 2
    assert ("Open_Child", "RecordAfterSave on Ticket__c (Create)") in ran


def test_a_before_save_flow_cannot_write_records(project: Path) -> None:
    flows(project, bad="""
        flow: Bad
        trigger: {type: RecordBeforeSave, object: Ticket__c, on: Create}
        elements:
          Other: {type: CreateRecords, object: Ticket__c, values: {Name: x}}
        start: Other
    """)
    from flowengine.api import load_flow

    with pytest.raises(ValidationError, match="a before-save flow \\(fast field updates\\) changes "
                                              "the fields of \\$Record only; CreateRecords element "
                                              "Other cannot run in it"):
        load_flow(project / "bad.yaml")


@pytest.mark.parametrize("changed_only, updates, runs", [
    (False, [("Open", None), ("Open", 2)], 2),     # every update that meets the conditions
    (True, [("Open", None), ("Open", 2)], 1),      # only the one that makes it meet them
])
def test_only_when_changed_to_meet_the_conditions(project: Path, org: Any, changed_only: bool,
                                                   updates: list[tuple[str, Any]],
                                                   runs: int) -> None:
    flows(project, watch=f"""
        flow: Watch
        trigger:
          type: RecordAfterSave
          object: Ticket__c
          on: Update
          filters: [{{field: Status__c, op: EqualTo, value: Open}}]
          onlyWhenChanged: {str(changed_only).lower()}
        elements:
          Note: {{type: CreateRecords, object: Task, values: {{Subject: "{{!$Record__Prior.Status__c}} to {{!$Record.Status__c}}"}}}}
        start: Note
    """)
    auto = automation(project, org)
    with auto.begin() as tx:
        ticket = tx.insert("Ticket__c", {"Name": "T"})
    for status, priority in updates:
        with auto.begin() as tx:
            tx.update("Ticket__c", ticket, {"Status__c": status, "Priority__c": priority})
    with org.begin(write=False) as tx:
        subjects = [r["Subject"] for r in tx.query("Task")]
    assert len(subjects) == runs and subjects[0] == "New to Open"


def test_is_changed_and_ischanged_in_formulas(project: Path, org: Any) -> None:
    flows(project, by_filter="""
        flow: By_Filter
        trigger:
          type: RecordAfterSave
          object: Ticket__c
          on: Update
          filters: [{field: Priority__c, op: IsChanged, value: true}]
        elements:
          Note: {type: CreateRecords, object: Task, values: {Subject: filter}}
        start: Note
    """, by_formula="""
        flow: By_Formula
        trigger:
          type: RecordAfterSave
          object: Ticket__c
          on: Update
          formula: "ISCHANGED({!$Record.Note__c}) && PRIORVALUE({!$Record.Note__c}) = 'a'"
        elements:
          Note: {type: CreateRecords, object: Task, values: {Subject: formula}}
        start: Note
    """)
    auto = automation(project, org)
    with auto.begin() as tx:
        ticket = tx.insert("Ticket__c", {"Name": "T", "Note__c": "a"})
    with auto.begin() as tx:
        tx.update("Ticket__c", ticket, {"Note__c": "b"})            # formula only
    with auto.begin() as tx:
        tx.update("Ticket__c", ticket, {"Priority__c": 3})          # filter only
    with auto.begin() as tx:
        tx.update("Ticket__c", ticket, {"Status__c": "Open"})       # neither
    with org.begin(write=False) as tx:
        assert [r["Subject"] for r in tx.query("Task", order_by=("CreatedDate", "Id"))] == \
            ["formula", "filter"]


def test_a_failing_triggered_flow_fails_the_write(project: Path, org: Any) -> None:
    flows(project, guard="""
        flow: Guard
        trigger: {type: RecordBeforeDelete, object: Ticket__c, on: Delete}
        elements:
          Refuse: {type: CreateRecords, object: Ticket__c, values: {Name: x, Parent__c: "{!$Record.Note__c}"}}
        start: Refuse
    """)
    auto = automation(project, org)
    with auto.begin() as tx:
        ticket = tx.insert("Ticket__c", {"Name": "Keep me", "Note__c": "not an Id"})
    with pytest.raises(OrgError) as caught:
        with auto.begin() as tx:
            tx.delete_many("Ticket__c", [ticket])
    assert caught.value.error_code == "CANNOT_EXECUTE_FLOW_TRIGGER"
    assert caught.value.message.startswith("We can't save this record because the “Guard” flow "
                                           "failed: Refuse (CreateRecords): This error occurred "
                                           "when the flow tried to create records: ")
    assert "Keep me" in tickets(org)


def test_recursion_control_and_the_trigger_depth_limit(project: Path, org: Any) -> None:
    flows(project, touch="""
        flow: Touch
        trigger: {type: RecordAfterSave, object: Ticket__c, on: CreateAndUpdate}
        elements:
          Again: {type: UpdateRecords, object: Ticket__c, filters: [{field: Id, op: EqualTo, value: "{!$Record.Id}"}], values: {Note__c: touched}}
        start: Again
    """)
    auto = automation(project, org)
    with auto.begin() as tx:                   # updating its own record does not start it again
        tx.insert("Ticket__c", {"Name": "T"})
    assert tickets(org)["T"]["Note__c"] == "touched"
    (project / "touch.yaml").unlink()
    flows(project, spawn="""
        flow: Spawn
        trigger: {type: RecordAfterSave, object: Ticket__c, on: Create}
        elements:
          Next: {type: CreateRecords, object: Ticket__c, values: {Name: "{!$Record.Name}+"}}
        start: Next
    """)
    auto = automation(project, org)
    with pytest.raises(GovernorLimitExceeded, match="Maximum trigger depth exceeded: saves nest "
                                                    "more than 16 deep"):
        with auto.begin() as tx:
            tx.insert("Ticket__c", {"Name": "S"})
    assert "S" not in tickets(org)


def test_writes_of_many_records_run_in_batches_of_200_with_bulkified_limits(
        project: Path, org: Any) -> None:
    flows(project, lookup="""
        flow: Lookup
        trigger: {type: RecordAfterSave, object: Ticket__c, on: Create}
        elements:
          Siblings: {type: GetRecords, object: Ticket__c, filters: [{field: Name, op: EqualTo, value: "{!$Record.Name}"}], storeOutputAutomatically: true, next: Note}
          Note: {type: CreateRecords, object: Task, values: {Subject: "{!$Record.Name}"}}
        start: Siblings
    """, bulk="""
        flow: Bulk
        variables:
          n: {type: Number, default: 0}
          one: {type: Record, object: Ticket__c}
          many: {type: Record, object: Ticket__c, collection: true}
        elements:
          More:
            type: Decision
            rules: [{name: Again, conditions: [{left: n, op: LessThan, right: 450}], next: Add}]
            default: Save
          Add:
            type: Assignment
            assignments: [{ref: one.Name, op: Assign, value: "T{!n}"}, {ref: many, op: Add, value: "{!one}"}, {ref: n, op: Add, value: 1}]
            next: More
          Save: {type: CreateRecords, records: many}
        start: More
    """)
    from flowengine.api import load_flow

    auto = automation(project, org)
    result = load_flow(project / "bulk.yaml").run({}, org=AutomatedStore(auto))
    assert result.ok, result.error
    # 450 records: 3 batches; each batch's Get Records and Create Records are one statement
    assert (result.limits.queries, result.limits.query_rows) == (3, 450)
    assert (result.limits.dml_statements, result.limits.dml_rows) == (1 + 3, 450 + 450)
    with org.begin(write=False) as tx:
        assert len(tx.query("Task")) == 450


def test_flows_run_in_trigger_order_then_by_api_name(project: Path, org: Any) -> None:
    stamp = """
        flow: NAME
        trigger: {type: RecordBeforeSave, object: Ticket__c, on: Create ORDER}
        formulas:
          stamped: {type: Text, expression: "BLANKVALUE({!$Record.Note__c}, '') & 'NAME '"}
        elements:
          Stamp: {type: Assignment, assignments: [{ref: $Record.Note__c, op: Assign, value: "{!stamped}"}]}
        start: Stamp
    """
    for name, order in [("Zulu", ", order: 10"), ("Alpha", ""), ("Bravo", ", order: 20"),
                        ("Mike", ", order: 10"), ("Charlie", "")]:
        flows(project, **{name.lower(): stamp.replace("NAME", name).replace(" ORDER", order)})
    auto = automation(project, org)
    with auto.begin() as tx:
        tx.insert("Ticket__c", {"Name": "T1"})
    # order 10 (Mike before Zulu by name), then 20, then the flows without an order by name
    assert tickets(org)["T1"]["Note__c"] == "Mike Zulu Bravo Alpha Charlie "


def test_events_are_delivered_in_batches_of_2000_each_its_own_transaction(
        project: Path, org: Any) -> None:
    # each interview creates 6 tickets: a transaction may write 10,000 rows, so in a batch of
    # 2,000 events the interviews after the 1,666th fail; the next batch (500) starts afresh
    flows(project, fan_out="""
        flow: Fan_Out
        trigger: {type: PlatformEvent, object: Alert__e}
        variables:
          one: {type: Record, object: Ticket__c}
          many: {type: Record, object: Ticket__c, collection: true}
          n: {type: Number, default: 0}
        elements:
          More:
            type: Decision
            rules: [{name: Again, conditions: [{left: n, op: LessThan, right: 6}], next: Add}]
            default: Save
          Add:
            type: Assignment
            assignments: [{ref: one.Name, op: Assign, value: "{!$Record.Message__c}"}, {ref: many, op: Add, value: "{!one}"}, {ref: n, op: Add, value: 1}]
            next: More
          Save: {type: CreateRecords, records: many}
        start: More
    """)
    auto = automation(project, org)
    with auto.begin() as tx:
        tx.publish("Alert__e", [{"Message__c": f"e{i}"} for i in range(2_500)])
    entries = log(org)
    failed = [int(e["subject"].removeprefix("ReplayId ")) for e in entries
              if e["status"] != "Finished"]
    assert len(entries) == 2_500
    assert failed == list(range(1_667, 2_001))
    assert "Too many DML rows: 10001" in next(e["fault"] for e in entries
                                              if e["status"] != "Finished")
    with org.begin(write=False) as tx:
        assert len(tx.query("Ticket__c")) == (2_500 - len(failed)) * 6
        assert tx.cursor("Fan_Out") == 2_500


def test_inactive_flows_are_not_started(project: Path, org: Any) -> None:
    flows(project, open_child=AFTER.replace("flow: Open_Child", "flow: Open_Child\nstatus: Draft"),
          prioritise=BEFORE)
    auto = automation(project, org)
    with auto.begin() as tx:
        tx.insert("Ticket__c", {"Name": "T1", "Note__c": "urgent"})
    assert list(tickets(org)) == ["T1"]


# -- platform events ---------------------------------------------------------------------------

SUBSCRIBER = """
    flow: On_Alert
    trigger: {type: PlatformEvent, object: Alert__e}
    elements:
      Check:
        type: Decision
        rules: [{name: Bad, conditions: [{left: $Record.Level__c, op: GreaterThan, right: 8}], next: Fail}]
        default: Note
      Fail: {type: CreateRecords, object: Ticket__c, values: {Name: bad, Parent__c: "{!$Record.Message__c}"}}
      Note: {type: CreateRecords, object: Ticket__c, values: {Name: "{!$Record.Message__c}"}}
    start: Check
"""


def test_events_are_delivered_after_commit_in_order_never_after_a_rollback(
        project: Path, org: Any) -> None:
    flows(project, on_alert=SUBSCRIBER)
    auto = automation(project, org)
    with auto.begin() as tx:
        tx.publish("Alert__e", [{"Message__c": "first"}, {"Message__c": "second"}])
        assert tickets_in(tx) == []                       # nothing delivered before the commit
    with auto.begin() as tx:
        tx.publish("Alert__e", [{"Message__c": "rolled back"}])
        tx.rollback()
    with org.begin(write=False) as tx:
        names = [r["Name"] for r in tx.query("Ticket__c", order_by=("CreatedDate", "Id"))]
        assert names == ["first", "second"] and tx.cursor("On_Alert") == 2
    assert [e["subject"] for e in log(org)] == ["ReplayId 1", "ReplayId 2"]


def tickets_in(tx: Any) -> list[str]:
    return [r["Name"] for r in tx.query("Ticket__c")]


def test_a_failing_subscriber_is_logged_and_the_others_go_on(project: Path, org: Any) -> None:
    flows(project, on_alert=SUBSCRIBER)
    auto = automation(project, org)
    with auto.begin() as tx:
        tx.publish("Alert__e", [{"Message__c": "a", "Level__c": 1},
                                {"Message__c": "b", "Level__c": 9},
                                {"Message__c": "c", "Level__c": 2}])
    assert sorted(tickets(org)) == ["a", "c"]
    failed = [e for e in log(org) if e["status"] != "Finished"]
    assert [(e["flow"], e["subject"]) for e in failed] == [("On_Alert", "ReplayId 2")]
    assert "This error occurred when the flow tried to create records" in failed[0]["fault"]


def test_events_published_by_subscribers_are_delivered_too(project: Path, org: Any) -> None:
    flows(project, relay="""
        flow: Relay
        trigger: {type: PlatformEvent, object: Alert__e}
        elements:
          Decide:
            type: Decision
            rules: [{name: Last, conditions: [{left: $Record.Level__c, op: GreaterThanOrEqualTo, right: 3}], next: Done}]
            default: Next
          Next: {type: CreateRecords, object: Alert__e, values: {Message__c: relayed, Level__c: "{!Next_Level}"}, next: Done}
          Done: {type: CreateRecords, object: Ticket__c, values: {Name: "level {!$Record.Level__c}"}}
        formulas:
          Next_Level: {type: Number, expression: "{!$Record.Level__c} + 1"}
        start: Decide
    """)
    auto = automation(project, org)
    with auto.begin() as tx:
        tx.publish("Alert__e", [{"Message__c": "start", "Level__c": 1}])
    assert sorted(tickets(org)) == ["level 1", "level 2", "level 3"]


# -- subflows -----------------------------------------------------------------------------------

def test_subflow_inputs_outputs_and_faults(project: Path, org: Any) -> None:
    flows(project, child="""
        flow: Child
        variables:
          name: {type: Text, input: true}
          made: {type: Text, output: true}
        elements:
          Make: {type: CreateRecords, object: Ticket__c, values: {Name: "{!name}"}, storeId: made}
        start: Make
    """, parent="""
        flow: Parent
        variables:
          name: {type: Text, input: true}
          id: {type: Text, output: true}
        elements:
          First: {type: CreateRecords, object: Ticket__c, values: {Name: parent}, next: Call}
          Call: {type: Subflow, flow: Child, inputs: {name: "{!name}"}, outputs: {made: id}}
        start: First
    """)
    from flowengine.api import load_flow

    parent = load_flow(project / "parent.yaml")
    ok = parent.run({"name": "child"}, org=org)
    assert ok.ok and ok.outputs["id"] == tickets(org)["child"]["Id"]
    failed = parent.run({"name": None}, org=org)           # Name is required: the child faults
    assert failed.status == "Failed" and failed.error.element == "Call"
    assert failed.error.message.startswith("Call (Subflow Child): subflow Child failed: Make "
                                           "(CreateRecords): This error occurred when the flow "
                                           "tried to create records: REQUIRED_FIELD_MISSING")
    assert sorted(tickets(org)) == ["child", "parent"]        # the failed run left nothing


def test_subflow_problems_are_found_when_the_caller_is_checked(project: Path) -> None:
    from flowengine.api import load_flow

    flows(project, child="""
        flow: Child
        variables: {n: {type: Number, input: true}, out: {type: Number, output: true}}
        elements:
          Set: {type: Assignment, assignments: [{ref: out, op: Assign, value: "{!n}"}]}
        start: Set
    """, caller="""
        flow: Caller
        variables: {t: {type: Text}}
        elements:
          One: {type: Subflow, flow: Chlid, next: Two}
          Two: {type: Subflow, flow: Child, inputs: {m: 1, n: abc}, outputs: {out: t, res: t}}
        start: One
    """)
    with pytest.raises(ValidationError) as caught:
        load_flow(project / "caller.yaml")
    messages = [p.message for p in caught.value.problems]
    assert messages[0].startswith("element One: no flow 'Chlid' in the project")
    assert "did you mean 'Child'?" in messages[0]
    assert messages[1:] == [
        "element Two: flow Child has no input variable 'm' (its inputs: n)",
        "element Two: input n of flow Child is Number: the text 'abc' does not fit Number "
        "(expected a number)",
        "element Two: flow Child has no output variable 'res' (its outputs: out)",
    ]


# -- the command line ----------------------------------------------------------------------------

def cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def test_org_commands_run_automation_and_show_it(project: Path, org: Any, org_target: str,
                                                 capsys: pytest.CaptureFixture[str],
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    flows(project, prioritise=BEFORE, open_child=AFTER, on_alert=SUBSCRIBER)
    monkeypatch.chdir(project)
    db = org_target
    code, out, _ = cli(capsys, "org", "insert", "Ticket__c", "Name=T1", "Note__c=urgent",
                       "--org", db)
    assert code == 0 and out.splitlines()[0].startswith("a")
    # Prioritise before T1 is saved, Open_Child after; Prioritise again for the child it creates
    assert "automation: 3 interviews of Open_Child, Prioritise" in out
    ticket = out.splitlines()[0]
    code, out, _ = cli(capsys, "org", "update", "Ticket__c", ticket, "Status__c=Closed",
                       "--org", db, "--format", "json")
    assert code == 0 and json.loads(out)["automation"] == {"interviews": 1, "failed": 0}
    code, out, _ = cli(capsys, "org", "insert", "Ticket__c", "Name=T2", "--org", db,
                       "--no-automation")
    assert code == 0 and "automation" not in out
    (project / "more.yaml").write_text("Ticket__c:\n  - {Name: T3, Note__c: urgent}\n",
                                       encoding="utf-8")
    code, out, _ = cli(capsys, "org", "load", "more.yaml", "--org", db, "--no-automation")
    assert code == 0 and "automation" not in out
    assert tickets(org)["T3"]["Priority__c"] is None       # Prioritise did not run
    (project / "more.yaml").write_text("Ticket__c:\n  - {Name: T4, Note__c: urgent}\n",
                                       encoding="utf-8")
    code, out, _ = cli(capsys, "org", "load", "more.yaml", "--org", db)
    assert code == 0 and tickets(org)["T4"]["Priority__c"] == 1
    code, out, _ = cli(capsys, "events", "publish", "Alert__e", "Message__c=hello", "Level__c=1",
                       "--org", db)
    assert code == 0 and "published Alert__e (ReplayId 1)" in out
    code, out, _ = cli(capsys, "events", "list", "--org", db, "--format", "json")
    (event,) = json.loads(out)
    assert event["delivered"] == ["On_Alert"] and event["interviews"][0]["status"] == "Finished"
    code, out, _ = cli(capsys, "org", "delete", "Ticket__c", ticket, "--org", db)
    assert code == 0
    code, out, _ = cli(capsys, "org", "interviews", "--org", db, "--format", "json")
    flows_run = [e["flow"] for e in json.loads(out)]
    # an interview is logged when it ends: the child ticket's Prioritise before Open_Child; the
    # update runs Prioritise; the event's subscriber creates a ticket, which Prioritise sees first
    # the load of T4: Prioritise, then Open_Child, whose child ticket Prioritise sees first
    assert flows_run == ["Prioritise", "Prioritise", "Open_Child", "Prioritise", "Prioritise",
                         "Prioritise", "Open_Child", "Prioritise", "On_Alert"]
    code, _, err = cli(capsys, "org", "insert", "Ticket__c", "Nmae=x", "--org", db)
    assert code == 2 and "Ticket__c has no field 'Nmae'; did you mean 'Name'?" in err
    code, _, err = cli(capsys, "events", "publish", "Ticket__c", "--org", db)
    assert code == 2 and "'Ticket__c' is not a platform event" in err


def test_run_a_triggered_flow_by_hand_with_record_and_prior(
        project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    flows(project, show="""
        flow: Show
        trigger: {type: RecordAfterSave, object: Ticket__c, on: Update}
        variables: {text: {type: Text, output: true}}
        elements:
          Say: {type: Assignment, assignments: [{ref: text, op: Assign, value: "{!$Record__Prior.Status__c} → {!$Record.Status__c} ({!$Record.Priority__c})"}]}
        start: Say
    """)
    code, out, _ = cli(capsys, "run", str(project / "show.yaml"), "--record", "Status__c=Open",
                       "--record", "Priority__c=2", "--prior", "Status__c=New")
    assert code == 0 and 'text = "New → Open (2)"' in out
