"""Fixtures: records loaded into the org from a YAML or JSON file, all or nothing.

A fixture maps object names to lists of records (field → value). Ids may be given (15 or 18
characters) or left out; records refer to each other by Id, in any order in the file. Every problem
is collected and reported at once, naming the record (object, index, Id), the field, what was found
and what was expected; when there is any problem nothing is loaded.
"""
from __future__ import annotations

import contextlib
import datetime as _dt
import gc
import graphlib
import os
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Final, NamedTuple

from flowengine.errors import LoadError, OrgError, Problem, did_you_mean
from flowengine.org.catalog import Catalog, FieldError, ObjectInfo
from flowengine.org.fixture_files import FixtureItem
from flowengine.org.system import AUDIT_FIELDS, BOOTSTRAP_IDS
from flowengine.types import describe, text_of

if TYPE_CHECKING:
    from flowengine.org.base import Invariant, OrgStore, OrgTransaction

__all__ = ["MAX_FIXTURE_BYTES", "check_fixture_file", "count_records", "export_records",
           "iter_export", "load_fixture", "load_records", "plain_value", "read_fixture"]

MAX_FIXTURE_BYTES: Final = 50 * 1024 * 1024
MAX_YAML_NODES: Final = 10_000_000   # counted with aliases expanded: stops "billion laughs"
MAX_YAML_DEPTH: Final = 64
MAX_REPORTED: Final = 20
RecordKey = tuple[str, int]          # (object name, index in the file's list)


def load_fixture(store: OrgStore, path: str | os.PathLike[str],
                 invariants: Iterable[Invariant] | None = None,
                 progress: Callable[[int, int], None] | None = None) -> dict[str, list[str]]:
    """Load the records of a YAML, JSON or JSON Lines fixture file into `store` in one
    transaction, reading the file as a stream (`flowengine.org.fixture_files`): a file of any
    size loads in bounded memory.

    Returns object name → the 18-character Ids of its records, in file order. Raises OrgError
    (nothing loaded) listing every problem. `invariants` default to the store's own
    (`store.invariants`, the plug-ins' checks); each runs on the transaction before commit.
    """
    from flowengine.org.fixture_files import read_items

    return _load(store, read_items(path, _yaml_limits()), os.fspath(path), invariants, progress)


def load_records(store: OrgStore, data: Any, *, source: str = "<fixture>",
                 invariants: Iterable[Invariant] | None = None,
                 progress: Callable[[int, int], None] | None = None) -> dict[str, list[str]]:
    """Load already-parsed fixture data (object name → list of records); see `load_fixture`.

    `progress(done, read)` is called as records are written (for a progress bar)."""
    total = sum(len(r) for r in data.values() if isinstance(r, list)) \
        if isinstance(data, Mapping) else 0
    return _load(store, _items_of(data), source, invariants, progress, total)


def _items_of(data: Any) -> Iterator[FixtureItem]:
    if data is None:
        return
    if not isinstance(data, Mapping):
        yield None, -1, data, 0
        return
    for object_name, records in data.items():
        if isinstance(records, list):
            for index, record in enumerate(records):
                yield object_name, index, record, 0
        else:
            yield object_name, -1, records, 0


def _load(store: OrgStore, items: Iterable[FixtureItem], source: str,
          invariants: Iterable[Invariant] | None,
          progress: Callable[[int, int], None] | None,
          total: int | None = None) -> dict[str, list[str]]:
    plan = _Plan(store.catalog, source)
    plan.progress = progress
    plan.total = total
    checks = tuple(store.invariants if invariants is None else invariants)
    with _fewer_collections():
        tx = store.begin()
        return _load_in(tx, plan, items, source, checks)


_GC_YOUNG: Final = 25_000   # objects made (and kept) between collections, during a load


@contextlib.contextmanager
def _fewer_collections() -> Iterator[None]:
    """Python's cyclic garbage collector run less often during a load: at its default (a
    collection every 700 new objects kept) it traverses each chunk's queued records several
    times, about 7 % of a load's time, though a load makes no cycles. Objects kept still
    trigger collections (so memory stays bounded); only later."""
    thresholds = gc.get_threshold()
    if thresholds[0] == 0 or thresholds[0] >= _GC_YOUNG:   # switched off, or set higher
        yield
        return
    gc.set_threshold(_GC_YOUNG, *thresholds[1:])
    try:
        yield
    finally:
        gc.set_threshold(*thresholds)


def _load_in(tx: OrgTransaction, plan: _Plan, items: Iterable[FixtureItem], source: str,
             checks: Sequence[Invariant]) -> dict[str, list[str]]:
    try:
        try:
            for item in items:
                plan.add(tx, item)
        except LoadError as exc:
            raise _bad(source, _where(exc.problem) + exc.problem.message) from None
        plan.finish(tx)
        if plan.deferred and not plan.problems:
            tx.restore_indexes()  # type: ignore[attr-defined]  # before the invariants query
        if not plan.problems:
            plan.check_invariants(tx, checks)
        if plan.problems:
            raise plan.error()
    except BaseException:
        tx.rollback()
        raise
    tx.commit()
    return plan.loaded()


_CHUNK: Final = 2_000   # records per insert_many call, and between progress reports


class _Queued(NamedTuple):
    """A checked record waiting for its insert_many."""

    position: int                       # in its object's list of loaded Ids
    fields: dict[str, Any]              # converted (see `_Plan.convert`)
    label: str
    line: int                           # in the file (0: data given in memory)
    error: FieldError | None = None     # the value that does not convert: reported at insert


_SHAPES: Final = 1_000   # the most shapes (field names in order) remembered per object
_NO_WAITS: Final[set[str]] = set()   # never changed: a record that waits for no Id


class _Shape(NamedTuple):
    """What the field names of a record, in their order, say of it (`_Plan._fields_of_shape`)."""

    settable: bool                      # every name is Id or a field a load may set
    has_id: bool
    references: bool                    # some name is a reference field
    converters: tuple[tuple[str, Callable[[Any], Any]], ...]   # the other fields, in order


def _insert(tx: OrgTransaction, object_name: str, records: list[dict[str, Any]]) -> Sequence[str]:
    """Insert records converted by `_Plan.convert`: not converted again where the store can
    take them as they are (`BatchTransaction.insert_converted`)."""
    insert_converted = getattr(tx, "insert_converted", None)
    if insert_converted is not None:
        return insert_converted(object_name, records, set_audit_fields=True)
    return tx.insert_many(object_name, records, set_audit_fields=True)


class _Plan:
    """The records of one fixture, checked as they stream in and inserted in chunks of one
    object. A record that refers to an Id of the file not yet inserted waits for it (only
    waiting records are held); at the end, what still waits is inserted in dependency order."""

    def __init__(self, catalog: Catalog, source: str) -> None:
        self.catalog = catalog
        self.source = source
        self.problems: list[tuple[str, str]] = []    # (message, error code)
        self.static_problem = False                  # then nothing more is inserted
        self.progress: Callable[[int, int], None] | None = None
        self.seen: dict[str, int | tuple[int, Any]] = {}   # given Id → index of its record
        self.inserted: set[str] = set()              # given Ids now in the store
        self.failed: set[str] = set()                # given Ids of rejected records
        self.unknown: set[str] = set()               # unknown objects, reported once
        self.ids: dict[str, list[str | None]] = {}   # object → its new Ids, in file order
        self.queues: dict[str, list[_Queued]] = {}
        self.references: dict[str, frozenset[str]] = {}   # object → its reference fields
        self.waiting: dict[str, list[tuple[str, _Queued]]] = {}   # Id → records waiting on it
        self.pending: dict[int, set[str]] = {}       # id(_Queued) → Ids it still waits for
        self.read = self.done = 0
        self.shapes: dict[str, dict[tuple[str, ...], _Shape]] = {}   # see `_fields_of_shape`
        self.line = 0                                # of the record being checked or inserted
        self.total: int | None = None                # of records, when known before reading
        self.deferred = False                        # some index is built at the end
        self.considered: set[str] = set()            # objects whose indexes may have been
        self.acting: dict[str, bool] = {}            # object → whether a save hook acts on it

    def problem(self, where: str, message: str, code: str) -> None:
        at = f" (line {self.line})" if self.line else ""
        self.problems.append((f"{where}: {message}{at}", code))

    def error(self) -> OrgError:
        count = len(self.problems)
        lines = [m for m, _ in self.problems[:MAX_REPORTED]]
        if count > MAX_REPORTED:
            lines.append(f"... and {count - MAX_REPORTED} more")
        head = f"{self.source}: fixture not loaded ({count} problem{'s' * (count != 1)}):"
        return OrgError("\n  ".join([head, *lines]), self.problems[0][1])

    def static(self, where: str, message: str, code: str) -> None:
        self.problem(where, message, code)
        self.static_problem = True

    # -- static checks: shape, names, Ids, references ---------------------------------------

    def add(self, tx: OrgTransaction, item: FixtureItem) -> None:
        object_name, index, record, line = item
        self.line = line
        if object_name is None:
            self.static("top level", f"expected a mapping of object names to lists of "
                        f"records, found {describe(record)}", "INVALID_FIXTURE")
            return
        if not isinstance(object_name, str) or object_name not in self.catalog.objects:
            if str(object_name) not in self.unknown:
                self.unknown.add(str(object_name))
                hint = did_you_mean(str(object_name), self.catalog.objects)
                self.static(str(object_name), f"unknown object{hint}"
                            f" (known objects: {', '.join(sorted(self.catalog.objects))})",
                            "INVALID_TYPE")
            return
        if index < 0:
            if record is not None:
                self.static(object_name, f"expected a list of records, found "
                            f"{describe(record)}", "INVALID_FIXTURE")
            return
        self.read += 1
        info = self.catalog.objects[object_name]
        plain = record.__class__ is dict
        given_id = record.get("Id") if plain or isinstance(record, Mapping) else None
        label = f"{object_name}[{index}]" + (f" (Id {given_id})" if given_id is not None else "")
        shaped = self._fields_of_shape(info, index, record) if plain else None
        if shaped is not None:   # every field one a load may set, its Id new and well-formed
            fields, shape = shaped
            waits = self._link_references(info, fields, label) if shape.references \
                else _NO_WAITS
            if waits is None or self.static_problem:
                return
            error = None
            for name, convert in shape.converters:   # as `convert` does, in the record's order
                try:
                    fields[name] = convert(fields[name])
                except FieldError as exc:
                    error = exc
                    break
        else:
            collected = self._collect_record(info, index, record, label)
            if collected is None:
                return
            fields = collected
            waits = self._link_references(info, fields, label)
            if waits is None or self.static_problem:
                return
            error = self.convert(info, fields)
        ids = self.ids.get(object_name)
        if ids is None:
            ids = self.ids[object_name] = []
        queued = _Queued(len(ids), fields, label, line, error)
        ids.append(None)
        if waits:
            self.pending[id(queued)] = waits
            for wanted in waits:
                self.waiting.setdefault(wanted, []).append((object_name, queued))
        else:
            self.queue(tx, object_name, queued)

    def _fields_of_shape(self, info: ObjectInfo, index: int, record: dict[str, Any]
                         ) -> tuple[dict[str, Any], _Shape] | None:
        """The short way of `_collect_record` for a record whose field names (in their order:
        its shape) were seen before and are all fields a load may set, and whose Id, if any, is
        well-formed and new: a copy of the record with its Id converted, and its shape. None
        for any other record, which takes the long way (which reports its problems)."""
        shapes = self.shapes.get(info.name)
        if shapes is None:
            shapes = self.shapes[info.name] = {}
        keys = tuple(record)
        shape = shapes.get(keys)
        if shape is None:
            if len(shapes) >= _SHAPES:
                return None
            shape = shapes[keys] = self._shape(info, keys)
        if not shape.settable:
            return None
        fields = dict(record)
        if shape.has_id:
            given = fields["Id"]
            try:
                record_id = self.catalog.convert_id(info, given)
            except OrgError:
                return None
            if record_id in self.seen:
                return None
            self.seen[record_id] = index if given == record_id else (index, given)
            fields["Id"] = record_id
        return fields, shape

    def _shape(self, info: ObjectInfo, keys: tuple[str, ...]) -> _Shape:
        settable = self.catalog.converters(info, audit=True)
        references = self._references(info)
        return _Shape(all(k == "Id" or k in settable for k in keys), "Id" in keys,
                      any(k in references for k in keys),
                      tuple((k, settable[k]) for k in keys
                            if k != "Id" and k not in references and k in settable))

    def _collect_record(self, info: ObjectInfo, index: int, record: Any,
                        label: str) -> dict[str, Any] | None:
        if not isinstance(record, Mapping):
            self.static(label, f"expected a mapping of field names to values, found "
                        f"{describe(record)}", "INVALID_FIXTURE")
            return None
        fields: dict[str, Any] = {}
        ok = True
        record_id = None
        settable = self.catalog.converters(info, audit=True)
        for name, value in record.items():
            if name == "Id":
                try:
                    value = record_id = self.catalog.convert_id(info, value)
                except OrgError as exc:
                    self.static(label, f"field Id: {exc.message}", exc.error_code)
                    ok = False
                    continue
                first = self.seen.get(value)
                if first is not None:
                    where, given = first if isinstance(first, tuple) else (first, value)
                    self.static(label, f"field Id: {value} is also the Id of "
                                f"{info.name}[{where}] (Id {given})", "DUPLICATE_VALUE")
                    ok = False
                else:   # the Id as given only when it differs (memory: one int per record)
                    self.seen[value] = index if record["Id"] == value else (index, record["Id"])
            elif name in settable:
                pass
            else:
                try:
                    fdef = info.field(name)
                except FieldError as exc:
                    self.static(label, f"field {exc.field_name!r}: {exc.detail}", exc.error_code)
                    ok = False
                    continue
                if fdef.is_computed or (fdef.read_only and name not in AUDIT_FIELDS):
                    how = "calculated" if fdef.calculated else "rolled up" if fdef.rollup \
                        else "set"
                    self.static(label, f"field {name}: is {how} by the store and cannot be "
                                f"loaded (found {describe(value)}); remove it",
                                "INVALID_FIELD_FOR_INSERT_UPDATE")
                    ok = False
                    continue
            fields[name] = value
        if not ok:
            if record_id is not None:
                self.failed.add(record_id)
            return None
        return fields

    def _link_references(self, info: ObjectInfo, fields: dict[str, Any],
                         label: str) -> set[str] | None:
        """Convert the record's references (18-character Ids); the Ids it waits for (of the
        file, or not seen yet), or None when a reference is malformed."""
        waits: set[str] = set()
        ok = True
        own = fields.get("Id")
        references = self._references(info)
        for name, value in fields.items():
            if name not in references or value is None or value == "":
                continue
            try:
                fields[name] = target = self.catalog.convert(info, info.by_name[name], value)
            except FieldError as exc:
                self.static(label, f"field {name}: {exc.detail}", exc.error_code)
                ok = False
                continue
            if target != own and target not in self.inserted and target not in BOOTSTRAP_IDS:
                waits.add(target)
        if not ok:
            if own is not None:
                self.failed.add(own)
            return None
        return waits

    def _references(self, info: ObjectInfo) -> frozenset[str]:
        found = self.references.get(info.name)
        if found is None:
            found = self.references[info.name] = frozenset(
                f.name for f in info.schema.fields if f.reference_to is not None)
        return found

    def convert(self, info: ObjectInfo, fields: dict[str, Any]) -> FieldError | None:
        """Convert the record's other values (its Id and references are, by now) once, as the
        store would on insert; a value that does not convert is the record's error when it
        is inserted (`flush`), where the store would find it."""
        converters = self.catalog.converters(info, audit=True)
        references = self._references(info)
        for name, value in fields.items():
            if name != "Id" and name not in references:
                try:
                    fields[name] = converters[name](value)
                except FieldError as exc:
                    return exc
        return None

    # -- inserting, in chunks -----------------------------------------------------------------

    def queue(self, tx: OrgTransaction, object_name: str, queued: _Queued) -> None:
        queue = self.queues.get(object_name)
        if queue is None:
            queue = self.queues[object_name] = []
        queue.append(queued)
        if len(queue) >= _CHUNK:
            self.flush(tx, object_name)

    def flush(self, tx: OrgTransaction, object_name: str) -> None:
        batch = self.queues.pop(object_name, [])
        if not batch or self.static_problem:
            return
        if len(batch) >= _CHUNK or self.deferred:
            self._defer_indexes(tx, object_name)
        created: list[str | None] = []
        if not any(q.error for q in batch):   # else inserting the batch would fail on it
            try:
                with tx.savepoint():
                    created = list(_insert(tx, object_name, [q.fields for q in batch]))
            except OrgError:
                pass
        if not created:
            created = [self._insert_one(tx, object_name, q) for q in batch]
        ids = self.ids[object_name]
        for queued, new_id in zip(batch, created):
            given = queued.fields.get("Id")
            if new_id is None:
                if given is not None:
                    self.failed.add(given)
                continue
            ids[queued.position] = new_id
            self.done += 1
            if given is not None:
                self.inserted.add(given)
                self.release(tx, given)
        if self.progress is not None:
            self.progress(self.done, self.total or self.read)

    def _defer_indexes(self, tx: OrgTransaction, object_name: str) -> None:
        """Before a full chunk is inserted. At the first of an object, when the store can
        (`defer_indexes`: SQLite) and no save hook acts on the object: the indexes of its
        table, if it is empty, are built once at the end instead of record by record. Not those
        that the load's own checks look up: of unique fields, and of the references by which
        roll-ups total their children. Before the records of an object that a hook acts on (a
        triggered flow may query any object), every index is built again."""
        defer = getattr(tx, "defer_indexes", None)
        if defer is None:
            return
        acting = self.acting.get(object_name)
        if acting is None:
            acting = self.acting[object_name] = any(
                getattr(hook, "saves", None) is None or hook.saves(object_name)
                for hook in getattr(tx, "hooks", None) or ())
        if acting:
            if self.deferred:
                tx.restore_indexes()  # type: ignore[attr-defined]
                self.deferred = False
            return
        if object_name in self.considered:
            return
        self.considered.add(object_name)
        info = self.catalog.objects[object_name]
        keep = {f.name for f in info.stored if f.unique}
        for parent in self.catalog.objects.values():
            for fdef in parent.rollups:
                rollup = fdef.rollup
                if rollup is not None and rollup.child_object == object_name:
                    keep.add(rollup.foreign_key)
        if defer(object_name, keep):
            self.deferred = True

    def _insert_one(self, tx: OrgTransaction, object_name: str, queued: _Queued) -> str | None:
        self.line = queued.line
        try:
            if queued.error is not None:
                raise queued.error
            with tx.savepoint():
                (new_id,) = _insert(tx, object_name, [queued.fields])
            return new_id
        except FieldError as exc:
            where = " (neither in this fixture nor in the org)" \
                if exc.error_code == "INVALID_CROSS_REFERENCE_KEY" else ""
            self.problem(queued.label, f"field {exc.field_name}: {exc.detail}{where}",
                         exc.error_code)
        except OrgError as exc:
            self.problem(queued.label, exc.message, exc.error_code)
        return None

    def release(self, tx: OrgTransaction, inserted_id: str) -> None:
        for object_name, queued in self.waiting.pop(inserted_id, ()):
            waits = self.pending[id(queued)]
            waits.discard(inserted_id)
            if not waits:
                del self.pending[id(queued)]
                self.queue(tx, object_name, queued)

    def finish(self, tx: OrgTransaction) -> None:
        """Insert what is queued, then what still waits: for Ids of rejected records (already
        reported: left out), for records waiting themselves (in dependency order; a cycle is
        an error) or for Ids not in the file (the store checks that they exist)."""
        if self.static_problem:
            return
        order = list(self.catalog.objects)
        while self.queues:
            for object_name in [n for n in order if n in self.queues]:
                self.flush(tx, object_name)
        left: dict[int, tuple[str, _Queued]] = {}
        for entries in self.waiting.values():
            for object_name, queued in entries:
                left[id(queued)] = (object_name, queued)
        self.waiting.clear()
        by_id = {q.fields["Id"]: key for key, (_, q) in left.items() if "Id" in q.fields}
        graph: dict[int, set[int]] = {}
        for key in left:
            waits = self.pending[key]
            if waits & self.failed:
                continue          # its reference was rejected: that error is reported
            graph[key] = {by_id[w] for w in waits if w in by_id and by_id[w] != key}
        sorter = graphlib.TopologicalSorter(graph)
        try:
            sorter.prepare()
        except graphlib.CycleError as exc:
            self.line = 0
            cycle = " → ".join(left[k][1].label for k in exc.args[1])
            self.problem("references", f"records refer to each other in a cycle: {cycle}; "
                         "leave one reference out", "INVALID_FIXTURE")
            return
        while sorter.is_active():
            level = list(sorter.get_ready())
            for key in level:
                object_name, queued = left[key]
                given = queued.fields.get("Id")
                if any(w in self.failed for w in self.pending[key]):
                    if given is not None:
                        self.failed.add(given)
                    continue
                self.queues.setdefault(object_name, []).append(queued)
            for object_name in [n for n in order if n in self.queues]:
                self.flush(tx, object_name)
            sorter.done(*level)

    def loaded(self) -> dict[str, list[str]]:
        return {name: [i for i in self.ids[name] if i is not None]
                for name in self.catalog.objects if self.ids.get(name)}

    def check_invariants(self, tx: OrgTransaction, invariants: Sequence[Invariant]) -> None:
        self.line = 0
        for check in invariants:
            name = getattr(check, "__qualname__", repr(check))
            try:
                violations = list(check(tx) or ())
            except Exception as exc:
                self.problem(f"invariant {name}", f"failed to run: {type(exc).__name__}: {exc}",
                             "FIXTURE_INVARIANT")
                continue
            for violation in violations:
                self.problem("invariant violated", str(violation), "FIXTURE_INVARIANT")


# ---------------------------------------------------------------------------------------------
# Export: the inverse of loading

def export_records(store: OrgStore) -> dict[str, list[dict[str, Any]]]:
    """Every record of `store` as plain data (see `plain_value`) that `load_records` re-loads
    into an empty org: the fields a load may set (no calculated, rolled-up, system or other
    read-only ones; an empty field only when it has a default), 18-character Ids, referenced
    objects first, records in Id order. Objects without records are left out, and so are the
    records every store starts with (its default user and profile), which an empty store holds
    already. `iter_export` gives the same without holding it."""
    return {name: list(records) for name, records in iter_export(store)}


_PAGE: Final = 5_000   # records read at a time by an export


def iter_export(store: OrgStore) -> Iterator[tuple[str, Iterator[dict[str, Any]]]]:
    """`export_records` as a stream: (object name, its records) for each object with records,
    the records read a page at a time (by Id) in one read transaction. Consume each object's
    records before asking for the next object."""
    from flowengine.org.query import RecordFilter, Sort

    catalog = store.catalog
    tx = store.begin(write=False)
    try:
        for name in catalog.dependency_order():
            info = catalog.objects[name]
            if info.schema.is_event:
                continue
            keep = ["Id", *(f.name for f in info.stored if not f.read_only)]
            # an empty field is left out, unless leaving it out would give it its default
            defaulted = {f.name for f in info.stored if f.default is not None}

            def pages(name: str = name, keep: list[str] = keep,
                      defaulted: set[str] = defaulted) -> Iterator[list[dict[str, Any]]]:
                last: str | None = None
                while True:
                    after = [RecordFilter("Id", "GreaterThan", last)] if last else []
                    rows = tx.select(name, after, order_by=[Sort("Id")], limit=_PAGE)
                    if not rows:
                        return
                    last = rows[-1]["Id"]
                    yield [{k: plain_value(r[k]) for k in keep
                            if r[k] is not None or k in defaulted}
                           for r in rows if r["Id"] not in BOOTSTRAP_IDS]

            read = pages()
            first = next((p for p in read if p), None)   # an object without records: left out
            if first is None:
                continue
            yield name, _chain(first, read)
    finally:
        tx.rollback()


def _chain(first: list[dict[str, Any]], rest: Iterator[list[dict[str, Any]]]
           ) -> Iterator[dict[str, Any]]:
    yield from first
    for page in rest:
        yield from page


def count_records(store: OrgStore, tx: OrgTransaction) -> int:
    """How many records `tx` sees in `store`, not counting the records every store starts with
    (its default user and profile)."""
    return sum(sum(r["Id"] not in BOOTSTRAP_IDS for r in tx.select(name, fields=["Id"]))
               for name, info in store.catalog.objects.items() if not info.schema.is_event)


def plain_value(value: Any) -> Any:
    """A stored value as JSON/YAML data that reads back exactly: whole numbers as integers,
    other decimals as floats when the float prints the same digits (else as text), dates and
    times as ISO-8601 text (DateTime in UTC)."""
    if isinstance(value, Decimal):
        if value == value.to_integral_value() and abs(value) < 2 ** 53:
            return int(value)
        as_float = float(value)
        return as_float if Decimal(repr(as_float)) == value else format(value, "f")
    if isinstance(value, (_dt.date, _dt.time)):
        return text_of(value)
    return value


# ---------------------------------------------------------------------------------------------
# Reading files: size-capped, YAML bounded against alias bombs and deep nesting

def read_fixture(path: str | os.PathLike[str]) -> Any:
    """Parse a whole fixture file into memory: `.json` as JSON (numbers with a fraction exact, as
    Decimal), `.jsonl` as JSON Lines, anything else as YAML through flowengine's hardened reader
    (only true/false are Booleans, so `Status: No` stays text; no tags beyond plain data; aliases
    and nesting bounded). The file is held whole, so it is capped at MAX_FIXTURE_BYTES
    (`load_fixture` streams instead). Raises OrgError(INVALID_FIXTURE) for an unreadable,
    oversized or malformed file."""
    from flowengine.org.fixture_files import read_items

    name = os.fspath(path)
    try:
        size = os.stat(name).st_size
    except OSError:
        size = 0                                # read_items reports it
    try:
        if size > MAX_FIXTURE_BYTES:
            raise LoadError(f"file is {size / 1048576:.1f} MB; fixtures are limited to "
                            f"{MAX_FIXTURE_BYTES // 1048576} MB when read whole ('flowengine "
                            "org load' streams files of any size)", name, code="limit")
        data: Any = None
        for object_name, index, value, _ in read_items(name, _yaml_limits()):
            if object_name is None:
                return value
            if data is None:
                data = {}
            if index < 0:
                data[object_name] = value
            else:
                data.setdefault(object_name, []).append(value)
        return data
    except LoadError as exc:
        raise _bad(name, _where(exc.problem) + exc.problem.message) from None


def check_fixture_file(path: str | os.PathLike[str]) -> None:
    """Raise OrgError(INVALID_FIXTURE) when `path` cannot be opened as a file (missing, a
    folder, unreadable): checked before a store is opened or created."""
    from flowengine.org.fixture_files import _open

    try:
        _open(os.fspath(path), "a YAML, JSON or JSON Lines fixture file").close()
    except LoadError as exc:
        raise _bad(os.fspath(path), exc.problem.message) from None


def _yaml_limits() -> Any:
    from flowengine.formats.yaml import YamlLimits

    return YamlLimits(max_bytes=MAX_FIXTURE_BYTES, max_depth=MAX_YAML_DEPTH,
                      max_nodes=MAX_YAML_NODES, marks=False, yaml11_booleans=False,
                      what="fixtures", expected="a YAML, JSON or JSON Lines fixture file")


def _where(problem: Problem) -> str:
    if problem.line is None:
        return ""
    return f"line {problem.line}" + (f" column {problem.column}" if problem.column else "") + ": "


def _bad(name: str, message: str) -> OrgError:
    return OrgError(f"{name}: {message}", "INVALID_FIXTURE")
