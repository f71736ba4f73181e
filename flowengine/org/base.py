"""The org store's transaction interface: all that interviews and actions may use.

Kept narrow on purpose so that a server backend (PostgreSQL) can sit behind it without touching
actions. Records cross this interface as plain dicts of field name → Python value (Decimal for
quantities and amounts, 18-character Ids as str).
"""
from __future__ import annotations

from contextlib import AbstractContextManager
from typing import Any, Mapping, Protocol, Sequence


class OrgTransaction(Protocol):
    """One open write transaction. Reads see the transaction's own writes."""

    def get(self, object_name: str, record_id: str) -> dict[str, Any] | None:
        """One record with all fields (calculated ones included), or None. Accepts 15- or
        18-character Ids; raises OrgError(INVALID_ID) for a malformed Id or one of another object."""

    def query(self, object_name: str, where: Mapping[str, Any] | None = None,
              order_by: Sequence[str] = ("Id",)) -> list[dict[str, Any]]:
        """Records whose fields equal every value in `where` (a list value means IN)."""

    def insert(self, object_name: str, fields: Mapping[str, Any]) -> str:
        """Create a record; returns its 18-character Id."""

    def update(self, object_name: str, record_id: str, fields: Mapping[str, Any]) -> None:
        """Change stored fields of one record; calculated fields are recomputed by the store."""

    def savepoint(self) -> AbstractContextManager[None]:
        """A nested savepoint: leaving the block by an exception undoes only what it wrote."""

    def commit(self) -> None: ...

    def rollback(self) -> None: ...


class OrgStore(Protocol):
    """An org database. `begin()` opens the one transaction an interview runs in; it takes the
    write lock up front (SQLite `BEGIN IMMEDIATE`), so concurrent interviews serialise."""

    def begin(self) -> OrgTransaction: ...

    def close(self) -> None: ...
