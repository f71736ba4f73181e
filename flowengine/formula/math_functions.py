"""Math functions of Salesforce's formula reference, each as its help page describes it
(`help.salesforce.com`, articles `platform.customize_functions_<name>.htm`)."""
from __future__ import annotations

import math
from collections.abc import Callable
from decimal import ROUND_CEILING, ROUND_DOWN, ROUND_FLOOR, ROUND_HALF_UP, ROUND_UP, Decimal
from decimal import InvalidOperation as _InvalidOperation
from typing import TYPE_CHECKING, Any, Final

from flowengine.formula.builders import LOCATION, NUM, ORDERED, TEXT, Function, check_arg, simple, unify
from flowengine.formula.nodes import CTX, Expr, Fault, Getter, quoted
from flowengine.formula.nodes import LOCATION as LOCATION_KIND
from flowengine.formula.operators import whole
from flowengine.types import text_of

if TYPE_CHECKING:
    from flowengine.formula.parser import Parser


def _round(value: Decimal, digits: Decimal) -> Decimal:
    places = whole(digits, 1_000)
    if -value.as_tuple().exponent <= places:  # type: ignore[operator]
        return value                        # no more places than asked for: nothing to round
    try:
        return value.quantize(Decimal(f"1E{-places}"), rounding=ROUND_HALF_UP, context=CTX)
    except _InvalidOperation:
        raise Fault(f"ROUND cannot round {quoted(value)} to {places} decimal places") from None


def _mod(dividend: Decimal, divisor: Decimal) -> Decimal:
    if not divisor:
        raise Fault("MOD by zero")
    return CTX.remainder(dividend, divisor)


def _mod_by(f: Getter, divisor: Decimal) -> Getter | None:
    """MOD by a constant divisor other than 0: the remainder, with no test of the divisor per
    call (MOD by a constant 0 keeps `_mod`, whose fault says so)."""
    if not divisor:
        return None
    remainder = CTX.remainder

    def mod(s: Any) -> Any:
        a = f(s)
        return None if a is None else remainder(a, divisor)
    return mod


def _integral(rounding: str) -> Callable[[Decimal], Decimal]:
    return lambda v: v.to_integral_value(rounding, CTX)


def _positive(fname: str, allow_zero: bool) -> Callable[[Decimal], None]:
    def check(v: Decimal) -> None:
        if v < 0 or (not allow_zero and v == 0):
            bound = "0 or more" if allow_zero else "greater than 0"
            raise Fault(f"{fname} needs a number {bound}, got {text_of(v)}")
    return check


_SQRT_ARG, _LOG_ARG = _positive("SQRT", True), _positive("LN", False)
_LOG10_ARG = _positive("LOG", False)


def _sqrt(v: Decimal) -> Decimal:
    _SQRT_ARG(v)
    return CTX.sqrt(v)


def _ln(v: Decimal) -> Decimal:
    _LOG_ARG(v)
    return CTX.ln(v)


def _log10(v: Decimal) -> Decimal:
    _LOG10_ARG(v)
    return CTX.log10(v)


def _extreme(pick: Callable[..., Any]) -> Function:
    def build(p: Parser, fname: str, args: list[Expr], offset: int) -> Expr:
        for index, arg in enumerate(args, 1):
            check_arg(p, arg, ORDERED, fname, index)
        kind = unify(p, fname, args)
        fns = tuple(a.fn for a in args)

        def fn(s: Any) -> Any:
            values = [f(s) for f in fns]
            return None if any(v is None for v in values) else pick(values)
        return p.node(kind, fn, offset, args)
    return Function(1, None, build)


# -- locations ------------------------------------------------------------------------------------

def _geolocation(latitude: Decimal, longitude: Decimal) -> tuple[Decimal, Decimal]:
    if not -90 <= latitude <= 90 or not -180 <= longitude <= 180:
        raise Fault(f"GEOLOCATION({text_of(latitude)}, {text_of(longitude)}): latitude must be "
                    "from -90 to 90 and longitude from -180 to 180")
    return latitude, longitude


EARTH_RADIUS_KM: Final = 6371.0088      # the mean radius (ours: DISTANCE's page gives none)
KM_PER_MILE: Final = 1.609344
_UNITS: Final = {"mi": EARTH_RADIUS_KM / KM_PER_MILE, "km": EARTH_RADIUS_KM}


def _distance(a: tuple[Decimal, Decimal], b: tuple[Decimal, Decimal], unit: str) -> Decimal:
    """The great-circle distance (haversine) between two locations in "mi" or "km"."""
    radius = _UNITS.get(unit)
    if radius is None:
        raise Fault(f"DISTANCE unit must be 'mi' or 'km', got {quoted(unit)}")
    lat1, lon1, lat2, lon2 = (math.radians(float(x)) for x in (*a, *b))
    h = math.sin((lat2 - lat1) / 2) ** 2 + \
        math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2
    return Decimal(repr(2 * radius * math.asin(min(1.0, math.sqrt(h)))))


def _distance_function() -> Function:
    impl = simple((LOCATION, LOCATION, TEXT), "Number", _distance)

    def build(p: Parser, fname: str, args: list[Expr], offset: int) -> Expr:
        unit = args[2]
        if unit.const and unit.value not in _UNITS:
            p.fail(f"DISTANCE unit must be 'mi' or 'km', found {quoted(unit.value or '')}",
                   unit.offset)
        return impl.build(p, fname, args, offset)
    return Function(3, 3, build)


MATH_FUNCTIONS: Final[dict[str, Function]] = {
    "ABS": simple((NUM,), "Number", Decimal.copy_abs),
    "ROUND": simple((NUM, NUM), "Number", _round),
    # FLOOR rounds toward zero and CEILING away from zero for negative numbers; MFLOOR and
    # MCEILING are the mathematical floor and ceiling (their help pages; article 000386432)
    "FLOOR": simple((NUM,), "Number", _integral(ROUND_DOWN)),
    "CEILING": simple((NUM,), "Number", _integral(ROUND_UP)),
    "MFLOOR": simple((NUM,), "Number", _integral(ROUND_FLOOR)),
    "MCEILING": simple((NUM,), "Number", _integral(ROUND_CEILING)),
    "MAX": _extreme(max),
    "MIN": _extreme(min),
    "MOD": simple((NUM, NUM), "Number", _mod, with_constant=_mod_by),
    "SQRT": simple((NUM,), "Number", _sqrt),
    "EXP": simple((NUM,), "Number", CTX.exp),
    "LN": simple((NUM,), "Number", _ln),
    "LOG": simple((NUM,), "Number", _log10),
    "GEOLOCATION": simple((NUM, NUM), LOCATION_KIND, _geolocation),
    "DISTANCE": _distance_function(),
}
