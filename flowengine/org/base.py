"""The org store's interface: `OrgStore` (administration) and `OrgTransaction` (what interviews
and actions use), with the isolation guarantee every backend gives.

Kept narrow on purpose so that a server backend (PostgreSQL) can sit behind it without touching
actions. Records cross this interface as plain dicts of field name → Python value (Decimal for
quantities and amounts, 18-character Ids as str). Backends: `flowengine.org.sqlite` (the
embedded default) and `flowengine.org.postgres` (a server); the backend-neutral work lives in
`flowengine.org.catalog` and `flowengine.org.batch`; `flowengine.org.open_org` picks a backend
by the store's URL.

Isolation — what concurrent interviews see
------------------------------------------
1. A transaction sees its own writes at once, with calculated and rolled-up fields current.
2. A transaction sees only what other transactions committed: never an uncommitted write, and
   never a write that was rolled back.
3. Write transactions that touch the same records are serialised: the second waits until the
   first has committed or rolled back (or fails with OrgError(UNABLE_TO_LOCK_ROW) after the
   store's timeout) and then sees the first one's committed result.
   - SQLite: `begin()` takes the write lock of the whole store (`BEGIN IMMEDIATE`), so *every*
     pair of write transactions is serialised, whichever records they touch; the wait is up
     to 30 seconds by default.
   - A server backend (PostgreSQL): row locks on every record a write transaction writes
     *or reads* (`SELECT ... FOR UPDATE`), held until it ends; write transactions that share no
     record run side by side. Two that wait for each other (a deadlock) are found by the
     server, and one of them fails with OrgError(UNABLE_TO_LOCK_ROW) instead of waiting.
4. Validate-then-write is safe: nothing a write transaction has read can be changed or deleted
   by another transaction before it commits. The Order Management cancel relies on exactly this
   (spec section 5): it reads the fulfillment order, its lines and their order item summaries,
   validates the request against them, then writes lines and summaries computed from what it
   read; a concurrent cancel of the same line waits, then validates against the first one's
   committed quantities, so a line is never over-cancelled and no update is lost.
   Not promised: that a query would return no *new* records inserted meanwhile by another
   transaction (phantoms). SQLite gives that too (nobody else can write), a row-locking server
   backend does not; no action relies on it.
5. A read-only transaction (`begin(write=False)`) takes no write lock, does not wait for writers
   and never blocks them, and sees one consistent snapshot of committed data. SQLite (in WAL
   mode) fixes the snapshot at the transaction's first read, not at `begin()`.
"""
from __future__ import annotations

from collections.abc import Callable, Collection, Mapping, Sequence
from contextlib import AbstractContextManager
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

if TYPE_CHECKING:
    from flowengine.org.catalog import Catalog
    from flowengine.org.query import RecordFilter, Sort
    from flowengine.org.schema import ObjectSchema

__all__ = ["Invariant", "OrgStore", "OrgTransaction", "SaveHook"]


@runtime_checkable
class OrgTransaction(Protocol):
    """One open transaction (see the isolation guarantee in the module docstring).

    Reads see the transaction's own writes, with calculated and rolled-up fields current: every
    write call brings them up to date before it returns, and a write that fails changes nothing.
    Prefer the `*_many` calls for many records of one object: they validate everything first and
    maintain roll-ups once per call, not once per record. Used as a context manager it commits
    when the block succeeds and rolls back when it raises. After `commit()` or `rollback()` every
    call but `rollback()` raises OrgError(ORG_STORE)."""

    def get(self, object_name: str, record_id: str) -> dict[str, Any] | None:
        """One record with all fields (calculated ones included), or None. Accepts 15- or
        18-character Ids; raises OrgError(INVALID_ID) for a malformed Id or one of another
        object, OrgError(INVALID_TYPE) for an unknown object."""

    def query(self, object_name: str, where: Mapping[str, Any] | None = None,
              order_by: Sequence[str] = ("Id",)) -> list[dict[str, Any]]:
        """Records whose fields equal every value in `where` (a list value means IN, an empty
        list matches nothing, None means null), sorted by the fields in `order_by` (nulls first,
        numbers by value). Filter values are converted to the fields' types; an unknown field is
        OrgError(INVALID_FIELD)."""

    def select(self, object_name: str, filters: Sequence[RecordFilter] = (), logic: str = "and",
               order_by: Sequence[Sort] = (), limit: int | None = None,
               fields: Sequence[str] | None = None) -> list[dict[str, Any]]:
        """The records matching `filters` (see `flowengine.org.query`) joined by `logic` ("and",
        "or", or custom logic over 1-based filter numbers: "1 AND (2 OR 3)"), sorted by
        `order_by` (then by Id), at most `limit`, with `fields` only (always with Id; None: all
        fields). Runs in the database, using its indexes. Text compares ignoring case, except
        Ids and references. Null as SOQL treats it: EqualTo null and NotEqualTo null test for
        null; NotEqualTo a value is true of null; ordering comparisons, StartsWith, EndsWith,
        Contains, In and NotIn are false of null (`In [None, ...]` matches null); a value the
        field cannot hold matches nothing (`flowengine.org.query` says how values compare).
        OrgError(INVALID_FIELD) for an unknown field, INVALID_TYPE for an unknown object or a
        platform event, INVALID_QUERY_FILTER_OPERATOR for an operator the field cannot take
        (Contains on a number), INVALID_ARGUMENT for arguments of the wrong shape or bad logic."""

    def delete_many(self, object_name: str, record_ids: Sequence[str]) -> None:
        """Delete records of one object, all or nothing, as Salesforce does: the children of a
        master-detail relationship are deleted too, a lookup to a deleted record is cleared
        (or the delete is refused with DELETE_FAILED where the lookup says so), roll-ups are
        brought up to date. A record deleted before is OrgError(ENTITY_IS_DELETED) — for
        updates too —, an Id no record ever had INVALID_CROSS_REFERENCE_KEY.
        Also: a lookup that must keep a value (a required one) refuses like a restricting one;
        polymorphic lookups (WhatId...) keep their Ids; users cannot be deleted
        (DELETE_FAILED); an Id given twice is DUPLICATE_VALUE; a platform event INVALID_TYPE."""

    def insert(self, object_name: str, fields: Mapping[str, Any]) -> str:
        """Create a record; returns its 18-character Id. An `Id` in `fields` (15 or 18
        characters, of this object, not yet used) is kept instead of a generated one — fixtures
        rely on it. Generated Ids number each object's records 1, 2, 3... (`ids.make_id`) and
        skip Ids that are taken or were deleted. The store sets the system fields (CreatedDate,
        CreatedById, LastModifiedDate, LastModifiedById, SystemModstamp) from its clock and
        running user, an OwnerId left out to the running user, and auto-number fields. Refused:
        unknown fields (INVALID_FIELD), calculated, rolled-up, system and other read-only fields
        (INVALID_FIELD_FOR_INSERT_UPDATE), values that do not fit
        (INVALID_TYPE_ON_FIELD_IN_RECORD, STRING_TOO_LONG, NUMBER_OUTSIDE_VALID_RANGE,
        INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST), missing required fields
        (REQUIRED_FIELD_MISSING), a lookup to a record of another object
        (FIELD_INTEGRITY_EXCEPTION), to no record (INVALID_CROSS_REFERENCE_KEY) or to a deleted
        one (ENTITY_IS_DELETED), a used Id or a value a unique field already has
        (DUPLICATE_VALUE), a platform event (INVALID_TYPE: events are published, not stored)."""

    def insert_many(self, object_name: str, records: Sequence[Mapping[str, Any]], *,
                    set_audit_fields: bool = False) -> list[str]:
        """Create many records of one object at once; returns their Ids in input order.

        The same as `insert` for each record, all or nothing: every record is converted and
        checked before any is written, and a failure leaves the transaction as it was; errors
        name the record by its place (`[3] of the batch`). Records may refer to records of the
        same batch by their given Ids. Roll-ups of the parents are brought up to date once, at
        the end. A server backend does this with one multi-row INSERT (PostgreSQL:
        `INSERT ... SELECT FROM unnest(...)` or COPY) plus one update of the affected parents.
        With `set_audit_fields` the records may give CreatedDate, CreatedById, LastModifiedDate
        and LastModifiedById, as Salesforce's "Set Audit Fields upon Record Creation" permission
        allows (fixtures do); otherwise every system field is the store's to set."""

    def update(self, object_name: str, record_id: str, fields: Mapping[str, Any]) -> None:
        """Change stored fields of one record; calculated fields, and the roll-ups of its
        parents, are recomputed by the store, and LastModifiedDate, LastModifiedById and
        SystemModstamp set. OrgError(NOT_FOUND) when no record has the Id, ENTITY_IS_DELETED
        when its record was deleted; the value errors of `insert`."""

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
        """A nested savepoint: leaving the block by an exception undoes only what it wrote (the
        interpreter runs every action in one)."""

    hooks: list[SaveHook]
    """What runs around each write (`SaveHook`), in order; a caller may add its own."""

    def publish(self, event_name: str,
                events: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
        """Publish platform events of one event object (creating an event record does the
        same): checked like records, stamped (ReplayId, EventUuid, CreatedDate, CreatedById)
        and stored with the transaction — delivered once it commits, never if it rolls back
        (`flowengine.org.eventbus`). Returns them as `events` gives them."""

    def events(self, after: int = 0, names: Collection[str] | None = None,
               limit: int | None = None) -> list[dict[str, Any]]:
        """Published events after ReplayId `after`, in replay order: each its fields plus
        `event`, the event object's name."""

    def cursor(self, subscriber: str) -> int:
        """The last ReplayId a subscriber processed (0: none)."""

    def set_cursor(self, subscriber: str, replay_id: int) -> None:
        """Move a subscriber's cursor, with the transaction."""

    def log_interview(self, entry: Mapping[str, Any]) -> int:
        """Append an entry (JSON data) to the automation log; returns its number."""

    def interviews(self, after: int = 0, limit: int | None = None) -> list[dict[str, Any]]:
        """The automation log after entry `after`, oldest first (each with its `number`)."""

    def commit(self) -> None:
        """Make every write permanent, visible to others, and end the transaction (releasing
        its locks)."""

    def rollback(self) -> None:
        """Undo every write and end the transaction; does nothing once it has ended."""

    def __enter__(self) -> OrgTransaction: ...

    def __exit__(self, exc_type: type[BaseException] | None, *rest: object) -> None: ...


@runtime_checkable
class SaveHook(Protocol):
    """Runs around each write of a transaction (`OrgTransaction.hooks`), as the platform's
    order of execution does: plug-ins' platform behaviour (publishing the events Salesforce
    publishes) and, under automation, record-triggered flows. Rows are record dicts of every
    field. A hook that raises fails the write, which then changes nothing. A hook may also
    have `saves(object_name) -> bool`, False when its `before_save` and `after_save` do nothing
    for records of that object: the store then skips preparing their rows for it (bulk
    inserts)."""

    def before_save(self, tx: OrgTransaction, object_name: str,
                    changes: Sequence[tuple[dict[str, Any] | None, dict[str, Any]]]) -> None:
        """Before records are inserted (old row None) or updated: a hook may change the new
        rows' fields (they are then checked as written values are, and the required fields
        after them)."""

    def after_save(self, tx: OrgTransaction, object_name: str,
                   changes: Sequence[tuple[dict[str, Any] | None, dict[str, Any]]]) -> None:
        """After the rows are written (roll-ups up to date), inside the write's savepoint."""

    def before_delete(self, tx: OrgTransaction, object_name: str,
                      rows: Sequence[dict[str, Any]]) -> None:
        """Before records are deleted (their master-detail children are not passed)."""


Invariant = Callable[[OrgTransaction], list[str]]
"""A plug-in's consistency check: the violations it finds through a transaction (none: [])."""


@runtime_checkable
class OrgStore(Protocol):
    """An org database. Opening one (`flowengine.org.open_org`) creates it when asked to and
    migrates it to the schemas: objects and fields added since are created, and stored
    calculated and rolled-up values are recomputed when their definitions changed. The store
    holds the standard objects the schemas refer to and User too, gives every object
    Salesforce's system fields, and starts with a default running user
    (`flowengine.org.system`). Refuses broken schemas with OrgError(ORG_SCHEMA). Usable as a
    context manager that closes it."""

    @property
    def catalog(self) -> Catalog:
        """The objects the store holds, validated (`flowengine.org.catalog.Catalog`)."""

    @property
    def schemas(self) -> Mapping[str, ObjectSchema]:
        """Object name → schema, for every object the store holds."""

    save_hooks: tuple[SaveHook, ...]
    """Hooks every transaction of the store starts with (`OrgTransaction.hooks`)."""

    @property
    def invariants(self) -> tuple[Invariant, ...]:
        """The checks fixture loading runs before it commits (the plug-ins' by default)."""

    @property
    def location(self) -> str:
        """Names the store in messages: a file path, or a URL without its password."""

    running_user_id: str
    """The user that writes: CreatedById, LastModifiedById and a new record's OwnerId name it
    (`flowengine.org.system.DEFAULT_USER_ID`, the store's default user, unless set). Read when a
    transaction begins."""

    def begin(self, *, write: bool = True) -> OrgTransaction:
        """Open a transaction; interviews run in one each. A write transaction takes its locks
        as the isolation guarantee says (SQLite: the whole store, now, waiting for another
        writer up to the store's timeout, then OrgError(UNABLE_TO_LOCK_ROW)); `write=False`
        opens a read-only transaction whose writes raise OrgError(ORG_STORE)."""

    def wipe(self) -> None:
        """Delete every record and reset the Id counters, leaving an empty store that still
        follows the schemas."""

    def close(self) -> None:
        """Release the store's resources; transactions still open keep theirs until they end."""

    def __enter__(self) -> OrgStore: ...

    def __exit__(self, *exc: object) -> None: ...
