"""A transaction on the SQLite org store: reads, batched writes, savepoints.

Every write call is one batch (see `flowengine.org.rollups`): all records are converted and
checked first, then the rows are written with `executemany` inside an internal savepoint, then
the roll-ups and calculated fields of the affected parents are brought up to date once. A failing
call changes nothing, and no call returns with a stale roll-up, so reads never need to wait for
pending work.
"""
from __future__ import annotations

import sqlite3
import types
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, Final, Iterable, Iterator, Mapping, Sequence

from flowengine.errors import OrgError
from flowengine.org import ids
from flowengine.org.fields import FieldError, ObjectInfo
from flowengine.org.migrate import ID_COUNTERS
from flowengine.org.rollups import PendingRollups, RollupLink, child_totals, moved_total
from flowengine.org.schema import FieldDef
from flowengine.types import describe

if TYPE_CHECKING:
    from flowengine.org.sqlite import SqliteOrgStore

__all__ = ["MAX_ROLLUP_DEPTH", "SqliteTransaction"]

MAX_ROLLUP_DEPTH: Final = 32
IN_CHUNK: Final = 500        # Ids per `IN (...)`: well under SQLite's variable limit
Row = dict[str, Any]
Change = tuple[Row, Row]     # (old, new) values of one record


_IN_CHUNK = 500      # values per IN (...) list; SQLite allows 32,766 variables a statement

class SqliteTransaction:
    """One open transaction on a `SqliteOrgStore` (implements `OrgTransaction`).

    Use it as a context manager to commit on success and roll back on an exception. Reads see
    the transaction's own writes. After `commit()` or `rollback()` it cannot be used again
    (`rollback()` of a finished transaction does nothing)."""

    def __init__(self, store: SqliteOrgStore, conn: sqlite3.Connection, write: bool) -> None:
        self.store = store
        self.catalog = store.catalog
        self._conn: sqlite3.Connection | None = conn
        self._write = write
        self._savepoints = 0

    # -- OrgTransaction: reads -----------------------------------------------------------------

    def get(self, object_name: str, record_id: str) -> dict[str, Any] | None:
        """One record with all fields (calculated ones included), or None. Accepts 15- or
        18-character Ids; OrgError(INVALID_ID) for a malformed Id or one of another object."""
        info = self.catalog.object(object_name)
        record_id = self.catalog.convert_id(info, record_id)
        return self._fetch_many(info, [record_id]).get(record_id)

    def query(self, object_name: str, where: Mapping[str, Any] | None = None,
              order_by: Sequence[str] = ("Id",)) -> list[dict[str, Any]]:
        """Records whose fields equal every value in `where` (a list value means IN, None means
        null), sorted by `order_by` (nulls first). Filter values are converted to the field's type."""
        info = self.catalog.object(object_name)
        long_lists = [(n, v) for n, v in (where or {}).items()
                      if isinstance(v, (list, tuple, set, frozenset)) and len(v) > _IN_CHUNK]
        if long_lists:  # SQLite limits the variables of one statement: ask in chunks
            name, wanted = long_lists[0]
            wanted = list(wanted)
            found: dict[str, dict[str, Any]] = {}
            for start in range(0, len(wanted), _IN_CHUNK):
                chunk_where = dict(where or {}, **{name: wanted[start:start + _IN_CHUNK]})
                found.update((r["Id"], r) for r in self.query(object_name, chunk_where, order_by))
            records = list(found.values())
            sort_keys = [n if n == "Id" else info.field(n).name for n in order_by]
            records.sort(key=lambda r: tuple((r[k] is not None, r[k]) for k in sort_keys))
            return records
        clauses, params, checks = [], [], []
        for name, wanted in (where or {}).items():
            many = isinstance(wanted, (list, tuple, set, frozenset))
            values = [self._filter_value(info, name, v) for v in (wanted if many else [wanted])]
            if not values:
                return []
            kind = "Text" if name == "Id" else info.field(name).type.kind
            if kind in ("Number", "Currency"):  # stored as exact text: compare as numbers
                checks.append((name, values))
                continue
            present = [info.encoders[name](v) for v in values if v is not None]
            parts = [f'"{name}" IN ({", ".join("?" * len(present))})'] if present else []
            if len(present) < len(values):
                parts.append(f'"{name}" IS NULL')
            clauses.append("(" + " OR ".join(parts) + ")")
            params += present
        sort_keys = [n if n == "Id" else info.field(n).name for n in order_by]
        sql = f'SELECT * FROM "{info.name}"' + (" WHERE " + " AND ".join(clauses) if clauses else "")
        records = self._decode_all(info, self._sql(sql, params))
        records = [r for r in records if all(r[n] in vs for n, vs in checks)]
        records.sort(key=lambda r: tuple((r[k] is not None, r[k]) for k in sort_keys))
        return records

    # -- OrgTransaction: writes ----------------------------------------------------------------

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
        with IN queries, written with one `executemany` per set of changed columns, and each
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
        self._check_references(info, [(record_id, values) for record_id, values in changes.items()])
        olds = self._fetch_many(info, changes)
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

    def __enter__(self) -> SqliteTransaction:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, *rest: object) -> None:
        if exc_type is None and self._conn is not None:
            self.commit()
        else:
            self.rollback()

    def recompute_all(self) -> None:
        """Recompute every stored roll-up and calculated field (after the schemas changed):
        children before parents, so roll-ups see their children's current values."""
        for name in reversed(self.catalog.dependency_order()):
            info = self.catalog.objects[name]
            if not info.rollups and not info.calculated:
                continue
            olds = self._decode_all(info, self._sql(f'SELECT * FROM "{name}"'))
            totals = self._totals(info, {f.name: None for f in info.rollups})
            rows = []
            for old in olds:
                new = self._with_totals(info, old, info.rollups, totals)
                self._calculate(info, new)
                rows.append((old, new))
            self._write_rows(info, rows)

    # -- connection ----------------------------------------------------------------------------

    def _sql(self, sql: str, params: Sequence[Any] = ()) -> sqlite3.Cursor:
        conn = self._check_open()
        try:
            return conn.execute(sql, params)
        except sqlite3.Error as exc:
            raise self.store.error(exc) from None

    def _sql_many(self, sql: str, rows: Iterable[Sequence[Any]]) -> None:
        conn = self._check_open()
        try:
            conn.executemany(sql, rows)
        except sqlite3.Error as exc:
            raise self.store.error(exc) from None

    def _check_open(self) -> sqlite3.Connection:
        if self._conn is None:
            raise OrgError("the org transaction has already been committed or rolled back",
                           "ORG_STORE")
        return self._conn

    def _check_writable(self) -> None:
        self._check_open()
        if not self._write:
            raise OrgError("this org transaction is read-only (begin(write=False))", "ORG_STORE")

    def _finish(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            self.store._release(conn)

    @contextmanager
    def _atomic(self) -> Iterator[None]:
        """One write call: all of it, or (on any failure) none of it."""
        with self.savepoint():
            yield

    # -- reading rows --------------------------------------------------------------------------

    @staticmethod
    def _decode_all(info: ObjectInfo, cursor: sqlite3.Cursor) -> list[Row]:
        decode = info.row_decoder([d[0] for d in cursor.description])
        return [decode(row) for row in cursor.fetchall()]

    def _fetch_many(self, info: ObjectInfo, record_ids: Iterable[str]) -> dict[str, Row]:
        """Id → record for those of `record_ids` (18-character) that exist."""
        found: dict[str, Row] = {}
        for chunk in _chunks(record_ids):
            cursor = self._sql(f'SELECT * FROM "{info.name}" WHERE "Id" IN '
                               f'({", ".join("?" * len(chunk))})', chunk)
            found.update((r["Id"], r) for r in self._decode_all(info, cursor))
        return found

    def _existing_ids(self, object_name: str, record_ids: Iterable[str]) -> set[str]:
        found: set[str] = set()
        for chunk in _chunks(record_ids):
            found.update(r[0] for r in self._sql(
                f'SELECT "Id" FROM "{object_name}" WHERE "Id" IN ({", ".join("?" * len(chunk))})',
                chunk))
        return found

    def _filter_value(self, info: ObjectInfo, name: str, value: Any) -> Any:
        if name == "Id":
            return self.catalog.convert_id(info, value)
        return self.catalog.convert(info, info.field(name), value)

    # -- checking written values ---------------------------------------------------------------

    def _convert_fields(self, info: ObjectInfo, fields: Mapping[str, Any],
                        record: str | None) -> dict[str, Any]:
        """Written values converted to their fields' types; refuses unknown and computed fields.
        Whether referenced records exist is `_check_references`' job (one query per batch)."""
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
        given Id). One IN query per referenced object; the first dangling one is reported."""
        same_batch = set(batch_ids)
        references = [(f.name, f.reference_to) for f in info.stored if f.reference_to is not None]
        wanted: dict[str, set[str]] = {}
        for _, values in records:
            for name, target_object in references:
                target = values.get(name)
                if target is not None and not (target_object == info.name
                                               and target in same_batch):
                    wanted.setdefault(target_object, set()).add(target)  # type: ignore[arg-type]
        missing = {name: targets - self._existing_ids(name, targets)
                   for name, targets in wanted.items()}
        if not any(missing.values()):
            return
        for record, values in records:
            for name, target_object in references:
                if values.get(name) in missing.get(target_object, ()):  # type: ignore[arg-type]
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
            except Exception as exc:  # noqa: BLE001 - a plug-in bug must not crash the store
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
        taken = self._existing_ids(info.name, given)
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
            columns = info.columns
            self._sql_many(f'INSERT INTO "{info.name}" ({_quoted(columns)}) '
                           f'VALUES ({", ".join("?" * len(columns))})',
                           (_encode(info, r, columns) for r in rows))
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
        """`count` generated Ids, skipping Ids in use or given in the batch."""
        if not count:
            return []
        prefix = info.schema.key_prefix
        row = self._sql(f"SELECT next FROM {ID_COUNTERS} WHERE key_prefix = ?", (prefix,)).fetchone()
        counter = row[0] if row else 1
        taken = set(taken)
        found: list[str] = []
        while len(found) < count:
            wanted = count - len(found)
            candidates = [ids.make_id(prefix, n) for n in range(counter, counter + wanted)]
            counter += wanted
            used = self._existing_ids(info.name, candidates) | taken
            found += [c for c in candidates if c not in used]
        self._sql(f"INSERT OR REPLACE INTO {ID_COUNTERS} (key_prefix, next) VALUES (?, ?)",
                  (prefix, counter))
        return found

    # -- writing rows and keeping roll-ups current ---------------------------------------------

    def _write_rows(self, info: ObjectInfo, rows: Iterable[Change],
                    written: Iterable[str] = ()) -> list[Change]:
        """Write the changed columns of each row (one `executemany` per set of changed columns);
        returns the rows that changed. Only `written` fields and computed ones can differ."""
        candidates = set(written) | {f.name for f in info.schema.fields if f.is_computed}
        watched = [n for n in info.columns if n in candidates]
        groups: dict[tuple[str, ...], list[list[Any]]] = {}
        changed: list[Change] = []
        for old, new in rows:
            columns = tuple(n for n in watched if old.get(n) != new.get(n))
            if columns:
                groups.setdefault(columns, []).append([*_encode(info, new, columns), new["Id"]])
                changed.append((old, new))
        for columns, params in groups.items():
            assignments = ", ".join(f'"{n}" = ?' for n in columns)
            self._sql_many(f'UPDATE "{info.name}" SET {assignments} WHERE "Id" = ?', params)
        return changed

    def _finish_batch(self, info: ObjectInfo, changed: Iterable[tuple[Row | None, Row]]) -> None:
        """Bring the roll-ups of every parent the changes (old row, or None for an insert; new
        row) affect up to date, level by level: a parent's change can move its own parents'."""
        pending = PendingRollups(self.store.rollups)
        pending.note(info.name, changed)
        depth = 0
        while pending:
            depth += 1
            if depth > MAX_ROLLUP_DEPTH:
                raise OrgError(f"roll-ups of {', '.join(pending.work)} nest deeper than "
                               f"{MAX_ROLLUP_DEPTH} levels (a cycle in the schemas?)", "ORG_SCHEMA")
            following = PendingRollups(self.store.rollups)
            for parent_name, work in pending.work.items():
                parent = self.catalog.objects[parent_name]
                following.note(parent_name, self._write_rows(parent, self._rolled_up(parent, work)))
            pending = following

    def _rolled_up(self, info: ObjectInfo, work: Mapping[str, Mapping[str, Any]]) -> list[Change]:
        """The parents in `work` (Id → field → change, None to recompute) with new roll-ups and
        calculated fields."""
        olds = self._fetch_many(info, work)
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
        links = self.store.rollups.of_parent(info.name)
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
        in `wanted` (field → parent Ids, None for every parent). One query per child object and
        foreign key (per chunk of parents); absent pairs have no counted children (value 0).
        Other fields and parents read by the same query come along: their values are as true."""
        links = self.store.rollups.of_parent(info.name)
        groups: dict[tuple[str, str], list[RollupLink]] = {}
        for name in wanted:
            groups.setdefault((links[name].child, links[name].foreign_key), []).append(links[name])
        totals: dict[tuple[str, str], Any] = {}
        for (child_name, foreign_key), group in groups.items():
            child = self.catalog.objects[child_name]
            columns = sorted({n for link in group for n in link.relevant})
            select = f'SELECT {_quoted(columns)} FROM "{child_name}"'
            parents = [wanted[link.field.name] for link in group]
            if any(ids_ is None for ids_ in parents):
                totals.update(child_totals(group, self._decode_all(child, self._sql(select))))
                continue
            for chunk in _chunks(pid for ids_ in parents for pid in ids_ or ()):
                rows = self._decode_all(child, self._sql(
                    f'{select} WHERE "{foreign_key}" IN ({", ".join("?" * len(chunk))})', chunk))
                totals.update(child_totals(group, rows))
        return totals


def _chunks(values: Iterable[str]) -> Iterator[list[str]]:
    batch = list(dict.fromkeys(values))
    for start in range(0, len(batch), IN_CHUNK):
        yield batch[start:start + IN_CHUNK]


def _quoted(names: Iterable[str]) -> str:
    return ", ".join(f'"{n}"' for n in names)


def _encode(info: ObjectInfo, record: Mapping[str, Any], columns: Iterable[str]) -> list[Any]:
    return [None if record[c] is None else info.encoders[c](record[c]) for c in columns]
