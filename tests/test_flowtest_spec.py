"""The flow test file format and the case runner, without pytest in between: validation
messages with lines and hints, checks against the flow, value matching, expectations."""
from __future__ import annotations

import textwrap
from decimal import Decimal
from pathlib import Path

import pytest

from flowengine.testing import (
    FlowTestSpecError,
    load_flow_under_test,
    load_flowtest,
    render_failure,
    run_case,
)
from flowengine.testing.assertions import same
from flowengine.testing.checks import CaseSpecError
from flowengine.types import ApexObject

REPO = Path(__file__).resolve().parent.parent
COUNTER = REPO / "flows" / "counter.yaml"
PARCELS = REPO / "flows" / "parcel_weights.yaml"


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "t.flowtest.yaml"
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def spec_errors(tmp_path: Path, text: str) -> list[str]:
    with pytest.raises(FlowTestSpecError) as info:
        load_flowtest(write(tmp_path, text))
    return [f"{p.line}: {p.message}" for p in info.value.problems]


def run_one(tmp_path: Path, text: str, case: int = 0):  # type: ignore[no-untyped-def]
    test = load_flowtest(write(tmp_path, text))
    return test, run_case(test, test.cases[case], load_flow_under_test(test))


def case_problems(tmp_path: Path, text: str) -> list[str]:
    with pytest.raises(CaseSpecError) as info:
        run_one(tmp_path, text)
    return [f"{p.line}: {p.message}" for p in info.value.problems]


# -- the file's own structure ----------------------------------------------------------------------

def test_a_valid_file_reads_into_cases(tmp_path: Path) -> None:
    test = load_flowtest(write(tmp_path, f"""\
        flow: {COUNTER}
        description: counts
        cases:
          three:
            inputs: {{limit: 3}}
            maxElements: 100
            mocks:
              someAction:
                - outputs: {{x: 1}}
                - fault: {{errorCode: BOOM}}
            expect:
              status: Finished
              outputs: {{counter: 3}}
              fault: {{contains: oops}}
              records:
                - {{object: X, id: "001", count: 1}}
        """))
    (case,) = test.cases
    assert (case.name, case.line, case.inputs, case.max_elements) == ("three", 4, {"limit": 3}, 100)
    mock = case.mocks["someAction"]
    assert not mock.every_call and mock.results[1].error_code == "BOOM"
    assert mock.results[1].message == "mocked BOOM fault"
    assert case.expect.fault is not None and case.expect.fault.contains == "oops"
    assert test.flow_path == COUNTER


def test_unknown_keys_are_reported_with_line_and_did_you_mean(tmp_path: Path) -> None:
    errors = spec_errors(tmp_path, f"""\
        flow: {COUNTER}
        cases:
          one:
            inputs: {{limit: 3}}
            expect:
              outputs: {{counter: 3}}
              visted: [Increment]
              stauts: Finished
        """)
    assert errors == [
        "7: unknown key 'visted' in expect; did you mean 'visited'? (allowed: status, outputs, "
        "variables, visited, notVisited, path, records, fault, assertions, calls, limits)",
        "8: unknown key 'stauts' in expect; did you mean 'status'? (allowed: status, outputs, "
        "variables, visited, notVisited, path, records, fault, assertions, calls, limits)",
    ]


def test_every_problem_is_reported_at_once(tmp_path: Path) -> None:
    errors = spec_errors(tmp_path, """\
        cases:
          one:
            mocks:
              act: {outputs: {}, fault: {errorCode: X}}
            expect:
              status: Finshed
              records:
                - {object: FulfillmentOrderLineItem}
              assertions:
                - {left: counter, op: EqualsTo, right: 1}
          two: [not, a, mapping]
        """)
    assert errors == [
        "1: the flow test file is missing the required key 'flow'",
        "4: a result of mock 'act' needs exactly one of 'outputs' (what the action returns) or "
        "'fault' ({errorCode, message}: how it fails)",
        "6: unknown status 'Finshed'; did you mean 'Finished'? (expected Finished or Failed)",
        "8: a record expectation needs fields (values to check), count (how many records "
        "match), or both",
        "10: unknown operator 'EqualsTo'; did you mean 'EqualTo'? (expected one of: EqualTo, "
        "NotEqualTo, GreaterThan, LessThan, GreaterThanOrEqualTo, LessThanOrEqualTo, StartsWith, "
        "EndsWith, Contains, IsNull, IsBlank, IsEmpty, WasSet, WasVisited, HasError, In, NotIn, "
            "IsChanged, WasSelected)",
        "11: case 'two' must be a mapping, found a list",
    ]


def test_a_file_that_is_not_a_mapping(tmp_path: Path) -> None:
    assert spec_errors(tmp_path, "- just\n- a list\n") == [
        "1: a flow test file must be a mapping with 'flow' (the flow file, relative to this "
        "file) and 'cases'; found a list"]
    assert spec_errors(tmp_path, f"flow: {COUNTER}\ncases: {{}}\n") == [
        "2: cases must be a mapping of case names to cases (at least one), found a mapping"]


# -- checked against the flow ---------------------------------------------------------------------

def test_names_are_checked_against_the_flow(tmp_path: Path) -> None:
    problems = case_problems(tmp_path, f"""\
        flow: {COUNTER}
        cases:
          one:
            inputs: {{limit: three}}
            mocks:
              cancelFulfillmentOrderItem: {{outputs: {{}}}}
            expect:
              variables: {{remaning: 1}}
              notVisited: [Reprot]
              fault: {{element: Nope}}
              calls: {{Increment: 1}}
        """)
    assert problems == [
        "4: input limit: the text 'three' does not fit Number (expected a number)",
        "6: mock 'cancelFulfillmentOrderItem' is neither an Action element nor an action that "
        "flow Counter calls (known: none)",
        "8: unknown name 'remaning'; did you mean 'remaining'? (no variable, constant, formula, "
        "template or element has that name)",
        "9: flow Counter has no element 'Reprot'; did you mean 'Report'?",
        "10: flow Counter has no element 'Nope'",
        "11: calls: 'Increment' is neither an Action element nor an action that flow Counter "
        "calls (known: none)",
    ]


def test_expected_values_must_fit_their_types(tmp_path: Path) -> None:
    problems = case_problems(tmp_path, f"""\
        flow: {PARCELS}
        cases:
          one:
            expect:
              outputs: {{parcelCount: lots}}
              variables:
                parcel: {{weight: 1}}
              assertions:
                - {{left: parcelCount, op: StartsWith, right: x}}
        """)
    assert problems[0] == "5: expected value the text 'lots' does not fit Number (expected a number)"
    assert problems[1].startswith("7: expected value Acme.Parcel has no field 'weight'")
    assert problems[2].startswith("9: StartsWith is for text")


# -- running -----------------------------------------------------------------------------------------

def test_values_compare_as_flow_values() -> None:
    assert same(Decimal("3"), Decimal("3.00"))
    assert not same(Decimal("1"), True)
    assert same("0a4DM0000000001", "0a4DM0000000001YAA")          # one record, two Id forms
    assert not same("abc", "ABC")                                  # text is exact
    parcel = ApexObject("Acme.Parcel", {"trackingNumber": "PCL-1", "weightKg": Decimal("1.2")})
    assert same(ApexObject("Acme.Parcel", {"weightKg": Decimal("1.200")}), parcel)
    assert not same(ApexObject("Acme.Parcel", {"weightKg": Decimal("2")}), parcel)
    assert same([Decimal(1), Decimal(2)], [Decimal(1), Decimal(2)])
    assert not same([Decimal(1)], [Decimal(1), Decimal(2)])


def test_a_passing_case(tmp_path: Path) -> None:
    _, outcome = run_one(tmp_path, f"""\
        flow: {PARCELS}
        cases:
          defaults:
            expect:
              outputs: {{totalKg: 20.950, lightTracking: [PCL-3, PCL-2, PCL-1]}}
              variables:
                parcel.fragile: false
        """)
    assert outcome.passed, outcome.mismatches
    assert outcome.result.status == "Finished"


def test_fault_expectation_without_a_fault(tmp_path: Path) -> None:
    test, outcome = run_one(tmp_path, f"""\
        flow: {COUNTER}
        cases:
          calm:
            expect:
              fault: {{contains: boom}}
        """)
    assert [(m.label, m.expected, m.actual) for m in outcome.mismatches] == [
        ("fault", 'a fault containing "boom"', "no fault: the interview finished without an error")]
    assert "interview: Finished after 21 elements" in render_failure(test, outcome)


def test_unhandled_fault_message_exact_and_contains(tmp_path: Path) -> None:
    _, outcome = run_one(tmp_path, f"""\
        flow: {COUNTER}
        cases:
          runaway:
            maxElements: 3
            expect:
              status: Failed
              fault:
                message: wrong text
                contains: more than 3 elements
                element: Report
        """)
    labels = [m.label for m in outcome.mismatches]
    assert labels == ["fault.message", "fault.element"]
    assert outcome.mismatches[1].actual == outcome.result.error.element != "Report"


def test_a_case_written_twice_is_an_error(tmp_path: Path) -> None:
    errors = spec_errors(tmp_path, f"flow: {COUNTER}\ncases:\n  a: {{}}\n  a: {{}}\n")
    assert len(errors) == 1 and errors[0].startswith("4: duplicate key 'a' in cases")
