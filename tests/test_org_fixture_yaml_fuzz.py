"""Differential fuzzing of the short paths of YAML fixtures against the hardened reader and
PyYAML's dumper (`flowengine.org.fixture_files`):

- reading: the items a fixture gives (names, indexes, records with their values and types,
  lines) and its error are the same when block-style lines are read by regular expression
  (`_read_simple_yaml`) as when the hardened reader reads the whole file;
- writing: `org export --format yaml` writes the same bytes with `_YamlText` as with the dumper
  alone, and they load back to the same records.

Texts and records come from a fixed seed; FLOWENGINE_FUZZ_CASES sets how many (a longer run),
FLOWENGINE_FUZZ_SEED another seed.
"""
from __future__ import annotations

import dataclasses
import datetime as dt
import json
import os
import random
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from flowengine.cli import main
from flowengine.errors import LoadError
from flowengine.org import fixture_files
from flowengine.org.fixtures import _yaml_limits, plain_value

CASES = int(os.environ.get("FLOWENGINE_FUZZ_CASES", "2000"))
SEED = int(os.environ.get("FLOWENGINE_FUZZ_SEED", "0"))

# -- reading -------------------------------------------------------------------------------

WORDS = [
    "yes", "no", "on", "off", "y", "n", "Y", "N", "true", "True", "TRUE", "false", "False",
    "FALSE", "tRUE", "null", "Null", "NULL", "nulls", "~", ".inf", ".Inf", "-.inf", "+.INF",
    ".NaN", ".nan", "0x1F", "0x_", "-0x1f", "0o17", "017", "08", "0_7", "1_000", "1__0", "1:20",
    "1:20:30.5", "-1:20", "1:60", "190:20:30", "1e3", "1E3", "1.5e-3", "1.5e+3", "1.0e+3", "+1",
    "-0", "0", "00", "-0.0", ".5", "5.", "-.5", "+.5", "1.", "._", "0b101", "0b2", "-0b1",
    "2026-01-31", "2026-1-31", "2026-01-31T10:00:00Z", "2026-01-31 10:00:00.5 +02:00",
    "2026-01-31t10:00:00.123456789-05", "2026-01-31 10:00:00 -5", "2026-13-45", "2026-02-30",
    "2026-01-31T25:00:00", "2026-01-31T10:00:00+99:99", "0000-01-01", "=", "<<", "<", "-",
    "--", "---", "...", "?", "?x", ":", ":x", "x:", "a:b", "a:b:c", "a: b", "a #b", "a#b",
    "a  #b", "http://x.y/z?q=1#f", "12:30", "-x", "- x", "-1", "@x", "`x", "%x", "!x", "!!str x",
    "!!binary aGVsbG8=", "!!int 3", "!!float 1", "!!python/object:x", "&a x", "*a", "|", ">",
    "|-", ">+", "'q", '"q', "[1]", "[1, 2]", "{a: 1}", "{}", "[]", "a, b", "a,b [c] {d}",
    "[", "]", "{", "}", "#", "#x", "a  b", "a b  c", "caf\u00e9", "\U0001F4A5", "x\u2028y",
    "x\x85y", "\ufeffx", "x\ufeff", "\xa0x", "x\xa0", "\u00adx", "x\ufffe", "x\ufffd",
    "x\x7f", "x\x01", "\t", "x\ty", "x\t", "Account 0", "A-0000000", "Retail", "0.5",
    "12.50", "-120", "9" * 5000, "1" * 4300, "-" + "1" * 4001, "0x" + "f" * 600,
    "1." + "5" * 3000, "1:" * 50 + "0", "1e99999", "9" * 31 + ".5", "9" * 32,
    "x" * 1100, "x " * 600,
]
CHARS = ("abcxyzABCXYZ0123456789 :#-'\"\\,[]{}&*!|>%@`?.~+=<_/\t\u00e9\U0001F4A5\u2028\x85"
         "\xa0\ufeff\x7f\x01\u00ad\ufffe\u3042")
NAMES = ["Account", "Contact", "Case", "y", "n", "null", "true", "on", "Yes", "_x", "A_b1",
         "Name", "Amount", "X" * 1024, "X" * 1025, "Acc-ount", "Acc.ount", "1Account",
         '"Account"', "'Contact'", "Account ", "\u00c4ccount", "<<", "?Account", "-Account"]
FIELDS = ["Name", "Amount", "X", "AccountNumber", "Industry", "_f", "f1", "y", "n", "on",
          "null", "true", "Id", "K" * 1024, "K" * 1025, "A-b", "a.b", '"Name"', "'Name'",
          "1x", "Name ", "\u00e9t\u00e9", "<<", "? X", "Na me"]
EOLS = ["\n"] * 12 + ["\r\n", "\r"]
TRAILS = [""] * 20 + [" ", "  ", "\t", " # c", " #", "# c", "\t# c", " \t"]


def _simple_line(text: str) -> bool:
    return fixture_files._YAML_FIELD.fullmatch(text) is not None


# words and characters the line reader takes as a plain value (of the texts above)
TAME_WORDS = [w for w in WORDS if _simple_line("- X: " + w)]
TAME_CHARS = "".join(c for c in CHARS if _simple_line("- X: a" + c + "a"))


class _Gen:
    """One fixture text: simple lines but for odd ones, one in 1/wild."""

    def __init__(self, rnd: random.Random) -> None:
        self.rnd = rnd
        self.wild = rnd.choice([0.0, 0.005, 0.02, 0.05, 0.15, 0.4])

    def odd(self) -> bool:
        return self.rnd.random() < self.wild

    def word(self) -> str:
        rnd, odd = self.rnd, self.odd()
        if rnd.random() < 0.55:
            return rnd.choice(WORDS if odd else TAME_WORDS)
        while True:
            word = "".join(rnd.choice(CHARS if odd else TAME_CHARS)
                           for _ in range(rnd.randint(0, 12)))
            if odd or _simple_line("- X: " + word):
                return word

    def quoted(self, text: str) -> str:
        rnd, odd = self.rnd, self.odd()
        if rnd.random() < 0.4:
            return "'" + (text if odd else text.replace("'", "''")) + "'"
        escapes = ["\\n", '\\"', "\\\\", "\\u00e9", "\\x41", "\\U0001F4A5", "\\t", "\\q", "\\",
                   "\\ ", "\\0", "\\_", "\\N", "\\L", "\\x4"]
        body = text if odd else text.replace("\\", "\\\\").replace('"', '\\"')
        if self.odd():
            at = rnd.randint(0, len(body))
            body = body[:at] + rnd.choice(escapes) + body[at:]
        return '"' + body + '"'

    def value(self, indent: str) -> str:
        """The text after `Field:` (with its separator)."""
        rnd = self.rnd
        r = rnd.random()
        if r < 0.05:
            return ""                                          # null
        if not self.odd():
            return " " + (self.word() if r < 0.65 else self.quoted(self.word()))
        sep = " " if rnd.random() < 0.8 else rnd.choice(["  ", "   ", "\t", "\t "])
        if r < 0.4:
            return sep + self.word()
        if r < 0.6:
            return sep + self.quoted(self.word())
        if r < 0.68:
            return sep + rnd.choice(["{a: 1}", "[1]", "[]", "{}", "{Name: x, X: 1}", "[a, [b]]"])
        if r < 0.76:
            return sep + rnd.choice(["&a x", "*a", "&b 5", "!!str 5", "!!binary aGVsbG8=",
                                     '!!int "3"', "! x", "!!timestamp 2026-01-31", "&c"])
        if r < 0.84:                                           # a block scalar
            more = indent + rnd.choice(["  ", "    ", " ", ""])
            return sep + rnd.choice(["|", ">", "|-", ">+", "|2"]) + "\n" + more + self.word() + \
                "\n" + more + self.word()
        if r < 0.92:                                           # a plain scalar on two lines
            more = indent + rnd.choice(["  ", "    ", " ", "", "   "])
            return sep + self.word() + "\n" + more + self.word()
        return sep + self.word() + rnd.choice(["\n" + indent + "  - 1", "\n" + indent + "    A: 1",
                                               "\n" + indent + "- 1", ":", " :", "\n"])

    def name(self, names: list[str], common: int) -> str:
        return self.rnd.choice(names) if self.odd() else names[self.rnd.randrange(common)]

    def trail(self) -> str:
        return self.rnd.choice(TRAILS) if self.odd() else ""

    def text(self) -> bytes:
        """A fixture: mostly simple block-style YAML, with the odd tricky line."""
        rnd, odd = self.rnd, self.odd
        eol = rnd.choice(["\n"] * 6 + ["\r\n"]) if not odd() else rnd.choice(EOLS)
        lines: list[str] = []

        def extra() -> None:
            if rnd.random() < 0.08:
                lines.append(rnd.choice(["", "# a comment", "  # indented", "   ", "#",
                                         "# caf\u00e9 \U0001F4A5"]))
            if odd():
                lines.append(rnd.choice(["", "\t", "#\x85", "# \u2028", "---", "...",
                                         "%YAML 1.1", "  ", " #x\t", "#\x7f", "# \ufeff"]))

        extra()
        if odd():
            lines.append(rnd.choice(["---", "--- # c", "%YAML 1.1\n---"]))
        names = [self.name(NAMES, 4) for _ in range(rnd.choice([1, 1, 2, 2, 3, 4]))]
        if not odd():
            names = list(dict.fromkeys(names))
        for name in names:
            lines.append(name + ":" + self.trail())
            extra()
            item = rnd.choice(["", "", "", "  ", "    ", " "])
            for _ in range(rnd.choice([0, 1, 1, 2, 3, 5, 8] if odd() else [1, 1, 2, 3, 5, 8])):
                fields = [self.name(FIELDS, 7) for _ in range(rnd.randint(1, 5))]
                if not odd():
                    fields = list(dict.fromkeys(fields))
                first = True
                for field in fields:
                    if first:
                        head = item + (rnd.choice(["-  ", "-\t", "-", "-   "]) if odd() else "- ")
                    else:
                        head = item + (rnd.choice(["   ", " ", ""]) if odd() else "  ")
                    first = False
                    lines.append(head + field + ":" + self.value(item) + self.trail())
                    extra()
        if odd():
            lines.append(rnd.choice(["...", "---", "--- x", "... # end"]))
        text = eol.join(lines)
        if rnd.random() < 0.9:
            text += eol
        if odd():
            text = eol.join(part if rnd.random() < 0.8 else part.rstrip("\n") + rnd.choice(EOLS)
                            for part in text.split(eol))
        if odd() and rnd.random() < 0.2:
            text = "\ufeff" + text
        data = text.encode("utf-8", "surrogatepass")
        if odd() and rnd.random() < 0.3:                   # a byte that is not UTF-8, or a NUL
            at = rnd.randint(0, len(data))
            data = data[:at] + rnd.choice([b"\xff", b"\xc3", b"\xed\xa0\x80", b"\x00",
                                           b"\xe2\x80"]) + data[at:]
        return data


def fixture_text(rnd: random.Random) -> bytes:
    return _Gen(rnd).text()


def _canon(value: Any) -> Any:
    """A value with its type, so that 1 and Decimal(1) and True differ."""
    if isinstance(value, dict):
        return ("dict", [(_canon(k), _canon(v)) for k, v in value.items()])
    if isinstance(value, list):
        return ("list", [_canon(v) for v in value])
    return (type(value).__name__, repr(value))


def _read(path: Path, limits: Any, fast: bool) -> tuple[list[Any], Any]:
    """The items read (canonical) and the error that ended the reading (None: no error)."""
    items: list[Any] = []
    saved = fixture_files._read_simple_yaml
    if not fast:
        def not_simple(name: str, limits: Any) -> Iterator[Any]:
            raise fixture_files._NotSimple
        fixture_files._read_simple_yaml = not_simple   # type: ignore[assignment]
    try:
        for name, index, record, line in fixture_files.read_items(path, limits):
            items.append((name, index, _canon(record), line))
        error = None
    except LoadError as exc:
        p = exc.problem
        error = ("LoadError", p.message, p.file, p.line, p.column, p.code)
    except Exception as exc:     # anything else must be the same too
        error = (type(exc).__name__, str(exc))
    finally:
        fixture_files._read_simple_yaml = saved          # type: ignore[assignment]
    return items, error


def _simple_items(path: Path, limits: Any) -> int:
    """How many items the line reader gives before it hands over (-1: all of the file)."""
    count = 0
    try:
        for _ in fixture_files._read_simple_yaml(str(path), limits):
            count += 1
    except fixture_files._NotSimple:
        return count
    return -1


_READER_ERRORS = ("is not allowed in YAML", "is not UTF-8")


def check_read(path: Path, data: bytes, limits: Any) -> str:
    """Compare; returns how far the line reader went ("all", "part", "none")."""
    path.write_bytes(data)
    fast, slow = _read(path, limits, True), _read(path, limits, False)
    if fast != slow:
        (fast_items, fast_error), (slow_items, slow_error) = fast, slow
        # libyaml checks the characters of a whole block of input as it reads it, before the
        # records of that block: the hardened reader may report a character it does not take
        # before records ahead of it, which the line reader gave already. Only then may the
        # line reader give more records before the same error, and those must be what the
        # hardened reader reads of the lines before that character.
        assert fast_error == slow_error and fast_error is not None, (data, fast, slow)
        assert fast_error[0] == "LoadError" and any(e in fast_error[1] for e in _READER_ERRORS), \
            (data, fast, slow)
        assert fast_items[:len(slow_items)] == slow_items, (data, fast, slow)
        lines = data.split(b"\n")
        path.write_bytes(b"\n".join(lines[:fast_error[3] - 1]) + b"\n")
        before, error = _read(path, limits, False)
        if error is None:
            assert before[:len(fast_items)] == fast_items, (data, fast, before)
    taken = _simple_items(path, limits)
    return "all" if taken < 0 else "part" if taken else "none"


def _limits(rnd: random.Random) -> Any:
    limits = _yaml_limits()
    if rnd.random() < 0.1:      # small node limits (odd and even), shallow depths
        limits = dataclasses.replace(limits, max_nodes=rnd.randint(3, 16),
                                     max_depth=rnd.choice([2, 3, 3, 4, 64]))
    if rnd.random() < 0.05:     # YAML 1.1's Booleans (yes/no/on/off), as flow files read them
        limits = dataclasses.replace(limits, yaml11_booleans=True)
    return limits


KNOWN = [
    # a key longer than 1024 characters is no simple key for libyaml (nor PyYAML)
    b"Account:\n- Name: x\n  " + b"K" * 1025 + b": 1\n",
    b"Account:\n- " + b"K" * 1025 + b": 1\n",
    b"K" * 1025 + b":\n- Name: x\n",
    b"Account:\n- " + b"K" * 1024 + b": 1\n  " + b"L" * 1024 + b": 2\n" + b"M" * 1024 + b":\n- a: 1\n",
    # a character the reader refuses further on: the same error
    b"Account:\n- Name: x\n- Name: y\n- Name: z\x01\n",
    b"Account:\n- Name: x\n- Name: y\n- Name: \xff\n",
]


@pytest.mark.parametrize("data", KNOWN)
def test_known_cases_read_the_same(tmp_path: Path, data: bytes) -> None:
    check_read(tmp_path / "fixture.yaml", data, _yaml_limits())


@pytest.mark.parametrize("nodes", range(3, 24))
def test_records_at_the_node_limit_read_the_same(tmp_path: Path, nodes: int) -> None:
    """The first record of a file also counts the top mapping, its key and the list."""
    limits = dataclasses.replace(_yaml_limits(), max_nodes=nodes)
    for fields in range(1, 12):
        record = "".join(f"  F{i}: {i}\n" for i in range(1, fields))
        for text in (f"Account:\n- F0: 0\n{record}",
                     f"Account:\n- F0: 0\n- F0: 0\n{record}",
                     f"Account:\n- F0: 0\nContact:\n- F0: 0\n{record}"):
            check_read(tmp_path / "fixture.yaml", text.encode(), limits)


def test_fuzzed_fixtures_read_the_same(tmp_path: Path) -> None:
    rnd = random.Random(20260131 + SEED)
    path = tmp_path / "fixture.yaml"
    reached = {"all": 0, "part": 0, "none": 0}
    for _ in range(CASES):
        reached[check_read(path, fixture_text(rnd), _limits(rnd))] += 1
    # the texts reach the line reader's every way out
    assert min(reached.values()) > CASES // 10, reached


@pytest.mark.usefixtures("cli_org_of_test_objects")
def test_fuzzed_fixtures_load_the_same(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                       monkeypatch: pytest.MonkeyPatch) -> None:
    rnd = random.Random(7 + SEED)
    simple = fixture_files._read_simple_yaml
    values = ["7", "7.5", "-0", "1e3", "'7'", '"x"', "x", "yes", "true", "~", "", "2026-01-31",
              "1_0", "0x1F", "&a 1", "[1]", "caf\u00e9", "x #c", "x: y"]
    texts = [  # a record that does not load, before a character the reader refuses
        b"Counter:\n- Name: a\n  Value: x\n- Name: b\n- Name: c\x01\n",
        b"Counter:\n- Name: a\n  Colour: red\n- Name: b\n- Name: \xff\n",
    ]
    for _ in range(max(10, CASES // 200)):
        lines = ["Counter:"]
        for _ in range(rnd.randint(1, 4)):
            lines.append(f"- Name: {rnd.choice(values)}")
            lines.append(f"  Value: {rnd.choice(values)}")
        texts.append(("\n".join(lines) + "\n").encode())
    codes = set()
    for case, text in enumerate(texts):
        (tmp_path / f"f{case}.yaml").write_bytes(text)
        shown = []
        for fast in (True, False):
            monkeypatch.setattr(fixture_files, "_read_simple_yaml",
                                simple if fast else _not_simple)
            org = f"o{case}{fast}.sqlite"
            code = main(["org", "load", f"f{case}.yaml", "--org", org])
            out = capsys.readouterr()
            stored = None
            if code == 0:
                assert main(["org", "export", "--format", "json", "--org", org]) == 0
                stored = json.loads(capsys.readouterr().out)
                for records in stored.values():
                    for record in records:
                        for key in ("Id", "CreatedDate", "LastModifiedDate", "SystemModstamp"):
                            record.pop(key, None)
            shown.append((code, out.out.replace(org, "org"), out.err, stored))
            codes.add(code)
        assert shown[0] == shown[1], text
    assert codes == {0, 2}


def _not_simple(name: str, limits: Any) -> Iterator[Any]:
    raise fixture_files._NotSimple


# -- writing -------------------------------------------------------------------------------

TEXT_CHARS = ("abcXYZ019 :#-'\"\\,[]{}&*!|>%@`?.~+=<_/\t\n\r\u00e9\U0001F4A5\u2028\x85\xa0"
              "\ufeff\x7f\x01\x00")
TEXT_WORDS = [w for w in WORDS if len(w) < 200] + ["", " ", " x", "x ", "- ", "? x", ": x",
                                                   "x: ", "x :y", "'", "''", '"', "a'b",
                                                   "---x", "...x", "--- x", "-- -", "x\n"]
KEYS = ["Name", "Amount", "X", "y", "n", "null", "on", "true", "Yes", "_f", "K" * 99,
        "K" * 100, "K" * 130, "A-b", "a.b", "a b", "", "1x", "caf\u00e9", "<<", "-", "?",
        "x:", "'"]


def _text(rnd: random.Random) -> str:
    r = rnd.random()
    if r < 0.45:
        return rnd.choice(TEXT_WORDS)
    if r < 0.85:
        return "".join(rnd.choice(TEXT_CHARS) for _ in range(rnd.randint(0, 15)))
    if r < 0.95:        # near the longest line written here, and the emitter's width
        word = rnd.choice(["x", "a b", "it's", "y:z", "a #b"])
        return (word * 1000)[:rnd.randint(770, 1010)]
    return "".join(rnd.choice("ab ") for _ in range(rnd.randint(900, 1100)))


def _record_value(rnd: random.Random) -> Any:
    r = rnd.random()
    if r < 0.45:
        return _text(rnd)
    if r < 0.55:
        return rnd.choice([None, True, False])
    if r < 0.7:
        return rnd.choice([0, 1, -1, 10 ** 16, -(10 ** 30), 2 ** 63, rnd.randint(-10 ** 9, 10 ** 9),
                           10 ** 799, 10 ** 801])
    if r < 0.85:
        return rnd.choice([0.0, -0.0, 1e16, 1e-5, 1.5, -2.25, 1e300, 5e-324, 0.1, 1 / 3,
                           float("inf"), float("-inf"), float("nan"), 123456789012345.6,
                           rnd.uniform(-1e6, 1e6), rnd.random() * 10 ** rnd.randint(-20, 20)])
    if r < 0.88:        # stored numbers, as `org export` hands them out
        return plain_value(rnd.choice([Decimal("-0.0"), Decimal("0.10"), Decimal("1.50"),
                                       Decimal("1E+16"), Decimal("-1E+16"), Decimal("1E-7"),
                                       Decimal("12345678901234567890.5"), Decimal(2 ** 53),
                                       Decimal("0.1") + Decimal(rnd.randint(0, 10 ** 6)) / 1000,
                                       Decimal(rnd.randint(-10 ** 20, 10 ** 20)).scaleb(
                                           rnd.randint(-20, 5))]))
    if r < 0.93:
        return rnd.choice([dt.date(2026, 1, 31), dt.datetime(2026, 1, 31, 10, 0, 0),
                           dt.datetime(2026, 1, 31, 10, 0, 0, 500000, tzinfo=dt.UTC)])
    return rnd.choice([[1, "x"], {"a": 1}, [], {}])


def _record(rnd: random.Random) -> dict[str, Any]:
    count = rnd.choice([0, 1, 1, 2, 3, 5, 8])
    return {(rnd.choice(KEYS) if rnd.random() < 0.3 else rnd.choice(KEYS[:5])):
            _record_value(rnd) for _ in range(count)}


def _dump(objects: list[tuple[str, list[dict[str, Any]]]], fast: bool) -> str:
    if fast:
        return "".join(fixture_files._yaml_chunks(iter(objects)))
    saved = fixture_files._YamlText

    class DumperOnly(saved):  # type: ignore[misc, valid-type]
        def key(self, name: Any) -> str | None:
            return None

        def record(self, record: dict[str, Any]) -> str:
            return str(self.dump([record]))

    fixture_files._YamlText = DumperOnly  # type: ignore[misc]
    try:
        return "".join(fixture_files._yaml_chunks(iter(objects)))
    finally:
        fixture_files._YamlText = saved   # type: ignore[misc]


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, float) and isinstance(b, float) and a != a:
        return b != b
    if isinstance(a, dict):
        return isinstance(b, dict) and list(a) == list(b) and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, list):
        return isinstance(b, list) and len(a) == len(b) and all(map(_same, a, b))
    return type(a) is type(b) and a == b


def check_write(objects: list[tuple[str, list[dict[str, Any]]]]) -> None:
    import yaml

    fast, slow = _dump(objects, True), _dump(objects, False)
    assert fast == slow, objects
    loaded = yaml.load(fast, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    expected = {name: records for name, records in objects if records} or {}
    assert _same(loaded, expected), (objects, fast)


def test_fuzzed_records_are_written_as_the_dumper_writes_them() -> None:
    rnd = random.Random(31 + SEED)
    names = ["Account", "Contact", "y", "null", "on", "K" * 99, "K" * 120, "K" * 130, "a b",
             "caf\u00e9", "-", "x: y", "", "? x", "Name\n"]
    for _ in range(CASES):
        objects = [(rnd.choice(names), [_record(rnd) for _ in range(rnd.choice([0, 1, 2, 4]))])
                   for _ in range(rnd.choice([0, 1, 1, 2, 3]))]
        if len({name for name, _ in objects}) == len(objects):
            check_write(objects)
