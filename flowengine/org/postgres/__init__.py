"""The PostgreSQL backend of the org store: `store` (URLs, connections, locking, errors),
`transaction` (the SQL storage primitives), `columns` (how values are kept), `migrate` (tables
follow schemas), `select` (queries), `scratch` (throwaway stores for tests).

Importing this package imports psycopg 3 (OrgError(ORG_BACKEND) when it is not installed);
`flowengine.org.open_org` imports it only when a `postgresql://` store is opened."""
from __future__ import annotations

from flowengine.org.postgres.store import PostgresOrgStore, PostgresUrl, open_url
from flowengine.org.postgres.transaction import PostgresTransaction

__all__ = ["PostgresOrgStore", "PostgresTransaction", "PostgresUrl", "open_url"]
