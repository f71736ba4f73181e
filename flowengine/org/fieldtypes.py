"""Salesforce's field types (Metadata API `CustomField.type`) as org-store fields.

One table says, for every Salesforce field type, which flow type its values have and how many
characters it holds by default; `make_field` builds a `FieldDef` from Salesforce's own terms. The
standard objects (`flowengine.org.standard`), the Salesforce DX metadata reader and the schema
file (`flowengine.org.metadata`) all build their fields with it, so a Phone field is the same
wherever it is declared. Backend-neutral.
"""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Final, Literal

from flowengine.org.schema import FieldDef
from flowengine.types import FlowType

__all__ = ["FIELD_TYPES", "ID_TYPES", "NUMBER_TYPES", "PICKLIST_TYPES", "TEXT_TYPES", "FieldType",
           "holds_id", "make_field"]

OnDelete = Literal["clear", "cascade", "restrict"]


@dataclass(frozen=True)
class FieldType:
    """One Salesforce field type: the flow type of its values and its default length."""

    kind: str                        # flow type kind: Text, Number, Currency, Boolean...
    length: int | None = None        # characters when the field does not say (text types)
    needs_length: bool = False       # the metadata must give <length> (Text, LongTextArea)


# Salesforce field types (Metadata API CustomField `type`, Object Reference field types); the
# lengths are Salesforce's fixed or default sizes ("Custom Field Types" in Salesforce Help:
# Email 80, Phone 40, URL 255, Text Area 255, Long Text Area up to 131,072)
FIELD_TYPES: Final[dict[str, FieldType]] = {
    "Text": FieldType("Text", 255, needs_length=True),
    "TextArea": FieldType("Text", 255),
    "LongTextArea": FieldType("Text", 32_768, needs_length=True),
    "Html": FieldType("Text", 32_768, needs_length=True),
    "EncryptedText": FieldType("Text", 175, needs_length=True),
    "Email": FieldType("Text", 80),
    "Phone": FieldType("Text", 40),
    "Url": FieldType("Text", 255),
    "AutoNumber": FieldType("Text", 255),
    "Number": FieldType("Number"),
    "Percent": FieldType("Number"),
    "Currency": FieldType("Currency"),
    "Date": FieldType("Date"),
    "DateTime": FieldType("DateTime"),
    "Time": FieldType("Time"),
    "Checkbox": FieldType("Boolean"),
    "Picklist": FieldType("Picklist", 255),
    "MultiselectPicklist": FieldType("Multipicklist", 4_099),
    "Lookup": FieldType("Text", 18),
    "MasterDetail": FieldType("Text", 18),
    "Hierarchy": FieldType("Text", 18),
    "Id": FieldType("Text", 18),
}
TEXT_TYPES: Final = frozenset(n for n, t in FIELD_TYPES.items() if t.kind == "Text") - \
    {"Lookup", "MasterDetail", "Hierarchy", "Id"}
NUMBER_TYPES: Final = frozenset({"Number", "Percent", "Currency"})
PICKLIST_TYPES: Final = frozenset({"Picklist", "MultiselectPicklist"})
# fields that hold a record Id: a lookup to one object, or (without `reference_to`) to several
ID_TYPES: Final = frozenset({"Lookup", "MasterDetail", "Hierarchy", "Id"})
# Salesforce's default precision of a Number or Currency field: 18 digits
DEFAULT_PRECISION: Final = 18


def holds_id(fdef: FieldDef) -> bool:
    """Whether the field holds record Ids (a lookup, master-detail or polymorphic reference)."""
    return fdef.reference_to is not None or fdef.sf_type in ID_TYPES


def make_field(name: str, sf_type: str, *, length: int | None = None,
               precision: int | None = None, scale: int | None = None, required: bool = False,
               reference_to: str | None = None, relationship_name: str | None = None,
               on_delete: OnDelete | None = None, picklist: Iterable[str] = (),
               restricted: bool = False, default: Any = None, read_only: bool = False,
               unique: bool = False, label: str = "", description: str = "") -> FieldDef:
    """A field as Salesforce describes it: its API `name`, its Salesforce type (a key of
    `FIELD_TYPES`) and the attributes that type takes. A MasterDetail field is required and its
    records are deleted with their master (`on_delete="cascade"`); a Lookup's `on_delete`
    defaults to clearing it; a Checkbox defaults to false. Raises ValueError for an unknown
    type."""
    spec = FIELD_TYPES.get(sf_type)
    if spec is None:
        raise ValueError(f"unknown Salesforce field type {sf_type!r}")
    if spec.kind in ("Number", "Currency"):
        if scale is None and spec.kind == "Currency":
            scale = 2
        flow_type = FlowType(spec.kind, scale=scale)
    else:
        flow_type = FlowType(spec.kind)
    if sf_type == "MasterDetail":
        required = True
        on_delete = on_delete or "cascade"
    if sf_type == "Checkbox" and default is None:
        default = False
    text_length = length if length is not None else spec.length
    return FieldDef(
        name, flow_type, required=required, reference_to=reference_to, default=default,
        picklist=tuple(picklist), description=description, sf_type=sf_type,
        length=text_length if spec.kind in ("Text", "Picklist", "Multipicklist") else None,
        relationship_name=relationship_name, on_delete=on_delete or "clear",
        read_only=read_only, unique=unique, restricted=restricted, label=label,
        precision=precision if sf_type in NUMBER_TYPES else None)
