"""The pytest plug-in end to end: collecting `*.flowtest.yaml`, passing and failing cases, mocks,
org fixtures and the failure report, run through pytest itself (the `pytester` fixture)."""
from __future__ import annotations

import textwrap
from importlib.metadata import entry_points
from pathlib import Path
from xml.etree import ElementTree

import pytest

pytest_plugins = ["pytester"]

REPO = Path(__file__).resolve().parent.parent
FLOWS = REPO / "flows"
DEMO_ORG = FLOWS / "fixtures" / "demo_org.yaml"
COUNTER = FLOWS / "counter.yaml"


def plugin_args() -> list[str]:
    """`-p flowengine.testing.plugin` until the `pytest11` entry point is installed (loading the
    plug-in twice would be an error)."""
    installed = any(ep.value.startswith("flowengine.testing.plugin")
                    for ep in entry_points(group="pytest11"))
    return [] if installed else ["-p", "flowengine.testing.plugin"]


def run(pytester: pytest.Pytester, *args: str) -> pytest.RunResult:
    """Run pytest in a subprocess: a fresh interpreter, as in CI (in-process runs restore
    `sys.modules` afterwards, which module-level state in the loader does not survive)."""
    return pytester.runpytest_subprocess(*plugin_args(), "-p", "no:cacheprovider", *args)


COUNTER_TEST = """\
flow: {flow}
cases:
  counts_to_three:
    inputs: {{limit: 3}}
    expect:
      outputs: {{counter: 3}}
  wrong_on_purpose:
    inputs: {{limit: 3}}
    expect:
      outputs:
        counter: 4
      path: [Increment, Report]
"""

CANCEL_FLOW = """\
flow: Cancel_Line
description: Cancels a quantity of one fulfillment order line; a failure is logged, not raised.
apiVersion: 62.0
variables:
  fulfillmentOrderId: {type: Text, input: true}
  lineItemId: {type: Text, input: true}
  quantity: {type: Number, input: true, default: 1}
  lineItem: {type: Apex, apexClass: ConnectApi.FulfillmentOrderLineItemInputRepresentation}
  cancelInput: {type: Apex, apexClass: ConnectApi.FulfillmentOrderLineItemsToCancelInputRepresentation}
  outcome: {type: Text, output: true}
elements:
  Build_Input:
    type: Assignment
    assignments:
      - {ref: lineItem.fulfillmentOrderLineItemId, op: Assign, value: "{!lineItemId}"}
      - {ref: lineItem.quantity, op: Assign, value: "{!quantity}"}
      - {ref: cancelInput.fulfillmentOrderLineItemsToCancel, op: Add, value: "{!lineItem}"}
    next: Cancel_Items
  Cancel_Items:
    type: Action
    action: cancelFulfillmentOrderItem
    inputs:
      fulfillmentOrderId: "{!fulfillmentOrderId}"
      cancelFulfillmentOrderItemsInput: "{!cancelInput}"
    next: Done
    fault: Log_Failure
  Done:
    type: Assignment
    assignments:
      - {ref: outcome, op: Assign, value: canceled}
  Log_Failure:
    type: Assignment
    assignments:
      - {ref: outcome, op: Assign, value: "failed: {!$Flow.FaultMessage}"}
start: Build_Input
"""

CANCEL_INPUTS = "{fulfillmentOrderId: 0a3DM0000000001YAA, lineItemId: 0a4DM0000000001YAA}"


@pytest.fixture
def cancel_flow(pytester: pytest.Pytester) -> Path:
    return pytester.makefile(".yaml", cancel_line=CANCEL_FLOW)


def write_test(pytester: pytest.Pytester, text: str, name: str = "sample") -> Path:
    path = pytester.path / f"{name}.flowtest.yaml"
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def run_cases(pytester: pytest.Pytester, flow: str | Path, cases: str,
              org: Path | None = None) -> pytest.RunResult:
    """Write sample.flowtest.yaml and run it: `flow: <flow>`, `org: <org>` if given, then
    `cases:` with `cases` (YAML, dedented) under it; so the first line of `cases` is line 3 of
    the file (line 4 with an org)."""
    head = f"flow: {flow}\n" + (f"org: {org}\n" if org else "") + "cases:\n"
    write_test(pytester, head + textwrap.indent(textwrap.dedent(cases), "  "))
    return run(pytester)


# -- the shipped flow tests --------------------------------------------------------------------

def test_every_example_flow_has_flow_tests() -> None:
    flows = sorted(p.name[: -len(".yaml")] for p in FLOWS.glob("*.yaml")
                   if not p.name.endswith(".flowtest.yaml"))
    missing = [f for f in flows if not (FLOWS / f"{f}.flowtest.yaml").exists()]
    assert flows and not missing, f"example flows without flow tests: {missing}"


def test_shipped_flow_tests_have_several_cases_each() -> None:
    # the shipped flow tests run once, collected from flows/ (testpaths), not again from here
    from flowengine.testing import load_flowtest

    counts = {p.name: len(load_flowtest(p).cases) for p in FLOWS.glob("*.flowtest.yaml")}
    assert counts and all(n >= 2 for n in counts.values()), counts


def test_collects_one_item_per_case_with_its_location(pytester: pytest.Pytester) -> None:
    write_test(pytester, COUNTER_TEST.format(flow=FLOWS / "counter.yaml"))
    result = run(pytester, "--junitxml=report.xml", "-o", "junit_family=xunit1")
    result.assert_outcomes(passed=1, failed=1)
    cases = ElementTree.parse(pytester.path / "report.xml").getroot().iter("testcase")
    located = [(c.get("name"), c.get("file"), c.get("line")) for c in cases]
    assert located == [("counts_to_three", "sample.flowtest.yaml", "2"),      # 0-based lines
                       ("wrong_on_purpose", "sample.flowtest.yaml", "6")]


# -- failures read like assertions ----------------------------------------------------------------

def test_wrong_expectation_shows_expected_against_actual_and_the_trace(
        pytester: pytest.Pytester) -> None:
    write_test(pytester, COUNTER_TEST.format(flow=FLOWS / "counter.yaml"))
    result = run(pytester, "-k", "wrong_on_purpose")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines([
        "flow test 'wrong_on_purpose' of flow Counter (sample.flowtest.yaml:7): "
        "2 expectations failed",
        "outputs.counter  (sample.flowtest.yaml:11)",
        "    expected: 4",
        "    actual:   3",
        "path  (sample.flowtest.yaml:12)",
        "    expected: Increment → Report",
        "    actual:   Increment → Check_Done → Increment → Check_Done → Increment → "
        "Check_Done → Report",
        "    first difference at step 2: expected Report, got Check_Done",
        "interview: Finished after 7 elements",
        "trace:",
        "     1. Increment (Assignment)",
        "        counter Add: 0 → 1",
        "*FAILED sample.flowtest.yaml::wrong_on_purpose*",
    ])
    assert "Traceback" not in result.stdout.str()


def test_failed_flow_test_assertion_shows_its_error_message(pytester: pytest.Pytester) -> None:
    result = run_cases(pytester, COUNTER, """\
        stops_at_limit:
          inputs: {limit: 2}
          expect:
            assertions:
              - {left: counter, op: GreaterThan, right: 5, errorMessage: counts past five}
        """)
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines([
        "assertions[0]: counts past five  (sample.flowtest.yaml:7)",
        "    expected: counter GreaterThan 5",
        "    actual:   counter = 2 → false",
    ])


def test_unhandled_fault_fails_the_status_by_default(pytester: pytest.Pytester) -> None:
    result = run_cases(pytester, COUNTER, """\
        runaway:
          inputs: {limit: 100}
          maxElements: 10
        """)
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines([
        "status (expected Finished by default)  (sample.flowtest.yaml:3)",
        "    expected: Finished",
        "    actual:   Failed",
        "    error: *more than 10 elements*",
    ])


# -- mocks, org fixtures and records ---------------------------------------------------------------

def test_mocked_fault_drives_the_flow_down_its_fault_path(pytester: pytest.Pytester,
                                                          cancel_flow: Path) -> None:
    result = run_cases(pytester, "cancel_line.yaml", f"""\
        service_down:
          inputs: {CANCEL_INPUTS}
          mocks:
            cancelFulfillmentOrderItem:
              fault: {{errorCode: UNKNOWN_EXCEPTION, message: the service is down}}
          expect:
            status: Finished
            path: [Build_Input, Cancel_Items, Log_Failure]
            notVisited: [Done]
            fault:
              message: "UNKNOWN_EXCEPTION: the service is down"
              errorCode: UNKNOWN_EXCEPTION
              element: Cancel_Items
            outputs: {{outcome: "failed: UNKNOWN_EXCEPTION: the service is down"}}
            variables:
              $Flow.FaultMessage: "UNKNOWN_EXCEPTION: the service is down"
            calls: {{Cancel_Items: 1}}
            records:   # the mock changed nothing
              - {{object: FulfillmentOrderLineItem, id: 0a4DM0000000001YAA, fields: {{Quantity: 3}}}}
            assertions:
              - {{left: Cancel_Items, op: HasError, right: true}}
        """, org=DEMO_ORG)
    result.assert_outcomes(passed=1)


def test_real_action_changes_the_org_and_records_are_checked(pytester: pytest.Pytester,
                                                             cancel_flow: Path) -> None:
    result = run_cases(pytester, "cancel_line.yaml", f"""\
        cancel_one_shoe:
          inputs: {CANCEL_INPUTS}
          expect:
            outputs: {{outcome: canceled}}
            variables:
              Cancel_Items.cancelFulfillmentOrderItemsOutput: {{success: true}}
            records:
              - object: FulfillmentOrderLineItem
                id: 0a4DM0000000001YAA
                fields: {{Quantity: 2, OriginalQuantity: 3}}
              - object: OrderItemSummary
                id: 10uDM0000000001       # the 15-character form names the same record
                fields: {{QuantityAllocated: 2, QuantityAvailableToFulfill: 1}}
              - object: FulfillmentOrderLineItem
                where: {{FulfillmentOrderId: 0a3DM0000000001YAA}}
                count: 3
        wrong_quantity_on_purpose:
          inputs: {CANCEL_INPUTS}
          expect:
            records:
              - object: FulfillmentOrderLineItem
                id: 0a4DM0000000001YAA
                fields: {{Quantity: 1}}
        """, org=DEMO_ORG)
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines([
        "records[0] FulfillmentOrderLineItem 0a4DM0000000001YAA  (sample.flowtest.yaml:26)",
        "    expected: Quantity = 1",
        "    actual:   Quantity = 2",
    ])


def test_each_case_gets_a_fresh_org(pytester: pytest.Pytester, cancel_flow: Path) -> None:
    case = f"""\
            inputs: {CANCEL_INPUTS}
            expect:
              records:
                - {{object: FulfillmentOrderLineItem, id: 0a4DM0000000001YAA, fields: {{Quantity: 2}}}}
        """
    write_test(pytester, f"flow: cancel_line.yaml\norg: {DEMO_ORG}\ncases:\n  first:\n"
               + textwrap.indent(textwrap.dedent(case), "    ")
               + "  second:\n" + textwrap.indent(textwrap.dedent(case), "    "))
    run(pytester).assert_outcomes(passed=2)


def test_mock_results_per_call_and_running_out_of_them(pytester: pytest.Pytester) -> None:
    pytester.makefile(".yaml", twice=CANCEL_FLOW.replace("    next: Done\n", "    next: Again\n")
                      .replace("  Done:\n", "  Again:\n    type: Action\n"
                               "    action: cancelFulfillmentOrderItem\n    inputs:\n"
                               "      fulfillmentOrderId: \"{!fulfillmentOrderId}\"\n"
                               "      cancelFulfillmentOrderItemsInput: \"{!cancelInput}\"\n"
                               "    next: Done\n    fault: Log_Failure\n  Done:\n"))
    result = run_cases(pytester, "twice.yaml", f"""\
        second_call_fails:
          inputs: {CANCEL_INPUTS}
          mocks:
            cancelFulfillmentOrderItem:
              - outputs: {{cancelFulfillmentOrderItemsOutput: {{success: true}}}}
              - fault: {{errorCode: INVALID_QUANTITY, message: nothing left}}
          expect:
            path: [Build_Input, Cancel_Items, Again, Log_Failure]
            fault: {{contains: nothing left, element: Again}}
            calls: {{cancelFulfillmentOrderItem: 2, Cancel_Items: 1}}
        one_result_for_two_calls:
          inputs: {CANCEL_INPUTS}
          mocks:
            cancelFulfillmentOrderItem:
              - outputs: {{}}
        """)
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines([
        "*mock 'cancelFulfillmentOrderItem' lists 1 result, but Again called "
        "cancelFulfillmentOrderItem a 2nd time; add a result for every call",
    ])


# -- problems in the test file or the flow ----------------------------------------------------------

def test_unknown_key_is_a_collection_error_with_line_and_hint(pytester: pytest.Pytester) -> None:
    result = run_cases(pytester, COUNTER, """\
        typo:
          inputs: {limit: 3}
          expcet:
            outputs: {counter: 3}
        """)
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines([
        "invalid flow test file:",
        "sample.flowtest.yaml:5:5: error: unknown key 'expcet' in case 'typo'; did you mean "
        "'expect'? (allowed: *",
    ])


def test_case_that_does_not_fit_its_flow_fails_with_hints(pytester: pytest.Pytester) -> None:
    result = run_cases(pytester, COUNTER, """\
        misspelt:
          inputs: {limt: 3}
          expect:
            outputs: {countr: 3}
            visited: [Incremnt]
        """)
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines([
        "flow test case 'misspelt' does not fit its flow:",
        "sample.flowtest.yaml:4:*: error: flow Counter has no input 'limt'; did you mean 'limit'?*",
        "sample.flowtest.yaml:6:*: error: 'countr' is not an output variable of flow Counter; "
        "did you mean 'counter'?*",
        "sample.flowtest.yaml:7:*: error: flow Counter has no element 'Incremnt'; did you mean "
        "'Increment'?*",
    ])


def test_invalid_flow_fails_every_case_with_the_flows_problems(pytester: pytest.Pytester) -> None:
    pytester.makefile(".yaml", broken="flow: Broken\nstart: Nowhere\nelements:\n"
                      "  Only:\n    type: Assignment\n    assignments:\n"
                      "      - {ref: missing, op: Assign, value: 1}\n")
    write_test(pytester, "flow: broken.yaml\ncases:\n  one: {}\n  two: {}\n")
    result = run(pytester)
    result.assert_outcomes(failed=2)
    result.stdout.fnmatch_lines(["flow test case 'one' could not run:",
                                 "broken.yaml:*: error: *"])


def test_skip_and_xfail(pytester: pytest.Pytester) -> None:
    result = run_cases(pytester, COUNTER, """\
        later:
          skip: not written yet
        known_bug:
          xfail: counter overshoots
          expect:
            outputs: {counter: 11}
        """)
    result.assert_outcomes(skipped=1, xfailed=1)


def test_governor_counts_are_expected_exactly_or_at_most(pytester: pytest.Pytester) -> None:
    flow = FLOWS / "cancel_and_reallocate.yaml"
    org = FLOWS / "fixtures" / "demo_org.yaml"
    result = run_cases(pytester, flow, """\
        counted:
          inputs: {lineItemId: 0a4DM0000000001YAA, newLocationId: 131DM0000000002YAA}
          expect:
            limits: {queries: 2, queryRows: {atMost: 5}, dmlStatements: 0}
        miscounted:
          inputs: {lineItemId: 0a4DM0000000001YAA, newLocationId: 131DM0000000002YAA}
          expect:
            limits: {queries: 1, queryRows: {atMost: 1}}
        """, org)
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines([
        "*flow test 'miscounted'*2 expectations failed",
        "limits.queries  (sample.flowtest.yaml:*)",
        "    expected: 1",
        "    actual:   2",
        "limits.queryRows  (sample.flowtest.yaml:*)",
        "    expected: at most 1",
        "    actual:   2",
    ])
    bad = run_cases(pytester, flow, """\
        typo:
          expect:
            limits: {querys: 2}
        """, org)
    bad.assert_outcomes(errors=1)
    bad.stdout.fnmatch_lines(["*unknown governor count 'querys'; did you mean 'queryRows'? "
                              "(expected one of: queries, queryRows, dmlStatements, dmlRows)*"])
