"""Create an Invoice from Fulfillment Order: the invoice, its lines and totals, the fulfillment
order's InvoiceId, and every refusal."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest
from om_helpers import call, refused

from flowengine.org.ids import make_id
from flowengine_order_management import plugin
from flowengine_order_management.classes import INVOICE_OUTPUT
from flowengine_order_management.invariants import check_invariants
from flowengine_order_management.objects import INVOICE, INVOICE_LINE
from flowengine_order_management.sample import SampleOrder, build_sample_order, cancel_input

pytestmark = pytest.mark.usefixtures("invariants_hold")

ACTION = next(a for a in plugin.actions if a.name == "createInvoiceFromFulfillmentOrder")


@pytest.fixture
def om_store(platform_store: Any) -> Any:
    return platform_store


def billed_order(org: Any, status: str = "Fulfilled", **options: Any) -> SampleOrder:
    """Two products (3 × 20.00, 6.00 tax each) and a 7.99 delivery charge on one fulfillment
    order of `status`, for an order summary with an account."""
    sample = build_sample_order(org, 2, delivery_charge=True, status=status, **options)
    account = org.insert("Account", {"Name": "Ada Lovelace"})
    org.update("OrderSummary", sample.order_summary_id, {"AccountId": account})
    return sample


def invoice(org: Any, fo_id: Any) -> str:
    out = call(org, ACTION.name, fulfillmentOrderId=fo_id)["fulfillmentOrderInvoiceOutput"]
    assert out.type_name == INVOICE_OUTPUT
    assert (out.fields["success"], out.fields["errors"]) == (True, [])
    return str(out.fields["invoiceId"])


def test_catalog_entry() -> None:
    assert (ACTION.label, ACTION.category) == ("Create an Invoice from Fulfillment Order",
                                               "Order Management")
    assert [(p.name, p.label, p.required, str(p.type)) for p in ACTION.inputs] == [
        ("fulfillmentOrderId", "Fulfillment Order Id", True, "Text")]
    assert [(p.name, p.label, str(p.type)) for p in ACTION.outputs] == [
        ("fulfillmentOrderInvoiceOutput", "Invoice creation output",
         "Apex ConnectApi.FulfillmentOrderInvoiceOutputRepresentation")]
    classes = {c.name: c for c in plugin.apex_classes}
    assert set(classes[INVOICE_OUTPUT].fields) == {"invoiceId", "success", "errors"}


def test_key_prefixes_are_salesforces() -> None:
    assert (INVOICE.key_prefix, INVOICE_LINE.key_prefix) == ("3tt", "5TV")


def test_the_invoice_bills_the_fulfillment_order(org: Any) -> None:
    sample = billed_order(org)
    invoice_id = invoice(org, sample.fulfillment_order_id[:15])
    assert invoice_id.startswith("3tt")
    fo = org.get("FulfillmentOrder", sample.fulfillment_order_id)
    assert fo["InvoiceId"] == invoice_id
    record = org.get("Invoice", invoice_id)
    summary = org.get("OrderSummary", sample.order_summary_id)
    assert (record["ReferenceEntityId"], record["BillingAccountId"], record["Status"]) == \
        (sample.order_summary_id, summary["AccountId"], "Posted")
    assert record["InvoiceDate"] == dt.date(2026, 1, 15)         # the store's (fixed) clock
    assert record["InvoiceNumber"] == "INV-0000000001"
    # its totals are the fulfillment order's: 2 × 60.00 + 7.99, 12.00 tax
    assert (record["TotalChargeAmount"], record["TotalAdjustmentAmount"]) == \
        (Decimal("127.99"), 0)
    assert (record["TotalAmount"], record["TotalTaxAmount"], record["TotalAmountWithTax"]) == \
        (fo["TotalAmount"], fo["TotalTaxAmount"], fo["GrandTotalAmount"])
    assert record["TotalAmountWithTax"] == record["Balance"] == Decimal("139.99")


def test_one_charge_line_per_fulfillment_order_product(org: Any) -> None:
    sample = billed_order(org)
    lines = org.query("InvoiceLine", where={"InvoiceId": invoice(org, sample.fulfillment_order_id)},
                      order_by=("ReferenceEntityItemId",))
    assert [(line["Name"], line["Type"], line["ReferenceEntityItemType"],
             line["ReferenceEntityItemTypeCode"], line["Quantity"], line["UnitPrice"],
             line["ChargeAmount"], line["ChargeTaxAmount"], line["ChargeAmountWithTax"])
            for line in lines] == [
        ("Product 1", "Charge", "Order Product", "Product", 3, 20, 60, 6, 66),
        ("Product 2", "Charge", "Order Product", "Product", 3, 20, 60, 6, 66),
        ("Delivery", "Charge", "Delivery Charge", "Charge", 1, Decimal("7.99"),
         Decimal("7.99"), 0, Decimal("7.99"))]
    assert [line["ReferenceEntityItemId"] for line in lines] == \
        [*sample.summary_ids, sample.delivery_summary_id]
    assert [line["Product2Id"] for line in lines] == [*sample.product_ids, None]
    assert {line["InvoiceStatus"] for line in lines} == {"Posted"}


def test_canceled_products_are_not_billed(org: Any) -> None:
    sample = billed_order(org, status="Allocated")
    call(org, "cancelFulfillmentOrderItem", fulfillmentOrderId=sample.fulfillment_order_id,
         cancelFulfillmentOrderItemsInput=cancel_input((sample.line_ids[0], 3),
                                                       (sample.line_ids[1], 1)))
    invoice_id = invoice(org, sample.fulfillment_order_id)
    lines = org.query("InvoiceLine", where={"InvoiceId": invoice_id})
    assert sorted(line["Quantity"] for line in lines) == [1, 2]
    record = org.get("Invoice", invoice_id)
    # 2 × 20.00 + 7.99, and the second product's tax prorated to 4.00
    assert (record["TotalAmount"], record["TotalTaxAmount"], record["Balance"]) == \
        (Decimal("47.99"), Decimal("4.00"), Decimal("51.99"))


@pytest.mark.parametrize("status", ["Draft", "Allocated", "Pickpack", "Fulfilled"])
def test_an_open_or_fulfilled_fulfillment_order_can_be_invoiced(org: Any, status: str) -> None:
    sample = billed_order(org, status=status)
    assert org.get("Invoice", invoice(org, sample.fulfillment_order_id)) is not None


def test_the_account_of_the_fulfillment_order_comes_first(org: Any) -> None:
    sample = billed_order(org)
    other = org.insert("Account", {"Name": "Gift Buyer"})
    org.update("FulfillmentOrder", sample.fulfillment_order_id, {"AccountId": other})
    record = org.get("Invoice", invoice(org, sample.fulfillment_order_id))
    assert record["BillingAccountId"] == other


# ---------------------------------------------------------------------------------------------
# refusals: each changes nothing

def test_missing_or_malformed_fulfillment_order_id(org: Any) -> None:
    billed_order(org)
    with refused(org, "REQUIRED_FIELD_MISSING", "fulfillmentOrderId is required"):
        call(org, ACTION.name, fulfillmentOrderId="  ")
    with refused(org, "INVALID_ID", "fulfillmentOrderId: "):
        call(org, ACTION.name, fulfillmentOrderId="not-an-id")
    with refused(org, "INVALID_ID", "fulfillmentOrderId: "):
        call(org, ACTION.name, fulfillmentOrderId=make_id("1Os", 1))


def test_unknown_fulfillment_order(org: Any) -> None:
    missing = make_id("0a3", 99)
    with refused(org, "NOT_FOUND", f"no FulfillmentOrder has Id {missing}"):
        call(org, ACTION.name, fulfillmentOrderId=missing)


def test_a_fulfillment_order_is_invoiced_once(org: Any) -> None:
    sample = billed_order(org)
    first = invoice(org, sample.fulfillment_order_id)
    with refused(org, "INVOICE_ALREADY_EXISTS",
                 f"fulfillment order {sample.fulfillment_order_id} already has invoice {first}"):
        call(org, ACTION.name, fulfillmentOrderId=sample.fulfillment_order_id)


@pytest.mark.parametrize("status", ["Cancelled", "Rejected"])
def test_canceled_or_rejected_fulfillment_orders_are_refused(org: Any, status: str) -> None:
    sample = billed_order(org, status=status)
    with refused(org, "INVALID_STATUS", f"has Status '{status}'"):
        call(org, ACTION.name, fulfillmentOrderId=sample.fulfillment_order_id)


def test_unmanaged_order_summaries_are_refused(org: Any) -> None:
    sample = billed_order(org, life_cycle="UNMANAGED")
    with refused(org, "UNMANAGED_ORDER", "whose OrderLifeCycleType is UNMANAGED"):
        call(org, ACTION.name, fulfillmentOrderId=sample.fulfillment_order_id)


def test_an_invoice_needs_an_account(org: Any) -> None:
    sample = build_sample_order(org, 1, status="Fulfilled")
    with refused(org, "REQUIRED_FIELD_MISSING", "have no AccountId; an invoice needs a billing"):
        call(org, ACTION.name, fulfillmentOrderId=sample.fulfillment_order_id)


def test_a_fulfillment_order_with_nothing_left_is_refused(org: Any) -> None:
    sample = billed_order(org, status="Allocated")
    org.insert("FulfillmentOrder", {"OrderSummaryId": sample.order_summary_id,
                                    "Status": "Allocated"})
    empty = org.query("FulfillmentOrder", where={"FulfillmentOrderNumber": None})[0]["Id"]
    with refused(org, "INVALID_QUANTITY", "has no product or charge with a quantity to invoice"):
        call(org, ACTION.name, fulfillmentOrderId=empty)


def test_a_balance_beyond_the_invoice_total_breaks_the_invariants(org: Any) -> None:
    sample = billed_order(org)
    invoice_id = invoice(org, sample.fulfillment_order_id)
    with org.savepoint():
        org.update("Invoice", invoice_id, {"Balance": Decimal("140.00")})
        assert check_invariants(org) == [
            f"Invoice {invoice_id}: Balance 140.00 must be between 0 and TotalAmountWithTax 139.99"]
        org.update("Invoice", invoice_id, {"Balance": Decimal("139.99")})
