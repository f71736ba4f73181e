"""Commands that run the project's automation: `org insert|update|delete|interviews` (added to
`flowengine org`), `events publish|list`, and the helpers `org load` and `run` use.

Every write a command makes runs the record-triggered flows of the project (`--project DIR`,
default the current folder) in its transaction; after it commits, the platform events it
published are delivered to their subscribers. `--no-automation` writes without either.
"""
from __future__ import annotations

import argparse
import os
import sys
from typing import Any

from flowengine.cli.util import add_format_option, add_org_option, fail, paint, print_json, terminal_safe

PROJECT_ENV = "FLOWENGINE_PROJECT"


def add_project_options(parser: Any, automation: bool = True) -> None:
    parser.add_argument("--project", metavar="DIR", default=None,
                        help="the flow project: a Salesforce DX project or a folder of flows, "
                             "whose triggered flows run and whose flows subflows call (default: "
                             f"${PROJECT_ENV}, else the current folder)")
    if automation:
        parser.add_argument("--no-automation", action="store_true",
                            help="write without running record-triggered flows or delivering "
                                 "platform events")
        parser.add_argument("--no-deliver", action="store_true",
                            help="run record-triggered flows but leave the platform events "
                                 "published to 'flowengine worker' processes (for an org that "
                                 "workers serve, such as a PostgreSQL server)")
    parser.add_argument("--automation-trace", action="store_true",
                        help="keep each automated interview's trace in the automation log "
                             "('flowengine org interviews --trace' shows it)")


def project_dir(args: argparse.Namespace) -> str:
    return args.project or os.environ.get(PROJECT_ENV) or os.getcwd()


def automated(args: argparse.Namespace, store: Any) -> Any:
    """`store` with the project's automation (an AutomatedStore: its triggered flows, event
    delivery and the plug-ins' after-commit work), or `store` itself with --no-automation."""
    if getattr(args, "no_automation", False):
        return store
    from flowengine.automation import AutomatedStore, Automation, FlowProject
    from flowengine.errors import FlowError

    try:
        project = FlowProject.open(project_dir(args))
    except FlowError as exc:
        fail(f"--project: {exc}")
    automation = Automation(project, store, trace=getattr(args, "automation_trace", False))
    automation.deliver_on_commit = not getattr(args, "no_deliver", False)
    return AutomatedStore(automation)


def report_automation(store: Any, before: int, as_json: bool = False) -> dict[str, Any]:
    """What automation did since log entry `before`: printed (text), and returned."""
    automation = getattr(store, "automation", None)
    if automation is None:
        return {"interviews": 0, "failed": 0}
    for warning in automation.warnings:
        _warn(warning)
    tx = automation.store.begin(write=False)
    try:
        entries = tx.interviews(after=before)
    finally:
        tx.rollback()
    failed = [e for e in entries if e.get("status") != "Finished"]
    if not as_json and entries:
        flows = sorted({e["flow"] for e in entries})
        print(f"automation: {len(entries)} interview{'s' * (len(entries) != 1)} of "
              f"{', '.join(flows)}" + (paint(f", {len(failed)} failed", "31") if failed else "")
              + " (see 'flowengine org interviews')")
        for entry in failed:
            print(f"  {entry['flow']} ({entry['trigger']}): {terminal_safe(str(entry['fault']))}",
                  file=sys.stderr)
    return {"interviews": len(entries), "failed": len(failed)}


def last_log_entry(store: Any) -> int:
    inner = getattr(store, "inner", store)
    tx = inner.begin(write=False)
    try:
        entries = tx.interviews()
    finally:
        tx.rollback()
    return entries[-1]["number"] if entries else 0


def _warn(message: str) -> None:
    print(paint("warning:", "33", sys.stderr), terminal_safe(message), file=sys.stderr)


# -- org insert / update / delete / interviews ------------------------------------------------

def register_org(sub: Any) -> None:
    """Add `insert`, `update`, `delete` and `interviews` to `flowengine org`."""
    p = sub.add_parser("insert", help="create one record (automation included)",
                       description="Create one record in one transaction, running the project's "
                                   "record-triggered flows; prints its Id. Values are read for "
                                   "the fields' types (Quantity=2, Due__c=2026-01-31).")
    p.add_argument("object", metavar="OBJECT")
    p.add_argument("values", metavar="FIELD=VALUE", nargs="*")
    _write_options(p)
    p.set_defaults(handler=run_insert)

    p = sub.add_parser("update", help="change fields of one record (automation included)",
                       description="Change fields of one record in one transaction, running the "
                                   "project's record-triggered flows.")
    p.add_argument("object", metavar="OBJECT")
    p.add_argument("id", metavar="ID")
    p.add_argument("values", metavar="FIELD=VALUE", nargs="+")
    _write_options(p)
    p.set_defaults(handler=run_update)

    p = sub.add_parser("delete", help="delete one record (automation included)",
                       description="Delete one record (and its master-detail children) in one "
                                   "transaction, running the project's before-delete flows.")
    p.add_argument("object", metavar="OBJECT")
    p.add_argument("id", metavar="ID")
    _write_options(p)
    p.set_defaults(handler=run_delete)

    p = sub.add_parser("interviews", help="the interviews automation started",
                       description="Every interview that automation started — flow, what "
                                   "started it (a record change or an event), status, fault "
                                   "message — oldest first, like Salesforce's failed-interview "
                                   "list and debug log.")
    p.add_argument("--failed", action="store_true", help="only the interviews that failed")
    p.add_argument("--after", type=int, default=0, metavar="N", help="only entries after number N")
    p.add_argument("--trace", action="store_true",
                   help="print each interview's trace (kept when the writes ran with "
                        "--automation-trace)")
    add_format_option(p)
    add_org_option(p)
    p.set_defaults(handler=run_interviews)


def _write_options(p: Any) -> None:
    add_project_options(p)
    add_format_option(p)
    add_org_option(p)


def _open(args: argparse.Namespace, create: bool = False) -> Any:
    from flowengine.org import default_org_path, open_org

    return open_org(args.org or default_org_path(), create=create,
                    project=project_dir(args))


def _fields(store: Any, object_name: str, pairs: list[str]) -> dict[str, Any]:
    info = store.catalog.lookup(object_name)
    if info is None:
        from flowengine.errors import did_you_mean
        fail(f"unknown object {object_name!r}{did_you_mean(object_name, store.catalog.objects)}")
    out: dict[str, Any] = {}
    for pair in pairs:
        name, sep, text = pair.partition("=")
        if not sep or not name:
            fail(f"expected FIELD=VALUE, found {pair!r}")
        fdef = info.by_name.get(name)
        if fdef is None:
            from flowengine.errors import did_you_mean
            fail(f"{info.name} has no field {name!r}{did_you_mean(name, info.by_name)}")
        out[name] = None if text == "" else _typed(text, fdef)
    return out


def _typed(text: str, fdef: Any) -> Any:
    """Command-line text as a value of the field's type (JSON for lists)."""
    import json

    if fdef.type.kind in ("Number", "Currency", "Boolean") or fdef.type.collection:
        try:
            return json.loads(text)
        except ValueError:
            return text
    return text


def _write(args: argparse.Namespace, work: Any) -> int:
    from flowengine.errors import OrgError

    with _open(args) as raw:
        store = automated(args, raw)
        before = last_log_entry(store) if store is not raw else 0
        try:
            with store.begin() as tx:
                result = work(tx, store)
        except OrgError as exc:
            if args.format == "json":
                print_json({"error": {"code": exc.error_code, "message": exc.message}})
                return 1
            print(f"error: {exc.error_code}: {terminal_safe(exc.message)}", file=sys.stderr)
            return 1
        if args.format == "json":
            summary = report_automation(store, before, as_json=True)
            print_json({**{k: v for k, v in result.items() if k != "message"},
                        "automation": summary})
        else:
            print(result["message"])
            report_automation(store, before)
    return 0


def run_insert(args: argparse.Namespace) -> int:
    def work(tx: Any, store: Any) -> dict[str, Any]:
        record_id = tx.insert(args.object, _fields(store, args.object, args.values))
        return {"id": record_id, "message": record_id}
    return _write(args, work)


def run_update(args: argparse.Namespace) -> int:
    def work(tx: Any, store: Any) -> dict[str, Any]:
        tx.update(args.object, args.id, _fields(store, args.object, args.values))
        return {"id": args.id, "message": f"updated {args.object} {args.id}"}
    return _write(args, work)


def run_delete(args: argparse.Namespace) -> int:
    def work(tx: Any, store: Any) -> dict[str, Any]:
        _fields(store, args.object, [])
        tx.delete_many(args.object, [args.id])
        return {"id": args.id, "message": f"deleted {args.object} {args.id}"}
    return _write(args, work)


def run_interviews(args: argparse.Namespace) -> int:
    from flowengine.org import default_org_path, open_org

    with open_org(args.org or default_org_path(), create=False) as store:
        tx = store.begin(write=False)
        try:
            entries = tx.interviews(after=args.after)
        finally:
            tx.rollback()
    if args.failed:
        entries = [e for e in entries if e.get("status") != "Finished"]
    if not args.trace:
        entries = [{k: v for k, v in e.items() if k != "trace"} for e in entries]
    if args.format == "json":
        print_json(entries)
        return 0
    from flowengine.runtime.trace import format_trace_entry

    for e in entries:
        status = paint(e["status"], "32" if e["status"] == "Finished" else "31")
        subject = f" {e['subject']}" if e.get("subject") else ""
        print(f"{e['number']:>5}  {e['started']}  {e['flow']}  {e['trigger']}{subject}  {status} "
              f"after {e['elements']} element{'s' * (e['elements'] != 1)}")
        if e.get("fault"):
            print(f"       fault: {terminal_safe(str(e['fault']))}")
        for step in e.get("trace") or []:
            print(terminal_safe(format_trace_entry(step)))
    if not entries:
        print("no automated interviews" + (" failed" if args.failed else ""))
    return 0


# -- events publish / list ------------------------------------------------------------------

EVENTS_HELP = "publish platform events and list them with their delivery"


def register(subparsers: Any) -> None:
    """Add the `events` command."""
    events = subparsers.add_parser("events", help=EVENTS_HELP,
                                   description=EVENTS_HELP.capitalize() + ".")
    events.set_defaults(handler=lambda args: (events.print_help(sys.stderr), 2)[1])
    sub = events.add_subparsers(dest="events_command", metavar="SUBCOMMAND")

    p = sub.add_parser("publish", help="publish one platform event",
                       description="Publish a platform event (an object whose name ends in __e, "
                                   "or a standard event) in one transaction; after it commits, "
                                   "it is delivered to the project's subscribing flows.")
    p.add_argument("event", metavar="EVENT")
    p.add_argument("values", metavar="FIELD=VALUE", nargs="*")
    _write_options(p)
    p.set_defaults(handler=run_publish)

    p = sub.add_parser("list", help="the published events and their delivery",
                       description="Every published event, oldest first: replay id, event, "
                                   "fields, which subscribers have processed it, and the "
                                   "interviews it started.")
    p.add_argument("--after", type=int, default=0, metavar="REPLAY_ID")
    add_project_options(p, automation=False)
    add_format_option(p)
    add_org_option(p)
    p.set_defaults(handler=run_list)


def run_publish(args: argparse.Namespace) -> int:
    def work(tx: Any, store: Any) -> dict[str, Any]:
        info = store.catalog.lookup(args.event)
        if info is None or not info.schema.is_event:
            from flowengine.errors import did_you_mean
            events = [n for n, i in store.catalog.objects.items() if i.schema.is_event]
            fail(f"{args.event!r} is not a platform event{did_you_mean(args.event, events)} "
                 f"(events: {', '.join(sorted(events)) or 'none'})")
        (event,) = tx.publish(info.name, [_fields(store, info.name, args.values)])
        return {"replayId": event["ReplayId"], "id": tx.event_id(event),
                "message": f"published {info.name} (ReplayId {event['ReplayId']})"}
    return _write(args, work)


def run_list(args: argparse.Namespace) -> int:
    from flowengine.automation import FlowProject
    from flowengine.org.fixtures import plain_value

    with _open(args) as store:
        tx = store.begin(write=False)
        try:
            events = tx.events(after=args.after)
            log = tx.interviews()
            project = FlowProject.open(project_dir(args))
            replay_ids = [e["ReplayId"] for e in events]
            subscribers = {pf.name: (pf.trigger.object if pf.trigger else "",
                                     tx.delivered(pf.name, replay_ids))
                           for pf in project.subscribers()}
        finally:
            tx.rollback()
    started: dict[str, list[dict[str, Any]]] = {}
    for entry in log:
        subject = str(entry.get("subject") or "")
        if subject.startswith("ReplayId "):
            started.setdefault(subject[len("ReplayId "):], []).append(entry)
    rows = []
    for event in events:
        replay = event["ReplayId"]
        wanted = [name for name, (obj, _) in subscribers.items() if obj == event["event"]]
        rows.append({
            "replayId": replay, "event": event["event"],
            "fields": {k: plain_value(v) for k, v in event.items()
                       if k not in ("event", "ReplayId") and v is not None},
            "delivered": [n for n in wanted if replay in subscribers[n][1]],
            "pending": [n for n in wanted if replay not in subscribers[n][1]],
            "interviews": [{"flow": e["flow"], "status": e["status"], "fault": e.get("fault")}
                           for e in started.get(str(replay), [])]})
    if args.format == "json":
        print_json(rows)
        return 0
    for row in rows:
        fields = ", ".join(f"{k}={v}" for k, v in row["fields"].items()
                           if k not in ("EventUuid", "CreatedById", "CreatedDate"))
        delivered = ", ".join(row["delivered"]) or "no subscriber"
        print(f"{row['replayId']:>6}  {row['event']}  {terminal_safe(fields)}")
        print(f"        delivered to: {delivered}" + (f"; pending: {', '.join(row['pending'])}"
                                                     if row["pending"] else ""))
        for interview in row["interviews"]:
            print(f"        {interview['flow']}: {interview['status']}" +
                  (f" ({terminal_safe(str(interview['fault']))})" if interview["fault"] else ""))
    if not rows:
        print("no events")
    return 0
