"""Automation throughput: a record-triggered after-save flow on bulk loads, and event delivery.

    python bench/bench_automation.py            # loads of 10^3, 10^4 and 10^5 records
    python bench/bench_automation.py --quick    # 10^3 and 10^4

(a) `org load`-style bulk inserts (insert_many in transactions of 10,000) of records
that start an after-save flow with one Get Records and one Update Records (it finds the record's
parent and stamps it), against the same load without automation: records per second and the
cost per record of the automation, flat as the load grows.

(b) Delivery of 10,000 platform events to a subscribing flow that creates one record per event:
events per second, with the publishing transaction's cost apart.
"""
from __future__ import annotations

import argparse
import os
import platform
import sys
import tempfile
import textwrap
import time
from pathlib import Path
from typing import Any

from flowengine.automation import Automation, FlowProject
from flowengine.org import open_org

OBJECTS = """
objects:
  Team__c:
    fields:
      Touched__c: {type: Number, precision: 18, scale: 0}
  Player__c:
    fields:
      Team__c: {type: Lookup, referenceTo: Team__c}
      Score__c: {type: Number, precision: 18, scale: 0}
  Goal__e:
    fields:
      Player__c: {type: Text, length: 18}
"""
TRIGGERED = """
flow: Stamp_Team
trigger: {type: RecordAfterSave, object: Player__c, on: Create}
elements:
  Team:
    type: GetRecords
    object: Team__c
    filters: [{field: Id, op: EqualTo, value: "{!$Record.Team__c}"}]
    firstOnly: true
    fields: [Touched__c]
    storeOutputAutomatically: true
    next: Stamp
  Stamp:
    type: UpdateRecords
    object: Team__c
    filters: [{field: Id, op: EqualTo, value: "{!$Record.Team__c}"}]
    values: {Touched__c: "{!$Record.Score__c}"}
start: Team
"""
SUBSCRIBER = """
flow: Count_Goal
trigger: {type: PlatformEvent, object: Goal__e}
elements:
  Record_It: {type: CreateRecords, object: Player__c, values: {Name: "{!$Record.Player__c}", Score__c: 1}}
start: Record_It
"""
CHUNK = 10_000


def project(folder: Path, flows: dict[str, str]) -> Path:
    folder.mkdir()
    (folder / "flowengine-objects.yaml").write_text(textwrap.dedent(OBJECTS), encoding="utf-8")
    for name, text in flows.items():
        (folder / f"{name}.yaml").write_text(text.lstrip("\n"), encoding="utf-8")
    return folder


def load(store: Any, size: int) -> float:
    """Insert `size` players (on 100 teams) in transactions of 10,000 (a transaction's most DML
    rows in Salesforce; the triggered flow's Get Records is one query per 200, so 50 of the 100
    a transaction may run); seconds taken."""
    with store.begin() as tx:
        teams = tx.insert_many("Team__c", [{"Name": f"T{i}"} for i in range(100)])
    start = time.perf_counter()
    for offset in range(0, size, CHUNK):
        count = min(CHUNK, size - offset)
        with store.begin() as tx:
            tx.insert_many("Player__c", [{"Name": f"P{offset + i}", "Team__c": teams[(offset + i) % 100],
                                          "Score__c": offset + i} for i in range(count)])
    return time.perf_counter() - start


def measure_loads(sizes: list[int], folder: Path) -> list[tuple[int, float, float]]:
    out = []
    for size in sizes:
        plain_dir = project(folder / f"plain{size}", {})
        auto_dir = project(folder / f"auto{size}", {"stamp_team": TRIGGERED})
        with open_org(plain_dir / "org.sqlite", project=plain_dir) as plain:
            plain_s = load(plain, size)
        with open_org(auto_dir / "org.sqlite", project=auto_dir) as store:
            auto = Automation(FlowProject.open(auto_dir), store)
            automated_s = load(_Auto(auto), size)
            with store.begin(write=False) as tx:
                log = tx.interviews()
                assert len(log) == size and all(e["status"] == "Finished" for e in log), log[:3]
        out.append((size, plain_s, automated_s))
        print(f"  load {size:,}: {plain_s:.2f} s plain, {automated_s:.2f} s automated",
              file=sys.stderr)
    return out


class _Auto:
    """The store as `load` uses it, with the automation's transactions."""

    def __init__(self, automation: Automation) -> None:
        self.automation = automation

    def begin(self) -> Any:
        return self.automation.begin()


def measure_events(count: int, folder: Path) -> tuple[float, float]:
    directory = project(folder / "events", {"count_goal": SUBSCRIBER})
    with open_org(directory / "org.sqlite", project=directory) as store:
        automation = Automation(FlowProject.open(directory), store)
        tx = store.begin()
        start = time.perf_counter()
        tx.publish("Goal__e", [{"Player__c": f"p{i}"} for i in range(count)])
        tx.commit()
        published = time.perf_counter() - start
        start = time.perf_counter()
        ran = automation.deliver()
        delivered = time.perf_counter() - start
        assert ran == count, ran
        with store.begin(write=False) as check:
            assert len(check.query("Player__c")) == count
    return published, delivered


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="without the 10^5 load")
    args = parser.parse_args()
    sizes = [1_000, 10_000] + ([] if args.quick else [100_000])
    print(f"# {platform.python_implementation()} {platform.python_version()}, {os.cpu_count()} "
          f"CPUs, {platform.platform()}")
    with tempfile.TemporaryDirectory() as tmp:
        loads = measure_loads(sizes, Path(tmp))
        published, delivered = measure_events(10_000, Path(tmp))
    print("\n(a) bulk load of records that start an after-save flow (one Get Records, one Update "
          "Records)")
    print("| records | without automation, records/s | with automation, records/s | "
          "automation µs per record |")
    print("|---:|---:|---:|---:|")
    for size, plain, automated in loads:
        print(f"| {size:,} | {size / plain:,.0f} | {size / automated:,.0f} | "
              f"{(automated - plain) / size * 1e6:,.0f} |")
    first, last = loads[0], loads[-1]
    print(f"\nautomation cost per record at {last[0]:,} / at {first[0]:,}: "
          f"{((last[2] - last[1]) / last[0]) / ((first[2] - first[1]) / first[0]):.2f}x")
    print(f"\n(b) 10,000 platform events: published in {published:.2f} s "
          f"({10_000 / published:,.0f}/s); delivered to a subscriber that creates a record per "
          f"event in {delivered:.2f} s ({10_000 / delivered:,.0f} events/s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
