"""`flowengine validate`, `run` and `schema`."""
from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from flowengine.cli.automation import add_project_options
from flowengine.cli.util import (
    add_format_option,
    add_org_option,
    fail,
    load_flow_for_command,
    paint,
    print_json,
    terminal_safe,
    warn_about_plugins,
)


def register(sub: Any) -> None:
    p = sub.add_parser("validate", help="check flow files without running them",
                       description="Load and check flow files; report every problem with "
                                   "file:line:column. A flow file is flowengine's YAML or "
                                   "Salesforce's XML (Name.flow-meta.xml, Name.flow). A directory "
                                   "is searched for flow files (YAML files with a top-level "
                                   "'flow:' key, flow tests and fixtures skipped; Salesforce flows, "
                                   "in a Salesforce DX project those of its package directories): "
                                   "'flowengine validate .' in a DX project checks every flow. "
                                   "Elements flowengine cannot run yet (screens, waits...) are "
                                   "warnings. Exit 1 when any file has errors, 2 when a file "
                                   "cannot be read.")
    p.add_argument("files", nargs="+", metavar="FLOW|DIR")
    add_format_option(p)
    p.add_argument("--no-warnings", action="store_true", help="report errors only")
    p.set_defaults(handler=validate_command)

    p = sub.add_parser("run", help="run one interview of a flow",
                       description="Validate a flow, then run one interview and print its status "
                                   "and outputs. Exit 0 when it finished, 1 when it failed (an "
                                   "unhandled fault), 2 for bad usage or input (nothing ran), 3 "
                                   "when it finished but --report could not be written.",
                       epilog="Input values are parsed for the variable's type: --input qty=2 "
                              "gives the Number 2, --input when=2026-01-31 a Date; Apex-defined "
                              "and collection inputs take JSON, e.g. "
                              "--input 'ids=[\"0a4...\", \"0a4...\"]'.")
    p.add_argument("flow", metavar="FLOW", help="a flow file: .yaml, or Salesforce's .flow-meta.xml or .flow")
    p.add_argument("--input", "-i", action="append", default=[], metavar="NAME=VALUE",
                   help="set an input variable (repeatable)")
    p.add_argument("--inputs", metavar="FILE.json", help="a JSON object of input values")
    add_org_option(p)
    p.add_argument("--trace", action="store_true", help="print the debug trace of every element")
    p.add_argument("--report", metavar="FILE.html", help="write the run as an HTML report")
    p.add_argument("--max-elements", type=int, metavar="N",
                   help="limit on executed elements (default 1,000,000; 2,000 below apiVersion 57)")
    p.add_argument("--rollback", action="store_true",
                   help="roll the org back after the run (debug in rollback mode)")
    p.add_argument("--record", action="append", default=[], metavar="FIELD=VALUE",
                   help="a field of $Record, for a flow a record change or an event starts "
                        "(repeatable)")
    p.add_argument("--prior", action="append", default=[], metavar="FIELD=VALUE",
                   help="a field of $Record__Prior, the record before an update (repeatable)")
    add_project_options(p)
    add_format_option(p)
    from flowengine.cli.batch import add_batch_options

    add_batch_options(p)
    p.set_defaults(handler=run_command)

    p = sub.add_parser("schema", help="print the JSON Schema of the flow format",
                       description="Print the JSON Schema of flow files, for editor completion "
                                   "(yaml-language-server: add '# yaml-language-server: "
                                   "$schema=PATH' at the top of a flow file).")
    p.add_argument("-o", "--output", metavar="FILE", help="write to FILE instead of stdout")
    p.set_defaults(handler=schema_command)


# -- validate -----------------------------------------------------------------------------------

def validate_command(args: argparse.Namespace) -> int:
    from flowengine.api import validate_file
    from flowengine.formats.discover import expand_paths

    problems: list[Any] = []
    unreadable = False
    files = expand_paths(args.files)
    if not files:
        fail(f"no flow files found in {', '.join(args.files)}")
    for path in files:
        found = validate_file(path)
        if any(p.code in ("file", "limit") for p in found):
            unreadable = True
        problems.extend(p for p in found if not (args.no_warnings and p.severity != "error"))
    errors = sum(1 for p in problems if p.severity == "error")
    warn_about_plugins()
    if args.format == "json":
        print_json([p.to_dict() for p in problems])
    else:
        for p in problems:
            colour = "31" if p.severity == "error" else "33"
            print(f"{terminal_safe(p.location())}: {paint(p.severity, colour)}: "
                  f"{terminal_safe(p.message)}"
                  + (f" [{p.path}]" if p.path else ""))
        warnings = len(problems) - errors
        count = len(files)
        verdict = "ok" if not errors else f"{errors} error{'s' if errors != 1 else ''}"
        print(f"{count} file{'s' if count != 1 else ''} checked: {verdict}"
              + (f", {warnings} warning{'s' if warnings != 1 else ''}" if warnings else ""),
              file=sys.stderr if errors else sys.stdout)
    if unreadable:
        return 2
    return 1 if errors else 0


# -- run ----------------------------------------------------------------------------------------

def parse_cli_inputs(pairs: list[str], inputs_file: str | None, types: dict[str, Any]) -> dict[str, Any]:
    """`NAME=VALUE` pairs and a JSON file → raw input values (typed later by the flow)."""
    from flowengine.errors import LoadError
    from flowengine.formats import read_text
    from flowengine.formats.jsondata import parse_json

    raw: dict[str, Any] = {}
    if inputs_file:
        try:
            text = read_text(inputs_file, what="inputs files", expected="a JSON file of inputs")
        except LoadError as exc:
            fail(f"{exc.problem.location()}: cannot read inputs file: {exc.problem.message}")
        try:
            data = parse_json(text, inputs_file)
        except LoadError as exc:
            fail(f"{exc.problem.location()}: inputs file is not valid JSON: "
                 f"{exc.problem.message.removeprefix('invalid JSON: ')}")
        if not isinstance(data, dict):
            fail(f"{inputs_file}: expected a JSON object of input names to values")
        raw.update(data)
    for pair in pairs:
        name, sep, text = pair.partition("=")
        name = name.strip()
        if not sep or not name:
            fail(f"--input {pair!r}: expected NAME=VALUE")
        match = next((n for n in types if n.lower() == name.lower()), None)
        if match is None:
            # left to the flow to refuse, with its did-you-mean
            raw[name] = text
            continue
        t = types[match]
        if t.collection or t.is_object:
            try:
                raw[match] = parse_json(text)
            except LoadError as exc:
                column = f" at column {exc.problem.column}" if exc.problem.column else ""
                fail(f"--input {match}: {t} takes JSON ({exc.problem.message}{column})")
        else:
            raw[match] = text
    return raw


def run_command(args: argparse.Namespace) -> int:
    from flowengine.errors import InputError
    from flowengine.output import check_output

    if args.batch:
        from flowengine.cli.batch import batch_command

        return batch_command(args)
    inputs_read = [args.flow] + ([args.inputs] if args.inputs else [])
    if args.report:   # before anything runs: a bad path must not surface after the commit
        check_output(args.report, inputs_read)
    flow = load_flow_for_command(args.flow, to_run=True)
    if args.max_elements is not None and args.max_elements < 1:
        fail("--max-elements must be a positive number")
    raw = parse_cli_inputs(args.input, args.inputs, flow.input_types)
    record = _record_fields(flow, args.record, "--record")
    prior = _record_fields(flow, args.prior, "--prior")
    org = None
    before = 0
    if flow.compiled.has_actions:
        from flowengine.cli.automation import automated, last_log_entry
        from flowengine.org import open_org
        # a missing store is a mistake, not a blank org; its objects are the flow's project's
        org = automated(args, open_org(args.org, create=False,
                                       project=args.project or flow.project_dir))
        before = last_log_entry(org) if hasattr(org, "automation") else 0
    try:
        result = flow.run(raw, org=org, trace=args.trace or bool(args.report),
                          max_elements=args.max_elements, rollback=args.rollback,
                          record=record, prior=prior)
        if org is not None and args.format != "json":
            from flowengine.cli.automation import report_automation
            report_automation(org, before)
    except InputError as exc:
        fail(str(exc))
    finally:
        if org is not None:
            org.close()
    committed = org is not None and result.ok and not args.rollback
    report_problem = write_report(flow, result, args.report, inputs_read) if args.report else None
    if args.format == "json":
        print_json(result.to_json(trace=args.trace))
    else:
        print_result(result, args.trace, rollback=args.rollback and org is not None)
    if report_problem is not None:
        done = ("the run finished and its changes were committed to the org store"
                if committed else "the run finished" if result.ok else "the run failed")
        print(f"error: {done}, but its report could not be written: {report_problem}",
              file=sys.stderr)
        if result.ok:
            return REPORT_NOT_WRITTEN
    return 0 if result.ok else 1


def _record_fields(flow: Any, pairs: list[str], option: str) -> dict[str, Any] | None:
    """`FIELD=VALUE` pairs of $Record or $Record__Prior (None when there are none)."""
    if not pairs:
        return None
    out: dict[str, Any] = {}
    for pair in pairs:
        name, sep, text = pair.partition("=")
        if not sep or not name:
            fail(f"{option}: expected FIELD=VALUE, found {pair!r}")
        out[name] = text
    return out


# the run finished (its org changes are committed) but the report could not be written: not 2,
# which says that nothing happened
REPORT_NOT_WRITTEN = 3


def write_report(flow: Any, result: Any, path: str, inputs: list[str]) -> str | None:
    """Write the run report; the problem in words when it cannot be written."""
    from flowengine.output import WriteError

    try:
        from flowengine.render import write_run_report
    except ImportError:
        return "the canvas renderer is not available in this build"
    try:
        write_run_report(flow, result, path, inputs)
    except WriteError as exc:
        return str(exc)
    print(f"report written to {path}", file=sys.stderr)
    return None


def _show(value: Any) -> str:
    from flowengine.types import to_json

    return json.dumps(to_json(value), ensure_ascii=False, default=str)


def print_result(result: Any, trace: bool, rollback: bool = False) -> None:
    colour = "32" if result.ok else "31"
    print(f"{result.flow}: {paint(result.status, colour)} after {result.elements_executed} "
          f"element{'s' if result.elements_executed != 1 else ''}"
          + (" (org rolled back)" if rollback else ""))
    if trace and result.trace:
        from flowengine.runtime.trace import format_trace_entry

        print("trace:")
        for entry in result.trace:
            print(terminal_safe(format_trace_entry(entry)))
    if result.outputs:
        print("outputs:")
        for name, value in result.outputs.items():
            print(f"  {name} = {terminal_safe(_show(value))}")
    if result.limits.used:
        print(f"limits used: {result.limits.summary()}")
    if result.error:
        sys.stdout.flush()
        print(f"error: {terminal_safe(result.error.message)}", file=sys.stderr)


# -- schema -------------------------------------------------------------------------------------

def schema_command(args: argparse.Namespace) -> int:
    from flowengine.model.jsonschema import flow_json_schema
    from flowengine.output import STDOUT, write_output

    schema = flow_json_schema()
    write_output(args.output or STDOUT, json.dumps(schema, indent=2, ensure_ascii=False) + "\n")
    return 0
