from __future__ import annotations

import datetime as dt
import multiprocessing
import sqlite3
from decimal import Decimal
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from helpers import COUNTER, INVOICE, INVOICE_LINE, ORG_SCHEMAS

from flowengine.plugins import Plugin
from flowengine.errors import OrgError
from flowengine.org import default_org_path, open_org
from flowengine.org.schema import FieldDef, ObjectSchema, Rollup
from flowengine.org.sqlite import SqliteOrgStore
from flowengine.types import FlowType, Number, Text


def _invoice_with_lines(tx: Any, *lines: tuple[Any, Any]) -> tuple[str, list[str]]:
    invoice = tx.insert("Invoice", {"Name": "INV-1"})
    return invoice, [tx.insert("InvoiceLine", {"InvoiceId": invoice, "Quantity": q,
                                               "UnitPrice": p}) for q, p in lines]


# -- records ----------------------------------------------------------------------------------

def test_insert_and_get_return_every_field_with_types(org_store: SqliteOrgStore) -> None:
    with org_store.begin() as tx:
        invoice = tx.insert("Invoice", {"Name": "INV-1"})
        line = tx.insert("InvoiceLine", {"InvoiceId": invoice[:15], "Quantity": "2",
                                         "UnitPrice": 1.5, "DueDate": "2026-01-31"})
    assert invoice == "a01XX0000000001YAA" and line == "a02XX0000000001YAA"
    with org_store.begin() as tx:
        assert tx.get("InvoiceLine", line[:15]) == {
            "Id": line, "InvoiceId": invoice, "Quantity": Decimal(2), "UnitPrice": Decimal("1.50"),
            "Status": "Open", "Shipped": False, "DueDate": dt.date(2026, 1, 31),
            "Amount": Decimal("3.00")}
        assert tx.get("InvoiceLine", "a02XX0000000009") is None


def test_decimals_are_stored_exactly(org_store: SqliteOrgStore) -> None:
    exact = Decimal("12345678901234567890.123456789")
    with org_store.begin() as tx:
        counter = tx.insert("Counter", {"Value": exact})
        tx.update("Counter", counter, {"Value": Decimal("0.1")})
        assert tx.get("Counter", counter)["Value"] + Decimal("0.2") == Decimal("0.3")
        tx.update("Counter", counter, {"Value": exact})
    with org_store.begin() as tx:
        assert tx.get("Counter", counter)["Value"] == exact
    raw = sqlite3.connect(org_store.path).execute('SELECT "Value" FROM "Counter"').fetchone()[0]
    assert raw == "12345678901234567890.123456789"


def test_given_id_is_kept_and_generated_ids_skip_it(org_store: SqliteOrgStore) -> None:
    with org_store.begin() as tx:
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
    ("InvoiceLine", {"InvoiceId": "a03XX0000000001"}, "INVALID_ID",
     r"InvoiceLine.InvoiceId: 'a03XX0000000001' is not an Invoice Id \(key prefix a01\)"),
    ("InvoiceLine", {"InvoiceId": "a01XX0000000001YAB"}, "INVALID_ID", "checksum 'YAB'"),
    ("Invoice", {"Id": "a02XX0000000001", "Name": "x"}, "INVALID_ID", "Invoice.Id: .*key prefix"),
])
def test_bad_writes_are_refused_with_a_code(org_store: SqliteOrgStore, object_name: str,
                                            fields: dict[str, Any], code: str,
                                            message: str) -> None:
    with org_store.begin() as tx:
        tx.insert("Invoice", {"Name": "existing"})           # a01XX0000000001YAA
        with pytest.raises(OrgError, match=message) as caught:
            tx.insert(object_name, fields)
        assert caught.value.error_code == code


def test_update_refuses_unknown_records_and_id_changes(org_store: SqliteOrgStore) -> None:
    with org_store.begin() as tx:
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


# -- calculated and rolled-up fields ------------------------------------------------------------

def test_rollups_and_calculated_fields_follow_every_write(org_store: SqliteOrgStore) -> None:
    with org_store.begin() as tx:
        invoice, (first, second) = _invoice_with_lines(tx, (2, "1.50"), (1, 10))
        fields = tx.get("Invoice", invoice)
        assert (fields["Total"], fields["OpenTotal"], fields["LineCount"], fields["Balance"]) == \
            (Decimal("13.00"), Decimal("13.00"), 2, Decimal("13.00"))
        tx.update("InvoiceLine", second, {"Status": "Closed", "Quantity": 3})
        tx.update("Invoice", invoice, {"Paid": 5})
        fields = tx.get("Invoice", invoice)
        assert (fields["Total"], fields["OpenTotal"], fields["Balance"]) == \
            (Decimal("33.00"), Decimal("3.00"), Decimal("28.00"))
        assert tx.get("InvoiceLine", second)["Amount"] == Decimal("30.00")


def test_moving_a_child_updates_both_parents(org_store: SqliteOrgStore) -> None:
    with org_store.begin() as tx:
        old_parent, (line,) = _invoice_with_lines(tx, (1, 4))
        new_parent = tx.insert("Invoice", {"Name": "INV-2"})
        tx.update("InvoiceLine", line, {"InvoiceId": new_parent})
        assert tx.get("Invoice", old_parent)["Total"] == 0
        assert tx.get("Invoice", old_parent)["LineCount"] == 0
        assert tx.get("Invoice", new_parent)["Total"] == Decimal("4.00")


def test_queries_filter_and_sort_by_value(org_store: SqliteOrgStore) -> None:
    with org_store.begin() as tx:
        invoice, lines = _invoice_with_lines(tx, (10, 1), (9, 1), (3, 1), (None, 1))
        tx.update("InvoiceLine", lines[2], {"Status": "Closed"})
        ids = lambda records: [r["Id"] for r in records]  # noqa: E731
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


def test_a_failing_calculation_is_an_org_error_naming_the_field(org_path: Path) -> None:
    broken = ObjectSchema("Broken", "b01", (
        FieldDef("Value", Number()),
        FieldDef("Double", Number(), calculated=lambda r: r["Value"] * 2)))
    with open_org(org_path, [broken]) as store, store.begin() as tx:
        with pytest.raises(OrgError, match="Broken.Double: calculation failed.*TypeError") as caught:
            tx.insert("Broken", {})
        assert caught.value.error_code == "CALCULATED_FIELD_ERROR"


# -- batched writes: update_many, insert_many ---------------------------------------------------

def _snapshot(tx: Any) -> dict[str, list[dict[str, Any]]]:
    return {name: tx.query(name) for name in ("Invoice", "InvoiceLine", "Counter")}


def _expected_totals(tx: Any, invoice: str) -> tuple[Decimal, Decimal, int]:
    """Total, OpenTotal and LineCount summed here from the lines, to compare with the store's."""
    lines = tx.query("InvoiceLine", {"InvoiceId": invoice})
    return (sum((line["Amount"] for line in lines), Decimal(0)),
            sum((line["Amount"] for line in lines if line["Status"] == "Open"), Decimal(0)),
            len(lines))


def test_update_many_writes_every_record_and_keeps_rollups_current(
        org_store: SqliteOrgStore) -> None:
    with org_store.begin() as tx:
        first, first_lines = _invoice_with_lines(tx, *[(i, "1.50") for i in range(1, 6)])
        second, second_lines = _invoice_with_lines(tx, (2, 10))
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


def test_update_many_reads_and_writes_parents_once_per_batch(org_store: SqliteOrgStore) -> None:
    """The cost of a batch does not grow with the number of children a parent has."""
    statements: list[str] = []

    def batch_statements(tx: Any, lines: list[str]) -> list[str]:
        statements.clear()
        tx._conn.set_trace_callback(statements.append)
        try:
            tx.update_many("InvoiceLine", {line: {"Quantity": 7} for line in lines})
        finally:
            tx._conn.set_trace_callback(None)
        return [s for s in statements if not s.startswith(("SAVEPOINT", "RELEASE"))]

    with org_store.begin() as tx:
        _, few = _invoice_with_lines(tx, *[(1, 1)] * 2)
        _, many = _invoice_with_lines(tx, *[(1, 1)] * 200)
        small, large = batch_statements(tx, few), batch_statements(tx, many)
        assert len([s for s in large if s.startswith("SELECT")]) == \
            len([s for s in small if s.startswith("SELECT")]) == 2   # the lines, their invoice
        assert len([s for s in large if s.startswith('UPDATE "Invoice" ')]) == 1
        assert len([s for s in large if s.startswith('UPDATE "InvoiceLine" ')]) == 200
        assert tx.query("Invoice", {"LineCount": 200})[0]["Total"] == Decimal("1400.00")


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
def test_update_many_refuses_a_bad_batch_whole(org_store: SqliteOrgStore, updates: dict[str, Any],
                                               code: str, message: str) -> None:
    with org_store.begin() as tx:
        _, (line, other) = _invoice_with_lines(tx, (1, 2), (3, 4))
        before = _snapshot(tx)
        named = {line if key == "LINE" else other if key == "OTHER" else key: fields
                 for key, fields in updates.items()}
        with pytest.raises(OrgError, match=message) as caught:
            tx.update_many("InvoiceLine", named)
        assert caught.value.error_code == code
        assert _snapshot(tx) == before


def test_update_many_of_unknown_objects_and_empty_batches(org_store: SqliteOrgStore) -> None:
    with org_store.begin() as tx:
        with pytest.raises(OrgError, match="unknown object 'InvoiceLines'; did you mean") as caught:
            tx.update_many("InvoiceLines", {})
        assert caught.value.error_code == "INVALID_TYPE"
        tx.update_many("InvoiceLine", {})
        assert tx.insert_many("InvoiceLine", []) == []
    reader = org_store.begin(write=False)
    with pytest.raises(OrgError, match="read-only"):
        reader.update_many("InvoiceLine", {})
    reader.rollback()


def test_a_batch_failing_after_its_writes_changes_nothing(org_path: Path) -> None:
    """A parent's calculation fails only once the children are written: all is undone."""
    parent = ObjectSchema("Box", "b01", (
        FieldDef("Weight", Number(), rollup=Rollup("Item", "BoxId", "Weight")),
        FieldDef("Spare", Number(), calculated=lambda r: 10 / (10 - r["Weight"])),
    ))
    item = ObjectSchema("Item", "b02", (FieldDef("BoxId", Text(), reference_to="Box"),
                                        FieldDef("Weight", Number())))
    with open_org(org_path, [parent, item]) as store, store.begin() as tx:
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


def test_savepoint_rollback_undoes_a_batch_and_its_rollups(org_store: SqliteOrgStore) -> None:
    with org_store.begin() as tx:
        invoice, lines = _invoice_with_lines(tx, (1, 1), (2, 1), (3, 1))
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


def test_reads_between_batches_see_current_rollups(org_store: SqliteOrgStore) -> None:
    with org_store.begin() as tx:
        invoice, lines = _invoice_with_lines(tx, (1, 10), (1, 10))
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


def test_rounded_rollups_are_recomputed_from_the_children(org_path: Path) -> None:
    """A Currency sum of unrounded Numbers rounds the total, not each step."""
    order = ObjectSchema("Order", "o01", (
        FieldDef("Fees", FlowType("Currency"), rollup=Rollup("Fee", "OrderId", "Amount")),))
    fee = ObjectSchema("Fee", "o02", (FieldDef("OrderId", Text(), reference_to="Order"),
                                      FieldDef("Amount", Number())))
    with open_org(org_path, [order, fee]) as store, store.begin() as tx:
        order_id = tx.insert("Order", {})
        fees = tx.insert_many("Fee", [{"OrderId": order_id, "Amount": "0.005"}] * 3)
        assert tx.get("Order", order_id)["Fees"] == Decimal("0.02")          # round(0.015)
        tx.update_many("Fee", {fees[0]: {"Amount": "0.004"}})
        assert tx.get("Order", order_id)["Fees"] == Decimal("0.01")          # round(0.014)


def test_sums_too_long_for_exact_steps_match_a_recomputation(org_path: Path) -> None:
    big = Decimal("1234567890123456789012345678")                            # 28 digits
    box = ObjectSchema("Box", "b01", (
        FieldDef("Weight", Number(), rollup=Rollup("Item", "BoxId", "Weight")),))
    item = ObjectSchema("Item", "b02", (FieldDef("BoxId", Text(), reference_to="Box"),
                                        FieldDef("Weight", Number())))
    with open_org(org_path, [box, item]) as store, store.begin() as tx:
        box_id = tx.insert("Box", {})
        first, second = tx.insert_many("Item", [{"BoxId": box_id, "Weight": big},
                                                {"BoxId": box_id, "Weight": "0.5"}])
        for weight in ("0.5", "1.5", "2", "-0.5"):
            tx.update_many("Item", {second: {"Weight": weight}})
            assert tx.get("Box", box_id)["Weight"] == sum([big, Decimal(weight)], Decimal(0))
        tx.update_many("Item", {first: {"Weight": 1}})
        assert tx.get("Box", box_id)["Weight"] == Decimal("0.5")


def test_insert_many_creates_records_in_order_all_or_nothing(org_store: SqliteOrgStore) -> None:
    with org_store.begin() as tx:
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


def test_insert_many_skips_given_ids_and_links_records_of_the_batch(org_path: Path) -> None:
    node = ObjectSchema("Node", "n01", (FieldDef("NextId", Text(), reference_to="Node"),))
    with open_org(org_path, [node]) as store, store.begin() as tx:
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


# -- transactions ------------------------------------------------------------------------------

def test_savepoint_undoes_only_its_block(org_store: SqliteOrgStore) -> None:
    with org_store.begin() as tx:
        invoice, (line,) = _invoice_with_lines(tx, (1, 5))
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


def test_rollback_undoes_the_whole_transaction(org_store: SqliteOrgStore) -> None:
    tx = org_store.begin()
    tx.insert("Invoice", {"Name": "gone"})
    tx.rollback()
    tx.rollback()  # finished: does nothing
    with pytest.raises(OrgError, match="already been committed or rolled back"):
        tx.insert("Invoice", {"Name": "x"})
    with org_store.begin() as tx:
        assert tx.query("Invoice") == []
        assert tx.insert("Invoice", {"Name": "kept"}) == "a01XX0000000001YAA"  # counter rolled back


def test_commit_is_visible_to_another_store_and_read_only_refuses_writes(
        org_store: SqliteOrgStore, org_path: Path) -> None:
    with org_store.begin() as tx:
        tx.insert("Invoice", {"Name": "INV-1"})
    with open_org(org_path, ORG_SCHEMAS) as other:
        reader = other.begin(write=False)
        assert [r["Name"] for r in reader.query("Invoice")] == ["INV-1"]
        with pytest.raises(OrgError, match="read-only"):
            reader.insert("Invoice", {"Name": "x"})
        reader.rollback()


def test_a_second_writer_waits_then_gives_up(org_store: SqliteOrgStore, org_path: Path) -> None:
    holder = org_store.begin()
    other = SqliteOrgStore(org_path, ORG_SCHEMAS, timeout=0.2)
    with pytest.raises(OrgError, match="locked by another writer") as caught:
        other.begin()
    assert caught.value.error_code == "UNABLE_TO_LOCK_ROW"
    holder.rollback()
    other.begin().rollback()
    other.close()


def _increment(path: str, times: int) -> None:
    store = open_org(path, ORG_SCHEMAS)
    for _ in range(times):
        tx = store.begin()
        (counter,) = tx.query("Counter", {"Name": "shared"})
        tx.update("Counter", counter["Id"], {"Value": counter["Value"] + 1})
        tx.commit()
    store.close()


def test_processes_serialise_without_lost_updates(org_store: SqliteOrgStore) -> None:
    with org_store.begin() as tx:
        counter = tx.insert("Counter", {"Name": "shared", "Value": 0})
    context = multiprocessing.get_context("spawn")
    workers = [context.Process(target=_increment, args=(str(org_store.path), 25))
               for _ in range(3)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(120)
        assert worker.exitcode == 0
    with org_store.begin() as tx:
        assert tx.get("Counter", counter)["Value"] == 75


# -- the file: creation, migration, defaults ---------------------------------------------------

def test_store_migrates_to_new_fields_and_objects(org_path: Path) -> None:
    invoice_v1 = ObjectSchema("Invoice", "a01", (FieldDef("Name", Text()),
                                                 FieldDef("Paid", FlowType("Currency"))))
    line_v1 = ObjectSchema("InvoiceLine", "a02", (
        FieldDef("InvoiceId", Text(), reference_to="Invoice"), FieldDef("Quantity", Number()),
        FieldDef("UnitPrice", FlowType("Currency"))))
    with open_org(org_path, [invoice_v1, line_v1]) as store, store.begin() as tx:
        invoice = tx.insert("Invoice", {"Name": "old", "Paid": 1})
        tx.insert("InvoiceLine", {"InvoiceId": invoice, "Quantity": 2, "UnitPrice": 3})
    with open_org(org_path, ORG_SCHEMAS) as store, store.begin() as tx:
        assert tx.get("Invoice", invoice)["Total"] == Decimal("6.00")
        assert tx.get("Invoice", invoice)["Balance"] == Decimal("5.00")
        (line,) = tx.query("InvoiceLine")
        assert (line["Status"], line["Shipped"], line["Amount"]) == ("Open", False, Decimal("6.00"))
        tx.insert("Counter", {"Name": "new object"})
    meta = dict(sqlite3.connect(org_path).execute("SELECT key, value FROM _flowengine_meta"))
    assert meta["schema_version"] == "2" and meta["format_version"] == "1"


def test_changed_calculation_is_recomputed_on_open(org_path: Path) -> None:
    def schema(calculation: Any) -> ObjectSchema:
        return ObjectSchema("Thing", "t01", (FieldDef("Value", Number()),
                                             FieldDef("Scaled", Number(), calculated=calculation)))

    def scaled_by(factor: int) -> Any:
        return lambda r: r["Value"] * factor

    with open_org(org_path, [schema(lambda r: r["Value"] * 2)]) as store, store.begin() as tx:
        thing = tx.insert("Thing", {"Value": 5})
    with open_org(org_path, [schema(lambda r: r["Value"] * 3)]) as store, store.begin() as tx:
        assert tx.get("Thing", thing)["Scaled"] == 15
    with open_org(org_path, [schema(scaled_by(4))]) as store, store.begin() as tx:
        assert tx.get("Thing", thing)["Scaled"] == 20
    with open_org(org_path, [schema(scaled_by(5))]) as store, store.begin() as tx:
        assert tx.get("Thing", thing)["Scaled"] == 25


def test_store_from_a_newer_flowengine_is_refused(org_path: Path) -> None:
    open_org(org_path, ORG_SCHEMAS).close()
    with sqlite3.connect(org_path) as conn:
        conn.execute("UPDATE _flowengine_meta SET value = '99' WHERE key = 'format_version'")
    with pytest.raises(OrgError, match="format version 99"):
        open_org(org_path, ORG_SCHEMAS)


def test_files_that_are_not_stores_are_refused(tmp_path: Path) -> None:
    text_file = tmp_path / "notes.sqlite"
    text_file.write_text("hello " * 200)
    with pytest.raises(OrgError, match="not an org store") as caught:
        open_org(text_file, ORG_SCHEMAS)
    assert caught.value.error_code == "ORG_STORE"
    with pytest.raises(OrgError, match="no org store at") as caught:
        open_org(tmp_path / "missing.sqlite", ORG_SCHEMAS, create=False)
    assert caught.value.error_code == "ORG_NOT_FOUND"
    assert not (tmp_path / "missing.sqlite").exists()


def test_store_is_created_with_its_directory(tmp_path: Path) -> None:
    path = tmp_path / "deep" / "er" / "org.sqlite"
    open_org(path, ORG_SCHEMAS).close()
    assert path.is_file()


@pytest.mark.parametrize("schemas, message", [
    ([INVOICE, INVOICE_LINE, ObjectSchema("Other", "a01", ())], "'a01' is already used by Invoice"),
    ([INVOICE_LINE], "InvoiceLine.InvoiceId refers to unknown object 'Invoice'"),
    ([ObjectSchema("Bad", "b01", (FieldDef("Sum", Number(), rollup=Rollup("Bad", "Id", "X")),))],
     "Bad.Id is not a reference to Bad"),
    ([ObjectSchema("Bad", "b01", (FieldDef("id", Text()),))], "Bad.id: duplicate field"),
    ([ObjectSchema("Bad table", "b01", ())], "letters, digits and underscores"),
])
def test_broken_schemas_are_refused(org_path: Path, schemas: list[ObjectSchema],
                                    message: str) -> None:
    with pytest.raises(OrgError, match=message) as caught:
        open_org(org_path, schemas)
    assert caught.value.error_code == "ORG_SCHEMA"


def test_wipe_deletes_every_record(org_store: SqliteOrgStore) -> None:
    with org_store.begin() as tx:
        _invoice_with_lines(tx, (1, 1))
    org_store.wipe()
    with org_store.begin() as tx:
        assert tx.query("Invoice") == [] and tx.query("InvoiceLine") == []
        assert tx.insert("Invoice", {"Name": "x"}) == "a01XX0000000001YAA"


# -- default path and plug-in schemas -----------------------------------------------------------

def test_default_path_is_env_variable_else_dot_flowengine(monkeypatch: pytest.MonkeyPatch,
                                                          tmp_path: Path) -> None:
    monkeypatch.delenv("FLOWENGINE_ORG", raising=False)
    assert default_org_path() == Path(".flowengine/org.sqlite")
    monkeypatch.setenv("FLOWENGINE_ORG", str(tmp_path / "env.sqlite"))
    assert default_org_path() == tmp_path / "env.sqlite"
    monkeypatch.chdir(tmp_path)
    open_org(schemas=ORG_SCHEMAS).close()
    assert (tmp_path / "env.sqlite").is_file()


def test_open_org_takes_objects_and_invariants_from_the_plugins(
        monkeypatch: pytest.MonkeyPatch, org_path: Path) -> None:
    def no_overpaid(tx: Any) -> list[str]:
        return []
    plugins = [Plugin("billing", objects=(INVOICE, INVOICE_LINE), invariants=(no_overpaid,)),
               Plugin("counting", objects=(COUNTER,))]
    import flowengine.plugins.registry
    monkeypatch.setattr(flowengine.plugins.registry, "get_registry",
                        lambda: SimpleNamespace(plugins=plugins))
    with open_org(org_path) as store:
        assert sorted(store.schemas) == ["Counter", "Invoice", "InvoiceLine"]
        assert store.invariants == (no_overpaid,)
    with open_org(org_path, invariants=()) as store:
        assert store.invariants == ()


def test_queries_with_more_ids_than_one_statement_may_hold(org_store: SqliteOrgStore) -> None:
    tx = org_store.begin()
    try:
        ids = tx.insert_many("Counter", [{"Name": f"c{i}", "Value": i} for i in range(33_000)])
        found = tx.query("Counter", {"Id": ids + ids[:5], "Name": [f"c{i}" for i in range(0, 33_000, 2)]})
        assert len(found) == 16_500
        assert [r["Id"] for r in found] == sorted(ids[0::2])
    finally:
        tx.rollback()
