"""Small helpers shared by the command modules: JSON output, errors, colour."""
from __future__ import annotations

import json
import os
import sys
from typing import Any, NoReturn


class UsageError(Exception):
    """Bad usage or bad input: printed as `error: ...`, exit code 2."""

    def __init__(self, message: str, exit_code: int = 2) -> None:
        super().__init__(message)
        self.exit_code = exit_code


def fail(message: str, exit_code: int = 2) -> NoReturn:
    raise UsageError(message, exit_code)


def print_json(data: Any) -> None:
    json.dump(data, sys.stdout, indent=2, ensure_ascii=False, default=str)
    sys.stdout.write("\n")


def use_color(stream: Any = None) -> bool:
    stream = stream or sys.stdout
    return "NO_COLOR" not in os.environ and hasattr(stream, "isatty") and stream.isatty()


def paint(text: str, code: str, stream: Any = None) -> str:
    """Wrap text in an ANSI colour code (e.g. "31" red) only when colour is allowed."""
    return f"\033[{code}m{text}\033[0m" if use_color(stream) else text


def add_format_option(parser: Any, choices: tuple[str, ...] = ("text", "json")) -> None:
    parser.add_argument("--format", choices=choices, default="text",
                        help="output format (default: text); json prints only JSON on stdout")


def add_org_option(parser: Any) -> None:
    parser.add_argument("--org", metavar="PATH", default=None,
                        help="org store file (default: $FLOWENGINE_ORG, else ./.flowengine/org.sqlite)")
