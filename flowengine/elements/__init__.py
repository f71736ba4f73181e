"""Element kinds: one module per element type (see `base.ElementKind`), and their registry.

    kind_of(element)     the kind of a model element
    kind_named("Loop")   a kind by its `type:`, or None
    kinds()              every registered kind, in registration order
    register(kind)       add a kind (the built-in ones register when this package is imported)
"""
from __future__ import annotations

from typing import Any

from flowengine.elements.base import Connector, ElementKind, ElementModel, LintFacts

__all__ = ["Connector", "ElementKind", "ElementModel", "LintFacts", "kind_named", "kind_of",
           "kind_for_xml_tag", "kinds", "register", "unregister", "validate_element"]

_KINDS: dict[str, ElementKind] = {}


def register(kind: ElementKind) -> ElementKind:
    """Make `kind` known to every phase; its `name` must be new."""
    name = kind.name
    if name in _KINDS and _KINDS[name] is not kind:
        raise ValueError(f"element kind {name!r} is already registered")
    model_type = kind.model.model_fields["type"].annotation
    if getattr(model_type, "__args__", None) != (name,):
        raise ValueError(f"element kind {name}: its model's type must be Literal[{name!r}]")
    _KINDS[name] = kind
    return kind


def unregister(name: str) -> None:
    """Forget a kind (tests that add their own)."""
    _KINDS.pop(name, None)


def kind_named(name: str) -> ElementKind | None:
    return _KINDS.get(name)


def kind_of(element: Any) -> ElementKind:
    """The kind of an element of a flow model."""
    return _KINDS[element.type]


def kinds() -> list[ElementKind]:
    return list(_KINDS.values())


def kind_for_xml_tag(tag: str, node: Any = None) -> ElementKind | None:
    """The kind whose elements Flow metadata XML holds under `tag` (`assignments`...); with
    `node`, the first kind of that tag that accepts it."""
    return next((k for k in _KINDS.values()
                 if k.xml_tag == tag and (node is None or k.xml_accepts(node))), None)


def _register_builtins() -> None:
    from flowengine.elements import (
        action,
        assignment,
        collections,
        create_records,
        decision,
        delete_records,
        get_records,
        loop,
        rollback_records,
        subflow,
        unsupported,
        update_records,
    )

    for module in (assignment, decision, loop, action, get_records, create_records,
                   update_records, delete_records, rollback_records, subflow):
        register(module.KIND)
    register(collections.FILTER_KIND)
    register(collections.SORT_KIND)
    for kind in unsupported.KINDS:      # after the kinds that share their XML tags
        register(kind)


def validate_element(raw: Any) -> ElementModel:
    """An element as its kind's model (a model passes as it is). Raises ValueError for an
    unknown `type`, pydantic's ValidationError for a bad element."""
    if isinstance(raw, ElementModel):
        return raw
    tag = raw.get("type") if isinstance(raw, dict) else None
    kind = _KINDS.get(tag) if isinstance(tag, str) else None
    if kind is None:
        raise ValueError(f"unknown element type {tag!r} (expected one of: {', '.join(_KINDS)})")
    return kind.model.model_validate(raw)


_register_builtins()
