"""The entry point: `compile_formula` runs the parser over a formula and fits its result to the
declared type; `CompiledFormula.evaluate` runs the closures and reports run-time faults."""
from __future__ import annotations

from decimal import InvalidOperation, Overflow
from typing import Any

from flowengine.errors import FlowRuntimeError
from flowengine.formula.functions import to_text
from flowengine.formula.nodes import (
    LOCATION,
    MAX_LENGTH,
    TOO_DEEP,
    Fault,
    FormulaError,
    Getter,
    Resolver,
    checked_number,
    kind_name,
)
from flowengine.formula.parser import Parser
from flowengine.types import TEXT_LIKE, FlowType, assignable, converter


class CompiledFormula:
    """A formula compiled once into closures; `evaluate` is cheap and may be called many times."""

    __slots__ = ("expression", "name", "result_type", "references", "depth", "_fn")

    def __init__(self, expression: str, name: str, result_type: FlowType,
                 references: tuple[str, ...], fn: Getter, depth: int = 1) -> None:
        self.expression = expression
        self.name = name
        self.result_type = result_type
        self.references = references
        self.depth = depth          # levels of closures one evaluation nests (merge fields aside)
        self._fn = fn

    def evaluate(self, state: Any) -> Any:
        """The formula's value; `state` goes unchanged to the merge-field getters.

        Raises `FlowRuntimeError` naming the formula and the cause on a run-time fault."""
        try:
            return self._fn(state)
        except Fault as exc:
            raise FlowRuntimeError(self._failure(exc.message)) from None
        except (ArithmeticError, ValueError, RecursionError) as exc:
            raise FlowRuntimeError(self._failure(_cause(exc))) from exc

    def _failure(self, cause: str) -> str:
        return f"formula {self.name} failed: {cause}" if self.name else f"formula failed: {cause}"

    def __repr__(self) -> str:
        return f"CompiledFormula({self.name or self.expression!r}: {self.result_type})"


def compile_formula(expression: str, declared: FlowType | None, resolve: Resolver,
                    name: str = "") -> CompiledFormula:
    """Parse, type-check and compile `expression`.

    `resolve(path)` gives the static type and a getter ``getter(state) -> value`` of a merge field
    (the text inside ``{!...}``) or raises ``KeyError(message)``. With `declared`, the result must
    be assignable to it and is converted to it (Text from any scalar, Number rounded to its scale).
    Raises `FormulaError` with the offset of the problem."""
    if len(expression) > MAX_LENGTH:
        raise FormulaError(f"formula is {len(expression):,} characters long; the limit is "
                           f"{MAX_LENGTH:,}", MAX_LENGTH)
    parser = Parser(expression, resolve)
    try:
        root = parser.parse()
    except RecursionError:  # a safety net: the depth limits stop well before this
        raise FormulaError(TOO_DEEP, 0) from None
    result_type, convert = _result_conversion(root.kind, declared)
    fn = root_fn = root.fn
    if root.kind == "Number":     # a result must fit a Salesforce Number (18 digits)
        label = f"formula {name}" if name else "the formula"
        if convert is None:
            fn = lambda s: None if (v := root_fn(s)) is None else checked_number(v, label)
        else:
            number_convert = convert
            fn = lambda s: number_convert(None if (v := root_fn(s)) is None
                                          else checked_number(v, label))
    elif convert is not None:
        fn = lambda s: convert(root_fn(s))
    return CompiledFormula(expression, name, result_type, tuple(parser.references), fn,
                           root.depth)


def _result_conversion(kind: str, declared: FlowType | None) -> tuple[FlowType, Getter | None]:
    if kind == LOCATION:
        raise FormulaError("formula computes a location (GEOLOCATION), which only DISTANCE takes; "
                           "compute a DISTANCE between two locations", 0)
    if declared is None:
        return FlowType("Text" if kind == "Null" else kind), None
    if declared.collection or declared.is_object:
        raise FormulaError(f"formula computes a single {kind_name(kind)} value, but it is declared "
                           f"{declared}", 0)
    if kind == "Null":
        return declared, converter(declared, declared)
    if not assignable(FlowType(kind), declared):
        raise FormulaError(f"formula computes {kind}, but it is declared {declared}", 0)
    if declared.kind in TEXT_LIKE:
        return declared, None if kind == "Text" else to_text
    return declared, converter(FlowType(kind), declared)


def _cause(exc: BaseException) -> str:
    if isinstance(exc, ZeroDivisionError):
        return "division by zero"
    if isinstance(exc, Overflow):
        return "the number is too large"
    if isinstance(exc, InvalidOperation):
        return "the calculation has no numeric result"
    if isinstance(exc, OverflowError):
        return "a date or number is out of range"
    if isinstance(exc, RecursionError):
        return "the formula is nested too deeply to evaluate"
    return str(exc) or type(exc).__name__
