"""What the HTML canvas shows about an element on hover or click: type, description,
connectors, and its assignments, rules, loop settings or action inputs."""
from __future__ import annotations

import datetime as _dt
import json
from decimal import Decimal
from typing import Any

from flowengine.model import ActionElement, AssignmentElement, DecisionElement, LoopElement
from flowengine.render.structure import branches_of

MAX_VALUE = 400


def show_value(value: Any) -> str:
    """A value as a person reads it: text as is, numbers without noise, collections as JSON."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        text = value
    elif isinstance(value, Decimal):
        text = format(value.normalize(), "f") if value == value.to_integral() else str(value)
    elif isinstance(value, (_dt.date, _dt.datetime, _dt.time)):
        text = value.isoformat()
    else:
        text = json.dumps(value, ensure_ascii=False, default=_json_default)
    return text if len(text) <= MAX_VALUE else text[:MAX_VALUE - 1] + "…"


def _json_default(value: Any) -> Any:
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral() else float(value)
    if isinstance(value, (_dt.date, _dt.datetime, _dt.time)):
        return value.isoformat()
    return str(value)


def _label(model: Any, name: str | None) -> str:
    if name is None:
        return "End"
    element = model.elements.get(name)
    return (element.label if element is not None and element.label else name.replace("_", " "))


def element_details(model: Any, name: str, action: Any = None) -> dict[str, Any]:
    """The details panel of one element, as plain data for the template."""
    element = model.elements[name]
    groups: list[dict[str, Any]] = []
    subtitle = element.type
    if isinstance(element, AssignmentElement):
        groups.append({"title": "Assignments", "columns": ["Variable", "Operator", "Value"],
                       "rows": [[i.ref, i.op, show_value(i.value)] for i in element.assignments]})
    elif isinstance(element, DecisionElement):
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
    elif isinstance(element, LoopElement):
        rows = [["Collection", element.collection],
                ["Direction", "first item to last" if element.order == "Asc" else "last item to first"],
                ["Current item", element.item or f"{name} (the loop itself)"]]
        groups.append({"title": "Loop", "columns": [], "rows": rows})
    elif isinstance(element, ActionElement):
        if action is not None:
            subtitle = f"Action · {action.label} · {action.category}"
        groups.append({"title": f"Inputs of {element.action}", "columns": ["Parameter", "Value"],
                       "rows": [[k, show_value(v)] for k, v in element.inputs.items()]})
        if element.outputs:
            groups.append({"title": "Outputs stored in", "columns": ["Output", "Variable"],
                           "rows": [[k, v] for k, v in element.outputs.items()]})
    if isinstance(element, LoopElement):
        connectors = [("For Each", element.each, "each"), ("After Last", element.after, "after")]
    else:
        connectors = [(b.text or "Next", b.target, b.kind) for b in branches_of(name, element)]
    return {
        "name": name, "label": _label(model, name), "type": element.type, "subtitle": subtitle,
        "description": element.description or "", "groups": groups,
        "connectors": [{"text": text, "target": target or "", "target_label": _label(model, target),
                        "kind": kind} for text, target, kind in connectors],
    }


def all_details(model: Any, actions: dict[str, Any]) -> list[dict[str, Any]]:
    return [element_details(model, name, actions.get(name)) for name in model.elements]
