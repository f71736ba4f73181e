"""Interpreter throughput: elements per second on a counter loop.

Each iteration runs one Assignment (counter Add 1) and one Decision (counter LessThan limit),
so 10^6 iterations execute about 2,000,001 elements. The same loop written in plain Python,
with the same Decimal arithmetic, runs beside it for scale. Run:

    python bench/bench_interpreter.py            # 10^4, 10^5, 10^6 iterations
    python bench/bench_interpreter.py --quick    # 10^4, 10^5 only
"""
from __future__ import annotations

import argparse
import gc
import sys
import time
import tracemalloc
from decimal import ROUND_HALF_UP, Decimal

from _common import COUNTER_FLOW

from flowengine import load_flow_text


def plain_python(limit: int) -> int:
    counter = Decimal(0)
    bound = Decimal(limit)
    one = Decimal(1)
    quantum = Decimal(1)
    steps = 0
    while True:
        counter = (counter + one).quantize(quantum, ROUND_HALF_UP)
        steps += 2
        if not counter < bound:
            break
    return steps


def best_of(fn, repeat: int) -> float:
    best = float("inf")
    for _ in range(repeat):
        gc.collect()
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="skip 10^6 iterations")
    parser.add_argument("--repeat", type=int, default=3, help="runs per size; the best is kept")
    args = parser.parse_args()
    flow = load_flow_text(COUNTER_FLOW, "bench_counter.yaml")
    sizes = [10**4, 10**5] + ([] if args.quick else [10**6])
    rows = []
    for n in sizes:
        result = flow.run({"limit": n}, max_elements=10**8)
        assert result.ok and result.outputs["counter"] == n, result.error
        elements = result.elements_executed
        t_off = best_of(lambda n=n: flow.run({"limit": n}, max_elements=10**8), args.repeat)
        t_on = best_of(lambda n=n: flow.run({"limit": n}, max_elements=10**8, trace=True),
                       1 if n >= 10**6 else args.repeat)
        t_py = best_of(lambda n=n: plain_python(n), args.repeat)
        rows.append((n, elements, t_off, t_on, t_py))
    tracemalloc.start()
    flow.run({"limit": 10**4}, max_elements=10**8)
    small = tracemalloc.get_traced_memory()[1]
    tracemalloc.reset_peak()
    flow.run({"limit": 10**5}, max_elements=10**8)
    large = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()

    print(f"Python {sys.version.split()[0]}; best of {args.repeat} (trace on at 10^6: one run)")
    print(f"{'iterations':>10} {'elements':>10} {'trace off el/s':>15} {'trace on el/s':>14} "
          f"{'ns/element':>10} {'plain Python el/s':>18}")
    for n, elements, t_off, t_on, t_py in rows:
        print(f"{n:>10,} {elements:>10,} {elements / t_off:>15,.0f} {elements / t_on:>14,.0f} "
              f"{t_off / elements * 1e9:>10.0f} {elements / t_py:>18,.0f}")
    first, last = rows[0], rows[-1]
    ratio = (last[2] / last[1]) / (first[2] / first[1])
    print(f"per-element cost at {last[0]:,} iterations / at {first[0]:,}: {ratio:.2f}x")
    print(f"peak traced memory without trace: {small / 1024:.0f} KiB at 10^4, "
          f"{large / 1024:.0f} KiB at 10^5 iterations")
    return 0


if __name__ == "__main__":
    sys.exit(main())
