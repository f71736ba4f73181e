"""The canvas: flows drawn as Flow Builder's auto-layout draws them, and runs drawn on top.

    render_svg(flow)       -> str   standalone SVG
    render_html(flow)      -> str   self-contained page: pan/zoom, details on hover or click
    render_mermaid(flow)   -> str   Mermaid `flowchart TD` text
    render_report(flow, result) -> str   the page with a run's path, steps and outputs
    write_run_report(flow, result, path)  writes render_report (flowengine.output)

`flow` is an `api.Flow` (or a `CheckedFlow`, or a bare `FlowModel`). Output depends only on the
flow (and the run): the same file renders byte for byte the same. Heavy imports happen on first
use, so importing this package (as the CLI does) stays cheap.
"""
from __future__ import annotations

import os
import re
from collections.abc import Iterable
from typing import Any, Final

from flowengine.output import write_output

__all__ = ["render_svg", "render_html", "render_mermaid", "render_report", "write_run_report"]


def render_svg(flow: Any) -> str:
    """The flow's canvas as a standalone SVG document."""
    from flowengine.render.canvas import layout_of, plain_views, render_svg_text, source_of

    source = source_of(flow)
    layout = layout_of(source)
    nodes, edges = plain_views(layout)
    return well_formed(render_svg_text(source, layout, nodes, edges))


# characters XML 1.0 does not allow at all (not even escaped): C0 controls but tab and line
# breaks, U+FFFE, U+FFFF and lone surrogates (a file name that is not UTF-8)
_NOT_XML: Final = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff\ud800-\udfff]")


def well_formed(text: str) -> str:
    """`text` with every character XML forbids replaced by U+FFFD, so that any label gives a
    well-formed SVG or HTML page (a browser shows an error page for one control character)."""
    return _NOT_XML.sub("\ufffd", text)


def _page(source: Any, layout: Any, nodes: list[Any], edges: list[Any],
          run: dict[str, Any] | None) -> str:
    from markupsafe import Markup

    from flowengine.render.canvas import environment, render_svg_text
    from flowengine.render.details import all_details
    from flowengine.render.text import FONT_FAMILY

    svg = render_svg_text(source, layout, nodes, edges, report=run is not None)
    model = source.model
    return well_formed(environment().get_template("page.html.j2").render(
        title=model.display_label, flow=model.flow, description=model.description or "",
        file=os.path.basename(source.file) if source.file else "", font=FONT_FAMILY,
        svg=Markup(svg), details=all_details(model, source.actions), run=run))


def render_html(flow: Any) -> str:
    """A self-contained HTML page (inline CSS and JS, no network) showing the canvas, with pan,
    zoom, fit-to-width, and each element's details on hover or click."""
    from flowengine.render.canvas import layout_of, plain_views, source_of

    source = source_of(flow)
    layout = layout_of(source)
    nodes, edges = plain_views(layout)
    return _page(source, layout, nodes, edges, None)


def render_mermaid(flow: Any) -> str:
    """The flow as Mermaid `flowchart TD` text."""
    from flowengine.render.canvas import source_of
    from flowengine.render.mermaid import render_mermaid_text

    source = source_of(flow)
    return render_mermaid_text(source.model, source.actions)


def render_report(flow: Any, result: Any) -> str:
    """The HTML canvas of `flow` with the run `result` on it: executed path highlighted, visited
    elements numbered (loop bodies show ×N), the failed element in red, and a panel with status,
    outputs and every trace step. `result` must have been run with `trace=True`."""
    from flowengine.render.canvas import layout_of, source_of
    from flowengine.render.report import overlay, run_view

    source = source_of(flow)
    layout = layout_of(source)
    nodes, edges = overlay(layout, source.model, result)
    return _page(source, layout, nodes, edges, run_view(source.model, result))


def write_run_report(flow: Any, result: Any, path: str | os.PathLike[str],
                     inputs: Iterable[str | os.PathLike[str]] = ()) -> None:
    """Write the run report of `result` (see `render_report`) to `path` as one HTML file
    (through `flowengine.output.write_output`, never over one of `inputs`)."""
    write_output(path, render_report(flow, result), inputs)
