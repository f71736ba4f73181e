"""Exceptions and problem reports, and the did-you-mean hint they share. Every error a user can
cause says what, where and what was expected."""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Literal

Severity = Literal["error", "warning", "note"]


@dataclass(frozen=True)
class Problem:
    """One finding about a flow file: an error (the file is invalid) or a warning."""

    severity: Severity
    code: str
    message: str
    file: str | None = None
    line: int | None = None
    column: int | None = None
    path: str | None = None

    def location(self) -> str:
        parts = [self.file or "<flow>"]
        if self.line is not None:
            parts.append(str(self.line))
            if self.column is not None:
                parts.append(str(self.column))
        return ":".join(parts)

    def __str__(self) -> str:
        where = f" (at {self.path})" if self.path else ""
        return f"{self.location()}: {self.severity}: {self.message}{where}"

    def to_dict(self) -> dict[str, object]:
        return {
            "severity": self.severity,
            "code": self.code,
            "message": self.message,
            "file": self.file,
            "line": self.line,
            "column": self.column,
            "path": self.path,
        }


class FlowError(Exception):
    """Base class of every error flowengine raises on purpose."""


class LoadError(FlowError):
    """The file could not be read as a flow at all (too big, not YAML, a YAML bomb...)."""

    def __init__(self, message: str, file: str | None = None, line: int | None = None,
                 column: int | None = None, code: str = "load") -> None:
        self.problem = Problem("error", code, message, file, line, column)
        super().__init__(str(self.problem))

    @property
    def problems(self) -> list[Problem]:
        return [self.problem]


class ValidationError(FlowError):
    """The flow file was read but breaks the format's rules; carries every problem found."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        errors = [p for p in problems if p.severity == "error"]
        head = "\n".join(str(p) for p in errors[:20])
        more = f"\n... and {len(errors) - 20} more" if len(errors) > 20 else ""
        super().__init__(head + more)


class UnsupportedError(ValidationError):
    """The flow is valid but uses something flowengine cannot run yet (a screen, a wait...);
    carries a problem, with its line, for each such part."""


class ActionError(FlowError):
    """Raised by an action to signal a failure; the interpreter turns it into a flow fault."""

    def __init__(self, error_code: str, message: str) -> None:
        self.error_code = error_code
        self.message = message
        super().__init__(f"{error_code}: {message}")


class FlowRuntimeError(FlowError):
    """A run-time fault inside an element (division by zero, null dereference, bad position...)."""

    def __init__(self, message: str, element: str | None = None) -> None:
        self.message = message
        self.element = element
        super().__init__(message)


class LimitExceeded(FlowRuntimeError):
    """The interview executed more elements than allowed."""


class PluginError(FlowError):
    """A plug-in is broken or conflicts with another plug-in."""


class InputError(FlowError):
    """A caller-supplied input does not fit the flow (unknown name, wrong type)."""


class OrgError(FlowError):
    """The org store refused an operation (bad fixture, unknown object, bad Id...).

    `error_code` is a Salesforce-style code (`INVALID_ID`, `INVALID_FIELD`...) that actions can
    pass on as their fault code; `str(error)` is the message alone."""

    def __init__(self, message: str, error_code: str = "ORG_ERROR") -> None:
        super().__init__(message)
        self.message = message
        self.error_code = error_code

    def __reduce__(self) -> tuple[object, ...]:  # keep error_code across pickling (processes)
        return (type(self), (self.message, self.error_code))


@dataclass
class ProblemList:
    """Collects problems during a phase; raise once at the end."""

    file: str | None = None
    items: list[Problem] = field(default_factory=list)

    def add(self, severity: Severity, code: str, message: str, line: int | None = None,
            column: int | None = None, path: str | None = None) -> None:
        self.items.append(Problem(severity, code, message, self.file, line, column, path))

    @property
    def has_errors(self) -> bool:
        return any(p.severity == "error" for p in self.items)


def did_you_mean(name: str, candidates: Iterable[str]) -> str:
    """`; did you mean 'X'?` for the candidate closest to `name` ignoring case, or ''."""
    from difflib import get_close_matches  # on the error path only: not imported at start-up

    by_lower = {c.lower(): c for c in candidates}
    hits = get_close_matches(name.lower(), list(by_lower), n=1, cutoff=0.6)
    return f"; did you mean {by_lower[hits[0]]!r}?" if hits else ""
