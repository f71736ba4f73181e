"""A query plan (`flowengine.org.query.QueryPlan`) as one PostgreSQL statement.

- Text compares ignoring case through its folded value (`columns.fold`; the parameter is folded
  in Python), which the store indexes for Name and unique text fields.
- Numbers, dates, date-times, times and Booleans compare as their column types do: by value.
- Ids and references compare exactly (their columns collate as "C").
- An IN list travels as one array parameter (`= ANY(%s::numeric[])`), however long.
- NOT of a condition is `NOT COALESCE(condition, FALSE)`: a comparison with null is false, and
  its negation true, as the store contract says.
- ORDER BY sorts nulls first ascending and last descending, as SOQL does, then by Id.
- In a write transaction the statement ends with FOR UPDATE: the rows it returns stay locked
  until the transaction ends (the isolation guarantee of `flowengine.org.base`).
"""
from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any, Final

from flowengine.org.catalog import ObjectInfo
from flowengine.org.postgres.columns import array_type, fold, quoted
from flowengine.org.query import Condition, LogicTree, QueryPlan, compare_of

__all__ = ["build_select", "build_simple_select"]

_LIKE_ESCAPE: Final = str.maketrans({"\\": "\\\\", "%": "\\%", "_": "\\_"})
_OPERATORS: Final = {"EqualTo": "=", "NotEqualTo": "<>", "GreaterThan": ">", "LessThan": "<",
                     "GreaterThanOrEqualTo": ">=", "LessThanOrEqualTo": "<="}
_PATTERNS: Final[dict[str, Callable[[str], str]]] = {
    "StartsWith": lambda v: v + "%", "EndsWith": lambda v: "%" + v,
    "Contains": lambda v: "%" + v + "%"}


def build_select(plan: QueryPlan, collation: str, lock: bool) -> tuple[str, list[Any]]:
    """The statement that runs `plan`, and its parameters; `lock` adds FOR UPDATE."""
    params: list[Any] = []
    sql = f"SELECT {', '.join(map(quoted, plan.columns))} FROM {quoted(plan.info.name)}"
    if plan.logic is not None:
        sql += " WHERE " + _tree(plan.logic, plan.conditions, collation, params)
    if plan.order:
        sql += " ORDER BY " + ", ".join(
            _sort_expression(plan, name, collation)
            + (" DESC NULLS LAST" if descending else " NULLS FIRST")
            for name, descending in plan.order)
    if plan.limit is not None:
        sql += " LIMIT %s"
        params.append(plan.limit)
    return sql + (" FOR UPDATE" if lock else ""), params


def build_simple_select(info: ObjectInfo, where: Mapping[str, Sequence[Any]],
                        columns: Sequence[str], lock: bool) -> tuple[str, list[Any]]:
    """The rows whose every field in `where` has one of its values, compared exactly (None:
    null). Locked rows are taken in Id order, so that transactions locking overlapping sets
    take them in the same order and do not deadlock."""
    params: list[Any] = []
    tests = []
    for name, values in where.items():
        column = quoted(name)
        present = [v for v in values if v is not None]
        test = f"{column} = ANY(%s::{array_type(info.by_name.get(name))})" if present else "FALSE"
        if present:
            params.append(present)
        if len(present) < len(values):
            test = f"({test} OR {column} IS NULL)"
        tests.append(test)
    sql = f"SELECT {', '.join(map(quoted, columns))} FROM {quoted(info.name)}"
    if tests:
        sql += " WHERE " + " AND ".join(tests)
    if lock:
        sql += ' ORDER BY "Id" FOR UPDATE'
    return sql, params


def _sort_expression(plan: QueryPlan, name: str, collation: str) -> str:
    fdef = plan.info.by_name.get(name)
    column = quoted(name)
    return fold(column, collation) if compare_of(fdef) == "text" else column


def _tree(tree: LogicTree, conditions: Sequence[Condition], collation: str,
          params: list[Any]) -> str:
    kind = tree[0]
    if kind == "cond":
        return _condition(conditions[tree[1]], collation, params)
    if kind == "not":
        return f"NOT COALESCE({_tree(tree[1], conditions, collation, params)}, FALSE)"
    joiner = " AND " if kind == "and" else " OR "
    parts = [_tree(t, conditions, collation, params) for t in tree[1]]
    return parts[0] if len(parts) == 1 else "(" + joiner.join(parts) + ")"


def _condition(cond: Condition, collation: str, params: list[Any]) -> str:
    if cond.op == "NotEqualTo" and cond.value is not None:
        # SOQL's != is true of a null field (unlike SQL's <>, and unlike NOT IN)
        return f"({quoted(cond.field)} IS NULL OR {_test(cond, collation, params)})"
    return _test(cond, collation, params)


def _test(cond: Condition, collation: str, params: list[Any]) -> str:
    column = quoted(cond.field)
    if cond.op == "IsNull":
        return f"{column} IS {'' if cond.value else 'NOT '}NULL"
    if cond.op in ("In", "NotIn"):
        return _membership(cond, collation, params)
    if cond.value is None:
        return "FALSE"                                 # a comparison with null is false
    text = cond.compare == "text"
    if cond.op in _PATTERNS:
        params.append(_PATTERNS[cond.op](_folded(cond.value, text).translate(_LIKE_ESCAPE)))
        return f"{fold(column, collation) if text else column} LIKE %s"
    params.append(_folded(cond.value, text))
    return f"{fold(column, collation) if text else column} {_OPERATORS[cond.op]} %s"


def _folded(value: Any, text: bool) -> Any:
    return value.lower() if text else value


def _membership(cond: Condition, collation: str, params: list[Any]) -> str:
    column = quoted(cond.field)
    text = cond.compare == "text"
    present = [_folded(v, text) for v in cond.value if v is not None]
    with_null = len(present) < len(cond.value)
    if present:
        params.append(present)
        test = f"{fold(column, collation) if text else column} = ANY(%s::{array_type(cond.fdef)})"
    else:
        test = "FALSE"
    if cond.op == "In":
        return f"({test} OR {column} IS NULL)" if with_null else test
    # NotIn: the field has a value, and it is not in the list (a null field compares false)
    return f"({column} IS NOT NULL AND NOT ({test}))"
