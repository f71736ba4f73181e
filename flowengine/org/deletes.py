"""Deleting records as Salesforce's DML delete does; backend-neutral.

`delete_many` deletes records of one object, all or nothing:
- the records that point at a deleted record through a field whose `on_delete` is "cascade"
  (a master-detail relationship) are deleted too, and theirs in turn;
- a field that says "restrict", or that is required (clearing it would leave the record
  without a required value), refuses the delete with DELETE_FAILED, naming the record that
  still refers to the deleted one;
- any other lookup to a deleted record is cleared;
- the roll-ups of the parents of every deleted or changed record are brought up to date;
- the Ids of deleted records are remembered: a later update or delete of one, or a lookup to
  one, is ENTITY_IS_DELETED, and generated Ids never reuse them.
Lookups that may hold Ids of several objects (WhatId, ParentId...) are left as they are.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Final

from flowengine.errors import OrgError
from flowengine.org.catalog import FieldError, ObjectInfo
from flowengine.org.schema import FieldDef
from flowengine.org.storage import Row
from flowengine.org.system import UNDELETABLE
from flowengine.org.upkeep import Change, RollupUpkeep
from flowengine.types import describe

__all__ = ["MAX_CASCADE_DEPTH", "DeleteMixin"]

MAX_CASCADE_DEPTH: Final = 32
Doomed = dict[str, dict[str, Row]]          # object name → Id → the record being deleted


class DeleteMixin(RollupUpkeep):
    """`delete_many` (see the module docstring)."""

    def delete_many(self, object_name: str, record_ids: Sequence[str]) -> None:
        """Delete records of one object, with their master-detail children, all or nothing
        (see `flowengine.org.deletes`)."""
        self._check_writable()
        info = self._stored_object(object_name, "deleted")
        if isinstance(record_ids, (str, Mapping)) or not isinstance(record_ids, Sequence):
            raise OrgError(f"{info.name}: the records to delete must be a list of Ids, found "
                           f"{describe(record_ids)}", "INVALID_ARGUMENT")
        wanted: dict[str, Any] = {}
        for given in record_ids:
            record_id = self.catalog.convert_id(info, given)
            if record_id in wanted:
                raise OrgError(f"{info.name} record {record_id} is deleted twice in one batch "
                               f"(the second time as {given!r})", "DUPLICATE_VALUE")
            wanted[record_id] = given
        if not wanted:
            return
        if info.name in UNDELETABLE:
            raise OrgError(f"{info.name} record {next(iter(wanted))} cannot be deleted: "
                           f"{UNDELETABLE[info.name]}", "DELETE_FAILED")
        found = self._fetch_rows(info, wanted)
        self._check_all_exist(info, [i for i in wanted if i not in found])
        for hook in self.hooks:
            hook.before_delete(self, info.name, list(found.values()))
        doomed = self._cascade(info, found)
        clears = self._lookups_to_clear(doomed)
        with self._atomic():
            for child_name, fields_by_id in clears.items():
                self._clear(self.catalog.objects[child_name], fields_by_id)
            for name, rows in doomed.items():
                self._delete_rows(self.catalog.objects[name], list(rows))
            for name, rows in doomed.items():
                child = self.catalog.objects[name]
                self._finish_batch(child, [(row, _unlinked(child, row)) for row in rows.values()])

    def _check_all_exist(self, info: ObjectInfo, missing: list[str]) -> None:
        if not missing:
            return
        deleted = self._deleted_ids(missing)
        record_id = missing[0]
        if record_id in deleted:
            raise OrgError(f"{info.name} record {record_id} was already deleted",
                           "ENTITY_IS_DELETED")
        raise OrgError(f"no {info.name} record has Id {record_id}", "INVALID_CROSS_REFERENCE_KEY")

    def _cascade(self, info: ObjectInfo, found: dict[str, Row]) -> Doomed:
        """The records to delete: `found`, and every record whose master is deleted."""
        doomed: Doomed = {info.name: dict(found)}
        frontier = [(info.name, list(found))]
        depth = 0
        while frontier:
            depth += 1
            if depth > MAX_CASCADE_DEPTH:
                raise OrgError(f"deleting {info.name} records cascades deeper than "
                               f"{MAX_CASCADE_DEPTH} levels", "DELETE_FAILED")
            following = []
            for parent_name, parent_ids in frontier:
                for child, fdef in self.catalog.children.get(parent_name, []):
                    if fdef.on_delete != "cascade":
                        continue
                    taken = doomed.setdefault(child.name, {})
                    rows = [r for r in self._select(child, {fdef.name: parent_ids})
                            if r["Id"] not in taken]
                    if rows and child.name in UNDELETABLE:
                        raise OrgError(f"{parent_name} record {rows[0][fdef.name]} cannot be "
                                       f"deleted: deleting it would delete {child.name} record "
                                       f"{rows[0]['Id']}, and {UNDELETABLE[child.name]}",
                                       "DELETE_FAILED")
                    taken.update((r["Id"], r) for r in rows)
                    if rows:
                        following.append((child.name, [r["Id"] for r in rows]))
            frontier = following
        return {name: rows for name, rows in doomed.items() if rows}

    def _lookups_to_clear(self, doomed: Doomed) -> dict[str, dict[str, set[str]]]:
        """Object → record Id → its fields that point at a deleted record and must be cleared;
        DELETE_FAILED when a field restricts the delete or is required."""
        clears: dict[str, dict[str, set[str]]] = {}
        for name, rows in doomed.items():
            for child, fdef in self.catalog.children.get(name, []):
                if fdef.on_delete == "cascade":
                    continue
                gone = doomed.get(child.name, {})
                referring = [r for r in self._select(child, {fdef.name: list(rows)},
                                                     ("Id", fdef.name)) if r["Id"] not in gone]
                if not referring:
                    continue
                if fdef.on_delete == "restrict" or fdef.required:
                    raise _restricted(name, child, fdef, referring[0])
                for row in referring:
                    clears.setdefault(child.name, {}).setdefault(row["Id"], set()).add(fdef.name)
        return clears

    def _clear(self, info: ObjectInfo, fields_by_id: dict[str, set[str]]) -> None:
        olds = self._fetch_rows(info, fields_by_id)
        rows: list[Change] = []
        for record_id, names in fields_by_id.items():
            old = olds[record_id]
            new = {**old, **dict.fromkeys(names)}
            self._calculate(info, new)
            rows.append((old, new))
        written = {name for names in fields_by_id.values() for name in names}
        self._finish_batch(info, self._write_rows(info, rows, written))


def _restricted(name: str, child: ObjectInfo, fdef: FieldDef, row: Row) -> OrgError:
    why = "a lookup that restricts deletion" if fdef.on_delete == "restrict" else \
        "a required field, which cannot be cleared"
    error = FieldError(child.name, fdef.name, f"refers to {name} record {row[fdef.name]}, which "
                       f"cannot be deleted while {child.name} record {row['Id']} refers to it "
                       f"({fdef.name} is {why})", "DELETE_FAILED")
    return error


def _unlinked(info: ObjectInfo, row: Row) -> Row:
    """A deleted record as roll-up bookkeeping sees it: pointing at no parent any more."""
    return {**row, **{f.name: None for f in info.stored if f.reference_to is not None}}
