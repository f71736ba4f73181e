"""{!$Organization.Field}: the global of the org's own record, through the CLI — checked against
the Organization object's fields, read from the org store's Organization record."""
from __future__ import annotations

from pathlib import Path

import pytest

from flowengine.cli import main

FLOW = """\
flow: Org_Name
apiVersion: 62.0
variables:
  out: {type: Text, output: true}
formulas:
  greeting: {type: Text, expression: "'Hello from ' & {!$Organization.Name}"}
elements:
  Set:
    type: Assignment
    assignments:
      - {ref: out, op: Assign, value: "{!greeting} in {!$organization.City}"}
start: Set
"""


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out + err


@pytest.fixture
def flow(tmp_path: Path) -> Path:
    path = tmp_path / "org_name.yaml"
    path.write_text(FLOW, encoding="utf-8")
    return path


def test_a_flow_reads_the_org_stores_organization_record(capsys: pytest.CaptureFixture[str],
                                                          tmp_path: Path, flow: Path) -> None:
    fixture = tmp_path / "org.yaml"
    fixture.write_text("Organization:\n  - {Name: Acme Corp, City: Lyon}\n", encoding="utf-8")
    org = str(tmp_path / "org.sqlite")
    assert run(capsys, "org", "load", str(fixture), "--org", org)[0] == 0
    code, out = run(capsys, "run", str(flow), "--org", org)
    assert code == 0 and 'out = "Hello from Acme Corp in Lyon"' in out


def test_without_an_organization_record_its_fields_are_null(capsys: pytest.CaptureFixture[str],
                                                            tmp_path: Path, flow: Path) -> None:
    org = str(tmp_path / "org.sqlite")
    assert run(capsys, "org", "init", "--org", org)[0] == 0
    code, out = run(capsys, "run", str(flow), "--org", org)
    assert code == 0 and 'out = "Hello from  in "' in out


def test_an_unknown_organization_field_is_an_error_with_a_hint(
        capsys: pytest.CaptureFixture[str], flow: Path) -> None:
    flow.write_text(FLOW.replace("$organization.City", "$Organization.Cty"), encoding="utf-8")
    code, out = run(capsys, "validate", str(flow))
    assert code == 1
    assert "org_name.yaml:11:" in out and "Record Organization has no field 'Cty'; did you " \
        "mean 'City'?" in out


def test_an_unknown_global_suggests_organization(capsys: pytest.CaptureFixture[str],
                                                 flow: Path) -> None:
    flow.write_text(FLOW.replace("$organization.City", "$Organisation.Name"), encoding="utf-8")
    code, out = run(capsys, "validate", str(flow))
    assert code == 1 and "unknown global '$Organisation.Name'; did you mean " \
        "'$Organization.Name'?" in out


ELSEWHERE = {
    "a condition's bare path": """\
flow: Org_Elsewhere
variables:
  out: {type: Text, output: true}
elements:
  Check:
    type: Decision
    rules: [{name: Acme, conditions: [{left: $Organization.Name, op: EqualTo, right: Acme Corp}], next: Set}]
  Set: {type: Assignment, assignments: [{ref: out, op: Assign, value: matched}]}
start: Check
""",
    "a template alone": """\
flow: Org_Elsewhere
variables:
  out: {type: Text, output: true}
templates:
  line: "Org is {!$Organization.Name}"
elements:
  Set: {type: Assignment, assignments: [{ref: out, op: Assign, value: "{!line}"}]}
start: Set
""",
    "a variable's default": """\
flow: Org_Elsewhere
variables:
  out: {type: Text, output: true, default: "{!$Organization.Name}"}
elements:
  Set: {type: Assignment, assignments: [{ref: out, op: Assign, value: "{!out}!"}]}
start: Set
""",
}


@pytest.mark.parametrize("where", sorted(ELSEWHERE))
def test_organization_read_anywhere_in_a_flow_reads_the_store(
        capsys: pytest.CaptureFixture[str], tmp_path: Path, where: str) -> None:
    fixture = tmp_path / "org.yaml"
    fixture.write_text("Organization:\n  - {Name: Acme Corp}\n", encoding="utf-8")
    org = str(tmp_path / "org.sqlite")
    assert run(capsys, "org", "load", str(fixture), "--org", org)[0] == 0
    flow = tmp_path / "elsewhere.yaml"
    flow.write_text(ELSEWHERE[where], encoding="utf-8")
    code, out = run(capsys, "run", str(flow), "--org", org)
    expected = {"a condition's bare path": "matched", "a template alone": "Org is Acme Corp",
                "a variable's default": "Acme Corp!"}[where]
    assert code == 0 and f'out = "{expected}"' in out, out
    # the same flow as Salesforce XML
    xml = tmp_path / "Org_Elsewhere.flow-meta.xml"
    assert run(capsys, "convert", str(flow), "-o", str(xml))[0] == 0
    code, out = run(capsys, "run", str(xml), "--org", org)
    assert code == 0 and f'out = "{expected}"' in out, out

