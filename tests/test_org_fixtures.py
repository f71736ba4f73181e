from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from helpers import ORG_SCHEMAS

from flowengine.errors import OrgError
from flowengine.org.fixtures import export_records, load_fixture, load_records, read_fixture
from flowengine.org.sqlite import SqliteOrgStore

INVOICE_ID = "a01XX0000000100"


def _write(tmp_path: Path, text: str, name: str = "fixture.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def _count(store: SqliteOrgStore) -> int:
    """The records of the tests' own objects (not the store's default user and profile)."""
    tx = store.begin(write=False)
    try:
        return sum(len(tx.query(schema.name)) for schema in ORG_SCHEMAS
                   if schema.name in store.schemas)
    finally:
        tx.rollback()


def test_yaml_fixture_loads_with_forward_references(org_store: SqliteOrgStore,
                                                    tmp_path: Path) -> None:
    path = _write(tmp_path, f"""
InvoiceLine:   # before its invoice: order in the file does not matter
  - {{InvoiceId: {INVOICE_ID}, Quantity: 2, UnitPrice: 19.99, Status: Closed, DueDate: 2026-01-31}}
  - {{Id: a02XX0000000007, InvoiceId: {INVOICE_ID}YAA, Quantity: 1, UnitPrice: "0.10"}}
Invoice:
  - {{Id: {INVOICE_ID}, Name: No, Paid: 1}}
Counter:
""")
    loaded = load_fixture(org_store, path)
    assert loaded == {"Invoice": ["a01XX0000000100YAA"],
                      "InvoiceLine": ["a02XX0000000001YAA", "a02XX0000000007YAA"]}  # file order
    with org_store.begin() as tx:
        invoice = tx.get("Invoice", INVOICE_ID)
        assert invoice["Name"] == "No"                           # YAML 1.1 "No" stays text
        assert (invoice["Total"], invoice["OpenTotal"], invoice["LineCount"], invoice["Balance"]) \
            == (Decimal("40.08"), Decimal("0.10"), 2, Decimal("39.08"))


def test_large_fixture_loads_in_batches_of_2000_per_object(org_store: SqliteOrgStore,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    from flowengine.org.sqlite import SqliteTransaction

    batches: list[tuple[str, int]] = []
    # a fixture's records are converted as they are read, then inserted without converting
    # them again
    insert_converted = SqliteTransaction.insert_converted

    def counting(self: Any, object_name: str, records: Any, **options: Any) -> list[str]:
        batches.append((object_name, len(records)))
        return insert_converted(self, object_name, records, **options)

    monkeypatch.setattr(SqliteTransaction, "insert_converted", counting)
    lines = [{"InvoiceId": INVOICE_ID, "Quantity": i % 7, "UnitPrice": "0.25",
              "Status": "Open" if i % 3 else "Closed"} for i in range(3000)]
    loaded = load_records(org_store, {"InvoiceLine": lines, "Invoice": [GOOD_INVOICE]})
    assert batches == [("Invoice", 1), ("InvoiceLine", 2000), ("InvoiceLine", 1000)]
    assert loaded["InvoiceLine"][:2] == ["a02XX0000000001YAA", "a02XX0000000002YAA"]
    with org_store.begin() as tx:
        invoice = tx.get("Invoice", INVOICE_ID)
        assert invoice["LineCount"] == 3000
        assert invoice["Total"] == sum(Decimal(i % 7) for i in range(3000)) * Decimal("0.25")
        assert invoice["OpenTotal"] == \
            sum(Decimal(i % 7) for i in range(3000) if i % 3) * Decimal("0.25")


def test_json_fixture_keeps_decimals_exact(org_store: SqliteOrgStore, tmp_path: Path) -> None:
    path = _write(tmp_path, json.dumps({"Counter": [{"Value": 0}]}).replace("0}", "0.1000000000000000055511}"),
                  "fixture.json")
    (counter,) = load_fixture(org_store, path)["Counter"]
    with org_store.begin() as tx:
        assert tx.get("Counter", counter)["Value"] == Decimal("0.1000000000000000055511")


def _rejected(store: SqliteOrgStore, data: Any, *patterns: str, code: str,
              invariants: Any = None) -> OrgError:
    with store.begin() as tx:
        tx.insert("Invoice", {"Id": "a01XX0000000001", "Name": "already there"})
    with pytest.raises(OrgError) as caught:
        load_records(store, data, source="f.yaml", invariants=invariants)
    for pattern in patterns:
        assert pattern in str(caught.value), str(caught.value)
    assert caught.value.error_code == code
    assert _count(store) == 1, "nothing may be half-loaded"
    return caught.value


GOOD_INVOICE = {"Id": INVOICE_ID, "Name": "ok"}


@pytest.mark.parametrize("data, patterns, code", [
    ({"Invoce": [{"Name": "x"}]},
     ["f.yaml: fixture not loaded (1 problem)", "Invoce: unknown object; did you mean 'Invoice'?"],
     "INVALID_TYPE"),
    ({"Invoice": [GOOD_INVOICE, {"Id": "a01XX0000000101", "Nmae": "x"}]},
     ["Invoice[1] (Id a01XX0000000101): field 'Nmae': no such field on Invoice; did you mean 'Name'?"],
     "INVALID_FIELD"),
    ({"Invoice": [GOOD_INVOICE, {"Id": "a01XX000000010", "Name": "x"}]},
     ["Invoice[1] (Id a01XX000000010): field Id: 'a01XX000000010' is not an Id", "found 14 characters"],
     "INVALID_ID"),
    ({"Invoice": [{"Id": "a02XX0000000101", "Name": "x"}]},
     ["Invoice[0] (Id a02XX0000000101): field Id:", "is not an Invoice Id (key prefix a01)"],
     "INVALID_ID"),
    ({"Invoice": [GOOD_INVOICE], "InvoiceLine": [{"InvoiceId": "a01XX0000000999", "Quantity": 1}]},
     ["InvoiceLine[0]: field InvoiceId: no Invoice record has Id a01XX0000000999YAA "
      "(neither in this fixture nor in the org)"],
     "INVALID_CROSS_REFERENCE_KEY"),
    ({"Invoice": [GOOD_INVOICE], "InvoiceLine": [{"InvoiceId": INVOICE_ID, "Amount": 3}]},
     ["InvoiceLine[0]: field Amount: is calculated by the store and cannot be loaded "
      "(found the number 3); remove it"],
     "INVALID_FIELD_FOR_INSERT_UPDATE"),
    ({"Invoice": [{**GOOD_INVOICE, "Total": 3}]},
     ["Invoice[0] (Id a01XX0000000100): field Total: is rolled up by the store"],
     "INVALID_FIELD_FOR_INSERT_UPDATE"),
    ({"Invoice": [GOOD_INVOICE], "InvoiceLine": [{"InvoiceId": INVOICE_ID, "Quantity": "two"}]},
     ["InvoiceLine[0]: field Quantity: the text 'two' does not fit Number (expected a number)"],
     "INVALID_TYPE_ON_FIELD_IN_RECORD"),
    ({"Invoice": [GOOD_INVOICE], "InvoiceLine": [{"InvoiceId": INVOICE_ID, "DueDate": "31/01/2026"}]},
     ["InvoiceLine[0]: field DueDate: the text '31/01/2026' does not fit Date (expected YYYY-MM-DD)"],
     "INVALID_TYPE_ON_FIELD_IN_RECORD"),
    ({"Invoice": [{"Paid": 1}]},
     ["Invoice[0]: field Name: is required, found no value"], "REQUIRED_FIELD_MISSING"),
    ({"Invoice": [{"Id": "a01XX0000000001", "Name": "again"}]},
     ["Invoice[0] (Id a01XX0000000001): field Id: a01XX0000000001YAA is already the Id"],
     "DUPLICATE_VALUE"),
    ({"Invoice": [GOOD_INVOICE, {"Id": "a01XX0000000100YAA", "Name": "twin"}]},
     ["Invoice[1] (Id a01XX0000000100YAA): field Id: a01XX0000000100YAA is also the Id of "
      "Invoice[0] (Id a01XX0000000100)"],
     "DUPLICATE_VALUE"),
    (["Invoice"], ["top level: expected a mapping of object names"], "INVALID_FIXTURE"),
    ({"Invoice": {"Name": "x"}}, ["Invoice: expected a list of records, found a mapping"],
     "INVALID_FIXTURE"),
    ({"Invoice": ["x"]}, ["Invoice[0]: expected a mapping of field names to values"],
     "INVALID_FIXTURE"),
])
def test_invalid_fixtures_are_rejected_whole(org_store: SqliteOrgStore, data: Any,
                                             patterns: list[str], code: str) -> None:
    _rejected(org_store, data, *patterns, code=code)


def test_every_problem_is_reported_at_once(org_store: SqliteOrgStore) -> None:
    data = {"Invoice": [GOOD_INVOICE, {"Name": "x", "Paid": "?"}],
            "InvoiceLine": [{"InvoiceId": INVOICE_ID, "Quantity": "?"},
                            {"InvoiceId": INVOICE_ID, "Status": "Lost"}]}
    error = _rejected(org_store, data, "(3 problems)", "Invoice[1]: field Paid",
                      "InvoiceLine[0]: field Quantity", "InvoiceLine[1]: field Status",
                      code="INVALID_TYPE_ON_FIELD_IN_RECORD")
    assert str(error).count("\n") == 3


def test_reference_cycles_are_rejected(org_path: Path) -> None:
    from flowengine.org import open_org
    from flowengine.org.schema import FieldDef, ObjectSchema
    from flowengine.types import Text

    node = ObjectSchema("Node", "n01", (FieldDef("NextId", Text(), reference_to="Node"),))
    data = {"Node": [{"Id": "n01XX0000000001", "NextId": "n01XX0000000002"},
                     {"Id": "n01XX0000000002", "NextId": "n01XX0000000001"},
                     {"Id": "n01XX0000000003", "NextId": "n01XX0000000003"}]}
    with open_org(org_path, [node]) as store:
        with pytest.raises(OrgError, match="records refer to each other in a cycle: Node"):
            load_records(store, data)
        assert _count(store) == 0
        loaded = load_records(store, {"Node": data["Node"][2:]})   # a self-reference is fine
        assert loaded == {"Node": ["n01XX0000000003YAA"]}


def test_invariant_violations_reject_the_fixture(org_store: SqliteOrgStore) -> None:
    def not_overpaid(tx: Any) -> list[str]:
        return [f"Invoice {r['Id']}: Paid {r['Paid']} exceeds Total {r['Total']}"
                for r in tx.query("Invoice") if r["Paid"] > r["Total"]]

    data = {"Invoice": [{**GOOD_INVOICE, "Paid": 5}],
            "InvoiceLine": [{"InvoiceId": INVOICE_ID, "Quantity": 1, "UnitPrice": 4}]}
    _rejected(org_store, data, "invariant violated: Invoice a01XX0000000100YAA: Paid 5.00 "
              "exceeds Total 4.00", code="FIXTURE_INVARIANT", invariants=[not_overpaid])


def test_a_crashing_invariant_is_reported_not_raised(org_store: SqliteOrgStore) -> None:
    def broken(tx: Any) -> list[str]:
        raise KeyError("Nope")

    _rejected(org_store, {"Invoice": [GOOD_INVOICE]}, "invariant ", "broken",
              "failed to run: KeyError", code="FIXTURE_INVARIANT", invariants=[broken])


def test_store_invariants_are_the_default(org_path: Path) -> None:
    from helpers import ORG_SCHEMAS

    from flowengine.org import open_org

    with open_org(org_path, ORG_SCHEMAS, invariants=[lambda tx: ["always wrong"]]) as store:
        with pytest.raises(OrgError, match="invariant violated: always wrong"):
            load_records(store, {"Counter": [{}]})
        assert load_records(store, {"Counter": [{}]}, invariants=()) == \
            {"Counter": ["a03XX0000000001YAA"]}


@pytest.mark.parametrize("text, message", [
    ("Invoice: [", "line 2 column 1: invalid YAML"),
    ("Invoice:\n  - {Name: a, Name: b}\n", "line 2 column 15: duplicate key 'Name'"),
    ("a: &a [1,1,1,1,1,1,1,1,1,1]\nb: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a,*a]\n"
     "c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b,*b]\nd: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c,*c]\n"
     "e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d,*d]\nf: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e,*e]\n"
     "g: &g [*f,*f,*f,*f,*f,*f,*f,*f,*f,*f]\nh: &h [*g,*g,*g,*g,*g,*g,*g,*g,*g,*g]\n",
     "more than 10,000,000 nodes .YAML aliases that multiply, a 'billion laughs' file"),
    ("x: " + "[" * 100 + "]" * 100, "nesting deeper than 64 levels"),
    ("x: !!python/object:os.system {}", "YAML tag !!python/object:os.system is not allowed"),
    ("Account:\n  - {Name: !!binary aGVsbG8=}\n", "line 2 column 12: YAML tag !!binary is not "
     "allowed in fixtures"),
    ("Account:\n  - !!set {a, b}\n", "line 2 column 5: YAML tag !!set is not allowed in "
     "fixtures"),
])
def test_hostile_or_broken_yaml_is_a_clear_error(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(OrgError, match=message) as caught:
        read_fixture(_write(tmp_path, text))
    assert caught.value.error_code == "INVALID_FIXTURE"
    assert "fixture.yaml" in str(caught.value)


def test_unreadable_files_are_clear_errors(tmp_path: Path) -> None:
    with pytest.raises(OrgError, match="missing.yaml: file not found"):
        read_fixture(tmp_path / "missing.yaml")
    with pytest.raises(OrgError, match="line 1 column 13: invalid JSON"):
        read_fixture(_write(tmp_path, '{"Invoice": ]', "bad.json"))
    with pytest.raises(OrgError, match="duplicate key 'a'"):
        read_fixture(_write(tmp_path, '{"a": 1, "a": 2}', "twice.json"))
    (tmp_path / "latin1.yaml").write_bytes(b"Name: caf\xe9")
    with pytest.raises(OrgError, match="not UTF-8"):
        read_fixture(tmp_path / "latin1.yaml")


def test_oversized_fixture_is_refused_before_reading(tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    import flowengine.org.fixtures as fixtures

    monkeypatch.setattr(fixtures, "MAX_FIXTURE_BYTES", 10)
    with pytest.raises(OrgError, match="fixtures are limited to"):
        read_fixture(_write(tmp_path, "Invoice: [] # long enough"))


def test_export_reloads_into_an_empty_store(org_store: SqliteOrgStore) -> None:
    data = {"Invoice": [{**GOOD_INVOICE, "Paid": "0.10"}],
            "InvoiceLine": [{"InvoiceId": INVOICE_ID, "Quantity": "1.5", "UnitPrice": "19.99",
                             "Shipped": True, "DueDate": "2026-02-28"}],
            "Counter": [{"Value": "0.1000000000000000055511"}]}
    load_records(org_store, data)
    exported = export_records(org_store)
    assert exported["InvoiceLine"] == [{
        "Id": "a02XX0000000001YAA", "InvoiceId": "a01XX0000000100YAA", "Quantity": 1.5,
        "UnitPrice": 19.99, "Status": "Open", "Shipped": True, "DueDate": "2026-02-28"}]
    assert exported["Counter"][0]["Value"] == "0.1000000000000000055511"
    before = {name: _unstamped(org_store, name) for name in org_store.schemas}
    org_store.wipe()
    load_records(org_store, json.loads(json.dumps(exported)))
    assert {name: _unstamped(org_store, name) for name in org_store.schemas} == before




def _records(store: SqliteOrgStore, name: str) -> list[dict[str, Any]]:
    tx = store.begin(write=False)
    try:
        return tx.query(name)
    finally:
        tx.rollback()


def test_fixtures_may_set_the_audit_fields_but_no_other_system_field(
        org_store: SqliteOrgStore) -> None:
    error = _rejected(org_store, {"Invoice": [{"Id": "a01XX0000000101", "Name": "x",
                                               "SystemModstamp": "2020-01-02T03:04:05Z"}]},
                      "Invoice[0] (Id a01XX0000000101): field SystemModstamp: is set by the "
                      "store and cannot be loaded", code="INVALID_FIELD_FOR_INSERT_UPDATE")
    assert "remove it" in str(error)
    loaded = load_records(org_store, {"Invoice": [{**GOOD_INVOICE,
                                                   "CreatedDate": "2020-01-02T03:04:05Z"}]})
    invoice = next(r for r in _records(org_store, "Invoice") if r["Id"] == loaded["Invoice"][0])
    assert invoice["CreatedDate"].isoformat() == "2020-01-02T03:04:05+00:00"
    assert invoice["SystemModstamp"] > invoice["CreatedDate"]


def test_exports_leave_out_read_only_fields_and_the_default_user(
        org_store: SqliteOrgStore) -> None:
    load_records(org_store, {"Invoice": [GOOD_INVOICE]})
    exported = export_records(org_store)
    assert list(exported) == ["Invoice"]                   # not the store's User and Profile
    assert exported["Invoice"] == [{"Id": "a01XX0000000100YAA", "Name": "ok", "Paid": 0}]


def test_progress_is_reported_as_records_are_written(org_store: SqliteOrgStore) -> None:
    calls: list[tuple[int, int]] = []
    data = {"Counter": [{"Name": f"c{i}", "Value": i} for i in range(4_500)]}
    load_records(org_store, data, progress=lambda done, total: calls.append((done, total)))
    assert calls == [(2_000, 4_500), (4_000, 4_500), (4_500, 4_500)]


class _Terminal:
    def __init__(self, tty: bool) -> None:
        self.tty, self.text = tty, ""

    def isatty(self) -> bool:
        return self.tty

    def write(self, text: str) -> None:
        self.text += text

    def flush(self) -> None:
        pass


def test_the_progress_bar_draws_only_on_a_terminal_and_for_large_work() -> None:
    from flowengine.cli.util import ProgressBar

    terminal = _Terminal(tty=True)
    bar = ProgressBar("loading records", terminal, min_total=1_000, width=10)
    bar(500, 1_000)
    bar(1_000, 1_000)
    bar.close()
    assert terminal.text == ("\rloading records [#####.....] 500/1,000"
                             "\rloading records [##########] 1,000/1,000\n")
    small = _Terminal(tty=True)
    ProgressBar("x", small, min_total=1_000)(10, 20)
    piped = _Terminal(tty=False)
    ProgressBar("x", piped, min_total=1)(10, 20)
    assert small.text == "" and piped.text == ""


STAMPS = ("CreatedDate", "LastModifiedDate", "SystemModstamp")   # a reload stamps its own time


def _unstamped(store: SqliteOrgStore, name: str) -> list[dict[str, Any]]:
    return [{k: v for k, v in r.items() if k not in STAMPS} for r in _records(store, name)]
