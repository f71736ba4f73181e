"""Action catalog: start-up time of `flowengine actions search` and search speed on 10,000 actions.

(a) Cold start: a new process for `flowengine actions search cancel` (warm catalog cache) against
    `python -c pass` in the same environment, median of --runs each. Run twice: with Python's
    bytecode cache (as after `pip install`), and without it (PYTHONDONTWRITEBYTECODE=1, where every
    flowengine module is compiled again at each start). Target: at most 2x `python -c pass`.
(b) Search over a synthetic catalog of 10,000 actions with many similar names: index build time
    and milliseconds per query for exact, typo'd, partial, reordered and glued queries.
    Target: < 10 ms per query.

Run from the repository, in the environment where flowengine is installed:

    python bench/bench_catalog.py               # 20 runs of each command
    python bench/bench_catalog.py --runs 50
"""
from __future__ import annotations

import argparse
import os
import random
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

from flowengine.catalog import SearchIndex

VERBS = ["cancel", "create", "update", "get", "submit", "return", "ensure", "preview", "adjust",
         "reallocate", "approve", "close", "reopen", "split", "merge", "route", "reroute", "hold",
         "release", "capture", "refund", "void", "calculate", "estimate", "validate", "sync",
         "import", "export", "assign", "unassign", "schedule", "reschedule", "notify", "archive",
         "restore", "lock", "unlock", "publish", "retract", "transfer"]
NOUNS = ["Fulfillment", "Order", "Item", "Summary", "Line", "Return", "Invoice", "Credit", "Memo",
         "Payment", "Change", "Refund", "Shipment", "Parcel", "Carrier", "Location", "Warehouse",
         "Inventory", "Reservation", "Allocation", "Delivery", "Group", "Product", "Price", "Book",
         "Discount", "Tax", "Adjustment", "Account", "Contact", "Case", "Quote", "Contract",
         "Asset", "Subscription", "Renewal", "Schedule", "Batch", "Job", "Queue", "Rule", "Policy",
         "Approval", "Request", "Ticket", "Transfer", "Transaction", "Ledger", "Entry", "Balance",
         "Gateway", "Token", "Method", "Channel", "Store", "Cart", "Checkout", "Wishlist",
         "Promotion", "Coupon"]
FILLER = ("the a record for flows that manage an order life cycle and its related objects when "
          "status changes quantities amounts are recalculated by this action in one transaction "
          "all or nothing with validation before any write").split()
CATEGORIES = ["Order Management", "Returns", "Billing", "Payments", "Inventory", "Commerce",
              "Service", "Sales"]
QUERIES = [
    ("cancelFulfillmentOrderItem", "exact name"),
    ("cancel fulfillment order item", "words"),
    ("cancle fulfilment item", "typos"),
    ("item fulfillment cancel order", "reordered"),
    ("canc fulf ord", "partial words"),
    ("cancelfulfilmentorderitem", "glued + typo"),
    ("Reallocate Return Order", "label"),
    ("warehouse reservaton", "typo in a rarer word"),
    ("order", "one common word"),
    ("cancel", "one verb"),
    ("shipment parcel carrier location", "four words"),
    ("zzqx", "no match"),
]


def synthetic_actions(count: int, seed: int = 7) -> list[dict]:
    """`count` actions named verb + 1 to 3 nouns (`cancelFulfillmentOrderItem` and its near
    neighbours among them), with parameters and descriptions drawn from the same words."""
    rng = random.Random(seed)
    description_words = FILLER + [w.lower() for w in NOUNS]
    names: set[str] = set()
    actions = []
    fixed = ["cancelFulfillmentOrderItem", "cancelFulfillmentOrder", "cancelOrderItemSummary",
             "createFulfillmentOrder", "cancelFulfillmentOrderLineItem", "reallocateReturnOrder"]
    while len(actions) < count:
        if fixed:
            name = fixed.pop(0)
        else:
            nouns = rng.sample(NOUNS, rng.randint(1, 3))
            name = rng.choice(VERBS) + "".join(nouns)
        if name in names:
            continue
        names.add(name)
        params = [_param(n[0].lower() + n[1:] + "Id") for n in rng.sample(NOUNS, rng.randint(1, 4))]
        actions.append({
            "name": name, "label": _label(name), "category": rng.choice(CATEGORIES),
            "description": " ".join(rng.choices(description_words, k=rng.randint(12, 40))),
            "usage": "", "editions": "", "plugin": "bench", "inputs": params,
            "outputs": [_param("success")]})
    return actions


def _label(name: str) -> str:
    return " ".join(w.capitalize() for w in re.findall(r"[A-Z]?[a-z]+", name))


def _param(name: str) -> dict:
    return {"name": name, "label": _label(name), "description": "",
            "required": True, "type": {"kind": "Text", "apexClass": None, "object": None,
                                       "collection": False, "scale": None, "text": "Text"}}


# ---------------------------------------------------------------------------------------------

def interleaved_medians(commands: dict[str, list[str]], env: dict[str, str],
                        runs: int) -> dict[str, float]:
    """Median wall time (ms) of each command; the commands take turns, so that a busy machine
    slows them alike."""
    times: dict[str, list[float]] = {name: [] for name in commands}
    for command in commands.values():  # warm the catalog cache and the bytecode cache
        subprocess.run(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    for _ in range(runs):
        for name, command in commands.items():
            start = time.perf_counter()
            subprocess.run(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            times[name].append((time.perf_counter() - start) * 1000)
    return {name: statistics.median(values) for name, values in times.items()}


def bench_cold_start(runs: int) -> None:
    script = shutil.which("flowengine", path=os.path.dirname(sys.executable))
    search = [script, "actions", "search", "cancel"] if script else \
        [sys.executable, "-m", "flowengine", "actions", "search", "cancel"]
    commands = {"python -c pass": [sys.executable, "-c", "pass"], "actions search": search}
    with tempfile.TemporaryDirectory() as tmp:
        base = {**os.environ, "XDG_CACHE_HOME": os.path.join(tmp, "cache")}
        base.pop("FLOWENGINE_NO_CACHE", None)
        modes = {
            "bytecode cached": {**{k: v for k, v in base.items() if k != "PYTHONDONTWRITEBYTECODE"},
                                "PYTHONPYCACHEPREFIX": os.path.join(tmp, "pycache")},
            "no bytecode (PYTHONDONTWRITEBYTECODE=1)": {**base, "PYTHONDONTWRITEBYTECODE": "1"},
        }
        print(f"(a) cold start, median of {runs} runs (commands taking turns), warm catalog cache")
        print(f"{'mode':<42}" + "".join(f"{name:>18}" for name in [*commands, "(no cache)"]))
        for mode, env in modes.items():
            medians = interleaved_medians(commands, env, runs)
            no_cache = {**env, "FLOWENGINE_NO_CACHE": "1"}
            medians["(no cache)"] = interleaved_medians({"": search}, no_cache, max(5, runs // 4))[""]
            baseline = medians["python -c pass"]
            cells = [f"{ms:.1f} ms" + (f" {ms / baseline:.2f}x" if name != "python -c pass" else "")
                     for name, ms in medians.items()]
            print(f"{mode:<42}" + "".join(f"{cell:>18}" for cell in cells))
    print("  actions search: `flowengine actions search cancel`, the console script (target <= 2.00x)\n"
          "  (no cache):     the same with FLOWENGINE_NO_CACHE=1: every run imports all plug-ins\n")


def bench_search(count: int, repeat: int) -> None:
    actions = synthetic_actions(count)
    start = time.perf_counter()
    index = SearchIndex(actions)
    build = (time.perf_counter() - start) * 1000
    print(f"(b) search over {count:,} synthetic actions ({len(index.vocabulary):,} indexed words); "
          f"index built in {build:.0f} ms")
    print(f"{'query':<36}{'kind':<22}{'ms/query':>9}  first hit")
    all_times = []
    for query, kind in QUERIES:
        times = []
        for _ in range(repeat):
            start = time.perf_counter()
            hits = index.search(query)
            times.append((time.perf_counter() - start) * 1000)
        all_times.extend(times)
        first = f"{hits[0].action['name']} ({hits[0].score:.2f})" if hits else "-"
        print(f"{query:<36}{kind:<22}{statistics.median(times):>9.2f}  {first}")
    p95 = statistics.quantiles(all_times, n=20)[-1]
    print(f"{'all queries: median':<58}{statistics.median(all_times):>9.2f}  "
          f"95th percentile {p95:.2f} ms (target < 10 ms)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=20, help="process starts per command (default 20)")
    parser.add_argument("--actions", type=int, default=10_000, help="synthetic catalog size")
    parser.add_argument("--repeat", type=int, default=20, help="runs of each query (default 20)")
    args = parser.parse_args()
    bench_cold_start(args.runs)
    bench_search(args.actions, args.repeat)


if __name__ == "__main__":
    main()
