"""YAML fixtures in block style are read line by line (`fixture_files._read_simple_yaml`), and
anything else by the hardened reader: both must give the same items, lines and errors, and a
line the simple reader does not take hands the rest of the file to the hardened one."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from flowengine.cli import main
from flowengine.errors import LoadError
from flowengine.org import fixture_files
from flowengine.org.fixtures import _yaml_limits

SIMPLE = [
    "Account:\n- Name: Account 0\n  AccountNumber: A-0000000\n  Industry: Retail\n"
    "  AnnualRevenue: 0.5\n",
    "Account:\n  - Name: a\n    X: 1\n  - Name: b\nContact:\n  - LastName: c\n",
    "Account:\n- Name: 'it''s'\n  B: \"q\"\n  C: ''\n  D:\n  E: ~\n  F: null\n  G: true\n"
    "  H: yes\n  I: No\n  J: 2024-01-31\n  K: 12\n  L: -3.5\n  M: 1e3\n  N: 0x1F\n  O: .inf\n"
    "  P: 1_000\n  Q: +5\n  R: 1:30\n  S: 12:30:00\n  T: 0o17\n  U: 017\n  V: 0b101\n",
    "Account:\n- Name: TRUE\n  A: False\n  B: NULL\n  C: Null\n  D: nulls\n  E: .5\n"
    "  F: -.5e-3\n  G: 1.\n  H: -5\n  I: -x\n",
    "Account:\n- Name: a#c\n  X: http://x.y/z?q=1\n  Y: a, b [c] {d}\n  Z: a:b  c:#d -\n"
    "  W: -.5\n  V: '- x: #y'\n  U: \"a: #b\"\n",
    "# c\n\nAccount:\n\n- Name: x\n  # mid\n  X: 1\n",
    "Account:\r\n- Name: x\r\n  X: 1\r\n",
    "Account:\n- Name: caf\u00e9 \U0001F4A5\n",
    "Account:\n- Amount: " + "9" * 5000 + "\n",
    "Unknown:\n- Name: x\nAccount:\n- Name: y\n",
]

NOT_SIMPLE = [
    "Account:\n- Name: a\n- Name: b\nAccount:\n- Name: c\n",          # an object twice
    "Account:\n- Name: a\n  Name: b\n",                               # a field twice
    "Account:\n- Name: a: b\n",
    "Account:\n- Name: a #c\n",
    "Account:\n- Name: x \n",
    "Account:\n- Name: !!binary aGVsbG8=\n",
    "Account:\n- Name: &a x\n- Name: *a\n",
    "Account:\n- Name: x\n- Name: y\n  Bad: [\n",
    "Account:\n- Name: x\n- {Name: y}\n",
    "Account: []\n",
    "Account:\n",
    "",
    "Account:  \n- Name: x\n",
    "Account:\r- Name: x\r",
    "\ufeffAccount:\n- Name: x\n",
    "Account:\n- Name: x\x01\n",
    "Account:\n- Name: x\u2028y\n",
    "Account:\n- Name: x\n  X: 1\n- Name: y\n    Z: 3\n",
    "Account:\n- Name: -5\n  B: - \n",
    "Account:\n- Name: -5\n  B: -\n",
    "Account:\n- Name: -5\n  B: -",
    "Account:\n- Name: a:\n",
    "Account:\n- Name: a:\r\n",
    "Account:\n- Name: a:b: c\n",
    "Account:\n- Name: a  #b\n",
    "Account:\n- Name: 2024-13-45\n",
    "Account:\n- Name: 'a\n  b'\n",
    "Account:\n- Name: a\n  b\n",
    "Account:\n- Name: =\n",
    "Account:\n- Name: \"a\\\"b\"\n",
    "Account:\n- Name: x\n---\nB:\n- x: 1\n",
    "Account:\n- Name: x\n...\n",
    "Account:\n-   Name: x\n",
    "Account:\n- Name: x\n  Nested:\n    A: 1\n",
    "Account:\n- Name: x\n  List:\n  - 1\n",
    "Account:\n- Name: x\nOther: 5\n",
    "Account:\n- Name: 1\n" + "".join(f"  F{i}: {i}\n" for i in range(60)),   # node limit
]


def _items(read: Any, path: Path, limits: Any) -> Any:
    try:
        return "items", list(read(str(path), limits))
    except LoadError as exc:
        return "error", exc.problem.message, exc.problem.line, exc.problem.column


def _simple(path: Path, limits: Any) -> bool:
    try:
        list(fixture_files._read_simple_yaml(str(path), limits))
    except fixture_files._NotSimple:
        return False
    return True


@pytest.mark.parametrize("text", SIMPLE + NOT_SIMPLE)
def test_the_line_reader_gives_what_the_hardened_reader_gives(tmp_path: Path, text: str) -> None:
    path = tmp_path / "fixture.yaml"
    path.write_bytes(text.encode("utf-8"))
    limits = _yaml_limits()
    if "F59" in text:     # a record of more fields than the node limit lets one item hold
        import dataclasses
        limits = dataclasses.replace(limits, max_nodes=100)
    assert _simple(path, limits) == (text in SIMPLE)
    assert _items(fixture_files.read_items, path, limits) == \
        _items(fixture_files._read_yaml_events, path, limits)


def _accounts(count: int, odd: dict[int, str] | None = None) -> str:
    """`count` Counter records in block style; record i is written as odd[i] when given."""
    parts = ["Counter:\n"]
    for i in range(count):
        parts.append((odd or {}).get(i) or f"- Name: counter {i:05}\n  Value: {i}\n")
    return "".join(parts)


@pytest.mark.usefixtures("cli_org_of_test_objects")
@pytest.mark.parametrize("odd, problem", [
    ("- Name: bad\n  Colour: red\n", "Counter[3000]: field 'Colour'"),
    ("- Name: bad\n  Value: not a number\n", "Counter[3000]: field Value"),
    ("- Name: bad\n  Value: [1,\n", "line 6004 column 1: invalid YAML"),
    ("- {Name: bad, Value: [}\n", "line 6002 column 23: invalid YAML"),
], ids=["unknown field", "bad value", "syntax", "flow style, syntax"])
def test_a_bad_record_far_into_a_block_style_file_is_reported_with_its_line(
        capsys: pytest.CaptureFixture[str], tmp_path: Path, odd: str, problem: str) -> None:
    (tmp_path / "long.yaml").write_text(_accounts(4000, {3000: odd}))
    assert main(["org", "load", "long.yaml", "--org", "new.sqlite"]) == 2
    err = capsys.readouterr().err
    assert problem in err
    if problem.startswith("Counter"):
        assert "(line 6002)" in err
    assert not (tmp_path / "new.sqlite").exists()


@pytest.mark.usefixtures("cli_org_of_test_objects")
def test_a_file_that_turns_complex_loads_the_same_records(
        capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    """Records after a line the simple reader does not take (a flow mapping, an anchor) come
    from the hardened reader: the load is the same as of the same records all in block style."""
    odd = {2500: "- {Name: counter 02500, Value: 2500}\n",
           2600: "- Name: &n counter 02600\n  Value: 2600\n"}
    (tmp_path / "mixed.yaml").write_text(_accounts(3000, odd))
    (tmp_path / "plain.yaml").write_text(_accounts(3000))
    shown = []
    for name in ("mixed", "plain"):
        assert main(["org", "load", f"{name}.yaml", "--org", f"{name}.sqlite"]) == 0
        assert "loaded 3000 records" in capsys.readouterr().out
        assert main(["org", "show", "Counter", "--format", "json", "--org",
                     f"{name}.sqlite"]) == 0
        records = json.loads(capsys.readouterr().out)
        shown.append([(r["Name"], r["Value"]) for r in records])
    assert shown[0] == shown[1]


def test_plain_numbers_read_as_the_resolver_reads_them() -> None:
    """Plain decimals and whole numbers skip the resolver: the same values (and digits) as
    through it, and the same refusals for what only looks like a number."""
    import random

    from flowengine.formats.yaml import PlainScalars

    fast, slow = PlainScalars(_yaml_limits()), PlainScalars(_yaml_limits())
    slow._numbers = False

    def read(plain: Any, text: str) -> Any:
        try:
            value = plain(text)
        except ValueError as exc:
            return "error", str(exc)
        return type(value), str(value)

    rnd = random.Random(5)
    texts = ["0", "-0", "00", "0.0", "-0.0", "1.50", "007", "1_000", "1.5e3", "12:30", "0x1F",
             "-.5", "1.", ".5", "1" * 40, "1." + "2" * 40, "2026-01-31"]
    texts += [rnd.choice(["", "-", "+"]) + "".join(rnd.choice("0123456789._e-")
                                                   for _ in range(rnd.randint(1, 8)))
              for _ in range(20_000)]
    for text in texts:
        assert read(fast, text) == read(slow, text), text
