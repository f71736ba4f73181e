"""The embedded org store: one SQLite file, a table per object, a column per field.

The file is created on first use and its tables follow the schemas (new objects and fields are
added on open, see `flowengine.org.sqlite.migrate`). Write transactions start with
`BEGIN IMMEDIATE`, so the write lock on the whole file is taken up front and concurrent
interviews — in threads or in other processes — run one after the other, each seeing what the
previous one committed; the file is in WAL mode, so read-only transactions neither wait for a
writer nor block one. Calculated and rolled-up fields are stored too, recomputed on every write,
so reads and queries always see current values.
"""
from __future__ import annotations

import os
import sqlite3
import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Final
from urllib.parse import unquote, urlsplit

from flowengine.errors import OrgError
from flowengine.org.base import Invariant
from flowengine.org.catalog import Catalog
from flowengine.org.rollups import RollupIndex
from flowengine.org.schema import ObjectSchema
from flowengine.org.sqlite.codecs import codecs_for
from flowengine.org.sqlite.migrate import migrate
from flowengine.org.sqlite.select import fold
from flowengine.org.sqlite.transaction import SqliteTransaction
from flowengine.org.system import DEFAULT_USER_ID, Clock, system_clock

__all__ = ["SqliteOrgStore", "open_url", "path_of_url"]

CACHE_KIB: Final = 64 * 1024


class SqliteOrgStore:
    """An org in one SQLite file (implements `OrgStore`; see the module docstring).

    `schemas` are the objects the store holds (with the standard objects they refer to, and
    User); `invariants` are kept for fixture loading (`flowengine.org.fixtures`). With
    `create=False` a missing file is an error instead of a new store. `timeout` is how long
    `begin()` waits for another writer before UNABLE_TO_LOCK_ROW. `clock` gives the time the
    system fields record (tests set a `flowengine.org.system.FixedClock`); `running_user_id` is
    the user that writes (CreatedById, LastModifiedById, a new record's OwnerId): the store's
    default user unless set.
    """

    def __init__(self, path: str | os.PathLike[str], schemas: Iterable[ObjectSchema],
                 invariants: Iterable[Invariant] = (), *, create: bool = True,
                 timeout: float = 30.0, clock: Clock | None = None) -> None:
        self.path = Path(path)
        self.catalog = Catalog(schemas)
        self.rollups = RollupIndex(self.catalog)
        self.codecs = codecs_for(self.catalog)
        self.invariants: tuple[Invariant, ...] = tuple(invariants)
        self.save_hooks: tuple[Any, ...] = ()        # set by open_org: SaveHooks of each transaction
        self.timeout = timeout
        self.clock: Clock = clock or system_clock
        self.running_user_id: str = DEFAULT_USER_ID
        self._lock = threading.Lock()
        self._idle: sqlite3.Connection | None = None
        self._closed = False
        if not self.path.exists():
            if not create:
                raise OrgError(f"no org store at {self.location} (create one with 'flowengine "
                               "org init' or 'flowengine org load FIXTURE')", "ORG_NOT_FOUND")
            try:
                self.path.parent.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise OrgError(f"cannot create the org store {self.location}: {exc.strerror}",
                               "ORG_STORE") from None
        self._migrate()

    @property
    def location(self) -> str:
        """The file's path, as given: names the store in messages."""
        return str(self.path)

    @property
    def schemas(self) -> dict[str, ObjectSchema]:
        """Object name → schema, for every object the store holds."""
        return {name: info.schema for name, info in self.catalog.objects.items()}

    def begin(self, *, write: bool = True) -> SqliteTransaction:
        """Open a transaction. With `write` (the default) it takes the write lock now, waiting up
        to `timeout` seconds for another writer; `write=False` reads a snapshot without locking."""
        conn = self._acquire()
        try:
            conn.execute("BEGIN IMMEDIATE" if write else "BEGIN")
        except sqlite3.Error as exc:
            self._release(conn, broken=True)
            raise self.error(exc) from None
        tx = SqliteTransaction(self, conn, write)
        tx.hooks = list(self.save_hooks)
        return tx

    def wipe(self) -> None:
        """Delete every record (and every table of objects no schema describes any more)."""
        with self._connection() as conn:
            try:
                conn.execute("BEGIN IMMEDIATE")
                names = [r[0] for r in conn.execute(
                    "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite%'")]
                for name in names:
                    conn.execute(f'DROP TABLE "{name}"')
                conn.execute("COMMIT")
            except sqlite3.Error as exc:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                raise self.error(exc) from None
        self._migrate()

    def close(self) -> None:
        """Close the idle connection; transactions still open keep theirs until they end."""
        with self._lock:
            self._closed = True
            idle, self._idle = self._idle, None
        if idle is not None:
            idle.close()

    def __enter__(self) -> SqliteOrgStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"SqliteOrgStore({self.location!r}, objects={sorted(self.catalog.objects)})"

    def error(self, exc: sqlite3.Error) -> OrgError:
        """An SQLite failure as an OrgError that names the store."""
        text = str(exc)
        if "locked" in text or "busy" in text:
            return OrgError(f"the org store {self.location} is locked by another writer (waited "
                            f"{self.timeout:g} s)", "UNABLE_TO_LOCK_ROW")
        if isinstance(exc, sqlite3.DatabaseError) and "not a database" in text:
            return OrgError(f"{self.location} is not an org store (not a SQLite database)",
                            "ORG_STORE")
        return OrgError(f"org store {self.location}: {text}", "ORG_STORE")

    # -- connections: one idle connection is kept; a transaction owns its connection ------------

    def _acquire(self) -> sqlite3.Connection:
        with self._lock:
            if self._closed:
                raise OrgError(f"the org store {self.location} is closed", "ORG_STORE")
            conn, self._idle = self._idle, None
        if conn is not None:
            return conn
        try:
            conn = sqlite3.connect(self.path, timeout=self.timeout, isolation_level=None,
                                   check_same_thread=False)
            conn.create_function("fe_fold", 1, fold, deterministic=True)
            # a page cache of up to 64 MiB (SQLite's default is 2 MiB): the indexes of a table of
            # a million records stay in memory, so writes to random records stay cheap
            conn.execute(f"PRAGMA cache_size = -{CACHE_KIB}")
            return conn
        except sqlite3.Error as exc:
            raise self.error(exc) from None

    def _release(self, conn: sqlite3.Connection, broken: bool = False) -> None:
        if not broken and conn.in_transaction:
            conn.execute("ROLLBACK")
        with self._lock:
            if not broken and not self._closed and self._idle is None:
                self._idle, conn = conn, None  # type: ignore[assignment]
        if conn is not None:
            conn.close()

    @contextmanager
    def _connection(self) -> Iterator[sqlite3.Connection]:
        conn = self._acquire()
        try:
            yield conn
        except BaseException:
            self._release(conn, broken=True)
            raise
        self._release(conn)

    # -- migration ---------------------------------------------------------------------------

    def _migrate(self) -> None:
        """Bring the file up to the schemas (see `flowengine.org.sqlite.migrate`)."""
        with self._connection() as conn:
            try:
                migrate(conn, self.catalog, self.location,
                        lambda c: SqliteTransaction(self, c, True).recompute_all(),
                        lambda c: SqliteTransaction(self, c, True).create_default_records())
            except sqlite3.Error as exc:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                raise self.error(exc) from None


# ---------------------------------------------------------------------------------------------
# URLs: sqlite:///absolute/path or sqlite:relative/path

def path_of_url(url: str) -> str:
    """The file a `sqlite:` URL names: `sqlite:///absolute/path` or `sqlite:relative/path`
    (percent-escapes decoded). OrgError(ORG_URL) for a host, a query, a fragment or no path."""
    parts = urlsplit(url)
    forms = "expected sqlite:///absolute/path or sqlite:relative/path"
    if parts.netloc:
        raise OrgError(f"org store URL {url!r} names a host ({parts.netloc!r}), but a SQLite "
                       f"store is a local file: {forms}", "ORG_URL")
    if parts.query or parts.fragment:
        raise OrgError(f"org store URL {url!r} has a query or fragment, which SQLite stores do "
                       f"not take: {forms}", "ORG_URL")
    if not parts.path:
        raise OrgError(f"org store URL {url!r} names no file: {forms}", "ORG_URL")
    return unquote(parts.path)


def open_url(url: str, schemas: Iterable[ObjectSchema], invariants: Iterable[Invariant] = (),
             *, create: bool = True, clock: Clock | None = None) -> SqliteOrgStore:
    """The backend's entry in `flowengine.org.open_org`'s table: the store a `sqlite:` URL names."""
    return SqliteOrgStore(path_of_url(url), schemas, invariants, create=create, clock=clock)
