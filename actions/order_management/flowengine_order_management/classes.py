"""The `ConnectApi.*` Apex-defined classes that the Order Management actions take and return.

They mirror the ConnectApi input and output representations that Salesforce documents for these
actions, field for field. Field names are case-sensitive (flow-format.md 3.3).
"""
from __future__ import annotations

from typing import Final

from flowengine.types import Apex, ApexClass, ApexField, Boolean, Number, Text

__all__ = [
    "APEX_CLASSES", "CANCEL_INPUT", "CANCEL_LINE", "CANCEL_OUTPUT", "ENSURE_FUNDS_INPUT",
    "ENSURE_FUNDS_OUTPUT", "ERROR_RESPONSE", "FO_GROUP", "FO_INPUT", "FO_ITEM", "FO_OUTPUT",
    "INVOICE_OUTPUT",
]

CANCEL_INPUT: Final = "ConnectApi.FulfillmentOrderLineItemsToCancelInputRepresentation"
CANCEL_LINE: Final = "ConnectApi.FulfillmentOrderLineItemInputRepresentation"
CANCEL_OUTPUT: Final = "ConnectApi.FulfillmentOrderCancelLineItemsOutputRepresentation"
ERROR_RESPONSE: Final = "ConnectApi.ErrorResponse"
FO_INPUT: Final = "ConnectApi.FulfillmentOrderInputRepresentation"
FO_GROUP: Final = "ConnectApi.FulfillmentGroupInputRepresentation"
FO_ITEM: Final = "ConnectApi.OrderItemSummaryInputRepresentation"
FO_OUTPUT: Final = "ConnectApi.FulfillmentOrderOutputRepresentation"
INVOICE_OUTPUT: Final = "ConnectApi.FulfillmentOrderInvoiceOutputRepresentation"
ENSURE_FUNDS_INPUT: Final = "ConnectApi.EnsureFundsAsyncInputRepresentation"
ENSURE_FUNDS_OUTPUT: Final = "ConnectApi.EnsureFundsAsyncOutputRepresentation"


def _base_output_fields() -> dict[str, ApexField]:
    """The fields of ConnectApi.BaseOutputRepresentation, which the output classes extend."""
    return {
        "success": ApexField(Boolean(), label="Success",
                             description="True when the request was processed."),
        "errors": ApexField(Apex(ERROR_RESPONSE, collection=True), label="Errors",
                            description="Errors of the request; empty on success."),
    }


APEX_CLASSES: Final[tuple[ApexClass, ...]] = (
    ApexClass(
        CANCEL_INPUT,
        {
            "fulfillmentOrderLineItemsToCancel": ApexField(
                Apex(CANCEL_LINE, collection=True), required=True,
                label="Fulfillment Order Line Items To Cancel",
                description="The fulfillment order products to cancel, each with the quantity "
                            "to cancel."),
        },
        description="Input of Cancel Fulfillment Order Item: the fulfillment order products to "
                    "cancel and how many of each.",
    ),
    ApexClass(
        CANCEL_LINE,
        {
            "fulfillmentOrderLineItemId": ApexField(
                Text(), required=True, label="Fulfillment Order Line Item Id",
                description="Id of the fulfillment order product (FulfillmentOrderLineItem) to "
                            "cancel; 15 or 18 characters."),
            "quantity": ApexField(
                Number(), required=True, label="Quantity",
                description="Quantity to cancel (an Apex Double): greater than 0 and at most the "
                            "line's current Quantity; fractions are allowed."),
        },
        description="One fulfillment order product and the quantity of it to cancel.",
    ),
    ApexClass(
        CANCEL_OUTPUT,
        _base_output_fields(),
        description="Output of Cancel Fulfillment Order Item. The action returns no data beyond "
                    "its success flag.",
    ),
    ApexClass(
        ERROR_RESPONSE,
        {
            "errorCode": ApexField(Text(), label="Error Code",
                                   description="The error's code, e.g. INVALID_QUANTITY."),
            "message": ApexField(Text(), label="Message", description="What went wrong."),
        },
        description="An error returned by a ConnectApi call.",
    ),
    ApexClass(
        FO_INPUT,
        {
            "orderSummaryId": ApexField(
                Text(), required=True, label="Order Summary Id",
                description="Id of the order summary (OrderSummary) to fulfill."),
            "orderDeliveryGroupSummaryId": ApexField(
                Text(), required=True, label="Order Delivery Group Summary Id",
                description="Id of the order summary's delivery group "
                            "(OrderDeliveryGroupSummary) the items ship to."),
            "fulfillmentGroups": ApexField(
                Apex(FO_GROUP, collection=True), required=True, label="Fulfillment Groups",
                description="One group per fulfillment order to create."),
        },
        description="Input of Create Fulfillment Order: what to allocate to which locations.",
    ),
    ApexClass(
        FO_GROUP,
        {
            "fulfilledFromLocationId": ApexField(
                Text(), required=True, label="Fulfilled From Location Id",
                description="Id of the Location that fulfills this group."),
            "fulfillmentType": ApexField(
                Text(), required=True, label="Fulfillment Type",
                description="Type of the new fulfillment order, e.g. Warehouse."),
            "orderItemSummaries": ApexField(
                Apex(FO_ITEM, collection=True), required=True, label="Order Item Summaries",
                description="The order products to allocate to this fulfillment order."),
        },
        description="The order products that one new fulfillment order fulfills from one location.",
    ),
    ApexClass(
        FO_ITEM,
        {
            "orderItemSummaryId": ApexField(
                Text(), required=True, label="Order Item Summary Id",
                description="Id of the order product summary (OrderItemSummary) to allocate."),
            "quantity": ApexField(
                Number(), required=True, label="Quantity",
                description="Quantity to allocate: greater than 0 and, summed over the request, "
                            "at most the summary's QuantityAvailableToFulfill."),
        },
        description="An order product summary and the quantity of it to allocate.",
    ),
    ApexClass(
        FO_OUTPUT,
        {
            "fulfillmentOrderIds": ApexField(
                Text(collection=True), label="Fulfillment Order Ids",
                description="Ids of the created fulfillment orders, one per fulfillment group, "
                            "in request order."),
        },
        description="Output of Create Fulfillment Order.",
    ),
    ApexClass(
        INVOICE_OUTPUT,
        {
            "invoiceId": ApexField(Text(), label="Invoice Id",
                                   description="Id of the created invoice."),
            **_base_output_fields(),
        },
        description="Output of Create Invoice from Fulfillment Order: the new invoice's Id.",
    ),
    ApexClass(
        ENSURE_FUNDS_INPUT,
        {
            "invoiceId": ApexField(
                Text(), required=True, label="Invoice Id",
                description="Id of the invoice to ensure funds for and apply them to."),
        },
        description="Input of Ensure Funds Async: the invoice to fund.",
    ),
    ApexClass(
        ENSURE_FUNDS_OUTPUT,
        {
            "backgroundOperationId": ApexField(
                Text(), label="Background Operation Id",
                description="Id of the background operation that ensures the funds once the "
                            "transaction commits."),
            **_base_output_fields(),
        },
        description="Output of Ensure Funds Async: only the Id of the background operation, "
                    "whatever the operation later does.",
    ),
)
