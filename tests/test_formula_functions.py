"""Every function of Salesforce's formula reference that flows may use, pinned by the examples on
its help page (`help.salesforce.com`, `platform.customize_functions_<name>.htm`) and by the
choices flowengine makes where the page is silent (README, "Behaviour where Salesforce is
silent"; docs/conformance.md lists each function with its test here)."""
from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest

from flowengine.errors import FlowRuntimeError
from flowengine.formula import FormulaError, compile_formula
from flowengine.formula.functions import FUNCTIONS
from flowengine.types import FlowType

UTC = dt.UTC
D = Decimal
FIELDS = {"name": FlowType("Text"), "n": FlowType("Number"), "day": FlowType("Date"),
          "moment": FlowType("DateTime"), "clock": FlowType("Time"),
          "status": FlowType("Picklist")}


def resolve(path: str) -> tuple[FlowType, Callable[[Any], Any]]:
    if path not in FIELDS:
        raise KeyError(f"unknown merge field {{!{path}}}")
    return FIELDS[path], lambda state: state.get(path)


def run(expression: str, **values: Any) -> Any:
    return compile_formula(expression, None, resolve, "F").evaluate(values)


def error(expression: str) -> str:
    with pytest.raises(FormulaError) as info:
        compile_formula(expression, None, resolve, "F")
    return info.value.message


def fault(expression: str, **values: Any) -> str:
    with pytest.raises(FlowRuntimeError) as info:
        run(expression, **values)
    return str(info.value)


# -- math ------------------------------------------------------------------------------------------

@pytest.mark.parametrize(("expression", "expected"), [
    # CEILING / FLOOR pages and knowledge article 000386432: on negatives they round away from
    # and toward zero; MCEILING / MFLOOR pages: the mathematical ceiling and floor
    ("CEILING(2.5)", D(3)), ("CEILING(-2.5)", D(-3)), ("FLOOR(2.5)", D(2)), ("FLOOR(-2.5)", D(-2)),
    ("MCEILING(2.5)", D(3)), ("MCEILING(-2.5)", D(-2)), ("MFLOOR(2.5)", D(2)), ("MFLOOR(-2.5)", D(-3)),
    ("SQRT(25)", D(5)), ("SQRT(0)", D(0)), ("EXP(0)", D(1)), ("LN(1)", D(0)),
    ("LOG(100)", D(2)), ("LOG(1000)", D(3)), ("ROUND(LN(EXP(2)), 10)", D(2)),
    ("ROUND(EXP(1), 5)", D("2.71828")), ("ROUND(SQRT(2), 4)", D("1.4142")),
])
def test_math_functions(expression: str, expected: Decimal) -> None:
    assert run(expression) == expected


@pytest.mark.parametrize(("expression", "message"), [
    ("SQRT(-1)", "SQRT needs a number 0 or more, got -1"),
    ("LN(0)", "LN needs a number greater than 0, got 0"),
    ("LOG(-10)", "LOG needs a number greater than 0, got -10"),
    ("EXP(5000)", "the number is too large"),
    ("EXP(100)", "has more than 18 digits before the decimal point"),
])
def test_math_faults(expression: str, message: str) -> None:
    assert message in fault(expression)


def test_distance_between_two_geolocations() -> None:
    # San Francisco to Los Angeles, about 347 miles / 559 km as the crow flies
    sf_la = "DISTANCE(GEOLOCATION(37.7749, -122.4194), GEOLOCATION(34.0522, -118.2437), '{}')"
    assert 346 < run(sf_la.format("mi")) < 348
    assert 558 < run(sf_la.format("km")) < 560
    assert run("DISTANCE(GEOLOCATION(10, 20), GEOLOCATION(10, 20), 'km')") == 0
    assert run("DISTANCE(GEOLOCATION({!n}, 20), GEOLOCATION(10, 20), 'km')") is None


def test_locations_are_only_for_distance() -> None:
    assert "DISTANCE unit must be 'mi' or 'km', found 'miles'" in \
        error("DISTANCE(GEOLOCATION(1, 2), GEOLOCATION(3, 4), 'miles')")
    assert "only DISTANCE takes" in error("GEOLOCATION(1, 2)")
    assert "DISTANCE expects Location as argument 1, got Number" in \
        error("DISTANCE(1, GEOLOCATION(3, 4), 'mi')")
    assert "latitude must be from -90 to 90" in \
        fault("DISTANCE(GEOLOCATION(91, 0), GEOLOCATION(0, 0), 'km')")


# -- text ------------------------------------------------------------------------------------------

@pytest.mark.parametrize(("expression", "expected"), [
    # LPAD / RPAD pages: pad to the length, or cut the text to it
    ("LPAD('my_company.com', 14, 'z')", "my_company.com"),
    ("LPAD('my_company.com', 15, 'z')", "zmy_company.com"),
    ("LPAD('my_company.com', 2, 'z')", "my"),
    ("RPAD('my_company.com', 14, 'z')", "my_company.com"),
    ("RPAD('my_company.com', 15, 'z')", "my_company.comz"),
    ("RPAD('my_company.com', 2, 'z')", "my"),
    ("LPAD('7', 3, '0')", "007"), ("LPAD('ab', 5)", "   ab"), ("RPAD('ab', 6, 'xy')", "abxyxy"),
    # FIND: the position of the text, 0 when not there
    ("FIND('b', 'abcb')", D(2)), ("FIND('b', 'abcb', 3)", D(4)), ("FIND('z', 'abc')", D(0)),
    ("FIND('B', 'abc')", D(0)), ("FIND('', 'abc')", D(0)), ("FIND('a', 'abc', 9)", D(0)),
    ("INITCAP('mark E. SMITH')", "Mark E. Smith"), ("INITCAP('hello  world')", "Hello  World"),
    ("REVERSE('abc')", "cba"), ("REVERSE('')", ""),
    ("ASCII('A')", D(65)), ("ASCII('a')", D(97)), ("CHR(65)", "A"), ("CHR(8364)", "€"),
    ("BR()", "<br>"),
    # CASESAFEID: the 18-character form of a 15-character Id
    ("CASESAFEID('001D000000IRt53')", "001D000000IRt53IAD"),
    ("CASESAFEID('001D000000IRt53IAD')", "001D000000IRt53IAD"),
    ("CASESAFEID('not an id')", "not an id"),
    ("HTMLENCODE('<b>\"Tom\" & Jerry\\'s</b>')",
     "&lt;b&gt;&quot;Tom&quot; &amp; Jerry&#39;s&lt;/b&gt;"),
    ("JSENCODE('It\\'s \"x\"')", "It\\'s \\\"x\\\""),
    ("JSINHTMLENCODE('<a>\\'')", "&lt;a&gt;&#39;"),
    # URLENCODE: "blank spaces are replaced with %20, and exclamation points with %21"
    ("URLENCODE('Mark Smith!')", "Mark%20Smith%21"), ("URLENCODE('a/b?c=d&e')", "a%2Fb%3Fc%3Dd%26e"),
    ("HYPERLINK('https://example.com/?a=1&b=2', 'Example')",
     '<a href="https://example.com/?a=1&amp;b=2" target="_blank">Example</a>'),
    ("HYPERLINK('/001', 'Account', '_self')", '<a href="/001" target="_self">Account</a>'),
    ("ISNUMBER('12')", True), ("ISNUMBER('-1.5')", True), ("ISNUMBER('1e3')", True),
    ("ISNUMBER('abc')", False), ("ISNUMBER('')", False), ("ISNUMBER(' 7 ')", True),
    ("UPPER('abc', 'en_US')", "ABC"), ("LOWER('ABC', 'tr')", "abc"),
])
def test_text_functions(expression: str, expected: Any) -> None:
    assert run(expression) == expected


def test_ispickval_compares_a_picklist_with_a_text_literal() -> None:
    assert run("ISPICKVAL({!status}, 'Closed')", status="Closed") is True
    assert run("ISPICKVAL({!status}, 'Closed')", status="Open") is False
    assert run("ISPICKVAL({!status}, '')", status=None) is True


def test_regex_matches_the_whole_text() -> None:
    ssn = "'[0-9]{3}-[0-9]{2}-[0-9]{4}'"      # REGEX page: a US Social Security Number
    assert run(f"REGEX('123-45-6789', {ssn})") is True
    assert run(f"REGEX('x123-45-6789', {ssn})") is False
    assert run("REGEX({!name}, '')", name=None) is True
    assert "REGEX cannot read the pattern" in fault("REGEX('a', '(')")


def test_regex_that_backtracks_badly_ends_quickly() -> None:
    start = time.perf_counter()
    try:
        result = run("REGEX({!name}, '(a+)+b')", name="a" * 50_000 + "c")
    except FlowRuntimeError as exc:
        assert "gave up matching" in str(exc)
    else:
        assert result is False
    assert time.perf_counter() - start < 3


def test_text_building_functions_stop_at_the_text_limit() -> None:
    assert "longer than 1,000,000 characters" in fault("LPAD('a', 2000000, 'b')")
    assert "CHR needs the code of a character" in fault("CHR(0)")


# -- dates and times -------------------------------------------------------------------------------

@pytest.mark.parametrize(("expression", "expected"), [
    ("DATETIMEVALUE('2005-11-15 17:00:00')", dt.datetime(2005, 11, 15, 17, tzinfo=UTC)),
    ("DATETIMEVALUE('2005-11-15')", dt.datetime(2005, 11, 15, tzinfo=UTC)),
    ("DATETIMEVALUE(DATE(2024, 2, 29))", dt.datetime(2024, 2, 29, tzinfo=UTC)),
    ("TIMEVALUE('17:30:45.125')", dt.time(17, 30, 45, 125_000)),
    ("TIMEVALUE('08:15')", dt.time(8, 15)),
    ("TIMEVALUE(DATETIMEVALUE('2005-11-15 17:00:00'))", dt.time(17)),
    ("HOUR(TIMEVALUE('17:30:45.125'))", D(17)), ("MINUTE(TIMEVALUE('17:30:45.125'))", D(30)),
    ("SECOND(TIMEVALUE('17:30:45.125'))", D(45)), ("MILLISECOND(TIMEVALUE('17:30:45.125'))", D(125)),
    # WEEKDAY: 1 for Sunday to 7 for Saturday
    ("WEEKDAY(DATE(2024, 1, 7))", D(1)), ("WEEKDAY(DATE(2024, 1, 13))", D(7)),
    ("WEEKDAY(DATE(2024, 1, 10))", D(4)),
    ("DAYOFYEAR(DATE(2022, 2, 1))", D(32)), ("DAYOFYEAR(DATE(2024, 12, 31))", D(366)),
    # ISO 8601 weeks: 2021-01-01 is in week 53 of ISO year 2020
    ("ISOWEEK(DATE(2021, 1, 1))", D(53)), ("ISOYEAR(DATE(2021, 1, 1))", D(2020)),
    ("ISOWEEK(DATE(2024, 12, 30))", D(1)), ("ISOYEAR(DATE(2024, 12, 30))", D(2025)),
    ("UNIXTIMESTAMP(DATE(1970, 1, 2))", D(86400)),
    ("UNIXTIMESTAMP(DATETIMEVALUE('2001-09-09 01:46:40'))", D(1_000_000_000)),
    ("UNIXTIMESTAMP(TIMEVALUE('01:00:01'))", D(3601)),
    ("FROMUNIXTIME(1000000000)", dt.datetime(2001, 9, 9, 1, 46, 40, tzinfo=UTC)),
    ("FROMUNIXTIME(0)", dt.datetime(1970, 1, 1, tzinfo=UTC)),
    # Time arithmetic is in milliseconds on a 24-hour clock (Time custom field considerations)
    ("TIMEVALUE('17:00:00') + 600000", dt.time(17, 10)),
    ("TIMEVALUE('17:00:00') - 600000", dt.time(16, 50)),
    ("TIMEVALUE('23:00:00') + 2 * 3600000", dt.time(1)),
    ("TIMEVALUE('17:00:00') - TIMEVALUE('08:00:00')", D(9 * 3_600_000)),
    ("TIMEVALUE('05:00:00') - TIMEVALUE('07:00:00')", D(22 * 3_600_000)),
    ("TIMEVALUE('09:00:00') < TIMEVALUE('10:00:00')", True),
])
def test_date_and_time_functions(expression: str, expected: Any) -> None:
    assert run(expression) == expected


def test_text_of_dates_and_times_has_salesforces_format() -> None:
    assert run("TEXT(DATETIMEVALUE('2015-03-17 17:00:00'))") == "2015-03-17 17:00:00Z"
    assert run("TEXT({!moment})", moment=dt.datetime(2015, 3, 17, 17, tzinfo=UTC)) == \
        "2015-03-17 17:00:00Z"
    assert run("TEXT(TIMEVALUE('07:00:00'))") == "07:00:00.000Z"
    assert run("TEXT(DATE(2015, 3, 17))") == "2015-03-17"


def test_now_functions_give_fresh_values() -> None:
    before = dt.datetime.now(UTC).replace(microsecond=0)
    assert before <= run("NOW()") <= dt.datetime.now(UTC)
    assert isinstance(run("TIMENOW()"), dt.time)
    assert run("TIMENOW()").microsecond % 1000 == 0      # milliseconds, as Time values hold


@pytest.mark.parametrize(("expression", "message"), [
    ("DATETIMEVALUE('15/11/2005')", "DATETIMEVALUE cannot read '15/11/2005' as a date/time"),
    ("TIMEVALUE('25:00:00')", "TIMEVALUE cannot read '25:00:00' as a time"),
    ("FROMUNIXTIME(999999999999999)", "is outside years 1 to 9999"),
])
def test_date_and_time_faults(expression: str, message: str) -> None:
    assert message in fault(expression)


@pytest.mark.parametrize(("expression", "message"), [
    ("HOUR({!moment})", "HOUR expects Time as argument 1, got DateTime; use TIMEVALUE() to take its time"),
    ("WEEKDAY({!moment})", "WEEKDAY expects Date as argument 1, got DateTime; use DATEVALUE()"),
    ("TIMEVALUE(1)", "TIMEVALUE expects Text or DateTime or Time as argument 1, got Number"),
    ("{!clock} + {!day}", "'+' cannot add Time and Date"),
])
def test_date_and_time_type_errors(expression: str, message: str) -> None:
    assert message in error(expression)


# -- functions Salesforce does not allow in flows ---------------------------------------------------

NOT_IN_FLOWS = ["GETRECORDIDS", "IMAGE", "INCLUDES", "PARENTGROUPVAL", "PREVGROUPVAL",
                "REQUIRESCRIPT", "VLOOKUP"]
RECORD_CHANGE = ["ISCHANGED", "ISNEW", "PRIORVALUE"]
OTHER_CONTEXTS = ["ISCLONE", "CURRENCYRATE", "GETSESSIONID", "IMAGEPROXYURL", "INCLUDE", "LINKTO",
                  "URLFOR", "JUNCTIONIDLIST"]


@pytest.mark.parametrize("name", NOT_IN_FLOWS)
def test_functions_salesforce_excludes_from_flow_formulas(name: str) -> None:
    # Salesforce Help, Flow Formula Considerations: "These functions aren't supported in a flow
    # formula"
    assert f"{name} is not supported in flow formulas" in error(f"{name}('x')")


@pytest.mark.parametrize("name", RECORD_CHANGE)
def test_record_change_functions_need_a_record_triggered_flow(name: str) -> None:
    call = f"{name}()" if name == "ISNEW" else f"{name}({{!name}})"
    assert "only in formulas of record-triggered flows" in error(call)


def test_every_function_in_the_table_is_tested_here() -> None:
    """A function added to the table needs an example in this module (or test_formula.py)."""
    import inspect
    import re
    from pathlib import Path

    here = inspect.getsource(inspect.getmodule(test_math_functions))  # type: ignore[arg-type]
    older = (Path(__file__).parent / "test_formula.py").read_text(encoding="utf-8")
    used = set(re.findall(r"\b([A-Z][A-Z]+)\(", here + older))
    refused = {*NOT_IN_FLOWS, *RECORD_CHANGE, *OTHER_CONTEXTS}
    assert sorted(set(FUNCTIONS) - used - refused) == []


@pytest.mark.parametrize("name", OTHER_CONTEXTS)
def test_functions_of_other_formula_contexts_are_clear_errors(name: str) -> None:
    message = error(f"{name}()")
    assert message.startswith(name) and ("not available in flow formulas" in message
                                         or "no session" in message)
