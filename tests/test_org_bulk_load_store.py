"""What a bulk load does to the SQLite store to go faster changes nothing stored: indexes built
at the end of a load (`defer_indexes`) against indexes kept in step with every insert, runs of
generated Ids looked up as a range against one by one, and the garbage collector's thresholds
put back after a load."""
from __future__ import annotations

import gc
import sqlite3
from pathlib import Path
from typing import Any

import pytest
from helpers import ORG_SCHEMAS

from flowengine.errors import OrgError
from flowengine.org import fixtures, open_org
from flowengine.org.batch import BatchTransaction
from flowengine.org.fixtures import load_records
from flowengine.org.schema import FieldDef, ObjectSchema
from flowengine.org.sqlite.transaction import SqliteTransaction
from flowengine.org.system import FixedClock
from flowengine.types import Number, Text

CODE = ObjectSchema("Code", "a05", (
    FieldDef("Name", Text()),
    FieldDef("Key", Text(), unique=True),
    FieldDef("Weight", Number(scale=2)),
    FieldDef("InvoiceId", Text(), reference_to="Invoice"),
))
SCHEMAS = (*ORG_SCHEMAS, CODE)
NOW = "2026-01-02T03:04:05Z"       # stores compared row by row write the same times
CHUNK = 7            # records per chunk in these tests (the store's is 2,000)


def _dump(path: Path) -> dict[str, Any]:
    """Every table's rows in rowid order, and the schema (indexes included), of a store."""
    conn = sqlite3.connect(path)
    try:
        assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        master = sorted(conn.execute("SELECT type, name, tbl_name, sql FROM sqlite_master"))
        tables = [name for kind, name, _, _ in master if kind == "table"]
        rows = {name: conn.execute(f'SELECT * FROM "{name}" ORDER BY rowid').fetchall()
                for name in tables}
        return {"master": master, "rows": rows}
    finally:
        conn.close()


def _load(path: Path, data: Any, hooks: Any = None) -> tuple[Any, ...]:
    store = open_org(path, SCHEMAS, hooks=hooks, clock=FixedClock(NOW))
    try:
        try:
            outcome: Any = load_records(store, data, source="fixture")
        except OrgError as exc:
            outcome = (exc.message, exc.error_code)
    finally:
        store.close()
    return outcome, _dump(path)


def _codes(count: int, **bad: Any) -> list[dict[str, Any]]:
    records = [{"Name": f"code {i % 5}", "Key": f"K{i}", "Weight": i / 4} for i in range(count)]
    for index, fields in bad.items():
        records[int(index[1:])].update(fields)
    return records


CASES = {
    "several chunks": {"Code": _codes(30), "Counter": [{"Name": f"c{i}"} for i in range(20)]},
    "references between objects": {
        "Invoice": [{"Id": "a01XX0000000100", "Name": "INV-1"}],
        "InvoiceLine": [{"InvoiceId": "a01XX0000000100", "Quantity": q} for q in range(16)],
        "Code": [{**r, "InvoiceId": "a01XX0000000100"} for r in _codes(9)],
    },
    "a bad record past the first chunk": {"Code": _codes(30, r20={"Weight": "heavy"})},
    "a unique value twice": {"Code": _codes(30, r25={"Key": "K3"})},
    "a record that waits for a later one": {
        "InvoiceLine": [{"InvoiceId": "a01XX0000000200", "Quantity": 1}],
        "Counter": [{"Name": f"c{i}"} for i in range(15)],
        "Invoice": [{"Id": "a01XX0000000200", "Name": "late"}],
    },
}


@pytest.fixture
def small_chunks(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(fixtures, "_CHUNK", CHUNK)


def _without_deferring(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(SqliteTransaction, "defer_indexes",
                        lambda self, object_name, keep=(): False)


@pytest.mark.parametrize("case", list(CASES))
def test_indexes_built_at_the_end_store_what_indexes_kept_in_step_store(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, small_chunks: None, case: str) -> None:
    dropped: list[str] = []
    defer = SqliteTransaction.defer_indexes

    def spy(self: SqliteTransaction, object_name: str, keep: Any = ()) -> bool:
        before = len(self._deferred)
        done = defer(self, object_name, keep)
        dropped.extend(self._deferred[before:])
        return done

    monkeypatch.setattr(SqliteTransaction, "defer_indexes", spy)
    fast = _load(tmp_path / "fast.sqlite", CASES[case])
    _without_deferring(monkeypatch)
    slow = _load(tmp_path / "slow.sqlite", CASES[case])
    assert fast == slow
    assert dropped                           # the case went the short way
    # the index of the unique field (the check of each chunk reads it) and of the reference
    # that roll-ups total by are kept during the load
    assert not any('"Code__Key"' in sql or '"InvoiceLine__InvoiceId"' in sql for sql in dropped)
    if case in ("a bad record past the first chunk", "a unique value twice"):
        assert isinstance(fast[0], tuple)    # not loaded: the store as before, indexes too
        empty = _load(tmp_path / "empty.sqlite", {})
        assert fast[1] == empty[1]


def test_a_table_with_records_keeps_its_indexes(tmp_path: Path, small_chunks: None) -> None:
    path = tmp_path / "org.sqlite"
    _load(path, {"Code": _codes(2)})
    store = open_org(path, SCHEMAS)
    try:
        tx = store.begin()
        try:
            assert isinstance(tx, SqliteTransaction)
            assert not tx.defer_indexes("Code")
            assert tx.defer_indexes("Counter", keep={"Name"})
            names = {r[0] for r in tx._sql("SELECT name FROM sqlite_master WHERE type = 'index'")}
            assert "Counter__Name" in names and "Code__Name" in names
            assert "Counter__CreatedDate" not in names
        finally:
            tx.rollback()
    finally:
        store.close()
    assert "Counter__CreatedDate" in {m[1] for m in _dump(path)["master"]}


class _Reader:
    """A save hook acting on Invoice that reads which indexes the store has meanwhile."""

    def __init__(self) -> None:
        self.seen: list[set[str]] = []

    def saves(self, object_name: str) -> bool:
        return object_name == "Invoice"

    def before_save(self, tx: Any, object_name: str, changes: Any) -> None:
        inner = getattr(tx, "inner", tx)
        self.seen.append({r[0] for r in inner._sql(
            "SELECT name FROM sqlite_master WHERE type = 'index'")})

    def after_save(self, tx: Any, object_name: str, changes: Any) -> None:
        pass

    def before_delete(self, tx: Any, object_name: str, rows: Any) -> None:
        pass


def test_a_hook_that_acts_sees_every_index(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                           small_chunks: None) -> None:
    data = {"Code": _codes(20), "Invoice": [{"Name": f"INV-{i}"} for i in range(3)],
            "Counter": [{"Name": f"c{i}"} for i in range(20)]}
    hook = _Reader()
    fast = _load(tmp_path / "fast.sqlite", data, hooks=[hook])
    assert hook.seen and all("Code__Name" in names for names in hook.seen)
    _without_deferring(monkeypatch)
    assert fast == _load(tmp_path / "slow.sqlite", data, hooks=[_Reader()])


def test_a_hook_that_acts_on_every_object_defers_nothing(tmp_path: Path,
                                                         monkeypatch: pytest.MonkeyPatch,
                                                         small_chunks: None) -> None:
    class Everywhere(_Reader):
        saves = None       # type: ignore[assignment]

    calls: list[str] = []
    monkeypatch.setattr(SqliteTransaction, "defer_indexes",
                        lambda self, object_name, keep=(): calls.append(object_name) or False)
    _load(tmp_path / "org.sqlite", {"Code": _codes(20)}, hooks=[Everywhere()])
    assert calls == []


def test_commit_builds_deferred_indexes(tmp_path: Path) -> None:
    path = tmp_path / "org.sqlite"
    store = open_org(path, SCHEMAS)
    try:
        with store.begin() as tx:
            assert tx.defer_indexes("Code")  # type: ignore[attr-defined]
            tx.insert_many("Code", _codes(3))
    finally:
        store.close()
    other = tmp_path / "other.sqlite"
    store = open_org(other, SCHEMAS)
    try:
        with store.begin() as tx:
            tx.insert_many("Code", _codes(3))
    finally:
        store.close()
    assert _dump(path)["master"] == _dump(other)["master"]


# -- generated Ids: a range lookup against one by one --------------------------------------------

def test_generated_ids_skip_ids_in_use_or_deleted_as_one_by_one_does(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from flowengine.org import ids

    given = [ids.make_id("a03", n) for n in (1, 3, 12)]
    outcomes = []
    for name, taken in (("range", None), ("each", BatchTransaction._taken_ids)):
        if taken is not None:
            monkeypatch.setattr(SqliteTransaction, "_taken_ids", taken)
        store = open_org(tmp_path / f"{name}.sqlite", SCHEMAS, clock=FixedClock(NOW))
        try:
            with store.begin() as tx:
                tx.insert_many("Counter", [{"Id": i, "Name": "given"} for i in given])
                tx.delete_many("Counter", [given[1]])   # a deleted Id is never used again
                # an Id that sorts between the run's first and last, and is none of them
                tx.insert("Counter", {"Id": "a03XX000000000Z", "Name": "inside"})
                made = tx.insert_many("Counter", [{"Name": f"new {n}"} for n in range(12)])
                made += tx.insert_many("Counter", [{"Name": "one more"}])
        finally:
            store.close()
        outcomes.append((made, _dump(tmp_path / f"{name}.sqlite")["rows"]["Counter"]))
    assert outcomes[0] == outcomes[1]
    assert outcomes[0][0] == [ids.make_id("a03", n) for n in (2, 4, 5, 6, 7, 8, 9, 10, 11, 13,
                                                              14, 15, 16)]


# -- the garbage collector ------------------------------------------------------------------------

@pytest.mark.parametrize("good", [True, False])
def test_a_load_puts_the_collectors_thresholds_back(tmp_path: Path, good: bool) -> None:
    before = gc.get_threshold()
    seen: list[tuple[int, ...]] = []

    def progress(done: int, read: int) -> None:
        seen.append(gc.get_threshold())

    store = open_org(tmp_path / "org.sqlite", SCHEMAS)
    try:
        data = {"Counter": [{"Name": "a"}, {"Name": "b", "Value": 1 if good else "x"}]}
        try:
            load_records(store, data, progress=progress)
        except OrgError:
            assert not good
    finally:
        store.close()
    assert gc.get_threshold() == before
    assert seen and seen[0][0] == max(before[0], fixtures._GC_YOUNG)


# -- numbers: text and sort key in one pass -------------------------------------------------------

def test_number_columns_are_format_decimal_and_numeric_key_of_each() -> None:
    import random
    from decimal import Decimal

    from flowengine.org.sqlite.codecs import number_columns, numeric_key
    from flowengine.types import format_decimal

    rnd = random.Random(17)
    values: list[Any] = [None, Decimal(0), Decimal("-0"), Decimal("0.00"), Decimal("-0E+3"),
                         Decimal("1E+2"), Decimal("-1E+2"), Decimal("100"), Decimal("0.5"),
                         Decimal("-0.05"), Decimal("12345.50"), Decimal("-12345.50"),
                         Decimal("1E-999"), Decimal("-9.999E+999")]
    for _ in range(3000):
        digits = "".join(rnd.choice("0123456789") for _ in range(rnd.randint(1, 20)))
        value = Decimal(digits).scaleb(rnd.randint(-30, 30))
        values.append(-value if rnd.random() < 0.5 else value)
    texts, keys = number_columns(values)
    assert texts == [None if v is None else format_decimal(v) for v in values]
    assert keys == [None if v is None else numeric_key(v) for v in values]
    for odd in (Decimal("Infinity"), Decimal("NaN")):     # no such number is stored
        with pytest.raises(ValueError):
            numeric_key(odd)
        with pytest.raises(ValueError):
            number_columns([odd])
