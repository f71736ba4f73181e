"""The embedded org store: one SQLite file, a table per object, a column per field.

The file is created on first use and its tables follow the schemas (new objects and fields are
added on open). Transactions start with `BEGIN IMMEDIATE`, so the write lock is taken up front and
concurrent interviews — in threads or in other processes — run one after the other, each seeing
what the previous one committed. Calculated and rolled-up fields are stored too, recomputed on every
write, so reads and queries always see current values.
"""
from __future__ import annotations

import os
import sqlite3
import threading
import types
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Callable, Final, Iterable, Iterator, Mapping, Sequence

from flowengine.errors import OrgError
from flowengine.org import ids
from flowengine.org.fields import Catalog, FieldError, ObjectInfo
from flowengine.org.migrate import ID_COUNTERS, migrate
from flowengine.org.schema import FieldDef, ObjectSchema

__all__ = ["SqliteOrgStore", "SqliteTransaction"]

MAX_ROLLUP_DEPTH: Final = 32
Invariant = Callable[[Any], list[str]]


class SqliteOrgStore:
    """An org in one SQLite file (see the module docstring).

    `schemas` are the objects the store holds; `invariants` are kept for fixture loading
    (`flowengine.org.fixtures`). With `create=False` a missing file is an error instead of a new
    store. `timeout` is how long `begin()` waits for another writer before UNABLE_TO_LOCK_ROW.
    """

    def __init__(self, path: str | os.PathLike[str], schemas: Iterable[ObjectSchema],
                 invariants: Iterable[Invariant] = (), *, create: bool = True,
                 timeout: float = 30.0) -> None:
        self.path = Path(path)
        self.catalog = Catalog(schemas)
        self.invariants: tuple[Invariant, ...] = tuple(invariants)
        self.timeout = timeout
        self._lock = threading.Lock()
        self._idle: sqlite3.Connection | None = None
        self._closed = False
        if not self.path.exists():
            if not create:
                raise OrgError(f"no org store at {self.path} (create one with 'flowengine org "
                               "init' or 'flowengine org load FIXTURE')", "ORG_NOT_FOUND")
            try:
                self.path.parent.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise OrgError(f"cannot create the org store {self.path}: {exc.strerror}",
                               "ORG_STORE") from None
        self._migrate()

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
        return SqliteTransaction(self, conn, write)

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
        return f"SqliteOrgStore({str(self.path)!r}, objects={sorted(self.catalog.objects)})"

    def error(self, exc: sqlite3.Error) -> OrgError:
        """An SQLite failure as an OrgError that names the store."""
        text = str(exc)
        if "locked" in text or "busy" in text:
            return OrgError(f"the org store {self.path} is locked by another writer (waited "
                            f"{self.timeout:g} s)", "UNABLE_TO_LOCK_ROW")
        if isinstance(exc, sqlite3.DatabaseError) and "not a database" in text:
            return OrgError(f"{self.path} is not an org store (not a SQLite database)", "ORG_STORE")
        return OrgError(f"org store {self.path}: {text}", "ORG_STORE")

    # -- connections: one idle connection is kept; a transaction owns its connection ------------

    def _acquire(self) -> sqlite3.Connection:
        with self._lock:
            if self._closed:
                raise OrgError(f"the org store {self.path} is closed", "ORG_STORE")
            conn, self._idle = self._idle, None
        if conn is not None:
            return conn
        try:
            return sqlite3.connect(self.path, timeout=self.timeout, isolation_level=None,
                                   check_same_thread=False)
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
        """Bring the file up to the schemas (see `flowengine.org.migrate`)."""
        with self._connection() as conn:
            try:
                migrate(conn, self.catalog, self.path,
                        lambda c: SqliteTransaction(self, c, True).recompute_all())
            except sqlite3.Error as exc:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                raise self.error(exc) from None


class SqliteTransaction:
    """One open transaction on a `SqliteOrgStore` (implements `OrgTransaction`).

    Use it as a context manager to commit on success and roll back on an exception. Reads see
    the transaction's own writes. After `commit()` or `rollback()` it cannot be used again
    (`rollback()` of a finished transaction does nothing)."""

    def __init__(self, store: SqliteOrgStore, conn: sqlite3.Connection, write: bool) -> None:
        self.store = store
        self.catalog = store.catalog
        self._conn: sqlite3.Connection | None = conn
        self._write = write
        self._savepoints = 0

    # -- OrgTransaction ----------------------------------------------------------------------

    def get(self, object_name: str, record_id: str) -> dict[str, Any] | None:
        """One record with all fields (calculated ones included), or None. Accepts 15- or
        18-character Ids; OrgError(INVALID_ID) for a malformed Id or one of another object."""
        info = self.catalog.object(object_name)
        return self._fetch(info, self.catalog.convert_id(info, record_id))

    def query(self, object_name: str, where: Mapping[str, Any] | None = None,
              order_by: Sequence[str] = ("Id",)) -> list[dict[str, Any]]:
        """Records whose fields equal every value in `where` (a list value means IN, None means
        null), sorted by `order_by` (nulls first). Filter values are converted to the field's type."""
        info = self.catalog.object(object_name)
        clauses, params, checks = [], [], []
        for name, wanted in (where or {}).items():
            many = isinstance(wanted, (list, tuple, set, frozenset))
            values = [self._filter_value(info, name, v) for v in (wanted if many else [wanted])]
            if not values:
                return []
            kind = "Text" if name == "Id" else info.field(name).type.kind
            if kind in ("Number", "Currency"):  # stored as exact text: compare as numbers
                checks.append((name, values))
                continue
            present = [info.encoders[name](v) for v in values if v is not None]
            parts = [f'"{name}" IN ({", ".join("?" * len(present))})'] if present else []
            if len(present) < len(values):
                parts.append(f'"{name}" IS NULL')
            clauses.append("(" + " OR ".join(parts) + ")")
            params += present
        sort_keys = [n if n == "Id" else info.field(n).name for n in order_by]
        sql = f'SELECT * FROM "{info.name}"' + (" WHERE " + " AND ".join(clauses) if clauses else "")
        cursor = self._sql(sql, params)
        names = [d[0] for d in cursor.description]
        records = [info.decode_row(names, row) for row in cursor.fetchall()]
        records = [r for r in records if all(r[n] in vs for n, vs in checks)]
        records.sort(key=lambda r: tuple((r[k] is not None, r[k]) for k in sort_keys))
        return records

    def insert(self, object_name: str, fields: Mapping[str, Any]) -> str:
        """Create a record; returns its 18-character Id. An `Id` in `fields` (15 or 18
        characters, of this object) is used instead of a generated one (fixtures)."""
        self._check_writable()
        info = self.catalog.object(object_name)
        values = self._convert_fields(info, fields)
        record_id = values.pop("Id", None)
        if record_id is None:
            record_id = self._new_id(info)
        elif self._exists(info.name, record_id):
            raise FieldError(info.name, "Id", f"{record_id} is already the Id of a record in "
                             "the org", "DUPLICATE_VALUE")
        record: dict[str, Any] = {"Id": record_id}
        for fdef in info.schema.fields:
            if fdef.name in values:
                record[fdef.name] = values[fdef.name]
            elif fdef.default is not None and not fdef.is_computed:
                record[fdef.name] = self.catalog.convert(info, fdef, fdef.default)
            else:
                record[fdef.name] = None
        self._check_required(info, record, info.stored)
        for fdef in info.rollups:
            record[fdef.name] = self._rollup_value(info, fdef, record_id)
        self._calculate(info, record)
        columns = list(record)
        quoted = ", ".join(f'"{c}"' for c in columns)
        self._sql(f'INSERT INTO "{info.name}" ({quoted}) VALUES ({", ".join("?" * len(columns))})',
                  self._encode(info, record, columns))
        self._propagate(info, None, record, 0)
        return record_id

    def update(self, object_name: str, record_id: str, fields: Mapping[str, Any]) -> None:
        """Change stored fields of one record; calculated fields, and the roll-ups of its parents,
        are recomputed. OrgError(NOT_FOUND) when no such record exists."""
        self._check_writable()
        info = self.catalog.object(object_name)
        record_id = self.catalog.convert_id(info, record_id)
        values = self._convert_fields(info, fields)
        if values.pop("Id", record_id) != record_id:
            raise FieldError(info.name, "Id", "the Id of a record cannot be changed",
                             "INVALID_FIELD_FOR_INSERT_UPDATE")
        old = self._fetch(info, record_id)
        if old is None:
            raise OrgError(f"no {info.name} record has Id {record_id}", "NOT_FOUND")
        new = {**old, **values}
        self._check_required(info, new, [info.field(n) for n in values])
        self._calculate(info, new)
        self._write_changes(info, old, new)
        self._propagate(info, old, new, 0)

    @contextmanager
    def savepoint(self) -> Iterator[None]:
        """A nested savepoint: leaving the block by an exception undoes only what it wrote."""
        self._check_open()
        self._savepoints += 1
        name = f"flowengine_sp{self._savepoints}"
        self._sql(f"SAVEPOINT {name}")
        try:
            yield
        except BaseException:
            if self._conn is not None:
                self._sql(f"ROLLBACK TO {name}")
                self._sql(f"RELEASE {name}")
            raise
        self._sql(f"RELEASE {name}")

    def commit(self) -> None:
        """Make every write permanent and release the lock."""
        self._sql("COMMIT")
        self._finish()

    def rollback(self) -> None:
        """Undo every write and release the lock (does nothing once the transaction ended)."""
        if self._conn is None:
            return
        try:
            self._sql("ROLLBACK")
        finally:
            self._finish()

    def __enter__(self) -> SqliteTransaction:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, *rest: object) -> None:
        if exc_type is None and self._conn is not None:
            self.commit()
        else:
            self.rollback()

    @property
    def is_open(self) -> bool:
        return self._conn is not None

    # -- internals ---------------------------------------------------------------------------

    def _sql(self, sql: str, params: Sequence[Any] = ()) -> sqlite3.Cursor:
        conn = self._check_open()
        try:
            return conn.execute(sql, params)
        except sqlite3.Error as exc:
            raise self.store.error(exc) from None

    def _check_open(self) -> sqlite3.Connection:
        if self._conn is None:
            raise OrgError("the org transaction has already been committed or rolled back",
                           "ORG_STORE")
        return self._conn

    def _check_writable(self) -> None:
        if not self._write:
            raise OrgError("this org transaction is read-only (begin(write=False))", "ORG_STORE")

    def _finish(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            self.store._release(conn)

    def _fetch(self, info: ObjectInfo, record_id: str) -> dict[str, Any] | None:
        cursor = self._sql(f'SELECT * FROM "{info.name}" WHERE "Id" = ?', (record_id,))
        row = cursor.fetchone()
        return None if row is None else info.decode_row([d[0] for d in cursor.description], row)

    def _exists(self, object_name: str, record_id: str) -> bool:
        return self._sql(f'SELECT 1 FROM "{object_name}" WHERE "Id" = ?',
                         (record_id,)).fetchone() is not None

    def _filter_value(self, info: ObjectInfo, name: str, value: Any) -> Any:
        if name == "Id":
            return self.catalog.convert_id(info, value)
        return self.catalog.convert(info, info.field(name), value)

    def _convert_fields(self, info: ObjectInfo, fields: Mapping[str, Any]) -> dict[str, Any]:
        """Written values converted to their fields' types; refuses unknown and computed fields
        and references to records that do not exist."""
        values: dict[str, Any] = {}
        if "Id" in fields:
            try:
                values["Id"] = self.catalog.convert_id(info, fields["Id"])
            except OrgError as exc:
                raise FieldError(info.name, "Id", exc.message, exc.error_code) from None
        for name, value in fields.items():
            if name == "Id":
                continue
            fdef = info.field(name)
            if fdef.is_computed:
                how = "calculated from the record's other fields" if fdef.calculated else \
                    f"rolled up from its {fdef.rollup.child_object} records"  # type: ignore[union-attr]
                raise FieldError(info.name, name, f"cannot be set: it is {how} by the store",
                                 "INVALID_FIELD_FOR_INSERT_UPDATE")
            converted = self.catalog.convert(info, fdef, value)
            if fdef.reference_to is not None and converted is not None and \
                    converted != values.get("Id") and not self._exists(fdef.reference_to, converted):
                raise FieldError(info.name, name, f"no {fdef.reference_to} record has Id "
                                 f"{converted}", "INVALID_CROSS_REFERENCE_KEY")
            values[name] = converted
        return values

    @staticmethod
    def _check_required(info: ObjectInfo, record: Mapping[str, Any],
                        fields: Iterable[FieldDef]) -> None:
        for fdef in fields:
            if fdef.required and record.get(fdef.name) is None:
                raise FieldError(info.name, fdef.name, "is required, found no value",
                                 "REQUIRED_FIELD_MISSING")

    def _new_id(self, info: ObjectInfo) -> str:
        prefix = info.schema.key_prefix
        row = self._sql(f"SELECT next FROM {ID_COUNTERS} WHERE key_prefix = ?", (prefix,)).fetchone()
        counter = row[0] if row else 1
        while self._exists(info.name, candidate := ids.make_id(prefix, counter)):
            counter += 1  # skip Ids that fixtures gave explicitly
        self._sql(f"INSERT OR REPLACE INTO {ID_COUNTERS} (key_prefix, next) VALUES (?, ?)",
                  (prefix, counter + 1))
        return candidate

    def _calculate(self, info: ObjectInfo, record: dict[str, Any]) -> None:
        """Fill calculated fields in declaration order: each sees the ones before it."""
        for fdef in info.calculated:
            assert fdef.calculated is not None
            try:
                value = fdef.calculated(types.MappingProxyType(record))
            except Exception as exc:  # noqa: BLE001 - a plug-in bug must not crash the store
                raise FieldError(info.name, fdef.name, f"calculation failed for record "
                                 f"{record.get('Id')}: {type(exc).__name__}: {exc}",
                                 "CALCULATED_FIELD_ERROR") from exc
            try:
                record[fdef.name] = self.catalog.convert(info, fdef, value)
            except FieldError as exc:
                raise FieldError(info.name, fdef.name, f"calculated value: {exc.detail}",
                                 "CALCULATED_FIELD_ERROR") from None

    def _rollup_value(self, parent: ObjectInfo, fdef: FieldDef, parent_id: str) -> Any:
        rollup = fdef.rollup
        assert rollup is not None
        child = self.catalog.objects[rollup.child_object]
        filters = self.catalog.rollup_filters[(parent.name, fdef.name)]
        needed = list(dict.fromkeys([*filters, *([rollup.child_field] if rollup.op == "sum" else [])]))
        select = ", ".join(f'"{n}"' for n in needed) or "1"
        cursor = self._sql(f'SELECT {select} FROM "{child.name}" WHERE "{rollup.foreign_key}" = ?',
                           (parent_id,))
        rows = [child.decode_row(needed, row) for row in cursor.fetchall()]
        rows = [r for r in rows if all(r[n] in vs for n, vs in filters.items())]
        if rollup.op == "count":
            total: Any = len(rows)
        else:
            total = sum((r[rollup.child_field] for r in rows  # type: ignore[index]
                         if r[rollup.child_field] is not None), start=0)  # type: ignore[index]
        return self.catalog.convert(parent, fdef, total)

    def _propagate(self, info: ObjectInfo, old: Mapping[str, Any] | None,
                   new: Mapping[str, Any], depth: int) -> None:
        """Recompute the roll-ups of every parent that this record's change can affect."""
        touched: dict[tuple[str, str], None] = {}
        for parent_name, fdef in self.catalog.parents_of.get(info.name, ()):
            rollup = fdef.rollup
            assert rollup is not None
            relevant = {rollup.foreign_key, *rollup.where}
            if rollup.child_field:
                relevant.add(rollup.child_field)
            if old is not None and all(old.get(n) == new.get(n) for n in relevant):
                continue
            for record in (old, new):
                parent_id = record.get(rollup.foreign_key) if record else None
                if parent_id is not None:
                    touched[(parent_name, parent_id)] = None
        for parent_name, parent_id in touched:
            self._refresh_rollups(self.catalog.objects[parent_name], parent_id, info.name, depth + 1)

    def _refresh_rollups(self, info: ObjectInfo, record_id: str, child_name: str,
                         depth: int) -> None:
        if depth > MAX_ROLLUP_DEPTH:
            raise OrgError(f"roll-ups of {info.name} nest deeper than {MAX_ROLLUP_DEPTH} levels "
                           "(a cycle in the schemas?)", "ORG_SCHEMA")
        old = self._fetch(info, record_id)
        if old is None:
            return
        new = dict(old)
        for fdef in info.rollups:
            if fdef.rollup is not None and fdef.rollup.child_object == child_name:
                new[fdef.name] = self._rollup_value(info, fdef, record_id)
        self._calculate(info, new)
        if self._write_changes(info, old, new):
            self._propagate(info, old, new, depth)

    def _write_changes(self, info: ObjectInfo, old: Mapping[str, Any],
                       new: Mapping[str, Any]) -> bool:
        changed = [n for n in info.columns if n != "Id" and old.get(n) != new.get(n)]
        if not changed:
            return False
        assignments = ", ".join(f'"{n}" = ?' for n in changed)
        self._sql(f'UPDATE "{info.name}" SET {assignments} WHERE "Id" = ?',
                  [*self._encode(info, new, changed), new["Id"]])
        return True

    @staticmethod
    def _encode(info: ObjectInfo, record: Mapping[str, Any], columns: Iterable[str]) -> list[Any]:
        return [None if record[c] is None else info.encoders[c](record[c]) for c in columns]

    def recompute_all(self) -> None:
        """Recompute every stored roll-up and calculated field (after the schemas changed):
        children before parents, so roll-ups see their children's current values."""
        for name in reversed(self.catalog.dependency_order()):
            info = self.catalog.objects[name]
            if not info.rollups and not info.calculated:
                continue
            for old in self.query(name):
                new = dict(old)
                for fdef in info.rollups:
                    new[fdef.name] = self._rollup_value(info, fdef, old["Id"])
                self._calculate(info, new)
                self._write_changes(info, old, new)
