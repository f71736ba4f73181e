"""Salesforce formula subset (spec 3.5): parse, type-check and compile to closures; then evaluate.

One pass does it all: the tokenizer turns the text into tokens, and the parser checks the types of
each node as it builds it and compiles it at once into a closure ``fn(state) -> value``. Evaluating
only calls closures: no tree walking, no ``eval``/``exec``. Anything outside the grammar is a
`FormulaError` carrying the 0-based offset of the offending character.

Behaviour (where Salesforce is silent, the choice made here):

* Precedence, highest first: ``^`` (right-associative), unary ``-``/``+``, ``* /``, ``+ - &``,
  ``= == != <> < <= > >=``, ``&&``, ``||``; the others are left-associative. So ``-2^2`` is -4 and
  ``2^3^2`` is 512; ``1 < 2 < 3`` is a type error.
* ``&`` joins Text only (convert with TEXT()); ``+`` of two Texts also joins, as in Salesforce.
* Null ("treat blank fields as blanks"): arithmetic and number/date functions with a null operand
  give null; ``&`` and text functions read null as ""; IF, AND, OR, NOT, ``&&``, ``||`` read null as
  false; ``=``/``<>`` read null text as "" and otherwise null equals only null; ``< <= > >=``
  with a null operand are false.
* Text comparisons (``=``, ``<``, CASE, CONTAINS, BEGINS) are case-sensitive.
* Numbers are exact decimals, computed with 28 significant digits. ROUND is half-up (away from
  zero; negative digits round left of the point); FLOOR/CEILING give whole numbers; MOD's result
  has the sign of the dividend (``MOD(-7, 3)`` is -1).
* Date +/- Number adds whole days (a fraction is dropped); DateTime +/- Number adds fractional days;
  Date - Date and DateTime - DateTime give a Number of days.
* TEXT: numbers as plain decimal text, Date as 2024-01-31, DateTime as 2024-01-31T09:30:00Z,
  Boolean as true/false, null as "".
* Limits: 65,536 characters; 200 levels of nesting (parentheses, calls, or operations inside one
  another, so a chain of 200 non-constant ``+`` is too deep); text built by ``&`` or SUBSTITUTE
  up to 1,000,000 characters.
"""
from __future__ import annotations

import calendar
import datetime as _dt
import operator
import re
from decimal import (ROUND_CEILING, ROUND_FLOOR, ROUND_HALF_EVEN, ROUND_HALF_UP, Context, Decimal,
                     DivisionByZero, InvalidOperation, Overflow)
from difflib import get_close_matches
from typing import Any, Callable, Final, Iterator, NamedTuple, NoReturn

from flowengine.errors import FlowError, FlowRuntimeError
from flowengine.types import NUMERIC, TEXT_LIKE, UTC, FlowType, assignable, converter, text_of

__all__ = ["CompiledFormula", "FormulaError", "compile_formula", "MAX_LENGTH", "MAX_DEPTH"]

MAX_LENGTH: Final = 65_536
MAX_DEPTH: Final = 200
MAX_TEXT: Final = 1_000_000
_CTX: Final = Context(prec=28, rounding=ROUND_HALF_EVEN, Emin=-999_999, Emax=999_999,
                      traps=[InvalidOperation, DivisionByZero, Overflow])
_MICROS_PER_DAY: Final = Decimal(86_400_000_000)
_TOO_DEEP: Final = (f"formula nests more than {MAX_DEPTH} levels of parentheses, calls or "
                    "operations; split it into smaller formulas")

Getter = Callable[[Any], Any]
Resolver = Callable[[str], "tuple[FlowType, Getter]"]


class FormulaError(FlowError):
    """A syntax or type error in a formula, found when it is compiled (at load time).

    `message` says what was found and what was expected; `offset` is the 0-based character offset
    inside the expression, for turning into a line and column of the flow file."""

    def __init__(self, message: str, offset: int) -> None:
        super().__init__(message)
        self.message = message
        self.offset = offset


class _Fault(Exception):
    """A run-time fault inside a closure; `CompiledFormula.evaluate` adds the formula's name."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


_RUNTIME_ERRORS: Final = (_Fault, ArithmeticError, ValueError)


class CompiledFormula:
    """A formula compiled once into closures; `evaluate` is cheap and may be called many times."""

    __slots__ = ("expression", "name", "result_type", "references", "_fn")

    def __init__(self, expression: str, name: str, result_type: FlowType,
                 references: tuple[str, ...], fn: Getter) -> None:
        self.expression = expression
        self.name = name
        self.result_type = result_type
        self.references = references
        self._fn = fn

    def evaluate(self, state: Any) -> Any:
        """The formula's value; `state` goes unchanged to the merge-field getters.

        Raises `FlowRuntimeError` naming the formula and the cause on a run-time fault."""
        try:
            return self._fn(state)
        except _Fault as exc:
            raise FlowRuntimeError(self._failure(exc.message)) from None
        except (ArithmeticError, ValueError, RecursionError) as exc:
            raise FlowRuntimeError(self._failure(_cause(exc))) from exc

    def _failure(self, cause: str) -> str:
        return f"formula {self.name} failed: {cause}" if self.name else f"formula failed: {cause}"

    def __repr__(self) -> str:
        return f"CompiledFormula({self.name or self.expression!r}: {self.result_type})"


def compile_formula(expression: str, declared: FlowType | None, resolve: Resolver,
                    name: str = "") -> CompiledFormula:
    """Parse, type-check and compile `expression`.

    `resolve(path)` gives the static type and a getter ``getter(state) -> value`` of a merge field
    (the text inside ``{!...}``) or raises ``KeyError(message)``. With `declared`, the result must
    be assignable to it and is converted to it (Text from any scalar, Number rounded to its scale).
    Raises `FormulaError` with the offset of the problem."""
    if len(expression) > MAX_LENGTH:
        raise FormulaError(f"formula is {len(expression):,} characters long; the limit is "
                           f"{MAX_LENGTH:,}", MAX_LENGTH)
    parser = _Parser(expression, resolve)
    try:
        root = parser.parse()
    except RecursionError:  # a safety net: the depth limits stop well before this
        raise FormulaError(_TOO_DEEP, 0) from None
    result_type, convert = _result_conversion(root.kind, declared)
    fn = root_fn = root.fn
    if convert is not None:
        fn = lambda s: convert(root_fn(s))  # noqa: E731
    return CompiledFormula(expression, name, result_type, tuple(parser.references), fn)


def _result_conversion(kind: str, declared: FlowType | None) -> tuple[FlowType, Getter | None]:
    if declared is None:
        return FlowType("Text" if kind == "Null" else kind), None
    if declared.collection or declared.is_object:
        raise FormulaError(f"formula computes a single {_name(kind)} value, but it is declared "
                           f"{declared}", 0)
    if kind == "Null":
        return declared, converter(declared, declared)
    if not assignable(FlowType(kind), declared):
        raise FormulaError(f"formula computes {kind}, but it is declared {declared}", 0)
    if declared.kind in TEXT_LIKE:
        return declared, None if kind == "Text" else _to_text
    return declared, converter(FlowType(kind), declared)


# ---------------------------------------------------------------------------------------------
# Tokens

class _Token(NamedTuple):
    kind: str  # num | str | field | name | op | end
    value: Any
    start: int
    end: int


_SPACE = re.compile(r"\s+")
_NUMBER = re.compile(r"[0-9]+(?:\.[0-9]*)?|\.[0-9]+")
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_OPERATOR = re.compile(r"==|!=|<>|<=|>=|&&|\|\||[-+*/^&=<>(),]")
_PATH = re.compile(r"\$?[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*")
_TEXT_CHUNK = {'"': re.compile(r'[^"\\]+'), "'": re.compile(r"[^'\\]+")}
_ESCAPES: Final = {'"': '"', "'": "'", "\\": "\\", "n": "\n", "t": "\t", "r": "\r"}


def _tokenize(text: str) -> Iterator[_Token]:
    """Tokens on demand, so that the parser reports the earliest problem in the text."""
    pos, size = 0, len(text)
    while pos < size:
        if m := _SPACE.match(text, pos):
            pos = m.end()
            continue
        if text.startswith("/*", pos):
            end = text.find("*/", pos + 2)
            if end < 0:
                raise FormulaError("unterminated comment: expected '*/' to close '/*'", pos)
            pos = end + 2
            continue
        char = text[pos]
        if char in "\"'":
            tok = _scan_text(text, pos)
        elif text.startswith("{!", pos):
            tok = _scan_field(text, pos)
        elif m := _NUMBER.match(text, pos):
            tok = _Token("num", Decimal(m.group()), pos, m.end())
        elif m := _NAME.match(text, pos):
            tok = _Token("name", m.group(), pos, m.end())
        elif m := _OPERATOR.match(text, pos):
            tok = _Token("op", m.group(), pos, m.end())
        else:
            raise FormulaError(f"unexpected character {char!r}; expected a value, {{!merge "
                               "field}, function or one of the operators "
                               "+ - * / ^ & = <> < > && ||", pos)
        yield tok
        pos = tok.end
    yield _Token("end", None, size, size)


def _scan_text(text: str, start: int) -> _Token:
    quote, parts, pos = text[start], [], start + 1
    chunk = _TEXT_CHUNK[quote]
    while pos < len(text):
        if m := chunk.match(text, pos):
            parts.append(m.group())
            pos = m.end()
        elif text[pos] == quote:
            return _Token("str", "".join(parts), start, pos + 1)
        elif (escape := text[pos + 1:pos + 2]) in _ESCAPES:
            parts.append(_ESCAPES[escape])
            pos += 2
        elif escape:
            raise FormulaError(f"unknown escape '\\{escape}' in text; expected one of \\\" \\' "
                               "\\\\ \\n \\t \\r", pos)
        else:
            break
    raise FormulaError(f"unterminated text: expected a closing {quote} for the text starting here",
                       start)


def _scan_field(text: str, start: int) -> _Token:
    end = text.find("}", start + 2)
    if end < 0:
        raise FormulaError("unterminated merge field: expected '}' after '{!'", start)
    path = text[start + 2:end].strip()
    if not _PATH.fullmatch(path):
        raise FormulaError("expected a merge-field path such as {!quantity} or "
                           f"{{!lineItem.quantity}}, found {_show(text[start:end + 1])}", start)
    return _Token("field", path, start, end + 1)


def _show(value: Any) -> str:
    text = value if isinstance(value, str) else text_of(value)
    return repr(text if len(text) <= 40 else text[:37] + "...")


# ---------------------------------------------------------------------------------------------
# Parser: builds typed, compiled nodes directly

class _Expr:
    """A compiled node: its kind (Text, Number, Boolean, Date, DateTime, Time or Null), closure,
    offset, depth and, for a constant, its value."""

    __slots__ = ("kind", "fn", "offset", "depth", "const", "value")

    def __init__(self, kind: str, fn: Getter, offset: int, depth: int = 1, const: bool = False,
                 value: Any = None) -> None:
        self.kind, self.fn, self.offset, self.depth = kind, fn, offset, depth
        self.const, self.value = const, value


def _constant(kind: str, value: Any, offset: int) -> _Expr:
    return _Expr(kind, lambda _state: value, offset, 1, True, value)


_PRECEDENCE: Final = {"||": 1, "&&": 2, "=": 3, "==": 3, "!=": 3, "<>": 3, "<": 3, "<=": 3, ">": 3,
                      ">=": 3, "+": 4, "-": 4, "&": 4, "*": 5, "/": 5}
_KEYWORDS: Final = {"TRUE": ("Boolean", True), "FALSE": ("Boolean", False), "NULL": ("Null", None)}


class _Parser:
    def __init__(self, text: str, resolve: Resolver) -> None:
        self.stream = _tokenize(text)
        self.tokens: list[_Token] = []
        self.pos = 0
        self.nest = 0
        self.resolve = resolve
        self.references: dict[str, None] = {}  # an ordered set

    @property
    def tok(self) -> _Token:
        while self.pos >= len(self.tokens):
            self.tokens.append(next(self.stream))
        return self.tokens[self.pos]

    def fail(self, message: str, offset: int) -> NoReturn:
        raise FormulaError(message, offset)

    def found(self, tok: _Token | None = None) -> str:
        tok = tok or self.tok
        if tok.kind == "end":
            return "end of formula"
        raw = {"num": "the number ", "str": "the text ", "field": "the merge field ",
               "name": "the name "}.get(tok.kind, "")
        return raw + (f"'{tok.value}'" if tok.kind == "op" else _raw(tok))

    def is_op(self, value: str) -> bool:
        tok = self.tok
        return tok.kind == "op" and tok.value == value

    def parse(self) -> _Expr:
        root = self.expr()
        if self.tok.kind != "end":
            self.fail(f"expected an operator or the end of the formula, found {self.found()}",
                      self.tok.start)
        return root

    def expr(self) -> _Expr:
        """Binary operators by precedence, on explicit stacks: no recursion per operator."""
        operands, ops = [self.operand()], list[_Token]()
        while (tok := self.tok).kind == "op" and tok.value in _PRECEDENCE:
            while ops and _PRECEDENCE[ops[-1].value] >= _PRECEDENCE[tok.value]:
                self._reduce(operands, ops.pop())
            ops.append(tok)
            self.pos += 1
            operands.append(self.operand())
        while ops:
            self._reduce(operands, ops.pop())
        return operands[0]

    def _reduce(self, operands: list[_Expr], op: _Token) -> None:
        right, left = operands.pop(), operands.pop()
        operands.append(_binary(self, op.value, left, right, op.start))

    def operand(self) -> _Expr:
        """Signs, a value, then an optional right-associative `^ operand`. Calls and parentheses
        are handled here, not in a helper, so each level of nesting costs few stack frames."""
        self.nest += 1
        if self.nest > MAX_DEPTH:
            self.fail(_TOO_DEEP, self.tok.start)
        signs = []
        while (tok := self.tok).kind == "op" and tok.value in ("-", "+"):
            signs.append(tok)
            self.pos += 1
        self.pos += 1
        if tok.kind == "name" and self.is_op("("):
            node = self.call(tok, tok.value.upper())
        elif tok.kind == "op" and tok.value == "(":
            node = self.expr()
            if not self.is_op(")"):
                self.fail(f"expected ')' to close the '(' at offset {tok.start}, found "
                          f"{self.found()}", self.tok.start)
            self.pos += 1
        else:
            node = self.leaf(tok)
        if (tok := self.tok).kind == "op" and tok.value == "^":
            self.pos += 1
            node = _binary(self, "^", node, self.operand(), tok.start)
        for sign in reversed(signs):
            node = _unary(self, sign.value, node, sign.start)
        self.nest -= 1
        return node

    def leaf(self, tok: _Token) -> _Expr:
        if tok.kind == "num":
            return _constant("Number", tok.value, tok.start)
        if tok.kind == "str":
            return _constant("Text", tok.value, tok.start)
        if tok.kind == "field":
            return self.field(tok)
        if tok.kind == "name":
            upper = tok.value.upper()
            if upper in _KEYWORDS:
                return _constant(*_KEYWORDS[upper], tok.start)
            if upper in _FUNCTIONS:
                self.fail(f"{upper} is a function; call it as {upper}(...)", tok.start)
            self.fail(f"unknown name {tok.value!r}; merge fields are written {{!{tok.value}}}",
                      tok.start)
        self.pos -= 1
        after = f" after {self.found(self.tokens[self.pos - 1])}" if self.pos else ""
        self.fail(f"expected a value{after}, found {self.found()}", tok.start)

    def field(self, tok: _Token) -> _Expr:
        try:
            ftype, getter = self.resolve(tok.value)
        except KeyError as exc:
            self.fail(str(exc.args[0]) if exc.args else f"unknown merge field {{!{tok.value}}}",
                      tok.start)
        kind = _kind_of(ftype)
        if kind is None:
            self.fail(f"{{!{tok.value}}} is {ftype}; a formula works on single Text, Number, "
                      "Boolean, Date, DateTime or Time values", tok.start)
        self.references.setdefault(tok.value, None)
        return _Expr(kind, getter, tok.start)

    def call(self, name_tok: _Token, fname: str) -> _Expr:
        spec = _FUNCTIONS.get(fname)
        if spec is None:
            close = get_close_matches(fname, list(_FUNCTIONS), n=1)
            hint = f"; did you mean {close[0]}?" if close else ""
            self.fail(f"unknown function {name_tok.value!r}{hint}", name_tok.start)
        self.pos += 1  # the '('
        args: list[_Expr] = []
        if self.is_op(")"):
            self.pos += 1
        else:
            while True:
                args.append(self.expr())
                if self.is_op(","):
                    self.pos += 1
                elif self.is_op(")"):
                    self.pos += 1
                    break
                elif self.tok.kind == "end":
                    self.fail(f"expected ')' after the arguments of {fname}, found end of formula",
                              self.tok.start)
                else:
                    self.fail(f"expected ',' or ')' after argument {len(args)} of {fname}, found "
                              f"{self.found()}", self.tok.start)
        low, high = spec.min_args, spec.max_args
        if len(args) < low or (high is not None and len(args) > high):
            count = f"{low}" if low == high else f"at least {low}"
            plural = "" if low == 1 else "s"
            self.fail(f"{fname} expects {count} argument{plural}, got {len(args)}", name_tok.start)
        return spec.build(self, fname, args, name_tok.start)

    def node(self, kind: str, fn: Getter, offset: int, children: tuple[_Expr, ...] | list[_Expr],
             pure: bool = True) -> _Expr:
        """A new node; folded to a constant when its children are (faults stay for run time)."""
        if pure and children and all(c.const for c in children):
            try:
                return _constant(kind, fn(None), offset)
            except _RUNTIME_ERRORS:
                pass
        depth = 1 + max((c.depth for c in children), default=0)
        if depth > MAX_DEPTH:
            self.fail(_TOO_DEEP, offset)
        return _Expr(kind, fn, offset, depth)

    def check(self, node: _Expr, allowed: frozenset[str], fname: str, index: int) -> None:
        if node.kind == "Null" or node.kind in allowed:
            return
        hint = ""
        if allowed == _TEXT:
            hint = "; use TEXT() to convert it"
        elif allowed == _NUM and node.kind == "Text":
            hint = "; use VALUE() to convert it"
        elif "Date" in allowed and node.kind == "DateTime":
            hint = "; use DATEVALUE() to take its date"
        expected = " or ".join(k for k in _KIND_ORDER if k in allowed)
        self.fail(f"{fname} expects {expected} as argument {index}, got {node.kind}{hint}",
                  node.offset)

    def unify(self, what: str, nodes: list[_Expr]) -> str:
        kind = "Null"
        for n in nodes:
            if n.kind != "Null" and kind != "Null" and n.kind != kind:
                self.fail(f"{what} must give one type of value, but gives {kind} and {n.kind}",
                          n.offset)
            if n.kind != "Null":
                kind = n.kind
        return kind


def _raw(tok: _Token) -> str:
    show: dict[str, Callable[[Any], str]] = {
        "num": text_of, "str": repr, "field": lambda v: f"{{!{v}}}", "name": str}
    text = show[tok.kind](tok.value)
    return text if len(text) <= 40 else text[:37] + "..."


_KIND_ORDER: Final = ("Text", "Number", "Boolean", "Date", "DateTime", "Time")


def _kind_of(ftype: FlowType) -> str | None:
    if ftype.collection or ftype.is_object:
        return None
    if ftype.kind in TEXT_LIKE:
        return "Text"
    if ftype.kind in NUMERIC:
        return "Number"
    return ftype.kind if ftype.kind in _KIND_ORDER else None


def _name(kind: str) -> str:
    return "NULL" if kind == "Null" else kind


# ---------------------------------------------------------------------------------------------
# Operators

def _whole(value: Decimal, limit: int = 1_000_000_000) -> int:
    """Truncate toward zero; clamp huge values so int() never builds a giant integer."""
    if value > limit:
        return limit
    if value < -limit:
        return -limit
    return int(value)


def _divide(a: Decimal, b: Decimal) -> Decimal:
    if not b:
        raise _Fault("division by zero")
    return _CTX.divide(a, b)


def _power(a: Decimal, b: Decimal) -> Decimal:
    if not a:
        if b < 0:
            raise _Fault("division by zero")
        return Decimal(0 if b else 1)
    return _CTX.power(a, b)


def _date_plus(d: _dt.date, days: Decimal) -> _dt.date:
    try:
        return d + _dt.timedelta(days=_whole(days, 4_000_000))
    except OverflowError:
        raise _Fault("the date falls outside years 1 to 9999") from None


def _datetime_plus(t: _dt.datetime, days: Decimal) -> _dt.datetime:
    micros = _CTX.multiply(days, _MICROS_PER_DAY).to_integral_value(ROUND_HALF_UP, _CTX)
    try:
        return t + _dt.timedelta(microseconds=_whole(micros, 10**18))
    except OverflowError:
        raise _Fault("the date falls outside years 1 to 9999") from None


def _days_between(a: _dt.datetime, b: _dt.datetime) -> Decimal:
    delta = a - b
    micros = (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds
    return _CTX.divide(Decimal(micros), _MICROS_PER_DAY)


_N, _D, _DT = "Number", "Date", "DateTime"
_ARITHMETIC: Final[dict[tuple[str, str, str], tuple[str, Callable[[Any, Any], Any]]]] = {
    ("+", _N, _N): (_N, _CTX.add),
    ("-", _N, _N): (_N, _CTX.subtract),
    ("*", _N, _N): (_N, _CTX.multiply),
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
}
_EQUALITY: Final = frozenset({"=", "==", "!=", "<>"})
_ORDERING: Final = {"<": operator.lt, "<=": operator.le, ">": operator.gt, ">=": operator.ge}


def _binary(p: _Parser, op: str, left: _Expr, right: _Expr, offset: int) -> _Expr:
    lk, rk = left.kind, right.kind
    if op in ("&&", "||"):
        return _logic(p, op, left, right, offset)
    if op in _EQUALITY or op in _ORDERING:
        return _compare(p, op, left, right, offset)
    if op == "&" or (op == "+" and {lk, rk} <= {"Text", "Null"} and "Text" in (lk, rk)):
        return _concat(p, op, left, right, offset)
    entry = _ARITHMETIC.get((op, _N if lk == "Null" else lk, _N if rk == "Null" else rk))
    if entry is None:
        a, b = _name(lk), _name(rk)
        if op == "+":
            hint = "; use & to join text" if "Text" in (lk, rk) else ""
            p.fail(f"'+' cannot add {a} and {b}{hint}", offset)
        if op == "-":
            p.fail(f"'-' cannot subtract {b} from {a}", offset)
        p.fail(f"'{op}' needs Numbers on both sides, found {a} and {b}", offset)
    kind, fn2 = entry
    return p.node(kind, _null_propagating(fn2, left, right), offset, (left, right))


def _null_propagating(fn2: Callable[[Any, Any], Any], left: _Expr, right: _Expr) -> Getter:
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


def _unary(p: _Parser, sign: str, node: _Expr, offset: int) -> _Expr:
    if node.kind not in ("Number", "Null"):
        p.fail(f"'{sign}' needs a Number, found {node.kind}", offset)
    if sign == "+":
        return node
    f, minus = node.fn, _CTX.minus
    return p.node("Number", lambda s: None if (v := f(s)) is None else minus(v), offset, (node,))


def _logic(p: _Parser, op: str, left: _Expr, right: _Expr, offset: int) -> _Expr:
    for side, n in (("left", left), ("right", right)):
        if n.kind not in ("Boolean", "Null"):
            p.fail(f"'{op}' needs Boolean values, but the {side} side is {n.kind}", n.offset)
    lf, rf = left.fn, right.fn
    fn = (lambda s: bool(lf(s) and rf(s))) if op == "&&" else (lambda s: bool(lf(s) or rf(s)))
    return p.node("Boolean", fn, offset, (left, right))


def _compare(p: _Parser, op: str, left: _Expr, right: _Expr, offset: int) -> _Expr:
    lk, rk = left.kind, right.kind
    if not _comparable(lk, rk):
        p.fail(f"'{op}' cannot compare {_name(lk)} with {_name(rk)}", offset)
    kind, lf, rf = (rk if lk == "Null" else lk), left.fn, right.fn
    if op in _EQUALITY:
        if kind == "Text":
            def equal(s: Any) -> bool:
                return (lf(s) or "") == (rf(s) or "")
        else:
            def equal(s: Any) -> bool:
                return lf(s) == rf(s)
        fn = equal if op in ("=", "==") else (lambda s: not equal(s))
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


def _comparable(a: str, b: str) -> bool:
    return a == b or a == "Null" or b == "Null"


def _concat(p: _Parser, op: str, left: _Expr, right: _Expr, offset: int) -> _Expr:
    for side, n in (("left", left), ("right", right)):
        if n.kind not in ("Text", "Null"):
            p.fail(f"'&' joins Text, but the {side} side is {n.kind}; use TEXT() to convert it",
                   n.offset)
    lf, rf = left.fn, right.fn

    def join(s: Any) -> str:
        joined = (lf(s) or "") + (rf(s) or "")
        if len(joined) > MAX_TEXT:
            raise _Fault(f"'{op}' would build text longer than {MAX_TEXT:,} characters")
        return joined
    return p.node("Text", join, offset, (left, right))


# ---------------------------------------------------------------------------------------------
# Functions: a table of name → (argument counts, builder)

class _Function(NamedTuple):
    min_args: int
    max_args: int | None
    build: Callable[[_Parser, str, list[_Expr], int], _Expr]


_TEXT, _NUM, _BOOL = frozenset({"Text"}), frozenset({"Number"}), frozenset({"Boolean"})
_DATE, _DATES = frozenset({"Date"}), frozenset({"Date", "DateTime"})
_ORDERED = frozenset({"Number", "Date", "DateTime", "Time"})


def _simple(arg_kinds: tuple[frozenset[str], ...], result: str | int,
            impl: Callable[..., Any]) -> _Function:
    """A function whose Text arguments read null as "" and whose other arguments make the result
    null when null. `result` is a kind, or the index of the argument whose kind it returns."""
    texts = tuple(kinds == _TEXT for kinds in arg_kinds)

    def build(p: _Parser, fname: str, args: list[_Expr], offset: int) -> _Expr:
        for index, (arg, kinds) in enumerate(zip(args, arg_kinds, strict=True), 1):
            p.check(arg, kinds, fname, index)
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


def _custom(low: int, high: int | None) -> Callable[[Callable[..., _Expr]], _Function]:
    return lambda build: _Function(low, high, build)


@_custom(3, 3)
def _if(p: _Parser, fname: str, args: list[_Expr], offset: int) -> _Expr:
    cond, then, other = args
    p.check(cond, _BOOL, fname, 1)
    kind = p.unify(fname, [then, other])
    cf, tf, ef = cond.fn, then.fn, other.fn
    return p.node(kind, lambda s: tf(s) if cf(s) else ef(s), offset, args)


@_custom(4, None)
def _case(p: _Parser, fname: str, args: list[_Expr], offset: int) -> _Expr:
    if len(args) % 2:
        p.fail(f"CASE expects an expression, pairs of value and result, then an else result (an "
               f"even number of arguments), got {len(args)}", offset)
    subject, values, results, other = args[0], args[1:-1:2], args[2:-1:2], args[-1]
    for v in values:
        if not _comparable(subject.kind, v.kind):
            p.fail(f"CASE compares {_name(subject.kind)} with {_name(v.kind)}", v.offset)
    kind = p.unify(fname, [*results, other])
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
    def build(p: _Parser, fname: str, args: list[_Expr], offset: int) -> _Expr:
        for index, arg in enumerate(args, 1):
            p.check(arg, _BOOL, fname, index)
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
    def build(p: _Parser, fname: str, args: list[_Expr], offset: int) -> _Expr:
        f = args[0].fn
        return p.node("Boolean", lambda s: test(f(s)), offset, args)
    return _Function(1, 1, build)


def _fallback(missing: Callable[[Any], bool]) -> _Function:
    """BLANKVALUE / NULLVALUE: the first argument, or the second when the first is missing."""
    def build(p: _Parser, fname: str, args: list[_Expr], offset: int) -> _Expr:
        kind = p.unify(fname, args)
        vf, sf = args[0].fn, args[1].fn
        return p.node(kind, lambda s: sf(s) if missing(v := vf(s)) else v, offset, args)
    return _Function(2, 2, build)


def _is_blank(v: Any) -> bool:
    return v is None or v == ""


def _extreme(pick: Callable[..., Any]) -> _Function:
    def build(p: _Parser, fname: str, args: list[_Expr], offset: int) -> _Expr:
        for index, arg in enumerate(args, 1):
            p.check(arg, _ORDERED, fname, index)
        kind = p.unify(fname, args)
        fns = tuple(a.fn for a in args)

        def fn(s: Any) -> Any:
            values = [f(s) for f in fns]
            return None if any(v is None for v in values) else pick(values)
        return p.node(kind, fn, offset, args)
    return _Function(1, None, build)


def _now(make: Callable[[], Any], kind: str) -> _Function:
    def build(p: _Parser, fname: str, args: list[_Expr], offset: int) -> _Expr:
        return p.node(kind, lambda s: make(), offset, args, pure=False)
    return _Function(0, 0, build)


@_custom(1, 1)
def _text(p: _Parser, fname: str, args: list[_Expr], offset: int) -> _Expr:
    f = args[0].fn
    fn = (lambda s: f(s) or "") if args[0].kind == "Text" else (lambda s: _to_text(f(s)))
    return p.node("Text", fn, offset, args)


def _to_text(value: Any) -> str:
    if isinstance(value, Decimal) and value.is_zero():
        value = value.copy_abs()  # no "-0"
    return text_of(value)


@_custom(1, 1)
def _datevalue(p: _Parser, fname: str, args: list[_Expr], offset: int) -> _Expr:
    p.check(args[0], frozenset({"Text", "Date", "DateTime"}), fname, 1)
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
        raise _Fault(f"DATEVALUE cannot read {_show(text)} as a date (expected YYYY-MM-DD)"
                     ) from None


_NUMBER_TEXT = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")


def _value(text: str) -> Decimal | None:
    text = text.strip()
    if not text:
        return None
    if not _NUMBER_TEXT.fullmatch(text):
        raise _Fault(f"VALUE cannot read {_show(text)} as a number")
    return Decimal(text)


def _mid(text: str, start: Decimal, count: Decimal) -> str:
    first, length = _whole(start), _whole(count)
    if first < 1:
        raise _Fault(f"MID start position must be 1 or more, got {text_of(start)}")
    if length < 0:
        raise _Fault(f"MID length must be 0 or more, got {text_of(count)}")
    return text[first - 1:first - 1 + length]


def _substitute(text: str, old: str, new: str) -> str:
    if not old:
        return text
    if len(new) > len(old) and len(text) + text.count(old) * (len(new) - len(old)) > MAX_TEXT:
        raise _Fault(f"SUBSTITUTE would build text longer than {MAX_TEXT:,} characters")
    return text.replace(old, new)


def _round(value: Decimal, digits: Decimal) -> Decimal:
    places = _whole(digits, 100_000)
    try:
        return value.quantize(Decimal(f"1E{-places}"), rounding=ROUND_HALF_UP, context=_CTX)
    except InvalidOperation:
        raise _Fault(f"ROUND cannot round {_show(value)} to {places} decimal places") from None


def _mod(dividend: Decimal, divisor: Decimal) -> Decimal:
    if not divisor:
        raise _Fault("MOD by zero")
    return _CTX.remainder(dividend, divisor)


def _date(year: Decimal, month: Decimal, day: Decimal) -> _dt.date:
    shown = f"DATE({text_of(year)}, {text_of(month)}, {text_of(day)})"
    if any(part != part.to_integral_value(context=_CTX) for part in (year, month, day)):
        raise _Fault(f"{shown} needs whole numbers")
    try:
        return _dt.date(_whole(year), _whole(month), _whole(day))
    except ValueError:
        raise _Fault(f"{shown} is not a valid date") from None


def _add_months(moment: Any, months: Decimal) -> Any:
    total = moment.year * 12 + moment.month - 1 + _whole(months, 200_000)
    year, month = total // 12, total % 12 + 1
    if not 1 <= year <= 9999:
        raise _Fault("ADDMONTHS gives a date outside years 1 to 9999")
    last = calendar.monthrange(year, month)[1]
    at_month_end = moment.day == calendar.monthrange(moment.year, moment.month)[1]
    day = last if at_month_end else min(moment.day, last)
    return moment.replace(year=year, month=month, day=day)


_FUNCTIONS: Final[dict[str, _Function]] = {
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
    "LEFT": _simple((_TEXT, _NUM), "Text", lambda t, n: t[:max(_whole(n), 0)]),
    "RIGHT": _simple((_TEXT, _NUM), "Text", lambda t, n: t[max(len(t) - max(_whole(n), 0), 0):]),
    "MID": _simple((_TEXT, _NUM, _NUM), "Text", _mid),
    "UPPER": _simple((_TEXT,), "Text", str.upper),
    "LOWER": _simple((_TEXT,), "Text", str.lower),
    "TRIM": _simple((_TEXT,), "Text", str.strip),
    "CONTAINS": _simple((_TEXT, _TEXT), "Boolean", lambda t, part: part in t),
    "BEGINS": _simple((_TEXT, _TEXT), "Boolean", str.startswith),
    "SUBSTITUTE": _simple((_TEXT, _TEXT, _TEXT), "Text", _substitute),
    "ROUND": _simple((_NUM, _NUM), "Number", _round),
    "FLOOR": _simple((_NUM,), "Number", lambda v: v.to_integral_value(ROUND_FLOOR, _CTX)),
    "CEILING": _simple((_NUM,), "Number", lambda v: v.to_integral_value(ROUND_CEILING, _CTX)),
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


def _cause(exc: BaseException) -> str:
    if isinstance(exc, ZeroDivisionError):
        return "division by zero"
    if isinstance(exc, Overflow):
        return "the number is too large"
    if isinstance(exc, InvalidOperation):
        return "the calculation has no numeric result"
    if isinstance(exc, OverflowError):
        return "a date or number is out of range"
    if isinstance(exc, RecursionError):
        return "the formula is nested too deeply to evaluate"
    return str(exc) or type(exc).__name__
