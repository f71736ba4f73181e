"""Benchmark of the canvas: a generated 200-element flow (nested decisions, loops, backward
jumps) must lay out and render to SVG and HTML in under a second, with no two boxes overlapping
and no connector through a box.

    python bench/bench_render.py [--elements 200] [--repeat 5]
"""
from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable
from typing import Any

from flowengine.api import load_flow_text
from flowengine.render import render_html, render_mermaid, render_svg
from flowengine.render.canvas import layout_of, source_of
from flowengine.render.layout import Layout
from flowengine.render.sample import generate_flow_yaml

BUDGET_SECONDS = 1.0


def best_of(repeat: int, fn: Callable[[], Any]) -> tuple[float, float, Any]:
    times, result = [], None
    for _ in range(repeat):
        start = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - start)
    return min(times), statistics.median(times), result


def overlaps(layout: Layout) -> int:
    boxes = [b.rect for b in layout.boxes]
    return sum(1 for i, a in enumerate(boxes) for b in boxes[i + 1:]
               if a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3])


def crossings(layout: Layout) -> int:
    count = 0
    for c in layout.connectors:
        for p, q in zip(c.points, c.points[1:]):
            for x1, y1, x2, y2 in (b.rect for b in layout.boxes):
                if p[1] == q[1]:
                    hit = y1 < p[1] < y2 and min(p[0], q[0]) < x2 and max(p[0], q[0]) > x1
                else:
                    hit = x1 < p[0] < x2 and min(p[1], q[1]) < y2 and max(p[1], q[1]) > y1
                count += hit
    return count


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--elements", type=int, default=200)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args(argv)

    text = generate_flow_yaml(args.elements, args.seed)
    load_best, _, flow = best_of(1, lambda: load_flow_text(text, "generated.yaml"))
    model = flow.model
    counts = {kind: sum(1 for e in model.elements.values() if e.type == kind)
              for kind in ("Assignment", "Decision", "Loop", "Action")}
    print(f"flow: {len(model.elements)} elements "
          + ", ".join(f"{n} {k.lower()}s" for k, n in counts.items() if n)
          + f"; loaded and checked in {load_best * 1000:.0f} ms")

    layout_best, layout_median, layout = best_of(args.repeat, lambda: layout_of(source_of(flow)))
    svg_best, svg_median, svg = best_of(args.repeat, lambda: render_svg(flow))
    html_best, html_median, html = best_of(args.repeat, lambda: render_html(flow))
    mmd_best, mmd_median, _ = best_of(args.repeat, lambda: render_mermaid(flow))
    gotos = sum(1 for c in layout.connectors if c.style == "goto")
    returns = sum(1 for c in layout.connectors if c.style == "return")
    print(f"canvas: {layout.width} x {layout.height} px, {len(layout.boxes)} boxes, "
          f"{len(layout.connectors)} connectors ({returns} loop returns, {gotos} routed go-tos)")
    for name, best, median, size in (("layout", layout_best, layout_median, None),
                                     ("svg", svg_best, svg_median, len(svg)),
                                     ("html", html_best, html_median, len(html)),
                                     ("mermaid", mmd_best, mmd_median, None)):
        extra = f", {size / 1024:.0f} KiB" if size else ""
        print(f"  {name:<8} best {best * 1000:7.1f} ms   median {median * 1000:7.1f} ms{extra}")
    overlapping, crossing = overlaps(layout), crossings(layout)
    print(f"overlapping boxes: {overlapping}; connector segments through a box: {crossing}")
    ok = html_median < BUDGET_SECONDS and svg_median < BUDGET_SECONDS and not overlapping \
        and not crossing
    print("OK" if ok else f"FAIL: budget {BUDGET_SECONDS:.1f} s, no overlaps, no crossings")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
