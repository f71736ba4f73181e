"""The org store contract: what every backend must do, run against each one in
`org_backends.STORE_TARGETS` — records, roll-ups, batches, transactions and isolation here;
queries (`test_contract_select.py`), deletes (`test_contract_delete.py`) and Salesforce's
write rules and system fields (`test_contract_writes.py`) beside it.

Each test gets a new, empty store (`store`, with the test-only objects of `helpers.ORG_SCHEMAS`)
or opens its own objects with `backend.open(schemas)`. Tests of one backend's own ways (SQLite:
the file, its migration, WAL, lock timeouts, statement counts) live beside that backend's tests.
"""
from __future__ import annotations

import datetime as dt
import multiprocessing
import threading
import time
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest
from helpers import INVOICE, INVOICE_LINE, ORG_SCHEMAS, invoice_with_lines
from org_backends import NOW, Backend

from flowengine.errors import OrgError
from flowengine.org import open_org
from flowengine.org.base import OrgStore, OrgTransaction
from flowengine.org.schema import FieldDef, ObjectSchema, Rollup
from flowengine.org.system import DEFAULT_USER_ID
from flowengine.types import FlowType, Number, Text


def in_threads(*work: Callable[[], None], timeout: float = 20) -> None:
    """Run each function in its own thread (as concurrent interviews would), wait for all of
    them, and raise the first error any of them raised."""
    errors: list[BaseException] = []

    def guarded(fn: Callable[[], None]) -> None:
        try:
            fn()
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=guarded, args=(fn,)) for fn in work]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout)
        assert not thread.is_alive(), "a transaction is still waiting"
    if errors:
        raise errors[0]


# -- the interface ----------------------------------------------------------------------------

def test_the_store_and_its_transactions_follow_the_protocols(store: OrgStore) -> None:
    assert isinstance(store, OrgStore)
    assert isinstance(store.location, str) and store.location
    assert sorted(store.schemas) == sorted(store.catalog.objects) == \
        ["Counter", "Invoice", "InvoiceLine", "Profile", "User"]   # User: records' CreatedById
    assert store.invariants == ()
    for write in (True, False):
        tx = store.begin(write=write)
        try:
            assert isinstance(tx, OrgTransaction)
        finally:
            tx.rollback()


def test_reads_refuse_unknown_objects_bad_ids_and_bad_arguments(store: OrgStore) -> None:
    with store.begin() as tx:
        with pytest.raises(OrgError, match="unknown object 'Invoce'; did you mean 'Invoice'") \
                as caught:
            tx.get("Invoce", "a01XX0000000001")
        assert caught.value.error_code == "INVALID_TYPE"
        with pytest.raises(OrgError, match="'a01XX00000001' is not an Id") as caught:
            tx.get("Invoice", "a01XX00000001")
        assert caught.value.error_code == "INVALID_ID"
        with pytest.raises(OrgError, match="`where` must map field names to values, found "
                                           "a list") as caught:
            tx.query("Invoice", ["Name"])  # type: ignore[arg-type]
        assert caught.value.error_code == "INVALID_ARGUMENT"
        with pytest.raises(OrgError, match="`order_by` must be a list of field names, found "
                                           "the text 'Name'"):
            tx.query("Invoice", order_by="Name")


# -- records ----------------------------------------------------------------------------------

def test_insert_and_get_return_every_field_with_types(store: OrgStore) -> None:
    with store.begin() as tx:
        invoice = tx.insert("Invoice", {"Name": "INV-1"})
        line = tx.insert("InvoiceLine", {"InvoiceId": invoice[:15], "Quantity": "2",
                                         "UnitPrice": 1.5, "DueDate": "2026-01-31"})
    assert invoice == "a01XX0000000001YAA" and line == "a02XX0000000001YAA"
    with store.begin() as tx:
        assert tx.get("InvoiceLine", line[:15]) == {
            "Id": line, "InvoiceId": invoice, "Quantity": Decimal(2), "UnitPrice": Decimal("1.50"),
            "Status": "Open", "Shipped": False, "DueDate": dt.date(2026, 1, 31),
            "Amount": Decimal("3.00"), "CreatedDate": NOW, "CreatedById": DEFAULT_USER_ID,
            "LastModifiedDate": NOW, "LastModifiedById": DEFAULT_USER_ID, "SystemModstamp": NOW,
            "IsDeleted": False}
        assert tx.get("InvoiceLine", "a02XX0000000009") is None


def test_decimals_are_stored_exactly(store: OrgStore) -> None:
    exact = Decimal("12345678901234567890.123456789")
    with store.begin() as tx:
        counter = tx.insert("Counter", {"Value": exact})
        tx.update("Counter", counter, {"Value": Decimal("0.1")})
        assert tx.get("Counter", counter)["Value"] + Decimal("0.2") == Decimal("0.3")
        tx.update("Counter", counter, {"Value": exact})
    with store.begin() as tx:
        assert tx.get("Counter", counter)["Value"] == exact


def test_given_id_is_kept_and_generated_ids_skip_it(store: OrgStore) -> None:
    with store.begin() as tx:
        assert tx.insert("Counter", {"Id": "a03XX0000000001"}) == "a03XX0000000001YAA"
        assert tx.insert("Counter", {}) == "a03XX0000000002YAA"
        with pytest.raises(OrgError, match="a03XX0000000002YAA is already the Id") as caught:
            tx.insert("Counter", {"Id": "a03XX0000000002YAA"})
        assert caught.value.error_code == "DUPLICATE_VALUE"


@pytest.mark.parametrize("object_name, fields, code, message", [
    ("Invoce", {}, "INVALID_TYPE", "unknown object 'Invoce'; did you mean 'Invoice'"),
    ("Invoice", {"Name": "x", "Nmae": "y"}, "INVALID_FIELD",
     r"Invoice.Nmae: no such field on Invoice; did you mean 'Name'\?"),
    ("Invoice", {"Name": "x", "Total": 3}, "INVALID_FIELD_FOR_INSERT_UPDATE",
     "Invoice.Total: cannot be set: it is rolled up from its InvoiceLine records"),
    ("Invoice", {"Name": "x", "Balance": 3}, "INVALID_FIELD_FOR_INSERT_UPDATE",
     "Invoice.Balance: cannot be set: it is calculated"),
    ("Invoice", {"Paid": 3}, "REQUIRED_FIELD_MISSING", "Invoice.Name: is required"),
    ("Invoice", {"Name": "x", "Paid": "lots"}, "INVALID_TYPE_ON_FIELD_IN_RECORD",
     r"Invoice.Paid: the text 'lots' does not fit Currency \(expected a number\)"),
    ("InvoiceLine", {"InvoiceId": "a01XX0000000001", "Status": "open"},
     "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST",
     "InvoiceLine.Status: the text 'open' is not one of its picklist values.*did you mean 'Open'"),
    ("InvoiceLine", {"InvoiceId": "a01XX0000000009"}, "INVALID_CROSS_REFERENCE_KEY",
     "InvoiceLine.InvoiceId: no Invoice record has Id a01XX0000000009YAA"),
    ("InvoiceLine", {"InvoiceId": "a03XX0000000001"}, "FIELD_INTEGRITY_EXCEPTION",
     r"InvoiceLine.InvoiceId: id value of incorrect type: a03XX0000000001 is the Id of a "
     r"Counter record; expected an Invoice Id \(key prefix a01\)"),
    ("InvoiceLine", {"InvoiceId": "zzzXX0000000001"}, "FIELD_INTEGRITY_EXCEPTION",
     r"zzzXX0000000001 is an Id with key prefix 'zzz', of no object in the org"),
    ("InvoiceLine", {"InvoiceId": "a01XX0000000001YAB"}, "INVALID_ID", "checksum 'YAB'"),
    ("Invoice", {"Id": "a02XX0000000001", "Name": "x"}, "INVALID_ID", "Invoice.Id: .*key prefix"),
])
def test_bad_writes_are_refused_with_a_code(store: OrgStore, object_name: str,
                                            fields: dict[str, Any], code: str,
                                            message: str) -> None:
    with store.begin() as tx:
        tx.insert("Invoice", {"Name": "existing"})           # a01XX0000000001YAA
        with pytest.raises(OrgError, match=message) as caught:
            tx.insert(object_name, fields)
        assert caught.value.error_code == code


def test_update_refuses_unknown_records_and_id_changes(store: OrgStore) -> None:
    with store.begin() as tx:
        invoice = tx.insert("Invoice", {"Name": "x"})
        with pytest.raises(OrgError, match="no Invoice record has Id a01XX0000000002YAA") as caught:
            tx.update("Invoice", "a01XX0000000002", {"Name": "y"})
        assert caught.value.error_code == "NOT_FOUND"
        with pytest.raises(OrgError, match="Id of a record cannot be changed"):
            tx.update("Invoice", invoice, {"Id": "a01XX0000000002"})
        with pytest.raises(OrgError, match="Invoice.Name: is required"):
            tx.update("Invoice", invoice, {"Name": None})
        with pytest.raises(OrgError, match="not an Invoice Id") as caught:
            tx.update("Invoice", "a02XX0000000001", {"Name": "y"})
        assert caught.value.error_code == "INVALID_ID"


def test_queries_filter_and_sort_by_value(store: OrgStore) -> None:
    with store.begin() as tx:
        invoice, lines = invoice_with_lines(tx, (10, 1), (9, 1), (3, 1), (None, 1))
        tx.update("InvoiceLine", lines[2], {"Status": "Closed"})
        ids = lambda records: [r["Id"] for r in records]
        assert ids(tx.query("InvoiceLine", order_by=["Quantity"])) == \
            [lines[3], lines[2], lines[1], lines[0]]                    # nulls first, numerically
        assert ids(tx.query("InvoiceLine", {"Quantity": Decimal("3.00")})) == [lines[2]]
        assert ids(tx.query("InvoiceLine", {"Quantity": [9, "10"]})) == [lines[0], lines[1]]
        assert ids(tx.query("InvoiceLine", {"Quantity": None})) == [lines[3]]
        assert ids(tx.query("InvoiceLine", {"Status": ["Closed"], "InvoiceId": invoice[:15]})) \
            == [lines[2]]
        assert ids(tx.query("InvoiceLine", {"Amount": 1})) == []
        assert tx.query("InvoiceLine", {"Status": []}) == []
        with pytest.raises(OrgError, match="InvoiceLine.Quantiy: no such field.*'Quantity'"):
            tx.query("InvoiceLine", {"Quantiy": 1})
        with pytest.raises(OrgError, match="no such field"):
            tx.query("InvoiceLine", order_by=["Qty"])


# -- calculated and rolled-up fields ----------------------------------------------------------

def test_rollups_and_calculated_fields_follow_every_write(store: OrgStore) -> None:
    with store.begin() as tx:
        invoice, (first, second) = invoice_with_lines(tx, (2, "1.50"), (1, 10))
        fields = tx.get("Invoice", invoice)
        assert (fields["Total"], fields["OpenTotal"], fields["LineCount"], fields["Balance"]) == \
            (Decimal("13.00"), Decimal("13.00"), 2, Decimal("13.00"))
        tx.update("InvoiceLine", second, {"Status": "Closed", "Quantity": 3})
        tx.update("Invoice", invoice, {"Paid": 5})
        fields = tx.get("Invoice", invoice)
        assert (fields["Total"], fields["OpenTotal"], fields["Balance"]) == \
            (Decimal("33.00"), Decimal("3.00"), Decimal("28.00"))
        assert tx.get("InvoiceLine", second)["Amount"] == Decimal("30.00")


def test_moving_a_child_updates_both_parents(store: OrgStore) -> None:
    with store.begin() as tx:
        old_parent, (line,) = invoice_with_lines(tx, (1, 4))
        new_parent = tx.insert("Invoice", {"Name": "INV-2"})
        tx.update("InvoiceLine", line, {"InvoiceId": new_parent})
        assert tx.get("Invoice", old_parent)["Total"] == 0
        assert tx.get("Invoice", old_parent)["LineCount"] == 0
        assert tx.get("Invoice", new_parent)["Total"] == Decimal("4.00")


def test_update_refuses_calculated_and_rolled_up_fields(store: OrgStore) -> None:
    with store.begin() as tx:
        invoice, (line,) = invoice_with_lines(tx, (1, 2))
        for object_name, record_id, name in (("Invoice", invoice, "Total"),
                                             ("Invoice", invoice, "Balance"),
                                             ("InvoiceLine", line, "Amount")):
            with pytest.raises(OrgError, match=f"{object_name}.{name}: cannot be set") as caught:
                tx.update(object_name, record_id, {name: 1})
            assert caught.value.error_code == "INVALID_FIELD_FOR_INSERT_UPDATE"
        assert tx.get("Invoice", invoice)["Total"] == Decimal("2.00")


def test_a_failing_calculation_is_an_org_error_naming_the_field(backend: Backend) -> None:
    broken = ObjectSchema("Broken", "b01", (
        FieldDef("Value", Number()),
        FieldDef("Double", Number(), calculated=lambda r: r["Value"] * 2)))
    with backend.open([broken]) as store, store.begin() as tx:
        with pytest.raises(OrgError, match="Broken.Double: calculation failed.*TypeError") as caught:
            tx.insert("Broken", {})
        assert caught.value.error_code == "CALCULATED_FIELD_ERROR"


REGION = ObjectSchema("Region", "r01", (
    FieldDef("Total", Number(), rollup=Rollup("Shop", "RegionId", "Total")),
    FieldDef("Shops", Number(), rollup=Rollup("Shop", "RegionId", op="count")),))

SHOP = ObjectSchema("Shop", "r02", (
    FieldDef("RegionId", Text(), reference_to="Region"),
    FieldDef("Total", Number(), rollup=Rollup("Sale", "ShopId", "Amount")),
    FieldDef("Big", FlowType("Boolean"), calculated=lambda r: r["Total"] >= 100),))

SALE = ObjectSchema("Sale", "r03", (FieldDef("ShopId", Text(), reference_to="Shop"),
                                    FieldDef("Amount", Number())))


def test_nested_rollups_are_current_after_every_call(backend: Backend) -> None:
    with backend.open([REGION, SHOP, SALE]) as store, store.begin() as tx:
        north, south = tx.insert_many("Region", [{}, {}])
        shops = tx.insert_many("Shop", [{"RegionId": north}, {"RegionId": north},
                                        {"RegionId": south}])
        sales = tx.insert_many("Sale", [{"ShopId": shops[i % 3], "Amount": 10 * (i + 1)}
                                        for i in range(6)])           # 10..60
        totals = lambda: ([tx.get("Region", r)["Total"] for r in (north, south)],
                          [tx.get("Shop", s)["Total"] for s in shops])
        assert totals() == ([120, 90], [50, 70, 90])
        tx.update_many("Sale", {sales[0]: {"Amount": 45}, sales[2]: {"ShopId": shops[0]}})
        assert totals() == ([185, 60], [115, 70, 60])
        assert tx.get("Shop", shops[0])["Big"] is True
        tx.update("Shop", shops[1], {"RegionId": south})               # a shop moves region
        assert totals() == ([115, 130], [115, 70, 60])
        assert [tx.get("Region", r)["Shops"] for r in (north, south)] == [1, 2]
        with pytest.raises(RuntimeError):
            with tx.savepoint():
                tx.insert("Sale", {"ShopId": shops[2], "Amount": 1000})
                assert totals() == ([115, 1130], [115, 70, 1060])
                raise RuntimeError("undo")
        assert totals() == ([115, 130], [115, 70, 60])


def test_rounded_rollups_are_recomputed_from_the_children(backend: Backend) -> None:
    """A Currency sum of unrounded Numbers rounds the total, not each step."""
    order = ObjectSchema("Order", "o01", (
        FieldDef("Fees", FlowType("Currency"), rollup=Rollup("Fee", "OrderId", "Amount")),))
    fee = ObjectSchema("Fee", "o02", (FieldDef("OrderId", Text(), reference_to="Order"),
                                      FieldDef("Amount", Number())))
    with backend.open([order, fee]) as store, store.begin() as tx:
        order_id = tx.insert("Order", {})
        fees = tx.insert_many("Fee", [{"OrderId": order_id, "Amount": "0.005"}] * 3)
        assert tx.get("Order", order_id)["Fees"] == Decimal("0.02")          # round(0.015)
        tx.update_many("Fee", {fees[0]: {"Amount": "0.004"}})
        assert tx.get("Order", order_id)["Fees"] == Decimal("0.01")          # round(0.014)


def test_sums_too_long_for_exact_steps_match_a_recomputation(backend: Backend) -> None:
    big = Decimal("1234567890123456789012345678")                            # 28 digits
    box = ObjectSchema("Box", "b01", (
        FieldDef("Weight", Number(), rollup=Rollup("Item", "BoxId", "Weight")),))
    item = ObjectSchema("Item", "b02", (FieldDef("BoxId", Text(), reference_to="Box"),
                                        FieldDef("Weight", Number())))
    with backend.open([box, item]) as store, store.begin() as tx:
        box_id = tx.insert("Box", {})
        first, second = tx.insert_many("Item", [{"BoxId": box_id, "Weight": big},
                                                {"BoxId": box_id, "Weight": "0.5"}])
        for weight in ("0.5", "1.5", "2", "-0.5"):
            tx.update_many("Item", {second: {"Weight": weight}})
            assert tx.get("Box", box_id)["Weight"] == sum([big, Decimal(weight)], Decimal(0))
        tx.update_many("Item", {first: {"Weight": 1}})
        assert tx.get("Box", box_id)["Weight"] == Decimal("0.5")


# -- batched writes: update_many, insert_many -------------------------------------------------

def _snapshot(tx: Any) -> dict[str, list[dict[str, Any]]]:
    return {name: tx.query(name) for name in ("Invoice", "InvoiceLine", "Counter")}


def _expected_totals(tx: Any, invoice: str) -> tuple[Decimal, Decimal, int]:
    """Total, OpenTotal and LineCount summed here from the lines, to compare with the store's."""
    lines = tx.query("InvoiceLine", {"InvoiceId": invoice})
    return (sum((line["Amount"] for line in lines), Decimal(0)),
            sum((line["Amount"] for line in lines if line["Status"] == "Open"), Decimal(0)),
            len(lines))


def test_update_many_writes_every_record_and_keeps_rollups_current(
        store: OrgStore) -> None:
    with store.begin() as tx:
        first, first_lines = invoice_with_lines(tx, *[(i, "1.50") for i in range(1, 6)])
        second, second_lines = invoice_with_lines(tx, (2, 10))
        tx.update_many("InvoiceLine", {
            first_lines[0][:15]: {"Quantity": 10},                        # 15-character Id
            first_lines[1]: {"Status": "Closed"},                         # leaves OpenTotal
            first_lines[2]: {"InvoiceId": second, "UnitPrice": "2.25"},   # moves to the other
            second_lines[0]: {"Quantity": None},                          # null: adds nothing
        })
        assert tx.get("InvoiceLine", first_lines[0])["Amount"] == Decimal("15.00")
        assert tx.get("InvoiceLine", first_lines[2])["Amount"] == Decimal("6.75")
        for invoice in (first, second):
            record = tx.get("Invoice", invoice)
            assert (record["Total"], record["OpenTotal"], record["LineCount"]) == \
                _expected_totals(tx, invoice)
            assert record["Balance"] == record["Total"] - record["Paid"]
        assert tx.get("Invoice", first)["Total"] == Decimal("31.50")
        assert tx.get("Invoice", second)["LineCount"] == 2


@pytest.mark.parametrize("updates, code, message", [
    ({"LINE": {"Quantity": 5}, "OTHER": {"Quantiy": 1}}, "INVALID_FIELD",
     r"InvoiceLine.Quantiy: no such field on InvoiceLine; did you mean 'Quantity'\? "
     r"\(record a02XX0000000002YAA\)"),
    ({"LINE": {"Quantity": 5}, "OTHER": {"Amount": 1}}, "INVALID_FIELD_FOR_INSERT_UPDATE",
     r"InvoiceLine.Amount: cannot be set: it is calculated from the record's other fields by "
     r"the store \(record a02XX0000000002YAA\)"),
    ({"LINE": {"Quantity": 5}, "OTHER": {"Quantity": "many"}}, "INVALID_TYPE_ON_FIELD_IN_RECORD",
     r"InvoiceLine.Quantity: the text 'many' does not fit Number.*\(record a02XX0000000002YAA\)"),
    ({"LINE": {"Quantity": 5}, "OTHER": {"InvoiceId": None}}, "REQUIRED_FIELD_MISSING",
     r"InvoiceLine.InvoiceId: is required, found no value \(record a02XX0000000002YAA\)"),
    ({"LINE": {"Quantity": 5}, "OTHER": {"InvoiceId": "a01XX0000000009"}},
     "INVALID_CROSS_REFERENCE_KEY",
     r"InvoiceLine.InvoiceId: no Invoice record has Id a01XX0000000009YAA "
     r"\(record a02XX0000000002YAA\)"),
    ({"LINE": {"Quantity": 5}, "OTHER": {"Id": "a02XX0000000009"}},
     "INVALID_FIELD_FOR_INSERT_UPDATE", "InvoiceLine.Id: the Id of a record cannot be changed"),
    ({"LINE": {"Quantity": 5}, "a02XX0000000009": {"Quantity": 1}}, "NOT_FOUND",
     "no InvoiceLine record has Id a02XX0000000009YAA"),
    ({"LINE": {"Quantity": 5}, "a02XX000000000": {"Quantity": 1}}, "INVALID_ID",
     r"'a02XX000000000' is not an Id: .*found 14 characters"),
    ({"LINE": {"Quantity": 5}, "a01XX0000000001": {"Quantity": 1}}, "INVALID_ID",
     r"is not an InvoiceLine Id \(key prefix a02\)"),
    ({"LINE": {"Quantity": 5}, "a02XX0000000001YAB": {"Quantity": 1}}, "INVALID_ID",
     "checksum 'YAB' does not match"),
    ({"LINE": {"Quantity": 5}, "a02XX0000000001": {"Quantity": 1}}, "DUPLICATE_VALUE",
     r"InvoiceLine record a02XX0000000001YAA is updated twice in one batch"),
    ({"LINE": {"Quantity": 5}, "OTHER": "Quantity"}, "INVALID_ARGUMENT",
     r"InvoiceLine: the fields of a record must be a mapping .*found the text 'Quantity'"),
])
def test_update_many_refuses_a_bad_batch_whole(store: OrgStore, updates: dict[str, Any],
                                               code: str, message: str) -> None:
    with store.begin() as tx:
        _, (line, other) = invoice_with_lines(tx, (1, 2), (3, 4))
        before = _snapshot(tx)
        named = {line if key == "LINE" else other if key == "OTHER" else key: fields
                 for key, fields in updates.items()}
        with pytest.raises(OrgError, match=message) as caught:
            tx.update_many("InvoiceLine", named)
        assert caught.value.error_code == code
        assert _snapshot(tx) == before


def test_update_many_of_unknown_objects_and_empty_batches(store: OrgStore) -> None:
    with store.begin() as tx:
        with pytest.raises(OrgError, match="unknown object 'InvoiceLines'; did you mean") as caught:
            tx.update_many("InvoiceLines", {})
        assert caught.value.error_code == "INVALID_TYPE"
        tx.update_many("InvoiceLine", {})
        assert tx.insert_many("InvoiceLine", []) == []
    reader = store.begin(write=False)
    with pytest.raises(OrgError, match="read-only"):
        reader.update_many("InvoiceLine", {})
    reader.rollback()


def test_a_batch_failing_after_its_writes_changes_nothing(backend: Backend) -> None:
    """A parent's calculation fails only once the children are written: all is undone."""
    parent = ObjectSchema("Box", "b01", (
        FieldDef("Weight", Number(), rollup=Rollup("Item", "BoxId", "Weight")),
        FieldDef("Spare", Number(), calculated=lambda r: 10 / (10 - r["Weight"])),
    ))
    item = ObjectSchema("Item", "b02", (FieldDef("BoxId", Text(), reference_to="Box"),
                                        FieldDef("Weight", Number())))
    with backend.open([parent, item]) as store, store.begin() as tx:
        box = tx.insert("Box", {})
        items = tx.insert_many("Item", [{"BoxId": box, "Weight": 2}, {"BoxId": box, "Weight": 3}])
        before = {name: tx.query(name) for name in ("Box", "Item")}
        with pytest.raises(OrgError, match="Box.Spare: calculation failed for record "
                                           "b01XX0000000001YAA: DivisionByZero") as caught:
            tx.update_many("Item", {items[0]: {"Weight": 4}, items[1]: {"Weight": 6}})
        assert caught.value.error_code == "CALCULATED_FIELD_ERROR"
        with pytest.raises(OrgError, match="DivisionByZero"):
            tx.insert_many("Item", [{"BoxId": box, "Weight": 1}, {"BoxId": box, "Weight": 4}])
        assert {name: tx.query(name) for name in ("Box", "Item")} == before
        assert tx.get("Box", box)["Spare"] == 2


def test_savepoint_rollback_undoes_a_batch_and_its_rollups(store: OrgStore) -> None:
    with store.begin() as tx:
        invoice, lines = invoice_with_lines(tx, (1, 1), (2, 1), (3, 1))
        before = _snapshot(tx)
        with pytest.raises(RuntimeError):
            with tx.savepoint():
                tx.update_many("InvoiceLine", {line: {"Quantity": 100} for line in lines})
                tx.insert_many("InvoiceLine", [{"InvoiceId": invoice, "Quantity": 1,
                                                "UnitPrice": 1}] * 3)
                assert tx.get("Invoice", invoice)["LineCount"] == 6
                raise RuntimeError("the action failed")
        assert _snapshot(tx) == before
        # the roll-ups kept after the rollback are the base for the next batch
        tx.update_many("InvoiceLine", {lines[0]: {"Quantity": 4}})
        assert tx.get("Invoice", invoice)["Total"] == Decimal("9.00") == \
            _expected_totals(tx, invoice)[0]


def test_reads_between_batches_see_current_rollups(store: OrgStore) -> None:
    with store.begin() as tx:
        invoice, lines = invoice_with_lines(tx, (1, 10), (1, 10))
        tx.update("Invoice", invoice, {"Paid": 5})
        with tx.savepoint():
            tx.update_many("InvoiceLine", {lines[0]: {"Quantity": 3},
                                           lines[1]: {"Status": "Closed"}})
            assert [r["Id"] for r in tx.query("Invoice", {"Total": 40, "OpenTotal": 30})] == \
                [invoice]
            assert tx.get("Invoice", invoice)["Balance"] == Decimal("35.00")
            tx.insert_many("InvoiceLine", [{"InvoiceId": invoice, "Quantity": 1, "UnitPrice": 1}])
            assert tx.query("Invoice", {"LineCount": 3})[0]["Balance"] == Decimal("36.00")
        assert tx.get("Invoice", invoice)["OpenTotal"] == Decimal("31.00")


def test_insert_many_creates_records_in_order_all_or_nothing(store: OrgStore) -> None:
    with store.begin() as tx:
        invoices = tx.insert_many("Invoice", [{"Name": "A"}, {"Id": "a01XX0000000002", "Name": "B"},
                                              {"Name": "C"}])
        assert invoices == ["a01XX0000000001YAA", "a01XX0000000002YAA", "a01XX0000000003YAA"]
        lines = tx.insert_many("InvoiceLine", [
            {"InvoiceId": invoices[i % 3], "Quantity": i, "UnitPrice": "0.10"} for i in range(30)])
        assert len(set(lines)) == 30
        assert [tx.get("Invoice", i)["Total"] for i in invoices] == \
            [Decimal("13.50"), Decimal("14.50"), Decimal("15.50")]
        before = _snapshot(tx)
        with pytest.raises(OrgError, match=r"InvoiceLine.Status: .*'Lost' is not one of its "
                                           r"picklist values.* \(record \[1\] of the batch\)"):
            tx.insert_many("InvoiceLine", [{"InvoiceId": invoices[0]},
                                           {"InvoiceId": invoices[0], "Status": "Lost"}])
        with pytest.raises(OrgError, match=r"Invoice.Id: a01XX0000000009YAA is also given to "
                                           r"record \[0\] of the batch \(record \[2\] of") as caught:
            tx.insert_many("Invoice", [{"Id": "a01XX0000000009", "Name": "x"}, {"Name": "y"},
                                       {"Id": "a01XX0000000009YAA", "Name": "z"}])
        assert caught.value.error_code == "DUPLICATE_VALUE"
        with pytest.raises(OrgError, match=r"a01XX0000000002YAA is already the Id of a record in "
                                           r"the org \(record \[1\] of the batch\)"):
            tx.insert_many("Invoice", [{"Name": "x"}, {"Id": "a01XX0000000002", "Name": "y"}])
        with pytest.raises(OrgError, match=r"Invoice.Name: is required, found no value "
                                           r"\(record \[0\] of the batch\)"):
            tx.insert_many("Invoice", [{}])
        assert _snapshot(tx) == before
        assert tx.insert("Invoice", {"Name": "D"}) == "a01XX0000000004YAA"   # counter kept


def test_insert_many_skips_given_ids_and_links_records_of_the_batch(backend: Backend) -> None:
    node = ObjectSchema("Node", "n01", (FieldDef("NextId", Text(), reference_to="Node"),))
    with backend.open([node]) as store, store.begin() as tx:
        created = tx.insert_many("Node", [{"NextId": "n01XX0000000002"},   # generated: 1
                                          {"Id": "n01XX0000000002", "NextId": "n01XX0000000003"},
                                          {"Id": "n01XX0000000003"},
                                          {}])                             # generated: 4
        assert created == ["n01XX0000000001YAA", "n01XX0000000002YAA", "n01XX0000000003YAA",
                           "n01XX0000000004YAA"]
        assert tx.get("Node", created[0])["NextId"] == created[1]
        with pytest.raises(OrgError, match="Node.NextId: no Node record has Id "
                                           "n01XX0000000009YAA") as caught:
            tx.insert_many("Node", [{"NextId": "n01XX0000000009"}])
        assert caught.value.error_code == "INVALID_CROSS_REFERENCE_KEY"


# -- transactions and savepoints --------------------------------------------------------------

def test_savepoint_undoes_only_its_block(store: OrgStore) -> None:
    with store.begin() as tx:
        invoice, (line,) = invoice_with_lines(tx, (1, 5))
        with pytest.raises(RuntimeError):
            with tx.savepoint():
                tx.update("InvoiceLine", line, {"Quantity": 7})
                tx.insert("InvoiceLine", {"InvoiceId": invoice, "Quantity": 1, "UnitPrice": 1})
                raise RuntimeError("action failed")
        with tx.savepoint():
            tx.update("Invoice", invoice, {"Paid": 1})
        assert tx.get("InvoiceLine", line)["Quantity"] == 1
        assert [r["Total"] for r in tx.query("Invoice")] == [Decimal("5.00")]
        assert len(tx.query("InvoiceLine")) == 1
        assert tx.get("Invoice", invoice)["Paid"] == 1


def test_rollback_undoes_the_whole_transaction(store: OrgStore) -> None:
    tx = store.begin()
    tx.insert("Invoice", {"Name": "gone"})
    tx.rollback()
    tx.rollback()  # finished: does nothing
    with pytest.raises(OrgError, match="already been committed or rolled back"):
        tx.insert("Invoice", {"Name": "x"})
    with store.begin() as tx:
        assert tx.query("Invoice") == []
        assert tx.insert("Invoice", {"Name": "kept"}) == "a01XX0000000001YAA"  # counter rolled back


def test_a_transaction_block_commits_on_success_and_rolls_back_on_error(store: OrgStore) -> None:
    with store.begin() as tx:
        kept = tx.insert("Counter", {"Name": "kept"})
    with pytest.raises(OrgError, match="already been committed or rolled back"):
        tx.get("Counter", kept)
    with pytest.raises(KeyError):
        with store.begin() as tx:
            tx.insert("Counter", {"Name": "lost"})
            raise KeyError("the interview failed")
    with store.begin(write=False) as tx:
        assert [r["Name"] for r in tx.query("Counter")] == ["kept"]


def test_commit_is_visible_to_another_store_and_read_only_refuses_writes(
        store: OrgStore, backend: Backend) -> None:
    with store.begin() as tx:
        tx.insert("Invoice", {"Name": "INV-1"})
    with backend.open(ORG_SCHEMAS) as other:
        reader = other.begin(write=False)
        assert [r["Name"] for r in reader.query("Invoice")] == ["INV-1"]
        with pytest.raises(OrgError, match="read-only"):
            reader.insert("Invoice", {"Name": "x"})
        reader.rollback()


# -- isolation: what concurrent transactions see ----------------------------------------------

def test_a_second_writer_waits_for_the_first_and_sees_its_commit(store: OrgStore) -> None:
    with store.begin() as tx:
        counter = tx.insert("Counter", {"Name": "shared", "Value": 0})
    first_wrote = threading.Event()
    events: list[str] = []
    seen: list[Decimal] = []

    def first() -> None:
        with store.begin() as tx:
            tx.update("Counter", counter, {"Value": 1})
            first_wrote.set()
            time.sleep(0.3)                     # the second writer starts meanwhile
            events.append("first commits")

    def second() -> None:
        assert first_wrote.wait(10)
        # waits for the first to finish: SQLite in begin(), a row-locking server at the read
        with store.begin() as tx:
            seen.append(tx.get("Counter", counter)["Value"])
            events.append("second read")
            tx.update("Counter", counter, {"Value": seen[-1] + 1})

    in_threads(first, second)
    assert events == ["first commits", "second read"]
    assert seen == [1]
    with store.begin(write=False) as tx:
        assert tx.get("Counter", counter)["Value"] == 2


def test_uncommitted_and_rolled_back_writes_are_never_seen(store: OrgStore) -> None:
    with store.begin() as tx:
        counter = tx.insert("Counter", {"Name": "shared", "Value": 0})
    seen: list[tuple[Decimal, int]] = []

    def read() -> None:
        with store.begin(write=False) as tx:
            seen.append((tx.get("Counter", counter)["Value"], len(tx.query("Counter"))))

    writer = store.begin()
    try:
        writer.update("Counter", counter, {"Value": 5})
        writer.insert("Counter", {"Name": "uncommitted"})
        in_threads(read)                        # another interview, while the writer is open
    finally:
        writer.rollback()
    in_threads(read)
    assert seen == [(0, 1), (0, 1)]
    with store.begin() as tx:                   # the lock is free again: no wait
        assert tx.insert("Counter", {}) == "a03XX0000000002YAA"


def test_a_read_only_transaction_reads_one_snapshot_and_blocks_no_writer(
        store: OrgStore) -> None:
    with store.begin() as tx:
        invoice, (line,) = invoice_with_lines(tx, (1, 10))
    reader = store.begin(write=False)
    try:
        before = reader.get("Invoice", invoice)

        def write() -> None:
            with store.begin() as tx:
                tx.update("InvoiceLine", line, {"Quantity": 3})
                tx.insert("InvoiceLine", {"InvoiceId": invoice, "Quantity": 1, "UnitPrice": 1})

        in_threads(write)                       # commits while the reader is still open
        assert reader.get("Invoice", invoice) == before
        assert [r["Quantity"] for r in reader.query("InvoiceLine")] == [1]
    finally:
        reader.rollback()
    with store.begin(write=False) as tx:
        assert tx.get("Invoice", invoice)["Total"] == Decimal("31.00")


def _increment(target: str, times: int) -> None:
    store = open_org(target, ORG_SCHEMAS)
    for _ in range(times):
        tx = store.begin()
        (counter,) = tx.query("Counter", {"Name": "shared"})
        tx.update("Counter", counter["Id"], {"Value": counter["Value"] + 1})
        tx.commit()
    store.close()


def test_processes_serialise_without_lost_updates(store: OrgStore, backend: Backend) -> None:
    with store.begin() as tx:
        counter = tx.insert("Counter", {"Name": "shared", "Value": 0})
    context = multiprocessing.get_context("spawn")
    workers = [context.Process(target=_increment, args=(backend.target, 25))
               for _ in range(3)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(120)
        assert worker.exitcode == 0
    with store.begin() as tx:
        assert tx.get("Counter", counter)["Value"] == 75


# -- administration ---------------------------------------------------------------------------

@pytest.mark.parametrize("schemas, message", [
    ([INVOICE, INVOICE_LINE, ObjectSchema("Other", "a01", ())], "'a01' is already used by Invoice"),
    ([INVOICE_LINE], "InvoiceLine.InvoiceId refers to unknown object 'Invoice'"),
    ([ObjectSchema("Bad", "b01", (FieldDef("Sum", Number(), rollup=Rollup("Bad", "Id", "X")),))],
     "Bad.Id is not a reference to Bad"),
    ([ObjectSchema("Bad", "b01", (FieldDef("id", Text()),))], "Bad.id: duplicate field"),
    ([ObjectSchema("Bad table", "b01", ())], "letters, digits and underscores"),
])
def test_broken_schemas_are_refused(backend: Backend, schemas: list[ObjectSchema],
                                    message: str) -> None:
    with pytest.raises(OrgError, match=message) as caught:
        backend.open(schemas)
    assert caught.value.error_code == "ORG_SCHEMA"


def test_wipe_deletes_every_record(store: OrgStore) -> None:
    with store.begin() as tx:
        invoice_with_lines(tx, (1, 1))
    store.wipe()
    with store.begin() as tx:
        assert tx.query("Invoice") == [] and tx.query("InvoiceLine") == []
        assert tx.insert("Invoice", {"Name": "x"}) == "a01XX0000000001YAA"
