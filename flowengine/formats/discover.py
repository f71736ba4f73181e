"""Finding flow files: files as given, directories searched for the flow files in them."""
from __future__ import annotations

import os
import pathlib
from collections.abc import Iterable
from typing import Final

__all__ = ["TEST_SUFFIXES", "expand_paths"]

YAML_SUFFIXES: Final = (".yaml", ".yml")
TEST_SUFFIXES: Final = (".flowtest.yaml", ".flowtest.yml")


def expand_paths(paths: Iterable[str | os.PathLike[str]]) -> list[str]:
    """Files as given; directories searched (recursively, sorted) for flow files: `.yaml`/`.yml`
    files that are not flow tests and whose top level has a `flow:` key (fixtures are skipped)."""
    out: list[str] = []
    for raw in paths:
        path = pathlib.Path(raw)
        if not path.is_dir():
            out.append(os.fspath(raw))
            continue
        for candidate in sorted(path.rglob("*")):
            if candidate.is_file() and is_flow_file(candidate):
                out.append(os.fspath(candidate))
    return out


def is_flow_file(path: pathlib.Path) -> bool:
    """Whether a file found in a directory is a flow file."""
    name = path.name
    if name.endswith(YAML_SUFFIXES) and not name.endswith(TEST_SUFFIXES):
        return _declares_flow(path)
    return False


def _declares_flow(path: pathlib.Path) -> bool:
    """A cheap look for a top-level `flow:` key, without parsing the whole file."""
    try:
        with open(path, encoding="utf-8", errors="replace") as fh:
            return any(line.startswith("flow:") for line in fh)
    except OSError:
        return True                 # let the caller report it
