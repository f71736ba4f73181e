"""How long `flowengine validate` takes on a generated flow of N elements (default 1,000).

The flow mixes every element type without actions (no plug-ins needed): per block of four, a Loop
over a collection, an Assignment in its body with four items, a Decision with two rules (one with
custom logic) and an Assignment that adds to a collection, all chained `next` → `next`, so the
checker resolves paths, converts literals, parses custom logic and walks the graph for each.
It is timed in-process (`flowengine.cli.main`, best of several runs, imports already warm) and as
a fresh `python -m flowengine validate` subprocess (includes interpreter start-up and imports).
Run:

    python bench/bench_validate.py               # 1,000 elements
    python bench/bench_validate.py --elements 5000 --profile
"""
from __future__ import annotations

import argparse
import contextlib
import io
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def generate_flow(elements: int) -> str:
    """YAML text of a valid flow with `elements` elements (rounded up to a multiple of 4)."""
    blocks = max(1, -(-elements // 4))
    out = [
        "flow: Bench_Validate",
        "types:",
        "  Bench.Line:",
        "    fields:",
        "      code: Text",
        "      quantity: {type: Number, scale: 0}",
        "variables:",
        "  total: {type: Number, scale: 2, output: true, default: 0}",
        "  codes: {type: Text, collection: true, default: [a, b, c]}",
        "  line: {type: Apex, apexClass: Bench.Line}",
        "  lines: {type: Apex, apexClass: Bench__Line, collection: true}",
        "  note: {type: Text}",
        "  when: {type: Date, default: 2026-01-31}",
        "constants:",
        "  Limit: {type: Number, value: 100}",
        "templates:",
        '  summary: "total {!total} at {!when}"',
        "elements:",
    ]
    for b in range(blocks):
        nxt = f"Each_{b + 1}" if b + 1 < blocks else None
        out += [
            f"  Each_{b}:",
            "    type: Loop",
            "    collection: codes",
            f"    each: Build_{b}",
            f"    after: Check_{b}",
            f"  Build_{b}:",
            "    type: Assignment",
            "    assignments:",
            f'      - {{ref: line.code, op: Assign, value: "{{!Each_{b}}}"}}',
            f"      - {{ref: line.quantity, op: Assign, value: {b}}}",
            '      - {ref: total, op: Add, value: "{!line.quantity}"}',
            '      - {ref: note, op: Assign, value: "line {!line.code} of {!summary}"}',
            f"    next: Each_{b}",
            f"  Check_{b}:",
            "    type: Decision",
            "    rules:",
            f"      - name: Big_{b}",
            '        logic: "1 AND (2 OR NOT 3)"',
            "        conditions:",
            '          - {left: total, op: GreaterThan, right: "{!Limit}"}',
            "          - {left: note, op: StartsWith, right: line}",
            "          - {left: codes, op: IsEmpty, right: false}",
            f"        next: Collect_{b}",
            f"      - name: Small_{b}",
            "        conditions:",
            f"          - {{left: when, op: LessThan, right: 2027-01-0{1 + b % 9}}}",
            f"        next: Collect_{b}",
            f"    default: Collect_{b}",
            f"  Collect_{b}:",
            "    type: Assignment",
            "    assignments:",
            '      - {ref: lines, op: Add, value: "{!line}"}',
            "      - {ref: codes, op: RemoveAll, value: x}",
        ]
        if nxt:
            out.append(f"    next: {nxt}")
    out.append("start: Each_0")
    return "\n".join(out) + "\n"


def validate_in_process(path: Path) -> tuple[float, int, str]:
    from flowengine.cli import main

    out, err = io.StringIO(), io.StringIO()
    start = time.perf_counter()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(["validate", str(path)])
    return time.perf_counter() - start, code, out.getvalue() + err.getvalue()


def validate_subprocess(path: Path) -> tuple[float, int, str]:
    start = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "flowengine", "validate", str(path)],
                          capture_output=True, text=True, check=False)
    return time.perf_counter() - start, proc.returncode, proc.stdout + proc.stderr


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--elements", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--profile", action="store_true", help="print a cProfile of one run")
    args = parser.parse_args()

    text = generate_flow(args.elements)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "bench_validate.yaml"
        path.write_text(text, encoding="utf-8")
        count = text.count("    type: ")
        print(f"flow: {count} elements, {len(text.splitlines()):,} lines, {len(text) / 1024:.0f} KiB")

        first, code, output = validate_in_process(path)   # cold: imports pydantic, networkx...
        if code != 0:
            print(output)
            print(f"validate exited {code}; the generated flow should be valid", file=sys.stderr)
            return 1
        warm = min(validate_in_process(path)[0] for _ in range(args.repeat))
        sub = min(validate_subprocess(path)[0] for _ in range(max(1, args.repeat // 2)))
        print(f"in-process, first call (imports included): {first * 1000:8.1f} ms")
        print(f"in-process, warm (best of {args.repeat}):            {warm * 1000:8.1f} ms")
        print(f"subprocess python -m flowengine validate:   {sub * 1000:8.1f} ms")

        if args.profile:
            import cProfile
            import pstats

            profiler = cProfile.Profile()
            profiler.enable()
            validate_in_process(path)
            profiler.disable()
            pstats.Stats(profiler).sort_stats("cumulative").print_stats(25)
    return 0


if __name__ == "__main__":
    sys.exit(main())
