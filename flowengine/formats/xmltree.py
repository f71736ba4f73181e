"""Salesforce metadata XML as a small tree with positions, read with hostile input refused, and
written back the way Salesforce's own retrieve writes it.

Reading uses the standard library's expat parser directly, hardened by refusing what Salesforce
metadata never has: a document type declaration (so no entity can be declared: no "billion
laughs", no external entity, no file or network access, ever), and any namespace but the
metadata one. Depth and the number of elements are bounded; every element remembers the line
and column of its start tag and of its text, for messages that point into the file.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Final

from flowengine.errors import LoadError

__all__ = ["METADATA_NS", "XmlNode", "canonical", "parse_xml", "write_xml"]

METADATA_NS: Final = "http://soap.sforce.com/2006/04/metadata"
MAX_DEPTH: Final = 100
MAX_ELEMENTS: Final = 500_000
_SEP: Final = " "             # expat namespace separator: no XML name or namespace holds a space


@dataclass
class XmlNode:
    """One element: its tag (without the namespace), its children or its text, and where its
    start tag (`line`, `column`) and its text (`text_at`) stand in the file (1-based)."""

    tag: str
    children: list[XmlNode] = field(default_factory=list)
    text: str = ""
    line: int = 0
    column: int = 0
    text_at: tuple[int, int] | None = None

    @property
    def is_leaf(self) -> bool:
        return not self.children

    def child(self, tag: str) -> XmlNode | None:
        return next((c for c in self.children if c.tag == tag), None)

    def all(self, tag: str) -> list[XmlNode]:
        return [c for c in self.children if c.tag == tag]

    def text_of(self, tag: str) -> str | None:
        found = self.child(tag)
        return found.text if found is not None else None


class _Refused(Exception):
    """Raised inside expat's callbacks to stop parsing with our own message (and where the
    construct it refuses starts, when that is known)."""

    def __init__(self, message: str, code: str = "xml",
                 at: tuple[int, int] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.code = code
        self.at = at


def parse_xml(text: str, file: str | None = None, root_tag: str = "Flow") -> XmlNode:
    """Parse Salesforce metadata XML whose root is `root_tag`. Raises LoadError with the line
    and column of the problem."""
    from xml.parsers import expat

    parser = expat.ParserCreate("UTF-8", _SEP)
    stack: list[XmlNode] = []
    done: list[XmlNode] = []
    count = 0

    def where() -> tuple[int, int]:
        return parser.CurrentLineNumber, parser.CurrentColumnNumber + 1

    def start(name: str, attributes: dict[str, str]) -> None:
        nonlocal count
        at = where()
        ns, _, tag = name.rpartition(_SEP)
        if ns != METADATA_NS:
            shown = f"{{{ns}}}{tag}" if ns else tag
            raise _Refused(f"element <{shown}> is not in the Salesforce metadata namespace "
                           f"({METADATA_NS})", at=at)
        if not stack and tag != root_tag:
            raise _Refused(f"the root element is <{tag}>, expected <{root_tag}>: not a "
                           f"{root_tag} metadata file", at=at)
        count += 1
        if count > MAX_ELEMENTS:
            raise _Refused(f"more than {MAX_ELEMENTS:,} elements; refusing to load it", "limit", at)
        if len(stack) >= MAX_DEPTH:
            raise _Refused(f"nesting deeper than {MAX_DEPTH} levels; refusing to load it", "limit", at)
        for attr in attributes:
            raise _Refused(f"unexpected attribute {attr.rpartition(_SEP)[2]!r} on <{tag}> "
                           "(Flow metadata has none)", at=at)
        stack.append(XmlNode(tag, line=at[0], column=at[1]))

    def end(name: str) -> None:
        node = stack.pop()
        if node.children:
            if node.text.strip():
                raise _Refused(f"<{node.tag}> holds both text and elements")
            node.text = ""
        if stack:
            stack[-1].children.append(node)
        else:
            done.append(node)

    def chars(data: str) -> None:
        if not stack:
            return
        node = stack[-1]
        if node.text_at is None:
            node.text_at = where()
        node.text += data

    def doctype(*_: Any) -> None:
        raise _Refused("a document type declaration (<!DOCTYPE ...>) is not allowed: Salesforce "
                       "metadata has none, and it could declare entities (refused: no entity is "
                       "expanded and no external file is ever read)", "limit")

    def entity(*_: Any) -> None:
        raise _Refused("entity declarations are not allowed", "limit")

    def external(*_: Any) -> int:
        raise _Refused("external entities are not allowed", "limit")

    parser.StartElementHandler = start
    parser.EndElementHandler = end
    parser.CharacterDataHandler = chars
    parser.StartDoctypeDeclHandler = doctype
    parser.EntityDeclHandler = entity
    parser.UnparsedEntityDeclHandler = entity
    parser.ExternalEntityRefHandler = external
    parser.SetParamEntityParsing(expat.XML_PARAM_ENTITY_PARSING_NEVER)
    try:
        parser.Parse(text, True)
    except _Refused as exc:
        line, column = exc.at or where()
        raise LoadError(exc.message, file, line, column, code=exc.code) from None
    except expat.ExpatError as exc:
        message = expat.errors.messages.get(exc.code, str(exc)) if exc.code else str(exc)
        raise LoadError(f"invalid XML: {message}", file, exc.lineno, exc.offset + 1,
                        code="xml") from None
    if not done:
        raise LoadError(f"no <{root_tag}> element", file, 1, 1, code="xml")
    return done[0]


# ---------------------------------------------------------------------------------------------
# Writing

_ESCAPES: Final = str.maketrans({"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;",
                                 "'": "&apos;"})


def write_xml(root: XmlNode) -> str:
    """The document as Salesforce's retrieve writes it: the XML declaration, the metadata
    namespace on the root, four spaces a level, children in the order given."""
    lines = ['<?xml version="1.0" encoding="UTF-8"?>']
    _write(root, 0, lines, f' xmlns="{METADATA_NS}"')
    return "\n".join(lines) + "\n"


def _write(node: XmlNode, depth: int, lines: list[str], attributes: str = "") -> None:
    pad = "    " * depth
    if node.children:
        lines.append(f"{pad}<{node.tag}{attributes}>")
        for child in node.children:
            _write(child, depth + 1, lines)
        lines.append(f"{pad}</{node.tag}>")
    elif node.text == "":
        lines.append(f"{pad}<{node.tag}{attributes}></{node.tag}>")
    else:
        lines.append(f"{pad}<{node.tag}{attributes}>{node.text.translate(_ESCAPES)}</{node.tag}>")


def canonical(node: XmlNode) -> Any:
    """A comparable form of a tree: tags, texts and children in order, positions and the
    whitespace between elements left out (two files that say the same compare equal)."""
    if node.children:
        return (node.tag, tuple(canonical(c) for c in node.children))
    return (node.tag, node.text)
