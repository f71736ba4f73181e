"""Backend-neutral reads and batched writes: everything an org transaction does but storing rows.

`BatchTransaction` implements `flowengine.org.base.OrgTransaction` on top of the storage
primitives of `flowengine.org.storage.StorageTransaction`, which a backend provides (SQLite's
are in `flowengine.org.sqlite.transaction`). Everything else is decided here, once for every
backend: queries (`flowengine.org.query` checks them; the backend runs them), converting and
checking written values (`flowengine.org.checks`), system fields and auto-numbers
(`flowengine.org.system`), calculated fields and roll-ups (`flowengine.org.upkeep`), deletes
(`flowengine.org.deletes`), the Id generation policy and all-or-nothing batches.

Every write call is one batch: all records are converted and checked first, then the rows are
written inside an internal savepoint, then the roll-ups and calculated fields of the affected
parents are brought up to date once. A failing call changes nothing, and no call returns with a
stale roll-up, so reads never need to wait for pending work.
"""
from __future__ import annotations

import datetime as _dt
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Final

from flowengine.errors import OrgError
from flowengine.org import ids
from flowengine.org.catalog import FieldError, ObjectInfo
from flowengine.org.checks import WriteChecks
from flowengine.org.deletes import DeleteMixin
from flowengine.org.eventbus import EventBusMixin
from flowengine.org.query import RecordFilter, Sort, plan_select
from flowengine.org.storage import Row, StorageTransaction
from flowengine.org.system import BOOTSTRAP, AutoNumber
from flowengine.org.upkeep import MAX_ROLLUP_DEPTH, Change
from flowengine.types import describe

__all__ = ["MAX_ROLLUP_DEPTH", "BatchTransaction", "Row", "StorageTransaction"]

_MANY: Final = (list, tuple, set, frozenset)
_CREATED: Final = ("CreatedDate", "CreatedById")
_MODIFIED: Final = ("LastModifiedDate", "LastModifiedById", "SystemModstamp")


class BatchTransaction(DeleteMixin, WriteChecks, EventBusMixin):
    """The backend-neutral half of an org transaction (see the module docstring).

    A backend subclasses it and implements the storage primitives of `StorageTransaction`;
    `catalog` and `rollups` describe the store's objects, `write` says whether writes are
    allowed, `clock` and `user_id` fill the system fields. Used as a context manager it commits
    on success and rolls back on an exception."""

    # -- reads ---------------------------------------------------------------------------------

    def get(self, object_name: str, record_id: str) -> dict[str, Any] | None:
        """One record with all fields (calculated ones included), or None. Accepts 15- or
        18-character Ids; OrgError(INVALID_ID) for a malformed Id or one of another object."""
        self._check_open()
        info = self._stored_object(object_name, "queried")
        record_id = self.catalog.convert_id(info, record_id)
        return self._fetch_rows(info, [record_id]).get(record_id)

    def select(self, object_name: str, filters: Sequence[RecordFilter] = (), logic: str = "and",
               order_by: Sequence[Sort] = (), limit: int | None = None,
               fields: Sequence[str] | None = None) -> list[dict[str, Any]]:
        """The records matching `filters` joined by `logic`, sorted by `order_by` then Id, at
        most `limit`, with `fields` only (and Id): one query in the database (see
        `flowengine.org.query` for how values compare)."""
        self._check_open()
        info = self._stored_object(object_name, "queried")
        return self._run_plan(plan_select(info, filters, logic, order_by, limit, fields))

    def query(self, object_name: str, where: Mapping[str, Any] | None = None,
              order_by: Sequence[str] = ("Id",)) -> list[dict[str, Any]]:
        """Records whose fields equal every value in `where` (a list value means IN, None means
        null), sorted by `order_by` (nulls first): `select` with In filters."""
        self._check_open()
        info = self._stored_object(object_name, "queried")
        if where is not None and not isinstance(where, Mapping):
            raise OrgError(f"{info.name}: a query's `where` must map field names to values, "
                           f"found {describe(where)}", "INVALID_ARGUMENT")
        if isinstance(order_by, str) or not isinstance(order_by, Sequence):
            raise OrgError(f"{info.name}: a query's `order_by` must be a list of field names, "
                           f"found {describe(order_by)}", "INVALID_ARGUMENT")
        filters = [RecordFilter(name, "In", list(v) if isinstance(v, _MANY) else [v])
                   for name, v in (where or {}).items()]
        return self.select(info.name, filters, order_by=[Sort(name) for name in order_by])

    # -- writes --------------------------------------------------------------------------------

    def insert(self, object_name: str, fields: Mapping[str, Any]) -> str:
        """Create a record; returns its 18-character Id. An `Id` in `fields` (15 or 18
        characters, of this object) is used instead of a generated one (fixtures). Creating
        a platform event publishes it (`publish`)."""
        if self.catalog.object(object_name).schema.is_event:
            return self.insert_many(object_name, [fields])[0]
        return self._insert(self._stored_object(object_name, "inserted"), [fields],
                            batch=False)[0]

    def insert_many(self, object_name: str, records: Sequence[Mapping[str, Any]], *,
                    set_audit_fields: bool = False) -> list[str]:
        """Create many records of one object, all or nothing; returns their Ids in input order.
        Errors name the record by its place in `records` (`[3] of the batch`). With
        `set_audit_fields` the records may give CreatedDate, CreatedById, LastModifiedDate and
        LastModifiedById (fixtures: Salesforce's "Set Audit Fields upon Record Creation")."""
        if self.catalog.object(object_name).schema.is_event:
            return [self.event_id(e) for e in self.publish(object_name, list(records))]
        return self._insert(self._stored_object(object_name, "inserted"), list(records),
                            batch=True, audit=set_audit_fields)

    def insert_converted(self, object_name: str, records: Sequence[Mapping[str, Any]], *,
                         set_audit_fields: bool = False) -> list[str]:
        """`insert_many` for records whose values are converted already, each by the functions
        of `catalog.converters(info, set_audit_fields)` and its Id by `catalog.convert_id`
        (what a fixture does as it reads them, to link references): they are not converted
        again. Every other check is made as `insert_many` makes it."""
        if self.catalog.object(object_name).schema.is_event:
            return self.insert_many(object_name, records, set_audit_fields=set_audit_fields)
        return self._insert(self._stored_object(object_name, "inserted"), list(records),
                            batch=True, audit=set_audit_fields, converted=True)

    def update(self, object_name: str, record_id: str, fields: Mapping[str, Any]) -> None:
        """Change stored fields of one record; calculated fields, and the roll-ups of its parents,
        are recomputed. OrgError(NOT_FOUND) when no such record exists, ENTITY_IS_DELETED when
        it was deleted."""
        self.update_many(object_name, {record_id: fields})

    def update_many(self, object_name: str, updates: Mapping[str, Mapping[str, Any]]) -> None:
        """Change stored fields of many records of one object (record Id → fields), all or
        nothing: every Id and value is checked before anything is written. The old rows are read
        with one `_select`, written with one `_update_rows` per set of changed columns, and each
        affected parent is brought up to date once. Errors name the record."""
        self._check_writable()
        info = self._stored_object(object_name, "updated")
        if not isinstance(updates, Mapping):
            raise OrgError(f"{info.name}: updates must map record Ids to fields, found "
                           f"{describe(updates)}", "INVALID_ARGUMENT")
        changes: dict[str, dict[str, Any]] = {}
        for given_id, fields in updates.items():  # every check before any write
            record_id = self.catalog.convert_id(info, given_id)
            if record_id in changes:
                raise OrgError(f"{info.name} record {record_id} is updated twice in one batch "
                               f"(the second time as {given_id!r}); merge its fields",
                               "DUPLICATE_VALUE")
            values = self._convert_fields(info, fields, record_id)
            if values.pop("Id", record_id) != record_id:
                raise FieldError(info.name, "Id", "the Id of a record cannot be changed",
                                 "INVALID_FIELD_FOR_INSERT_UPDATE", record_id)
            changes[record_id] = values
        if not changes:
            return
        self._check_references(info, list(changes.items()))
        olds = self._fetch_rows(info, changes)
        missing = [record_id for record_id in changes if record_id not in olds]
        if missing:
            if missing[0] in self._deleted_ids(missing[:1]):
                raise OrgError(f"{info.name} record {missing[0]} was deleted: entity is deleted",
                               "ENTITY_IS_DELETED")
            raise OrgError(f"no {info.name} record has Id {missing[0]}", "NOT_FOUND")
        self._check_unique(info, list(changes.items()), info.unique, changes)
        stamp = self._modified_stamp(info)
        rows: list[Change] = []
        required = [f for f in info.stored if f.required]
        for record_id, values in changes.items():
            old = olds[record_id]
            new = {**old, **values, **stamp}
            if not self.hooks:
                self._check_required(info, new, [f for f in required if f.name in values],
                                     record_id)
            rows.append((old, new))
        if self.hooks:
            self._before_save(info, [(new["Id"], old, new) for old, new in rows])
        for _, new in rows:
            self._calculate(info, new)
        written = {name for values in changes.values() for name in values} | set(stamp)
        if self.hooks:       # and what the hooks changed
            written |= {k for old, new in rows for k in new if old.get(k) != new.get(k)}
        with self._atomic():
            changed = self._write_rows(info, rows, written)
            self._finish_batch(info, changed)
            if self.hooks:
                self._after_save(info, rows)

    def create_default_records(self) -> None:
        """Create the records every store starts with — the running user and its profile —
        with the fields their objects have (a backend calls it once, on a new store)."""
        for object_name, record in BOOTSTRAP:
            info = self.catalog.objects.get(object_name)
            if info is not None and not self._existing_ids(info, [record["Id"]]):
                # the profile names its creator, the user its profile: each refers to the other
                self._insert(info, [{k: v for k, v in record.items() if k in info.columns}],
                             batch=False, trusted=True)

    # -- inserting -----------------------------------------------------------------------------

    def _insert(self, info: ObjectInfo, records: list[Mapping[str, Any]], batch: bool,
                audit: bool = False, trusted: bool = False, converted: bool = False) -> list[str]:
        self._check_writable()
        now = self.clock()
        hooks = self._saving(info)
        base = self._record_base(info, now)
        given: dict[str, int] = {}                         # given Id → index of its record
        prepared: list[tuple[str | None, Row]] = []        # (label for errors, record)
        for index, fields in enumerate(records):
            label = f"[{index}] of the batch" if batch else None
            values: Mapping[str, Any]
            if converted:    # the caller's dict, left as it is: its Id goes in with the values
                values = fields
                record_id = fields.get("Id")
            else:
                values = self._convert_fields(info, fields, label, audit=audit)
                record_id = values.pop("Id", None)
            if record_id in given:
                raise FieldError(info.name, "Id", f"{record_id} is also given to record "
                                 f"[{given[record_id]}] of the batch", "DUPLICATE_VALUE", label)
            if record_id is not None:
                given[record_id] = index
            prepared.append((label, self._new_record(info, record_id, values, label, now,
                                                     check=not self.hooks, base=base)))
        if not prepared:
            return []
        if hooks:
            self._before_save(info, [(label, None, row) for label, row in prepared], hooks)
        elif self.hooks:     # none saves this object: required fields checked where they would
            required = [f for f in info.stored if f.required]
            for label, row in prepared:
                self._check_required(info, row, required, label)
        if not trusted:
            self._check_references(info, prepared, given)
        self._check_given_ids(info, prepared, given)
        self._check_unique(info, prepared, info.unique)
        with self._atomic():
            fresh = iter(self._new_ids(info, sum(r["Id"] is None for _, r in prepared), given))
            rows = [record for _, record in prepared]
            for record in rows:
                if record["Id"] is None:
                    record["Id"] = next(fresh)
            for fdef in info.auto_numbers:
                self._number(info, fdef.name, fdef.default, rows, now)
            if info.rollups:  # children that already point at a given Id count from the start
                totals = self._totals(info, {f.name: [r["Id"] for r in rows] for f in info.rollups})
                rows = [self._with_totals(info, r, info.rollups, totals) for r in rows]
            if info.calculated:
                for record in rows:
                    self._calculate(info, record)
            self._insert_rows(info, rows)
            self._finish_batch(info, [(None, r) for r in rows])
            if hooks:
                self._after_save(info, [(None, r) for r in rows], hooks)  # type: ignore[misc]
        return [r["Id"] for r in rows]

    def _check_given_ids(self, info: ObjectInfo, prepared: list[tuple[str | None, Row]],
                         given: Mapping[str, int]) -> None:
        if not given:
            return
        taken = self._existing_ids(info, given)
        deleted = self._deleted_ids(set(given) - taken)
        for label, record in prepared:
            if record["Id"] in taken:
                raise FieldError(info.name, "Id", f"{record['Id']} is already the Id of a record "
                                 "in the org", "DUPLICATE_VALUE", label)
            if record["Id"] in deleted:
                raise FieldError(info.name, "Id", f"{record['Id']} is the Id of a deleted "
                                 "record (Ids are never used again)", "ENTITY_IS_DELETED", label)

    def _new_record(self, info: ObjectInfo, record_id: str | None, values: Mapping[str, Any],
                    label: str | None, now: _dt.datetime, check: bool = True,
                    base: Row | None = None) -> Row:
        """A record to insert: given values, defaults and system fields; computed fields and
        auto-numbers still empty. `base`: `_record_base(info, now)`, when the caller has it."""
        record: Row = dict(self._record_base(info, now) if base is None else base)
        record["Id"] = record_id
        record.update(values)
        if check:
            self._check_required(info, record, self.catalog.new_record(info).required, label)
        return record

    def _record_base(self, info: ObjectInfo, now: _dt.datetime) -> Row:
        """Every field of a new record of `info`'s object with its default, the running user
        and the time `now` in the system fields that take them, Id None."""
        plan = self.catalog.new_record(info)
        record: Row = dict(plan.start)
        record["Id"] = None
        for name in plan.user_fields:
            record[name] = self.user_id
        for name in plan.time_fields:
            record[name] = now
        return record

    # -- save hooks ----------------------------------------------------------------------------

    def _saving(self, info: ObjectInfo) -> list[Any]:
        """The hooks that act when records of `info`'s object are saved: a hook with a
        `saves(object_name)` method that says False for it does nothing on its saves, and is
        left out (its records need no copy to compare with)."""
        return [hook for hook in self.hooks
                if getattr(hook, "saves", None) is None or hook.saves(info.name)]

    def _before_save(self, info: ObjectInfo, rows: list[tuple[str | None, Row | None, Row]],
                     hooks: Sequence[Any] | None = None) -> None:
        """Run the hooks (default: all of them) before records are saved (label, old row or
        None, new row): they may change the new rows' fields, which are then checked as written
        values are, and the required fields after them (Salesforce checks required fields after
        before-save flows)."""
        before = [dict(new) for _, _, new in rows]
        for hook in self.hooks if hooks is None else hooks:
            hook.before_save(self, info.name, [(old, new) for _, old, new in rows])
        required = [f for f in info.stored if f.required]
        for (label, _, new), old_new in zip(rows, before):
            # an unchanged record (the common case) is told in one comparison; the values
            # compared are the store's own, which all equal themselves
            if new != old_new:
                changed = {k: v for k, v in new.items() if old_new.get(k) != v}
                if changed:
                    new.update(self._convert_fields(info, changed, label))
            self._check_required(info, new, required, label)

    def _after_save(self, info: ObjectInfo, changes: list[Change],
                    hooks: Sequence[Any] | None = None) -> None:
        """Run the hooks (default: all of them) after records were saved, inside the write's
        savepoint: a hook that fails undoes the write."""
        for hook in self.hooks if hooks is None else hooks:
            hook.after_save(self, info.name, changes)

    def _modified_stamp(self, info: ObjectInfo) -> dict[str, Any]:
        """The system fields an update sets: when, and by whom."""
        if "SystemModstamp" not in info.by_name:
            return {}
        now = self.clock()
        return {"LastModifiedDate": now, "LastModifiedById": self.user_id, "SystemModstamp": now}

    def _number(self, info: ObjectInfo, name: str, auto: AutoNumber, rows: list[Row],
                now: _dt.datetime) -> None:
        """Number the new records' auto-number field, in batch order."""
        first = self._take_numbers(f"{info.name}.{name}", len(rows))
        for offset, record in enumerate(rows):
            record[name] = auto.format(first + offset, now)

    def _new_ids(self, info: ObjectInfo, count: int, taken: Iterable[str]) -> list[str]:
        """`count` generated Ids, numbered on from the object's counter and skipping Ids in use,
        given in the batch, or of deleted records: deterministic, so fixtures and tests can name
        them."""
        if not count:
            return []
        taken = set(taken)
        found: list[str] = []
        while len(found) < count:
            wanted = count - len(found)
            first = self._take_numbers(info.schema.key_prefix, wanted)
            candidates = ids.make_ids(info.schema.key_prefix, first, wanted)
            used = self._taken_ids(info, candidates) | taken
            found += [c for c in candidates if c not in used]
        return found
