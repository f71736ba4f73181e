"""Scratch orgs: new, empty org stores that are deleted afterwards (flow tests run each case in
one). Backend-neutral: a SQLite file in a temporary folder, or a schema of its own in a
PostgreSQL database."""
from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Final

from flowengine.errors import OrgError

__all__ = ["SCRATCH_SERVER_ENV_VAR", "scratch_org"]

SCRATCH_SERVER_ENV_VAR: Final = "FLOWENGINE_TEST_ORG"


@contextmanager
def scratch_org(server: str | None = None) -> Iterator[str | Path]:
    """The target (for `open_org`) of a new, empty org store, removed when the block ends.

    `server` is None or empty for a SQLite file in a temporary folder, or a
    `postgresql://user:password@host/database` URL for a schema of its own in that database
    (dropped at the end). The default is `$FLOWENGINE_TEST_ORG`, so that flow tests can run
    against a server."""
    if server is None:
        server = os.environ.get(SCRATCH_SERVER_ENV_VAR)
    if not server:
        with tempfile.TemporaryDirectory(prefix="flowengine-org-") as folder:
            yield Path(folder) / "org.sqlite"
        return
    if server.split(":", 1)[0].lower() not in ("postgresql", "postgres"):
        from flowengine.org import _without_password

        raise OrgError(f"scratch orgs are made in a temporary folder or on a PostgreSQL server; "
                       f"expected a postgresql:// URL, found {_without_password(server)!r}",
                       "ORG_URL")
    from flowengine.org.postgres.scratch import scratch_schema

    with scratch_schema(server) as url:
        yield url
