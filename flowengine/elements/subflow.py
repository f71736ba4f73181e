"""The Subflow element (Salesforce `subflows`, `FlowSubflow`): runs another flow of the project,
in the caller's transaction, with the caller's governor limits.

```yaml
Check_Stock:
  type: Subflow
  flow: Stock_Check                     # a flow of the same project, by API name
  inputs: {productId: "{!productId}"}   # the subflow's input variables
  outputs: {available: inStock}         # its output variables → the caller's variables
  storeOutputAutomatically: true        # its outputs are also {!Check_Stock.available}
  next: Decide
```

The subflow is looked up in the calling flow's project (its Salesforce DX project, or its
folder) and checked with it: a missing subflow, an unknown input or output, or a value of the
wrong type is a check-time error. A subflow that fails makes the element fail; Salesforce's
Subflow has no fault connector, so the calling interview fails (and its transaction rolls back).
An autolaunched flow called as an action (`actionType: flow`) runs the same way.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any, Literal

from pydantic import Field

from flowengine.elements.base import ElementKind, ElementModel, LintFacts
from flowengine.errors import FlowError, did_you_mean
from flowengine.references import merge_field_roots
from flowengine.runtime.nodes import FaultingNode, Read
from flowengine.types import FlowType, ObjectValue, assignable, copy_value, to_json

if TYPE_CHECKING:
    from flowengine.check.context import CheckContext
    from flowengine.check.symbols import ResolvedPath, Symbol, SymbolTable
    from flowengine.formats.sfxml import FlowReader, FlowWriter
    from flowengine.formats.xmltree import XmlNode
    from flowengine.runtime.compile import CompileContext
    from flowengine.runtime.interview import Interview
    from flowengine.runtime.nodes import Node


class SubflowElement(ElementModel):
    type: Literal["Subflow"]
    flow: str
    inputs: dict[str, Any] = Field(default_factory=dict)
    outputs: dict[str, str] = Field(default_factory=dict)
    storeOutputAutomatically: bool | None = None
    next: str | None = None


class SubflowFailed(FlowError):
    """The subflow's interview failed: the calling element fails with its fault."""


class SubflowNode(FaultingNode):
    __slots__ = ("flow", "inputs", "outputs", "keep")
    fault_type = "RuntimeError"

    def __init__(self, name: str, flow: Any, inputs: list[tuple[str, Read]],
                 outputs: list[tuple[Any, str]], keep: bool, type_name: str = "Subflow") -> None:
        super().__init__(name, type_name)
        self.flow = flow                  # the subflow's api.Flow
        self.inputs = inputs              # (input variable, getter converting to its type)
        self.outputs = outputs            # (setter of the caller's variable, output variable)
        self.keep = keep                  # the element holds the outputs

    @property
    def described(self) -> str:
        return f"{self.type} {self.flow.name}"

    @property
    def subject(self) -> str:
        return f"subflow {self.flow.name}"

    def prepare(self, st: Interview, entry: dict[str, Any] | None) -> Any:
        inputs = {name: get(st) for name, get in self.inputs}
        if entry is not None:
            entry["subflow"] = self.flow.name
            entry["inputs"] = {k: to_json(v) for k, v in inputs.items()}
        return inputs

    def work(self, st: Interview, entry: dict[str, Any] | None, inputs: Any) -> Any:
        result = self.flow.compiled.run_in(st.org, inputs, limits=st.limits,
                                           trace=entry is not None)
        if entry is not None:
            entry["steps"] = result.elements_executed
        if not result.ok:
            assert result.error is not None
            if result.error.type == "LimitExceeded":
                from flowengine.runtime.limits import GovernorLimitExceeded
                raise GovernorLimitExceeded(result.error.message, self.name)
            raise SubflowFailed(f"subflow {self.flow.name} failed: {result.error.message}")
        return result.outputs

    def finish(self, st: Interview, entry: dict[str, Any] | None, outputs: Any) -> None:
        if self.keep:
            st.values[self.name] = ObjectValue(f"{self.flow.name} outputs", dict(outputs))
        for setter, name in self.outputs:
            setter(st, copy_value(outputs.get(name)))
        if entry is not None:
            entry["outputs"] = {k: to_json(v) for k, v in outputs.items()}


# -- what Subflow elements and flow actions share ----------------------------------------------

def flow_inputs(flow: Any) -> dict[str, FlowType]:
    return dict(flow.compiled.inputs)


def flow_outputs(flow: Any) -> dict[str, FlowType]:
    symbols = flow.checked.symbols
    return {name: symbols.get(name).type for name in flow.compiled.outputs}


def check_call(ctx: CheckContext, name: str, flow_name: str, where: tuple[Any, ...],
               inputs: dict[str, Any], outputs: dict[str, str]) -> None:
    """Look the flow up in the project and check the inputs and outputs against it."""
    flow, why = ctx.project_flow(flow_name)
    if flow is None:
        if why is not None:
            ctx.error(where, f"element {name}: {why}", "subflow.unknown")
        return
    ctx.subflows[name] = flow
    base = ("elements", name)
    declared = flow_inputs(flow)
    for pname, raw in inputs.items():
        ptype = declared.get(pname)
        if ptype is None:
            ctx.error(base + ("inputs", pname), f"element {name}: flow {flow.name} has no input "
                      f"variable {pname!r}{did_you_mean(pname, declared)} (its inputs: "
                      f"{', '.join(declared) or 'none'})", "subflow.input", key=True)
            continue
        ctx.check_value(raw, ptype, base + ("inputs", pname),
                        context=f"element {name}: input {pname} of flow {flow.name} is "
                                f"{ptype}: ")
    produced = flow_outputs(flow)
    for oname, target_path in outputs.items():
        otype = produced.get(oname)
        if otype is None:
            ctx.error(base + ("outputs", oname), f"element {name}: flow {flow.name} has no "
                      f"output variable {oname!r}{did_you_mean(oname, produced)} (its outputs: "
                      f"{', '.join(produced) or 'none'})", "subflow.output", key=True)
            continue
        target = ctx.writable_target(target_path, base + ("outputs", oname))
        if target is not None and not assignable(otype, target.type):
            ctx.error(base + ("outputs", oname), f"element {name}: output {oname} of flow "
                      f"{flow.name} is {otype}, which does not fit {target_path!r} "
                      f"({target.type})", "subflow.output")


def compile_call(ctx: CompileContext, name: str, inputs: dict[str, Any],
                 outputs: dict[str, str], keep: bool, type_name: str = "Subflow") -> Node:
    flow = ctx.checked.subflows[name]
    if flow.compiled.has_actions:
        ctx.values.reads_org = True           # the subflow needs the org transaction
    declared = flow_inputs(flow)
    produced = flow_outputs(flow)
    values = ctx.values
    compiled_inputs = [(p, values.compile(raw, declared[p])) for p, raw in inputs.items()]
    setters = [(values.converting_setter(target, produced[o]), o) for o, target in outputs.items()]
    return SubflowNode(name, flow, compiled_inputs, setters, keep, type_name)


def resolve_outputs(table: SymbolTable, symbol: Symbol, text: str,
                    fields: tuple[str, ...]) -> ResolvedPath:
    """`{!Element.output}` of a subflow call that stores its outputs automatically."""
    from flowengine.check.symbols import BrokenReference, ResolvedPath, ResolveError

    flow = symbol.binding
    if flow is None:
        raise BrokenReference(f"{symbol.name!r} calls a flow that cannot be checked")
    if not fields:
        raise ResolveError(f"{symbol.name!r} calls flow {flow.name}; name one of its outputs, "
                           f"e.g. {symbol.name}.outputName")
    produced = flow_outputs(flow)
    otype = produced.get(fields[0])
    if otype is None:
        raise ResolveError(f"flow {flow.name} (element {symbol.name}) has no output "
                           f"{fields[0]!r}{did_you_mean(fields[0], produced)} (outputs: "
                           f"{', '.join(produced) or 'none'})")
    owner = FlowType("Apex", apex_class=f"{flow.name} outputs")
    rest = table.resolve_fields(text, symbol, otype, fields[1:])
    return ResolvedPath(text, symbol, fields, rest.type, (owner,) + rest.owner_types)


class SubflowKind(ElementKind):
    name = "Subflow"
    model = SubflowElement
    icon = ('<rect class="tile-logic" width="36" height="36" rx="7"/>'
            '<rect class="glyph-line" stroke-width="2.2" fill="none" x="8" y="11" width="13" '
            'height="14" rx="2"/><path class="glyph" d="M19 14h9v9h-9z"/>')
    mermaid_shape = ('[["', '"]]')
    xml_tag = "subflows"

    def bind(self, ctx: CheckContext, name: str, element: SubflowElement, symbol: Symbol) -> None:
        flow, _why = ctx.project_flow(element.flow)
        symbol.binding = flow
        if flow is None:
            symbol.broken = True                # check() reports why

    def resolve(self, table: SymbolTable, symbol: Symbol, text: str,
                fields: tuple[str, ...]) -> ResolvedPath:
        from flowengine.check.symbols import ResolveError

        if not symbol.decl.storeOutputAutomatically:
            raise ResolveError(f"{symbol.name!r} is a Subflow element that does not store its "
                               "outputs automatically (storeOutputAutomatically: true); map them "
                               "to variables under outputs:")
        return resolve_outputs(table, symbol, text, fields)

    def check(self, ctx: CheckContext, name: str, element: SubflowElement) -> None:
        check_call(ctx, name, element.flow, ("elements", name, "flow"), element.inputs,
                   element.outputs)

    def compile(self, ctx: CompileContext, name: str, element: SubflowElement) -> Node:
        return compile_call(ctx, name, element.inputs, element.outputs,
                            bool(element.storeOutputAutomatically))

    def caption(self, element: Any, action: Any = None) -> str:
        return "Subflow"

    def note(self, element: Any, action: Any = None) -> str | None:
        return element.flow

    def details(self, name: str, element: SubflowElement,
                action: Any = None) -> tuple[str, list[dict[str, Any]]]:
        from flowengine.render.details import show_value

        groups = [{"title": f"Inputs of {element.flow}", "columns": ["Variable", "Value"],
                   "rows": [[k, show_value(v)] for k, v in element.inputs.items()]}]
        if element.outputs:
            groups.append({"title": "Outputs stored in", "columns": ["Output", "Variable"],
                           "rows": [[k, v] for k, v in element.outputs.items()]})
        return f"Subflow · {element.flow}", groups

    def trace_text(self, entry: dict[str, Any]) -> list[str]:
        import json

        lines = []
        if "inputs" in entry:
            lines.append(f"        subflow {entry.get('subflow')} inputs: "
                         f"{json.dumps(entry['inputs'], default=str)}")
        if "outputs" in entry:
            lines.append(f"        outputs after {entry.get('steps', 0)} elements: "
                         f"{json.dumps(entry['outputs'], default=str)}")
        return lines

    def trace_view(self, entry: dict[str, Any], element: Any, show: Any) -> list[dict[str, Any]]:
        lines: list[dict[str, Any]] = []
        if "subflow" in entry:
            lines.append({"kind": "text", "cls": "note", "text": f"Subflow {entry['subflow']}"})
        for key, title in (("inputs", "Inputs"), ("outputs", "Outputs")):
            if entry.get(key):
                lines.append({"kind": "table", "title": title,
                              "rows": [[k, show(v)] for k, v in entry[key].items()]})
        return lines

    def from_xml(self, reader: FlowReader, node: XmlNode, path: tuple[Any, ...]) -> dict[str, Any]:
        used = {"flowName", "inputAssignments", "outputAssignments", "storeOutputAutomatically",
                "connector"}
        out: dict[str, Any] = {**reader.element_base(node, path, used), "type": self.name}
        out["flow"] = reader.text(node.child("flowName"), path + ("flow",))
        inputs: dict[str, Any] = {}
        for item in node.all("inputAssignments"):
            pname = item.text_of("name") or ""
            inputs[pname] = reader.value(item.child("value"), path + ("inputs", pname))
        if inputs:
            out["inputs"] = inputs
        outputs: dict[str, Any] = {}
        for item in node.all("outputAssignments"):
            pname = item.text_of("name") or ""
            outputs[pname] = reader.text(item.child("assignToReference"),
                                         path + ("outputs", pname))
        if outputs:
            out["outputs"] = outputs
        store = reader.flag(node.child("storeOutputAutomatically"))
        if store is not None:
            out["storeOutputAutomatically"] = store
        target = reader.connector(node.child("connector"), path + ("next",), out)
        if target:
            out["next"] = target
        return reader.keep(out, node, used, path)

    def to_xml(self, writer: FlowWriter, name: str, element: SubflowElement) -> XmlNode:
        from flowengine.formats.sfxml import BASE, NODE

        out = writer.element_base(name, element)
        out += writer.connector("connector", element.next, element)
        out.append(writer.leaf("flowName", element.flow))
        for pname, value in element.inputs.items():
            kids = [writer.leaf("name", pname)]
            if value is not None:
                kids.append(writer.value("value", value, f"{name}.inputs.{pname}"))
            out.append(writer.node("inputAssignments", kids, BASE))
        for pname, target in element.outputs.items():
            out.append(writer.node("outputAssignments", [writer.leaf("assignToReference", target),
                                                         writer.leaf("name", pname)], BASE))
        if element.storeOutputAutomatically is not None:
            out.append(writer.leaf("storeOutputAutomatically", element.storeOutputAutomatically))
        return writer.node(self.xml_tag or "", out + writer.kept(element, ("connector",)), NODE)

    def facts(self, element: SubflowElement) -> LintFacts:
        return LintFacts(doing=f"calls flow {element.flow}", failing="the subflow",
                         reads=tuple(merge_field_roots(list(element.inputs.values()))),
                         writes=tuple(t.split(".")[0] for t in element.outputs.values()))


KIND = SubflowKind()
__all__ = ["KIND", "SubflowFailed", "check_call", "compile_call"]
