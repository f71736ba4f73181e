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
    Picklist...); `reference_to` marks an Id field pointing at another object.

    Salesforce's own description of the field: `sf_type` (Text, TextArea, LongTextArea, Number,
    Currency, Percent, Date, DateTime, Checkbox, Picklist, MultiselectPicklist, Email, Phone,
    Url, Lookup, MasterDetail; empty: derived from `type`), `length` (the most characters a text
    field holds), `relationship_name` (of a lookup: `{!item.OrderSummary.Status}` reads through
    `OrderSummaryId`), `on_delete` (what deleting the referenced record does to this record:
    clear the field, delete this record — master-detail — or refuse the delete), `read_only`
    (system fields the store sets: CreatedDate...), `unique`, `restricted` (a picklist that
    refuses other values), `precision` (the most digits a Number, Currency or Percent field
    holds, integer and decimal places together; its decimal places are `type.scale`)."""

    name: str
    type: FlowType
    required: bool = False
    reference_to: str | None = None
    default: Any = None
    picklist: tuple[str, ...] = ()
    calculated: Callable[[Mapping[str, Any]], Any] | None = None
    rollup: Rollup | None = None
    description: str = ""
    sf_type: str = ""
    length: int | None = None
    relationship_name: str | None = None
    on_delete: Literal["clear", "cascade", "restrict"] = "clear"
    read_only: bool = False
    unique: bool = False
    restricted: bool = True
    label: str = ""
    precision: int | None = None

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
    # a platform event (`Name__e`, or a standard event such as OrderSummaryCreatedEvent):
    # published by creating it, never stored as a record that can be queried
    is_event: bool = False

    def field(self, name: str) -> FieldDef | None:
        return next((f for f in self.fields if f.name == name), None)

    def field_types(self) -> dict[str, FlowType]:
        types = {"Id": FlowType("Text")}
        types.update({f.name: f.type for f in self.fields})
        return types
