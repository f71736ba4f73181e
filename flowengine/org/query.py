"""What a query asks of the org store: filters on an object's fields, joined by logic, an order
and a limit — the shape of a flow's Get Records (and of Update and Delete Records by filters).

The store translates them into its own query language (SQL), so queries run in the database.
Backend-neutral.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final, Literal

__all__ = ["FILTER_OPERATORS", "RecordFilter", "Sort"]

# Salesforce's FlowRecordFilterOperator (IsChanged belongs to record-triggered entry conditions)
FILTER_OPERATORS: Final = ("EqualTo", "NotEqualTo", "GreaterThan", "LessThan",
                           "GreaterThanOrEqualTo", "LessThanOrEqualTo", "StartsWith", "EndsWith",
                           "Contains", "IsNull", "In", "NotIn")
FilterOperator = Literal["EqualTo", "NotEqualTo", "GreaterThan", "LessThan",
                         "GreaterThanOrEqualTo", "LessThanOrEqualTo", "StartsWith", "EndsWith",
                         "Contains", "IsNull", "In", "NotIn"]


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
