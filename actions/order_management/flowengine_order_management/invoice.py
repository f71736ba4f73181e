"""`createInvoiceFromFulfillmentOrder` — the Flow core action *Create an Invoice from Fulfillment
Order*: an invoice for a fulfillment order that doesn't have one.

The invoice bills what the fulfillment order holds: one Charge line per fulfillment order product
with a quantity left (its price, quantity and tax), so the invoice's totals are the fulfillment
order's — TotalAmount its TotalAmount, TotalTaxAmount its TotalTaxAmount, TotalAmountWithTax its
GrandTotalAmount. The invoice is Posted, its Balance is the whole TotalAmountWithTax (Ensure
Funds Async pays it), and the fulfillment order's InvoiceId names it.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

from flowengine.errors import ActionError
from flowengine.org.base import OrgTransaction
from flowengine.plugins import Action, ActionContext, Parameter
from flowengine.types import Apex, ApexObject, Text

from .classes import INVOICE_OUTPUT
from .objects import (
    FULFILLMENT_ORDER,
    FULFILLMENT_ORDER_LINE_ITEM,
    INVOICE,
    INVOICE_LINE,
    ORDER_ITEM_SUMMARY,
    ZERO,
    dec,
)
from .validation import fetch, managed_summary, record_id

__all__ = ["ACTION", "create_invoice_from_fulfillment_order"]

FO_INPUT: Final = "fulfillmentOrderId"
OUTPUT: Final = "fulfillmentOrderInvoiceOutput"
POSTED: Final = "Posted"
# a fulfillment order can be invoiced from its creation on, but not once canceled or rejected
INVOICEABLE: Final = frozenset({"DRAFT", "ACTIVATED", "FULFILLING", "CLOSED"})

FO: Final = FULFILLMENT_ORDER.name


@dataclass(frozen=True)
class InvoiceRequest:
    """A validated request: the fulfillment order, its order summary and account, and the lines
    to bill (those with a quantity left) with their order item summaries."""

    order: Mapping[str, Any]
    summary_id: str
    account_id: str
    lines: Sequence[Mapping[str, Any]]
    items: Mapping[str, Mapping[str, Any]]


def create_invoice_from_fulfillment_order(inputs: Mapping[str, Any],
                                          ctx: ActionContext) -> dict[str, Any]:
    """The action's handler: validate, then create the invoice and its lines."""
    tx = ctx.require_org()
    invoice_id = apply_invoice(tx, validate_invoice_request(tx, inputs))
    return {OUTPUT: ApexObject(INVOICE_OUTPUT, {"invoiceId": invoice_id, "success": True,
                                                "errors": []})}


def validate_invoice_request(tx: OrgTransaction, inputs: Mapping[str, Any]) -> InvoiceRequest:
    """The validated request; raises ActionError on the first problem. Reads only."""
    fo_id = record_id(inputs.get(FO_INPUT), FO, FULFILLMENT_ORDER.key_prefix, FO_INPUT)
    order = fetch(tx, FO, fo_id, FO_INPUT)
    if order.get("InvoiceId"):
        raise ActionError("INVOICE_ALREADY_EXISTS",
                          f"fulfillment order {fo_id} already has invoice {order['InvoiceId']}; "
                          "a fulfillment order is invoiced once")
    category = order.get("StatusCategory")
    if category not in INVOICEABLE:
        raise ActionError(
            "INVALID_STATUS",
            f"fulfillment order {fo_id} has Status {order.get('Status')!r} (StatusCategory "
            f"{category}); only a fulfillment order whose category is DRAFT, ACTIVATED, "
            "FULFILLING or CLOSED can be invoiced")
    summary = managed_summary(tx, order.get("OrderSummaryId"), f"fulfillment order {fo_id}",
                              "be invoiced by Order Management actions")
    account_id = order.get("AccountId") or summary.get("AccountId")
    if not account_id:
        raise ActionError(
            "REQUIRED_FIELD_MISSING",
            f"fulfillment order {fo_id} and its order summary {summary['Id']} have no AccountId; "
            "an invoice needs a billing account")
    lines = [line for line in tx.query(FULFILLMENT_ORDER_LINE_ITEM.name,
                                       where={"FulfillmentOrderId": fo_id})
             if dec(line.get("Quantity")) > ZERO]
    if not lines:
        raise ActionError("INVALID_QUANTITY",
                          f"fulfillment order {fo_id} has no product or charge with a quantity "
                          "to invoice")
    items = {item["Id"]: item for item in tx.query(
        ORDER_ITEM_SUMMARY.name, where={"Id": [line["OrderItemSummaryId"] for line in lines]})}
    return InvoiceRequest(order, summary["Id"], account_id, lines, items)


def apply_invoice(tx: OrgTransaction, request: InvoiceRequest) -> str:
    """Create the Posted invoice, one Charge line per billed fulfillment order product (one
    `insert_many`), date it, and link the fulfillment order to it. Returns the invoice Id."""
    balance = sum((dec(line.get("TotalPrice")) + dec(line.get("TotalTaxAmount"))
                   for line in request.lines), ZERO)
    with tx.savepoint():
        invoice_id = tx.insert(INVOICE.name, {
            "ReferenceEntityId": request.summary_id,
            "BillingAccountId": request.account_id,
            "Status": POSTED,
            "Balance": balance,
        })
        tx.insert_many(INVOICE_LINE.name, [_invoice_line(invoice_id, line, request.items)
                                           for line in request.lines])
        posted = fetch(tx, INVOICE.name, invoice_id, "the new invoice")
        tx.update(INVOICE.name, invoice_id, {"InvoiceDate": posted["CreatedDate"].date()})
        tx.update(FO, request.order["Id"], {"InvoiceId": invoice_id})
    return invoice_id


def _invoice_line(invoice_id: str, line: Mapping[str, Any],
                  items: Mapping[str, Mapping[str, Any]]) -> dict[str, Any]:
    item = items.get(line["OrderItemSummaryId"], {})
    return {
        "InvoiceId": invoice_id,
        "Name": item.get("Name") or line.get("Type"),
        "Product2Id": line.get("Product2Id"),
        "Type": "Charge",
        "ReferenceEntityItemId": line["OrderItemSummaryId"],
        "ReferenceEntityItemType": line.get("Type"),
        "ReferenceEntityItemTypeCode": line.get("TypeCode"),
        "Quantity": line.get("Quantity"),
        "UnitPrice": line.get("UnitPrice"),
        "LineAmount": line.get("TotalLineAmount"),
        "ChargeAmount": line.get("TotalPrice"),
        "ChargeTaxAmount": dec(line.get("TotalTaxAmount")),
        "AdjustmentAmount": ZERO,
        "AdjustmentTaxAmount": ZERO,
        "InvoiceStatus": POSTED,
    }


ACTION: Final = Action(
    name="createInvoiceFromFulfillmentOrder",
    label="Create an Invoice from Fulfillment Order",
    category="Order Management",
    description="Create an invoice for a fulfillment order that doesn't have one.",
    handler=create_invoice_from_fulfillment_order,
    inputs=(
        Parameter(FO_INPUT, Text(), label="Fulfillment Order Id", required=True,
                  description="Reference to the fulfillment order that needs an invoice."),
    ),
    outputs=(
        Parameter(
            OUTPUT, Apex(INVOICE_OUTPUT), label="Invoice creation output",
            description=f"This value is an Apex-defined variable of class {INVOICE_OUTPUT}. The "
                        "invoiceId field contains the ID of the created invoice."),
    ),
    usage=("Use it once a fulfillment order is fulfilled (its status category is CLOSED), then "
           "pass the invoice Id to Ensure Funds Async to pay the invoice from the order's "
           "payments."),
    editions=("Available in: Lightning Experience, in Enterprise, Unlimited, and "
              "Developer Editions with Salesforce Order Management."),
    plugin="order_management",
)
