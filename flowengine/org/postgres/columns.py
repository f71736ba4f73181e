"""How field values are kept in PostgreSQL: each field in a column of its own type.

Numbers are `numeric` (exact decimals that compare and sort by value, so no sort-key columns
are needed as in SQLite), Booleans `boolean`, dates `date`, date-times `timestamptz` (read in
UTC), times `time`, everything else `text`. Ids and references are `text COLLATE "C"`: they
compare and sort byte by byte, as SQLite sorts them. Text compares ignoring case through
`fold`: `lower(column)` under a collation that folds every letter, compared byte by byte; the
store indexes that expression, so case-insensitive equality and prefix searches use an index.
"""
from __future__ import annotations

import datetime as _dt
from collections.abc import Callable, Sequence
from typing import Any, Final

from flowengine.org.catalog import ObjectInfo
from flowengine.org.fieldtypes import holds_id
from flowengine.org.schema import FieldDef

__all__ = ["ID_TYPE", "ObjectColumns", "array_type", "column_type", "fold", "quoted"]

ID_TYPE: Final = 'text COLLATE "C"'
_TYPES: Final = {"Number": "numeric", "Currency": "numeric", "Boolean": "boolean",
                 "Date": "date", "DateTime": "timestamptz", "Time": "time"}
Row = dict[str, Any]


def quoted(name: str) -> str:
    """An SQL identifier (names are letters, digits and underscores: the catalog checks)."""
    return '"' + name.replace('"', '""') + '"'


def column_type(fdef: FieldDef | None) -> str:
    """The column type of a field (None: the Id)."""
    if fdef is None or holds_id(fdef):
        return ID_TYPE
    return _TYPES.get(fdef.type.kind, "text")


def array_type(fdef: FieldDef | None) -> str:
    """The array type that a list of the field's values travels as (`= ANY(%s::text[])`)."""
    return column_type(fdef).split(" ")[0] + "[]"


def fold(column_sql: str, collation: str) -> str:
    """Text as it compares ignoring case: lower case under `collation` (one that folds every
    letter), then compared byte by byte, as SQLite's NOCASE compares."""
    within = "" if collation == "default" else f" COLLATE {quoted(collation)}"
    return f'lower({column_sql}{within}) COLLATE "C"'


def _second(value: _dt.datetime) -> _dt.datetime:
    # stored to the second, as the SQLite store keeps them
    return value.replace(microsecond=0) if value.microsecond else value


def _utc(value: _dt.datetime) -> _dt.datetime:
    return value.astimezone(_dt.UTC)


class ObjectColumns:
    """The columns of one object's table, with the few values that need converting on the way
    in (date-times, to the second) and out (date-times, in UTC)."""

    def __init__(self, info: ObjectInfo) -> None:
        self.info = info
        self.date_times = frozenset(f.name for f in info.schema.fields
                                    if f.type.kind == "DateTime")

    def values(self, record: Row, columns: Sequence[str]) -> list[Any]:
        """A record's values of `columns`, as SQL parameters."""
        if not self.date_times:
            return [record[c] for c in columns]
        return [_second(record[c]) if c in self.date_times and record[c] is not None
                else record[c] for c in columns]

    def column_values(self, rows: Sequence[Row], columns: Sequence[str]) -> list[list[Any]]:
        """For each of `columns`, its values in `rows` (for `unnest` of one array a column)."""
        by_row = [self.values(row, columns) for row in rows]
        return [list(values) for values in zip(*by_row)] if by_row else [[] for _ in columns]

    def row_decoder(self, names: Sequence[str]) -> Callable[[Sequence[Any]], Row]:
        """Stored rows of the columns `names` as record dicts."""
        names = tuple(names)
        moved = [i for i, name in enumerate(names) if name in self.date_times]
        if not moved:
            return lambda row: dict(zip(names, row))

        def decode(row: Sequence[Any]) -> Row:
            record = dict(zip(names, row))
            for i in moved:
                if row[i] is not None:
                    record[names[i]] = _utc(row[i])
            return record
        return decode
