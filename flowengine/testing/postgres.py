"""pytest fixtures for tests that need a PostgreSQL server (registered through the `pytest11`
entry point, like the flow test plug-in).

- `postgres_database` (session): the URL of a database of its own, created on the server that
  `$FLOWENGINE_TEST_POSTGRES` names (default `postgresql:///postgres`: libpq's defaults, a
  local socket) and dropped when the session ends. Without a server the tests that use it are
  skipped, saying why — except in CI (`$CI` set), where they fail.
- `postgres_org`: the URL of a new, empty org store in that database (a schema of its own),
  dropped after the test.
- `org_target`: where a test's new org store is, once per backend (the test runs twice): a
  SQLite file in the test's temporary folder, or `postgres_org`.
"""
from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Final

import pytest

__all__ = ["BACKENDS", "TEST_SERVER_ENV_VAR", "org_target", "postgres_database", "postgres_org"]

TEST_SERVER_ENV_VAR: Final = "FLOWENGINE_TEST_POSTGRES"
DEFAULT_SERVER: Final = "postgresql:///postgres"
BACKENDS: Final = ("sqlite", "postgresql")


def in_ci() -> bool:
    """Whether this runs in CI, where a missing server is a failure, not a skip."""
    return os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")


@pytest.fixture(scope="session")
def postgres_database() -> Iterator[str]:
    """The URL of a database of the test session's own (see the module docstring)."""
    from flowengine.errors import OrgError

    server = os.environ.get(TEST_SERVER_ENV_VAR) or DEFAULT_SERVER
    with ExitStack() as stack:
        try:
            from flowengine.org.postgres.scratch import scratch_database

            url = stack.enter_context(scratch_database(server))
        except OrgError as exc:
            reason = (f"no PostgreSQL server for these tests: {exc.message} (set "
                      f"{TEST_SERVER_ENV_VAR}=postgresql://user:password@host/database, a role "
                      "that may create databases)")
            if in_ci():
                pytest.fail(reason)
            pytest.skip(reason)
        yield url


@pytest.fixture
def postgres_org(postgres_database: str) -> Iterator[str]:
    """The URL of a new, empty org store on the test server (see the module docstring)."""
    from flowengine.org.postgres.scratch import scratch_schema

    with scratch_schema(postgres_database, prefix="test") as url:
        yield url


@pytest.fixture(params=BACKENDS)
def org_target(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """Where the test's new org store is, once per backend: a SQLite file in `tmp_path`, or a
    store of its own on the test PostgreSQL server (skipped without one, outside CI)."""
    if request.param == "sqlite":
        return str(tmp_path / "org.sqlite")
    return str(request.getfixturevalue("postgres_org"))
