"""`createFulfillmentOrder` — the Flow core action *Create Fulfillment Order*.

The usual follow-up of a cancel: allocate order product summaries (for example the quantity just
canceled) to new fulfillment orders, one per fulfillment group, each shipped from one location.
The whole request is validated before anything is written.
"""
from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Final

from flowengine.errors import ActionError
from flowengine.org.base import OrgTransaction
from flowengine.plugins import Action, ActionContext, Parameter
from flowengine.types import Apex, ApexObject, format_decimal

from .classes import FO_INPUT, FO_OUTPUT
from .objects import (
    FULFILLMENT_ORDER,
    FULFILLMENT_ORDER_LINE_ITEM,
    LOCATION,
    ORDER_DELIVERY_GROUP_SUMMARY,
    ORDER_ITEM_SUMMARY,
    ORDER_SUMMARY,
    ZERO,
    dec,
)
from .validation import fetch, field_of, items_of, quantity_of, record_id, required

__all__ = ["ACTION", "create_fulfillment_orders"]

INPUT: Final = "fulfillmentOrderInput"
OUTPUT: Final = "fulfillmentOrderOutput"
NEW_STATUS: Final = "Allocated"
NUMBER_PREFIX: Final = "FO-"


@dataclass(frozen=True)
class Allocation:
    """One validated order item summary of a group and the quantity to allocate."""

    summary: Mapping[str, Any]
    quantity: Decimal


@dataclass(frozen=True)
class Group:
    """One validated fulfillment group: the fulfillment order to create and its lines."""

    location_id: str
    fulfillment_type: str
    allocations: list[Allocation]


@dataclass(frozen=True)
class CreateRequest:
    """A validated request."""

    order_summary: Mapping[str, Any]
    delivery_group: Mapping[str, Any]
    groups: list[Group]


def create_fulfillment_orders(inputs: Mapping[str, Any], ctx: ActionContext) -> dict[str, Any]:
    """The action's handler: validate the whole request, then create the fulfillment orders."""
    tx = ctx.require_org()
    ids = apply_create(tx, validate_create_request(tx, inputs))
    return {OUTPUT: ApexObject(FO_OUTPUT, {"fulfillmentOrderIds": ids})}


# ---------------------------------------------------------------------------------------------
# Validation

def validate_create_request(tx: OrgTransaction, inputs: Mapping[str, Any]) -> CreateRequest:
    """The validated request; raises ActionError on the first problem. Reads only."""
    request = required(inputs.get(INPUT), INPUT)
    os_path, dg_path = f"{INPUT}.orderSummaryId", f"{INPUT}.orderDeliveryGroupSummaryId"
    os_id = record_id(field_of(request, "orderSummaryId", INPUT), ORDER_SUMMARY.name,
                      ORDER_SUMMARY.key_prefix, os_path)
    order_summary = fetch(tx, ORDER_SUMMARY.name, os_id, os_path)
    if order_summary.get("OrderLifeCycleType") != "MANAGED":
        raise ActionError(
            "UNMANAGED_ORDER",
            f"order summary {os_id} has OrderLifeCycleType "
            f"{order_summary.get('OrderLifeCycleType')}; fulfillment orders can be created only "
            "for MANAGED order summaries")
    dg_id = record_id(field_of(request, "orderDeliveryGroupSummaryId", INPUT),
                      ORDER_DELIVERY_GROUP_SUMMARY.name, ORDER_DELIVERY_GROUP_SUMMARY.key_prefix,
                      dg_path)
    delivery_group = fetch(tx, ORDER_DELIVERY_GROUP_SUMMARY.name, dg_id, dg_path, "INVALID_ID")
    if delivery_group.get("OrderSummaryId") != os_id:
        raise ActionError(
            "INVALID_ID",
            f"{dg_path}: delivery group {dg_id} belongs to order summary "
            f"{delivery_group.get('OrderSummaryId')}, not to {os_id}")
    raw_groups = items_of(request, "fulfillmentGroups", INPUT)
    summaries = {s["Id"]: s for s in tx.query(ORDER_ITEM_SUMMARY.name,
                                               where={"OrderSummaryId": os_id})}
    groups = [_validate_group(tx, raw, f"{INPUT}.fulfillmentGroups[{index}]", summaries, dg_id)
              for index, raw in enumerate(raw_groups)]
    _check_available(groups)
    return CreateRequest(order_summary, delivery_group, groups)


def _validate_group(tx: OrgTransaction, raw: Any, path: str,
                    summaries: Mapping[str, Mapping[str, Any]], dg_id: str) -> Group:
    required(raw, path)
    loc_path = f"{path}.fulfilledFromLocationId"
    location_id = record_id(field_of(raw, "fulfilledFromLocationId", path), LOCATION.name,
                            LOCATION.key_prefix, loc_path)
    fetch(tx, LOCATION.name, location_id, loc_path, "INVALID_ID")
    fulfillment_type = required(field_of(raw, "fulfillmentType", path), f"{path}.fulfillmentType")
    allocations: list[Allocation] = []
    seen: dict[str, int] = {}
    for index, item in enumerate(items_of(raw, "orderItemSummaries", path)):
        item_path = f"{path}.orderItemSummaries[{index}]"
        required(item, item_path)
        id_path = f"{item_path}.orderItemSummaryId"
        ois_id = record_id(field_of(item, "orderItemSummaryId", item_path),
                           ORDER_ITEM_SUMMARY.name, ORDER_ITEM_SUMMARY.key_prefix, id_path)
        summary = summaries.get(ois_id)
        if summary is None:
            other = fetch(tx, ORDER_ITEM_SUMMARY.name, ois_id, id_path, "INVALID_ID")
            raise ActionError("INVALID_ID", f"{id_path}: order item summary {ois_id} belongs to "
                                            f"order summary {other.get('OrderSummaryId')}, not "
                                            "to the requested one")
        if summary.get("OrderDeliveryGroupSummaryId") != dg_id:
            raise ActionError("INVALID_ID", f"{id_path}: order item summary {ois_id} ships with "
                                            f"delivery group {summary.get('OrderDeliveryGroupSummaryId')}"
                                            f", not with {dg_id}")
        if ois_id in seen:
            raise ActionError("DUPLICATE_VALUE", f"{id_path}: order item summary {ois_id} is "
                                                 f"already listed at orderItemSummaries"
                                                 f"[{seen[ois_id]}] of this group")
        seen[ois_id] = index
        quantity = quantity_of(field_of(item, "quantity", item_path), f"{item_path}.quantity")
        allocations.append(Allocation(summary, quantity))
    return Group(location_id, str(fulfillment_type), allocations)


def _check_available(groups: list[Group]) -> None:
    """Quantities summed per order item summary over the whole request fit what is available."""
    wanted: dict[str, Decimal] = defaultdict(Decimal)
    summaries: dict[str, Mapping[str, Any]] = {}
    for group in groups:
        for allocation in group.allocations:
            wanted[allocation.summary["Id"]] += allocation.quantity
            summaries[allocation.summary["Id"]] = allocation.summary
    for ois_id, quantity in wanted.items():
        available = dec(summaries[ois_id].get("QuantityAvailableToFulfill"))
        if quantity > available:
            raise ActionError(
                "INVALID_QUANTITY",
                f"the request allocates {format_decimal(quantity)} of order item summary {ois_id} "
                f"but only {format_decimal(available)} is available to fulfill (QuantityOrdered "
                f"{format_decimal(dec(summaries[ois_id].get('QuantityOrdered')))}, QuantityCanceled "
                f"{format_decimal(dec(summaries[ois_id].get('QuantityCanceled')))}, "
                f"QuantityAllocated {format_decimal(dec(summaries[ois_id].get('QuantityAllocated')))})")


# ---------------------------------------------------------------------------------------------
# Effects

def apply_create(tx: OrgTransaction, request: CreateRequest) -> list[str]:
    """Create one fulfillment order per group and one line per order item summary; raise the
    summaries' allocated quantities. Returns the new fulfillment order Ids in group order.
    Each group's lines are one `insert_many` and the summaries one `update_many`."""
    created: list[str] = []
    allocated_delta: dict[str, Decimal] = defaultdict(Decimal)
    summaries: dict[str, Mapping[str, Any]] = {}
    with tx.savepoint():
        number = _last_order_number(tx)
        for group in request.groups:
            number += 1
            fo_id = tx.insert(FULFILLMENT_ORDER.name, {
                "FulfillmentOrderNumber": f"{NUMBER_PREFIX}{number:010d}",
                "OrderSummaryId": request.order_summary["Id"],
                "FulfilledFromLocationId": group.location_id,
                "DeliverToName": request.delivery_group.get("DeliverToName"),
                "Type": group.fulfillment_type,
                "Status": NEW_STATUS,
            })
            tx.insert_many(FULFILLMENT_ORDER_LINE_ITEM.name, [{
                "FulfillmentOrderId": fo_id,
                "OrderItemSummaryId": allocation.summary["Id"],
                "Product2Id": allocation.summary.get("Product2Id"),
                "Type": allocation.summary.get("Type"),
                "TypeCode": allocation.summary.get("TypeCode"),
                "OriginalQuantity": allocation.quantity,
                "Quantity": allocation.quantity,
                "UnitPrice": allocation.summary.get("UnitPrice"),
                # the summary carries no tax in this model, so neither does the line [ours]
                "TotalTaxAmount": ZERO,
            } for allocation in group.allocations])
            for allocation in group.allocations:
                allocated_delta[allocation.summary["Id"]] += allocation.quantity
                summaries[allocation.summary["Id"]] = allocation.summary
            created.append(fo_id)
        tx.update_many(ORDER_ITEM_SUMMARY.name, {
            ois_id: {"QuantityAllocated": dec(summaries[ois_id].get("QuantityAllocated")) + delta}
            for ois_id, delta in allocated_delta.items()})
    return created


def _last_order_number(tx: OrgTransaction) -> int:
    """The highest numeric FulfillmentOrderNumber in the org (FO-0000000042 → 42), or 0."""
    highest = 0
    for order in tx.query(FULFILLMENT_ORDER.name):
        text = str(order.get("FulfillmentOrderNumber") or "")
        digits = text[len(NUMBER_PREFIX):] if text.startswith(NUMBER_PREFIX) else text
        if digits.isdigit():
            highest = max(highest, int(digits))
    return highest


# ---------------------------------------------------------------------------------------------
# Catalog entry

ACTION: Final = Action(
    name="createFulfillmentOrder",
    label="Create Fulfillment Order",
    category="Order Management",
    description=(
        "Create one or more fulfillment orders for the order product summaries of one order "
        "summary and delivery group, one fulfillment order per fulfillment group and location. "
        "Each order product summary's allocated quantity grows by the quantity it gets. Use it "
        "to reallocate quantities canceled with Cancel Fulfillment Order Item, for example to "
        "another location."),
    handler=create_fulfillment_orders,
    inputs=(
        Parameter(
            INPUT, Apex(FO_INPUT), label="Fulfillment Order Input", required=True,
            description=(
                f"This input is an Apex-defined variable of class {FO_INPUT}: orderSummaryId, "
                "orderDeliveryGroupSummaryId, and fulfillmentGroups, a list of "
                "ConnectApi.FulfillmentGroupInputRepresentation variables. Each group has "
                "fulfilledFromLocationId, fulfillmentType and orderItemSummaries, a list of "
                "ConnectApi.OrderItemSummaryInputRepresentation variables with "
                "orderItemSummaryId and quantity.")),
    ),
    outputs=(
        Parameter(
            OUTPUT, Apex(FO_OUTPUT), label="Fulfillment Order Output",
            description=f"This value is an Apex-defined variable of class {FO_OUTPUT}. Its field "
                        "fulfillmentOrderIds lists the Ids of the new fulfillment orders."),
    ),
    usage=(
        "Use Assignment elements to set orderItemSummaryId and quantity on "
        "ConnectApi.OrderItemSummaryInputRepresentation variables and add them to the "
        "orderItemSummaries field of a ConnectApi.FulfillmentGroupInputRepresentation variable "
        "with its fulfilledFromLocationId and fulfillmentType. Add the group to the "
        f"fulfillmentGroups field of a {FO_INPUT} variable, set its orderSummaryId and "
        "orderDeliveryGroupSummaryId, and use that variable in the action input."),
    editions=("Available in: Lightning Experience, in Enterprise, Unlimited, and "
              "Developer Editions with Salesforce Order Management."),
    plugin="order_management",
)
