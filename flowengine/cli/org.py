"""`flowengine org init|load|show|export`: manage the local org store.

Argument parsing and printing only; the work is in `flowengine.org` (store, fixtures). Heavy
imports (sqlite3, yaml, the plug-ins) happen inside the handlers.
"""
from __future__ import annotations

import argparse
import sys
from typing import Any

from flowengine.cli.automation import add_project_options, register_org
from flowengine.cli.util import (
    ProgressBar,
    add_format_option,
    add_org_option,
    fail,
    print_json,
    terminal_safe,
)

ORG_HELP = "manage the local org store (records that flows read and write)"
MAX_CELL = 30


def register(subparsers: Any) -> None:
    """Add the `org` command and its subcommands."""
    org = subparsers.add_parser(
        "org", help=ORG_HELP, description=ORG_HELP.capitalize() + ". The store is named by "
        "--org PATH|URL, else $FLOWENGINE_ORG, else ./.flowengine/org.sqlite (a SQLite file; "
        "sqlite:PATH is the same; postgresql://USER@HOST/DATABASE a PostgreSQL server).")
    org.set_defaults(handler=lambda args: _print_help(org))
    sub = org.add_subparsers(dest="org_command", metavar="SUBCOMMAND")

    p = sub.add_parser("init", help="create an empty org store",
                       description="Create an empty org store. An existing store that holds "
                                   "records is left alone unless --force is given.")
    p.add_argument("--force", action="store_true", help="wipe an existing store's records")
    add_org_option(p)
    p.set_defaults(handler=run_init)

    p = sub.add_parser("load", help="load records from a YAML, JSON or JSON Lines fixture",
                       description="Load a fixture (object name → list of records) in one "
                                   "transaction: all of it, or nothing when anything is wrong.")
    p.add_argument("fixture", metavar="FIXTURE",
                   help="YAML, JSON or JSON Lines (.jsonl) file, read as a stream")
    add_org_option(p)
    add_project_options(p)
    p.set_defaults(handler=run_load)

    p = sub.add_parser("show", help="show one record, or every record of an object",
                       description="Show a record with all its fields (calculated ones included), "
                                   "or every record of the object when no Id is given.")
    p.add_argument("object", metavar="OBJECT", help="object name, e.g. OrderSummary")
    p.add_argument("id", metavar="ID", nargs="?", help="record Id (15 or 18 characters)")
    p.add_argument("--fields", metavar="F1,F2", help="show only these fields (Id is always shown)")
    p.add_argument("--all", action="store_true",
                   help="show the system fields too (CreatedDate, CreatedById, LastModifiedDate, "
                        "LastModifiedById, SystemModstamp, IsDeleted)")
    add_format_option(p)
    add_org_option(p)
    p.set_defaults(handler=run_show)

    p = sub.add_parser("export", help="write every record as a fixture",
                       description="Write every record (stored fields only) in a form that "
                                   "'flowengine org load' re-loads into an empty store.")
    p.add_argument("--format", choices=("json", "yaml", "jsonl"), default="json",
                   help="fixture format (default: json; jsonl: one record a line)")
    p.add_argument("-o", "--output", metavar="FILE", help="write to FILE instead of stdout")
    add_org_option(p)
    p.set_defaults(handler=run_export)

    register_org(sub)


def _print_help(parser: argparse.ArgumentParser) -> int:
    parser.print_help(sys.stderr)
    return 2


def _open(args: argparse.Namespace, create: bool) -> Any:
    from flowengine.org import default_org_path, open_org

    project = getattr(args, "project", None)
    return open_org(args.org or default_org_path(), create=create, project=project)


def run_init(args: argparse.Namespace) -> int:
    from flowengine.org.fixtures import count_records

    with _open(args, create=True) as store:
        path = store.location                     # a URL without its password
        tx = store.begin(write=False)
        try:
            count = count_records(store, tx)
        finally:
            tx.rollback()
        if count and not args.force:
            fail(f"the org store {path} already holds {count} record{'s' * (count != 1)}; "
                 "use --force to wipe it")
        if args.force:
            store.wipe()
    print(f"{'wiped' if count else 'initialised'} org store {path} "
          f"({len(store.catalog.objects)} objects; no records but the default user and its "
          "profile)")
    return 0


def run_load(args: argparse.Namespace) -> int:
    from flowengine.cli.automation import automated, last_log_entry, report_automation
    from flowengine.org.fixtures import check_fixture_file, load_fixture

    check_fixture_file(args.fixture)  # before opening: a missing file creates no store
    progress = ProgressBar("loading records")
    try:
        with _open(args, create=True) as raw:
            store = automated(args, raw)     # the project's triggered flows, then its events
            before = last_log_entry(store) if store is not raw else 0
            try:
                loaded = load_fixture(store, args.fixture, progress=progress)
            except BaseException:
                # a store this load created is removed again: a failed load creates nothing
                getattr(raw, "discard", raw.close)()
                raise
            progress.close()
            total = sum(len(v) for v in loaded.values())
            summary = ", ".join(f"{len(v)} {name}" for name, v in loaded.items()) or "nothing"
            print(f"loaded {total} record{'s' * (total != 1)} into {raw.location}: {summary}")
            report_automation(store, before)
    finally:
        progress.close()
    return 0


def run_show(args: argparse.Namespace) -> int:
    from flowengine.errors import did_you_mean
    from flowengine.org.fixtures import plain_value

    with _open(args, create=False) as store:
        info = store.catalog.lookup(args.object)
        if info is None:
            fail(f"unknown object {args.object!r}{did_you_mean(args.object, store.catalog.objects)}"
                 f" (known objects: {', '.join(sorted(store.catalog.objects)) or 'none'})")
        tx = store.begin(write=False)
        try:
            if args.id is None:
                records = tx.query(info.name)
            else:
                record = tx.get(info.name, args.id)
                if record is None:
                    fail(f"no {info.name} record has Id {args.id} in {store.location}")
                records = [record]
        finally:
            tx.rollback()
    from flowengine.org.system import SYSTEM_FIELD_NAMES

    full = records
    columns = [c for c in info.columns if args.all or c not in SYSTEM_FIELD_NAMES]
    records = [{k: r[k] for k in columns} for r in full]
    if args.fields:
        wanted = [f.strip() for f in args.fields.split(",") if f.strip()]
        for name in wanted:
            if name not in info.columns:
                fail(f"{info.name} has no field {name!r}{did_you_mean(name, info.columns)}")
        columns = ["Id"] + [f for f in wanted if f != "Id"]
        records = [{k: r.get(k) for k in columns} for r in full]
    if args.format == "json":
        data = [{k: plain_value(v) for k, v in r.items()} for r in records]
        print_json(data[0] if args.id is not None else data)
    elif args.id is not None:
        _print_record(records[0])
    else:
        _print_table(columns, records)
        print(f"({len(records)} {info.name} record{'s' * (len(records) != 1)})")
    return 0


def run_export(args: argparse.Namespace) -> int:
    from flowengine.org.fixture_files import write_chunks
    from flowengine.org.fixtures import iter_export
    from flowengine.output import STDOUT, write_output_chunks

    total = 0

    def counted(records: Any) -> Any:
        nonlocal total
        for record in records:
            total += 1
            yield record

    with _open(args, create=False) as store:
        objects = ((name, counted(records)) for name, records in iter_export(store))
        write_output_chunks(args.output or STDOUT, write_chunks(args.format, objects))
    if args.output is None or args.output == STDOUT:
        return 0
    print(f"exported {total} record{'s' * (total != 1)} to {args.output}")
    return 0


def _cell(value: Any) -> str:
    from flowengine.types import text_of

    text = terminal_safe(text_of(value), lines=False)
    return text if len(text) <= MAX_CELL else text[:MAX_CELL - 1] + "…"


def _print_record(record: dict[str, Any]) -> None:
    width = max(len(name) for name in record)
    for name, value in record.items():
        print(f"{name:<{width}}  {_cell(value) if value is not None else '-'}")


def _print_table(columns: list[str], records: list[dict[str, Any]]) -> None:
    if not records:
        return
    # only columns with a value somewhere: objects have many optional fields
    shown = [c for c in columns if c == "Id" or any(r.get(c) is not None for r in records)]
    rows = [[_cell(r.get(c)) if r.get(c) is not None else "-" for c in shown] for r in records]
    widths = [max(len(c), *(len(row[i]) for row in rows)) for i, c in enumerate(shown)]
    print("  ".join(c.ljust(w) for c, w in zip(shown, widths)).rstrip())
    print("  ".join("-" * w for w in widths))
    for row in rows:
        print("  ".join(v.ljust(w) for v, w in zip(row, widths)).rstrip())
