"""Tokenizer and parser: formula text → typed, compiled nodes.

The tokenizer yields tokens on demand; the parser checks the types of each node as it builds it
(operators in `flowengine.formula.operators`, calls in `flowengine.formula.functions`) and
compiles it at once into a closure, so there is no separate tree to walk."""
from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from decimal import Decimal
from difflib import get_close_matches
from typing import Any, Final, NamedTuple, NoReturn

from flowengine.formula.functions import FUNCTIONS
from flowengine.formula.nodes import (
    KIND_ORDER,
    MAX_DEPTH,
    RUNTIME_ERRORS,
    TOO_DEEP,
    Expr,
    FormulaError,
    Getter,
    Resolver,
    constant,
    quoted,
)
from flowengine.formula.operators import binary, unary
from flowengine.types import NUMERIC, TEXT_LIKE, FlowType, number_problem, text_of

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
                           f"{{!lineItem.quantity}}, found {quoted(text[start:end + 1])}", start)
    return _Token("field", path, start, end + 1)


# ---------------------------------------------------------------------------------------------
# Parser: builds typed, compiled nodes directly

_PRECEDENCE: Final = {"||": 1, "&&": 2, "=": 3, "==": 3, "!=": 3, "<>": 3, "<": 3, "<=": 3, ">": 3,
                      ">=": 3, "+": 4, "-": 4, "&": 4, "*": 5, "/": 5}
_KEYWORDS: Final = {"TRUE": ("Boolean", True), "FALSE": ("Boolean", False), "NULL": ("Null", None)}


class Parser:
    """One formula's parse: tokens on demand, the merge fields it references, and the nesting
    depth. Operators and functions build their nodes through `node` and report through `fail`."""

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

    def parse(self) -> Expr:
        root = self.expr()
        if self.tok.kind != "end":
            self.fail(f"expected an operator or the end of the formula, found {self.found()}",
                      self.tok.start)
        return root

    def expr(self) -> Expr:
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

    def _reduce(self, operands: list[Expr], op: _Token) -> None:
        right, left = operands.pop(), operands.pop()
        operands.append(binary(self, op.value, left, right, op.start))

    def operand(self) -> Expr:
        """Signs, a value, then an optional right-associative `^ operand`. Calls and parentheses
        are handled here, not in a helper, so each level of nesting costs few stack frames."""
        self.nest += 1
        if self.nest > MAX_DEPTH:
            self.fail(TOO_DEEP, self.tok.start)
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
            node = binary(self, "^", node, self.operand(), tok.start)
        for sign in reversed(signs):
            node = unary(self, sign.value, node, sign.start)
        self.nest -= 1
        return node

    def leaf(self, tok: _Token) -> Expr:
        if tok.kind == "num":
            problem = number_problem(tok.value)
            if problem:
                self.fail(f"the number {problem}", tok.start)
            return constant("Number", tok.value, tok.start)
        if tok.kind == "str":
            return constant("Text", tok.value, tok.start)
        if tok.kind == "field":
            return self.field(tok)
        if tok.kind == "name":
            upper = tok.value.upper()
            if upper in _KEYWORDS:
                return constant(*_KEYWORDS[upper], tok.start)
            if upper in FUNCTIONS:
                self.fail(f"{upper} is a function; call it as {upper}(...)", tok.start)
            self.fail(f"unknown name {tok.value!r}; merge fields are written {{!{tok.value}}}",
                      tok.start)
        self.pos -= 1
        after = f" after {self.found(self.tokens[self.pos - 1])}" if self.pos else ""
        self.fail(f"expected a value{after}, found {self.found()}", tok.start)

    def field(self, tok: _Token) -> Expr:
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
        expr = Expr(kind, getter, tok.start)
        expr.ref = tok.value
        return expr

    def call(self, name_tok: _Token, fname: str) -> Expr:
        spec = FUNCTIONS.get(fname)
        if spec is None:
            close = get_close_matches(fname, list(FUNCTIONS), n=1)
            hint = f"; did you mean {close[0]}?" if close else ""
            self.fail(f"unknown function {name_tok.value!r}{hint}", name_tok.start)
        self.pos += 1  # the '('
        args: list[Expr] = []
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

    def node(self, kind: str, fn: Getter, offset: int, children: tuple[Expr, ...] | list[Expr],
             pure: bool = True) -> Expr:
        """A new node; folded to a constant when its children are (faults stay for run time)."""
        if pure and children and all(c.const for c in children):
            try:
                return constant(kind, fn(None), offset)
            except RUNTIME_ERRORS:
                pass
        depth = 1 + max((c.depth for c in children), default=0)
        if depth > MAX_DEPTH:
            self.fail(TOO_DEEP, offset)
        return Expr(kind, fn, offset, depth)


def _raw(tok: _Token) -> str:
    show: dict[str, Callable[[Any], str]] = {
        "num": text_of, "str": repr, "field": lambda v: f"{{!{v}}}", "name": str}
    text = show[tok.kind](tok.value)
    return text if len(text) <= 40 else text[:37] + "..."


def _kind_of(ftype: FlowType) -> str | None:
    if ftype.collection or ftype.is_object:
        return None
    if ftype.kind in TEXT_LIKE:
        return "Text"
    if ftype.kind in NUMERIC:
        return "Number"
    return ftype.kind if ftype.kind in KIND_ORDER else None
