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
from urllib.parse import quote, unquote, urlsplit

from flowengine.errors import OrgError
from flowengine.org.base import Invariant
from flowengine.org.catalog import Catalog
from flowengine.org.rollups import RollupIndex
from flowengine.org.schema import ObjectSchema
from flowengine.org.sqlite.codecs import codecs_for
from flowengine.org.sqlite.migrate import META, apply_schema, migrate
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
        self.created = False
        self._new_folders: list[Path] = []
        if self.path.exists():
            refuse_foreign(self.path, self.location)
        else:
            if not create:
                raise OrgError(f"no org store at {self.location} (create one with 'flowengine "
                               "org init' or 'flowengine org load FIXTURE')", "ORG_NOT_FOUND")
            self._new_folders = [p for p in reversed(self.path.parent.parents) if not p.exists()]
            if not self.path.parent.exists():
                self._new_folders.append(self.path.parent)
            try:
                self.path.parent.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise OrgError(f"cannot create the org store {self.location}: {exc.strerror}",
                               "ORG_STORE") from None
            self.created = True
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
        """Delete every record (and every table of objects no schema describes any more), and
        create the empty tables again, in one transaction: a reader sees the store before or
        after, never without its tables. (Every table is flowengine's: a file with tables of
        another application is refused when it is opened.)"""
        with self._connection() as conn:
            try:
                conn.execute("BEGIN IMMEDIATE")
                names = [r[0] for r in conn.execute(
                    "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite%'")]
                for name in names:
                    conn.execute(f'DROP TABLE "{name}"')
                apply_schema(conn, self.catalog, self.location, self._recompute, self._bootstrap)
                conn.execute("COMMIT")
            except sqlite3.Error as exc:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                raise self.error(exc) from None

    def discard(self) -> None:
        """Close the store and, when this store object created its file (`created`), delete the
        file, its journal files and the folders it created: a failed first load leaves nothing
        behind."""
        self.close()
        if not self.created:
            return
        for suffix in ("", "-wal", "-shm", "-journal"):
            try:
                os.unlink(f"{self.path}{suffix}")
            except OSError:
                pass
        for folder in reversed(self._new_folders):
            try:
                folder.rmdir()
            except OSError:
                break

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

    def _recompute(self, conn: sqlite3.Connection) -> None:
        SqliteTransaction(self, conn, True).recompute_all()

    def _bootstrap(self, conn: sqlite3.Connection) -> None:
        SqliteTransaction(self, conn, True).create_default_records()

    def _migrate(self) -> None:
        """Bring the file up to the schemas (see `flowengine.org.sqlite.migrate`)."""
        with self._connection() as conn:
            try:
                migrate(conn, self.catalog, self.location, self._recompute, self._bootstrap)
            except sqlite3.Error as exc:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                raise self.error(exc) from None


# ---------------------------------------------------------------------------------------------
# Whose file is it?

SQLITE_HEADER = b"SQLite format 3\x00"


def refuse_foreign(path: Path, location: str) -> None:
    """Raise OrgError(ORG_STORE) unless the existing file `path` is a flowengine org store or
    empty (an empty file, or a SQLite database without tables). Reads without changing a byte:
    a database of another application must be left exactly as it was."""
    leave = "flowengine leaves it as it is; name another file with --org"
    if not path.is_file():
        raise OrgError(f"{location} is not an org store: it is not a regular file ({leave})",
                       "ORG_STORE")
    try:
        with open(path, "rb") as fh:
            header = fh.read(len(SQLITE_HEADER))
    except OSError as exc:
        raise OrgError(f"cannot read the org store {location}: {exc.strerror}", "ORG_STORE") from None
    if not header:
        return
    if header != SQLITE_HEADER:
        raise OrgError(f"{location} is not an org store (not a SQLite database); {leave}",
                       "ORG_STORE")
    tables = _tables_read_only(path, location)
    if tables and META not in tables:
        shown = ", ".join(sorted(tables)[:5]) + (", ..." if len(tables) > 5 else "")
        raise OrgError(f"{location} is a SQLite database of another application (tables: "
                       f"{shown}), not a flowengine org store; {leave}", "ORG_STORE")


def _tables_read_only(path: Path, location: str) -> set[str]:
    # immutable=1 reads the file as it is, with no lock and no journal; a database with a
    # write-ahead log beside it needs the log read too, which mode=ro does
    has_log = Path(f"{path}-wal").exists()
    uri = f"file:{quote(os.fsencode(os.path.abspath(path)))}?mode=ro" + ("" if has_log else "&immutable=1")
    try:
        conn = sqlite3.connect(uri, uri=True)
        try:
            return {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        finally:
            conn.close()
    except sqlite3.Error as exc:
        raise OrgError(f"{location} is not a usable org store (a damaged SQLite file: {exc})",
                       "ORG_STORE") from None


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
