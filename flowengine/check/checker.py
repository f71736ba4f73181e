"""Static checks (spec 3–4): names, references, types, operators, actions, connectors.

Every problem is collected with its place and raised once, so a user fixes a file in one pass.
Nothing that can be known before running is left to run time.

`Checker` runs the checks in order and holds what they share: the problems, the plug-in registry,
the type registry and the symbol table. It checks resources, connectors and the graph itself;
the other checks live with their concern and report through it:

- `flowengine.check.declarations`: the flow's classes and names → type registry and symbol table
- `flowengine.check.values`: does a value fit a type (mixed in: `checker.check_value(...)`)
- `flowengine.check.elements`: Assignment operators, Loop collections, Action parameters
- `flowengine.conditions`: Decision conditions and custom logic
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable

from flowengine.check.declarations import declare_names, declare_types
from flowengine.check.elements import check_action, check_assignment, check_loop
from flowengine.errors import Problem, ProblemList, ValidationError
from flowengine.formats.yaml import Document, display_path
from flowengine.model import (
    ActionElement, AssignmentElement, DecisionElement, FlowModel, LoopElement, TypedDecl,
    connector_slots,
)
from flowengine.references import PathSyntaxError, check_path, parse_value, refs_in
from flowengine.model.structure import SECTIONS, Structure, build_model
from flowengine.check.symbols import (
    BrokenReference, ResolvedPath, ResolveError, Symbol, SymbolTable, UnknownName, did_you_mean,
)
from flowengine.types import FlowType, TypeRegistry
from flowengine.check.values import ValueChecks

if TYPE_CHECKING:
    import networkx

    from flowengine.plugins import Action
    from flowengine.formula import CompiledFormula


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


class Checker(ValueChecks):
    """Runs every static check of one flow (`run`), collecting the problems to raise them once."""

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
                from flowengine.plugins.registry import get_registry
                self._registry_factory = get_registry
            self._registry = self._registry_factory()
            for cls in self._registry.types.classes.values():
                if self.types.apex_class(cls.name) is None:
                    self.types.add_class(cls)
            for obj in self._registry.types.objects.values():
                self.types.add_object(obj)
        return self._registry

    @property
    def loaded_registry(self) -> Any:
        """The plug-in registry if it is loaded already, else None; never loads it."""
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
        declare_types(self)
        declare_names(self)
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
        from flowengine.runtime.values import ValueCompiler
        values = ValueCompiler(checked)
        for name, template in self.model.templates.items():
            self.templates[name] = values.compile(template.text, FlowType("Text"))
        return checked

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

        try:
            self.formulas[name] = compile_formula(decl.expression, symbol.type, resolve, name)
        except FormulaError as exc:
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

    # -- references ---------------------------------------------------------------------------
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

    # -- elements -----------------------------------------------------------------------------
    def check_element(self, name: str, element: Any) -> None:
        base = ("elements", name)
        for kind, label, where, target in connector_slots(element):
            self._check_connector(base + where, kind, label, target)
        if isinstance(element, AssignmentElement):
            index = self.structure.kept_items.get(name) or range(len(element.assignments))
            for i, item in zip(index, element.assignments):
                check_assignment(self, base + ("assignments", i), item.ref, item.op, item.value)
        elif isinstance(element, DecisionElement):
            from flowengine.conditions import check_decision
            check_decision(self, name, element)
        elif isinstance(element, LoopElement):
            check_loop(self, name, element)
        elif isinstance(element, ActionElement):
            check_action(self, name, element)

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


def check_flow(doc: Document, registry: Callable[[], Any] | None = None) -> CheckedFlow:
    """Build and check a flow from a parsed document. Raises ValidationError with every problem."""
    structure = build_model(doc)
    checker = Checker(structure.model, doc, registry, structure)
    checker.problems.items.extend(structure.problems)
    return checker.run()
