"""The org store's transaction interface: all that interviews and actions may use.

Kept narrow on purpose so that a server backend (PostgreSQL) can sit behind it without touching
actions. Records cross this interface as plain dicts of field name → Python value (Decimal for
quantities and amounts, 18-character Ids as str).
"""
from __future__ import annotations

from contextlib import AbstractContextManager
from typing import Any, Mapping, Protocol, Sequence


class OrgTransaction(Protocol):
    """One open write transaction. Reads see the transaction's own writes, with calculated and
    rolled-up fields current: every write call brings them up to date before it returns, and a
    write that fails changes nothing. Prefer the `*_many` calls for many records of one object:
    they validate everything first and maintain roll-ups once per call, not once per record."""

    def get(self, object_name: str, record_id: str) -> dict[str, Any] | None:
        """One record with all fields (calculated ones included), or None. Accepts 15- or
        18-character Ids; raises OrgError(INVALID_ID) for a malformed Id or one of another object."""

    def query(self, object_name: str, where: Mapping[str, Any] | None = None,
              order_by: Sequence[str] = ("Id",)) -> list[dict[str, Any]]:
        """Records whose fields equal every value in `where` (a list value means IN)."""

    def insert(self, object_name: str, fields: Mapping[str, Any]) -> str:
        """Create a record; returns its 18-character Id. An `Id` in `fields` (15 or 18
        characters, of this object, not yet used) is kept instead of a generated one — fixtures
        rely on it; generated Ids skip Ids that were given."""

    def insert_many(self, object_name: str, records: Sequence[Mapping[str, Any]]) -> list[str]:
        """Create many records of one object at once; returns their Ids in input order.

        The same as `insert` for each record, all or nothing: every record is converted and
        checked before any is written, and a failure leaves the transaction as it was. Records
        may refer to records of the same batch by their given Ids. Roll-ups of the parents are
        brought up to date once, at the end. A server backend does this with one multi-row
        INSERT (PostgreSQL: `INSERT ... SELECT FROM unnest(...)` or COPY) plus one update of
        the affected parents."""

    def update(self, object_name: str, record_id: str, fields: Mapping[str, Any]) -> None:
        """Change stored fields of one record; calculated fields are recomputed by the store.
        OrgError(NOT_FOUND) when no record has the Id."""

    def update_many(self, object_name: str, updates: Mapping[str, Mapping[str, Any]]) -> None:
        """Change stored fields of many records of one object: record Id → fields to set.

        The same as `update` for each record, all or nothing: every Id and value is checked
        (INVALID_ID, INVALID_FIELD, INVALID_FIELD_FOR_INSERT_UPDATE for a calculated or rolled-up
        field, NOT_FOUND, DUPLICATE_VALUE for one record given twice...) before anything is
        written, and a failure leaves the transaction as it was; errors name the record. The
        cost must not grow with the number of children of the records' parents: the old rows
        are read with one IN query, written with one statement per set of changed fields, and
        each affected parent's roll-ups and calculated fields are brought up to date once, at
        the end. A server backend does the same with `SELECT ... WHERE "Id" = ANY(%s) FOR
        UPDATE` and `UPDATE t SET ... FROM (VALUES ...) AS v("Id", ...) WHERE t."Id" = v."Id"`.
        Reads after the call (and inside any later savepoint) see current roll-ups."""

    def savepoint(self) -> AbstractContextManager[None]:
        """A nested savepoint: leaving the block by an exception undoes only what it wrote."""

    def commit(self) -> None: ...

    def rollback(self) -> None: ...


class OrgStore(Protocol):
    """An org database. `begin()` opens the one transaction an interview runs in; it takes the
    write lock up front (SQLite `BEGIN IMMEDIATE`), so concurrent interviews serialise."""

    def begin(self) -> OrgTransaction: ...

    def close(self) -> None: ...
