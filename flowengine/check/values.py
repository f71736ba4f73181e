"""Does a value fit a type (spec 3.4): YAML literals, merge-field references, text with merge
fields, lists and object literals.

`ValueChecks` is mixed into `flowengine.check.checker.Checker`: its methods are the checker's value API,
used by the resource, element and condition checks alike (`checker.check_value(...)`).
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

from flowengine.check.symbols import no_field_message
from flowengine.references import (
    ListValue,
    LiteralValue,
    PathSyntaxError,
    RefValue,
    TemplateValue,
    ValueSpec,
    parse_value,
    refs_in,
)
from flowengine.types import (
    TEXT_LIKE,
    FlowType,
    TypeRegistry,
    ValueTypeError,
    assignable,
    convert_literal,
    describe,
)

if TYPE_CHECKING:
    from flowengine.check.symbols import ResolvedPath


class ValueChecks:
    """The value checks of `Checker`, which provides `types`, `error` and `resolve`."""

    types: TypeRegistry

    if TYPE_CHECKING:
        def error(self, path: tuple[Any, ...], message: str, code: str, key: bool = False,
                  severity: str = "error") -> None: ...

        def resolve(self, text: Any, path: tuple[Any, ...],
                    what: str = "reference") -> ResolvedPath | None: ...

    def value_types(self, raw: Any, path: tuple[Any, ...]) -> tuple[ValueSpec | None, FlowType | None]:
        """Parse a value; the static type of a reference or template (None for a literal)."""
        try:
            spec = parse_value(raw)
        except PathSyntaxError as exc:
            self.error(path, str(exc), "reference.syntax")
            return None, None
        if isinstance(spec, RefValue):
            rp = self.resolve(spec.path, path)
            return spec, rp.type if rp else None
        if isinstance(spec, TemplateValue):
            for ref in refs_in(spec):
                self.resolve(ref.path, path)
            return spec, FlowType("Text")
        return spec, None

    def check_literal(self, raw: Any, target: FlowType, path: tuple[Any, ...]) -> bool:
        problem = self._literal_problem(raw, target, path)
        if problem:
            self.error(problem[1], problem[0], problem[2], key=problem[2] == "value.field")
        return problem is None

    def check_value(self, raw: Any, target: FlowType, path: tuple[Any, ...],
                    alternatives: tuple[FlowType, ...] = (), context: str = "") -> FlowType | None:
        """Check that a value fits `target` (or one of `alternatives`); returns the type it fits.
        `context` starts each message (e.g. which action input this is)."""
        options = (target,) + alternatives
        try:
            spec = parse_value(raw)
        except PathSyntaxError as exc:
            self.error(path, context + str(exc), "reference.syntax")
            return None
        return self._check_spec(spec, options, path, context)

    def _check_spec(self, spec: ValueSpec, options: tuple[FlowType, ...],
                    path: tuple[Any, ...], context: str = "") -> FlowType | None:
        wanted = " or ".join(str(t) for t in options)
        if isinstance(spec, LiteralValue):
            problems = []
            for t in options:
                problem = self._literal_problem(spec.value, t, path)
                if problem is None:
                    return t
                problems.append((t, problem))
            # explain the misfit against the option of the literal's own shape (item or list)
            shape = isinstance(spec.value, list)
            _, (message, where, code) = next(((t, p) for t, p in problems if t.collection == shape),
                                             problems[0])
            extra = f" (expected {wanted})" if len(options) > 1 else ""
            self.error(where, context + message + extra, code, key=code == "value.field")
            return None
        if isinstance(spec, RefValue):
            rp = self.resolve(spec.path, path)
            if rp is None:
                return None
            for t in options:
                if assignable(rp.type, t):
                    return t
            self.error(path, f"{context}{{!{spec.path}}} is {rp.type}, which does not fit {wanted}",
                       "value.type")
            return None
        if isinstance(spec, TemplateValue):
            for ref in refs_in(spec):
                rp = self.resolve(ref.path, path)
                if rp is not None and rp.type.is_object:
                    self.error(path, f"{context}{{!{ref.path}}} is {rp.type} and cannot be written "
                               "into text; name one of its fields", "value.type")
            for t in options:
                if not t.collection and t.kind in TEXT_LIKE:
                    return t
            self.error(path, f"{context}text with merge fields does not fit {wanted} (only text "
                       "targets take text with merge fields; a single \"{!name}\" is a typed "
                       "reference)", "value.type")
            return None
        if isinstance(spec, ListValue):
            for t in options:
                if t.collection:
                    for i, item in enumerate(spec.items):
                        self._check_spec(item, (t.item,), path + (i,), context)
                    return t
            self.error(path, f"{context}a list does not fit {wanted}", "value.type")
            return None
        for t in options:  # MapValue
            if not t.collection and t.is_object:
                for fname, fspec in spec.fields:
                    ftype = self.types.field_type(t, fname)
                    if ftype is None:
                        self.error(path + (fname,), context + no_field_message(
                            t, fname, self.types.field_names(t)), "value.field", key=True)
                    else:
                        self._check_spec(fspec, (ftype,), path + (fname,), context)
                return t
        self.error(path, f"{context}a mapping does not fit {wanted} (a mapping is an object "
                   "literal, for Apex-defined and Record targets)", "value.type")
        return None

    def _literal_problem(self, value: Any, target: FlowType,
                         path: tuple[Any, ...]) -> tuple[str, tuple[Any, ...], str] | None:
        """Why a YAML literal does not fit `target`, the path of the part that does not, and the
        problem's code; None when it fits. A collection takes a list (or null), never a lone
        value."""
        if value is None:
            return None
        if target.collection:
            if not isinstance(value, list):
                return (f"{describe(value)} does not fit {target} (expected a list, e.g. "
                        f"[{_example(target.item)}])", path, "value.type")
            for i, item in enumerate(value):
                problem = self._literal_problem(item, target.item, path + (i,))
                if problem:
                    return problem
            return None
        if isinstance(value, dict) and target.is_object:
            names = self.types.field_names(target)
            for key, item in value.items():
                ftype = self.types.field_type(target, str(key))
                if ftype is None:
                    return no_field_message(target, str(key), names), path + (key,), "value.field"
                problem = self._literal_problem(item, ftype, path + (key,))
                if problem:
                    return problem
            return None
        try:
            convert_literal(value, target, self.types)
        except ValueTypeError as exc:
            return str(exc), path, "value.type"
        return None


def _example(t: FlowType) -> str:
    return {"Text": "a, b", "Picklist": "a, b", "Multipicklist": "a, b", "Boolean": "true, false",
            "Date": "2026-01-31", "DateTime": "2026-01-31T09:30:00Z", "Time": "09:30:00"}.get(
        t.kind, "{field: value}" if t.is_object else "1, 2")
