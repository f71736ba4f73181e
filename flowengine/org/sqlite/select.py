"""A query plan (`flowengine.org.query.QueryPlan`) as one SQLite statement.

- Text compares with SQLite's NOCASE collation, which folds A–Z, so that an index built with it
  serves the comparison. A value with letters beyond ASCII compares through `fe_fold()` (Python's
  lower case, registered on every connection) instead: right, but without an index.
- Numbers compare through their sort-key columns (`"Amount#n"`, see `codecs.numeric_key`):
  exactly, and with an index where there is one.
- Ids, references, dates, times and Booleans compare as stored.
- An IN list of up to `INLINE_VALUES` values is written out (`IN (?, ?, ...)`); a longer one
  travels as one JSON parameter (`IN (SELECT value FROM json_each(?))`), so no list is too long
  for SQLite's limit on the number of variables of a statement.
- NOT of a condition is `NOT COALESCE(condition, 0)`: a comparison with null is false, and its
  negation true, as the store contract says (SQL alone would leave both unknown).
- ORDER BY sorts nulls first ascending and last descending — SQLite's own rule and SOQL's
  default — then by Id.
"""
from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from typing import Any, Final

from flowengine.org.query import Condition, LogicTree, QueryPlan, compare_of
from flowengine.org.sqlite.codecs import ObjectCodec, key_column, numeric_key

__all__ = ["INLINE_VALUES", "build_select", "fold", "quoted"]

INLINE_VALUES: Final = 500
_LIKE_ESCAPE: Final = str.maketrans({"\\": "\\\\", "%": "\\%", "_": "\\_"})
_OPERATORS: Final = {"EqualTo": "=", "NotEqualTo": "<>", "GreaterThan": ">", "LessThan": "<",
                     "GreaterThanOrEqualTo": ">=", "LessThanOrEqualTo": "<="}
_PATTERNS: Final[dict[str, Callable[[str], str]]] = {
    "StartsWith": lambda v: v + "%", "EndsWith": lambda v: "%" + v,
    "Contains": lambda v: "%" + v + "%"}


def fold(text: Any) -> Any:
    """Text in lower case (registered in SQLite as `fe_fold`): as NOCASE folds A–Z, for every
    letter."""
    return text.lower() if isinstance(text, str) else text


def quoted(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def build_select(plan: QueryPlan, codec: ObjectCodec) -> tuple[str, list[Any]]:
    """The statement that runs `plan`, and its parameters."""
    params: list[Any] = []
    sql = f"SELECT {', '.join(map(quoted, plan.columns))} FROM {quoted(plan.info.name)}"
    if plan.logic is not None:
        where = _tree(plan.logic, plan.conditions, codec, params)
        if where != "1":
            sql += " WHERE " + where
    if plan.order:
        sql += " ORDER BY " + ", ".join(
            _sort_expression(plan, name) + (" DESC" if descending else "")
            for name, descending in plan.order)
    if plan.limit is not None:
        sql += " LIMIT ?"
        params.append(plan.limit)
    return sql, params


def _sort_expression(plan: QueryPlan, name: str) -> str:
    fdef = plan.info.by_name.get(name)
    if fdef is None:
        return quoted(name)
    compare = compare_of(fdef)
    if compare == "number":
        return quoted(key_column(name))
    return quoted(name) + (" COLLATE NOCASE" if compare == "text" else "")


def _tree(tree: LogicTree, conditions: Sequence[Condition], codec: ObjectCodec,
          params: list[Any]) -> str:
    kind = tree[0]
    if kind == "cond":
        return _condition(conditions[tree[1]], codec, params)
    if kind == "not":
        return f"NOT COALESCE({_tree(tree[1], conditions, codec, params)}, 0)"
    joiner = " AND " if kind == "and" else " OR "
    parts = [_tree(t, conditions, codec, params) for t in tree[1]]
    return parts[0] if len(parts) == 1 else "(" + joiner.join(parts) + ")"


def _condition(cond: Condition, codec: ObjectCodec, params: list[Any]) -> str:
    if cond.op == "NotEqualTo" and cond.value is not None:
        # SOQL's != is true of a null field (unlike SQL's <>, and unlike NOT IN)
        return f"({quoted(cond.field)} IS NULL OR {_compare(cond, codec, params)})"
    return _compare(cond, codec, params)


def _compare(cond: Condition, codec: ObjectCodec, params: list[Any]) -> str:
    column = quoted(cond.field)
    if cond.op == "IsNull":
        return f"{column} IS {'' if cond.value else 'NOT '}NULL"
    if cond.op in ("In", "NotIn"):
        return _membership(cond, codec, params)
    if cond.value is None:
        return "0"                                    # a comparison with null is false
    if cond.op in _PATTERNS:
        return _pattern(cond, column, params)
    operator = _OPERATORS[cond.op]
    if cond.compare == "number":
        params.append(numeric_key(cond.value))
        return f"{quoted(key_column(cond.field))} {operator} ?"
    value = codec.encode_value(cond.field, cond.value) if cond.fdef else cond.value
    if cond.compare == "text":
        if value.isascii():
            params.append(value)
            return f"{column} {operator} ? COLLATE NOCASE"
        params.append(fold(value))
        return f"fe_fold({column}) {operator} ?"
    params.append(value)
    return f"{column} {operator} ?"


def _pattern(cond: Condition, column: str, params: list[Any]) -> str:
    value: str = cond.value
    if cond.compare == "exact":                        # Ids: letter case matters
        if not value:
            return f"{column} IS NOT NULL"
        if cond.op == "Contains":
            params.append(value)
            return f"instr({column}, ?) > 0"
        params.extend((len(value), value))
        return f"substr({column}, {'1, ?' if cond.op == 'StartsWith' else '-?'}) = ?"
    pattern = _PATTERNS[cond.op](value.translate(_LIKE_ESCAPE))
    if value.isascii():
        params.append(pattern)
        return f"{column} LIKE ? ESCAPE '\\'"
    params.append(fold(pattern))
    return f"fe_fold({column}) LIKE ? ESCAPE '\\'"


def _membership(cond: Condition, codec: ObjectCodec, params: list[Any]) -> str:
    column = quoted(cond.field)
    present = [v for v in cond.value if v is not None]
    with_null = len(present) < len(cond.value)
    if cond.compare == "number":
        column, values = quoted(key_column(cond.field)), [numeric_key(v) for v in present]
    elif cond.fdef is not None:
        values = [codec.encode_value(cond.field, v) for v in present]
    else:
        values = present
    if cond.compare == "text":
        if all(v.isascii() for v in values):
            column += " COLLATE NOCASE"
        else:
            column, values = f"fe_fold({column})", [fold(v) for v in values]
    if not values:
        test = "0"
    elif len(values) <= INLINE_VALUES:
        params.extend(values)
        test = f"{column} IN ({', '.join('?' * len(values))})"
    else:
        params.append(json.dumps(values))
        test = f"{column} IN (SELECT value FROM json_each(?))"
    name = quoted(cond.field)
    if cond.op == "In":
        return f"({test} OR {name} IS NULL)" if with_null else test
    # NotIn: the field has a value, and it is not in the list (a null field compares false)
    return f"({name} IS NOT NULL AND NOT ({test}))"
