"""Orthogonal routing of go-to connectors around the element boxes.

A go-to leaves its stub downwards, turns at the first height where a horizontal run to an outer
lane (left or right of the whole drawing) is free, runs along that lane and enters the target from
its side (or from above, or below). Each route gets its own lane so parallel routes stay apart.
When no such simple route exists, a shortest path with few bends over the grid of box edges is
used instead; it never crosses a box.
"""
from __future__ import annotations

import heapq
from bisect import bisect_left, bisect_right
from typing import Final

Point = tuple[int, int]
Rect = tuple[int, int, int, int]     # x1, y1, x2, y2

CLEARANCE: Final = 10     # how far routes keep from boxes
LANE_GAP: Final = 14      # between parallel outer lanes
BEND_COST: Final = 40     # a bend costs as much as this many pixels of length
RUN_GAP: Final = 12       # how far a horizontal run keeps from another connector's


def simplify(points: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """Drop repeated points and the middle point of straight runs."""
    out: list[tuple[int, int]] = []
    for p in points:
        if out and out[-1] == p:
            continue
        if len(out) >= 2:
            (ax, ay), (bx, by) = out[-2], out[-1]
            if (ax == bx == p[0]) or (ay == by == p[1]):
                out[-1] = p
                continue
        out.append(p)
    return out


def _free(lo: int, hi: int, blocked: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """Sub-intervals of [lo, hi] not covered by the open intervals in `blocked`."""
    spans, cur = [], lo
    for a, b in sorted(blocked):
        if a > cur:
            spans.append((cur, min(a, hi)))
        cur = max(cur, b)
        if cur >= hi:
            break
    if cur < hi:
        spans.append((cur, hi))
    return [(a, b) for a, b in spans if a <= b]


def _nearest(spans: list[tuple[int, int]], want: int) -> int | None:
    best: int | None = None
    for a, b in spans:
        y = min(max(want, a), b)
        if best is None or abs(y - want) < abs(best - want):
            best = y
    return best


class Router:
    """Routes connectors around `obstacles`; `bounds` is the extent of everything drawn."""

    def __init__(self, obstacles: list[Rect], bounds: Rect,
                 connectors: list[list[Point]] | None = None) -> None:
        c = CLEARANCE
        self.rects = [(x1 - c, y1 - c, x2 + c, y2 + c) for x1, y1, x2, y2 in obstacles]
        self.bounds = bounds
        self.lanes = 0
        self.runs: list[tuple[int, int, int]] = []     # horizontal runs of drawn connectors
        for points in connectors or []:
            self._add_runs(points)

    def _add_runs(self, points: list[Point]) -> None:
        for (ax, ay), (bx, by) in zip(points, points[1:]):
            if ay == by and ax != bx:
                self.runs.append((min(ax, bx), max(ax, bx), ay))

    # -- geometry -------------------------------------------------------------------------------
    def inflate(self, rect: Rect) -> Rect:
        c = CLEARANCE
        return (rect[0] - c, rect[1] - c, rect[2] + c, rect[3] + c)

    def _h_blocked(self, x1: int, x2: int, skip: Rect | None = None) -> list[tuple[int, int]]:
        """Heights where a horizontal run from x1 to x2 would cross a box or lie on top of
        another connector's horizontal run."""
        lo, hi = min(x1, x2), max(x1, x2)
        blocked = [(r[1], r[3]) for r in self.rects if r != skip and r[0] < hi and r[2] > lo]
        blocked += [(y - RUN_GAP, y + RUN_GAP) for a, b, y in self.runs if a < hi and b > lo]
        return blocked

    def clear(self, a: Point, b: Point, rects: list[Rect] | None = None) -> bool:
        """Whether the axis-parallel segment a–b keeps clear of every obstacle."""
        lo_x, hi_x = min(a[0], b[0]), max(a[0], b[0])
        lo_y, hi_y = min(a[1], b[1]), max(a[1], b[1])
        for x1, y1, x2, y2 in self.rects if rects is None else rects:
            if lo_y == hi_y:
                if x1 < hi_x and x2 > lo_x and y1 < lo_y < y2:
                    return False
            elif y1 < hi_y and y2 > lo_y and x1 < lo_x < x2:
                return False
        return True

    # -- simple routes via an outer lane --------------------------------------------------------
    def _exit(self, start: Point, lane: int) -> int | None:
        """The first height at or below `start` where a horizontal run to `lane` is free."""
        sx, sy = start
        below = [r for r in self.rects if r[0] < sx < r[2] and r[3] > sy]
        limit = min([r[1] for r in below], default=self.bounds[3] + 4 * LANE_GAP)
        spans = _free(sy, limit, self._h_blocked(sx, lane))
        spans = [(a, b) for a, b in spans if not (a == limit and b == limit)]
        return spans[0][0] if spans else None

    def _entries(self, target: Rect, lane: int, right: bool) -> list[list[Point]]:
        """Ways into `target` from `lane`, best first: side, top, bottom."""
        x1, y1, x2, y2 = target
        skip = self.inflate(target)
        options: list[list[Point]] = []
        side = x2 if right else x1
        mid = (y1 + y2) // 2
        y = _nearest(_free(y1 + 8, y2 - 8, self._h_blocked(side, lane, skip)), mid)
        if y is not None:
            options.append([(lane, y), (side, y)])
        cx = (x1 + x2) // 2
        for edge, step in ((y1, -1), (y2, 1)):
            near = [r for r in self.rects if r != skip and r[0] < cx < r[2]
                    and (r[3] <= edge if step < 0 else r[1] >= edge)]
            if step < 0:
                lo = max([r[3] for r in near], default=edge - 4 * CLEARANCE)
                span = _free(lo, edge - CLEARANCE, self._h_blocked(cx, lane, skip))
            else:
                hi = min([r[1] for r in near], default=edge + 4 * CLEARANCE)
                span = _free(edge + CLEARANCE, hi, self._h_blocked(cx, lane, skip))
            y = _nearest(span, edge + step * 2 * CLEARANCE)
            if y is not None:
                options.append([(lane, y), (cx, y), (cx, edge)])
        return options

    def route(self, start: Point, target: Rect) -> list[Point]:
        """A path from `start` to the border of `target` that keeps clear of the obstacles."""
        self.lanes += 1
        offset = 2 * CLEARANCE + LANE_GAP * self.lanes
        lanes = [(self.bounds[2] + offset, True), (self.bounds[0] - offset, False)]
        if start[0] < (self.bounds[0] + self.bounds[2]) // 2:
            lanes.reverse()
        best: list[Point] | None = None
        best_cost = 0
        for lane, right in lanes:
            exit_y = self._exit(start, lane)
            if exit_y is None:
                continue
            for entry in self._entries(target, lane, right):
                path = simplify([start, (start[0], exit_y), (lane, exit_y), *entry])
                cost = _cost(path)
                if best is None or cost < best_cost:
                    best, best_cost = path, cost
                break
        path = best if best is not None else self._grid_route(start, target)
        self._add_runs(path)
        return path

    # -- fallback: shortest path over the grid of obstacle edges --------------------------------
    def _grid_route(self, start: Point, target: Rect) -> list[Point]:
        tx1, ty1, tx2, ty2 = target
        tcx, tcy = (tx1 + tx2) // 2, (ty1 + ty2) // 2
        goals = {(tcx, ty1 - 1): (tcx, ty1), (tcx, ty2 + 1): (tcx, ty2),
                 (tx1 - 1, tcy): (tx1, tcy), (tx2 + 1, tcy): (tx2, tcy)}
        skip = self.inflate(target)
        rects = [r for r in self.rects if r != skip] + [target]
        b = self.bounds
        xs = sorted({start[0], tcx, tx1 - 1, tx2 + 1, b[0] - 3 * CLEARANCE, b[2] + 3 * CLEARANCE}
                    | {v for r in rects for v in (r[0], r[2])})
        ys = sorted({start[1], tcy, ty1 - 1, ty2 + 1, b[1] - 3 * CLEARANCE, b[3] + 3 * CLEARANCE}
                    | {v for r in rects for v in (r[1], r[3])})
        inside = set()
        for r in rects:
            for i in range(bisect_right(xs, r[0]), bisect_left(xs, r[2])):
                for j in range(bisect_right(ys, r[1]), bisect_left(ys, r[3])):
                    inside.add((i, j))
        origin = (xs.index(start[0]), ys.index(start[1]))
        frontier = [(0, origin, -1)]
        cost = {(origin, -1): 0}
        came: dict[tuple[tuple[int, int], int], tuple[tuple[int, int], int]] = {}
        while frontier:
            c, (i, j), d = heapq.heappop(frontier)
            if (xs[i], ys[j]) in goals:
                path = [goals[(xs[i], ys[j])]]
                state = ((i, j), d)
                while state in came:
                    path.append((xs[state[0][0]], ys[state[0][1]]))
                    state = came[state]
                path.append(start)
                return simplify(path[::-1])
            if c > cost.get(((i, j), d), c):
                continue
            for nd, (di, dj) in enumerate(((1, 0), (-1, 0), (0, 1), (0, -1))):
                ni, nj = i + di, j + dj
                if not (0 <= ni < len(xs) and 0 <= nj < len(ys)) or (ni, nj) in inside:
                    continue
                a, p = (xs[i], ys[j]), (xs[ni], ys[nj])
                if not self.clear(a, p, rects):
                    continue
                nc = c + abs(a[0] - p[0]) + abs(a[1] - p[1]) + (BEND_COST if d not in (-1, nd) else 0)
                if nc < cost.get(((ni, nj), nd), nc + 1):
                    cost[((ni, nj), nd)] = nc
                    came[((ni, nj), nd)] = ((i, j), d)
                    heapq.heappush(frontier, (nc, (ni, nj), nd))
        return [start, (tcx, start[1]), (tcx, ty1)]     # boxed in: draw it straight


def _cost(path: list[Point]) -> int:
    length = sum(abs(a[0] - b[0]) + abs(a[1] - b[1]) for a, b in zip(path, path[1:]))
    return length + BEND_COST * (len(path) - 2)
