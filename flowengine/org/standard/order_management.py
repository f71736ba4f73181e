"""Standard objects around Salesforce Order Management that flows read and write beside the
order summaries themselves (which the Order Management plug-in ships, with their calculated
fields): process exceptions, payment summaries, routing schedules, adjustment and tax lines, and
the background operations of the asynchronous job queue (Ensure Funds Async inserts one).
Their lookups to the plug-in's objects hold plain Ids when the plug-in is not installed
(`flowengine.org.standard.complete`)."""
from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from flowengine.org.schema import FieldDef
from flowengine.org.standard._build import (
    area,
    auto,
    calculated,
    currency,
    date,
    datetime,
    lookup,
    master,
    number,
    obj,
    owner,
    percent,
    picklist,
    text,
)
from flowengine.org.standard.core import GENERATED


def _tax() -> tuple[FieldDef, ...]:
    """What a tax line holds: the amount, the rate and date it was worked out with, whether it
    is actual or estimated."""
    return (currency("Amount"), percent("Rate", 18, 6), date("TaxEffectiveDate"),
            picklist("Type", "Actual", "Estimated", restricted=True), area("Description", 255))


def _of_fulfillment_line() -> tuple[FieldDef, ...]:
    """The fulfillment order product (the master) and its fulfillment order."""
    return (master("FulfillmentOrderLineItemId", "FulfillmentOrderLineItem"),
            lookup("FulfillmentOrderId", "FulfillmentOrder"))


PROCESS_EXCEPTION = obj(
    "ProcessException", "2Pe", "Process Exception",
    auto("ProcessExceptionNumber", "PE-{00000000}"),
    text("Message", required=True),
    area("Description", 2000),
    lookup("AttachedToId", None, "AttachedTo", required=True),
    lookup("OrderSummaryId", "OrderSummary"),
    lookup("CaseId", "Case"),
    picklist("Category", "Order Activation", "Order Approval", "Fulfillment", "Payment",
             "Invoicing", "Place Order", "Order To Asset", "Order Item Summary To Asset",
             "Order To Billing Schedule", "Catalog Syndication", "Subscription Payment",
             "Cancel", "Payment Credit"),
    picklist("Priority", "High", "Low"),
    picklist("Severity", "High", "Low"),
    picklist("SeverityCategory", "HIGH", "MEDIUM", "LOW", read_only=True),
    picklist("Status", "New", "Triaged", "Paused", "Ignored", "Resolved", "Voided",
             required=True, default="New"),
    # Salesforce derives the category from the org's status values; flowengine leaves it empty
    picklist("StatusCategory", "ACTIVE", "INACTIVE", "RESOLVED", read_only=True),
    text("ExternalReference"),
    owner("User", "Group"),
    description="A business exception, such as a processing failure on an order summary, that "
                "a person must resolve before processing can go on.")

ORDER_PAYMENT_SUMMARY = obj(
    "OrderPaymentSummary", GENERATED, "Order Payment Summary",
    master("OrderSummaryId", "OrderSummary"),
    text("Method"),
    text("Type"),
    text("FullName"),
    lookup("PaymentMethodId", None, "PaymentMethod"),
    currency("AuthorizationAmount", description="Amount authorized."),
    currency("AuthorizationReversalAmount", description="Amount of the authorization reversed."),
    currency("CapturedAmount", description="Amount captured."),
    currency("RefundedAmount", description="Amount refunded."),
    currency("BalanceAmount", description="Balance of the captured payments: what can still be "
                                          "applied to invoices."),
    calculated(currency("AvailableToCaptureAmount", read_only=True,
                        description="AuthorizationAmount − (CapturedAmount + "
                                    "AuthorizationReversalAmount), and 0 when that is negative "
                                    "(no pending amounts are modelled)."),
               lambda r: _not_below_zero(r, "AuthorizationAmount", "CapturedAmount",
                                         "AuthorizationReversalAmount")),
    calculated(currency("AvailableToRefundAmount", read_only=True,
                        description="CapturedAmount − RefundedAmount, and 0 when that is "
                                    "negative."),
               lambda r: _not_below_zero(r, "CapturedAmount", "RefundedAmount")),
    owner(),
    description="The payments of one order summary made with one payment method.")

ORDER_SUMMARY_ROUTING_SCHEDULE = obj(
    "OrderSummaryRoutingSchedule", GENERATED, "Order Summary Routing Schedule",
    auto("Name", "OSRS-{0000000000}"),
    master("OrderSummaryId", "OrderSummary"),
    picklist("Reason", "Unassigned", "Retry"),
    picklist("ScheduleStatus", "SCHEDULED", "ABANDONED", "COMPLETED", default="SCHEDULED"),
    datetime("ScheduledDatetime"),
    owner(),
    description="An attempt, past or scheduled, to route an order summary to inventory "
                "locations for fulfillment.")

ORDER_ITEM_ADJUSTMENT_LINE_SUMMARY = obj(
    "OrderItemAdjustmentLineSummary", GENERATED, "Order Product Adjustment Line Item Summary",
    text("Name", required=True),
    master("OrderItemSummaryId", "OrderItemSummary"),
    lookup("OrderSummaryId", "OrderSummary"),
    currency("Amount"), currency("TotalTaxAmount"), currency("AmountWithTax"),
    area("Description", 255),
    description="A price adjustment (a discount) on an order product summary.")

ORDER_ITEM_TAX_LINE_ITEM_SUMMARY = obj(
    "OrderItemTaxLineItemSummary", GENERATED, "Order Product Tax Line Item Summary",
    text("Name", required=True),
    master("OrderItemSummaryId", "OrderItemSummary"),
    lookup("OrderSummaryId", "OrderSummary"),
    lookup("OrderItemAdjustmentLineSummaryId", "OrderItemAdjustmentLineSummary"),
    lookup("OriginalOrderItemTaxLineItemId", None, "OriginalOrderItemTaxLineItem"),
    *_tax(),
    description="The tax on an order product summary or on one of its adjustments.")

FULFILLMENT_ORDER_ITEM_ADJUSTMENT = obj(
    "FulfillmentOrderItemAdjustment", GENERATED, "Fulfillment Order Product Adjustment",
    auto("FulfillmentOrderItemAdjustmentNumber", "FOIA-{0000000000}"),
    *_of_fulfillment_line(),
    lookup("OrderItemAdjustLineSummaryId", "OrderItemAdjustmentLineSummary",
           "OrderItemAdjustLineSummary"),
    currency("Amount"), currency("TotalTaxAmount"), currency("TotalAmtWithTax"),
    text("CampaignName"), text("CouponName"), text("PromotionName"),
    area("Description", 255),
    description="A price adjustment on a fulfillment order product.")

FULFILLMENT_ORDER_ITEM_TAX = obj(
    "FulfillmentOrderItemTax", GENERATED, "Fulfillment Order Product Tax",
    auto("FulfillmentOrderItemTaxNumber", "FOIT-{0000000000}"),
    *_of_fulfillment_line(),
    lookup("FulfillmentOrderItemAdjustId", "FulfillmentOrderItemAdjustment",
           "FulfillmentOrderItemAdjust"),
    lookup("OrderItemTaxLineItemSummaryId", "OrderItemTaxLineItemSummary"),
    *_tax(),
    description="The tax on a fulfillment order product or on one of its adjustments.")

BACKGROUND_OPERATION = obj(
    "BackgroundOperation", GENERATED, "Background Operation",
    text("Name", required=True),
    # Salesforce names complete, canceled, error and merged as final statuses; New, Waiting and
    # Running are the states before them
    picklist("Status", "New", "Waiting", "Running", "Complete", "Error", "Canceled", "Merged",
             default="New"),
    text("Error"),
    datetime("SubmittedAt"), datetime("StartedAt"), datetime("FinishedAt"),
    datetime("ProcessAfter"), datetime("ExpiresAt"),
    text("ParentKey"), text("ExecutionGroup"), text("SequenceGroup"),
    number("SequenceNumber", 9), number("NumFollowers", 9),
    number("RetryCount", 9), number("RetryLimit", 9), number("RetryBackoff", 9),
    number("Timeout", 9),
    lookup("GroupLeaderId", "BackgroundOperation", "GroupLeader"),
    description="An operation in the asynchronous job queue, such as the one Ensure Funds Async "
                "inserts; its Status says how far it got.")


def _not_below_zero(record: Mapping[str, Any], minuend: str, *subtrahends: str) -> Decimal:
    """`minuend − Σ subtrahends` of a record's amounts (null counts as 0), or 0 if negative."""
    def amount(name: str) -> Decimal:
        value = record.get(name)
        return Decimal(str(value)) if value is not None else Decimal(0)

    return max(Decimal(0), amount(minuend) - sum((amount(n) for n in subtrahends), Decimal(0)))


OBJECTS = (PROCESS_EXCEPTION, ORDER_PAYMENT_SUMMARY, ORDER_SUMMARY_ROUTING_SCHEDULE,
           ORDER_ITEM_ADJUSTMENT_LINE_SUMMARY, ORDER_ITEM_TAX_LINE_ITEM_SUMMARY,
           FULFILLMENT_ORDER_ITEM_ADJUSTMENT, FULFILLMENT_ORDER_ITEM_TAX, BACKGROUND_OPERATION)
