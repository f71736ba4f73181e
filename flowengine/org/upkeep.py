"""Keeping computed values current: calculated fields and roll-ups, after every write batch.

`RollupUpkeep` writes a batch's changed rows, then brings the roll-ups of every parent the
changes affect up to date, level by level (see `flowengine.org.rollups` for the bookkeeping),
and recomputes everything when a backend's migration asks. Backend-neutral: it reads and
writes through the storage primitives of `flowengine.org.storage.StorageTransaction`.
"""
from __future__ import annotations

import types
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Final

from flowengine.errors import OrgError
from flowengine.org.catalog import FieldError, ObjectInfo
from flowengine.org.rollups import PendingRollups, RollupLink, child_totals, moved_total
from flowengine.org.schema import FieldDef
from flowengine.org.storage import Row, StorageTransaction

__all__ = ["MAX_ROLLUP_DEPTH", "Change", "RollupUpkeep"]

MAX_ROLLUP_DEPTH: Final = 32
Change = tuple[Row, Row]     # (old, new) values of one record


class RollupUpkeep(StorageTransaction):
    """Calculated fields and roll-ups, kept current by every write (see the module docstring)."""

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

    def recompute_all(self) -> None:
        """Recompute every stored roll-up and calculated field (a backend's migration calls it
        when the catalog's fingerprint changed): children before parents, so roll-ups see their
        children's current values."""
        for name in reversed(self.catalog.dependency_order()):
            info = self.catalog.objects[name]
            if info.schema.is_event or (not info.rollups and not info.calculated):
                continue
            olds = self._select(info, {})
            totals = self._totals(info, {f.name: None for f in info.rollups})
            rows = []
            for old in olds:
                new = self._with_totals(info, old, info.rollups, totals)
                self._calculate(info, new)
                rows.append((old, new))
            self._write_rows(info, rows)

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
