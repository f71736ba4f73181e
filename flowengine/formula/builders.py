"""What every function module shares: a function's entry in the table (`Function`), the checks of
argument kinds, and builders for the common shapes of function (`simple`, `custom`)."""
from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Final, NamedTuple

from flowengine.formula.nodes import KIND_ORDER, Expr, Getter

if TYPE_CHECKING:
    from flowengine.formula.parser import Parser


class Function(NamedTuple):
    """A function of the table: its argument counts and the builder that checks the kinds of
    its arguments and compiles the call into a closure."""

    min_args: int
    max_args: int | None
    build: Callable[[Parser, str, list[Expr], int], Expr]


TEXT: Final = frozenset({"Text"})
NUM: Final = frozenset({"Number"})
BOOL: Final = frozenset({"Boolean"})
DATE: Final = frozenset({"Date"})
DATES: Final = frozenset({"Date", "DateTime"})
TIME: Final = frozenset({"Time"})
MOMENTS: Final = frozenset({"Date", "DateTime", "Time"})
ORDERED: Final = frozenset({"Number", "Date", "DateTime", "Time"})
LOCATION: Final = frozenset({"Location"})


def check_arg(p: Parser, node: Expr, allowed: frozenset[str], fname: str, index: int) -> None:
    """Argument `index` of `fname` must be NULL or of one of the `allowed` kinds."""
    if node.kind == "Null" or node.kind in allowed:
        return
    hint = ""
    if allowed == TEXT:
        hint = "; use TEXT() to convert it"
    elif allowed == NUM and node.kind == "Text":
        hint = "; use VALUE() to convert it"
    elif "Date" in allowed and node.kind == "DateTime":
        hint = "; use DATEVALUE() to take its date"
    elif allowed == TIME and node.kind == "DateTime":
        hint = "; use TIMEVALUE() to take its time"
    elif allowed == LOCATION:
        hint = "; make one with GEOLOCATION(latitude, longitude)"
    expected = " or ".join(k for k in (*KIND_ORDER, "Location") if k in allowed)
    p.fail(f"{fname} expects {expected} as argument {index}, got {node.kind}{hint}", node.offset)


def unify(p: Parser, what: str, nodes: list[Expr]) -> str:
    """The one kind that all `nodes` give, NULL aside (NULL when all are NULL)."""
    kind = "Null"
    for n in nodes:
        if n.kind != "Null" and kind != "Null" and n.kind != kind:
            p.fail(f"{what} must give one type of value, but gives {kind} and {n.kind}", n.offset)
        if n.kind != "Null":
            kind = n.kind
    return kind


# a closure for a call of two arguments whose second is a constant (not null): given the first
# argument's closure and the constant, the call's closure, or None for the general one
WithConstant = Callable[[Getter, Any], "Getter | None"]


def simple(arg_kinds: tuple[frozenset[str], ...], result: str | int, impl: Callable[..., Any],
           optional: int = 0, with_constant: WithConstant | None = None) -> Function:
    """A function whose Text arguments read null as "" and whose other arguments make the result
    null when null. `result` is a kind, or the index of the argument whose kind it returns; the
    last `optional` arguments may be left out. The kinds of the arguments are checked here, when
    the call is compiled; the call's closure calls `impl` with the values (a constant second
    argument of two bound in it, or given to `with_constant`)."""
    texts = tuple(kinds == TEXT for kinds in arg_kinds)

    def build(p: Parser, fname: str, args: list[Expr], offset: int) -> Expr:
        for index, (arg, kinds) in enumerate(zip(args, arg_kinds), 1):
            check_arg(p, arg, kinds, fname, index)
        kind = args[result].kind if isinstance(result, int) else result
        fns = tuple(a.fn for a in args)
        fn: Getter | None = None
        if len(args) == 2 and not any(texts[:2]) and args[1].const and args[1].value is not None:
            fn = _second_constant(impl, fns[0], args[1].value, with_constant)
        if fn is None:
            fn = apply(impl, fns, texts[:len(args)])
        return p.node(kind, fn, offset, args)
    return Function(len(arg_kinds) - optional, len(arg_kinds), build)


def _second_constant(impl: Callable[..., Any], f: Getter, constant: Any,
                     with_constant: WithConstant | None) -> Getter:
    """The closure of a call of two non-Text arguments whose second is a constant (not null):
    null when the first is, else `impl(first, constant)`, as `apply` gives."""
    if with_constant is not None:
        special = with_constant(f, constant)
        if special is not None:
            return special

    def call(s: Any) -> Any:
        a = f(s)
        return None if a is None else impl(a, constant)
    return call


def apply(impl: Callable[..., Any], fns: tuple[Getter, ...], texts: tuple[bool, ...]) -> Getter:
    if len(fns) == 1:
        (f,) = fns
        if texts[0]:
            return lambda s: impl(f(s) or "")
        return lambda s: None if (v := f(s)) is None else impl(v)
    if len(fns) == 2 and not any(texts):
        # the common two-number call (MOD, ROUND...), without the loop below
        f, g = fns

        def two(s: Any) -> Any:
            a = f(s)
            if a is None:
                return None
            b = g(s)
            return None if b is None else impl(a, b)
        return two

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


def custom(low: int, high: int | None) -> Callable[[Callable[..., Expr]], Function]:
    """A decorator: a builder written out in full becomes a `Function` of `low`..`high` args."""
    return lambda build: Function(low, high, build)


def now(make: Callable[[], Any], kind: str) -> Function:
    """TODAY, NOW, TIMENOW: no arguments, a fresh value at each evaluation."""
    def build(p: Parser, fname: str, args: list[Expr], offset: int) -> Expr:
        return p.node(kind, lambda s: make(), offset, args, pure=False)
    return Function(0, 0, build)


def unavailable(reason: str, low: int = 0, high: int | None = None) -> Function:
    """A function of Salesforce's reference that a flow formula may not use here: a clear
    error at load time, with Salesforce's reason."""
    def build(p: Parser, fname: str, args: list[Expr], offset: int) -> Expr:
        p.fail(f"{fname} {reason}", offset)
    return Function(low, high, build)
