from __future__ import annotations

import datetime as dt
import multiprocessing
import sqlite3
from decimal import Decimal
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from conftest import COUNTER, INVOICE, INVOICE_LINE, ORG_SCHEMAS

from flowengine.action import Plugin
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
    import flowengine.registry
    monkeypatch.setattr(flowengine.registry, "get_registry",
                        lambda: SimpleNamespace(plugins=plugins))
    with open_org(org_path) as store:
        assert sorted(store.schemas) == ["Counter", "Invoice", "InvoiceLine"]
        assert store.invariants == (no_overpaid,)
    with open_org(org_path, invariants=()) as store:
        assert store.invariants == ()
