"""Object schemas that plug-ins contribute to the org store.

A field is stored, calculated from its own record (`calculated`), or rolled up from child records
(`rollup`). Calculated and rolled-up fields cannot be set by fixtures or writes; the store keeps
them up to date on every write, so reads and queries always see current values.
"""
from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from flowengine.types import FlowType


@dataclass(frozen=True)
class Rollup:
    """A parent field summarising its children: `sum` of `child_field` (or `count`) over the
    `child_object` records whose `foreign_key` points at the parent and that match `where`."""

    child_object: str
    foreign_key: str
    child_field: str | None = None
    op: Literal["sum", "count"] = "sum"
    where: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class FieldDef:
    """One field of an object. `type` is a flow type (Text, Number, Boolean, Date, DateTime,
    Picklist...); `reference_to` marks an Id field pointing at another object."""

    name: str
    type: FlowType
    required: bool = False
    reference_to: str | None = None
    default: Any = None
    picklist: tuple[str, ...] = ()
    calculated: Callable[[Mapping[str, Any]], Any] | None = None
    rollup: Rollup | None = None
    description: str = ""

    @property
    def is_computed(self) -> bool:
        return self.calculated is not None or self.rollup is not None


@dataclass(frozen=True)
class ObjectSchema:
    """An SObject type: API name, 3-character Id key prefix, fields (Id is implicit)."""

    name: str
    key_prefix: str
    fields: tuple[FieldDef, ...]
    label: str = ""
    description: str = ""

    def field(self, name: str) -> FieldDef | None:
        return next((f for f in self.fields if f.name == name), None)

    def field_types(self) -> dict[str, FlowType]:
        types = {"Id": FlowType("Text")}
        types.update({f.name: f.type for f in self.fields})
        return types
