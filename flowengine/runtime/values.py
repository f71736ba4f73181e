"""Values and references compiled once into closures, so that running only moves values.

Every decision that depends on types (conversion, rounding, copying) is taken here, at compile
time.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

from flowengine.check.symbols import ResolvedPath
from flowengine.references import (
    ListValue,
    LiteralValue,
    MapValue,
    RefValue,
    TemplateValue,
    check_path,
    parse_value,
)
from flowengine.runtime.access import (
    Getter,
    Setter,
    path_getter,
    path_setter,
    reads_store,
    template_renderer,
)
from flowengine.types import (
    NUMERIC,
    TEXT_LIKE,
    ApexObject,
    FlowType,
    RecordValue,
    assignable,
    convert_literal,
    converter,
    copy_value,
)

if TYPE_CHECKING:
    from flowengine.check.checker import CheckedFlow


class ValueCompiler:
    """Turns checked values into getters `(interview) -> value` of a target type."""

    def __init__(self, flow: CheckedFlow) -> None:
        self.flow = flow
        self.table = flow.symbols
        self.types = flow.types
        self.reads_org = False      # some getter reads related records from the org store

    def resolve(self, text: str) -> ResolvedPath:
        return self.table.resolve(check_path(text))

    def ref_getter(self, rp: ResolvedPath) -> Getter:
        if reads_store(rp, self.types):
            self.reads_org = True       # a path through a lookup reads the parent from the store
        return path_getter(self.flow, rp, self.types)

    def plain_key(self, rp: ResolvedPath) -> str | None:
        """The key under which the interview's `values` hold the resource of a resolved path, when
        reading the path is just reading that key (a resource's own value, not a field of it, a
        formula, a template or a global); else None."""
        symbol = rp.symbol
        if symbol is None or rp.fields or symbol.kind in ("global", "formula", "template"):
            return None
        return symbol.name

    def plain_source(self, raw: Any, target: FlowType, alternatives: tuple[FlowType, ...] = ()
                     ) -> tuple[str, int | None] | None:
        """When `compile(raw, target, alternatives, copy=False)` reads a resource's own value
        (`plain_key`) and at most rounds it: that key and the scale it rounds to (None: the
        value as it is); else None. A node may then read the value itself, with the same
        result."""
        spec = parse_value(raw)
        if not isinstance(spec, RefValue):
            return None
        rp = self.resolve(spec.path)
        key = self.plain_key(rp)
        if key is None:
            return None
        chosen = next(t for t in (target,) + alternatives if assignable(rp.type, t))
        if converter(rp.type, chosen) is None:
            return key, None
        if chosen.collection or chosen.kind not in NUMERIC or rp.type.item.kind in TEXT_LIKE or \
                chosen.effective_scale is None:
            return None
        return key, chosen.effective_scale       # converter's rounder (flowengine.types)

    def holds_rounded(self, raw: Any, scale: int) -> bool:
        """Whether `raw` is a resource's own value (`plain_key`) that is a Number (or Currency)
        whose declared scale is at most `scale`, at most 10: every value stored in it was
        rounded to its scale, so it has no more decimal places than `scale`, and as a Number
        (at most 18 digits before the point) it has at most 28 digits at `scale` places: rounding
        it to `scale` would give a number of the same value, and could not fail."""
        spec = parse_value(raw)
        if not isinstance(spec, RefValue):
            return False
        rp = self.resolve(spec.path)
        own = rp.type.effective_scale
        return self.plain_key(rp) is not None and not rp.type.collection and \
            rp.type.kind in NUMERIC and own is not None and own <= scale <= 10

    def setter(self, text: str) -> tuple[Setter, FlowType]:
        rp = self.resolve(text)
        assert rp.symbol is not None
        return path_setter(rp.symbol.name, rp.fields, rp.owner_types, self.types), rp.type

    def converting_setter(self, text: str, source: FlowType) -> Setter:
        """Store a value of type `source` in the variable (or field) `text`, converted to its
        type (a Number stored in a Text variable becomes text); objects are stored as they
        come (callers pass copies)."""
        setter, target = self.setter(text)
        convert = None if target.is_object else converter(source, target)
        if convert is None:
            return setter

        def set_converted(st: Any, value: Any) -> None:
            setter(st, convert(value))
        return set_converted

    def _field_type(self, owner: FlowType, name: str) -> FlowType:
        found = self.types.field_type(owner, name)
        assert found is not None, f"{owner} has no field {name} (the checker let it pass)"
        return found

    def compile(self, raw: Any, target: FlowType, alternatives: tuple[FlowType, ...] = (),
                *, copy: bool = True) -> Getter:
        """A getter for `raw` converted to `target` (or to the first alternative it fits, as the
        checker decided). Objects and collections come out as copies, unless `copy` is False:
        a value that is only read (a condition's right side) need not be copied."""
        return self._compile(parse_value(raw), (target,) + alternatives, copy)[0]

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

    def _compile(self, spec: Any, options: tuple[FlowType, ...],
                 copy: bool = True) -> tuple[Getter, FlowType]:
        if isinstance(spec, LiteralValue):
            for t in options:
                try:
                    value = convert_literal(spec.value, t, self.types)
                except ValueError:
                    continue
                if copy and isinstance(value, (list, ApexObject, RecordValue)):
                    return (lambda st, v=value: copy_value(v)), t
                return (lambda st, v=value: v), t
            raise AssertionError("literal passed the checker but fits no option")
        if isinstance(spec, RefValue):
            rp = self.resolve(spec.path)
            get = self.ref_getter(rp)
            target = next(t for t in options if assignable(rp.type, t))
            convert = converter(rp.type, target)
            if convert is None and copy and (rp.type.collection or rp.type.is_object):
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
            fields = [(name, self._compile(fspec, (self._field_type(target, name),))[0])
                      for name, fspec in spec.fields]
            if target.kind == "Apex":
                cls_name = self.types.apex_class(target.apex_class).name  # type: ignore[union-attr]
                return (lambda st: ApexObject(cls_name, {n: g(st) for n, g in fields})), target
            obj_name = target.object or ""
            return (lambda st: RecordValue(obj_name, {n: g(st) for n, g in fields})), target
        raise AssertionError(f"unknown value spec {spec!r}")
