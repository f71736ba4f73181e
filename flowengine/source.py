"""The source-document protocol: what every front end hands to the phases after it.

A front end (`flowengine.formats`) reads a file in its own format and gives a `SourceDocument`:
the flow as plain data in the shape of the flow model (mappings, lists, scalars), and, for every
part of it, where it came from in the file, so that every problem says `file:line:column`.
Everything after loading (structure, checks, lint, flow tests) works on source documents and
never on a format's text.
"""
from __future__ import annotations

from typing import Any, Protocol

from flowengine.errors import Problem

__all__ = ["Mark", "Path", "SourceDocument", "display_path"]

Path = tuple[Any, ...]     # keys and list indexes from the top of the data
Mark = tuple[int, int]     # 1-based line and column


class SourceDocument(Protocol):
    """The data of one file and where each part of it stands in the file."""

    data: Any
    file: str | None
    format: str                    # "yaml", "xml"...: for messages that name the format
    # problems found while reading that do not stop loading (a duplicated key...)
    problems: list[Problem]

    def locate(self, path: Path, key: bool = False) -> Mark | None:
        """Line and column of the part at `path` (of its key or name with `key=True`), or of
        its nearest ancestor that has one."""

    def position_in(self, path: Path, offset: int) -> Mark | None:
        """Line and column of character `offset` of the text at `path` (errors inside a
        formula); None when the front end cannot tell."""

    def get(self, path: Path) -> Any:
        """The data at `path`, or None."""

    def type_hint(self, value: Any, expected: str) -> str:
        """A format-specific hint for a value that is not of the `expected` kind ("text",
        "a number"...), to end a message with; "" when there is none. (YAML reads `yes` as a
        Boolean: its front end says to quote it.)"""


def display_path(path: Path) -> str:
    """`elements.Cancel.inputs.quantity`, `elements.Set.assignments[2].op`: a path as users read it."""
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out
