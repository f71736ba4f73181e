"""The storage primitives an org backend implements, and the state every transaction keeps.

`StorageTransaction` is the bottom of `flowengine.org.batch.BatchTransaction`: a backend
(SQLite's is `flowengine.org.sqlite.transaction`) implements the abstract methods here — read
rows by field values or by a query plan, insert, update and delete rows, remember deleted Ids,
take numbers from counters, savepoints — and everything above them is backend-neutral: roll-ups
(`flowengine.org.rollups.RollupUpkeep`), deletes (`flowengine.org.deletes`), checks and system
fields (`flowengine.org.batch`).
"""
from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Collection, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager, contextmanager
from typing import Any, Self

from flowengine.errors import OrgError
from flowengine.org.catalog import Catalog, ObjectInfo
from flowengine.org.query import QueryPlan
from flowengine.org.rollups import RollupIndex
from flowengine.org.system import DEFAULT_USER_ID, Clock, system_clock

__all__ = ["Row", "StorageTransaction"]

Row = dict[str, Any]


class StorageTransaction(ABC):
    """A transaction's storage primitives (abstract) and state: its catalog and roll-ups,
    whether it may write, the clock and the running user of the system fields."""

    def __init__(self, catalog: Catalog, rollups: RollupIndex, *, write: bool,
                 clock: Clock = system_clock, user_id: str = DEFAULT_USER_ID) -> None:
        self.catalog = catalog
        self.rollups = rollups
        self.write = write
        self.clock = clock
        self.user_id = user_id
        # what runs around each write (`flowengine.org.base.SaveHook`): the plug-ins' platform
        # behaviour, and record-triggered flows when automation runs the transaction
        self.hooks: list[Any] = []

    # -- storage primitives: what a backend implements -----------------------------------------

    @property
    @abstractmethod
    def finished(self) -> bool:
        """True once the transaction was committed or rolled back."""

    @abstractmethod
    def _select(self, info: ObjectInfo, where: Mapping[str, Sequence[Any]],
                columns: Sequence[str] | None = None) -> list[Row]:
        """The rows of `info`'s object whose every field in `where` has one of the listed values
        (already converted to the field's type; compared exactly; None matches null; no list is
        empty), as record dicts of `columns` (default: every column), in any order. No limit on
        the number of values. A server backend locks the rows it returns in a write transaction
        (see the isolation guarantee in `flowengine.org.base`)."""

    @abstractmethod
    def _run_plan(self, plan: QueryPlan) -> list[Row]:
        """The rows a checked query selects (`flowengine.org.query.QueryPlan`), in its order,
        with its columns: one statement in the database."""

    @abstractmethod
    def _insert_rows(self, info: ObjectInfo, rows: Sequence[Row]) -> None:
        """Store new records, each with every column of `info` (Ids are set and unused)."""

    @abstractmethod
    def _update_rows(self, info: ObjectInfo, columns: tuple[str, ...],
                     rows: Sequence[Row]) -> None:
        """Set `columns` of existing records to the values in `rows`, found by their Id."""

    @abstractmethod
    def _delete_rows(self, info: ObjectInfo, record_ids: Collection[str]) -> None:
        """Delete existing records and remember their Ids as deleted (`_deleted_ids`)."""

    @abstractmethod
    def _deleted_ids(self, record_ids: Collection[str]) -> dict[str, str]:
        """Those of `record_ids` that belonged to deleted records → the object's name."""

    @abstractmethod
    def _take_numbers(self, key: str, count: int) -> int:
        """Take the next `count` numbers of the counter `key` (which starts at 1); returns the
        first. Taking them is undone with the transaction or savepoint, so the numbers are
        handed out again — on a server backend, as long as no other transaction has taken
        numbers of `key` since (a gap is left otherwise, and other transactions never wait)."""

    @abstractmethod
    def savepoint(self) -> AbstractContextManager[None]:
        """A nested savepoint: leaving the block by an exception undoes only what it wrote."""

    @abstractmethod
    def commit(self) -> None:
        """Make every write permanent and end the transaction."""

    @abstractmethod
    def rollback(self) -> None:
        """Undo every write and end the transaction (does nothing once it ended)."""

    # -- state ---------------------------------------------------------------------------------

    def __enter__(self) -> Self:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, *rest: object) -> None:
        if exc_type is None and not self.finished:
            self.commit()
        else:
            self.rollback()

    def _check_open(self) -> None:
        if self.finished:
            raise OrgError("the org transaction has already been committed or rolled back",
                           "ORG_STORE")

    def _check_writable(self) -> None:
        self._check_open()
        if not self.write:
            raise OrgError("this org transaction is read-only (begin(write=False))", "ORG_STORE")

    def _stored_object(self, object_name: str, action: str) -> ObjectInfo:
        """The object called `object_name`, which must be stored (not a platform event)."""
        info = self.catalog.object(object_name)
        if info.schema.is_event:
            raise OrgError(f"{info.name} is a platform event: an event is published, never "
                           f"stored, so it cannot be {action}", "INVALID_TYPE")
        return info

    @contextmanager
    def _atomic(self) -> Iterator[None]:
        """One write call: all of it, or (on any failure) none of it."""
        with self.savepoint():
            yield

    def _fetch_rows(self, info: ObjectInfo, record_ids: Collection[str]) -> dict[str, Row]:
        """Id → record for those of `record_ids` (18-character) that exist."""
        if not record_ids:
            return {}
        return {r["Id"]: r for r in self._select(info, {"Id": list(record_ids)})}

    def _existing_ids(self, info: ObjectInfo, record_ids: Collection[str]) -> set[str]:
        if not record_ids:
            return set()
        return {r["Id"] for r in self._select(info, {"Id": list(record_ids)}, ("Id",))}

    def _taken_ids(self, info: ObjectInfo, candidates: Sequence[str]) -> set[str]:
        """Those of `candidates` (generated Ids of `info`'s object, one run of `ids.make_ids`:
        in increasing order) that are the Ids of records, stored or deleted. A backend may look
        them up as the range they are."""
        return self._existing_ids(info, candidates) | set(self._deleted_ids(candidates))
