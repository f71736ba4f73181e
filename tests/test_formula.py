"""Tests of flowengine.formula: grammar, types, null rules, functions, faults and hostile input."""
from __future__ import annotations

import ast
import datetime as dt
import importlib
import inspect
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest
from helpers import cpu_seconds

from flowengine import formula
from flowengine.errors import FlowRuntimeError
from flowengine.formula import MAX_DEPTH, MAX_LENGTH, CompiledFormula, FormulaError, compile_formula
from flowengine.types import Apex, Boolean, FlowType, Number, Text

UTC = dt.UTC

FIELDS: dict[str, FlowType] = {
    "a": Number(),
    "b": Number(),
    "price": FlowType("Currency"),
    "name": Text(),
    "other": Text(),
    "status": FlowType("Picklist"),
    "flag": Boolean(),
    "day": FlowType("Date"),
    "day2": FlowType("Date"),
    "moment": FlowType("DateTime"),
    "moment2": FlowType("DateTime"),
    "clock": FlowType("Time"),
    "lineItem.quantity": Number(),
    "$Flow.CurrentDate": FlowType("Date"),
    "ids": Text(collection=True),
    "lineItem": Apex("ConnectApi.LineItem"),
}


def resolve(path: str) -> tuple[FlowType, Callable[[Any], Any]]:
    if path not in FIELDS:
        raise KeyError(f"unknown merge field {{!{path}}}")
    return FIELDS[path], lambda state: state.get(path)


def compile_(expression: str, declared: FlowType | None = None) -> CompiledFormula:
    return compile_formula(expression, declared, resolve, name="Total")


def run(expression: str, declared: FlowType | None = None, **values: Any) -> Any:
    return compile_(expression, declared).evaluate(values)


def error(expression: str, declared: FlowType | None = None) -> FormulaError:
    with pytest.raises(FormulaError) as info:
        compile_(expression, declared)
    return info.value


def fault(expression: str, **values: Any) -> str:
    with pytest.raises(FlowRuntimeError) as info:
        run(expression, **values)
    return str(info.value)


D = Decimal


# --- literals and operands -------------------------------------------------------------------

def test_number_literals_are_exact_decimals() -> None:
    assert run("0.1 + 0.2") == D("0.3")
    assert str(run("0.1 + 0.2")) == "0.3"
    assert run(".5") == D("0.5")
    assert isinstance(run("42"), Decimal)


def test_text_literals_with_both_quotes_and_escapes() -> None:
    assert run('"say \\"hi\\""') == 'say "hi"'
    assert run("'it\\'s'") == "it's"
    assert run("'a\\\\b\\nc'") == "a\\b\nc"
    assert run("'single \"inside\"'") == 'single "inside"'


def test_keywords_are_case_insensitive() -> None:
    assert run("TRUE") is True
    assert run("false") is False
    assert run("Null") is None


def test_merge_fields_read_state_and_are_listed_once_in_order() -> None:
    compiled = compile_("{!lineItem.quantity} * {!a} + {!a} + {! $Flow.CurrentDate } - {!day}")
    assert compiled.references == ("lineItem.quantity", "a", "$Flow.CurrentDate", "day")
    f = compile_("{!lineItem.quantity} * 2")
    assert f.evaluate({"lineItem.quantity": D(4)}) == D(8)


def test_comments_are_ignored() -> None:
    assert run("1 /* one */ + /* two */ 2") == D(3)


# --- operators and precedence ----------------------------------------------------------------

@pytest.mark.parametrize("expression, expected", [
    ("7 + 3", D(10)), ("7 - 3", D(4)), ("7 * 3", D(21)), ("7 / 2", D("3.5")), ("2 ^ 10", D(1024)),
    ("-7", D(-7)), ("+7", D(7)), ("1 / 3", D("0.3333333333333333333333333333")),
    ("2 + 3 * 4", D(14)), ("(2 + 3) * 4", D(20)), ("10 - 4 - 3", D(3)), ("12 / 3 / 2", D(2)),
    ("-2 ^ 2", D(-4)), ("2 ^ 3 ^ 2", D(512)), ("2 ^ -1", D("0.5")), ("-(2 + 3)", D(-5)),
    ("2 * -3", D(-6)), ("0 ^ 0", D(1)), ("- - 5", D(5)),
])
def test_arithmetic_and_precedence(expression: str, expected: Decimal) -> None:
    assert run(expression) == expected


@pytest.mark.parametrize("expression, expected", [
    ("1 = 1", True), ("1 == 1.0", True), ("1 != 2", True), ("1 <> 1", False),
    ("1 < 2", True), ("2 <= 2", True), ("3 > 2", True), ("2 >= 3", False),
    ('"a" = "a"', True), ('"a" = "A"', False), ('"a" < "b"', True), ("TRUE = TRUE", True),
    ("TRUE && FALSE", False), ("TRUE || FALSE", True), ("FALSE || FALSE", False),
    ("TRUE || FALSE && FALSE", True), ("(TRUE || FALSE) && FALSE", False),
    ("1 + 1 = 2 && 2 * 2 = 4", True), ('"a" & "b" = "ab"', True), ('"x" & "y" + "z"', "xyz"),
])
def test_comparison_logic_and_concatenation(expression: str, expected: Any) -> None:
    assert run(expression) == expected


def test_concatenation_joins_text_and_picklists() -> None:
    assert run('{!name} & "-" & {!status}', name="Ann", status="Open") == "Ann-Open"
    assert run('{!name} + {!other}', name="a", other="b") == "ab"


def test_dates_and_times_compare() -> None:
    assert run("{!day} < {!day2}", day=dt.date(2024, 1, 1), day2=dt.date(2024, 1, 2)) is True
    t1 = dt.datetime(2024, 1, 1, 10, tzinfo=UTC)
    assert run("{!moment} = {!moment2}", moment=t1, moment2=t1) is True
    assert run("{!clock} > {!clock}", clock=dt.time(9)) is False


# --- null rules ------------------------------------------------------------------------------

def test_arithmetic_with_null_is_null() -> None:
    assert run("{!a} + 1") is None
    assert run("1 + {!a} * 2") is None
    assert run("-{!a}") is None
    assert run("{!a} + NULL", a=D(1)) is None
    assert run("{!day} + 1") is None


def test_concatenation_treats_null_as_empty_text() -> None:
    assert run('"x" & {!name} & NULL') == "x"
    assert run("{!name} & {!other}") == ""


def test_comparisons_with_null() -> None:
    assert run("{!a} = NULL") is True
    assert run("{!a} = 1") is False
    assert run("{!a} <> 1") is True
    assert run("{!a} < 1") is False
    assert run("{!a} >= 1") is False
    assert run('{!name} = ""') is True  # blank text and null are the same in formulas
    assert run("{!flag} && TRUE") is False
    assert run("{!flag} || TRUE") is True


def test_text_functions_read_null_as_empty() -> None:
    assert run("LEN({!name})") == D(0)
    assert run("UPPER({!name})") == ""
    assert run('CONTAINS({!name}, "a")') is False
    assert run("LEFT({!name}, 2)") == ""


def test_number_and_date_functions_with_null_give_null() -> None:
    assert run("ROUND({!a}, 2)") is None
    assert run('LEFT("abc", {!a})') is None
    assert run("YEAR({!day})") is None
    assert run("MAX(1, {!a})") is None
    assert run("DATE(2024, {!a}, 1)") is None
    assert run("ADDMONTHS({!day}, 1)") is None


# --- date arithmetic -------------------------------------------------------------------------

def test_date_plus_and_minus_days() -> None:
    day = dt.date(2024, 2, 28)
    assert run("{!day} + 2", day=day) == dt.date(2024, 3, 1)
    assert run("2 + {!day}", day=day) == dt.date(2024, 3, 1)
    assert run("{!day} - 28", day=day) == dt.date(2024, 1, 31)
    assert run("{!day} + 1.9", day=day) == dt.date(2024, 2, 29)  # the fraction is dropped
    assert compile_("{!day} + 1").result_type == FlowType("Date")


def test_date_minus_date_is_a_number_of_days() -> None:
    assert run("{!day} - {!day2}", day=dt.date(2024, 3, 1), day2=dt.date(2024, 2, 1)) == D(29)


def test_datetime_adds_fractional_days() -> None:
    t = dt.datetime(2024, 1, 1, 6, tzinfo=UTC)
    assert run("{!moment} + 0.5", moment=t) == dt.datetime(2024, 1, 1, 18, tzinfo=UTC)
    assert run("{!moment} - 1.25", moment=t) == dt.datetime(2023, 12, 31, 0, tzinfo=UTC)
    later = dt.datetime(2024, 1, 2, 18, tzinfo=UTC)
    assert run("{!moment2} - {!moment}", moment=t, moment2=later) == D("1.5")


def test_date_out_of_range_is_a_fault() -> None:
    assert "outside years 1 to 9999" in fault("{!day} + 1000000", day=dt.date(9999, 1, 1))


# --- functions -------------------------------------------------------------------------------

def test_if_is_lazy_and_treats_null_as_false() -> None:
    assert run('IF({!a} > 1, "big", "small")', a=D(5)) == "big"
    assert run('IF({!flag}, "yes", "no")') == "no"
    assert run("IF(TRUE, 1, 1 / 0)") == D(1)
    assert run("IF({!flag}, NULL, 5)", flag=True) is None
    assert compile_("IF({!flag}, NULL, 5)").result_type == FlowType("Number")


def test_case_with_literal_and_computed_values() -> None:
    expr = 'CASE({!status}, "Open", 1, "Closed", 2, 0)'
    assert run(expr, status="Closed") == D(2)
    assert run(expr, status="closed") == D(0)  # case-sensitive
    assert run("CASE({!a}, {!b}, \"same\", \"different\")", a=D(3), b=D("3.0")) == "same"
    assert run("CASE({!a}, 1, \"one\", 1, \"again\", \"none\")", a=D(1)) == "one"
    assert run('CASE({!name}, "", "blank", "set")') == "blank"


def test_and_or_not() -> None:
    assert run("AND(TRUE, 1 < 2, NOT(FALSE))") is True
    assert run("AND(TRUE, {!flag})") is False
    assert run("OR(FALSE, FALSE, {!a} = 1)", a=D(1)) is True
    assert run("OR(FALSE)") is False
    assert run("NOT({!flag})") is True
    assert run("AND(FALSE, 1 / 0 = 1)") is False  # short-circuits


def test_blank_and_null_tests() -> None:
    assert run("ISBLANK({!name})", name="") is True
    assert run("ISNULL({!name})", name="") is False
    assert run("ISNULL({!a})") is True
    assert run("ISBLANK(0)") is False
    assert run('BLANKVALUE({!name}, "none")', name="") == "none"
    assert run('NULLVALUE({!name}, "none")', name="") == ""
    assert run("NULLVALUE({!a}, 7)") == D(7)
    assert run("BLANKVALUE({!a}, 7)", a=D(3)) == D(3)


def test_text_conversion() -> None:
    assert run("TEXT(1.50)") == "1.50"
    assert run("TEXT(100)") == "100"
    assert run("TEXT(FLOOR(-0.5))") == "0"
    assert run("TEXT({!day})", day=dt.date(2024, 1, 31)) == "2024-01-31"
    # TEXT of a Date/Time is GMT, "2015-03-17 17:00:00Z" (Trailhead "Use Text Formulas"; TEXT's
    # help page); a Time reads 17:00:00.000Z (Considerations for the Time Custom Field Type)
    assert run("TEXT({!moment})", moment=dt.datetime(2024, 1, 31, 9, 30, tzinfo=UTC)) == \
        "2024-01-31 09:30:00Z"
    assert run("TEXT({!clock})", clock=dt.time(7, 0)) == "07:00:00.000Z"
    # TEXT converts number, date, date/time, time and picklist values; not Boolean
    assert "not Boolean" in error("TEXT({!flag})").message
    assert run("TEXT({!a})") == ""
    assert run("TEXT({!status})", status="Open") == "Open"


def test_value_reads_numbers() -> None:
    assert run('VALUE(" 12.50 ")') == D("12.50")
    assert run('VALUE("-3")') == D(-3)
    assert run("VALUE({!name})") is None
    message = fault('VALUE("abc")')
    assert "formula Total failed" in message and "VALUE cannot read 'abc' as a number" in message
    assert "VALUE cannot read" in fault('VALUE("1_000")')
    assert "VALUE cannot read" in fault('VALUE("NaN")')


@pytest.mark.parametrize("expression, expected", [
    ('LEN("héllo")', D(5)), ('LEFT("abcdef", 2)', "ab"), ('LEFT("abc", -1)', ""),
    ('LEFT("abc", 10)', "abc"), ('RIGHT("abcdef", 2)', "ef"), ('RIGHT("abc", 0)', ""),
    ('RIGHT("abc", 99)', "abc"), ('MID("abcdef", 2, 3)', "bcd"), ('MID("abc", 3, 10)', "c"),
    ('UPPER("abc")', "ABC"), ('LOWER("ABC")', "abc"), ('TRIM("  a b  ")', "a b"),
    ('CONTAINS("Hello", "ell")', True), ('CONTAINS("Hello", "ELL")', False),
    ('BEGINS("Hello", "He")', True), ('BEGINS("Hello", "he")', False),
    ('SUBSTITUTE("a-b-c", "-", "+")', "a+b+c"), ('SUBSTITUTE("abc", "", "x")', "abc"),
])
def test_text_functions(expression: str, expected: Any) -> None:
    assert run(expression) == expected


@pytest.mark.parametrize("expression, expected", [
    ("ROUND(2.5, 0)", D(3)), ("ROUND(-2.5, 0)", D(-3)), ("ROUND(1.005, 2)", D("1.01")),
    ("ROUND(1234.5, -2)", D(1200)), ("ROUND(1.2345, 3)", D("1.235")),
    ("FLOOR(2.7)", D(2)), ("FLOOR(-2.1)", D(-2)), ("CEILING(2.1)", D(3)), ("CEILING(-2.7)", D(-3)),
    ("ABS(-4.5)", D("4.5")), ("MAX(3, 9, 1)", D(9)), ("MIN(3, 9, 1)", D(1)),
    ("MOD(7, 3)", D(1)), ("MOD(-7, 3)", D(-1)), ("MOD(7, -3)", D(1)), ("MOD(5.5, 2)", D("1.5")),
])
def test_number_functions(expression: str, expected: Decimal) -> None:
    assert run(expression) == expected


def test_max_min_of_dates() -> None:
    a, b = dt.date(2024, 1, 1), dt.date(2025, 1, 1)
    assert run("MAX({!day}, {!day2})", day=a, day2=b) == b
    assert run("MIN({!day}, {!day2})", day=a, day2=b) == a


def test_today_and_now() -> None:
    assert run("TODAY()") == dt.date.today()
    now = run("NOW()")
    assert now.tzinfo is not None and abs(dt.datetime.now(UTC) - now) < dt.timedelta(seconds=5)
    assert run("TODAY() - TODAY()") == D(0)


def test_date_functions() -> None:
    assert run("DATE(2024, 2, 29)") == dt.date(2024, 2, 29)
    assert run('DATEVALUE("2024-03-05")') == dt.date(2024, 3, 5)
    assert run('DATEVALUE("2024-03-05T23:30:00-02:00")') == dt.date(2024, 3, 6)
    assert run("DATEVALUE({!moment})", moment=dt.datetime(2024, 3, 5, 1, tzinfo=UTC)) == \
        dt.date(2024, 3, 5)
    assert run("DATEVALUE({!name})") is None
    day = dt.date(2024, 7, 14)
    assert (run("YEAR({!day})", day=day), run("MONTH({!day})", day=day),
            run("DAY({!day})", day=day)) == (D(2024), D(7), D(14))


def test_addmonths_keeps_month_ends() -> None:
    assert run("ADDMONTHS({!day}, 1)", day=dt.date(2024, 1, 31)) == dt.date(2024, 2, 29)
    assert run("ADDMONTHS({!day}, 1)", day=dt.date(2024, 2, 29)) == dt.date(2024, 3, 31)
    assert run("ADDMONTHS({!day}, 1)", day=dt.date(2024, 1, 15)) == dt.date(2024, 2, 15)
    assert run("ADDMONTHS({!day}, -13)", day=dt.date(2024, 1, 15)) == dt.date(2022, 12, 15)
    moment = dt.datetime(2024, 1, 30, 8, tzinfo=UTC)
    assert run("ADDMONTHS({!moment}, 1)", moment=moment) == dt.datetime(2024, 2, 29, 8, tzinfo=UTC)
    assert compile_("ADDMONTHS({!moment}, 1)").result_type == FlowType("DateTime")


def test_function_names_are_case_insensitive() -> None:
    assert run('if(true, len("ab"), 0)') == D(2)
    assert run('Upper(Left("abc", 1))') == "A"
    assert run("today()") == dt.date.today()


# --- declared types and conversion -----------------------------------------------------------

def test_declared_number_is_rounded_half_up_to_its_scale() -> None:
    assert run("10 / 4", Number(scale=1)) == D("2.5")
    assert run("1 / 8", Number(scale=2)) == D("0.13")
    assert run("{!price} * 3", FlowType("Currency"), price=D("3.335")) == D("10.01")
    compiled = compile_("1 + 1", Number(scale=0))
    assert compiled.result_type == Number(scale=0)


def test_declared_text_converts_any_scalar() -> None:
    assert run("1 + 1", Text()) == "2"
    assert run("1 < 2", Text()) == "true"
    assert run("DATE(2024, 1, 2)", Text()) == "2024-01-02"


def test_declared_datetime_accepts_date() -> None:
    assert run("DATE(2024, 1, 2)", FlowType("DateTime")) == dt.datetime(2024, 1, 2, tzinfo=UTC)


def test_undeclared_result_type_is_inferred() -> None:
    assert compile_("LEN('a') > 0").result_type == Boolean()
    assert compile_("{!name} & 'x'").result_type == Text()


def test_declared_type_mismatch() -> None:
    err = error("1 < 2", Number())
    assert err.message == "formula computes Boolean, but it is declared Number" and err.offset == 0
    assert "declared collection of Number" in error("1", Number(collection=True)).message
    assert "declared Date" in error("NOW()", FlowType("Date")).message


# --- type errors -----------------------------------------------------------------------------

@pytest.mark.parametrize("expression, message, offset", [
    ('1 + "a"', "'+' cannot add Number and Text; use & to join text", 2),
    ('"a" + 1', "'+' cannot add Text and Number; use & to join text", 4),
    ("TRUE + 1", "'+' cannot add Boolean and Number", 5),
    ('5 - "a"', "'-' cannot subtract Text from Number", 2),
    ('2 * "x"', "'*' needs Numbers on both sides, found Number and Text", 2),
    ('"a" & 1', "'&' joins Text, but the right side is Number; use TEXT() to convert it", 6),
    ('1 = "1"', "'=' cannot compare Number with Text", 2),
    ("TRUE < FALSE", "'<' cannot order Boolean values; use = or <>", 5),
    ("1 && TRUE", "'&&' needs Boolean values, but the left side is Number", 0),
    ('-"a"', "'-' needs a Number, found Text", 0),
    ("{!day} - {!moment}", "'-' cannot subtract DateTime from Date", 7),
    ("1 < 2 < 3", "'<' cannot compare Boolean with Number", 6),
    ('LEFT("abc")', "LEFT expects 2 arguments, got 1", 0),
    ("AND()", "AND expects at least 1 argument, got 0", 0),
    ("TODAY(1)", "TODAY expects 0 arguments, got 1", 0),
    ('IF(TRUE, 1, "a")', "IF must give one type of value, but gives Number and Text", 12),
    ('IF(1, 2, 3)', "IF expects Boolean as argument 1, got Number", 3),
    ("LEFT(12, 1)", "LEFT expects Text as argument 1, got Number; use TEXT() to convert it", 5),
    ('ROUND("1", 0)', "ROUND expects Number as argument 1, got Text; use VALUE() to convert it", 6),
    ("YEAR({!moment})", "YEAR expects Date as argument 1, got DateTime; use DATEVALUE()", 5),
    ("MAX(1, {!day})", "MAX must give one type of value, but gives Number and Date", 7),
    ('CASE(1, "a", 2, 3)', "CASE compares Number with Text", 8),
    ("CASE(1, 1, 2)", "CASE expects at least 4 arguments, got 3", 0),
    ("CASE(1, 1, 2, 3, 4)", "CASE expects an expression, pairs of value and result", 0),
    ("{!unknown} + 1", "unknown merge field {!unknown}", 0),
    ("1 + {!ids}", "{!ids} is collection of Text; a formula works on single", 4),
    ("ISNULL({!lineItem})", "{!lineItem} is Apex ConnectApi.LineItem", 7),
])
def test_type_errors_have_messages_and_offsets(expression: str, message: str, offset: int) -> None:
    err = error(expression)
    assert message in err.message
    assert err.offset == offset


# --- syntax errors ---------------------------------------------------------------------------

@pytest.mark.parametrize("expression, message, offset", [
    ("IF(TRUE, 1, 2", "expected ')' after the arguments of IF, found end of formula", 13),
    ("IF(TRUE 1, 2)", "expected ',' or ')' after argument 1 of IF, found the number 1", 8),
    ("(1 + 2", "expected ')' to close the '(' at offset 0, found end of formula", 6),
    ("1 +", "expected a value after '+', found end of formula", 3),
    ("", "expected a value, found end of formula", 0),
    ("1 2", "expected an operator or the end of the formula, found the number 2", 2),
    ("* 2", "expected a value, found '*'", 0),
    ('"abc', 'unterminated text: expected a closing " for the text starting here', 0),
    ("1 + 'abc\\q'", "unknown escape '\\q' in text", 8),
    ("1 # 2", "unexpected character '#'", 2),
    ("{!a", "unterminated merge field: expected '}' after '{!'", 0),
    ("{!a b}", "expected a merge-field path such as {!quantity}", 0),
    ("1 /* open", "unterminated comment", 2),
    ("quantity + 1", "unknown name 'quantity'; merge fields are written {!quantity}", 0),
    ("TODAY + 1", "TODAY is a function; call it as TODAY(...)", 0),
    ("LEFTT('a', 1)", "unknown function 'LEFTT'; did you mean LEFT?", 0),
    ("1 + !TRUE", "unexpected character '!'", 4),
])
def test_syntax_errors_have_messages_and_offsets(expression: str, message: str,
                                                 offset: int) -> None:
    err = error(expression)
    assert message in err.message
    assert err.offset == offset


# --- run-time faults -------------------------------------------------------------------------

def test_division_by_zero_names_the_formula() -> None:
    assert fault("{!a} / {!b}", a=D(1), b=D(0)) == "formula Total failed: division by zero"
    assert fault("1 / 0") == "formula Total failed: division by zero"  # not folded away at load


def test_unnamed_formula_fault() -> None:
    with pytest.raises(FlowRuntimeError, match="^formula failed: MOD by zero$"):
        compile_formula("MOD(1, 0)", None, resolve).evaluate({})


@pytest.mark.parametrize("expression, cause", [
    ('MID("abc", 0, 1)', "MID start position must be 1 or more, got 0"),
    ('MID("abc", 1, -1)', "MID length must be 0 or more, got -1"),
    ("DATE(2023, 2, 29)", "DATE(2023, 2, 29) is not a valid date"),
    ("DATE(2023, 13, 1)", "DATE(2023, 13, 1) is not a valid date"),
    ("DATE(2023, 1.5, 1)", "DATE(2023, 1.5, 1) needs whole numbers"),
    ('DATEVALUE("31/01/2024")', "DATEVALUE cannot read '31/01/2024' as a date"),
    ("MOD(1, 0)", "MOD by zero"),
    ("10 ^ 9999999", "the number is too large"),
    ("10 ^ 999999 * 10", "the number is too large"),
    ("0 ^ -1", "division by zero"),
    ("(-8) ^ 0.5", "the calculation has no numeric result"),
    ("ADDMONTHS(DATE(9999, 12, 1), 1)", "ADDMONTHS gives a date outside years 1 to 9999"),
])
def test_run_time_faults(expression: str, cause: str) -> None:
    message = fault(expression)
    assert message.startswith("formula Total failed: ")
    assert cause in message


def test_faults_from_getters_pass_through_unchanged() -> None:
    def failing(path: str) -> tuple[FlowType, Callable[[Any], Any]]:
        def getter(state: Any) -> Any:
            raise FlowRuntimeError("item is null because it hasn't been set or assigned")
        return Number(), getter
    compiled = compile_formula("{!item.quantity} + 1", None, failing, "F")
    with pytest.raises(FlowRuntimeError, match="^item is null because"):
        compiled.evaluate(None)


# --- hostile input ---------------------------------------------------------------------------

def test_deep_parentheses_are_a_formula_error() -> None:
    err = error("(" * 10_000 + "1" + ")" * 10_000)
    assert "nests more than 200 levels" in err.message
    assert err.offset == MAX_DEPTH


def test_deep_function_nesting_is_a_formula_error_but_reasonable_depth_works() -> None:
    assert run("ABS(" * 150 + "{!a}" + ")" * 150, a=D(-2)) == D(2)
    assert run("IF({!a} > 0, " * 150 + "{!a}" + ", 0)" * 150, a=D(1)) == D(1)
    assert "nests more than 200" in error("ABS(" * 5000 + "{!a}" + ")" * 5000).message


def test_long_operator_chains_and_sign_runs() -> None:
    assert run("+".join(["{!a}"] * 150), a=D(1)) == D(150)
    assert "nests more than 200" in error("+".join(["{!a}"] * 5000)).message
    assert "nests more than 200" in error("-" * 5000 + "{!a}").message
    assert "nests more than 200" in error("2^" * 5000 + "{!a}").message
    assert run("+".join(["1"] * 5000)) == D(5000)  # constants fold: no depth builds up


def test_huge_input_is_refused() -> None:
    err = error("1" + "+1" * MAX_LENGTH)
    assert err.message == "formula is 131,073 characters long; the limit is 65,536"


@pytest.mark.parametrize("expression, message, offset", [
    ('__import__("os")', "unknown function '__import__'", 0),
    ('__import__("os").system("ls")', "unknown function '__import__'", 0),
    ('"a".__class__', "unexpected character '.'", 3),
    ("{!a}.__class__", "unexpected character '.'", 4),
    ("[x for x in ()]", "unexpected character '['", 0),
    ("lambda: 1", "unexpected character ':'", 6),
    ("lambda + 1", "unknown name 'lambda'", 0),
    ("{!a.__class__.__mro__}", "unknown merge field {!a.__class__.__mro__}", 0),
    ("open('/etc/passwd')", "unknown function 'open'", 0),
])
def test_code_injection_is_a_syntax_error(expression: str, message: str, offset: int) -> None:
    err = error(expression)
    assert message in err.message
    assert err.offset == offset


def test_text_bombs_are_stopped() -> None:
    bomb = 'SUBSTITUTE(' * 8 + '"aa"' + ', "a", "aaaaaaaaaa")' * 8
    assert "SUBSTITUTE would build text longer than 1,000,000 characters" in fault(bomb)
    big = "x" * 600_000
    assert "would build text longer than" in fault("{!name} & {!name}", name=big)


def test_huge_numbers_do_not_hang() -> None:
    start = cpu_seconds()
    assert "too large" in fault("{!a} ^ 99999999999", a=D(2))
    assert "outside years" in fault("DATE(1, 1, 1) + 999999999999999999")
    assert "outside years" in fault("{!day} + {!a}", day=dt.date(2024, 1, 1), a=D("9" * 17))
    assert run('LEFT("abc", 999999999999999999)') == "abc"
    # a Salesforce Number has at most 18 digits before the decimal point (article 000386249)
    assert "more than 18 digits" in error("{!day} + 1" + "0" * 5000).message
    assert "more than 18 digits" in fault('VALUE("1e999999999")')
    assert "more than 18 digits" in fault('VALUE("' + "9" * 5000 + '")')
    assert "more than 18 digits" in fault("{!a} * {!a}", a=D("1e10"))
    assert run('TEXT(VALUE("1e-999999999"))') == "0"
    assert cpu_seconds() - start < 2


def test_the_formula_package_never_calls_eval_or_exec() -> None:
    import pkgutil

    modules = [formula] + [importlib.import_module(f"{formula.__name__}.{m.name}")
                           for m in pkgutil.iter_modules(formula.__path__)]
    assert len(modules) > 3
    for module in modules:
        tree = ast.parse(inspect.getsource(module))
        called = {node.func.id for node in ast.walk(tree)
                  if isinstance(node, ast.Call) and isinstance(node.func, ast.Name)}
        assert not called & {"eval", "exec", "compile", "__import__", "getattr"}, module.__name__


# --- speed -----------------------------------------------------------------------------------

def test_evaluate_is_cheap() -> None:
    compiled = compile_("{!a} + {!b} * 2")
    state = {"a": D(1), "b": D("2.5")}
    assert compiled.evaluate(state) == D(6)
    rounds = 20_000
    start = cpu_seconds()
    for _ in range(rounds):
        compiled.evaluate(state)
    per_call = (cpu_seconds() - start) / rounds
    assert per_call < 20e-6, f"{per_call * 1e6:.2f} µs per evaluation"


# --- constant arguments bound at compile time --------------------------------------------------

def test_a_constant_side_of_a_comparison_keeps_null_handling() -> None:
    assert run("{!name} = ''") is True and run("'' = {!name}") is True
    assert run("{!name} <> 'x'", name="x") is False and run("'x' <> {!name}") is True
    assert run("NULL = {!a}") is True and run("0 = {!a}") is False
    assert run("0 <> {!a}", a=D("0.00")) is False


def test_a_constant_second_argument_keeps_null_and_fault_handling() -> None:
    assert run("MOD({!a}, 3)") is None
    assert run("MOD({!a}, 3)", a=D(-7)) == D(-1)
    assert run("MOD({!a}, 3)", a=D("-7.5")) == D("-1.5")
    assert fault("MOD({!a}, 0)", a=D(7)) == "formula Total failed: MOD by zero"
    assert run("MOD({!a}, 0)") is None
    assert run("ROUND({!a}, 1)", a=D("2.45")) == D("2.5")


def test_text_of_a_number_field_and_constant_branches_of_if() -> None:
    assert run("TEXT({!a})", a=D("-0.00")) == "0.00"
    assert run("TEXT({!a})", a=D("1E+3")) == "1000"
    assert run("TEXT({!a})") == ""
    assert run("IF({!flag}, 'yes', TEXT({!a}))", a=D(2)) == "2"
    assert run("IF({!flag}, {!a}, 2)", flag=True, a=D(1)) == D(1)
    assert run("IF({!flag}, 1, {!a})", a=D(3)) == D(3)
