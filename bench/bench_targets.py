"""Every performance target of flowengine in one run, each as a ratio against its yardstick.

    python bench/bench_targets.py             # 10^5 records, 10^6 loop elements (~10 minutes)
    python bench/bench_targets.py --quick     # smaller sizes, fewer runs
    python bench/bench_targets.py --full      # adds 10^6 records (load, export, memory)
    python bench/bench_targets.py --only startup,loop

Whole-process figures start a new process per run; the commands take turns, so that a busy
machine slows them alike, and a ratio is the median of the per-round ratios (spread: the 25th to
75th percentile of them). In-process figures run in a child process of their own (so a target
that is far off can time out) and report the median of --repeat runs with its min–max spread.
Times are CPU time (user + system of the process; `time.process_time()` in process), which a
machine shared with other work inflates far less than wall time; `--wall` uses wall time.
Memory is the peak resident set of the whole process (`ru_maxrss`).
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from typing import Any

from _common import COUNTER_FLOW

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
COUNTER = os.path.join(ROOT, "flows", "counter.yaml")

COLLECT_FLOW = """
flow: Bench_Collect
variables:
  numbers: {type: Number, scale: 0, collection: true, input: true}
  kept: {type: Number, scale: 0, collection: true}
  size: {type: Number, scale: 0, output: true}
elements:
  Each:
    type: Loop
    collection: numbers
    each: Keep
    after: Count
  Keep:
    type: Assignment
    assignments:
      - {ref: kept, op: Add, value: "{!Each}"}
    next: Each
  Count:
    type: Assignment
    assignments:
      - {ref: size, op: AssignCount, value: "{!kept}"}
start: Each
"""

APEX_FLOW = """
flow: Bench_Apex
types:
  Acme.Parcel:
    fields:
      trackingNumber: Text
      weightKg: {type: Number, scale: 3}
      fragile: Boolean
variables:
  parcels: {type: Apex, apexClass: Acme.Parcel, collection: true, input: true}
  totalKg: {type: Number, scale: 3, output: true, default: 0}
elements:
  Each:
    type: Loop
    collection: parcels
    each: Add_Weight
  Add_Weight:
    type: Assignment
    assignments:
      - {ref: totalKg, op: Add, value: "{!Each.weightKg}"}
    next: Each
start: Each
"""

CLOCK = 1       # the index in timed_process's result: 0 wall time, 1 CPU time
FORMULA = "IF(MOD({!n}, 3) = 0, 'fizz', TEXT({!n}))"


# -- whole processes --------------------------------------------------------------------------

def timed_process(command: list[str], env: dict[str, str], cwd: str | None = None,
                  stdout: Any = subprocess.DEVNULL) -> tuple[float, float, int]:
    """Wall seconds, CPU seconds and peak resident KiB of one process (which must succeed)."""
    start = time.perf_counter()
    proc = subprocess.Popen(command, env=env, cwd=cwd, stdout=stdout, stderr=subprocess.PIPE)
    assert proc.stderr is not None
    err = proc.stderr.read()
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    proc.stderr.close()
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} exited with {proc.returncode}: {err.decode()[-2000:]}")
    return wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss


def taking_turns(commands: dict[str, tuple[list[str], Callable[[], dict[str, str]]]],
                 runs: int) -> dict[str, list[float]]:
    """Wall times of each command over `runs` rounds; `env()` is called before each run."""
    times: dict[str, list[float]] = {name: [] for name in commands}
    for command, env in commands.values():   # warm the bytecode cache and the OS's file cache
        timed_process(command, env())
    for _ in range(runs):
        for name, (command, env) in commands.items():
            times[name].append(timed_process(command, env())[CLOCK])
    return times


def paired_ratio(times: list[float], base: list[float]) -> tuple[float, float, float]:
    ratios = sorted(t / b for t, b in zip(times, base))
    if len(ratios) < 4:
        return statistics.median(ratios), ratios[0], ratios[-1]
    q = statistics.quantiles(ratios, n=4)
    return statistics.median(ratios), q[0], q[2]


def bench_startup(rows: list[dict[str, Any]], runs: int, tmp: str) -> None:
    exe = shutil.which("flowengine", path=os.path.dirname(sys.executable))
    flowengine = [exe] if exe else [sys.executable, "-m", "flowengine"]
    warm_dir = os.path.join(tmp, "warm-cache")
    cold_count = [0]

    def warm() -> dict[str, str]:
        return {**os.environ, "FLOWENGINE_CACHE_DIR": warm_dir}

    def cold() -> dict[str, str]:   # a new, empty cache directory for every run
        cold_count[0] += 1
        return {**os.environ, "FLOWENGINE_CACHE_DIR": os.path.join(tmp, f"cold-{cold_count[0]}")}

    def catalog() -> dict[str, str]:
        return {**os.environ, "FLOWENGINE_CACHE_DIR": os.path.join(tmp, "catalog-cache")}

    run = [*flowengine, "run", COUNTER, "-i", "limit=10"]
    commands = {
        "pass": ([sys.executable, "-c", "pass"], warm),
        "run warm": (run, warm),
        "run cold": (run, cold),
        "validate": ([*flowengine, "validate", COUNTER], cold),
        "search": ([*flowengine, "actions", "search", "cancel"], catalog),
    }
    times = taking_turns(commands, runs)
    base = times["pass"]
    pass_ms = statistics.median(base) * 1000
    for key, what, goal in (("run warm", "`run counter.yaml`, flow cache warm", 3.0),
                            ("run cold", "`run counter.yaml`, flow cache empty", 8.0),
                            ("validate", "`validate counter.yaml`", 8.0),
                            ("search", "`actions search cancel`", 2.0)):
        median, low, high = paired_ratio(times[key], base)
        rows.append(row("start-up", what, f"python -c pass ({pass_ms:.0f} ms)",
                        f"{statistics.median(times[key]) * 1000:.0f} ms", median, (low, high),
                        f"≤ {goal:g}x", median <= goal))


# -- in-process figures, each in a child process -------------------------------------------------

def child(name: str, *args: str, timeout: float) -> dict[str, Any] | None:
    """Run `bench_targets.py --child NAME ARGS` and return the JSON it prints (None on timeout)."""
    try:
        out = subprocess.run([sys.executable, os.path.abspath(__file__), "--child", name, *args],
                             capture_output=True, text=True, timeout=timeout, check=True)
    except subprocess.TimeoutExpired:
        return None
    except subprocess.CalledProcessError as exc:
        raise RuntimeError(f"child {name} failed: {exc.stderr[-3000:]}") from None
    return json.loads(out.stdout.strip().splitlines()[-1])


def _median_of(fn: Callable[[], Any], repeat: int) -> list[float]:
    import gc
    clock = time.perf_counter if os.environ.get("BENCH_WALL") else time.process_time
    times = []
    for _ in range(repeat):
        gc.collect()
        start = clock()
        fn()
        times.append(clock() - start)
    return times


def child_counter(iterations: str, repeat: str) -> dict[str, Any]:
    from decimal import ROUND_HALF_UP, Decimal

    from flowengine import load_flow_text
    n, r = int(iterations), int(repeat)
    flow = load_flow_text(COUNTER_FLOW, "bench_counter.yaml")
    result = flow.run({"limit": n}, max_elements=10**8)
    assert result.ok and result.outputs["counter"] == n, result.error
    elements = result.elements_executed

    def plain() -> None:
        counter, bound, one, quantum = Decimal(0), Decimal(n), Decimal(1), Decimal(1)
        while True:
            counter = (counter + one).quantize(quantum, ROUND_HALF_UP)
            if not counter < bound:
                break
    compiled = flow.compiled
    assert compiled.fused, "the counter cycle is no longer fused (flowengine.runtime.fused)"

    def general(trace: bool) -> None:
        # the same interview run node by node, as a cycle that is not fused runs
        compiled.fused = False
        try:
            flow.run({"limit": n}, max_elements=10**8, trace=trace)
        finally:
            compiled.fused = True
    off, on, py, general_off, general_on = [], [], [], [], []
    for _ in range(r):     # interleaved, so that a busy moment slows all of them
        off += _median_of(lambda: flow.run({"limit": n}, max_elements=10**8), 1)
        on += _median_of(lambda: flow.run({"limit": n}, max_elements=10**8, trace=True), 1)
        py += _median_of(plain, 1)
        general_off += _median_of(lambda: general(False), 1)
        general_on += _median_of(lambda: general(True), 1)
    return {"elements": elements, "off": off, "on": on, "plain": py, "general_off": general_off,
            "general_on": general_on}


def child_formula(repeat: str) -> dict[str, Any]:
    from decimal import Decimal

    from flowengine.formula import compile_formula
    from flowengine.types import FlowType
    number = FlowType("Number", scale=0)

    def resolve(path: str) -> Any:
        if path != "n":
            raise KeyError(path)
        return number, lambda st: st["n"]
    formula = compile_formula(FORMULA, FlowType("Text"), resolve, "bench")
    states = [{"n": Decimal(i)} for i in range(1000)]
    evaluate = formula.evaluate
    assert evaluate(states[3]) == "fizz" and evaluate(states[4]) == "4"

    def batch() -> None:
        for _ in range(100):
            for st in states:
                evaluate(st)
    return {"per_eval": [t / 100_000 for t in _median_of(batch, int(repeat))]}


def child_apex(count: str, repeat: str) -> dict[str, Any]:
    from flowengine import load_flow_text
    n = int(count)
    flow = load_flow_text(APEX_FLOW, "bench_apex.yaml")
    parcels = [{"trackingNumber": f"P{i}", "weightKg": 1.5, "fragile": False} for i in range(n)]
    prepare = flow.compiled.prepare_inputs
    convert = _median_of(lambda: prepare({"parcels": parcels}), int(repeat))
    whole = _median_of(lambda: flow.run({"parcels": parcels}), int(repeat))
    return {"convert": [t / n for t in convert], "run": [t / n for t in whole]}


def child_collect(count: str, repeat: str) -> dict[str, Any]:
    from flowengine import load_flow_text
    n = int(count)
    flow = load_flow_text(COLLECT_FLOW, "bench_collect.yaml")
    numbers = list(range(n))
    inputs = {"numbers": flow.compiled.prepare_inputs({"numbers": numbers})["numbers"]}

    def once() -> None:
        result = flow.run(inputs, max_elements=10**8)
        assert result.ok and result.outputs["size"] == n, result.error
    return {"per_item": [t / n for t in _median_of(once, int(repeat))]}


def child_trace_json(limit: str, repeat: str) -> dict[str, Any]:
    import contextlib

    from flowengine import load_flow
    from flowengine.cli import main
    flow = load_flow(COUNTER)
    plain, with_json = [], []
    argv = ["run", COUNTER, "-i", f"limit={limit}", "--trace", "--format", "json"]
    with open(os.devnull, "w") as sink:
        for _ in range(int(repeat)):
            plain += _median_of(lambda: flow.run({"limit": int(limit)}, trace=True), 1)
            with contextlib.redirect_stdout(sink):
                with_json += _median_of(lambda: main(argv), 1)
    return {"plain": plain, "json": with_json}


CHILDREN: dict[str, Callable[..., dict[str, Any]]] = {
    "counter": child_counter, "formula": child_formula, "apex": child_apex,
    "collect": child_collect, "trace_json": child_trace_json,
}


def spread(values: list[float], scale: float = 1.0) -> tuple[float, tuple[float, float]]:
    return statistics.median(values) * scale, (min(values) * scale, max(values) * scale)


def bench_loop(rows: list[dict[str, Any]], repeat: int, big: int, timeout: float) -> None:
    small = child("counter", "10000", str(repeat), timeout=timeout)
    large = child("counter", str(big // 2), str(max(1, repeat // 2)), timeout=timeout)
    assert small is not None
    if large is None:
        rows.append(row("hot loop", f"counter loop, {big:,} elements", "-", "timed out", None,
                        None, "", False))
    else:
        n = large["elements"]
        off, off_spread = spread([n / t for t in large["off"]])
        on, on_spread = spread([n / t for t in large["on"]])
        rows.append(row("hot loop", f"counter loop, {n:,} elements, trace off", "elements/s",
                        f"{off / 1e6:.2f} M/s", None, tuple(v / 1e6 for v in off_spread),
                        "≥ 3.5 M/s", off >= 3.5e6))
        rows.append(row("hot loop", f"counter loop, {n:,} elements, trace on", "elements/s",
                        f"{on / 1e6:.2f} M/s", None, tuple(v / 1e6 for v in on_spread),
                        "≥ 1 M/s", on >= 1e6))
        ratios = [t / p for t, p in zip(large["off"], large["plain"])]
        median, low_high = spread(ratios)
        rows.append(row("hot loop", "counter loop, trace off", "the same loop in plain Python "
                        "with Decimal", f"{statistics.median(large['plain']) * 1000:.0f} vs "
                        f"{statistics.median(large['off']) * 1000:.0f} ms", median, low_high,
                        "≤ 3.5x", median <= 3.5))
        for key, how in (("general_off", "trace off"), ("general_on", "trace on")):
            rate, rate_spread = spread([n / t for t in large[key]])
            rows.append(row("hot loop", f"counter loop, {n:,} elements, {how}, node by node "
                            "(the cycle not fused)", "elements/s", f"{rate / 1e6:.2f} M/s", None,
                            tuple(v / 1e6 for v in rate_spread), "", None))
        per_small = statistics.median(small["off"]) / small["elements"]
        per_large = statistics.median(large["off"]) / n
        rows.append(row("hot loop", f"counter loop, ns/element at {n:,}", "at 20,001 elements",
                        f"{per_large * 1e9:.0f} vs {per_small * 1e9:.0f} ns", per_large / per_small,
                        None, "≤ 1.5x (linear)", per_large / per_small <= 1.5))
    formula = child("formula", str(repeat), timeout=timeout)
    assert formula is not None
    median, low_high = spread(formula["per_eval"], 1e6)
    rows.append(row("hot loop", f"formula {FORMULA}", "1 µs", f"{median:.2f} µs", median,
                    low_high, "≤ 1 µs", median <= 1.0))
    apex = child("apex", str(big // 10), str(repeat), timeout=timeout)
    if apex is not None:
        median, low_high = spread(apex["convert"], 1e6)
        run_median = statistics.median(apex["run"]) * 1e6
        rows.append(row("hot loop", f"Apex-defined input, {big // 10:,} objects: conversion",
                        "whole run per object", f"{median:.2f} of {run_median:.2f} µs",
                        median / run_median, None, "class resolved once", None))
    collect_small = child("collect", "10000", str(repeat), timeout=timeout)
    assert collect_small is not None
    collect_big = child("collect", str(big), "1", timeout=timeout)
    base = statistics.median(collect_small["per_item"])
    if collect_big is None:
        rows.append(row("hot loop", f"Loop adding {big:,} items, µs/item", "at 10,000 items",
                        f"> {timeout:.0f} s in all", None, None, "≤ 1.5x (linear)", False))
    else:
        per = statistics.median(collect_big["per_item"])
        rows.append(row("hot loop", f"Loop adding {big:,} items, µs/item", "at 10,000 items",
                        f"{per * 1e6:.2f} vs {base * 1e6:.2f} µs", per / base, None,
                        "≤ 1.5x (linear)", per / base <= 1.5))
    trace = child("trace_json", str(big // 2), str(max(1, repeat // 2)), timeout=timeout)
    if trace is None:
        rows.append(row("bulk I/O", f"`run --trace --format json`, {big:,} elements",
                        "traced run, no output", "timed out", None, None, "≤ 3x", False))
    else:
        ratios = [j / p for j, p in zip(trace["json"], trace["plain"])]
        median, low_high = spread(ratios)
        rows.append(row("bulk I/O", f"`run --trace --format json`, {big:,} elements",
                        "traced run, no output", f"{statistics.median(trace['json']):.2f} vs "
                        f"{statistics.median(trace['plain']):.2f} s", median, low_high, "≤ 3x",
                        median <= 3.0))


# -- bulk I/O -----------------------------------------------------------------------------------

def write_fixtures(tmp: str, count: int) -> dict[str, str]:
    """Account records as JSON and YAML fixtures (the YAML written line by line: the bench must
    not depend on the writer it measures)."""
    paths = {"json": os.path.join(tmp, f"accounts-{count}.json"),
             "yaml": os.path.join(tmp, f"accounts-{count}.yaml")}
    industries = ["Retail", "Banking", "Energy", "Media"]
    with open(paths["json"], "w") as j, open(paths["yaml"], "w") as y:
        j.write('{"Account": [\n')
        y.write("Account:\n")
        for i in range(count):
            record = {"Name": f"Account {i}", "AccountNumber": f"A-{i:07d}",
                      "Industry": industries[i % 4], "AnnualRevenue": i * 10 + 0.5}
            j.write(("," if i else "") + json.dumps(record) + "\n")
            y.write(f"- Name: Account {i}\n  AccountNumber: A-{i:07d}\n  Industry: "
                    f"{industries[i % 4]}\n  AnnualRevenue: {i * 10 + 0.5}\n")
        j.write("]}\n")
    return paths


def bench_bulk(rows: list[dict[str, Any]], count: int, runs: int, tmp: str) -> None:
    exe = shutil.which("flowengine", path=os.path.dirname(sys.executable))
    flowengine = [exe] if exe else [sys.executable, "-m", "flowengine"]
    env = dict(os.environ)
    paths = write_fixtures(tmp, count)
    loads: dict[str, list[tuple[float, float, int]]] = {"json": [], "yaml": []}
    store = os.path.join(tmp, "org.sqlite")
    for _ in range(runs):
        for fmt in ("json", "yaml"):
            if os.path.exists(store):
                os.remove(store)
            loads[fmt].append(timed_process([*flowengine, "org", "load", paths[fmt], "--org", store],
                                            env))
    for fmt in ("json", "yaml"):
        rates = [count / t[CLOCK] for t in loads[fmt]]
        median, low_high = spread(rates)
        rss = max(kib for _, _, kib in loads[fmt]) / 1024
        rows.append(row("bulk I/O", f"`org load` of {count:,} records, {fmt.upper()}",
                        "records/s", f"{median:,.0f}/s, {rss:,.0f} MB", None, low_high,
                        "≥ 30,000/s", median >= 30_000))
    exports: dict[str, list[tuple[float, float, int]]] = {"json": [], "yaml": []}
    for _ in range(runs):
        for fmt in ("json", "yaml"):
            out = os.path.join(tmp, f"export.{fmt}")
            exports[fmt].append(timed_process([*flowengine, "org", "export", "--org", store,
                                               "--format", fmt, "-o", out], env))
    ratios = [y[CLOCK] / j[CLOCK] for y, j in zip(exports["yaml"], exports["json"])]
    median, low_high = spread(ratios)
    rss = max(kib for _, _, kib in exports["yaml"] + exports["json"]) / 1024
    rows.append(row("bulk I/O", f"`org export` of {count:,} records, YAML", "the same in JSON",
                    f"{statistics.median(e[CLOCK] for e in exports['yaml']):.1f} vs "
                    f"{statistics.median(e[CLOCK] for e in exports['json']):.1f} s, {rss:,.0f} MB",
                    median, low_high, "≤ 2x", median <= 2.0))
    back = []
    for fmt in ("json", "yaml"):
        again = os.path.join(tmp, f"again-{fmt}.sqlite")
        try:
            timed_process([*flowengine, "org", "load", os.path.join(tmp, f"export.{fmt}"),
                           "--org", again], env)
            back.append(fmt)
        except RuntimeError as exc:
            print(f"export.{fmt} does not load back: {str(exc)[-300:]}", file=sys.stderr)
    rows.append(row("bulk I/O", f"exports of {count:,} records load back", "-",
                    ", ".join(back) or "neither", None, None, "both", len(back) == 2))


# -- the table ------------------------------------------------------------------------------------

def row(area: str, what: str, yardstick: str, measured: str, ratio: float | None,
        spread_: tuple[float, float] | None, goal: str, met: bool | None) -> dict[str, Any]:
    return {"area": area, "what": what, "yardstick": yardstick, "measured": measured,
            "ratio": ratio, "spread": spread_, "goal": goal, "met": met}


def print_table(rows: list[dict[str, Any]]) -> None:
    print("| area | what | yardstick | measured | ratio | spread | target | met |")
    print("|---|---|---|---|---:|---|---|---|")
    for r in rows:
        ratio = f"{r['ratio']:.2f}x" if r["ratio"] is not None else ""
        spread_ = f"{r['spread'][0]:.2f}–{r['spread'][1]:.2f}" if r["spread"] else ""
        met = {True: "yes", False: "**no**", None: ""}[r["met"]]
        print(f"| {r['area']} | {r['what']} | {r['yardstick']} | {r['measured']} | {ratio} | "
              f"{spread_} | {r['goal']} | {met} |")


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next((line.split(":", 1)[1].strip() for line in f
                        if line.startswith("model name")), cpu)
    except OSError:
        pass
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    return (f"{time.strftime('%Y-%m-%d')}, Python {platform.python_version()}, {cpu}, "
            f"{os.cpu_count()} CPUs, load average {load:.1f} at the start")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smaller sizes and fewer runs")
    parser.add_argument("--full", action="store_true", help="also 10^6 records")
    parser.add_argument("--runs", type=int, help="process starts per command (default 20)")
    parser.add_argument("--only", help="comma-separated areas: startup, loop, bulk")
    parser.add_argument("--timeout", type=float, default=300, help="seconds per in-process figure")
    parser.add_argument("--wall", action="store_true", help="wall time instead of CPU time")
    parser.add_argument("--child", nargs="+", help=argparse.SUPPRESS)
    args = parser.parse_args()
    global CLOCK
    if args.wall:
        CLOCK = 0
        os.environ["BENCH_WALL"] = "1"
    if args.child:
        name, *rest = args.child
        print(json.dumps(CHILDREN[name](*rest)))
        return 0
    # processes start as after `pip install`: with the bytecode cache (kept out of the tree)
    os.environ.pop("PYTHONDONTWRITEBYTECODE", None)
    os.environ.setdefault("PYTHONPYCACHEPREFIX",
                          os.path.join(tempfile.gettempdir(), "flowengine-bench-pycache"))
    areas = set((args.only or "startup,loop,bulk").split(","))
    runs = args.runs or (8 if args.quick else 20)
    repeat = 3 if args.quick else 5
    big = 10**5 if args.quick else 10**6
    records = [10**4] if args.quick else [10**5] + ([10**6] if args.full else [])
    print(machine(), file=sys.stderr)
    rows: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory() as tmp:
        if "startup" in areas:
            bench_startup(rows, runs, tmp)
        if "loop" in areas:
            bench_loop(rows, repeat, big, args.timeout)
        if "bulk" in areas:
            for count in records:
                bench_bulk(rows, count, 1 if count >= 10**6 else 3, tmp)
    print(machine())
    print()
    print_table(rows)
    return 0


if __name__ == "__main__":
    sys.exit(main())
