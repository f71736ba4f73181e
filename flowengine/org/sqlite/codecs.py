"""How field values are kept in SQLite: exact text for numbers, ISO text for dates, 0/1 for Booleans.

SQLite has no decimal type, and its REAL would round amounts (it keeps about 16 significant
digits; a Number holds 18), so numbers are stored as their exact text. Beside each Number and
Currency column the store keeps a sort key (`"Amount#n"`, see `numeric_key`): text that sorts
as the numbers do and is equal exactly when the numbers are, so comparisons, ranges, IN lists
and ORDER BY on numbers run in SQL, exactly, and can use an index. The codecs are chosen once
per field, so reading and writing rows only moves values.
"""
from __future__ import annotations

import datetime as _dt
import functools
import operator
from collections.abc import Callable, Iterable, Mapping, Sequence
from decimal import Decimal
from itertools import repeat
from typing import Any, Final

from flowengine.errors import OrgError
from flowengine.org.catalog import Catalog, ObjectInfo
from flowengine.org.schema import FieldDef
from flowengine.types import NUMERIC, format_decimal, text_of

__all__ = ["KEY_SUFFIX", "ObjectCodec", "codecs_for", "key_column", "number_columns",
           "numeric_key", "sql_type"]

KEY_SUFFIX: Final = "#n"       # no field name has a '#': a key column never meets a field
_EXPONENT_BIAS: Final = 5000   # numbers' exponents stay within ±1,000 (types.NUMBER_CONTEXT)

Encoder = Callable[[Any], Any]
Decoder = Callable[[Any], Any]
Row = dict[str, Any]


@functools.lru_cache(maxsize=1024)   # records created together share their timestamps
def _decode_datetime(raw: str) -> _dt.datetime:
    text = raw[:-1] + "+00:00" if raw.endswith("Z") else raw
    return _dt.datetime.fromisoformat(text).astimezone(_dt.UTC)


def _decode_number(raw: Any) -> Decimal:
    return Decimal(str(raw))


class _DateTimeText:
    """DateTime values as text, remembering the last one: a batch stamps every record with the
    same CreatedDate, LastModifiedDate and SystemModstamp. (The pair is replaced in one
    assignment: transactions in other threads share the codec.)"""

    def __init__(self) -> None:
        self.memo: tuple[_dt.datetime | None, str] = (None, "")

    def __call__(self, value: _dt.datetime) -> str:
        last, text = self.memo
        if value is not last:
            text = text_of(value)
            self.memo = (value, text)
        return text


_NUMBER_CODEC: Final = (format_decimal, _decode_number)
_CODECS: Final[dict[str, tuple[Encoder, Decoder]]] = {
    "Number": _NUMBER_CODEC,
    "Currency": _NUMBER_CODEC,
    "Boolean": (lambda v: 1 if v else 0, lambda raw: bool(raw)),
    "Date": (lambda v: v.isoformat(), lambda raw: _dt.date.fromisoformat(raw)),
    "DateTime": (text_of, _decode_datetime),
    "Time": (lambda v: v.isoformat(), lambda raw: _dt.time.fromisoformat(raw)),
}


def numeric_key(value: Decimal) -> str:
    """Text that sorts as numbers do, equal for equal numbers (2.50 and 2.5): a sign class
    (0 negative, 1 zero, 2 positive), the 4-digit biased exponent of the first significant
    digit, then the significant digits. A negative number inverts exponent and digits, and
    ends with "~" so that a longer magnitude sorts first."""
    if not value:
        return "1"
    mantissa, _, exponent = format(value, "E").partition("E")   # -2.50E+1
    return _signed_key(mantissa[0] == "-", int(exponent),
                       mantissa.replace(".", "").lstrip("-").rstrip("0"))


def _signed_key(negative: bool, exponent: int, digits: str) -> str:
    """`numeric_key` of a number other than zero from its sign, the exponent of its first
    significant digit and its significant digits."""
    biased = exponent + _EXPONENT_BIAS
    if not negative:
        return f"2{biased:04d}{digits}"
    return f"0{9999 - biased:04d}{digits.translate(_NINES)}~"


_NINES: Final = str.maketrans("0123456789", "9876543210")


def number_columns(column: Iterable[Any]) -> tuple[list[str | None], list[str | None]]:
    """`format_decimal` and `numeric_key` of each value of a column (None stays None), in one
    pass: for a finite Decimal other than zero (the common case) the key's digits are those of
    the plain text, and its exponent `adjusted()`, instead of formatting the number again."""
    texts: list[str | None] = []
    keys: list[str | None] = []
    text_of_, key_of = texts.append, keys.append
    for value in column:
        if value is None:
            text_of_(None)
            key_of(None)
        elif value.__class__ is not Decimal or not value.is_finite() or value.is_zero():
            text_of_(format_decimal(value))
            key_of(numeric_key(value))
        else:
            text = format(value, "f")
            text_of_(text)
            key_of(_signed_key(text[0] == "-", value.adjusted(),
                               text.replace(".", "").lstrip("-0").rstrip("0")))
    return texts, keys


def key_column(name: str) -> str:
    """The sort-key column of a Number or Currency field."""
    return name + KEY_SUFFIX


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
            if fdef.type.kind == "DateTime":
                self.encoders[fdef.name] = _DateTimeText()
        self.numeric = frozenset(f.name for f in info.schema.fields if f.type.kind in NUMERIC)
        # columns written together → (column, its encoder or None for text, whether a number)
        self._plans: dict[tuple[str, ...], tuple[tuple[str, Encoder | None, bool], ...]] = {}

    def encode(self, record: Mapping[str, Any], columns: Iterable[str]) -> list[Any]:
        """The values of `columns` of a record, as SQL parameters."""
        return [None if record[c] is None else self.encoders[c](record[c]) for c in columns]

    def stored_columns(self, columns: Iterable[str]) -> list[str]:
        """The SQL columns that hold `columns`: each number's sort key follows it."""
        return [sql for c in columns for sql in ((c, key_column(c)) if c in self.numeric
                                                   else (c,))]

    def encode_stored(self, record: Mapping[str, Any], columns: tuple[str, ...]) -> list[Any]:
        """The values of `stored_columns(columns)` of a record, as SQL parameters."""
        plan = self._plans.get(columns)
        if plan is None:
            plan = self._plans[columns] = tuple(
                (c, None if self.encoders[c] is str else self.encoders[c], c in self.numeric)
                for c in columns)
        values: list[Any] = []
        append = values.append
        for name, encode, numeric in plan:
            value = record[name]
            if value is None:
                append(None)
                if numeric:
                    append(None)
                continue
            append(value if encode is None else encode(value))
            if numeric:
                append(numeric_key(value))
        return values

    def encode_rows(self, rows: Sequence[Row], columns: Sequence[str],
                    literals: dict[str, str] | None = None
                    ) -> tuple[list[str], Iterable[tuple[Any, ...]]]:
        """The SQL columns and parameters to insert `rows` with, worked out a column at a time:
        only the columns some row gives a value (a column left out is null: no column has a
        default in SQL, and binding a null costs Python's sqlite3 several times what binding
        text does), text as it is, the others through their encoders, each number followed by
        its sort key. With `literals`, a column that holds the same value (the same object) in
        every row — the batch's timestamps, its user — goes there instead, as an SQL literal
        (column → literal): binding it for each row would cost more than the rest."""
        if not rows:
            return [], []
        count = len(rows)
        fetch = operator.itemgetter(*columns) if len(columns) > 1 else \
            (lambda record: (record[columns[0]],))
        sql: list[str] = []
        values: list[Iterable[Any]] = []
        for name, column in zip(columns, zip(*map(fetch, rows))):
            if column.count(None) == count:
                continue
            encoder = self.encoders[name]
            first = column[0]
            if literals is not None and count > 1 and first is not None and name != "Id" \
                    and name not in self.numeric and all(map(operator.is_, column, repeat(first))):
                literal = _literal(first if encoder is str else encoder(first))
                if literal is not None:
                    literals[name] = literal
                    continue
            sql.append(name)
            if encoder is str:
                values.append(column)
                continue
            if first is not None and all(map(operator.is_, column, repeat(first))):
                # the same value in every row (the batch's timestamps): encoded once
                values.append(repeat(encoder(first), count))
                if name in self.numeric:
                    sql.append(key_column(name))
                    values.append(repeat(numeric_key(first), count))
                continue
            if encoder is format_decimal and name in self.numeric:
                texts, keys = number_columns(column)
                values.append(texts)
                sql.append(key_column(name))
                values.append(keys)
                continue
            values.append([None if v is None else encoder(v) for v in column])
            if name in self.numeric:
                sql.append(key_column(name))
                values.append([None if v is None else numeric_key(v) for v in column])
        if not sql:
            return sql, [()] * count
        return sql, zip(*values)

    def encode_value(self, column: str, value: Any) -> Any:
        """One value of `column` as an SQL parameter."""
        return None if value is None else self.encoders[column](value)

    def row_decoder(self, names: Sequence[str]) -> Callable[[Sequence[Any]], Row]:
        """Stored rows of the columns `names` as record dicts, with the per-column work chosen
        once: text is read back as it is, numbers' exact text becomes a Decimal, the rest goes
        through its decoder. Columns that no field describes any more are dropped."""
        keep = [i for i, name in enumerate(names) if name in self.decoders]
        columns = [names[i] for i in keep]
        steps = [None if self.decoders[n] is str else Decimal
                 if self.decoders[n] is _decode_number else self.decoders[n] for n in columns]
        damage = (ArithmeticError, ValueError, TypeError, AttributeError)
        if len(keep) == len(names):
            def decode(row: Sequence[Any]) -> Row:
                try:
                    return {name: raw if raw is None or step is None else step(raw)
                            for name, raw, step in zip(columns, row, steps)}
                except damage:
                    raise self.damaged(names, row) from None
            return decode

        def decode_kept(row: Sequence[Any]) -> Row:
            try:
                return {name: raw if raw is None or step is None else step(raw)
                        for name, raw, step in zip(columns, (row[i] for i in keep), steps)}
            except damage:
                raise self.damaged(names, row) from None
        return decode_kept

    def damaged(self, names: Sequence[str], row: Sequence[Any]) -> OrgError:
        """A stored value that does not decode: the file was changed behind flowengine's back."""
        record_id = row[list(names).index("Id")] if "Id" in names else "?"
        index = next((i for i, name in enumerate(names) if name in self.decoders
                      and row[i] is not None and not _decodes(self.decoders[name], row[i])), 0)
        name = names[index]
        fdef = self.info.schema.field(name)
        kind = fdef.type if fdef is not None else "value"
        return OrgError(f"the org store is damaged: {self.info.name} {record_id} field {name} "
                        f"holds {str(row[index])[:40]!r}, which is not a valid {kind} (fix or "
                        "delete the record, or recreate the store)", "ORG_STORE")


def _literal(value: Any) -> str | None:
    """An encoded value as an SQL literal: whole numbers and ASCII text without NUL (None for
    anything else, which is bound instead)."""
    if value.__class__ is int:
        return str(value)
    if value.__class__ is str and value.isascii() and "\x00" not in value:
        return "'" + value.replace("'", "''") + "'"
    return None


def _decodes(decoder: Decoder, raw: Any) -> bool:
    try:
        decoder(raw)
    except (ArithmeticError, ValueError, TypeError, AttributeError):
        return False
    return True


def codecs_for(catalog: Catalog) -> dict[str, ObjectCodec]:
    """Object name → its codec, for every object of `catalog`."""
    return {name: ObjectCodec(info) for name, info in catalog.objects.items()}
