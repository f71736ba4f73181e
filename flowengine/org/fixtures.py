"""Fixtures: records loaded into the org from a YAML or JSON file, all or nothing.

A fixture maps object names to lists of records (field → value). Ids may be given (15 or 18
characters) or left out; records refer to each other by Id, in any order in the file. Every problem
is collected and reported at once, naming the record (object, index, Id), the field, what was found
and what was expected; when there is any problem nothing is loaded.
"""
from __future__ import annotations

import datetime as _dt
import graphlib
import os
from collections.abc import Callable, Iterable, Mapping, Sequence
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

from flowengine.errors import LoadError, OrgError, Problem, did_you_mean
from flowengine.org.catalog import Catalog, FieldError
from flowengine.org.system import AUDIT_FIELDS, BOOTSTRAP_IDS
from flowengine.types import describe, text_of

if TYPE_CHECKING:
    from flowengine.org.base import Invariant, OrgStore, OrgTransaction

__all__ = ["MAX_FIXTURE_BYTES", "count_records", "export_records", "load_fixture", "load_records",
           "plain_value", "read_fixture"]

MAX_FIXTURE_BYTES: Final = 50 * 1024 * 1024
MAX_YAML_NODES: Final = 10_000_000   # counted with aliases expanded: stops "billion laughs"
MAX_YAML_DEPTH: Final = 64
MAX_REPORTED: Final = 20
RecordKey = tuple[str, int]          # (object name, index in the file's list)


def load_fixture(store: OrgStore, path: str | os.PathLike[str],
                 invariants: Iterable[Invariant] | None = None) -> dict[str, list[str]]:
    """Load the records of a YAML or JSON fixture file into `store` in one transaction.

    Returns object name → the 18-character Ids of its records, in file order. Raises OrgError
    (nothing loaded) listing every problem. `invariants` default to the store's own
    (`store.invariants`, the plug-ins' checks); each runs on the transaction before commit.
    """
    return load_records(store, read_fixture(path), source=os.fspath(path), invariants=invariants)


def load_records(store: OrgStore, data: Any, *, source: str = "<fixture>",
                 invariants: Iterable[Invariant] | None = None,
                 progress: Callable[[int, int], None] | None = None) -> dict[str, list[str]]:
    """Load already-parsed fixture data (object name → list of records); see `load_fixture`.

    `progress(done, total)` is called as records are written (for a progress bar)."""
    plan = _Plan(store.catalog, source)
    plan.progress = progress
    plan.collect(data)
    if plan.problems:
        raise plan.error()
    checks = tuple(store.invariants if invariants is None else invariants)
    tx = store.begin()
    try:
        loaded = plan.insert(tx)
        if not plan.problems:
            plan.check_invariants(tx, checks)
        if plan.problems:
            raise plan.error()
    except BaseException:
        tx.rollback()
        raise
    tx.commit()
    return loaded


_CHUNK: Final = 2_000   # records per insert_many call, and between progress reports


class _Plan:
    """The records of one fixture, checked, and the order in which to insert them."""

    def __init__(self, catalog: Catalog, source: str) -> None:
        self.catalog = catalog
        self.source = source
        self.problems: list[tuple[str, str]] = []    # (message, error code)
        self.records: dict[RecordKey, dict[str, Any]] = {}
        self.labels: dict[RecordKey, str] = {}
        self.depends: dict[RecordKey, set[RecordKey]] = {}
        self.progress: Callable[[int, int], None] | None = None

    def problem(self, where: str, message: str, code: str) -> None:
        self.problems.append((f"{where}: {message}", code))

    def error(self) -> OrgError:
        count = len(self.problems)
        lines = [m for m, _ in self.problems[:MAX_REPORTED]]
        if count > MAX_REPORTED:
            lines.append(f"... and {count - MAX_REPORTED} more")
        head = f"{self.source}: fixture not loaded ({count} problem{'s' * (count != 1)}):"
        return OrgError("\n  ".join([head, *lines]), self.problems[0][1])

    # -- static checks: shape, names, Ids, references within the file -------------------------

    def collect(self, data: Any) -> None:
        if data is None:
            return
        if not isinstance(data, Mapping):
            self.problem("top level", f"expected a mapping of object names to lists of "
                         f"records, found {describe(data)}", "INVALID_FIXTURE")
            return
        ids_in_file: dict[str, RecordKey] = {}
        for object_name, records in data.items():
            if not isinstance(object_name, str) or object_name not in self.catalog.objects:
                hint = did_you_mean(str(object_name), self.catalog.objects)
                self.problem(str(object_name), f"unknown object{hint}"
                             f" (known objects: {', '.join(sorted(self.catalog.objects))})",
                             "INVALID_TYPE")
                continue
            if records is None:
                continue
            if not isinstance(records, list):
                self.problem(object_name, f"expected a list of records, found {describe(records)}",
                             "INVALID_FIXTURE")
                continue
            for index, record in enumerate(records):
                self._collect_record((object_name, index), record, ids_in_file)
        for key, fields in self.records.items():
            self._link_references(key, fields, ids_in_file)

    def _collect_record(self, key: RecordKey, record: Any,
                        ids_in_file: dict[str, RecordKey]) -> None:
        object_name, index = key
        info = self.catalog.objects[object_name]
        given_id = record.get("Id") if isinstance(record, Mapping) else None
        label = f"{object_name}[{index}]" + (f" (Id {given_id})" if given_id is not None else "")
        self.labels[key] = label
        if not isinstance(record, Mapping):
            self.problem(label, f"expected a mapping of field names to values, found "
                         f"{describe(record)}", "INVALID_FIXTURE")
            return
        fields: dict[str, Any] = {}
        ok = True
        for name, value in record.items():
            if name == "Id":
                try:
                    value = self.catalog.convert_id(info, value)
                except OrgError as exc:
                    self.problem(label, f"field Id: {exc.message}", exc.error_code)
                    ok = False
                    continue
                if value in ids_in_file:
                    self.problem(label, f"field Id: {value} is also the Id of "
                                 f"{self.labels[ids_in_file[value]]}", "DUPLICATE_VALUE")
                    ok = False
                ids_in_file.setdefault(value, key)
            else:
                try:
                    fdef = info.field(name)
                except FieldError as exc:
                    self.problem(label, f"field {exc.field_name!r}: {exc.detail}", exc.error_code)
                    ok = False
                    continue
                if fdef.is_computed or (fdef.read_only and name not in AUDIT_FIELDS):
                    how = "calculated" if fdef.calculated else "rolled up" if fdef.rollup \
                        else "set"
                    self.problem(label, f"field {name}: is {how} by the store and cannot be "
                                 f"loaded (found {describe(value)}); remove it",
                                 "INVALID_FIELD_FOR_INSERT_UPDATE")
                    ok = False
                    continue
            fields[name] = value
        if ok:
            self.records[key] = fields

    def _link_references(self, key: RecordKey, fields: dict[str, Any],
                         ids_in_file: Mapping[str, RecordKey]) -> None:
        info = self.catalog.objects[key[0]]
        deps = self.depends.setdefault(key, set())
        for name, value in fields.items():
            fdef = None if name == "Id" else info.field(name)
            if fdef is None or fdef.reference_to is None or value is None or value == "":
                continue
            try:
                fields[name] = self.catalog.convert(info, fdef, value)
            except FieldError as exc:
                self.problem(self.labels[key], f"field {name}: {exc.detail}", exc.error_code)
                continue
            target = ids_in_file.get(fields[name])
            if target is not None and target != key:
                deps.add(target)

    # -- inserting, in dependency order -------------------------------------------------------

    def insert(self, tx: OrgTransaction) -> dict[str, list[str]]:
        """Insert every record, referenced records first; returns object name → Ids in file
        order. Tries one `insert_many` per object and dependency level first; when that fails,
        inserts record by record to report every problem with its record."""
        levels = self._levels()
        if self.problems:
            return {}
        new_ids = self._insert_batches(tx, levels)
        if new_ids is None:
            new_ids = self._insert_one_by_one(tx, [key for level in levels for key in level])
        loaded: dict[str, list[str]] = {}
        order = {name: i for i, name in enumerate(self.catalog.objects)}
        for object_name, index in sorted(new_ids, key=lambda k: (order[k[0]], k[1])):
            loaded.setdefault(object_name, []).append(new_ids[(object_name, index)])
        return loaded

    def _report(self, done: int) -> None:
        if self.progress is not None:
            self.progress(done, len(self.records))

    def _insert_batches(self, tx: OrgTransaction, levels: list[list[RecordKey]]
                        ) -> dict[RecordKey, str] | None:
        """The fast path: one `insert_many` per object and level (records refer only to records
        of earlier levels, or to themselves). Generated Ids are the ones record-by-record
        insertion gives: each object's records keep their order. None, with nothing written,
        when any batch is refused."""
        new_ids: dict[RecordKey, str] = {}
        try:
            with tx.savepoint():
                for level in levels:
                    by_object: dict[str, list[RecordKey]] = {}
                    for key in level:
                        by_object.setdefault(key[0], []).append(key)
                    for object_name, keys in by_object.items():
                        for start in range(0, len(keys), _CHUNK):
                            chunk = keys[start:start + _CHUNK]
                            created = tx.insert_many(object_name,
                                                     [self.records[k] for k in chunk],
                                                     set_audit_fields=True)
                            new_ids.update(zip(chunk, created))
                            self._report(len(new_ids))
        except OrgError:
            return None
        return new_ids

    def _insert_one_by_one(self, tx: OrgTransaction, order: list[RecordKey]) -> dict[RecordKey, str]:
        failed: set[RecordKey] = set()
        new_ids: dict[RecordKey, str] = {}
        for done, key in enumerate(order, 1):
            if done % _CHUNK == 0:
                self._report(done)
            if key not in self.records:
                failed.add(key)  # rejected while collecting: already reported
                continue
            if self.depends.get(key, set()) & failed:
                failed.add(key)  # its parent was rejected: that error is already reported
                continue
            try:
                with tx.savepoint():
                    (new_ids[key],) = tx.insert_many(key[0], [self.records[key]],
                                                     set_audit_fields=True)
            except FieldError as exc:
                where = " (neither in this fixture nor in the org)" \
                    if exc.error_code == "INVALID_CROSS_REFERENCE_KEY" else ""
                self.problem(self.labels[key], f"field {exc.field_name}: {exc.detail}{where}",
                             exc.error_code)
                failed.add(key)
            except OrgError as exc:
                self.problem(self.labels[key], exc.message, exc.error_code)
                failed.add(key)
        return new_ids

    def _levels(self) -> list[list[RecordKey]]:
        """The records in dependency order, as levels: each refers only to earlier levels
        (and to itself). The order within a level is graphlib's, as `static_order` gives it."""
        sorter = graphlib.TopologicalSorter(self.depends)
        try:
            sorter.prepare()
        except graphlib.CycleError as exc:
            cycle = " → ".join(self.labels[k] for k in exc.args[1])
            self.problem("references", f"records refer to each other in a cycle: {cycle}; "
                         "leave one reference out", "INVALID_FIXTURE")
            return []
        levels = []
        while sorter.is_active():
            level = list(sorter.get_ready())
            sorter.done(*level)
            levels.append(level)
        return levels

    def check_invariants(self, tx: OrgTransaction, invariants: Sequence[Invariant]) -> None:
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
    already."""
    catalog = store.catalog
    exported: dict[str, list[dict[str, Any]]] = {}
    tx = store.begin(write=False)
    try:
        for name in catalog.dependency_order():
            info = catalog.objects[name]
            if info.schema.is_event:
                continue
            keep = ["Id", *(f.name for f in info.stored if not f.read_only)]
            # an empty field is left out, unless leaving it out would give it its default
            defaulted = {f.name for f in info.stored if f.default is not None}
            records = [{k: plain_value(r[k]) for k in keep
                        if r[k] is not None or k in defaulted}
                       for r in tx.query(name) if r["Id"] not in BOOTSTRAP_IDS]
            if records:
                exported[name] = records
    finally:
        tx.rollback()
    return exported


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
    """Parse a fixture file: `.json` as JSON (numbers with a fraction exact, as Decimal), anything
    else as YAML through flowengine's hardened reader (only true/false are Booleans, so
    `Status: No` stays text; no tags beyond plain data; aliases and nesting bounded).
    Raises OrgError(INVALID_FIXTURE) for an unreadable, oversized or malformed file."""
    from flowengine.formats import read_text
    from flowengine.formats.yaml import YamlLimits, parse_yaml

    name = os.fspath(path)
    limits = YamlLimits(max_bytes=MAX_FIXTURE_BYTES, max_depth=MAX_YAML_DEPTH,
                        max_nodes=MAX_YAML_NODES, marks=False, yaml11_booleans=False,
                        what="fixtures", expected="a YAML or JSON fixture file")
    try:
        text = read_text(name, limits.max_bytes, limits.what, limits.expected)
        if Path(name).suffix.lower() == ".json":
            return _parse_json(text, name)
        doc = parse_yaml(text, name, limits)
    except LoadError as exc:
        raise _bad(name, _where(exc.problem) + exc.problem.message) from None
    if doc.problems:            # a key given twice: which value was meant?
        raise _bad(name, _where(doc.problems[0]) + doc.problems[0].message)
    return doc.data


def _where(problem: Problem) -> str:
    if problem.line is None:
        return ""
    return f"line {problem.line}" + (f" column {problem.column}" if problem.column else "") + ": "


def _bad(name: str, message: str) -> OrgError:
    return OrgError(f"{name}: {message}", "INVALID_FIXTURE")


def _parse_json(text: str, name: str) -> Any:
    from flowengine.formats.jsondata import parse_json

    try:
        return parse_json(text, name, exact=True)
    except LoadError as exc:
        raise _bad(name, _where(exc.problem) + exc.problem.message) from None
