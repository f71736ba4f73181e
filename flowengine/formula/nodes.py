"""What every part of the formula compiler shares: the errors, the limits, the decimal context, and
the compiled node (`Expr`) with its kinds."""
from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any, Final

from flowengine.errors import FlowError
from flowengine.types import NUMBER_CONTEXT, FlowType, number_problem, text_of

MAX_LENGTH: Final = 65_536
MAX_DEPTH: Final = 200
CTX: Final = NUMBER_CONTEXT
TOO_DEEP: Final = (f"formula nests more than {MAX_DEPTH} levels of parentheses, calls or "
                   "operations; split it into smaller formulas")

Getter = Callable[[Any], Any]
Resolver = Callable[[str], "tuple[FlowType, Getter]"]


class FormulaError(FlowError):
    """A syntax or type error in a formula, found when it is compiled (at load time).

    `message` says what was found and what was expected; `offset` is the 0-based character offset
    inside the expression, for turning into a line and column of the flow file."""

    def __init__(self, message: str, offset: int) -> None:
        super().__init__(message)
        self.message = message
        self.offset = offset


class Fault(Exception):
    """A run-time fault inside a closure; `CompiledFormula.evaluate` adds the formula's name."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


RUNTIME_ERRORS: Final = (Fault, ArithmeticError, ValueError)


def checked_number(value: Decimal, what: str) -> Decimal:
    """`value` if it fits a Salesforce Number, else a fault naming `what` computed it."""
    problem = number_problem(value)
    if problem:
        raise Fault(f"{what}: {problem}")
    return value


class Expr:
    """A compiled node: its kind (Text, Number, Boolean, Date, DateTime, Time or Null), closure,
    offset, depth and, for a constant, its value."""

    __slots__ = ("kind", "fn", "offset", "depth", "const", "value", "ref")

    def __init__(self, kind: str, fn: Getter, offset: int, depth: int = 1, const: bool = False,
                 value: Any = None) -> None:
        self.kind, self.fn, self.offset, self.depth = kind, fn, offset, depth
        self.const, self.value = const, value
        self.ref: str | None = None         # a merge field node: its path (`$Record.Status`)


def constant(kind: str, value: Any, offset: int) -> Expr:
    return Expr(kind, lambda _state: value, offset, 1, True, value)


KIND_ORDER: Final = ("Text", "Number", "Boolean", "Date", "DateTime", "Time")
# GEOLOCATION's value: only DISTANCE takes it, no resource holds it
LOCATION: Final = "Location"


def kind_name(kind: str) -> str:
    return "NULL" if kind == "Null" else kind


def quoted(value: Any) -> str:
    text = value if isinstance(value, str) else text_of(value)
    return repr(text if len(text) <= 40 else text[:37] + "...")
