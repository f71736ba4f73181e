"""Flow Builder's auto-layout, computed: boxes and connector polylines for a flow.

Blocks (see `structure.py`) are measured bottom-up (how far each reaches left and right of its
spine, and how tall it is) and placed top-down. A Decision sits centred over its outcome columns,
which merge below it; an Action's fault path runs in a column to the right of its main path; a
Loop's "For Each" body hangs below it, its return runs up the left rail into the Loop element and
"After Last" leaves by the right rail. Go-to connectors (backward jumps) are routed around the
boxes afterwards (`route.py`). All coordinates are whole pixels so the output is stable.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Final

from flowengine.elements import kind_of
from flowengine.graph import START
from flowengine.render.route import Rect, Router, simplify
from flowengine.render.structure import (
    BranchItem,
    EndItem,
    FlowStructure,
    GoToItem,
    Item,
    LoopItem,
    NodeItem,
    Seq,
)
from flowengine.render.text import text_width, wrap

CARD_W: Final = 224          # element card width
ICON: Final = 36             # icon tile size
PAD_X: Final = 12            # card padding
TEXT_X: Final = PAD_X + ICON + 10
TEXT_W: Final = CARD_W - TEXT_X - PAD_X
TITLE_SIZE: Final = 13
TITLE_LINE: Final = 16
CAPTION_SIZE: Final = 11
CAPTION_LINE: Final = 14
END_R: Final = 16            # End circle radius
END_W: Final = 2 * END_R + 8 + int(text_width("End", 12)) + 6   # circle and its label
GAP_Y: Final = 44            # between consecutive elements
GAP_X: Final = 40            # between branch columns
BUS_DROP: Final = 20         # from a branching element to its horizontal bus
CHILD_DROP: Final = 48       # from the bus to the first element of a branch (room for a chip)
MERGE_DROP: Final = 28       # from the lowest branch to the merge bus
EACH_DROP: Final = 48        # from a Loop to its body
RAIL_GAP: Final = 24         # loop's left rail, outside the body
AFTER_GAP: Final = 48        # loop's right rail, outside the body (room for the chip)
CHIP_SIZE: Final = 11
CHIP_H: Final = 18
GOTO_STUB: Final = 14
MARGIN: Final = 32           # around the drawing


@dataclass
class Box:
    """One drawn element (or Start / End): `x, y` top-left, `cx` the spine it sits on."""

    id: str
    element: str | None       # element name; "$start" for Start; None for End
    kind: str                 # Start | End | the element's type
    x: int
    y: int
    w: int
    h: int
    title: list[str]
    caption: list[str]

    @property
    def cx(self) -> int:
        return self.x + (END_R if self.kind == "End" else self.w // 2)

    @property
    def rect(self) -> Rect:
        return (self.x, self.y, self.x + self.w, self.y + self.h)


@dataclass
class Chip:
    text: str
    x: int          # centre
    y: int
    w: int


@dataclass
class Connector:
    """One connector of the flow, from a box to a box, as a polyline."""

    source: str               # element name ("$start" for Start)
    label: str                # connector key: next, fault, default, each, after, start, outcome
    kind: str                 # next | fault | default | each | after | start | outcome
    target: str | None = None  # element name, or None when it ends in an End box
    target_box: str = ""
    points: list[tuple[int, int]] = field(default_factory=list)
    chip: Chip | None = None
    style: str = "normal"     # normal | return (loop) | goto (routed)


@dataclass
class Layout:
    width: int
    height: int
    boxes: list[Box]
    connectors: list[Connector]

    def box(self, box_id: str) -> Box:
        """The box with DOM id `box_id` ("start", "el-<element>", "end-<n>")."""
        return next(b for b in self.boxes if b.id == box_id)


def box_id(element: str) -> str:
    return "start" if element == START else f"el-{element}"


def _chip(text: str) -> int:
    return int(text_width(text, CHIP_SIZE)) + 16


class _Measure:
    """Extents of a block around its spine, and its height."""

    __slots__ = ("left", "right", "height")

    def __init__(self, left: int, right: int, height: int) -> None:
        self.left, self.right, self.height = left, right, height


class LayoutBuilder:
    """Measures and places the block tree of one flow, then routes its go-tos."""

    def __init__(self, model: Any, graph: Any, actions: dict[str, Any]) -> None:
        self.model = model
        self.actions = actions
        self.structure = FlowStructure(model, graph)
        self.sizes: dict[str, tuple[int, list[str], list[str]]] = {}
        self.memo: dict[int, _Measure] = {}
        self.boxes: dict[str, Box] = {}
        self.connectors: list[Connector] = []
        self.gotos: list[tuple[Connector, str]] = []
        self.end_count = 0

    # -- boxes ----------------------------------------------------------------------------------
    def _card(self, name: str) -> tuple[int, list[str], list[str]]:
        if name not in self.sizes:
            if name == START:
                from flowengine.render.details import start_caption
                title, caption = ["Start"], [start_caption(self.model)]
            else:
                element = self.model.elements[name]
                title = [element.label or name.replace("_", " ")]
                caption = [kind_of(element).caption(element, self.actions.get(name))]
            title = wrap(title[0], TEXT_W, TITLE_SIZE, bold=True, max_lines=3)
            caption = wrap(caption[0], TEXT_W, CAPTION_SIZE, max_lines=2)
            height = max(ICON + 2 * PAD_X, 2 * PAD_X + TITLE_LINE * len(title) + 2
                         + CAPTION_LINE * len(caption))
            self.sizes[name] = (height, title, caption)
        return self.sizes[name]

    def _add_box(self, name: str, x: int, y: int) -> Box:
        height, title, caption = self._card(name)
        kind = "Start" if name == START else self.model.elements[name].type
        box = Box(box_id(name), name, kind, x - CARD_W // 2, y, CARD_W, height, title, caption)
        self.boxes[box.id] = box
        return box

    def _finish(self, pending: list[Connector], point: tuple[int, int], target: str | None,
                target_box: str) -> None:
        for conn in pending:
            conn.points.append(point)
            conn.points = simplify(conn.points)
            conn.target, conn.target_box = target, target_box
            self.connectors.append(conn)

    # -- measuring ------------------------------------------------------------------------------
    def measure(self, item: Item | Seq) -> _Measure:
        key = id(item)
        if key not in self.memo:
            self.memo[key] = self._measure(item)
        return self.memo[key]

    def _measure(self, item: Item | Seq) -> _Measure:
        half = CARD_W // 2
        if isinstance(item, Seq):
            parts = [self.measure(i) for i in item.items]
            if not parts:
                return _Measure(0, 0, 0)
            return _Measure(max(p.left for p in parts), max(p.right for p in parts),
                            sum(p.height for p in parts) + GAP_Y * (len(parts) - 1))
        if isinstance(item, NodeItem):
            return _Measure(half, half, self._card(item.name)[0])
        if isinstance(item, EndItem):
            return _Measure(END_R, END_W - END_R, 2 * END_R)
        if isinstance(item, GoToItem):
            return _Measure(6, 6, GOTO_STUB)
        if isinstance(item, LoopItem):
            body = self.measure(item.body)
            inner_left, inner_right = max(half, body.left), max(half, body.right)
            return _Measure(inner_left + RAIL_GAP + 8,
                            inner_right + AFTER_GAP + _chip("After Last") // 2 + 4,
                            self._card(item.name)[0] + EACH_DROP + body.height + 40)
        assert isinstance(item, BranchItem)
        offsets, left, right = self._columns(item)
        tallest = max(self.measure(c).height for c in item.children)
        height = (self._card(item.name)[0] + BUS_DROP + CHILD_DROP + tallest
                  + (MERGE_DROP if item.merged else 0))
        return _Measure(left, right, height)

    def _columns(self, item: BranchItem) -> tuple[list[int], int, int]:
        """Spine offsets of the branch columns relative to the element, and the extents."""
        spans = []
        for branch, child in zip(item.branches, item.children):
            m = self.measure(child)
            need = max(_chip(branch.text) // 2 + 6 if branch.text else 0, 60)
            spans.append((max(m.left, need), max(m.right, need)))
        spines, x = [], 0
        for i, (left, right) in enumerate(spans):
            x += left if i else 0
            spines.append(x)
            x += right + GAP_X
        head = (spines[0] + spines[-1]) // 2 if item.centred else 0
        offsets = [s - head for s in spines]
        half = CARD_W // 2
        left = max(half, spans[0][0] - offsets[0])
        right = max(half, offsets[-1] + spans[-1][1])
        return offsets, left, right

    # -- placing --------------------------------------------------------------------------------
    def place(self, item: Item | Seq, x: int, y: int, pending: list[Connector]) -> list[Connector]:
        """Draw `item` with its spine at `x` and its top at `y`; `pending` connectors end at its
        entry. Returns the connectors leaving its bottom (at `x`), still without a target."""
        if isinstance(item, Seq):
            for part in item.items:
                pending = self.place(part, x, y, pending)
                y += self.measure(part).height + GAP_Y
            return pending
        if isinstance(item, NodeItem):
            box = self._add_box(item.name, x, y)
            self._finish(pending, (x, y), item.name, box.id)
            kind = "start" if item.name == START else "next"
            return [Connector(item.name, item.label, kind, points=[(x, y + box.h)])]
        if isinstance(item, EndItem):
            self.end_count += 1
            box = Box(f"end-{self.end_count}", None, "End", x - END_R, y,
                      END_W, 2 * END_R, ["End"], [])
            self.boxes[box.id] = box
            self._finish(pending, (x, y), None, box.id)
            return []
        if isinstance(item, GoToItem):
            for conn in pending:
                conn.points += [(x, y), (x, y + GOTO_STUB)]
                conn.style = "goto"
                self.gotos.append((conn, item.target))
            return []
        if isinstance(item, LoopItem):
            return self._place_loop(item, x, y, pending)
        return self._place_branch(item, x, y, pending)

    def _place_loop(self, item: LoopItem, x: int, y: int,
                    pending: list[Connector]) -> list[Connector]:
        box = self._add_box(item.name, x, y)
        self._finish(pending, (x, y), item.name, box.id)
        body = self.measure(item.body)
        half = CARD_W // 2
        mid = y + box.h // 2
        top = y + box.h + EACH_DROP
        bottom = top + body.height
        each = Connector(item.name, "each", "each", points=[(x, y + box.h)],
                         chip=Chip("For Each", x, y + box.h + EACH_DROP // 2 - 2, _chip("For Each")))
        returns = self.place(item.body, x, top, [each])
        left_rail = x - max(half, body.left) - RAIL_GAP
        for conn in returns:
            conn.points += [(x, bottom + 16), (left_rail, bottom + 16), (left_rail, mid)]
            conn.style = "return"
        self._finish(returns, (x - half, mid), item.name, box.id)
        right_rail = x + max(half, body.right) + AFTER_GAP
        after = Connector(item.name, "after", "after",
                          points=[(x + half, mid), (right_rail, mid), (right_rail, bottom + 40)],
                          chip=Chip("After Last", right_rail, mid + 34, _chip("After Last")))
        after.points.append((x, bottom + 40))
        return [after]

    def _place_branch(self, item: BranchItem, x: int, y: int,
                      pending: list[Connector]) -> list[Connector]:
        box = self._add_box(item.name, x, y)
        self._finish(pending, (x, y), item.name, box.id)
        offsets, _, _ = self._columns(item)
        bus = y + box.h + BUS_DROP
        top = bus + CHILD_DROP
        tallest = max(self.measure(c).height for c in item.children)
        merge_y = top + tallest + MERGE_DROP
        exits: list[Connector] = []
        for branch, child, offset in zip(item.branches, item.children, offsets):
            cx = x + offset
            conn = Connector(item.name, branch.label, branch.kind,
                             points=[(x, y + box.h), (x, bus), (cx, bus)])
            if branch.kind == "fault" and not item.centred:   # leaves by the right side
                conn.points = [(x + CARD_W // 2, y + box.h // 2), (cx, y + box.h // 2)]
            if branch.text:
                conn.chip = Chip(branch.text, cx, bus + CHILD_DROP // 2 - 2, _chip(branch.text))
            for out in self.place(child, cx, top, [conn]):
                out.points += [(cx, merge_y), (x, merge_y)]
                exits.append(out)
        return exits

    # -- whole flow -----------------------------------------------------------------------------
    def build(self) -> Layout:
        x = 0
        for root in self.structure.roots:
            m = self.measure(root)
            x += m.left
            self.place(root, x, 0, [])
            x += m.right + 3 * GAP_X
        self._route_gotos()
        return self._normalise()

    def _route_gotos(self) -> None:
        if not self.gotos:
            return
        obstacles = [b.rect for b in self.boxes.values()]
        obstacles += [(c.chip.x - c.chip.w // 2, c.chip.y - CHIP_H // 2,
                       c.chip.x + c.chip.w // 2, c.chip.y + CHIP_H // 2)
                      for c in self.connectors if c.chip]
        points = [p for c in self.connectors for p in c.points] + [p for c, _ in self.gotos
                                                                    for p in c.points]
        bounds = (min([r[0] for r in obstacles] + [p[0] for p in points]),
                  min([r[1] for r in obstacles] + [p[1] for p in points]),
                  max([r[2] for r in obstacles] + [p[0] for p in points]),
                  max([r[3] for r in obstacles] + [p[1] for p in points]))
        router = Router(obstacles, bounds, [c.points for c in self.connectors])
        for conn, target in self.gotos:
            box = self.boxes[box_id(target)]
            path = router.route(conn.points[-1], box.rect)
            if path is None:      # boxed in: say where it goes instead of drawing the way
                end = conn.points[-1]
                text = "Go to " + " ".join(box.title)
                conn.chip = Chip(text, end[0], end[1], _chip(text))
                conn.style = "goto-label"
            else:
                conn.points = simplify(conn.points[:-1] + path)
            conn.target, conn.target_box = target, box.id
            self.connectors.append(conn)

    def _normalise(self) -> Layout:
        xs = [b.x for b in self.boxes.values()] + [p[0] for c in self.connectors for p in c.points]
        xs += [c.chip.x - c.chip.w // 2 for c in self.connectors if c.chip]
        ys = [b.y for b in self.boxes.values()] + [p[1] for c in self.connectors for p in c.points]
        dx, dy = MARGIN - min(xs), MARGIN - min(ys)
        for b in self.boxes.values():
            b.x += dx
            b.y += dy
        for c in self.connectors:
            c.points = [(px + dx, py + dy) for px, py in c.points]
            if c.chip:
                c.chip.x += dx
                c.chip.y += dy
        right = max([b.x + b.w for b in self.boxes.values()]
                    + [p[0] for c in self.connectors for p in c.points]
                    + [c.chip.x + c.chip.w // 2 for c in self.connectors if c.chip])
        bottom = max([b.y + b.h for b in self.boxes.values()]
                     + [p[1] for c in self.connectors for p in c.points])
        order = {name: i for i, name in enumerate([START, *self.model.elements])}
        connectors = sorted(self.connectors, key=lambda c: (order.get(c.source, 0), c.label))
        return Layout(right + MARGIN, bottom + MARGIN, list(self.boxes.values()), connectors)


def compute_layout(model: Any, graph: Any, actions: dict[str, Any] | None = None) -> Layout:
    """Boxes and connectors of a flow, laid out as Flow Builder's auto-layout does."""
    return LayoutBuilder(model, graph, actions or {}).build()
