"""The flow as Mermaid `flowchart TD` text: a shape per element type, labelled connectors,
fault connectors in red."""
from __future__ import annotations

from typing import Any

from flowengine.elements import kind_of
from flowengine.render.structure import branches_of

# Mermaid words that cannot be node ids
_RESERVED = {"end", "graph", "subgraph", "flowchart", "style", "class", "classdef", "click",
             "linkstyle", "direction", "default", "call", "href"}
_CLASSES = (
    "classDef start fill:#2e844a,stroke:#2e844a,color:#fff",
    "classDef stop fill:#c23934,stroke:#c23934,color:#fff",
    "classDef logic fill:#fff4e5,stroke:#f38303,color:#181818",
    "classDef action fill:#eaf5fe,stroke:#1b96ff,color:#181818",
    "classDef data fill:#fdeef4,stroke:#e3066a,color:#181818",
    "classDef screen fill:#eef4ff,stroke:#0176d3,color:#181818",
)
START_ID = "flow__start"        # `__` cannot occur in an element name


def _node_id(name: str) -> str:
    return f"{name}__el" if name.lower() in _RESERVED else name


def _text(text: str) -> str:
    """Text inside a quoted Mermaid label."""
    return (text.replace("&", "#amp;").replace('"', "#quot;").replace("<", "#lt;")
            .replace(">", "#gt;").replace("|", "#124;"))


def render_mermaid_text(model: Any, actions: dict[str, Any]) -> str:
    lines = ["flowchart TD", f'    {START_ID}(["Start: {_text(model.display_label)}"])']
    classes: dict[str, list[str]] = {"start": [START_ID], "stop": [], "logic": [], "action": []}
    for name, element in model.elements.items():
        kind = kind_of(element)
        label = _text(element.label or name.replace("_", " "))
        note = kind.note(element, actions.get(name))
        if note:
            label += f"<br/><small>{_text(note)}</small>"
        opening, closing = kind.mermaid_shape
        lines.append(f"    {_node_id(name)}{opening}{label}{closing}")
        classes.setdefault(kind.tile, []).append(_node_id(name))
    edges: list[str] = []
    faults: list[int] = []
    ends = 0

    def connect(source: str, target: str | None, text: str, fault: bool = False) -> None:
        nonlocal ends
        if target is None or target not in model.elements:
            ends += 1
            target_id = f"flow__end{ends}"
            lines.append(f'    {target_id}(("End"))')
            classes["stop"].append(target_id)
        else:
            target_id = _node_id(target)
        arrow = f'-->|"{_text(text)}"|' if text else "-->"
        if fault:
            faults.append(len(edges))
        edges.append(f"    {source} {arrow} {target_id}")

    connect(START_ID, model.start, "")
    for name, element in model.elements.items():
        for branch in branches_of(name, element):
            connect(_node_id(name), branch.target, branch.text, fault=branch.kind == "fault")
    lines += edges
    lines += [f"    {c}" for c in _CLASSES if c.split()[1] in classes]
    lines += [f"    class {','.join(ids)} {cls}" for cls, ids in classes.items() if ids]
    if faults:
        lines.append(f"    linkStyle {','.join(map(str, faults))} stroke:#c23934,stroke-width:2px,"
                     "color:#c23934")
    return "\n".join(lines) + "\n"
