"""Benchmark: SQLite beside PostgreSQL — cancel interviews in parallel worker processes, and
loading 10^5 and 10^6 records.

(a) Interviews per second of the example cancel flow (flows/cancel_fulfillment_order_items.yaml,
    one unit of one line), every interview on a fulfillment order of its own, with 1, 2, 4 and
    8 worker processes. Each worker opens the store and loads the flow, all wait at a barrier,
    then each runs its share; the figure is interviews / the slowest worker's time. Beside it,
    the same through `run_batch` (`flowengine run --batch`), end to end: starting the worker
    processes included. The org holds `--orders` fulfillment orders, each with its own order
    summary, order product summary and line, loaded as a fixture.
(b) `load_records` (what `flowengine org load` does after reading the file) of 10^5 and 10^6
    records: accounts and their contacts (one account to nine contacts, each contact looking up
    its account), into an empty store with the standard and Order Management objects.

PostgreSQL is the server `--postgres URL` (default `$FLOWENGINE_TEST_POSTGRES`) names; the
benchmark works in a database of its own, dropped at the end.

    python bench/bench_postgres.py [--workers 1 2 4 8] [--load 100000 1000000] [--orders 4000]
"""
from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from flowengine.org import open_org
from flowengine.org.fixtures import load_records
from flowengine.org.scratch import scratch_org
from flowengine.runtime.batch import run_batch

FLOW = str(Path(__file__).resolve().parent.parent / "flows" / "cancel_fulfillment_order_items.yaml")
PRODUCT, LOCATION = "01tDM0000000001YAA", "131DM0000000001YAA"
UNITS = 50       # units on every line: each run cancels one of some orders' lines


def order_fixture(orders: int) -> dict[str, list[dict[str, Any]]]:
    """`orders` fulfillment orders, each of its own order summary, with one line of UNITS units."""
    from flowengine.org.ids import make_id

    data: dict[str, list[dict[str, Any]]] = {
        "Product2": [{"Id": PRODUCT, "Name": "Trail Shoes", "StockKeepingUnit": "TS-42"}],
        "Location": [{"Id": LOCATION, "Name": "Main Warehouse", "LocationType": "Warehouse"}]}
    for n in range(1, orders + 1):
        summary, group, item = make_id("1Os", n), make_id("0ag", n), make_id("10u", n)
        data.setdefault("OrderSummary", []).append(
            {"Id": summary, "OrderNumber": f"{n:08d}", "Status": "Created",
             "OrderLifeCycleType": "MANAGED", "GrandTotalAmount": 49.99 * UNITS})
        data.setdefault("OrderDeliveryGroupSummary", []).append(
            {"Id": group, "OrderSummaryId": summary, "DeliverToName": f"Customer {n}"})
        data.setdefault("OrderItemSummary", []).append(
            {"Id": item, "OrderSummaryId": summary, "OrderDeliveryGroupSummaryId": group,
             "Product2Id": PRODUCT, "Name": "Trail Shoes", "Type": "Order Product",
             "TypeCode": "Product", "UnitPrice": "49.99", "QuantityOrdered": UNITS,
             "QuantityAllocated": UNITS})
        data.setdefault("FulfillmentOrder", []).append(
            {"Id": make_id("0a3", n), "OrderSummaryId": summary, "FulfilledFromLocationId":
             LOCATION, "DeliverToName": f"Customer {n}", "Type": "Warehouse",
             "Status": "Allocated"})
        data.setdefault("FulfillmentOrderLineItem", []).append(
            {"Id": make_id("0a4", n), "FulfillmentOrderId": make_id("0a3", n),
             "OrderItemSummaryId": item, "Product2Id": PRODUCT, "Type": "Order Product",
             "TypeCode": "Product", "OriginalQuantity": UNITS, "Quantity": UNITS,
             "UnitPrice": "49.99"})
    return data


def cancel_inputs(numbers: range) -> list[dict[str, Any]]:
    from flowengine.org.ids import make_id

    return [{"fulfillmentOrderId": make_id("0a3", n), "firstLineItemId": make_id("0a4", n),
             "firstQuantity": 1} for n in numbers]


def _worker(target: str, inputs: list[dict[str, Any]], barrier: Any, results: Any) -> None:
    from flowengine.api import load_flow

    flow = load_flow(FLOW)
    store = open_org(target, create=False, project=flow.project_dir)
    flow.run(inputs[0], org=store, rollback=True)             # warm: connections, caches
    barrier.wait()
    started = time.perf_counter()
    failed = sum(not flow.run(values, org=store).ok for values in inputs)
    results.put((len(inputs), failed, time.perf_counter() - started))
    store.close()


def interviews_per_second(target: str, workers: int, numbers: range) -> float:
    """Interviews per second of `workers` processes running the cancel flow on the orders
    `numbers`, timed from a common start."""
    context = multiprocessing.get_context("spawn")
    barrier, results = context.Barrier(workers), context.Queue()
    inputs = cancel_inputs(numbers)
    shares = [inputs[i::workers] for i in range(workers)]
    procs = [context.Process(target=_worker, args=(target, share, barrier, results))
             for share in shares]
    for proc in procs:
        proc.start()
    done = [results.get(timeout=600) for _ in procs]
    for proc in procs:
        proc.join()
    if any(failed for _, failed, _ in done):
        raise SystemExit(f"{sum(f for _, f, _ in done)} interviews failed on {target}")
    return sum(count for count, _, _ in done) / max(seconds for _, _, seconds in done)


def batch_per_second(target: str, workers: int, numbers: range, folder: Path) -> float:
    """The same through run_batch, end to end (worker processes started included)."""
    inputs = folder / f"inputs-{workers}-{time.monotonic_ns()}.jsonl"
    inputs.write_text("".join(json.dumps(v) + "\n" for v in cancel_inputs(numbers)))
    started = time.perf_counter()
    summary = run_batch(FLOW, inputs, workers=workers, org=target,
                        output=folder / f"results-{inputs.stem}.jsonl")
    if summary.failed:
        raise SystemExit(f"{summary.failed} batch interviews failed on {target}")
    return summary.finished / (time.perf_counter() - started)


def contacts_fixture(records: int) -> dict[str, list[dict[str, Any]]]:
    """`records` records: an account for every nine contacts, each contact of an account."""
    from flowengine.org.ids import make_id

    accounts = records // 10
    return {"Account": [{"Id": make_id("001", n), "Name": f"Account {n}", "Industry": "Retail"}
                        for n in range(1, accounts + 1)],
            "Contact": [{"AccountId": make_id("001", n // 9 + 1), "FirstName": "Ada",
                         "LastName": f"Contact {n}", "Email": f"c{n}@example.com"}
                        for n in range(records - accounts)]}


@contextmanager
def stores(server: str, folder: Path) -> Iterator[dict[str, str]]:
    """Backend name → the target of a new, empty store."""
    from flowengine.org.postgres.scratch import scratch_database

    with scratch_database(server, prefix="flowengine_bench") as database:
        with scratch_org(database) as postgres:
            yield {"SQLite": str(folder / f"org-{time.monotonic_ns()}.sqlite"),
                   "PostgreSQL": str(postgres)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--postgres", default=os.environ.get("FLOWENGINE_TEST_POSTGRES"),
                        help="a PostgreSQL server (a role that may create databases)")
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2, 4, 8])
    parser.add_argument("--orders", type=int, default=4000, help="fulfillment orders in the org")
    parser.add_argument("--per-run", type=int, default=800, help="interviews per measurement")
    parser.add_argument("--load", type=int, nargs="*", default=[100_000, 1_000_000])
    args = parser.parse_args(argv)
    if not args.postgres:
        parser.error("name a PostgreSQL server: --postgres URL or FLOWENGINE_TEST_POSTGRES")
    print(f"machine: {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}", flush=True)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        rows: dict[int, list[str]] = {n: [] for n in args.workers}
        with stores(args.postgres, folder) as targets:
            for name, target in targets.items():
                with open_org(target) as store:
                    load_records(store, order_fixture(args.orders))
                start = 1
                for workers in args.workers:
                    numbers = range(start, start + args.per_run)
                    start = start + args.per_run if start + 2 * args.per_run <= args.orders else 1
                    rate = interviews_per_second(target, workers, numbers)
                    batch = batch_per_second(target, workers, numbers, folder)
                    rows[workers] += [f"{rate:,.0f}", f"{batch:,.0f}"]
                    print(f"  {name}, {workers} workers: {rate:,.0f}/s, batch {batch:,.0f}/s",
                          flush=True)
        print("\n| workers | SQLite, interviews/s | SQLite, `run --batch` end to end | "
              "PostgreSQL, interviews/s | PostgreSQL, `run --batch` end to end |")
        print("|---:|---:|---:|---:|---:|")
        for workers, cells in rows.items():
            print(f"| {workers} | {' | '.join(cells)} |")
        if args.load:
            print("\n| records loaded | SQLite | PostgreSQL |\n|---:|---:|---:|")
        for records in args.load:
            data = contacts_fixture(records)
            cells = []
            with stores(args.postgres, folder) as targets:
                for target in targets.values():
                    with open_org(target) as store:
                        started = time.perf_counter()
                        load_records(store, data)
                        seconds = time.perf_counter() - started
                    cells.append(f"{seconds:.1f} s ({records / seconds:,.0f}/s)")
            print(f"| {records:,} | {' | '.join(cells)} |", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
