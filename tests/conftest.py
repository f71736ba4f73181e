"""Fixtures shared by the tests: org stores of the tests' own objects (see helpers.py), a flow
file writer, and the demo org of the examples. Plain helpers are in helpers.py."""
from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from helpers import ORG_SCHEMAS


@pytest.fixture(autouse=True, scope="session")
def _cache_of_this_run(tmp_path_factory: pytest.TempPathFactory) -> None:
    """The flow and catalog caches of this test run, not the user's (a test may set its own)."""
    import os

    os.environ.setdefault("FLOWENGINE_CACHE_DIR", str(tmp_path_factory.mktemp("cache")))


@pytest.fixture
def org_path(tmp_path: Path) -> Path:
    return tmp_path / "org.sqlite"


@pytest.fixture
def org_store(org_path: Path) -> Iterator[Any]:
    from flowengine.org import open_org

    store = open_org(org_path, ORG_SCHEMAS)
    yield store
    store.close()


@pytest.fixture
def cli_org_of_test_objects(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """The CLI opens stores with the plug-ins' objects: give it the tests' own instead, with no
    $FLOWENGINE_ORG, in tmp_path as the current directory."""
    import flowengine.org
    import flowengine.org.schemas

    monkeypatch.setattr(flowengine.org.schemas, "project_schemas",
                        lambda project=None: list(ORG_SCHEMAS))
    monkeypatch.setattr(flowengine.org, "_plugin_invariants", lambda: [])
    monkeypatch.delenv("FLOWENGINE_ORG", raising=False)
    monkeypatch.chdir(tmp_path)


@pytest.fixture
def write_flow(tmp_path: Path) -> Any:
    """`write_flow(text, name="flow.yaml")` writes dedented YAML into tmp_path; returns its path."""
    import textwrap

    def write(text: str, name: str = "flow.yaml") -> Path:
        path = tmp_path / name
        path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
        return path
    return write


# -- the demo org ---------------------------------------------------------------------------------

DEMO_ORG = Path(__file__).resolve().parent.parent / "flows" / "fixtures" / "demo_org.yaml"


@pytest.fixture
def demo_org(tmp_path: Path) -> Path:
    """The path of an org store (in tmp_path) loaded with flows/fixtures/demo_org.yaml."""
    from flowengine.org import open_org
    from flowengine.org.fixtures import load_fixture

    path = tmp_path / "org.sqlite"
    store = open_org(path)
    try:
        load_fixture(store, DEMO_ORG)
    finally:
        store.close()
    return path
