"""Throwaway PostgreSQL stores, for tests: a schema of its own in a database, or a database of
its own on a server, each dropped when the block ends."""
from __future__ import annotations

import secrets
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
        admin = connect(target)
        try:
            admin.execute(f"DROP DATABASE IF EXISTS {quoted(name)} WITH (FORCE)")
        finally:
            admin.close()
