"""Record elements against the embedded SQLite store, as ratios against plain sqlite3.

    python bench/bench_record_elements.py              # tables of 10^4, 10^5 and 10^6 records
    python bench/bench_record_elements.py --quick      # 10^4 and 10^5

(a) Get Records through a flow — one interview, one Get Records, first record only — by an
indexed filter (a lookup field, ten records per parent at every size: the store indexes lookups)
and by a filter on a field with no index, on tables of 10^4, 10^5 and 10^6 records. Beside it,
the same SELECT run by plain sqlite3 on a table of the same size and shape, with an index on
(parent, id) and none on the other column.

(b) Create Records and Update Records of 10,000 records from a record collection, one element
each, into the same tables: microseconds per record, flat as the table grows; beside it, plain
sqlite3 `executemany` of the same rows.

Each figure is the median of several runs; the machine is named in the output.
"""
from __future__ import annotations

import argparse
import os
import platform
import sqlite3
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from flowengine.api import load_flow_text
from flowengine.org import open_org
from flowengine.org.schema import FieldDef, ObjectSchema
from flowengine.types import Number, Text

PARENT = ObjectSchema("Bench_Parent__c", "a0P", (FieldDef("Name", Text()),))
ITEM = ObjectSchema("Bench_Item__c", "a0Q", (
    FieldDef("Name", Text()),
    FieldDef("Parent__c", Text(), reference_to="Bench_Parent__c", relationship_name="Parent__r"),
    FieldDef("Size__c", Number()),
))
SCHEMAS = (PARENT, ITEM)
ITEMS_PER_PARENT = 10          # so the indexed filter finds as many records at every size
BATCH = 10_000


class Registry:
    """The objects of the bench, as the checker asks a plug-in registry for them."""

    def __init__(self) -> None:
        from flowengine.types import TypeRegistry

        self.actions: dict[str, Any] = {}
        self.types = TypeRegistry()
        for schema in SCHEMAS:
            self.types.add_object(schema)

    def action(self, name: str) -> Any:
        return None


GET = """
flow: Get_One
variables:
  wanted: {{type: {type}, input: true}}
  found: {{type: Text, output: true}}
elements:
  Get:
    type: GetRecords
    object: Bench_Item__c
    filters: [{{field: {field}, op: EqualTo, value: "{{!wanted}}"}}]
    firstOnly: true
    fields: [Name]
    storeOutputAutomatically: true
    next: Keep
  Keep: {{type: Assignment, assignments: [{{ref: found, op: Assign, value: "{{!Get.Name}}"}}]}}
start: Get
"""
WRITE = """
flow: Write_Many
variables:
  items: {{type: Record, object: Bench_Item__c, collection: true, input: true, output: true}}
  n: {{type: Number}}
elements:
  Write: {element}
start: Write
"""
CREATE = WRITE.format(element="{type: CreateRecords, records: items}")
UPDATE = WRITE.format(element="{type: UpdateRecords, records: items}")
# the same input, no record written: what taking 10,000 records as input costs
NOTHING = WRITE.format(element="{type: Assignment, assignments: [{ref: n, op: AssignCount, "
                               "value: '{!items}'}]}")


def median_time(fn: Callable[[], Any], runs: int) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def seed(store: Any, size: int) -> list[str]:
    """`size` items, ten per parent; returns the parents' Ids."""
    parents: list[str] = []
    count = size // ITEMS_PER_PARENT
    for start in range(0, count, 50_000):
        with store.begin() as tx:
            parents += tx.insert_many("Bench_Parent__c", [
                {"Name": f"P{i}"} for i in range(start, min(count, start + 50_000))])
    done = 0
    while done < size:
        n = min(50_000, size - done)
        with store.begin() as tx:
            tx.insert_many("Bench_Item__c", [
                {"Name": f"I{done + i}", "Parent__c": parents[(done + i) % count],
                 "Size__c": done + i} for i in range(n)])
        done += n
    return parents


def plain_table(path: Path, size: int) -> sqlite3.Connection:
    """The same rows in a plain table, with an index on (parent, id) as a store indexes a lookup."""
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE item (id TEXT PRIMARY KEY, name TEXT, parent TEXT, size NUMERIC)")
    count = size // ITEMS_PER_PARENT
    conn.executemany("INSERT INTO item VALUES (?, ?, ?, ?)",
                     ((f"id{i}", f"I{i}", f"p{i % count}", i) for i in range(size)))
    conn.execute("CREATE INDEX item_parent ON item (parent, id)")
    conn.commit()
    return conn


def measure(size: int, runs: int, folder: Path) -> dict[str, float]:
    out: dict[str, float] = {}
    store = open_org(folder / f"org{size}.sqlite", SCHEMAS)
    parents = seed(store, size)
    by_parent = load_flow_text(GET.format(type="Text", field="Parent__c"), registry=Registry)
    by_size = load_flow_text(GET.format(type="Number", field="Size__c"), registry=Registry)
    target = parents[len(parents) // 2]
    assert by_parent.run({"wanted": target}, org=store).outputs["found"]
    out["get_indexed"] = median_time(lambda: by_parent.run({"wanted": target}, org=store), runs)
    wanted = size // 2
    assert by_size.run({"wanted": wanted}, org=store).outputs["found"] == f"I{wanted}"
    out["get_scan"] = median_time(lambda: by_size.run({"wanted": wanted}, org=store),
                                  max(3, runs // 4))
    plain = plain_table(folder / f"plain{size}.sqlite", size)
    sql = "SELECT id, name FROM item WHERE {} = ? ORDER BY id LIMIT 1"
    out["plain_indexed"] = median_time(
        lambda: plain.execute(sql.format("parent"), (f"p{len(parents) // 2}",)).fetchall(), runs)
    out["plain_scan"] = median_time(
        lambda: plain.execute(sql.format("size"), (wanted,)).fetchall(), max(3, runs // 4))

    from flowengine.types import RecordValue

    def items(ids: list[str] | None = None) -> list[RecordValue]:
        return [RecordValue("Bench_Item__c", {"Name": f"N{i}", "Parent__c": target, "Size__c": i,
                                              **({"Id": ids[i]} if ids else {})})
                for i in range(BATCH)]

    create, update, nothing = (load_flow_text(text, registry=Registry)
                               for text in (CREATE, UPDATE, NOTHING))
    base = median_time(lambda: nothing.run({"items": items()}), 3)
    created = create.run({"items": items()}, org=store)      # kept: the update's records
    assert created.ok and created.limits.dml_rows == BATCH, created.error
    ids = [r.fields["Id"] for r in created.outputs["items"]]
    out["create_per_record"] = max(median_time(
        lambda: create.run({"items": items()}, org=store, rollback=True), 3) - base, 0) / BATCH
    check = update.run({"items": items(ids)}, org=store, rollback=True)
    assert check.ok and check.limits.dml_rows == BATCH, check.error
    out["update_per_record"] = max(median_time(
        lambda: update.run({"items": items(ids)}, org=store, rollback=True), 3) - base, 0) / BATCH

    def plain_create() -> None:
        plain.executemany("INSERT INTO item VALUES (?, ?, ?, ?)",
                          ((f"n{i}", f"N{i}", "p1", i) for i in range(BATCH)))
        plain.rollback()

    def plain_update() -> None:
        plain.executemany("UPDATE item SET name = ?, parent = ?, size = ? WHERE id = ?",
                          ((f"N{i}", "p1", i, f"id{i}") for i in range(BATCH)))
        plain.rollback()
    out["plain_create_per_record"] = median_time(plain_create, 3) / BATCH
    out["plain_update_per_record"] = median_time(plain_update, 3) / BATCH
    store.close()
    plain.close()
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="without the 10^6 table")
    parser.add_argument("--runs", type=int, default=21, help="runs per timed query")
    args = parser.parse_args()
    sizes = [10_000, 100_000] + ([] if args.quick else [1_000_000])
    print(f"# {platform.python_implementation()} {platform.python_version()}, "
          f"{os.cpu_count()} CPUs, SQLite {sqlite3.sqlite_version}, {platform.platform()}")
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        for size in sizes:
            print(f"measuring {size:,} records...", file=sys.stderr)
            results[size] = measure(size, args.runs, Path(tmp))
    print("\n(a) Get Records, one interview, first record only: median ms")
    print("| records | indexed filter | plain sqlite3 | ratio | filter without index | "
          "plain sqlite3 | ratio |")
    print("|---:|---:|---:|---:|---:|---:|---:|")
    for size, r in results.items():
        print(f"| {size:,} | {r['get_indexed'] * 1e3:.3f} | {r['plain_indexed'] * 1e3:.3f} | "
              f"{r['get_indexed'] / r['plain_indexed']:.1f}x | {r['get_scan'] * 1e3:.1f} | "
              f"{r['plain_scan'] * 1e3:.1f} | {r['get_scan'] / r['plain_scan']:.1f}x |")
    print(f"\n(b) Create Records and Update Records of {BATCH:,} records from a collection, one "
          "element each: µs per record (taking the input itself subtracted)")
    print("| records in the table | Create | plain INSERT | ratio | Update | plain UPDATE | ratio |")
    print("|---:|---:|---:|---:|---:|---:|---:|")
    for size, r in results.items():
        print(f"| {size:,} | {r['create_per_record'] * 1e6:.1f} | "
              f"{r['plain_create_per_record'] * 1e6:.1f} | "
              f"{r['create_per_record'] / r['plain_create_per_record']:.1f}x | "
              f"{r['update_per_record'] * 1e6:.1f} | {r['plain_update_per_record'] * 1e6:.1f} | "
              f"{r['update_per_record'] / r['plain_update_per_record']:.1f}x |")
    first, last = results[sizes[0]], results[sizes[-1]]
    print(f"\nat {sizes[-1]:,} / at {sizes[0]:,} records: Create per record "
          f"{last['create_per_record'] / first['create_per_record']:.2f}x, Update per record "
          f"{last['update_per_record'] / first['update_per_record']:.2f}x, indexed Get Records "
          f"{last['get_indexed'] / first['get_indexed']:.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
