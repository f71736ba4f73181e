"""Benchmark: one Cancel Fulfillment Order Item call with 1, 100 and 10,000 lines.

Each size gets a fresh SQLite org (a temporary file) holding one fulfillment order with that many
lines, built through the store interface; the timed part is the action handler alone (validation,
writes, rollups), inside the open transaction. Target: flat time per line, and 10,000 lines in
under a second.

    python bench/bench_cancel.py [--sizes 1 100 10000] [--repeat 3]
"""
from __future__ import annotations

import argparse
import sys
import tempfile
import time
from decimal import Decimal
from pathlib import Path

from actions.order_management import plugin
from actions.order_management.invariants import check_invariants
from actions.order_management.objects import OBJECTS
from actions.order_management.sample import build_sample_order, cancel_input
from flowengine.action import ActionContext
from flowengine.org import open_org

CANCEL = next(a for a in plugin.actions if a.name == "cancelFulfillmentOrderItem")


def time_cancel(lines: int, workdir: Path) -> tuple[float, float]:
    """(seconds to build the org, seconds for one cancel call of every line)."""
    store = open_org(workdir / f"bench-{lines}-{time.monotonic_ns()}.sqlite",
                     schemas=OBJECTS)
    tx = store.begin()
    try:
        started = time.perf_counter()
        sample = build_sample_order(tx, lines)
        built = time.perf_counter() - started
        inputs = {"fulfillmentOrderId": sample.fulfillment_order_id,
                  "cancelFulfillmentOrderItemsInput": cancel_input(
                      *[(line_id, Decimal(1)) for line_id in sample.line_ids])}
        started = time.perf_counter()
        CANCEL.handler(inputs, ActionContext(org=tx, flow="bench", element="Cancel"))
        elapsed = time.perf_counter() - started
        order = tx.get("FulfillmentOrder", sample.fulfillment_order_id)
        assert order is not None and order["ItemCount"] == 2 * lines, order
        problems = check_invariants(tx)
        assert not problems, problems[:3]
        return built, elapsed
    finally:
        tx.rollback()
        store.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1, 100, 10_000])
    parser.add_argument("--repeat", type=int, default=3, help="runs per size; the best is shown")
    args = parser.parse_args(argv)
    print(f"{'lines':>7} {'setup s':>9} {'cancel s':>9} {'per line ms':>12}")
    slowest = 0.0
    with tempfile.TemporaryDirectory() as tmp:
        for size in args.sizes:
            runs = [time_cancel(size, Path(tmp)) for _ in range(args.repeat)]
            built = min(r[0] for r in runs)
            best = min(r[1] for r in runs)
            print(f"{size:>7} {built:>9.3f} {best:>9.4f} {best / size * 1000:>12.4f}")
            if size >= 10_000:
                slowest = max(slowest, best)
    if slowest >= 1.0:
        print(f"target missed: 10,000 lines took {slowest:.2f} s (target < 1 s)", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
