"""Static checks (spec 3–4): names, references, types, operators, actions, connectors.

Every problem is collected with its place and raised once, so a user fixes a file in one pass.
Nothing that can be known before running is left to run time.

`Checker` runs the checks in order and holds what they share: the problems, the plug-in registry,
the type registry and the symbol table. It checks resources, connectors and the graph itself;
each element is checked by its element kind (`flowengine.elements`), through the `CheckContext`
the checker implements:

- `flowengine.check.declarations`: the flow's classes and names → type registry and symbol table
- `flowengine.check.values`: does a value fit a type (`ctx.check_value(...)`)
- `flowengine.elements.*`: each element type's own checks
"""
from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from flowengine.check.context import SymbolContext
from flowengine.check.declarations import declare_names, declare_types
from flowengine.check.symbols import ORGANIZATION, BrokenReference, ResolveError, SymbolTable, did_you_mean
from flowengine.elements import kind_of
from flowengine.errors import Problem, ValidationError
from flowengine.model import FlowModel, TypedDecl, check_api_name
from flowengine.model.base import StrictModel
from flowengine.model.structure import SECTIONS, Structure, build_model
from flowengine.references import PathSyntaxError, check_path, parse_value, refs_in
from flowengine.source import display_path
from flowengine.types import FlowType, TypeRegistry

if TYPE_CHECKING:
    import networkx

    from flowengine.formula import CompiledFormula
    from flowengine.plugins import Action
    from flowengine.source import SourceDocument


@dataclass
class CheckedFlow:
    """A flow that passed every static check: the model plus what the checks learned. Plain data:
    it keeps neither the checker nor the source document."""

    model: FlowModel
    file: str | None
    symbols: SymbolTable
    types: TypeRegistry
    actions: dict[str, Action]                       # element name → action
    formulas: dict[str, CompiledFormula]
    warnings: list[Problem] = field(default_factory=list)
    logic: dict[tuple[str, str], Any] = field(default_factory=dict)   # (decision, rule) → logic AST
    templates: dict[str, Callable[[Any], Any]] = field(default_factory=dict)  # name → renderer
    subflows: dict[str, Any] = field(default_factory=dict)  # element → the flow it calls
    # the templates read the org store (a related record, $Organization): runs open it
    templates_read_org: bool = False
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


def _texts(value: Any) -> Iterator[str]:
    """Every string in a model, its parts, lists and mappings (keys too), depth first."""
    pending = [value]
    while pending:
        item = pending.pop()
        if isinstance(item, str):
            yield item
        elif isinstance(item, StrictModel):
            pending.extend(vars(item).values())
        elif isinstance(item, dict):
            pending.extend(item.keys())
            pending.extend(item.values())
        elif isinstance(item, (list, tuple)):
            pending.extend(item)


class _NotJudged(Exception):
    """A formula uses something whose type cannot be known (declared with errors, or kept but
    not run): the formula is not judged either."""


class _Resources:
    """The compiled formulas and templates of the flow being checked (see `resource_getter`)."""

    def __init__(self) -> None:
        self.formulas: dict[str, CompiledFormula] = {}
        self.templates: dict[str, Callable[[Any], Any]] = {}


class Checker(SymbolContext):
    """Runs every static check of one flow (`run`), collecting the problems to raise them once."""

    def __init__(self, model: FlowModel, doc: SourceDocument | None,
                 registry: Callable[[], Any] | None = None,
                 structure: Structure | None = None) -> None:
        types = TypeRegistry()
        super().__init__(model, doc, types, SymbolTable(types))
        self.structure = structure or Structure(model)
        # elements with structural errors (already reported): connectors to them are fine, and
        # reachability is not judged, since their own connectors may be missing
        self.broken = set(self.structure.broken.get("elements", set()))
        # a whole section was unusable: unknown names may be declared there, so stay silent
        self.names_incomplete = bool(self.structure.dropped & (set(SECTIONS) - {"types"}))
        self._registry_factory = registry
        self._registry: Any = None
        self.actions: dict[str, Action] = {}
        self.subflows: dict[str, Any] = {}          # element → the flow it calls
        self.resources = _Resources()
        self.formulas = self.resources.formulas
        self.logic: dict[tuple[str, str], Any] = {}
        self.plugins_failed = False

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
            self._add_objects(self._registry)
        return self._registry

    def _add_objects(self, registry: Any) -> None:
        """The objects flows may use: the standard objects, the plug-ins' and those of the
        project the flow file is in (its Salesforce DX metadata or flowengine-objects.yaml)."""
        from flowengine.org.schemas import SchemaError, project_schemas

        start = os.path.dirname(os.path.abspath(self.doc.file)) if self.doc and self.doc.file \
            else None
        try:
            schemas = project_schemas(start, plugin_schemas=registry.types.objects.values())
        except SchemaError as exc:
            self.problems.items.extend(exc.problems)
            schemas = list(registry.types.objects.values())
        for obj in schemas:
            self.types.add_object(obj)

    @property
    def loaded_registry(self) -> Any:
        """The plug-in registry if it is loaded already, else None; never loads it."""
        return self._registry

    def _needs_plugins(self) -> bool:
        m = self.model
        if m.trigger is not None or any(kind_of(e).needs_plugins(e) for e in m.elements.values()):
            return True
        own = {name.replace("__", ".").lower() for name in m.types}
        decls: list[TypedDecl] = [*m.variables.values()]
        decls += [f for t in m.types.values() for f in t.fields.values()]
        return any((d.type == "Apex" and (d.apexClass or "").replace("__", ".").lower() not in own)
                   or d.type == "Record" for d in decls) or self._mentions_organization()

    def _mentions_organization(self) -> bool:
        """Whether the flow mentions $Organization anywhere (its fields are an object's, so the
        objects are needed); every element's own fields included."""
        wanted = ORGANIZATION.lower()
        return any(wanted in text.lower() for text in _texts(self.model))

    def project_flow(self, name: str) -> tuple[Any, str | None]:
        """The flow of this flow's project called `name`, checked — or None and why not (no
        such flow; it has errors; it is being checked, as when flows call each other)."""
        from flowengine.automation.project import subflow

        return subflow(self.doc.file if self.doc else None, name)

    def item_indexes(self, element: str, key: str, count: int) -> Sequence[int]:
        return self.structure.kept_items.get((element, key)) or range(count)

    # -- the run -----------------------------------------------------------------------------
    def run(self) -> CheckedFlow:
        if self._needs_plugins():
            try:
                _ = self.registry       # load the plug-ins now: a failure is reported once, here
            except Exception as exc:
                self.plugins_failed = True
                self.error((), f"cannot load action plug-ins: {exc}", "plugins")
        declare_types(self)
        declare_names(self)
        self.check_resources()
        from flowengine.check.trigger import check_trigger
        check_trigger(self)
        for name, element in self.model.elements.items():
            self.check_element(name, element)
        self.check_graph()
        # file order: a reader fixes a file top to bottom
        self.problems.items.sort(key=lambda p: (p.line or 0, p.column or 0))
        if self.problems.has_errors:
            raise ValidationError(self.problems.items)
        checked = CheckedFlow(self.model, self.problems.file, self.table, self.types, self.actions,
                              self.formulas, list(self.problems.items), self.logic,
                              self.resources.templates, self.subflows)
        from flowengine.runtime.values import ValueCompiler
        values = ValueCompiler(checked)
        for name, template in self.model.templates.items():
            checked.templates[name] = values.compile(template.text, FlowType("Text"))
        checked.templates_read_org = values.reads_org
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
        decl = self.model.formulas[name]
        symbol = self.table.get(name)
        path = ("formulas", name, "expression")
        if symbol is None or symbol.decl is not decl or symbol.type is None:
            return
        if decl.type in ("Apex", "Record"):
            self.error(("formulas", name, "type"), f"a formula computes a scalar, not {decl.type}",
                       "formula.type")
            return
        self.compile_expression(name, decl.expression, symbol.type, path, f"formula {name}")

    def compile_expression(self, key: str, expression: str, ftype: FlowType,
                           path: tuple[Any, ...], what: str) -> CompiledFormula | None:
        """Compile a formula expression of type `ftype` into `formulas[key]` (a formula
        resource, or one an element holds, such as a Collection Filter's); None after reporting
        why it does not compile (or when it reads something not judged)."""
        from flowengine.formula import FormulaError, compile_formula
        from flowengine.runtime.access import path_getter

        resources = self.resources

        def resolve(text: str) -> tuple[FlowType, Callable[[Any], Any]]:
            try:
                rp = self.table.resolve(check_path(text))
            except BrokenReference:
                raise _NotJudged from None   # its own problem is reported (or it is not run)
            except (ResolveError, PathSyntaxError) as exc:
                raise KeyError(str(exc)) from None
            return rp.type, path_getter(resources, rp, self.types)

        try:
            compiled = self.formulas[key] = compile_formula(expression, ftype, resolve, key)
        except _NotJudged:
            return None
        except FormulaError as exc:
            mark = self.doc.position_in(path, exc.offset) if self.doc else None
            mark = mark or (self.doc.locate(path) if self.doc else None)
            self.problems.add("error", "formula", f"{what}: {exc.message}",
                              mark[0] if mark else None, mark[1] if mark else None,
                              display_path(path))
            return None
        return compiled

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
                                   (self.table.get(c).name if self.table.get(c) else c) for c in cycle),  # type: ignore[union-attr]
                               "resource.cycle")
                    return
                state[child] = 1
                trail.append(child)
                stack.append((child, iter(graph[child])))
        self._check_resource_depth(graph)

    def _check_resource_depth(self, graph: dict[str, list[str]]) -> None:
        """How deep evaluating each formula or template nests, through the ones it reads (the
        graph has no cycle): a chain too deep for the evaluator is refused here, with its path,
        rather than failing at run time."""
        own = {name.lower(): f.depth for name, f in self.formulas.items()}
        depth: dict[str, int] = {}
        via: dict[str, str | None] = {}
        for start in graph:
            stack = [start]
            while stack:
                node = stack[-1]
                pending = [c for c in graph[node] if c in graph and c not in depth]
                if node in depth or pending:
                    stack.pop() if node in depth else stack.extend(pending)
                    continue
                stack.pop()
                deepest = max((c for c in graph[node] if c in graph), key=depth.__getitem__,
                              default=None)
                depth[node] = own.get(node, 1) + HOP_DEPTH + (depth[deepest] if deepest else 0)
                via[node] = deepest
        too_deep = [name for name in graph if depth[name] > MAX_EVALUATION_DEPTH]
        read_by_too_deep = {via[name] for name in too_deep}
        for name in too_deep:
            if name in read_by_too_deep:
                continue                     # reported once, at the top of its chain
            chain: list[str] = []
            link: str | None = name
            while link is not None and len(chain) < 6:
                chain.append(self._display_name(link))
                link = via[link]
            sym = self.table.get(name)
            kind = "formulas" if sym and sym.kind == "formula" else "templates"
            shown = " → ".join(chain) + (" → …" if link is not None else "")
            self.error((kind, self._display_name(name)),
                       f"evaluating {self._display_name(name)} nests {depth[name]:,} levels deep "
                       f"through the formulas and templates it reads ({shown}); the limit is "
                       f"{MAX_EVALUATION_DEPTH}: shorten the chain, or keep a part of it in a "
                       "variable set by an Assignment", "resource.depth")

    def _display_name(self, key: str) -> str:
        symbol = self.table.get(key)
        return symbol.name if symbol else key

    # -- elements -----------------------------------------------------------------------------
    def check_element(self, name: str, element: Any) -> None:
        kind = kind_of(element)
        for connector in kind.connectors(element):
            if connector.target is not None:
                self._check_connector(("elements", name) + connector.path, connector.described,
                                      connector.target)
        kind.check(self, name, element)

    def _check_connector(self, path: tuple[Any, ...], which: str, target: str) -> None:
        if target in self.model.elements or target in self.broken or \
                "elements" in self.structure.dropped:
            return
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
        if "flow" not in self.structure.dropped:
            problem = check_api_name(m.flow, "flow name")
            if problem:
                self.error(("flow",), problem, "name.invalid")
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


# how deep one evaluation may nest: closures of formulas, plus HOP_DEPTH for each formula or
# template read through another; far below Python's recursion limit
MAX_EVALUATION_DEPTH = 400
HOP_DEPTH = 5


def check_flow(doc: SourceDocument, registry: Callable[[], Any] | None = None) -> CheckedFlow:
    """Build and check a flow from a source document. Raises ValidationError with every problem."""
    return check_structure(doc, build_model(doc), registry)


def check_structure(doc: SourceDocument, structure: Structure,
                    registry: Callable[[], Any] | None = None) -> CheckedFlow:
    """Check a flow whose model `build_model(doc)` built (as the flow cache keeps it)."""
    checker = Checker(structure.model, doc, registry, structure)
    checker.problems.items.extend(structure.problems)
    return checker.run()
