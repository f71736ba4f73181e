"""A run drawn on the canvas: the executed path, the order of visits, the failure, and the
trace as Flow Builder's debug panel lists it."""
from __future__ import annotations

from typing import Any

from flowengine.elements import kind_named
from flowengine.graph import START
from flowengine.render.canvas import badge, edge_view, node_view
from flowengine.render.details import show_value
from flowengine.render.layout import Layout
from flowengine.runtime.trace import is_summary, summary_text, visits_in


def taken_label(entry: dict[str, Any]) -> str:
    """The connector an executed element left by, from its trace entry."""
    kind = kind_named(entry["type"])
    if kind is None:
        return "next"
    if kind.can_fault and "fault" in entry:
        return "fault"
    return kind.taken(entry)


def taken_connectors(trace: list[dict[str, Any]], failed: str | None) -> set[tuple[str, str]]:
    """(source, connector label) of every connector the run went along."""
    taken: set[tuple[str, str]] = set()
    if trace:
        taken.add((START, "start"))
    for i, entry in enumerate(trace):
        if is_summary(entry):     # the connectors of omitted steps are not known
            continue
        last = i == len(trace) - 1
        if last and failed == entry["element"]:
            continue
        taken.add((entry["element"], taken_label(entry)))
    return taken


def overlay(layout: Layout, model: Any, result: Any) -> tuple[list[dict[str, Any]],
                                                             list[dict[str, Any]]]:
    """Node and edge views of the canvas with the run's path highlighted."""
    trace = result.trace or []
    failed = result.error.element if result.error is not None else None
    visits = visits_in(trace)
    first: dict[str, int] = {}
    for entry in trace:
        if not is_summary(entry):
            first.setdefault(entry["element"], entry["step"])
    taken = taken_connectors(trace, failed)
    reached_ends = {c.target_box for c in layout.connectors
                    if c.target is None and (c.source, c.label) in taken}
    nodes = []
    for box in layout.boxes:
        name = box.element
        classes: list[str] = []
        badges: list[dict[str, Any]] = []
        tooltip = ""
        if name == START and trace or box.id in reached_ends:
            classes.append("visited")
        elif name is not None and (name in visits or name == failed):
            classes.append("failed" if name == failed else "visited")
            right = box.w + 6
            if name in first:
                step = badge(right, 0, str(first[name]), "fail" if name == failed else "step")
                badges.append(step)
                right = step["x"] - 4
                tooltip = (f"{' '.join(box.title)}: step {first[name]}"
                           + (f", visited {visits[name]} times" if visits[name] > 1 else ""))
            if visits[name] > 1:
                badges.append(badge(right, 0, f"×{visits[name]}", "count"))
            if name == failed:
                tooltip = f"{' '.join(box.title)}: failed here"
        view = node_view(box, " ".join(classes), badges, tooltip)
        view["steps"] = visits.get(name or "", 0)
        view["first"] = first.get(name or "", 0)
        nodes.append(view)
    edges = [edge_view(c, "taken" if (c.source, c.label) in taken else "") for c in layout.connectors]
    edges.sort(key=lambda e: "taken" in e["cls"])     # taken paths drawn on top
    return nodes, edges


def step_view(model: Any, entry: dict[str, Any], failed: bool) -> dict[str, Any]:
    """One step of the trace as rows and lines for the panel."""
    if is_summary(entry):
        first, last = entry["steps"]
        return {"step": f"{first:,}–{last:,}", "element": "", "label":
                f"{entry['omitted']:,} steps not kept", "type": "", "cls": "",
                "lines": [{"kind": "text", "cls": "note", "text": summary_text(entry)}]}
    name = entry["element"]
    element = model.elements.get(name)
    label = (element.label if element is not None and element.label else name.replace("_", " "))
    kind = kind_named(entry["type"])
    lines: list[dict[str, Any]] = kind.trace_view(entry, element, show_value) if kind else []
    if "fault" in entry:
        lines.append({"kind": "text", "cls": "fault-msg", "text": f"Fault: {entry['fault']}"})
    return {"step": entry["step"], "element": name, "label": label, "type": entry["type"],
            "lines": lines, "cls": "failed" if failed else "fault" if "fault" in entry else ""}


def run_view(model: Any, result: Any) -> dict[str, Any]:
    """Status, outputs, error and steps of a run, for the report panel."""
    from flowengine.types import to_json

    trace = result.trace or []
    failed = result.error.element if result.error is not None else None
    steps = [step_view(model, e, i == len(trace) - 1 and e.get("element") == failed)
             for i, e in enumerate(trace)]
    error = None
    if result.error is not None:
        error = {"message": result.error.message, "element": result.error.element,
                 "type": result.error.type}
    return {"status": result.status, "executed": result.elements_executed, "error": error,
            "outputs": [(k, show_value(to_json(v))) for k, v in result.outputs.items()],
            "steps": steps}
