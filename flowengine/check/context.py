"""What checks work with: the protocols element kinds and conditions check through, and the
context that implements them over a symbol table.

`ValueContext` is enough to check a condition or a value (flow test assertions use it, pointed at
the test file); `CheckContext` is what element kinds get while a flow is checked (the `Checker`).
"""
from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Protocol

from flowengine.check.symbols import BrokenReference, ResolveError, UnknownName
from flowengine.check.values import ValueChecks
from flowengine.errors import ProblemList
from flowengine.references import PathSyntaxError, check_path
from flowengine.source import display_path

if TYPE_CHECKING:
    from flowengine.check.symbols import ResolvedPath, SymbolTable
    from flowengine.formula import CompiledFormula
    from flowengine.model import FlowModel
    from flowengine.plugins import Action
    from flowengine.references import ValueSpec
    from flowengine.source import SourceDocument
    from flowengine.types import FlowType, TypeRegistry

__all__ = ["CheckContext", "SymbolContext", "ValueContext"]


class ValueContext(Protocol):
    """Checking values and references against a flow's names, reporting with places."""

    model: FlowModel
    types: TypeRegistry
    table: SymbolTable
    broken: set[str]                 # elements with structural errors (already reported)

    def error(self, path: tuple[Any, ...], message: str, code: str, key: bool = False,
              severity: str = "error") -> None: ...

    def resolve(self, text: Any, path: tuple[Any, ...],
                what: str = "reference") -> ResolvedPath | None: ...

    def check_value(self, raw: Any, target: FlowType, path: tuple[Any, ...],
                    alternatives: tuple[FlowType, ...] = (), context: str = "") -> FlowType | None: ...

    def value_types(self, raw: Any, path: tuple[Any, ...]) -> tuple[ValueSpec | None, FlowType | None]: ...

    def writable_target(self, ref: Any, path: tuple[Any, ...]) -> ResolvedPath | None: ...


class CheckContext(ValueContext, Protocol):
    """What an element kind checks with while its flow is checked."""

    actions: dict[str, Action]                    # element → the action it calls (kinds fill it)
    subflows: dict[str, Any]                      # element → the flow it calls (kinds fill it)
    logic: dict[tuple[str, str], Any]             # (element, outcome) → parsed logic
    formulas: dict[str, CompiledFormula]

    @property
    def registry(self) -> Any:
        """The plug-in registry (loaded on first use; raises when plug-ins cannot load)."""

    def project_flow(self, name: str) -> tuple[Any, str | None]:
        """The flow of this flow's project called `name`, checked, or None and why not."""

    def compile_expression(self, key: str, expression: str, ftype: FlowType,
                           path: tuple[Any, ...], what: str) -> CompiledFormula | None:
        """Compile a formula an element holds into `formulas[key]`; None after reporting why
        it does not compile."""

    def item_indexes(self, element: str, key: str, count: int) -> Sequence[int]:
        """The indexes in the file of the `count` items of list `key` that survived structural
        repair (broken items are left out), for messages that point at the right item."""


class SymbolContext(ValueChecks):
    """Checks against a symbol table, reporting into `problems` with places in `doc`."""

    def __init__(self, model: FlowModel, doc: SourceDocument | None, types: TypeRegistry,
                 table: SymbolTable) -> None:
        self.model = model
        self.doc = doc
        self.types = types
        self.table = table
        self.problems = ProblemList(doc.file if doc else None)
        self.broken: set[str] = set()
        # a section of names could not be read: unknown names may be declared there, so stay
        # silent about them
        self.names_incomplete = False

    def error(self, path: tuple[Any, ...], message: str, code: str, key: bool = False,
              severity: str = "error") -> None:
        mark = self.doc.locate(path, key=key) if self.doc else None
        self.problems.add(severity, code, message, mark[0] if mark else None,  # type: ignore[arg-type]
                          mark[1] if mark else None, display_path(path) or None)

    def resolve(self, text: Any, path: tuple[Any, ...], what: str = "reference") -> ResolvedPath | None:
        """The resolved path, or None after reporting why it does not resolve."""
        try:
            return self.table.resolve(check_path(text))
        except BrokenReference:
            return None                     # its declaration's problem is reported already
        except UnknownName as exc:
            if not self.names_incomplete:
                self.error(path, f"{what}: {exc}" if what != "reference" else str(exc),
                           "reference.unknown")
        except PathSyntaxError as exc:
            self.error(path, f"{what}: {exc}" if what != "reference" else str(exc), "reference.syntax")
        except ResolveError as exc:
            self.error(path, f"{what}: {exc}" if what != "reference" else str(exc), "reference.invalid")
        return None

    def writable_target(self, ref: Any, path: tuple[Any, ...]) -> ResolvedPath | None:
        """The resolved target of a write, or None after reporting why it cannot be written."""
        from flowengine.elements import kind_named

        try:
            text = check_path(ref)
        except PathSyntaxError as exc:
            self.error(path, str(exc), "reference.syntax")
            return None
        symbol = self.table.get(text.split(".")[0])
        if symbol is not None and not symbol.writable and not symbol.broken:
            kind = kind_named(symbol.element_type or "") if symbol.kind == "element" else None
            why = kind.readonly_reason(symbol) if kind else \
                f"{symbol.name!r} is {symbol.a_what}, which is read-only"
            self.error(path, f"cannot write to {text!r}: {why}; only variables can be written",
                       "write.readonly")
            return None
        rp = self.resolve(text, path)
        if rp is None:
            return None
        if rp.symbol is None:
            self.error(path, f"cannot write to the global {rp.text}: globals are read-only; only "
                       "variables can be written", "write.readonly")
            return None
        return rp
