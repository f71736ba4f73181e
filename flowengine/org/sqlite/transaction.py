"""A transaction on the SQLite org store: the storage primitives of `BatchTransaction` in SQL.

Reads are one SELECT each, built by `flowengine.org.sqlite.select` (long IN lists travel as one
JSON parameter, so no list is too long for one statement); writes are `executemany` of one
INSERT, of one UPDATE per set of changed columns, or of one DELETE; savepoints are SQL
savepoints. Everything else — checks, calculated fields, roll-ups, Ids, cascades — is the
backend-neutral `flowengine.org.batch`.
"""
from __future__ import annotations

import sqlite3
from collections.abc import Collection, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, Final

from flowengine.org.batch import BatchTransaction, Row
from flowengine.org.catalog import ObjectInfo
from flowengine.org.query import Condition, QueryPlan, compare_of
from flowengine.org.sqlite.migrate import CURSORS, DELETED, EVENTS, ID_COUNTERS, INTERVIEWS
from flowengine.org.sqlite.select import build_select, quoted

if TYPE_CHECKING:
    from flowengine.org.sqlite.store import SqliteOrgStore

__all__ = ["SqliteTransaction"]

_IN_CHUNK: Final = 500        # Ids per statement when looking up deleted Ids


def _by_id(row: Row) -> str:
    return str(row["Id"])


class SqliteTransaction(BatchTransaction):
    """One open transaction on a `SqliteOrgStore` (implements `OrgTransaction`); it owns its
    connection until `commit()` or `rollback()`, after which it cannot be used again."""

    def __init__(self, store: SqliteOrgStore, conn: sqlite3.Connection, write: bool) -> None:
        super().__init__(store.catalog, store.rollups, write=write, clock=store.clock,
                         user_id=store.running_user_id)
        self.store = store
        self._codecs = store.codecs
        self._conn: sqlite3.Connection | None = conn
        self._savepoints = 0
        self._deferred: list[str] = []      # the SQL of indexes to build again (`defer_indexes`)

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
        """Make every write permanent and release the lock (building any deferred index
        first)."""
        self.restore_indexes()
        self._sql("COMMIT")
        self._finish()

    def rollback(self) -> None:
        """Undo every write and release the lock (does nothing once the transaction ended)."""
        if self._conn is None:
            return
        self._deferred.clear()              # the rollback brings the indexes back
        try:
            self._sql("ROLLBACK")
        finally:
            self._finish()

    def defer_indexes(self, object_name: str, keep: Collection[str] = ()) -> bool:
        """For a bulk load into an empty table: drop the indexes of `object_name`'s table, but
        those of the fields `keep`, to build each again at once in `restore_indexes` (sorting
        the rows once costs less than keeping the index in step with every insert). In the
        transaction: a rollback brings them back, and `commit` builds them first. False, and
        nothing dropped, when the table holds any record."""
        self._check_open()
        info = self._stored_object(object_name, "inserted")
        if self._sql(f'SELECT 1 FROM "{info.name}" LIMIT 1').fetchone() is not None:
            return False
        prefix = f"{info.name}__"
        found = self._sql("SELECT name, sql FROM sqlite_master WHERE type = 'index' AND "
                          "tbl_name = ? AND sql IS NOT NULL ORDER BY name", (info.name,)).fetchall()
        dropped = [(name, sql) for name, sql in found
                   if name.startswith(prefix) and name[len(prefix):] not in keep]
        for name, _ in dropped:
            self._sql(f'DROP INDEX "{name}"')
        # built again as they were (SQLite keeps a CREATE INDEX without its IF NOT EXISTS)
        self._deferred += [sql.replace("CREATE INDEX ", "CREATE INDEX IF NOT EXISTS ", 1)
                           for _, sql in dropped]
        return bool(dropped)

    def restore_indexes(self) -> None:
        """Build the indexes `defer_indexes` dropped, as they were."""
        while self._deferred:
            self._sql(self._deferred[0])
            del self._deferred[0]

    def _finish(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            self.store._release(conn)

    # -- storage primitives ---------------------------------------------------------------------

    def _run_plan(self, plan: QueryPlan) -> list[Row]:
        codec = self._codecs[plan.info.name]
        sql, params = build_select(plan, codec)
        cursor = self._sql(sql, params)
        decode = codec.row_decoder(plan.columns)
        return [decode(row) for row in cursor.fetchall()]

    def _select(self, info: ObjectInfo, where: Mapping[str, Sequence[Any]],
                columns: Sequence[str] | None = None) -> list[Row]:
        conditions = tuple(
            Condition(name, info.by_name.get(name), "In", tuple(values),
                      "number" if compare_of(info.by_name.get(name)) == "number" else "exact")
            for name, values in where.items())
        logic = ("and", [("cond", i) for i in range(len(conditions))]) if conditions else None
        plan = QueryPlan(info, conditions, logic, (), None,
                         tuple(columns) if columns is not None else info.columns)
        return self._run_plan(plan)

    def _insert_rows(self, info: ObjectInfo, rows: Sequence[Row]) -> None:
        literals: dict[str, str] = {}
        stored, params = self._codecs[info.name].encode_rows(rows, info.columns, literals)
        names = ", ".join(map(quoted, [*stored, *literals]))
        self._sql_many(f'INSERT INTO "{info.name}" ({names}) '
                       f'VALUES ({", ".join(["?"] * len(stored) + list(literals.values()))})',
                       params)

    def _update_rows(self, info: ObjectInfo, columns: tuple[str, ...],
                     rows: Sequence[Row]) -> None:
        codec = self._codecs[info.name]
        assignments = ", ".join(f"{quoted(n)} = ?" for n in codec.stored_columns(columns))
        # in Id order: records created together sit together, so the pages are visited in turn
        self._sql_many(f'UPDATE "{info.name}" SET {assignments} WHERE "Id" = ?',
                       ([*codec.encode_stored(r, columns), r["Id"]]
                        for r in sorted(rows, key=_by_id)))

    def _delete_rows(self, info: ObjectInfo, record_ids: Collection[str]) -> None:
        self._sql_many(f'DELETE FROM "{info.name}" WHERE "Id" = ?',
                       ((record_id,) for record_id in sorted(record_ids)))
        self._sql_many(f"INSERT OR IGNORE INTO {DELETED} (Id, object) VALUES (?, ?)",
                       ((record_id, info.name) for record_id in record_ids))

    def _deleted_ids(self, record_ids: Collection[str]) -> dict[str, str]:
        found: dict[str, str] = {}
        wanted = list(record_ids)
        for start in range(0, len(wanted), _IN_CHUNK):
            chunk = wanted[start:start + _IN_CHUNK]
            found.update(self._sql(f"SELECT Id, object FROM {DELETED} WHERE Id IN "
                                   f"({', '.join('?' * len(chunk))})", chunk).fetchall())
        return found

    def _taken_ids(self, info: ObjectInfo, candidates: Sequence[str]) -> set[str]:
        # a run of generated Ids is a range of the primary keys (compared as bytes, as the
        # Ids of one run order): two range scans instead of looking each one up
        if not candidates:
            return set()
        low, high = candidates[0], candidates[-1]
        found = {row[0] for row in self._sql(
            f'SELECT "Id" FROM "{info.name}" WHERE "Id" BETWEEN ? AND ?', (low, high))}
        found.update(row[0] for row in self._sql(
            f"SELECT Id FROM {DELETED} WHERE Id BETWEEN ? AND ?", (low, high)))
        return found.intersection(candidates) if found else found

    def _take_numbers(self, key: str, count: int) -> int:
        # nobody else writes while this transaction holds the lock: read, then move on
        row = self._sql(f"SELECT next FROM {ID_COUNTERS} WHERE key_prefix = ?", (key,)).fetchone()
        first: int = row[0] if row else 1
        self._sql(f"INSERT OR REPLACE INTO {ID_COUNTERS} (key_prefix, next) VALUES (?, ?)",
                  (key, first + count))
        return first

    # -- platform events and the automation log --------------------------------------------------

    def _store_events(self, events: Sequence[tuple[int, str, str, str]]) -> None:
        self._sql_many(f"INSERT INTO {EVENTS} (replay_id, event, published, payload) "
                       "VALUES (?, ?, ?, ?)", events)

    def _read_events(self, after: int, names: Collection[str] | None,
                     limit: int | None) -> list[tuple[int, str, str, str]]:
        sql = f"SELECT replay_id, event, published, payload FROM {EVENTS} WHERE replay_id > ?"
        params: list[Any] = [after]
        if names is not None:
            wanted = sorted(names)
            if not wanted:
                return []
            sql += f" AND event IN ({', '.join('?' * len(wanted))})"
            params += wanted
        sql += " ORDER BY replay_id"
        if limit is not None:
            sql += " LIMIT ?"
            params.append(limit)
        return [(int(r[0]), str(r[1]), str(r[2]), str(r[3]))
                for r in self._sql(sql, params).fetchall()]

    def _read_cursor(self, subscriber: str) -> int:
        row = self._sql(f"SELECT replay_id FROM {CURSORS} WHERE subscriber = ?",
                        (subscriber,)).fetchone()
        return int(row[0]) if row else 0

    def _write_cursor(self, subscriber: str, replay_id: int) -> None:
        self._sql(f"INSERT OR REPLACE INTO {CURSORS} (subscriber, replay_id) VALUES (?, ?)",
                  (subscriber, replay_id))

    def _store_interview(self, entry: str) -> int:
        cursor = self._sql(f"INSERT INTO {INTERVIEWS} (entry) VALUES (?)", (entry,))
        return int(cursor.lastrowid or 0)

    def _read_interviews(self, after: int, limit: int | None) -> list[tuple[int, str]]:
        sql = f"SELECT number, entry FROM {INTERVIEWS} WHERE number > ? ORDER BY number"
        params: list[Any] = [after]
        if limit is not None:
            sql += " LIMIT ?"
            params.append(limit)
        return [(int(n), str(e)) for n, e in self._sql(sql, params).fetchall()]

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
