"""YAML text → plain data, with the line and column of every node, and hostile input bounded.

The document is built from the parser's event stream without recursion, so deep nesting, alias
bombs and huge files end in a clear `LoadError` instead of a hang or a crash. Numbers with a
fraction become `Decimal` (exact), keys are always text, duplicate keys are errors.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any, Final

from flowengine.errors import LoadError

MAX_FILE_BYTES: Final = 10 * 1024 * 1024
MAX_DEPTH: Final = 100
MAX_NODES: Final = 500_000          # nodes after alias expansion

Path = tuple[Any, ...]
Mark = tuple[int, int]              # 1-based line, column


@dataclass
class Document:
    """Parsed YAML plus where each value (and each mapping key) stood in the file."""

    data: Any
    file: str | None
    marks: dict[Path, Mark] = field(default_factory=dict)
    key_marks: dict[Path, Mark] = field(default_factory=dict)

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


def read_text(path: str | os.PathLike[str], limit: int = MAX_FILE_BYTES) -> str:
    """Read a flow file as UTF-8 text, refusing anything larger than `limit` bytes before reading."""
    name = os.fspath(path)
    try:
        size = os.stat(name).st_size
        if size > limit:
            raise LoadError(f"file is {size / 1048576:.1f} MB; flow files are limited to "
                            f"{limit // 1048576} MB", name)
        with open(name, "rb") as fh:
            raw = fh.read(limit + 1)
    except FileNotFoundError:
        raise LoadError("file not found", name, code="file") from None
    except IsADirectoryError:
        raise LoadError("is a directory, expected a flow YAML file", name, code="file") from None
    except OSError as exc:
        raise LoadError(f"cannot read file: {exc.strerror}", name, code="file") from None
    if len(raw) > limit:
        raise LoadError(f"file is larger than {limit // 1048576} MB", name)
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise LoadError(f"file is not UTF-8 text (byte {exc.start})", name, line) from None


def parse_yaml(text: str, file: str | None = None) -> Document:
    """Parse one YAML document into plain Python data with marks. Raises LoadError."""
    import yaml

    if len(text) > MAX_FILE_BYTES:
        raise LoadError(f"text is larger than {MAX_FILE_BYTES // 1048576} MB", file)
    loader_cls = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    builder = _Builder(file, text)
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
            raise LoadError(f"merge fields must be quoted: found {merge} without quotes, write "
                            f"\"{merge}\" (unquoted, YAML reads {{ as the start of a mapping)",
                            file, line, column, code="unquoted-merge-field") from None
        raise LoadError(f"invalid YAML: {message}", file, line, column, code="yaml") from None
    except yaml.YAMLError as exc:
        raise LoadError(f"invalid YAML: {exc}", file, code="yaml") from None
    return builder.document()


def _unquoted_merge_field(text: str, line: int | None) -> str | None:
    """The merge field that most likely broke parsing near `line`, if one stands unquoted there."""
    import re

    if line is None:
        return None
    lines = text.splitlines()
    for ln in lines[max(0, line - 2): line + 1]:
        for match in re.finditer(r"\{![^}\n]*\}?", ln):
            before = ln[: match.start()]
            if before.count('"') % 2 == 0 and before.count("'") % 2 == 0:
                return match.group(0)
    return None


_STANDARD_TAG = "tag:yaml.org,2002:"
_ALLOWED_TAGS = frozenset(_STANDARD_TAG + t for t in
                          ("str", "int", "float", "bool", "null", "timestamp", "map", "seq"))


class _Builder:
    """Turns parser events into data without recursion, counting nodes and depth."""

    def __init__(self, file: str | None, text: str) -> None:
        import yaml

        self.yaml = yaml
        self.file = file
        self.text = text
        self.resolver = yaml.resolver.Resolver()
        self.constructor = yaml.constructor.SafeConstructor()
        self.stack: list[_Frame] = []
        self.anchors: dict[str, tuple[Any, int]] = {}
        self.nodes = 0
        self.root: Any = None
        self.documents = 0
        self.doc = Document(None, file)

    def fail(self, message: str, mark: Any, code: str = "yaml") -> LoadError:
        return LoadError(message, self.file, mark.line + 1, mark.column + 1, code=code)

    def count(self, n: int, mark: Any) -> None:
        self.nodes += n
        if self.nodes > MAX_NODES:
            raise self.fail(f"the document expands to more than {MAX_NODES:,} nodes (YAML aliases "
                            "that multiply, a 'billion laughs' file?); refusing to load it", mark,
                            code="limit")

    def feed(self, event: Any) -> None:
        ev = self.yaml.events
        if isinstance(event, ev.DocumentStartEvent):
            self.documents += 1
            if self.documents > 1:
                raise self.fail("expected one YAML document, found several ('---')", event.start_mark)
            return
        if isinstance(event, (ev.StreamStartEvent, ev.StreamEndEvent, ev.DocumentEndEvent)):
            return
        if isinstance(event, ev.AliasEvent):
            if event.anchor not in self.anchors:
                raise self.fail(f"unknown alias *{event.anchor}", event.start_mark)
            value, size = self.anchors[event.anchor]
            self.count(size, event.start_mark)
            self.attach(value, event.start_mark, size)
            return
        if isinstance(event, (ev.MappingStartEvent, ev.SequenceStartEvent)):
            self.check_tag(event)
            self.count(1, event.start_mark)
            if len(self.stack) >= MAX_DEPTH:
                raise self.fail(f"nesting deeper than {MAX_DEPTH} levels", event.start_mark, code="limit")
            is_map = isinstance(event, ev.MappingStartEvent)
            path = self.child_path()
            self.doc.marks[path] = (event.start_mark.line + 1, event.start_mark.column + 1)
            self.stack.append(_Frame({} if is_map else [], path, event.anchor, self.nodes))
            return
        if isinstance(event, (ev.MappingEndEvent, ev.SequenceEndEvent)):
            frame = self.stack.pop()
            size = self.nodes - frame.start_count + 1
            if frame.anchor:
                self.anchors[frame.anchor] = (frame.value, size)
            self.attach(frame.value, event.start_mark, size, new_path=False)
            return
        if isinstance(event, ev.ScalarEvent):
            self.check_tag(event)
            self.count(1, event.start_mark)
            top = self.stack[-1] if self.stack else None
            if top is not None and isinstance(top.value, dict) and top.key is None:
                self.set_key(top, event)
                return
            value = self.scalar(event)
            path = self.child_path()
            self.doc.marks[path] = (event.start_mark.line + 1, event.start_mark.column + 1)
            if event.anchor:
                self.anchors[event.anchor] = (value, 1)
            self.attach(value, event.start_mark, 1, new_path=False)

    def check_tag(self, event: Any) -> None:
        tag = event.tag
        if tag is None or tag == "!" or tag in _ALLOWED_TAGS:
            return
        if tag.startswith("!") and not tag.startswith("!!"):
            raise self.fail(f"merge fields must be quoted: write \"{{{tag}}}\" with quotes "
                            f"(unquoted, YAML reads {{{tag}}} as a mapping with a tag)",
                            event.start_mark, code="unquoted-merge-field")
        shown = "!!" + tag[len(_STANDARD_TAG):] if tag.startswith(_STANDARD_TAG) else tag
        raise self.fail(f"YAML tag {shown} is not allowed in flow files (only plain data: text, "
                        "numbers, booleans, dates, lists and mappings)", event.start_mark)

    def set_key(self, frame: _Frame, event: Any) -> None:
        key = event.value
        if key in frame.value:
            first = self.doc.key_marks.get(frame.path + (key,))
            where = f" (first defined on line {first[0]})" if first else ""
            raise self.fail(f"duplicate key {key!r}{where}; each key may appear once", event.start_mark,
                            code="duplicate-key")
        frame.key = key
        self.doc.key_marks[frame.path + (key,)] = (event.start_mark.line + 1, event.start_mark.column + 1)

    def child_path(self) -> Path:
        if not self.stack:
            return ()
        top = self.stack[-1]
        if isinstance(top.value, dict):
            if top.key is None:
                raise LoadError("mappings and lists cannot be used as mapping keys", self.file,
                                code="yaml")
            return top.path + (top.key,)
        return top.path + (len(top.value),)

    def attach(self, value: Any, mark: Any, size: int, new_path: bool = True) -> None:
        if not self.stack:
            self.root = value
            return
        top = self.stack[-1]
        if isinstance(top.value, dict):
            if top.key is None:
                raise self.fail("mappings, lists and aliases cannot be used as mapping keys", mark)
            if new_path:
                self.doc.marks.setdefault(top.path + (top.key,), (mark.line + 1, mark.column + 1))
            top.value[top.key] = value
            top.key = None
        else:
            if new_path:
                self.doc.marks.setdefault(top.path + (len(top.value),), (mark.line + 1, mark.column + 1))
            top.value.append(value)

    def scalar(self, event: Any) -> Any:
        yaml = self.yaml
        if event.implicit[0]:                       # plain scalar: resolve 3, true, null, 2026-01-31...
            tag = self.resolver.resolve(yaml.ScalarNode, event.value, event.implicit)
        elif event.tag and event.tag.startswith(_STANDARD_TAG):   # explicit !!int "3" and the like
            tag = event.tag
        else:                                       # quoted: always text
            return event.value
        if tag == _STANDARD_TAG + "str":
            return event.value
        if tag == _STANDARD_TAG + "float":
            try:
                return Decimal(event.value.replace("_", ""))
            except InvalidOperation:                # .inf, .nan: kept as float, refused by types
                pass
        try:
            return self.constructor.construct_object(yaml.ScalarNode(tag, event.value,
                                                                     event.start_mark, event.end_mark))
        except (yaml.YAMLError, ValueError) as exc:
            raise self.fail(f"cannot read {event.value!r} as {tag.rsplit(':', 1)[-1]}: {exc}",
                            event.start_mark) from None

    def document(self) -> Document:
        self.doc.data = self.root
        return self.doc


@dataclass
class _Frame:
    value: Any
    path: Path
    anchor: str | None
    start_count: int
    key: Any = None


def load_document(path: str | os.PathLike[str]) -> Document:
    """Read and parse one flow file."""
    name = os.fspath(path)
    return parse_yaml(read_text(name), name)
