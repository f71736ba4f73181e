"""Fixtures of the Order Management plug-in's tests: an org store with the plug-in's objects, a
transaction on it, the invariants checked after a test, the demo org of the examples, and a store
with the platform's behaviour (the plug-in's save hooks) for the sample chain."""
from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

DEMO_ORG = Path(__file__).resolve().parents[3] / "flows" / "fixtures" / "demo_org.yaml"
# the standard objects the sample chain reads and writes beside the plug-in's own
CHAIN_STANDARD_OBJECTS = ("OrderSummaryCreatedEvent", "OrderSumStatusChangedEvent",
                          "FOStatusChangedEvent", "ProcessException", "OrderPaymentSummary",
                          "BackgroundOperation")


@pytest.fixture
def om_store(tmp_path: Path) -> Iterator[Any]:
    """An empty org store with the Order Management plug-in's objects and invariants."""
    from flowengine.org import open_org
    from flowengine_order_management import plugin

    store = open_org(tmp_path / "org.sqlite", schemas=plugin.objects, invariants=plugin.invariants)
    yield store
    store.close()


@pytest.fixture
def platform_store(org_target: str) -> Iterator[Any]:
    """An empty org store with the plug-in's objects, the standard objects of the sample chain
    (the Order Management events, process exceptions, payment summaries, background
    operations), the plug-in's invariants and its save hooks — the platform's behaviour — on a
    fixed clock (2026-01-15 09:30 UTC), once per backend (`org_target`). A module uses it as
    its `om_store`."""
    from flowengine.org import open_org
    from flowengine.org.standard import standard_object
    from flowengine.org.system import FixedClock
    from flowengine_order_management import plugin

    schemas = [*plugin.objects, *(standard_object(name) for name in CHAIN_STANDARD_OBJECTS)]
    store = open_org(org_target, schemas=schemas, invariants=plugin.invariants,
                     hooks=plugin.save_hooks, clock=FixedClock("2026-01-15T09:30:00Z"))
    yield store
    store.close()


@pytest.fixture
def org(om_store: Any) -> Iterator[Any]:
    """A transaction on `om_store`, rolled back after the test."""
    tx = om_store.begin()
    try:
        yield tx
    finally:
        tx.rollback()


@pytest.fixture
def invariants_hold(org: Any) -> Iterator[None]:
    """After the test, the Order Management invariants hold on `org`. A module turns it on for
    every test with `pytestmark = pytest.mark.usefixtures("invariants_hold")`."""
    yield
    from flowengine_order_management.invariants import check_invariants

    assert check_invariants(org) == []


@pytest.fixture
def demo_org_on(org_target: str) -> str:
    """`org_target`, loaded with flows/fixtures/demo_org.yaml."""
    from flowengine.org import open_org
    from flowengine.org.fixtures import load_fixture

    with open_org(org_target) as store:
        load_fixture(store, DEMO_ORG)
    return org_target


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
