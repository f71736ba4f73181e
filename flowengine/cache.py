"""The flow cache: each flow file's parsed and validated structure, kept by its content.

Loading a flow reads its file, parses it (YAML or Salesforce's XML) and validates its
structure with the flow model; the checks that follow (names, types, actions, the graph) and
compiling take a few milliseconds. `load_structure` keeps the outcome of the first part in the
user's cache directory (`flowengine.catalog.cache_dir()`, which the action catalog shares), one
file per flow, under a key made of

- the file's bytes and the path it was named by (messages name it),
- flowengine's version and the size and time of each of its source files (an upgrade, or an
  edit of flowengine itself, makes new keys),
- the versions of Python, pydantic and PyYAML (seen through their files), and the element
  kinds registered (a flow using a plug-in's own element kind is not kept: its source is not
  in the key).

Nothing else outside the file shapes what is kept: the checks, which read the plug-ins, the
project's objects and its other flows, run again on every load, so an edited plug-in or
object is always seen and a cache entry is never stale. Deleting the directory is always safe.

An entry is trusted as the flow it stands for, so the directory's permissions are what keeps
it honest: the cache is used only in a directory that belongs to the user and that nobody else
can write to, and only the user's own files in it are read (POSIX). Entries are read back with
an unpickler that imports no module of the entry's choice and builds nothing but plain values
and flowengine's own data classes, so even a planted entry cannot run code. An entry that is
damaged, foreign, refused or of another version is a miss, never an error; a cache that cannot
be written is no error either. `FLOWENGINE_NO_CACHE=1` turns it off; `FLOWENGINE_CACHE_DIR`
moves it.
"""
from __future__ import annotations

import _thread
import hashlib
import io
import os
import pickle
import sys
from typing import TYPE_CHECKING, Any, Final

if TYPE_CHECKING:
    from flowengine.model.structure import Structure
    from flowengine.source import SourceDocument

__all__ = ["flow_cache_dir", "load_structure"]

FORMAT: Final = 1
KEEP: Final = 256                    # entries kept; the least recently used go first
SUFFIX: Final = ".flowcache"
# what an entry may build besides flowengine's own classes
_PLAIN: Final = {("decimal", "Decimal"), ("datetime", "date"), ("datetime", "datetime"),
                 ("datetime", "time"), ("datetime", "timedelta"), ("datetime", "timezone"),
                 ("builtins", "set"), ("builtins", "frozenset")}
_DOCUMENTS: Final = {("flowengine.formats.sfxml", "XmlDocument")}   # not dataclasses


def flow_cache_dir() -> str:
    """Where flow entries are kept: `flows/` in the cache directory."""
    from flowengine.catalog import cache_dir

    return os.path.join(cache_dir(), "flows")


def load_structure(path: str | os.PathLike[str]) -> tuple[SourceDocument, Structure]:
    """The source document of a flow file and the structure its model validation gives,
    from the cache when an entry for these bytes exists, else parsed, validated and kept.
    Raises LoadError (and ValidationError) exactly as `load_source` and `build_model` do."""
    from flowengine.formats import decode_text, front_end_of, read_bytes, reader_of

    name = os.fspath(path)
    front_end = reader_of(front_end_of(name))
    raw = read_bytes(name, expected=front_end.EXPECTED_FILE)
    folder = _usable_dir() if not os.environ.get("FLOWENGINE_NO_CACHE") else None
    entry = os.path.join(folder, _key(name, raw) + SUFFIX) if folder else None
    if entry is not None:
        found = _read(entry, name)
        if found is not None:
            _touch(entry)
            return found
    from flowengine.model.structure import build_model

    doc = front_end.parse(decode_text(raw, name), name)
    structure = build_model(doc)
    if entry is not None:
        _write(entry, (doc, structure))
    return doc, structure


# -- the key -------------------------------------------------------------------------------------

_fingerprint: str | None = None


def _key(name: str, raw: bytes) -> str:
    digest = hashlib.sha256(_environment().encode("utf-8", "surrogateescape"))
    digest.update(b"\0" + name.encode("utf-8", "surrogateescape") + b"\0")
    digest.update(raw)
    return digest.hexdigest()


def _environment() -> str:
    """Everything besides the file that shapes a parsed and validated flow."""
    global _fingerprint
    from flowengine import __version__
    from flowengine.elements import registered

    if _fingerprint is None:
        from importlib.util import find_spec

        from flowengine.catalog import file_stamp

        parts = [f"format {FORMAT}", __version__, sys.version]
        own = os.path.dirname(os.path.abspath(__file__))
        for folder, dirs, files in os.walk(own):
            dirs[:] = sorted(d for d in dirs if d != "__pycache__")
            parts.extend(file_stamp(os.path.join(folder, f)) for f in sorted(files)
                         if f.endswith(".py"))
        for package in ("pydantic", "pydantic_core", "yaml"):
            spec = find_spec(package)
            parts.append(file_stamp(spec.origin) if spec and spec.origin else f"{package} -")
        _fingerprint = "\n".join(parts)
    # kinds are registered at run time (plug-ins' own, tests'): read them on every load
    return "\n".join([_fingerprint, *registered()])


# -- the directory ---------------------------------------------------------------------------------

def _usable_dir() -> str | None:
    """The flow cache directory, made when missing; None when it is not the user's alone (on
    POSIX: owned by the user, and nobody else may write to it). Its parent is not judged: a
    folder or an entry someone else put there is not the user's, and is refused as such."""
    folder = flow_cache_dir()
    try:
        os.makedirs(folder, mode=0o700, exist_ok=True)
        st = os.stat(folder)
    except OSError:
        return None
    if os.name == "posix" and (st.st_uid != os.getuid() or st.st_mode & 0o022):
        return None
    return folder


# -- entries -------------------------------------------------------------------------------------

# modules an entry may import to build its classes (each is imported by loading a flow anyway,
# and importing it does nothing else), the built-in element kinds' among them (imported when a
# flow uses them); any other flowengine module only once it is imported
_MODULES: Final = frozenset({"flowengine.errors", "flowengine.model", "flowengine.model.base",
                             "flowengine.model.structure", "flowengine.formats.yaml",
                             "flowengine.formats.sfxml", "flowengine.formats.xmltree",
                             "flowengine.conditions"})
_DOCUMENT_TYPES: Final = {("flowengine.formats.yaml", "Document"),
                          ("flowengine.formats.sfxml", "XmlDocument")}


def _builtin_kinds(module: str) -> bool:
    """Whether `module` defines built-in element kinds."""
    from flowengine.elements import BUILTIN_MODULES

    return module.startswith("flowengine.elements.") and \
        module.rpartition(".")[2] in BUILTIN_MODULES


class _Unpickler(pickle.Unpickler):
    """Builds plain values and flowengine's data classes only (the flow model's classes,
    dataclasses, the source documents) from modules imported already or in `_MODULES`: an
    entry can neither import a module of its choice nor call anything else. A plug-in's
    element kinds are not flowengine's, so flows using them are not kept."""

    def find_class(self, module: str, name: str) -> Any:
        if (module, name) in _PLAIN:
            return super().find_class(module, name)
        if "." not in name and module.startswith("flowengine.") and \
                (module in _MODULES or module in sys.modules or _builtin_kinds(module)):
            from dataclasses import is_dataclass

            from flowengine.model.base import StrictModel

            found = super().find_class(module, name)
            if isinstance(found, type) and (issubclass(found, StrictModel) or is_dataclass(found)
                                            or (module, name) in _DOCUMENTS):
                return found
        raise pickle.UnpicklingError(f"{module}.{name} is not allowed in a flow cache entry")


def _read(entry: str, name: str) -> tuple[SourceDocument, Structure] | None:
    """The entry's document and structure; None for a missing, damaged, foreign or refused
    entry, or one that is not the user's own file."""
    from flowengine.model.structure import Structure

    try:
        fd = os.open(entry, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
        with os.fdopen(fd, "rb") as fh:
            if os.name == "posix" and os.fstat(fh.fileno()).st_uid != os.getuid():
                return None
            data = fh.read()
        found = _Unpickler(io.BytesIO(data)).load()
    except Exception:       # missing, damaged, foreign, from another version: a miss
        return None
    if not (isinstance(found, tuple) and len(found) == 2 and isinstance(found[1], Structure)):
        return None
    doc = found[0]
    if (type(doc).__module__, type(doc).__qualname__) not in _DOCUMENT_TYPES or \
            getattr(doc, "file", None) != name:
        return None
    return doc, found[1]


def _write(entry: str, value: Any) -> None:
    """Write atomically (a temporary file renamed over the entry): concurrent runs each see a
    whole entry or none. What could not be read back is not written; failing to write is no
    error."""
    try:
        data = pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)
        _Unpickler(io.BytesIO(data)).load()      # a plug-in's kind, a value of another class
    except Exception:
        return
    temporary = f"{entry}.{os.getpid()}-{_thread.get_ident()}-{os.urandom(4).hex()}.tmp"
    try:
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL |
                     getattr(os, "O_NOFOLLOW", 0), 0o600)
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.replace(temporary, entry)
        _prune(os.path.dirname(entry))
    except OSError:
        try:
            os.remove(temporary)
        except OSError:
            pass


def _touch(entry: str) -> None:
    """Mark an entry as just used: pruning keeps the most recently used entries."""
    try:
        os.utime(entry)
    except OSError:
        pass


def _prune(folder: str) -> None:
    entries = [e for e in os.scandir(folder) if e.name.endswith(SUFFIX)]
    if len(entries) <= KEEP:
        return
    entries.sort(key=lambda e: e.stat().st_mtime_ns)
    for old in entries[:-KEEP]:
        try:
            os.remove(old.path)
        except OSError:
            pass
