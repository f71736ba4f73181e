"""The org store backends the contract suite runs against (imported by `tests/org/`): each
test gets a `Backend` — the target of a new, empty store and the clock its stores read."""
from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

import pytest
from helpers import ORG_SCHEMAS

from flowengine.org import open_org
from flowengine.org.base import OrgStore
from flowengine.org.catalog import Catalog, schema_fingerprint
from flowengine.org.schema import ObjectSchema
from flowengine.org.system import FixedClock

NOW: Final = dt.datetime(2026, 1, 15, 9, 30, tzinfo=dt.UTC)   # the tests' clock starts here


class SchemaPool:
    """Empty PostgreSQL org stores for the contract tests, one schema each in the session's
    database. Creating a store's tables takes a PostgreSQL server far longer than a test takes,
    so a store is emptied after its test and handed to the next test whose objects are the same
    (the same `schema_fingerprint`): to it, the store is as new — no records, no Id counters,
    no deleted Ids, and its default records made again when it is opened."""

    def __init__(self, database_url: str) -> None:
        self.database_url = database_url
        self.free: dict[str, list[str]] = {}
        self.created = 0

    def take(self, schemas: Sequence[ObjectSchema]) -> tuple[str, str]:
        """(fingerprint, URL) of an empty store for these objects (new, or emptied)."""
        from flowengine.org.postgres import PostgresUrl

        fingerprint = schema_fingerprint(Catalog(schemas))
        free = self.free.get(fingerprint)
        if free:
            return fingerprint, free.pop()
        self.created += 1
        return fingerprint, PostgresUrl.parse(self.database_url).with_schema(
            f"contract_{self.created}")

    def give_back(self, fingerprint: str, url: str) -> None:
        """Empty the store and keep it for the next test; drop it when it cannot be emptied
        (a transaction the test left open still holds locks)."""
        from flowengine.org.postgres import PostgresUrl
        from flowengine.org.postgres.store import connect

        target = PostgresUrl.parse(url)
        conn = connect(target)
        try:
            conn.execute("SET lock_timeout = '2s'")
            tables = [r[0] for r in conn.execute(
                "SELECT tablename FROM pg_tables WHERE schemaname = %s AND tablename <> "
                "'_flowengine_meta'", (target.schema,))]
            statements = [f'DELETE FROM "{target.schema}"."{t}"' for t in tables]
            statements.append(f"DELETE FROM \"{target.schema}\"._flowengine_meta WHERE key = "
                              "'bootstrapped'")
            statements.append(f"SELECT setval(pg_get_serial_sequence('\"{target.schema}\"."
                              "_flowengine_interviews', 'number'), 1, false)")
            conn.execute("; ".join(statements))
            self.free.setdefault(fingerprint, []).append(url)
        except Exception:
            conn.execute(f'DROP SCHEMA IF EXISTS "{target.schema}" CASCADE')
        finally:
            conn.close()


@dataclass
class Backend:
    """One backend under test, with the target of this test's store and the clock its stores
    read (tests move it on). With a `pool` (PostgreSQL) the target is chosen when the test
    first opens its store, by its objects."""

    name: str
    target: str
    opened: list[OrgStore] = field(default_factory=list)
    clock: FixedClock = field(default_factory=lambda: FixedClock(NOW))
    pool: SchemaPool | None = None
    fingerprint: str | None = None

    def open(self, schemas: Sequence[ObjectSchema] = ORG_SCHEMAS) -> OrgStore:
        """The test's store (created empty on first use) with these objects, no invariants."""
        if self.pool is not None and self.fingerprint is None:
            self.fingerprint, self.target = self.pool.take(schemas)
        store = open_org(self.target, schemas, invariants=(), clock=self.clock)
        self.opened.append(store)
        return store

    def finish(self) -> None:
        """Close the test's stores (and give a PostgreSQL store back to the pool)."""
        for store in self.opened:
            store.close()
        if self.pool is not None and self.fingerprint is not None:
            self.pool.give_back(self.fingerprint, self.target)


_POOLS: dict[str, SchemaPool] = {}


def _postgres(request: pytest.FixtureRequest, tmp_path: Path) -> Backend:
    database = str(request.getfixturevalue("postgres_database"))
    pool = _POOLS.setdefault(database, SchemaPool(database))
    return Backend("postgresql", "", pool=pool)


# Backend name → a Backend for one test, given the test's request and tmp_path. Running the
# contract against another backend is one more line here. PostgreSQL: stores in the session's
# database (`flowengine.testing.postgres`), from a pool.
STORE_TARGETS: Final[dict[str, Callable[[pytest.FixtureRequest, Path], Backend]]] = {
    "sqlite": lambda request, tmp_path: Backend(
        "sqlite", f"sqlite://{(tmp_path / 'org.sqlite').as_posix()}"),
    "postgresql": _postgres,
}
