"""Operators: the type rules of each unary and binary operator, and the closure it compiles to."""
from __future__ import annotations

import datetime as _dt
import operator
from collections.abc import Callable
from decimal import ROUND_HALF_UP, Decimal
from typing import TYPE_CHECKING, Any, Final

from flowengine.formula.nodes import CTX, Expr, Fault, Getter, kind_name
from flowengine.types import MAX_TEXT

if TYPE_CHECKING:
    from flowengine.formula.parser import Parser

_MICROS_PER_DAY: Final = Decimal(86_400_000_000)
MILLIS_PER_DAY: Final = 86_400_000


def whole(value: Decimal, limit: int = 1_000_000_000) -> int:
    """Truncate toward zero; clamp huge values so int() never builds a giant integer."""
    if value > limit:
        return limit
    if value < -limit:
        return -limit
    return int(value)


def _divide(a: Decimal, b: Decimal) -> Decimal:
    if not b:
        raise Fault("division by zero")
    return CTX.divide(a, b)


def _power(a: Decimal, b: Decimal) -> Decimal:
    if not a:
        if b < 0:
            raise Fault("division by zero")
        return Decimal(0 if b else 1)
    return CTX.power(a, b)


def _date_plus(d: _dt.date, days: Decimal) -> _dt.date:
    try:
        return d + _dt.timedelta(days=whole(days, 4_000_000))
    except OverflowError:
        raise Fault("the date falls outside years 1 to 9999") from None


def _datetime_plus(t: _dt.datetime, days: Decimal) -> _dt.datetime:
    micros = CTX.multiply(days, _MICROS_PER_DAY).to_integral_value(ROUND_HALF_UP, CTX)
    try:
        return t + _dt.timedelta(microseconds=whole(micros, 10**18))
    except OverflowError:
        raise Fault("the date falls outside years 1 to 9999") from None


def _days_between(a: _dt.datetime, b: _dt.datetime) -> Decimal:
    delta = a - b
    micros = (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds
    return CTX.divide(Decimal(micros), _MICROS_PER_DAY)


def _millis(t: _dt.time) -> int:
    return ((t.hour * 60 + t.minute) * 60 + t.second) * 1000 + t.microsecond // 1000


def _time_plus(t: _dt.time, millis: Decimal) -> _dt.time:
    """Time ± Number adds milliseconds on a 24-hour clock: adding 25 hours adds one hour
    (Considerations for the Time Custom Field Type)."""
    total = (_millis(t) + whole(millis.to_integral_value(ROUND_HALF_UP, CTX), 10**15)) \
        % MILLIS_PER_DAY
    seconds, ms = divmod(total, 1000)
    return _dt.time(seconds // 3600, seconds // 60 % 60, seconds % 60, ms * 1000)


def _time_between(a: _dt.time, b: _dt.time) -> Decimal:
    """Time − Time: milliseconds, always positive on a 24-hour clock (5 AM − 7 AM is 22 hours;
    Summer '18 release notes, "Track Time with the Time Field Type")."""
    return Decimal((_millis(a) - _millis(b)) % MILLIS_PER_DAY)


_N, _D, _DT, _T = "Number", "Date", "DateTime", "Time"
_ARITHMETIC: Final[dict[tuple[str, str, str], tuple[str, Callable[[Any, Any], Any]]]] = {
    ("+", _N, _N): (_N, CTX.add),
    ("-", _N, _N): (_N, CTX.subtract),
    ("*", _N, _N): (_N, CTX.multiply),
    ("/", _N, _N): (_N, _divide),
    ("^", _N, _N): (_N, _power),
    ("+", _D, _N): (_D, _date_plus),
    ("+", _N, _D): (_D, lambda n, d: _date_plus(d, n)),
    ("-", _D, _N): (_D, lambda d, n: _date_plus(d, -n)),
    ("-", _D, _D): (_N, lambda a, b: Decimal((a - b).days)),
    ("+", _DT, _N): (_DT, _datetime_plus),
    ("+", _N, _DT): (_DT, lambda n, t: _datetime_plus(t, n)),
    ("-", _DT, _N): (_DT, lambda t, n: _datetime_plus(t, -n)),
    ("-", _DT, _DT): (_N, _days_between),
    ("+", _T, _N): (_T, _time_plus),
    ("+", _N, _T): (_T, lambda n, t: _time_plus(t, n)),
    ("-", _T, _N): (_T, lambda t, n: _time_plus(t, -n)),
    ("-", _T, _T): (_N, _time_between),
}
_EQUALITY: Final = frozenset({"=", "==", "!=", "<>"})
_ORDERING: Final = {"<": operator.lt, "<=": operator.le, ">": operator.gt, ">=": operator.ge}


def binary(p: Parser, op: str, left: Expr, right: Expr, offset: int) -> Expr:
    lk, rk = left.kind, right.kind
    if op in ("&&", "||"):
        return _logic(p, op, left, right, offset)
    if op in _EQUALITY or op in _ORDERING:
        return _compare(p, op, left, right, offset)
    if op == "&" or (op == "+" and {lk, rk} <= {"Text", "Null"} and "Text" in (lk, rk)):
        return _concat(p, op, left, right, offset)
    entry = _ARITHMETIC.get((op, _N if lk == "Null" else lk, _N if rk == "Null" else rk))
    if entry is None:
        a, b = kind_name(lk), kind_name(rk)
        if op == "+":
            hint = "; use & to join text" if "Text" in (lk, rk) else ""
            p.fail(f"'+' cannot add {a} and {b}{hint}", offset)
        if op == "-":
            p.fail(f"'-' cannot subtract {b} from {a}", offset)
        p.fail(f"'{op}' needs Numbers on both sides, found {a} and {b}", offset)
    kind, fn2 = entry
    return p.node(kind, _null_propagating(fn2, left, right), offset, (left, right))


def _null_propagating(fn2: Callable[[Any, Any], Any], left: Expr, right: Expr) -> Getter:
    lf, rf = left.fn, right.fn
    if right.const and right.value is not None:
        constant = right.value

        def with_constant(s: Any) -> Any:
            x = lf(s)
            return None if x is None else fn2(x, constant)
        return with_constant

    def both(s: Any) -> Any:
        x = lf(s)
        if x is None:
            return None
        y = rf(s)
        return None if y is None else fn2(x, y)
    return both


def unary(p: Parser, sign: str, node: Expr, offset: int) -> Expr:
    if node.kind not in ("Number", "Null"):
        p.fail(f"'{sign}' needs a Number, found {node.kind}", offset)
    if sign == "+":
        return node
    f, minus = node.fn, CTX.minus
    return p.node("Number", lambda s: None if (v := f(s)) is None else minus(v), offset, (node,))


def _logic(p: Parser, op: str, left: Expr, right: Expr, offset: int) -> Expr:
    for side, n in (("left", left), ("right", right)):
        if n.kind not in ("Boolean", "Null"):
            p.fail(f"'{op}' needs Boolean values, but the {side} side is {n.kind}", n.offset)
    lf, rf = left.fn, right.fn
    fn = (lambda s: bool(lf(s) and rf(s))) if op == "&&" else (lambda s: bool(lf(s) or rf(s)))
    return p.node("Boolean", fn, offset, (left, right))


def _compare(p: Parser, op: str, left: Expr, right: Expr, offset: int) -> Expr:
    lk, rk = left.kind, right.kind
    if not comparable(lk, rk):
        p.fail(f"'{op}' cannot compare {kind_name(lk)} with {kind_name(rk)}", offset)
    kind, lf, rf = (rk if lk == "Null" else lk), left.fn, right.fn
    if op in _EQUALITY:
        same = op in ("=", "==")
        if right.const and not left.const:      # a constant side is its value, not a call
            fixed = right.value
            if kind == "Text":
                text = fixed or ""
                fn = (lambda s: (lf(s) or "") == text) if same else \
                    (lambda s: not (lf(s) or "") == text)
            else:
                fn = (lambda s: lf(s) == fixed) if same else (lambda s: not lf(s) == fixed)
            return p.node("Boolean", fn, offset, (left, right))
        if left.const and not right.const:
            fixed = left.value
            if kind == "Text":
                text = fixed or ""
                fn = (lambda s: text == (rf(s) or "")) if same else \
                    (lambda s: not text == (rf(s) or ""))
            else:
                fn = (lambda s: fixed == rf(s)) if same else (lambda s: not fixed == rf(s))
            return p.node("Boolean", fn, offset, (left, right))
        if kind == "Text":
            def equal(s: Any) -> bool:
                return (lf(s) or "") == (rf(s) or "")
        else:
            def equal(s: Any) -> bool:
                return lf(s) == rf(s)
        fn = equal if same else (lambda s: not equal(s))
    else:
        if kind == "Boolean":
            p.fail(f"'{op}' cannot order Boolean values; use = or <>", offset)
        test = _ORDERING[op]

        def fn(s: Any) -> bool:
            x = lf(s)
            if x is None:
                return False
            y = rf(s)
            return y is not None and test(x, y)
    return p.node("Boolean", fn, offset, (left, right))


def comparable(a: str, b: str) -> bool:
    return a == b or a == "Null" or b == "Null"


def _concat(p: Parser, op: str, left: Expr, right: Expr, offset: int) -> Expr:
    for side, n in (("left", left), ("right", right)):
        if n.kind not in ("Text", "Null"):
            p.fail(f"'&' joins Text, but the {side} side is {n.kind}; use TEXT() to convert it",
                   n.offset)
    lf, rf = left.fn, right.fn

    def join(s: Any) -> str:
        joined = (lf(s) or "") + (rf(s) or "")
        if len(joined) > MAX_TEXT:
            raise Fault(f"'{op}' would build text longer than {MAX_TEXT:,} characters")
        return joined
    return p.node("Text", join, offset, (left, right))
