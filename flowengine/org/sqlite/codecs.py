"""How field values are kept in SQLite: exact text for numbers, ISO text for dates, 0/1 for Booleans.

SQLite has no decimal type, and its REAL would round amounts; numbers are stored as their exact
text instead, which is also why `flowengine.org.sqlite.transaction` compares Number filters in
Python rather than in SQL. The codecs are chosen once per field, so reading and writing rows only
moves values.
"""
from __future__ import annotations

import datetime as _dt
from collections.abc import Callable, Iterable, Mapping, Sequence
from decimal import Decimal
from typing import Any, Final

from flowengine.errors import OrgError
from flowengine.org.catalog import Catalog, ObjectInfo
from flowengine.org.schema import FieldDef
from flowengine.types import format_decimal, text_of

__all__ = ["ObjectCodec", "codecs_for", "sql_type"]

Encoder = Callable[[Any], Any]
Decoder = Callable[[Any], Any]
Row = dict[str, Any]


def _decode_datetime(raw: str) -> _dt.datetime:
    text = raw[:-1] + "+00:00" if raw.endswith("Z") else raw
    return _dt.datetime.fromisoformat(text).astimezone(_dt.UTC)


def _decode_number(raw: Any) -> Decimal:
    return Decimal(str(raw))


_NUMBER_CODEC: Final = (format_decimal, _decode_number)
_CODECS: Final[dict[str, tuple[Encoder, Decoder]]] = {
    "Number": _NUMBER_CODEC,
    "Currency": _NUMBER_CODEC,
    "Boolean": (lambda v: 1 if v else 0, lambda raw: bool(raw)),
    "Date": (lambda v: v.isoformat(), lambda raw: _dt.date.fromisoformat(raw)),
    "DateTime": (text_of, _decode_datetime),
    "Time": (lambda v: v.isoformat(), lambda raw: _dt.time.fromisoformat(raw)),
}


def sql_type(fdef: FieldDef) -> str:
    """The SQLite column type of a field."""
    return "INTEGER" if fdef.type.kind == "Boolean" else "TEXT"


class ObjectCodec:
    """The encoders and decoders of one object's columns (Id included)."""

    def __init__(self, info: ObjectInfo) -> None:
        self.info = info
        self.encoders: dict[str, Encoder] = {"Id": str}
        self.decoders: dict[str, Decoder] = {"Id": str}
        for fdef in info.schema.fields:
            self.encoders[fdef.name], self.decoders[fdef.name] = \
                _CODECS.get(fdef.type.kind, (str, str))

    def encode(self, record: Mapping[str, Any], columns: Iterable[str]) -> list[Any]:
        """The values of `columns` of a record, as SQL parameters."""
        return [None if record[c] is None else self.encoders[c](record[c]) for c in columns]

    def encode_value(self, column: str, value: Any) -> Any:
        """One value of `column` as an SQL parameter."""
        return None if value is None else self.encoders[column](value)

    def row_decoder(self, names: Sequence[str]) -> Callable[[Sequence[Any]], Row]:
        """Stored rows of the columns `names` as record dicts, with the per-column work done once
        (text read back as text needs no decoding; numbers read back as text become Decimals
        directly). Columns that no field describes any more are dropped."""
        plan = [(index, name, self.decoders[name]) for index, name in enumerate(names)
                if name in self.decoders]

        def decode(row: Sequence[Any]) -> Row:
            record: dict[str, Any] = {}
            index = 0
            try:
                for index, name, convert in plan:
                    raw = row[index]
                    if raw is None or (convert is str and raw.__class__ is str):
                        record[name] = raw
                    elif convert is _decode_number and raw.__class__ is str:
                        record[name] = Decimal(raw)
                    else:
                        record[name] = convert(raw)
            except (ArithmeticError, ValueError, TypeError, AttributeError):
                raise self.damaged(names, row, index) from None
            return record
        return decode

    def damaged(self, names: Sequence[str], row: Sequence[Any], index: int) -> OrgError:
        """A stored value that does not decode: the file was changed behind flowengine's back."""
        record_id = row[list(names).index("Id")] if "Id" in names else "?"
        name = names[index]
        fdef = self.info.schema.field(name)
        kind = fdef.type if fdef is not None else "value"
        return OrgError(f"the org store is damaged: {self.info.name} {record_id} field {name} "
                        f"holds {str(row[index])[:40]!r}, which is not a valid {kind} (fix or "
                        "delete the record, or recreate the store)", "ORG_STORE")


def codecs_for(catalog: Catalog) -> dict[str, ObjectCodec]:
    """Object name → its codec, for every object of `catalog`."""
    return {name: ObjectCodec(info) for name, info in catalog.objects.items()}
