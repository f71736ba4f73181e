"""From a layout to what the templates draw: SVG shapes, paths, classes, and the HTML page."""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from markupsafe import Markup

from flowengine.elements import kind_named
from flowengine.graph import START
from flowengine.render.layout import (
    CAPTION_LINE,
    CHIP_H,
    ICON,
    PAD_X,
    TEXT_X,
    TITLE_LINE,
    Box,
    Connector,
    Layout,
    compute_layout,
)
from flowengine.render.text import FONT_FAMILY, text_width


@dataclass
class Source:
    """What the canvas needs from a flow: the model, its graph and the resolved actions."""

    model: Any
    graph: Any
    actions: dict[str, Any]
    file: str | None = None


def source_of(flow: Any) -> Source:
    """Accept an `api.Flow`, a `CheckedFlow`, or a bare `FlowModel`."""
    checked = getattr(flow, "checked", flow)
    if hasattr(checked, "graph") and hasattr(checked, "model"):
        return Source(checked.model, checked.graph, dict(getattr(checked, "actions", {}) or {}),
                      getattr(flow, "path", None) or getattr(checked, "file", None))
    from flowengine.graph import build_graph

    return Source(flow, build_graph(flow), {})


@lru_cache(maxsize=1)
def environment() -> Any:
    import jinja2

    env = jinja2.Environment(
        loader=jinja2.PackageLoader("flowengine.render", "templates"),
        autoescape=True, trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=True,
        undefined=jinja2.StrictUndefined)
    return env


def rounded_path(points: list[tuple[int, int]], radius: int = 8) -> str:
    """SVG path data for a polyline with rounded corners."""
    if not points:
        return ""
    parts = [f"M{points[0][0]} {points[0][1]}"]
    for prev, cur, nxt in zip(points, points[1:], points[2:]):
        r = min(radius, _dist(prev, cur) // 2, _dist(cur, nxt) // 2)
        a = _towards(cur, prev, r)
        b = _towards(cur, nxt, r)
        parts.append(f"L{a[0]} {a[1]}Q{cur[0]} {cur[1]} {b[0]} {b[1]}")
    if len(points) > 1:
        parts.append(f"L{points[-1][0]} {points[-1][1]}")
    return "".join(parts)


def _dist(a: tuple[int, int], b: tuple[int, int]) -> int:
    return abs(a[0] - b[0]) + abs(a[1] - b[1])


def _towards(origin: tuple[int, int], to: tuple[int, int], r: int) -> tuple[int, int]:
    dx = (to[0] > origin[0]) - (to[0] < origin[0])
    dy = (to[1] > origin[1]) - (to[1] < origin[1])
    return origin[0] + dx * r, origin[1] + dy * r


def node_view(box: Box, extra_classes: str = "", badges: list[dict[str, Any]] | None = None,
              tooltip: str = "") -> dict[str, Any]:
    """Everything the template needs to draw one box."""
    lines = len(box.title) * TITLE_LINE + (2 + len(box.caption) * CAPTION_LINE if box.caption else 0)
    top = (box.h - lines) // 2
    titles = [(text, top + 12 + i * TITLE_LINE) for i, text in enumerate(box.title)]
    base = top + len(box.title) * TITLE_LINE + 2
    captions = [(text, base + 11 + i * CAPTION_LINE) for i, text in enumerate(box.caption)]
    kind = kind_named(box.kind)
    return {
        "id": box.id, "element": box.element or "", "kind": box.kind,
        "icon": Markup(kind.icon) if kind is not None else "",
        "cls": f"node node-{box.kind.lower()}" + (f" {extra_classes}" if extra_classes else ""),
        "x": box.x, "y": box.y, "w": box.w, "h": box.h,
        "icon_y": (box.h - ICON) // 2, "icon_x": PAD_X, "text_x": TEXT_X,
        "titles": titles, "captions": captions, "badges": badges or [],
        "tooltip": tooltip or " ".join(box.title),
    }


def chip_view(conn: Connector) -> dict[str, Any] | None:
    if conn.chip is None:
        return None
    c = conn.chip
    return {"x": c.x - c.w // 2, "y": c.y - CHIP_H // 2, "w": c.w, "h": CHIP_H, "cx": c.x,
            "ty": c.y + 4, "text": c.text}


def edge_view(conn: Connector, extra_classes: str = "") -> dict[str, Any]:
    kind = "fault" if conn.kind == "fault" else conn.style
    cls = f"edge edge-{kind}" + (f" {extra_classes}" if extra_classes else "")
    return {
        "id": f"edge-{'start' if conn.source == START else conn.source}-{conn.label}",
        "cls": cls, "d": rounded_path(conn.points), "source": conn.source, "label": conn.label,
        "kind": conn.kind, "target": conn.target or "", "target_box": conn.target_box,
        "chip": chip_view(conn), "fault": conn.kind == "fault",
    }


def svg_context(source: Source, layout: Layout, nodes: list[dict[str, Any]],
                edges: list[dict[str, Any]], report: bool = False) -> dict[str, Any]:
    model = source.model
    return {"width": layout.width, "height": layout.height, "nodes": nodes, "edges": edges,
            "title": model.display_label, "flow": model.flow, "font": FONT_FAMILY,
            "report": report, "icon": ICON}


def render_svg_text(source: Source, layout: Layout, nodes: list[dict[str, Any]],
                    edges: list[dict[str, Any]], report: bool = False) -> str:
    ctx = svg_context(source, layout, nodes, edges, report)
    return environment().get_template("canvas.svg.j2").render(ctx)


def plain_views(layout: Layout) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    nodes = [node_view(b) for b in layout.boxes]
    edges = [edge_view(c) for c in layout.connectors]
    return nodes, edges


def layout_of(source: Source) -> Layout:
    return compute_layout(source.model, source.graph, source.actions)


def badge(x: int, y: int, text: str, cls: str) -> dict[str, Any]:
    """A pill drawn over a box's top-right corner, right-aligned at x."""
    w = max(20, int(text_width(text, 11, bold=True)) + 12)
    return {"x": x - w, "y": y - 10, "w": w, "h": 20, "tx": x - w // 2, "ty": y + 4,
            "text": text, "cls": cls}
