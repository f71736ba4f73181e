"""Backend-neutral reads and batched writes: everything an org transaction does but storing rows.

`BatchTransaction` implements `flowengine.org.base.OrgTransaction` on top of a few storage
primitives that a backend provides (SQLite's are in `flowengine.org.sqlite.transaction`):
`_select` (rows by field values), `_insert_rows`, `_update_rows` (changed columns only), the Id
counter (`_read_id_counter`, `_write_id_counter`), `savepoint`, `commit`, `rollback` and
`finished`. Everything else is decided here, once for every backend: converting and checking
written values, required fields, reference checks, calculated fields, roll-up upkeep (see
`flowengine.org.rollups`), the Id generation policy and all-or-nothing batches.

Every write call is one batch: all records are converted and checked first, then the rows are
written inside an internal savepoint, then the roll-ups and calculated fields of the affected
parents are brought up to date once. A failing call changes nothing, and no call returns with a
stale roll-up, so reads never need to wait for pending work.
"""
from __future__ import annotations

import types
from abc import ABC, abstractmethod
from collections.abc import Collection, Iterable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager, contextmanager
from typing import Any, Final

from flowengine.errors import OrgError
from flowengine.org import ids
from flowengine.org.catalog import Catalog, FieldError, ObjectInfo
from flowengine.org.rollups import PendingRollups, RollupIndex, RollupLink, child_totals, moved_total
from flowengine.org.schema import FieldDef
from flowengine.types import describe

__all__ = ["MAX_ROLLUP_DEPTH", "BatchTransaction", "Row"]

MAX_ROLLUP_DEPTH: Final = 32
Row = dict[str, Any]
Change = tuple[Row, Row]     # (old, new) values of one record
_MANY: Final = (list, tuple, set, frozenset)


class BatchTransaction(ABC):
    """The backend-neutral half of an org transaction (see the module docstring).

    A backend subclasses it and implements the storage primitives below; `catalog` and `rollups`
    describe the store's objects, `write` says whether writes are allowed. Used as a context
    manager it commits on success and rolls back on an exception."""

    def __init__(self, catalog: Catalog, rollups: RollupIndex, *, write: bool) -> None:
        self.catalog = catalog
        self.rollups = rollups
        self.write = write

    # -- storage primitives: what a backend implements -----------------------------------------

    @property
    @abstractmethod
    def finished(self) -> bool:
        """True once the transaction was committed or rolled back."""

    @abstractmethod
    def _select(self, info: ObjectInfo, where: Mapping[str, Sequence[Any]],
                columns: Sequence[str] | None = None) -> list[Row]:
        """The rows of `info`'s object whose every field in `where` has one of the listed values
        (already converted to the field's type; None matches null; no list is empty), as record
        dicts of `columns` (default: every column), in any order. No limit on the number of
        values. A server backend locks the rows it returns in a write transaction (see the
        isolation guarantee in `flowengine.org.base`)."""

    @abstractmethod
    def _insert_rows(self, info: ObjectInfo, rows: Sequence[Row]) -> None:
        """Store new records, each with every column of `info` (Ids are set and unused)."""

    @abstractmethod
    def _update_rows(self, info: ObjectInfo, columns: tuple[str, ...],
                     rows: Sequence[Row]) -> None:
        """Set `columns` of existing records to the values in `rows`, found by their Id."""

    @abstractmethod
    def _read_id_counter(self, info: ObjectInfo) -> int:
        """The next number to try for a generated Id of `info`'s object (1 at first)."""

    @abstractmethod
    def _write_id_counter(self, info: ObjectInfo, next_number: int) -> None:
        """Remember the next number to try; undone with the transaction or savepoint."""

    @abstractmethod
    def savepoint(self) -> AbstractContextManager[None]:
        """A nested savepoint: leaving the block by an exception undoes only what it wrote."""

    @abstractmethod
    def commit(self) -> None:
        """Make every write permanent and end the transaction."""

    @abstractmethod
    def rollback(self) -> None:
        """Undo every write and end the transaction (does nothing once it ended)."""

    # -- reads ---------------------------------------------------------------------------------

    def get(self, object_name: str, record_id: str) -> dict[str, Any] | None:
        """One record with all fields (calculated ones included), or None. Accepts 15- or
        18-character Ids; OrgError(INVALID_ID) for a malformed Id or one of another object."""
        self._check_open()
        info = self.catalog.object(object_name)
        record_id = self.catalog.convert_id(info, record_id)
        return self._fetch_rows(info, [record_id]).get(record_id)

    def query(self, object_name: str, where: Mapping[str, Any] | None = None,
              order_by: Sequence[str] = ("Id",)) -> list[dict[str, Any]]:
        """Records whose fields equal every value in `where` (a list value means IN, None means
        null), sorted by `order_by` (nulls first). Filter values are converted to the fields'
        types."""
        self._check_open()
        info = self.catalog.object(object_name)
        if where is not None and not isinstance(where, Mapping):
            raise OrgError(f"{info.name}: a query's `where` must map field names to values, "
                           f"found {describe(where)}", "INVALID_ARGUMENT")
        if isinstance(order_by, str) or not isinstance(order_by, Sequence):
            raise OrgError(f"{info.name}: a query's `order_by` must be a list of field names, "
                           f"found {describe(order_by)}", "INVALID_ARGUMENT")
        filters: dict[str, list[Any]] = {}
        for name, wanted in (where or {}).items():
            values = [self._filter_value(info, name, v)
                      for v in (wanted if isinstance(wanted, _MANY) else [wanted])]
            if not values:
                return []
            filters[name] = values
        sort_keys = [n if n == "Id" else info.field(n).name for n in order_by]
        records = self._select(info, filters)
        records.sort(key=lambda r: tuple((r[k] is not None, r[k]) for k in sort_keys))
        return records

    def _filter_value(self, info: ObjectInfo, name: str, value: Any) -> Any:
        if name == "Id":
            return self.catalog.convert_id(info, value)
        return self.catalog.convert(info, info.field(name), value)

    def _fetch_rows(self, info: ObjectInfo, record_ids: Collection[str]) -> dict[str, Row]:
        """Id → record for those of `record_ids` (18-character) that exist."""
        if not record_ids:
            return {}
        return {r["Id"]: r for r in self._select(info, {"Id": list(record_ids)})}

    def _existing_ids(self, info: ObjectInfo, record_ids: Collection[str]) -> set[str]:
        if not record_ids:
            return set()
        return {r["Id"] for r in self._select(info, {"Id": list(record_ids)}, ("Id",))}

    # -- writes --------------------------------------------------------------------------------

    def insert(self, object_name: str, fields: Mapping[str, Any]) -> str:
        """Create a record; returns its 18-character Id. An `Id` in `fields` (15 or 18
        characters, of this object) is used instead of a generated one (fixtures)."""
        return self._insert(self.catalog.object(object_name), [fields], batch=False)[0]

    def insert_many(self, object_name: str, records: Sequence[Mapping[str, Any]]) -> list[str]:
        """Create many records of one object, all or nothing; returns their Ids in input order.
        Errors name the record by its place in `records` (`[3] of the batch`)."""
        return self._insert(self.catalog.object(object_name), list(records), batch=True)

    def update(self, object_name: str, record_id: str, fields: Mapping[str, Any]) -> None:
        """Change stored fields of one record; calculated fields, and the roll-ups of its parents,
        are recomputed. OrgError(NOT_FOUND) when no such record exists."""
        self.update_many(object_name, {record_id: fields})

    def update_many(self, object_name: str, updates: Mapping[str, Mapping[str, Any]]) -> None:
        """Change stored fields of many records of one object (record Id → fields), all or
        nothing: every Id and value is checked before anything is written. The old rows are read
        with one `_select`, written with one `_update_rows` per set of changed columns, and each
        affected parent is brought up to date once. Errors name the record."""
        self._check_writable()
        info = self.catalog.object(object_name)
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
        missing = next((record_id for record_id in changes if record_id not in olds), None)
        if missing is not None:
            raise OrgError(f"no {info.name} record has Id {missing}", "NOT_FOUND")
        rows: list[Change] = []
        required = [f for f in info.stored if f.required]
        for record_id, values in changes.items():
            old = olds[record_id]
            new = {**old, **values}
            self._check_required(info, new, [f for f in required if f.name in values], record_id)
            self._calculate(info, new)
            rows.append((old, new))
        written = {name for values in changes.values() for name in values}
        with self._atomic():
            self._finish_batch(info, self._write_rows(info, rows, written))

    def recompute_all(self) -> None:
        """Recompute every stored roll-up and calculated field (a backend's migration calls it
        when the catalog's fingerprint changed): children before parents, so roll-ups see their
        children's current values."""
        for name in reversed(self.catalog.dependency_order()):
            info = self.catalog.objects[name]
            if not info.rollups and not info.calculated:
                continue
            olds = self._select(info, {})
            totals = self._totals(info, {f.name: None for f in info.rollups})
            rows = []
            for old in olds:
                new = self._with_totals(info, old, info.rollups, totals)
                self._calculate(info, new)
                rows.append((old, new))
            self._write_rows(info, rows)

    def __enter__(self) -> BatchTransaction:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, *rest: object) -> None:
        if exc_type is None and not self.finished:
            self.commit()
        else:
            self.rollback()

    # -- state ---------------------------------------------------------------------------------

    def _check_open(self) -> None:
        if self.finished:
            raise OrgError("the org transaction has already been committed or rolled back",
                           "ORG_STORE")

    def _check_writable(self) -> None:
        self._check_open()
        if not self.write:
            raise OrgError("this org transaction is read-only (begin(write=False))", "ORG_STORE")

    @contextmanager
    def _atomic(self) -> Iterator[None]:
        """One write call: all of it, or (on any failure) none of it."""
        with self.savepoint():
            yield

    # -- checking written values ---------------------------------------------------------------

    def _convert_fields(self, info: ObjectInfo, fields: Mapping[str, Any],
                        record: str | None) -> dict[str, Any]:
        """Written values converted to their fields' types; refuses unknown and computed fields.
        Whether referenced records exist is `_check_references`' job (one read per batch)."""
        if not isinstance(fields, Mapping):
            where = f" (record {record})" if record else ""
            raise OrgError(f"{info.name}: the fields of a record must be a mapping of field names "
                           f"to values, found {describe(fields)}{where}", "INVALID_ARGUMENT")
        values: dict[str, Any] = {}
        try:
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
                values[name] = self.catalog.convert(info, fdef, value)
        except FieldError as exc:
            raise (exc.of_record(record) if record else exc) from None
        return values

    def _check_references(self, info: ObjectInfo,
                          records: Sequence[tuple[str | None, Mapping[str, Any]]],
                          batch_ids: Iterable[str] = ()) -> None:
        """Every reference points at an existing record, or at a record of this batch (by its
        given Id). One read per referenced object; the first dangling one is reported."""
        same_batch = set(batch_ids)
        references = [(f.name, f.reference_to) for f in info.stored if f.reference_to is not None]
        wanted: dict[str, set[str]] = {}
        for _, values in records:
            for name, target_object in references:
                target = values.get(name)
                if target is not None and not (target_object == info.name
                                               and target in same_batch):
                    wanted.setdefault(target_object, set()).add(target)
        missing = {name: targets - self._existing_ids(self.catalog.objects[name], targets)
                   for name, targets in wanted.items()}
        if not any(missing.values()):
            return
        for record, values in records:
            for name, target_object in references:
                if values.get(name) in missing.get(target_object, ()):
                    raise FieldError(info.name, name, f"no {target_object} record has Id "
                                     f"{values[name]}", "INVALID_CROSS_REFERENCE_KEY", record)

    @staticmethod
    def _check_required(info: ObjectInfo, record: Mapping[str, Any],
                        fields: Iterable[FieldDef], label: str | None) -> None:
        for fdef in fields:
            if fdef.required and record.get(fdef.name) is None:
                raise FieldError(info.name, fdef.name, "is required, found no value",
                                 "REQUIRED_FIELD_MISSING", label)

    def _calculate(self, info: ObjectInfo, record: dict[str, Any]) -> None:
        """Fill calculated fields in declaration order: each sees the ones before it."""
        view = types.MappingProxyType(record)
        for fdef in info.calculated:
            assert fdef.calculated is not None
            try:
                value = fdef.calculated(view)
            except Exception as exc:
                raise FieldError(info.name, fdef.name, f"calculation failed for record "
                                 f"{record.get('Id')}: {type(exc).__name__}: {exc}",
                                 "CALCULATED_FIELD_ERROR") from exc
            try:
                record[fdef.name] = self.catalog.convert(info, fdef, value)
            except FieldError as exc:
                raise FieldError(info.name, fdef.name, f"calculated value: {exc.detail}",
                                 "CALCULATED_FIELD_ERROR") from None

    # -- inserting -----------------------------------------------------------------------------

    def _insert(self, info: ObjectInfo, records: list[Mapping[str, Any]], batch: bool) -> list[str]:
        self._check_writable()
        given: dict[str, int] = {}                         # given Id → index of its record
        prepared: list[tuple[str | None, Row]] = []        # (label for errors, record)
        for index, fields in enumerate(records):
            label = f"[{index}] of the batch" if batch else None
            values = self._convert_fields(info, fields, label)
            record_id = values.pop("Id", None)
            if record_id in given:
                raise FieldError(info.name, "Id", f"{record_id} is also given to record "
                                 f"[{given[record_id]}] of the batch", "DUPLICATE_VALUE", label)
            if record_id is not None:
                given[record_id] = index
            prepared.append((label, self._new_record(info, record_id, values, label)))
        if not prepared:
            return []
        self._check_references(info, prepared, given)
        taken = self._existing_ids(info, given)
        for label, record in prepared:
            if record["Id"] in taken:
                raise FieldError(info.name, "Id", f"{record['Id']} is already the Id of a record "
                                 "in the org", "DUPLICATE_VALUE", label)
        with self._atomic():
            fresh = iter(self._new_ids(info, sum(r["Id"] is None for _, r in prepared), given))
            rows = [record for _, record in prepared]
            for record in rows:
                if record["Id"] is None:
                    record["Id"] = next(fresh)
            if info.rollups:  # children that already point at a given Id count from the start
                totals = self._totals(info, {f.name: [r["Id"] for r in rows] for f in info.rollups})
                rows = [self._with_totals(info, r, info.rollups, totals) for r in rows]
            for record in rows:
                self._calculate(info, record)
            self._insert_rows(info, rows)
            self._finish_batch(info, [(None, r) for r in rows])
        return [r["Id"] for r in rows]

    def _new_record(self, info: ObjectInfo, record_id: str | None, values: Mapping[str, Any],
                    label: str | None) -> Row:
        """A record to insert: given values, defaults, computed fields still empty."""
        record: Row = {"Id": record_id}
        for fdef in info.schema.fields:
            if fdef.name in values:
                record[fdef.name] = values[fdef.name]
            elif fdef.default is not None and not fdef.is_computed:
                record[fdef.name] = self.catalog.convert(info, fdef, fdef.default)
            else:
                record[fdef.name] = None
        self._check_required(info, record, info.stored, label)
        return record

    def _new_ids(self, info: ObjectInfo, count: int, taken: Iterable[str]) -> list[str]:
        """`count` generated Ids, numbered on from the object's counter and skipping Ids in use
        or given in the batch: deterministic, so fixtures and tests can name them."""
        if not count:
            return []
        counter = self._read_id_counter(info)
        taken = set(taken)
        found: list[str] = []
        while len(found) < count:
            wanted = count - len(found)
            candidates = [ids.make_id(info.schema.key_prefix, n)
                          for n in range(counter, counter + wanted)]
            counter += wanted
            used = self._existing_ids(info, candidates) | taken
            found += [c for c in candidates if c not in used]
        self._write_id_counter(info, counter)
        return found

    # -- writing rows and keeping roll-ups current ---------------------------------------------

    def _write_rows(self, info: ObjectInfo, rows: Iterable[Change],
                    written: Iterable[str] = ()) -> list[Change]:
        """Write the changed columns of each row (one `_update_rows` per set of changed columns);
        returns the rows that changed. Only `written` fields and computed ones can differ."""
        candidates = set(written) | {f.name for f in info.schema.fields if f.is_computed}
        watched = [n for n in info.columns if n in candidates]
        groups: dict[tuple[str, ...], list[Row]] = {}
        changed: list[Change] = []
        for old, new in rows:
            columns = tuple(n for n in watched if old.get(n) != new.get(n))
            if columns:
                groups.setdefault(columns, []).append(new)
                changed.append((old, new))
        for columns, news in groups.items():
            self._update_rows(info, columns, news)
        return changed

    def _finish_batch(self, info: ObjectInfo, changed: Iterable[tuple[Row | None, Row]]) -> None:
        """Bring the roll-ups of every parent the changes (old row, or None for an insert; new
        row) affect up to date, level by level: a parent's change can move its own parents'."""
        pending = PendingRollups(self.rollups)
        pending.note(info.name, changed)
        depth = 0
        while pending:
            depth += 1
            if depth > MAX_ROLLUP_DEPTH:
                raise OrgError(f"roll-ups of {', '.join(pending.work)} nest deeper than "
                               f"{MAX_ROLLUP_DEPTH} levels (a cycle in the schemas?)", "ORG_SCHEMA")
            following = PendingRollups(self.rollups)
            for parent_name, work in pending.work.items():
                parent = self.catalog.objects[parent_name]
                following.note(parent_name, self._write_rows(parent, self._rolled_up(parent, work)))
            pending = following

    def _rolled_up(self, info: ObjectInfo, work: Mapping[str, Mapping[str, Any]]) -> list[Change]:
        """The parents in `work` (Id → field → change, None to recompute) with new roll-ups and
        calculated fields."""
        olds = self._fetch_rows(info, work)
        values: dict[tuple[str, str], Any] = {}
        recompute: dict[str, list[str]] = {}
        for parent_id, old in olds.items():
            for name, change in work[parent_id].items():
                total = moved_total(old.get(name), change)
                if total is None:
                    recompute.setdefault(name, []).append(parent_id)
                else:
                    values[(parent_id, name)] = total
        values.update(self._totals(info, recompute))
        links = self.rollups.of_parent(info.name)
        rows: list[Change] = []
        for parent_id, old in olds.items():
            new = self._with_totals(info, old, [links[n].field for n in work[parent_id]], values)
            self._calculate(info, new)
            rows.append((old, new))
        return rows

    def _with_totals(self, info: ObjectInfo, record: Row, fields: Iterable[FieldDef],
                     totals: Mapping[tuple[str, str], Any]) -> Row:
        new = dict(record)
        for fdef in fields:
            total = totals.get((record["Id"], fdef.name), 0)
            new[fdef.name] = self.catalog.convert(info, fdef, total)
        return new

    def _totals(self, info: ObjectInfo, wanted: Mapping[str, Sequence[str] | None]
                ) -> dict[tuple[str, str], Any]:
        """(parent Id, field) → roll-up value computed from the children, for the roll-up fields
        in `wanted` (field → parent Ids, None for every parent). One read per child object and
        foreign key; absent pairs have no counted children (value 0). Other fields and parents
        read by the same query come along: their values are as true."""
        links = self.rollups.of_parent(info.name)
        groups: dict[tuple[str, str], list[RollupLink]] = {}
        for name in wanted:
            groups.setdefault((links[name].child, links[name].foreign_key), []).append(links[name])
        totals: dict[tuple[str, str], Any] = {}
        for (child_name, foreign_key), group in groups.items():
            columns = sorted({n for link in group for n in link.relevant})
            parents = [wanted[link.field.name] for link in group]
            if any(ids_ is None for ids_ in parents):
                where = {}
            else:
                parent_ids = list(dict.fromkeys(pid for ids_ in parents for pid in ids_ or ()))
                if not parent_ids:
                    continue
                where = {foreign_key: parent_ids}
            rows = self._select(self.catalog.objects[child_name], where, columns)
            totals.update(child_totals(group, rows))
        return totals
