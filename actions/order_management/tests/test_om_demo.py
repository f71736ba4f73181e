"""The demo fixture `flows/fixtures/demo_org.yaml`: it loads, holds the invariants, and supports
the cancel-then-reallocate story. Also: the store's fixture loader runs our invariants."""
from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from flowengine.errors import OrgError
from flowengine.org import open_org
from flowengine.org.fixtures import load_fixture, load_records, read_fixture
from flowengine.org.ids import looks_like_id
from flowengine.plugins import ActionContext
from flowengine_order_management import plugin
from flowengine_order_management.sample import cancel_input, fulfillment_group, fulfillment_order_input

DEMO = Path(__file__).resolve().parents[3] / "flows" / "fixtures" / "demo_org.yaml"
ACTIONS = {a.name: a for a in plugin.actions}
FO_ID = "0a3DM0000000001YAA"
SHOES_LINE, JACKET_LINE, DELIVERY_LINE = "0a4DM0000000001YAA", "0a4DM0000000002YAA", "0a4DM0000000003YAA"
SHOES = "10uDM0000000001YAA"


pytestmark = pytest.mark.usefixtures("invariants_hold")


@pytest.fixture
def om_store(om_store: Any) -> Any:
    """The Order Management store of conftest.py, loaded with the demo fixture (so `org` is a
    transaction on the demo org)."""
    load_fixture(om_store, DEMO)
    return om_store


def test_demo_ids_are_18_characters_with_valid_checksums() -> None:
    data = read_fixture(DEMO)
    for records in data.values():
        for record in records:
            for name, value in record.items():
                if name == "Id" or name.endswith("Id"):
                    if value is not None:
                        assert len(value) == 18 and looks_like_id(value), (name, value)


def test_demo_org_contents(org: Any) -> None:
    [summary] = org.query("OrderSummary")
    assert summary["OrderLifeCycleType"] == "MANAGED"
    assert len(org.query("OrderDeliveryGroupSummary")) == 1
    assert len(org.query("Location")) == 2
    assert [s["Status"] for s in org.query("OrderItemSummary")] == ["ALLOCATED"] * 3
    order = org.get("FulfillmentOrder", FO_ID)
    assert (order["Status"], order["StatusCategory"]) == ("Allocated", "ACTIVATED")
    assert order["ItemCount"] == 5
    assert order["TotalProductAmount"] == Decimal("327.97")
    assert order["TotalDeliveryAmount"] == Decimal("7.99")
    assert order["TotalTaxAmount"] == Decimal("26.24")
    assert order["GrandTotalAmount"] == summary["GrandTotalAmount"] == Decimal("362.20")


def test_cancel_then_reallocate_on_the_demo_org(org: Any) -> None:
    ctx = ActionContext(org=org, flow="Demo", element="Step")
    ACTIONS["cancelFulfillmentOrderItem"].handler(
        {"fulfillmentOrderId": FO_ID[:15],
         "cancelFulfillmentOrderItemsInput": cancel_input((SHOES_LINE, 1))}, ctx)
    assert org.get("OrderItemSummary", SHOES)["QuantityAvailableToFulfill"] == 1
    out = ACTIONS["createFulfillmentOrder"].handler({"fulfillmentOrderInput": fulfillment_order_input(
        "1OsDM00000000010AA", "0agDM0000000001YAA",
        fulfillment_group("131DM0000000002YAA", (SHOES, 1)))}, ctx)
    [new_id] = out["fulfillmentOrderOutput"].fields["fulfillmentOrderIds"]
    new_order = org.get("FulfillmentOrder", new_id)
    assert (new_order["FulfilledFromLocationId"], new_order["ItemCount"]) == ("131DM0000000002YAA", 1)
    assert new_order["TotalAmount"] == Decimal("49.99")
    assert org.get("OrderItemSummary", SHOES)["Status"] == "ALLOCATED"
    assert org.get("FulfillmentOrder", FO_ID)["TotalTaxAmount"] == Decimal("22.24")   # 8.00 + 14.24


def test_cancelling_everything_on_the_demo_order_cancels_it(org: Any) -> None:
    ACTIONS["cancelFulfillmentOrderItem"].handler(
        {"fulfillmentOrderId": FO_ID, "cancelFulfillmentOrderItemsInput": cancel_input(
            (SHOES_LINE, 3), (JACKET_LINE, 2), (DELIVERY_LINE, 1))}, ActionContext(org=org))
    order = org.get("FulfillmentOrder", FO_ID)
    assert (order["Status"], order["StatusCategory"], order["GrandTotalAmount"]) == \
        ("Cancelled", "CANCELLED", 0)


def test_loader_refuses_a_fixture_that_breaks_the_invariants(tmp_path: Path, org: Any) -> None:
    other = open_org(tmp_path / "other.sqlite", schemas=plugin.objects,
                     invariants=plugin.invariants)
    bad = {
        "OrderSummary": [{"Id": "1OsDM00000000010AA", "OrderNumber": "1"}],
        "OrderItemSummary": [{"Id": SHOES, "OrderSummaryId": "1OsDM00000000010AA",
                              "QuantityOrdered": 1, "QuantityAllocated": 2}],
    }
    try:
        with pytest.raises(OrgError, match=f"OrderItemSummary {SHOES}: QuantityAllocated 2 must be "
                                           "between 0 and QuantityOrdered − QuantityCanceled = 1"):
            load_records(other, bad, source="bad.yaml")
        tx = other.begin()
        assert tx.query("OrderSummary") == []      # nothing of it was loaded
        tx.rollback()
    finally:
        other.close()
