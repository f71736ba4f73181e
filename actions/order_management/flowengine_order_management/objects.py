"""Org objects of Salesforce Order Management (spec order-management.md section 1).

The fields the actions need are modelled first, in the spec's order, with Salesforce's API names
and key prefixes; the fields that real flows read and write on these objects follow (the
Commerce checkout and Order Management flows of `shared/realflows/`), as Salesforce types them.
Quantities are Numbers and amounts Currency; both travel as `decimal.Decimal`. Products and
locations are flowengine's standard Product2 and Location (`flowengine.org.standard`).

Calculated fields (computed by the store from the record itself, never loaded or written):
- OrderItemSummary: Quantity, QuantityAvailableToFulfill, Status (section 4's rule chain);
- FulfillmentOrder: StatusCategory (fixed by Status), GrandTotalAmount;
- FulfillmentOrderLineItem: TotalLineAmount (UnitPrice × Quantity), TotalPrice (= TotalLineAmount).

Rolled-up fields (FulfillmentOrder, summarised from its lines): ItemCount, TotalProductAmount,
TotalDeliveryAmount, TotalAmount, TotalTaxAmount. See `FULFILLMENT_ORDER` for what each sums.
Invoice (summarised from its InvoiceLines): TotalChargeAmount, TotalChargeTaxAmount,
TotalAdjustmentAmount, TotalAdjustmentTaxAmount, and from them the calculated TotalAmount,
TotalTaxAmount, TotalAmountWithTax and the two "with tax" totals. See `INVOICE`.

Other amounts and quantities that Salesforce computes (QuantityAvailableToCancel,
TotalAmtWithTax...) are stored as given: flowengine does not compute them.
"""
from __future__ import annotations

from collections.abc import Mapping
from decimal import ROUND_HALF_UP, Decimal
from typing import Any, Final

from flowengine.org.fieldtypes import OnDelete, make_field
from flowengine.org.schema import FieldDef, ObjectSchema, Rollup
from flowengine.org.standard import standard_object
from flowengine.org.system import RUNNING_USER, AutoNumber
from flowengine.types import FlowType, Number, Text

__all__ = [
    "FO_STATUS_CATEGORY", "FULFILLMENT_ORDER", "FULFILLMENT_ORDER_LINE_ITEM", "INVOICE",
    "INVOICE_LINE", "LOCATION", "OBJECTS", "ORDER_DELIVERY_GROUP_SUMMARY", "ORDER_ITEM_SUMMARY",
    "ORDER_SUMMARY", "ORDER_SUMMARY_STATUSES", "PRODUCT2", "dec", "money",
    "order_item_summary_status",
]

ZERO: Final = Decimal(0)
CENT: Final = Decimal("0.01")
PICKLIST: Final = FlowType("Picklist")

# FulfillmentOrder.Status → StatusCategory: fixed by Salesforce [doc]
FO_STATUS_CATEGORY: Final[Mapping[str, str]] = {
    "Draft": "DRAFT",
    "Allocated": "ACTIVATED",
    "Assigned": "FULFILLING",
    "Pickpack": "FULFILLING",
    "Fulfilled": "CLOSED",
    "Cancelled": "CANCELLED",
    "Rejected": "REJECTED",
}
OIS_STATUSES: Final = ("ORDERED", "PARTIALLYALLOCATED", "ALLOCATED", "PARTIALLYFULFILLED",
                       "FULFILLED", "CANCELED", "RETURNINITIATED", "RETURNED")
ITEM_TYPES: Final = ("Order Product", "Delivery Charge", "Fee")
# OrderSummary.Status: each org defines its own values (Salesforce's OM features do not read
# them); these are the ones Salesforce's sample flows set, from Created at creation on
ORDER_SUMMARY_STATUSES: Final = ("Created", "Approved", "Waiting to Fulfill", "Fulfilled")
GEOCODE_ACCURACY: Final = ("Address", "NearAddress", "Block", "Street", "ExtendedZip", "Zip",
                           "Neighborhood", "City", "County", "State", "Unknown")
TYPE_CODES: Final = ("Product", "Charge")


def dec(value: Any) -> Decimal:
    """A stored number as a Decimal; null counts as 0."""
    if value is None:
        return ZERO
    if isinstance(value, Decimal):
        return value
    return Decimal(str(value))


def money(value: Decimal) -> Decimal:
    """An amount rounded half-up to cents, as Currency fields are."""
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def _currency() -> FlowType:
    return FlowType("Currency")


def _ref(name: str, target: str | None, required: bool = False, description: str = "",
         on_delete: OnDelete = "clear") -> FieldDef:
    """A lookup (its relationship name is the field's name without `Id`); `target` None: an
    Id of an object flowengine does not model."""
    return make_field(name, "Lookup", reference_to=target, required=required,
                      relationship_name=name[:-2], on_delete=on_delete, description=description)


def _text(name: str, length: int = 255, sf_type: str = "Text") -> FieldDef:
    return make_field(name, sf_type, length=length if sf_type == "Text" else None)


def _amount(name: str, description: str = "") -> FieldDef:
    return make_field(name, "Currency", description=description)


def _geocode(prefix: str) -> tuple[FieldDef, ...]:
    """The geocode of an address: its accuracy, latitude and longitude."""
    return (make_field(f"{prefix}GeocodeAccuracy", "Picklist", restricted=True,
                       picklist=GEOCODE_ACCURACY),
            make_field(f"{prefix}Latitude", "Number", precision=18),
            make_field(f"{prefix}Longitude", "Number", precision=18))


def _owner() -> FieldDef:
    return make_field("OwnerId", "Lookup", reference_to="User", required=True,
                      relationship_name="Owner", default=RUNNING_USER)


def _qty(name: str, description: str = "", required: bool = False) -> FieldDef:
    return FieldDef(name, Number(), required=required, default=None if required else ZERO,
                    description=description)


# ---------------------------------------------------------------------------------------------
# OrderItemSummary calculations

def _ois_quantity(r: Mapping[str, Any]) -> Decimal:
    return dec(r.get("QuantityOrdered")) - dec(r.get("QuantityCanceled")) - dec(r.get("QuantityReturned"))


def _ois_available(r: Mapping[str, Any]) -> Decimal:
    return dec(r.get("QuantityOrdered")) - dec(r.get("QuantityCanceled")) - dec(r.get("QuantityAllocated"))


def order_item_summary_status(r: Mapping[str, Any]) -> str:
    """OrderItemSummary.Status by Salesforce's rule chain (spec section 4): first match wins."""
    qty = _ois_quantity(r)
    qo, qc = dec(r.get("QuantityOrdered")), dec(r.get("QuantityCanceled"))
    qf, qa = dec(r.get("QuantityFulfilled")), dec(r.get("QuantityAllocated"))
    qri, qret = dec(r.get("QuantityReturnInitiated")), dec(r.get("QuantityReturned"))
    if qty > 0 and qri > 0 and qri == qf and qret < qri:
        return "RETURNINITIATED"
    if qty == 0 and qret > 0:
        return "RETURNED"
    if qty == 0 and qc > 0 and qret == 0:
        return "CANCELED"
    if qty > 0 and qo - qc <= qf:
        return "FULFILLED"
    if 0 < qf < qo - qc:
        return "PARTIALLYFULFILLED"
    if 0 < qty <= qa:
        return "ALLOCATED"
    if 0 < qa < qty:
        return "PARTIALLYALLOCATED"
    return "ORDERED"


# ---------------------------------------------------------------------------------------------
# Schemas

ORDER_SUMMARY: Final = ObjectSchema(
    "OrderSummary", "1Os", (
        FieldDef("OrderNumber", Text(), description="The order's number."),
        make_field("Status", "Picklist", picklist=ORDER_SUMMARY_STATUSES, default="Created",
                   description="Order summary status; its values are defined by each org (any "
                               "value is taken). Changing it publishes "
                               "OrderSumStatusChangedEvent."),
        FieldDef("OrderLifeCycleType", PICKLIST, default="MANAGED",
                 picklist=("MANAGED", "UNMANAGED"),
                 description="MANAGED order summaries are processed by Order Management APIs; "
                             "UNMANAGED ones are not."),
        FieldDef("GrandTotalAmount", _currency(), default=ZERO,
                 description="Total of the order, tax included."),
        _ref("AccountId", "Account", description="The shopper's account."),
        _ref("OriginalOrderId", "Order", description="The order the summary was created from."),
        _ref("SalesStoreId", "WebStore", description="The store where the order was placed."),
        make_field("BillingEmailAddress", "Email"),
        make_field("TaxLocaleType", "Picklist", picklist=("Net", "Gross")),
        _owner(),
    ),
    label="Order Summary",
    description="A snapshot of an order that Order Management processes.",
)

ORDER_DELIVERY_GROUP_SUMMARY: Final = ObjectSchema(
    "OrderDeliveryGroupSummary", "0ag", (
        _ref("OrderSummaryId", "OrderSummary", required=True, on_delete="cascade"),
        FieldDef("DeliverToName", Text()),
        FieldDef("DeliverToCity", Text()),
        FieldDef("DeliverToCountry", Text()),
        make_field("DeliverToStreet", "TextArea"),
        _text("DeliverToState", 80),
        _text("DeliverToPostalCode", 20),
        _ref("OrderDeliveryMethodId", "OrderDeliveryMethod"),
        _ref("OriginalOrderDeliveryGroupId", None),
        *_geocode("DeliverTo"),
        make_field("EmailAddress", "Email"),
        make_field("PhoneNumber", "Phone"),
    ),
    label="Order Delivery Group Summary",
    description="A recipient and address that some of an order summary's items ship to.",
)

ORDER_ITEM_SUMMARY: Final = ObjectSchema(
    "OrderItemSummary", "10u", (
        _ref("OrderSummaryId", "OrderSummary", required=True, on_delete="cascade"),
        _ref("OrderDeliveryGroupSummaryId", "OrderDeliveryGroupSummary"),
        _ref("Product2Id", "Product2"),
        FieldDef("Name", Text()),
        FieldDef("StockKeepingUnit", Text()),
        FieldDef("Type", PICKLIST, default="Order Product", picklist=ITEM_TYPES),
        FieldDef("TypeCode", PICKLIST, default="Product", picklist=TYPE_CODES),
        FieldDef("UnitPrice", _currency(), default=ZERO),
        _qty("QuantityOrdered", "Quantity ordered.", required=True),
        _qty("QuantityCanceled", "Quantity canceled from the order."),
        _qty("QuantityAllocated", "Quantity on fulfillment orders (sum of their lines' Quantity)."),
        _qty("QuantityFulfilled", "Quantity fulfilled."),
        _qty("QuantityReturned", "Quantity returned."),
        _qty("QuantityReturnInitiated", "Quantity for which a return was started."),
        FieldDef("QuantityAvailableToFulfill", Number(), calculated=_ois_available,
                 description="QuantityOrdered − QuantityCanceled − QuantityAllocated."),
        FieldDef("Quantity", Number(), calculated=_ois_quantity,
                 description="QuantityOrdered − QuantityCanceled − QuantityReturned."),
        FieldDef("Status", PICKLIST, picklist=OIS_STATUSES, calculated=order_item_summary_status,
                 description="Follows from the quantities (first matching rule of section 4)."),
        _ref("OriginalOrderItemId", "OrderItem"),
        make_field("QuantityAvailableToCancel", "Number", precision=18, scale=2),
        make_field("QuantityAvailableToReturn", "Number", precision=18, scale=2),
        _amount("TotalLineAmount", "UnitPrice × QuantityOrdered, before adjustments and tax."),
        _amount("TotalAmtWithTax", "Total of the line, adjustments and tax included."),
        _amount("GrossUnitPrice", "Unit price, tax included."),
    ),
    label="Order Product Summary",
    description="One product, delivery charge or fee of an order summary, with its quantities.",
)

def _standard(name: str) -> ObjectSchema:
    schema = standard_object(name)
    assert schema is not None, name
    return schema


# flowengine's standard objects (once the plug-in's own): the actions' objects refer to them
LOCATION: Final = _standard("Location")
PRODUCT2: Final = _standard("Product2")


def _line_total(r: Mapping[str, Any]) -> Decimal:
    return money(dec(r.get("UnitPrice")) * dec(r.get("Quantity")))


def _fo_status_category(r: Mapping[str, Any]) -> str | None:
    return FO_STATUS_CATEGORY.get(r.get("Status") or "")


def _fo_grand_total(r: Mapping[str, Any]) -> Decimal:
    return dec(r.get("TotalAmount")) + dec(r.get("TotalTaxAmount"))


def _lines(child_field: str | None, op: str = "sum", **where: Any) -> Rollup:
    return Rollup("FulfillmentOrderLineItem", "FulfillmentOrderId", child_field, op,  # type: ignore[arg-type]
                  where)


FULFILLMENT_ORDER: Final = ObjectSchema(
    "FulfillmentOrder", "0a3", (
        FieldDef("FulfillmentOrderNumber", Text()),
        _ref("OrderSummaryId", "OrderSummary", required=True),
        _ref("FulfilledFromLocationId", "Location"),
        FieldDef("DeliverToName", Text()),
        FieldDef("Type", PICKLIST, default="Warehouse",
                 description="How the order is fulfilled, e.g. Warehouse or Retail Store."),
        FieldDef("Status", PICKLIST, required=True, picklist=tuple(FO_STATUS_CATEGORY),
                 description="Draft, Allocated, Assigned, Pickpack, Fulfilled, Cancelled or Rejected."),
        FieldDef("StatusCategory", PICKLIST, picklist=tuple(dict.fromkeys(FO_STATUS_CATEGORY.values())),
                 calculated=_fo_status_category,
                 description="Fixed by Status: DRAFT, ACTIVATED, FULFILLING, CLOSED, CANCELLED, REJECTED."),
        # Salesforce types ItemCount as a double and calls it the number of items: it counts
        # units of product, not line records, so it is the sum of the product lines' Quantity
        # (delivery charges and fees are not items). It shrinks as quantities are canceled.
        FieldDef("ItemCount", Number(), rollup=_lines("Quantity", TypeCode="Product"),
                 description="Number of product items: sum of Quantity over the lines whose "
                             "TypeCode is Product."),
        FieldDef("TotalProductAmount", _currency(), rollup=_lines("TotalPrice", TypeCode="Product"),
                 description="Sum of TotalPrice over the product lines, tax excluded."),
        FieldDef("TotalDeliveryAmount", _currency(),
                 rollup=_lines("TotalPrice", Type="Delivery Charge"),
                 description="Sum of TotalPrice over the delivery charge lines, tax excluded."),
        FieldDef("TotalAmount", _currency(), rollup=_lines("TotalPrice"),
                 description="Sum of TotalPrice over all lines (products, delivery charges and "
                             "fees), tax excluded."),
        FieldDef("TotalTaxAmount", _currency(), rollup=_lines("TotalTaxAmount"),
                 description="Sum of TotalTaxAmount over all lines."),
        FieldDef("GrandTotalAmount", _currency(), calculated=_fo_grand_total,
                 description="TotalAmount + TotalTaxAmount."),
        _ref("AccountId", "Account"),
        _ref("OrderId", "Order"),
        _ref("DeliveryMethodId", "OrderDeliveryMethod"),
        _ref("InvoiceId", "Invoice", description="The invoice of the fulfillment order "
                                                 "(createInvoiceFromFulfillmentOrder sets it)."),
        _text("FulfilledToName"),
        make_field("FulfilledToStreet", "TextArea"),
        _text("FulfilledToCity", 40),
        _text("FulfilledToState", 80),
        _text("FulfilledToPostalCode", 20),
        _text("FulfilledToCountry", 80),
        *_geocode("FulfilledTo"),
        make_field("FulfilledToEmailAddress", "Email"),
        make_field("FulfilledToPhone", "Phone"),
        _owner(),
    ),
    label="Fulfillment Order",
    description="Products, fees and delivery charges of one order summary that ship together from "
                "one location to one recipient.",
)

FULFILLMENT_ORDER_LINE_ITEM: Final = ObjectSchema(
    "FulfillmentOrderLineItem", "0a4", (
        _ref("FulfillmentOrderId", "FulfillmentOrder", required=True, on_delete="cascade"),
        _ref("OrderItemSummaryId", "OrderItemSummary", required=True),
        _ref("Product2Id", "Product2"),
        FieldDef("Type", PICKLIST, default="Order Product", picklist=ITEM_TYPES),
        FieldDef("TypeCode", PICKLIST, default="Product", picklist=TYPE_CODES),
        _qty("OriginalQuantity", "Quantity when the line was created; never changes.", required=True),
        _qty("Quantity", "Quantity still to fulfill; canceled = OriginalQuantity − Quantity.",
             required=True),
        FieldDef("UnitPrice", _currency(), default=ZERO),
        FieldDef("TotalLineAmount", _currency(), calculated=_line_total,
                 description="UnitPrice × Quantity, rounded to cents."),
        FieldDef("TotalTaxAmount", _currency(), default=ZERO,
                 description="Tax of the line; prorated when quantities are canceled."),
        FieldDef("TotalPrice", _currency(), calculated=_line_total,
                 description="TotalLineAmount (no adjustments are modelled)."),
        _ref("OrderItemId", "OrderItem"),
        _amount("GrossUnitPrice", "Unit price, tax included."),
    ),
    label="Fulfillment Order Product",
    description="A product or charge of a fulfillment order; corresponds to an order product summary.",
)

# ---------------------------------------------------------------------------------------------
# Invoices (createInvoiceFromFulfillmentOrder creates them; Ensure Funds Async reduces Balance)

def _total(name: str, *parts: str) -> FieldDef:
    """A Currency field calculated as the sum of other amounts of its record."""
    def total(record: Mapping[str, Any]) -> Decimal:
        return sum((dec(record.get(part)) for part in parts), ZERO)

    return FieldDef(name, _currency(), calculated=total, description=" + ".join(parts) + ".")


def _rolled_up(name: str, line_field: str) -> FieldDef:
    """An invoice amount: the sum of `line_field` over its lines."""
    return FieldDef(name, _currency(), rollup=Rollup("InvoiceLine", "InvoiceId", line_field),
                    description=f"Sum of {line_field} over the lines.")


INVOICE_TYPES: Final = ("Charge", "Tax", "Adjustment")

INVOICE: Final = ObjectSchema(
    "Invoice", "3tt", (
        make_field("InvoiceNumber", "AutoNumber", read_only=True,
                   default=AutoNumber("INV-{0000000000}"),
                   description="The invoice's number, given by the store."),
        _ref("ReferenceEntityId", None,
             description="The record the invoice bills: the order summary of its fulfillment "
                         "order."),
        _ref("BillingAccountId", "Account", required=True,
             description="The customer account billed: the order summary's account."),
        _ref("BillToContactId", "Contact"),
        make_field("Status", "Picklist", picklist=("Draft", "Posted"), default="Draft",
                   description="Posted invoices can receive payments."),
        make_field("InvoiceDate", "Date", description="When the invoice was posted."),
        make_field("DueDate", "Date"),
        _text("DocumentNumber"),
        make_field("Description", "LongTextArea", length=1000),
        _amount("Balance", "What is still to be paid: TotalAmountWithTax at creation, reduced by "
                           "the funds Ensure Funds Async applies."),
        _rolled_up("TotalChargeAmount", "ChargeAmount"),
        _rolled_up("TotalChargeTaxAmount", "ChargeTaxAmount"),
        _rolled_up("TotalAdjustmentAmount", "AdjustmentAmount"),
        _rolled_up("TotalAdjustmentTaxAmount", "AdjustmentTaxAmount"),
        _total("TotalChargeAmountWithTax", "TotalChargeAmount", "TotalChargeTaxAmount"),
        _total("TotalAdjustmentAmountWithTax", "TotalAdjustmentAmount",
               "TotalAdjustmentTaxAmount"),
        _total("TotalAmount", "TotalChargeAmount", "TotalAdjustmentAmount"),
        _total("TotalTaxAmount", "TotalChargeTaxAmount", "TotalAdjustmentTaxAmount"),
        _total("TotalAmountWithTax", "TotalChargeAmount", "TotalAdjustmentAmount",
               "TotalChargeTaxAmount", "TotalAdjustmentTaxAmount"),
        _owner(),
    ),
    label="Invoice",
    description="A financial document: the total amount a buyer must pay for goods or services.",
)

INVOICE_LINE: Final = ObjectSchema(
    "InvoiceLine", "5TV", (
        _ref("InvoiceId", "Invoice", required=True, on_delete="cascade"),
        FieldDef("Name", Text(), required=True),
        _ref("Product2Id", "Product2"),
        make_field("Type", "Picklist", picklist=INVOICE_TYPES, restricted=True, default="Charge"),
        _ref("ReferenceEntityItemId", None,
             description="The order item the line bills: an order product summary."),
        make_field("ReferenceEntityItemType", "Picklist", picklist=ITEM_TYPES, restricted=True),
        make_field("ReferenceEntityItemTypeCode", "Picklist", picklist=TYPE_CODES,
                   restricted=True),
        _ref("GroupReferenceEntityItemId", "OrderItem"),
        _ref("RelatedLineId", "InvoiceLine"),
        _qty("Quantity", "Units billed."),
        _amount("UnitPrice"),
        _amount("LineAmount", "UnitPrice × Quantity."),
        _amount("ChargeAmount", "The amount charged, tax excluded."),
        _amount("ChargeTaxAmount", "The tax on the charge."),
        _amount("AdjustmentAmount", "Adjustments (discounts) of the line."),
        _amount("AdjustmentTaxAmount", "The tax on the adjustments."),
        _total("ChargeAmountWithTax", "ChargeAmount", "ChargeTaxAmount"),
        _total("AdjustmentAmountWithTax", "AdjustmentAmount", "AdjustmentTaxAmount"),
        _total("TaxAmount", "ChargeTaxAmount", "AdjustmentTaxAmount"),
        _text("InvoiceStatus", 255),
        make_field("Description", "LongTextArea", length=1000),
        make_field("InvoiceLineStartDate", "Date"),
        make_field("InvoiceLineEndDate", "Date"),
        _text("TaxName"), _text("TaxCode"),
        make_field("TaxRate", "Percent", precision=18, scale=6),
        make_field("TaxEffectiveDate", "Date"),
    ),
    label="Invoice Line",
    description="The amount a buyer must pay for one product, service or fee of an invoice.",
)

OBJECTS: Final[tuple[ObjectSchema, ...]] = (
    ORDER_SUMMARY, ORDER_DELIVERY_GROUP_SUMMARY, ORDER_ITEM_SUMMARY, FULFILLMENT_ORDER,
    FULFILLMENT_ORDER_LINE_ITEM, INVOICE, INVOICE_LINE,
)
