"""Running plug-in code so that it cannot take the program down with it.

Plug-in code runs in three places: its import (entry-point loading), the function that builds its
`Plugin`, and its action handlers. Inside `plugin_code()` a plug-in
- sees a command line of just the program's name (an `argparse` at import time parses nothing of
  ours, and nothing it does to `sys.argv` reaches us);
- writes to standard error when it prints: standard output belongs to the command (JSON, SARIF);
and `run_plugin_code` turns everything it can raise into a `PluginFailure` — `SystemExit`
included, so `sys.exit(0)` in a plug-in is a failure of that plug-in, never a silent exit with
status 0. `KeyboardInterrupt` is an interruption of the whole command and passes through.
"""
from __future__ import annotations

import contextlib
import sys
import threading
from collections.abc import Callable, Iterator
from typing import TextIO, TypeVar

from flowengine.errors import FlowError

__all__ = ["PluginFailure", "plugin_code", "run_plugin_code"]

T = TypeVar("T")


class PluginFailure(FlowError):
    """Plug-in code raised something that is not an ordinary error (sys.exit, a BaseException),
    or any exception at all while it was loaded. `cause` is what it raised."""

    def __init__(self, message: str, cause: BaseException) -> None:
        super().__init__(message)
        self.cause = cause


def describe_exit(exc: BaseException) -> str:
    """What a plug-in did, in words: `called sys.exit(0)`, `raised RuntimeError: ...`."""
    if isinstance(exc, SystemExit):
        return f"called sys.exit({exc.code!r})"
    text = str(exc)
    return f"raised {type(exc).__name__}" + (f": {text}" if text else "")


class _Sandbox:
    """The process-wide part of `plugin_code()`: the first thread to enter saves `sys.argv` and
    `sys.stdout` and replaces them, the last one to leave puts them back (so concurrent
    interviews in threads may call actions at the same time)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.depth = 0
        self.saved: tuple[list[str], TextIO] | None = None

    def enter(self) -> None:
        with self.lock:
            if self.depth == 0:
                self.saved = (sys.argv, sys.stdout)
                sys.argv = [sys.argv[0] if sys.argv else "flowengine"]
                sys.stdout = sys.stderr
            self.depth += 1

    def leave(self) -> None:
        with self.lock:
            self.depth -= 1
            if self.depth == 0 and self.saved is not None:
                sys.argv, sys.stdout = self.saved
                self.saved = None


_sandbox = _Sandbox()


@contextlib.contextmanager
def plugin_code() -> Iterator[None]:
    """Hide the command line from plug-in code and send what it prints to standard error."""
    _sandbox.enter()
    try:
        yield
    finally:
        _sandbox.leave()


def run_plugin_code(call: Callable[[], T], what: str, *, errors_too: bool = True) -> T:
    """`call()` inside `plugin_code()`. SystemExit and other BaseExceptions (not
    KeyboardInterrupt) become a PluginFailure whose message starts with `what` ("plug-in 'x'",
    "action y"); so do ordinary exceptions when `errors_too` (loading: any error means the
    plug-in is unusable; an action's errors are its faults and pass through)."""
    try:
        with plugin_code():
            return call()
    except KeyboardInterrupt:
        raise
    except Exception as exc:
        if not errors_too:
            raise
        raise PluginFailure(f"{what} {describe_exit(exc)}", exc) from exc
    except BaseException as exc:  # noqa: B036 - containing plug-ins is the point
        raise PluginFailure(f"{what} {describe_exit(exc)}", exc) from exc
