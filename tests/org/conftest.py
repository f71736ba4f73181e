"""Fixtures of the org store contract: `backend` (one per backend of `STORE_TARGETS`) and
`store` (a new, empty store of the tests' own objects on it)."""
from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from org_backends import STORE_TARGETS, Backend

from flowengine.org.base import OrgStore


@pytest.fixture(params=sorted(STORE_TARGETS))
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Backend]:
    backend = STORE_TARGETS[request.param](request, tmp_path)
    yield backend
    backend.finish()


@pytest.fixture
def store(backend: Backend) -> OrgStore:
    return backend.open()
