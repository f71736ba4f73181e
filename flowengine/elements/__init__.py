"""Element kinds: one module per element type (see `base.ElementKind`), and their registry.

    kind_of(element)     the kind of a model element
    kind_named("Loop")   a kind by its `type:`, or None
    kinds()              every registered kind, in registration order
    register(kind)       add a kind

The built-in kinds are known by name from the start and their modules imported on first use
(`kind_named`, `kind_of`; `kinds()` imports them all): a flow that uses a few kinds does not pay
for importing the others, which is most of a command's start-up.
"""
from __future__ import annotations

import importlib
from typing import Any, Final

from flowengine.elements.base import Connector, ElementKind, ElementModel, LintFacts

__all__ = ["Connector", "ElementKind", "ElementModel", "LintFacts", "kind_named", "kind_names",
           "kind_of", "kind_for_xml_tag", "kinds", "register", "registered", "unregister",
           "validate_element"]

# the built-in kinds, in registration order: kind name → the module (in this package) that
# defines it; those of one module are registered together when it is imported. The unsupported
# kinds come after the kinds that share their XML tags.
_BUILTIN: Final = {
    "Assignment": "assignment", "Decision": "decision", "Loop": "loop", "Action": "action",
    "GetRecords": "get_records", "CreateRecords": "create_records",
    "UpdateRecords": "update_records", "DeleteRecords": "delete_records",
    "RollbackRecords": "rollback_records", "Subflow": "subflow",
    "CollectionFilter": "collections", "CollectionSort": "collections",
    "Screen": "unsupported", "Wait": "unsupported", "CollectionProcessor": "unsupported",
    "CustomError": "unsupported", "Transform": "unsupported", "ApexPluginCall": "unsupported",
    "Step": "unsupported", "OrchestratedStage": "unsupported",
}
BUILTIN_MODULES: Final = frozenset(_BUILTIN.values())
# name → its kind, or the module of a built-in kind not imported yet (kept in place, so that
# `kinds()` keeps the registration order whatever order the modules are imported in)
_KINDS: dict[str, ElementKind | str] = dict(_BUILTIN)
_BUILTIN_KINDS: set[int] = set()     # the ids of the built-in kinds imported so far


def register(kind: ElementKind) -> ElementKind:
    """Make `kind` known to every phase; its `name` must be new (a built-in kind's name is
    taken whether its module is imported yet or not)."""
    if kind.name in _KINDS and _KINDS[kind.name] is not kind:
        raise ValueError(f"element kind {kind.name!r} is already registered")
    return _register(kind)


def _register(kind: ElementKind) -> ElementKind:
    name = kind.name
    model_type = kind.model.model_fields["type"].annotation
    if getattr(model_type, "__args__", None) != (name,):
        raise ValueError(f"element kind {name}: its model's type must be Literal[{name!r}]")
    _KINDS[name] = kind
    return kind


def unregister(name: str) -> None:
    """Forget a kind (tests that add their own)."""
    _KINDS.pop(name, None)


def _load(module: str) -> None:
    """Import a built-in kinds' module and register its kinds in their places."""
    defined = importlib.import_module(f"{__name__}.{module}")
    for kind in getattr(defined, "KINDS", None) or [defined.KIND]:   # a module's kinds, or kind
        if _KINDS.get(kind.name) == module:
            _register(kind)
            _BUILTIN_KINDS.add(id(kind))


def kind_named(name: str) -> ElementKind | None:
    kind = _KINDS.get(name)
    if isinstance(kind, str):
        _load(kind)
        kind = _KINDS[name]
    return kind  # type: ignore[return-value]


def kind_of(element: Any) -> ElementKind:
    """The kind of an element of a flow model."""
    kind = _KINDS[element.type]
    if isinstance(kind, str):
        return kind_named(element.type)  # type: ignore[return-value]
    return kind


def kinds() -> list[ElementKind]:
    for kind in list(_KINDS.values()):
        if isinstance(kind, str):
            _load(kind)
    return list(_KINDS.values())  # type: ignore[arg-type]


def kind_names() -> list[str]:
    """The names of every registered kind, in registration order, importing none."""
    return list(_KINDS)


def registered() -> list[str]:
    """Each registered kind as `name=module.Model`, in registration order, importing none; a
    built-in kind as `name=module` whether imported yet or not (the module's source says the
    rest)."""
    return [f"{name}={_BUILTIN[name]}" if isinstance(kind, str) or id(kind) in _BUILTIN_KINDS
            else f"{name}={kind.model.__module__}.{kind.model.__qualname__}"
            for name, kind in _KINDS.items()]


def kind_for_xml_tag(tag: str, node: Any = None) -> ElementKind | None:
    """The kind whose elements Flow metadata XML holds under `tag` (`assignments`...); with
    `node`, the first kind of that tag that accepts it."""
    return next((k for k in kinds()
                 if k.xml_tag == tag and (node is None or k.xml_accepts(node))), None)


def validate_element(raw: Any) -> ElementModel:
    """An element as its kind's model (a model passes as it is). Raises ValueError for an
    unknown `type`, pydantic's ValidationError for a bad element."""
    if isinstance(raw, ElementModel):
        return raw
    tag = raw.get("type") if isinstance(raw, dict) else None
    kind = kind_named(tag) if isinstance(tag, str) else None
    if kind is None:
        raise ValueError(f"unknown element type {tag!r} (expected one of: {', '.join(_KINDS)})")
    return kind.model.model_validate(raw)
