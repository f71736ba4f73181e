"""Records of a shape seen before are read whole by one pattern (`_shape_pattern`) in YAML
fixtures: the items (names, indexes, records, values and their types, lines) are those the line
reader gives reading each line, and those the hardened reader gives; and where the line reader
gives up, it gives up with the shapes too. Differential, from a fixed seed (FLOWENGINE_FUZZ_CASES
sets how many texts, FLOWENGINE_FUZZ_SEED another seed), and at block sizes that cut records."""
from __future__ import annotations

import os
import random
from pathlib import Path
from typing import Any

import pytest
from test_org_fixture_yaml_fuzz import WORDS

from flowengine.errors import LoadError
from flowengine.org import fixture_files
from flowengine.org.fixtures import _yaml_limits

CASES = int(os.environ.get("FLOWENGINE_FUZZ_CASES", "2000")) // 32
SEED = int(os.environ.get("FLOWENGINE_FUZZ_SEED", "0"))
FIELDS = ["Name", "Amount", "Id", "X", "_f", "y", "null", "K" * 1024]
ODD_LINES = ["", "# c", "  # c", "   ", "\t", "---", "...", "  Extra: 1", "    Deep: 1",
             "- Name: other", "  - Name: other", "Object2:", "- x", "  Name: again", "\r",
             "- Name: a\r", "  Name: b\rc"]


def _simple(text: str) -> bool:
    return fixture_files._YAML_FIELD.fullmatch(text) is not None


TAME = [w for w in WORDS if _simple("- X: " + w)]
QUOTED = ["it's", "a''b", "'", "", "x'", "#", " a ", ": x", "caf\u00e9"]


def _value(rnd: random.Random, odd: float) -> str:
    r = rnd.random()
    word = rnd.choice(WORDS if rnd.random() < odd else TAME)
    if r < 0.04:
        return ""
    if r < 0.6:
        return " " + word
    if r < 0.75:
        word = rnd.choice(QUOTED) if rnd.random() < 0.5 else word
        return " '" + word.replace("'", "''") + "'"
    if r < 0.9:
        return ' "' + word.replace('"', "").replace("\\", "") + '"'
    return rnd.choice(["  ", " \t", "\t"]) + word


def _text(rnd: random.Random) -> bytes:
    odd = rnd.choice([0.0, 0.0, 0.01, 0.05, 0.2])
    eol = "\r\n" if rnd.random() < 0.15 else "\n"
    lines: list[str] = []
    for name in rnd.sample(["Account", "Contact", "Case"], rnd.randint(1, 3)):
        lines.append(name + ":")
        item = rnd.choice(["", "", "  ", " "])
        shapes = [rnd.sample(FIELDS[:7], rnd.randint(1, 4)) for _ in range(rnd.randint(1, 3))]
        if rnd.random() < 0.05:
            shapes.append(FIELDS[:7] + [FIELDS[7]])
        for _ in range(rnd.choice([1, 2, 3, 5, 8, 20])):
            fields = rnd.choice(shapes) if rnd.random() < 0.9 else rnd.sample(FIELDS, 2)
            for i, field in enumerate(fields):
                head = item + ("- " if i == 0 else "  ")
                lines.append(head + field + ":" + _value(rnd, odd))
                if rnd.random() < odd:
                    lines.append(item + rnd.choice(ODD_LINES))
    text = eol.join(lines) + (eol if rnd.random() < 0.9 else "")
    if rnd.random() < odd:
        at = rnd.randint(0, len(text))
        text = text[:at] + rnd.choice(["\r", "\x85", "\ufeff", "#"]) + text[at:]
    return text.encode("utf-8")


def _read(read: Any, path: Path, limits: Any) -> Any:
    try:
        return "items", list(read(str(path), limits))
    except fixture_files._NotSimple:
        return "not simple"
    except LoadError as exc:
        return "error", exc.problem.message, exc.problem.line, exc.problem.column


@pytest.mark.parametrize("block", [fixture_files._YAML_BLOCK, 1, 7, 64])
def test_records_read_whole_are_those_read_line_by_line(tmp_path: Path,
                                                        monkeypatch: pytest.MonkeyPatch,
                                                        block: int) -> None:
    rnd = random.Random(SEED * 7919 + block)
    limits = _yaml_limits()
    path = tmp_path / "fixture.yaml"
    monkeypatch.setattr(fixture_files, "_YAML_BLOCK", block)
    monkeypatch.setattr(fixture_files, "_YAML_SHAPE_AFTER", 1)   # every shape, from its first
    whole = 0
    made = fixture_files._shape_pattern
    shaped: list[tuple[str, ...]] = []

    def learn(spaces: str, keys: tuple[str, ...]) -> Any:
        shaped.append(keys)
        return made(spaces, keys)

    cases = CASES if block == fixture_files._YAML_BLOCK or block == 64 else CASES // 8
    for case in range(cases):
        path.write_bytes(_text(rnd))
        shaped.clear()
        monkeypatch.setattr(fixture_files, "_shape_pattern", learn)
        with_shapes = _read(fixture_files._read_simple_yaml, path, limits)
        monkeypatch.setattr(fixture_files, "_YAML_SHAPES", 0)
        by_lines = _read(fixture_files._read_simple_yaml, path, limits)
        monkeypatch.undo()
        monkeypatch.setattr(fixture_files, "_YAML_BLOCK", block)
        monkeypatch.setattr(fixture_files, "_YAML_SHAPE_AFTER", 1)
        assert with_shapes == by_lines, (case, path.read_bytes()[:2000])
        whole += bool(shaped) and with_shapes != "not simple"
        if with_shapes != "not simple":
            assert with_shapes == _read(fixture_files._read_yaml_events, path, limits), case
    assert whole > cases // 20      # the cases did read records whole


def test_a_record_of_a_known_shape_followed_by_more_fields_is_read_line_by_line(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(fixture_files, "_YAML_SHAPE_AFTER", 1)
    path = tmp_path / "fixture.yaml"
    text = ("Account:\n- Name: a\n  Amount: 1\n- Name: b\n  Amount: 2\n- Name: c\n  Amount: 3\n"
            "  More: x\n- Name: d\n  Amount: 4\n# c\n- Name: e\n  Amount: '5'\n"
            "Contact:\n- Name: f\n  Amount: 6\n")
    path.write_text(text)
    items = list(fixture_files._read_simple_yaml(str(path), _yaml_limits()))
    assert [(n, i, r, line) for n, i, r, line in items] == [
        ("Account", 0, {"Name": "a", "Amount": 1}, 2),
        ("Account", 1, {"Name": "b", "Amount": 2}, 4),
        ("Account", 2, {"Name": "c", "Amount": 3, "More": "x"}, 6),
        ("Account", 3, {"Name": "d", "Amount": 4}, 9),
        ("Account", 4, {"Name": "e", "Amount": "5"}, 12),
        ("Contact", 0, {"Name": "f", "Amount": 6}, 15)]
    assert items == list(fixture_files._read_yaml_events(str(path), _yaml_limits()))


def test_a_pattern_is_made_only_for_a_shape_that_repeats(tmp_path: Path,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    made: list[tuple[str, ...]] = []
    real = fixture_files._shape_pattern
    monkeypatch.setattr(fixture_files, "_shape_pattern",
                        lambda spaces, keys: made.append(keys) or real(spaces, keys))
    after = 4
    monkeypatch.setattr(fixture_files, "_YAML_SHAPE_AFTER", after)
    path = tmp_path / "fixture.yaml"
    few = "".join(f"- Name: a{i}\n  Amount: {i}\n" for i in range(after))   # the last: at Contact
    many = "".join(f"- Name: b{i}\n  Phone: '{i}'\n" for i in range(3 * after))
    path.write_text(f"Account:\n{few}Contact:\n{many}")
    items = list(fixture_files._read_simple_yaml(str(path), _yaml_limits()))
    assert made == [("Name", "Phone")]       # compiling a pattern costs more than a few records
    assert [r for n, _, r, _ in items if n == "Contact"][-1] == {"Name": f"b{3 * after - 1}",
                                                                "Phone": f"{3 * after - 1}"}
    assert len(items) == 4 * after
