"""The Action element (spec 4.4): calls an action a plug-in registered.

```yaml
Cancel_Items:
  type: Action
  action: cancelFulfillmentOrderItem      # a registered action's name
  inputs: {fulfillmentOrderId: "{!fulfillmentOrderId}", cancelFulfillmentOrderItemsInput: "{!cancelInput}"}
  outputs: {cancelFulfillmentOrderItemsOutput: cancelOutput}   # optional: output → variable
  next: Done
  fault: Log_Failure                      # fault connector (optional)
```
Outputs are also readable as `{!Cancel_Items.outputName}` (Salesforce's "store output
automatically"). The action runs inside a savepoint; see `flowengine.runtime.nodes` for faults.
"""
from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, Literal, cast

from pydantic import Field

from flowengine.elements import records as rec
from flowengine.elements.base import ElementKind, ElementModel, LintFacts
from flowengine.errors import FlowRuntimeError, did_you_mean
from flowengine.references import merge_field_roots
from flowengine.runtime.nodes import FaultingNode, Read, trace_json
from flowengine.types import FlowType, ValueTypeError, assignable, convert_literal, copy_value

if TYPE_CHECKING:
    from flowengine.check.context import CheckContext
    from flowengine.check.symbols import ResolvedPath, Symbol, SymbolTable
    from flowengine.formats.sfxml import FlowReader, FlowWriter
    from flowengine.formats.xmltree import XmlNode
    from flowengine.org.base import OrgTransaction
    from flowengine.plugins import Action
    from flowengine.runtime.compile import CompileContext
    from flowengine.runtime.interview import Interview
    from flowengine.runtime.nodes import Node
    from flowengine.types import TypeRegistry


class ActionElement(ElementModel):
    type: Literal["Action"]
    action: str
    actionType: str | None = Field(None, description="Salesforce's action type (apex, flow, "
                                   "emailSimple...); default: the action's name")
    inputs: dict[str, Any] = Field(default_factory=dict)
    outputs: dict[str, str] = Field(default_factory=dict)
    storeOutputAutomatically: bool | None = None
    flowTransactionModel: str | None = None
    next: str | None = None
    fault: str | None = None


class ActionNode(FaultingNode):
    __slots__ = ("action", "inputs", "outputs", "types", "output_types")
    fault_type = "ActionError"

    def __init__(self, name: str, action: Action, inputs: list[tuple[str, Read]],
                 outputs: list[tuple[Callable[[Interview, Any], None], str]],
                 types: TypeRegistry) -> None:
        super().__init__(name, "Action")
        self.action = action
        self.inputs = inputs          # (parameter, getter converting to its type)
        self.outputs = outputs        # (setter of the mapped variable, output name)
        self.output_types = {p.name: p.type for p in action.outputs}
        self.types = types

    @property
    def described(self) -> str:
        return f"Action {self.action.name}"

    @property
    def subject(self) -> str:
        return f"action {self.action.name}"

    def prepare(self, st: Interview, entry: dict[str, Any] | None) -> dict[str, Any]:
        inputs = {name: get(st) for name, get in self.inputs}
        if entry is not None:
            entry["action"] = self.action.name
            entry["inputs"] = {k: trace_json(v) for k, v in inputs.items()}
        return inputs

    def work(self, st: Interview, entry: dict[str, Any] | None, inputs: Any) -> dict[str, Any]:
        from flowengine.plugins import ActionContext, ActionOrg
        from flowengine.plugins.guard import run_plugin_code

        # the handler is plug-in code: it gets an org handle that cannot end the transaction,
        # and sys.exit() in it is a fault of this action (flowengine.plugins.guard)
        org = None if st.org is None else cast("OrgTransaction", ActionOrg(st.org))
        context = ActionContext(org, st.flow_name, self.name)
        handler = self.action.handler
        raw = run_plugin_code(lambda: handler(inputs, context), f"action {self.action.name}",
                              errors_too=False)
        # outputs are checked inside the savepoint: bad outputs undo the action's writes
        return self.check_outputs(raw)

    def finish(self, st: Interview, entry: dict[str, Any] | None, outputs: Any) -> None:
        st.values[self.name] = outputs
        for setter, name in self.outputs:
            setter(st, copy_value(outputs.get(name)))
        if entry is not None:
            entry["outputs"] = {k: trace_json(v) for k, v in outputs.items()}

    def check_outputs(self, raw: Any) -> dict[str, Any]:
        if raw is None:
            raw = {}
        if not isinstance(raw, Mapping):
            raise FlowRuntimeError(f"action {self.action.name} returned {type(raw).__name__}, "
                                   "expected a mapping of output names to values")
        unknown = [k for k in raw if k not in self.output_types]
        if unknown:
            raise FlowRuntimeError(f"action {self.action.name} returned unknown output {unknown[0]!r}")
        out: dict[str, Any] = {}
        for name, ptype in self.output_types.items():
            try:
                out[name] = convert_literal(raw.get(name), ptype, self.types)
            except ValueTypeError as exc:
                raise FlowRuntimeError(f"action {self.action.name} returned a bad {name}: {exc}") from None
        return out


class ActionKind(ElementKind):
    name = "Action"
    reports_errors = True
    model = ActionElement
    can_fault = True
    tile = "action"
    icon = ('<rect class="tile-action" width="36" height="36" rx="7"/>'
            '<path class="glyph" d="M20.5 6L10.5 20.5H17L15 30L25.5 15H19z"/>')
    mermaid_shape = ('[["', '"]]')
    xml_tag = "actionCalls"

    # -- names ---------------------------------------------------------------------------------
    def needs_plugins(self, element: ActionElement) -> bool:
        return True

    @staticmethod
    def calls_flow(element: ActionElement) -> bool:
        """An autolaunched flow called as an action (`actionType: flow`): a subflow."""
        return element.actionType == "flow"

    def bind(self, ctx: CheckContext, name: str, element: ActionElement, symbol: Symbol) -> None:
        if self.calls_flow(element):
            flow, _why = ctx.project_flow(element.action)
            symbol.binding = flow
            symbol.broken = flow is None            # check() reports why
            return
        try:
            registry = ctx.registry
        except Exception:
            return
        action = registry.action(element.action)
        if action is None:
            failed = [w for w in getattr(registry, "warnings", ()) if "skipped" in w]
            hint = (f"; {len(failed)} plug-in{'s' * (len(failed) != 1)} could not be loaded "
                    "(see the warnings)") if failed else ""
            ctx.error(("elements", name, "action"), f"unknown action {element.action!r}"
                      f"{did_you_mean(element.action, registry.actions)} (see 'flowengine "
                      f"actions list'){hint}", "action.unknown")
            return
        ctx.actions[name] = action
        symbol.binding = action

    def resolve(self, table: SymbolTable, symbol: Symbol, text: str,
                fields: tuple[str, ...]) -> ResolvedPath:
        from flowengine.check.symbols import BrokenReference, ResolvedPath, ResolveError

        if self.calls_flow(symbol.decl):
            from flowengine.elements.subflow import resolve_outputs
            return resolve_outputs(table, symbol, text, fields)
        action = symbol.binding
        if not fields:
            raise ResolveError(f"{symbol.name!r} is an Action element; name one of its outputs, "
                               f"e.g. {symbol.name}.outputName")
        if action is None:   # unknown action: already reported
            raise BrokenReference(f"{symbol.name!r} calls an unknown action")
        param = action.output(fields[0])
        if param is None:
            names = [p.name for p in action.outputs]
            raise ResolveError(f"action {action.name} (element {symbol.name}) has no output "
                               f"{fields[0]!r}{did_you_mean(fields[0], names)} (outputs: "
                               f"{', '.join(names) or 'none'})")
        owner = FlowType("Apex", apex_class=f"{action.name} outputs")
        rest = table.resolve_fields(text, symbol, param.type, fields[1:])
        return ResolvedPath(text, symbol, fields, rest.type, (owner,) + rest.owner_types)

    def readonly_reason(self, symbol: Symbol) -> str:
        return (f"{symbol.name} is an Action element, and action outputs are read-only (map "
                "the output to a variable under the element's outputs: instead)")

    # -- checks and compiling --------------------------------------------------------------------
    def check(self, ctx: CheckContext, name: str, element: ActionElement) -> None:
        if self.calls_flow(element):
            from flowengine.elements.subflow import check_call
            check_call(ctx, name, element.action, ("elements", name, "action"), element.inputs,
                       element.outputs)
            return
        action = ctx.actions.get(name)
        if action is None:
            return
        base = ("elements", name)
        names = [p.name for p in action.inputs]
        for pname, raw in element.inputs.items():
            param = action.input(pname)
            if param is None:
                ctx.error(base + ("inputs", pname), f"element {name}: action {action.name} has no "
                          f"input {pname!r}{did_you_mean(pname, names)} (its inputs: "
                          f"{', '.join(names) or 'none'})", "action.input", key=True)
                continue
            ctx.check_value(raw, param.type, base + ("inputs", pname),
                            context=f"element {name}: input {pname} of action {action.name} "
                                    f"expects {param.type}: ")
        for param in action.inputs:
            if param.required and param.name not in element.inputs:
                ctx.error(base + ("inputs",) if element.inputs else base + ("action",),
                          f"element {name} does not set the required input {param.name!r} "
                          f"({param.type}) of action {action.name}", "action.required", key=True)
        outputs = [p.name for p in action.outputs]
        for oname, target_path in element.outputs.items():
            out = action.output(oname)
            if out is None:
                ctx.error(base + ("outputs", oname), f"element {name}: action {action.name} has "
                          f"no output {oname!r}{did_you_mean(oname, outputs)} (its outputs: "
                          f"{', '.join(outputs) or 'none'})", "action.output", key=True)
                continue
            target = ctx.writable_target(target_path, base + ("outputs", oname))
            if target is not None and not assignable(out.type, target.type):
                ctx.error(base + ("outputs", oname), f"element {name}: output {oname} of action "
                          f"{action.name} is {out.type}, which does not fit {target_path!r} "
                          f"({target.type})", "action.output-type")

    def compile(self, ctx: CompileContext, name: str, element: ActionElement) -> Node:
        if self.calls_flow(element):
            from flowengine.elements.subflow import compile_call
            return compile_call(ctx, name, element.inputs, element.outputs, True, "Action")
        action = ctx.checked.actions[name]
        values = ctx.values
        inputs = [(p, values.compile(raw, action.input(p).type))  # type: ignore[union-attr]
                  for p, raw in element.inputs.items()]
        outputs = [(values.converting_setter(path, action.output(out).type), out)  # type: ignore[union-attr]
                   for out, path in element.outputs.items()]
        return ActionNode(name, action, inputs, outputs, ctx.checked.types)

    def needs_org(self, element: ActionElement) -> bool:
        return not self.calls_flow(element)      # a flow needs it when its elements do

    # -- canvas and runs -------------------------------------------------------------------------
    def caption(self, element: ActionElement, action: Any = None) -> str:
        return f"Action · {getattr(action, 'category', None) or 'Action'}"

    def note(self, element: ActionElement, action: Any = None) -> str | None:
        return action.category if action else element.action

    def details(self, name: str, element: ActionElement,
                action: Any = None) -> tuple[str, list[dict[str, Any]]]:
        from flowengine.render.details import show_value

        subtitle = f"Action · {action.label} · {action.category}" if action is not None else "Action"
        groups = [{"title": f"Inputs of {element.action}", "columns": ["Parameter", "Value"],
                   "rows": [[k, show_value(v)] for k, v in element.inputs.items()]}]
        if element.outputs:
            groups.append({"title": "Outputs stored in", "columns": ["Output", "Variable"],
                           "rows": [[k, v] for k, v in element.outputs.items()]})
        return subtitle, groups

    def trace_text(self, entry: dict[str, Any]) -> list[str]:
        import json

        lines = []
        if "inputs" in entry:
            lines.append(f"        action {entry['action']} inputs: "
                         f"{json.dumps(entry['inputs'], default=str)}")
        if "outputs" in entry:
            lines.append(f"        outputs: {json.dumps(entry['outputs'], default=str)}")
        return lines

    def trace_view(self, entry: dict[str, Any], element: Any, show: Any) -> list[dict[str, Any]]:
        lines: list[dict[str, Any]] = []
        if "action" in entry:
            lines.append({"kind": "text", "cls": "note", "text": f"Action {entry['action']}"})
        if entry.get("inputs"):
            lines.append({"kind": "table", "title": "Inputs",
                          "rows": [[k, show(v)] for k, v in entry["inputs"].items()]})
        if entry.get("outputs"):
            lines.append({"kind": "table", "title": "Outputs",
                          "rows": [[k, show(v)] for k, v in entry["outputs"].items()]})
        return lines

    def from_xml(self, reader: FlowReader, node: XmlNode, path: tuple[Any, ...]) -> dict[str, Any]:
        used = {"actionName", "actionType", "inputParameters", "outputParameters", "connector",
                "faultConnector", "storeOutputAutomatically", "flowTransactionModel"}
        out: dict[str, Any] = {**reader.element_base(node, path, used), "type": self.name}
        out["action"] = reader.text(node.child("actionName"), path + ("action",))
        action_type = node.text_of("actionType")
        if action_type is not None and action_type != out["action"]:
            out["actionType"] = reader.text(node.child("actionType"), path + ("actionType",))
        inputs: dict[str, Any] = {}
        for param in node.all("inputParameters"):
            pname = param.text_of("name") or ""
            where = path + ("inputs", pname)
            reader.at(where, param)
            inputs[pname] = reader.value(param.child("value"), where)
            self._keep_parameter(reader, out, "inputParameters", param, {"name", "value"}, pname)
        if inputs:
            out["inputs"] = inputs
        outputs: dict[str, Any] = {}
        for param in node.all("outputParameters"):
            pname = param.text_of("name") or ""
            outputs[pname] = reader.text(param.child("assignToReference"), path + ("outputs", pname))
            self._keep_parameter(reader, out, "outputParameters", param,
                                 {"name", "assignToReference"}, pname)
        if outputs:
            out["outputs"] = outputs
        store = reader.flag(node.child("storeOutputAutomatically"))
        if store is not None:
            out["storeOutputAutomatically"] = store
        model = node.child("flowTransactionModel")
        if model is not None:
            out["flowTransactionModel"] = reader.text(model, path + ("flowTransactionModel",))
        rec.connectors_from_xml(reader, node, path, out)
        return reader.keep(out, node, used, path)

    @staticmethod
    def _keep_parameter(reader: FlowReader, out: dict[str, Any], tag: str, param: XmlNode,
                        used: set[str], name: str) -> None:
        """What a parameter says besides its name and value, kept by parameter name."""
        rest = reader.rest(param, used, ())
        if rest:
            out.setdefault("xml", {}).setdefault(f"{tag}:{name}", rest)

    def to_xml(self, writer: FlowWriter, name: str, element: ActionElement) -> XmlNode:
        from flowengine.formats.sfxml import BASE, NODE

        kept = dict(element.xml or {})
        out = writer.element_base(name, element)
        out += [writer.leaf("actionName", element.action),
                writer.leaf("actionType", element.actionType or element.action)]
        for pname, value in element.inputs.items():
            extra = kept.pop(f"inputParameters:{pname}", None) or {}
            kids = [writer.leaf("name", pname)] + writer.raw_children(extra)
            if value is not None:
                kids.append(writer.value("value", value, f"{name}.inputs.{pname}"))
            out.append(writer.node("inputParameters", kids, BASE))
        for pname, target in element.outputs.items():
            extra = kept.pop(f"outputParameters:{pname}", None) or {}
            out.append(writer.node("outputParameters", [writer.leaf("assignToReference", target),
                                                        writer.leaf("name", pname)]
                                   + writer.raw_children(extra), BASE))
        if element.storeOutputAutomatically is not None:
            out.append(writer.leaf("storeOutputAutomatically", element.storeOutputAutomatically))
        if element.flowTransactionModel is not None:
            out.append(writer.leaf("flowTransactionModel", element.flowTransactionModel))
        out += rec.connectors_to_xml(writer, element)
        return writer.node(self.xml_tag or "", out + rec.rest_to_xml(writer, kept), NODE)

    def facts(self, element: ActionElement) -> LintFacts:
        return LintFacts(action=element.action, doing=f"calls {element.action}",
                         failing="the action",
                         reads=tuple(merge_field_roots(list(element.inputs.values()))),
                         writes=tuple(t.split(".")[0] for t in element.outputs.values()))


KIND = ActionKind()
