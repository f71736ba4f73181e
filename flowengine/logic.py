"""Condition logic: "and", "or", or custom logic over numbered conditions such as
"1 AND (2 OR NOT 3)", parsed into a small tree. Decisions, flow test assertions and the org
store's queries (`flowengine.org.query`) share it; it imports nothing of the checker, so the org
store can use it without loading one."""
from __future__ import annotations

import re
from typing import Any

__all__ = ["LogicError", "logic_tree", "parse_logic"]


class LogicError(ValueError):
    pass


_TOKEN = re.compile(r"\s*(?:(\d+)|(AND|OR|NOT)\b|(\()|(\))|(\S))", re.IGNORECASE)


def parse_logic(text: str, count: int) -> Any:
    """Parse custom logic over condition indexes 1..count. Mixing AND and OR without
    parentheses is refused, as in Flow Builder. Every condition must be used exactly as numbered."""
    if len(text) > 10_000:
        raise LogicError("custom logic is longer than 10,000 characters")
    tokens: list[tuple[str, str]] = []
    for match in _TOKEN.finditer(text):
        num, word, lp, rp, other = match.groups()
        if other:
            raise LogicError(f"unexpected {other!r} in custom logic {text!r} (expected condition "
                             "numbers, AND, OR, NOT and parentheses)")
        if num:
            tokens.append(("num", num))
        elif word:
            tokens.append((word.upper(), word))
        elif lp:
            tokens.append(("(", lp))
        elif rp:
            tokens.append((")", rp))
    pos = 0
    depth = 0

    def peek() -> str | None:
        return tokens[pos][0] if pos < len(tokens) else None

    def take() -> tuple[str, str]:
        nonlocal pos
        if pos >= len(tokens):
            raise LogicError(f"custom logic {text!r} ends too early")
        pos += 1
        return tokens[pos - 1]

    def expr() -> Any:
        nonlocal depth
        depth += 1
        if depth > 100:
            raise LogicError("custom logic nests deeper than 100 levels")
        items = [unary()]
        joiner = None
        while peek() in ("AND", "OR"):
            op = take()[0]
            if joiner and op != joiner:
                raise LogicError(f"custom logic {text!r} mixes AND and OR without parentheses; "
                                 "add parentheses to say which goes first")
            joiner = op
            items.append(unary())
        depth -= 1
        return items[0] if joiner is None else (joiner.lower(), items)

    def unary() -> Any:
        nonlocal depth
        kind, value = take()
        if kind == "NOT":
            depth += 1
            if depth > 100:
                raise LogicError("custom logic nests deeper than 100 levels")
            inner = unary()
            depth -= 1
            return ("not", inner)
        if kind == "(":
            inner = expr()
            if pos >= len(tokens) or take()[0] != ")":
                raise LogicError(f"missing ')' in custom logic {text!r}")
            return inner
        if kind == "num":
            # a number too long to be a condition's is not converted (int() refuses 4,300 digits)
            index = int(value) if len(value) <= 6 else count + 1
            if not 1 <= index <= count:
                shown = value if len(value) <= 12 else f"{value[:6]}… ({len(value):,} digits)"
                raise LogicError(f"custom logic names condition {shown}, but there "
                                 f"{'is' if count == 1 else 'are'} only {count} (numbered from 1)")
            return ("cond", index - 1)
        raise LogicError(f"unexpected {value!r} in custom logic {text!r}")

    if not tokens:
        raise LogicError("custom logic is empty")
    tree = expr()
    if pos != len(tokens):
        raise LogicError(f"unexpected {tokens[pos][1]!r} in custom logic {text!r}")
    used = _used(tree)
    unused = sorted(set(range(count)) - used)
    if unused:
        raise LogicError(f"custom logic {text!r} does not use condition"
                         f"{'s' if len(unused) > 1 else ''} {', '.join(str(i + 1) for i in unused)}")
    return tree


def _used(tree: Any) -> set[int]:
    kind = tree[0]
    if kind == "cond":
        return {tree[1]}
    if kind == "not":
        return _used(tree[1])
    return set().union(*(_used(t) for t in tree[1]))


def logic_tree(logic: str, count: int) -> Any:
    mode = logic.strip().lower()
    if mode == "and":
        return ("and", [("cond", i) for i in range(count)])
    if mode == "or":
        return ("or", [("cond", i) for i in range(count)])
    if mode == "custom":
        raise LogicError("logic 'custom' needs the expression itself, e.g. logic: \"1 AND (2 OR 3)\"")
    return parse_logic(logic, count)
