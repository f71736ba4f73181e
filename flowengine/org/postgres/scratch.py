"""Throwaway PostgreSQL stores, for tests: a schema of its own in a database, or a database of
its own on a server, each dropped when the block ends."""
from __future__ import annotations

import secrets
import time
from collections.abc import Iterator
from contextlib import contextmanager

import psycopg

from flowengine.errors import OrgError
from flowengine.org.postgres.columns import quoted
from flowengine.org.postgres.store import PostgresUrl, _first_lines, connect

__all__ = ["scratch_database", "scratch_schema"]


@contextmanager
def scratch_schema(url: str, prefix: str = "flowengine_scratch") -> Iterator[str]:
    """The URL of a new schema in the database `url` names (the store creates it on open);
    the schema and everything in it is dropped when the block ends."""
    target = PostgresUrl.parse(url)
    name = f"{prefix}_{secrets.token_hex(6)}"
    try:
        yield target.with_schema(name)
    finally:
        conn = connect(target)
        try:
            conn.execute(f"DROP SCHEMA IF EXISTS {quoted(name)} CASCADE")
        finally:
            conn.close()


@contextmanager
def scratch_database(url: str, prefix: str = "flowengine_test") -> Iterator[str]:
    """The URL of a new database on the server `url` names (its user needs the CREATEDB
    privilege), in UTF-8; dropped, with whoever is still connected to it, when the block
    ends."""
    target = PostgresUrl.parse(url)
    name = f"{prefix}_{secrets.token_hex(6)}"
    admin = connect(target)
    try:
        admin.execute(f"CREATE DATABASE {quoted(name)} TEMPLATE template0 ENCODING 'UTF8'")
    except psycopg.Error as exc:
        raise OrgError(f"cannot create a database on {target.location}: {_first_lines(exc)}",
                       "ORG_STORE") from None
    finally:
        admin.close()
    try:
        yield target.with_database(name)
    finally:
        _drop_database(target, name)


def _drop_database(target: PostgresUrl, name: str, attempts: int = 20) -> None:
    """Drop the database, ending the sessions still connected to it. FORCE refuses to end a
    session it may not signal (an autovacuum worker cleaning up after the tests, for one): then
    this role's sessions are ended and the plain DROP, which stops autovacuum itself, is tried
    until the other session is gone."""
    admin = connect(target)
    try:
        for attempt in range(attempts):
            try:
                admin.execute(f"DROP DATABASE IF EXISTS {quoted(name)} WITH (FORCE)")
                return
            except psycopg.errors.InsufficientPrivilege:
                pass
            try:
                admin.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE "
                              "datname = %s AND usename = current_user", (name,))
                admin.execute(f"DROP DATABASE IF EXISTS {quoted(name)}")
                return
            except psycopg.errors.ObjectInUse:
                if attempt == attempts - 1:
                    raise
                time.sleep(0.25)
    finally:
        admin.close()
