"""`org load` and `org export` as streams, through the CLI: JSON Lines fixtures, files larger
than the cap on files read whole, hostile input in each format, and a bad record far into a
file leaving nothing loaded."""
from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

import flowengine.org.fixtures
from flowengine.cli import main
from flowengine.errors import OrgError

pytestmark = pytest.mark.usefixtures("cli_org_of_test_objects")

FORMATS = ("json", "yaml", "jsonl")


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def _shown(capsys: pytest.CaptureFixture[str], object_name: str) -> list[dict[str, Any]]:
    code, out, err = _run(capsys, "org", "show", object_name, "--format", "json")
    assert (code, err) == (0, "")
    records: list[dict[str, Any]] = json.loads(out)
    return records


def _jsonl(*entries: tuple[str, dict[str, Any]]) -> str:
    return "".join(json.dumps({"object": o, "record": r}) + "\n" for o, r in entries)


def _counters(count: int, fmt: str, bad_at: int | None = None, bad: str = "") -> str:
    """A fixture of `count` Counter records in `fmt`; record `bad_at` (0-based) is `bad`, a
    record written as the format writes one."""
    records = [f'{{"Name": "counter {i:05}", "Value": {i}}}' for i in range(count)]
    if bad_at is not None:
        records[bad_at] = bad
    if fmt == "jsonl":
        return "".join(f'{{"object": "Counter", "record": {r}}}\n' for r in records)
    if fmt == "json":
        return '{"Counter": [\n' + ",\n".join(f"  {r}" for r in records) + "\n]}\n"
    return "Counter:\n" + "".join(f"  - {r}\n" for r in records)


# -- JSON Lines ------------------------------------------------------------------------------------

def test_jsonl_export_wipe_and_load_gives_the_same_records(capsys: pytest.CaptureFixture[str],
                                                           tmp_path: Path) -> None:
    (tmp_path / "start.jsonl").write_text(_jsonl(
        ("Invoice", {"Id": "a01XX0000000100", "Name": "INV-100", "Paid": 5}),
        ("InvoiceLine", {"InvoiceId": "a01XX0000000100", "Quantity": 2, "UnitPrice": 19.99,
                         "DueDate": "2026-01-31"}),
        ("InvoiceLine", {"InvoiceId": "a01XX0000000100", "Quantity": 1, "UnitPrice": 0.5,
                         "Status": "Closed"}),
        ("Counter", {"Name": "ünïcödé 💥 \"quoted\"\nsecond line", "Value": 1.25})))
    code, out, err = _run(capsys, "org", "load", "start.jsonl")
    assert (code, err) == (0, "") and "loaded 4 records" in out
    before = {name: _shown(capsys, name) for name in ("Invoice", "InvoiceLine", "Counter")}
    assert before["Invoice"][0]["Total"] == 40.48          # the roll-ups saw the lines

    code, out, _ = _run(capsys, "org", "export", "--format", "jsonl", "-o", "out.jsonl")
    assert code == 0 and out == "exported 4 records to out.jsonl\n"
    lines = (tmp_path / "out.jsonl").read_text(encoding="utf-8").splitlines()
    entries = [json.loads(line) for line in lines]
    assert sorted(e["object"] for e in entries) == ["Counter", "Invoice", "InvoiceLine",
                                                    "InvoiceLine"]
    assert all(set(e) == {"object", "record"} for e in entries)
    invoice = next(e["record"] for e in entries if e["object"] == "Invoice")
    assert "Total" not in invoice                           # roll-ups are not exported

    assert _run(capsys, "org", "init", "--force")[0] == 0
    assert _shown(capsys, "Invoice") == []
    code, out, err = _run(capsys, "org", "load", "out.jsonl")
    assert (code, err) == (0, "") and "loaded 4 records" in out
    assert {name: _shown(capsys, name) for name in before} == before


def test_jsonl_export_to_stdout_is_one_record_a_line(capsys: pytest.CaptureFixture[str],
                                                     tmp_path: Path) -> None:
    (tmp_path / "start.yaml").write_text("Counter:\n  - {Name: a}\n  - {Name: b, Value: 2}\n")
    assert _run(capsys, "org", "load", "start.yaml")[0] == 0
    code, out, _ = _run(capsys, "org", "export", "--format", "jsonl")
    assert code == 0
    assert [json.loads(line) for line in out.splitlines()] == [
        {"object": "Counter", "record": {"Id": record["Id"], "Name": name, **value}}
        for record, name, value in zip(_shown(capsys, "Counter"), "ab", ({}, {"Value": 2}))]


def test_jsonl_skips_blank_lines(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    (tmp_path / "gaps.jsonl").write_text('\n{"object": "Counter", "record": {"Name": "a"}}\n'
                                         '  \n\n{"object": "Counter", "record": {}}\n')
    code, out, err = _run(capsys, "org", "load", "gaps.jsonl")
    assert (code, err) == (0, "") and "loaded 2 records" in out


@pytest.mark.parametrize("command", ["load", "export"])
def test_help_of_load_and_export_names_jsonl(capsys: pytest.CaptureFixture[str],
                                             command: str) -> None:
    with pytest.raises(SystemExit):
        main(["org", command, "--help"])
    assert "jsonl" in capsys.readouterr().out


# -- larger than the cap on files read whole ---------------------------------------------------

@pytest.mark.parametrize("fmt", FORMATS)
def test_an_export_larger_than_the_in_memory_cap_loads_back(
        capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        fmt: str) -> None:
    cap = 10 * 1024
    monkeypatch.setattr(flowengine.org.fixtures, "MAX_FIXTURE_BYTES", cap)
    (tmp_path / f"start.{fmt}").write_text(_counters(600, fmt))
    assert _run(capsys, "org", "load", f"start.{fmt}")[0] == 0
    before = _shown(capsys, "Counter")
    assert len(before) == 600

    code, out, _ = _run(capsys, "org", "export", "--format", fmt, "-o", f"big.{fmt}")
    assert code == 0 and out == f"exported 600 records to big.{fmt}\n"
    assert (tmp_path / f"big.{fmt}").stat().st_size > cap
    with pytest.raises(OrgError, match="fixtures are limited to 0 MB when read whole"):
        flowengine.org.fixtures.read_fixture(tmp_path / f"big.{fmt}")   # the cap holds there

    assert _run(capsys, "org", "init", "--force")[0] == 0
    code, out, err = _run(capsys, "org", "load", f"big.{fmt}")
    assert (code, err) == (0, "") and "loaded 600 records" in out
    assert _shown(capsys, "Counter") == before


# -- hostile and malformed input ---------------------------------------------------------------

ALIAS_BOMB = "".join(
    f"{name}: &{name} [{', '.join([f'*{prev}' if prev else 'lol'] * 10)}]\n"
    for prev, name in zip(["", *"abcdefgh"], "abcdefghi"))

HOSTILE = [
    ("bomb.yaml", ALIAS_BOMB,
     r"error: bomb.yaml: line \d+ column \d+: the document expands to more than 10,000,000 nodes"),
    ("tag.yaml", "Counter:\n  - {Name: a}\n  - Name: !!python/object/apply:os.system [echo]\n",
     r"error: tag.yaml: line 3 column 11: YAML tag !!python/object/apply:os.system is not "
     r"allowed in fixtures"),
    ("dup.json", '{"Counter": [\n  {"Name": "a"},\n  {"Name": "b", "Name": "c"}\n]}\n',
     r"error: dup.json: line 3 column 3: invalid JSON: duplicate key 'Name'"),
    ("dupobject.json", '{"Counter": [],\n "Counter": []}\n',
     r"error: dupobject.json: line 2 column \d+: invalid JSON: duplicate key 'Counter'"),
    ("deep.json", '{"Counter": [\n  {"Name": "a"},\n  {"Name": ' + "[" * 150 + "]" * 150 + "}\n]}",
     r"error: deep.json: line 3: JSON nested more than 100 levels deep"),
    ("cut.jsonl", '{"object": "Counter", "record": {"Name": "a"}}\n'
                  '{"object": "Counter", "record": {"Name": "b"}\n',
     r"error: cut.jsonl: line 2 column 46: invalid JSON: Expecting ',' delimiter"),
    ("shape.jsonl", '{"object": "Counter", "record": {}}\n\n["Counter", {"Name": "b"}]\n',
     r'error: shape.jsonl: line 3 column 1: expected \{"object": "<object name>", "record": '),
    ("deep.jsonl", '{"object": "Counter", "record": {}}\n'
                   '{"object": "Counter", "record": {"Name": ' + "[" * 150 + "]" * 150 + "}}\n",
     r"error: deep.jsonl: line 2: JSON nested more than 100 levels deep"),
]


@pytest.mark.parametrize("name, text, message", HOSTILE, ids=[h[0] for h in HOSTILE])
def test_hostile_input_is_refused_naming_the_line(capsys: pytest.CaptureFixture[str],
                                                  tmp_path: Path, name: str, text: str,
                                                  message: str) -> None:
    (tmp_path / name).write_text(text)
    code, out, err = _run(capsys, "org", "load", name, "--org", "new.sqlite")
    assert code == 2 and out == ""
    assert re.match(message, err), err
    assert "Traceback" not in err
    assert not (tmp_path / "new.sqlite").exists()


# -- all or nothing, however long the file -----------------------------------------------------

BAD_RECORDS = [
    ('{"Name": "bad", "Colour": "red"}', "Counter[3000]: field 'Colour'"),
    ('{"Name": "bad", "Value": "not a number"}', "Counter[3000]: field Value"),
]


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("bad, problem", BAD_RECORDS, ids=["unknown field", "bad value"])
def test_a_bad_record_past_the_first_batch_loads_nothing(
        capsys: pytest.CaptureFixture[str], tmp_path: Path, fmt: str, bad: str,
        problem: str) -> None:
    (tmp_path / f"long.{fmt}").write_text(_counters(4000, fmt, bad_at=3000, bad=bad))
    code, _, err = _run(capsys, "org", "load", f"long.{fmt}", "--org", "new.sqlite")
    assert code == 2
    line = {"jsonl": 3001, "json": 3002, "yaml": 3002}[fmt]
    assert f"error: long.{fmt}: fixture not loaded (1 problem):\n  {problem}" in err
    assert f"(line {line})" in err
    assert not (tmp_path / "new.sqlite").exists()      # a new store: not even created
    (tmp_path / "start.yaml").write_text("Counter:\n  - {Name: kept}\n")
    assert _run(capsys, "org", "load", "start.yaml")[0] == 0
    before = _shown(capsys, "Counter")
    assert _run(capsys, "org", "load", f"long.{fmt}")[0] == 2
    assert _shown(capsys, "Counter") == before         # an existing store: as it was


@pytest.mark.parametrize("fmt", FORMATS)
def test_a_syntax_error_past_the_first_batch_leaves_an_existing_store_as_it_was(
        capsys: pytest.CaptureFixture[str], tmp_path: Path, fmt: str) -> None:
    (tmp_path / "start.yaml").write_text("Counter:\n  - {Name: kept}\n")
    assert _run(capsys, "org", "load", "start.yaml")[0] == 0
    before = _shown(capsys, "Counter")
    broken = '{"Name": "bad" "Value": 1}' if fmt != "yaml" else '{"Name": bad, Value: [}'
    (tmp_path / f"long.{fmt}").write_text(_counters(4000, fmt, bad_at=3000, bad=broken))
    code, _, err = _run(capsys, "org", "load", f"long.{fmt}")
    assert code == 2
    line = {"jsonl": 3001, "json": 3002, "yaml": 3002}[fmt]
    assert f"error: long.{fmt}: line {line} column" in err
    assert _shown(capsys, "Counter") == before


# -- references --------------------------------------------------------------------------------

FORWARD = {
    "yaml": "InvoiceLine:\n  - {InvoiceId: a01XX0000000200, Quantity: 3, UnitPrice: 2}\n"
            "Invoice:\n  - {Id: a01XX0000000200, Name: INV-200}\n",
    "json": '{"InvoiceLine": [{"InvoiceId": "a01XX0000000200", "Quantity": 3, "UnitPrice": 2}],'
            '\n "Invoice": [{"Id": "a01XX0000000200", "Name": "INV-200"}]}\n',
    "jsonl": _jsonl(("InvoiceLine", {"InvoiceId": "a01XX0000000200", "Quantity": 3,
                                     "UnitPrice": 2}),
                    ("Invoice", {"Id": "a01XX0000000200", "Name": "INV-200"})),
}


@pytest.mark.parametrize("fmt", FORMATS)
def test_a_record_may_refer_to_an_id_defined_later_in_the_file(
        capsys: pytest.CaptureFixture[str], tmp_path: Path, fmt: str) -> None:
    (tmp_path / f"forward.{fmt}").write_text(FORWARD[fmt])
    code, out, err = _run(capsys, "org", "load", f"forward.{fmt}")
    assert (code, err) == (0, "") and "loaded 2 records" in out
    (invoice,) = _shown(capsys, "Invoice")
    (line,) = _shown(capsys, "InvoiceLine")
    assert invoice["Id"] == "a01XX0000000200YAA" and invoice["Total"] == 6
    assert line["InvoiceId"] == invoice["Id"]


def test_a_reference_to_an_id_in_neither_the_file_nor_the_org_loads_nothing(
        capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    (tmp_path / "dangling.jsonl").write_text(_jsonl(
        ("Invoice", {"Id": "a01XX0000000300", "Name": "INV-300"}),
        ("InvoiceLine", {"InvoiceId": "a01XX0000000999", "Quantity": 1})))
    code, _, err = _run(capsys, "org", "load", "dangling.jsonl", "--org", "new.sqlite")
    assert code == 2
    assert "InvoiceLine[0]: field InvoiceId:" in err and "(line 2)" in err
    assert "neither in this fixture nor in the org" in err
    assert not (tmp_path / "new.sqlite").exists()
