"""The field types of a custom object beyond the common ones — TextArea, LongTextArea, Email,
Phone, Url, Percent, MultiselectPicklist — written by a flow's Create Records and read back by
its Get Records, with the checks Salesforce makes on each (length, email form, precision,
restricted picklist values), through the CLI."""
from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest

from flowengine.cli import main

OBJECTS = """
objects:
  Profile__c:
    fields:
      Bio__c: {type: TextArea}
      Notes__c: {type: LongTextArea, length: 1000}
      Email__c: {type: Email}
      Phone__c: {type: Phone}
      Site__c: {type: Url}
      Share__c: {type: Percent, precision: 5, scale: 2}
      Tags__c: {type: MultiselectPicklist, values: [Red, Green, Blue], restricted: true}
"""

FLOW = """
flow: Profile_Roundtrip
variables:
  email: {type: Text, input: true, default: ada@example.com}
  tags: {type: Text, input: true, default: Red;Blue}
  notes: {type: Text, input: true, default: notes}
  found: {type: Record, object: Profile__c, output: true}
elements:
  Create:
    type: CreateRecords
    object: Profile__c
    values: {Name: Ada, Bio__c: "line one\\nline two", Notes__c: "{!notes}", Email__c: "{!email}",
             Phone__c: "+44 20 7946 0000", Site__c: "https://example.com/ada", Share__c: 12.345,
             Tags__c: "{!tags}"}
    next: Find
  Find:
    type: GetRecords
    object: Profile__c
    filters: [{field: Tags__c, op: Contains, value: Blue}]
    firstOnly: true
    store: found
start: Create
"""


@pytest.fixture
def flow(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    (tmp_path / "flowengine-objects.yaml").write_text(textwrap.dedent(OBJECTS), encoding="utf-8")
    path = tmp_path / "profile.yaml"
    path.write_text(FLOW.lstrip("\n"), encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    return path


def run(capsys: pytest.CaptureFixture[str], flow: Path, *inputs: str) -> tuple[int, dict]:
    argv = ["run", str(flow), "--org", "org.sqlite", "--format", "json"]
    for item in inputs:
        argv += ["-i", item]
    code = main(argv)
    out, err = capsys.readouterr()
    return code, json.loads(out) if out.startswith("{") else {"stderr": err, "stdout": out}


def test_each_type_is_written_and_read_back(capsys: pytest.CaptureFixture[str],
                                            flow: Path) -> None:
    assert main(["org", "init", "--org", "org.sqlite"]) == 0
    capsys.readouterr()
    code, result = run(capsys, flow)
    assert code == 0, result
    found = result["outputs"]["found"]
    assert {k: found[k] for k in ("Bio__c", "Notes__c", "Email__c", "Phone__c", "Site__c",
                                  "Tags__c")} == {
        "Bio__c": "line one\nline two", "Notes__c": "notes", "Email__c": "ada@example.com",
        "Phone__c": "+44 20 7946 0000", "Site__c": "https://example.com/ada",
        "Tags__c": "Red;Blue"}
    assert str(found["Share__c"]) == "12.35"          # Percent(5, 2): rounded to its scale


@pytest.mark.parametrize("email, stored", [
    ("jörg@bücher.de", "jörg@bücher.de"),                 # Unicode addresses (Summer '20)
    ("John.Doe+tag@Mail.Example.co.uk", "John.Doe+tag@Mail.Example.co.uk"),
    ("", ""),                                            # empty text: no address to check
])
def test_email_fields_take_any_address(capsys: pytest.CaptureFixture[str], flow: Path,
                                       email: str, stored: str | None) -> None:
    assert main(["org", "init", "--org", "org.sqlite"]) == 0
    capsys.readouterr()
    code, result = run(capsys, flow, f"email={email}")
    assert code == 0, result
    assert result["outputs"]["found"].get("Email__c") == stored


@pytest.mark.parametrize("given, code, message", [
    ("email=not an address", "INVALID_EMAIL_ADDRESS", "invalid email address: not an address"),
    ("email=ada@", "INVALID_EMAIL_ADDRESS", "invalid email address: ada@."),
    ("tags=Red;Purple", "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST",
     "'Purple' is not one of its picklist values (Red, Green, Blue)"),
    ("notes=" + "x" * 1001, "STRING_TOO_LONG", "has 1,001 characters (max length=1000)"),
])
def test_each_type_refuses_what_salesforce_refuses(capsys: pytest.CaptureFixture[str], flow: Path,
                                                   given: str, code: str, message: str) -> None:
    assert main(["org", "init", "--org", "org.sqlite"]) == 0
    capsys.readouterr()
    exit_code, result = run(capsys, flow, given)
    assert exit_code == 1
    error = result["error"]["message"]
    assert code in error and message in error
