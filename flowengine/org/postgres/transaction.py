"""A transaction on the PostgreSQL org store: the storage primitives of `BatchTransaction` in SQL.

Reads are one SELECT each (`flowengine.org.postgres.select`); in a write transaction they end
with FOR UPDATE, so every row the transaction reads stays locked until it ends — the isolation
guarantee of `flowengine.org.base` for a server backend. Inserts are one COPY (a few rows: one
pipelined INSERT each), updates one `UPDATE ... FROM unnest(...)` per set of changed columns,
deletes one statement; savepoints are SQL savepoints. Everything else — checks, calculated
fields, roll-ups, Ids, cascades — is the backend-neutral `flowengine.org.batch`.

BEGIN, SAVEPOINT and RELEASE wait in `_pending` until a statement needs them: a savepoint whose
block ran no statement is never sent, and the releases still pending at COMMIT are not needed
(an interview opens a savepoint per element and per write call: this saves a third of its
round trips).

Numbers of Id and auto-number counters are taken outside the transaction (`store.take_numbers`),
so that transactions creating records of the same object do not wait for each other; a
transaction or savepoint that rolls back gives its numbers back when no other transaction has
taken numbers since.
"""
from __future__ import annotations

from collections.abc import Collection, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, Final

import psycopg
from psycopg import pq

from flowengine.errors import OrgError
from flowengine.org.batch import BatchTransaction, Row
from flowengine.org.catalog import ObjectInfo
from flowengine.org.postgres.columns import array_type, quoted
from flowengine.org.postgres.migrate import DELETED
from flowengine.org.postgres.select import build_select, build_simple_select
from flowengine.org.query import QueryPlan

if TYPE_CHECKING:
    from flowengine.org.postgres.store import PostgresOrgStore

__all__ = ["PostgresTransaction"]

COPY_FROM: Final = 8          # rows from which an insert is a COPY rather than INSERTs
Taken = tuple[str, int, int]  # counter key, first number, the number after the last


class PostgresTransaction(BatchTransaction):
    """One open transaction on a `PostgresOrgStore` (implements `OrgTransaction`); it owns its
    connection until `commit()` or `rollback()`, after which it cannot be used again."""

    def __init__(self, store: PostgresOrgStore, conn: psycopg.Connection[Any],
                 write: bool, begin: str | None = None) -> None:
        super().__init__(store.catalog, store.rollups, write=write, clock=store.clock,
                         user_id=store.running_user_id)
        self.store = store
        self._columns = store.columns
        self._conn: psycopg.Connection[Any] | None = conn
        self._savepoints = 0
        self._taken: list[list[Taken]] = [[]]    # numbers taken, by savepoint level
        self._pending: list[str] = [begin] if begin else []   # sent with the next statement

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
        marker = f"SAVEPOINT {name}"
        self._pending.append(marker)
        self._taken.append([])
        try:
            yield
        except BaseException:
            taken = self._taken.pop()
            if marker in self._pending:          # no statement ran inside: nothing to undo
                del self._pending[self._pending.index(marker):]
            elif self._conn is not None and not self._conn.closed:
                # what is pending was queued inside the block: rolling back drops it too
                self._pending.clear()
                self._sql(f"ROLLBACK TO SAVEPOINT {name}; RELEASE SAVEPOINT {name}", None)
                self.store.give_back(taken)
            raise
        self._taken[-2].extend(self._taken.pop())
        if marker in self._pending:
            del self._pending[self._pending.index(marker):]
        else:
            self._pending.append(f"RELEASE SAVEPOINT {name}")

    @property
    def _begun(self) -> bool:
        """Whether BEGIN has reached the server (it waits for the first statement)."""
        return not (self._pending and self._pending[0].startswith("BEGIN"))

    def commit(self) -> None:
        """Make every write permanent and release the locks."""
        conn = self._connection()
        if conn.info.transaction_status == pq.TransactionStatus.INERROR:
            self.rollback()
            raise OrgError(f"org store {self.store.location}: the transaction cannot commit: a "
                           "statement failed earlier outside any savepoint, so PostgreSQL "
                           "rolled it back", "ORG_STORE")
        begun = self._begun
        self._pending.clear()                    # COMMIT releases every savepoint
        if begun:
            self._sql("COMMIT", None)
        self._finish()

    def rollback(self) -> None:
        """Undo every write and release the locks (does nothing once the transaction ended)."""
        conn = self._conn
        if conn is None:
            return
        broken = False
        begun = self._begun
        self._pending.clear()
        try:
            if begun:
                conn.execute("ROLLBACK")
        except psycopg.Error:
            broken = True            # the connection is gone: so is the transaction
        finally:
            self.store.give_back([t for level in self._taken for t in level])
            self._conn = None
            self.store.release(conn, broken=broken)

    def _finish(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            self.store.release(conn)

    # -- storage primitives ---------------------------------------------------------------------

    def _run_plan(self, plan: QueryPlan) -> list[Row]:
        sql, params = build_select(plan, self.store.collation, self.write)
        decode = self._columns[plan.info.name].row_decoder(plan.columns)
        return [decode(row) for row in self._sql(sql, params).fetchall()]

    def _select(self, info: ObjectInfo, where: Mapping[str, Sequence[Any]],
                columns: Sequence[str] | None = None) -> list[Row]:
        names = tuple(columns) if columns is not None else info.columns
        sql, params = build_simple_select(info, where, names, self.write)
        decode = self._columns[info.name].row_decoder(names)
        return [decode(row) for row in self._sql(sql, params).fetchall()]

    def _insert_rows(self, info: ObjectInfo, rows: Sequence[Row]) -> None:
        columns = self._columns[info.name]
        names = ", ".join(map(quoted, info.columns))
        if len(rows) < COPY_FROM:
            marks = ", ".join(["%s"] * len(info.columns))
            self._sql_many(f"INSERT INTO {quoted(info.name)} ({names}) VALUES ({marks})",
                           [columns.values(r, info.columns) for r in rows])
            return
        conn = self._connection()
        try:
            self._send_pending(conn)
            with conn.cursor() as cursor, \
                    cursor.copy(f"COPY {quoted(info.name)} ({names}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(columns.values(row, info.columns))
        except psycopg.Error as exc:
            raise self.store.error(exc) from None

    def _update_rows(self, info: ObjectInfo, columns: tuple[str, ...],
                     rows: Sequence[Row]) -> None:
        names = ("Id", *columns)
        arrays = ", ".join(f"%s::{array_type(info.by_name.get(n))}" for n in names)
        assignments = ", ".join(f"{quoted(n)} = v.{quoted(n)}" for n in columns)
        table = quoted(info.name)
        ordered = sorted(rows, key=_by_id)     # rows locked in Id order: no deadlock between
        self._sql(f"UPDATE {table} SET {assignments} FROM unnest({arrays}) AS "
                  f"v({', '.join(map(quoted, names))}) WHERE {table}.\"Id\" = v.\"Id\"",
                  self._columns[info.name].column_values(ordered, names))

    def _delete_rows(self, info: ObjectInfo, record_ids: Collection[str]) -> None:
        wanted = sorted(record_ids)
        self._sql(f'DELETE FROM {quoted(info.name)} WHERE "Id" = ANY(%s::text[])', (wanted,))
        self._sql(f'INSERT INTO {DELETED} ("Id", object) SELECT unnest(%s::text[]), %s '
                  "ON CONFLICT DO NOTHING", (wanted, info.name))

    def _deleted_ids(self, record_ids: Collection[str]) -> dict[str, str]:
        rows = self._sql(f'SELECT "Id", object FROM {DELETED} WHERE "Id" = ANY(%s::text[])',
                         (list(record_ids),)).fetchall()
        return dict(rows)

    def _take_numbers(self, key: str, count: int) -> int:
        self._check_writable()
        first = self.store.take_numbers(key, count)
        self._taken[-1].append((key, first, first + count))
        return first

    # -- SQL -----------------------------------------------------------------------------------

    def _sql(self, sql: str, params: Sequence[Any] | None = ()) -> psycopg.Cursor[Any]:
        """Run a statement, after what is pending. Without `params` (None) `sql` may hold
        several statements."""
        conn = self._connection()
        try:
            self._send_pending(conn)
            return conn.execute(sql, params)
        except psycopg.Error as exc:
            raise self.store.error(exc) from None

    def _sql_many(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        conn = self._connection()
        try:
            self._send_pending(conn)
            with conn.cursor() as cursor:
                cursor.executemany(sql, rows)
        except psycopg.Error as exc:
            raise self.store.error(exc) from None

    def _send_pending(self, conn: psycopg.Connection[Any]) -> None:
        while self._pending:
            conn.execute(self._pending.pop(0))

    def _connection(self) -> psycopg.Connection[Any]:
        self._check_open()
        assert self._conn is not None
        return self._conn


def _by_id(row: Row) -> str:
    return str(row["Id"])

