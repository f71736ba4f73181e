"""The PostgreSQL org store: many interviews at once, row locks where they collide.

A store is one schema of a database (`postgresql://user:password@host:port/database`, schema
`public` unless `?schema=NAME`); its tables follow the object schemas and are created and
migrated on open (`flowengine.org.postgres.migrate`). Write transactions run at READ COMMITTED
and lock every row they read or write (`SELECT ... FOR UPDATE`) until they end, so two
interviews that touch the same records run one after the other, and interviews on different
records run side by side. A lock wait longer than the store's `timeout` (the URL's
`?lock_timeout=SECONDS`, default 30) is OrgError(UNABLE_TO_LOCK_ROW), and so is a deadlock,
which PostgreSQL finds and ends by failing one of the two transactions. Read-only transactions
read one snapshot (REPEATABLE READ, READ ONLY) and take no locks.

psycopg 3 is imported when a store is opened, never when flowengine is.
"""
from __future__ import annotations

import re
import threading
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Final
from urllib.parse import parse_qsl, unquote, urlencode, urlsplit

from flowengine.errors import OrgError
from flowengine.org import _without_password, unsplit_url
from flowengine.org.base import Invariant
from flowengine.org.catalog import Catalog
from flowengine.org.rollups import RollupIndex
from flowengine.org.schema import ObjectSchema
from flowengine.org.system import DEFAULT_USER_ID, Clock, system_clock

try:
    import psycopg
    from psycopg import errors as pg_errors
    from psycopg import pq
except ImportError:   # pragma: no cover - depends on the installation
    raise OrgError("the PostgreSQL org store needs psycopg 3: pip install 'flowengine[postgres]'",
                   "ORG_BACKEND") from None

from flowengine.org.postgres.columns import ObjectColumns, quoted
from flowengine.org.postgres.migrate import ID_COUNTERS, Layout, migrate
from flowengine.org.postgres.transaction import PostgresTransaction, Taken

__all__ = ["EventListener", "PostgresOrgStore", "PostgresUrl", "connect", "open_url"]

CONNECT_TIMEOUT: Final = 10         # seconds, unless the URL says connect_timeout=
MAX_IDLE: Final = 4                 # idle connections a store keeps for its next transactions
_OWN_PARAMETERS: Final = ("schema", "lock_timeout")
_IDENTIFIER: Final = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,62}")
_NO_DATABASE: Final = re.compile(r'database "[^"]*" does not exist')


@dataclass(frozen=True)
class PostgresUrl:
    """A `postgresql://` URL taken apart: what libpq connects to (`conninfo`), the schema, the
    lock timeout, and how messages name the store (`location`, without a password)."""

    url: str
    conninfo: str
    schema: str
    lock_timeout: float
    location: str

    @classmethod
    def parse(cls, url: str, lock_timeout: float = 30.0) -> PostgresUrl:
        location = _without_password(url)
        parts = urlsplit(url)
        if parts.scheme.lower() not in ("postgresql", "postgres"):
            raise OrgError(f"org store URL {location!r} is not a postgresql:// URL", "ORG_URL")
        if parts.fragment:
            raise OrgError(f"org store URL {location!r} has a fragment (#...), which PostgreSQL "
                           "URLs do not take", "ORG_URL")
        try:
            params = parse_qsl(parts.query, keep_blank_values=True, strict_parsing=True) \
                if parts.query else []
        except ValueError:
            raise OrgError(f"org store URL {location!r}: the query (after ?) is not "
                           "NAME=VALUE&...", "ORG_URL") from None
        own = {k: v for k, v in params if k in _OWN_PARAMETERS}
        schema = own.get("schema", "public")
        if not _IDENTIFIER.fullmatch(schema):
            raise OrgError(f"org store URL {location!r}: schema {schema!r} must be letters, digits "
                           "and underscores (at most 63), not starting with a digit", "ORG_URL")
        if "lock_timeout" in own:
            try:
                lock_timeout = float(own["lock_timeout"])
            except ValueError:
                lock_timeout = -1.0
            if not 0 < lock_timeout <= 86_400:
                raise OrgError(f"org store URL {location!r}: lock_timeout must be a number of "
                               f"seconds above 0, found {own['lock_timeout']!r}", "ORG_URL")
        rest = [(k, v) for k, v in params if k not in _OWN_PARAMETERS]
        if not any(k == "connect_timeout" for k, _ in rest):
            rest.append(("connect_timeout", str(CONNECT_TIMEOUT)))
        if not any(k == "application_name" for k, _ in rest):
            rest.append(("application_name", "flowengine"))
        conninfo = unsplit_url(parts._replace(scheme="postgresql", query=urlencode(rest)))
        return cls(url, conninfo, schema, lock_timeout, location)

    @property
    def database(self) -> str | None:
        """The database the URL names (None: libpq's default, the user's name)."""
        path = urlsplit(self.url).path.lstrip("/")
        return unquote(path) or None

    def with_database(self, name: str) -> str:
        """The same URL naming another database."""
        return unsplit_url(urlsplit(self.url)._replace(path="/" + name))

    def with_schema(self, schema: str) -> str:
        """The same URL naming another schema."""
        parts = urlsplit(self.url)
        params = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True)
                  if k != "schema"] + [("schema", schema)]
        return unsplit_url(parts._replace(query=urlencode(params)))


def connect(target: PostgresUrl, database: str | None = None) -> psycopg.Connection[Any]:
    """An autocommit connection to the server `target` names (to `database` instead of its own
    when given). OrgError naming the URL and the cause when it cannot be had: code ORG_NOT_FOUND
    when the database does not exist, ORG_UNREACHABLE otherwise."""
    conninfo = target.conninfo if database is None else \
        psycopg.conninfo.make_conninfo(target.conninfo, dbname=database)
    try:
        return psycopg.connect(conninfo, autocommit=True)
    except psycopg.Error as exc:
        cause = _first_lines(exc)
        if _NO_DATABASE.search(cause):
            raise OrgError(f"org store {target.location}: {cause}", "ORG_NOT_FOUND") from None
        raise OrgError(f"cannot reach the org store {target.location}: {cause}",
                       "ORG_UNREACHABLE") from None


def _first_lines(exc: BaseException) -> str:
    """A psycopg error in one line: no tabs, no hints on lines of their own."""
    text = str(exc).strip() or type(exc).__name__
    return re.sub(r"\s*\n\s*", "; ", text).replace("\t", " ")


class PostgresOrgStore:
    """An org in one schema of a PostgreSQL database (implements `OrgStore`; see the module
    docstring).

    `url` is `postgresql://user:password@host:port/database` with, optionally, `?schema=NAME`
    (default `public`), `lock_timeout=SECONDS` (default: `timeout`) and any libpq parameter
    (`sslmode=require`...). A database that does not exist is created when `create` is true
    (the user needs the CREATEDB privilege); with `create=False` a database or schema without
    an org store is OrgError(ORG_NOT_FOUND). `schemas`, `invariants` and `clock` as for
    `SqliteOrgStore`.
    """

    def __init__(self, url: str, schemas: Iterable[ObjectSchema],
                 invariants: Iterable[Invariant] = (), *, create: bool = True,
                 timeout: float = 30.0, clock: Clock | None = None) -> None:
        self.target = PostgresUrl.parse(url, timeout)
        self.timeout = self.target.lock_timeout
        self.catalog = Catalog(schemas)
        self.rollups = RollupIndex(self.catalog)
        self.columns = {name: ObjectColumns(info) for name, info in self.catalog.objects.items()}
        self.invariants: tuple[Invariant, ...] = tuple(invariants)
        self.save_hooks: tuple[Any, ...] = ()        # set by open_org: SaveHooks of each transaction
        self.clock: Clock = clock or system_clock
        self.running_user_id: str = DEFAULT_USER_ID
        self.collation = "default"
        self._lock = threading.Lock()
        self._idle: list[psycopg.Connection[Any]] = []
        self._counters: psycopg.Connection[Any] | None = None
        self._counter_lock = threading.Lock()
        self._closed = False
        self._open(create)

    @property
    def location(self) -> str:
        """The URL without its password: names the store in messages."""
        return self.target.location

    @property
    def schemas(self) -> dict[str, ObjectSchema]:
        """Object name → schema, for every object the store holds."""
        return {name: info.schema for name, info in self.catalog.objects.items()}

    def begin(self, *, write: bool = True) -> PostgresTransaction:
        """Open a transaction: a write transaction locks what it reads and writes as it goes (a
        wait past `timeout` is UNABLE_TO_LOCK_ROW); `write=False` reads one snapshot, without
        locks."""
        # BEGIN travels with the transaction's first statement (see `transaction`)
        tx = PostgresTransaction(self, self._acquire(), write,
                                 begin="BEGIN ISOLATION LEVEL READ COMMITTED" if write else
                                 "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
        tx.hooks = list(self.save_hooks)
        return tx

    @property
    def events_channel(self) -> str:
        """The channel (LISTEN/NOTIFY) on which a commit that published events says so."""
        return f"flowengine_events_{self.target.schema}"[:63]

    def listen(self) -> EventListener:
        """A connection of its own that hears when a commit publishes events (workers wait on
        it; see `flowengine.automation.worker`)."""
        conn = self._connect()
        try:
            conn.execute(f"LISTEN {quoted(self.events_channel)}")
        except psycopg.Error as exc:
            conn.close()
            raise self.error(exc) from None
        return EventListener(self, conn)

    def wipe(self) -> None:
        """Delete every record (and every table of objects no schema describes any more)."""
        with self._connection() as conn:
            tables = [r[0] for r in conn.execute(
                "SELECT tablename FROM pg_tables WHERE schemaname = %s", (self.target.schema,))]
            if tables:
                conn.execute(f"DROP TABLE {', '.join(map(quoted, tables))} CASCADE")
        self._migrate(create=True)

    def close(self) -> None:
        """Close the idle connections; transactions still open keep theirs until they end."""
        with self._lock:
            self._closed = True
            idle, self._idle = self._idle, []
        with self._counter_lock:
            counters, self._counters = self._counters, None
        for conn in [*idle, *([counters] if counters is not None else [])]:
            conn.close()

    def __enter__(self) -> PostgresOrgStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"PostgresOrgStore({self.location!r}, objects={sorted(self.catalog.objects)})"

    def error(self, exc: psycopg.Error) -> OrgError:
        """A PostgreSQL failure as an OrgError that names the store."""
        where = f"org store {self.location}"
        if isinstance(exc, pg_errors.LockNotAvailable):
            return OrgError(f"unable to obtain exclusive access to this record: another "
                            f"transaction has held its lock for more than {self.timeout:g} s "
                            f"({where})", "UNABLE_TO_LOCK_ROW")
        if isinstance(exc, pg_errors.DeadlockDetected):
            return OrgError("unable to obtain exclusive access to this record: deadlock — this "
                            "transaction and another each waited for a record the other had "
                            "locked, and PostgreSQL ended this one's wait so that the other "
                            f"could go on; its writes are undone, run it again ({where})",
                            "UNABLE_TO_LOCK_ROW")
        if isinstance(exc, pg_errors.UniqueViolation):
            return OrgError(f"duplicate value found: another transaction stored the same value "
                            f"at the same time ({where}: {_first_lines(exc)})", "DUPLICATE_VALUE")
        if isinstance(exc, psycopg.OperationalError):
            return OrgError(f"{where}: the connection failed: {_first_lines(exc)}", "ORG_STORE")
        return OrgError(f"{where}: {_first_lines(exc)}", "ORG_STORE")

    # -- Id and auto-number counters: outside the transactions (see `transaction`) --------------

    def take_numbers(self, key: str, count: int) -> int:
        """Take `count` numbers of the counter `key` at once, for every transaction; returns the
        first."""
        with self._counter_lock:
            conn = self._counter_connection()
            try:
                row = conn.execute(
                    f"INSERT INTO {ID_COUNTERS} AS c (key_prefix, next) VALUES (%s, 1 + %s) "
                    "ON CONFLICT (key_prefix) DO UPDATE SET next = c.next + %s "
                    "RETURNING c.next - %s", (key, count, count, count)).fetchone()
            except psycopg.Error as exc:
                self._counters = None
                conn.close()
                raise self.error(exc) from None
        assert row is not None
        return int(row[0])

    def give_back(self, taken: Sequence[Taken]) -> None:
        """Hand back numbers that a rolled-back transaction took, last first, where no other
        transaction has taken numbers since (else they stay a gap)."""
        if not taken:
            return
        with self._counter_lock:
            try:
                conn = self._counter_connection()
                for key, first, end in reversed(taken):
                    conn.execute(f"UPDATE {ID_COUNTERS} SET next = %s WHERE key_prefix = %s "
                                 "AND next = %s", (first, key, end))
            except (psycopg.Error, OrgError):
                pass        # a gap in the numbers is harmless; a rollback must not fail

    def _counter_connection(self) -> psycopg.Connection[Any]:
        if self._counters is None or self._counters.closed:
            self._counters = self._connect()
        return self._counters

    # -- connections: a few idle ones are kept; a transaction owns its connection ---------------

    def _connect(self) -> psycopg.Connection[Any]:
        conn = connect(self.target)
        try:
            conn.execute("SELECT set_config('search_path', %s, false), "
                         "set_config('TimeZone', 'UTC', false), "
                         "set_config('lock_timeout', %s, false)",
                         (quoted(self.target.schema), f"{round(self.timeout * 1000)}ms"))
        except psycopg.Error as exc:
            conn.close()
            raise self.error(exc) from None
        return conn

    def _acquire(self) -> psycopg.Connection[Any]:
        with self._lock:
            if self._closed:
                raise OrgError(f"the org store {self.location} is closed", "ORG_STORE")
            conn = self._idle.pop() if self._idle else None
        return conn if conn is not None else self._connect()

    def release(self, conn: psycopg.Connection[Any], broken: bool = False) -> None:
        """Take back a transaction's connection: kept for the next one when it is idle."""
        if not broken and not conn.closed and \
                conn.info.transaction_status != pq.TransactionStatus.IDLE:
            try:
                conn.execute("ROLLBACK")
            except psycopg.Error:
                broken = True
        with self._lock:
            if not broken and not conn.closed and not self._closed and \
                    len(self._idle) < MAX_IDLE:
                self._idle.append(conn)
                return
        conn.close()

    @contextmanager
    def _connection(self) -> Iterator[psycopg.Connection[Any]]:
        conn = self._acquire()
        try:
            yield conn
        except psycopg.Error as exc:
            self.release(conn, broken=True)
            raise self.error(exc) from None
        except BaseException:
            self.release(conn, broken=True)
            raise
        self.release(conn)

    # -- opening and migration -------------------------------------------------------------------

    def _open(self, create: bool) -> None:
        try:
            conn = self._connect()
        except OrgError as exc:
            if exc.error_code != "ORG_NOT_FOUND":
                raise
            if not create:
                raise self._not_found(exc.message) from None
            self._create_database()
            conn = self._connect()
        self._idle.append(conn)              # the migration's, then the first transaction's
        self._migrate(create)

    def _not_found(self, cause: str) -> OrgError:
        return OrgError(f"no org store at {self.location} ({cause.split(': ', 1)[-1]}; create "
                        "one with 'flowengine org init' or 'flowengine org load FIXTURE')",
                        "ORG_NOT_FOUND")

    def _create_database(self) -> None:
        name = self.target.database
        if name is None:
            raise self._not_found("the URL names no database")
        admin = connect(self.target, database="postgres")
        try:
            admin.execute(f"CREATE DATABASE {quoted(name)}")
        except pg_errors.DuplicateDatabase:
            pass                          # another process created it meanwhile
        except psycopg.Error as exc:
            raise OrgError(f"org store {self.location}: database {name!r} does not exist and "
                           f"cannot be created: {_first_lines(exc)}", "ORG_NOT_FOUND") from None
        finally:
            admin.close()

    def _migrate(self, create: bool) -> None:
        """Bring the schema up to the object schemas (see `flowengine.org.postgres.migrate`)."""
        with self._connection() as conn:
            if not create and not Layout(conn, self.target.schema).is_store:
                raise self._not_found(f"schema {self.target.schema!r} holds no org store")
            self.collation = migrate(conn, self.target.schema, self.catalog, self.location,
                                     self._recompute, self._bootstrap)

    def _recompute(self, conn: psycopg.Connection[Any], collation: str) -> None:
        self.collation = collation
        PostgresTransaction(self, conn, True).recompute_all()

    def _bootstrap(self, conn: psycopg.Connection[Any], collation: str) -> None:
        self.collation = collation
        PostgresTransaction(self, conn, True).create_default_records()


class EventListener:
    """Waits for the notifications of commits that published events (`PostgresOrgStore.listen`)."""

    def __init__(self, store: PostgresOrgStore, conn: psycopg.Connection[Any]) -> None:
        self.store = store
        self.conn = conn

    def wait(self, timeout: float) -> bool:
        """Whether a notification came within `timeout` seconds (those waiting are taken too).
        OrgError when the connection is lost."""
        try:
            heard = any(True for _ in self.conn.notifies(timeout=timeout, stop_after=1))
            while heard and any(True for _ in self.conn.notifies(timeout=0, stop_after=1)):
                pass
        except psycopg.Error as exc:
            raise self.store.error(exc) from None
        return heard

    def close(self) -> None:
        self.conn.close()


def open_url(url: str, schemas: Iterable[ObjectSchema], invariants: Iterable[Invariant] = (),
             *, create: bool = True, clock: Clock | None = None) -> PostgresOrgStore:
    """The backend's entry in `flowengine.org.open_org`'s table: the store a `postgresql://`
    URL names."""
    return PostgresOrgStore(url, schemas, invariants, create=create, clock=clock)

