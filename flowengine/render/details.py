"""What the HTML canvas shows about an element on hover or click: type, description,
connectors, and what its element kind shows of it (assignments, rules, inputs...)."""
from __future__ import annotations

import datetime as _dt
import json
from decimal import Decimal
from typing import Any

from flowengine.elements import kind_of
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
    subtitle, groups = kind_of(element).details(name, element, action)
    connectors = [(b.text or "Next", b.target, b.kind) for b in branches_of(name, element)]
    return {
        "name": name, "label": _label(model, name), "type": element.type, "subtitle": subtitle,
        "description": element.description or "", "groups": groups,
        "connectors": [{"text": text, "target": target or "", "target_label": _label(model, target),
                        "kind": kind} for text, target, kind in connectors],
    }


def start_caption(model: Any) -> str:
    """What the Start card says under "Start": how the flow starts."""
    trigger = model.trigger
    if trigger is None:
        return model.display_label
    if trigger.type == "PlatformEvent":
        return f"Platform event: {trigger.object}"
    when = {"RecordBeforeSave": "before save", "RecordAfterSave": "after save",
            "RecordBeforeDelete": "before delete"}[trigger.type]
    change = {"Create": "created", "Update": "updated", "CreateAndUpdate": "created or updated",
              "Delete": "deleted"}.get(trigger.on or "", "")
    return f"{trigger.object} {change}, {when}".strip()


def start_details(model: Any) -> dict[str, Any]:
    """The details panel of the Start element of a flow a trigger starts."""
    from flowengine.elements.records import filter_rows
    from flowengine.graph import START

    trigger = model.trigger
    rows = [["Object" if trigger.is_record else "Platform event", trigger.object]]
    if trigger.is_record:
        rows.append(["Runs", start_caption(model).split(", ", 1)[-1]])
        rows.append(["When a record is", start_caption(model).split(", ")[0]
                     .removeprefix(trigger.object).strip()])
    if trigger.order is not None:
        rows.append(["Order", str(trigger.order)])
    groups: list[dict[str, Any]] = [{"title": "Trigger", "columns": [], "rows": rows}]
    if trigger.formula is not None:
        groups.append({"title": "Entry condition", "columns": [],
                       "rows": [["Formula", trigger.formula]]})
    elif trigger.filters:
        logic = trigger.logic or "and"
        groups.append({"title": "Entry conditions", "note": f"conditions joined by {logic}"
                       + (", only when a record is changed to meet them"
                          if trigger.onlyWhenChanged else ""),
                       "columns": ["#", "Field", "Operator", "Value"],
                       "rows": filter_rows(trigger.filters)})
    kind = "Record-Triggered Flow" if trigger.is_record else "Platform Event–Triggered Flow"
    return {"name": START, "label": "Start", "type": "Start", "subtitle": kind,
            "description": model.description or "", "groups": groups,
            "connectors": [{"text": "Next", "target": model.start or "",
                            "target_label": _label(model, model.start), "kind": "next"}]}


def all_details(model: Any, actions: dict[str, Any]) -> list[dict[str, Any]]:
    out = [element_details(model, name, actions.get(name)) for name in model.elements]
    if model.trigger is not None:
        out.insert(0, start_details(model))
    return out
