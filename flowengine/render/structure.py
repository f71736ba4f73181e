"""The shape of a flow as Flow Builder's auto-layout sees it: a tree of blocks over the graph.

A depth-first walk from `$start` (in connector order, so the drawing follows the file) finds the
back edges: a connector from a loop's body back to its Loop element is the loop's return; any
other backward connector (a Decision jumping back) becomes a "go to" drawn as a routed line.
With the back edges removed, the graph is acyclic; the immediate post-dominator of a branching
element (a Decision, or an Action with a fault connector) is where its branches merge again, as
in Flow Builder. Elements that no path from Start reaches are laid out as extra columns so that
every element is on the canvas.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from flowengine.elements import kind_of
from flowengine.graph import START

if TYPE_CHECKING:
    import networkx as nx

EXIT = "$exit"          # virtual sink: every path that ends goes here
RET = "$ret:"           # prefix of a loop's virtual "return" node


@dataclass(frozen=True)
class Branch:
    """One outgoing connector of a branching element, drawn as a column."""

    label: str          # connector key: a rule name, "default", "next" or "fault"
    kind: str           # outcome | default | next | fault
    target: str | None  # None: this path ends here
    text: str           # what the connector's label chip says ("" for none)


@dataclass
class NodeItem:
    """An element with one way out (Start, Assignment, Action without fault)."""

    name: str
    label: str = "next"        # the connector leaving it


@dataclass
class EndItem:
    """Flow Builder's End: this path of the flow stops."""


@dataclass
class GoToItem:
    """A connector to an element drawn elsewhere (a backward jump, a cross-branch jump)."""

    target: str


@dataclass
class BranchItem:
    name: str
    branches: list[Branch]
    children: list[Seq]
    merged: bool              # the open branches meet below and the flow goes on
    centred: bool             # Decisions sit over their branches; Actions stay on their main path


@dataclass
class LoopItem:
    name: str
    body: Seq


Item = NodeItem | EndItem | GoToItem | BranchItem | LoopItem


@dataclass
class Seq:
    """Items drawn top to bottom; `open` when the sequence runs into its stop (a merge or the
    enclosing Loop element) rather than ending."""

    items: list[Item] = field(default_factory=list)
    open: bool = False


def branches_of(name: str, element: Any) -> list[Branch]:
    """The connectors of an element as its kind gives them, including ways out that lead
    nowhere (they end)."""
    return [Branch(c.key, c.kind, c.target, c.text) for c in kind_of(element).connectors(element)]


def loop_targets(element: Any) -> tuple[str | None, str | None]:
    """The `each` and `after` targets of a loop-shaped element."""
    targets = {c.kind: c.target for c in kind_of(element).connectors(element)}
    return targets.get("each"), targets.get("after")


def is_loop(element: Any) -> bool:
    return element is not None and kind_of(element).loop_shaped


class FlowStructure:
    """Back edges, loop bodies and merge points of a flow graph, and the block tree built from
    them (`roots`: the main column from Start, then one per unreached element)."""

    def __init__(self, model: Any, graph: nx.MultiDiGraph) -> None:
        self.model = model
        self.graph = graph
        self.elements: dict[str, Any] = dict(model.elements)
        self.back_edges: set[tuple[str, str]] = set()    # (source, connector label)
        self.loop_returns: set[tuple[str, str]] = set()
        self._walk()
        self.merge = self._merges()
        self.placed: set[str] = set()
        self.roots: list[Seq] = [self._seq(START, None)]
        for name in self.elements:       # file order: deterministic extra columns
            if name not in self.placed:
                self.roots.append(self._seq(name, None))

    # -- analysis -------------------------------------------------------------------------------
    def _successors(self, node: str) -> list[tuple[str, str]]:
        return [(key, target) for _, target, key in self.graph.out_edges(node, keys=True)]

    def _walk(self) -> None:
        """Iterative depth-first search recording discovery/finish times and back edges."""
        disc: dict[str, int] = {}
        fin: dict[str, int] = {}
        tree_parent: dict[str, tuple[str, str]] = {}
        back: list[tuple[str, str, str]] = []
        clock = 0
        for root in [START, *self.elements]:
            if root in disc or root not in self.graph:
                continue
            disc[root] = clock = clock + 1
            on_stack = {root}
            stack = [(root, iter(self._successors(root)))]
            while stack:
                node, successors = stack[-1]
                for key, target in successors:
                    if target not in disc:
                        disc[target] = clock = clock + 1
                        tree_parent[target] = (node, key)
                        on_stack.add(target)
                        stack.append((target, iter(self._successors(target))))
                        break
                    if target in on_stack:
                        back.append((node, key, target))
                else:
                    fin[node] = clock = clock + 1
                    on_stack.discard(node)
                    stack.pop()
        for source, key, target in back:
            self.back_edges.add((source, key))
            element = self.elements.get(target)
            first = loop_targets(element)[0] if is_loop(element) else None
            if first is not None and tree_parent.get(first) == (target, "each"):
                if disc[first] <= disc[source] and fin[source] <= fin[first]:
                    self.loop_returns.add((source, key))

    def _merges(self) -> dict[str, str | None]:
        """Immediate post-dominator of every branching element, over the acyclic graph."""
        import networkx as nx

        dag = nx.DiGraph()
        dag.add_node(EXIT)
        for name, element in self.elements.items():
            dag.add_node(name)
            targets = [(b.label, b.target) for b in branches_of(name, element)]
            for key, target in targets:
                if target is None or target not in self.elements:
                    dag.add_edge(name, EXIT)
                elif (name, key) in self.loop_returns:
                    dag.add_edge(name, RET + target)
                elif (name, key) in self.back_edges:
                    dag.add_edge(name, EXIT)
                else:
                    dag.add_edge(name, target)
        for name, element in self.elements.items():
            ret = RET + name
            if ret not in dag:
                continue
            after = loop_targets(element)[1]
            if (after in self.elements and (name, "after") not in self.back_edges
                    and not nx.has_path(dag, after, ret)):
                dag.add_edge(ret, after)
            else:
                dag.add_edge(ret, EXIT)
        ipdom = nx.immediate_dominators(dag.reverse(copy=False), EXIT)
        merges: dict[str, str | None] = {}
        for name in self.elements:
            dom = ipdom.get(name)
            if dom is None or dom == EXIT:
                merges[name] = None
            elif dom.startswith(RET):
                merges[name] = dom[len(RET):]
            else:
                merges[name] = dom
        return merges

    # -- block tree -----------------------------------------------------------------------------
    def _seq(self, node: str | None, stop: str | None) -> Seq:
        seq = Seq()
        while True:
            if node is None:
                seq.items.append(EndItem())
                return seq
            if node == stop:
                seq.open = True
                return seq
            if node in self.placed:
                seq.items.append(GoToItem(node))
                return seq
            self.placed.add(node)
            if node == START:
                seq.items.append(NodeItem(START, "start"))
                node = self.model.start if self.model.start in self.elements else None
                continue
            element = self.elements[node]
            if is_loop(element):
                each, after = loop_targets(element)
                seq.items.append(LoopItem(node, self._seq(each, node)))
                node = after if after in self.elements else None
                continue
            branches = branches_of(node, element)
            if len(branches) == 1:
                seq.items.append(NodeItem(node))
                node = branches[0].target if branches[0].target in self.elements else None
                continue
            merge = self.merge.get(node)
            children = [self._seq(b.target if b.target in self.elements else None,
                                  merge if merge is not None else stop) for b in branches]
            merged = merge is not None and any(child.open for child in children)
            if not merged:
                for child in children:
                    if child.open:          # ran into the enclosing stop: jump there
                        child.items.append(GoToItem(stop))  # type: ignore[arg-type]
                        child.open = False
            seq.items.append(BranchItem(node, branches, children, merged,
                                        centred=kind_of(element).centred))
            if not merged:
                return seq
            node = merge
