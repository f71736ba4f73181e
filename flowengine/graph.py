"""The flow as a networkx graph: elements are nodes, connectors are labelled edges (from each
element kind's `connectors()`)."""
from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from flowengine.elements import kind_of

if TYPE_CHECKING:
    import networkx as nx

    from flowengine.model import FlowModel

START = "$start"   # a node for Flow Builder's Start element (no element can have this name)


def connections(element: Any) -> Iterator[tuple[str, str, str]]:
    """(connector kind, edge key, target) of every connector of an element that has a target."""
    for connector in kind_of(element).connectors(element):
        if connector.target is not None:
            yield connector.kind, connector.key, connector.target


def build_graph(model: FlowModel) -> nx.MultiDiGraph:
    """Nodes carry `type` and `label`; edges are keyed by connector key (an outcome's name,
    `next`, `fault`, `default`, `each` or `after`) and carry `kind`. Connectors to missing
    elements are left out (the checker reports them)."""
    import networkx as nx

    graph = nx.MultiDiGraph(name=model.flow)
    graph.add_node(START, type="Start", label=model.display_label)
    for name, element in model.elements.items():
        graph.add_node(name, type=element.type, label=element.label or name.replace("_", " "))
    if model.start in model.elements:
        graph.add_edge(START, model.start, key="start", kind="start")
    for name, element in model.elements.items():
        for kind, key, target in connections(element):
            if target in model.elements:
                graph.add_edge(name, target, key=key, kind=kind)
    return graph


def unreachable_elements(model: FlowModel) -> list[str]:
    """Elements (in file order) that no chain of connectors from `start` reaches. Plain Python:
    `flowengine validate` does not pay for importing networkx."""
    elements = model.elements
    if model.start not in elements:
        return list(elements)
    reached = {model.start}
    todo = [model.start]
    while todo:
        for _, _, target in connections(elements[todo.pop()]):
            if target in elements and target not in reached:
                reached.add(target)
                todo.append(target)
    return [name for name in elements if name not in reached]
