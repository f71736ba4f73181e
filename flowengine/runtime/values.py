"""Values, references and assignments compiled once into closures, so that running only moves values.

Every decision that depends on types (conversion, rounding, copying, which operator function) is
taken here, at compile time.
"""
from __future__ import annotations

import datetime as _dt
from decimal import ROUND_HALF_UP, Decimal
from typing import TYPE_CHECKING, Any, Callable

from flowengine.errors import FlowRuntimeError
from flowengine.references import (
    Getter, LiteralValue, ListValue, MapValue, RefValue, Setter, TemplateValue, check_path,
    field_getter, global_getter, parse_value, path_setter, template_renderer,
)
from flowengine.check.symbols import ResolvedPath
from flowengine.types import (
    NUMERIC, TEXT_LIKE, ApexObject, FlowType, RecordValue, assignable, convert_literal, converter,
    copy_value, round_to_scale, text_of,
)

if TYPE_CHECKING:
    from flowengine.check.checker import CheckedFlow


class ValueCompiler:
    """Turns checked values into getters `(interview) -> value` of a target type."""

    def __init__(self, flow: CheckedFlow) -> None:
        self.flow = flow
        self.table = flow.symbols
        self.types = flow.types

    def resolve(self, text: str) -> ResolvedPath:
        return self.table.resolve(check_path(text))

    def ref_getter(self, rp: ResolvedPath) -> Getter:
        if rp.symbol is None:
            return global_getter(rp.text)
        assert self.flow.getter_of is not None
        return field_getter(self.flow.getter_of(rp.symbol), rp.fields, rp.text)

    def setter(self, text: str) -> tuple[Setter, FlowType]:
        rp = self.resolve(text)
        assert rp.symbol is not None
        return path_setter(rp.symbol.name, rp.fields, rp.owner_types, self.types), rp.type

    def compile(self, raw: Any, target: FlowType, alternatives: tuple[FlowType, ...] = ()) -> Getter:
        """A getter for `raw` converted to `target` (or to the first alternative it fits, as the
        checker decided). Objects and collections come out as copies."""
        return self.compile_typed(raw, target, alternatives)[0]

    def static_type(self, raw: Any) -> FlowType | None:
        """The type of a reference or template value; None for a literal."""
        spec = parse_value(raw)
        if isinstance(spec, RefValue):
            return self.resolve(spec.path).type
        if isinstance(spec, TemplateValue):
            return FlowType("Text")
        return None

    def compile_typed(self, raw: Any, target: FlowType,
                      alternatives: tuple[FlowType, ...] = ()) -> tuple[Getter, FlowType]:
        """Like compile(), also telling which of the types the value was made to fit."""
        return self._compile(parse_value(raw), (target,) + alternatives)

    def _compile(self, spec: Any, options: tuple[FlowType, ...]) -> tuple[Getter, FlowType]:
        if isinstance(spec, LiteralValue):
            for t in options:
                try:
                    value = convert_literal(spec.value, t, self.types)
                except ValueError:
                    continue
                if isinstance(value, (list, ApexObject, RecordValue)):
                    return (lambda st, v=value: copy_value(v)), t
                return (lambda st, v=value: v), t
            raise AssertionError("literal passed the checker but fits no option")
        if isinstance(spec, RefValue):
            rp = self.resolve(spec.path)
            get = self.ref_getter(rp)
            target = next(t for t in options if assignable(rp.type, t))
            convert = converter(rp.type, target)
            if convert is None and (rp.type.collection or rp.type.is_object):
                convert = copy_value
            if convert is None:
                return get, target
            return (lambda st: convert(get(st))), target
        if isinstance(spec, TemplateValue):
            parts: list[Any] = [p if isinstance(p, str) else self.ref_getter(self.resolve(p.path))
                                for p in spec.parts]
            target = next(t for t in options if not t.collection and t.kind in TEXT_LIKE)
            return template_renderer(parts), target
        if isinstance(spec, ListValue):
            target = next(t for t in options if t.collection)
            items = [self._compile(item, (target.item,))[0] for item in spec.items]
            return (lambda st: [get(st) for get in items]), target
        if isinstance(spec, MapValue):
            target = next(t for t in options if t.is_object and not t.collection)
            fields = [(name, self._compile(fspec, (self.types.field_type(target, name),))[0])
                      for name, fspec in spec.fields]
            if target.kind == "Apex":
                cls_name = self.types.apex_class(target.apex_class).name  # type: ignore[union-attr]
                return (lambda st: ApexObject(cls_name, {n: g(st) for n, g in fields})), target
            obj_name = target.object or ""
            return (lambda st: RecordValue(obj_name, {n: g(st) for n, g in fields})), target
        raise AssertionError(f"unknown value spec {spec!r}")


# ---------------------------------------------------------------------------------------------
# Assignment operators (spec 4.1): each returns new_value = fn(old, value)

_MICROS_PER_DAY = Decimal(86_400_000_000)


def _num(v: Any) -> Decimal:
    return Decimal(0) if v is None else v


def assignment_function(op: str, target: FlowType, value_is_collection: bool) -> Callable[[Any, Any], Any]:
    """The pure function an assignment item applies: `(current, value) -> new`."""
    t = target
    scale = t.effective_scale
    if t.collection:
        return _collection_op(op, value_is_collection)
    if op in ("Assign", "Equals"):
        return lambda old, v: v
    if op in ("AssignCount", "EqualsCount"):
        return lambda old, v: Decimal(len(v or ()))
    if t.kind in TEXT_LIKE:
        if op == "AddItem":
            return lambda old, v: v if not old else (old if v in (None, "") else f"{old};{v}")
        return lambda old, v: (old or "") + text_of(v)
    if t.kind in NUMERIC:
        if op == "Add":
            if scale is None:
                return lambda old, v: old if v is None else (v if old is None else old + v)
            quantum = round_to_scale(Decimal(1), scale)
            return lambda old, v: old if v is None else \
                (v if old is None else old + v).quantize(quantum, ROUND_HALF_UP)
        if scale is None:
            return lambda old, v: old if v is None else _num(old) - v
        return lambda old, v: old if v is None else round_to_scale(_num(old) - v, scale)
    if t.kind in ("Date", "DateTime"):
        sign = 1 if op == "Add" else -1
        whole_days = t.kind == "Date"

        def shift(old: Any, v: Any) -> Any:
            if old is None or v is None:
                return old
            if whole_days:   # a fraction of a day is dropped (toward zero)
                return old + _dt.timedelta(days=int(sign * v))
            # exact to the microsecond, rounded half-up, as the formula evaluator does
            micros = (sign * v * _MICROS_PER_DAY).quantize(Decimal(1), ROUND_HALF_UP)
            return old + _dt.timedelta(microseconds=int(micros))
        return shift
    raise AssertionError(f"operator {op} on {t} passed the checker")


def _collection_op(op: str, many: bool) -> Callable[[Any, Any], Any]:
    def items(v: Any) -> list[Any]:
        if v is None:
            return []
        return list(v) if many else [v]

    if op in ("Assign", "Equals"):
        return lambda old, v: items(v)
    if op == "Add":
        return lambda old, v: (old or []) + items(v)
    if op == "AddAtStart":
        return lambda old, v: items(v) + (old or [])
    if op == "RemoveAll":
        def remove_all(old: Any, v: Any) -> Any:
            drop = items(v)
            return [x for x in (old or []) if x not in drop]
        return remove_all
    if op == "RemoveFirst":
        def remove_first(old: Any, v: Any) -> Any:
            result = list(old or [])
            wanted = items(v)
            for i, x in enumerate(result):
                if x in wanted:
                    del result[i]
                    break
            return result
        return remove_first
    if op in ("RemoveAfterFirst", "RemoveBeforeFirst"):
        after = op == "RemoveAfterFirst"

        def cut(old: Any, v: Any) -> Any:
            result = list(old or [])
            wanted = items(v)
            for i, x in enumerate(result):
                if x in wanted:
                    return result[: i + 1] if after else result[i:]
            return result
        return cut
    if op == "RemoveUncommon":
        def keep_common(old: Any, v: Any) -> Any:
            keep = items(v)
            return [x for x in (old or []) if x in keep]
        return keep_common
    if op == "RemovePosition":
        def remove_at(old: Any, v: Any) -> Any:
            result = list(old or [])
            if v is None or v != v.to_integral_value() or not 1 <= v <= len(result):
                raise FlowRuntimeError(f"RemovePosition {v}: position out of range for a collection "
                                       f"of {len(result)} items (positions start at 1)")
            del result[int(v) - 1]
            return result
        return remove_at
    raise AssertionError(f"collection operator {op} passed the checker")
