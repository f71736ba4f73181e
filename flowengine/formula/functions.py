"""Functions: a table of name → (argument counts, builder). Each builder checks the kinds of its
arguments and compiles the call into a closure."""
from __future__ import annotations

import calendar
import datetime as _dt
import re
from collections.abc import Callable
from decimal import ROUND_CEILING, ROUND_FLOOR, ROUND_HALF_UP, Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any, Final, NamedTuple

from flowengine.formula.nodes import CTX, KIND_ORDER, MAX_TEXT, Expr, Fault, Getter, kind_name, quoted
from flowengine.formula.operators import comparable, whole
from flowengine.types import UTC, text_of

if TYPE_CHECKING:
    from flowengine.formula.parser import Parser


class _Function(NamedTuple):
    min_args: int
    max_args: int | None
    build: Callable[[Parser, str, list[Expr], int], Expr]


_TEXT, _NUM, _BOOL = frozenset({"Text"}), frozenset({"Number"}), frozenset({"Boolean"})
_DATE, _DATES = frozenset({"Date"}), frozenset({"Date", "DateTime"})
_ORDERED = frozenset({"Number", "Date", "DateTime", "Time"})


def _check(p: Parser, node: Expr, allowed: frozenset[str], fname: str, index: int) -> None:
    """Argument `index` of `fname` must be NULL or of one of the `allowed` kinds."""
    if node.kind == "Null" or node.kind in allowed:
        return
    hint = ""
    if allowed == _TEXT:
        hint = "; use TEXT() to convert it"
    elif allowed == _NUM and node.kind == "Text":
        hint = "; use VALUE() to convert it"
    elif "Date" in allowed and node.kind == "DateTime":
        hint = "; use DATEVALUE() to take its date"
    expected = " or ".join(k for k in KIND_ORDER if k in allowed)
    p.fail(f"{fname} expects {expected} as argument {index}, got {node.kind}{hint}",
           node.offset)


def _unify(p: Parser, what: str, nodes: list[Expr]) -> str:
    """The one kind that all `nodes` give, NULL aside (NULL when all are NULL)."""
    kind = "Null"
    for n in nodes:
        if n.kind != "Null" and kind != "Null" and n.kind != kind:
            p.fail(f"{what} must give one type of value, but gives {kind} and {n.kind}",
                   n.offset)
        if n.kind != "Null":
            kind = n.kind
    return kind


def _simple(arg_kinds: tuple[frozenset[str], ...], result: str | int,
            impl: Callable[..., Any]) -> _Function:
    """A function whose Text arguments read null as "" and whose other arguments make the result
    null when null. `result` is a kind, or the index of the argument whose kind it returns."""
    texts = tuple(kinds == _TEXT for kinds in arg_kinds)

    def build(p: Parser, fname: str, args: list[Expr], offset: int) -> Expr:
        for index, (arg, kinds) in enumerate(zip(args, arg_kinds, strict=True), 1):
            _check(p, arg, kinds, fname, index)
        kind = args[result].kind if isinstance(result, int) else result
        return p.node(kind, _apply(impl, tuple(a.fn for a in args), texts), offset, args)
    return _Function(len(arg_kinds), len(arg_kinds), build)


def _apply(impl: Callable[..., Any], fns: tuple[Getter, ...], texts: tuple[bool, ...]) -> Getter:
    if len(fns) == 1:
        (f,) = fns
        if texts[0]:
            return lambda s: impl(f(s) or "")
        return lambda s: None if (v := f(s)) is None else impl(v)

    def many(s: Any) -> Any:
        values = []
        for f, is_text in zip(fns, texts, strict=True):
            v = f(s)
            if v is None:
                if not is_text:
                    return None
                v = ""
            values.append(v)
        return impl(*values)
    return many


def _custom(low: int, high: int | None) -> Callable[[Callable[..., Expr]], _Function]:
    return lambda build: _Function(low, high, build)


@_custom(3, 3)
def _if(p: Parser, fname: str, args: list[Expr], offset: int) -> Expr:
    cond, then, other = args
    _check(p, cond, _BOOL, fname, 1)
    kind = _unify(p, fname, [then, other])
    cf, tf, ef = cond.fn, then.fn, other.fn
    return p.node(kind, lambda s: tf(s) if cf(s) else ef(s), offset, args)


@_custom(4, None)
def _case(p: Parser, fname: str, args: list[Expr], offset: int) -> Expr:
    if len(args) % 2:
        p.fail(f"CASE expects an expression, pairs of value and result, then an else result (an "
               f"even number of arguments), got {len(args)}", offset)
    subject, values, results, other = args[0], args[1:-1:2], args[2:-1:2], args[-1]
    for v in values:
        if not comparable(subject.kind, v.kind):
            p.fail(f"CASE compares {kind_name(subject.kind)} with {kind_name(v.kind)}", v.offset)
    kind = _unify(p, fname, [*results, other])
    is_text = "Text" in (subject.kind, *(v.kind for v in values))
    norm: Callable[[Any], Any] = (lambda v: v or "") if is_text else (lambda v: v)
    sf, ef = subject.fn, other.fn
    if all(v.const for v in values):
        table: dict[Any, Getter] = {}
        for v, r in zip(values, results, strict=True):
            table.setdefault(norm(v.value), r.fn)
        return p.node(kind, lambda s: table.get(norm(sf(s)), ef)(s), offset, args)
    pairs = [(v.fn, r.fn) for v, r in zip(values, results, strict=True)]

    def choose(s: Any) -> Any:
        x = norm(sf(s))
        for vf, rf in pairs:
            if norm(vf(s)) == x:
                return rf(s)
        return ef(s)
    return p.node(kind, choose, offset, args)


def _logic_function(low: int, high: int | None, make: Callable[[tuple[Getter, ...]], Getter]
                    ) -> _Function:
    def build(p: Parser, fname: str, args: list[Expr], offset: int) -> Expr:
        for index, arg in enumerate(args, 1):
            _check(p, arg, _BOOL, fname, index)
        return p.node("Boolean", make(tuple(a.fn for a in args)), offset, args)
    return _Function(low, high, build)


def _all(fns: tuple[Getter, ...]) -> Getter:
    return lambda s: all(f(s) for f in fns)


def _any(fns: tuple[Getter, ...]) -> Getter:
    return lambda s: any(f(s) for f in fns)


def _negate(f: Getter) -> Getter:
    return lambda s: not f(s)


def _test(test: Callable[[Any], bool]) -> _Function:
    """ISBLANK / ISNULL: any kind of argument, a Boolean result."""
    def build(p: Parser, fname: str, args: list[Expr], offset: int) -> Expr:
        f = args[0].fn
        return p.node("Boolean", lambda s: test(f(s)), offset, args)
    return _Function(1, 1, build)


def _fallback(missing: Callable[[Any], bool]) -> _Function:
    """BLANKVALUE / NULLVALUE: the first argument, or the second when the first is missing."""
    def build(p: Parser, fname: str, args: list[Expr], offset: int) -> Expr:
        kind = _unify(p, fname, args)
        vf, sf = args[0].fn, args[1].fn
        return p.node(kind, lambda s: sf(s) if missing(v := vf(s)) else v, offset, args)
    return _Function(2, 2, build)


def _is_blank(v: Any) -> bool:
    return v is None or v == ""


def _extreme(pick: Callable[..., Any]) -> _Function:
    def build(p: Parser, fname: str, args: list[Expr], offset: int) -> Expr:
        for index, arg in enumerate(args, 1):
            _check(p, arg, _ORDERED, fname, index)
        kind = _unify(p, fname, args)
        fns = tuple(a.fn for a in args)

        def fn(s: Any) -> Any:
            values = [f(s) for f in fns]
            return None if any(v is None for v in values) else pick(values)
        return p.node(kind, fn, offset, args)
    return _Function(1, None, build)


def _now(make: Callable[[], Any], kind: str) -> _Function:
    def build(p: Parser, fname: str, args: list[Expr], offset: int) -> Expr:
        return p.node(kind, lambda s: make(), offset, args, pure=False)
    return _Function(0, 0, build)


@_custom(1, 1)
def _text(p: Parser, fname: str, args: list[Expr], offset: int) -> Expr:
    f = args[0].fn
    fn = (lambda s: f(s) or "") if args[0].kind == "Text" else (lambda s: to_text(f(s)))
    return p.node("Text", fn, offset, args)


def to_text(value: Any) -> str:
    if isinstance(value, Decimal) and value.is_zero():
        value = value.copy_abs()  # no "-0"
    return text_of(value)


@_custom(1, 1)
def _datevalue(p: Parser, fname: str, args: list[Expr], offset: int) -> Expr:
    _check(p, args[0], frozenset({"Text", "Date", "DateTime"}), fname, 1)
    f = args[0].fn
    convert = {"Text": _parse_date, "DateTime": lambda t: t.astimezone(UTC).date()}.get(
        args[0].kind, lambda d: d)
    return p.node("Date", lambda s: None if (v := f(s)) is None else convert(v), offset, args)


def _parse_date(text: str) -> _dt.date | None:
    text = text.strip()
    if not text:
        return None
    try:
        if len(text) == 10:
            return _dt.date.fromisoformat(text)
        moment = _dt.datetime.fromisoformat(text[:-1] + "+00:00" if text[-1] in "Zz" else text)
        return (moment.astimezone(UTC) if moment.tzinfo else moment).date()
    except ValueError:
        raise Fault(f"DATEVALUE cannot read {quoted(text)} as a date (expected YYYY-MM-DD)"
                    ) from None


_NUMBER_TEXT = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")


def _value(text: str) -> Decimal | None:
    text = text.strip()
    if not text:
        return None
    if not _NUMBER_TEXT.fullmatch(text):
        raise Fault(f"VALUE cannot read {quoted(text)} as a number")
    return Decimal(text)


def _mid(text: str, start: Decimal, count: Decimal) -> str:
    first, length = whole(start), whole(count)
    if first < 1:
        raise Fault(f"MID start position must be 1 or more, got {text_of(start)}")
    if length < 0:
        raise Fault(f"MID length must be 0 or more, got {text_of(count)}")
    return text[first - 1:first - 1 + length]


def _substitute(text: str, old: str, new: str) -> str:
    if not old:
        return text
    if len(new) > len(old) and len(text) + text.count(old) * (len(new) - len(old)) > MAX_TEXT:
        raise Fault(f"SUBSTITUTE would build text longer than {MAX_TEXT:,} characters")
    return text.replace(old, new)


def _round(value: Decimal, digits: Decimal) -> Decimal:
    places = whole(digits, 100_000)
    try:
        return value.quantize(Decimal(f"1E{-places}"), rounding=ROUND_HALF_UP, context=CTX)
    except InvalidOperation:
        raise Fault(f"ROUND cannot round {quoted(value)} to {places} decimal places") from None


def _mod(dividend: Decimal, divisor: Decimal) -> Decimal:
    if not divisor:
        raise Fault("MOD by zero")
    return CTX.remainder(dividend, divisor)


def _date(year: Decimal, month: Decimal, day: Decimal) -> _dt.date:
    shown = f"DATE({text_of(year)}, {text_of(month)}, {text_of(day)})"
    if any(part != part.to_integral_value(context=CTX) for part in (year, month, day)):
        raise Fault(f"{shown} needs whole numbers")
    try:
        return _dt.date(whole(year), whole(month), whole(day))
    except ValueError:
        raise Fault(f"{shown} is not a valid date") from None


def _add_months(moment: Any, months: Decimal) -> Any:
    total = moment.year * 12 + moment.month - 1 + whole(months, 200_000)
    year, month = total // 12, total % 12 + 1
    if not 1 <= year <= 9999:
        raise Fault("ADDMONTHS gives a date outside years 1 to 9999")
    last = calendar.monthrange(year, month)[1]
    at_month_end = moment.day == calendar.monthrange(moment.year, moment.month)[1]
    day = last if at_month_end else min(moment.day, last)
    return moment.replace(year=year, month=month, day=day)


FUNCTIONS: Final[dict[str, _Function]] = {
    "IF": _if,
    "CASE": _case,
    "AND": _logic_function(1, None, _all),
    "OR": _logic_function(1, None, _any),
    "NOT": _logic_function(1, 1, lambda fns: _negate(fns[0])),
    "ISBLANK": _test(_is_blank),
    "ISNULL": _test(lambda v: v is None),
    "BLANKVALUE": _fallback(_is_blank),
    "NULLVALUE": _fallback(lambda v: v is None),
    "TEXT": _text,
    "VALUE": _simple((_TEXT,), "Number", _value),
    "LEN": _simple((_TEXT,), "Number", lambda t: Decimal(len(t))),
    "LEFT": _simple((_TEXT, _NUM), "Text", lambda t, n: t[:max(whole(n), 0)]),
    "RIGHT": _simple((_TEXT, _NUM), "Text", lambda t, n: t[max(len(t) - max(whole(n), 0), 0):]),
    "MID": _simple((_TEXT, _NUM, _NUM), "Text", _mid),
    "UPPER": _simple((_TEXT,), "Text", str.upper),
    "LOWER": _simple((_TEXT,), "Text", str.lower),
    "TRIM": _simple((_TEXT,), "Text", str.strip),
    "CONTAINS": _simple((_TEXT, _TEXT), "Boolean", lambda t, part: part in t),
    "BEGINS": _simple((_TEXT, _TEXT), "Boolean", str.startswith),
    "SUBSTITUTE": _simple((_TEXT, _TEXT, _TEXT), "Text", _substitute),
    "ROUND": _simple((_NUM, _NUM), "Number", _round),
    "FLOOR": _simple((_NUM,), "Number", lambda v: v.to_integral_value(ROUND_FLOOR, CTX)),
    "CEILING": _simple((_NUM,), "Number", lambda v: v.to_integral_value(ROUND_CEILING, CTX)),
    "ABS": _simple((_NUM,), "Number", Decimal.copy_abs),
    "MAX": _extreme(max),
    "MIN": _extreme(min),
    "MOD": _simple((_NUM, _NUM), "Number", _mod),
    "TODAY": _now(lambda: _dt.datetime.now(UTC).date(), "Date"),
    "NOW": _now(lambda: _dt.datetime.now(UTC), "DateTime"),
    "DATE": _simple((_NUM, _NUM, _NUM), "Date", _date),
    "DATEVALUE": _datevalue,
    "YEAR": _simple((_DATE,), "Number", lambda d: Decimal(d.year)),
    "MONTH": _simple((_DATE,), "Number", lambda d: Decimal(d.month)),
    "DAY": _simple((_DATE,), "Number", lambda d: Decimal(d.day)),
    "ADDMONTHS": _simple((_DATES, _NUM), 0, _add_months),
}
