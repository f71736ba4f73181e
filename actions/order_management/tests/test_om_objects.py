"""Order Management objects: fields, key prefixes, calculated fields, rollups and invariants."""
from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest

from flowengine.org.standard import complete, is_standard, standard_object
from flowengine.org.system import SYSTEM_FIELD_NAMES
from flowengine_order_management import plugin
from flowengine_order_management.invariants import check_invariants
from flowengine_order_management.objects import FO_STATUS_CATEGORY, OBJECTS, order_item_summary_status
from flowengine_order_management.sample import SampleOrder, build_sample_order

SCHEMAS = {schema.name: schema for schema in complete(OBJECTS)}   # with Product2, Location...

pytestmark = pytest.mark.usefixtures("invariants_hold")


@pytest.fixture
def sample(org: Any) -> SampleOrder:
    return build_sample_order(org, 2, delivery_charge=True)


# ---------------------------------------------------------------------------------------------
# schemas

@pytest.mark.parametrize("name, prefix", [
    ("OrderSummary", "1Os"), ("OrderItemSummary", "10u"), ("OrderDeliveryGroupSummary", "0ag"),
    ("FulfillmentOrder", "0a3"), ("FulfillmentOrderLineItem", "0a4"), ("Location", "131"),
    ("Product2", "01t")])
def test_key_prefixes(org: Any, name: str, prefix: str) -> None:
    assert SCHEMAS[name].key_prefix == prefix


SPEC_FIELDS = {
    "OrderSummary": "OrderNumber Status OrderLifeCycleType GrandTotalAmount",
    "OrderDeliveryGroupSummary": "OrderSummaryId DeliverToName DeliverToCity DeliverToCountry",
    "OrderItemSummary": "OrderSummaryId OrderDeliveryGroupSummaryId Product2Id Name "
                        "StockKeepingUnit Type TypeCode UnitPrice QuantityOrdered QuantityCanceled "
                        "QuantityAllocated QuantityFulfilled QuantityReturned "
                        "QuantityReturnInitiated QuantityAvailableToFulfill Quantity Status",
    "Location": "Name LocationType",
    "Product2": "Name StockKeepingUnit",
    "FulfillmentOrder": "FulfillmentOrderNumber OrderSummaryId FulfilledFromLocationId "
                        "DeliverToName Type Status StatusCategory ItemCount TotalProductAmount "
                        "TotalDeliveryAmount TotalAmount TotalTaxAmount GrandTotalAmount",
    "FulfillmentOrderLineItem": "FulfillmentOrderId OrderItemSummaryId Product2Id Type TypeCode "
                                "OriginalQuantity Quantity UnitPrice TotalLineAmount "
                                "TotalTaxAmount TotalPrice",
}
SPEC_COMPUTED = {
    "OrderItemSummary": {"Quantity", "QuantityAvailableToFulfill", "Status"},
    "FulfillmentOrder": {"StatusCategory", "ItemCount", "TotalProductAmount",
                         "TotalDeliveryAmount", "TotalAmount", "TotalTaxAmount",
                         "GrandTotalAmount"},
    "FulfillmentOrderLineItem": {"TotalLineAmount", "TotalPrice"},
}


@pytest.mark.parametrize("name", sorted(SPEC_FIELDS))
def test_every_spec_field_is_modelled_and_only_calculated_ones_are_computed(org: Any,
                                                                           name: str) -> None:
    schema = SCHEMAS[name]
    names = [f.name for f in schema.fields]
    spec = SPEC_FIELDS[name].split()
    if is_standard(schema):      # Product2 and Location: flowengine's standard objects
        assert set(spec) <= set(names)
    else:                        # the spec's fields first, in its order; real flows' fields after
        assert names[:len(spec)] == spec
        assert {f.name for f in schema.fields if f.is_computed} == SPEC_COMPUTED.get(name, set())


def test_plug_in_objects_leave_products_and_locations_to_the_standard_ones() -> None:
    assert {s.name for s in OBJECTS} == {"OrderSummary", "OrderDeliveryGroupSummary",
                                         "OrderItemSummary", "FulfillmentOrder",
                                         "FulfillmentOrderLineItem", "Invoice", "InvoiceLine"}
    assert all(is_standard(SCHEMAS[name]) for name in ("Product2", "Location"))


def test_records_read_back_with_every_field(org: Any, sample: SampleOrder) -> None:
    order = org.get("FulfillmentOrder", sample.fulfillment_order_id)
    assert set(order) == {"Id", *(f.name for f in SCHEMAS["FulfillmentOrder"].fields),
                          *SYSTEM_FIELD_NAMES}
    assert set(SPEC_FIELDS["FulfillmentOrder"].split()) <= set(order)
    assert isinstance(order["ItemCount"], Decimal)


# ---------------------------------------------------------------------------------------------
# OrderItemSummary.Status (spec section 4)

def _ois(qo: int = 3, qc: int = 0, qa: int = 0, qf: int = 0, qret: int = 0,
         qri: int = 0) -> dict[str, Decimal]:
    return {"QuantityOrdered": Decimal(qo), "QuantityCanceled": Decimal(qc),
            "QuantityAllocated": Decimal(qa), "QuantityFulfilled": Decimal(qf),
            "QuantityReturned": Decimal(qret), "QuantityReturnInitiated": Decimal(qri)}


@pytest.mark.parametrize("quantities, status", [
    (_ois(), "ORDERED"),
    (_ois(qa=1), "PARTIALLYALLOCATED"),
    (_ois(qa=3), "ALLOCATED"),
    (_ois(qc=1, qa=2), "ALLOCATED"),                       # Quantity 2 ≤ allocated 2
    (_ois(qa=3, qf=1), "PARTIALLYFULFILLED"),
    (_ois(qa=3, qf=3), "FULFILLED"),
    (_ois(qc=1, qa=2, qf=2), "FULFILLED"),                 # (QO − QC) ≤ QF
    (_ois(qc=3), "CANCELED"),
    (_ois(qa=3, qf=3, qri=3), "RETURNINITIATED"),          # QRI = QF and nothing returned yet
    (_ois(qa=3, qf=3, qri=3, qret=1), "RETURNINITIATED"),  # Quantity 2 > 0, QRet 1 < QRI 3
    (_ois(qa=3, qf=3, qri=3, qret=3), "RETURNED"),         # Quantity 0 and something returned
    (_ois(qc=1, qa=2, qf=2, qri=2, qret=2), "RETURNED"),   # returned wins over canceled
    (_ois(qa=3, qf=3, qri=2), "FULFILLED"),                # a partial return request: QRI ≠ QF
    (_ois(qa=0, qf=0, qri=0), "ORDERED"),                  # QRI = QF = 0 is no return
])
def test_order_item_summary_status_rule_chain(quantities: dict[str, Decimal], status: str) -> None:
    assert order_item_summary_status(quantities) == status


def test_status_is_calculated_by_the_store(org: Any, sample: SampleOrder) -> None:
    summary = org.get("OrderItemSummary", sample.summary_ids[0])
    assert (summary["Status"], summary["Quantity"], summary["QuantityAvailableToFulfill"]) == \
        ("ALLOCATED", 3, 0)


# ---------------------------------------------------------------------------------------------
# FulfillmentOrder.StatusCategory, ItemCount and totals

@pytest.mark.parametrize("status, category", sorted(FO_STATUS_CATEGORY.items()))
def test_status_category_follows_status(org: Any, status: str, category: str) -> None:
    sample = build_sample_order(org, 1, status=status)
    assert org.get("FulfillmentOrder", sample.fulfillment_order_id)["StatusCategory"] == category


def test_totals_roll_up_from_the_lines(org: Any, sample: SampleOrder) -> None:
    order = org.get("FulfillmentOrder", sample.fulfillment_order_id)
    # two products, 3 × 20.00 with 6.00 tax each, and a 7.99 delivery charge
    assert order["ItemCount"] == 6                          # units of product, not line records
    assert order["TotalProductAmount"] == Decimal("120.00")
    assert order["TotalDeliveryAmount"] == Decimal("7.99")
    assert order["TotalAmount"] == Decimal("127.99")
    assert order["TotalTaxAmount"] == Decimal("12.00")
    assert order["GrandTotalAmount"] == Decimal("139.99")
    line = org.get("FulfillmentOrderLineItem", sample.line_ids[0])
    assert line["TotalLineAmount"] == line["TotalPrice"] == Decimal("60.00")


def test_line_amount_is_rounded_to_cents(org: Any) -> None:
    sample = build_sample_order(org, 1, quantity=Decimal("0.333"), unit_price=Decimal("10.00"))
    line = org.get("FulfillmentOrderLineItem", sample.line_ids[0])
    assert line["TotalLineAmount"] == Decimal("3.33")


# ---------------------------------------------------------------------------------------------
# invariants

class _Undo(Exception):
    pass


def violations(org: Any, change: Callable[[], Any]) -> list[str]:
    """What check_invariants reports after `change`, which is then rolled back."""
    found: list[str] = []
    try:
        with org.savepoint():
            change()
            found = check_invariants(org)
            raise _Undo
    except _Undo:
        pass
    return found


def test_a_consistent_org_has_no_violations(org: Any, sample: SampleOrder) -> None:
    assert check_invariants(org) == []


def test_line_quantity_above_original(org: Any, sample: SampleOrder) -> None:
    line_id = sample.line_ids[0]
    found = violations(org, lambda: org.update("FulfillmentOrderLineItem", line_id,
                                               {"Quantity": Decimal(4)}))
    assert f"FulfillmentOrderLineItem {line_id}: Quantity 4 must be between 0 and " \
           "OriginalQuantity 3" in found
    assert any("QuantityAllocated 3 differs from the sum of Quantity over its fulfillment order "
               "lines, 4" in p for p in found)


def test_negative_line_quantity(org: Any, sample: SampleOrder) -> None:
    found = violations(org, lambda: org.update("FulfillmentOrderLineItem", sample.line_ids[0],
                                               {"Quantity": Decimal(-1)}))
    assert any("Quantity -1 must be between 0 and OriginalQuantity 3" in p for p in found)


def test_allocated_beyond_open_quantity(org: Any, sample: SampleOrder) -> None:
    ois_id = sample.summary_ids[0]
    found = violations(org, lambda: org.update("OrderItemSummary", ois_id,
                                               {"QuantityCanceled": Decimal(1)}))
    assert found == [f"OrderItemSummary {ois_id}: QuantityAllocated 3 must be between 0 and "
                     "QuantityOrdered − QuantityCanceled = 2"]


def test_allocated_not_matching_the_lines(org: Any, sample: SampleOrder) -> None:
    ois_id = sample.summary_ids[1]
    found = violations(org, lambda: org.update("OrderItemSummary", ois_id,
                                               {"QuantityAllocated": Decimal(2)}))
    assert found == [f"OrderItemSummary {ois_id}: QuantityAllocated 2 differs from the sum of "
                     "Quantity over its fulfillment order lines, 3"]


def test_order_totals_that_do_not_match_their_lines_are_reported() -> None:
    """Totals are computed by the store, so a broken one can only come from a broken store:
    feed the check a stub transaction."""

    class Stub:
        def query(self, name: str, where: Any = None) -> list[dict[str, Any]]:
            return {
                "FulfillmentOrderLineItem": [{
                    "Id": "L1", "FulfillmentOrderId": "F1", "OrderItemSummaryId": "S1",
                    "TypeCode": "Product", "Type": "Order Product", "Quantity": Decimal(2),
                    "OriginalQuantity": Decimal(2), "TotalPrice": Decimal(10),
                    "TotalTaxAmount": Decimal(1)}],
                "OrderItemSummary": [],
                "FulfillmentOrder": [{
                    "Id": "F1", "ItemCount": Decimal(1), "TotalProductAmount": Decimal(10),
                    "TotalDeliveryAmount": Decimal(0), "TotalAmount": Decimal(10),
                    "TotalTaxAmount": Decimal(1), "GrandTotalAmount": Decimal(12)}],
                "Invoice": [],
            }[name]

    assert check_invariants(Stub()) == [  # type: ignore[arg-type]
        "FulfillmentOrder F1: ItemCount is 1 but the sum of Quantity over its lines is 2",
        "FulfillmentOrder F1: GrandTotalAmount is 12 but TotalAmount + TotalTaxAmount is 11",
    ]


def test_invariants_are_registered_with_the_plugin() -> None:
    assert check_invariants in plugin.invariants


# ---------------------------------------------------------------------------------------------
# what the sample chain's flows read and write (Approve_Order_Summary,
# Create_Fulfillment_Orders_Warehouse, Create_Invoice_and_Ensure_Funds_Event_Triggered)

CHAIN = {**SCHEMAS, **{name: schema for name in ("ProcessException", "OrderPaymentSummary",
                                                  "BackgroundOperation")
                       if (schema := standard_object(name)) is not None}}


@pytest.mark.parametrize("object_name, field, sf_type, target", [
    ("OrderSummary", "Status", "Picklist", None),
    ("Location", "LocationType", "Picklist", None),
    ("OrderDeliveryGroupSummary", "OriginalOrderDeliveryGroupId", "Lookup", None),
    ("OrderItemSummary", "OriginalOrderItemId", "Lookup", "OrderItem"),
    ("OrderItemSummary", "Quantity", "Number", None),
    ("FulfillmentOrder", "InvoiceId", "Lookup", "Invoice"),
    ("FulfillmentOrder", "FulfilledToName", "Text", None),
    ("FulfillmentOrder", "OrderSummaryId", "Lookup", "OrderSummary"),
    ("ProcessException", "AttachedToId", "Lookup", None),
    ("ProcessException", "OrderSummaryId", "Lookup", "OrderSummary"),
    ("ProcessException", "Category", "Picklist", None),
    ("ProcessException", "Priority", "Picklist", None),
    ("ProcessException", "Severity", "Picklist", None),
    ("ProcessException", "Message", "Text", None),
    ("ProcessException", "Description", "LongTextArea", None),
    ("Invoice", "Balance", "Currency", None),
    ("InvoiceLine", "InvoiceId", "Lookup", "Invoice"),
    ("OrderPaymentSummary", "AvailableToCaptureAmount", "Currency", None),
    ("BackgroundOperation", "Status", "Picklist", None),
])
def test_fields_of_the_chain_have_salesforces_types(object_name: str, field: str, sf_type: str,
                                                    target: str | None) -> None:
    fdef = CHAIN[object_name].field(field)
    assert fdef is not None
    assert (fdef.sf_type or fdef.type.kind, fdef.reference_to) == (sf_type, target)


@pytest.mark.parametrize("object_name, field, values", [
    ("OrderSummary", "Status", ("Created", "Approved", "Waiting to Fulfill", "Fulfilled")),
    ("Location", "LocationType", ("Warehouse", "Store")),
    ("ProcessException", "Category", ("Fulfillment", "Invoicing")),
    ("ProcessException", "Priority", ("High",)),
    ("ProcessException", "Severity", ("High",)),
])
def test_picklist_values_the_chain_sets(object_name: str, field: str,
                                        values: tuple[str, ...]) -> None:
    fdef = CHAIN[object_name].field(field)
    assert fdef is not None and set(values) <= set(fdef.picklist)


def test_order_summary_statuses_are_each_orgs_own(org: Any, sample: SampleOrder) -> None:
    status = CHAIN["OrderSummary"].field("Status")
    assert status is not None and not status.restricted and status.default == "Created"
    org.update("OrderSummary", sample.order_summary_id, {"Status": "Partially Shipped"})
    assert org.get("OrderSummary", sample.order_summary_id)["Status"] == "Partially Shipped"


def test_payment_summary_amounts_available_are_calculated() -> None:
    schema = CHAIN["OrderPaymentSummary"]
    capture, refund = schema.field("AvailableToCaptureAmount"), schema.field(
        "AvailableToRefundAmount")
    assert capture is not None and capture.calculated is not None
    assert refund is not None and refund.calculated is not None
    assert capture.calculated({"AuthorizationAmount": Decimal(100), "CapturedAmount": Decimal(30),
                               "AuthorizationReversalAmount": Decimal(20)}) == 50
    assert capture.calculated({"AuthorizationAmount": Decimal(10),
                               "CapturedAmount": Decimal(30)}) == 0      # never below 0
    assert refund.calculated({"CapturedAmount": Decimal(30), "RefundedAmount": None}) == 30
