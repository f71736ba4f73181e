"""The store's view of the object schemas: validated once, with per-field value conversion.

`Catalog` checks the schemas the plug-ins contribute (names, key prefixes, reference targets,
roll-up definitions), sorts each object's fields by how they get their values, and converts
written and filtered values to the fields' types. Backend-neutral: how values are stored (SQLite's
codecs, say) is the backend's business; `schema_fingerprint` tells a backend when stored
calculated and rolled-up values must be recomputed.
"""
from __future__ import annotations

import contextlib
import graphlib
import hashlib
import json
import re
import types
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any, Final

from flowengine.errors import OrgError, did_you_mean
from flowengine.org import ids
from flowengine.org.fieldtypes import ID_TYPES, holds_id
from flowengine.org.schema import FieldDef, ObjectSchema
from flowengine.org.system import AUDIT_FIELDS, RUNNING_USER, SYSTEM_BY_NAME, AutoNumber, with_system_fields
from flowengine.types import (
    NUMERIC,
    TEXT_LIKE,
    TypeRegistry,
    ValueTypeError,
    convert_literal,
    describe,
    round_to_scale,
)

__all__ = ["Catalog", "FieldError", "NewRecord", "ObjectInfo", "indexed_fields", "schema_fingerprint"]

NAME: Final = re.compile(r"[A-Za-z][A-Za-z0-9_]*")
STORABLE_KINDS: Final = TEXT_LIKE | NUMERIC | {"Boolean", "Date", "DateTime", "Time"}
_NO_TYPES: Final = TypeRegistry()
_UNCONVERTED: Final = object()
_EXACT_INT: Final = 10 ** 15   # a whole number this small is a Decimal of the same digits
# an email address as Salesforce accepts one in an Email field: a local part, one @, a domain of
# dot-separated labels, any letters (the exact rule is not documented; this refuses what is
# plainly no address); empty text is no value, as Salesforce reads it
_EMAIL: Final = re.compile(r"[^\s@]+@[^\s@.]+(\.[^\s@.]+)+")   # Unicode too (Summer '20)


class FieldError(OrgError):
    """A problem with one field of one object; `str()` reads `Object.Field: detail`, followed by
    `(record ...)` when `record` names the record of a write (its Id, or its place in a batch)."""

    def __init__(self, object_name: str, field_name: str, detail: str, error_code: str,
                 record: str | None = None) -> None:
        self.object_name = object_name
        self.field_name = field_name
        self.detail = detail
        self.record = record
        where = f" (record {record})" if record else ""
        super().__init__(f"{object_name}.{field_name}: {detail}{where}", error_code)

    def __reduce__(self) -> tuple[object, ...]:
        return (type(self), (self.object_name, self.field_name, self.detail, self.error_code,
                             self.record))

    def of_record(self, record: str) -> FieldError:
        """The same error, naming the record it is about."""
        return FieldError(self.object_name, self.field_name, self.detail, self.error_code, record)


@dataclass(frozen=True)
class ObjectInfo:
    """One object as the store uses it: its schema and its fields sorted by how they get values."""

    schema: ObjectSchema
    stored: tuple[FieldDef, ...]
    calculated: tuple[FieldDef, ...]    # in declaration order: later ones see earlier results
    rollups: tuple[FieldDef, ...]
    columns: tuple[str, ...]            # "Id", then the fields in declaration order
    by_name: Mapping[str, FieldDef]
    unique: tuple[FieldDef, ...] = ()           # stored fields whose values must differ
    auto_numbers: tuple[FieldDef, ...] = ()     # numbered by the store on insert

    @property
    def name(self) -> str:
        return self.schema.name

    def field(self, name: str) -> FieldDef:
        """The field called `name`, or FieldError(INVALID_FIELD) with a did-you-mean."""
        found = self.by_name.get(name) if isinstance(name, str) else None
        if found is None:
            hint = did_you_mean(str(name), self.columns)
            raise FieldError(self.name, str(name), f"no such field on {self.name}{hint}",
                             "INVALID_FIELD")
        return found


@dataclass(frozen=True)
class NewRecord:
    """How a new record of an object starts: `start`, Id and every field with its default
    (None where there is none); the fields that take the running user and the time of the
    write; the required fields to check once the record's own values are in."""

    start: Mapping[str, Any]
    user_fields: tuple[str, ...]
    time_fields: tuple[str, ...]
    required: tuple[FieldDef, ...]


class Catalog:
    """Every object the store knows, validated; raises OrgError(ORG_SCHEMA) for a broken schema."""

    def __init__(self, schemas: Iterable[ObjectSchema]) -> None:
        from flowengine.org.standard import complete

        self.objects: dict[str, ObjectInfo] = {}
        problems: list[str] = []
        by_prefix: dict[str, str] = {}
        for schema in complete(schemas):
            if not isinstance(schema, ObjectSchema):
                problems.append(f"{schema!r} is not an ObjectSchema")
                continue
            problems += _object_problems(schema, self.objects, by_prefix)
            if schema.name not in self.objects:
                self.objects[schema.name] = _compile(with_system_fields(schema))
                by_prefix.setdefault(schema.key_prefix, schema.name)
        for info in self.objects.values():
            problems += _reference_problems(info.schema, self.objects)
        if problems:
            raise OrgError("invalid org object schemas:\n  " + "\n  ".join(problems), "ORG_SCHEMA")
        self.rollup_filters = {(info.name, f.name): _rollup_filter(self, info, f)
                               for info in self.objects.values() for f in info.rollups}
        self.by_prefix = {info.schema.key_prefix: name for name, info in self.objects.items()}
        # (object, field) → its default as the field's type, converted once (not the defaults
        # the store fills in itself: the running user, auto-numbers)
        self._new_records: dict[str, NewRecord] = {}
        self._converters: dict[tuple[str, bool], Mapping[str, Callable[[Any], Any]]] = {}
        self.defaults = {(info.name, f.name): self.convert(info, f, f.default)
                         for info in self.objects.values() for f in info.stored
                         if f.default is not None and not isinstance(f.default, AutoNumber)
                         and not isinstance(f.default, type(RUNNING_USER))}
        # object → the stored reference fields of other objects (and its own) that point at it
        self.children: dict[str, list[tuple[ObjectInfo, FieldDef]]] = {}
        for info in self.objects.values():
            for fdef in info.stored if not info.schema.is_event else ():   # events: not stored
                if fdef.reference_to is not None:
                    self.children.setdefault(fdef.reference_to, []).append((info, fdef))

    def new_record(self, info: ObjectInfo) -> NewRecord:
        """How a new record of `info`'s object starts (see `NewRecord`), worked out once."""
        found = self._new_records.get(info.name)
        if found is None:
            start: dict[str, Any] = {"Id": None}
            users, times = [], []
            for fdef in info.schema.fields:
                start[fdef.name] = self.defaults.get((info.name, fdef.name))
                if fdef.default is RUNNING_USER or (SYSTEM_BY_NAME.get(fdef.name) is fdef and
                                                    fdef.reference_to is not None):
                    users.append(fdef.name)
                elif SYSTEM_BY_NAME.get(fdef.name) is fdef and fdef.default is None:
                    times.append(fdef.name)
            found = self._new_records[info.name] = NewRecord(
                start, tuple(users), tuple(times), tuple(f for f in info.stored if f.required))
        return found

    def object(self, name: str) -> ObjectInfo:
        """The object called `name`, or OrgError(INVALID_TYPE) with a did-you-mean."""
        info = self.objects.get(name) if isinstance(name, str) else None
        if info is None:
            hint = did_you_mean(str(name), self.objects)
            known = "" if hint or not self.objects else \
                f" (known objects: {', '.join(sorted(self.objects))})"
            raise OrgError(f"unknown object {name!r}{hint}{known}", "INVALID_TYPE")
        return info

    def lookup(self, name: str) -> ObjectInfo | None:
        """Case-insensitive lookup (for the command line)."""
        return self.objects.get(name) or next(
            (i for n, i in self.objects.items() if n.lower() == name.lower()), None)

    def dependency_order(self) -> list[str]:
        """Object names, referenced objects (parents) first; cycles are broken arbitrarily."""
        # system fields (CreatedById...) point every object at User: not a dependency
        graph = {name: {f.reference_to for f in info.stored
                        if f.reference_to in self.objects and not f.read_only}
                 - {name} for name, info in self.objects.items()}
        try:
            return list(graphlib.TopologicalSorter(graph).static_order())
        except graphlib.CycleError:
            return list(self.objects)

    def converters(self, info: ObjectInfo, audit: bool = False
                   ) -> Mapping[str, Callable[[Any], Any]]:
        """Field name → a function converting a written value as `convert` does (same values,
        same errors), for every field a write may set: not computed, not read-only (with
        `audit`, the audit fields too). Worked out once per object: the common values — text
        that fits its field, a Decimal for a number — take a short path decided here, anything
        else goes through `convert`."""
        key = (info.name, audit)
        found = self._converters.get(key)
        if found is None:
            found = self._converters[key] = {
                f.name: self._converter(info, f) for f in info.schema.fields
                if not f.is_computed and (not f.read_only or (audit and f.name in AUDIT_FIELDS))}
        return found

    def _converter(self, info: ObjectInfo, fdef: FieldDef) -> Callable[[Any], Any]:
        convert = self.convert
        kind = fdef.type.kind
        if fdef.reference_to is not None or fdef.sf_type in ID_TYPES:
            return lambda value: convert(info, fdef, value)
        if kind in TEXT_LIKE and kind != "Multipicklist":
            length = fdef.length if fdef.length is not None else -1
            allowed = frozenset(fdef.picklist) if fdef.picklist and fdef.restricted else None
            email = fdef.sf_type == "Email"

            def text(value: Any) -> Any:
                # exact text is its own conversion (text_of gives it back): only the checks
                if value.__class__ is str and (length < 0 or len(value) <= length) \
                        and (allowed is None or value in allowed) \
                        and (not email or _EMAIL.fullmatch(value)):
                    return value
                return convert(info, fdef, value)
            return text
        if kind in NUMERIC and not fdef.picklist:
            scale = fdef.type.effective_scale
            # `_check_precision`'s bound, so that a number that fits is not asked about
            digits = fdef.precision - (scale or 0) if fdef.precision is not None else None

            def number(given: Any) -> Any:
                value = given
                if value.__class__ is int and -_EXACT_INT < value < _EXACT_INT:
                    value = Decimal(value)   # what convert_literal makes of it, for its digits
                if value.__class__ is Decimal and value.is_finite():   # as `convert` does it
                    try:
                        converted = round_to_scale(value, scale)
                    except InvalidOperation:    # too many digits: `convert` says so
                        return convert(info, fdef, given)
                    if digits is not None and converted.adjusted() >= digits:
                        _check_precision(info, fdef, converted)
                    return converted
                return convert(info, fdef, given)
            return number
        return lambda value: convert(info, fdef, value)

    def convert(self, info: ObjectInfo, fdef: FieldDef, value: Any) -> Any:
        """A written or filtered value as the field's type. References become 18-character Ids
        of the referenced object (existence is the caller's check): an Id of another object is
        FIELD_INTEGRITY_EXCEPTION, as Salesforce says of a lookup to the wrong object. Text
        longer than the field holds is STRING_TOO_LONG, a number with more digits than its
        precision NUMBER_OUTSIDE_VALID_RANGE, a value a restricted picklist does not list
        INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST, text that is no email address in an Email field
        INVALID_EMAIL_ADDRESS."""
        if value is None:
            return None
        if fdef.reference_to is not None or fdef.sf_type in ID_TYPES:
            return self._convert_reference(info, fdef, value)
        converted: Any = _UNCONVERTED
        if value.__class__ is Decimal and fdef.type.kind in NUMERIC and value.is_finite() \
                and not fdef.picklist:  # the common case, as convert_literal would do it
            with contextlib.suppress(InvalidOperation):   # too many digits: convert_literal says so
                converted = round_to_scale(value, fdef.type.effective_scale)
        if converted is _UNCONVERTED:
            try:
                converted = convert_literal(value, fdef.type, _NO_TYPES)
            except ValueTypeError as exc:
                raise FieldError(info.name, fdef.name, str(exc),
                                 "INVALID_TYPE_ON_FIELD_IN_RECORD") from None
        if converted is None:
            return None
        if fdef.precision is not None and fdef.type.kind in NUMERIC:
            _check_precision(info, fdef, converted)
        elif fdef.length is not None and converted.__class__ is str and \
                len(converted) > fdef.length:
            raise FieldError(info.name, fdef.name, f"data value too large: {describe(converted)} "
                             f"has {len(converted):,} characters (max length={fdef.length})",
                             "STRING_TOO_LONG")
        if fdef.sf_type == "Email" and converted and not _EMAIL.fullmatch(converted):
            raise FieldError(info.name, fdef.name, f"invalid email address: {converted}",
                             "INVALID_EMAIL_ADDRESS")
        if fdef.picklist and fdef.restricted:
            chosen = converted.split(";") if fdef.type.kind == "Multipicklist" else [converted]
            for item in chosen:
                if item not in fdef.picklist:
                    raise FieldError(info.name, fdef.name,
                                     f"{describe(item)} is not one of its picklist values "
                                     f"({', '.join(fdef.picklist)}){did_you_mean(item, fdef.picklist)}",
                                     "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST")
        return converted

    def _convert_reference(self, info: ObjectInfo, fdef: FieldDef, value: Any) -> str | None:
        if value is None or value == "":
            return None
        try:
            record_id = ids.normalize_id(value)
        except OrgError as exc:
            raise FieldError(info.name, fdef.name, exc.message, exc.error_code) from None
        if fdef.reference_to is None:
            return record_id
        target = self.objects[fdef.reference_to].schema
        if record_id[:3] != target.key_prefix:
            other = self.by_prefix.get(record_id[:3])
            found = f"the Id of {ids.article(other)} {other} record" if other else \
                f"an Id with key prefix {record_id[:3]!r}, of no object in the org"
            raise FieldError(info.name, fdef.name, f"id value of incorrect type: {value} is "
                             f"{found}; expected {ids.article(target.name)} {target.name} Id (key "
                             f"prefix {target.key_prefix})", "FIELD_INTEGRITY_EXCEPTION")
        return record_id

    def convert_id(self, info: ObjectInfo, value: Any) -> str:
        """A record Id of `info`'s object, 18 characters (OrgError INVALID_ID otherwise)."""
        return ids.normalize_id(value, info.schema.key_prefix, info.name)


def _check_precision(info: ObjectInfo, fdef: FieldDef, value: Decimal) -> None:
    """A number fits when its digits before the point fit `precision - scale`."""
    assert fdef.precision is not None
    integer_digits = fdef.precision - (fdef.type.effective_scale or 0)
    if not value.is_zero() and value.adjusted() >= integer_digits:
        raise FieldError(info.name, fdef.name, f"value outside of valid range on numeric field: "
                         f"{value} has {value.adjusted() + 1} digits before the decimal point; "
                         f"the field holds {integer_digits} (precision {fdef.precision}, "
                         f"scale {fdef.type.effective_scale or 0})", "NUMBER_OUTSIDE_VALID_RANGE")


# ---------------------------------------------------------------------------------------------
# Validation

def _object_problems(schema: ObjectSchema, seen: Mapping[str, ObjectInfo],
                     by_prefix: Mapping[str, str]) -> list[str]:
    problems = []
    where = f"object {schema.name!r}"
    if not isinstance(schema.name, str) or not NAME.fullmatch(schema.name):
        problems.append(f"{where}: the name must be letters, digits and underscores")
    elif schema.name.lower() in {n.lower() for n in seen}:
        problems.append(f"{where} is defined twice (object names ignore case)")
    if not ids.is_key_prefix(schema.key_prefix):
        problems.append(f"{where}: key prefix {schema.key_prefix!r} is not 3 letters or digits")
    elif schema.key_prefix in by_prefix:
        problems.append(f"{where}: key prefix {schema.key_prefix!r} is already used by "
                        f"{by_prefix[schema.key_prefix]}")
    names: set[str] = set()
    for fdef in schema.fields:
        fwhere = f"{schema.name}.{fdef.name}"
        if not isinstance(fdef.name, str) or not NAME.fullmatch(fdef.name):
            problems.append(f"{fwhere}: field names must be letters, digits and underscores")
            continue
        if fdef.name.lower() == "id" or fdef.name.lower() in names:
            problems.append(f"{fwhere}: duplicate field (Id is implicit; names ignore case)")
        names.add(fdef.name.lower())
        if fdef.type.kind not in STORABLE_KINDS or fdef.type.collection:
            problems.append(f"{fwhere}: type {fdef.type} cannot be stored in the org")
        if fdef.calculated is not None and fdef.rollup is not None:
            problems.append(f"{fwhere}: a field is calculated or rolled up, not both")
        if fdef.rollup is not None and fdef.type.kind not in NUMERIC:
            problems.append(f"{fwhere}: a roll-up field must be a Number or Currency")
        if fdef.reference_to is not None and fdef.type.kind != "Text":
            problems.append(f"{fwhere}: a reference field must have type Text")
        problems += _attribute_problems(fwhere, fdef)
    return problems


_ON_DELETE: Final = ("clear", "cascade", "restrict")


def _attribute_problems(fwhere: str, fdef: FieldDef) -> list[str]:
    """Salesforce's attributes of a field (length, precision, on_delete...) that do not fit."""
    problems = []
    for name in ("length", "precision"):
        value = getattr(fdef, name)
        if value is not None and (not isinstance(value, int) or isinstance(value, bool)
                                  or value < 1):
            problems.append(f"{fwhere}: {name} must be a whole number of at least 1, "
                            f"found {describe(value)}")
    scale = fdef.type.effective_scale
    if isinstance(fdef.precision, int) and scale is not None and scale > fdef.precision:
        problems.append(f"{fwhere}: scale {scale} is larger than precision {fdef.precision}")
    if fdef.on_delete not in _ON_DELETE:
        problems.append(f"{fwhere}: on_delete must be one of {', '.join(_ON_DELETE)}, found "
                        f"{describe(fdef.on_delete)}")
    if fdef.unique and (fdef.is_computed or fdef.type.kind not in STORABLE_KINDS - {"Boolean"}):
        problems.append(f"{fwhere}: only a stored text, number or date field can be unique")
    if isinstance(fdef.default, AutoNumber):
        problem = fdef.default.problem()
        if problem:
            problems.append(f"{fwhere}: {problem}")
    return problems


def _reference_problems(schema: ObjectSchema, objects: Mapping[str, ObjectInfo]) -> list[str]:
    problems = []
    for fdef in schema.fields:
        fwhere = f"{schema.name}.{fdef.name}"
        if fdef.reference_to is not None and fdef.reference_to not in objects:
            problems.append(f"{fwhere} refers to unknown object {fdef.reference_to!r}"
                            f"{did_you_mean(fdef.reference_to, objects)}")
        elif fdef.reference_to is not None and objects[fdef.reference_to].schema.is_event:
            problems.append(f"{fwhere} refers to {fdef.reference_to}, a platform event: events "
                            "are not stored, so no record can refer to one")
        rollup = fdef.rollup
        if rollup is None:
            continue
        child = objects.get(rollup.child_object)
        if child is None:
            problems.append(f"{fwhere} rolls up unknown object {rollup.child_object!r}")
            continue
        fk = child.schema.field(rollup.foreign_key)
        if fk is None or fk.reference_to != schema.name:
            problems.append(f"{fwhere}: {rollup.child_object}.{rollup.foreign_key} is not a "
                            f"reference to {schema.name}")
        if rollup.op == "sum":
            summed = child.schema.field(rollup.child_field or "")
            if summed is None or summed.type.kind not in NUMERIC:
                problems.append(f"{fwhere}: sums {rollup.child_object}.{rollup.child_field}, "
                                "which is not a Number or Currency field")
        elif rollup.op != "count":
            problems.append(f"{fwhere}: roll-up op must be 'sum' or 'count', not {rollup.op!r}")
        for key in rollup.where:
            if key != "Id" and child.schema.field(key) is None:
                problems.append(f"{fwhere}: roll-up filter names unknown field "
                                f"{rollup.child_object}.{key}")
    return problems


def _rollup_filter(catalog: Catalog, parent: ObjectInfo,
                   fdef: FieldDef) -> dict[str, list[Any]]:
    """The roll-up's `where`, converted to the child's field types once (a list means IN)."""
    assert fdef.rollup is not None
    child = catalog.objects[fdef.rollup.child_object]
    converted = {}
    for key, wanted in fdef.rollup.where.items():
        values = list(wanted) if isinstance(wanted, (list, tuple, set, frozenset)) else [wanted]
        try:
            converted[key] = [v if key == "Id" else catalog.convert(child, child.field(key), v)
                              for v in values]
        except OrgError as exc:
            raise OrgError(f"invalid org object schemas:\n  {parent.name}.{fdef.name}: roll-up "
                           f"filter: {exc}", "ORG_SCHEMA") from None
    return converted


def _compile(schema: ObjectSchema) -> ObjectInfo:
    stored = tuple(f for f in schema.fields if not f.is_computed)
    return ObjectInfo(
        schema=schema,
        stored=stored,
        calculated=tuple(f for f in schema.fields if f.calculated is not None),
        rollups=tuple(f for f in schema.fields if f.rollup is not None),
        columns=("Id", *(f.name for f in schema.fields)),
        by_name={f.name: f for f in schema.fields},
        unique=tuple(f for f in stored if f.unique),
        auto_numbers=tuple(f for f in stored if isinstance(f.default, AutoNumber)))


# ---------------------------------------------------------------------------------------------
# Indexes: what every backend indexes

# fields Salesforce indexes on every object ("Indexes" in the Query & Search Optimization
# Cheat Sheet): Id (the primary key), Name, CreatedDate, SystemModstamp, lookups and
# master-detail fields, unique fields
INDEXED_NAMES: Final = frozenset({"Name", "CreatedDate", "SystemModstamp"})
AUDIT_USERS: Final = frozenset({"CreatedById", "LastModifiedById"})


def indexed_fields(info: ObjectInfo) -> list[FieldDef]:
    """The fields of an object that the store indexes (not CreatedById and LastModifiedById:
    nearly every record names the same few users, so such an index selects little and costs
    every write)."""
    return [f for f in info.stored
            if (holds_id(f) and f.name not in AUDIT_USERS) or f.unique or f.name in INDEXED_NAMES]


# ---------------------------------------------------------------------------------------------
# Fingerprint: when it changes, a backend recomputes every stored calculated and rolled-up value

def schema_fingerprint(catalog: Catalog) -> str:
    """A digest of what stored values depend on: types, roll-ups and calculation code."""
    parts = []
    for name in sorted(catalog.objects):
        schema = catalog.objects[name].schema
        parts.append([name, schema.key_prefix, [
            [f.name, str(f.type), f.type.scale, f.reference_to, repr(f.rollup),
             _code_digest(f.calculated), f.unique, f.sf_type] for f in schema.fields]])
    return hashlib.sha256(json.dumps(parts, default=str).encode()).hexdigest()[:24]


def _code_digest(fn: Any) -> str | None:
    if fn is None:
        return None
    code = getattr(fn, "__code__", None)
    name = f"{getattr(fn, '__module__', '')}.{getattr(fn, '__qualname__', type(fn).__name__)}"
    if code is None:
        return name
    digest = hashlib.sha256()
    for cell in getattr(fn, "__closure__", None) or ():  # plain values a closure captured
        try:
            value = cell.cell_contents
        except ValueError:
            continue
        if value is None or isinstance(value, (bool, int, float, str, Decimal)):
            digest.update(repr(value).encode())
    stack = [code]
    while stack:
        current = stack.pop()
        digest.update(current.co_code)
        for const in current.co_consts:
            if isinstance(const, types.CodeType):
                stack.append(const)
            else:
                digest.update(repr(const).encode())
        digest.update(repr(current.co_names).encode())
    return f"{name}:{digest.hexdigest()[:16]}"
