"""`flowengine render FLOW -o OUT.svg|OUT.html`, or `--format mermaid` on stdout."""
from __future__ import annotations

import argparse
import os
import sys
from typing import Any

FORMATS = ("svg", "html", "mermaid")
EXTENSIONS = {".svg": "svg", ".html": "html", ".htm": "html", ".mmd": "mermaid",
              ".mermaid": "mermaid"}


def register(sub: Any) -> None:
    p = sub.add_parser(
        "render", help="draw a flow as Flow Builder's canvas does (SVG, HTML or Mermaid)",
        description="Draw a flow with Flow Builder's auto-layout: top to bottom from Start, "
                    "decision outcomes side by side, loops with their For Each body and After "
                    "Last exit, fault paths in red. The format follows the extension of -o "
                    "(.svg, .html; .mmd for Mermaid) unless --format says otherwise. The HTML "
                    "page is self-contained: pan, zoom, and element details on hover or click.",
        epilog="Examples: flowengine render flows/parcel_weights.yaml -o parcels.html; "
               "flowengine render flows/parcel_weights.yaml --format mermaid > parcels.mmd")
    p.add_argument("flow", metavar="FLOW", help="a flow file: .yaml, or Salesforce's .flow-meta.xml or .flow")
    p.add_argument("-o", "--output", metavar="OUT", help="file to write (default: stdout, "
                   "which needs --format)")
    p.add_argument("--no-check", action="store_true",
                   help="draw the flow as it is written even when its checks fail (an org's flow "
                        "that calls actions no plug-in provides, or uses objects flowengine does "
                        "not know); its structure must still be sound")
    p.add_argument("--format", choices=FORMATS, default=None,
                   help="svg, html or mermaid (default: from the extension of -o)")
    p.set_defaults(handler=render_command)


def _drawable(path: str) -> Any:
    """The checked flow; or, when it loads and its structure is sound but a check fails (an
    action no plug-in provides, an object of the org's that flowengine does not know), its
    model, which can be drawn all the same; None when not even that."""
    from flowengine.api import load_flow
    from flowengine.cache import load_structure
    from flowengine.errors import FlowError, ValidationError

    try:
        return load_flow(path)
    except ValidationError:
        pass
    except FlowError:
        return None
    try:
        structure = load_structure(path)[1]
    except FlowError:
        return None
    return None if any(p.severity == "error" for p in structure.problems) else structure.model


def output_format(output: str | None, explicit: str | None) -> str:
    """The format to write, from --format or the output file's extension."""
    from flowengine.cli.util import fail

    if explicit:
        return explicit
    if output is None or output == "-":
        fail("say where to draw: -o OUT.svg or -o OUT.html, or --format mermaid to print "
             "Mermaid text on stdout")
    ext = os.path.splitext(output)[1].lower()
    if ext not in EXTENSIONS:
        fail(f"cannot tell the format of {output!r} from its extension (use .svg, .html or "
             ".mmd, or --format svg|html|mermaid)")
    return EXTENSIONS[ext]


def render_command(args: argparse.Namespace) -> int:
    from flowengine.cli.util import load_flow_for_command, paint
    from flowengine.output import STDOUT, check_output, write_output

    fmt = output_format(args.output, args.format)
    output = args.output or STDOUT
    check_output(output, [args.flow])
    flow = _drawable(args.flow) if args.no_check else None
    if flow is None:
        flow = load_flow_for_command(args.flow)     # prints the problems and exits 2
    elif not hasattr(flow, "checked"):
        print(paint("warning:", "33", sys.stderr), f"{args.flow} does not pass its checks "
              f"(see flowengine validate {args.flow}); drawn as it is written", file=sys.stderr)
    from flowengine.render import render_html, render_mermaid, render_svg

    text = {"svg": render_svg, "html": render_html, "mermaid": render_mermaid}[fmt](flow)
    write_output(output, text, [args.flow])
    if output != STDOUT:
        print(f"{fmt} written to {output}", file=sys.stderr)
    return 0
