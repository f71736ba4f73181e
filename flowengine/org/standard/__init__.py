"""The standard objects that flowengine ships: every org store and every flow check knows them,
whatever plug-ins are installed.

`STANDARD_OBJECTS` are the schemas, with Salesforce's system fields; `PREFIX_SOURCES` says
where each key prefix comes from. A few standard objects have no key prefix that we could find
documented; they get flowengine's own (`flowengine.org.prefixes`: `z` and two characters), and
`PREFIX_SOURCES` says so. `complete(schemas)` adds to a list of schemas the standard objects it
refers to (and User, whom every record's CreatedById names).
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import replace
from typing import Final

from flowengine.org.fieldtypes import holds_id
from flowengine.org.prefixes import generated_prefixes
from flowengine.org.schema import ObjectSchema
from flowengine.org.standard import commerce, core, events, order_management
from flowengine.org.system import with_system_fields

__all__ = ["PREFIX_SOURCES", "STANDARD_OBJECTS", "complete", "is_standard", "standard_object"]

_SALESFORCE_BEN: Final = "salesforceben.com, 'Salesforce Object Key Prefix List'"
_FISH_OF_PREY: Final = "fishofprey.com, 'Obscure Salesforce object key prefixes' (2011)"
_OM_SPEC: Final = "Order Management spec (shared/spec/order-management.md), [doc]"
_DESCRIBE: Final = ("a Salesforce org's describe (keyPrefix), as published in "
                    "github.com/sf-explorer/sf-doc-to-json doc/objects/")
_DOCUMENTED: Final[Mapping[str, str]] = {
    "User": _SALESFORCE_BEN, "Profile": _SALESFORCE_BEN, "Organization": _SALESFORCE_BEN,
    "Account": _SALESFORCE_BEN,
    "Contact": _SALESFORCE_BEN, "Lead": _SALESFORCE_BEN, "Opportunity": _SALESFORCE_BEN,
    "Case": _SALESFORCE_BEN, "Task": _SALESFORCE_BEN, "Order": _SALESFORCE_BEN,
    "OrderItem": _SALESFORCE_BEN, "Product2": _SALESFORCE_BEN + "; " + _OM_SPEC,
    "Pricebook2": _SALESFORCE_BEN, "PricebookEntry": _SALESFORCE_BEN,
    "Location": _OM_SPEC + "; " + _DESCRIBE, "ProcessException": _DESCRIBE,
    "WebCart": _DESCRIBE, "CartDeliveryGroup": _DESCRIBE, "CartValidationOutput": _DESCRIBE,
    "ContactPointAddress": _DESCRIBE,
    "ContentDocument": "Ids of the form 069... in Salesforce's examples (wiki.sfxd.org)",
    "ContentVersion": "flowengine's HardcodedId lint rule table; " + _FISH_OF_PREY,
}
_NOT_DOCUMENTED: Final = ("not documented in any source we found: flowengine's own "
                          "(flowengine.org.prefixes)")


def _build() -> tuple[tuple[ObjectSchema, ...], dict[str, str]]:
    declared = (*core.OBJECTS, *commerce.OBJECTS, *order_management.OBJECTS, *events.OBJECTS)
    documented = {s.key_prefix for s in declared if s.key_prefix}
    generated = generated_prefixes((s.name for s in declared if not s.key_prefix), documented)
    schemas = tuple(with_system_fields(s if s.key_prefix else
                                       replace(s, key_prefix=generated[s.name]))
                    for s in declared)
    sources = {s.name: _DOCUMENTED.get(s.name, _NOT_DOCUMENTED) for s in schemas}
    return schemas, sources


STANDARD_OBJECTS, PREFIX_SOURCES = _build()
_BY_NAME: Final = {s.name: s for s in STANDARD_OBJECTS}
_STANDARD_IDS: Final = frozenset(id(s) for s in STANDARD_OBJECTS)


def standard_object(name: str) -> ObjectSchema | None:
    """The standard object called `name` (exactly), or None."""
    return _BY_NAME.get(name)


def is_standard(schema: ObjectSchema) -> bool:
    """Whether `schema` is one of flowengine's standard objects (not a plug-in's own)."""
    return id(schema) in _STANDARD_IDS


def complete(schemas: Iterable[ObjectSchema]) -> list[ObjectSchema]:
    """`schemas`, followed by the standard objects they refer to, directly or through each
    other, that they do not define themselves — always User (CreatedById, LastModifiedById).
    A standard object's lookup to an object that is neither given nor standard (the Order
    Management objects without the plug-in) holds Ids of any object instead."""
    result = list(schemas)
    names = {s.name for s in result if isinstance(s, ObjectSchema)}
    pending = ["User"] + [f.reference_to for s in result if isinstance(s, ObjectSchema)
                          for f in s.fields if f.reference_to]
    while pending:
        name = pending.pop()
        if name in names or name not in _BY_NAME:
            continue
        names.add(name)
        schema = _BY_NAME[name]
        result.append(schema)
        pending.extend(f.reference_to for f in schema.fields if f.reference_to)
    return [_without_missing_targets(s, names) if isinstance(s, ObjectSchema) and is_standard(s)
            else s for s in result]


def _without_missing_targets(schema: ObjectSchema, names: set[str]) -> ObjectSchema:
    if all(f.reference_to is None or f.reference_to in names for f in schema.fields):
        return schema
    fields = tuple(replace(f, reference_to=None, on_delete="clear")
                   if f.reference_to is not None and f.reference_to not in names and holds_id(f)
                   else f for f in schema.fields)
    return replace(schema, fields=fields)
