"""Writing output files: the one helper behind every `-o`, `--report` and generated file.

What `write_output(path, text)` does with each kind of target:
- `-` (or a path that is this process's own standard output, such as `/dev/stdout`): the text
  is written to standard output;
- a regular file, or a name that does not exist yet: the text goes to a temporary file in the
  same folder, which then replaces the target (`os.replace`), so a reader never sees half a
  file; an existing file keeps its permission bits (and, when we may, its owner); a new one gets
  the usual `0666 & ~umask`; no temporary file survives a failure;
- a symlink: followed (its target is written as above); the link itself is never replaced;
- a device or a FIFO (`/dev/null`, a named pipe): written through, never replaced;
- a folder, a missing folder, or one of the command's own input files: refused with a
  `WriteError` that names the path and says why.

`check_output(path, inputs)` makes the same checks without writing, so a command can refuse a
bad path before it does anything (`run --report` checks before the interview starts).
"""
from __future__ import annotations

import errno
import os
import secrets
import stat
import sys
from collections.abc import Iterable
from typing import Final

from flowengine.errors import FlowError

__all__ = ["STDOUT", "WriteError", "check_output", "write_atomically", "write_output",
           "write_output_chunks"]

STDOUT: Final = "-"
PathLike = str | os.PathLike[str]


class WriteError(FlowError, OSError):
    """An output file could not be written (missing folder, no permission...)."""


def check_output(path: PathLike, inputs: Iterable[PathLike] = ()) -> None:
    """Raise WriteError when `path` cannot take the output: a folder, a missing folder, a folder
    we may not write to, or one of `inputs` (the files the command reads)."""
    _plan(path, inputs)


def write_output(path: PathLike, text: str, inputs: Iterable[PathLike] = ()) -> None:
    """Write `text` to `path` as the module docstring says (never over one of `inputs`).
    Raises WriteError (a FlowError and an OSError)."""
    write_output_chunks(path, (text,), inputs)


def write_output_chunks(path: PathLike, chunks: Iterable[str],
                        inputs: Iterable[PathLike] = ()) -> None:
    """`write_output` of the text that `chunks` yield, written as it comes (large outputs are
    never held whole): a file is still replaced only once every chunk is written."""
    how, target = _plan(path, inputs)
    if how == "stdout":
        sys.stdout.flush()
        buffer = getattr(sys.stdout, "buffer", None)
        for text in chunks:
            if buffer is not None:
                buffer.write(_encode(text))
            else:                        # a replaced sys.stdout (tests, an embedding program)
                sys.stdout.write(text)
        sys.stdout.flush()
        return
    if how == "through":
        try:
            with open(target, "wb") as fh:
                for text in chunks:
                    fh.write(_encode(text))
        except OSError as exc:
            raise _error(path, exc) from exc
        return
    _replace(path, target, chunks)


def write_atomically(path: PathLike, text: str) -> None:
    """Write a file flowengine owns (a cache, a generated page): `write_output` without inputs."""
    write_output(path, text)


# ---------------------------------------------------------------------------------------------

def _plan(path: PathLike, inputs: Iterable[PathLike]) -> tuple[str, str]:
    """How to write `path`: ("stdout" | "through" | "replace", the file to write)."""
    name = os.fspath(path)
    if name == STDOUT:
        return "stdout", name
    if not name:
        raise WriteError("cannot write to an empty file name")
    try:
        found = os.stat(name)            # follows symlinks
    except FileNotFoundError:
        found = None
    except OSError as exc:
        raise _error(name, exc) from exc
    if found is not None and _is_stdout(found):
        return "stdout", name
    target = os.path.realpath(name) if found is not None or os.path.islink(name) else name
    _refuse_inputs(name, target, found, inputs)
    if found is not None and stat.S_ISDIR(found.st_mode):
        raise WriteError(f"cannot write {name}: it is a folder (expected a file name)")
    if found is not None and not stat.S_ISREG(found.st_mode):
        return "through", name           # a device or a FIFO: never replaced
    if found is not None and not _same(target, found):
        return "through", name           # a link that realpath cannot follow (/proc/self/fd/N)
    folder = os.path.dirname(os.path.abspath(target))
    if not os.path.isdir(folder):
        raise WriteError(f"cannot write {name}: the folder {folder} does not exist")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise WriteError(f"cannot write {name}: no permission to create files in {folder}")
    return "replace", target


def _refuse_inputs(name: str, target: str, found: os.stat_result | None,
                   inputs: Iterable[PathLike]) -> None:
    for source in inputs:
        try:
            same = found is not None and os.path.samefile(name, source)
        except OSError:
            same = False
        if same or os.path.realpath(os.fspath(source)) == target:
            raise WriteError(f"refusing to write {name}: it is {os.fspath(source)}, an input of "
                             "this command (choose another output file)")


def _is_stdout(found: os.stat_result) -> bool:
    try:
        out = os.fstat(sys.stdout.fileno())
    except (AttributeError, OSError, ValueError):
        return False
    return (out.st_dev, out.st_ino) == (found.st_dev, found.st_ino)


def _same(target: str, found: os.stat_result) -> bool:
    try:
        real = os.stat(target)
    except OSError:
        return False
    return (real.st_dev, real.st_ino) == (found.st_dev, found.st_ino)


def _replace(name: PathLike, target: str, chunks: Iterable[str]) -> None:
    folder = os.path.dirname(os.path.abspath(target))
    tmp = os.path.join(folder, f".{os.path.basename(target)}.{secrets.token_hex(4)}.tmp")
    try:
        old = os.stat(target)
    except OSError:
        old = None
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)   # the umask applies
    except OSError as exc:
        raise _error(name, exc) from exc
    try:
        with os.fdopen(fd, "wb") as fh:
            for text in chunks:
                fh.write(_encode(text))
        if old is not None:
            os.chmod(tmp, stat.S_IMODE(old.st_mode))
            if hasattr(os, "chown") and (old.st_uid, old.st_gid) != (os.getuid(), os.getgid()):
                try:
                    os.chown(tmp, old.st_uid, old.st_gid)
                except OSError:
                    pass     # only root may give a file away; the mode is kept all the same
        os.replace(tmp, target)
    except BaseException as exc:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        if isinstance(exc, OSError):
            raise _error(name, exc) from exc
        raise


def _encode(text: str) -> bytes:
    # a file name that is not UTF-8 reaches us with surrogate escapes: shown as U+FFFD, so
    # that the output stays valid UTF-8
    return text.encode("utf-8", errors="replace")


def _error(path: PathLike, exc: OSError) -> WriteError:
    reason = exc.strerror or str(exc)
    if exc.errno == errno.ENOENT:
        folder = os.path.dirname(os.path.abspath(os.fspath(path)))
        reason = f"the folder {folder} does not exist" if not os.path.isdir(folder) else reason
    return WriteError(f"cannot write {os.fspath(path)}: {reason}")
