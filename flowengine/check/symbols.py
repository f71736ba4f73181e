"""The flow's one namespace (spec 1): resources, elements and outcomes, and path resolution."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from flowengine.references import GLOBAL_TYPES
from flowengine.errors import did_you_mean
from flowengine.types import FlowType, TypeRegistry

__all__ = ["ResolveError", "ResolvedPath", "Symbol", "SymbolTable", "did_you_mean"]

if TYPE_CHECKING:
    from flowengine.plugins import Action

SymbolKind = Literal["variable", "constant", "formula", "template", "element", "outcome"]


@dataclass
class Symbol:
    name: str
    kind: SymbolKind
    type: FlowType | None           # None: an element that holds no value
    decl: Any = None
    element_type: str | None = None  # for elements: Assignment, Decision, Loop, Action
    action: Action | None = None     # for Action elements
    # declared, but its declaration is broken (already reported): references to it stay silent
    broken: bool = False

    @property
    def writable(self) -> bool:
        return self.kind == "variable"

    @property
    def what(self) -> str:
        if self.kind == "element":
            return f"{self.element_type} element"
        return self.kind

    @property
    def a_what(self) -> str:
        """`a variable`, `an Action element`..."""
        what = self.what
        return f"{'an' if what[:1].lower() in 'aeiou' else 'a'} {what}"


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


class UnknownName(ResolveError):
    """The first name of a path is not declared anywhere."""


class BrokenReference(ResolveError):
    """A path through a resource whose declaration is broken; that problem is already reported,
    so this one is not."""


def no_field_message(owner: FlowType, name: str, known: list[str]) -> str:
    """`Apex Acme.Parcel has no field 'weightkg'; did you mean 'weightKg'? (field names are
    case-sensitive)`: what was found, what exists."""
    hint = did_you_mean(name, known)
    if any(k.lower() == name.lower() for k in known):
        return f"{owner} has no field {name!r}{hint} (field names are case-sensitive)"
    if hint:
        return f"{owner} has no field {name!r}{hint}"
    listed = ", ".join(known[:20]) + (", ..." if len(known) > 20 else "")
    return f"{owner} has no field {name!r} (its fields: {listed or 'none'})"


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
            raise UnknownName(f"unknown name {root!r}{did_you_mean(root, self.names())} (no "
                               "variable, constant, formula, template or element has that name)")
        if symbol.broken:
            raise BrokenReference(f"{root!r} is declared with errors")
        fields = tuple(rest)
        if symbol.kind == "element" and symbol.element_type == "Action":
            return self._resolve_action_output(text, symbol, fields)
        if symbol.type is None:
            item = getattr(symbol.decl, "item", None)
            if symbol.element_type == "Loop" and item:
                raise ResolveError(f"{symbol.name!r} is a Loop element with item: {item}; its current "
                                   f"item is read as {{!{item}}}, not through the loop's name")
            raise ResolveError(f"{symbol.name!r} is {symbol.a_what} and holds no value")
        return self._resolve_fields(text, symbol, symbol.type, fields)

    def _resolve_global(self, text: str) -> ResolvedPath:
        for name, gtype in GLOBAL_TYPES.items():
            if name.lower() == text.lower():
                return ResolvedPath(name, None, (), gtype)
        raise UnknownName(f"unknown global {text!r}{did_you_mean(text, GLOBAL_TYPES)}")

    def _resolve_action_output(self, text: str, symbol: Symbol, fields: tuple[str, ...]) -> ResolvedPath:
        action = symbol.action
        if not fields:
            raise ResolveError(f"{symbol.name!r} is an Action element; name one of its outputs, "
                               f"e.g. {symbol.name}.outputName")
        if action is None:   # unknown action: already reported
            raise BrokenReference(f"{symbol.name!r} calls an unknown action")
        param = action.output(fields[0])
        if param is None:
            names = [p.name for p in action.outputs]
            raise ResolveError(f"action {action.name} (element {symbol.name}) has no output "
                               f"{fields[0]!r}{did_you_mean(fields[0], names)} (outputs: "
                               f"{', '.join(names) or 'none'})")
        owner = FlowType("Apex", apex_class=f"{action.name} outputs")
        rest = self._resolve_fields(text, symbol, param.type, fields[1:])
        return ResolvedPath(text, symbol, fields, rest.type, (owner,) + rest.owner_types)

    def _resolve_fields(self, text: str, symbol: Symbol, current: FlowType,
                        fields: tuple[str, ...]) -> ResolvedPath:
        owners: list[FlowType] = []
        walked = symbol.name
        for name in fields:
            if current.collection:
                raise ResolveError(f"{walked!r} is a {current} and has no field {name!r}; loop over "
                                   "it to read the fields of each item")
            if not current.is_object:
                raise ResolveError(f"{walked!r} is {current} and has no fields")
            ftype = self.types.field_type(current, name)
            if ftype is None:
                raise ResolveError(no_field_message(current, name, self.types.field_names(current)))
            owners.append(current)
            current = ftype
            walked += "." + name
        return ResolvedPath(text, symbol, fields, current, tuple(owners))
