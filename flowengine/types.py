"""Data types, Apex-defined classes, compatibility (spec 3.4) and value conversion.

Plain dataclasses, no pydantic: plug-ins import this module to declare their actions, and the
catalog commands must start fast.
"""
from __future__ import annotations

import datetime as _dt
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from decimal import (
    ROUND_HALF_EVEN,
    ROUND_HALF_UP,
    Context,
    Decimal,
    DivisionByZero,
    InvalidOperation,
    Overflow,
    getcontext,
)
from typing import Any, Final, Protocol

from flowengine.errors import did_you_mean

SCALAR_KINDS: Final = frozenset(
    {"Text", "Number", "Currency", "Boolean", "Date", "DateTime", "Time", "Picklist", "Multipicklist"})
ALL_KINDS: Final = SCALAR_KINDS | {"Apex", "Record"}
KIND_ALIASES: Final = {"String": "Text"}
TEXT_LIKE: Final = frozenset({"Text", "Picklist", "Multipicklist"})
NUMERIC: Final = frozenset({"Number", "Currency"})
UTC: Final = _dt.UTC

# Salesforce's Number holds at most 18 digits (Custom Field Types; knowledge article 000386249):
# a value with 18 or more digits before the decimal point does not fit. Calculations carry 28
# significant digits; exponents are bounded so that no value can take long to compute or to
# write out as text.
# Text that flowengine builds (formulas, templates, merge fields) stops at a million characters:
# Salesforce documents no length for a flow's text values (its Long Text Area field holds
# 131,072), so the limit is ours, large enough for any real message and small enough to stay fast
MAX_TEXT: Final = 1_000_000
MAX_INTEGER_DIGITS: Final = 18
MAX_SCALE: Final = 17           # "Decimal Places ... up to 17 places" (Variable Resource)
NUMBER_CONTEXT: Final = Context(prec=28, rounding=ROUND_HALF_EVEN, Emin=-1_000, Emax=1_000,
                                traps=[InvalidOperation, DivisionByZero, Overflow])


def number_problem(value: Decimal) -> str | None:
    """Why `value` is not a Salesforce Number (too many digits before the point), or None."""
    if not value.is_finite():
        return "is not a finite number"
    if not value.is_zero() and value.adjusted() >= MAX_INTEGER_DIGITS:
        shown = str(value) if len(str(value)) <= 40 else f"a number of {value.adjusted() + 1:,} digits"
        return (f"{shown} has more than {MAX_INTEGER_DIGITS} digits before the decimal point "
                "(the most a Salesforce Number holds)")
    return None


def bounded_number(value: Decimal) -> Decimal:
    """`value` with at most 28 significant digits and a bounded exponent; ValueError (with the
    reason) when it has more than 18 digits before the decimal point."""
    problem = number_problem(value)
    if problem:
        raise NumberLimitError(problem)
    return NUMBER_CONTEXT.plus(value)


class NumberLimitError(ValueError):
    """A number beyond Salesforce's limits; the message says which."""


def canonical_kind(name: str) -> str | None:
    """`String` → `Text`; a known kind → itself; anything else → None."""
    name = KIND_ALIASES.get(name, name)
    return name if name in ALL_KINDS else None


def normalize_class_name(name: str) -> str:
    """`ConnectApi__Foo` (Salesforce metadata spelling) is the same class as `ConnectApi.Foo`."""
    return name.replace("__", ".")


@dataclass(frozen=True, slots=True)
class FlowType:
    """The static type of a value: a data type, optionally a collection of it."""

    kind: str
    scale: int | None = None
    apex_class: str | None = None
    object: str | None = None
    collection: bool = False

    @property
    def item(self) -> FlowType:
        """The type of one item (self when not a collection)."""
        if not self.collection:
            return self
        return FlowType(self.kind, self.scale, self.apex_class, self.object, False)

    def as_collection(self) -> FlowType:
        return FlowType(self.kind, self.scale, self.apex_class, self.object, True)

    @property
    def is_object(self) -> bool:
        return self.kind in ("Apex", "Record")

    @property
    def effective_scale(self) -> int | None:
        if self.scale is not None:
            return self.scale
        return 2 if self.kind == "Currency" else None

    def __str__(self) -> str:
        if self.kind == "Apex":
            base = f"Apex {self.apex_class}"
        elif self.kind == "Record":
            base = f"Record {self.object}"
        else:
            base = self.kind
        return f"collection of {base}" if self.collection else base


def Text(collection: bool = False) -> FlowType:
    return FlowType("Text", collection=collection)


def Number(scale: int | None = None, collection: bool = False) -> FlowType:
    return FlowType("Number", scale=scale, collection=collection)


def Boolean() -> FlowType:
    return FlowType("Boolean")


def Apex(apex_class: str, collection: bool = False) -> FlowType:
    return FlowType("Apex", apex_class=normalize_class_name(apex_class), collection=collection)


def Record(object_name: str, collection: bool = False) -> FlowType:
    return FlowType("Record", object=object_name, collection=collection)


@dataclass(frozen=True)
class ApexField:
    """One `@AuraEnabled`-style field of an Apex-defined class."""

    type: FlowType
    required: bool = False
    description: str = ""
    label: str = ""


@dataclass(frozen=True)
class ApexClass:
    """A named record type with typed fields and no methods (spec 3.3)."""

    name: str
    fields: Mapping[str, ApexField]
    description: str = ""

    def field_type(self, name: str) -> FlowType | None:
        f = self.fields.get(name)
        return f.type if f else None


def relationship_name(fdef: Any) -> str | None:
    """The relationship name of a lookup field: its own, or Salesforce's convention
    (`AccountId` → `Account`, `Parent__c` → `Parent__r`)."""
    explicit = getattr(fdef, "relationship_name", None)
    if explicit:
        return str(explicit)
    name = str(getattr(fdef, "name", ""))
    if name.endswith("__c"):
        return name[:-3] + "__r"
    if name.endswith("Id") and len(name) > 2:
        return name[:-2]
    return None


class ObjectSchemaLike(Protocol):
    """What the type system needs of an org object (the org package provides the real schemas)."""

    @property
    def name(self) -> str: ...

    def field_types(self) -> Mapping[str, FlowType]: ...


class ObjectValue:
    """An instance of an Apex-defined class or a record: a value of the flow, compared by fields."""

    __slots__ = ("type_name", "fields")
    is_record: bool = False

    def __init__(self, type_name: str, fields: dict[str, Any] | None = None) -> None:
        self.type_name = type_name
        self.fields = fields if fields is not None else {}

    def __eq__(self, other: object) -> bool:
        return (isinstance(other, ObjectValue) and type(other) is type(self)
                and other.type_name == self.type_name and other.fields == self.fields)

    __hash__ = None  # type: ignore[assignment]  # mutable value

    def copy(self) -> ObjectValue:
        return type(self)(self.type_name, {k: copy_value(v) for k, v in self.fields.items()})

    def get(self, name: str) -> Any:
        return self.fields.get(name)

    def __repr__(self) -> str:
        return f"{self.type_name}({self.fields!r})"


class ApexObject(ObjectValue):
    __slots__ = ()


class RecordValue(ObjectValue):
    __slots__ = ()
    is_record = True


def copy_value(value: Any) -> Any:
    """Flow values are values: objects and collections are copied when stored elsewhere."""
    if isinstance(value, ObjectValue):
        return value.copy()
    if isinstance(value, list):
        return [copy_value(v) for v in value]
    return value


@dataclass
class TypeRegistry:
    """Apex-defined classes and org objects that flows can use."""

    classes: dict[str, ApexClass] = field(default_factory=dict)
    objects: dict[str, ObjectSchemaLike] = field(default_factory=dict)

    def add_class(self, cls: ApexClass) -> None:
        self.classes[normalize_class_name(cls.name).lower()] = cls

    def add_object(self, schema: ObjectSchemaLike) -> None:
        self.objects[schema.name.lower()] = schema

    def apex_class(self, name: str | None) -> ApexClass | None:
        if not name:
            return None
        return self.classes.get(normalize_class_name(name).lower())

    def object_schema(self, name: str | None) -> ObjectSchemaLike | None:
        if not name:
            return None
        return self.objects.get(name.lower())

    def class_names(self) -> list[str]:
        return [c.name for c in self.classes.values()]

    def object_names(self) -> list[str]:
        return [o.name for o in self.objects.values()]

    def field_type(self, owner: FlowType, name: str) -> FlowType | None:
        """Type of `owner.name`, or None when the field does not exist."""
        if owner.collection:
            return None
        if owner.kind == "Apex":
            cls = self.apex_class(owner.apex_class)
            return cls.field_type(name) if cls else None
        if owner.kind == "Record":
            schema = self.object_schema(owner.object)
            if schema is None:
                return None
            found = schema.field_types().get(name)
            if found is None:
                link = self.relationship(owner, name)
                if link is not None:
                    return FlowType("Record", object=link[1])
            return found
        return None

    def relationship(self, owner: FlowType, name: str) -> tuple[str, str] | None:
        """(the lookup field, the object it refers to) of the relationship `name` of a record
        type (`OrderSummary` of `OrderSummaryId`), or None."""
        schema = self.object_schema(owner.object) if owner.kind == "Record" else None
        for fdef in getattr(schema, "fields", ()):
            target = getattr(fdef, "reference_to", None)
            if target and relationship_name(fdef) == name:
                return fdef.name, target
        return None

    def field_names(self, owner: FlowType) -> list[str]:
        if owner.kind == "Apex":
            cls = self.apex_class(owner.apex_class)
            return list(cls.fields) if cls else []
        if owner.kind == "Record":
            schema = self.object_schema(owner.object)
            return list(schema.field_types()) if schema else []
        return []

    def copy(self) -> TypeRegistry:
        return TypeRegistry(dict(self.classes), dict(self.objects))


# ---------------------------------------------------------------------------------------------
# Compatibility (spec 3.4)

def assignable(source: FlowType, target: FlowType) -> bool:
    """May a value of type `source` be stored in `target`? Collections need collections."""
    if source.collection != target.collection:
        return False
    return _item_assignable(source.item, target.item)


def _item_assignable(s: FlowType, t: FlowType) -> bool:
    if t.kind in TEXT_LIKE:
        return s.kind in SCALAR_KINDS
    if t.kind in NUMERIC:
        return s.kind in NUMERIC
    if t.kind == "DateTime":
        return s.kind in ("DateTime", "Date")
    if t.kind == "Apex":
        return s.kind == "Apex" and normalize_class_name(s.apex_class or "").lower() == \
            normalize_class_name(t.apex_class or "").lower()
    if t.kind == "Record":
        return s.kind == "Record" and (s.object or "").lower() == (t.object or "").lower()
    return s.kind == t.kind


_QUANTUM = [Decimal(1).scaleb(-s) for s in range(19)]


def round_to_scale(value: Decimal, scale: int | None) -> Decimal:
    """Round half-up to `scale` decimal places (Salesforce's rounding); None leaves it alone."""
    if scale is None:
        return value
    quantum = _QUANTUM[scale] if scale < 19 else Decimal(1).scaleb(-scale)
    if value.same_quantum(quantum) and value.adjusted() < getcontext().prec - scale:
        return value    # has the scale already and fits the context: quantize would give it back
    return value.quantize(quantum, ROUND_HALF_UP)


def text_of(value: Any) -> str:
    """How a value reads inside text (merge fields, Text targets). Null reads as empty text."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Decimal):
        return format_decimal(value)
    if isinstance(value, _dt.datetime):
        return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    if isinstance(value, (_dt.date, _dt.time)):
        return value.isoformat()
    if isinstance(value, list):
        return ", ".join(text_of(v) for v in value)
    return str(value)


def format_decimal(value: Decimal) -> str:
    """Plain decimal text with the value's own places: `2.50`, `100` (never `1E+2`), `0` (never
    `-0`, which rounding -0.4 half-up to a whole number gives)."""
    if not value.is_finite():
        return str(value)
    if value.is_zero():
        value = value.copy_abs() if value.adjusted() >= -MAX_SCALE else Decimal(0)
    return format(value, "f")


def _rounder(scale: int) -> Callable[[Any], Any]:
    """Round to `scale`, leaving null and a value that has the scale already as they are (the
    common case: a Number read where a Number of its own scale is expected)."""
    quantum = _QUANTUM[scale] if scale < 19 else Decimal(1).scaleb(-scale)

    def rounded(v: Any) -> Any:
        if v is None:
            return None
        if v.same_quantum(quantum) and v.adjusted() < getcontext().prec - scale:
            return v    # quantize would give it back (or raise for more digits than it holds)
        return v.quantize(quantum, ROUND_HALF_UP)
    return rounded


def converter(source: FlowType, target: FlowType) -> Callable[[Any], Any] | None:
    """A function that turns a value of `source` into one of `target`, or None when no change is
    needed. Decided once, at compile time."""
    s, t = source.item, target.item
    fn: Callable[[Any], Any] | None = None
    if t.kind in TEXT_LIKE and s.kind not in TEXT_LIKE:
        fn = text_of
    elif t.kind in NUMERIC and t.effective_scale is not None:
        fn = _rounder(t.effective_scale)
    elif t.kind == "DateTime" and s.kind == "Date":
        fn = lambda v: None if v is None or isinstance(v, _dt.datetime) else \
            _dt.datetime(v.year, v.month, v.day, tzinfo=UTC)
    elif t.is_object:
        fn = copy_value
    if fn is None:
        return None
    if target.collection:
        item_fn = fn
        return lambda vs: None if vs is None else [item_fn(v) for v in vs]
    return fn


# ---------------------------------------------------------------------------------------------
# Literals: YAML / JSON / command-line values → typed values

class ValueTypeError(ValueError):
    """A literal that does not fit its target type; the message says what and what was expected."""


def describe(value: Any) -> str:
    """What a value from a file or the command line is, in words, for "found ..." in messages."""
    if value is None:
        return "nothing (null)"
    if isinstance(value, bool):
        return f"the Boolean {str(value).lower()}"
    if isinstance(value, (int, float, Decimal)):
        shown = str(Decimal(value) if isinstance(value, int) else value)
        return f"the number {shown if len(shown) <= 40 else shown[:37] + '...'}"
    if isinstance(value, str):
        shown = value if len(value) <= 40 else value[:37] + "..."
        return f"the text {shown!r}"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, (_dt.date, _dt.time)):
        what = "time" if isinstance(value, _dt.time) else "date and time" \
            if isinstance(value, _dt.datetime) else "date"
        return f"the {what} {value.isoformat()}"
    return f"{type(value).__name__} {value!r}"


def convert_literal(value: Any, target: FlowType, registry: TypeRegistry, path: str = "") -> Any:
    """Convert a YAML/JSON literal to a value of `target`, or raise ValueTypeError."""
    if value is None:
        return [] if target.collection else None
    if target.collection:
        items = value if isinstance(value, list) else [value]
        item_t = target.item
        if item_t.kind in ("Apex", "Record"):
            return _to_objects(items, item_t, registry, path)
        return [convert_literal(v, item_t, registry, path) for v in items]
    if isinstance(value, list):
        raise ValueTypeError(f"{describe(value)} does not fit {target} (expected a single value)")
    kind = target.kind
    try:
        if kind in TEXT_LIKE:
            if isinstance(value, (dict, ObjectValue)):
                raise ValueTypeError(f"{describe(value)} does not fit {target}")
            if isinstance(value, (float, int)) and not isinstance(value, bool):
                value = Decimal(str(value))
            return text_of(value)
        if kind in NUMERIC:
            return round_to_scale(_to_decimal(value, target), target.effective_scale)
        if kind == "Boolean":
            if isinstance(value, bool):
                return value
            if isinstance(value, str) and value.lower() in ("true", "false"):
                return value.lower() == "true"
            raise ValueTypeError(f"{describe(value)} does not fit Boolean (expected true or false)")
        if kind == "Date":
            return _to_date(value)
        if kind == "DateTime":
            return _to_datetime(value)
        if kind == "Time":
            return _to_time(value)
        if kind in ("Apex", "Record"):
            return _to_object(value, target, registry, path)
    except ValueTypeError:
        raise
    except (ValueError, TypeError, InvalidOperation, ArithmeticError):
        raise ValueTypeError(f"{describe(value)} does not fit {target}") from None
    raise ValueTypeError(f"unknown type {kind}")


def _to_decimal(value: Any, target: FlowType) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, (int, float, Decimal, str)):
        raise ValueTypeError(f"{describe(value)} does not fit {target} (expected a number)")
    try:
        d = value if isinstance(value, Decimal) else Decimal(value) if isinstance(value, int) \
            else Decimal(str(value).strip())
    except InvalidOperation:
        raise ValueTypeError(f"{describe(value)} does not fit {target} (expected a number)") from None
    if not d.is_finite():
        raise ValueTypeError(f"{describe(value)} does not fit {target} (expected a finite number)")
    problem = number_problem(d)
    if problem:
        raise ValueTypeError(f"{problem}; it does not fit {target}")
    return NUMBER_CONTEXT.plus(d)


def _to_date(value: Any) -> _dt.date:
    if isinstance(value, _dt.datetime):
        raise ValueTypeError(f"{describe(value)} does not fit Date (expected YYYY-MM-DD)")
    if isinstance(value, _dt.date):
        return value
    if isinstance(value, str):
        try:
            return _dt.date.fromisoformat(value.strip())
        except ValueError:
            pass
    raise ValueTypeError(f"{describe(value)} does not fit Date (expected YYYY-MM-DD)")


def _to_datetime(value: Any) -> _dt.datetime:
    if isinstance(value, _dt.datetime):
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    if isinstance(value, _dt.date):
        return _dt.datetime(value.year, value.month, value.day, tzinfo=UTC)
    if isinstance(value, str):
        text = value.strip()
        if text.endswith(("Z", "z")):
            text = text[:-1] + "+00:00"
        try:
            parsed = _dt.datetime.fromisoformat(text)
        except ValueError:
            raise ValueTypeError(
                f"{describe(value)} does not fit DateTime (expected ISO-8601 such as "
                "2026-01-31T09:30:00Z)") from None
        return _to_datetime(parsed)
    raise ValueTypeError(f"{describe(value)} does not fit DateTime (expected ISO-8601 text)")


def _to_time(value: Any) -> _dt.time:
    if isinstance(value, _dt.time):
        return value
    if isinstance(value, int) and not isinstance(value, bool) and 0 <= value < 86400:
        # YAML 1.1 reads 09:30:00 as a base-60 integer; read it back as a time of day
        return _dt.time(value // 3600, value // 60 % 60, value % 60)
    if isinstance(value, str):
        try:
            return _dt.time.fromisoformat(value.strip())
        except ValueError:
            pass
    raise ValueTypeError(f"{describe(value)} does not fit Time (expected HH:MM:SS)")


def _to_object(value: Any, target: FlowType, registry: TypeRegistry, path: str) -> ObjectValue:
    if isinstance(value, ObjectValue):
        if target.kind == "Record":
            if value.is_record and value.type_name.lower() == (target.object or "").lower():
                return value.copy()
        elif not value.is_record and normalize_class_name(value.type_name).lower() == \
                normalize_class_name(target.apex_class or "").lower():
            copied = value.copy()   # an object built with the `__` spelling gets the class's name
            cls = registry.apex_class(target.apex_class)
            copied.type_name = cls.name if cls else normalize_class_name(value.type_name)
            return copied
        raise ValueTypeError(f"a {value.type_name} object does not fit {target}")
    if not isinstance(value, dict):
        raise ValueTypeError(f"{describe(value)} does not fit {target} (expected a mapping of fields)")
    return _fill(_object_shape(target, registry), value, registry, path)


def _to_objects(items: list[Any], target: FlowType, registry: TypeRegistry, path: str) -> list[Any]:
    """The items of a collection of objects: the class or object is looked up once for all."""
    shape: _Shape | None = None
    out: list[Any] = []
    for value in items:
        if not isinstance(value, dict):
            out.append(convert_literal(value, target, registry, path))
            continue
        try:
            if shape is None:
                shape = _object_shape(target, registry)
            out.append(_fill(shape, value, registry, path))
        except ValueTypeError:
            raise
        except (ValueError, TypeError, InvalidOperation, ArithmeticError):
            raise ValueTypeError(f"{describe(value)} does not fit {target}") from None
    return out


@dataclass(frozen=True, slots=True)
class _Shape:
    """What converting a mapping to an object of one Apex class or object needs, looked up once."""

    name: str
    fields: dict[str, FlowType]
    make: type[ObjectValue]
    # field → the one Python type whose values it takes as they are (str for a single Text
    # field, bool for a Boolean): convert_literal would give them back unchanged
    plain: dict[str, type]


def _object_shape(target: FlowType, registry: TypeRegistry) -> _Shape:
    """The name, field types and value class of the objects of an Apex or Record type."""
    make: type[ObjectValue]
    if target.kind == "Apex":
        cls = registry.apex_class(target.apex_class)
        if cls is None:
            raise ValueTypeError(f"unknown Apex class {target.apex_class}")
        name, fields, make = cls.name, {n: f.type for n, f in cls.fields.items()}, ApexObject
    else:
        schema = registry.object_schema(target.object)
        if schema is None:
            raise ValueTypeError(f"unknown object {target.object}")
        name, fields, make = schema.name, dict(schema.field_types()), RecordValue
    plain: dict[str, type] = {}
    for field_name, ftype in fields.items():
        if not ftype.collection and ftype.kind in TEXT_LIKE:
            plain[field_name] = str
        elif not ftype.collection and ftype.kind == "Boolean":
            plain[field_name] = bool
    return _Shape(name, fields, make, plain)


def _fill(shape: _Shape, value: dict[Any, Any], registry: TypeRegistry, path: str) -> ObjectValue:
    type_name, field_types, plain = shape.name, shape.fields, shape.plain
    obj = shape.make(type_name)
    fields = obj.fields
    for key, raw in value.items():
        if type(raw) is plain.get(key):
            fields[key] = raw
            continue
        ftype = field_types.get(key)
        if ftype is None:
            raise ValueTypeError(f"{type_name} has no field {key!r}"
                                 f"{did_you_mean(str(key), field_types)}")
        try:
            fields[key] = convert_literal(raw, ftype, registry, path)
        except ValueTypeError as exc:
            raise ValueTypeError(f"field {key!r} of {type_name}: {exc}") from None
    return obj


def type_of_literal(value: Any) -> FlowType | None:
    """The natural type of a YAML scalar literal (used where no target type is known)."""
    if isinstance(value, bool):
        return FlowType("Boolean")
    if isinstance(value, (int, float, Decimal)):
        return FlowType("Number")
    if isinstance(value, _dt.datetime):
        return FlowType("DateTime")
    if isinstance(value, _dt.date):
        return FlowType("Date")
    if isinstance(value, _dt.time):
        return FlowType("Time")
    if isinstance(value, str):
        return FlowType("Text")
    return None


# ---------------------------------------------------------------------------------------------
# Values → JSON

def to_json(value: Any) -> Any:
    """A flow value as JSON data: whole numbers without `.0`, dates as ISO text, DateTime in UTC."""
    if isinstance(value, Decimal):
        if value == value.to_integral_value():
            return int(value)
        return float(value)
    if isinstance(value, _dt.datetime):
        return text_of(value)
    if isinstance(value, (_dt.date, _dt.time)):
        return value.isoformat()
    if isinstance(value, ObjectValue):
        return {k: to_json(v) for k, v in value.fields.items()}
    if isinstance(value, list):
        return [to_json(v) for v in value]
    return value
