"""The SQLite backend's own ways — the file, its migration, WAL, lock timeouts, the SQL it sends —
and `open_org` (paths, URLs, backends, the plug-ins' objects). What every backend must do is the
contract in `tests/org/test_contract.py`."""
from __future__ import annotations

import sqlite3
import time
from decimal import Decimal
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from helpers import COUNTER, INVOICE, INVOICE_LINE, ORG_SCHEMAS, invoice_with_lines, loaded_by_import

from flowengine.errors import OrgError
from flowengine.org import default_org_path, open_org
from flowengine.org.schema import FieldDef, ObjectSchema
from flowengine.org.sqlite import SqliteOrgStore
from flowengine.plugins import Plugin
from flowengine.types import FlowType, Number, Text

# -- SQL: what reaches the file ---------------------------------------------------------------

def test_numbers_are_stored_as_exact_text(org_store: SqliteOrgStore) -> None:
    exact = Decimal("12345678901234567890.123456789")
    with org_store.begin() as tx:
        counter = tx.insert("Counter", {"Value": Decimal("0.1")})
        tx.update("Counter", counter, {"Value": exact})
    raw = sqlite3.connect(org_store.path).execute('SELECT "Value" FROM "Counter"').fetchone()[0]
    assert raw == "12345678901234567890.123456789"


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
        _, few = invoice_with_lines(tx, *[(1, 1)] * 2)
        _, many = invoice_with_lines(tx, *[(1, 1)] * 200)
        small, large = batch_statements(tx, few), batch_statements(tx, many)
        assert len([s for s in large if s.startswith("SELECT")]) == \
            len([s for s in small if s.startswith("SELECT")]) == 2   # the lines, their invoice
        assert len([s for s in large if s.startswith('UPDATE "Invoice" ')]) == 1
        assert len([s for s in large if s.startswith('UPDATE "InvoiceLine" ')]) == 200
        assert tx.query("Invoice", {"LineCount": 200})[0]["Total"] == Decimal("1400.00")


def test_queries_with_more_ids_than_one_statement_may_hold(org_store: SqliteOrgStore) -> None:
    tx = org_store.begin()
    try:
        ids = tx.insert_many("Counter", [{"Name": f"c{i}", "Value": i} for i in range(33_000)])
        found = tx.query("Counter", {"Id": ids + ids[:5], "Name": [f"c{i}" for i in range(0, 33_000, 2)]})
        assert len(found) == 16_500
        assert [r["Id"] for r in found] == sorted(ids[0::2])
    finally:
        tx.rollback()


# -- locking ----------------------------------------------------------------------------------

def test_the_file_is_in_wal_mode_so_readers_never_wait(org_store: SqliteOrgStore) -> None:
    mode = sqlite3.connect(org_store.path).execute("PRAGMA journal_mode").fetchone()[0]
    assert mode == "wal"


def test_a_second_writer_waits_then_gives_up(org_store: SqliteOrgStore, org_path: Path) -> None:
    holder = org_store.begin()
    other = SqliteOrgStore(org_path, ORG_SCHEMAS, timeout=0.2)
    with pytest.raises(OrgError, match="locked by another writer") as caught:
        other.begin()
    assert caught.value.error_code == "UNABLE_TO_LOCK_ROW"
    holder.rollback()
    other.begin().rollback()
    other.close()


# -- the file: creation, migration, defaults --------------------------------------------------

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
    assert meta["schema_version"] == "2" and meta["format_version"] == "3"


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


# -- open_org: paths, URLs, backends, the plug-ins' objects -----------------------------------

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
    with open_org(org_path) as store:      # the plug-ins' objects beside the standard ones
        assert {"Counter", "Invoice", "InvoiceLine"} <= set(store.schemas)
        assert {"Account", "Contact", "User", "Product2"} <= set(store.schemas)
        assert store.invariants == (no_overpaid,)
    with open_org(org_path, invariants=()) as store:
        assert store.invariants == ()


def test_open_org_takes_sqlite_urls_and_paths(tmp_path: Path,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    absolute = tmp_path / "abs" / "org.sqlite"
    with open_org(f"sqlite://{absolute.as_posix()}", ORG_SCHEMAS) as store:
        assert store.location == str(absolute)
    with open_org("sqlite:rel/org.sqlite", ORG_SCHEMAS) as store:
        assert store.location == "rel/org.sqlite"
    with open_org("SQLite:with%20space.sqlite", ORG_SCHEMAS) as store:
        assert store.location == "with space.sqlite"
    with open_org("./odd:name.sqlite", ORG_SCHEMAS) as store:   # a colon in a file name
        assert store.location == "odd:name.sqlite"
    with open_org(Path("sqlite:path.sqlite"), ORG_SCHEMAS) as store:   # a Path is a path
        assert store.location == "sqlite:path.sqlite"
    assert {p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*.sqlite")} == {
        "abs/org.sqlite", "rel/org.sqlite", "with space.sqlite", "odd:name.sqlite",
        "sqlite:path.sqlite"}


def test_env_variable_may_be_a_url(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("FLOWENGINE_ORG", "sqlite:env/org.sqlite")
    assert default_org_path() == "sqlite:env/org.sqlite"
    open_org(schemas=ORG_SCHEMAS).close()
    assert (tmp_path / "env" / "org.sqlite").is_file()


@pytest.mark.parametrize("url", ["postgresql://flow:s3cret@127.0.0.1:1/org",
                                 "postgres://flow@127.0.0.1:1/org?password=s3cret",
                                 "PostgreSQL://flow:s3cret@127.0.0.1:1/org?schema=x"])
def test_an_unreachable_postgresql_server_is_a_clear_error(url: str) -> None:
    started = time.monotonic()
    with pytest.raises(OrgError, match=r"cannot reach the org store \S+127.0.0.1:1/org\S*: "
                                       "connection (failed|to server)") as caught:
        open_org(url, ORG_SCHEMAS)
    assert caught.value.error_code == "ORG_UNREACHABLE"
    assert "s3cret" not in str(caught.value) and "***" in str(caught.value)
    assert time.monotonic() - started < 10


def test_a_postgresql_url_without_a_host_means_the_local_socket() -> None:
    # postgresql:///org is libpq's local socket: the URL keeps its // on the way to libpq
    from flowengine.org.postgres import PostgresUrl

    target = PostgresUrl.parse("postgresql:///org?schema=s")
    assert target.conninfo.startswith("postgresql:///org?")
    assert (target.location, target.with_database("other"), target.with_schema("t")) == \
        ("postgresql:///org?schema=s", "postgresql:///other?schema=s", "postgresql:///org?schema=t")
    with pytest.raises(OrgError, match=r"cannot reach the org store postgresql:///org\?host=\S+: "
                                       r".*connection to server on socket") as caught:
        open_org("postgresql:///org?host=/no-such-socket-folder", ORG_SCHEMAS)
    assert caught.value.error_code == "ORG_UNREACHABLE"


@pytest.mark.parametrize("url, message", [
    ("postgresql://h/org?schema=bad-name", "schema 'bad-name' must be letters, digits and "
                                           "underscores"),
    ("postgresql://h/org?lock_timeout=soon", "lock_timeout must be a number of seconds above 0, "
                                             "found 'soon'"),
    ("postgresql://h/org?lock_timeout=0", "lock_timeout must be a number"),
    ("postgresql://h/org#top", "has a fragment"),
    ("postgresql://h/org?a", "the query .* is not NAME=VALUE"),
])
def test_bad_postgresql_urls_are_refused_before_connecting(url: str, message: str) -> None:
    with pytest.raises(OrgError, match=message) as caught:
        open_org(url, ORG_SCHEMAS)
    assert caught.value.error_code == "ORG_URL"


@pytest.mark.parametrize("target, code, message", [
    ("mysql://localhost/org", "ORG_BACKEND", r"org store 'mysql://localhost/org': unknown URL "
     r"scheme 'mysql:'; expected a file path, sqlite:///absolute/path, sqlite:relative/path or "
     r"postgresql://user:password@host:port/database \(supported schemes: postgres, postgresql, "
     r"sqlite; "),
    ("sqlite://host/org.sqlite", "ORG_URL", r"names a host \('host'\), but a SQLite store is a "
     "local file: expected sqlite:///absolute/path or sqlite:relative/path"),
    ("sqlite:org.sqlite?mode=ro", "ORG_URL", "has a query or fragment"),
    ("sqlite:", "ORG_URL", "'sqlite:' names no file"),
    ("", "ORG_URL", "expected the org store as a file path, .*, found the text ''"),
    (5, "ORG_URL", "found the number 5"),
])
def test_bad_store_targets_are_clear_errors(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                            target: Any, code: str, message: str) -> None:
    monkeypatch.chdir(tmp_path)
    with pytest.raises(OrgError, match=message) as caught:
        open_org(target, ORG_SCHEMAS)
    assert caught.value.error_code == code
    assert list(tmp_path.iterdir()) == []


def test_importing_the_org_package_loads_no_backend() -> None:
    assert loaded_by_import("flowengine.org", ("sqlite3", "flowengine.org.sqlite", "psycopg",
                                               "flowengine.org.postgres")) == []


# -- queries in SQL: sort keys, indexes, long lists, letters beyond ASCII ---------------------

def test_numbers_compare_in_sql_through_an_exact_sort_key(org_store: SqliteOrgStore) -> None:
    from flowengine.org.query import RecordFilter, Sort

    big = Decimal("123456789012345678.12")     # more digits than a REAL keeps
    with org_store.begin() as tx:
        low, high = tx.insert_many("Counter", [{"Name": "low", "Value": big},
                                               {"Name": "high", "Value": big + Decimal("0.01")}])
        found = tx.select("Counter", [RecordFilter("Value", "GreaterThan", big)])
        assert [r["Id"] for r in found] == [high]
        assert [r["Id"] for r in tx.select("Counter", order_by=[Sort("Value", True)])] == \
            [high, low]
    with sqlite3.connect(org_store.path) as conn:
        rows = conn.execute('SELECT "Value", "Value#n" FROM "Counter" ORDER BY "Value#n"').fetchall()
    assert [r[0] for r in rows] == ["123456789012345678.12", "123456789012345678.13"]


def _plan(org_store: SqliteOrgStore, sql: str, params: tuple[Any, ...] = ()) -> str:
    with sqlite3.connect(org_store.path) as conn:
        return " ".join(str(row[-1]) for row in conn.execute("EXPLAIN QUERY PLAN " + sql, params))


def test_selects_by_lookups_names_and_dates_use_an_index(org_store: SqliteOrgStore) -> None:
    from flowengine.org.query import RecordFilter, plan_select
    from flowengine.org.sqlite.select import build_select

    info = org_store.catalog.objects["InvoiceLine"]
    for field, value in (("InvoiceId", "a01XX0000000001YAA"), ("CreatedDate", "2026-01-01")):
        sql, params = build_select(plan_select(info, [RecordFilter(field, "EqualTo", value)]),
                                   org_store.codecs["InvoiceLine"])
        assert f"USING INDEX InvoiceLine__{field}" in _plan(org_store, sql, tuple(params))
    invoice = org_store.catalog.objects["Invoice"]
    sql, params = build_select(plan_select(invoice, [RecordFilter("Name", "EqualTo", "inv-1")]),
                               org_store.codecs["Invoice"])
    assert "USING INDEX Invoice__Name" in _plan(org_store, sql, tuple(params))   # NOCASE index
    sql, params = build_select(plan_select(info, [RecordFilter("Quantity", "EqualTo", 1)]),
                               org_store.codecs["InvoiceLine"])
    assert "SCAN InvoiceLine" in _plan(org_store, sql, tuple(params))            # no index


def test_a_long_in_list_is_one_statement(org_store: SqliteOrgStore) -> None:
    from flowengine.org.query import RecordFilter

    statements: list[str] = []
    with org_store.begin() as tx:
        ids = tx.insert_many("Counter", [{"Name": f"c{i}"} for i in range(2_000)])
        tx._conn.set_trace_callback(statements.append)   # type: ignore[attr-defined]
        found = tx.select("Counter", [RecordFilter("Id", "In", ids + ["a03XX9999999999"])])
        tx._conn.set_trace_callback(None)                # type: ignore[attr-defined]
    assert len(found) == 2_000
    assert len(statements) == 1 and "json_each" in statements[0]


def test_letters_beyond_ascii_compare_ignoring_case(org_store: SqliteOrgStore) -> None:
    from flowengine.org.query import RecordFilter

    with org_store.begin() as tx:
        tx.insert_many("Counter", [{"Name": "Straße"}, {"Name": "ÉCOLE"}, {"Name": "école"}])
        assert len(tx.select("Counter", [RecordFilter("Name", "EqualTo", "école")])) == 2
        assert len(tx.select("Counter", [RecordFilter("Name", "StartsWith", "ÉC")])) == 2
        assert len(tx.select("Counter", [RecordFilter("Name", "In", ["STRAßE"])])) == 1


def test_a_version_1_file_is_upgraded_with_sort_keys(org_path: Path) -> None:
    from flowengine.org.query import RecordFilter

    with open_org(org_path, ORG_SCHEMAS) as store, store.begin() as tx:
        tx.insert_many("Counter", [{"Name": "a", "Value": 10}, {"Name": "b", "Value": 9}])
    with sqlite3.connect(org_path) as conn:   # as version 1 kept it: no sort keys, no meta
        conn.execute('UPDATE "Counter" SET "Value#n" = NULL')
        conn.execute("UPDATE _flowengine_meta SET value = '1' WHERE key = 'format_version'")
        conn.execute('DROP INDEX "Invoice__Name"')
    with open_org(org_path, ORG_SCHEMAS) as store, store.begin() as tx:
        assert [r["Name"] for r in tx.select("Counter", [RecordFilter("Value", "GreaterThan",
                                                                      9.5)])] == []  # not yet
    with sqlite3.connect(org_path) as conn:
        conn.execute('ALTER TABLE "Counter" DROP COLUMN "Value#n"')
        conn.execute("UPDATE _flowengine_meta SET value = '1' WHERE key = 'format_version'")
    with open_org(org_path, ORG_SCHEMAS) as store, store.begin() as tx:
        assert [r["Name"] for r in tx.select("Counter", [RecordFilter("Value", "GreaterThan",
                                                                      9.5)])] == ["a"]
    meta = dict(sqlite3.connect(org_path).execute("SELECT key, value FROM _flowengine_meta"))
    assert meta["format_version"] == "3"
    indexes = {r[0] for r in sqlite3.connect(org_path).execute(
        "SELECT name FROM sqlite_master WHERE type = 'index'")}
    assert "Invoice__Name" in indexes


def test_a_scratch_org_is_a_new_store_that_goes_away(monkeypatch: pytest.MonkeyPatch) -> None:
    from flowengine.org.scratch import scratch_org

    monkeypatch.delenv("FLOWENGINE_TEST_ORG", raising=False)
    with scratch_org() as target:
        with open_org(target, ORG_SCHEMAS) as store, store.begin() as tx:
            assert tx.insert("Counter", {"Name": "x"}) == "a03XX0000000001YAA"
        assert Path(target).is_file()
    assert not Path(target).exists()
    with pytest.raises(OrgError, match="expected a postgresql:// URL, found 'mysql://me:\\*\\*\\*@"
                                       "h/db'") as caught:
        with scratch_org("mysql://me:pw@h/db"):
            pass
    assert caught.value.error_code == "ORG_URL"
