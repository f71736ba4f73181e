"""`flowengine validate`, `run` and `schema`."""
from __future__ import annotations

import argparse
import json
import os
import sys
from typing import Any

from flowengine.cli.util import (
    add_format_option,
    add_org_option,
    fail,
    load_flow_for_command,
    paint,
    print_json,
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
                                   "unhandled fault), 2 for bad usage or input.",
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
            print(f"{p.location()}: {paint(p.severity, colour)}: {p.message}"
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
    raw: dict[str, Any] = {}
    if inputs_file:
        try:
            with open(inputs_file, encoding="utf-8") as fh:
                data = json.load(fh)
        except OSError as exc:
            fail(f"{inputs_file}: cannot read inputs file: {exc.strerror}")
        except json.JSONDecodeError as exc:
            fail(f"{inputs_file}:{exc.lineno}:{exc.colno}: inputs file is not valid JSON: {exc.msg}")
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
                raw[match] = json.loads(text)
            except json.JSONDecodeError as exc:
                fail(f"--input {match}: {t} takes JSON ({exc.msg} at column {exc.colno})")
        else:
            raw[match] = text
    return raw


def run_command(args: argparse.Namespace) -> int:
    from flowengine.errors import InputError

    if args.batch:
        from flowengine.cli.batch import batch_command

        return batch_command(args)
    flow = load_flow_for_command(args.flow, to_run=True)
    if args.max_elements is not None and args.max_elements < 1:
        fail("--max-elements must be a positive number")
    if args.report:
        folder = os.path.dirname(os.path.abspath(args.report))
        if not os.path.isdir(folder):
            fail(f"--report {args.report}: folder {folder} does not exist")
    raw = parse_cli_inputs(args.input, args.inputs, flow.input_types)
    org = None
    if flow.compiled.has_actions:
        from flowengine.org import open_org
        # a missing store is a mistake, not a blank org; its objects are the flow's project's
        org = open_org(args.org, create=False, project=flow.project_dir)
    try:
        result = flow.run(raw, org=org, trace=args.trace or bool(args.report),
                          max_elements=args.max_elements, rollback=args.rollback)
    except InputError as exc:
        fail(str(exc))
    finally:
        if org is not None:
            org.close()
    if args.report:
        write_report(flow, result, args.report)
    if args.format == "json":
        print_json(result.to_json(trace=args.trace))
    else:
        print_result(result, args.trace, rollback=args.rollback and org is not None)
    return 0 if result.ok else 1


def write_report(flow: Any, result: Any, path: str) -> None:
    try:
        from flowengine.render import write_run_report
    except ImportError:
        fail("--report needs the canvas renderer, which is not available in this build")
    write_run_report(flow, result, path)
    print(f"report written to {path}", file=sys.stderr)


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
            print(format_trace_entry(entry))
    if result.outputs:
        print("outputs:")
        for name, value in result.outputs.items():
            print(f"  {name} = {_show(value)}")
    if result.limits.used:
        print(f"limits used: {result.limits.summary()}")
    if result.error:
        sys.stdout.flush()
        print(f"error: {result.error.message}", file=sys.stderr)


# -- schema -------------------------------------------------------------------------------------

def schema_command(args: argparse.Namespace) -> int:
    from flowengine.model.jsonschema import flow_json_schema

    schema = flow_json_schema()
    if args.output:
        from flowengine.output import write_atomically

        write_atomically(args.output, json.dumps(schema, indent=2) + "\n")
        return 0
    print_json(schema)
    return 0
