"""Benchmark: SQLite beside PostgreSQL — cancel interviews in parallel processes, event
delivery by workers, and loading 10^5 and 10^6 records; one table, each parallel figure also as
a speed-up over one process, beside the speed-up of a yardstick measured in the same run.

(y) The yardstick: N processes, started and synchronised exactly as the measured ones, each
    counting a plain Python loop. Its speed-up is what this machine gives N CPU-bound Python
    processes right now (2 cores, shared with whatever else runs): the ceiling for (a) and (b).
(a) Interviews per second of the example cancel flow (flows/cancel_fulfillment_order_items.yaml,
    one unit of one line), every interview on a fulfillment order of its own, with 1, 2, 4 and
    8 processes. Each process opens the store and loads the flow, all wait at a barrier, then
    each runs its share; the figure is interviews / the slowest process's time. The org holds
    `--orders` fulfillment orders, each with its own order summary, product summary and line.
(b) Event delivery with 1, 2 and 4 workers (`flowengine.automation.worker.run_worker`, as
    `flowengine worker` runs it, batches of `--event-batch`): `--events` platform events
    published beforehand, a subscribing flow that creates one record per event; events per
    second from the barrier until every worker finds nothing left.
(c) `load_records` (what `flowengine org load` does after reading the file) of 10^5 and 10^6
    records: accounts and their contacts (one account to nine contacts, each contact looking up
    its account), into an empty store with the standard and Order Management objects.

PostgreSQL is the server `--postgres URL` (default `$FLOWENGINE_TEST_POSTGRES`) names; the
benchmark works in a database of its own, dropped at the end.

    python bench/bench_postgres.py [--workers 1 2 4 8] [--event-workers 1 2 4]
                                   [--load 100000 1000000] [--orders 4000]
"""
from __future__ import annotations

import argparse
import multiprocessing
import os
import platform
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


# -- work in N processes, timed from a common start --------------------------------------------

def _timed(job: Any, args: tuple[Any, ...], barrier: Any, results: Any) -> None:
    """In a child process: prepare `job` (untimed), wait for the others, then time its work."""
    try:
        work = job(*args)
        barrier.wait()
        started = time.perf_counter()
        count = work()
        results.put((count, time.perf_counter() - started, None))
    except BaseException as exc:    # the parent must hear of it rather than wait
        barrier.abort()
        results.put((0, 0.0, f"{type(exc).__name__}: {exc}"))


def in_processes(job: Any, shares: list[tuple[Any, ...]]) -> float:
    """Things done per second by one process per share, all started at once: what they did
    together over the slowest one's time."""
    context = multiprocessing.get_context("spawn")
    barrier, results = context.Barrier(len(shares)), context.Queue()
    procs = [context.Process(target=_timed, args=(job, share, barrier, results))
             for share in shares]
    for proc in procs:
        proc.start()
    done = [results.get(timeout=1800) for _ in procs]
    for proc in procs:
        proc.join()
    errors = [error for _, _, error in done if error]
    if errors:
        raise SystemExit(f"a benchmark process failed: {errors[0]}")
    return sum(count for count, _, _ in done) / max(seconds for _, seconds, _ in done)


def yardstick_job(loops: int) -> Any:
    def work() -> int:
        total = 0
        for n in range(loops):
            total += n & 7
        return loops
    return work


def cancel_job(target: str, inputs: list[dict[str, Any]]) -> Any:
    from flowengine.api import load_flow

    flow = load_flow(FLOW)
    store = open_org(target, create=False, project=flow.project_dir)
    flow.run(inputs[0], org=store, rollback=True)             # warm: connections, caches

    def work() -> int:
        failed = [r.error for r in (flow.run(values, org=store) for values in inputs) if not r.ok]
        store.close()
        if failed:
            raise RuntimeError(f"{len(failed)} interviews failed: {failed[0]}")
        return len(inputs)
    return work


def delivery_job(target: str, project: str, batch: int) -> Any:
    """A worker as `flowengine worker --once` runs: deliver until nothing is left to claim."""
    from flowengine.automation import Automation, FlowProject

    store = open_org(target, create=False, project=project)
    automation = Automation(FlowProject.open(project), store)
    automation.event_batch = batch

    def work() -> int:
        delivered = 0
        while count := automation.deliver():
            delivered += count
        store.close()
        return delivered
    return work


EVENT_OBJECTS = """objects:
  Tally__c:
    fields:
      Note__c: {type: Text, length: 80}
  Tick__e:
    fields:
      Note__c: {type: Text, length: 80}
"""
EVENT_SUBSCRIBER = """flow: On_Tick
trigger: {type: PlatformEvent, object: Tick__e}
elements:
  Count: {type: CreateRecords, object: Tally__c, values: {Name: tick, Note__c: "{!$Record.Note__c}"}}
start: Count
"""


def publish_ticks(target: str, project: str, events: int) -> None:
    with open_org(target, project=project) as store, store.begin() as tx:
        tx.publish("Tick__e", [{"Note__c": f"tick {n}"} for n in range(events)])


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


def speedup(rate: float, one: float) -> str:
    return f"{rate:,.0f} ({rate / one:.2f}x)"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--postgres", default=os.environ.get("FLOWENGINE_TEST_POSTGRES"),
                        help="a PostgreSQL server (a role that may create databases)")
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2, 4, 8])
    parser.add_argument("--orders", type=int, default=4000, help="fulfillment orders in the org")
    parser.add_argument("--per-run", type=int, default=800, help="interviews per measurement")
    parser.add_argument("--event-workers", type=int, nargs="*", default=[1, 2, 4])
    parser.add_argument("--events", type=int, default=2000, help="events per measurement")
    parser.add_argument("--event-batch", type=int, default=50, help="events per claimed batch")
    parser.add_argument("--loops", type=int, default=10_000_000, help="the yardstick's work")
    parser.add_argument("--load", type=int, nargs="*", default=[100_000, 1_000_000])
    args = parser.parse_args(argv)
    if not args.postgres:
        parser.error("name a PostgreSQL server: --postgres URL or FLOWENGINE_TEST_POSTGRES")
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, "
          f"Python {platform.python_version()}, load average {os.getloadavg()[0]:.1f}",
          flush=True)
    rows: list[list[str]] = []
    sticks: dict[int, str] = {}
    one_stick = 0.0
    for workers in sorted(set(args.workers) | set(args.event_workers)):
        rate = in_processes(yardstick_job, [(args.loops // workers,)] * workers)
        one_stick = one_stick or rate
        sticks[workers] = f"{rate / one_stick:.2f}x"
        print(f"  yardstick, {workers} processes: {sticks[workers]}", flush=True)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        project = folder / "project"
        project.mkdir()
        (project / "flowengine-objects.yaml").write_text(EVENT_OBJECTS)
        (project / "on_tick.yaml").write_text(EVENT_SUBSCRIBER)
        cancel: dict[int, list[str]] = {n: [] for n in args.workers}
        ticks: dict[int, list[str]] = {n: [] for n in args.event_workers}
        with stores(args.postgres, folder) as targets:
            for name, target in targets.items():
                with open_org(target) as store:
                    load_records(store, order_fixture(args.orders))
                start, one = 1, 0.0
                for workers in args.workers:
                    numbers = range(start, start + args.per_run)
                    start = start + args.per_run if start + 2 * args.per_run <= args.orders else 1
                    inputs = cancel_inputs(numbers)
                    rate = in_processes(cancel_job, [(target, inputs[i::workers])
                                                     for i in range(workers)])
                    one = one or rate
                    cancel[workers].append(speedup(rate, one))
                    print(f"  {name}, cancel, {workers} processes: {rate:,.0f}/s", flush=True)
                one = 0.0
                for workers in args.event_workers:
                    publish_ticks(target, str(project), args.events)
                    rate = in_processes(delivery_job, [(target, str(project), args.event_batch)]
                                        * workers)
                    one = one or rate
                    ticks[workers].append(speedup(rate, one))
                    print(f"  {name}, events, {workers} workers: {rate:,.0f}/s", flush=True)
        for workers, cells in cancel.items():
            rows.append([f"cancel flow, interviews/s, {workers} process"
                         + "es" * (workers != 1), *cells, sticks[workers]])
        for workers, cells in ticks.items():
            rows.append([f"event delivery, events/s, {workers} worker" + "s" * (workers != 1),
                         *cells, sticks[workers]])
        for records in args.load:
            data = contacts_fixture(records)
            cells = []
            with stores(args.postgres, folder) as targets:
                for target in targets.values():
                    with open_org(target) as store:
                        started = time.perf_counter()
                        load_records(store, data)
                        seconds = time.perf_counter() - started
                    cells.append(f"{seconds:,.1f} s ({records / seconds:,.0f} records/s)")
            print(f"  org load of {records:,} records: {', '.join(cells)}", flush=True)
            rows.append([f"org load, {records:,} records", *cells, "-"])
    print("\n| measure | SQLite | PostgreSQL | yardstick speed-up |\n|---|---:|---:|---:|")
    for row in rows:
        print(f"| {' | '.join(row)} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
