"""The flow's one namespace (spec 1): resources, elements and outcomes, and path resolution."""
from __future__ import annotations

from dataclasses import dataclass, field
from difflib import get_close_matches
from typing import TYPE_CHECKING, Any, Literal

from flowengine.references import GLOBAL_TYPES
from flowengine.types import FlowType, TypeRegistry

if TYPE_CHECKING:
    from flowengine.action import Action

SymbolKind = Literal["variable", "constant", "formula", "template", "element", "outcome"]


@dataclass
class Symbol:
    name: str
    kind: SymbolKind
    type: FlowType | None           # None: an element that holds no value
    decl: Any = None
    element_type: str | None = None  # for elements: Assignment, Decision, Loop, Action
    action: Action | None = None     # for Action elements

    @property
    def writable(self) -> bool:
        return self.kind == "variable"

    @property
    def what(self) -> str:
        if self.kind == "element":
            return f"{self.element_type} element"
        return self.kind


@dataclass(frozen=True)
class ResolvedPath:
    """A path whose every step is known: the root resource, the fields, and the final type."""

    text: str
    symbol: Symbol | None             # None for globals
    fields: tuple[str, ...]
    type: FlowType
    owner_types: tuple[FlowType, ...] = ()   # type of the object holding each field

    @property
    def root_name(self) -> str:
        return self.symbol.name if self.symbol else self.text


class ResolveError(ValueError):
    """A path that does not resolve; the message says why, with a did-you-mean."""


def did_you_mean(name: str, candidates: Any) -> str:
    names = list(candidates)
    by_lower = {c.lower(): c for c in names}
    hits = get_close_matches(name.lower(), list(by_lower), n=1, cutoff=0.6)
    return f"; did you mean {by_lower[hits[0]]!r}?" if hits else ""


@dataclass
class SymbolTable:
    types: TypeRegistry
    symbols: dict[str, Symbol] = field(default_factory=dict)   # lower-case name → symbol

    def get(self, name: str) -> Symbol | None:
        return self.symbols.get(name.lower())

    def add(self, symbol: Symbol) -> Symbol | None:
        """Add a symbol; returns the existing one when the name is taken (case-insensitively)."""
        key = symbol.name.lower()
        if key in self.symbols:
            return self.symbols[key]
        self.symbols[key] = symbol
        return None

    def names(self) -> list[str]:
        return [s.name for s in self.symbols.values()]

    def resolve(self, text: str) -> ResolvedPath:
        """Resolve `name.field…` to its type; raises ResolveError with a did-you-mean."""
        if text.startswith("$"):
            return self._resolve_global(text)
        root, *rest = text.split(".")
        symbol = self.get(root)
        if symbol is None:
            raise ResolveError(f"unknown name {root!r}{did_you_mean(root, self.names())}")
        fields = tuple(rest)
        if symbol.kind == "element" and symbol.element_type == "Action":
            return self._resolve_action_output(text, symbol, fields)
        if symbol.type is None:
            raise ResolveError(f"{root!r} is a {symbol.what} and holds no value")
        return self._resolve_fields(text, symbol, symbol.type, fields)

    def _resolve_global(self, text: str) -> ResolvedPath:
        for name, gtype in GLOBAL_TYPES.items():
            if name.lower() == text.lower():
                return ResolvedPath(name, None, (), gtype)
        raise ResolveError(f"unknown global {text!r}{did_you_mean(text, GLOBAL_TYPES)}")

    def _resolve_action_output(self, text: str, symbol: Symbol, fields: tuple[str, ...]) -> ResolvedPath:
        action = symbol.action
        if not fields:
            raise ResolveError(f"{symbol.name!r} is an Action element; name one of its outputs, "
                               f"e.g. {symbol.name}.outputName")
        if action is None:   # unknown action: already reported
            raise ResolveError(f"{symbol.name!r} calls an unknown action")
        param = action.output(fields[0])
        if param is None:
            names = [p.name for p in action.outputs]
            raise ResolveError(f"action {action.name} has no output {fields[0]!r}"
                               f"{did_you_mean(fields[0], names)}")
        owner = FlowType("Apex", apex_class=f"{action.name} outputs")
        rest = self._resolve_fields(text, symbol, param.type, fields[1:])
        return ResolvedPath(text, symbol, fields, rest.type, (owner,) + rest.owner_types)

    def _resolve_fields(self, text: str, symbol: Symbol, current: FlowType,
                        fields: tuple[str, ...]) -> ResolvedPath:
        owners: list[FlowType] = []
        walked = symbol.name
        for name in fields:
            if current.collection:
                raise ResolveError(f"{walked!r} is a collection; its items' fields can be read "
                                   "in a Loop over it")
            if not current.is_object:
                raise ResolveError(f"{walked!r} is {current} and has no fields")
            ftype = self.types.field_type(current, name)
            if ftype is None:
                known = self.types.field_names(current)
                hint = did_you_mean(name, known)
                raise ResolveError(f"{current} has no field {name!r}{hint} (field names are "
                                   "case-sensitive)" if not hint else
                                   f"{current} has no field {name!r}{hint}")
            owners.append(current)
            current = ftype
            walked += "." + name
        return ResolvedPath(text, symbol, fields, current, tuple(owners))
