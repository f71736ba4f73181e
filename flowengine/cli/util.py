"""Small helpers shared by the command modules: JSON output, errors, colour."""
from __future__ import annotations

import json
import os
import re
import sys
from typing import Any, NoReturn


class UsageError(Exception):
    """Bad usage or bad input: printed as `error: ...`, exit code 2."""

    def __init__(self, message: str, exit_code: int = 2) -> None:
        super().__init__(message)
        self.exit_code = exit_code


def fail(message: str, exit_code: int = 2) -> NoReturn:
    raise UsageError(message, exit_code)


# C0 controls (tab and line feed kept where a caller allows them), DEL and C1 controls: shown as
# escapes, so that record data or a file's text cannot move the cursor, recolour the terminal or
# retitle its window (ESC [ 31 m, ESC ] 0 ; ...)
_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f]")
_CONTROL_OR_LINE = re.compile("[\x00-\x1f\x7f-\x9f]")


def _escape(match: re.Match[str]) -> str:
    code = ord(match.group())
    return {9: "\\t", 10: "\\n", 13: "\\r"}.get(code) or f"\\x{code:02x}"


def terminal_safe(text: str, lines: bool = True) -> str:
    """`text` with control characters written as escapes (`\\x1b`); line feeds and tabs stay
    when `lines`, otherwise they are escaped too (a table cell)."""
    return (_CONTROL if lines else _CONTROL_OR_LINE).sub(_escape, text)


def print_json(data: Any) -> None:
    # one write: json.dump would write each small piece of the text on its own (slow for a
    # long trace, and more so on an unbuffered stream)
    sys.stdout.write(json.dumps(data, indent=2, ensure_ascii=False, default=str) + "\n")


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
    parser.add_argument("--org", metavar="PATH|URL", default=None,
                        help="org store: a SQLite file, sqlite:PATH or postgresql://USER@HOST/DB "
                             "(default: $FLOWENGINE_ORG, else ./.flowengine/org.sqlite)")


class ProgressBar:
    """`label [#####.....] 12,000/30,005` redrawn on stderr, only when stderr is a terminal and
    the work is large enough to wait for. Call it with (done, total); close() ends the line."""

    def __init__(self, label: str, stream: Any = None, min_total: int = 5_000, width: int = 30) -> None:
        self.label = label
        self.stream = stream or sys.stderr
        self.enabled = hasattr(self.stream, "isatty") and self.stream.isatty()
        self.min_total = min_total
        self.width = width
        self.drawn = False

    def __call__(self, done: int, total: int) -> None:
        if not self.enabled or total < self.min_total:
            return
        filled = self.width * done // max(total, 1)
        self.stream.write(f"\r{self.label} [{'#' * filled}{'.' * (self.width - filled)}] "
                          f"{done:,}/{total:,}")
        self.stream.flush()
        self.drawn = True

    def close(self) -> None:
        if self.drawn:
            self.stream.write("\n")
            self.stream.flush()
            self.drawn = False


def plugin_warnings() -> list[str]:
    """The warnings of the plug-in registry (plug-ins that failed to load or were skipped), when
    this process loaded it; never loads it."""
    registry_module = sys.modules.get("flowengine.plugins.registry")
    registry = getattr(registry_module, "_cached", None)
    return list(getattr(registry, "warnings", ()))


def warn_about_plugins() -> None:
    """Print the plug-in registry's warnings on stderr (commands that checked flows)."""
    for warning in plugin_warnings():
        print(paint("warning:", "33", sys.stderr), warning, file=sys.stderr)


def load_flow_for_command(path: str, to_run: bool = False) -> Any:
    """Load and check the flow a command works on. When it is not valid (or, `to_run`, uses
    something flowengine cannot run yet), every error is printed as `error: file:line:column:
    ...` (after the plug-in warnings) and the command exits 2."""
    from flowengine.api import load_flow
    from flowengine.errors import FlowError

    try:
        flow = load_flow(path)
    except FlowError as exc:
        warn_about_plugins()
        problems = [p for p in getattr(exc, "problems", None) or [] if p.severity == "error"]
        lines = [f"{p.location()}: {p.message}" + (f" [{p.path}]" if p.path else "")
                 for p in problems] or [str(exc)]
        raise UsageError("\nerror: ".join(lines)) from None
    warn_about_plugins()
    if to_run and flow.unsupported:
        raise UsageError("\nerror: ".join(f"{p.location()}: {p.message}" for p in flow.unsupported))
    return flow
