"""The Decision element (spec 4.2): outcomes tried in order, the first whose conditions hold is
taken, else the default outcome.

```yaml
Check_Quantity:
  type: Decision
  rules:
    - name: Too_Many
      logic: and               # and | or | custom, e.g. "1 AND (2 OR NOT 3)"
      conditions:
        - {left: quantity, op: GreaterThan, right: 10}
      next: Reject
  default: Cancel_Items
```
Each outcome's name is a Boolean resource: true when the outcome was taken, false when it was
evaluated and not taken.
"""
from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Annotated, Any, Literal

from pydantic import Field

from flowengine.conditions import (
    CompiledCondition,
    Condition,
    LogicError,
    Ordering,
    check_condition,
    compile_condition,
    compile_logic,
    logic_tree,
)
from flowengine.elements.base import Connector, ElementKind, ElementModel, LintFacts, NameEntry, StrictModel
from flowengine.errors import FlowRuntimeError
from flowengine.references import merge_field_roots
from flowengine.runtime.nodes import Node, Targets, probe, trace_json
from flowengine.types import FlowType

if TYPE_CHECKING:
    from flowengine.check.context import CheckContext
    from flowengine.formats.sfxml import FlowReader, FlowWriter
    from flowengine.formats.xmltree import XmlNode
    from flowengine.runtime.compile import CompileContext
    from flowengine.runtime.interview import Interview


class DecisionRule(StrictModel):
    name: str
    label: str | None = None
    logic: str = "and"
    conditions: Annotated[list[Condition], Field(min_length=1)]
    next: str | None = None


class DecisionElement(ElementModel):
    type: Literal["Decision"]
    rules: Annotated[list[DecisionRule], Field(min_length=1)]
    default: str | None = None
    defaultLabel: str | None = None


class DecisionNode(Node):
    __slots__ = ("rules", "default", "conditions", "decides", "shown")

    def __init__(self, name: str, rules: list[tuple[Callable[[Interview], bool], str]],
                 conditions: list[list[CompiledCondition]],
                 decides: list[Callable[[list[Any]], bool]]) -> None:
        super().__init__(name, "Decision")
        self.rules: list[tuple[Callable[[Interview], bool], Node | None, str]] = \
            [(test, None, outcome) for test, outcome in rules]      # test, target, outcome
        self.conditions = conditions                                 # per rule, for the trace
        self.decides = decides          # per rule: its logic over its conditions' results
        self.default: Node | None = None
        # per rule, per condition: the reader of its left side as the trace shows it
        self.shown = [[_left_of(cond) for cond in conds] for conds in conditions]

    def link(self, targets: Targets) -> None:
        self.rules = [(test, targets.get(outcome), outcome) for test, _, outcome in self.rules]
        self.default = targets.get("default")

    def run(self, st: Interview) -> Node | None:
        values = st.values
        for test, target, outcome in self.rules:
            if test(st):
                values[outcome] = True
                return target
            values[outcome] = False      # evaluated and not taken (Salesforce: false)
        return self.default

    def run_traced(self, st: Interview, entry: dict[str, Any]) -> Node | None:
        # each condition is evaluated once, for display; the rule's logic then decides from
        # those results as run() would, a condition's fault raised where run() would meet it
        rows = entry["conditions"] = []
        values = st.values
        for (_, target, outcome), conds, decide, lefts in zip(self.rules, self.conditions,
                                                             self.decides, self.shown):
            results: list[Any] = []
            for cond, left in zip(conds, lefts):
                result: Any
                shown: Any
                try:
                    result = shown = cond.test(st)
                except FlowRuntimeError as exc:
                    result, shown = exc, f"<{exc.message}>"
                rows.append({"outcome": outcome, "condition": cond.text,
                             "left": probe(left, st), "result": shown})
                results.append(result)
            if decide(results):
                values[outcome] = True
                entry["outcome"] = outcome
                return target
            values[outcome] = False
        entry["outcome"] = "default"
        return self.default


class OneRuleDecisionNode(DecisionNode):
    """The common Decision of one outcome and the default, without the loop over outcomes."""

    __slots__ = ("test", "target", "outcome")

    def link(self, targets: Targets) -> None:
        super().link(targets)
        ((self.test, self.target, self.outcome),) = self.rules

    def run(self, st: Interview) -> Node | None:
        if self.test(st):
            st.values[self.outcome] = True
            return self.target
        st.values[self.outcome] = False      # evaluated and not taken (Salesforce: false)
        return self.default


class OrderingDecisionNode(OneRuleDecisionNode):
    """A Decision of one outcome whose one condition is an `Ordering` (`counter LessThan
    limit`): the comparison done in `run`, as the condition's test does it."""

    __slots__ = ("left", "right", "fixed", "compare")

    def __init__(self, name: str, rules: list[tuple[Callable[[Interview], bool], str]],
                 conditions: list[list[CompiledCondition]],
                 decides: list[Callable[[list[Any]], bool]], ordering: Ordering) -> None:
        super().__init__(name, rules, conditions, decides)
        self.left, self.right = ordering.left, ordering.right
        self.fixed, self.compare = ordering.fixed, ordering.compare

    def run(self, st: Interview) -> Node | None:
        values = st.values
        a = values.get(self.left)
        if a is not None:
            b = values.get(self.right, self.fixed)
            if b is not None and self.compare(a, b):
                values[self.outcome] = True
                return self.target
        values[self.outcome] = False      # evaluated and not taken (Salesforce: false)
        return self.default

    def run_traced(self, st: Interview, entry: dict[str, Any]) -> Node | None:
        # DecisionNode.run_traced for one rule whose logic is its one condition: the condition
        # evaluated once (as its test does it, which cannot fault: it only reads values), shown
        # with its left side
        rows = entry["conditions"] = []
        values = st.values
        a = values.get(self.left)
        if a is None:
            result = False
        else:
            b = values.get(self.right, self.fixed)
            result = b is not None and self.compare(a, b)
        rows.append({"outcome": self.outcome, "condition": self.conditions[0][0].text,
                     "left": trace_json(a), "result": result})
        if result:
            values[self.outcome] = True
            entry["outcome"] = self.outcome
            return self.target
        values[self.outcome] = False
        entry["outcome"] = "default"
        return self.default


def _recorded(index: int) -> Callable[[list[Any]], bool]:
    """The result of a rule's condition `index` as a traced run recorded it (its fault again)."""
    def result(results: list[Any]) -> bool:
        value = results[index]
        if isinstance(value, FlowRuntimeError):
            raise value
        return bool(value)
    return result


def _left_of(cond: CompiledCondition) -> Callable[[Interview], Any]:
    """The left side of a condition as the trace shows it."""
    return lambda st: trace_json(cond.left(st))


class DecisionKind(ElementKind):
    name = "Decision"
    reports_errors = True
    model = DecisionElement
    centred = True
    icon = ('<path class="tile-logic" d="M18 0.5L35.5 18L18 35.5L0.5 18z"/>'
            '<path class="glyph-line" stroke-width="2.4" d="M18 27V20M18 20L12 13M18 20L24 13"/>'
            '<path class="glyph" d="M9.5 10.5L15 11.2L10.2 16zM26.5 10.5L21 11.2L25.8 16z"/>')
    mermaid_shape = ('{"', '"}')
    xml_tag = "decisions"

    def connectors(self, element: DecisionElement) -> list[Connector]:
        out = [Connector("outcome", rule.name, ("rules", i, "next"), rule.next,
                         rule.label or rule.name.replace("_", " "))
               for i, rule in enumerate(element.rules)]
        out.append(Connector("default", "default", ("default",), element.default,
                             element.defaultLabel or "Default Outcome"))
        return out

    def names(self, name: str, element: DecisionElement) -> list[NameEntry]:
        from flowengine.check.symbols import Symbol

        return [(rule.name, ("elements", name, "rules", i, "name"),
                 Symbol(rule.name, "outcome", FlowType("Boolean"), rule))
                for i, rule in enumerate(element.rules)]

    def check(self, ctx: CheckContext, name: str, element: DecisionElement) -> None:
        for r, rule in enumerate(element.rules):
            base = ("elements", name, "rules", r)
            try:
                ctx.logic[(name, rule.name)] = logic_tree(rule.logic, len(rule.conditions))
            except LogicError as exc:
                ctx.error(base + ("logic",), str(exc), "logic")
            for c, cond in enumerate(rule.conditions):
                check_condition(ctx, base + ("conditions", c), cond)

    def compile(self, ctx: CompileContext, name: str, element: DecisionElement) -> Node:
        rules, conditions, decides = [], [], []
        for rule in element.rules:
            conds = [compile_condition(ctx.values, c) for c in rule.conditions]
            tree = ctx.checked.logic[(name, rule.name)]
            rules.append((compile_logic(tree, [c.test for c in conds]), rule.name))
            decides.append(compile_logic(tree, [_recorded(i) for i in range(len(conds))]))
            conditions.append(conds)
            ctx.uses_visited = ctx.uses_visited or any(c.op == "WasVisited" for c in rule.conditions)
        if len(rules) > 1:
            return DecisionNode(name, rules, conditions, decides)
        ordering = conditions[0][0].ordering if len(conditions[0]) == 1 else None
        if ordering is not None and rules[0][0] is conditions[0][0].test:
            return OrderingDecisionNode(name, rules, conditions, decides, ordering)
        return OneRuleDecisionNode(name, rules, conditions, decides)

    def initial_values(self, name: str, element: DecisionElement) -> dict[str, Any]:
        return {rule.name: False for rule in element.rules}

    def details(self, name: str, element: DecisionElement,
                action: Any = None) -> tuple[str, list[dict[str, Any]]]:
        from flowengine.render.details import show_value

        groups: list[dict[str, Any]] = []
        for rule in element.rules:
            logic = rule.logic if rule.logic in ("and", "or") else f"custom: {rule.logic}"
            groups.append({
                "title": f"Outcome: {rule.label or rule.name} ({rule.name})",
                "note": f"conditions joined by {logic}",
                "columns": ["#", "Resource", "Operator", "Value"],
                "rows": [[str(i), c.left, c.op, show_value(c.right)]
                         for i, c in enumerate(rule.conditions, 1)]})
        groups.append({"title": f"Default outcome: {element.defaultLabel or 'Default Outcome'}",
                       "columns": [], "rows": []})
        return self.name, groups

    def taken(self, entry: dict[str, Any]) -> str:
        return str(entry.get("outcome", "default"))

    def trace_text(self, entry: dict[str, Any]) -> list[str]:
        import json

        lines = [f"        [{row['outcome']}] {row['condition']}: left = "
                 f"{json.dumps(row['left'], default=str)} → {str(row['result']).lower()}"
                 for row in entry.get("conditions", [])]
        if "outcome" in entry:
            lines.append(f"        outcome: {entry['outcome']}")
        return lines

    def trace_view(self, entry: dict[str, Any], element: DecisionElement | None,
                   show: Any) -> list[dict[str, Any]]:
        lines: list[dict[str, Any]] = []
        if "conditions" in entry:
            lines.append({"kind": "conditions", "rows": [
                (row["outcome"], row["condition"], show(row["left"]), bool(row["result"]))
                for row in entry["conditions"]]})
        if "outcome" in entry:
            outcome = str(entry["outcome"])
            text = next((c.text for c in self.connectors(element) if c.key == outcome), "") \
                if element is not None else ""
            shown = f"{text} ({outcome})" if text and text != outcome else outcome
            lines.append({"kind": "text", "cls": "ok", "text": "Outcome taken: " + shown})
        return lines

    def from_xml(self, reader: FlowReader, node: XmlNode, path: tuple[Any, ...]) -> dict[str, Any]:
        used = {"rules", "defaultConnector", "defaultConnectorLabel"}
        out: dict[str, Any] = {**reader.element_base(node, path, used), "type": self.name}
        rules = []
        for r, rule in enumerate(node.all("rules")):
            where = path + ("rules", r)
            reader.at(where, rule)
            name = rule.text_of("name") or ""
            data: dict[str, Any] = {"name": reader.text(rule.child("name"), where + ("name",))}
            label = rule.text_of("label")
            if label is not None and label != name.replace("_", " "):
                data["label"] = reader.text(rule.child("label"), where + ("label",))
            logic = reader.text(rule.child("conditionLogic"), where + ("logic",))
            if logic is not None:
                data["logic"] = logic
            conditions = []
            for c, cond in enumerate(rule.all("conditions")):
                cwhere = where + ("conditions", c)
                reader.at(cwhere, cond)
                row: dict[str, Any] = {
                    "left": reader.text(cond.child("leftValueReference"), cwhere + ("left",)),
                    "op": reader.text(cond.child("operator"), cwhere + ("op",))}
                if cond.child("rightValue") is not None:
                    row["right"] = reader.value(cond.child("rightValue"), cwhere + ("right",))
                conditions.append(reader.keep(row, cond, {"leftValueReference", "operator",
                                                          "rightValue"}, cwhere))
            data["conditions"] = conditions
            target = reader.connector(rule.child("connector"), where + ("next",), data)
            if target:
                data["next"] = target
            rules.append(reader.keep(data, rule, {"name", "label", "conditionLogic", "conditions",
                                                  "connector"}, where))
        out["rules"] = rules
        default = reader.connector(node.child("defaultConnector"), path + ("default",), out)
        if default:
            out["default"] = default
        default_label = node.child("defaultConnectorLabel")
        if default_label is not None:
            out["defaultLabel"] = reader.text(default_label, path + ("defaultLabel",))
        return reader.keep(out, node, used, path)

    def to_xml(self, writer: FlowWriter, name: str, element: DecisionElement) -> XmlNode:
        from flowengine.formats.sfxml import BASE, ELEMENT, NODE

        out = writer.element_base(name, element)
        for rule in element.rules:
            kids = [writer.leaf("name", rule.name),
                    writer.leaf("label", rule.label if rule.label is not None
                                else rule.name.replace("_", " ")),
                    writer.leaf("conditionLogic", rule.logic)]
            for c, cond in enumerate(rule.conditions):
                parts = [writer.leaf("leftValueReference", cond.left), writer.leaf("operator", cond.op)]
                if cond.right is not None:
                    parts.append(writer.value("rightValue", cond.right,
                                              f"{name}.rules.{rule.name}.conditions[{c}]"))
                kids.append(writer.node("conditions", parts + writer.kept(cond), BASE))
            kids += writer.connector("connector", rule.next, rule)
            out.append(writer.node("rules", kids + writer.kept(rule, ("connector",)), ELEMENT))
        out += writer.connector("defaultConnector", element.default, element)
        if element.defaultLabel is not None:
            out.append(writer.leaf("defaultConnectorLabel", element.defaultLabel))
        return writer.node(self.xml_tag or "", out + writer.kept(element, ("defaultConnector",)), NODE)

    def facts(self, element: DecisionElement) -> LintFacts:
        reads: list[str] = []
        for rule in element.rules:
            for cond in rule.conditions:
                reads.append(cond.left.split(".")[0])
                reads += merge_field_roots(cond.right)
        return LintFacts(outcomes=len(element.rules) + 1, reads=tuple(reads))


KIND = DecisionKind()
