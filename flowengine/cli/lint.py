"""`flowengine lint FILE…`: best-practice rules for flow files (text, JSON or SARIF output)."""
from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from flowengine.cli.util import fail, paint, terminal_safe, warn_about_plugins


def register(sub: Any) -> None:
    p = sub.add_parser(
        "lint", help="check flow files against best-practice rules",
        description="Check flow files against best-practice rules named as Lightning Flow "
                    "Scanner names them (MissingFaultPath, HardcodedId, ...). Directories are "
                    "searched for flow files. Exit 0 when no error-severity rule fires, 1 when "
                    "one does, 2 when a file is unreadable or not a valid flow.",
        epilog="Configuration: [tool.flowengine.lint] in pyproject.toml or 'lint:' in "
               ".flowengine.yaml, found by walking up from the current directory; see "
               "docs/lint.md. Example: flowengine lint flows/ --format sarif -o lint.sarif")
    p.add_argument("files", nargs="*", metavar="FILE", help="flow files or directories")
    p.add_argument("--format", choices=("text", "json", "sarif"), default="text",
                   help="output format (default: text); json and sarif print only JSON")
    p.add_argument("-o", "--output", metavar="FILE", help="write the report to FILE instead of stdout")
    p.add_argument("--config", metavar="FILE",
                   help="configuration file (pyproject.toml or .flowengine.yaml) instead of the "
                        "one found from the current directory")
    p.add_argument("--disable", action="append", default=[], metavar="RULE",
                   help="turn a rule off for this run (repeatable)")
    p.add_argument("--fail-on", choices=("error", "warning", "note", "never"), default="error",
                   help="lowest severity that makes the exit code 1 (default: error)")
    p.add_argument("--list-rules", action="store_true",
                   help="list the rules with their configured severity, and exit")
    p.set_defaults(handler=lint_command)


def lint_command(args: argparse.Namespace) -> int:
    from flowengine import __version__
    from flowengine.check.symbols import did_you_mean
    from flowengine.lint import RULES, ConfigError, lint_paths, load_config
    from flowengine.lint.report import exit_code, to_json, to_sarif, to_text

    try:
        config = load_config(args.config)
    except ConfigError as exc:
        fail(f"invalid lint configuration:\n{exc}")
    for rule in args.disable:
        if rule not in RULES:
            fail(f"--disable {rule}: unknown rule{did_you_mean(rule, RULES)} "
                 f"(rules: {', '.join(RULES)})")
    config.disable(args.disable)
    if args.list_rules:
        return list_rules(config)
    if not args.files:
        fail("no files given: name flow files or directories, e.g. 'flowengine lint flows/'")
    sources = list(args.files) + ([args.config] if args.config else [])
    if args.output:
        from flowengine.output import check_output

        check_output(args.output, sources)
    reports = lint_paths(args.files, config)
    warn_about_plugins()
    sources += [r.file for r in reports]
    if not reports:
        fail(f"no flow files found in {', '.join(args.files)}")
    if args.format == "sarif":
        write(args.output, json.dumps(to_sarif(reports, config, __version__), indent=2,
                                      ensure_ascii=False) + "\n", sources)
    elif args.format == "json":
        write(args.output, json.dumps(to_json(reports), indent=2, ensure_ascii=False,
                                      default=str) + "\n", sources)
    else:
        colour = (lambda text, code: paint(text, code)) if not args.output else None
        lines, verdict = to_text(reports, colour)
        if not args.output:
            lines = [terminal_safe(line) for line in lines]
        write(args.output, "".join(line + "\n" for line in lines), sources)
        quiet = args.output is None and exit_code(reports, args.fail_on) == 0
        print(verdict, file=sys.stdout if quiet else sys.stderr)
    if args.output and args.format != "text":
        print(f"report written to {args.output}", file=sys.stderr)
    return exit_code(reports, args.fail_on)


def write(path: str | None, text: str, sources: list[str]) -> None:
    """To stdout, or to `path` (never over one of the `sources` the command read)."""
    from flowengine.output import STDOUT, write_output

    write_output(path or STDOUT, text, sources)


def list_rules(config: Any) -> int:
    from flowengine.lint import RULES

    width = max(len(r) for r in RULES)
    for rid, rule in RULES.items():
        rc = config.rule(rid)
        state = rc.severity if rc.enabled else "off"
        extra = "".join(f" [{k}={v}]" for k, v in rc.options.items())
        print(f"{rid:<{width}}  {state:<7}  {rule.title}{extra}")
    if config.source:
        print(f"(configuration: {config.source})", file=sys.stderr)
    return 0
