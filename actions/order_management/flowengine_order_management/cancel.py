"""`cancelFulfillmentOrderItem` — the Flow core action *Cancel Fulfillment Order Item*.

Cancels quantities of one or more products of one fulfillment order. The order product summaries
are not canceled: their allocated quantity shrinks, so the quantity can be reallocated to a new
fulfillment order (see `create.py`).

The whole request is validated before anything is written, so a request with one bad line changes
nothing. The store is read with a fixed number of queries and written with a fixed number of
calls (`update_many` batches) whatever the number of lines.
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
from flowengine.types import Apex, ApexObject, Text, format_decimal

from .classes import CANCEL_INPUT, CANCEL_OUTPUT
from .objects import (
    FULFILLMENT_ORDER,
    FULFILLMENT_ORDER_LINE_ITEM,
    ORDER_ITEM_SUMMARY,
    ZERO,
    dec,
    money,
)
from .validation import (
    fetch,
    field_of,
    items_of,
    managed_summary,
    quantity_of,
    record_id,
    required,
)

__all__ = ["ACTION", "cancel_fulfillment_order_items"]

FO_INPUT: Final = "fulfillmentOrderId"
ITEMS_INPUT: Final = "cancelFulfillmentOrderItemsInput"
OUTPUT: Final = "cancelFulfillmentOrderItemsOutput"
ITEMS_FIELD: Final = "fulfillmentOrderLineItemsToCancel"
OPEN_CATEGORIES: Final = frozenset({"DRAFT", "ACTIVATED", "FULFILLING"})

FO: Final = FULFILLMENT_ORDER.name
LINE: Final = FULFILLMENT_ORDER_LINE_ITEM.name
OIS: Final = ORDER_ITEM_SUMMARY.name


@dataclass(frozen=True)
class LineCancel:
    """One validated request line: the stored line and the quantity to cancel from it."""

    line: Mapping[str, Any]
    quantity: Decimal


@dataclass(frozen=True)
class CancelRequest:
    """A validated request: the fulfillment order, all its lines by Id, and what to cancel."""

    order: Mapping[str, Any]
    lines: Mapping[str, Mapping[str, Any]]
    cancels: list[LineCancel]


def cancel_fulfillment_order_items(inputs: Mapping[str, Any], ctx: ActionContext) -> dict[str, Any]:
    """The action's handler: validate the whole request, then apply it in one savepoint."""
    tx = ctx.require_org()
    apply_cancel(tx, validate_cancel_request(tx, inputs))
    return {OUTPUT: ApexObject(CANCEL_OUTPUT, {"success": True, "errors": []})}


# ---------------------------------------------------------------------------------------------
# Validation (spec section 2, rules 1–5, in order)

def validate_cancel_request(tx: OrgTransaction, inputs: Mapping[str, Any]) -> CancelRequest:
    """The validated request; raises ActionError on the first rule broken (rules in spec order,
    request lines in list order). Reads only: nothing is written here."""
    fo_id = record_id(inputs.get(FO_INPUT), FO, FULFILLMENT_ORDER.key_prefix, FO_INPUT)
    order = fetch(tx, FO, fo_id, FO_INPUT)
    category = order.get("StatusCategory")
    if category not in OPEN_CATEGORIES:
        raise ActionError(
            "INVALID_STATUS",
            f"fulfillment order {fo_id} has Status {order.get('Status')!r} (StatusCategory "
            f"{category}); products can be canceled only while the category is DRAFT, ACTIVATED "
            "or FULFILLING")
    managed_summary(tx, order.get("OrderSummaryId"), f"fulfillment order {fo_id}",
                    "be changed by Order Management actions")
    items = items_of(inputs.get(ITEMS_INPUT), ITEMS_FIELD, ITEMS_INPUT)
    lines = {line["Id"]: line for line in tx.query(LINE, where={"FulfillmentOrderId": fo_id})}
    cancels: list[LineCancel] = []
    seen: dict[str, int] = {}
    for index, item in enumerate(items):
        path = f"{ITEMS_INPUT}.{ITEMS_FIELD}[{index}]"
        item = required(item, path)
        line_id = record_id(field_of(item, "fulfillmentOrderLineItemId", path), LINE,
                            FULFILLMENT_ORDER_LINE_ITEM.key_prefix,
                            f"{path}.fulfillmentOrderLineItemId")
        line = lines.get(line_id)
        if line is None:
            raise ActionError("INVALID_ID", _not_on_order_message(tx, line_id, fo_id, path))
        if line_id in seen:
            raise ActionError(
                "DUPLICATE_VALUE",
                f"{path}: fulfillment order line item {line_id} is already listed at "
                f"{ITEMS_FIELD}[{seen[line_id]}]; list each line once with the total quantity")
        seen[line_id] = index
        quantity = quantity_of(field_of(item, "quantity", path), f"{path}.quantity")
        current = dec(line.get("Quantity"))
        if quantity > current:
            raise ActionError(
                "INVALID_QUANTITY",
                f"{path}.quantity {format_decimal(quantity)} is more than the current Quantity "
                f"{format_decimal(current)} of fulfillment order line item {line_id} "
                f"(OriginalQuantity {format_decimal(dec(line.get('OriginalQuantity')))})")
        cancels.append(LineCancel(line, quantity))
    return CancelRequest(order, lines, cancels)


def _not_on_order_message(tx: OrgTransaction, line_id: str, fo_id: str, path: str) -> str:
    """Why a well-formed line Id is not one of the order's lines (only read on failure)."""
    other = tx.get(LINE, line_id)
    if other is None:
        return f"{path}.fulfillmentOrderLineItemId: no fulfillment order line item has Id {line_id}"
    return (f"{path}.fulfillmentOrderLineItemId: fulfillment order line item {line_id} belongs to "
            f"fulfillment order {other.get('FulfillmentOrderId')}, not to {fo_id}")


# ---------------------------------------------------------------------------------------------
# Effects

def apply_cancel(tx: OrgTransaction, request: CancelRequest) -> None:
    """Write a validated request: lines, their order item summaries, the fulfillment order.

    Lines and summaries are written with one `update_many` each, so the fulfillment order's
    roll-ups are brought up to date once per call rather than once per line. The savepoint keeps
    a direct call (outside an interview) all-or-nothing even if the store fails half-way; the
    interpreter wraps every action in its own savepoint as well.
    """
    allocated_delta: dict[str, Decimal] = defaultdict(Decimal)
    remaining = {line_id: dec(line.get("Quantity")) for line_id, line in request.lines.items()}
    line_updates: dict[str, dict[str, Decimal]] = {}
    for cancel in request.cancels:
        line = cancel.line
        current = dec(line.get("Quantity"))
        left = current - cancel.quantity
        # tax follows the quantity: the current tax prorated over what is left [ours]
        tax = money(dec(line.get("TotalTaxAmount")) * left / current) if left else ZERO
        line_updates[line["Id"]] = {"Quantity": left, "TotalTaxAmount": tax}
        remaining[line["Id"]] = left
        allocated_delta[line["OrderItemSummaryId"]] += cancel.quantity
    with tx.savepoint():
        tx.update_many(LINE, line_updates)
        summaries = tx.query(OIS, where={"Id": list(allocated_delta)})
        tx.update_many(OIS, {
            summary["Id"]: {"QuantityAllocated": dec(summary.get("QuantityAllocated"))
                            - allocated_delta[summary["Id"]]}
            for summary in summaries})
        if not any(remaining.values()):
            # nothing left to fulfill: the whole order is canceled [ours]
            tx.update(FO, request.order["Id"], {"Status": "Cancelled"})


# ---------------------------------------------------------------------------------------------
# Catalog entry

ACTION: Final = Action(
    name="cancelFulfillmentOrderItem",
    label="Cancel Fulfillment Order Item",
    category="Order Management",
    description=(
        "Cancel fulfillment order products from a fulfillment order. You can cancel more than one "
        "product and specify a quantity to cancel for each of them. This action doesn't cancel the "
        "associated order product summaries, it only reduces their allocated quantities. Usually, "
        "you reallocate the canceled quantities to a new fulfillment order."),
    handler=cancel_fulfillment_order_items,
    inputs=(
        Parameter(
            FO_INPUT, Text(), label="Fulfillment Order Id", required=True,
            description="Reference to the fulfillment order that you want to cancel fulfillment "
                        "order items from."),
        Parameter(
            ITEMS_INPUT, Apex(CANCEL_INPUT), label="Cancel Fulfillment Order Items Input",
            required=True,
            description=(
                f"This input is an Apex-defined variable of class {CANCEL_INPUT}. The variable "
                f"has one field, {ITEMS_FIELD}, which is a list of Apex-defined variables of class "
                "ConnectApi.FulfillmentOrderLineItemInputRepresentation. Each of those variables "
                "includes these fields: fulfillmentOrderLineItemId — Reference to the fulfillment "
                "order product to cancel. quantity — Quantity to cancel.")),
    ),
    outputs=(
        Parameter(
            OUTPUT, Apex(CANCEL_OUTPUT), label="Cancel Fulfillment Order Items Output",
            description=f"This value is an Apex-defined variable of class {CANCEL_OUTPUT}. This "
                        "action doesn't return any data."),
    ),
    usage=(
        "To set up the Cancel Fulfillment Order Items Input, first use Assignment elements to set "
        "the fulfillmentOrderLineItemId and quantity field values on one or more "
        "ConnectApi.FulfillmentOrderLineItemInputRepresentation variables. Then use an Assignment "
        f"element to add those variables to the {ITEMS_FIELD} field on a {CANCEL_INPUT} "
        "variable. Use that variable in the action input."),
    editions=("Available in: Lightning Experience, in Enterprise, Unlimited, and "
              "Developer Editions with Salesforce Order Management."),
    plugin="order_management",
)
