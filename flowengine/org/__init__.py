"""The org store: records that flows read and write, in a local SQLite file.

`open_org()` opens (creating on first use) the store at `$FLOWENGINE_ORG`, else
`./.flowengine/org.sqlite`, with the objects and invariants of the installed plug-ins.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Final, Iterable

from flowengine.org.schema import FieldDef, ObjectSchema, Rollup

if TYPE_CHECKING:
    from flowengine.org.sqlite import SqliteOrgStore

__all__ = ["DEFAULT_ORG_PATH", "ORG_ENV_VAR", "FieldDef", "ObjectSchema", "Rollup",
           "default_org_path", "open_org"]

ORG_ENV_VAR: Final = "FLOWENGINE_ORG"
DEFAULT_ORG_PATH: Final = Path(".flowengine") / "org.sqlite"


def default_org_path() -> Path:
    """`$FLOWENGINE_ORG` when set (and not empty), else `./.flowengine/org.sqlite` relative to
    the current directory."""
    return Path(os.environ.get(ORG_ENV_VAR) or DEFAULT_ORG_PATH)


def open_org(path: str | os.PathLike[str] | None = None,
             schemas: Iterable[ObjectSchema] | None = None,
             invariants: Iterable[Callable[[Any], list[str]]] | None = None,
             *, create: bool = True) -> SqliteOrgStore:
    """Open the org store at `path` (default: `default_org_path()`), creating it on first use
    and adding tables and columns for new objects and fields.

    Without `schemas`, the objects (and, unless given, the invariants) come from the installed
    plug-ins. With explicit `schemas` and no `invariants`, no invariants are checked.
    With `create=False` a missing file is an OrgError(ORG_NOT_FOUND).
    """
    from flowengine.org.sqlite import SqliteOrgStore

    if schemas is None:
        plugin_schemas, plugin_invariants = _from_plugins()
        schemas = plugin_schemas
        if invariants is None:
            invariants = plugin_invariants
    return SqliteOrgStore(path if path is not None else default_org_path(), schemas,
                          invariants or (), create=create)


def _from_plugins() -> tuple[list[ObjectSchema], list[Callable[[Any], list[str]]]]:
    from flowengine.plugins.registry import get_registry

    schemas: list[ObjectSchema] = []
    invariants: list[Callable[[Any], list[str]]] = []
    from flowengine.errors import OrgError

    for plugin in get_registry().plugins:
        for schema in plugin.objects:
            if not isinstance(schema, ObjectSchema):
                raise OrgError(f"plug-in {plugin.name!r} contributes {schema!r}, which is not an "
                               "ObjectSchema", "ORG_SCHEMA")
            schemas.append(schema)
        invariants.extend(plugin.invariants)
    return schemas, invariants
