"""Build a consistent sample order through the store interface (tests, the benchmark, demos),
and the ConnectApi inputs that act on it.

`build_sample_order` writes one order summary with a delivery group, N order item summaries, two
locations and one fulfillment order whose lines allocate every summary — everything the
invariants demand, with nothing but `OrgTransaction.insert` and `insert_many` (one call per
object, so building 10,000 lines takes about as long per line as building 10).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Final

from flowengine.org.base import OrgTransaction
from flowengine.types import ApexObject

from .classes import CANCEL_INPUT, CANCEL_LINE, FO_GROUP, FO_INPUT, FO_ITEM
from .objects import OBJECTS

__all__ = ["SampleOrder", "build_sample_order", "cancel_input", "fulfillment_group",
           "fulfillment_order_input", "org_snapshot"]

DEFAULT_QUANTITY: Final = Decimal(3)
DEFAULT_PRICE: Final = Decimal("20.00")
DEFAULT_TAX: Final = Decimal("6.00")


@dataclass
class SampleOrder:
    """Ids of the records `build_sample_order` created."""

    order_summary_id: str
    delivery_group_id: str
    location_ids: list[str]
    fulfillment_order_id: str
    product_ids: list[str] = field(default_factory=list)
    summary_ids: list[str] = field(default_factory=list)
    line_ids: list[str] = field(default_factory=list)
    delivery_summary_id: str | None = None
    delivery_line_id: str | None = None


def build_sample_order(tx: OrgTransaction, lines: int = 3, *,
                       quantity: Decimal = DEFAULT_QUANTITY,
                       unallocated: Decimal = Decimal(0),
                       unit_price: Decimal = DEFAULT_PRICE,
                       tax: Decimal = DEFAULT_TAX,
                       life_cycle: str = "MANAGED",
                       status: str = "Allocated",
                       delivery_charge: bool = False,
                       order_number: str = "00000101") -> SampleOrder:
    """Create the records and return their Ids.

    Each of the `lines` products is ordered `quantity + unallocated` times; `quantity` of it is on
    the fulfillment order (Status `status`), the rest is still available to fulfill. Each line
    carries `tax`. With `delivery_charge`, a 7.99 delivery charge is added to both.
    """
    os_id = tx.insert("OrderSummary", {"OrderNumber": order_number, "Status": "Created",
                                       "OrderLifeCycleType": life_cycle,
                                       "GrandTotalAmount": (unit_price * quantity + tax) * lines})
    dg_id = tx.insert("OrderDeliveryGroupSummary", {
        "OrderSummaryId": os_id, "DeliverToName": "Ada Lovelace", "DeliverToCity": "London",
        "DeliverToCountry": "GB"})
    locations = [tx.insert("Location", {"Name": name, "LocationType": "Warehouse"})
                 for name in ("Main Warehouse", "East Warehouse")]
    fo_id = tx.insert("FulfillmentOrder", {
        "FulfillmentOrderNumber": "FO-0000000001", "OrderSummaryId": os_id,
        "FulfilledFromLocationId": locations[0], "DeliverToName": "Ada Lovelace",
        "Type": "Warehouse", "Status": status})
    sample = SampleOrder(os_id, dg_id, locations, fo_id)
    names = [(f"Product {index + 1}", f"SKU-{index + 1:05d}") for index in range(lines)]
    sample.product_ids = tx.insert_many("Product2", [
        {"Name": name, "StockKeepingUnit": sku} for name, sku in names])
    items = [_Item(product_id, name, sku, "Order Product", "Product", unit_price, quantity,
                   unallocated, tax)
             for product_id, (name, sku) in zip(sample.product_ids, names)]
    sample.summary_ids, sample.line_ids = _allocate(tx, sample, items)
    if delivery_charge:
        (sample.delivery_summary_id,), (sample.delivery_line_id,) = _allocate(tx, sample, [
            _Item(None, "Delivery", None, "Delivery Charge", "Charge", Decimal("7.99"),
                  Decimal(1), Decimal(0), Decimal(0))])
    return sample


@dataclass(frozen=True)
class _Item:
    """One product or charge to put on the order and, allocated, on the fulfillment order."""

    product_id: str | None
    name: str
    sku: str | None
    item_type: str
    type_code: str
    unit_price: Decimal
    quantity: Decimal
    unallocated: Decimal
    tax: Decimal


def _allocate(tx: OrgTransaction, sample: SampleOrder,
              items: list[_Item]) -> tuple[list[str], list[str]]:
    """An order item summary and a fulfillment order line per item, with one `insert_many`
    each; returns their Ids."""
    summary_ids = tx.insert_many("OrderItemSummary", [{
        "OrderSummaryId": sample.order_summary_id,
        "OrderDeliveryGroupSummaryId": sample.delivery_group_id, "Product2Id": item.product_id,
        "Name": item.name, "StockKeepingUnit": item.sku, "Type": item.item_type,
        "TypeCode": item.type_code, "UnitPrice": item.unit_price,
        "QuantityOrdered": item.quantity + item.unallocated,
        "QuantityAllocated": item.quantity} for item in items])
    line_ids = tx.insert_many("FulfillmentOrderLineItem", [{
        "FulfillmentOrderId": sample.fulfillment_order_id, "OrderItemSummaryId": summary_id,
        "Product2Id": item.product_id, "Type": item.item_type, "TypeCode": item.type_code,
        "OriginalQuantity": item.quantity, "Quantity": item.quantity,
        "UnitPrice": item.unit_price, "TotalTaxAmount": item.tax}
        for summary_id, item in zip(summary_ids, items)])
    return summary_ids, line_ids


def cancel_input(*lines: tuple[object, object]) -> ApexObject:
    """A `ConnectApi.FulfillmentOrderLineItemsToCancelInputRepresentation` from (line Id,
    quantity) pairs, as a flow would build it with Assignment elements."""
    return ApexObject(CANCEL_INPUT, {"fulfillmentOrderLineItemsToCancel": [
        ApexObject(CANCEL_LINE, {"fulfillmentOrderLineItemId": line_id, "quantity": quantity})
        for line_id, quantity in lines]})


def fulfillment_group(location_id: object, *items: tuple[object, object],
                      fulfillment_type: object = "Warehouse") -> ApexObject:
    """A `ConnectApi.FulfillmentGroupInputRepresentation` from (order item summary Id,
    quantity) pairs."""
    return ApexObject(FO_GROUP, {
        "fulfilledFromLocationId": location_id, "fulfillmentType": fulfillment_type,
        "orderItemSummaries": [ApexObject(FO_ITEM, {"orderItemSummaryId": ois_id,
                                                    "quantity": quantity})
                               for ois_id, quantity in items]})


def fulfillment_order_input(order_summary_id: object, delivery_group_id: object,
                            *groups: ApexObject) -> ApexObject:
    """A `ConnectApi.FulfillmentOrderInputRepresentation`."""
    return ApexObject(FO_INPUT, {"orderSummaryId": order_summary_id,
                                 "orderDeliveryGroupSummaryId": delivery_group_id,
                                 "fulfillmentGroups": list(groups)})


def org_snapshot(tx: OrgTransaction) -> dict[str, list[dict[str, object]]]:
    """Every Order Management record with all its fields: compare two to prove nothing changed."""
    return {schema.name: tx.query(schema.name) for schema in OBJECTS}
