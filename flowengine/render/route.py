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
CARD: Final = 224         # a typical box width: the unit of the search window
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
    def _vertical_span(self, x: int, y: int, skip: Rect | None = None) -> tuple[int, int]:
        """The stretch of the vertical line at `x` around `y` that no obstacle crosses."""
        lo, hi = self.bounds[1] - 4 * LANE_GAP, self.bounds[3] + 4 * LANE_GAP
        for r in self.rects:
            if r != skip and r[0] < x < r[2]:
                if r[3] <= y:
                    lo = max(lo, r[3])
                elif r[1] >= y:
                    hi = min(hi, r[1])
                else:
                    return y, y
        return lo, hi

    def _to_lane(self, p: Point, lane: int, skip: Rect | None = None) -> list[Point] | None:
        """From `p`, straight to the lane, or along a short run into the channel before the
        first obstacle and from there, at a free height, to the lane."""
        px, py = p
        if not any(a < py < b for a, b in self._h_blocked(px, lane, skip)):
            return [p, (lane, py)]
        toward = 1 if lane > px else -1
        hits = [r for r in self.rects if r != skip and r[1] < py < r[3]
                and (r[0] >= px if toward > 0 else r[2] <= px)]
        if not hits:
            return None
        edge = min(r[0] for r in hits) if toward > 0 else max(r[2] for r in hits)
        for xc in ((px + edge) // 2, edge):
            if abs(xc - px) < 2 or any(a < py < b for a, b in self._h_blocked(px, xc, skip)):
                continue
            lo, hi = self._vertical_span(xc, py, skip)
            yh = _nearest(_free(lo, hi, self._h_blocked(xc, lane, skip)), py)
            if yh is not None:
                return [p, (xc, py), (xc, yh), (lane, yh)]
        return None

    def _exit(self, start: Point, lane: int) -> list[Point] | None:
        """From a go-to's stub (heading down) to the lane."""
        sx, sy = start
        lo, hi = self._vertical_span(sx, sy)
        spans = _free(sy, hi, self._h_blocked(sx, lane))
        if spans:
            return [start, (sx, spans[0][0]), (lane, spans[0][0])]
        toward = 1 if lane > sx else -1
        for a, _ in _free(sy, hi, self._h_blocked(sx, sx + toward * 2 * CLEARANCE))[:3]:
            path = self._to_lane((sx, a), lane)
            if path is not None:
                return [start, *path]
        return None

    def _entry(self, target: Rect, lane: int, right: bool) -> list[Point] | None:
        """From the lane into `target`: by its side, else from above, else from below."""
        x1, y1, x2, y2 = target
        skip = self.inflate(target)
        side, toward = (x2, 1) if right else (x1, -1)
        y = _nearest(_free(y1 + 8, y2 - 8, self._h_blocked(side, lane, skip)), (y1 + y2) // 2)
        if y is not None:
            return [(lane, y), (side, y)]
        y = _nearest(_free(y1 + 8, y2 - 8, self._h_blocked(side, side + toward * 2 * CLEARANCE,
                                                          skip)), (y1 + y2) // 2)
        if y is not None:
            path = self._to_lane((side, y), lane, skip)
            if path is not None:
                return path[::-1]
        cx = (x1 + x2) // 2
        for edge, step in ((y1, -1), (y2, 1)):
            lo, hi = self._vertical_span(cx, edge + step * CLEARANCE, skip)
            span = (lo, edge - CLEARANCE) if step < 0 else (edge + CLEARANCE, hi)
            if span[0] > span[1]:
                continue
            want = edge + step * 2 * CLEARANCE
            for yy in (_nearest(_free(*span, self._h_blocked(cx, lane, skip)), want),
                       _nearest([span], want)):
                if yy is None:
                    continue
                path = self._to_lane((cx, yy), lane, skip)
                if path is not None:
                    return [*path[::-1], (cx, edge)]
        return None

    def route(self, start: Point, target: Rect) -> list[Point] | None:
        """A path from `start` to the border of `target` that keeps clear of the obstacles, or
        None when there is none (the caller then labels the connector instead of drawing it)."""
        self.lanes += 1
        offset = 2 * CLEARANCE + LANE_GAP * self.lanes
        best: list[Point] | None = None
        for lane, right in ((self.bounds[2] + offset, True), (self.bounds[0] - offset, False)):
            out = self._exit(start, lane)
            into = self._entry(target, lane, right) if out is not None else None
            if out is not None and into is not None:
                path = simplify(out + into)
                if best is None or _cost(path) < _cost(best):
                    best = path
        found = best if best is not None else self._grid_route(start, target)
        if found is not None:
            self._add_runs(found)
        return found

    # -- fallback: shortest path over the grid of obstacle edges --------------------------------
    def _grid_route(self, start: Point, target: Rect) -> list[Point] | None:
        """A* over the grid of box edges near start and target, widening the window twice."""
        skip = self.inflate(target)
        rects = [r for r in self.rects if r != skip] + [target]
        sx, sy = start
        b = self.bounds
        for margin in (2 * CARD, 6 * CARD, None):
            if margin is None:
                m = 4 * CLEARANCE + LANE_GAP * self.lanes
                window = (b[0] - m, b[1] - m, b[2] + m, b[3] + m)
            else:
                window = (min(sx, target[0]) - margin, min(sy, target[1]) - margin,
                          max(sx, target[2]) + margin, max(sy, target[3]) + margin)
            local = [r for r in rects if r[0] < window[2] and r[2] > window[0]
                     and r[1] < window[3] and r[3] > window[1]]
            path = _grid_search(start, target, local, window)
            if path is not None:
                return path
        return None


def _grid_search(start: Point, target: Rect, rects: list[Rect], window: Rect) -> list[Point] | None:
    tx1, ty1, tx2, ty2 = target
    tcx, tcy = (tx1 + tx2) // 2, (ty1 + ty2) // 2
    goals = {(tcx, ty1 - 1): (tcx, ty1), (tcx, ty2 + 1): (tcx, ty2),
             (tx1 - 1, tcy): (tx1, tcy), (tx2 + 1, tcy): (tx2, tcy)}
    xs = sorted({start[0], tcx, tx1 - 1, tx2 + 1, window[0], window[2]}
                | {v for r in rects for v in (r[0], r[2]) if window[0] <= v <= window[2]})
    ys = sorted({start[1], tcy, ty1 - 1, ty2 + 1, window[1], window[3]}
                | {v for r in rects for v in (r[1], r[3]) if window[1] <= v <= window[3]})
    inside: set[tuple[int, int]] = set()
    h_blocked: set[tuple[int, int]] = set()     # segment (i, j)–(i+1, j)
    v_blocked: set[tuple[int, int]] = set()     # segment (i, j)–(i, j+1)
    for x1, y1, x2, y2 in rects:
        i_in = range(bisect_right(xs, x1), bisect_left(xs, x2))
        j_in = range(bisect_right(ys, y1), bisect_left(ys, y2))
        i_seg = range(max(0, bisect_right(xs, x1) - 1), bisect_left(xs, x2))
        j_seg = range(max(0, bisect_right(ys, y1) - 1), bisect_left(ys, y2))
        for i in i_in:
            for j in j_in:
                inside.add((i, j))
            for j in j_seg:
                v_blocked.add((i, j))
        for j in j_in:
            for i in i_seg:
                h_blocked.add((i, j))
    goal_cells = {(xs.index(gx), ys.index(gy)): point for (gx, gy), point in goals.items()
                  if window[0] <= gx <= window[2] and window[1] <= gy <= window[3]}
    origin = (xs.index(start[0]), ys.index(start[1]))
    frontier: list[tuple[int, int, tuple[int, int], int]] = [(0, 0, origin, 2)]   # heading down
    best = {(origin, 2): 0}
    came: dict[tuple[tuple[int, int], int], tuple[tuple[int, int], int]] = {}
    steps = ((1, 0), (-1, 0), (0, 1), (0, -1))
    budget = 200_000
    while frontier and budget:
        budget -= 1
        _, cost, cell, d = heapq.heappop(frontier)
        if cell in goal_cells:
            path = [goal_cells[cell]]
            state = (cell, d)
            while state in came:
                path.append((xs[state[0][0]], ys[state[0][1]]))
                state = came[state]
            path.append(start)
            return simplify(path[::-1])
        if cost > best.get((cell, d), cost):
            continue
        i, j = cell
        for nd, (di, dj) in enumerate(steps):
            ni, nj = i + di, j + dj
            if not (0 <= ni < len(xs) and 0 <= nj < len(ys)) or (ni, nj) in inside:
                continue
            if di and (min(i, ni), j) in h_blocked or dj and (i, min(j, nj)) in v_blocked:
                continue
            step = abs(xs[ni] - xs[i]) + abs(ys[nj] - ys[j])
            new = cost + step + (BEND_COST if nd != d else 0)
            state = ((ni, nj), nd)
            if new < best.get(state, new + 1):
                best[state] = new
                came[state] = (cell, d)
                guess = abs(xs[ni] - tcx) + abs(ys[nj] - tcy)
                heapq.heappush(frontier, (new + guess, new, (ni, nj), nd))
    return None


def _cost(path: list[Point]) -> int:
    length = sum(abs(a[0] - b[0]) + abs(a[1] - b[1]) for a, b in zip(path, path[1:]))
    return length + BEND_COST * (len(path) - 2)
