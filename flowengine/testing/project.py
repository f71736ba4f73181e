"""Where a flow test's flow and org fixture come from, when the test does not name files.

A flow named by its API name (`flow: Invoice_Defaults`, a Salesforce Flow Test's `flowApiName`)
is found in the test file's project (`flowengine.automation.project`): the nearest folder
upward holding an `sfdx-project.json`, else the test file's own folder.

A Salesforce Flow Test cannot name an org fixture, so its fresh org is seeded from:

1. a fixture beside it with its name: `Name.fixture.yaml` (`.yml`, `.json`) next to
   `Name.flowtest-meta.xml`;
2. else the `fixture` of `[tool.flowengine.flowtests]` in the nearest `pyproject.toml` upward
   from the test file that has that table, relative to that file:

       [tool.flowengine.flowtests]
       fixture = "fixtures/invoices.yaml"

3. else nothing: the test runs against an empty org.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Final

from flowengine.errors import LoadError

__all__ = ["FIXTURE_SUFFIXES", "find_flow_file", "flowtest_fixture", "pyproject_fixture"]

FIXTURE_SUFFIXES: Final = (".fixture.yaml", ".fixture.yml", ".fixture.json")
TABLE: Final = "[tool.flowengine.flowtests]"
TABLE_KEYS: Final = ("fixture",)


_PROJECTS: dict[str, Any] = {}     # the projects read in this process, by their folder


def find_flow_file(test_file: Path, name: str) -> tuple[str | None, str]:
    """The file of the flow called `name` in `test_file`'s project, or None and why not. A
    project is read once per process (a hundred Flow Tests would read it a hundred times), and
    again when the flow is not in it or its file is gone."""
    from flowengine.automation.project import find_project_root, open_project
    from flowengine.errors import did_you_mean

    root = find_project_root(test_file)
    key = os.fspath(Path(root).resolve())
    cached = _PROJECTS.get(key)
    found = cached.find(name) if cached is not None else None
    project = cached
    if found is None or not Path(found.path).is_file():
        project = _PROJECTS[key] = open_project(root)
        found = project.find(name)
    assert project is not None
    if found is not None:
        return found.path, ""
    known = sorted(f.name for f in project.flows.values())
    return None, (f"no flow {name!r} in the project {os.fspath(root)}{did_you_mean(name, known)} "
                  f"(flows: {', '.join(known[:20]) or 'none'}{' ...' if len(known) > 20 else ''})")


def flowtest_fixture(test_file: Path) -> Path | None:
    """The org fixture of a Salesforce Flow Test (see the module docstring)."""
    from flowengine.formats.sftest import flowtest_name_of

    stem = flowtest_name_of(test_file)
    for suffix in FIXTURE_SUFFIXES:
        beside = test_file.parent / (stem + suffix)
        if beside.is_file():
            return beside
    return pyproject_fixture(test_file.parent)


def pyproject_fixture(start: Path) -> Path | None:
    """`fixture` of `[tool.flowengine.flowtests]` in the nearest pyproject.toml that has the
    table, from `start` upward. Raises LoadError for a table that is not valid."""
    import tomllib

    folder = start.resolve()
    for candidate in (folder, *folder.parents):
        config = candidate / "pyproject.toml"
        if not config.is_file():
            continue
        from flowengine.formats import read_text

        try:
            data = tomllib.loads(read_text(config, 1024 * 1024, "pyproject.toml files", "a file"))
        except tomllib.TOMLDecodeError as exc:
            raise LoadError(f"invalid TOML: {exc}", os.fspath(config)) from None
        table = data.get("tool", {}).get("flowengine", {}).get("flowtests")
        if table is None:
            continue
        return _fixture_of(table, config)
    return None


def _fixture_of(table: object, config: Path) -> Path | None:
    if not isinstance(table, dict):
        raise LoadError(f"{TABLE} must be a table", os.fspath(config))
    from flowengine.check.symbols import did_you_mean

    for key in table:
        if key not in TABLE_KEYS:
            raise LoadError(f"unknown key {key!r} in {TABLE}{did_you_mean(str(key), TABLE_KEYS)} "
                            f"(allowed: {', '.join(TABLE_KEYS)})", os.fspath(config))
    fixture = table.get("fixture")
    if fixture is None:
        return None
    if not isinstance(fixture, str) or not fixture.strip():
        raise LoadError(f"fixture in {TABLE} must be the path of an org fixture (text), found "
                        f"{fixture!r}", os.fspath(config))
    return config.parent / fixture
