"""Where the org's object schemas come from: one function for the store and the flow checker.

`project_schemas(start)` gives, in this order and each overriding the one before by name:
1. flowengine's standard objects (`flowengine.org.standard`);
2. the installed plug-ins' objects (a plug-in may ship its own version of a standard object);
3. the project's objects — the project is found from `start` upward: the nearest folder that
   holds an `sfdx-project.json` (its package directories' `objects/` folders: Salesforce DX
   metadata) and/or a `flowengine-objects.yaml` schema file. A project's fields of an object
   that exists already are added to it.
Every problem in the project's files is reported at once, with its file, line and column
(`SchemaError`). Results are cached while no metadata file changes.
"""
from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Final

from flowengine.errors import LoadError, OrgError, Problem
from flowengine.org.schema import ObjectSchema

if TYPE_CHECKING:
    from flowengine.org.metadata.specs import ObjectSpec
    from flowengine.types import TypeRegistry

__all__ = ["DX_PROJECT", "Project", "SchemaError", "find_project", "plugin_objects",
           "project_schemas", "project_types"]

DX_PROJECT: Final = "sfdx-project.json"
SCHEMA_FILE: Final = "flowengine-objects.yaml"
MAX_REPORTED: Final = 30


class SchemaError(OrgError):
    """The project's object metadata or schema file is wrong: every problem, with its place."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        lines = [str(p) for p in problems[:MAX_REPORTED]]
        if len(problems) > MAX_REPORTED:
            lines.append(f"... and {len(problems) - MAX_REPORTED} more")
        count = len(problems)
        super().__init__(f"the project's objects have {count} problem{'s' * (count != 1)}:\n  "
                         + "\n  ".join(lines), "ORG_SCHEMA")


@dataclass(frozen=True)
class Project:
    """A project's folder and the files that declare its objects."""

    root: Path
    dx_project: Path | None = None      # sfdx-project.json
    schema_file: Path | None = None     # flowengine-objects.yaml

    def metadata_files(self) -> list[Path]:
        """Every file the project's objects are read from (what the cache watches)."""
        files = [f for f in (self.dx_project, self.schema_file) if f is not None]
        for directory in self.objects_dirs():
            files += sorted(p for p in directory.rglob("*.xml") if p.is_file())
        return files

    def objects_dirs(self) -> list[Path]:
        """The `objects/` folders of the DX project's package directories."""
        if self.dx_project is None:
            return []
        from flowengine.formats.discover import dx_package_dirs
        from flowengine.org.metadata import objects_dirs

        return objects_dirs(dx_package_dirs(self.root))


def find_project(start: str | os.PathLike[str] | None = None) -> Project | None:
    """The project `start` (a folder or a file; default: the current folder) is in: the nearest
    folder, from `start` upward, holding an `sfdx-project.json` or a `flowengine-objects.yaml`
    (or both); None when there is none."""
    here = Path(start if start is not None else os.getcwd()).resolve()
    if here.is_file():
        here = here.parent
    for folder in (here, *here.parents):
        dx, schema_file = folder / DX_PROJECT, folder / SCHEMA_FILE
        if dx.is_file() or schema_file.is_file():
            return Project(folder, dx if dx.is_file() else None,
                           schema_file if schema_file.is_file() else None)
    return None


def plugin_objects() -> list[ObjectSchema]:
    """The objects the installed plug-ins contribute (OrgError(ORG_SCHEMA) for one that is not
    an ObjectSchema)."""
    from flowengine.plugins.registry import get_registry

    schemas: list[ObjectSchema] = []
    for plugin in get_registry().plugins:
        for schema in plugin.objects:
            if not isinstance(schema, ObjectSchema):
                raise OrgError(f"plug-in {plugin.name!r} contributes {schema!r}, which is not an "
                               "ObjectSchema", "ORG_SCHEMA")
            schemas.append(schema)
    return schemas


def project_schemas(start: str | os.PathLike[str] | None = None, *,
                    plugins: bool = True,
                    plugin_schemas: Iterable[ObjectSchema] | None = None) -> list[ObjectSchema]:
    """Every object a flow of the project at `start` may use (default: the current folder):
    the standard objects, the installed plug-ins' objects (unless `plugins=False`; or
    `plugin_schemas` in their place) and the project's own (see the module docstring). Raises
    SchemaError listing every problem of the project's metadata, each with its file and line."""
    from flowengine.org.standard import STANDARD_OBJECTS, complete
    from flowengine.org.system import with_system_fields

    by_name = {s.name: s for s in STANDARD_OBJECTS}
    if plugin_schemas is None:
        plugin_schemas = plugin_objects() if plugins else ()
    for schema in plugin_schemas:
        by_name[schema.name] = schema
    project = find_project(start)
    if project is not None:
        by_name.update(_project_objects(project, by_name))
    return [with_system_fields(s) for s in complete(by_name.values())]


_CACHE: dict[tuple[object, ...], dict[str, ObjectSchema]] = {}


def _project_objects(project: Project, base: dict[str, ObjectSchema]) -> dict[str, ObjectSchema]:
    try:
        files = project.metadata_files()
    except LoadError as exc:        # an sfdx-project.json that cannot be read
        raise SchemaError([Problem("error", "ORG_SCHEMA", exc.problem.message, exc.problem.file,
                                   exc.problem.line, exc.problem.column)]) from None
    key = (project.root, tuple(sorted((id(s), n) for n, s in base.items())),
           tuple((f, *_stamp(f)) for f in files))
    cached = _CACHE.get(key)
    if cached is None:
        cached = _CACHE[key] = _read_project(project, base)
    return cached


def _stamp(file: Path) -> tuple[int, int]:
    try:
        stat = file.stat()
    except OSError:
        return (0, 0)
    return (stat.st_mtime_ns, stat.st_size)


def _read_project(project: Project, base: dict[str, ObjectSchema]) -> dict[str, ObjectSchema]:
    from flowengine.org.metadata import build_objects, read_objects_dir, read_schema_file

    specs: list[ObjectSpec] = []
    problems: list[Problem] = []
    for directory in project.objects_dirs():   # read fine a moment ago, by metadata_files()
        found, trouble = read_objects_dir(directory)
        specs += found
        problems += trouble
    if project.schema_file is not None:
        found, trouble = read_schema_file(project.schema_file)
        specs += found
        problems += trouble
    built, trouble = build_objects(specs, base)
    problems += trouble
    if problems:
        raise SchemaError(problems)
    return built


def project_types(start: str | os.PathLike[str] | None = None,
                  base: TypeRegistry | None = None) -> TypeRegistry:
    """A copy of `base` (default: the installed plug-ins' types) that knows every object of
    `project_schemas(start)`: what the flow checker types records with."""
    if base is None:
        from flowengine.plugins.registry import get_registry

        base = get_registry().types
    types = base.copy()
    for schema in project_schemas(start):
        types.add_object(schema)
    return types
