"""The `flowengine` command: argument parsing and printing only; the work is in the API.

Start-up stays light: each command module imports its heavy dependencies inside its handler.
"""
from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from flowengine.cli.util import UsageError, terminal_safe

# the module of each command; each module has register(subparsers). `flowengine COMMAND ...`
# imports only the module of COMMAND (start-up time: `actions search` must cost about one Python
# start); --help and unknown commands import them all
MODULE_OF_COMMAND = {
    "validate": "flowengine.cli.flows", "run": "flowengine.cli.flows",
    "schema": "flowengine.cli.flows", "actions": "flowengine.cli.actions",
    "org": "flowengine.cli.org", "render": "flowengine.cli.render", "lint": "flowengine.cli.lint",
    "convert": "flowengine.cli.convert", "events": "flowengine.cli.automation",
    "worker": "flowengine.cli.worker",
}
COMMAND_MODULES = tuple(dict.fromkeys(MODULE_OF_COMMAND.values()))


def build_parser(command: str | None = None) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="flowengine",
        description="Check, run, draw and test Salesforce flows — flowengine's YAML or Salesforce's "
                    ".flow-meta.xml — against a local org store.",
        epilog="Run 'flowengine COMMAND --help' for the options of one command. "
               "Exit codes: 0 success, 1 the flow failed or checks found errors, 2 bad usage or input, "
               "3 a run finished but its report could not be written. Parsed flows and the action "
               "catalog are cached in $FLOWENGINE_CACHE_DIR (default: $XDG_CACHE_HOME/flowengine, "
               "else ~/.cache/flowengine); "
               "FLOWENGINE_NO_CACHE=1 turns the caches off.")
    parser.add_argument("--debug", action="store_true", help="show Python tracebacks on errors")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    modules = (MODULE_OF_COMMAND[command],) if command in MODULE_OF_COMMAND else COMMAND_MODULES
    for name in modules:
        importlib.import_module(name).register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    # the first word that is not an option names the command (--debug is the only global option)
    parser = build_parser(next((a for a in argv if not a.startswith("-")), None))
    args = parser.parse_args(argv)
    handler = getattr(args, "handler", None)
    if handler is None:
        parser.print_help()
        return 2
    try:
        return int(handler(args) or 0)
    except UsageError as exc:
        if args.debug:
            raise
        print(f"error: {terminal_safe(str(exc))}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("error: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0
    except Exception as exc:
        from flowengine.errors import FlowError
        if args.debug:
            raise
        if isinstance(exc, FlowError):
            print(f"error: {terminal_safe(str(exc))}", file=sys.stderr)
            return 2
        print(f"error: internal error: {type(exc).__name__}: {terminal_safe(str(exc))} (run with "
              "--debug for details)", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
