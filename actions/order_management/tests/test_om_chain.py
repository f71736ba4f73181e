"""Salesforce's Order Management sample chain on the fixtures of `flows/om_chain/fixtures/`: the
fixtures load and hold what the chain's first flow expects; the chain run step by step the way
its three flows do it (events read after each commit, actions called as the flows call them);
and, where the real-flow corpus is here, the sample flows themselves with `$Record` given as
inputs (until triggered flows deliver it)."""
from __future__ import annotations

import re
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from om_helpers import call, funds_input

from flowengine import load_flow
from flowengine.org.fixtures import load_fixture, read_fixture
from flowengine_order_management import run_background_operations
from flowengine_order_management.invariants import check_invariants
from flowengine_order_management.sample import fulfillment_group, fulfillment_order_input

ROOT = Path(__file__).resolve().parents[3]
FIXTURES = ROOT / "flows" / "om_chain" / "fixtures"
ORDER, WITHOUT_WAREHOUSE = FIXTURES / "order.yaml", FIXTURES / "order_without_warehouse.yaml"
SAMPLE_FLOWS = ROOT.parent / "shared" / "realflows" / "forcedotcom__commerce-on-lightning"
ORDER_SUMMARY, WAREHOUSE = "1OsOC00000000010AA", "131OC0000000001YAA"
DELIVERY_GROUPS = ("0agOC0000000001YAA", "0agOC0000000002YAA")

needs_sample_flows = pytest.mark.skipif(not SAMPLE_FLOWS.is_dir(),
                                        reason=f"the sample flows are not here ({SAMPLE_FLOWS})")


@pytest.fixture
def store(platform_store: Any) -> Iterator[Any]:
    """The platform store loaded with order.yaml; after the test, the invariants hold on what it
    committed."""
    load_fixture(platform_store, ORDER)
    yield platform_store
    tx = platform_store.begin(write=False)
    try:
        assert check_invariants(tx) == []
    finally:
        tx.rollback()


def read(store: Any, object_name: str, **where: Any) -> list[dict[str, Any]]:
    tx = store.begin(write=False)
    try:
        return tx.query(object_name, where=where or None)
    finally:
        tx.rollback()


def events(store: Any, after: int = 0) -> list[dict[str, Any]]:
    tx = store.begin(write=False)
    try:
        return tx.events(after=after)
    finally:
        tx.rollback()


# ---------------------------------------------------------------------------------------------
# the fixtures

def test_the_two_fixtures_differ_only_in_their_locations() -> None:
    order, without = read_fixture(ORDER), read_fixture(WITHOUT_WAREHOUSE)
    assert {k: v for k, v in order.items() if k != "Location"} == \
        {k: v for k, v in without.items() if k != "Location"}
    assert [(loc["Name"], loc["LocationType"]) for loc in order["Location"]] == \
        [("Warehouse", "Warehouse"), ("Downtown Store", "Store")]
    assert [loc["LocationType"] for loc in without["Location"]] == ["Store"]


def test_loading_the_order_publishes_order_summary_created_event(store: Any) -> None:
    [event] = events(store)
    assert (event["event"], event["OrderSummaryId"], event["OrderId"]) == \
        ("OrderSummaryCreatedEvent", ORDER_SUMMARY, "801OC0000000001YAA")


def test_the_order_summary_is_as_the_chain_starts_it(store: Any) -> None:
    [summary] = read(store, "OrderSummary")
    assert (summary["Status"], summary["OrderLifeCycleType"], summary["GrandTotalAmount"]) == \
        ("Created", "MANAGED", Decimal("240.46"))
    items = read(store, "OrderItemSummary")
    assert {item["Status"] for item in items} == {"ORDERED"}
    assert sum(item["UnitPrice"] * item["QuantityOrdered"] for item in items) == \
        summary["GrandTotalAmount"]
    assert {item["OrderDeliveryGroupSummaryId"] for item in items} == set(DELIVERY_GROUPS)
    assert all(item["OriginalOrderItemId"] for item in items)
    [payment] = read(store, "OrderPaymentSummary")
    assert payment["AvailableToCaptureAmount"] == summary["GrandTotalAmount"]


def test_only_order_yaml_has_the_warehouse_the_flow_looks_up(store: Any,
                                                             tmp_path: Path) -> None:
    assert [loc["Id"] for loc in read(store, "Location", Name="Warehouse",
                                      LocationType="Warehouse")] == [WAREHOUSE]
    from flowengine.org import open_org

    other = open_org(tmp_path / "other.sqlite")
    try:
        load_fixture(other, WITHOUT_WAREHOUSE)
        assert read(other, "Location", LocationType="Warehouse") == []
    finally:
        other.close()


def test_nothing_is_published_when_the_transaction_rolls_back(store: Any) -> None:
    tx = store.begin()
    tx.update("OrderSummary", ORDER_SUMMARY, {"Status": "Approved"})
    assert [e["event"] for e in tx.events()][-1] == "OrderSumStatusChangedEvent"
    tx.rollback()
    assert [e["event"] for e in events(store)] == ["OrderSummaryCreatedEvent"]


# ---------------------------------------------------------------------------------------------
# the chain, step by step as its flows do it

def approve(tx: Any, event: dict[str, Any]) -> None:
    """Approve_Order_Summary."""
    tx.update("OrderSummary", event["OrderSummaryId"], {"Status": "Approved"})


def create_fulfillment_orders(tx: Any, event: dict[str, Any]) -> None:
    """Create_Fulfillment_Orders_Warehouse: the ORDERED products of each delivery group to the
    Warehouse, then Waiting to Fulfill."""
    if (event["OldStatus"], event["NewStatus"]) != ("Created", "Approved"):
        return
    summary_id = event["OrderSummaryId"]
    [warehouse] = tx.query("Location", where={"Name": "Warehouse", "LocationType": "Warehouse"})
    for group in tx.query("OrderDeliveryGroupSummary", where={"OrderSummaryId": summary_id}):
        items = [(item["Id"], item["Quantity"]) for item in tx.query(
            "OrderItemSummary", where={"OrderDeliveryGroupSummaryId": group["Id"],
                                       "OrderSummaryId": summary_id})
            if item["Status"] == "ORDERED"]
        call(tx, "createFulfillmentOrder", fulfillmentOrderInput=fulfillment_order_input(
            summary_id, group["Id"], fulfillment_group(warehouse["Id"], *items)))
    tx.update("OrderSummary", summary_id, {"Status": "Waiting to Fulfill"})


def invoice_and_ensure_funds(tx: Any, event: dict[str, Any]) -> None:
    """Create_Invoice_and_Ensure_Funds_Event_Triggered."""
    order = tx.get("FulfillmentOrder", event["FulfillmentOrderId"])
    if event["NewStatusCategory"] != "CLOSED" or order["InvoiceId"]:
        return
    out = call(tx, "createInvoiceFromFulfillmentOrder", fulfillmentOrderId=order["Id"])
    invoice_id = out["fulfillmentOrderInvoiceOutput"].fields["invoiceId"]
    call(tx, "ensureFundsOrderSummaryAsync", orderSummaryId=order["OrderSummaryId"],
         ensureFundsAsyncInput=funds_input(invoice_id))
    items = tx.query("OrderItemSummary", where={"OrderSummaryId": event["OrderSummaryId"]})
    if all(item["Status"] == "FULFILLED" for item in items):
        tx.update("OrderSummary", event["OrderSummaryId"], {"Status": "Fulfilled"})


SUBSCRIBERS = {"OrderSummaryCreatedEvent": approve,
               "OrderSumStatusChangedEvent": create_fulfillment_orders,
               "FOStatusChangedEvent": invoice_and_ensure_funds}


def deliver(store: Any, after: int) -> int:
    """Deliver each event after ReplayId `after` to its subscriber, one committed transaction an
    event, until none is left (as delivery after commit does); returns the last ReplayId."""
    while pending := events(store, after):
        for event in pending:
            with store.begin() as tx:
                SUBSCRIBERS[event["event"]](tx, event)
            after = event["ReplayId"]
    return after


def test_the_chain_from_created_to_fulfilled(store: Any) -> None:
    last = deliver(store, 0)
    [summary] = read(store, "OrderSummary")
    assert summary["Status"] == "Waiting to Fulfill"
    orders = read(store, "FulfillmentOrder")
    assert [(o["FulfilledFromLocationId"], o["Status"], o["TotalAmount"]) for o in orders] == [
        (WAREHOUSE, "Allocated", Decimal("196.97")), (WAREHOUSE, "Allocated", Decimal("43.49"))]
    assert {item["Status"] for item in read(store, "OrderItemSummary")} == {"ALLOCATED"}

    for order in orders:                              # the warehouse ships, one order at a time
        with store.begin() as tx:
            tx.update("FulfillmentOrder", order["Id"], {"Status": "Fulfilled"})
        last = deliver(store, last)
    assert read(store, "OrderSummary")[0]["Status"] == "Fulfilled"
    invoices = read(store, "Invoice")
    assert sorted(i["TotalAmountWithTax"] for i in invoices) == [Decimal("43.49"),
                                                                 Decimal("196.97")]
    assert {i["Balance"] for i in invoices} == {Decimal("196.97"), Decimal("43.49")}

    done = run_background_operations(store)           # the asynchronous job queue
    assert [op["Status"] for op in done] == ["Complete", "Complete"]
    assert {i["Balance"] for i in read(store, "Invoice")} == {0}
    [payment] = read(store, "OrderPaymentSummary")
    assert (payment["CapturedAmount"], payment["AvailableToCaptureAmount"]) == \
        (Decimal("240.46"), 0)
    assert [(e["event"], e.get("NewStatus")) for e in events(store)] == [
        ("OrderSummaryCreatedEvent", None),
        ("OrderSumStatusChangedEvent", "Approved"),
        ("OrderSumStatusChangedEvent", "Waiting to Fulfill"),
        ("FOStatusChangedEvent", "Fulfilled"),
        ("FOStatusChangedEvent", "Fulfilled"),
        ("OrderSumStatusChangedEvent", "Fulfilled")]


# ---------------------------------------------------------------------------------------------
# the sample flows themselves, `$Record` given as inputs

def with_record_inputs(name: str, folder: Path, *inputs: str) -> Path:
    """The sample flow with each `$Record.A.B` read from an input variable `Record_A_B`, and the
    variables `inputs` made inputs too."""
    text = (SAMPLE_FLOWS / f"{name}.flow-meta.xml").read_text(encoding="utf-8")
    for variable in inputs:
        text, found = re.subn(rf"(<name>{variable}</name>(?:(?!</variables>).)*?<isInput>)false",
                              r"\1true", text, flags=re.DOTALL)
        assert found == 1, variable
    refs = sorted(set(re.findall(r"\$Record\.[\w.]+", text)))
    for ref in refs:
        text = text.replace(ref, "Record_" + ref[len("$Record."):].replace(".", "_"))
    text = text.replace("</Flow>", "".join(
        f"<variables><name>Record_{ref[len('$Record.'):].replace('.', '_')}</name>"
        "<dataType>String</dataType><isCollection>false</isCollection><isInput>true</isInput>"
        "<isOutput>false</isOutput></variables>" for ref in refs) + "</Flow>")
    path = folder / f"{name}.flow-meta.xml"
    path.write_text(text, encoding="utf-8")
    return path


@needs_sample_flows
def test_approve_order_summary_approves_it(store: Any, tmp_path: Path) -> None:
    flow = load_flow(with_record_inputs("Approve_Order_Summary", tmp_path))
    result = flow.run({"Record_OrderSummary_Id": ORDER_SUMMARY}, org=store)
    assert result.status == "Finished", result.error
    assert read(store, "OrderSummary")[0]["Status"] == "Approved"
    assert [(e["OldStatus"], e["NewStatus"]) for e in events(store)[1:]] == \
        [("Created", "Approved")]


@needs_sample_flows
def test_the_fulfillment_flow_allocates_each_delivery_group_to_the_warehouse(
        store: Any, tmp_path: Path) -> None:
    # InputRepresentation given empty: Salesforce instantiates an Apex-defined variable on first
    # use, flowengine's interpreter (for now) leaves it null until it is assigned
    flow = load_flow(with_record_inputs("Create_Fulfillment_Orders_Warehouse", tmp_path,
                                        "InputRepresentation"))
    with store.begin() as tx:
        tx.update("OrderSummary", ORDER_SUMMARY, {"Status": "Approved"})
    result = flow.run({"Record_OrderSummary_Id": ORDER_SUMMARY, "Record_OldStatus": "Created",
                       "Record_NewStatus": "Approved", "InputRepresentation": {}}, org=store)
    assert result.status == "Finished", result.error
    assert [(o["FulfilledFromLocationId"], o["Type"], o["TotalAmount"])
            for o in read(store, "FulfillmentOrder")] == [
        (WAREHOUSE, "Warehouse", Decimal("196.97")), (WAREHOUSE, "Warehouse", Decimal("43.49"))]
    assert {item["Status"] for item in read(store, "OrderItemSummary")} == {"ALLOCATED"}
    assert read(store, "OrderSummary")[0]["Status"] == "Waiting to Fulfill"


@needs_sample_flows
def test_without_a_warehouse_the_fulfillment_flow_records_a_process_exception(
        platform_store: Any, tmp_path: Path) -> None:
    load_fixture(platform_store, WITHOUT_WAREHOUSE)
    flow = load_flow(with_record_inputs("Create_Fulfillment_Orders_Warehouse", tmp_path))
    result = flow.run({"Record_OrderSummary_Id": ORDER_SUMMARY, "Record_OldStatus": "Created",
                       "Record_NewStatus": "Approved"}, org=platform_store)
    assert result.status == "Finished", result.error
    [exception] = read(platform_store, "ProcessException")
    assert (exception["Message"], exception["Category"], exception["Priority"],
            exception["Severity"], exception["AttachedToId"], exception["OrderSummaryId"]) == (
        "Unable to Find Location", "Fulfillment", "High", "High", ORDER_SUMMARY, ORDER_SUMMARY)
    assert exception["Description"] == "Unable to find location Warehouse of type Warehouse."
    assert read(platform_store, "FulfillmentOrder") == []


@needs_sample_flows
def test_the_invoice_flow_invoices_funds_and_fulfills(store: Any, tmp_path: Path) -> None:
    last = deliver(store, 0)
    flow = load_flow(with_record_inputs("Create_Invoice_and_Ensure_Funds_Event_Triggered",
                                        tmp_path))
    orders = read(store, "FulfillmentOrder")
    with store.begin() as tx:
        tx.update_many("FulfillmentOrder", {o["Id"]: {"Status": "Fulfilled"} for o in orders})
    for event in events(store, last):
        result = flow.run({"Record_FulfillmentOrderId": event["FulfillmentOrderId"],
                           "Record_NewStatusCategory": event["NewStatusCategory"],
                           "Record_OrderSummaryId": event["OrderSummaryId"]}, org=store)
        assert result.status == "Finished", result.error
    assert all(o["InvoiceId"] for o in read(store, "FulfillmentOrder"))
    assert read(store, "ProcessException") == []
    assert read(store, "OrderSummary")[0]["Status"] == "Fulfilled"
    assert [op["Status"] for op in run_background_operations(store)] == ["Complete"] * 2
