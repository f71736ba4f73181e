"""Each lint rule on a flow that triggers it and on one that does not."""
from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from flowengine.lint import LintConfig, lint_file
from flowengine.lint.config import RuleConfig
from flowengine.lint.rules import RULES, STANDARD_PREFIXES, looks_like_record_id

CLEAN = """\
flow: Clean
description: A flow that breaks no rule.
apiVersion: 62.0
variables:
  n: {type: Number, input: true}
  out: {type: Number, output: true}
elements:
  Double:
    type: Assignment
    assignments:
      - {ref: out, op: Assign, value: "{!n}"}
      - {ref: out, op: Add, value: "{!n}"}
start: Double
"""

ACTION_FLOW = """\
flow: Cancel_Lines
description: Cancels lines.
apiVersion: 62.0
variables:
  foId: {type: Text, input: true}
  lineIds: {type: Text, collection: true, input: true}
  lineItem: {type: Apex, apexClass: ConnectApi.FulfillmentOrderLineItemInputRepresentation}
  cancelInput: {type: Apex, apexClass: ConnectApi.FulfillmentOrderLineItemsToCancelInputRepresentation}
  message: {type: Text, output: true}
elements:
  Each_Line:
    type: Loop
    collection: lineIds
    each: Build
    after: Cancel
  Build:
    type: Assignment
    assignments:
      - {ref: lineItem.fulfillmentOrderLineItemId, op: Assign, value: "{!Each_Line}"}
      - {ref: lineItem.quantity, op: Assign, value: 1}
      - {ref: cancelInput.fulfillmentOrderLineItemsToCancel, op: Add, value: "{!lineItem}"}
    next: Each_Line
  Cancel:
    type: Action
    action: cancelFulfillmentOrderItem
    inputs:
      fulfillmentOrderId: "{!foId}"
      cancelFulfillmentOrderItemsInput: "{!cancelInput}"
    fault: Log
  Log:
    type: Assignment
    assignments:
      - {ref: message, op: Assign, value: "{!$Flow.FaultMessage}"}
start: Each_Line
"""


def findings(tmp_path: Path, text: str, rule: str | None = None,
             config: LintConfig | None = None) -> list[tuple[str, int | None, str]]:
    path = tmp_path / "flow.yaml"
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    report = lint_file(path, config)
    assert report.valid, report.problems
    return [(f.rule, f.line, f.message) for f in report.findings if rule in (None, f.rule)]


def test_clean_flows_have_no_findings(tmp_path: Path) -> None:
    assert findings(tmp_path, CLEAN) == []
    assert findings(tmp_path, ACTION_FLOW) == []


def test_every_rule_has_a_default_severity_and_description() -> None:
    assert set(RULES) >= {"MissingFaultPath", "ActionCallsInLoop", "UnusedVariable",
                          "UnconnectedElement", "FlowDescription", "HardcodedId",
                          "CyclomaticComplexity", "APIVersion", "CopyAPIName"}
    for rule in RULES.values():
        assert rule.severity in ("error", "warning", "note") and rule.title and rule.description


def test_missing_fault_path(tmp_path: Path) -> None:
    text = ACTION_FLOW.replace("    fault: Log\n", "")
    (hit,) = findings(tmp_path, text, "MissingFaultPath")
    assert hit[1] == 23                                      # the line of `Cancel:`
    assert "Action element Cancel calls cancelFulfillmentOrderItem without a fault connector" \
        in hit[2] and "Add 'fault: ELEMENT'" in hit[2]
    assert findings(tmp_path, ACTION_FLOW, "MissingFaultPath") == []


def test_action_calls_in_loop(tmp_path: Path) -> None:
    in_loop = (ACTION_FLOW.replace("    next: Each_Line\n  Cancel:", "    next: Cancel\n  Cancel:")
               .replace("    fault: Log\n", "    next: Each_Line\n    fault: Log\n")
               .replace("    after: Cancel\n", ""))
    (hit,) = findings(tmp_path, in_loop, "ActionCallsInLoop")
    assert hit[1] == 22
    assert "once per item of loop Each_Line" in hit[2] and "'after' path" in hit[2]
    assert findings(tmp_path, ACTION_FLOW, "ActionCallsInLoop") == []


def test_action_on_a_path_that_leaves_the_loop_is_not_in_it(tmp_path: Path) -> None:
    leaves = ACTION_FLOW.replace("    next: Each_Line\n  Cancel:", "    next: Cancel\n  Cancel:") \
        .replace("    after: Cancel\n", "")
    assert findings(tmp_path, leaves, "ActionCallsInLoop") == []


def test_unused_variable(tmp_path: Path) -> None:
    text = CLEAN.replace("  out:", "  spare: {type: Text}\n  out:")
    assert findings(tmp_path, text, "UnusedVariable") == [
        ("UnusedVariable", 6, "variable spare is never used: nothing reads or writes it. Remove "
         "it, or use it where it was meant to be used")]
    used_in_formula = text + "formulas:\n  f: {type: Text, expression: \"{!spare} & 'x'\"}\n"
    assert findings(tmp_path, used_in_formula, "UnusedVariable") == []
    interface = CLEAN.replace("  out:", "  extra: {type: Text, input: true}\n  out:")
    assert findings(tmp_path, interface, "UnusedVariable") == []


def test_unconnected_element(tmp_path: Path) -> None:
    last = "      - {ref: out, op: Add, value: \"{!n}\"}\n"
    orphan = "  Orphan:\n    type: Assignment\n    assignments:\n      - {ref: out, op: Assign, value: 0}\n"
    text = CLEAN.replace(last, last + orphan)
    assert findings(tmp_path, text, "UnconnectedElement") == [
        ("UnconnectedElement", 13, "element Orphan is not connected: no path from the start "
         "(Double) reaches it, so it never runs. Connect it (next, fault, a decision outcome or "
         "a loop connector) or remove it")]
    connected = CLEAN.replace(last, last + "    next: Orphan\n" + orphan)
    assert findings(tmp_path, connected, "UnconnectedElement") == []


def test_flow_description(tmp_path: Path) -> None:
    text = CLEAN.replace("description: A flow that breaks no rule.\n", "")
    assert [(r, line) for r, line, _ in findings(tmp_path, text, "FlowDescription")] == \
        [("FlowDescription", 1)]
    assert findings(tmp_path, CLEAN.replace("A flow that breaks no rule.", "'  '"),
                    "FlowDescription") != []
    assert findings(tmp_path, CLEAN, "FlowDescription") == []


def test_hardcoded_id(tmp_path: Path) -> None:
    text = CLEAN.replace("  out: {type: Number, output: true}",
                         "  out: {type: Number, output: true}\n"
                         "  note: {type: Text, output: true, default: \"Order 0a3DM0000000001 done\"}"
                         ).replace("    assignments:\n",
                                   "    assignments:\n      - {ref: note, op: Assign, "
                                   "value: 0a4DM0000000001YAA}\n")
    hits = findings(tmp_path, text, "HardcodedId")
    assert [(line, msg.split(":")[0]) for _, line, msg in hits] == [
        (7, "'0a3DM0000000001' looks like a hard-coded FulfillmentOrder record Id"),
        (12, "'0a4DM0000000001YAA' looks like a hard-coded FulfillmentOrderLineItem record Id"),
    ]
    assert "Pass the Id in an input variable" in hits[0][2]
    not_ids = CLEAN.replace("A flow that breaks no rule.", "Mentions 0a4DM0000000001YAA harmlessly") \
        .replace("  out: {type: Number, output: true}",
                 "  out: {type: Number, output: true}\n"
                 "  sku: {type: Text, default: SKU1234567890AB, output: true}\n"
                 "  word: {type: Text, default: ABCDEFGHIJKLMNOPQR, output: true}")
    assert findings(tmp_path, not_ids, "HardcodedId") == []


def test_record_id_shapes() -> None:
    prefixes = dict(STANDARD_PREFIXES)
    assert looks_like_record_id("001DM000000ABCDEAA", prefixes) is None      # bad checksum
    assert looks_like_record_id("001DM000000ABCDMAA", prefixes) is None
    assert looks_like_record_id("0a4DM0000000001YAA", prefixes) == "FulfillmentOrderLineItem"
    assert looks_like_record_id("0a4DM0000000001", prefixes) == "FulfillmentOrderLineItem"
    assert looks_like_record_id("a0B5g00000AbCdE", prefixes) == "custom object"
    assert looks_like_record_id("zzz5g00000AbCdE", prefixes) is None          # unknown prefix


def with_decision(n_rules: int) -> str:
    """CLEAN, then a Decision with `n_rules` outcomes (plus its default)."""
    rules = "".join(f"      - name: R{i}\n        conditions:\n"
                    f"          - {{left: n, op: EqualTo, right: {i}}}\n" for i in range(n_rules))
    last = "      - {ref: out, op: Add, value: \"{!n}\"}\n"
    return CLEAN.replace(last, last + "    next: Pick\n  Pick:\n    type: Decision\n"
                         "    rules:\n" + rules)


def test_cyclomatic_complexity(tmp_path: Path) -> None:
    (hit,) = findings(tmp_path, with_decision(25), "CyclomaticComplexity")
    assert hit[1] == 1 and "cyclomatic complexity of 26 (26 decision outcomes and 0 loops), " \
        "above the threshold of 25" in hit[2]
    assert findings(tmp_path, with_decision(24), "CyclomaticComplexity") == []
    config = LintConfig.default()
    config.rules["CyclomaticComplexity"] = RuleConfig(True, "warning", frozenset(), {"threshold": 5})
    assert findings(tmp_path, with_decision(5), "CyclomaticComplexity", config) != []


def test_api_version(tmp_path: Path) -> None:
    old = findings(tmp_path, CLEAN.replace("apiVersion: 62.0", "apiVersion: 45.0"), "APIVersion")
    assert [(line, msg.split(":")[0]) for _, line, msg in old] == \
        [(3, "apiVersion 45.0 is older than 50")]
    missing = findings(tmp_path, CLEAN.replace("apiVersion: 62.0\n", ""), "APIVersion")
    assert [line for _, line, _ in missing] == [1]
    assert "does not set apiVersion" in missing[0][2] and "apiVersion: 62.0" in missing[0][2]
    assert findings(tmp_path, CLEAN, "APIVersion") == []


@pytest.mark.parametrize("name, fires", [("Copy_1_of_Double", True), ("copy_12_of_x", True),
                                          ("Copy_Data", False), ("Make_Copy_1_of_X", False)])
def test_copy_api_name(tmp_path: Path, name: str, fires: bool) -> None:
    text = CLEAN.replace("Double", name)
    hits = findings(tmp_path, text, "CopyAPIName")
    assert bool(hits) is fires
    if fires:
        assert hits[0][1] == 8 and "rename it to say what it does" in hits[0][2]


def test_hardcoded_id_points_at_the_id_inside_the_text(tmp_path: Path) -> None:
    line = '  note: {type: Text, output: true, default: "Order 0a3DM0000000001 done"}'
    path = tmp_path / "flow.yaml"
    path.write_text(CLEAN.replace("  out: {type: Number, output: true}",
                                  "  out: {type: Number, output: true}\n" + line))
    (finding,) = [f for f in lint_file(path).findings if f.rule == "HardcodedId"]
    assert (finding.line, finding.column) == (7, line.index("0a3") + 1)


RECORDS_FLOW = """\
flow: Relocate
description: Moves lines.
apiVersion: 62.0
variables:
  foId: {type: Text, input: true}
  line: {type: Record, object: FulfillmentOrderLineItem}
  message: {type: Text, output: true}
elements:
  Lines:
    type: GetRecords
    object: FulfillmentOrderLineItem
    filters: [{field: FulfillmentOrderId, op: EqualTo, value: "{!foId}"}]
    fields: [Id, Quantity]
    storeOutputAutomatically: true
    next: Any_Lines
    fault: Log
  Any_Lines:
    type: Decision
    rules: [{name: Found, conditions: [{left: Lines, op: IsNull, right: false}], next: Each_Line}]
  Each_Line: {type: Loop, collection: Lines, item: line, each: Product, after: Save}
  Product:
    type: GetRecords
    object: Product2
    filters: [{field: Id, op: EqualTo, value: "{!line.Product2Id}"}]
    storeOutputAutomatically: true
    next: Touch
  Touch:
    type: UpdateRecords
    records: line
    next: Each_Line
    fault: Log
  Save:
    type: CreateRecords
    object: Location
    values: {Name: Done}
    fault: Log
  Log:
    type: Assignment
    assignments: [{ref: message, op: Assign, value: "{!$Flow.FaultMessage}"}]
start: Lines
"""


def test_queries_and_writes_in_loops_and_record_rules(tmp_path: Path) -> None:
    found = findings(tmp_path, RECORDS_FLOW)
    rules = sorted({(rule, line) for rule, line, _ in found})
    assert rules == [("DMLStatementInLoop", 27), ("GetRecordAllFields", 21),
                     ("MissingFaultPath", 21), ("MissingNullHandler", 21), ("SOQLQueryInLoop", 21)]
    messages = {rule: message for rule, _, message in found}
    assert messages["SOQLQueryInLoop"].startswith(
        "GetRecords element Product gets Product2 records once per item of loop Each_Line: a "
        "transaction may run 100 queries")
    assert messages["DMLStatementInLoop"].startswith(
        "UpdateRecords element Touch updates the records of line once per item of loop Each_Line")
    assert "GetRecords element Product gets Product2 records without a fault connector" in \
        messages["MissingFaultPath"]
    unfiltered = RECORDS_FLOW.replace(
        '    filters: [{field: FulfillmentOrderId, op: EqualTo, value: "{!foId}"}]\n', "")
    (hit,) = findings(tmp_path, unfiltered, "GetRecordsWithoutFilter")
    assert hit[1] == 9 and "reads every FulfillmentOrderLineItem record" in hit[2]
