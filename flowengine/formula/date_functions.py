"""Date, date/time and time functions of Salesforce's formula reference, each as its help page
describes it (`help.salesforce.com`, articles `platform.customize_functions_<name>.htm`).

Date/Time values are in GMT (UTC) with whole seconds; Time values are times of day with
milliseconds (Considerations for the Time Custom Field Type)."""
from __future__ import annotations

import datetime as _dt
import re
from collections.abc import Callable
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Final

from flowengine.formula.builders import (
    DATE,
    DATES,
    MOMENTS,
    NUM,
    TIME,
    Function,
    check_arg,
    custom,
    now,
    simple,
)
from flowengine.formula.nodes import CTX, Expr, Fault, quoted
from flowengine.formula.operators import MILLIS_PER_DAY, whole
from flowengine.types import UTC, text_of

if TYPE_CHECKING:
    from flowengine.formula.parser import Parser

_EPOCH: Final = _dt.datetime(1970, 1, 1, tzinfo=UTC)


def _date(year: Decimal, month: Decimal, day: Decimal) -> _dt.date:
    shown = f"DATE({text_of(year)}, {text_of(month)}, {text_of(day)})"
    if any(part != part.to_integral_value(context=CTX) for part in (year, month, day)):
        raise Fault(f"{shown} needs whole numbers")
    try:
        return _dt.date(whole(year), whole(month), whole(day))
    except ValueError:
        raise Fault(f"{shown} is not a valid date") from None


def add_months(moment: Any, months: Decimal) -> Any:
    """ADDMONTHS: the last day of the month stays the last day; a day the new month lacks
    becomes its last day."""
    total = moment.year * 12 + moment.month - 1 + whole(months, 200_000)
    year, month = total // 12, total % 12 + 1
    if not 1 <= year <= 9999:
        raise Fault("ADDMONTHS gives a date outside years 1 to 9999")
    import calendar  # here: the formula package's import stays light for every check

    last = calendar.monthrange(year, month)[1]
    at_month_end = moment.day == calendar.monthrange(moment.year, moment.month)[1]
    day = last if at_month_end else min(moment.day, last)
    return moment.replace(year=year, month=month, day=day)


# -- reading text ---------------------------------------------------------------------------------

_DATETIME_TEXT = re.compile(
    r"(\d{4}-\d{2}-\d{2})(?:[ T](\d{1,2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?))?\s*(Z|[+-]\d{2}:?\d{2})?",
    re.IGNORECASE)
_TIME_TEXT = re.compile(r"(\d{1,2}):(\d{2})(?::(\d{2})(?:\.(\d{1,3})\d*)?)?\s*Z?", re.IGNORECASE)


def _parse_moment(text: str, fname: str, what: str, expected: str) -> _dt.datetime | None:
    text = text.strip()
    if not text:
        return None
    match = _DATETIME_TEXT.fullmatch(text)
    try:
        if match is None:
            raise ValueError
        day, clock, zone = match.groups()
        iso = day + ("T" + clock if clock else "")
        if zone:
            iso += "+00:00" if zone.upper() == "Z" else zone
        moment = _dt.datetime.fromisoformat(iso)
    except ValueError:
        raise Fault(f"{fname} cannot read {quoted(text)} as a {what} (expected {expected})"
                    ) from None
    moment = moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
    return moment.replace(microsecond=0)


def _datevalue_of_text(text: str) -> _dt.date | None:
    moment = _parse_moment(text, "DATEVALUE", "date", "YYYY-MM-DD")
    return None if moment is None else moment.date()


def _datetimevalue_of_text(text: str) -> _dt.datetime | None:
    return _parse_moment(text, "DATETIMEVALUE", "date/time", "YYYY-MM-DD HH:MM:SS, in GMT")


def _timevalue_of_text(text: str) -> _dt.time | None:
    text = text.strip()
    if not text:
        return None
    match = _TIME_TEXT.fullmatch(text)
    if match:
        hour, minute, second, millis = match.groups()
        try:
            return _dt.time(int(hour), int(minute), int(second or 0),
                            int((millis or "0").ljust(3, "0")) * 1000)
        except ValueError:
            pass
    raise Fault(f"TIMEVALUE cannot read {quoted(text)} as a time (expected HH:MM:SS.MS, e.g. "
                "17:30:45.125)")


def _convert(target: str, sources: dict[str, Callable[[Any], Any]]) -> Function:
    """DATEVALUE / DATETIMEVALUE / TIMEVALUE: one argument of the kinds in `sources`."""
    allowed = frozenset(sources)

    @custom(1, 1)
    def build(p: Parser, fname: str, args: list[Expr], offset: int) -> Expr:
        check_arg(p, args[0], allowed, fname, 1)
        f = args[0].fn
        convert = sources.get(args[0].kind, lambda v: v)
        return p.node(target, lambda s: None if (v := f(s)) is None else convert(v), offset, args)
    return build


def _midnight(d: _dt.date) -> _dt.datetime:
    return _dt.datetime(d.year, d.month, d.day, tzinfo=UTC)


def _time_of(moment: _dt.datetime) -> _dt.time:
    return moment.astimezone(UTC).time().replace(tzinfo=None)


# -- numbers of dates and times -------------------------------------------------------------------

def _weekday(d: _dt.date) -> Decimal:
    """WEEKDAY: 1 for Sunday through 7 for Saturday."""
    return Decimal(d.isoweekday() % 7 + 1)


def _unix_timestamp(value: Any) -> Decimal:
    """UNIXTIMESTAMP: seconds since 1970-01-01 00:00:00 GMT of a Date (its midnight) or a
    Date/Time; for a Time, the seconds since midnight (whole seconds: ours)."""
    if isinstance(value, _dt.datetime):
        return Decimal(int((value - _EPOCH).total_seconds() // 1))
    if isinstance(value, _dt.date):
        return Decimal((value - _EPOCH.date()).days * 86_400)
    return Decimal(value.hour * 3600 + value.minute * 60 + value.second)


def _from_unix_time(seconds: Decimal) -> _dt.datetime:
    try:
        return _EPOCH + _dt.timedelta(seconds=whole(seconds, 400_000_000_000))
    except OverflowError:
        raise Fault(f"FROMUNIXTIME({text_of(seconds)}) is outside years 1 to 9999") from None


def _now() -> _dt.datetime:
    return _dt.datetime.now(UTC).replace(microsecond=0)


def _time_now() -> _dt.time:
    clock = _dt.datetime.now(UTC).time()
    return clock.replace(microsecond=clock.microsecond // 1000 * 1000)


DATE_FUNCTIONS: Final[dict[str, Function]] = {
    "TODAY": now(lambda: _dt.datetime.now(UTC).date(), "Date"),
    "NOW": now(_now, "DateTime"),
    "TIMENOW": now(_time_now, "Time"),
    "DATE": simple((NUM, NUM, NUM), "Date", _date),
    "DATEVALUE": _convert("Date", {"Text": _datevalue_of_text, "Date": lambda d: d,
                                   "DateTime": lambda t: t.astimezone(UTC).date()}),
    "DATETIMEVALUE": _convert("DateTime", {"Text": _datetimevalue_of_text, "Date": _midnight,
                                           "DateTime": lambda t: t}),
    "TIMEVALUE": _convert("Time", {"Text": _timevalue_of_text, "DateTime": _time_of,
                                   "Time": lambda t: t}),
    "YEAR": simple((DATE,), "Number", lambda d: Decimal(d.year)),
    "MONTH": simple((DATE,), "Number", lambda d: Decimal(d.month)),
    "DAY": simple((DATE,), "Number", lambda d: Decimal(d.day)),
    "DAYOFYEAR": simple((DATE,), "Number", lambda d: Decimal(d.timetuple().tm_yday)),
    "WEEKDAY": simple((DATE,), "Number", _weekday),
    "ISOWEEK": simple((DATE,), "Number", lambda d: Decimal(d.isocalendar().week)),
    "ISOYEAR": simple((DATE,), "Number", lambda d: Decimal(d.isocalendar().year)),
    "HOUR": simple((TIME,), "Number", lambda t: Decimal(t.hour)),
    "MINUTE": simple((TIME,), "Number", lambda t: Decimal(t.minute)),
    "SECOND": simple((TIME,), "Number", lambda t: Decimal(t.second)),
    "MILLISECOND": simple((TIME,), "Number", lambda t: Decimal(t.microsecond // 1000)),
    "ADDMONTHS": simple((DATES, NUM), 0, add_months),
    "UNIXTIMESTAMP": simple((MOMENTS,), "Number", _unix_timestamp),
    "FROMUNIXTIME": simple((NUM,), "DateTime", _from_unix_time),
}

__all__ = ["DATE_FUNCTIONS", "MILLIS_PER_DAY", "add_months"]
