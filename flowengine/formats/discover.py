"""Finding flow files: files as given, directories searched for the flow files in them.

In a directory, a flow file is a YAML file with a top-level `flow:` key (flow tests and fixtures
are skipped), or a Salesforce flow, `Name.flow-meta.xml` (older projects: `Name.flow`). Inside a
Salesforce DX project — a folder with an `sfdx-project.json` — Salesforce flows are looked for
in the project's package directories (`packageDirectories[].path`), as the Salesforce CLI does.
"""
from __future__ import annotations

import json
import os
import pathlib
from collections.abc import Iterable
from typing import Final

from flowengine.errors import LoadError

__all__ = ["TEST_SUFFIXES", "XML_SUFFIXES", "YAML_SUFFIXES", "dx_package_dirs", "expand_paths",
           "is_flow_file"]

YAML_SUFFIXES: Final = (".yaml", ".yml")
XML_SUFFIXES: Final = (".flow-meta.xml", ".flow")
TEST_SUFFIXES: Final = (".flowtest.yaml", ".flowtest.yml")
DX_PROJECT: Final = "sfdx-project.json"
MAX_PROJECT_BYTES: Final = 1024 * 1024


def expand_paths(paths: Iterable[str | os.PathLike[str]]) -> list[str]:
    """Files as given; directories searched (recursively, sorted) for flow files."""
    out: list[str] = []
    for raw in paths:
        path = pathlib.Path(raw)
        if not path.is_dir():
            out.append(os.fspath(raw))
            continue
        projects = {p.parent: dx_package_dirs(p.parent) for p in path.rglob(DX_PROJECT)}
        for candidate in sorted(path.rglob("*")):
            if candidate.is_file() and is_flow_file(candidate) and \
                    _in_packages(candidate, projects):
                out.append(os.fspath(candidate))
    return out


def is_flow_file(path: pathlib.Path) -> bool:
    """Whether a file found in a directory is a flow file."""
    name = path.name.lower()
    if name.endswith(XML_SUFFIXES):
        return True
    if name.endswith(YAML_SUFFIXES) and not name.endswith(TEST_SUFFIXES):
        return _declares_flow(path)
    return False


def dx_package_dirs(project: pathlib.Path) -> list[pathlib.Path]:
    """The package directories of the Salesforce DX project in `project` (LoadError for an
    `sfdx-project.json` that cannot be read)."""
    from flowengine.formats import read_text

    file = project / DX_PROJECT
    text = read_text(file, MAX_PROJECT_BYTES, "sfdx-project.json files", "a file")
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise LoadError(f"invalid JSON: {exc.msg}", os.fspath(file), exc.lineno, exc.colno) from None
    dirs = data.get("packageDirectories") if isinstance(data, dict) else None
    if not isinstance(dirs, list) or not all(isinstance(d, dict) and isinstance(d.get("path"), str)
                                             for d in dirs):
        raise LoadError("expected \"packageDirectories\": a list of {\"path\": ...} entries (the "
                        "folders of the project's sources)", os.fspath(file))
    return [(project / d["path"]).resolve() for d in dirs]


def _in_packages(path: pathlib.Path, projects: dict[pathlib.Path, list[pathlib.Path]]) -> bool:
    """Salesforce flows of a DX project count only inside its package directories."""
    if not path.name.lower().endswith(XML_SUFFIXES):
        return True
    resolved = path.resolve()
    for root, packages in projects.items():
        if resolved.is_relative_to(root.resolve()):
            return any(resolved.is_relative_to(p) for p in packages)
    return True


def _declares_flow(path: pathlib.Path) -> bool:
    """A cheap look for a top-level `flow:` key, without parsing the whole file."""
    try:
        with open(path, encoding="utf-8", errors="replace") as fh:
            return any(line.startswith("flow:") for line in fh)
    except OSError:
        return True                 # let the caller report it
