"""Bounds on every input and every output (issue #18, items 6, 7 and 8): collection operators
stay linear, search queries and traces are bounded, flow-test failures stay readable, and every
hostile input ends in a message with its file and line — never an internal error."""
from __future__ import annotations

import json
import subprocess
import sys
import xml.dom.minidom
from pathlib import Path
from typing import Any

import pytest
from helpers import cpu_seconds

from flowengine.cli import main

ROOT = Path(__file__).resolve().parent.parent


def cli(capsys: pytest.CaptureFixture[str], *argv: str | Path) -> tuple[int, str, str]:
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def write(folder: Path, name: str, text: str | bytes) -> Path:
    path = folder / name
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")
    return path


# -- item 4: numbers in fixtures ------------------------------------------------------------------

@pytest.mark.parametrize("name, text", [
    ("big.yaml", "Account:\n  - {Name: A, NumberOfEmployees: " + "9" * 5000 + "}\n"),
    ("big.json", '{"Account": [{"Name": "A", "NumberOfEmployees": ' + "9" * 5000 + "}]}"),
])
def test_a_5000_digit_number_in_a_fixture_is_refused_by_its_digits(
        capsys: pytest.CaptureFixture[str], tmp_path: Path, name: str, text: str) -> None:
    fixture = write(tmp_path, name, text)
    started = cpu_seconds()
    code, _, err = cli(capsys, "org", "load", fixture, "--org", tmp_path / "org.sqlite")
    assert code == 2 and "internal error" not in err
    assert (f"error: {fixture}: fixture not loaded (1 problem):\n  Account[0]: field "
            "NumberOfEmployees: a number of 5,000 digits has more than 18 digits before the "
            "decimal point") in err
    assert not (tmp_path / "org.sqlite").exists()
    assert cpu_seconds() - started < 5


# -- item 6: collection operators are linear ----------------------------------------------------

REMOVE = """\
flow: Remove
variables:
  items: {type: Text, collection: true, input: true}
  drop: {type: Text, collection: true, input: true}
  left: {type: Number, output: true}
elements:
  Remove:
    type: Assignment
    assignments:
      - {ref: items, op: OP, value: "{!drop}"}
      - {ref: left, op: AssignCount, value: "{!items}"}
start: Remove
"""
IN_A_LOOP = """\
flow: Membership
variables:
  items: {type: Text, collection: true, input: true}
  wanted: {type: Text, collection: true, input: true}
  found: {type: Text, collection: true}
  item: {type: Text}
  total: {type: Number, output: true}
elements:
  Each:
    type: Loop
    collection: items
    item: item
    each: Check
    after: Count_Found
  Check:
    type: Decision
    rules:
      - name: Is_Wanted
        conditions:
          - {left: item, op: In, right: "{!wanted}"}
        next: Keep
    default: Each
  Keep:
    type: Assignment
    assignments:
      - {ref: found, op: Add, value: "{!item}"}
    next: Each
  Count_Found:
    type: Assignment
    assignments:
      - {ref: total, op: AssignCount, value: "{!found}"}
start: Each
"""
N = 50_000   # quadratic work took about 35 s at this size (RemoveAll; 136 s at 100,000)


def big_inputs(tmp_path: Path, other: str) -> Path:
    # every other item is dropped; the wanted ones differ in case, which In ignores
    items = [f"item{i}" for i in range(N)]
    if other == "wanted":
        return write(tmp_path, "inputs.json", json.dumps(
            {"items": items, "wanted": [f"ITEM{i}" for i in range(0, 2 * N, 2)]}))
    return write(tmp_path, "inputs.json", json.dumps(
        {"items": items, "drop": [f"item{i}" for i in range(0, 2 * N, 2)]}))


@pytest.mark.parametrize("op, left", [("RemoveAll", N // 2), ("RemoveUncommon", N // 2)])
def test_remove_all_and_remove_uncommon_are_linear(capsys: pytest.CaptureFixture[str],
                                                   tmp_path: Path, op: str, left: int) -> None:
    flow = write(tmp_path, "remove.yaml", REMOVE.replace("OP", op))
    inputs = big_inputs(tmp_path, "drop")
    started = cpu_seconds()
    code, out, err = cli(capsys, "run", flow, "--inputs", inputs, "--format", "json")
    assert code == 0, err
    assert json.loads(out)["outputs"]["left"] == left
    assert cpu_seconds() - started < 10


def test_in_inside_a_loop_is_linear(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    flow = write(tmp_path, "membership.yaml", IN_A_LOOP)
    inputs = big_inputs(tmp_path, "wanted")
    started = cpu_seconds()
    code, out, err = cli(capsys, "run", flow, "--inputs", inputs, "--format", "json")
    assert code == 0, err
    assert json.loads(out)["outputs"]["total"] == N // 2
    assert cpu_seconds() - started < 10


# -- item 7: search ---------------------------------------------------------------------------------

def test_a_long_search_query_is_refused_quickly(capsys: pytest.CaptureFixture[str]) -> None:
    started = cpu_seconds()
    code, _, err = cli(capsys, "actions", "search", "a" * 30_000)
    assert code == 2
    assert err == ("error: the search query is 30,000 characters long; at most 1,000 are "
                   "searched (search for a few words)\n")
    code, out, _ = cli(capsys, "actions", "search", "a" * 1_000)
    assert code == 0 and "no actions match" in out
    code, _, err = cli(capsys, "actions", "show", "a" * 30_000)
    assert code == 2 and "unknown action" in err
    assert cpu_seconds() - started < 10


# -- item 8: traces, reports and flow-test failures are bounded -------------------------------------

COUNTING = """\
flow: Counting
variables:
  i: {type: Number, default: 0}
  n: {type: Number, input: true}
elements:
  Check:
    type: Decision
    rules:
      - name: More
        conditions:
          - {left: i, op: LessThan, right: "{!n}"}
        next: Step
  Step:
    type: Assignment
    assignments:
      - {ref: i, op: Add, value: 1}
    next: Check
start: Check
"""


def test_a_long_run_keeps_a_bounded_trace_and_report(capsys: pytest.CaptureFixture[str],
                                                     tmp_path: Path) -> None:
    flow = write(tmp_path, "counting.yaml", COUNTING)
    report = tmp_path / "run.html"
    code, out, err = cli(capsys, "run", flow, "-i", "n=15000", "--trace", "--report", report)
    assert code == 0, err
    assert out.startswith("Counting: Finished after 30001 elements")
    assert ("… steps 5,001–25,001 (20,001) are not kept in the trace (only the first 5,000 and "
            "the last 5,000 are): Check ×10,001, Step ×10,000") in out
    assert report.stat().st_size < 6_000_000
    assert "20,001 steps not kept" in report.read_text(encoding="utf-8")
    code, out, _ = cli(capsys, "run", flow, "-i", "n=15000", "--trace", "--format", "json")
    trace = json.loads(out)["trace"]
    assert len(trace) == 10_001 and trace[5_000]["omitted"] == 20_001


def _reference_trace(entries: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """What a trace of `entries` keeps: the first and the last TRACE_HEAD / TRACE_TAIL, and a
    summary of the steps between (their count, first and last step, runs and faults)."""
    from collections import Counter

    from flowengine.runtime.trace import TRACE_HEAD, TRACE_TAIL

    if len(entries) <= TRACE_HEAD + TRACE_TAIL:
        return entries
    middle = entries[TRACE_HEAD:len(entries) - TRACE_TAIL]
    runs = Counter(e["element"] for e in middle)
    faults = Counter(e["element"] for e in middle if "fault" in e)
    return entries[:TRACE_HEAD] + [{
        "omitted": len(middle), "steps": [middle[0]["step"], middle[-1]["step"]],
        "elements": dict(runs.most_common()), "faults": dict(faults.most_common())}] + \
        entries[len(entries) - TRACE_TAIL:]


@pytest.mark.parametrize("count", [0, 1, 10_000, 10_001, 14_999, 15_000, 15_001, 32_345])
def test_a_trace_buffer_keeps_the_head_the_tail_and_counts_the_rest(count: int) -> None:
    from flowengine.runtime.trace import TRACE_CHUNK, TraceBuffer

    names = ["Check", "Step", "Send", "Step"]
    entries: list[dict[str, Any]] = []
    for step in range(1, count + 1):
        entry: dict[str, Any] = {"step": step, "element": names[step % 4]}
        if step % 7 == 0 or step % 4 == 2:        # some steps faulted (Send every time)
            entry["fault"] = "boom"
        entries.append(entry)
    chunked, one_by_one = TraceBuffer(), TraceBuffer()
    for start in range(0, count, TRACE_CHUNK):    # as the interpreter keeps them
        for entry in entries[start:start + TRACE_CHUNK]:
            chunked.keep(entry)
        chunked.compact()
    for entry in entries:
        one_by_one.append(entry)
    expected = _reference_trace(entries)
    assert chunked.entries() == expected
    assert one_by_one.entries() == expected
    assert chunked.last() == (entries[-1] if entries else None)


def test_a_flow_test_failure_with_a_huge_value_stays_short(tmp_path: Path) -> None:
    write(tmp_path, "echo.yaml", "flow: Echo\nvariables:\n  text: {type: Text, input: true, "
          "output: true}\nelements: {}\n")
    big = "x" * 819_000
    write(tmp_path, "echo.flowtest.yaml", "flow: echo.yaml\ncases:\n  huge:\n    inputs: {text: "
          f"{big}}}\n    expect:\n      outputs: {{text: {big}y}}\n")
    done = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                           "echo.flowtest.yaml"], capture_output=True, text=True, cwd=tmp_path,
                          timeout=120)
    assert done.returncode == 1 and "1 failed" in done.stdout
    assert "(818,002 more characters)" in done.stdout     # actual: 819,000 x and two quotes
    assert len(done.stdout) < 60_000


# -- item 8: hostile inputs are messages with a place -------------------------------------------

def test_svg_is_well_formed_for_any_label(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    flow = write(tmp_path, "labels.yaml", 'flow: Labels\nvariables:\n  a: {type: Number}\n'
                 'elements:\n  Step:\n    type: Assignment\n    label: "bell\\x07 esc\\x1b nul\\0"\n'
                 '    assignments:\n      - {ref: a, op: Assign, value: 1}\nstart: Step\n')
    for name in ("labels.svg", "labels.html"):
        assert cli(capsys, "render", flow, "-o", tmp_path / name)[0] == 0
    xml.dom.minidom.parse(str(tmp_path / "labels.svg"))
    assert "bell\ufffd esc\ufffd nul\ufffd" in (tmp_path / "labels.html").read_text(encoding="utf-8")


def test_org_show_escapes_control_characters(capsys: pytest.CaptureFixture[str],
                                             tmp_path: Path) -> None:
    org = tmp_path / "org.sqlite"
    fixture = write(tmp_path, "f.yaml", 'Location:\n  - {Name: "\\e[31mRED\\e]0;title\\a"}\n')
    assert cli(capsys, "org", "load", fixture, "--org", org)[0] == 0
    code, out, _ = cli(capsys, "org", "show", "Location", "--org", org)
    assert code == 0 and "\x1b" not in out and "\a" not in out
    assert "\\x1b[31mRED\\x1b]0;title\\x07" in out


@pytest.mark.parametrize("content, message", [
    (b'{"limit": 3,\n "x": "\xff"}', "error: {file}:2: cannot read inputs file: file is not UTF-8 text (byte 20)"),
    (b"[" * 50_000 + b"]" * 50_000, "error: {file}:1:101: inputs file is not valid JSON: JSON nested more than 100 levels deep"),
    (b'{"limit": 3,\n "limit": 4}', "error: {file}: inputs file is not valid JSON: duplicate key 'limit'"),
])
def test_a_bad_inputs_file_is_a_message_with_its_place(capsys: pytest.CaptureFixture[str],
                                                       tmp_path: Path, content: bytes,
                                                       message: str) -> None:
    inputs = write(tmp_path, "inputs.json", content)
    code, _, err = cli(capsys, "run", ROOT / "flows" / "counter.yaml", "--inputs", inputs)
    assert code == 2 and err == message.format(file=inputs) + "\n"


def test_deep_json_in_an_input_value_is_a_message(capsys: pytest.CaptureFixture[str],
                                                  tmp_path: Path) -> None:
    flow = write(tmp_path, "list.yaml", "flow: L\nvariables:\n  ids: {type: Text, collection: "
                 "true, input: true}\nelements: {}\n")
    code, _, err = cli(capsys, "run", flow, "-i", "ids=" + "[" * 50_000)
    assert code == 2
    assert err == ("error: --input ids: collection of Text takes JSON (JSON nested more than 100 "
                   "levels deep at column 101)\n")


DECISION = """\
flow: Logic
variables:
  a: {{type: Number, default: 1}}
elements:
  Check:
    type: Decision
    rules:
      - name: One
        logic: "{logic}"
        conditions:
          - {{left: a, op: EqualTo, right: 1}}
start: Check
"""


@pytest.mark.parametrize("logic, message", [
    ("9" * 5_000, "9:16: error: custom logic names condition 999999… (5,000 digits), but there is only 1"),
    ("NOT " * 2_000 + "1", "9:16: error: custom logic nests deeper than 100 levels"),
    ("(" * 2_000 + "1" + ")" * 2_000, "9:16: error: custom logic nests deeper than 100 levels"),
])
def test_hostile_custom_logic_is_a_message(capsys: pytest.CaptureFixture[str], tmp_path: Path,
                                           logic: str, message: str) -> None:
    flow = write(tmp_path, "logic.yaml", DECISION.format(logic=logic))
    code, out, _ = cli(capsys, "validate", flow)
    assert code == 1 and f"{flow}:{message}" in out and "internal error" not in out


@pytest.mark.parametrize("text, where", [
    ("flow: X\x01\n", "1:8"),
    ("flow: X\nvariables:\n  a: {type: Text, default: \"ok\x00\"}\n", "3:31"),
])
def test_a_control_character_in_yaml_has_a_line_and_column(capsys: pytest.CaptureFixture[str],
                                                           tmp_path: Path, text: str,
                                                           where: str) -> None:
    flow = write(tmp_path, "ctl.yaml", text)
    code, out, _ = cli(capsys, "validate", flow)
    assert code == 1
    assert out.startswith(f"{flow}:{where}: error: invalid YAML: the character U+00")


def test_oversized_files_and_alias_bombs_exit_alike(capsys: pytest.CaptureFixture[str],
                                                    tmp_path: Path) -> None:
    big = tmp_path / "big.yaml"
    with open(big, "wb") as fh:
        fh.truncate(11 * 1024 * 1024)
    bomb = write(tmp_path, "bomb.yaml", "flow: B\n" + "".join(
        f"{c}: &{c} [" + ", ".join([f"*{p}" if p else '"x"'] * 10) + "]\n"
        for p, c in zip(["", "a", "b", "c", "d", "e"], "abcdef")))
    assert [cli(capsys, "validate", f)[0] for f in (big, bomb)] == [2, 2]


@pytest.mark.parametrize("line, message", [
    ("apiVersion: 62.0\nvariables:\n  a: {type: Number, scale: true}",
     "4:28: error: expected a whole number for 'scale', found the Boolean true"),
    ("apiVersion: -1e400", "2:13: error: apiVersion must be between 1.0 and 999.0"),
    ("apiVersion: .inf", "2:13: error: apiVersion must be between 1.0 and 999.0"),
    ("apiVersion: true", "2:13: error: apiVersion must be a number such as 62.0, found the Boolean true"),
])
def test_numbers_that_are_not_what_they_seem_are_refused(capsys: pytest.CaptureFixture[str],
                                                         tmp_path: Path, line: str,
                                                         message: str) -> None:
    flow = write(tmp_path, "f.yaml", f"flow: F\n{line}\n")
    code, out, _ = cli(capsys, "validate", flow)
    assert code == 1 and f"{flow}:{message}" in out


# -- found by the property suite ------------------------------------------------------------------

GROWING = """\
flow: Growing
variables:
  items: {type: Text, collection: true, default: [a]}
  text: {type: Text, default: ab}
elements:
  Grow:
    type: Assignment
    assignments:
      - {ref: TARGET, op: OP, value: VALUE}
    next: Grow
start: Grow
"""


@pytest.mark.parametrize("target, op, value, message", [
    ("items", "Add", '"{!items}"', "the collection would hold 1,048,576 items; a collection holds at most 1,000,000"),
    ("items", "AddAtStart", '"{!items}"', "the collection would hold 1,048,576 items; a collection holds at most 1,000,000"),
    ("text", "Add", '"{!text}"', "the text would be 1,048,576 characters long; a text holds at most 1,000,000"),
])
def test_a_value_that_doubles_in_a_loop_is_a_fault_not_a_memory_error(
        capsys: pytest.CaptureFixture[str], tmp_path: Path, target: str, op: str, value: str,
        message: str) -> None:
    flow = write(tmp_path, "growing.yaml", GROWING.replace("TARGET", target).replace("OP", op)
                 .replace("VALUE", value))
    code, _, err = cli(capsys, "run", flow)
    assert code == 1 and err == f"error: Grow (Assignment): {message}\n"


def test_a_traced_loop_that_grows_a_list_keeps_small_entries(capsys: pytest.CaptureFixture[str],
                                                             tmp_path: Path) -> None:
    flow = write(tmp_path, "growing.yaml", GROWING.replace("TARGET", "items")
                 .replace("OP", "Add").replace("VALUE", "x"))
    started = cpu_seconds()
    code, out, _ = cli(capsys, "run", flow, "--trace", "--format", "json", "--max-elements", "5000")
    assert code == 1 and cpu_seconds() - started < 10
    last = json.loads(out)["trace"][-2]["assignments"][0]["after"]
    assert len(last) == 101 and last[-1] == "… 4,900 more items"     # step 4,999: 5,000 items
