"""A transaction on the SQLite org store: the storage primitives of `BatchTransaction` in SQL.

Reads are `SELECT ... WHERE "F" IN (...)`, asked in chunks because SQLite limits the variables of
one statement; writes are `executemany` of one INSERT, or of one UPDATE per set of changed
columns; savepoints are SQL savepoints. Everything else — checks, calculated fields, roll-ups,
Ids — is the backend-neutral `flowengine.org.batch`.
"""
from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, Final

from flowengine.org.batch import BatchTransaction, Row
from flowengine.org.catalog import ObjectInfo
from flowengine.org.sqlite.migrate import ID_COUNTERS

if TYPE_CHECKING:
    from flowengine.org.sqlite.store import SqliteOrgStore

__all__ = ["SqliteTransaction"]

IN_CHUNK: Final = 500        # values per IN (...): well under SQLite's variable limit
_NUMERIC: Final = frozenset({"Number", "Currency"})


class SqliteTransaction(BatchTransaction):
    """One open transaction on a `SqliteOrgStore` (implements `OrgTransaction`); it owns its
    connection until `commit()` or `rollback()`, after which it cannot be used again."""

    def __init__(self, store: SqliteOrgStore, conn: sqlite3.Connection, write: bool) -> None:
        super().__init__(store.catalog, store.rollups, write=write)
        self.store = store
        self._codecs = store.codecs
        self._conn: sqlite3.Connection | None = conn
        self._savepoints = 0

    @property
    def finished(self) -> bool:
        return self._conn is None

    # -- transaction control ------------------------------------------------------------------

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

    def _finish(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            self.store._release(conn)

    # -- storage primitives ---------------------------------------------------------------------

    def _select(self, info: ObjectInfo, where: Mapping[str, Sequence[Any]],
                columns: Sequence[str] | None = None) -> list[Row]:
        in_python = {n: values for n, values in where.items()
                     if n != "Id" and info.by_name[n].type.kind in _NUMERIC}
        long_list = next((n for n, values in where.items()
                          if len(values) > IN_CHUNK and n not in in_python), None)
        if long_list is not None:
            # distinct values split into chunks match disjoint rows: the answers just add up
            ids = list(dict.fromkeys(where[long_list]))
            chunks = (ids[start:start + IN_CHUNK] for start in range(0, len(ids), IN_CHUNK))
            return [row for chunk in chunks
                    for row in self._select(info, {**where, long_list: chunk}, columns)]
        codec = self._codecs[info.name]
        clauses, params = [], []
        for name, values in where.items():
            if name in in_python:  # stored as exact text: compared as numbers, below
                continue
            present = [codec.encode_value(name, v) for v in values if v is not None]
            parts = [f'"{name}" IN ({", ".join("?" * len(present))})'] if present else []
            if len(present) < len(values):
                parts.append(f'"{name}" IS NULL')
            clauses.append("(" + " OR ".join(parts) + ")")
            params += present
        wanted = list(columns) if columns is not None else None
        if wanted is not None:
            wanted += [n for n in in_python if n not in wanted]
        sql = (f'SELECT {_quoted(wanted) if wanted is not None else "*"} FROM "{info.name}"'
               + (" WHERE " + " AND ".join(clauses) if clauses else ""))
        cursor = self._sql(sql, params)
        decode = codec.row_decoder([d[0] for d in cursor.description])
        rows = [decode(row) for row in cursor.fetchall()]
        if in_python:
            rows = [r for r in rows if all(r[n] in vs for n, vs in in_python.items())]
            if columns is not None:
                rows = [{n: r[n] for n in columns} for r in rows]
        return rows

    def _insert_rows(self, info: ObjectInfo, rows: Sequence[Row]) -> None:
        codec = self._codecs[info.name]
        self._sql_many(f'INSERT INTO "{info.name}" ({_quoted(info.columns)}) '
                       f'VALUES ({", ".join("?" * len(info.columns))})',
                       (codec.encode(r, info.columns) for r in rows))

    def _update_rows(self, info: ObjectInfo, columns: tuple[str, ...],
                     rows: Sequence[Row]) -> None:
        codec = self._codecs[info.name]
        assignments = ", ".join(f'"{n}" = ?' for n in columns)
        self._sql_many(f'UPDATE "{info.name}" SET {assignments} WHERE "Id" = ?',
                       ([*codec.encode(r, columns), r["Id"]] for r in rows))

    def _read_id_counter(self, info: ObjectInfo) -> int:
        row = self._sql(f"SELECT next FROM {ID_COUNTERS} WHERE key_prefix = ?",
                        (info.schema.key_prefix,)).fetchone()
        return row[0] if row else 1

    def _write_id_counter(self, info: ObjectInfo, next_number: int) -> None:
        self._sql(f"INSERT OR REPLACE INTO {ID_COUNTERS} (key_prefix, next) VALUES (?, ?)",
                  (info.schema.key_prefix, next_number))

    # -- SQL -----------------------------------------------------------------------------------

    def _sql(self, sql: str, params: Sequence[Any] = ()) -> sqlite3.Cursor:
        conn = self._connection()
        try:
            return conn.execute(sql, params)
        except sqlite3.Error as exc:
            raise self.store.error(exc) from None

    def _sql_many(self, sql: str, rows: Iterable[Sequence[Any]]) -> None:
        conn = self._connection()
        try:
            conn.executemany(sql, rows)
        except sqlite3.Error as exc:
            raise self.store.error(exc) from None

    def _connection(self) -> sqlite3.Connection:
        self._check_open()
        assert self._conn is not None
        return self._conn


def _quoted(names: Iterable[str]) -> str:
    return ", ".join(f'"{n}"' for n in names)
