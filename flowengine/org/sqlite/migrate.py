"""Keeping a SQLite org file in step with the object schemas.

A table per stored object (platform events have none) and a column per field, plus a sort-key
column beside each Number and Currency field (`codecs.numeric_key`); new objects and fields are
added (ALTER TABLE ADD COLUMN, filled with the field's default), never dropped — a field no
schema declares any more is ignored. Indexes follow `indexed_fields`. A meta table records the
file's format version, a schema version that counts changes, and the catalog's
`schema_fingerprint` (types, roll-ups, calculation code); when the fingerprint changes, every
calculated and rolled-up value is recomputed. A new store (or a wiped one) gets its default
records: the running user and its profile (`flowengine.org.system.BOOTSTRAP`).

Format versions: 1 kept numbers as text only; 2 adds the sort-key columns (filled from the
text when a version-1 file is opened), the table of deleted Ids and more indexes; 3 adds the
tables of platform events, subscribers' cursors and the automation log.
"""
from __future__ import annotations

import datetime as _dt
import sqlite3
from collections.abc import Callable, Mapping
from decimal import Decimal
from typing import Final

from flowengine.errors import OrgError
from flowengine.org.catalog import Catalog, ObjectInfo, indexed_fields, schema_fingerprint
from flowengine.org.fieldtypes import holds_id
from flowengine.org.schema import FieldDef
from flowengine.org.sqlite.codecs import KEY_SUFFIX, ObjectCodec, key_column, numeric_key, sql_type
from flowengine.org.system import (
    DEFAULT_USER_ID,
    RUNNING_USER,
    SYSTEM_FIELD_NAMES,
    AutoNumber,
)
from flowengine.types import NUMERIC, TEXT_LIKE, text_of

__all__ = ["CURSORS", "DELETED", "EVENTS", "FORMAT_VERSION", "ID_COUNTERS", "INTERVIEWS", "META",
           "apply_schema", "indexed_fields", "migrate"]

FORMAT_VERSION: Final = 3          # layout of the file itself (meta tables, encodings)
META: Final = "_flowengine_meta"
ID_COUNTERS: Final = "_flowengine_ids"
DELETED: Final = "_flowengine_deleted"
# platform events, subscribers' cursors and the automation log (`flowengine.org.eventbus`)
EVENTS: Final = "_flowengine_events"
CURSORS: Final = "_flowengine_cursors"
INTERVIEWS: Final = "_flowengine_interviews"
_INTERNAL_TABLES: Final = {
    EVENTS: "(replay_id INTEGER PRIMARY KEY, event TEXT NOT NULL, published TEXT NOT NULL, "
            "payload TEXT NOT NULL)",
    CURSORS: "(subscriber TEXT PRIMARY KEY, replay_id INTEGER NOT NULL)",
    INTERVIEWS: "(number INTEGER PRIMARY KEY AUTOINCREMENT, entry TEXT NOT NULL)",
}
Hook = Callable[[sqlite3.Connection], None]


def _index_sql(info: ObjectInfo, fdef: FieldDef) -> tuple[str, str]:
    column = key_column(fdef.name) if fdef.type.kind in NUMERIC else fdef.name
    collate = " COLLATE NOCASE" if fdef.type.kind in TEXT_LIKE and not holds_id(fdef) else ""
    name = f"{info.name}__{fdef.name}"
    return name, f'CREATE INDEX IF NOT EXISTS "{name}" ON "{info.name}" ("{column}"{collate})'


def _columns_of(info: ObjectInfo) -> dict[str, str]:
    """SQL column → its type, for every column of `info`'s table."""
    columns = {"Id": "TEXT PRIMARY KEY NOT NULL"}
    for fdef in info.schema.fields:
        columns[fdef.name] = sql_type(fdef)
        if fdef.type.kind in NUMERIC:
            columns[key_column(fdef.name)] = "TEXT"
    return columns


def migrate(conn: sqlite3.Connection, catalog: Catalog, location: str, recompute: Hook,
            bootstrap: Hook) -> None:
    """Create missing tables, columns and indexes, then (when the schemas changed) call
    `recompute` inside the same transaction, and on a new store `bootstrap`. Checked without
    locking first, so an up-to-date store opens without waiting for a writer. Raises
    sqlite3.Error or OrgError."""
    fingerprint = schema_fingerprint(catalog)
    if _up_to_date(conn, catalog, location, fingerprint):
        return
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("BEGIN IMMEDIATE")
    apply_schema(conn, catalog, location, recompute, bootstrap, fingerprint)
    conn.execute("COMMIT")


def apply_schema(conn: sqlite3.Connection, catalog: Catalog, location: str, recompute: Hook,
                 bootstrap: Hook, fingerprint: str | None = None) -> None:
    """The work of `migrate` inside the caller's write transaction (`wipe` drops the tables and
    creates them again in one); `fingerprint` is the catalog's `schema_fingerprint`, if the
    caller has it already."""
    if fingerprint is None:
        fingerprint = schema_fingerprint(catalog)
    conn.execute(f"CREATE TABLE IF NOT EXISTS {META} (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
    conn.execute(f"CREATE TABLE IF NOT EXISTS {ID_COUNTERS} "
                 "(key_prefix TEXT PRIMARY KEY, next INTEGER NOT NULL)")
    conn.execute(f"CREATE TABLE IF NOT EXISTS {DELETED} "
                 "(Id TEXT PRIMARY KEY NOT NULL, object TEXT NOT NULL)")
    for table, definition in _INTERNAL_TABLES.items():
        conn.execute(f"CREATE TABLE IF NOT EXISTS {table} {definition}")
    meta = dict(conn.execute(f"SELECT key, value FROM {META}").fetchall())
    _check_format(meta, location)
    for name, info in catalog.objects.items():
        if info.schema.is_event:
            continue
        existing = _columns(conn, name)
        wanted = _columns_of(info)
        if not existing:
            columns = [f'"{c}" {t}' for c, t in wanted.items()]
            conn.execute(f'CREATE TABLE "{name}" ({", ".join(columns)})')
        else:
            for column, sql in wanted.items():
                if column not in existing:
                    conn.execute(f'ALTER TABLE "{name}" ADD COLUMN "{column}" {sql}')
                    _fill(conn, catalog, info, column)
        for fdef in indexed_fields(info):
            conn.execute(_index_sql(info, fdef)[1])
    if meta.get("schema_fingerprint") != fingerprint:
        recompute(conn)
        _set_meta(conn, "schema_version", str(_number(meta, "schema_version", 0, location) + 1))
        _set_meta(conn, "schema_fingerprint", fingerprint)
    if "bootstrapped" not in meta:
        bootstrap(conn)
        _set_meta(conn, "bootstrapped", "1")
    _set_meta(conn, "format_version", str(FORMAT_VERSION))


def _up_to_date(conn: sqlite3.Connection, catalog: Catalog, location: str,
                fingerprint: str) -> bool:
    tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    if META not in tables or DELETED not in tables or not set(_INTERNAL_TABLES) <= tables:
        return False
    meta = dict(conn.execute(f"SELECT key, value FROM {META}").fetchall())
    _check_format(meta, location)
    if meta.get("schema_fingerprint") != fingerprint or "bootstrapped" not in meta or \
            _number(meta, "format_version", 0, location) < FORMAT_VERSION:
        return False
    indexes = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='index'")}
    for name, info in catalog.objects.items():
        if info.schema.is_event:
            continue
        if name not in tables or not set(_columns_of(info)) <= _columns(conn, name):
            return False
        if any(_index_sql(info, f)[0] not in indexes for f in indexed_fields(info)):
            return False
    return True


def _number(meta: Mapping[str, str], key: str, default: int, location: str) -> int:
    text = meta.get(key)
    if text is None:
        return default
    try:
        return int(str(text)[:20])
    except ValueError:
        raise OrgError(f"the org store {location} is damaged: its {key} is {str(text)[:40]!r}, "
                       "expected a whole number (delete the file and run 'flowengine org init')",
                       "ORG_STORE") from None


def _check_format(meta: Mapping[str, str], location: str) -> None:
    version = _number(meta, "format_version", FORMAT_VERSION, location)
    if version > FORMAT_VERSION:
        raise OrgError(f"the org store {location} has format version {version}; this flowengine "
                       f"reads version {FORMAT_VERSION} (upgrade flowengine)", "ORG_STORE")


def _fill(conn: sqlite3.Connection, catalog: Catalog, info: ObjectInfo, column: str) -> None:
    """Give the records a new column's value: a number's sort key from its text, a system
    field the time of the migration and the default user, any other field its default."""
    if column.endswith(KEY_SUFFIX):
        field = column[:-len(KEY_SUFFIX)]
        rows = conn.execute(f'SELECT "Id", "{field}" FROM "{info.name}" '
                            f'WHERE "{field}" IS NOT NULL').fetchall()
        conn.executemany(f'UPDATE "{info.name}" SET "{column}" = ? WHERE "Id" = ?',
                         [(numeric_key(Decimal(str(value))), record_id)
                          for record_id, value in rows])
        return
    fdef = info.by_name[column]
    if fdef.is_computed:
        return
    value: object = None
    if fdef.name in SYSTEM_FIELD_NAMES and fdef.default is None:
        value = DEFAULT_USER_ID if fdef.reference_to else \
            text_of(_dt.datetime.now(_dt.UTC).replace(microsecond=0))
    elif fdef.default is RUNNING_USER:
        value = DEFAULT_USER_ID
    elif fdef.default is not None and not isinstance(fdef.default, AutoNumber):
        value = ObjectCodec(info).encode_value(column, catalog.convert(info, fdef, fdef.default))
    if value is None:
        return
    # a number's sort-key column comes after it, and is filled from it when it is added
    conn.execute(f'UPDATE "{info.name}" SET "{column}" = ?', (value,))


def _columns(conn: sqlite3.Connection, table: str) -> set[str]:
    return {row[1] for row in conn.execute(f'PRAGMA table_info("{table}")')}


def _set_meta(conn: sqlite3.Connection, key: str, value: str) -> None:
    conn.execute(f"INSERT OR REPLACE INTO {META} (key, value) VALUES (?, ?)", (key, value))
