"""The org store: records that flows read and write.

`open_org()` opens a store by its path or URL (default: `$FLOWENGINE_ORG`, else
`./.flowengine/org.sqlite`) with the objects and invariants of the installed plug-ins. The
interface is `flowengine.org.base`; the backends are looked up by URL scheme in `BACKENDS` and
imported only when a store is opened, so importing this package stays light.
"""
from __future__ import annotations

import importlib
import os
import re
from collections.abc import Iterable, Mapping
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Final
from urllib.parse import SplitResult, urlsplit

from flowengine.errors import OrgError
from flowengine.org.schema import FieldDef, ObjectSchema, Rollup
from flowengine.types import describe

if TYPE_CHECKING:
    from flowengine.org.base import Invariant, OrgStore, SaveHook
    from flowengine.org.system import Clock

__all__ = ["BACKENDS", "DEFAULT_ORG_PATH", "ORG_ENV_VAR", "FieldDef", "ObjectSchema", "Rollup",
           "default_org_path", "open_org"]

ORG_ENV_VAR: Final = "FLOWENGINE_ORG"
DEFAULT_ORG_PATH: Final = Path(".flowengine") / "org.sqlite"

# URL scheme → module with `open_url(url, schemas, invariants, *, create, clock) -> OrgStore`
BACKENDS: Final[Mapping[str, str]] = {
    "sqlite": "flowengine.org.sqlite",
    "postgresql": "flowengine.org.postgres",
    "postgres": "flowengine.org.postgres",
}
_URL_FORMS: Final = ("a file path, sqlite:///absolute/path, sqlite:relative/path or "
                     "postgresql://user:password@host:port/database")
# a scheme as RFC 3986 spells it; one letter is a Windows drive (C:\org.sqlite), not a scheme
_SCHEME: Final = re.compile(r"([A-Za-z][A-Za-z0-9+.-]+):")


def default_org_path() -> Path | str:
    """Where the store is when none is named: `$FLOWENGINE_ORG` when set and not empty (a Path,
    or the URL text when it is a URL), else `./.flowengine/org.sqlite` relative to the current
    directory."""
    target = os.environ.get(ORG_ENV_VAR)
    if not target:
        return DEFAULT_ORG_PATH
    return target if _SCHEME.match(target) else Path(target)


def open_org(target: str | os.PathLike[str] | None = None,
             schemas: Iterable[ObjectSchema] | None = None,
             invariants: Iterable[Invariant] | None = None,
             *, create: bool = True, clock: Clock | None = None,
             project: str | os.PathLike[str] | None = None,
             hooks: Iterable[SaveHook] | None = None) -> OrgStore:
    """Open the org store that `target` names, creating it on first use and migrating it to the
    schemas (new objects and fields are added).

    `target` is one of:
    - a path (`str` or `os.PathLike`): a SQLite file, e.g. `.flowengine/org.sqlite`;
    - `sqlite:///absolute/path` or `sqlite:relative/path`: the same, as a URL;
    - `postgresql://user:password@host:port/database` (or `postgres://`): a PostgreSQL
      database, created when missing; `?schema=NAME` keeps the store in a schema other than
      `public`, `?lock_timeout=SECONDS` sets how long a write waits for a locked record (30),
      other query parameters go to libpq (`sslmode=require`...). Needs psycopg 3
      (`pip install 'flowengine[postgres]'`); see `flowengine.org.postgres`;
    - None: `default_org_path()` — `$FLOWENGINE_ORG` (a path or one of these URLs), else
      `./.flowengine/org.sqlite`.
    Any other URL scheme is OrgError(ORG_BACKEND) naming the supported forms.

    Without `schemas`, the objects are `flowengine.org.schemas.project_schemas(project)`: the
    standard objects, the installed plug-ins' objects and those of the project found from the
    folder `project` upward (default: the current folder; see `find_project`); the invariants,
    unless given, are the plug-ins'. With explicit `schemas` (completed with the standard
    objects they refer to, and User) and no `invariants`, no invariants are checked.
    With `create=False` a missing store is an OrgError(ORG_NOT_FOUND). `clock` gives the time
    the system fields record (default: the system clock; tests pass a
    `flowengine.org.system.FixedClock`). `hooks` run around every write of every transaction
    (`flowengine.org.base.SaveHook`): by default the plug-ins' (the platform behaviour they
    model, such as the events Order Management publishes), or none with explicit `schemas`.
    """
    if target is None:
        target = default_org_path()
    if not isinstance(target, (str, os.PathLike)) or not os.fspath(target):
        raise OrgError(f"expected the org store as {_URL_FORMS}, found {describe(target)}",
                       "ORG_URL")
    scheme = _SCHEME.match(target) if isinstance(target, str) else None
    backend = _backend(scheme.group(1).lower(), scheme.string) if scheme else None
    if schemas is None:
        from flowengine.org.schemas import project_schemas

        schemas = project_schemas(project)
        if invariants is None:
            invariants = _plugin_invariants()
        if hooks is None:
            hooks = _plugin_hooks()
    checks = tuple(invariants or ())
    store: OrgStore
    if backend is None:  # a plain path: the embedded default backend
        from flowengine.org.sqlite import SqliteOrgStore

        store = SqliteOrgStore(target, schemas, checks, create=create, clock=clock)
    else:
        store = backend.open_url(target, schemas, checks, create=create, clock=clock)
    store.save_hooks = tuple(hooks or ())
    return store


def _backend(scheme: str, target: str) -> ModuleType:
    """The backend module for a URL scheme, imported now (not when this package is)."""
    module = BACKENDS.get(scheme)
    if module is not None:
        return importlib.import_module(module)
    target = _without_password(target)
    raise OrgError(f"org store {target!r}: unknown URL scheme {scheme + ':'!r}; expected "
                   f"{_URL_FORMS} (supported schemes: {', '.join(sorted(BACKENDS))}; a file "
                   "whose name has a colon: start the path with ./)", "ORG_BACKEND")


def _without_password(url: str) -> str:
    """The URL as messages may show it: a password, in the user part or as a `password=`
    parameter, becomes ***."""
    try:
        parts = urlsplit(url)
        password = parts.password
    except ValueError:           # not a URL that can be taken apart: show nothing of it
        return url.split(":", 1)[0] + ":***"
    if password is not None:
        parts = parts._replace(netloc=parts.netloc.replace(f":{password}@", ":***@", 1))
    if "password=" in parts.query.lower():
        parts = parts._replace(query=_PASSWORD_PARAMETER.sub(r"\1***", parts.query))
    return unsplit_url(parts)


def unsplit_url(parts: SplitResult) -> str:
    """`parts.geturl()`, keeping the `//` of an empty host (`postgresql:///db`: libpq's local
    socket), which urllib drops for schemes it does not know."""
    url = parts.geturl()
    scheme = f"{parts.scheme}:"
    if not parts.netloc and parts.path.startswith("/") and not url.startswith(scheme + "//"):
        url = scheme + "//" + url[len(scheme):]
    return url


_PASSWORD_PARAMETER: Final = re.compile(r"((?:^|&)password=)[^&]*", re.IGNORECASE)


def _plugin_hooks() -> list[SaveHook]:
    from flowengine.plugins.registry import get_registry

    return [hook for plugin in get_registry().plugins for hook in plugin.save_hooks]


def _plugin_invariants() -> list[Invariant]:
    from flowengine.plugins.registry import get_registry

    return [check for plugin in get_registry().plugins for check in plugin.invariants]
