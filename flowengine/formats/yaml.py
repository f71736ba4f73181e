"""The YAML front end, and the one hardened YAML reader of flowengine (flows, flow tests, lint
configuration, fixtures): YAML text → plain data, with the line and column of every node, and
hostile input bounded.

The document is built from the parser's event stream without recursion, so deep nesting, alias
bombs and huge files end in a clear `LoadError` instead of a hang or a crash. Numbers with a
fraction become `Decimal` (exact), keys are always text, duplicate keys are errors, and only
plain data is accepted (no `!!python/...`, `!!binary` or `!!set` tags). `YamlLimits` sets the
bounds; fixtures, which may be large, read with their own.
"""
from __future__ import annotations

import os
import re
from collections.abc import Callable, Container, Iterator
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any, Final

from flowengine.errors import LoadError, Problem
from flowengine.source import Path, display_path

MAX_FILE_BYTES: Final = 10 * 1024 * 1024
MAX_DEPTH: Final = 100
MAX_NODES: Final = 500_000          # nodes after alias expansion


@dataclass(frozen=True)
class YamlLimits:
    """The bounds of one kind of YAML file, and how it reads."""

    max_bytes: int = MAX_FILE_BYTES
    max_depth: int = MAX_DEPTH
    max_nodes: int = MAX_NODES      # counted with aliases expanded: stops "billion laughs"
    marks: bool = True              # record where every node stands (for messages)
    yaml11_booleans: bool = True    # yes/no/on/off are Booleans; False: only true and false
    what: str = "flow files"        # in messages: "flow files are limited to 10 MB"
    expected: str = "a flow YAML file"   # in messages: "is a directory, expected ..."


FLOW_LIMITS: Final = YamlLimits()

Mark = tuple[int, int]              # 1-based line, column


@dataclass
class Document:
    """Parsed YAML plus where each value (and each mapping key) stood in the file."""

    data: Any
    file: str | None
    marks: dict[Path, Mark] = field(default_factory=dict)
    key_marks: dict[Path, Mark] = field(default_factory=dict)
    text: str = ""
    styles: dict[Path, str] = field(default_factory=dict)   # quoted and block scalars: ' " | >
    # problems that do not stop loading (a duplicate key: the first value is kept, and reported)
    problems: list[Problem] = field(default_factory=list)
    format: str = "yaml"

    def type_hint(self, value: Any, expected: str) -> str:
        """YAML's own surprises, explained (see `flowengine.source.SourceDocument`)."""
        if expected == "text" and isinstance(value, bool):
            return " (YAML reads true/false, yes/no and on/off as Booleans: quote it to mean text)"
        return ""

    def locate(self, path: Path, key: bool = False) -> Mark | None:
        """Line and column of the node at `path` (its key with `key=True`), or of its nearest
        ancestor that has one."""
        path = tuple(path)
        if key and path in self.key_marks:
            return self.key_marks[path]
        while True:
            if path in self.marks:
                return self.marks[path]
            if path in self.key_marks:
                return self.key_marks[path]
            if not path:
                return None
            path = path[:-1]

    def position_in(self, path: Path, offset: int) -> Mark | None:
        """Line and column in the file of character `offset` of the text scalar at `path`, seeing
        through quotes, escapes, block scalars and folded lines (for errors inside a formula)."""
        value = self.get(path)
        mark = self.marks.get(tuple(path))
        if not isinstance(value, str) or mark is None:
            return None
        return _source_position(self.text.split("\n"), mark, self.styles.get(tuple(path)), value,
                                offset)

    def get(self, path: Path) -> Any:
        node = self.data
        for part in path:
            try:
                node = node[part]
            except (KeyError, IndexError, TypeError):
                return None
        return node


_ESCAPES: Final = {"0": "\0", "a": "\a", "b": "\b", "t": "\t", "\t": "\t", "n": "\n", "v": "\v",
                   "f": "\f", "r": "\r", "e": "\x1b", " ": " ", '"': '"', "/": "/", "\\": "\\",
                   "N": "\x85", "_": "\xa0", "L": "\u2028", "P": "\u2029"}


def _source_position(lines: list[str], mark: Mark, style: str | None, value: str,
                     offset: int) -> Mark | None:
    """Walk the scalar's source lines and its value side by side until `offset`."""
    block = style in ("|", ">")
    row = mark[0] if block else mark[0] - 1          # 0-based source line of the first content
    indent: int | None = None
    pos = 0
    last: Mark | None = None
    first = True
    while row < len(lines) and pos <= len(value):
        raw = lines[row].rstrip("\r")
        stripped = raw.lstrip(" ")
        if block:
            if not stripped.strip():
                row += 1
                continue
            if indent is None:
                indent = len(raw) - len(stripped)
            if len(raw) - len(stripped) < indent:
                break
            start = indent
        elif first:
            start = mark[1] - 1 + (1 if style in ("'", '"') else 0)
        else:
            start = len(raw) - len(raw.lstrip(" \t"))
        chars = _decoded_line(raw, start, style)
        if not first:   # the line break became " ", "\n" or nothing: skip it in the value
            while pos < len(value) and value[pos] in " \n" and (not chars or value[pos] != chars[0][0]):
                pos += 1
        for ch, col in chars:
            if pos >= len(value) or value[pos] != ch:
                break
            if pos == offset:
                return row + 1, col + 1
            last = (row + 1, col + 2)
            pos += 1
        first = False
        row += 1
    return last if last is not None and offset >= pos else None


def _decoded_line(raw: str, start: int, style: str | None) -> list[tuple[str, int]]:
    """(character of the value, column in `raw`) for one source line of a scalar."""
    out: list[tuple[str, int]] = []
    j = start
    while j < len(raw):
        c = raw[j]
        if style == '"':
            if c == '"':
                break
            if c == "\\":
                if j + 1 >= len(raw):
                    break                           # escaped line break
                e = raw[j + 1]
                width = {"x": 2, "u": 4, "U": 8}.get(e)
                if width:
                    try:
                        out.append((chr(int(raw[j + 2: j + 2 + width], 16)), j))
                    except ValueError:
                        break
                    j += 2 + width
                    continue
                out.append((_ESCAPES.get(e, e), j))
                j += 2
                continue
        elif style == "'" and c == "'":
            if raw[j + 1: j + 2] != "'":
                break
            out.append(("'", j))
            j += 2
            continue
        out.append((c, j))
        j += 1
    return out


def parse_yaml(text: str, file: str | None = None, limits: YamlLimits = FLOW_LIMITS) -> Document:
    """Parse one YAML document into plain Python data with marks. Raises LoadError."""
    import yaml

    if len(text) > limits.max_bytes:
        raise LoadError(f"text is larger than {limits.max_bytes // 1048576} MB", file)
    loader_cls = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    if not _Builder._handlers:
        _register_handlers()
    builder = _Builder(file, text, limits)
    try:
        for event in yaml.parse(text, Loader=loader_cls):
            builder.feed(event)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else None
        column = mark.column + 1 if mark else None
        message = " ".join(str(p) for p in (exc.context, exc.problem) if p) or "invalid YAML"
        merge = _unquoted_merge_field(text, line)
        if merge:
            raise LoadError(unquoted_merge_message(merge[0]), file, merge[1], merge[2],
                            code="unquoted-merge-field") from None
        raise LoadError(f"invalid YAML: {message}", file, line, column, code="yaml") from None
    except yaml.reader.ReaderError as exc:    # a character YAML does not allow: no mark, an offset
        offset = min(max(exc.position, 0), len(text))
        line = text.count("\n", 0, offset) + 1
        column = offset - (text.rfind("\n", 0, offset) + 1) + 1
        code = exc.character if isinstance(exc.character, int) else ord(str(exc.character)[:1] or "?")
        raise LoadError(f"invalid YAML: the character U+{code:04X} is not allowed in YAML "
                        "(control characters other than tab and line breaks must be escaped in "
                        "a double-quoted string, e.g. \"\\x01\")", file, line, column,
                        code="yaml") from None
    except yaml.YAMLError as exc:
        raise LoadError(f"invalid YAML: {exc}", file, code="yaml") from None
    return builder.document()


def unquoted_merge_message(merge_field: str) -> str:
    return (f"merge fields must be quoted: found {merge_field} without quotes, write "
            f"\"{merge_field}\" (unquoted, YAML reads {{ as the start of a mapping)")


def _unquoted_merge_field(text: str, line: int | None) -> tuple[str, int, int] | None:
    """The merge field that most likely broke parsing near `line`, if one stands unquoted there:
    (the merge field, its line, its column), 1-based."""
    import re

    if line is None:
        return None
    lines = text.splitlines()
    for number in range(max(1, line - 1), min(len(lines), line + 1) + 1):
        ln = lines[number - 1]
        for match in re.finditer(r"\{![^}\n]*\}?", ln):
            before = ln[: match.start()]
            if before.count('"') % 2 == 0 and before.count("'") % 2 == 0:
                return match.group(0), number, match.start() + 1
    return None


_SKIP: Final = object()        # the key of a duplicate entry, whose value is dropped
_STANDARD_TAG = "tag:yaml.org,2002:"
# whole numbers longer than this are read as Decimal (Python refuses to turn text of more than
# 4,300 digits into an int); the Number type then refuses them by their digits
_INT_DIGITS = 4000
_DECIMAL_INT = re.compile(r"[-+]?[0-9][0-9_]*")
_RESOLVED_KEPT = 10_000        # plain scalars whose tag is remembered
_PLAIN_DECIMAL = re.compile(r"-?(?:0|[1-9][0-9]{0,30})\.[0-9]{1,30}")
_PLAIN_WHOLE = re.compile(r"-?(?:0|[1-9][0-9]{0,30})")
_ALLOWED_TAGS = frozenset(_STANDARD_TAG + t for t in
                          ("str", "int", "float", "bool", "null", "timestamp", "map", "seq"))


class _Builder:
    """Turns parser events into data without recursion, counting nodes and depth."""

    def __init__(self, file: str | None, text: str, limits: YamlLimits) -> None:
        import yaml

        self.yaml = yaml
        self.file = file
        self.text = text
        self.limits = limits
        self.track = limits.marks
        self.resolver = yaml.resolver.Resolver() if limits.yaml11_booleans else _strict_resolver()
        self.constructor = yaml.constructor.SafeConstructor()
        self.stack: list[_Frame] = []
        self.anchors: dict[str, tuple[Any, int, int]] = {}    # name → (value, nodes, height)
        self._lines: list[str] | None = None
        self.resolved: dict[str, str] = {}         # plain scalar text → its implicit tag
        self.nodes = 0
        self.alias_nodes = 0                       # nodes pasted by aliases, over the whole text
        self.root: Any = None
        self.documents = 0
        self.doc = Document(None, file, text=text)

    def fail(self, message: str, mark: Any, code: str = "yaml") -> LoadError:
        return LoadError(message, self.file, mark.line + 1, mark.column + 1, code=code)

    def count(self, n: int, mark: Any) -> None:
        self.nodes += n
        if self.nodes > self.limits.max_nodes:
            raise self.fail(f"the document expands to more than {self.limits.max_nodes:,} nodes "
                            "(YAML aliases that multiply, a 'billion laughs' file?); refusing to "
                            "load it", mark, code="limit")

    def feed(self, event: Any) -> None:
        handler = self._handlers.get(type(event).__name__)
        if handler is not None:
            handler(self, event)

    def _document_start(self, event: Any) -> None:
        self.documents += 1
        if self.documents > 1:
            raise self.fail("expected one YAML document, found several ('---')", event.start_mark)

    def _alias(self, event: Any) -> None:
        if event.anchor not in self.anchors:
            raise self.fail(f"unknown alias *{event.anchor}", event.start_mark)
        value, size, height = self.anchors[event.anchor]
        self.alias_nodes += size
        self.count(size, event.start_mark)
        # an alias pastes its anchor's whole tree here: the depth limit counts it too
        self.check_depth(len(self.stack) + height, event.start_mark)
        self.attach(value, event.start_mark, size, height)

    def _collection_start(self, event: Any) -> None:
        self.check_tag(event)
        self.count(1, event.start_mark)
        self.check_depth(len(self.stack) + 1, event.start_mark)
        is_map = type(event).__name__ == "MappingStartEvent"
        mark = event.start_mark
        if is_map and event.flow_style and self.text_at(mark).startswith("{!"):
            raise self.fail(unquoted_merge_message(self.merge_field_at(mark)), mark,
                            code="unquoted-merge-field")
        path = self.child_path(mark) if self.track else ()
        if self.track:
            self.doc.marks[path] = (mark.line + 1, mark.column + 1)
        self.stack.append(_Frame({} if is_map else [], path, event.anchor, self.nodes))

    def _collection_end(self, event: Any) -> None:
        frame = self.stack.pop()
        size = max(1, self.nodes - frame.start_count + 1)   # a streamed list counts from 1
        if frame.anchor:
            self.anchors[frame.anchor] = (frame.value, size, frame.height)
        self.attach(frame.value, event.start_mark, size, frame.height, new_path=False)

    def _scalar(self, event: Any) -> None:
        if event.tag is not None:
            self.check_tag(event)
        mark = event.start_mark
        self.count(1, mark)
        top = self.stack[-1] if self.stack else None
        if top is not None and top.key is None and isinstance(top.value, dict):
            self.set_key(top, event)
            return
        value = self.scalar(event)
        if self.track:
            path = self.child_path(mark)
            self.doc.marks[path] = (mark.line + 1, mark.column + 1)
            if event.style:
                self.doc.styles[path] = event.style
        if event.anchor:
            self.anchors[event.anchor] = (value, 1, 0)
        self.attach(value, event.start_mark, 1, 0, new_path=False)

    def check_depth(self, depth: int, mark: Any) -> None:
        if depth > self.limits.max_depth:
            raise self.fail(f"nesting deeper than {self.limits.max_depth} levels (lists and mappings inside "
                            "each other, aliases included); refusing to load it", mark, code="limit")

    def source_line(self, index: int) -> str:
        """Line `index` (0-based) of the source text."""
        if self._lines is None:
            self._lines = self.text.split("\n")
        return self._lines[index] if index < len(self._lines) else ""

    def text_at(self, mark: Any) -> str:
        """The rest of the source line from `mark`."""
        return self.source_line(mark.line)[mark.column:]

    def merge_field_at(self, mark: Any) -> str:
        rest = self.text_at(mark)
        end = rest.find("}")
        return rest[: end + 1] if end >= 0 else rest.split()[0]

    def check_tag(self, event: Any) -> None:
        tag = event.tag
        if tag is None or tag == "!" or tag in _ALLOWED_TAGS:
            return
        mark = event.start_mark
        before = self.source_line(mark.line)[: mark.column].rstrip()
        if tag.startswith("!") and not tag.startswith("!!") and before.endswith("{"):
            raise self.fail(unquoted_merge_message(f"{{{tag}}}"), mark, code="unquoted-merge-field")
        shown = "!!" + tag[len(_STANDARD_TAG):] if tag.startswith(_STANDARD_TAG) else tag
        raise self.fail(f"YAML tag {shown} is not allowed in {self.limits.what} (only plain data: text, "
                        "numbers, booleans, dates, lists and mappings; a text starting with ! "
                        "must be quoted)", mark)

    def set_key(self, frame: _Frame, event: Any) -> None:
        key = event.value
        if key in frame.value:
            first = self.doc.key_marks.get(frame.path + (key,))
            where = f", first defined on line {first[0]}" if first else ""
            inside = f" in {display_path(frame.path)}" if frame.path else ""
            mark = event.start_mark
            self.doc.problems.append(Problem(
                "error", "duplicate-key", f"duplicate key {key!r}{inside}{where}; each key may "
                "appear once (YAML would silently keep only the last one)", self.file,
                mark.line + 1, mark.column + 1, display_path(frame.path + (key,))))
            frame.key = _SKIP                       # the value is read, then dropped
            return
        frame.key = key
        if self.track:
            self.doc.key_marks[frame.path + (key,)] = (event.start_mark.line + 1,
                                                       event.start_mark.column + 1)

    def child_path(self, mark: Any) -> Path:
        if not self.stack:
            return ()
        top = self.stack[-1]
        if isinstance(top.value, dict):
            if top.key is None:
                raise self.fail("a mapping or list cannot be used as a mapping key (keys are "
                                "names: plain text)", mark)
            return top.path + (top.key,)
        return top.path + (len(top.value),)

    def attach(self, value: Any, mark: Any, size: int, height: int, new_path: bool = True) -> None:
        if not self.stack:
            self.root = value
            return
        top = self.stack[-1]
        if height + 1 > top.height:
            top.height = height + 1
        if isinstance(top.value, dict):
            if top.key is None:
                raise self.fail("an alias cannot be used as a mapping key (keys are names: plain "
                                "text)", mark)
            if top.key is _SKIP:
                top.key = None
                return
            if new_path and self.track:
                self.doc.marks.setdefault(top.path + (top.key,), (mark.line + 1, mark.column + 1))
            top.value[top.key] = value
            top.key = None
        else:
            if new_path and self.track:
                self.doc.marks.setdefault(top.path + (len(top.value),), (mark.line + 1, mark.column + 1))
            top.value.append(value)

    def scalar(self, event: Any) -> Any:
        yaml = self.yaml
        if event.implicit[0]:                       # plain scalar: resolve 3, true, null, 2026-01-31...
            tag = self.resolved.get(event.value)
            if tag is None:                         # flow files repeat their words: resolve once
                tag = self.resolver.resolve(yaml.ScalarNode, event.value, event.implicit)
                if len(self.resolved) < _RESOLVED_KEPT:   # a stream's values are mostly new
                    self.resolved[event.value] = tag
        elif event.tag and event.tag.startswith(_STANDARD_TAG):   # explicit !!int "3" and the like
            tag = event.tag
        else:                                       # quoted: always text
            return event.value
        return self.construct(tag, event.value, event)

    def construct(self, tag: str, text: str, event: Any) -> Any:
        """The value of a scalar of `tag` (resolved already); `event` None: a problem is a
        ValueError without a place (see `PlainScalars`)."""
        yaml = self.yaml
        if tag == _STANDARD_TAG + "str":
            return text
        if tag == _STANDARD_TAG + "float":
            try:
                return Decimal(text.replace("_", ""))
            except InvalidOperation:                # .inf, .nan: kept as float, refused by types
                pass
        if tag == _STANDARD_TAG + "int" and len(text) > _INT_DIGITS and \
                _DECIMAL_INT.fullmatch(text):
            # past Python's limit on converting text to int: as exact a number, for the types'
            # own check to refuse by its digits
            return Decimal(text.replace("_", ""))
        try:
            mark = None if event is None else event.start_mark
            node = yaml.ScalarNode(tag, text, mark, None if event is None else event.end_mark)
            try:
                return self.constructor.construct_object(node)
            finally:   # the constructor keeps every node it built: let it go (memory of a stream)
                self.constructor.constructed_objects.pop(node, None)
        except (yaml.YAMLError, ValueError) as exc:
            if event is None:
                raise ValueError(str(exc)) from None
            shown = text if len(text) <= 40 else text[:37] + "..."
            why = str(exc) if len(str(exc)) <= 80 else str(exc)[:77] + "..."
            kind = tag.rsplit(":", 1)[-1]
            kind = {"timestamp": "a date", "int": "a whole number", "float": "a number",
                    "bool": "a Boolean"}.get(kind, kind)
            raise self.fail(f"cannot read {shown!r} as {kind}: {why} (quote it to mean text)",
                            event.start_mark) from None

    def document(self) -> Document:
        self.doc.data = self.root
        return self.doc


    # keyed by class name, not class: the yaml module may be imported afresh (pytester does)
    _handlers: dict[str, Callable[[_Builder, Any], None]] = {}


def _register_handlers() -> None:
    _Builder._handlers = {
        "DocumentStartEvent": _Builder._document_start,
        "AliasEvent": _Builder._alias,
        "MappingStartEvent": _Builder._collection_start,
        "SequenceStartEvent": _Builder._collection_start,
        "MappingEndEvent": _Builder._collection_end,
        "SequenceEndEvent": _Builder._collection_end,
        "ScalarEvent": _Builder._scalar,
    }


@dataclass
class _Frame:
    value: Any
    path: Path
    anchor: str | None
    start_count: int
    key: Any = None
    height: int = 1          # levels of lists/mappings in this subtree, itself included
    streamed: int = 0        # items handed out by a streaming read instead of kept


class _StreamBuilder(_Builder):
    """A builder that hands out the items of the lists at `level` (2: the lists that a top-level
    mapping's keys name) as they end, instead of keeping them: memory holds one item at a time.
    The node limit then bounds one item; what aliases paste still counts for the whole text,
    so an alias bomb spread over many items is refused all the same."""

    def __init__(self, file: str | None, limits: YamlLimits, level: int) -> None:
        super().__init__(file, "", limits)
        self.level = level
        self.out: list[tuple[Any, int, Any, int]] = []
        self.item_line = 0

    def feed(self, event: Any) -> None:
        stack = self.stack
        if len(stack) == self.level and isinstance(stack[-1].value, list):
            self.item_line = event.start_mark.line + 1      # where the next item starts
        super().feed(event)

    def attach(self, value: Any, mark: Any, size: int, height: int, new_path: bool = True) -> None:
        stack = self.stack
        # a list with an anchor is kept whole: an alias may paste it again
        if len(stack) == self.level and isinstance(stack[-1].value, list) \
                and not stack[-1].anchor:
            top = stack[-1]
            self.out.append((stack[0].key if stack[0].key is not _SKIP else None, top.streamed,
                             value, self.item_line))
            top.streamed += 1
            self.nodes = self.alias_nodes
            return
        super().attach(value, mark, size, height, new_path)


def stream_yaml(path: str | os.PathLike[str], limits: YamlLimits,
                level: int = 2) -> Iterator[tuple[Any, int, Any, int]]:
    """Read a YAML file as a stream: yields (key, index, item, line) for each item of a list at
    `level` (key: the top-level key it stands under), then (None, -1, the rest of the document,
    0), in which those lists are empty (but for lists with an anchor, kept whole). The file is
    never held whole; `limits.max_bytes` is not applied (what is held is bounded by the node
    limit instead). Raises LoadError."""
    import yaml

    name = os.fspath(path)
    loader_cls = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    if not _Builder._handlers:
        _register_handlers()
    builder = _StreamBuilder(name, limits, level)
    try:
        with open(name, "rb") as fh:
            for event in yaml.parse(fh, Loader=loader_cls):
                builder.feed(event)
                if builder.doc.problems:
                    problem = builder.doc.problems[0]
                    raise LoadError(problem.message, name, problem.line, problem.column,
                                    code=problem.code)
                if builder.out:
                    yield from builder.out
                    builder.out.clear()
    except FileNotFoundError:
        raise LoadError("file not found", name, code="file") from None
    except IsADirectoryError:
        raise LoadError(f"is a directory, expected {limits.expected}", name, code="file") from None
    except OSError as exc:
        raise LoadError(f"cannot read file: {exc.strerror}", name, code="file") from None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        message = " ".join(str(p) for p in (exc.context, exc.problem) if p) or "invalid YAML"
        raise LoadError(f"invalid YAML: {message}", name, mark.line + 1 if mark else None,
                        mark.column + 1 if mark else None, code="yaml") from None
    except yaml.reader.ReaderError as exc:
        line, column = _line_column_of_byte(name, max(exc.position, 0))
        if "UTF" in str(exc.reason).upper() or "octet" in str(exc.reason):
            raise LoadError(f"file is not UTF-8 text (byte {exc.position})", name, line,
                            code="file") from None
        code = exc.character if isinstance(exc.character, int) else ord(str(exc.character)[:1] or "?")
        raise LoadError(f"invalid YAML: the character U+{code:04X} is not allowed in YAML "
                        "(control characters other than tab and line breaks must be escaped in "
                        "a double-quoted string, e.g. \"\\x01\")", name, line, column,
                        code="yaml") from None
    except yaml.YAMLError as exc:
        raise LoadError(f"invalid YAML: {exc}", name, code="yaml") from None
    yield None, -1, builder.root, 0


class PlainScalars:
    """Reads the text of a plain (unquoted) scalar as `stream_yaml` reads it with `limits`:
    the same tag resolution and the same values. Where the reader would report a problem it
    raises ValueError, without a place: a caller reads the file again to report it
    (`flowengine.org.fixture_files` reads simple fixtures line by line with it). Text whose
    first character is not in `special` is text: no need to ask."""

    def __init__(self, limits: YamlLimits) -> None:
        import yaml

        if not _Builder._handlers:
            _register_handlers()
        builder = _Builder(None, "", limits)
        self._resolve = builder.resolver.resolve
        self._construct = builder.construct
        self._node = yaml.ScalarNode
        resolvers = builder.resolver.yaml_implicit_resolvers
        # the first characters that some implicit tag starts with (all of them, "", when some
        # resolver applies to any text)
        self.special: Container[str] = frozenset(
            first for first, pairs in resolvers.items() if pairs and first is not None)
        if resolvers.get(None):
            self.special = _Everything()
        # plain decimals and whole numbers, the common numbers, as their resolution reads them
        # (YAML 1.1's float and int patterns match them; the first is a Decimal, the second
        # an int): checked once, then read without asking
        self._numbers = all(self._resolve(self._node, text, (True, False)) == _STANDARD_TAG + tag
                            for text, tag in (("-12.50", "float"), ("0.5", "float"),
                                              ("-120", "int"), ("0", "int")))

    def __call__(self, text: str) -> Any:
        if text and text[0] not in self.special:
            return text
        if self._numbers:
            if _PLAIN_DECIMAL.fullmatch(text):
                return Decimal(text)
            if _PLAIN_WHOLE.fullmatch(text):
                return int(text)
        return self._construct(self._resolve(self._node, text, (True, False)), text, None)


class _Everything:
    def __contains__(self, item: object) -> bool:
        return True


def _line_column_of_byte(name: str, offset: int) -> tuple[int, int]:
    """1-based line and column of byte `offset` of a file (for errors only: reads the file)."""
    with open(name, "rb") as fh:
        head = fh.read(offset)
    start = head.rfind(b"\n") + 1
    return head.count(b"\n") + 1, len(head[start:].decode("utf-8", errors="replace")) + 1


_STRICT_RESOLVER: Any = None


def _strict_resolver() -> Any:
    """A resolver whose only Booleans are true and false (YAML 1.1 also reads yes/no/on/off):
    in fixtures, `Status: No` is text."""
    global _STRICT_RESOLVER
    if _STRICT_RESOLVER is None:
        import re

        import yaml

        bool_tag = "tag:yaml.org,2002:bool"
        base = yaml.resolver.Resolver
        resolvers = {first: [(tag, rx) for tag, rx in pairs if tag != bool_tag]
                     for first, pairs in base.yaml_implicit_resolvers.items()}
        cls: Any = type("StrictResolver", (base,), {"yaml_implicit_resolvers": resolvers})
        cls.add_implicit_resolver(bool_tag, re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"),
                                  list("tTfF"))
        _STRICT_RESOLVER = cls
    return _STRICT_RESOLVER()


def read_yaml(path: str | os.PathLike[str], limits: YamlLimits = FLOW_LIMITS) -> Document:
    """Read and parse one YAML file within `limits`. Raises LoadError."""
    from flowengine.formats import read_text

    name = os.fspath(path)
    return parse_yaml(read_text(name, limits.max_bytes, limits.what, limits.expected), name, limits)


EXPECTED_FILE: Final = FLOW_LIMITS.expected     # in "is a directory, expected ..."


def load(path: str | os.PathLike[str]) -> Document:
    """The YAML front end: read and parse one flow file (see `flowengine.formats`)."""
    return read_yaml(path)


def parse(text: str, file: str | None = None) -> Document:
    """The YAML front end: parse flow text."""
    return parse_yaml(text, file)


# ---------------------------------------------------------------------------------------------
# Writing flow files

# the order of a flow file's keys, as people read one (others follow in their own order)
FLOW_KEY_ORDER: Final = ("flow", "label", "description", "apiVersion", "processType", "status",
                         "runInMode", "interviewLabel", "environments", "processMetadataValues",
                         "start", "startLocation", "trigger", "types", "variables", "constants",
                         "formulas", "templates", "elements", "xml")
_FLOW_STYLE_WIDTH: Final = 108
# an element's keys: what it is first, where it is drawn and what is kept for XML last
_ELEMENT_FIRST: Final = ("type", "label", "description")
_ELEMENT_LAST: Final = ("location", "xml")


def dump_flow_yaml(data: dict[str, Any], header: str = "") -> str:
    """Flow data as a readable flow file: keys in the usual order, small mappings and lists on
    one line (`{ref: x, op: Assign, value: 1}`), text of several lines as `|` blocks; what it
    writes reads back as the same data (exact numbers, dates, text that looks like a Boolean
    quoted)."""
    import yaml

    ordered = _in_order(data, FLOW_KEY_ORDER)
    if isinstance(ordered.get("elements"), dict):
        ordered["elements"] = {name: _in_order(element, _ELEMENT_FIRST, _ELEMENT_LAST)
                               if isinstance(element, dict) else element
                               for name, element in ordered["elements"].items()}
    text = yaml.dump(_styled(ordered, top=True), Dumper=_dumper(), sort_keys=False,
                     allow_unicode=True, width=120, default_flow_style=False)
    return header + text


def _in_order(data: dict[str, Any], first: tuple[str, ...],
              last: tuple[str, ...] = ()) -> dict[str, Any]:
    ordered = {k: data[k] for k in first if k in data}
    ordered.update((k, v) for k, v in data.items() if k not in ordered and k not in last)
    ordered.update((k, data[k]) for k in last if k in data)
    return ordered


class _Inline(dict[str, Any]):
    """A mapping written on one line."""


class _InlineList(list[Any]):
    """A list written on one line."""


def _styled(value: Any, top: bool = False) -> Any:
    if isinstance(value, dict):
        styled = {k: _styled(v) for k, v in value.items()}
        if not top and styled and all(_is_scalar(v) or isinstance(v, (_Inline, _InlineList))
                                      for v in styled.values()) and _short(value):
            return _Inline(styled)
        return styled
    if isinstance(value, list):
        styled_list = [_styled(v) for v in value]
        if styled_list and all(_is_scalar(v) for v in styled_list) and _short(value):
            return _InlineList(styled_list)
        return styled_list
    return value


def _is_scalar(value: Any) -> bool:
    return not isinstance(value, (dict, list)) and not (isinstance(value, str) and "\n" in value)


def _short(value: Any) -> bool:
    """Whether a mapping or list of scalars fits on one line (about: quotes are counted)."""
    items = [f"{k}: {v}" for k, v in value.items()] if isinstance(value, dict) else \
        [str(v) for v in value]
    return sum(len(i) + 4 for i in items) <= _FLOW_STYLE_WIDTH


_DUMPER: Any = None


def _dumper() -> Any:
    global _DUMPER
    if _DUMPER is None:
        import yaml

        class FlowDumper(yaml.SafeDumper):
            pass

        def inline_map(dumper: Any, data: Any) -> Any:
            return dumper.represent_mapping("tag:yaml.org,2002:map", data, flow_style=True)

        def inline_list(dumper: Any, data: Any) -> Any:
            return dumper.represent_sequence("tag:yaml.org,2002:seq", data, flow_style=True)

        def decimal(dumper: Any, data: Decimal) -> Any:
            text = format(data, "f") if data.as_tuple().exponent > 0 else str(data)  # type: ignore[operator]
            tag = "tag:yaml.org,2002:float" if "." in text else "tag:yaml.org,2002:int"
            return dumper.represent_scalar(tag, text)

        def text(dumper: Any, data: str) -> Any:
            if "\n" in data and not data.startswith((" ", "\t")) and data == data.rstrip(" \t"):
                return dumper.represent_scalar("tag:yaml.org,2002:str", data, style="|")
            return dumper.represent_str(data)

        FlowDumper.add_representer(_Inline, inline_map)
        FlowDumper.add_representer(_InlineList, inline_list)
        FlowDumper.add_representer(Decimal, decimal)
        FlowDumper.add_representer(str, text)
        FlowDumper.add_representer(tuple, lambda d, v: d.represent_sequence(
            "tag:yaml.org,2002:seq", list(v), flow_style=True))
        _DUMPER = FlowDumper
    return _DUMPER
