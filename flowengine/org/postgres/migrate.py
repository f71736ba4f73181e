"""Keeping a PostgreSQL org schema in step with the object schemas.

The store lives in one schema of a database (`public` unless the URL says `?schema=NAME`): a
table per stored object (platform events have none), a column per field (`columns`); new
objects and fields are added (ALTER TABLE ADD COLUMN, filled with the field's default), never
dropped. Indexes follow `indexed_fields`: lookups on the column, text fields on their folded
value (`columns.fold`). A meta table records the format version, a schema version that counts
changes, the catalog's `schema_fingerprint` (when it changes, every calculated and rolled-up
value is recomputed) and the collation that folds text. A new store gets its default records
(`flowengine.org.system.BOOTSTRAP`). Beside them: the deleted Ids, the Id counters, and the
platform events with what their subscribers have still to process (`EVENT_TABLES`).

Format versions: 1 without the event tables; 2 adds them (created when a version-1 store is
opened).

Many processes may open a store at once: the check runs without locking, and a migration takes
a transaction-level advisory lock first, then looks again, so only one of them migrates.
"""
from __future__ import annotations

import datetime as _dt
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, Final

from flowengine.errors import OrgError
from flowengine.org.catalog import Catalog, ObjectInfo, indexed_fields, schema_fingerprint
from flowengine.org.fieldtypes import holds_id
from flowengine.org.postgres.columns import ID_TYPE, column_type, fold, quoted
from flowengine.org.schema import FieldDef
from flowengine.org.system import DEFAULT_USER_ID, RUNNING_USER, SYSTEM_FIELD_NAMES, AutoNumber
from flowengine.types import TEXT_LIKE

if TYPE_CHECKING:
    import psycopg

__all__ = ["CURSORS", "DELETED", "EVENTS", "EVENT_TABLES", "FORMAT_VERSION", "ID_COUNTERS",
           "INTERVIEWS", "META", "PENDING", "SUBSCRIBERS", "Layout", "migrate"]

FORMAT_VERSION: Final = 2
META: Final = "_flowengine_meta"
ID_COUNTERS: Final = "_flowengine_ids"
DELETED: Final = "_flowengine_deleted"
# platform events and the automation log (`flowengine.org.eventbus`); on a server many workers
# share the events, so each subscriber's unprocessed events are rows of PENDING (one per
# subscriber and event, written when the event is published or the subscriber first claims),
# which a worker claims with FOR UPDATE SKIP LOCKED and deletes as it processes them
EVENTS: Final = "_flowengine_events"
CURSORS: Final = "_flowengine_cursors"
INTERVIEWS: Final = "_flowengine_interviews"
SUBSCRIBERS: Final = "_flowengine_subscribers"
PENDING: Final = "_flowengine_pending"
EVENT_TABLES: Final = {
    EVENTS: "(replay_id bigint PRIMARY KEY, event text NOT NULL, published text NOT NULL, "
            "payload text NOT NULL)",
    CURSORS: "(subscriber text PRIMARY KEY, replay_id bigint NOT NULL)",
    INTERVIEWS: "(number bigserial PRIMARY KEY, entry text NOT NULL)",
    SUBSCRIBERS: "(subscriber text PRIMARY KEY, event text NOT NULL)",
    PENDING: "(subscriber text NOT NULL, replay_id bigint NOT NULL, "
             "PRIMARY KEY (subscriber, replay_id))",
}
_FOLDING: Final = "und-x-icu"     # ICU's root collation: lower() folds every letter
Hook = Callable[["psycopg.Connection[Any]", str], None]   # (connection, fold collation)


class Layout:
    """What is in the store's schema now: tables → columns, index names, meta values."""

    def __init__(self, conn: psycopg.Connection[Any], schema: str) -> None:
        self.columns: dict[str, set[str]] = {}
        for table, column in conn.execute(
                "SELECT c.relname, a.attname FROM pg_attribute a JOIN pg_class c ON c.oid = "
                "a.attrelid JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = %s "
                "AND c.relkind = 'r' AND a.attnum > 0 AND NOT a.attisdropped", (schema,)):
            self.columns.setdefault(table, set()).add(column)
        self.indexes = {r[0] for r in conn.execute(
            "SELECT indexname FROM pg_indexes WHERE schemaname = %s", (schema,))}
        self.meta: dict[str, str] = dict(conn.execute(
            f"SELECT key, value FROM {META}").fetchall()) if META in self.columns else {}

    @property
    def is_store(self) -> bool:
        return META in self.columns


def _index(info: ObjectInfo, fdef: FieldDef, collation: str) -> tuple[str, str]:
    name = f"{info.name}__{fdef.name}"
    column = quoted(fdef.name)
    if fdef.type.kind in TEXT_LIKE and not holds_id(fdef):
        column = f"({fold(column, collation)})"
    return name, f"CREATE INDEX IF NOT EXISTS {quoted(name)} ON {quoted(info.name)} ({column})"


def _columns_of(info: ObjectInfo) -> dict[str, str]:
    columns = {"Id": f"{ID_TYPE} PRIMARY KEY"}
    for fdef in info.schema.fields:
        columns[fdef.name] = column_type(fdef)
    return columns


def up_to_date(layout: Layout, catalog: Catalog, location: str, fingerprint: str) -> bool:
    """Whether the schema holds every table, column and index of `catalog`, at its
    `fingerprint` (`schema_fingerprint`)."""
    _check_format(layout.meta, location)
    meta = layout.meta
    if meta.get("schema_fingerprint") != fingerprint or \
            "bootstrapped" not in meta or DELETED not in layout.columns or \
            not set(EVENT_TABLES) <= set(layout.columns) or \
            int(meta.get("format_version", 0)) < FORMAT_VERSION:
        return False
    collation = meta.get("fold_collation", "default")
    for name, info in catalog.objects.items():
        if info.schema.is_event:
            continue
        if not set(_columns_of(info)) <= layout.columns.get(name, set()):
            return False
        if any(_index(info, f, collation)[0] not in layout.indexes for f in indexed_fields(info)):
            return False
    return True


def migrate(conn: psycopg.Connection[Any], schema: str, catalog: Catalog, location: str,
            recompute: Hook, bootstrap: Hook) -> str:
    """Create the schema and its missing tables, columns and indexes, then (when the schemas
    changed) call `recompute` in the same transaction, and on a new store `bootstrap` (both
    with the connection and the collation that folds text). Returns that collation. `conn`
    is in autocommit mode; raises psycopg.Error or OrgError."""
    layout = Layout(conn, schema)
    fingerprint = schema_fingerprint(catalog)
    if up_to_date(layout, catalog, location, fingerprint):
        return layout.meta.get("fold_collation", "default")
    conn.execute("BEGIN")
    try:
        conn.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", (f"flowengine:{schema}",))
        # DDL without parameters travels as one string of statements: one round trip
        conn.execute(f"CREATE SCHEMA IF NOT EXISTS {quoted(schema)}; "
                     f"CREATE TABLE IF NOT EXISTS {META} (key text PRIMARY KEY, value text "
                     f"NOT NULL); CREATE TABLE IF NOT EXISTS {ID_COUNTERS} (key_prefix "
                     f"{ID_TYPE} PRIMARY KEY, next bigint NOT NULL); CREATE TABLE IF NOT "
                     f'EXISTS {DELETED} ("Id" {ID_TYPE} PRIMARY KEY, object text NOT NULL); '
                     + "; ".join(f"CREATE TABLE IF NOT EXISTS {table} {definition}"
                                 for table, definition in EVENT_TABLES.items())
                     + f"; CREATE INDEX IF NOT EXISTS {EVENTS}__event ON {EVENTS} "
                       "(event, replay_id)")
        layout = Layout(conn, schema)          # as it is now that this process holds the lock
        meta = layout.meta
        _check_format(meta, location)
        collation = meta.get("fold_collation") or _folding_collation(conn)
        statements: list[str] = []
        for name, info in catalog.objects.items():
            if not info.schema.is_event:
                statements += _migrate_table(conn, catalog, info, layout.columns.get(name, set()),
                                             collation)
        if statements:
            conn.execute("; ".join(statements))
        if meta.get("schema_fingerprint") != fingerprint:
            recompute(conn, collation)
            _set_meta(conn, "schema_version", str(int(meta.get("schema_version", 0)) + 1))
            _set_meta(conn, "schema_fingerprint", fingerprint)
        if "bootstrapped" not in meta:
            bootstrap(conn, collation)
            _set_meta(conn, "bootstrapped", "1")
        _set_meta(conn, "fold_collation", collation)
        _set_meta(conn, "format_version", str(FORMAT_VERSION))
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")
    return collation


def _migrate_table(conn: psycopg.Connection[Any], catalog: Catalog, info: ObjectInfo,
                   existing: set[str], collation: str) -> list[str]:
    """Add a table's missing columns (filled now) and return the statements that create the
    table, if it is new, and its indexes."""
    wanted = _columns_of(info)
    statements = []
    if not existing:
        columns = ", ".join(f"{quoted(c)} {t}" for c, t in wanted.items())
        statements.append(f"CREATE TABLE {quoted(info.name)} ({columns})")
    else:
        for column, sql in wanted.items():
            if column not in existing:
                conn.execute(f"ALTER TABLE {quoted(info.name)} ADD COLUMN {quoted(column)} {sql}")
                _fill(conn, catalog, info, column)
    return statements + [_index(info, fdef, collation)[1] for fdef in indexed_fields(info)]


def _folding_collation(conn: psycopg.Connection[Any]) -> str:
    """ICU's root collation where the server has it (lower() then folds every letter whatever
    the database's locale), else the database's own."""
    found = conn.execute("SELECT 1 FROM pg_collation WHERE collname = %s", (_FOLDING,)).fetchone()
    return _FOLDING if found else "default"


def _check_format(meta: Mapping[str, str], location: str) -> None:
    version = int(meta.get("format_version", FORMAT_VERSION))
    if version > FORMAT_VERSION:
        raise OrgError(f"the org store {location} has format version {version}; this flowengine "
                       f"reads version {FORMAT_VERSION} (upgrade flowengine)", "ORG_STORE")


def _fill(conn: psycopg.Connection[Any], catalog: Catalog, info: ObjectInfo, column: str) -> None:
    """Give the records a new column's value: a system field the time of the migration and
    the default user, any other field its default."""
    fdef = info.by_name[column]
    if fdef.is_computed:
        return
    value: object = None
    if fdef.name in SYSTEM_FIELD_NAMES and fdef.default is None:
        value = DEFAULT_USER_ID if fdef.reference_to else \
            _dt.datetime.now(_dt.UTC).replace(microsecond=0)
    elif fdef.default is RUNNING_USER:
        value = DEFAULT_USER_ID
    elif fdef.default is not None and not isinstance(fdef.default, AutoNumber):
        value = catalog.convert(info, fdef, fdef.default)
    if value is not None:
        conn.execute(f"UPDATE {quoted(info.name)} SET {quoted(column)} = %s", (value,))


def _set_meta(conn: psycopg.Connection[Any], key: str, value: str) -> None:
    conn.execute(f"INSERT INTO {META} (key, value) VALUES (%s, %s) ON CONFLICT (key) DO UPDATE "
                 "SET value = EXCLUDED.value", (key, value))
