"""Keeping a SQLite org file in step with the object schemas.

A table per object and a column per field; new objects and fields are added (ALTER TABLE ADD
COLUMN, filled with the field's default), never dropped — a field a plug-in no longer declares is
ignored. A meta table records the file's format version, a schema version that counts changes,
and the catalog's `schema_fingerprint` (types, roll-ups, calculation code); when the fingerprint
changes, every calculated and rolled-up value is recomputed.
"""
from __future__ import annotations

import sqlite3
from collections.abc import Callable, Mapping
from typing import Final

from flowengine.errors import OrgError
from flowengine.org.catalog import Catalog, ObjectInfo, schema_fingerprint
from flowengine.org.schema import FieldDef
from flowengine.org.sqlite.codecs import ObjectCodec, sql_type

__all__ = ["FORMAT_VERSION", "ID_COUNTERS", "META", "apply_schema", "migrate"]

FORMAT_VERSION: Final = 1          # layout of the file itself (meta tables, encodings)
META: Final = "_flowengine_meta"
ID_COUNTERS: Final = "_flowengine_ids"


def migrate(conn: sqlite3.Connection, catalog: Catalog, location: str,
            recompute: Callable[[sqlite3.Connection], None]) -> None:
    """Create missing tables, columns and indexes, then (when the schemas changed) call
    `recompute` inside the same transaction. Checked without locking first, so an up-to-date
    store opens without waiting for a writer. Raises sqlite3.Error or OrgError."""
    fingerprint = schema_fingerprint(catalog)
    if _up_to_date(conn, catalog, location, fingerprint):
        return
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("BEGIN IMMEDIATE")
    apply_schema(conn, catalog, location, recompute)
    conn.execute("COMMIT")


def apply_schema(conn: sqlite3.Connection, catalog: Catalog, location: str,
                 recompute: Callable[[sqlite3.Connection], None]) -> None:
    """The work of `migrate` inside the caller's write transaction (`wipe` drops the tables and
    creates them again in one)."""
    fingerprint = schema_fingerprint(catalog)
    conn.execute(f"CREATE TABLE IF NOT EXISTS {META} (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
    conn.execute(f"CREATE TABLE IF NOT EXISTS {ID_COUNTERS} "
                 "(key_prefix TEXT PRIMARY KEY, next INTEGER NOT NULL)")
    meta = dict(conn.execute(f"SELECT key, value FROM {META}").fetchall())
    _check_format(meta, location)
    for name, info in catalog.objects.items():
        existing = _columns(conn, name)
        if not existing:
            columns = ['"Id" TEXT PRIMARY KEY NOT NULL'] + [
                f'"{f.name}" {sql_type(f)}' for f in info.schema.fields]
            conn.execute(f'CREATE TABLE "{name}" ({", ".join(columns)})')
        for fdef in info.schema.fields:
            if existing and fdef.name not in existing:
                conn.execute(f'ALTER TABLE "{name}" ADD COLUMN "{fdef.name}" {sql_type(fdef)}')
                _fill_default(conn, catalog, info, fdef)
            if fdef.reference_to is not None:
                conn.execute(f'CREATE INDEX IF NOT EXISTS "{name}__{fdef.name}" '
                             f'ON "{name}" ("{fdef.name}")')
    if meta.get("schema_fingerprint") != fingerprint:
        recompute(conn)
        _set_meta(conn, "schema_version", str(_number(meta, "schema_version", 0, location) + 1))
        _set_meta(conn, "schema_fingerprint", fingerprint)
    _set_meta(conn, "format_version", str(FORMAT_VERSION))


def _up_to_date(conn: sqlite3.Connection, catalog: Catalog, location: str,
                fingerprint: str) -> bool:
    tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    if META not in tables:
        return False
    meta = dict(conn.execute(f"SELECT key, value FROM {META}").fetchall())
    _check_format(meta, location)
    if meta.get("schema_fingerprint") != fingerprint:
        return False
    return all(name in tables and set(info.columns) <= _columns(conn, name)
               for name, info in catalog.objects.items())


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


def _fill_default(conn: sqlite3.Connection, catalog: Catalog, info: ObjectInfo,
                  fdef: FieldDef) -> None:
    if fdef.default is None or fdef.is_computed:
        return
    value = ObjectCodec(info).encode_value(fdef.name, catalog.convert(info, fdef, fdef.default))
    conn.execute(f'UPDATE "{info.name}" SET "{fdef.name}" = ?', (value,))


def _columns(conn: sqlite3.Connection, table: str) -> set[str]:
    return {row[1] for row in conn.execute(f'PRAGMA table_info("{table}")')}


def _set_meta(conn: sqlite3.Connection, key: str, value: str) -> None:
    conn.execute(f"INSERT OR REPLACE INTO {META} (key, value) VALUES (?, ?)", (key, value))
