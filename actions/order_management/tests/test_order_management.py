"""Cancel Fulfillment Order Item: catalog entry, every validation rule, every effect.

Handlers are called directly with an ActionContext on a real org transaction; after every test the
Order Management invariants must hold.
"""
from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from om_helpers import refused

from flowengine.errors import ActionError
from flowengine.plugins import ActionContext
from flowengine.types import ApexObject
from flowengine_order_management import plugin
from flowengine_order_management.classes import CANCEL_OUTPUT
from flowengine_order_management.sample import SampleOrder, build_sample_order, cancel_input, org_snapshot

CANCEL = next(a for a in plugin.actions if a.name == "cancelFulfillmentOrderItem")
LINE = "FulfillmentOrderLineItem"
OIS = "OrderItemSummary"
FO = "FulfillmentOrder"

pytestmark = pytest.mark.usefixtures("invariants_hold")


@pytest.fixture
def sample(org: Any) -> SampleOrder:
    return build_sample_order(org, 3, delivery_charge=True)


def cancel(org: Any, fo_id: Any, *lines: tuple[Any, Any]) -> dict[str, Any]:
    inputs = {"fulfillmentOrderId": fo_id, "cancelFulfillmentOrderItemsInput": cancel_input(*lines)}
    return dict(CANCEL.handler(inputs, ActionContext(org=org, flow="Test", element="Cancel")))


# ---------------------------------------------------------------------------------------------
# catalog

def test_catalog_entry_reads_like_the_salesforce_page() -> None:
    assert CANCEL.label == "Cancel Fulfillment Order Item"
    assert CANCEL.category == "Order Management"
    assert CANCEL.description.startswith("Cancel fulfillment order products from a fulfillment order.")
    assert "reallocate the canceled quantities" in CANCEL.description
    assert [(p.name, p.label, p.required, str(p.type)) for p in CANCEL.inputs] == [
        ("fulfillmentOrderId", "Fulfillment Order Id", True, "Text"),
        ("cancelFulfillmentOrderItemsInput", "Cancel Fulfillment Order Items Input", True,
         "Apex ConnectApi.FulfillmentOrderLineItemsToCancelInputRepresentation"),
    ]
    assert [(p.name, p.label, str(p.type)) for p in CANCEL.outputs] == [
        ("cancelFulfillmentOrderItemsOutput", "Cancel Fulfillment Order Items Output",
         "Apex ConnectApi.FulfillmentOrderCancelLineItemsOutputRepresentation")]
    assert "Enterprise, Unlimited, and Developer Editions" in CANCEL.editions
    assert "fulfillmentOrderLineItemsToCancel" in CANCEL.usage


def test_plugin_ships_the_connectapi_classes_with_required_flags() -> None:
    classes = {c.name: c for c in plugin.apex_classes}
    line = classes["ConnectApi.FulfillmentOrderLineItemInputRepresentation"]
    assert line.fields["fulfillmentOrderLineItemId"].required
    assert line.fields["quantity"].required and line.fields["quantity"].type.kind == "Number"
    items = classes["ConnectApi.FulfillmentOrderLineItemsToCancelInputRepresentation"]
    field = items.fields["fulfillmentOrderLineItemsToCancel"]
    assert field.required and field.type.collection
    assert field.type.apex_class == "ConnectApi.FulfillmentOrderLineItemInputRepresentation"
    output = classes[CANCEL_OUTPUT]
    assert set(output.fields) == {"success", "errors"}
    assert output.fields["errors"].type.apex_class == "ConnectApi.ErrorResponse"
    assert set(classes["ConnectApi.ErrorResponse"].fields) == {"errorCode", "message"}


def test_plugin_passes_the_registry_checks() -> None:
    from flowengine.plugins.registry import plugin_problems
    assert plugin_problems(plugin) == []


# ---------------------------------------------------------------------------------------------
# effects

def test_cancel_one_unit_reduces_the_line_the_summary_and_the_order(org: Any,
                                                                    sample: SampleOrder) -> None:
    line_id, ois_id = sample.line_ids[0], sample.summary_ids[0]
    order_before = org.get(FO, sample.fulfillment_order_id)
    summary_before = org.get(OIS, ois_id)

    out = cancel(org, sample.fulfillment_order_id, (line_id, Decimal(1)))

    assert out == {"cancelFulfillmentOrderItemsOutput": ApexObject(
        CANCEL_OUTPUT, {"success": True, "errors": []})}
    line = org.get(LINE, line_id)
    assert (line["OriginalQuantity"], line["Quantity"]) == (3, 2)
    assert line["TotalLineAmount"] == line["TotalPrice"] == Decimal("40.00")
    assert line["TotalTaxAmount"] == Decimal("4.00")          # 6.00 × 2/3
    summary = org.get(OIS, ois_id)
    assert summary["QuantityAllocated"] == summary_before["QuantityAllocated"] - 1 == 2
    assert summary["QuantityAvailableToFulfill"] == summary_before["QuantityAvailableToFulfill"] + 1
    for unchanged in ("QuantityOrdered", "QuantityCanceled", "QuantityFulfilled", "Quantity"):
        assert summary[unchanged] == summary_before[unchanged]
    assert (summary_before["Status"], summary["Status"]) == ("ALLOCATED", "PARTIALLYALLOCATED")
    order = org.get(FO, sample.fulfillment_order_id)
    assert order["ItemCount"] == order_before["ItemCount"] - 1 == 8
    assert order["TotalProductAmount"] == order_before["TotalProductAmount"] - 20
    assert order["TotalDeliveryAmount"] == Decimal("7.99")
    assert order["TotalAmount"] == Decimal("167.99")
    assert order["TotalTaxAmount"] == Decimal("16.00")
    assert order["GrandTotalAmount"] == Decimal("183.99")
    assert (order["Status"], order["StatusCategory"]) == ("Allocated", "ACTIVATED")


def test_untouched_lines_do_not_change(org: Any, sample: SampleOrder) -> None:
    others = [org.get(LINE, i) for i in sample.line_ids[1:]]
    cancel(org, sample.fulfillment_order_id, (sample.line_ids[0], 2))
    assert [org.get(LINE, i) for i in sample.line_ids[1:]] == others


def test_several_lines_in_one_request(org: Any, sample: SampleOrder) -> None:
    cancel(org, sample.fulfillment_order_id, (sample.line_ids[0], 1), (sample.line_ids[1], 3),
           (sample.delivery_line_id, 1))
    assert [org.get(LINE, i)["Quantity"] for i in sample.line_ids] == [2, 0, 3]
    assert org.get(LINE, sample.delivery_line_id)["Quantity"] == 0
    assert org.get(OIS, sample.summary_ids[1])["Status"] == "ORDERED"   # nothing allocated any more
    order = org.get(FO, sample.fulfillment_order_id)
    assert (order["ItemCount"], order["TotalDeliveryAmount"]) == (5, 0)
    assert order["Status"] == "Allocated"


def test_fifteen_character_ids_are_accepted(org: Any, sample: SampleOrder) -> None:
    cancel(org, sample.fulfillment_order_id[:15], (sample.line_ids[0][:15], 1))
    assert org.get(LINE, sample.line_ids[0])["Quantity"] == 2


def test_order_is_cancelled_when_its_last_quantity_is_canceled(org: Any) -> None:
    sample = build_sample_order(org, 2)
    cancel(org, sample.fulfillment_order_id, (sample.line_ids[0], 1))
    cancel(org, sample.fulfillment_order_id, (sample.line_ids[0], 2), (sample.line_ids[1], 1))
    assert org.get(FO, sample.fulfillment_order_id)["Status"] == "Allocated"
    cancel(org, sample.fulfillment_order_id, (sample.line_ids[1], 2))
    order = org.get(FO, sample.fulfillment_order_id)
    assert (order["Status"], order["StatusCategory"]) == ("Cancelled", "CANCELLED")
    assert order["ItemCount"] == order["TotalAmount"] == order["GrandTotalAmount"] == 0
    for line_id in sample.line_ids:
        line = org.get(LINE, line_id)
        assert (line["Quantity"], line["OriginalQuantity"], line["TotalTaxAmount"]) == (0, 3, 0)
    for ois_id in sample.summary_ids:   # the summaries are not canceled, only deallocated
        summary = org.get(OIS, ois_id)
        assert (summary["QuantityCanceled"], summary["QuantityAllocated"]) == (0, 0)
        assert (summary["QuantityAvailableToFulfill"], summary["Status"]) == (3, "ORDERED")


def test_a_cancelled_order_refuses_further_cancels(org: Any) -> None:
    sample = build_sample_order(org, 1)
    cancel(org, sample.fulfillment_order_id, (sample.line_ids[0], 3))
    with refused(org, "INVALID_STATUS", r"Status 'Cancelled' \(StatusCategory CANCELLED\)"):
        cancel(org, sample.fulfillment_order_id, (sample.line_ids[0], 1))


def test_fractional_quantities_are_allowed(org: Any, sample: SampleOrder) -> None:
    cancel(org, sample.fulfillment_order_id, (sample.line_ids[0], Decimal("0.5")))
    line = org.get(LINE, sample.line_ids[0])
    assert line["Quantity"] == Decimal("2.5")
    assert line["TotalLineAmount"] == Decimal("50.00")
    assert line["TotalTaxAmount"] == Decimal("5.00")
    assert org.get(OIS, sample.summary_ids[0])["QuantityAllocated"] == Decimal("2.5")


def test_float_quantity_from_a_direct_caller_is_read_exactly(org: Any, sample: SampleOrder) -> None:
    cancel(org, sample.fulfillment_order_id, (sample.line_ids[0], 0.1))
    assert org.get(LINE, sample.line_ids[0])["Quantity"] == Decimal("2.9")


def test_tax_is_prorated_and_rounded_to_cents(org: Any) -> None:
    sample = build_sample_order(org, 1, tax=Decimal("1.00"))
    cancel(org, sample.fulfillment_order_id, (sample.line_ids[0], 1))
    assert org.get(LINE, sample.line_ids[0])["TotalTaxAmount"] == Decimal("0.67")   # 1.00 × 2/3
    cancel(org, sample.fulfillment_order_id, (sample.line_ids[0], 1))
    assert org.get(LINE, sample.line_ids[0])["TotalTaxAmount"] == Decimal("0.34")   # 0.67 × 1/2
    order = org.get(FO, sample.fulfillment_order_id)
    assert order["TotalTaxAmount"] == Decimal("0.34")


@pytest.mark.parametrize("status", ["Draft", "Allocated", "Assigned", "Pickpack"])
def test_open_statuses_allow_cancelling(org: Any, status: str) -> None:
    sample = build_sample_order(org, 1, status=status)
    cancel(org, sample.fulfillment_order_id, (sample.line_ids[0], 1))
    assert org.get(LINE, sample.line_ids[0])["Quantity"] == 2


def test_summary_with_quantity_still_to_allocate_goes_back_to_ordered(org: Any) -> None:
    sample = build_sample_order(org, 1, quantity=Decimal(2), unallocated=Decimal(1))
    assert org.get(OIS, sample.summary_ids[0])["Status"] == "PARTIALLYALLOCATED"
    cancel(org, sample.fulfillment_order_id, (sample.line_ids[0], 2))
    summary = org.get(OIS, sample.summary_ids[0])
    assert (summary["Status"], summary["QuantityAvailableToFulfill"]) == ("ORDERED", 3)


# ---------------------------------------------------------------------------------------------
# validation, in the spec's order; every refusal leaves the org unchanged

def test_missing_fulfillment_order_id(org: Any, sample: SampleOrder) -> None:
    with refused(org, "REQUIRED_FIELD_MISSING", "fulfillmentOrderId is required"):
        cancel(org, None, (sample.line_ids[0], 1))


@pytest.mark.parametrize("bad", ["0a3XX", "0a3XX0000000005YAB", "0a3-XX000000005Y", 42])
def test_malformed_fulfillment_order_id(org: Any, sample: SampleOrder, bad: Any) -> None:
    with refused(org, "INVALID_ID", "fulfillmentOrderId: .*not an Id"):
        cancel(org, bad, (sample.line_ids[0], 1))


def test_id_of_another_object_is_not_a_fulfillment_order_id(org: Any, sample: SampleOrder) -> None:
    with refused(org, "INVALID_ID", f"{sample.order_summary_id}.*key prefix is '1Os'"):
        cancel(org, sample.order_summary_id, (sample.line_ids[0], 1))


def test_unknown_fulfillment_order(org: Any, sample: SampleOrder) -> None:
    from flowengine.org.ids import make_id
    missing = make_id("0a3", 999_999)
    with refused(org, "NOT_FOUND", f"no FulfillmentOrder has Id {missing}"):
        cancel(org, missing, (sample.line_ids[0], 1))


@pytest.mark.parametrize("status, category", [("Fulfilled", "CLOSED"), ("Cancelled", "CANCELLED"),
                                              ("Rejected", "REJECTED")])
def test_closed_orders_are_refused(org: Any, status: str, category: str) -> None:
    sample = build_sample_order(org, 1, status=status)
    with refused(org, "INVALID_STATUS", f"{sample.fulfillment_order_id} has Status '{status}' "
                                        f"\\(StatusCategory {category}\\)"):
        cancel(org, sample.fulfillment_order_id, (sample.line_ids[0], 1))


def test_status_is_checked_before_the_request_list(org: Any) -> None:
    sample = build_sample_order(org, 1, status="Fulfilled")
    with refused(org, "INVALID_STATUS", "StatusCategory CLOSED"):
        cancel(org, sample.fulfillment_order_id)


def test_unmanaged_orders_are_refused(org: Any) -> None:
    sample = build_sample_order(org, 1, life_cycle="UNMANAGED")
    with refused(org, "UNMANAGED_ORDER", f"order summary {sample.order_summary_id}, whose "
                                         "OrderLifeCycleType is UNMANAGED"):
        cancel(org, sample.fulfillment_order_id, (sample.line_ids[0], 1))


def test_empty_request_list(org: Any, sample: SampleOrder) -> None:
    with refused(org, "REQUIRED_FIELD_MISSING", "fulfillmentOrderLineItemsToCancel is required"):
        cancel(org, sample.fulfillment_order_id)


def test_missing_request_object(org: Any, sample: SampleOrder) -> None:
    with refused(org, "REQUIRED_FIELD_MISSING", "cancelFulfillmentOrderItemsInput is required"):
        CANCEL.handler({"fulfillmentOrderId": sample.fulfillment_order_id},
                       ActionContext(org=org))


def test_line_of_another_fulfillment_order(org: Any, sample: SampleOrder) -> None:
    other = build_sample_order(org, 1, order_number="00000102")
    with refused(org, "INVALID_ID", f"line item {other.line_ids[0]} belongs to fulfillment order "
                                    f"{other.fulfillment_order_id}, not to "
                                    f"{sample.fulfillment_order_id}"):
        cancel(org, sample.fulfillment_order_id, (other.line_ids[0], 1))


def test_unknown_line(org: Any, sample: SampleOrder) -> None:
    from flowengine.org.ids import make_id
    missing = make_id("0a4", 999_999)
    with refused(org, "INVALID_ID", f"no fulfillment order line item has Id {missing}"):
        cancel(org, sample.fulfillment_order_id, (missing, 1))


def test_line_id_of_another_object(org: Any, sample: SampleOrder) -> None:
    with refused(org, "INVALID_ID", r"fulfillmentOrderLineItemsToCancel\[0\]"
                                    r"\.fulfillmentOrderLineItemId: .*key prefix is '10u'"):
        cancel(org, sample.fulfillment_order_id, (sample.summary_ids[0], 1))


def test_missing_line_id(org: Any, sample: SampleOrder) -> None:
    with refused(org, "REQUIRED_FIELD_MISSING", r"\[0\]\.fulfillmentOrderLineItemId is required"):
        cancel(org, sample.fulfillment_order_id, (None, 1))


def test_duplicate_lines(org: Any, sample: SampleOrder) -> None:
    line_id = sample.line_ids[0]
    with refused(org, "DUPLICATE_VALUE", rf"\[2\]: fulfillment order line item {line_id} is "
                                         r"already listed at fulfillmentOrderLineItemsToCancel\[0\]"):
        cancel(org, sample.fulfillment_order_id, (line_id, 1), (sample.line_ids[1], 1),
               (line_id[:15], 1))


@pytest.mark.parametrize("quantity, message", [
    (Decimal(0), "must be greater than 0, got 0"),
    (Decimal(-1), "must be greater than 0, got -1"),
    (-0.5, "must be greater than 0, got -0.5"),
    (Decimal("NaN"), "must be a finite number, got NaN"),
    (float("nan"), "must be a finite number, got nan"),
    (float("inf"), "must be a finite number, got inf"),
    (Decimal("-Infinity"), "must be a finite number, got -Infinity"),
    ("2", "must be a number, got '2'"),
    (True, "must be a number, got True"),
    (Decimal(4), "4 is more than the current Quantity 3 of fulfillment order line item"),
    (Decimal("3.01"), "3.01 is more than the current Quantity 3"),
])
def test_invalid_quantities(org: Any, sample: SampleOrder, quantity: Any, message: str) -> None:
    with refused(org, "INVALID_QUANTITY", rf"\[0\]\.quantity {message}"):
        cancel(org, sample.fulfillment_order_id, (sample.line_ids[0], quantity))


def test_missing_quantity(org: Any, sample: SampleOrder) -> None:
    with refused(org, "REQUIRED_FIELD_MISSING", r"\[0\]\.quantity is required"):
        cancel(org, sample.fulfillment_order_id, (sample.line_ids[0], None))


def test_quantity_above_what_is_left_after_an_earlier_cancel(org: Any, sample: SampleOrder) -> None:
    cancel(org, sample.fulfillment_order_id, (sample.line_ids[0], 2))
    with refused(org, "INVALID_QUANTITY", r"quantity 2 is more than the current Quantity 1 of "
                                          rf"fulfillment order line item {sample.line_ids[0]} "
                                          r"\(OriginalQuantity 3\)"):
        cancel(org, sample.fulfillment_order_id, (sample.line_ids[0], 2))


def test_one_bad_line_changes_nothing(org: Any, sample: SampleOrder) -> None:
    with refused(org, "INVALID_QUANTITY", r"\[2\]\.quantity 9 is more"):
        cancel(org, sample.fulfillment_order_id, (sample.line_ids[0], 1), (sample.line_ids[1], 3),
               (sample.line_ids[2], 9))


def test_a_store_failure_half_way_undoes_the_whole_request(org: Any, sample: SampleOrder) -> None:
    """Defence in depth: the writes run in a savepoint even outside an interview."""

    class FailingSecondWrite:
        """Lets the lines be written, fails writing the order item summaries."""

        def __init__(self, tx: Any) -> None:
            self._tx, self.writes = tx, 0

        def __getattr__(self, name: str) -> Any:
            return getattr(self._tx, name)

        def _write(self, method: str, *args: Any) -> None:
            self.writes += 1
            if self.writes == 2:
                raise RuntimeError("disk full")
            getattr(self._tx, method)(*args)

        def update(self, *args: Any) -> None:
            self._write("update", *args)

        def update_many(self, *args: Any) -> None:
            self._write("update_many", *args)

    before = org_snapshot(org)
    inputs = {"fulfillmentOrderId": sample.fulfillment_order_id,
              "cancelFulfillmentOrderItemsInput": cancel_input((sample.line_ids[0], 1),
                                                               (sample.line_ids[1], 1))}
    failing = FailingSecondWrite(org)
    with pytest.raises(RuntimeError, match="disk full"):
        CANCEL.handler(inputs, ActionContext(org=failing))  # type: ignore[arg-type]
    assert failing.writes == 2          # the lines were written before the failure
    assert org_snapshot(org) == before


def test_without_an_org_the_action_says_so() -> None:
    with pytest.raises(ActionError, match="needs an org store") as info:
        CANCEL.handler({}, ActionContext(org=None, element="Cancel_Items"))
    assert info.value.error_code == "ORG_REQUIRED"


def test_reads_and_writes_do_not_grow_with_the_number_of_lines(org: Any) -> None:
    """Validation and effects read the store a fixed number of times, and write it with a fixed
    number of calls (batches), whatever the line count."""

    class Counting:
        def __init__(self, tx: Any) -> None:
            self._tx, self.reads, self.writes = tx, 0, 0

        def __getattr__(self, name: str) -> Any:
            return getattr(self._tx, name)

        def get(self, *args: Any) -> Any:
            self.reads += 1
            return self._tx.get(*args)

        def query(self, *args: Any, **kwargs: Any) -> Any:
            self.reads += 1
            return self._tx.query(*args, **kwargs)

        def update(self, *args: Any) -> Any:
            self.writes += 1
            return self._tx.update(*args)

        def update_many(self, *args: Any) -> Any:
            self.writes += 1
            return self._tx.update_many(*args)

    counts = []
    for size in (2, 40):
        sample = build_sample_order(org, size, order_number=f"SIZE{size}")
        counting = Counting(org)
        inputs = {"fulfillmentOrderId": sample.fulfillment_order_id,
                  "cancelFulfillmentOrderItemsInput": cancel_input(
                      *[(line_id, 1) for line_id in sample.line_ids])}
        CANCEL.handler(inputs, ActionContext(org=counting))  # type: ignore[arg-type]
        counts.append((counting.reads, counting.writes))
    assert counts[0] == counts[1]
    assert counts[0][1] == 2            # the lines, then their order item summaries


def test_canceling_thousands_of_lines_keeps_the_order_totals(org: Any) -> None:
    sample = build_sample_order(org, 2000, delivery_charge=True)
    cancel(org, sample.fulfillment_order_id, *[(line_id, 1) for line_id in sample.line_ids[::2]],
           (sample.delivery_line_id, 1))
    order = org.get(FO, sample.fulfillment_order_id)
    assert order["ItemCount"] == 1000 * 2 + 1000 * 3
    assert order["TotalDeliveryAmount"] == 0
    assert order["TotalProductAmount"] == Decimal("20.00") * 5000
    assert order["TotalTaxAmount"] == Decimal("4.00") * 1000 + Decimal("6.00") * 1000
    assert order["GrandTotalAmount"] == order["TotalAmount"] + order["TotalTaxAmount"]
    # the invariants (autouse fixture) check every line, summary and total after the test
