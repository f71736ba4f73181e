"""The flow's one namespace (spec 1): resources, elements and outcomes, and path resolution."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from flowengine.errors import did_you_mean
from flowengine.references import GLOBAL_TYPES
from flowengine.types import FlowType, TypeRegistry

__all__ = ["ResolveError", "ResolvedPath", "Symbol", "SymbolTable", "did_you_mean"]


SymbolKind = Literal["variable", "constant", "formula", "template", "element", "outcome", "kept",
                     "trigger"]


@dataclass
class Symbol:
    name: str
    kind: SymbolKind
    type: FlowType | None           # None: an element that holds no value
    decl: Any = None
    element_type: str | None = None  # for elements: the kind's name (Assignment, Loop...)
    binding: Any = None              # what the element kind bound it to (an Action's action)
    # declared, but its declaration is broken (already reported): references to it stay silent
    broken: bool = False
    # an element whose value a flow may change like a variable's (a Get Records that stores its
    # records automatically: Salesforce lets Assignments set their fields)
    assignable: bool = False

    @property
    def writable(self) -> bool:
        return self.kind == "variable" or self.assignable

    @property
    def what(self) -> str:
        if self.kind == "element":
            return f"{self.element_type} element"
        if self.kind == "kept":
            return "Salesforce resource kept from the XML"
        if self.kind == "trigger":
            return "record that started the flow" if self.name == "$Record" else \
                "record's values before the change that started the flow"
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
        root, *rest = text.split(".")
        if text.startswith("$") and self.get(root) is None:
            return self._resolve_global(text)
        symbol = self.get(root)
        if symbol is None:
            raise UnknownName(f"unknown name {root!r}{did_you_mean(root, self.names())} (no "
                               "variable, constant, formula, template or element has that name)")
        if symbol.type is None and symbol.kind == "trigger":
            raise BrokenReference(f"{root!r}: the flow's trigger names an unknown object")
        if symbol.broken:
            raise BrokenReference(f"{root!r} is declared with errors")
        fields = tuple(rest)
        if symbol.kind == "element":
            from flowengine.elements import kind_named

            kind = kind_named(symbol.element_type or "")
            if kind is None:
                raise BrokenReference(f"{root!r} is an element of an unknown type")
            return kind.resolve(self, symbol, text, fields)
        if symbol.type is None:
            raise ResolveError(f"{symbol.name!r} is {symbol.a_what} and holds no value")
        return self.resolve_fields(text, symbol, symbol.type, fields)

    def _resolve_global(self, text: str) -> ResolvedPath:
        for name, gtype in GLOBAL_TYPES.items():
            if name.lower() == text.lower():
                return ResolvedPath(name, None, (), gtype)
        root = text.split(".")[0]
        if root.lower() in ("$record", "$record__prior"):
            raise UnknownName(f"{root} is the record that started the flow (its values before the "
                              "change, for $Record__Prior): only a flow a record change or a "
                              "platform event starts has it (trigger:)" if root.lower() ==
                              "$record" else f"{root} holds the record's values before an update: "
                              "only a flow that a record update starts has it (trigger: with on: "
                              "Update or CreateAndUpdate)")
        raise UnknownName(f"unknown global {text!r}{did_you_mean(text, GLOBAL_TYPES)}")

    def resolve_fields(self, text: str, symbol: Symbol, current: FlowType,
                       fields: tuple[str, ...]) -> ResolvedPath:
        """Resolve the `fields` of a value of type `current` held by `symbol`."""
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
