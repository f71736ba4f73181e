"""`flowengine validate` (cli.md): every problem as `file:line:column: severity: message [path]`,
exit 1 on errors, 0 with warnings only, 2 for unreadable files, never a traceback."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from helpers import FakeRegistry

from flowengine.cli import main
from flowengine.plugins import Action, Parameter
from flowengine.types import Number, Text


def validate(capsys: pytest.CaptureFixture[str], *args: str | Path) -> tuple[int, str, str]:
    code = main(["validate", *map(str, args)])
    out, err = capsys.readouterr()
    assert "Traceback" not in out + err
    return code, out, err


def validate_subprocess(path: Path) -> subprocess.CompletedProcess[str]:
    """`python -m flowengine validate path` in a fresh interpreter."""
    return subprocess.run([sys.executable, "-m", "flowengine", "validate", str(path)],
                          capture_output=True, text=True, check=False, timeout=60)


def error_lines(out: str) -> list[str]:
    return [line for line in out.splitlines() if ": error: " in line]


# -- the acceptance cases: each rejected with exit 1, file:line and the names involved ---------------

BASE = """\
flow: Cancel_Order
variables:
  quantity: {type: Number, scale: 0}
  lineItemIds: {type: Text, collection: true}
  message: Text
constants:
  MaxQuantity: {type: Number, value: 10}
elements:
  Check_Quantity:
    type: Decision
    rules:
      - name: Too_Many
        logic: "1 AND 2"
        conditions:
          - {left: quantity, op: GreaterThan, right: "{!MaxQuantity}"}
          - {left: lineItemIds, op: IsEmpty, right: false}
        next: Reject
    default: Accept
  Reject:
    type: Assignment
    assignments:
      - {ref: message, op: Assign, value: "Too many: {!quantity}"}
  Accept:
    type: Assignment
    assignments:
      - {ref: quantity, op: Add, value: 1}
start: Check_Quantity
"""


def test_the_base_flow_is_valid(capsys: pytest.CaptureFixture[str], write_flow: Any) -> None:
    path = write_flow(BASE)
    assert validate(capsys, path) == (0, "1 file checked: ok\n", "")


@pytest.mark.parametrize(("edits", "line", "column", "message"), [
    # a connector to a missing element, with a did-you-mean
    ({"        next: Reject": "        next: Rejcet"}, 17, 15,
     "the connector of outcome 'Too_Many' of element Check_Quantity goes to 'Rejcet', which is not "
     "an element; did you mean 'Reject'? [elements.Check_Quantity.rules[0].next]"),
    # a duplicated name (case-insensitively: the YAML keys differ)
    ({"  Accept:\n": "  Message:\n", "default: Accept": "default: Message"}, 23, 3,
     "duplicate name 'Message': already used by the variable 'message' on line 5 (names are "
     "unique across variables, constants, formulas, templates, elements and outcomes, ignoring "
     "case) [elements.Message]"),
    # a literal of the wrong type
    ({"op: Add, value: 1}": "op: Add, value: one}"}, 26, 41,
     "the text 'one' does not fit Number (expected a number) [elements.Accept.assignments[0].value]"),
    # an unknown operator
    ({"op: GreaterThan,": "op: GreaterThen,"}, 15, 34,
     "unknown operator 'GreaterThen'; did you mean 'GreaterThan'? (expected one of: EqualTo, "
     "NotEqualTo, GreaterThan, LessThan, GreaterThanOrEqualTo, LessThanOrEqualTo, StartsWith, "
     "EndsWith, Contains, IsNull, IsBlank, IsEmpty, WasSet, WasVisited, HasError, In, NotIn) "
     "[elements.Check_Quantity.rules[0].conditions[0].op]"),
    # an unquoted merge field
    ({'right: "{!MaxQuantity}"}': "right: {!MaxQuantity}}"}, 15, 54,
     'merge fields must be quoted: found {!MaxQuantity} without quotes, write "{!MaxQuantity}" '
     "(unquoted, YAML reads { as the start of a mapping)"),
    # a write to a constant
    ({"{ref: quantity, op: Add": "{ref: MaxQuantity, op: Add"}, 26, 15,
     "cannot write to 'MaxQuantity': 'MaxQuantity' is a constant, which is read-only; only "
     "variables can be written [elements.Accept.assignments[0].ref]"),
    # custom logic naming a condition that does not exist
    ({'logic: "1 AND 2"': 'logic: "1 AND 3"'}, 13, 16,
     "custom logic names condition 3, but there are only 2 (numbered from 1) "
     "[elements.Check_Quantity.rules[0].logic]"),
    # an unknown reference, with a did-you-mean
    ({"Too many: {!quantity}": "Too many: {!quantty}"}, 22, 43,
     "unknown name 'quantty'; did you mean 'quantity'? (no variable, constant, formula, template "
     "or element has that name) [elements.Reject.assignments[0].value]"),
    # a collection operator on a single value
    ({"{ref: quantity, op: Add": "{ref: quantity, op: RemoveAll"}, 26, 29,
     "RemoveAll is a collection operator, but 'quantity' is a single value (Number); use it on a "
     "collection variable [elements.Accept.assignments[0].op]"),
    # a misspelled key, with a did-you-mean
    ({"    default: Accept": "    defualt: Accept"}, 18, 5,
     "unknown key 'defualt'; did you mean 'default'? (allowed here: label, description, type, location, "
     "rules, default, defaultLabel) [elements.Check_Quantity.defualt]"),
])
def test_each_mistake_is_reported_with_file_line_and_names(
        capsys: pytest.CaptureFixture[str], write_flow: Any, edits: dict[str, str], line: int,
        column: int, message: str) -> None:
    text = BASE
    for old, new in edits.items():
        assert old in text
        text = text.replace(old, new)
    path = write_flow(text)
    code, out, err = validate(capsys, path)
    assert code == 1
    assert error_lines(out) == [f"{path}:{line}:{column}: error: {message}"]
    # (a broken connector also leaves its target unreachable: a warning)
    assert err.startswith("1 file checked: 1 error")


def test_a_duplicated_element_key(capsys: pytest.CaptureFixture[str], write_flow: Any) -> None:
    path = write_flow(BASE.replace("  Accept:\n", "  Reject:\n").replace("default: Accept",
                                                                          "default: Reject"))
    code, out, _ = validate(capsys, path)
    assert code == 1
    assert error_lines(out) == [
        f"{path}:23:3: error: duplicate key 'Reject' in elements, first defined on line 19; each "
        "key may appear once (YAML would silently keep only the last one) [elements.Reject]"]


def test_validate_as_a_subprocess(write_flow: Any) -> None:
    path = write_flow(BASE.replace("        next: Reject", "        next: Rejcet"))
    proc = validate_subprocess(path)
    assert proc.returncode == 1
    assert proc.stdout.startswith(f"{path}:17:15: error: the connector of outcome 'Too_Many' of "
                                  "element Check_Quantity goes to 'Rejcet', which is not an "
                                  "element; did you mean 'Reject'?")
    assert proc.stderr == "1 file checked: 1 error, 1 warning\n"


def test_a_hostile_file_as_a_subprocess(tmp_path: Path) -> None:
    path = tmp_path / "bomb.yaml"
    lines = ["flow: Demo", "a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    lines += [f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 10) + "]" for i in range(1, 10)]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    proc = validate_subprocess(path)
    assert proc.returncode == 2
    assert proc.stdout.startswith(f"{path}:7:25: error: the document expands to more than "
                                  "500,000 nodes")
    assert "Traceback" not in proc.stderr


# -- JSON output --------------------------------------------------------------------------------------

def _handler(inputs: Any, context: Any) -> dict[str, Any]:
    return {}


CANCEL = Action("cancelItems", "Cancel Items", "Acme", "Cancels items.", _handler,
                inputs=(Parameter("orderId", Text(), required=True),
                        Parameter("quantity", Number(scale=0))))


def test_json_lists_every_problem_with_its_place(capsys: pytest.CaptureFixture[str],
                                                 write_flow: Any,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("flowengine.plugins.registry.get_registry", lambda: FakeRegistry([CANCEL]))
    path = write_flow("""
        flow: Cancel_Flow
        variables:
          orderId: Text
        elements:
          Cancel:
            type: Action
            action: cancelItems
            inputs:
              orderId: "{!orderId}"
              quantity: several
            next: Done
        start: Cancel
    """)
    code, out, err = validate(capsys, "--format", "json", path)
    assert (code, err) == (1, "")
    assert json.loads(out) == [
        {"severity": "error", "code": "value.type",
         "message": "element Cancel: input quantity of action cancelItems expects Number: the text "
                    "'several' does not fit Number (expected a number)",
         "file": str(path), "line": 10, "column": 17, "path": "elements.Cancel.inputs.quantity"},
        {"severity": "error", "code": "connector.unknown",
         "message": "connector 'next' of element Cancel goes to 'Done', which is not an element",
         "file": str(path), "line": 11, "column": 11, "path": "elements.Cancel.next"},
    ]


def test_json_of_a_load_error_and_of_a_valid_file(capsys: pytest.CaptureFixture[str],
                                                  write_flow: Any) -> None:
    bad = write_flow("flow: Demo\nx: !!python/object:os.system {}\n", "bad.yaml")
    good = write_flow("flow: Demo\n", "good.yaml")
    code, out, _ = validate(capsys, "--format", "json", bad, good)
    assert code == 1
    assert json.loads(out) == [{
        "severity": "error", "code": "yaml", "file": str(bad), "line": 2, "column": 4, "path": None,
        "message": "YAML tag !!python/object:os.system is not allowed in flow files (only plain "
                   "data: text, numbers, booleans, dates, lists and mappings; a text starting "
                   "with ! must be quoted)"}]
    assert validate(capsys, "--format", "json", good) == (0, "[]\n", "")


# -- many problems, many files, warnings ------------------------------------------------------------

def test_every_problem_in_a_file_is_reported(capsys: pytest.CaptureFixture[str],
                                             write_flow: Any) -> None:
    path = write_flow(BASE.replace("next: Reject", "next: Rejcet")
                      .replace("op: Add, value: 1}", "op: Add, value: one}")
                      .replace('logic: "1 AND 2"', 'logic: "1 OR 2 AND 3"')
                      .replace("  message: Text", "  message: Txt"))
    code, out, err = validate(capsys, path)
    assert code == 1
    assert [line.split(": error: ")[0] for line in error_lines(out)] == \
        [f"{path}:5:12", f"{path}:13:16", f"{path}:17:15", f"{path}:26:41"]
    assert err == "1 file checked: 4 errors, 1 warning\n"     # Reject became unreachable


def test_several_files_and_no_warnings(capsys: pytest.CaptureFixture[str], write_flow: Any) -> None:
    unreachable = write_flow(BASE.replace("    default: Accept\n", ""), "warned.yaml")
    broken = write_flow(BASE.replace("{!quantity}", "{!quantiy}"), "broken.yaml")
    code, out, err = validate(capsys, unreachable, broken)
    assert code == 1
    assert out.splitlines() == [
        f"{unreachable}:22:3: warning: element 'Accept' cannot be reached from start "
        "'Check_Quantity': no connector leads to it [elements.Accept]",
        f"{broken}:22:43: error: unknown name 'quantiy'; did you mean 'quantity'? (no variable, "
        "constant, formula, template or element has that name) [elements.Reject.assignments[0].value]",
    ]
    assert err == "2 files checked: 1 error, 1 warning\n"
    code, out, _ = validate(capsys, "--no-warnings", unreachable)
    assert (code, out) == (0, "1 file checked: ok\n")


def test_warnings_alone_exit_0(capsys: pytest.CaptureFixture[str], write_flow: Any) -> None:
    path = write_flow(BASE.replace("    default: Accept\n", ""))
    code, out, err = validate(capsys, path)
    assert (code, err) == (0, "")
    assert out.splitlines()[-1] == "1 file checked: ok, 1 warning"


# -- files that cannot be read -------------------------------------------------------------------------

def test_a_missing_file_exits_2(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    code, out, _ = validate(capsys, tmp_path / "nope.yaml")
    assert code == 2
    assert out == f"{tmp_path / 'nope.yaml'}: error: file not found\n"


def test_a_50_mb_file_is_refused(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    path = tmp_path / "huge.yaml"
    with open(path, "wb") as fh:
        fh.truncate(50 * 1024 * 1024)
    code, out, _ = validate(capsys, path)
    assert code == 2       # not read, like a file that expands too far (both are limits)
    assert out == f"{path}: error: file is 50.0 MB; flow files are limited to 10 MB\n"


@pytest.mark.parametrize(("text", "line", "message"), [
    ("- just\n- a list\n", 1, "a flow file must be a YAML mapping with at least a 'flow' key; "
                              "found a list"),
    ("", 1, "a flow file must be a YAML mapping with at least a 'flow' key; found an empty file"),
    ("flow: Demo\nx: " + "[" * 150 + "]" * 150 + "\n", 2,
     "nesting deeper than 100 levels (lists and mappings inside each other, aliases included); "
     "refusing to load it"),
])
def test_malformed_files(capsys: pytest.CaptureFixture[str], write_flow: Any, text: str, line: int,
                         message: str) -> None:
    path = write_flow(text)
    code, out, _ = validate(capsys, path)
    assert code == (2 if "refusing to load" in message else 1)
    assert error_lines(out)[0].startswith(f"{path}:{line}:")
    assert error_lines(out)[0].endswith(f": error: {message}")


# -- the example flows ---------------------------------------------------------------------------------

EXAMPLES = sorted(p for p in (Path(__file__).parent.parent / "flows").glob("*.yaml")
                  if ".flowtest." not in p.name)


@pytest.mark.parametrize("path", EXAMPLES, ids=[p.name for p in EXAMPLES])
def test_the_example_flows_validate(capsys: pytest.CaptureFixture[str], path: Path) -> None:
    code, out, _ = validate(capsys, path)
    assert (code, out) == (0, "1 file checked: ok\n")


def test_a_directory_is_searched_for_flow_files(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "good.yaml").write_text("flow: Good\n")
    (tmp_path / "bad.yml").write_text("flow: Bad\nnxt: 1\n")
    (tmp_path / "good.flowtest.yaml").write_text("flow: good.yaml\ncases: {}\n")   # a flow test
    (tmp_path / "fixture.yaml").write_text("Location:\n  - {Name: X}\n")             # not a flow
    assert main(["validate", str(tmp_path), "--format", "json"]) == 1
    problems = json.loads(capsys.readouterr().out)
    assert {p["file"] for p in problems} == {str(tmp_path / "bad.yml")}
    assert main(["validate", str(tmp_path / "sub")]) == 0
    assert "1 file checked: ok" in capsys.readouterr().out
    empty = tmp_path / "empty"
    empty.mkdir()
    assert main(["validate", str(empty)]) == 2
    assert f"error: no flow files found in {empty}" in capsys.readouterr().err


def test_validate_imports_no_process_pool_or_database_driver() -> None:
    """Start-up: `run`'s batch options and the org stores are imported only when used."""
    flow = Path(__file__).resolve().parent.parent / "flows" / "counter.yaml"
    probe = ("import contextlib, io, json, sys\nfrom flowengine.cli import main\n"
             "with contextlib.redirect_stdout(io.StringIO()):\n"
             f"    code = main(['validate', {str(flow)!r}])\n"
             "print(json.dumps([code, sorted(m for m in ('multiprocessing', "
             "'concurrent.futures.process', 'psycopg', 'sqlite3') if m in sys.modules)]))")
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                          check=True)
    assert done.stdout.strip() == "[0, []]"
