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

Platform events: ReplayIds are numbers of the same kind, so a transaction may commit events
with smaller ReplayIds than one that committed before it. Subscribers therefore keep no cursor
here: publishing an event adds a PENDING row for each registered subscriber of its object, and
a subscriber's batch claims its oldest pending rows with FOR UPDATE SKIP LOCKED and deletes them
with its writes — many workers share one subscriber's events, a worker that dies leaves its
batch to the others, and no event is processed twice. A subscriber registers with its first
claim, which also queues the events already stored; publishers hold a shared advisory lock on
the event object and a registration an exclusive one, so no event slips between the two.
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
from flowengine.org.postgres.migrate import (
    CURSORS,
    DELETED,
    EVENTS,
    INTERVIEWS,
    PENDING,
    SUBSCRIBERS,
)
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

    # -- platform events and the automation log (see the module docstring) ----------------------

    def _event_lock(self, event_name: str) -> str:
        return f"flowengine:{self.store.target.schema}:events:{event_name}"

    def _store_events(self, events: Sequence[tuple[int, str, str, str]]) -> None:
        for name in sorted({event[1] for event in events}):
            self._sql("SELECT pg_advisory_xact_lock_shared(hashtext(%s))",
                      (self._event_lock(name),))
        replay_ids, names, published, payloads = (list(column) for column in zip(*events))
        self._sql(f"INSERT INTO {EVENTS} (replay_id, event, published, payload) SELECT * FROM "
                  "unnest(%s::bigint[], %s::text[], %s::text[], %s::text[])",
                  (replay_ids, names, published, payloads))
        self._sql(f"INSERT INTO {PENDING} (subscriber, replay_id) SELECT s.subscriber, "
                  f"e.replay_id FROM {SUBSCRIBERS} s JOIN unnest(%s::bigint[], %s::text[]) AS "
                  "e(replay_id, event) ON s.event = e.event", (replay_ids, names))
        self._sql("SELECT pg_notify(%s, '')", (self.store.events_channel,))

    def _read_events(self, after: int, names: Collection[str] | None,
                     limit: int | None) -> list[tuple[int, str, str, str]]:
        sql = f"SELECT replay_id, event, published, payload FROM {EVENTS} WHERE replay_id > %s"
        params: list[Any] = [after]
        if names is not None:
            sql += " AND event = ANY(%s::text[])"
            params.append(sorted(names))
        sql += " ORDER BY replay_id" + (" LIMIT %s" if limit is not None else "")
        if limit is not None:
            params.append(limit)
        return [(int(r[0]), r[1], r[2], r[3]) for r in self._sql(sql, params).fetchall()]

    def _claim_events(self, subscriber: str, event_name: str,
                      limit: int) -> list[tuple[int, str, str, str]]:
        self._register(subscriber, event_name)
        rows = self._sql(
            f"SELECT e.replay_id, e.event, e.published, e.payload FROM {EVENTS} e JOIN (SELECT "
            f"replay_id FROM {PENDING} WHERE subscriber = %s ORDER BY replay_id LIMIT %s FOR "
            "UPDATE SKIP LOCKED) p USING (replay_id) ORDER BY e.replay_id",
            (subscriber, limit)).fetchall()
        return [(int(r[0]), r[1], r[2], r[3]) for r in rows]

    def _register(self, subscriber: str, event_name: str) -> None:
        """Make `subscriber` a subscriber of `event_name`'s events, queueing those it has not
        processed yet (after its cursor: all, for a new one), unless it is one already."""
        row = self._sql(f"SELECT event FROM {SUBSCRIBERS} WHERE subscriber = %s",
                        (subscriber,)).fetchone()
        if row is not None and row[0] == event_name:
            return
        self._sql("SELECT pg_advisory_xact_lock(hashtext(%s))", (self._event_lock(event_name),))
        changed = self._sql(
            f"INSERT INTO {SUBSCRIBERS} AS s (subscriber, event) VALUES (%s, %s) ON CONFLICT "
            "(subscriber) DO UPDATE SET event = EXCLUDED.event WHERE s.event <> EXCLUDED.event "
            "RETURNING 1", (subscriber, event_name)).fetchone()
        if changed is None:
            return                    # another transaction registered it meanwhile
        self._sql(f"DELETE FROM {PENDING} WHERE subscriber = %s", (subscriber,))
        self._sql(f"INSERT INTO {PENDING} (subscriber, replay_id) SELECT %s, replay_id FROM "
                  f"{EVENTS} WHERE event = %s AND replay_id > %s",
                  (subscriber, event_name, self._stored_cursor(subscriber)))

    def _mark_processed(self, subscriber: str, replay_ids: Sequence[int]) -> None:
        self._sql(f"DELETE FROM {PENDING} WHERE subscriber = %s AND replay_id = "
                  "ANY(%s::bigint[])", (subscriber, list(replay_ids)))

    def _delivered(self, subscriber: str, replay_ids: Collection[int]) -> set[int]:
        if not self._registered(subscriber):
            cursor = self._stored_cursor(subscriber)
            return {r for r in replay_ids if r <= cursor}
        pending = {int(r[0]) for r in self._sql(
            f"SELECT replay_id FROM {PENDING} WHERE subscriber = %s AND replay_id = "
            "ANY(%s::bigint[])", (subscriber, list(replay_ids))).fetchall()}
        return set(replay_ids) - pending

    def _read_cursor(self, subscriber: str) -> int:
        """The last ReplayId up to which the subscriber has processed every event."""
        if not self._registered(subscriber):
            return self._stored_cursor(subscriber)
        row = self._sql(f"SELECT min(replay_id) - 1 FROM {PENDING} WHERE subscriber = %s",
                        (subscriber,)).fetchone()
        if row is not None and row[0] is not None:
            return int(row[0])
        row = self._sql(f"SELECT coalesce(max(replay_id), 0) FROM {EVENTS}").fetchone()
        return int(row[0]) if row is not None else 0

    def _write_cursor(self, subscriber: str, replay_id: int) -> None:
        self._sql(f"INSERT INTO {CURSORS} (subscriber, replay_id) VALUES (%s, %s) ON CONFLICT "
                  "(subscriber) DO UPDATE SET replay_id = EXCLUDED.replay_id",
                  (subscriber, replay_id))
        self._sql(f"DELETE FROM {PENDING} WHERE subscriber = %s AND replay_id <= %s",
                  (subscriber, replay_id))

    def _registered(self, subscriber: str) -> bool:
        return self._sql(f"SELECT 1 FROM {SUBSCRIBERS} WHERE subscriber = %s",
                         (subscriber,)).fetchone() is not None

    def _stored_cursor(self, subscriber: str) -> int:
        row = self._sql(f"SELECT replay_id FROM {CURSORS} WHERE subscriber = %s",
                        (subscriber,)).fetchone()
        return int(row[0]) if row is not None else 0

    def _store_interview(self, entry: str) -> int:
        row = self._sql(f"INSERT INTO {INTERVIEWS} (entry) VALUES (%s) RETURNING number",
                        (entry,)).fetchone()
        assert row is not None
        return int(row[0])

    def _read_interviews(self, after: int, limit: int | None) -> list[tuple[int, str]]:
        sql = f"SELECT number, entry FROM {INTERVIEWS} WHERE number > %s ORDER BY number"
        params: list[Any] = [after]
        if limit is not None:
            sql += " LIMIT %s"
            params.append(limit)
        return [(int(n), str(e)) for n, e in self._sql(sql, params).fetchall()]

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

