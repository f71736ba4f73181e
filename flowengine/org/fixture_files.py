"""Fixture files as streams: YAML, JSON and JSON Lines read record by record and written chunk by
chunk, so that loading or exporting an org of millions of records never holds the file.

Reading yields `FixtureItem`s — (object name, index in its list, record, line) — and, for what is
not a list of records, (object name, -1, the value, line) or (None, -1, the top-level value,
line); `flowengine.org.fixtures` checks them. The limits that bound hostile input hold for each
record (depth, nodes, size of one JSON value or one line); the file itself may be of any size.

JSON Lines (`.jsonl`): one record per line, `{"object": "Account", "record": {...}}`; blank lines
are skipped. Records refer to each other by Id, as in the other formats.
"""
from __future__ import annotations

import json
import os
import re
from collections.abc import Callable, Iterable, Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any, Final

from flowengine.errors import LoadError
from flowengine.formats.jsondata import MAX_JSON_DEPTH, whole_number

__all__ = ["FixtureItem", "fixture_format", "read_items", "write_chunks"]

FixtureItem = tuple[str | None, int, Any, int]
MAX_VALUE_BYTES: Final = 50 * 1024 * 1024      # one record (one JSON value, one line) at most
_READ: Final = 1 << 20
_SPACE: Final = re.compile(r"[ \t\n\r]*")
_AFTER_COMMA: Final = re.compile(r"[ \t\n\r]*,[ \t\n\r]*")
_TOKEN: Final = re.compile(r'"(?:\\.|[^"\\])*"|[\[\]{}]')


def fixture_format(path: str | os.PathLike[str]) -> str:
    """"json", "jsonl" or "yaml", by the file's suffix (anything else reads as YAML)."""
    suffix = Path(os.fspath(path)).suffix.lower()
    return {".json": "json", ".jsonl": "jsonl", ".ndjson": "jsonl"}.get(suffix, "yaml")


def read_items(path: str | os.PathLike[str], yaml_limits: Any,
               max_value_bytes: int | None = None) -> Iterator[FixtureItem]:
    """The items of a fixture file, read as a stream (see the module docstring). Raises
    LoadError with the file, line and column of the problem."""
    name = os.fspath(path)
    fmt = fixture_format(name)
    limit = MAX_VALUE_BYTES if max_value_bytes is None else max_value_bytes
    if fmt == "jsonl":
        return _read_jsonl(name, limit)
    if fmt == "json":
        return _JsonReader(name, limit).items()
    return _read_yaml(name, yaml_limits)


# A fixture in the simplest YAML (what `org export` and most hand-written fixtures are): object
# names at the start of a line, each followed by its records as a block list of block mappings,
# one `Field: value` a line, values plain or quoted on one line. Such lines are read here by
# regular expression, their plain values by the hardened reader's own resolution; at the first
# line that is anything else, the file is read again by the hardened reader, which skips the
# records already handed out. The items are the same either way, and so is every error.
_WIDE: Final = r"\xa0-\u2027\u202a-\ud7ff\ue000-\ufefe\uff00-\ufffd\U00010000-\U0010ffff"
_SAFE: Final = r"\x20-\x7e" + _WIDE               # printable, no line break, no BOM, no tab
# a plain value: no indicator first; a colon only before a character other than a space, and
# spaces only before a character other than "#" (no comment, no trailing space)
_PLAIN: Final = (rf"""(?:-(?=[\x21-\x7e{_WIDE}])|(?=[{_SAFE}])[^-?:,\[\]{{}}#&*!|>'"%@`\s])"""
                 rf"(?:[\x21-\x39\x3b-\x7e{_WIDE}]++|:(?=[\x21-\x7e{_WIDE}])"
                 rf"| ++(?=[\x21\x22\x24-\x7e{_WIDE}]))*+")    # possessive: no backtracking
_VALUE: Final = (rf"(?: +(?:(?P<plain>{_PLAIN})|'(?P<single>(?:[\x20-\x26\x28-\x7e{_WIDE}]++"
                 rf"|'')*+)'|\"(?P<double>[\x20\x21\x23-\x5b\x5d-\x7e{_WIDE}]*+)\"))?")
# a key of at most 1024 characters: a longer one is no simple key (libyaml refuses it)
_YAML_FIELD: Final = re.compile(rf"(?P<indent> *)(?P<dash>- )?"
                                rf"(?P<key>[A-Za-z_][A-Za-z0-9_]{{0,1023}}+):{_VALUE}\r?\n?")
_YAML_SKIP: Final = re.compile(rf" *(?:#[{_SAFE}\t]*)?\r?\n?")


def _read_yaml(name: str, limits: Any) -> Iterator[FixtureItem]:
    """The items of a YAML fixture: line by line while its lines are simple, else (from the
    first line that is not) by the hardened reader (see above)."""
    if limits.max_depth < 3:
        yield from _read_yaml_events(name, limits)
        return
    done = 0
    try:
        for item in _read_simple_yaml(name, limits):
            yield item
            done += 1
        return
    except _NotSimple:
        pass
    events = _read_yaml_events(name, limits)
    for _ in range(done):            # the same items again: skipped
        next(events, None)
    yield from events


class _NotSimple(Exception):
    """A line that `_read_simple_yaml` does not read."""


_YAML_BLOCK: Final = 1 << 20      # characters read at a time by the line reader
_YAML_SHAPES: Final = 16          # the most record patterns (`_shape_pattern`) made per file
# records of a shape read line by line before its pattern is made: compiling one costs a few
# milliseconds (its value classes span Unicode), which a shape pays back only when it repeats
_YAML_SHAPE_AFTER: Final = 8
# one value of a record pattern, as its line would give it (group `plain`, `single` or
# `double` of _VALUE), in one group with its quotes: a plain value starts with no quote
_RAW_VALUE: Final = (rf" +({_PLAIN}|'(?:[\x20-\x26\x28-\x7e{_WIDE}]++|'')*+'"
                     rf"|\"[\x20\x21\x23-\x5b\x5d-\x7e{_WIDE}]*+\")")


def _shape_pattern(item_spaces: str, keys: tuple[str, ...]) -> re.Pattern[str]:
    """The lines of an item with the fields `keys` in this order, each with a value on its
    line, as the line reader reads them (each line as `_YAML_FIELD` matches it, the first with
    its dash at `item_spaces`, the others two spaces further in), each line ended. (Lines that
    follow, of more fields, are read as the line reader reads them: the record is handed out
    at the next item.)"""
    field_spaces = item_spaces + "  "
    lines = [f"{item_spaces}- {keys[0]}:{_RAW_VALUE}"]
    lines += [f"{field_spaces}{key}:{_RAW_VALUE}" for key in keys[1:]]
    return re.compile(r"\r?\n".join(lines) + r"\r?\n")


def _read_simple_yaml(name: str, limits: Any) -> Iterator[FixtureItem]:
    from flowengine.formats.yaml import PlainScalars

    plain = PlainScalars(limits)
    special = plain.special
    # the fields of one record within the node limit: the first record also counts the top
    # mapping, its key and the list (a record: its mapping, a key and a value a field)
    most = (limits.max_nodes - 4) // 2
    if most < 1:
        raise _NotSimple
    field_match = _YAML_FIELD.fullmatch
    skip_match = _YAML_SKIP.fullmatch
    try:
        fh = open(name, encoding="utf-8", newline="")
    except OSError:
        raise _NotSimple from None   # the hardened reader says why
    with fh:
        objects: set[str] = set()
        object_name: str | None = None
        record: dict[str, Any] | None = None
        index = item_line = 0
        item_spaces = field_spaces = None    # the indentation of the object's items, fields
        number = 0
        # a record read line by line teaches its shape (indentation, field names in order):
        # the next record of the same shape is matched whole, by `_shape_pattern`
        patterns: dict[tuple[str, tuple[str, ...]], re.Pattern[str]] = {}
        seen: dict[tuple[str, tuple[str, ...]], int] = {}     # shape → records read by lines
        shape: re.Pattern[str] | None = None     # the pattern of the last record's shape
        keys: tuple[str, ...] = ()
        by_lines = False                          # the record being read was read line by line
        buf = ""
        pos = 0
        eof = False
        try:
            while True:
                if shape is not None:
                    m = shape.match(buf, pos)
                    if m is not None:                 # the next item, a whole record
                        yield object_name, index, record, item_line
                        index += 1
                        record = dict(zip(keys, m.groups()))
                        for key, text in record.items():
                            first = text[0]
                            if first == "'":
                                record[key] = text[1:-1].replace("''", "'")
                            elif first == '"':
                                record[key] = text[1:-1]
                            elif first in special:
                                record[key] = plain(text)
                        by_lines = False
                        item_line = number + 1
                        number += len(keys)
                        pos = m.end()
                        continue
                end = buf.find("\n", pos) + 1
                if not end:
                    if not eof:
                        more = fh.read(_YAML_BLOCK)
                        if more:
                            buf, pos = buf[pos:] + more, 0
                            continue
                        eof = True
                    if pos == len(buf):
                        break
                    end = len(buf)
                line = buf[pos:end]
                pos = end
                number += 1
                if "\r" in line and (not line.endswith("\r\n") or "\r" in line[:-2]):
                    raise _NotSimple                  # a lone carriage return breaks the line
                m = field_match(line)
                if m is None:
                    if skip_match(line):              # a blank line, a comment
                        continue
                    raise _NotSimple
                spaces, dash, key, plain_text, single, double = m.groups()
                if plain_text is not None:
                    value = plain_text if plain_text[0] not in special else plain(plain_text)
                elif single is not None:
                    value = single.replace("''", "'")
                elif double is not None:
                    value = double
                elif not spaces and dash is None:     # `Name:` at the start: an object
                    if key in objects or (object_name is not None and record is None):
                        raise _NotSimple              # one twice, or one without records
                    if record is not None:
                        yield object_name, index, record, item_line
                    object_name = key
                    objects.add(key)
                    record = field_spaces = shape = None
                    index = 0
                    continue
                else:
                    value = plain("")                 # `Field:` and nothing: null
                if dash is None:                      # a record's next field
                    if record is None or spaces != field_spaces or key in record \
                            or len(record) >= most:
                        raise _NotSimple
                    record[key] = value
                    continue
                if object_name is None:
                    raise _NotSimple
                if record is not None:
                    if spaces != item_spaces:
                        raise _NotSimple
                    if by_lines:                      # its shape: the next one's pattern
                        keys = tuple(record)
                        shape = patterns.get((spaces, keys))
                        if shape is None:
                            count = seen[spaces, keys] = seen.get((spaces, keys), 0) + 1
                            if count >= _YAML_SHAPE_AFTER and len(patterns) < _YAML_SHAPES:
                                shape = patterns[spaces, keys] = _shape_pattern(spaces, keys)
                    yield object_name, index, record, item_line
                    index += 1
                else:
                    item_spaces, field_spaces = spaces, spaces + "  "
                record = {key: value}
                by_lines = True
                item_line = number
        except (UnicodeDecodeError, ValueError, OSError):
            raise _NotSimple from None
        if record is None:
            raise _NotSimple                          # no records, or an object without any
        yield object_name, index, record, item_line


def _read_yaml_events(name: str, limits: Any) -> Iterator[FixtureItem]:
    from flowengine.formats.yaml import stream_yaml

    for key, index, value, line in stream_yaml(name, limits):
        if index >= 0:
            yield key, index, value, line
        elif isinstance(value, dict):
            for object_name, rest in value.items():
                if not isinstance(rest, list):
                    yield object_name, -1, rest, 0
                else:                # a list with an anchor, kept whole
                    yield from ((object_name, i, r, 0) for i, r in enumerate(rest))
        elif value is not None:
            yield None, -1, value, 0


def _open(name: str, expected: str) -> Any:
    try:
        return open(name, "rb")
    except FileNotFoundError:
        raise LoadError("file not found", name, code="file") from None
    except IsADirectoryError:
        raise LoadError(f"is a directory, expected {expected}", name, code="file") from None
    except OSError as exc:
        raise LoadError(f"cannot read file: {exc.strerror}", name, code="file") from None


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result = dict(pairs)
    if len(result) != len(pairs):
        seen: set[str] = set()
        for key, _ in pairs:
            if key in seen:
                raise ValueError(f"duplicate key {key!r}")
            seen.add(key)
    return result


_DECODER: Final = json.JSONDecoder(object_pairs_hook=_no_duplicates, parse_float=Decimal,
                                   parse_int=whole_number)


def _check_depth(text: str, name: str, line: int) -> None:
    """Refuse a value nested deeper than JSON's limit (counted only when it could be)."""
    if text.count("[") + text.count("{") <= MAX_JSON_DEPTH:
        return
    depth = 0
    for match in _TOKEN.finditer(text):
        token = match.group()
        if token in "[{":
            depth += 1
            if depth > MAX_JSON_DEPTH:
                at = text.count("\n", 0, match.start())
                raise LoadError(f"JSON nested more than {MAX_JSON_DEPTH} levels deep", name,
                                line + at, code="limit")
        elif token in "]}":
            depth -= 1


def _read_jsonl(name: str, limit: int) -> Iterator[FixtureItem]:
    indexes: dict[str, int] = {}
    with _open(name, "a JSON Lines fixture file") as fh:
        number = 0
        while True:
            raw = fh.readline(limit + 1)
            if not raw:
                return
            number += 1
            if len(raw) > limit and not raw.endswith(b"\n"):
                raise LoadError(f"line is longer than {limit // 1048576} MB (one record per "
                                "line)", name, number, code="limit")
            try:
                text = raw.decode("utf-8-sig" if number == 1 else "utf-8")
            except UnicodeDecodeError as exc:
                raise LoadError(f"file is not UTF-8 text (byte {exc.start} of the line)", name,
                                number, exc.start + 1, code="file") from None
            if not text.strip():
                continue
            text = text.rstrip("\r\n")      # so that an error at the end of a line names its column
            try:
                entry = _DECODER.decode(text)
            except json.JSONDecodeError as exc:
                raise LoadError(f"invalid JSON: {exc.msg}", name, number, exc.colno,
                                code="json") from None
            except RecursionError:
                entry = None
                _check_depth(text, name, number)
            except ValueError as exc:
                raise LoadError(f"invalid JSON: {exc}", name, number, code="json") from None
            _check_depth(text, name, number)
            if not isinstance(entry, dict) or set(entry) != {"object", "record"} \
                    or not isinstance(entry["object"], str):
                raise LoadError('expected {"object": "<object name>", "record": {<field>: '
                                "<value>, ...}} on each line", name, number, 1,
                                code="json")
            object_name = entry["object"]
            index = indexes.get(object_name, 0)
            indexes[object_name] = index + 1
            yield object_name, index, entry["record"], number


class _JsonReader:
    """A JSON fixture, `{"Object": [record, ...], ...}`, read a megabyte at a time: the outer
    mapping and lists by hand, each record (or any other value) by Python's JSON decoder."""

    def __init__(self, name: str, limit: int) -> None:
        self.name = name
        self.limit = limit
        self.buf = ""
        self.pos = 0
        self.line = 1            # the line of buf[self.at] (buf always starts at a line's start)
        self.at = 0
        self.eof = False
        self.fh: Any = None
        self.decoder: Any = None

    def items(self) -> Iterator[FixtureItem]:
        import codecs

        self.fh = _open(self.name, "a JSON fixture file")
        self.decoder = codecs.getincrementaldecoder("utf-8-sig")()
        with self.fh:
            if self.peek() != "{":
                line = self.line_at(self.pos)
                yield None, -1, self.value(), line
                self.expect_end()
                return
            self.pos += 1
            seen: set[str] = set()
            if self.peek() == "}":
                self.pos += 1
                self.expect_end()
                return
            while True:
                if self.peek() != '"':
                    self.fail("Expecting property name enclosed in double quotes")
                key = self.value()
                if key in seen:
                    self.fail(f"duplicate key {key!r}")
                seen.add(key)
                if self.peek() != ":":
                    self.fail("Expecting ':' delimiter")
                self.pos += 1
                if self.peek() == "[":
                    yield from self.records(key)
                else:
                    line = self.line_at(self.pos)
                    yield key, -1, self.value(), line
                separator = self.peek()
                self.pos += 1
                if separator == "}":
                    break
                if separator != ",":
                    self.pos -= 1
                    self.fail("Expecting ',' delimiter")
            self.expect_end()

    def records(self, key: str) -> Iterator[FixtureItem]:
        self.pos += 1
        if self.peek() == "]":
            self.pos += 1
            return
        index = 0
        after_comma = _AFTER_COMMA.match
        self.peek()
        while True:
            line = self.line_at(self.pos)   # the line of the record, not of the comma before it
            yield key, index, self.value(peeked=True), line
            index += 1
            found = after_comma(self.buf, self.pos)
            if found is not None and found.end() < len(self.buf):
                self.pos = found.end()      # on the next record (the common case, in one step)
                continue
            separator = self.peek()
            self.pos += 1
            if separator == "]":
                return
            if separator != ",":
                self.pos -= 1
                self.fail("Expecting ',' delimiter")
            self.peek()

    # -- the buffer ----------------------------------------------------------------------------

    def more(self) -> bool:
        """Read on; drops what was read up to the last line break before `pos`."""
        if self.eof:
            return False
        cut = self.buf.rfind("\n", 0, min(self.pos, self.at)) + 1
        if cut:
            self.buf, self.pos, self.at = self.buf[cut:], self.pos - cut, self.at - cut
        raw = self.fh.read(_READ)
        try:
            self.buf += self.decoder.decode(raw, final=not raw)
        except UnicodeDecodeError:
            raise LoadError("file is not UTF-8 text", self.name, code="file") from None
        self.eof = not raw
        return True

    def peek(self) -> str:
        """The next character that is not white space ("" at the end), `pos` on it."""
        while True:
            self.pos = _SPACE.match(self.buf, self.pos).end()  # type: ignore[union-attr]
            if self.pos < len(self.buf) or not self.more():
                return self.buf[self.pos:self.pos + 1]

    def value(self, peeked: bool = False) -> Any:
        if not peeked:
            self.peek()
        while True:
            start = self.pos
            try:
                value, end = _DECODER.raw_decode(self.buf, start)
            except json.JSONDecodeError as exc:
                if self.grow(start):
                    continue
                self.fail(exc.msg, exc.pos)
            except RecursionError:
                _check_depth(self.buf[start:], self.name, self.line_at(start))
                self.fail("nesting too deep", start)
            except ValueError as exc:
                self.fail(str(exc), start)
            buf = self.buf
            if end == len(buf) and self.grow(start):
                continue             # a number or a word may go on in the next read
            # counted in place: the value's text is copied, and its line found, only when it
            # could be nested too deep
            if buf.count("[", start, end) + buf.count("{", start, end) > MAX_JSON_DEPTH:
                _check_depth(buf[start:end], self.name, self.line_at(start))
            self.pos = end
            return value

    def grow(self, start: int) -> bool:
        """Read more for a value that starts at `start`; False at the end of the file."""
        if len(self.buf) - start > self.limit:
            raise LoadError(f"a value larger than {self.limit // 1048576} MB (one record is "
                            "held in memory at a time)", self.name, self.line_at(start),
                            code="limit")
        before = self.pos
        self.pos = start
        grown = self.more()
        if not grown:
            self.pos = before
        return grown

    def line_at(self, pos: int) -> int:
        """The line of buf[pos]; counted on from the last position asked (reads go forward)."""
        if pos >= self.at:
            self.line += self.buf.count("\n", self.at, pos)
        else:
            self.line -= self.buf.count("\n", pos, self.at)
        self.at = pos
        return self.line

    def expect_end(self) -> None:
        if self.peek():
            self.fail("Extra data")

    def fail(self, message: str, pos: int | None = None) -> Any:
        pos = self.pos if pos is None else pos
        column = pos - (self.buf.rfind("\n", 0, pos) + 1) + 1
        raise LoadError(f"invalid JSON: {message}", self.name, self.line_at(pos), column,
                        code="json")


# ---------------------------------------------------------------------------------------------
# Writing

_CHUNK: Final = 1_000


def write_chunks(fmt: str, objects: Iterable[tuple[str, Iterable[dict[str, Any]]]]
                 ) -> Iterator[str]:
    """A fixture's text in pieces, from (object name, its records) pairs: the same text as
    dumping the whole mapping at once (JSON with an indent of 2; YAML through libyaml's
    emitter when PyYAML has it; JSON Lines one record a line)."""
    if fmt == "jsonl":
        dumps = json.JSONEncoder(ensure_ascii=False).encode
        for name, records in objects:
            head = '{"object": ' + dumps(name) + ', "record": '
            yield from _batched(head + dumps(r) + "}\n" for r in records)
        return
    if fmt == "yaml":
        yield from _yaml_chunks(objects)
        return
    encode = json.JSONEncoder(ensure_ascii=False, indent=2).encode
    first = True
    for name, records in objects:
        opened = False
        for record in records:
            if not opened:
                yield ("{\n" if first else "\n  ],\n") + "  " + encode(name) + ": [\n"
                first, opened = False, True
            else:
                yield ",\n"
            yield "    " + encode(record).replace("\n", "\n    ")
    yield "{}\n" if first else "\n  ]\n}\n"


def _batched(lines: Iterable[str]) -> Iterator[str]:
    batch: list[str] = []
    for line in lines:
        batch.append(line)
        if len(batch) >= _CHUNK:
            yield "".join(batch)
            batch.clear()
    if batch:
        yield "".join(batch)


def _yaml_chunks(objects: Iterable[tuple[str, Iterable[dict[str, Any]]]]) -> Iterator[str]:
    import yaml

    # libyaml's emitter when PyYAML has it (about 10x faster); it writes the same text but
    # for characters beyond U+FFFF, which it escapes ("\U0001F4A5"): the same data loads back
    dumper = getattr(yaml, "CSafeDumper", yaml.SafeDumper)

    def dump(data: Any) -> str:
        text: str = yaml.dump(data, Dumper=dumper, sort_keys=False, allow_unicode=True,
                              width=1000)
        return text

    text_of = _YamlText(dump)
    empty = True
    for name, records in objects:
        batch: list[str] = []
        head = True
        key = text_of.key(name)    # the name as the dumper writes it, before the first record
        key = dump({name: [None]})[:-len("\n- null\n")] if key is None else key + ":"
        for record in records:
            batch.append(text_of.record(record))
            if len(batch) >= _CHUNK:
                yield (key + "\n" if head else "") + "".join(batch)
                head = False
                batch = []
        if batch:
            yield (key + "\n" if head else "") + "".join(batch)
            head = False
        empty = empty and head
    if empty:
        yield dump({})


# the YAML text of a record, as the dumper writes one in a block list: written here for the
# values it writes as they are or in single quotes (printable ASCII on one line, None, Booleans,
# whole numbers, floats), by the dumper itself for any other record
_ASCII: Final = re.compile(r"[\x20-\x7e]*")
# the text the emitter writes plain in a block (when its tag would be resolved back as text):
# no leading or trailing space, no indicator first, no ": " or " #" (libyaml's analysis)
_PLAIN_OUT: Final = re.compile(r"(?!---|\.\.\.)(?![-?:](?: |$))[^ #,\[\]{}&*!|>'\"%@`]"
                               r"(?:(?!:(?: |$)| #)[\x20-\x7e])*(?<! )")
_NAME: Final = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_MOST_OUT: Final = 800        # characters of a line: well within the emitter's width (1000)


class _YamlText:
    def __init__(self, dump: Callable[[Any], str]) -> None:
        import yaml

        self.dump = dump
        resolver = yaml.resolver.Resolver()      # the dumper's (YAML 1.1: yes/no are Booleans)
        self.special = frozenset(first for first, pairs in
                                 resolver.yaml_implicit_resolvers.items() if pairs)
        self.resolve = resolver.resolve
        self.node = yaml.ScalarNode
        self.keys: dict[str, str] = {}

    def text(self, value: str) -> str | None:
        """A text value as the emitter writes it, or None when it is not one written here."""
        if len(value) > _MOST_OUT or not _ASCII.fullmatch(value):
            return None
        if _PLAIN_OUT.fullmatch(value) and (value[0] not in self.special or self.resolve(
                self.node, value, (True, False)) == "tag:yaml.org,2002:str"):
            return value
        return "'" + value.replace("'", "''") + "'"

    def key(self, name: Any) -> str | None:
        """A field or object name as the emitter writes it as a key (None: not written here)."""
        found = self.keys.get(name) if name.__class__ is str else None
        if found is None:
            if name.__class__ is not str or len(name) >= 100 or not _NAME.fullmatch(name):
                return None
            found = self.text(name)
            if found is not None and len(self.keys) < 10_000:
                self.keys[name] = found
        return found

    def record(self, record: dict[str, Any]) -> str:
        parts = []
        dash = "- "
        for name, value in record.items():
            cls = value.__class__
            if cls is str:
                text = self.text(value)
            elif value is None:
                text = "null"
            elif cls is bool:
                text = "true" if value else "false"
            elif cls is int:
                text = str(value)
            elif cls is float and value == value and abs(value) != float("inf"):
                text = repr(value).lower()
                if "." not in text and "e" in text:
                    text = text.replace("e", ".0e", 1)
                if self.resolve(self.node, text, (True, False)) != "tag:yaml.org,2002:float":
                    text = None
            else:
                text = None
            key = self.key(name)
            if text is None or key is None or len(text) + len(key) > _MOST_OUT:
                return self.dump([record])
            parts.append(f"{dash}{key}: {text}\n")
            dash = "  "
        if not parts:
            return self.dump([record])
        return "".join(parts)
