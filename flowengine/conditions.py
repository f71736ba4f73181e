"""Conditions (spec 4.2): `left op right`, joined by AND, OR or custom logic; their static checks
and compiled tests. Decisions use them, and so do flow test assertions.
"""
from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Final, Literal

from flowengine.logic import LogicError, logic_tree, parse_logic  # noqa: F401 (re-exported)
from flowengine.model.base import StrictModel
from flowengine.runtime.membership import text_index
from flowengine.types import NUMERIC, TEXT_LIKE, FlowType

if TYPE_CHECKING:
    from flowengine.check.context import ValueContext
    from flowengine.check.symbols import ResolvedPath
    from flowengine.runtime.values import ValueCompiler

CONDITION_OPERATORS = (
    "EqualTo", "NotEqualTo", "GreaterThan", "LessThan", "GreaterThanOrEqualTo", "LessThanOrEqualTo",
    "StartsWith", "EndsWith", "Contains", "IsNull", "IsBlank", "IsEmpty", "WasSet", "WasVisited",
    "HasError", "In", "NotIn",
)
ConditionOp = Literal[CONDITION_OPERATORS]  # type: ignore[valid-type]


class Condition(StrictModel):
    left: str
    op: ConditionOp
    right: Any = None

ORDERING = {"GreaterThan", "LessThan", "GreaterThanOrEqualTo", "LessThanOrEqualTo"}
ORDERING_KINDS = NUMERIC | {"Date", "DateTime", "Time"}
BOOLEAN_TESTS = {"IsNull", "IsBlank", "IsEmpty", "WasSet", "WasVisited", "HasError"}
ELEMENT_TESTS = {"WasVisited", "HasError"}
# operators that Salesforce added in a later API version; a flow of an earlier apiVersion cannot
# use them. The versions are those of the FlowCondition operator list on the Metadata API's Flow
# page as we recall it (Spring '24 for Is Blank and Is Empty); the copies of that page available
# to us did not include the passage, so docs/conformance.md marks them for confirmation.
OPERATOR_SINCE: dict[str, Decimal] = {
    "IsBlank": Decimal("60.0"), "IsEmpty": Decimal("60.0"), "HasError": Decimal("62.0")}
_ID = re.compile(r"^[a-zA-Z0-9]{15}(?:[A-Z0-5]{3})?$")


# ---------------------------------------------------------------------------------------------
# Custom logic: parsed in flowengine.logic (the org store's queries use it too)

def compile_logic(tree: Any, conds: list[Callable[[Any], bool]]) -> Callable[[Any], bool]:
    kind = tree[0]
    if kind == "cond":
        return conds[tree[1]]
    if kind == "not":
        inner = compile_logic(tree[1], conds)
        return lambda st: not inner(st)
    parts = [compile_logic(t, conds) for t in tree[1]]
    if len(parts) == 1:
        return parts[0]
    if len(parts) == 2:
        a, b = parts
        return (lambda st: a(st) and b(st)) if kind == "and" else (lambda st: a(st) or b(st))
    if kind == "and":
        return lambda st: all(p(st) for p in parts)
    return lambda st: any(p(st) for p in parts)


# ---------------------------------------------------------------------------------------------
# Static checks

def _expected_right(op: str, left: FlowType) -> tuple[FlowType, ...] | str:
    """The types `right` may have, or why the operator does not apply to `left`."""
    if op in ("EqualTo", "NotEqualTo"):
        return (left,)
    if op in ORDERING:
        if left.collection or left.kind not in ORDERING_KINDS:
            return (f"{op} compares numbers, dates and times; it does not apply to {left}")
        return (left,) if left.kind != "Date" else (left, FlowType("DateTime"))
    if op in ("StartsWith", "EndsWith"):
        if left.collection or left.kind not in TEXT_LIKE:
            return f"{op} is for text; it does not apply to {left}"
        return (FlowType("Text"),)
    if op == "Contains":
        if left.collection:
            return (left.item,)
        if left.kind not in TEXT_LIKE:
            return f"Contains is for text and collections; it does not apply to {left}"
        return (FlowType("Text"),)
    if op == "IsEmpty":
        if not left.collection:
            return (f"IsEmpty is a collection operator, but this is a single value ({left}); "
                    "use IsNull or IsBlank")
        return (FlowType("Boolean"),)
    if op in ("In", "NotIn"):
        if left.collection:
            return f"{op} tests one value against a collection; the left side is a collection"
        return (left.as_collection(),)
    return (FlowType("Boolean"),)


def check_condition(checker: ValueContext, path: tuple[Any, ...], cond: Condition) -> None:
    from flowengine.elements import kind_of, kinds

    op = cond.op
    since = OPERATOR_SINCE.get(op)
    api = checker.model.api_version
    if since is not None and api < since:
        checker.error(path + ("op",), f"{op} needs apiVersion {since} or later (Salesforce added "
                      f"it in API version {since}); this flow has apiVersion {api}",
                      "operator.version")
        return
    if op in ELEMENT_TESTS:
        target = checker.model.elements.get(cond.left)
        if op == "HasError" and target is not None and not kind_of(target).reports_errors:
            names = sorted(k.name for k in kinds() if k.reports_errors)
            allowed = ", ".join(names[:-1]) + " and " + names[-1] if len(names) > 1 else names[0]
            checker.error(path + ("left",), f"HasError applies to {allowed} elements (as in "
                          f"Salesforce); {cond.left!r} is {'an' if target.type[0] in 'AEIOU' else 'a'} "
                          f"{target.type} element",
                          "condition.element")
        elif target is None and cond.left not in checker.broken:
            from flowengine.check.symbols import did_you_mean
            checker.error(path + ("left",), f"{op} takes an element name, and {cond.left!r} is not "
                          f"an element{did_you_mean(str(cond.left), checker.model.elements)}",
                          "condition.element")
        _check_boolean_right(checker, path, cond)
        return
    rp = checker.resolve(cond.left, path + ("left",))
    if rp is None:
        return
    expected = _expected_right(op, rp.type)
    if isinstance(expected, str):
        checker.error(path + ("op",), expected, "operator.type")
        return
    if op in BOOLEAN_TESTS:
        _check_boolean_right(checker, path, cond)
        return
    if cond.right is None and op in ("EqualTo", "NotEqualTo"):
        return
    if cond.right is None:
        checker.error(path + ("right",), f"{op} needs a right-hand value", "condition.right")
        return
    checker.check_value(cond.right, expected[0], path + ("right",), expected[1:])


def _check_boolean_right(checker: ValueContext, path: tuple[Any, ...], cond: Condition) -> None:
    if cond.right is None:
        checker.error(path + ("op",), f"{cond.op} needs right: true or right: false",
                      "condition.right")
        return
    checker.check_value(cond.right, FlowType("Boolean"), path + ("right",))


# ---------------------------------------------------------------------------------------------
# Compiled tests

def _is_id(text: str) -> bool:
    return bool(_ID.match(text)) and any(ch.isdigit() for ch in text)


def text_equal(a: Any, b: Any) -> bool:
    """Salesforce compares text ignoring case, except record Ids, which compare exactly."""
    if isinstance(a, str) and isinstance(b, str):
        if a == b:
            return True
        if _is_id(a) or _is_id(b):
            return False
        return a.casefold() == b.casefold()
    return a == b


def _in(st: Any, owner: object, item: Any, collection: Any) -> bool:
    """`item` equals an item of `collection` (text as `text_equal` compares), through an index
    that the interview keeps while the collection stays the same: linear, not quadratic, for
    an `In` inside a loop (flowengine.runtime.membership)."""
    if not collection:
        return False
    index = text_index(st.indexes, owner, collection, _is_id)
    return index.contains_text(item, _is_id) if isinstance(item, str) else item in index


@dataclass
class CompiledCondition:
    test: Callable[[Any], bool]
    left: Callable[[Any], Any]          # for the trace: the actual value of the left side
    text: str
    # an ordering of a resource's own value and another's (or a literal) that needs no
    # conversion: what `test` does, for a node that does it itself (see `Ordering`)
    ordering: Ordering | None = None


@dataclass(frozen=True)
class Ordering:
    """`test` is `a is not None and b is not None and compare(a, b)`, where `a` is
    `st.values.get(left)` and `b` is `st.values.get(right, fixed)`: `right` is the key of the
    right-hand resource and `fixed` None, or `right` is a key no resource has (`NO_KEY`) and
    `fixed` the literal."""

    left: str
    right: Any          # a key of the interview's values, or NO_KEY
    fixed: Any
    compare: Callable[[Any, Any], bool]


NO_KEY: Final = object()     # a key of no resource: Ordering.right of a literal


def compile_condition(values: ValueCompiler, cond: Condition) -> CompiledCondition:
    op = cond.op
    right_text = cond.right if isinstance(cond.right, str) else json_text(cond.right)
    description = f"{cond.left} {op} {right_text}"
    if op in ELEMENT_TESTS:
        element = cond.left
        want = values.compile(cond.right, FlowType("Boolean"))
        attr = "visited" if op == "WasVisited" else "errors"

        def element_test(st: Any) -> bool:
            return (element in getattr(st, attr)) == want(st)
        return CompiledCondition(element_test, lambda st: element in getattr(st, attr), description)
    rp: ResolvedPath = values.resolve(cond.left)
    left = values.ref_getter(rp)
    lt = rp.type
    if op in BOOLEAN_TESTS:
        want = values.compile(cond.right, FlowType("Boolean"))
        if op == "IsNull":
            check: Callable[[Any, Any], bool] = lambda v, st: v is None
        elif op == "IsBlank":   # also text of only whitespace (FlowComparisonOperator)
            check = lambda v, st: v is None or v == [] or (isinstance(v, str) and not v.strip())
        elif op == "IsEmpty":
            check = lambda v, st: not v
        else:  # WasSet: the resource (or record field) holds a value when evaluated
            check = lambda v, st: not (v is None or v == "" or v == [])
        return CompiledCondition(lambda st: check(left(st), st) == want(st), left, description)
    if cond.right is None:
        right: Callable[[Any], Any] = lambda st: None
    else:   # read, not stored: no copy (In and Contains keep an index of the same list)
        right = values.compile(cond.right, *(_options(op, lt)), copy=False)
        plain = _plain_compare(values, op, rp, cond.right, right, lt)
        if plain is not None:
            return CompiledCondition(plain[0], left, description, plain[1])
    return CompiledCondition(_binary(op, left, right, lt), left, description)


def _plain_compare(values: ValueCompiler, op: str, rp: ResolvedPath, raw: Any,
                   right: Callable[[Any], Any], lt: FlowType
                   ) -> tuple[Callable[[Any], bool], Ordering | None] | None:
    """The test of `variable op variable` or `variable op literal` comparing numbers (or other
    values that are not text, dates or collections), as one function that reads the interview's
    values itself: the same result as `_binary`'s test (a right-hand Number rounded to the left's
    scale as the value compiler's rounder does it), without calling a getter per side; None
    for any other condition. With the test, its `Ordering` when it is one."""
    import operator

    from flowengine.references import LiteralValue, parse_value
    from flowengine.types import round_to_scale

    if lt.collection or lt.kind in TEXT_LIKE or lt.kind == "Date" or \
            (op not in ORDERING and op not in ("EqualTo", "NotEqualTo")):
        return None
    lkey = values.plain_key(rp)
    if lkey is None:
        return None
    equality = op in ("EqualTo", "NotEqualTo")
    negate = op == "NotEqualTo"
    test = operator.ne if negate else operator.eq if equality else \
        {"GreaterThan": operator.gt, "LessThan": operator.lt,
         "GreaterThanOrEqualTo": operator.ge, "LessThanOrEqualTo": operator.le}[op]
    if isinstance(parse_value(raw), LiteralValue):
        fixed = right(None)          # a literal's getter gives its converted value
        if fixed is None:
            return None
        if equality:
            if negate:
                return (lambda st: st.values.get(lkey) != fixed), None
            return (lambda st: st.values.get(lkey) == fixed), None

        def compare_literal(st: Any) -> bool:
            a = st.values.get(lkey)
            return a is not None and test(a, fixed)
        return compare_literal, Ordering(lkey, NO_KEY, fixed, test)
    source = values.plain_source(raw, *(_options(op, lt)))
    if source is None:
        return None
    rkey, scale = source
    if scale is not None and values.holds_rounded(raw, scale):
        scale = None        # a number of the left's scale already, in value: nothing to round
    if scale is None:
        if equality:
            if negate:
                return (lambda st: st.values.get(lkey) != st.values.get(rkey)), None
            return (lambda st: st.values.get(lkey) == st.values.get(rkey)), None

        def compare_values(st: Any) -> bool:
            got = st.values
            a = got.get(lkey)
            if a is None:
                return False
            b = got.get(rkey)
            return b is not None and test(a, b)
        return compare_values, Ordering(lkey, rkey, None, test)
    if equality:
        def equal_rounded(st: Any) -> bool:
            got = st.values
            b = got.get(rkey)
            if b is not None:
                b = round_to_scale(b, scale)
            return test(got.get(lkey), b)
        return equal_rounded, None

    def compare_rounded(st: Any) -> bool:
        got = st.values
        a = got.get(lkey)
        if a is None:
            return False
        b = got.get(rkey)
        return b is not None and test(a, round_to_scale(b, scale))
    return compare_rounded, None


def _options(op: str, lt: FlowType) -> tuple[FlowType, tuple[FlowType, ...]]:
    opts = _expected_right(op, lt)
    assert not isinstance(opts, str)
    return opts[0], opts[1:]


def _binary(op: str, left: Callable[[Any], Any], right: Callable[[Any], Any],
            lt: FlowType) -> Callable[[Any], bool]:
    textual = lt.kind in TEXT_LIKE
    if op in ("EqualTo", "NotEqualTo"):
        negate = op == "NotEqualTo"
        if textual and not lt.collection:
            return (lambda st: not text_equal(left(st), right(st))) if negate else \
                (lambda st: text_equal(left(st), right(st)))
        if negate:
            return lambda st: left(st) != right(st)
        return lambda st: left(st) == right(st)
    if op in ORDERING:
        import operator
        fn = {"GreaterThan": operator.gt, "LessThan": operator.lt,
              "GreaterThanOrEqualTo": operator.ge, "LessThanOrEqualTo": operator.le}[op]
        if lt.kind == "Date":
            import datetime as _dt

            def as_date(v: Any) -> Any:
                return v.date() if isinstance(v, _dt.datetime) else v

            def compare_dates(st: Any) -> bool:
                a, b = left(st), right(st)
                return a is not None and b is not None and fn(as_date(a), as_date(b))
            return compare_dates

        def compare(st: Any) -> bool:
            a = left(st)
            if a is None:
                return False
            b = right(st)
            return b is not None and fn(a, b)
        return compare
    if op in ("StartsWith", "EndsWith"):
        starts = op == "StartsWith"

        def affix(st: Any) -> bool:
            a, b = left(st), right(st)
            if a is None or b is None:
                return False
            a, b = a.casefold(), b.casefold()
            return a.startswith(b) if starts else a.endswith(b)
        return affix
    if op == "Contains":
        if lt.collection:
            owner = object()
            return lambda st: _in(st, owner, right(st), left(st))

        def contains(st: Any) -> bool:
            a, b = left(st), right(st)
            return a is not None and b is not None and b.casefold() in a.casefold()
        return contains
    if op in ("In", "NotIn"):
        negate = op == "NotIn"
        key = object()
        return lambda st: _in(st, key, left(st), right(st)) != negate
    raise AssertionError(f"condition operator {op} passed the checker")


def json_text(value: Any) -> str:
    """A literal right-hand side as the trace shows it: `2.5`, `true`, `null`, `["a", 1]`."""
    import json

    from flowengine.types import to_json
    return json.dumps(to_json(value), default=str, ensure_ascii=False)
