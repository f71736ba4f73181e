"""The org store backends the contract suite runs against (imported by `tests/org/`): each
test gets a `Backend` — the target of a new, empty store and the clock its stores read."""
from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

from helpers import ORG_SCHEMAS

from flowengine.org import open_org
from flowengine.org.base import OrgStore
from flowengine.org.schema import ObjectSchema
from flowengine.org.system import FixedClock

# Backend name → the target (path or URL) of a new, empty store for one test. Running the
# contract against another backend is one more line here.
STORE_TARGETS: Final[dict[str, Callable[[Path], str]]] = {
    "sqlite": lambda tmp_path: f"sqlite://{(tmp_path / 'org.sqlite').as_posix()}",
}

NOW: Final = dt.datetime(2026, 1, 15, 9, 30, tzinfo=dt.UTC)   # the tests' clock starts here


@dataclass
class Backend:
    """One backend under test, with the target of this test's store and the clock its stores
    read (tests move it on)."""

    name: str
    target: str
    opened: list[OrgStore] = field(default_factory=list)
    clock: FixedClock = field(default_factory=lambda: FixedClock(NOW))

    def open(self, schemas: Sequence[ObjectSchema] = ORG_SCHEMAS) -> OrgStore:
        """The test's store (created empty on first use) with these objects, no invariants."""
        store = open_org(self.target, schemas, invariants=(), clock=self.clock)
        self.opened.append(store)
        return store
