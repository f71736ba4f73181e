"""Static checks (spec 3–4): names, references, types, operators, actions, connectors.

Every problem is collected with its place and raised once, so a user fixes a file in one pass.
Nothing that can be known before running is left to run time.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable

from flowengine.errors import Problem, ProblemList, ValidationError
from flowengine.loader import Document
from flowengine.model import (
    ActionElement, AssignmentElement, DecisionElement, FlowModel, LoopElement, TypedDecl,
    check_api_name, connector_slots,
)
from flowengine.references import (
    LiteralValue, ListValue, PathSyntaxError, RefValue, TemplateValue, ValueSpec, check_path,
    parse_value, refs_in,
)
from flowengine.schema_errors import SECTIONS, Structure, build_model, display_path
from flowengine.symbols import (
    BrokenReference, ResolvedPath, ResolveError, Symbol, SymbolTable, UnknownName, did_you_mean,
    no_field_message,
)
from flowengine.types import (
    NUMERIC, TEXT_LIKE, ApexClass, ApexField, FlowType, TypeRegistry, ValueTypeError,
    assignable, canonical_kind, convert_literal, describe, normalize_class_name,
)

if TYPE_CHECKING:
    import networkx

    from flowengine.action import Action
    from flowengine.formula import CompiledFormula

COLLECTION_ONLY_OPS = {"AddAtStart", "RemoveFirst", "RemoveAll", "RemoveAfterFirst",
                       "RemoveBeforeFirst", "RemovePosition", "RemoveUncommon"}
COLLECTION_OPS = ("Assign", "Add", "AddAtStart", "RemoveFirst", "RemoveAll", "RemoveAfterFirst",
                  "RemoveBeforeFirst", "RemovePosition", "RemoveUncommon")
SINGLE_OPS = {"Text": ("Assign", "Add"), "Multipicklist": ("Assign", "Add", "AddItem"),
              "Number": ("Assign", "Add", "Subtract", "AssignCount"),
              "Currency": ("Assign", "Add", "Subtract", "AssignCount"),
              "Date": ("Assign", "Add", "Subtract"), "DateTime": ("Assign", "Add", "Subtract")}
OP_ALIASES = {"Equals": "Assign", "EqualsCount": "AssignCount"}
CLASS_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]*(\.[A-Za-z][A-Za-z0-9_]*)*$")


@dataclass
class CheckedFlow:
    """A flow that passed every static check: the model plus what the checks learned."""

    model: FlowModel
    file: str | None
    symbols: SymbolTable
    types: TypeRegistry
    actions: dict[str, Action]                       # element name → action
    formulas: dict[str, CompiledFormula]
    warnings: list[Problem] = field(default_factory=list)
    logic: dict[tuple[str, str], Any] = field(default_factory=dict)   # (decision, rule) → logic AST
    getter_of: Callable[[Symbol], Callable[[Any], Any]] | None = None  # resource → run-time getter
    _graph: networkx.MultiDiGraph | None = field(default=None, repr=False)

    @property
    def name(self) -> str:
        return self.model.flow

    @property
    def graph(self) -> networkx.MultiDiGraph:
        """The flow as a networkx graph (see flowengine.graph), built on first use: checking
        alone does not import networkx."""
        if self._graph is None:
            from flowengine.graph import build_graph
            self._graph = build_graph(self.model)
        return self._graph


class Checker:
    def __init__(self, model: FlowModel, doc: Document | None,
                 registry: Callable[[], Any] | None = None,
                 structure: Structure | None = None) -> None:
        self.model = model
        self.structure = structure or Structure(model)
        # elements with structural errors (already reported): connectors to them are fine, and
        # reachability is not judged, since their own connectors may be missing
        self.broken = self.structure.broken.get("elements", set())
        # a whole section was unusable: unknown names may be declared there, so stay silent
        self.names_incomplete = bool(self.structure.dropped & (set(SECTIONS) - {"types"}))
        self.doc = doc
        self.problems = ProblemList(doc.file if doc else None)
        self._registry_factory = registry
        self._registry: Any = None
        self.types = TypeRegistry()
        self.table = SymbolTable(self.types)
        self.actions: dict[str, Action] = {}
        self.formulas: dict[str, CompiledFormula] = {}
        self.logic: dict[tuple[str, str], Any] = {}
        self._formula_state: dict[str, str] = {}
        self.templates: dict[str, Callable[[Any], Any]] = {}   # filled once every check passed
        self.plugins_failed = False

    # -- reporting ---------------------------------------------------------------------------
    def error(self, path: tuple[Any, ...], message: str, code: str, key: bool = False,
              severity: str = "error") -> None:
        mark = self.doc.locate(path, key=key) if self.doc else None
        self.problems.add(severity, code, message, mark[0] if mark else None,  # type: ignore[arg-type]
                          mark[1] if mark else None, display_path(path) or None)

    # -- plug-ins, loaded only when the flow needs them ----------------------------------------
    @property
    def registry(self) -> Any:
        if self._registry is None:
            if self._registry_factory is None:
                from flowengine.registry import get_registry
                self._registry_factory = get_registry
            self._registry = self._registry_factory()
            for cls in self._registry.types.classes.values():
                if self.types.apex_class(cls.name) is None:
                    self.types.add_class(cls)
            for obj in self._registry.types.objects.values():
                self.types.add_object(obj)
        return self._registry

    def _needs_plugins(self) -> bool:
        m = self.model
        if m.elements and any(isinstance(e, ActionElement) for e in m.elements.values()):
            return True
        own = {name.replace("__", ".").lower() for name in m.types}
        decls: list[TypedDecl] = [*m.variables.values()]
        decls += [f for t in m.types.values() for f in t.fields.values()]
        return any((d.type == "Apex" and (d.apexClass or "").replace("__", ".").lower() not in own)
                   or d.type == "Record" for d in decls)

    # -- the run -----------------------------------------------------------------------------
    def run(self) -> CheckedFlow:
        if self._needs_plugins():
            try:
                self.registry
            except Exception as exc:  # noqa: BLE001 - a broken plug-in set is reported, not raised
                self.plugins_failed = True
                self.error((), f"cannot load action plug-ins: {exc}", "plugins")
        self.declare_types()
        self.declare_names()
        self.check_resources()
        for name, element in self.model.elements.items():
            self.check_element(name, element)
        self.check_graph()
        # file order: a reader fixes a file top to bottom
        self.problems.items.sort(key=lambda p: (p.line or 0, p.column or 0))
        if self.problems.has_errors:
            raise ValidationError(self.problems.items)
        checked = CheckedFlow(self.model, self.problems.file, self.table, self.types, self.actions,
                              self.formulas, [p for p in self.problems.items], self.logic,
                              self.getter_of)
        from flowengine.compiler import ValueCompiler
        values = ValueCompiler(checked)
        for name, template in self.model.templates.items():
            self.templates[name] = values.compile(template.text, FlowType("Text"))
        return checked

    # -- types and names ---------------------------------------------------------------------
    def decl_type(self, decl: TypedDecl, path: tuple[Any, ...]) -> FlowType | None:
        kind = canonical_kind(decl.type)
        if kind is None:
            return None
        if kind == "Apex":
            if not decl.apexClass:
                self.error(path + ("type",), "type Apex needs apexClass: the Apex-defined class name",
                           "type.apex-class")
                return None
            cls = self.types.apex_class(decl.apexClass)
            if cls is None:
                if not self._class_may_be_broken(decl.apexClass):
                    known = self.types.class_names()
                    self.error(path + ("apexClass",), f"unknown Apex class {decl.apexClass!r}"
                               f"{did_you_mean(decl.apexClass, known)} (declare it under types:, or "
                               "install the plug-in that defines it)", "type.unknown-class")
                return None
            return FlowType("Apex", apex_class=cls.name, collection=decl.collection)
        if decl.apexClass:
            self.error(path + ("apexClass",), f"apexClass is only for type Apex, not {kind}",
                       "type.apex-class")
        if kind == "Record":
            if not decl.object:
                self.error(path + ("type",), "type Record needs object: the object's API name",
                           "type.object")
                return None
            schema = self.types.object_schema(decl.object)
            if schema is None:
                self.error(path + ("object",), f"unknown object {decl.object!r}"
                           f"{did_you_mean(decl.object, self.types.object_names())} (objects come "
                           "from installed plug-ins)", "type.unknown-object")
                return None
            return FlowType("Record", object=schema.name, collection=decl.collection)
        if decl.object:
            self.error(path + ("object",), f"object is only for type Record, not {kind}", "type.object")
        if decl.scale is not None and kind not in NUMERIC:
            self.error(path + ("scale",), f"scale is only for Number and Currency, not {kind}",
                       "type.scale")
        return FlowType(kind, scale=decl.scale if kind in NUMERIC else None, collection=decl.collection)

    def declare_types(self) -> None:
        plugin_classes = set(self._registry.types.classes) if self._registry is not None else set()
        declared: dict[str, str] = {}
        for name in self.model.types:
            key = normalize_class_name(name).lower()
            path = ("types", name)
            if not CLASS_NAME.match(name):
                self.error(path, f"class name {name!r} is not valid: expected names of letters, "
                           "digits and underscores joined by dots, e.g. Acme.Parcel",
                           "type.class-name", key=True)
            if key in declared:
                self.error(path, f"class {name!r} is declared twice: {declared[key]!r} is the same "
                           "class (the __ spelling equals the dotted one, ignoring case)",
                           "type.duplicate-class", key=True)
                continue
            if key in plugin_classes:
                self.error(path, f"class {name!r} is already defined by an installed plug-in; "
                           "give the flow's class another name", "type.duplicate-class", key=True)
                continue
            declared[key] = name
            self.types.add_class(ApexClass(normalize_class_name(name), {}))
        for name, decl in self.model.types.items():
            if declared.get(normalize_class_name(name).lower()) != name:
                continue
            fields: dict[str, ApexField] = {}
            for fname, fdecl in decl.fields.items():
                fpath = ("types", name, "fields", fname)
                problem = check_api_name(fname, "field name")
                if problem:
                    self.error(fpath, problem, "name.invalid", key=True)
                ftype = self.decl_type(fdecl, fpath)
                if ftype is not None:
                    fields[fname] = ApexField(ftype, description=fdecl.description or "")
            self.types.add_class(ApexClass(normalize_class_name(name), fields, decl.description or ""))

    def _class_may_be_broken(self, name: str) -> bool:
        """A class declared in the flow with structural errors (reported), or a `types:` section
        that could not be read at all."""
        if "types" in self.structure.dropped or self.plugins_failed:
            return True
        wanted = normalize_class_name(name).lower()
        return any(normalize_class_name(str(b)).lower() == wanted
                   for b in self.structure.broken.get("types", ()))

    def declare_names(self) -> None:
        m = self.model
        entries: list[tuple[str, tuple[Any, ...], Symbol]] = []
        for name, var in m.variables.items():
            vtype = self.decl_type(var, ("variables", name))
            # no type: the declaration's error is reported; references to it are not
            entries.append((name, ("variables", name),
                            Symbol(name, "variable", vtype, var, broken=vtype is None)))
        for name, const in m.constants.items():
            ctype = canonical_kind(const.type)
            entries.append((name, ("constants", name),
                            Symbol(name, "constant", FlowType(ctype) if ctype else None, const,
                                   broken=ctype in (None, "Apex", "Record"))))
        for name, formula in m.formulas.items():
            ftype = canonical_kind(formula.type)
            t = FlowType(ftype, scale=formula.scale) if ftype else None
            entries.append((name, ("formulas", name), Symbol(name, "formula", t, formula,
                                                             broken=ftype in (None, "Apex", "Record"))))
        for name, template in m.templates.items():
            entries.append((name, ("templates", name), Symbol(name, "template", FlowType("Text"), template)))
        for name, element in m.elements.items():
            entries.append((name, ("elements", name), Symbol(name, "element", None, element, element.type)))
            if isinstance(element, DecisionElement):
                for i, rule in enumerate(element.rules):
                    entries.append((rule.name, ("elements", name, "rules", i, "name"),
                                    Symbol(rule.name, "outcome", FlowType("Boolean"), rule)))
        entries += self._broken_entries()
        where: dict[str, tuple[Any, ...]] = {}
        for name, path, symbol in entries:
            problem = check_api_name(name)
            if problem:
                self.error(path, problem, "name.invalid", key=True)
            existing = self.table.add(symbol)
            if existing is not None:
                first = where[existing.name.lower()]
                mark = self.doc.locate(first, key=True) if self.doc else None
                line = f" on line {mark[0]}" if mark else ""
                self.error(path, f"duplicate name {name!r}: already used by the {existing.what} "
                           f"{existing.name!r}{line} (names are unique across variables, constants, "
                           "formulas, templates, elements and outcomes, ignoring case)",
                           "name.duplicate", key=True)
            else:
                where[name.lower()] = path
        for name, element in m.elements.items():
            symbol = self.table.get(name)
            if symbol is None or symbol.decl is not element:
                continue
            if isinstance(element, LoopElement) and not element.item:
                symbol.type = self._loop_item_type(name, element, report=False)
                symbol.broken = symbol.type is None     # check_loop reports why
            if isinstance(element, ActionElement):
                symbol.action = self._find_action(name, element)

    def _broken_entries(self) -> list[tuple[str, tuple[Any, ...], Symbol]]:
        """Placeholders for entries that failed structural validation and could not be repaired:
        their names are taken (duplicates are still found) and references to them stay silent."""
        kinds = {"variables": "variable", "constants": "constant", "formulas": "formula",
                 "templates": "template", "elements": "element"}
        raw_data = self.doc.data if self.doc and isinstance(self.doc.data, dict) else {}
        out: list[tuple[str, tuple[Any, ...], Symbol]] = []
        for section, kind in kinds.items():
            present = getattr(self.model, section)
            raw_section = raw_data.get(section)
            for name in sorted(self.structure.broken.get(section, ()), key=str):
                if name in present:
                    continue
                raw = raw_section.get(name) if isinstance(raw_section, dict) else None
                etype = raw.get("type") if isinstance(raw, dict) else None
                symbol = Symbol(str(name), kind, None, None,  # type: ignore[arg-type]
                                etype if isinstance(etype, str) else None, broken=True)
                out.append((str(name), (section, name), symbol))
        return out

    def _find_action(self, name: str, element: ActionElement) -> Action | None:
        try:
            registry = self.registry
        except Exception:  # noqa: BLE001 - reported in run()
            return None
        action = registry.action(element.action)
        if action is None:
            self.error(("elements", name, "action"), f"unknown action {element.action!r}"
                       f"{did_you_mean(element.action, registry.actions)} (see 'flowengine actions "
                       "list')", "action.unknown")
            return None
        self.actions[name] = action
        return action

    # -- resources ----------------------------------------------------------------------------
    def check_resources(self) -> None:
        m = self.model
        for name, var in m.variables.items():
            symbol = self.table.get(name)
            if symbol and symbol.decl is var and symbol.type is not None and var.default is not None:
                self.check_value(var.default, symbol.type, ("variables", name, "default"))
        for name, const in m.constants.items():
            symbol = self.table.get(name)
            if symbol and symbol.decl is const and symbol.type is not None:
                if const.type in ("Apex", "Record"):
                    self.error(("constants", name, "type"), "a constant must have a scalar type, "
                               f"not {const.type}", "type.constant")
                else:
                    self.check_literal(const.value, symbol.type, ("constants", name, "value"))
        for name in m.formulas:
            self.compile_formula(name)
        for name, template in m.templates.items():
            self.check_value(template.text, FlowType("Text"), ("templates", name, "text"))
        self._check_resource_cycles()

    def compile_formula(self, name: str) -> None:
        from flowengine.formula import FormulaError, compile_formula
        from flowengine.references import field_getter, global_getter

        if name in self.formulas or self._formula_state.get(name) == "failed":
            return
        decl = self.model.formulas[name]
        symbol = self.table.get(name)
        path = ("formulas", name, "expression")
        if symbol is None or symbol.decl is not decl or symbol.type is None:
            return
        if decl.type in ("Apex", "Record"):
            self.error(("formulas", name, "type"), f"a formula computes a scalar, not {decl.type}",
                       "formula.type")
            return

        def resolve(text: str) -> tuple[FlowType, Callable[[Any], Any]]:
            try:
                rp = self.table.resolve(check_path(text))
            except (ResolveError, PathSyntaxError) as exc:
                raise KeyError(str(exc)) from None
            if rp.symbol is None:
                return rp.type, global_getter(rp.text)
            return rp.type, field_getter(self.getter_of(rp.symbol), rp.fields, rp.text)

        self._formula_state[name] = "compiling"
        try:
            self.formulas[name] = compile_formula(decl.expression, symbol.type, resolve, name)
        except FormulaError as exc:
            self._formula_state[name] = "failed"
            mark = self.doc.position_in(path, exc.offset) if self.doc else None
            mark = mark or (self.doc.locate(path) if self.doc else None)
            self.problems.add("error", "formula", f"formula {name}: {exc.message}",
                              mark[0] if mark else None, mark[1] if mark else None,
                              display_path(path))

    def getter_of(self, symbol: Symbol) -> Callable[[Any], Any]:
        """The run-time getter of a resource; formulas and templates compute when read."""
        name = symbol.name
        if symbol.kind == "formula":
            holder = self.formulas

            def formula_value(st: Any) -> Any:
                return holder[name].evaluate(st)
            return formula_value
        if symbol.kind == "template":
            renderers = self.templates

            def template_value(st: Any) -> Any:
                return renderers[name](st)
            return template_value

        def value(st: Any) -> Any:
            return st.values.get(name)
        return value

    def _check_resource_cycles(self) -> None:
        """Formulas and templates that refer to each other in a circle would never finish."""
        graph: dict[str, list[str]] = {}
        for name, f in self.formulas.items():
            graph[name.lower()] = [r.split(".")[0].lower() for r in f.references]
        for name, template in self.model.templates.items():
            try:
                spec = parse_value(template.text)
            except PathSyntaxError:
                continue
            graph[name.lower()] = [r.path.split(".")[0].lower() for r in refs_in(spec)]
        state: dict[str, int] = {}
        for start in graph:
            stack = [(start, iter(graph[start]))]
            trail = [start]
            state[start] = 1
            while stack:
                node, children = stack[-1]
                child = next(children, None)
                if child is None:
                    state[node] = 2
                    stack.pop()
                    trail.pop()
                    continue
                if child not in graph or state.get(child) == 2:
                    continue
                if state.get(child) == 1:
                    cycle = trail[trail.index(child):] + [child]
                    sym = self.table.get(start)
                    kind = "formulas" if sym and sym.kind == "formula" else "templates"
                    self.error((kind, sym.name if sym else start),
                               "resources refer to each other in a circle: " + " → ".join(
                                   (self.table.get(c).name if self.table.get(c) else c) for c in cycle),
                               "resource.cycle")
                    return
                state[child] = 1
                trail.append(child)
                stack.append((child, iter(graph[child])))

    # -- values -------------------------------------------------------------------------------
    def resolve(self, text: Any, path: tuple[Any, ...], what: str = "reference") -> ResolvedPath | None:
        """The resolved path, or None after reporting why it does not resolve."""
        try:
            return self.table.resolve(check_path(text))
        except BrokenReference:
            return None                     # its declaration's problem is reported already
        except UnknownName as exc:
            if not self.names_incomplete:
                self.error(path, f"{what}: {exc}" if what != "reference" else str(exc),
                           "reference.unknown")
        except PathSyntaxError as exc:
            self.error(path, f"{what}: {exc}" if what != "reference" else str(exc), "reference.syntax")
        except ResolveError as exc:
            self.error(path, f"{what}: {exc}" if what != "reference" else str(exc), "reference.invalid")
        return None

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

    # -- elements -----------------------------------------------------------------------------
    def check_element(self, name: str, element: Any) -> None:
        base = ("elements", name)
        for kind, label, where, target in connector_slots(element):
            self._check_connector(base + where, kind, label, target)
        if isinstance(element, AssignmentElement):
            index = self.structure.kept_items.get(name) or range(len(element.assignments))
            for i, item in zip(index, element.assignments):
                self.check_assignment(base + ("assignments", i), item.ref, item.op, item.value)
        elif isinstance(element, DecisionElement):
            from flowengine.conditions import check_decision
            check_decision(self, name, element)
        elif isinstance(element, LoopElement):
            self.check_loop(name, element)
        elif isinstance(element, ActionElement):
            self.check_action(name, element)

    def _check_connector(self, path: tuple[Any, ...], kind: str, label: str, target: str) -> None:
        if target in self.model.elements or target in self.broken or \
                "elements" in self.structure.dropped:
            return
        which = f"the connector of outcome {label!r}" if kind == "outcome" else f"connector {label!r}"
        names = [*self.model.elements, *(str(b) for b in self.broken)]
        other = next((e for e in names if e.lower() == target.lower()), None)
        hint = (f"; did you mean {other!r}? (element names in connectors are case-sensitive)"
                if other else did_you_mean(target, names))
        self.error(path, f"{which} of element {path[1]} goes to {target!r}, which is not an "
                   f"element{hint}", "connector.unknown")

    def writable_target(self, ref: Any, path: tuple[Any, ...]) -> ResolvedPath | None:
        """The resolved target of a write, or None after reporting why it cannot be written."""
        try:
            text = check_path(ref)
        except PathSyntaxError as exc:
            self.error(path, str(exc), "reference.syntax")
            return None
        symbol = self.table.get(text.split(".")[0])
        if symbol is not None and not symbol.writable and not symbol.broken:
            if symbol.kind == "element" and symbol.element_type == "Action":
                why = (f"{symbol.name} is an Action element, and action outputs are read-only (map "
                       "the output to a variable under the element's outputs: instead)")
            else:
                why = f"{symbol.name!r} is {symbol.a_what}, which is read-only"
            self.error(path, f"cannot write to {text!r}: {why}; only variables can be written",
                       "write.readonly")
            return None
        rp = self.resolve(text, path)
        if rp is None:
            return None
        if rp.symbol is None:
            self.error(path, f"cannot write to the global {rp.text}: globals are read-only; only "
                       "variables can be written", "write.readonly")
            return None
        return rp

    def check_assignment(self, path: tuple[Any, ...], ref: str, op: str, value: Any) -> None:
        target = self.writable_target(ref, path + ("ref",))
        if target is None:
            return
        t = target.type
        op = OP_ALIASES.get(op, op)
        vpath = path + ("value",)
        bad = f"operator {op} does not apply to {ref!r}, which is {t}"
        if t.collection:
            if op in ("Subtract", "AddItem", "AssignCount"):
                self.error(path + ("op",), bad + " (a collection; it takes "
                           f"{', '.join(COLLECTION_OPS)})", "operator.type")
            elif op == "RemovePosition":
                self.check_value(value, FlowType("Number", scale=0), vpath)
            else:   # an item, or a collection of them (see the table in spec 4.1)
                self.check_value(value, t, vpath, (t.item,))
            return
        if op in COLLECTION_ONLY_OPS:
            self.error(path + ("op",), f"{op} is a collection operator, but {ref!r} is a single "
                       f"value ({t}); use it on a collection variable", "operator.collection")
            return
        if op == "Assign":
            self.check_value(value, t, vpath)
        elif op == "Add" and t.kind in TEXT_LIKE:
            self.check_value(value, FlowType("Text"), vpath)
        elif op in ("Add", "Subtract") and (t.kind in NUMERIC or t.kind in ("Date", "DateTime")):
            self.check_value(value, FlowType("Number"), vpath)
        elif op == "AddItem" and t.kind == "Multipicklist":
            self.check_value(value, FlowType("Text"), vpath)
        elif op == "AssignCount" and t.kind in NUMERIC:
            spec, vtype = self.value_types(value, vpath)
            if spec is None or (isinstance(spec, RefValue) and (vtype is None or vtype.collection)):
                return
            found = (f"{{!{spec.path}}}, a single value ({vtype})" if isinstance(spec, RefValue)
                     else "text with merge fields" if isinstance(spec, TemplateValue)
                     else describe(spec.value) if isinstance(spec, LiteralValue) else "a literal")
            self.error(vpath, "AssignCount counts the items of a collection: the value must be a "
                       f"merge field of a collection, e.g. \"{{!lineItems}}\"; found {found}",
                       "value.type")
        else:
            takes = SINGLE_OPS.get("Text" if t.kind in ("Text", "Picklist") else t.kind, ("Assign",))
            self.error(path + ("op",), f"{bad} (a {t.kind} takes {', '.join(takes)})",
                       "operator.type")

    def _loop_item_type(self, name: str, element: LoopElement, report: bool = True) -> FlowType | None:
        path = ("elements", name, "collection")
        if report:
            rp = self.resolve(element.collection, path, "loop collection")
        else:
            try:
                rp = self.table.resolve(check_path(element.collection))
            except (ResolveError, PathSyntaxError):
                return None
        if rp is None:
            return None
        if not rp.type.collection:
            if report:
                self.error(path, f"a Loop needs a collection, but {element.collection!r} is a "
                           f"single value ({rp.type})", "loop.collection")
            return None
        return rp.type.item

    def check_loop(self, name: str, element: LoopElement) -> None:
        item_type = self._loop_item_type(name, element)
        if element.item:
            target = self.writable_target(element.item, ("elements", name, "item"))
            if target is not None and item_type is not None:
                if target.type.collection or not assignable(item_type, target.type):
                    self.error(("elements", name, "item"), f"loop variable {element.item!r} is "
                               f"{target.type}, but the items of {element.collection!r} are "
                               f"{item_type}", "loop.item")

    def check_action(self, name: str, element: ActionElement) -> None:
        action = self.actions.get(name)
        if action is None:
            return
        base = ("elements", name)
        names = [p.name for p in action.inputs]
        for pname, raw in element.inputs.items():
            param = action.input(pname)
            if param is None:
                self.error(base + ("inputs", pname), f"element {name}: action {action.name} has no "
                           f"input {pname!r}{did_you_mean(pname, names)} (its inputs: "
                           f"{', '.join(names) or 'none'})", "action.input", key=True)
                continue
            self.check_value(raw, param.type, base + ("inputs", pname),
                             context=f"element {name}: input {pname} of action {action.name} "
                                     f"expects {param.type}: ")
        for param in action.inputs:
            if param.required and param.name not in element.inputs:
                self.error(base + ("inputs",) if element.inputs else base + ("action",),
                           f"element {name} does not set the required input {param.name!r} "
                           f"({param.type}) of action {action.name}", "action.required",
                           key=True)
        outputs = [p.name for p in action.outputs]
        for oname, target_path in element.outputs.items():
            param = action.output(oname)
            if param is None:
                self.error(base + ("outputs", oname), f"element {name}: action {action.name} has "
                           f"no output {oname!r}{did_you_mean(oname, outputs)} (its outputs: "
                           f"{', '.join(outputs) or 'none'})", "action.output", key=True)
                continue
            target = self.writable_target(target_path, base + ("outputs", oname))
            if target is not None and not assignable(param.type, target.type):
                self.error(base + ("outputs", oname), f"element {name}: output {oname} of action "
                           f"{action.name} is {param.type}, which does not fit {target_path!r} "
                           f"({target.type})", "action.output-type")

    # -- graph ----------------------------------------------------------------------------------
    def check_graph(self) -> None:
        from flowengine.graph import unreachable_elements

        m = self.model
        elements_known = "elements" not in self.structure.dropped
        if m.elements and not m.start and "start" not in self.structure.dropped:
            first = next(iter(m.elements))
            self.error(("elements",), f"missing required key 'start': the name of the first "
                       f"element, e.g. start: {first}", "start.missing", key=True)
        elif m.start and m.start not in m.elements and m.start not in self.broken and elements_known:
            other = next((e for e in m.elements if e.lower() == m.start.lower()), None)
            hint = (f"; did you mean {other!r}? (element names are case-sensitive here)" if other
                    else did_you_mean(m.start, m.elements))
            self.error(("start",), f"start names {m.start!r}, which is not an element{hint}",
                       "start.unknown")
        if m.start in m.elements and not self.broken:
            for name in unreachable_elements(m):
                self.error(("elements", name), f"element {name!r} cannot be reached from start "
                           f"{m.start!r}: no connector leads to it", "graph.unreachable", key=True,
                           severity="warning")


def _example(t: FlowType) -> str:
    return {"Text": "a, b", "Picklist": "a, b", "Multipicklist": "a, b", "Boolean": "true, false",
            "Date": "2026-01-31", "DateTime": "2026-01-31T09:30:00Z", "Time": "09:30:00"}.get(
        t.kind, "{field: value}" if t.is_object else "1, 2")


def check_flow(doc: Document, registry: Callable[[], Any] | None = None) -> CheckedFlow:
    """Build and check a flow from a parsed document. Raises ValidationError with every problem."""
    structure = build_model(doc)
    checker = Checker(structure.model, doc, registry, structure)
    checker.problems.items.extend(structure.problems)
    return checker.run()
