"""Writing output files: the one helper every command and module that writes a file uses."""
from __future__ import annotations

import os
import tempfile

from flowengine.errors import FlowError

__all__ = ["WriteError", "write_atomically"]


class WriteError(FlowError, OSError):
    """An output file could not be written (missing folder, no permission...)."""


def write_atomically(path: str | os.PathLike[str], text: str) -> None:
    """Write `text` to `path` through a temporary file in the same folder and os.replace, so a
    reader never sees half a file and a failure leaves no temporary file behind. Raises
    WriteError (a FlowError and an OSError)."""
    path = os.fspath(path)
    folder = os.path.dirname(os.path.abspath(path))
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{os.path.basename(path)}.", suffix=".tmp", dir=folder)
    except OSError as exc:
        raise WriteError(f"cannot write {path}: {exc.strerror or exc}") from exc
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as fh:
            fh.write(text)
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException as exc:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        if isinstance(exc, OSError):
            raise WriteError(f"cannot write {path}: {exc.strerror or exc}") from exc
        raise
