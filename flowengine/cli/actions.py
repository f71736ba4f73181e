"""`flowengine actions list|search|show|docs`: browse and document the installed actions.

Start-up matters here (`actions search` should cost little more than starting Python), so this
module imports only the CLI helpers; the catalog is read from its cache (`flowengine.catalog`).
"""
from __future__ import annotations

import sys

from flowengine.cli.util import add_format_option, fail, paint, print_json

TYPE_CHECKING = False
if TYPE_CHECKING:
    import argparse
    from typing import Any

    from flowengine.catalog import Catalog


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "actions", help="list, search, show and document the installed actions",
        description="The action catalog: every action that installed plug-ins provide "
                    "(entry-point group 'flowengine.actions').")
    parser.set_defaults(handler=lambda args: _usage(parser))
    sub = parser.add_subparsers(dest="actions_command", metavar="SUBCOMMAND")

    p = sub.add_parser("list", help="name, label, category and one-line description of every action",
                       description="List the installed actions.")
    p.add_argument("--category", metavar="C", help="only actions of this category (any case)")
    add_format_option(p)
    p.set_defaults(handler=list_command)

    p = sub.add_parser(
        "search", help="ranked search over names, labels, categories, descriptions and parameters",
        description="Search the actions. Tolerant of case, word order and small typos: "
                    "'cancle fulfilment item' finds cancelFulfillmentOrderItem. Scores are in [0, 1].")
    p.add_argument("query", nargs="+", help="words to look for")
    p.add_argument("--category", metavar="C", help="only actions of this category (any case)")
    p.add_argument("--limit", metavar="N", type=_positive_int, default=10,
                   help="at most N results (default: 10)")
    add_format_option(p)
    p.set_defaults(handler=search_command)

    p = sub.add_parser(
        "show", help="one action's page: description, inputs, outputs, usage",
        description="Show one action. 'json' follows Salesforce's Actions REST describe; "
                    "'markdown' is the documentation page.")
    p.add_argument("name", help="the action's API name (any case)")
    add_format_option(p, ("text", "json", "markdown"))
    p.set_defaults(handler=show_command)

    p = sub.add_parser(
        "docs", help="write a markdown page per action and an index by category",
        description="Write OUT_DIR/NAME.md for every action and OUT_DIR/index.md. Pages that a "
                    "previous run generated for actions no longer installed are removed; other "
                    "files are left alone.")
    p.add_argument("out_dir", metavar="OUT_DIR", help="directory to write (created if missing)")
    p.set_defaults(handler=docs_command)


def _usage(parser: argparse.ArgumentParser) -> int:
    parser.print_help(sys.stderr)
    return 2


def _positive_int(text: str) -> int:
    import argparse
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected at least 1, got {value}")
    return value


def _catalog() -> Catalog:
    from flowengine.catalog import load_catalog
    try:
        catalog = load_catalog()
    except Exception as exc:
        for warning in getattr(exc, "warnings", ()):
            _warn(warning)
        raise
    for warning in catalog.warnings:
        _warn(warning)
    return catalog


def _warn(message: str) -> None:
    print(paint("warning:", "33", sys.stderr), message, file=sys.stderr)


def _category(catalog: Catalog, name: str | None) -> str | None:
    if name is None:
        return None
    found = catalog.category(name)
    if found is None:
        known = ", ".join(repr(c) for c in catalog.categories()) or "none"
        fail(f"unknown category {name!r} (categories: {known})")
    return found


# ---------------------------------------------------------------------------------------------

def list_command(args: argparse.Namespace) -> int:
    from flowengine.catalog import summary
    catalog = _catalog()
    actions = catalog.list(_category(catalog, args.category))
    if args.format == "json":
        print_json([{"name": a["name"], "label": a["label"], "category": a["category"],
                     "description": a["description"]} for a in actions])
        return 0
    _table([[a["name"], a["label"], a["category"], summary(a["description"])] for a in actions],
           ["NAME", "LABEL", "CATEGORY", "DESCRIPTION"])
    if not actions:
        print("no actions installed")
    return 0


def search_command(args: argparse.Namespace) -> int:
    from flowengine.catalog import summary
    catalog = _catalog()
    query = " ".join(args.query)
    try:
        hits = catalog.search(query, category=_category(catalog, args.category), limit=args.limit)
    except ValueError as exc:
        fail(str(exc))
    if args.format == "json":
        print_json([{"name": h.action["name"], "label": h.action["label"],
                     "category": h.action["category"], "score": h.score,
                     "description": h.action["description"]} for h in hits])
        return 0
    if not hits:
        print(f"no actions match {query!r}")
        return 0
    _table([[f"{h.score:.2f}", h.action["name"], h.action["label"], h.action["category"],
             summary(h.action["description"], 60)] for h in hits],
           ["SCORE", "NAME", "LABEL", "CATEGORY", "DESCRIPTION"])
    return 0


def show_command(args: argparse.Namespace) -> int:
    catalog = _catalog()
    action = catalog.get(args.name)
    if action is None:
        hints = catalog.suggest(args.name)
        hint = f"; did you mean {' or '.join(repr(h) for h in hints)}?" if hints else \
            " (see 'flowengine actions list')"
        fail(f"unknown action {args.name!r}{hint}")
    if args.format == "json":
        print_json(catalog.describe(action))
    elif args.format == "markdown":
        from flowengine.catalog.docs import render_action_page

        sys.stdout.write(render_action_page(catalog, action))
    else:
        _print_action(catalog, action)
    return 0


def docs_command(args: argparse.Namespace) -> int:
    catalog = _catalog()
    try:
        from flowengine.catalog.docs import write_docs

        written = write_docs(catalog, args.out_dir)
    except OSError as exc:
        fail(f"cannot write documentation to {args.out_dir}: {exc.strerror or exc}")
    print(f"wrote {len(written) - 1} action pages and index.md to {args.out_dir}")
    return 0


# ---------------------------------------------------------------------------------------------
# Text output

def _table(rows: list[list[str]], header: list[str]) -> None:
    if not rows:
        return
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header) - 1)]
    for n, row in enumerate([header, *rows]):
        cells = [cell.ljust(width) for cell, width in zip(row, widths)] + [row[-1]]
        line = "  ".join(cells).rstrip()
        print(paint(line, "1") if n == 0 else line)


def _print_action(catalog: Catalog, action: dict[str, Any]) -> None:
    import textwrap
    wrap = textwrap.TextWrapper(width=96, initial_indent="  ", subsequent_indent="  ")
    wrap_deeper = textwrap.TextWrapper(width=96, initial_indent="      ", subsequent_indent="      ")
    print(f"{paint(action['name'], '1')} — {action['label']}")
    origin = f"   (plug-in {action['plugin']})" if action["plugin"] else ""
    print(f"Category: {action['category']}{origin}")
    editions = action["editions"]
    if editions:
        print(editions if editions.startswith("Available in") else f"Available in: {editions}")
    print()
    for paragraph in action["description"].split("\n\n"):
        print(textwrap.fill(" ".join(paragraph.split()), width=96))
    for title, params in (("Inputs", action["inputs"]), ("Outputs", action["outputs"])):
        print(f"\n{title}:" if params else f"\n{title}: none")
        for p in params:
            required = "  required" if p["required"] else ""
            print(f"  {paint(p['name'], '1')}  {p['type']['text']}{required}")
            text = p["label"] + (f" — {p['description']}" if p["description"] else "")
            print(wrap_deeper.fill(" ".join(text.split())))
    classes = catalog.classes_used(action)
    if classes:
        print("\nApex-defined classes:")
        for cls in classes:
            print(f"  {cls['name']}")
            for f in cls["fields"]:
                required = ", required" if f["required"] else ""
                print(f"      {f['name']}: {f['type']['text']}{required}")
    if action["usage"]:
        print("\nUsage:")
        for paragraph in action["usage"].split("\n\n"):
            print(wrap.fill(" ".join(paragraph.split())))
