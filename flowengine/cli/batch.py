"""`flowengine run FLOW --batch INPUTS.jsonl --workers N [-o RESULTS.jsonl]`: the options and the
printing; the work is `flowengine.runtime.batch`."""
from __future__ import annotations

import argparse
import sys
from typing import Any

from flowengine.cli.util import ProgressBar, fail, paint, print_json


def add_batch_options(parser: argparse.ArgumentParser) -> None:
    """The batch options of `flowengine run`."""
    from flowengine.runtime.batch import MAX_WORKERS

    group = parser.add_argument_group(
        "batch runs", "One interview per line of a JSON Lines file (each line a JSON object of "
        "input values; --input and --inputs give values every line starts from), each in its own "
        "transaction, in parallel processes. Results are JSON lines, the shape of --format json "
        "with the input's line number ('line'). Running again with the same -o file skips the "
        "lines already done. On SQLite the workers take turns: each write transaction locks the "
        "whole store; on PostgreSQL interviews on different records run side by side.")
    group.add_argument("--batch", metavar="INPUTS.jsonl", help="run one interview per line")
    group.add_argument("--workers", type=int, default=1, metavar="N",
                       help=f"worker processes (default 1, at most {MAX_WORKERS})")
    group.add_argument("-o", "--output", metavar="RESULTS.jsonl",
                       help="append the results to this file (default: stdout) and resume from it")


def batch_command(args: argparse.Namespace) -> int:
    """Run a batch; print the summary (and the results when there is no -o file)."""
    from flowengine.cli.flows import parse_cli_inputs
    from flowengine.cli.util import load_flow_for_command
    from flowengine.runtime.batch import MAX_WORKERS, run_batch

    if args.trace or args.report:
        fail("--trace and --report show one interview; they do not go with --batch")
    if not 1 <= args.workers <= MAX_WORKERS:
        fail(f"--workers must be between 1 and {MAX_WORKERS}, not {args.workers}")
    flow = load_flow_for_command(args.flow, to_run=True)   # its problems, once, before workers
    common = parse_cli_inputs(args.input, args.inputs, flow.input_types)
    if flow.compiled.has_actions:
        from flowengine.org import open_org

        open_org(args.org, create=False, project=flow.project_dir).close()   # there, and migrated
    progress = ProgressBar("interviews", min_total=1)
    try:
        summary = run_batch(args.flow, args.batch, workers=args.workers, org=args.org,
                            output=args.output or sys.stdout, common=common,
                            rollback=args.rollback, progress=progress)
    finally:
        progress.close()
    _print_summary(summary, args.format, to_stdout=args.output is not None)
    return 0 if not summary.failed else 1


def _print_summary(summary: Any, form: str, to_stdout: bool) -> None:
    stream = sys.stdout if to_stdout else sys.stderr
    if form == "json" and to_stdout:
        print_json(summary.to_json())
        return
    ran = summary.finished + summary.failed
    failed = paint(f"{summary.failed:,} failed", "31", stream) if summary.failed else "0 failed"
    print(f"batch: {ran:,} interview{'s' * (ran != 1)} in {summary.seconds:.1f} s "
          f"({summary.per_second:,.1f} per second, {summary.workers} worker"
          f"{'s' * (summary.workers != 1)}): {summary.finished:,} finished, {failed}"
          + (f"; {summary.skipped:,} line{'s' * (summary.skipped != 1)} skipped, done before"
             if summary.skipped else ""), file=stream)
    for result in summary.failures:
        print(f"  line {result['line']}: {(result.get('error') or {}).get('message')}",
              file=stream)
