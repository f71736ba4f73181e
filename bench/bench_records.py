"""Benchmark: the org store's record calls as a table grows to 10^4, 10^5 and 10^6 records.

Each size gets a fresh SQLite org (a temporary file) holding `Item` records — each with a
unique Name, a Bucket lookup (10 items per bucket), a Code, an Amount and a Category —
inserted with `insert_many` in batches of 10,000. Then, on the full table:

- `select` by an indexed field: Name EqualTo one item's name (1 record), and the BucketId
  lookup EqualTo one bucket (10 records): milliseconds per query, mean of `--queries` queries;
- `select` by a field without an index: Code EqualTo one item's code (1 record, a full scan),
  and Amount GreaterThan a value with ORDER BY Amount and LIMIT 10 (scan and sort);
- `insert_many` of 10,000 more records and `update_many` of 10,000 records (Amount, Code):
  milliseconds per record, in a transaction that is rolled back.

Targets: an indexed select in milliseconds at 10^6 records, and insert and update costs per
record flat as the table grows.

    python bench/bench_records.py            # 10^4, 10^5 and 10^6 records
    python bench/bench_records.py --quick    # 10^4 and 10^5
"""
from __future__ import annotations

import argparse
import random
import statistics
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

from flowengine.org import open_org
from flowengine.org.base import OrgTransaction
from flowengine.org.fieldtypes import make_field
from flowengine.org.query import RecordFilter, Sort
from flowengine.org.schema import ObjectSchema

F = RecordFilter
BATCH = 10_000
PER_BUCKET = 10
BUCKET = ObjectSchema("Bucket", "b01", (make_field("Name", "Text", length=80),))
ITEM = ObjectSchema("Item", "b02", (
    make_field("Name", "Text", length=80),                              # indexed (Name)
    make_field("BucketId", "Lookup", reference_to="Bucket"),            # indexed (a lookup)
    make_field("Code", "Text", length=20),                              # no index
    make_field("Amount", "Currency"),                                   # no index
    make_field("Category", "Picklist", picklist=("A", "B", "C", "D")),  # no index
))


@dataclass
class Row:
    records: int
    build_s: float
    by_name_ms: float
    by_lookup_ms: float
    by_code_ms: float
    by_range_ms: float
    insert_ms: float
    update_ms: float


def _item(number: int, bucket: str) -> dict[str, Any]:
    return {"Name": f"Item {number:08d}", "BucketId": bucket, "Code": f"C-{number * 7919 % 10**8:08d}",
            "Amount": Decimal(number % 100_000) / 100, "Category": "ABCD"[number % 4]}


def build(tx: OrgTransaction, records: int) -> list[str]:
    """`records` items in buckets of 10; returns the bucket Ids."""
    buckets: list[str] = []
    for start in range(0, records // PER_BUCKET, BATCH):
        count = min(BATCH, records // PER_BUCKET - start)
        buckets += tx.insert_many("Bucket", [{"Name": f"B{start + i}"} for i in range(count)])
    for start in range(0, records, BATCH):
        tx.insert_many("Item", [_item(n, buckets[n // PER_BUCKET])
                                for n in range(start, min(records, start + BATCH))])
    return buckets


def mean_ms(query: Callable[[int], int], runs: int, expected: int | None = None) -> float:
    times = []
    for run in range(runs):
        started = time.perf_counter()
        found = query(run)
        times.append(time.perf_counter() - started)
        assert expected is None or found == expected, (found, expected)
    return statistics.mean(times) * 1000


def measure(records: int, workdir: Path, queries: int) -> Row:
    store = open_org(workdir / f"records-{records}.sqlite", [BUCKET, ITEM], invariants=())
    rng = random.Random(records)
    try:
        started = time.perf_counter()
        with store.begin() as tx:
            buckets = build(tx, records)
        built = time.perf_counter() - started
        with store.begin(write=False) as tx:
            def select(*filters: RecordFilter, **options: Any) -> int:
                return len(tx.select("Item", filters, **options))

            picks = [rng.randrange(records) for _ in range(queries)]
            by_name = mean_ms(lambda i: select(F("Name", "EqualTo", f"item {picks[i]:08d}")),
                              queries, 1)
            by_lookup = mean_ms(lambda i: select(F("BucketId", "EqualTo",
                                                   buckets[picks[i] // PER_BUCKET])), queries,
                                PER_BUCKET)
            scans = max(3, queries // 50)
            by_code = mean_ms(lambda i: select(F("Code", "EqualTo",
                                                 _item(picks[i], "")["Code"])), scans, 1)
            middle = Decimal(min(records, 100_000) // 2) / 100      # half the largest Amount
            by_range = mean_ms(lambda i: select(F("Amount", "GreaterThan", middle + i),
                                                order_by=[Sort("Amount")], limit=10), scans, 10)
        tx = store.begin()
        try:
            started = time.perf_counter()
            new = tx.insert_many("Item", [_item(records + n, buckets[n % len(buckets)])
                                          for n in range(BATCH)])
            inserted = time.perf_counter() - started
            chosen = rng.sample(range(records), BATCH)
            items = tx.select("Item", [F("Name", "In", [f"Item {n:08d}" for n in chosen])],
                              fields=["Name"])
            started = time.perf_counter()
            tx.update_many("Item", {r["Id"]: {"Amount": 1, "Code": "X"} for r in items})
            updated = time.perf_counter() - started
            assert len(new) == len(items) == BATCH
        finally:
            tx.rollback()
        return Row(records, built, by_name, by_lookup, by_code, by_range,
                   inserted * 1000 / BATCH, updated * 1000 / BATCH)
    finally:
        store.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="10^4 and 10^5 records only")
    parser.add_argument("--queries", type=int, default=200, help="indexed queries per size")
    args = parser.parse_args()
    sizes = [10**4, 10**5] if args.quick else [10**4, 10**5, 10**6]
    rows = []
    with tempfile.TemporaryDirectory() as workdir:
        for records in sizes:
            rows.append(measure(records, Path(workdir), args.queries))
            print(f"measured {records:,} records", flush=True)
    print("\n| records | build (s) | by Name, indexed (ms) | by lookup, indexed, 10 rows (ms) "
          "| by Code, no index (ms) | Amount range + order + limit 10, no index (ms) "
          "| insert_many (ms/record) | update_many (ms/record) |")
    print("|---:|---:|---:|---:|---:|---:|---:|---:|")
    for r in rows:
        print(f"| {r.records:,} | {r.build_s:.1f} | {r.by_name_ms:.3f} | {r.by_lookup_ms:.3f} | "
              f"{r.by_code_ms:.1f} | {r.by_range_ms:.1f} | {r.insert_ms:.4f} | {r.update_ms:.4f} |")
    first, last = rows[0], rows[-1]
    print(f"\nper-record cost at {last.records:,} / at {first.records:,}: insert "
          f"{last.insert_ms / first.insert_ms:.2f}x, update {last.update_ms / first.update_ms:.2f}x")


if __name__ == "__main__":
    main()
