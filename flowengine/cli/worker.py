"""`flowengine worker`: processes that deliver an org's platform events to the project's
subscribing flows; the work is `flowengine.automation.worker`."""
from __future__ import annotations

import argparse
import logging
from typing import Any

from flowengine.cli.util import add_org_option, fail

DESCRIPTION = """\
Deliver the org's platform events to the project's subscribing flows (and run the plug-ins'
after-commit work), until stopped with SIGTERM or Ctrl-C, which let the batch under way finish.
Start as many workers as you like, on as many hosts as you like, against one PostgreSQL org:
each claims batches of pending events that no other worker holds (FOR UPDATE SKIP LOCKED) and
commits a batch's claim together with the subscribers' writes, so a worker that dies leaves its
batch to the others and no event is processed twice or lost. A worker whose connection is lost
(the server restarted) logs it and reconnects. Commands that publish events leave delivery to
the workers with --no-deliver. On a SQLite org one worker polls the file.
"""


def register(sub: Any) -> None:
    from flowengine.automation.worker import MAX_CONCURRENCY

    p = sub.add_parser("worker", help="deliver platform events to subscribing flows, as a service",
                       description=DESCRIPTION,
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    add_org_option(p)
    p.add_argument("--project", metavar="DIR", default=None,
                   help="the flow project whose event-triggered flows subscribe (default: "
                        "$FLOWENGINE_PROJECT, else the current folder)")
    p.add_argument("--concurrency", type=int, default=1, metavar="N",
                   help=f"worker processes on this host (default 1, at most {MAX_CONCURRENCY}); "
                        "a worker that dies is started again")
    p.add_argument("--batch-size", type=int, default=2_000, metavar="N",
                   help="events per batch of a subscriber, 1 to 2,000 (default 2,000, "
                        "Salesforce's); smaller batches spread a burst over more workers")
    p.add_argument("--poll", type=float, default=5.0, metavar="SECONDS",
                   help="look for events at least this often when no notification comes "
                        "(default 5)")
    p.add_argument("--once", action="store_true",
                   help="deliver what is pending, then stop")
    p.add_argument("--log-level", choices=("debug", "info", "warning", "error"), default="info",
                   help="what to log on stderr (default info: one line per batch)")
    p.set_defaults(handler=run_worker_command)


def run_worker_command(args: argparse.Namespace) -> int:
    from flowengine.automation.worker import (
        LOG_FORMAT,
        MAX_CONCURRENCY,
        WorkerOptions,
        run_workers,
    )
    from flowengine.cli.automation import project_dir
    from flowengine.org import default_org_path, open_org

    if not 1 <= args.concurrency <= MAX_CONCURRENCY:
        fail(f"--concurrency must be between 1 and {MAX_CONCURRENCY}, not {args.concurrency}")
    if not 1 <= args.batch_size <= 2_000:
        fail(f"--batch-size must be between 1 and 2000, not {args.batch_size}")
    if not 0 < args.poll <= 3_600:
        fail(f"--poll must be a number of seconds above 0 and at most 3600, not {args.poll:g}")
    org = str(args.org or default_org_path())
    project = project_dir(args)
    from flowengine.automation import FlowProject

    FlowProject.open(project)                        # a bad project is an error now, not a loop
    open_org(org, create=False, project=project).close()    # so is a missing store
    logging.basicConfig(level=getattr(logging, args.log_level.upper()), format=LOG_FORMAT)
    options = WorkerOptions(org=org, project=project, batch_size=args.batch_size,
                            poll=args.poll, once=args.once)
    return run_workers(options, args.concurrency)
