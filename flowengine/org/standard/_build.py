"""Short builders for the standard objects' fields, in Salesforce's own terms (see
`flowengine.org.fieldtypes.make_field`). Internal to `flowengine.org.standard`."""
from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from flowengine.org.fieldtypes import OnDelete, make_field
from flowengine.org.schema import FieldDef, ObjectSchema, Rollup
from flowengine.org.system import RUNNING_USER, AutoNumber


def obj(name: str, prefix: str, label: str, *fields: FieldDef, description: str = "",
        is_event: bool = False) -> ObjectSchema:
    return ObjectSchema(name, prefix, tuple(fields), label=label, description=description,
                        is_event=is_event)


def text(name: str, length: int = 255, *, required: bool = False, unique: bool = False,
         read_only: bool = False, default: Any = None, description: str = "") -> FieldDef:
    return make_field(name, "Text", length=length, required=required, unique=unique,
                      read_only=read_only, default=default, description=description)


def area(name: str, length: int = 255) -> FieldDef:
    return make_field(name, "TextArea" if length <= 255 else "LongTextArea", length=length)


def email(name: str = "Email", *, required: bool = False) -> FieldDef:
    return make_field(name, "Email", required=required)


def phone(name: str = "Phone") -> FieldDef:
    return make_field(name, "Phone")


def url(name: str) -> FieldDef:
    return make_field(name, "Url")


def number(name: str, precision: int = 18, scale: int = 0, *, required: bool = False,
           read_only: bool = False, description: str = "") -> FieldDef:
    return make_field(name, "Number", precision=precision, scale=scale, required=required,
                      read_only=read_only, description=description)


def double(name: str) -> FieldDef:
    """A floating-point number of Salesforce's API (latitudes, longitudes): no fixed scale."""
    return make_field(name, "Number", precision=18)


def currency(name: str, *, required: bool = False, read_only: bool = False,
             description: str = "") -> FieldDef:
    return make_field(name, "Currency", precision=18, scale=2, required=required,
                      read_only=read_only, description=description)


def percent(name: str, precision: int = 18, scale: int = 2) -> FieldDef:
    return make_field(name, "Percent", precision=precision, scale=scale)


def date(name: str, *, required: bool = False) -> FieldDef:
    return make_field(name, "Date", required=required)


def datetime(name: str, *, required: bool = False) -> FieldDef:
    return make_field(name, "DateTime", required=required)


def time(name: str) -> FieldDef:
    return make_field(name, "Time")


def check(name: str, default: bool = False, *, read_only: bool = False) -> FieldDef:
    return make_field(name, "Checkbox", default=default, read_only=read_only)


def picklist(name: str, *values: str, required: bool = False, default: str | None = None,
             restricted: bool = False, read_only: bool = False,
             calculated: Callable[[Mapping[str, Any]], Any] | None = None) -> FieldDef:
    """A picklist; Salesforce lets admins add values to most standard picklists, so it takes
    other values too unless `restricted`."""
    fdef = make_field(name, "Picklist", picklist=values, required=required, default=default,
                      restricted=restricted, read_only=read_only)
    return _with(fdef, calculated=calculated) if calculated else fdef


def multi(name: str, *values: str) -> FieldDef:
    return make_field(name, "MultiselectPicklist", picklist=values)


def lookup(name: str, target: str | None, relationship: str | None = None, *,
           required: bool = False, on_delete: OnDelete = "clear",
           read_only: bool = False) -> FieldDef:
    """A lookup to `target` (None: Ids of several objects, a polymorphic lookup). Its
    relationship name is the field's name without `Id` unless given."""
    return make_field(name, "Lookup", reference_to=target, required=required,
                      relationship_name=relationship or (name[:-2] if name.endswith("Id")
                                                         else None),
                      on_delete=on_delete, read_only=read_only)


def master(name: str, target: str, relationship: str | None = None) -> FieldDef:
    """A master-detail relationship: required, and the record is deleted with its master."""
    return make_field(name, "MasterDetail", reference_to=target,
                      relationship_name=relationship or name[:-2])


def owner(*targets: str) -> FieldDef:
    """OwnerId: the running user unless given."""
    return make_field("OwnerId", "Lookup", reference_to="User", required=True,
                      relationship_name="Owner", default=RUNNING_USER,
                      description="Owner of the record: a user" +
                                  (" or a queue" if "Group" in targets else ""))


def auto(name: str, display_format: str) -> FieldDef:
    """An Auto Number field: read-only, numbered by the store."""
    return make_field(name, "AutoNumber", read_only=True, default=AutoNumber(display_format))


def full_name(name: str = "Name", first: str = "FirstName", last: str = "LastName") -> FieldDef:
    """A person's read-only full name: first name, a space, last name (Salesforce's compound
    Name of contacts, leads and users)."""
    def joined(record: Mapping[str, Any]) -> str | None:
        parts = [record.get(first), record.get(last)]
        return " ".join(p for p in parts if p) or None

    return _with(make_field(name, "Text", length=121, read_only=True), calculated=joined)


def calculated(fdef: FieldDef, fn: Callable[[Mapping[str, Any]], Any]) -> FieldDef:
    """The field, computed by the store from the record's other fields."""
    return _with(fdef, calculated=fn)


def rolled_up(fdef: FieldDef, rollup: Rollup) -> FieldDef:
    """The field, rolled up by the store from child records."""
    return _with(fdef, rollup=rollup)


def _with(fdef: FieldDef, **changes: Any) -> FieldDef:
    from dataclasses import replace

    return replace(fdef, **changes)


def address(prefix: str, *, street_length: int = 255) -> tuple[FieldDef, ...]:
    """The parts of a compound address field (`Billing` → BillingStreet, BillingCity...)."""
    return (area(f"{prefix}Street", street_length), text(f"{prefix}City", 40),
            text(f"{prefix}State", 80), text(f"{prefix}PostalCode", 20),
            text(f"{prefix}Country", 80))


GEOCODE_ACCURACY = ("Address", "NearAddress", "Block", "Street", "ExtendedZip", "Zip",
                    "Neighborhood", "City", "County", "State", "Unknown")
LEAD_SOURCES = ("Web", "Phone Inquiry", "Partner Referral", "Purchased List", "Other")
