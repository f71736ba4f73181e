"""Rules of the flow format checked against Salesforce's documentation (docs/conformance.md):
which elements HasError names, IsBlank on whitespace, operators of later API versions, and the
limits that keep hostile flows and inputs fast (also through the CLI)."""
from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from helpers import cpu_seconds

from flowengine.api import load_flow_text
from flowengine.cli import main
from flowengine.errors import ValidationError


def flow_text(variables: dict[str, Any], elements: dict[str, Any], start: str, **extra: Any) -> str:
    doc = {"flow": "Fidelity", **extra, "variables": variables, "elements": elements,
           "start": start}
    return yaml.safe_dump(doc, sort_keys=False)


def decision(*conditions: tuple[str, str, Any]) -> dict[str, Any]:
    return {"type": "Decision", "rules": [{"name": "Yes", "conditions": [
        {"left": left, "op": op, "right": right} for left, op, right in conditions]}]}


def refused(text: str) -> str:
    with pytest.raises(ValidationError) as info:
        load_flow_text(text)
    return str(info.value)


# -- HasError (Flow Operators in Decision, Wait, and Collection Filter Elements) --------------------

def test_has_error_names_action_and_decision_elements_not_assignments() -> None:
    elements = {"Set": {"type": "Assignment", "assignments": [
        {"ref": "n", "op": "Assign", "value": 1}], "next": "Check"},
        "Check": decision(("Set", "HasError", True))}
    message = refused(flow_text({"n": {"type": "Number"}}, elements, "Set"))
    assert "HasError applies to Action, Decision, DeleteRecords and UpdateRecords elements (as in Salesforce); 'Set' is an " \
        "Assignment element" in message
    ok = {"Check": decision(("Check", "HasError", False))}
    assert load_flow_text(flow_text({}, ok, "Check")).run().status == "Finished"


# -- IsBlank (FlowComparisonOperator) ---------------------------------------------------------------

@pytest.mark.parametrize(("value", "blank"), [(None, True), ("", True), ("   ", True),
                                              ("\t", True), (" a ", False)])
def test_is_blank_counts_whitespace_as_blank(value: Any, blank: bool) -> None:
    elements = {"Check": decision(("t", "IsBlank", True))}
    flow = load_flow_text(flow_text({"t": {"type": "Text", "input": True}}, elements, "Check"))
    result = flow.run({"t": value}, trace=True)
    assert (result.trace[0]["outcome"] == "Yes") is blank  # type: ignore[index]


# -- operators of later API versions ----------------------------------------------------------------

@pytest.mark.parametrize(("op", "left", "since"), [
    ("IsBlank", "t", "60.0"), ("IsEmpty", "ts", "60.0"), ("HasError", "Check", "62.0")])
def test_operators_need_the_api_version_that_introduced_them(op: str, left: str,
                                                             since: str) -> None:
    variables = {"t": {"type": "Text"}, "ts": {"type": "Text", "collection": True}}
    elements = {"Check": decision((left, op, True))}
    old = refused(flow_text(variables, elements, "Check", apiVersion=55.0))
    assert f"{op} needs apiVersion {since} or later" in old and "this flow has apiVersion 55" in old
    load_flow_text(flow_text(variables, elements, "Check", apiVersion=float(since)))


# -- scale -------------------------------------------------------------------------------------------

def test_scale_is_at_most_17_decimal_places() -> None:
    text = flow_text({"n": {"type": "Number", "scale": 18}}, {"Check": decision(("n", "IsNull", True))},
                     "Check")
    assert "variables.n.scale" in refused(text)


# -- evaluation cost and limits --------------------------------------------------------------------

def chain_flow(count: int, expression: str, last: str, kind: str = "formulas") -> str:
    lines = ["flow: Chain", "variables:", "  out: {type: Text, output: true}", f"{kind}:"]
    for i in range(count):
        body = expression.format(next=f"r{i + 1}")
        lines.append(f"  r{i}: {{type: Text, expression: '{body}'}}" if kind == "formulas"
                     else f"  r{i}: \"{body}\"")
    lines.append(f"  r{count}: {last}")
    lines += ["elements:", "  Set:", "    type: Assignment", "    assignments:",
              "      - {ref: out, op: Assign, value: \"{!r0}\"}", "start: Set"]
    return "\n".join(lines) + "\n"


def test_a_chain_of_formulas_each_read_twice_takes_linear_time() -> None:
    text = chain_flow(30, "IF(LEN({{!{next}}}) > 0, {{!{next}}}, {{!{next}}})",
                      "{type: Text, expression: '\"x\"'}")
    start = cpu_seconds()
    assert load_flow_text(text).run().outputs["out"] == "x"
    assert cpu_seconds() - start < 2


def test_templates_that_double_stop_at_the_text_limit() -> None:
    text = chain_flow(40, "{{!{next}}}{{!{next}}}", "ab", kind="templates")
    start = cpu_seconds()
    result = load_flow_text(text).run()
    assert result.status == "Failed"
    assert "the limit is 1,000,000" in result.error.message  # type: ignore[union-attr]
    assert cpu_seconds() - start < 2


def test_a_chain_too_deep_to_evaluate_is_refused_at_load() -> None:
    text = chain_flow(3000, "{{!{next}}} & \"\"", "{type: Text, expression: '\"x\"'}")
    message = refused(text)
    assert "evaluating r0 nests" in message and "(r0 → r1 → r2 → r3 → r4 → r5 → …); the limit " \
        "is 400" in message


# -- the same through the CLI ----------------------------------------------------------------------

NUMBERS = """\
flow: Numbers
variables:
  q: {type: Number, input: true, output: true}
  t: {type: Text, input: true}
  out: {type: Number, output: true}
formulas:
  v: {type: Number, expression: 'VALUE({!t})'}
elements:
  Set:
    type: Assignment
    assignments:
      - {ref: out, op: Assign, value: "{!v}"}
start: Set
"""


@pytest.fixture
def numbers(tmp_path: Path) -> Path:
    path = tmp_path / "numbers.yaml"
    path.write_text(NUMBERS, encoding="utf-8")
    return path


@pytest.mark.parametrize(("arg", "code", "message"), [
    ("q=1e5000", 2, "error: input q: 1E+5000 has more than 18 digits before the decimal point"),
    ("q=" + "9" * 5000, 2, "error: input q: a number of 5,000 digits has more than 18 digits"),
    ("t=1e999999999", 1, "formula v failed: VALUE('1e999999999'): 1E+999999999 has more than 18"),
    ("t=" + "9" * 5000, 1, "has more than 18 digits before the decimal point"),
])
def test_hostile_numbers_through_the_cli(capsys: pytest.CaptureFixture[str], numbers: Path,
                                         arg: str, code: int, message: str) -> None:
    start = cpu_seconds()
    assert main(["run", str(numbers), "-i", arg]) == code
    out, err = capsys.readouterr()
    assert message in out + err
    assert "internal error" not in out + err
    assert cpu_seconds() - start < 3


def test_deep_and_exponential_resources_through_the_cli(capsys: pytest.CaptureFixture[str],
                                                        tmp_path: Path) -> None:
    deep = tmp_path / "deep.yaml"
    deep.write_text(chain_flow(3000, "{{!{next}}} & \"\"", "{type: Text, expression: '\"x\"'}"))
    doubling = tmp_path / "doubling.yaml"
    doubling.write_text(chain_flow(40, "{{!{next}}}{{!{next}}}", "ab", kind="templates"))
    twice = tmp_path / "twice.yaml"
    twice.write_text(chain_flow(30, "IF(LEN({{!{next}}}) > 0, {{!{next}}}, {{!{next}}})",
                                "{type: Text, expression: '\"x\"'}"))
    start = cpu_seconds()
    assert main(["validate", str(deep)]) == 1
    assert "the limit is 400" in capsys.readouterr().out
    assert main(["run", str(doubling)]) == 1
    assert "the limit is 1,000,000" in "".join(capsys.readouterr())
    assert main(["run", str(twice)]) == 0
    assert 'out = "x"' in capsys.readouterr().out
    assert cpu_seconds() - start < 10
