"""What a query asks of the org store: filters on an object's fields, joined by logic, an order
and a limit — the shape of a flow's Get Records (and of Update and Delete Records by filters).

`plan_select` checks a query against the object's schema once and turns it into a `QueryPlan`:
every filter value converted to its field's type, the logic parsed, the order and the fields
named. A backend translates the plan into its own query language (SQL), so queries run in the
database. Backend-neutral.

How values compare (SOQL's rules, and the store contract's where SOQL says nothing):
- text, picklist and email fields ignore case; Ids and lookups compare exactly;
- numbers compare by value (2.50 equals 2.5), dates and times in time order;
- a comparison with a null field is false — EqualTo null and NotEqualTo null test for null, and
  IsNull takes true or false; In matches null when the list holds None; but NotEqualTo a value
  is true of a null field, as SOQL's != is (NotIn is not);
- NOT of a comparison with null is true (a condition is true or false, never unknown).
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final, Literal

from flowengine.errors import OrgError, did_you_mean
from flowengine.org import ids
from flowengine.org.fieldtypes import holds_id
from flowengine.org.schema import FieldDef
from flowengine.types import (
    NUMERIC,
    TEXT_LIKE,
    FlowType,
    TypeRegistry,
    ValueTypeError,
    convert_literal,
    describe,
)

if TYPE_CHECKING:
    from flowengine.org.catalog import ObjectInfo

__all__ = ["FILTER_OPERATORS", "Condition", "QueryPlan", "RecordFilter", "Sort", "plan_select"]

# Salesforce's FlowRecordFilterOperator (IsChanged belongs to record-triggered entry conditions)
FILTER_OPERATORS: Final = ("EqualTo", "NotEqualTo", "GreaterThan", "LessThan",
                           "GreaterThanOrEqualTo", "LessThanOrEqualTo", "StartsWith", "EndsWith",
                           "Contains", "IsNull", "In", "NotIn")
FilterOperator = Literal["EqualTo", "NotEqualTo", "GreaterThan", "LessThan",
                         "GreaterThanOrEqualTo", "LessThanOrEqualTo", "StartsWith", "EndsWith",
                         "Contains", "IsNull", "In", "NotIn"]
ORDERING: Final = frozenset({"GreaterThan", "LessThan", "GreaterThanOrEqualTo",
                             "LessThanOrEqualTo"})
TEXT_MATCHING: Final = frozenset({"StartsWith", "EndsWith", "Contains"})
# how a field's values compare: "exact" (Ids, references, and the store's own reads), "text"
# (ignoring case), "number" (by value), "plain" (Booleans, dates and times: as stored)
Compare = Literal["exact", "text", "number", "plain"]
_TEXT: Final = FlowType("Text")
_INVALID_OPERATOR: Final = "INVALID_QUERY_FILTER_OPERATOR"
_NO_TYPES: Final = TypeRegistry()


@dataclass(frozen=True)
class RecordFilter:
    """`field op value` on one of the object's own fields. The value is of the field's type
    (converted by the store as a written value is); `IsNull` takes True or False, `In` and
    `NotIn` a list. Text compares ignoring case, as SOQL does, except Ids and references."""

    field: str
    op: FilterOperator
    value: Any = None


@dataclass(frozen=True)
class Sort:
    """An order: by `field`, ascending (nulls first) or descending (nulls last), as SOQL's
    ORDER BY defaults do."""

    field: str
    descending: bool = False


@dataclass(frozen=True)
class Condition:
    """One checked filter: the field (`Id` has no FieldDef), the operator, the value converted
    to the field's type (a tuple for In and NotIn, a bool for IsNull, None: false), and how
    values of the field compare."""

    field: str
    fdef: FieldDef | None
    op: FilterOperator
    value: Any
    compare: Compare


LogicTree = Any   # ("cond", i) | ("and" | "or", [trees]) | ("not", tree), as conditions.py parses


@dataclass(frozen=True)
class QueryPlan:
    """A query checked against its object: what a backend turns into one statement."""

    info: ObjectInfo
    conditions: tuple[Condition, ...]
    logic: LogicTree | None                  # None: no filter, every record
    order: tuple[tuple[str, bool], ...]      # (field, descending), ending with ("Id", False)
    limit: int | None
    columns: tuple[str, ...]                 # "Id" first


def compare_of(fdef: FieldDef | None) -> Compare:
    """How values of a field compare in queries."""
    if fdef is None or holds_id(fdef):
        return "exact"
    kind = fdef.type.kind
    if kind in NUMERIC:
        return "number"
    return "text" if kind in TEXT_LIKE else "plain"


def plan_select(info: ObjectInfo, filters: Sequence[RecordFilter] = (), logic: str = "and",
                order_by: Sequence[Sort] = (), limit: int | None = None,
                fields: Sequence[str] | None = None) -> QueryPlan:
    """Check a query (see `OrgTransaction.select`) against `info`'s object. OrgError:
    INVALID_FIELD for an unknown field, INVALID_TYPE for a value that does not fit its field,
    INVALID_QUERY_FILTER_OPERATOR for an operator the field cannot take, INVALID_ARGUMENT for
    arguments of the wrong shape or bad logic."""
    if isinstance(filters, (str, Mapping)) or not isinstance(filters, Sequence):
        raise _bad(info, f"filters must be a list of RecordFilter, found {describe(filters)}")
    conditions = tuple(_condition(info, number, f) for number, f in enumerate(filters, 1))
    tree = _logic(info, logic, len(conditions)) if conditions else None
    return QueryPlan(info, conditions, tree, _order(info, order_by), _limit(info, limit),
                     _columns(info, fields))


def _bad(info: ObjectInfo, message: str, code: str = "INVALID_ARGUMENT") -> OrgError:
    return OrgError(f"{info.name}: {message}", code)


def _field(info: ObjectInfo, name: Any) -> FieldDef | None:
    """The field called `name` (None for Id), or OrgError(INVALID_FIELD)."""
    if name == "Id":
        return None
    return info.field(name)


def _condition(info: ObjectInfo, number: int, given: Any) -> Condition:
    if not isinstance(given, RecordFilter):
        raise _bad(info, f"filter {number} must be a RecordFilter, found {describe(given)}")
    where = f"filter {number} ({given.field} {given.op})"
    if given.op not in FILTER_OPERATORS:
        raise _bad(info, f"{where}: unknown operator {given.op!r}; expected one of "
                   f"{', '.join(FILTER_OPERATORS)}{did_you_mean(str(given.op), FILTER_OPERATORS)}")
    fdef = _field(info, given.field)
    compare = compare_of(fdef)
    op, value = given.op, given.value
    if op == "IsNull":
        if not isinstance(value, bool):
            raise _bad(info, f"{where}: IsNull takes true or false, found {describe(value)}",
                       "INVALID_TYPE")
        return Condition(given.field, fdef, op, value, compare)
    if op in ("EqualTo", "NotEqualTo") and value is None:
        return Condition(given.field, fdef, "IsNull", op == "EqualTo", compare)
    kind = "Id" if fdef is None else fdef.type.kind
    if op in ORDERING and kind in ("Boolean", "Multipicklist"):
        raise _bad(info, f"{where}: {op} does not apply to a {kind} field", _INVALID_OPERATOR)
    if op in TEXT_MATCHING and compare in ("number", "plain"):
        raise _bad(info, f"{where}: {op} matches text; {given.field} is a {kind} field (use "
                   "EqualTo, In or a comparison)", _INVALID_OPERATOR)
    if op in ("In", "NotIn"):
        if isinstance(value, (str, bytes, Mapping)) or not isinstance(value, (list, tuple, set,
                                                                             frozenset)):
            raise _bad(info, f"{where}: {op} takes a list of values, found {describe(value)}",
                       "INVALID_TYPE")
        values = tuple(dict.fromkeys(_value(info, where, fdef, op, v) for v in value))
        return Condition(given.field, fdef, op, values, compare)
    return Condition(given.field, fdef, op, _value(info, where, fdef, op, value), compare)


def _value(info: ObjectInfo, where: str, fdef: FieldDef | None, op: str, value: Any) -> Any:
    """A filter value as its field's type: no length or picklist check (a value the field
    cannot hold just matches nothing); an Id of another object matches nothing either."""
    if value is None:
        return None
    try:
        if fdef is None or holds_id(fdef):
            if op in TEXT_MATCHING:
                return convert_literal(value, _TEXT, _NO_TYPES)
            return ids.normalize_id(value)
        return convert_literal(value, _TEXT if op in TEXT_MATCHING else fdef.type, _NO_TYPES)
    except (OrgError, ValueTypeError) as exc:
        detail = exc.message if isinstance(exc, OrgError) else str(exc)
        raise _bad(info, f"{where}: {detail}", "INVALID_TYPE") from None


def _logic(info: ObjectInfo, logic: Any, count: int) -> LogicTree:
    from flowengine.logic import LogicError, logic_tree

    if not isinstance(logic, str):
        raise _bad(info, f"logic must be \"and\", \"or\" or custom logic such as \"1 AND (2 OR "
                   f"3)\", found {describe(logic)}")
    try:
        return logic_tree(logic, count)
    except LogicError as exc:
        raise _bad(info, f"logic: {exc}") from None


def _order(info: ObjectInfo, order_by: Any) -> tuple[tuple[str, bool], ...]:
    if isinstance(order_by, (str, Mapping)) or not isinstance(order_by, Sequence):
        raise _bad(info, f"order_by must be a list of Sort, found {describe(order_by)}")
    order: list[tuple[str, bool]] = []
    for number, sort in enumerate(order_by, 1):
        if not isinstance(sort, Sort):
            raise _bad(info, f"order_by[{number}] must be a Sort, found {describe(sort)}")
        fdef = _field(info, sort.field)
        if fdef is not None and fdef.type.kind == "Multipicklist":
            raise _bad(info, f"order_by[{number}]: a multi-select picklist ({sort.field}) "
                       "cannot be sorted", _INVALID_OPERATOR)
        order.append((sort.field, bool(sort.descending)))
    if not any(name == "Id" for name, _ in order):
        order.append(("Id", False))
    return tuple(order)


def _limit(info: ObjectInfo, limit: Any) -> int | None:
    if limit is None:
        return None
    if isinstance(limit, bool) or not isinstance(limit, int) or limit < 0:
        raise _bad(info, f"limit must be a whole number of at least 0 (or None for every "
                   f"record), found {describe(limit)}")
    return limit


def _columns(info: ObjectInfo, fields: Any) -> tuple[str, ...]:
    if fields is None:
        return info.columns
    if isinstance(fields, (str, Mapping)) or not isinstance(fields, Sequence):
        raise _bad(info, f"fields must be a list of field names, found {describe(fields)}")
    for name in fields:
        _field(info, name)
    return tuple(dict.fromkeys(["Id", *fields]))

