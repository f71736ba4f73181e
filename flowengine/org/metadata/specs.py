"""Objects and fields as a project declares them, and how they become schemas.

The Salesforce DX reader (`dx.py`) and the schema file reader (`schemafile.py`) both produce
`ObjectSpec`s — the attributes of each object and field with Salesforce's metadata names
(`type`, `length`, `precision`, `referenceTo`, `deleteConstraint`...) and where each one stands
in its file — and `build_objects` turns them into `ObjectSchema`s with the same rules, every
problem with its file, line and column:

- a custom object (`Name__c`) gets a Name field (Text(80), required as Salesforce requires a
  record name, or an Auto Number when its `nameField` says so), an OwnerId unless a
  master-detail field or `sharingModel: ControlledByParent` says its master owns it, and a
  generated key prefix (`flowengine.org.prefixes`) unless the schema file gives `keyPrefix`;
- a platform event (`Name__e`) is an event (`is_event`) with the fields every event has;
- a custom metadata type (`Name__mdt`) gets DeveloperName, MasterLabel and Label;
- the fields of an object that already exists (a standard object: `objects/Account/fields/
  Rating__c.field-meta.xml`; or a plug-in's) are added to it; a field it already has keeps its
  definition, taking only the picklist values the project lists.
"""
from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from decimal import Decimal, InvalidOperation
from typing import Any, Final

from flowengine.errors import Problem, did_you_mean
from flowengine.org.fieldtypes import (
    FIELD_TYPES,
    ID_TYPES,
    NUMBER_TYPES,
    PICKLIST_TYPES,
    OnDelete,
    make_field,
)
from flowengine.org.prefixes import generated_prefixes
from flowengine.org.schema import FieldDef, ObjectSchema, Rollup
from flowengine.org.system import EVENT_FIELDS, RUNNING_USER, AutoNumber

__all__ = ["SUPPORTED_TYPES", "FieldSpec", "ObjectSpec", "Spot", "build_objects"]

NAME: Final = re.compile(r"[A-Za-z][A-Za-z0-9_]*")
# what Salesforce's deleteConstraint says a delete of the referenced record does to the record
DELETE_CONSTRAINTS: Final[Mapping[str, OnDelete]] = {"SetNull": "clear", "Restrict": "restrict",
                                                     "Cascade": "cascade"}
EXTRA_TYPES: Final = ("Summary", "Location")   # roll-up summaries; geolocations (two numbers)
SUPPORTED_TYPES: Final = tuple(t for t in FIELD_TYPES if t != "Id") + EXTRA_TYPES
MAX_TEXT_LENGTH: Final = 255
MAX_LONG_TEXT_LENGTH: Final = 131_072
MAX_PRECISION: Final = 18
SUMMARY_OPERATIONS: Final = ("sum", "count")


@dataclass(frozen=True)
class Spot:
    """Where something stands: a file, and a line and column in it when known."""

    file: str
    line: int | None = None
    column: int | None = None


@dataclass
class FieldSpec:
    """A field as declared: its attributes (metadata name → value) and where each stands."""

    name: str
    at: Spot
    attrs: dict[str, Any] = field(default_factory=dict)
    spots: dict[str, Spot] = field(default_factory=dict)
    values: list[tuple[str, bool]] = field(default_factory=list)   # picklist: (value, default)
    filters: list[tuple[str, str, str]] = field(default_factory=list)   # summary: field op value
    # Salesforce's metadata rules in full (a Text field needs a length); the schema file, written
    # by hand, lets a Text field default to 255 characters
    strict: bool = True

    def spot(self, attr: str) -> Spot:
        return self.spots.get(attr, self.at)


@dataclass
class ObjectSpec:
    """An object as declared. `declared` is False when a project only adds fields to it."""

    name: str
    at: Spot
    declared: bool = True
    attrs: dict[str, Any] = field(default_factory=dict)
    spots: dict[str, Spot] = field(default_factory=dict)
    fields: list[FieldSpec] = field(default_factory=list)

    def spot(self, attr: str) -> Spot:
        return self.spots.get(attr, self.at)


class _Problems:
    def __init__(self) -> None:
        self.found: list[Problem] = []

    def add(self, at: Spot, message: str) -> None:
        self.found.append(Problem("error", "ORG_SCHEMA", message, at.file, at.line, at.column))


def build_objects(specs: Iterable[ObjectSpec], base: Mapping[str, ObjectSchema]
                  ) -> tuple[dict[str, ObjectSchema], list[Problem]]:
    """The schemas the specs declare or extend (name → schema), given the objects that exist
    already (`base`: standard and plug-in objects), and every problem found."""
    specs = list(specs)
    problems = _Problems()
    names = set(base) | {s.name for s in specs}
    prefixes = _prefixes(specs, base, problems)
    built: dict[str, ObjectSchema] = {}
    for spec in specs:
        if not NAME.fullmatch(spec.name):
            problems.add(spec.at, f"object name {spec.name!r} is not an API name (letters, "
                         "digits and underscores, starting with a letter)")
            continue
        existing = built.get(spec.name) or base.get(spec.name)
        _check_duplicates(spec, problems)
        fields = [f for fs in spec.fields
                  for f in _fields(spec, fs, names, problems, extending=existing is not None)]
        if existing is not None:
            built[spec.name] = _extended(existing, fields)
        else:
            built[spec.name] = _new_object(spec, prefixes.get(spec.name, ""), fields)
    for spec in specs:          # roll-up summaries need their child objects built first
        for fs in spec.fields:
            if fs.attrs.get("type") == "Summary" and spec.name in built:
                summary = _summary(spec, fs, {**base, **built}, problems)
                if summary is not None:
                    schema = built[spec.name]
                    built[spec.name] = replace(schema, fields=schema.fields + (summary,))
    return built, problems.found


def _prefixes(specs: list[ObjectSpec], base: Mapping[str, ObjectSchema],
              problems: _Problems) -> dict[str, str]:
    taken = {s.key_prefix for s in base.values()}
    given: dict[str, str] = {}
    for spec in specs:
        prefix = spec.attrs.get("keyPrefix")
        if prefix is None or spec.name in base:
            continue
        if not isinstance(prefix, str) or not re.fullmatch(r"[A-Za-z0-9]{3}", prefix):
            problems.add(spec.spot("keyPrefix"), f"keyPrefix must be 3 letters or digits, found "
                         f"{prefix!r}")
        elif prefix in taken:
            owner = next((s.name for s in base.values() if s.key_prefix == prefix), "")
            problems.add(spec.spot("keyPrefix"), f"keyPrefix {prefix!r} is already the prefix "
                         f"of {owner or 'another object'}")
        else:
            given[spec.name] = prefix
            taken.add(prefix)
    new = [s.name for s in specs if s.name not in base and s.name not in given]
    return {**given, **generated_prefixes(new, taken)}


def _new_object(spec: ObjectSpec, prefix: str, fields: list[FieldDef]) -> ObjectSchema:
    is_event = spec.name.endswith("__e")
    own: list[FieldDef] = []
    if spec.name.endswith("__mdt"):
        own += [make_field("DeveloperName", "Text", length=40, required=True, unique=True),
                make_field("MasterLabel", "Text", length=40, required=True),
                make_field("Label", "Text", length=40)]
    elif not is_event:
        own.append(_name_field(spec))
        owned = spec.attrs.get("sharingModel") != "ControlledByParent" and \
            not any(f.sf_type == "MasterDetail" for f in fields)
        if owned:
            own.append(make_field("OwnerId", "Lookup", reference_to="User", required=True,
                                  relationship_name="Owner", default=RUNNING_USER))
    declared = {f.name for f in fields}
    own = [f for f in own if f.name not in declared]
    tail = EVENT_FIELDS if is_event else ()
    return ObjectSchema(spec.name, prefix, tuple(own + fields) + tail,
                        label=str(spec.attrs.get("label") or ""),
                        description=str(spec.attrs.get("description") or ""), is_event=is_event)


def _name_field(spec: ObjectSpec) -> FieldDef:
    name_type = spec.attrs.get("nameField.type", "Text")
    label = str(spec.attrs.get("nameField.label") or "Name")
    if name_type == "AutoNumber":
        display = spec.attrs.get("nameField.displayFormat") or "{0}"
        return make_field("Name", "AutoNumber", read_only=True, label=label,
                          default=AutoNumber(str(display)))
    return make_field("Name", "Text", length=80, label=label, required=True)


def _check_duplicates(spec: ObjectSpec, problems: _Problems) -> None:
    seen: dict[str, FieldSpec] = {}
    for fs in spec.fields:
        first = seen.setdefault(fs.name.lower(), fs)
        if first is not fs:
            problems.add(fs.at, f"{spec.name}.{fs.name}: the field is declared twice (first at "
                         f"{first.at.file}:{first.at.line}; field names ignore case)")


def _extended(schema: ObjectSchema, fields: list[FieldDef]) -> ObjectSchema:
    by_name = {f.name: f for f in schema.fields}
    merged = list(schema.fields)
    for fdef in fields:
        old = by_name.get(fdef.name)
        if old is None:
            merged.append(fdef)
            by_name[fdef.name] = fdef
        elif fdef.picklist:   # a standard field the project customises: its picklist values
            merged[merged.index(old)] = replace(old, picklist=fdef.picklist,
                                                restricted=fdef.restricted)
    return replace(schema, fields=tuple(merged))


def _fields(obj: ObjectSpec, fs: FieldSpec, names: set[str], problems: _Problems,
            extending: bool) -> list[FieldDef]:
    """The definitions a declared field makes (a geolocation makes two; a summary none yet:
    it is built once every object is); none, after adding a problem, when it is wrong."""
    where = f"{obj.name}.{fs.name}"
    if not NAME.fullmatch(fs.name):
        problems.add(fs.at, f"{where}: field name {fs.name!r} is not an API name")
        return []
    sf_type = fs.attrs.get("type")
    if sf_type is None:
        if extending:       # a standard field's file that only customises it
            return [_customised(fs)] if fs.values else []
        problems.add(fs.at, f"{where}: the field has no type; expected one of "
                     f"{', '.join(SUPPORTED_TYPES)}")
        return []
    if sf_type not in SUPPORTED_TYPES:
        problems.add(fs.spot("type"), f"{where}: unknown field type {sf_type!r}; expected one of "
                     f"{', '.join(SUPPORTED_TYPES)}{did_you_mean(str(sf_type), SUPPORTED_TYPES)}")
        return []
    if sf_type == "Summary":
        return []
    if sf_type == "Location":
        return _geolocation(obj, fs, problems)
    before = len(problems.found)
    options = _options(where, fs, sf_type, names, problems)
    if len(problems.found) > before:
        return []
    return [make_field(fs.name, sf_type, **options)]


def _customised(fs: FieldSpec) -> FieldDef:
    return make_field(fs.name, "Picklist", picklist=[v for v, _ in fs.values],
                      restricted=bool(fs.attrs.get("restricted")))


def _options(where: str, fs: FieldSpec, sf_type: str, names: set[str],
             problems: _Problems) -> dict[str, Any]:
    options: dict[str, Any] = {
        "required": _flag(where, fs, "required", problems),
        "unique": _flag(where, fs, "unique", problems),
        "label": str(fs.attrs.get("label") or ""),
        "description": str(fs.attrs.get("description") or ""),
    }
    if fs.attrs.get("formula") is not None:      # computed by Salesforce, not by flowengine
        options["read_only"] = True
    spec = FIELD_TYPES[sf_type]
    length = _number(where, fs, "length", problems)
    if spec.needs_length and sf_type not in ("Html", "EncryptedText") and length is None \
            and fs.strict:
        problems.add(fs.at, f"{where}: a {sf_type} field needs a length")
    limit = MAX_TEXT_LENGTH if sf_type == "Text" else MAX_LONG_TEXT_LENGTH
    if length is not None and spec.kind == "Text" and sf_type not in ID_TYPES:
        if not 1 <= length <= limit:
            problems.add(fs.spot("length"), f"{where}: length {length} is out of range: a "
                         f"{sf_type} field holds 1 to {limit:,} characters")
        options["length"] = length
    if sf_type in NUMBER_TYPES:
        precision = _number(where, fs, "precision", problems)
        scale = _number(where, fs, "scale", problems)
        precision = MAX_PRECISION if precision is None else precision
        if not 1 <= precision <= MAX_PRECISION:
            problems.add(fs.spot("precision"), f"{where}: precision {precision} is out of range "
                         f"(1 to {MAX_PRECISION})")
        if scale is not None and not 0 <= scale <= precision:
            problems.add(fs.spot("scale"), f"{where}: scale {scale} must be between 0 and the "
                         f"precision ({precision})")
        options.update(precision=precision, scale=scale)
    if sf_type in PICKLIST_TYPES:
        options["picklist"] = [v for v, _ in fs.values]
        options["restricted"] = bool(fs.attrs.get("restricted"))
        default = next((v for v, is_default in fs.values if is_default), None)
        if default is not None:
            options["default"] = default
    if sf_type in ("Lookup", "MasterDetail"):
        options.update(_relationship(where, fs, sf_type, names, problems))
    if sf_type == "AutoNumber":
        options.update(read_only=True,
                       default=AutoNumber(str(fs.attrs.get("displayFormat") or "{0}")))
    elif "defaultValue" in fs.attrs and sf_type not in PICKLIST_TYPES:
        options["default"] = _default(fs.attrs["defaultValue"], sf_type)
    return options


def _relationship(where: str, fs: FieldSpec, sf_type: str, names: set[str],
                  problems: _Problems) -> dict[str, Any]:
    target = fs.attrs.get("referenceTo")
    if not target:
        problems.add(fs.at, f"{where}: a {sf_type} field needs referenceTo (the object it "
                     "points at)")
        return {}
    if target not in names:
        problems.add(fs.spot("referenceTo"), f"{where}: referenceTo names unknown object "
                     f"{target!r}{did_you_mean(str(target), names)}")
        return {}
    # a flow reads the parent through the field's relationship: `Account__c` → `Account__r`,
    # as in Salesforce (the metadata's relationshipName names the *child* relationship, the
    # parent's list of children: Account.Invoices__r, which flows do not read)
    options: dict[str, Any] = {"reference_to": target,
                               "relationship_name": fs.name[:-3] + "__r" if fs.name.endswith("__c")
                               else fs.attrs.get("relationshipName") or
                               (fs.name[:-2] if fs.name.endswith("Id") else fs.name)}
    constraint = fs.attrs.get("deleteConstraint")
    if constraint is not None and sf_type == "Lookup":
        if constraint not in DELETE_CONSTRAINTS:
            problems.add(fs.spot("deleteConstraint"), f"{where}: deleteConstraint must be one "
                         f"of {', '.join(DELETE_CONSTRAINTS)}, found {constraint!r}")
        else:
            options["on_delete"] = DELETE_CONSTRAINTS[constraint]
    return options


def _summary(obj: ObjectSpec, fs: FieldSpec, schemas: Mapping[str, ObjectSchema],
             problems: _Problems) -> FieldDef | None:
    """A roll-up summary field: sum or count of child records (through `summaryForeignKey`,
    `Child__c.Parent__c`), filtered by `summaryFilterItems` that test for equality."""
    where = f"{obj.name}.{fs.name}"
    operation = fs.attrs.get("summaryOperation")
    if operation not in SUMMARY_OPERATIONS:
        problems.add(fs.spot("summaryOperation"), f"{where}: summaryOperation {operation!r} is "
                     f"not supported; flowengine rolls up {' and '.join(SUMMARY_OPERATIONS)}")
        return None
    child_name, _, foreign_key = str(fs.attrs.get("summaryForeignKey") or "").partition(".")
    child = schemas.get(child_name)
    fk = child.field(foreign_key) if child else None
    if fk is None or fk.reference_to != obj.name:
        problems.add(fs.spot("summaryForeignKey"), f"{where}: summaryForeignKey "
                     f"{fs.attrs.get('summaryForeignKey')!r} is not a Child.Field that points at "
                     f"{obj.name}")
        return None
    assert child is not None
    summed = None
    if operation == "sum":
        _, _, summed = str(fs.attrs.get("summarizedField") or "").partition(".")
        summed_def = child.field(summed)
        if summed_def is None or summed_def.sf_type not in NUMBER_TYPES:
            problems.add(fs.spot("summarizedField"), f"{where}: summarizedField "
                         f"{fs.attrs.get('summarizedField')!r} is not a number field of "
                         f"{child.name}")
            return None
    where_equal: dict[str, Any] = {}
    for qualified, op, value in fs.filters:
        name = qualified.rpartition(".")[2]          # Child__c.Field__c, or Field__c
        if op != "equals" or child.field(name) is None:
            problems.add(fs.spot("summaryFilterItems"), f"{where}: summary filter {name} {op} "
                         f"{value!r} is not supported (flowengine filters roll-ups by equals on "
                         f"a field of {child.name})")
            return None
        where_equal[name] = value
    result_type = "Number" if summed is None else child.field(summed).sf_type  # type: ignore[union-attr]
    fdef = make_field(fs.name, "Currency" if result_type == "Currency" else "Number",
                      label=str(fs.attrs.get("label") or ""))
    return replace(fdef, rollup=Rollup(child.name, foreign_key, summed, operation, where_equal))


def _geolocation(obj: ObjectSpec, fs: FieldSpec, problems: _Problems) -> list[FieldDef]:
    """A Location field is two numbers: `Name__Latitude__s` and `Name__Longitude__s`."""
    base = fs.name[:-3] if fs.name.endswith("__c") else fs.name
    scale = _number(f"{obj.name}.{fs.name}", fs, "scale", problems)
    return [make_field(f"{base}__{part}__s", "Number", precision=18, scale=scale)
            for part in ("Latitude", "Longitude")]


def _flag(where: str, fs: FieldSpec, attr: str, problems: _Problems) -> bool:
    value = fs.attrs.get(attr, False)
    if isinstance(value, str) and value.lower() in ("true", "false"):
        return value.lower() == "true"
    if not isinstance(value, bool):
        problems.add(fs.spot(attr), f"{where}: {attr} must be true or false, found {value!r}")
        return False
    return value


def _number(where: str, fs: FieldSpec, attr: str, problems: _Problems) -> int | None:
    value = fs.attrs.get(attr)
    if value is None:
        return None
    if isinstance(value, str) and value.strip().isdigit():
        return int(value)
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    problems.add(fs.spot(attr), f"{where}: {attr} must be a whole number, found {value!r}")
    return None


def _default(value: Any, sf_type: str) -> Any:
    """A default value: a literal as the metadata writes it (`true`, `0`, `"Open"`), or None
    for a formula flowengine does not evaluate (`TODAY()`)."""
    if not isinstance(value, str):
        return value
    text = value.strip()
    if sf_type == "Checkbox":
        return text.lower() == "true" if text.lower() in ("true", "false") else None
    if len(text) >= 2 and text[0] == text[-1] and text[0] in "\"'":
        return text[1:-1]
    if sf_type in NUMBER_TYPES:
        try:
            return Decimal(text)
        except InvalidOperation:
            return None
    return None
