"""Front ends: flow files in their source formats → source documents (`flowengine.source`).

    load_source(path)          the source document of a flow file, by the file's suffix
    parse_source(text, file)   the same from text (YAML unless `format` says otherwise)
    read_text(path, limit)     a file's text, refused past `limit` bytes before it is read

Every front end reads through `read_text`, so the loader limits (size; depth and node counts
are each front end's) hold for all of them. The YAML front end (`formats.yaml`) is the default
for suffixes no front end claims.
"""
from __future__ import annotations

import importlib
import os
from typing import TYPE_CHECKING, Any, Final

from flowengine.errors import LoadError

if TYPE_CHECKING:
    from flowengine.source import SourceDocument

__all__ = ["FRONT_ENDS", "MAX_FILE_BYTES", "decode_text", "front_end_of", "load_source",
           "parse_source", "read_bytes", "read_text", "reader_of"]

MAX_FILE_BYTES: Final = 10 * 1024 * 1024
# file suffix → the module of its front end (each has `load(path)`, `parse(text, file)` and
# `EXPECTED_FILE`, what its files are in "is a directory, expected ...")
FRONT_ENDS: Final[dict[str, str]] = {".yaml": "flowengine.formats.yaml",
                                     ".yml": "flowengine.formats.yaml",
                                     ".flow-meta.xml": "flowengine.formats.sfxml",
                                     ".flow": "flowengine.formats.sfxml"}
DEFAULT_FRONT_END: Final = "flowengine.formats.yaml"


def front_end_of(path: str | os.PathLike[str]) -> str:
    """The module of the front end that reads `path` (the longest matching suffix wins)."""
    name = os.fspath(path).lower()
    matches = [suffix for suffix in FRONT_ENDS if name.endswith(suffix)]
    return FRONT_ENDS[max(matches, key=len)] if matches else DEFAULT_FRONT_END


def reader_of(front_end: str) -> Any:
    """The module of a front end (see `FRONT_ENDS`): `load(path)`, `parse(text, file)`."""
    return importlib.import_module(front_end)


def load_source(path: str | os.PathLike[str]) -> SourceDocument:
    """Read and parse one flow file with the front end of its suffix. Raises LoadError."""
    document: SourceDocument = importlib.import_module(front_end_of(path)).load(path)
    return document


def parse_source(text: str, file: str | None = None, format: str = "yaml") -> SourceDocument:
    """Parse flow text of `format` ("yaml" or "xml", Salesforce's .flow-meta.xml, whose flow
    is named by `file`). Raises LoadError."""
    module = {"yaml": "flowengine.formats.yaml", "xml": "flowengine.formats.sfxml"}.get(format)
    if module is None:
        raise LoadError(f"unknown flow format {format!r} (known: yaml, xml)", file)
    document: SourceDocument = importlib.import_module(module).parse(text, file)
    return document


def read_text(path: str | os.PathLike[str], limit: int = MAX_FILE_BYTES,
              what: str = "flow files", expected: str = "a flow file") -> str:
    """Read a file as UTF-8 text, refusing anything larger than `limit` bytes before reading.
    `what` names the kind of file in the size message, `expected` in the directory message."""
    name = os.fspath(path)
    return decode_text(read_bytes(name, limit, what, expected), name)


def read_bytes(path: str | os.PathLike[str], limit: int = MAX_FILE_BYTES,
               what: str = "flow files", expected: str = "a flow file") -> bytes:
    """A file's bytes, as `read_text` reads them (the same limits and messages)."""
    name = os.fspath(path)
    try:
        size = os.stat(name).st_size
        if size > limit:
            raise LoadError(f"file is {size / 1048576:.1f} MB; {what} are limited to "
                            f"{limit // 1048576} MB", name, code="limit")
        with open(name, "rb") as fh:
            raw = fh.read(limit + 1)
    except FileNotFoundError:
        raise LoadError("file not found", name, code="file") from None
    except IsADirectoryError:
        raise LoadError(f"is a directory, expected {expected}", name, code="file") from None
    except OSError as exc:
        raise LoadError(f"cannot read file: {exc.strerror}", name, code="file") from None
    if len(raw) > limit:
        raise LoadError(f"file is larger than {limit // 1048576} MB", name, code="limit")
    return raw


def decode_text(raw: bytes, name: str | None) -> str:
    """File bytes as UTF-8 text (a byte-order mark dropped); LoadError names the line of a
    byte that is not UTF-8."""
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise LoadError(f"file is not UTF-8 text (byte {exc.start})", name, line,
                        code="file") from None
