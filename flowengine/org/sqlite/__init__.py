"""The SQLite backend of the org store: `store` (the file, connections, locking), `transaction`
(the SQL storage primitives), `codecs` (how values are kept), `migrate` (tables follow schemas)."""
from __future__ import annotations

from flowengine.org.sqlite.store import SqliteOrgStore, open_url
from flowengine.org.sqlite.transaction import SqliteTransaction

__all__ = ["SqliteOrgStore", "SqliteTransaction", "open_url"]
