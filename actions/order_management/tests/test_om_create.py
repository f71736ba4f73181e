"""Create Fulfillment Order: reallocating canceled quantities, and every refusal."""
from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from om_helpers import refused

from flowengine.org.ids import make_id
from flowengine.plugins import ActionContext
from flowengine_order_management import plugin
from flowengine_order_management.classes import FO_OUTPUT
from flowengine_order_management.sample import (
    SampleOrder,
    build_sample_order,
    cancel_input,
    fulfillment_group,
    fulfillment_order_input,
)

ACTIONS = {a.name: a for a in plugin.actions}
CREATE = ACTIONS["createFulfillmentOrder"]
CANCEL = ACTIONS["cancelFulfillmentOrderItem"]

pytestmark = pytest.mark.usefixtures("invariants_hold")


@pytest.fixture
def sample(org: Any) -> SampleOrder:
    """Three products, 3 of each on the first fulfillment order, 2 more of each unallocated."""
    return build_sample_order(org, 3, unallocated=Decimal(2))


def create(org: Any, sample: SampleOrder, *groups: Any, order_summary_id: Any = None,
           delivery_group_id: Any = None) -> list[str]:
    request = fulfillment_order_input(order_summary_id or sample.order_summary_id,
                                      delivery_group_id or sample.delivery_group_id, *groups)
    out = CREATE.handler({"fulfillmentOrderInput": request}, ActionContext(org=org))
    result = out["fulfillmentOrderOutput"]
    assert result.type_name == FO_OUTPUT
    return list(result.fields["fulfillmentOrderIds"])


def cancel(org: Any, fo_id: str, *lines: tuple[Any, Any]) -> None:
    CANCEL.handler({"fulfillmentOrderId": fo_id, "cancelFulfillmentOrderItemsInput":
                    cancel_input(*lines)}, ActionContext(org=org))


def test_catalog_entry() -> None:
    assert (CREATE.label, CREATE.category) == ("Create Fulfillment Order", "Order Management")
    assert [(p.name, p.required, str(p.type)) for p in CREATE.inputs] == [
        ("fulfillmentOrderInput", True, "Apex ConnectApi.FulfillmentOrderInputRepresentation")]
    assert [(p.name, str(p.type)) for p in CREATE.outputs] == [
        ("fulfillmentOrderOutput", "Apex ConnectApi.FulfillmentOrderOutputRepresentation")]
    classes = {c.name: c for c in plugin.apex_classes}
    fo_input = classes["ConnectApi.FulfillmentOrderInputRepresentation"]
    assert all(f.required for f in fo_input.fields.values())
    assert set(classes["ConnectApi.FulfillmentGroupInputRepresentation"].fields) == {
        "fulfilledFromLocationId", "fulfillmentType", "orderItemSummaries"}
    assert set(classes["ConnectApi.OrderItemSummaryInputRepresentation"].fields) == {
        "orderItemSummaryId", "quantity"}


def test_reallocate_a_canceled_quantity_to_another_location(org: Any, sample: SampleOrder) -> None:
    ois_id = sample.summary_ids[0]
    cancel(org, sample.fulfillment_order_id, (sample.line_ids[0], 2))
    assert org.get("OrderItemSummary", ois_id)["QuantityAvailableToFulfill"] == 4

    [fo_id] = create(org, sample, fulfillment_group(sample.location_ids[1], (ois_id[:15], 2),
                                                    fulfillment_type="Retail Store"))

    order = org.get("FulfillmentOrder", fo_id)
    assert (order["Status"], order["StatusCategory"], order["Type"]) == \
        ("Allocated", "ACTIVATED", "Retail Store")
    assert order["FulfilledFromLocationId"] == sample.location_ids[1]
    assert order["OrderSummaryId"] == sample.order_summary_id
    assert order["DeliverToName"] == "Ada Lovelace"
    assert (order["ItemCount"], order["TotalProductAmount"], order["TotalAmount"]) == (2, 40, 40)
    assert order["FulfillmentOrderNumber"] == "FO-0000000002"
    [line] = org.query("FulfillmentOrderLineItem", where={"FulfillmentOrderId": fo_id})
    summary = org.get("OrderItemSummary", ois_id)
    assert (line["OriginalQuantity"], line["Quantity"], line["UnitPrice"]) == (2, 2, Decimal("20.00"))
    assert (line["OrderItemSummaryId"], line["Product2Id"]) == (ois_id, summary["Product2Id"])
    assert (line["Type"], line["TypeCode"], line["TotalTaxAmount"]) == ("Order Product", "Product", 0)
    assert summary["QuantityAllocated"] == 3
    assert summary["QuantityAvailableToFulfill"] == 2
    assert summary["Status"] == "PARTIALLYALLOCATED"


def test_one_order_per_group_in_request_order(org: Any, sample: SampleOrder) -> None:
    a, b = sample.summary_ids[:2]
    ids = create(org, sample, fulfillment_group(sample.location_ids[0], (a, 1), (b, 2)),
                 fulfillment_group(sample.location_ids[1], (a, 1)))
    assert len(ids) == 2
    first, second = (org.get("FulfillmentOrder", i) for i in ids)
    assert first["FulfilledFromLocationId"] == sample.location_ids[0] and first["ItemCount"] == 3
    assert second["FulfilledFromLocationId"] == sample.location_ids[1] and second["ItemCount"] == 1
    assert first["FulfillmentOrderNumber"] != second["FulfillmentOrderNumber"]
    assert org.get("OrderItemSummary", a)["QuantityAvailableToFulfill"] == 0
    assert org.get("OrderItemSummary", a)["Status"] == "ALLOCATED"


def test_fully_allocating_makes_the_summary_allocated(org: Any, sample: SampleOrder) -> None:
    create(org, sample, fulfillment_group(sample.location_ids[1], (sample.summary_ids[2], 2)))
    summary = org.get("OrderItemSummary", sample.summary_ids[2])
    assert (summary["QuantityAllocated"], summary["Status"]) == (5, "ALLOCATED")


def test_a_created_order_can_be_cancelled_again(org: Any, sample: SampleOrder) -> None:
    [fo_id] = create(org, sample, fulfillment_group(sample.location_ids[1],
                                                    (sample.summary_ids[0], Decimal("1.5"))))
    [line] = org.query("FulfillmentOrderLineItem", where={"FulfillmentOrderId": fo_id})
    cancel(org, fo_id, (line["Id"], Decimal("1.5")))
    assert org.get("FulfillmentOrder", fo_id)["Status"] == "Cancelled"
    assert org.get("OrderItemSummary", sample.summary_ids[0])["QuantityAllocated"] == 3


def test_over_allocation_is_refused(org: Any, sample: SampleOrder) -> None:
    ois_id = sample.summary_ids[0]
    with refused(org, "INVALID_QUANTITY", f"allocates 3 of order item summary {ois_id} but only "
                                          "2 is available to fulfill"):
        create(org, sample, fulfillment_group(sample.location_ids[1], (ois_id, 3)))


def test_quantities_are_summed_over_the_whole_request(org: Any, sample: SampleOrder) -> None:
    ois_id = sample.summary_ids[0]
    with refused(org, "INVALID_QUANTITY", "allocates 2.5 of order item summary"):
        create(org, sample, fulfillment_group(sample.location_ids[0], (ois_id, Decimal("1.5"))),
               fulfillment_group(sample.location_ids[1], (ois_id, 1)))


@pytest.mark.parametrize("quantity, message", [
    (0, "must be greater than 0"), (Decimal(-2), "must be greater than 0"),
    (Decimal("NaN"), "must be a finite number"), (float("inf"), "must be a finite number")])
def test_invalid_quantities(org: Any, sample: SampleOrder, quantity: Any, message: str) -> None:
    with refused(org, "INVALID_QUANTITY", rf"orderItemSummaries\[0\]\.quantity {message}"):
        create(org, sample, fulfillment_group(sample.location_ids[1],
                                              (sample.summary_ids[0], quantity)))


def test_unmanaged_order_summary(org: Any) -> None:
    sample = build_sample_order(org, 1, life_cycle="UNMANAGED", unallocated=Decimal(1))
    with refused(org, "UNMANAGED_ORDER", "OrderLifeCycleType UNMANAGED"):
        create(org, sample, fulfillment_group(sample.location_ids[1], (sample.summary_ids[0], 1)))


def test_unknown_order_summary(org: Any, sample: SampleOrder) -> None:
    missing = make_id("1Os", 4242)
    with refused(org, "NOT_FOUND", f"no OrderSummary has Id {missing}"):
        create(org, sample, fulfillment_group(sample.location_ids[1], (sample.summary_ids[0], 1)),
               order_summary_id=missing)


def test_malformed_order_summary_id(org: Any, sample: SampleOrder) -> None:
    with refused(org, "INVALID_ID", r"orderSummaryId: .*key prefix is '0a3'"):
        create(org, sample, fulfillment_group(sample.location_ids[1], (sample.summary_ids[0], 1)),
               order_summary_id=sample.fulfillment_order_id)


def test_delivery_group_of_another_order_summary(org: Any, sample: SampleOrder) -> None:
    other = build_sample_order(org, 1, order_number="00000102")
    with refused(org, "INVALID_ID", f"delivery group {other.delivery_group_id} belongs to order "
                                    f"summary {other.order_summary_id}"):
        create(org, sample, fulfillment_group(sample.location_ids[1], (sample.summary_ids[0], 1)),
               delivery_group_id=other.delivery_group_id)


def test_unknown_location(org: Any, sample: SampleOrder) -> None:
    missing = make_id("131", 4242)
    with refused(org, "INVALID_ID", rf"fulfilledFromLocationId: no Location has Id {missing}"):
        create(org, sample, fulfillment_group(missing, (sample.summary_ids[0], 1)))


def test_missing_fulfillment_type(org: Any, sample: SampleOrder) -> None:
    with refused(org, "REQUIRED_FIELD_MISSING", "fulfillmentType is required"):
        create(org, sample, fulfillment_group(sample.location_ids[1], (sample.summary_ids[0], 1),
                                              fulfillment_type=None))


def test_summary_of_another_order_summary(org: Any, sample: SampleOrder) -> None:
    other = build_sample_order(org, 1, order_number="00000102", unallocated=Decimal(1))
    with refused(org, "INVALID_ID", f"order item summary {other.summary_ids[0]} belongs to order "
                                    f"summary {other.order_summary_id}"):
        create(org, sample, fulfillment_group(sample.location_ids[1], (other.summary_ids[0], 1)))


def test_summary_of_another_delivery_group(org: Any, sample: SampleOrder) -> None:
    second_group = org.insert("OrderDeliveryGroupSummary", {
        "OrderSummaryId": sample.order_summary_id, "DeliverToName": "Charles Babbage"})
    with refused(org, "INVALID_ID", f"ships with delivery group {sample.delivery_group_id}, not "
                                    f"with {second_group}"):
        create(org, sample, fulfillment_group(sample.location_ids[1], (sample.summary_ids[0], 1)),
               delivery_group_id=second_group)


def test_unknown_summary(org: Any, sample: SampleOrder) -> None:
    missing = make_id("10u", 4242)
    with refused(org, "INVALID_ID", f"no OrderItemSummary has Id {missing}"):
        create(org, sample, fulfillment_group(sample.location_ids[1], (missing, 1)))


def test_duplicate_summary_in_one_group(org: Any, sample: SampleOrder) -> None:
    ois_id = sample.summary_ids[0]
    with refused(org, "DUPLICATE_VALUE", rf"orderItemSummaries\[1\]\.orderItemSummaryId: order "
                                         rf"item summary {ois_id} is already listed"):
        create(org, sample, fulfillment_group(sample.location_ids[1], (ois_id, 1), (ois_id, 1)))


def test_no_groups(org: Any, sample: SampleOrder) -> None:
    with refused(org, "REQUIRED_FIELD_MISSING", "fulfillmentGroups is required"):
        create(org, sample)


def test_group_without_items(org: Any, sample: SampleOrder) -> None:
    with refused(org, "REQUIRED_FIELD_MISSING", r"fulfillmentGroups\[0\]\.orderItemSummaries is "
                                                "required"):
        create(org, sample, fulfillment_group(sample.location_ids[1]))


def test_one_bad_group_changes_nothing(org: Any, sample: SampleOrder) -> None:
    with refused(org, "INVALID_ID", r"fulfillmentGroups\[1\]\.fulfilledFromLocationId"):
        create(org, sample, fulfillment_group(sample.location_ids[0], (sample.summary_ids[0], 1)),
               fulfillment_group("131XX", (sample.summary_ids[1], 1)))
