"""Roll-up bookkeeping for write batches; backend-neutral.

Every write call of the store (`insert`, `update`, `insert_many`, `update_many`) is one batch.
The batch reports each record it changed (old and new values) to `PendingRollups`, which turns
the changes into work per parent record:

- a roll-up whose value is always exact — a count, or a sum whose child values never carry more
  decimal places than the parent field keeps — is kept up to date *incrementally*: the parent's
  stored value moves by the difference between the child's new and old contribution;
- any other roll-up (a sum that the parent field rounds) is marked for recomputation from the
  children, because a rounded total cannot be corrected by a difference. So is an incremental
  one whose difference or new total would need more than 28 significant digits (Python's
  default decimal precision, which sums from the children use too).

At the end of the batch the store applies the work once: one read of the affected parents, one
read of the children of the parents whose roll-ups are recomputed, one grouped write. The
parents' own changes then feed the next level (roll-ups of roll-ups). So a batch of N child
changes costs O(N), however many children the parents have, and nothing stale is ever visible:
the batch ends before the call returns.
"""
from __future__ import annotations

import decimal
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Final

from flowengine.org.catalog import Catalog, ObjectInfo
from flowengine.org.schema import FieldDef

__all__ = ["PendingRollups", "RollupIndex", "RollupLink", "child_totals", "moved_total"]

# Sums are exact or not done: an inexact step falls back to recomputing from the children.
_EXACT: Final = decimal.Context(prec=28, traps=[decimal.Inexact, decimal.InvalidOperation,
                                                decimal.Overflow])
_NOT_EXACT: Final = (decimal.Inexact, decimal.InvalidOperation, decimal.Overflow)
ZERO: Final = Decimal(0)
ONE: Final = Decimal(1)

Delta = Decimal | None   # None: recompute from the children


@dataclass(frozen=True)
class RollupLink:
    """One roll-up field as its child object sees it."""

    parent: str                          # the parent object
    field: FieldDef                      # the parent's roll-up field
    child: str                           # the child object
    foreign_key: str                     # child field pointing at the parent
    child_field: str | None              # summed child field (None for a count)
    filters: Mapping[str, list[Any]]     # child field → accepted values
    incremental: bool                    # exact, so kept by differences
    relevant: frozenset[str]             # child fields whose change can move the value

    def counts(self, child: Mapping[str, Any]) -> bool:
        """Whether the child matches the roll-up's filter."""
        for name, values in self.filters.items():
            if child.get(name) not in values:
                return False
        return True

    def contribution(self, child: Mapping[str, Any] | None) -> Decimal:
        """What the child adds to its parent's value (0 when it does not count)."""
        if child is None or not self.counts(child):
            return ZERO
        if self.child_field is None:
            return ONE
        value = child.get(self.child_field)
        return ZERO if value is None else value


class RollupIndex:
    """Every roll-up of a catalog, by child object and by parent object."""

    def __init__(self, catalog: Catalog) -> None:
        self._by_child: dict[str, list[RollupLink]] = {}
        self._by_parent: dict[str, dict[str, RollupLink]] = {}
        for info in catalog.objects.values():
            for fdef in info.rollups:
                link = _link(catalog, info, fdef)
                rollup = fdef.rollup
                assert rollup is not None
                self._by_child.setdefault(rollup.child_object, []).append(link)
                self._by_parent.setdefault(info.name, {})[fdef.name] = link

    def of_child(self, child: str) -> list[RollupLink]:
        """The roll-ups that summarise records of `child`."""
        return self._by_child.get(child, [])

    def of_parent(self, parent: str) -> dict[str, RollupLink]:
        """The roll-up fields of `parent`, by field name."""
        return self._by_parent.get(parent, {})


def _link(catalog: Catalog, parent: ObjectInfo, fdef: FieldDef) -> RollupLink:
    rollup = fdef.rollup
    assert rollup is not None
    child = catalog.objects[rollup.child_object]
    summed = rollup.child_field if rollup.op == "sum" else None
    if summed is None:
        incremental = True          # counts are whole numbers
    else:
        parent_scale = fdef.type.effective_scale
        child_scale = child.field(summed).type.effective_scale
        incremental = parent_scale is None or (child_scale is not None
                                               and child_scale <= parent_scale)
    filters = catalog.rollup_filters[(parent.name, fdef.name)]
    relevant = frozenset({rollup.foreign_key, *filters, *([summed] if summed else [])})
    return RollupLink(parent.name, fdef, child.name, rollup.foreign_key, summed, filters,
                      incremental, relevant)


def moved_total(stored: Decimal | None, change: Delta) -> Decimal | None:
    """A stored roll-up value moved by an exact change, or None when the result would not be
    exact — no change known, no stored value, or a stored value as long as the precision allows
    (a sum rounded when it was computed from the children): then recompute it."""
    if change is None or stored is None or len(stored.as_tuple().digits) >= _EXACT.prec:
        return None
    try:
        return _EXACT.add(stored, change)
    except _NOT_EXACT:
        return None


class PendingRollups:
    """Roll-up work collected during one batch: parent object → parent Id → field → the exact
    change of its value, or None when it must be recomputed from the children."""

    def __init__(self, index: RollupIndex) -> None:
        self.index = index
        self.work: dict[str, dict[str, dict[str, Delta]]] = {}

    def __bool__(self) -> bool:
        return bool(self.work)

    def note(self, child: str, changes: Iterable[tuple[Mapping[str, Any] | None,
                                                       Mapping[str, Any]]]) -> None:
        """Record that `child` records changed: (old values, or None when inserted; new values)."""
        links = self.index.of_child(child)
        if not links:
            return
        changes = list(changes)
        try:
            with decimal.localcontext(_EXACT):  # + and - below are exact, or raise
                self._note_changes(links, changes)
        except _NOT_EXACT:
            # a difference too long to keep exactly: recompute every parent touched instead
            for old, new in changes:
                for link in links:
                    for parent_id in {None if old is None else old.get(link.foreign_key),
                                      new.get(link.foreign_key)}:
                        if parent_id is not None:
                            self._fields(link, parent_id)[link.field.name] = None

    def _note_changes(self, links: list[RollupLink],
                      changes: list[tuple[Mapping[str, Any] | None, Mapping[str, Any]]]) -> None:
        watched = frozenset().union(*(link.relevant for link in links))
        for old, new in changes:
            if old is None:
                moved = watched
            else:
                moved = frozenset(n for n in watched if old.get(n) != new.get(n))
                if not moved:
                    continue
            for link in links:
                if moved.isdisjoint(link.relevant):
                    continue
                before = None if old is None else old.get(link.foreign_key)
                after = new.get(link.foreign_key)
                if not link.incremental:
                    for parent_id in {before, after}:
                        if parent_id is not None:
                            self._fields(link, parent_id)[link.field.name] = None
                    continue
                gained, lost = link.contribution(new), link.contribution(old)
                if before == after:
                    self._add(link, after, gained - lost)
                else:
                    self._add(link, before, -lost)
                    self._add(link, after, gained)

    def _fields(self, link: RollupLink, parent_id: str) -> dict[str, Delta]:
        return self.work.setdefault(link.parent, {}).setdefault(parent_id, {})

    def _add(self, link: RollupLink, parent_id: str | None, change: Decimal) -> None:
        if parent_id is None or not change:
            return
        fields = self._fields(link, parent_id)
        name = link.field.name
        if name not in fields:
            fields[name] = change
        elif fields[name] is not None:
            fields[name] += change  # type: ignore[operator]


def child_totals(links: Iterable[RollupLink], rows: Iterable[Mapping[str, Any]]
                 ) -> dict[tuple[str, str], Any]:
    """(parent Id, field) → the roll-up value computed from `rows`, children of one object
    (parents without counted children are absent: their value is 0)."""
    links = list(links)
    totals: dict[tuple[str, str], Any] = {}
    for row in rows:
        for link in links:
            parent_id = row.get(link.foreign_key)
            if parent_id is None or not link.counts(row):
                continue
            key = (parent_id, link.field.name)
            if link.child_field is None:
                totals[key] = totals.get(key, 0) + 1
            elif row.get(link.child_field) is not None:
                totals[key] = totals.get(key, 0) + row[link.child_field]
    return totals
