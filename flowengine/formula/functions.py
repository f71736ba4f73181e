"""The function table: name → (argument counts, builder). Each builder checks the kinds of its
arguments and compiles the call into a closure.

This module holds the logical functions and the conversions between text and other kinds; the
text, math and date-and-time functions are in their own modules and joined into `FUNCTIONS` here.
Every function of Salesforce's formula reference that a flow formula may use is in the table;
the ones Salesforce does not allow in flows are in it too, so that using one is a clear error.
"""
from __future__ import annotations

import datetime as _dt
import re
from collections.abc import Callable
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Final

from flowengine.formula.builders import (
    BOOL,
    TEXT,
    Function,
    check_arg,
    custom,
    simple,
    unavailable,
    unify,
)
from flowengine.formula.date_functions import DATE_FUNCTIONS
from flowengine.formula.math_functions import MATH_FUNCTIONS
from flowengine.formula.nodes import CTX, Expr, Fault, Getter, constant, kind_name, quoted
from flowengine.formula.operators import comparable
from flowengine.formula.text_functions import TEXT_FUNCTIONS
from flowengine.types import UTC, number_problem, text_of

if TYPE_CHECKING:
    from flowengine.formula.parser import Parser


@custom(3, 3)
def _if(p: Parser, fname: str, args: list[Expr], offset: int) -> Expr:
    cond, then, other = args
    check_arg(p, cond, BOOL, fname, 1)
    kind = unify(p, fname, [then, other])
    cf, tf, ef = cond.fn, then.fn, other.fn
    # a constant branch is its value, not a call of its closure
    if then.const and other.const:
        tv, ev = then.value, other.value
        return p.node(kind, lambda s: tv if cf(s) else ev, offset, args)
    if then.const:
        tv = then.value
        return p.node(kind, lambda s: tv if cf(s) else ef(s), offset, args)
    if other.const:
        ev = other.value
        return p.node(kind, lambda s: tf(s) if cf(s) else ev, offset, args)
    return p.node(kind, lambda s: tf(s) if cf(s) else ef(s), offset, args)


@custom(4, None)
def _case(p: Parser, fname: str, args: list[Expr], offset: int) -> Expr:
    if len(args) % 2:
        p.fail(f"CASE expects an expression, pairs of value and result, then an else result (an "
               f"even number of arguments), got {len(args)}", offset)
    subject, values, results, other = args[0], args[1:-1:2], args[2:-1:2], args[-1]
    for v in values:
        if not comparable(subject.kind, v.kind):
            p.fail(f"CASE compares {kind_name(subject.kind)} with {kind_name(v.kind)}", v.offset)
    kind = unify(p, fname, [*results, other])
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
                    ) -> Function:
    def build(p: Parser, fname: str, args: list[Expr], offset: int) -> Expr:
        for index, arg in enumerate(args, 1):
            check_arg(p, arg, BOOL, fname, index)
        return p.node("Boolean", make(tuple(a.fn for a in args)), offset, args)
    return Function(low, high, build)


def _all(fns: tuple[Getter, ...]) -> Getter:
    return lambda s: all(f(s) for f in fns)


def _any(fns: tuple[Getter, ...]) -> Getter:
    return lambda s: any(f(s) for f in fns)


def _negate(f: Getter) -> Getter:
    return lambda s: not f(s)


def _test(test: Callable[[Any], bool]) -> Function:
    """ISBLANK / ISNULL: any kind of argument, a Boolean result."""
    def build(p: Parser, fname: str, args: list[Expr], offset: int) -> Expr:
        f = args[0].fn
        return p.node("Boolean", lambda s: test(f(s)), offset, args)
    return Function(1, 1, build)


def _fallback(missing: Callable[[Any], bool]) -> Function:
    """BLANKVALUE / NULLVALUE: the first argument, or the second when the first is missing."""
    def build(p: Parser, fname: str, args: list[Expr], offset: int) -> Expr:
        kind = unify(p, fname, args)
        vf, sf = args[0].fn, args[1].fn
        return p.node(kind, lambda s: sf(s) if missing(v := vf(s)) else v, offset, args)
    return Function(2, 2, build)


def _is_blank(v: Any) -> bool:
    return v is None or v == ""


# -- conversions ----------------------------------------------------------------------------------

_TEXT_SOURCES: Final = frozenset({"Text", "Number", "Date", "DateTime", "Time"})


@custom(1, 1)
def _text(p: Parser, fname: str, args: list[Expr], offset: int) -> Expr:
    """TEXT converts a number, date, date/time, time or picklist value (TEXT's page); Boolean is
    not among them."""
    arg = args[0]
    if arg.kind == "Boolean":
        p.fail("TEXT converts Number, Date, DateTime, Time and picklist values, not Boolean; use "
               'IF(condition, "true", "false")', arg.offset)
    check_arg(p, arg, _TEXT_SOURCES, fname, 1)
    f = arg.fn
    if arg.kind == "Number":
        def number_text(s: Any) -> str:
            # a finite number other than zero is its plain decimal text, as `to_text` gives it
            v = f(s)
            if type(v) is Decimal and v.is_finite() and not v.is_zero():
                return format(v, "f")
            return to_text(v)
        return p.node("Text", number_text, offset, args)
    fn = (lambda s: f(s) or "") if arg.kind == "Text" else (lambda s: to_text(f(s)))
    return p.node("Text", fn, offset, args)


def to_text(value: Any) -> str:
    """TEXT(): numbers as plain decimals, Date as 2015-03-17, Date/Time in GMT as
    2015-03-17 17:00:00Z, Time as 17:00:00.000Z (Salesforce's documented forms)."""
    if isinstance(value, Decimal) and value.is_zero():
        value = value.copy_abs()  # no "-0"
    if isinstance(value, _dt.datetime):
        return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%SZ")
    if isinstance(value, _dt.time):
        return value.strftime("%H:%M:%S.") + f"{value.microsecond // 1000:03d}Z"
    return text_of(value)


_NUMBER_TEXT = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")


def _value(text: str) -> Decimal | None:
    text = text.strip()
    if not text:
        return None
    if not _NUMBER_TEXT.fullmatch(text):
        raise Fault(f"VALUE cannot read {quoted(text)} as a number")
    number = Decimal(text)
    problem = number_problem(number)
    if problem:
        raise Fault(f"VALUE({quoted(text)}): {problem}")
    return CTX.plus(number)


def _is_number(text: str) -> bool:
    text = text.strip()
    return bool(_NUMBER_TEXT.fullmatch(text))


_RECORD_ONLY = ("is available only in formulas of record-triggered flows (Salesforce: \"Use "
                "ISCHANGED, ISNEW, and PRIORVALUE in Record-Triggered Flow Formulas\")")


def _prior(p: Parser, fname: str, offset: int, need_update: bool) -> Any:
    """The getter of $Record__Prior, or a load error saying where the function is available."""
    try:
        return p.resolve("$Record__Prior")[1]
    except KeyError:
        pass
    try:
        p.resolve("$Record")
    except KeyError:
        p.fail(f"{fname} {_RECORD_ONLY}", offset)
    if need_update:
        p.fail(f"{fname} compares a field with its value before an update: the flow must start "
               "on Update or CreateAndUpdate", offset)
    return None


def _record_change(fname_kind: str) -> Function:
    """ISCHANGED({!$Record.Field}): the field differs from its prior value (false when the
    record is new); PRIORVALUE({!$Record.Field}): the prior value (null when new)."""
    def build(p: Parser, fname: str, args: list[Expr], offset: int) -> Expr:
        prior = _prior(p, fname, offset, need_update=True)
        ref = args[0].ref or ""
        root, _, field = ref.partition(".")
        if root.lower() != "$record" or not field or "." in field:
            p.fail(f"{fname} takes a field of the record that started the flow, "
                   "{!$Record.Field}", args[0].offset)
        current = args[0].fn

        def before(s: Any) -> Any:
            record = prior(s)
            return None if record is None else record.fields.get(field)
        if fname_kind == "PRIORVALUE":
            return p.node(args[0].kind, before, offset, args, pure=False)

        def changed(s: Any) -> bool:
            return prior(s) is not None and before(s) != current(s)
        return p.node("Boolean", changed, offset, args, pure=False)
    return Function(1, 1, build)


def _is_new() -> Function:
    """ISNEW(): the record that started the flow is being created (it has no prior values)."""
    def build(p: Parser, fname: str, args: list[Expr], offset: int) -> Expr:
        prior = _prior(p, fname, offset, need_update=False)
        if prior is None:                       # a flow started on Create only
            return constant("Boolean", True, offset)
        return p.node("Boolean", lambda s: prior(s) is None, offset, args, pure=False)
    return Function(0, 0, build)
_NOT_IN_FLOWS = ("is not supported in flow formulas (Salesforce's Flow Formula Considerations "
                 "list GETRECORDIDS, IMAGE, INCLUDES, PARENTGROUPVAL, PREVGROUPVAL, PRIORVALUE, "
                 "REQUIRE SCRIPT and VLOOKUP; PRIORVALUE is allowed in record-triggered flows)")
_OTHER_CONTEXTS = "is not available in flow formulas (only in other formula contexts)"

LOGIC_FUNCTIONS: Final[dict[str, Function]] = {
    "IF": _if,
    "CASE": _case,
    "AND": _logic_function(1, None, _all),
    "OR": _logic_function(1, None, _any),
    "NOT": _logic_function(1, 1, lambda fns: _negate(fns[0])),
    "ISBLANK": _test(_is_blank),
    "ISNULL": _test(lambda v: v is None),
    "BLANKVALUE": _fallback(_is_blank),
    "NULLVALUE": _fallback(lambda v: v is None),
    "ISNUMBER": simple((TEXT,), "Boolean", _is_number),
    "TEXT": _text,
    "VALUE": simple((TEXT,), "Number", _value),
    "ISCHANGED": _record_change("ISCHANGED"),
    "ISNEW": _is_new(),
    "PRIORVALUE": _record_change("PRIORVALUE"),
    "GETRECORDIDS": unavailable(_NOT_IN_FLOWS),
    "IMAGE": unavailable(_NOT_IN_FLOWS),
    "INCLUDES": unavailable(_NOT_IN_FLOWS),
    "PARENTGROUPVAL": unavailable(_NOT_IN_FLOWS),
    "PREVGROUPVAL": unavailable(_NOT_IN_FLOWS),
    "REQUIRESCRIPT": unavailable(_NOT_IN_FLOWS),
    "VLOOKUP": unavailable(_NOT_IN_FLOWS),
    "ISCLONE": unavailable(_OTHER_CONTEXTS + " (record formulas and validation rules)"),
    "CURRENCYRATE": unavailable(_OTHER_CONTEXTS + " (formula fields with multiple currencies)"),
    "GETSESSIONID": unavailable("returns the user's Salesforce session Id, and a local run has "
                                "no session"),
    "IMAGEPROXYURL": unavailable(_OTHER_CONTEXTS + " (custom buttons and links)"),
    "INCLUDE": unavailable(_OTHER_CONTEXTS + " (Visualforce and s-controls)"),
    "LINKTO": unavailable(_OTHER_CONTEXTS + " (custom buttons and links)"),
    "URLFOR": unavailable(_OTHER_CONTEXTS + " (custom buttons and links)"),
    "JUNCTIONIDLIST": unavailable(_OTHER_CONTEXTS + " (URL buttons)"),
}

FUNCTIONS: Final[dict[str, Function]] = {
    **LOGIC_FUNCTIONS, **TEXT_FUNCTIONS, **MATH_FUNCTIONS, **DATE_FUNCTIONS}
