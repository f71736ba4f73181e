"""`flowengine run` (cli.md): typed inputs, JSON output, trace, limits, exit codes, errors."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from flowengine.cli import main

FLOW = """\
flow: Cli_Test
variables:
  qty: {type: Number, scale: 0, input: true, default: 1}
  when: {type: Date, input: true}
  at: {type: DateTime, input: true}
  flag: {type: Boolean, input: true}
  clock: {type: Time, input: true}
  label: {type: Text, input: true}
  names: {type: Text, collection: true, input: true}
  parcel: {type: Apex, apexClass: Acme.Parcel, input: true, default: {}}
  total: {type: Number, scale: 1, output: true}
  summary: {type: Text, output: true}
  secret: {type: Text}
types:
  Acme.Parcel:
    fields:
      tracking: Text
      weight: Number
elements:
  Sum:
    type: Assignment
    assignments:
      - {ref: total, op: Add, value: "{!qty}"}
      - {ref: total, op: Add, value: 0.5}
      - {ref: summary, op: Assign, value: "{!when}|{!at}|{!flag}|{!clock}|{!label}|{!names}|{!parcel.weight}"}
    next: Check
  Check:
    type: Decision
    rules:
      - name: Too_Many
        conditions:
          - {left: qty, op: GreaterThan, right: 100}
        next: Break
  Break:
    type: Assignment
    assignments:
      - {ref: names, op: RemovePosition, value: 99}
start: Sum
"""

LOOP = """\
flow: Forever
variables:
  n: {type: Number, output: true, default: 0}
elements:
  Again:
    type: Assignment
    assignments:
      - {ref: n, op: Add, value: 1}
    next: Check
  Check:
    type: Decision
    rules:
      - name: Keep_Going
        conditions:
          - {left: n, op: GreaterThan, right: 0}
        next: Again
start: Again
"""


@pytest.fixture
def flow_file(tmp_path: Path) -> Path:
    path = tmp_path / "cli_test.yaml"
    path.write_text(FLOW, encoding="utf-8")
    return path


def run_cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(["run", *map(str, args)])
    out, err = capsys.readouterr()
    return code, out, err


def run_json(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, dict[str, Any]]:
    code, out, err = run_cli(capsys, *args, "--format", "json")
    assert err == ""
    return code, json.loads(out)


PARCEL = '{"tracking": "T1", "weight": 2.5}'


def test_inputs_are_parsed_for_their_declared_types(capsys: pytest.CaptureFixture[str], flow_file: Path) -> None:
    code, data = run_json(capsys, flow_file, "--input", "qty=2", "--input", "when=2026-01-31",
                          "-i", "at=2026-01-31T10:00:00+01:00", "--input", "flag=TRUE", "--input", "clock=09:30",
                          "--input", "label=a=b", "--input", 'names=["x", "y"]', "--input", f"parcel={PARCEL}")
    assert code == 0
    assert data.pop("limits")["queries"] == {"used": 0, "limit": 100}
    assert data == {"flow": "Cli_Test", "status": "Finished", "error": None,
                    "outputs": {"total": 2.5,
                                "summary": "2026-01-31|2026-01-31T09:00:00Z|true|09:30:00|a=b|x, y|2.5"}}


def test_number_input_is_rounded_to_its_scale(capsys: pytest.CaptureFixture[str], flow_file: Path) -> None:
    code, data = run_json(capsys, flow_file, "--input", "qty=2.5")
    assert data["outputs"]["total"] == 3.5


def test_input_names_ignore_case(capsys: pytest.CaptureFixture[str], flow_file: Path) -> None:
    code, data = run_json(capsys, flow_file, "--input", "QTY=4", "--input", 'NAMES=["n"]')
    assert code == 0 and data["outputs"]["total"] == 4.5 and data["outputs"]["summary"].endswith("|n|")


def test_inputs_file_and_command_line_override(capsys: pytest.CaptureFixture[str], flow_file: Path,
                                               tmp_path: Path) -> None:
    inputs = tmp_path / "inputs.json"
    inputs.write_text(json.dumps({"qty": 3, "names": ["z"], "parcel": {"weight": 1}, "when": "2026-02-01"}))
    code, data = run_json(capsys, flow_file, "--inputs", inputs, "--input", "qty=4")
    assert code == 0
    assert data["outputs"] == {"total": 4.5, "summary": "2026-02-01|||||z|1"}


def test_text_output_and_exit_0(capsys: pytest.CaptureFixture[str], flow_file: Path) -> None:
    code, out, err = run_cli(capsys, flow_file, "--input", "qty=2")
    assert code == 0 and err == ""
    assert out.splitlines()[0] == "Cli_Test: Finished after 2 elements"
    assert "  total = 2.5" in out


def test_trace_in_json_and_text(capsys: pytest.CaptureFixture[str], flow_file: Path) -> None:
    code, data = run_json(capsys, flow_file, "--trace")
    assert [entry["element"] for entry in data["trace"]] == ["Sum", "Check"]
    assert data["trace"][0]["assignments"][0] == {"ref": "total", "op": "Add", "before": None, "after": 1}
    assert data["trace"][1]["outcome"] == "default"
    code, out, _ = run_cli(capsys, flow_file, "--trace")
    assert "trace:" in out and "1. Sum (Assignment)" in out and "outcome: default" in out


def test_failed_interview_exits_1_with_the_error(capsys: pytest.CaptureFixture[str], flow_file: Path) -> None:
    code, data = run_json(capsys, flow_file, "--input", "qty=101")
    assert code == 1
    assert data["status"] == "Failed"
    assert data["error"]["element"] == "Break" and data["error"]["type"] == "RuntimeError"
    assert "RemovePosition 99" in data["error"]["message"]
    assert "trace" not in data
    code, out, err = run_cli(capsys, flow_file, "--input", "qty=101")
    assert code == 1 and "Failed" in out and "error: " in err and "RemovePosition 99" in err


def test_max_elements(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    path = tmp_path / "forever.yaml"
    path.write_text(LOOP)
    code, data = run_json(capsys, path, "--max-elements", "7")
    assert code == 1
    assert data["error"]["type"] == "LimitExceeded"
    assert "more than 7 elements" in data["error"]["message"]
    assert data["outputs"]["n"] == 4


@pytest.mark.parametrize(("args", "words"), [
    (["--input", "qtty=2"], "error: flow Cli_Test has no input 'qtty'; did you mean 'qty'?"),
    (["--input", "secret=x"], "error: 'secret' is not an input variable of flow Cli_Test"),
    (["--input", "total=1"], "error: 'total' is not an input variable"),
    (["--input", "qty=lots"], "error: input qty: the text 'lots' does not fit Number"),
    (["--input", "when=31/01/2026"], "error: input when: the text '31/01/2026' does not fit Date"),
    (["--input", "flag=yes"], "does not fit Boolean (expected true or false)"),
    (["--input", "names=[1"], "error: --input names: collection of Text takes JSON"),
    (["--input", "parcel={\"weigth\": 1}"], "Acme.Parcel has no field 'weigth'; did you mean 'weight'?"),
    (["--input", "qty"], "error: --input 'qty': expected NAME=VALUE"),
    (["--max-elements", "0"], "error: --max-elements must be a positive number"),
    (["--inputs", "missing.json"], "error: missing.json: cannot read inputs file"),
])
def test_bad_input_exits_2_without_a_traceback(capsys: pytest.CaptureFixture[str], flow_file: Path,
                                              args: list[str], words: str) -> None:
    code, out, err = run_cli(capsys, flow_file, *args)
    assert code == 2
    assert out == ""
    assert words in err and err.startswith("error: ")
    assert "Traceback" not in err


def test_inputs_file_that_is_not_an_object(capsys: pytest.CaptureFixture[str], flow_file: Path,
                                           tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text("[1]")
    assert run_cli(capsys, flow_file, "--inputs", bad)[0] == 2
    bad.write_text("{oops")
    code, _, err = run_cli(capsys, flow_file, "--inputs", bad)
    assert code == 2 and "bad.json:1:2: inputs file is not valid JSON" in err


def test_invalid_or_missing_flow_exits_2(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    code, out, err = run_cli(capsys, tmp_path / "nope.yaml")
    assert code == 2 and "error:" in err and "file not found" in err
    broken = tmp_path / "broken.yaml"
    broken.write_text("flow: Broken\nvariables:\n  n: {type: Number}\nelements:\n  A:\n    type: Assignment\n"
                      "    assignments:\n      - {ref: m, op: Add, value: 1}\nstart: A\n")
    code, out, err = run_cli(capsys, broken)
    assert code == 2 and out == ""
    assert "broken.yaml:8" in err and "unknown name 'm'" in err
