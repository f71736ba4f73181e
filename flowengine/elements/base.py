"""What an element kind declares: the one place that knows an element type.

An `ElementKind` owns its model (the pydantic class of its entries under `elements:`), its
connectors, the names it declares and how `Element.x` reads, its checks, how it compiles into a
run-time node, how the canvas draws it and how its trace reads, and the facts lint rules need.
Every phase asks the kind (`flowengine.elements.kind_of(element)`); none of them lists the
element types.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar, Literal

from flowengine.model.base import ElementModel, StrictModel

__all__ = ["Connector", "ElementKind", "ElementModel", "LintFacts", "StrictModel"]

if TYPE_CHECKING:
    from flowengine.check.context import CheckContext
    from flowengine.check.symbols import ResolvedPath, Symbol, SymbolTable
    from flowengine.formats.sfxml import FlowReader, FlowWriter
    from flowengine.formats.xmltree import XmlNode
    from flowengine.runtime.compile import CompileContext
    from flowengine.runtime.nodes import Node

ConnectorKind = Literal["next", "fault", "outcome", "default", "each", "after"]


@dataclass(frozen=True)
class Connector:
    """One way out of an element."""

    kind: ConnectorKind
    key: str                        # the edge key: an outcome's name, else the kind
    path: tuple[Any, ...]           # where the target is written inside the element
    target: str | None              # None: this way out ends the interview
    text: str = ""                  # what Flow Builder writes on the connector ("" for nothing)

    @property
    def described(self) -> str:
        """`connector 'next'`, `the connector of outcome 'Too_Many'`: for messages."""
        return f"the connector of outcome {self.key!r}" if self.kind == "outcome" \
            else f"connector {self.key!r}"


@dataclass(frozen=True)
class LintFacts:
    """What lint rules need to know of one element."""

    action: str | None = None       # the action it calls
    loop: bool = False              # it iterates over a collection
    outcomes: int = 0               # decision outcomes it adds to the flow's paths
    reads: tuple[str, ...] = ()     # names (roots of paths) it reads
    writes: tuple[str, ...] = ()    # names (roots of paths) it writes
    doing: str = ""                 # "calls cancelFulfillmentOrderItem": what may fail
    failing: str = "it"             # "the action": what fails, in a sentence
    query: bool = False             # it runs a query (Get Records; Update/Delete by filters)
    dml: bool = False               # it writes records (Create, Update, Delete Records)
    filtered: bool = False          # its query has filters


NameEntry = tuple[str, tuple[Any, ...], "Symbol"]   # (name, document path, symbol)

_DEFAULT_ICON = ('<rect class="tile-logic" width="36" height="36" rx="7"/>'
                 '<rect class="glyph" x="10" y="15" width="16" height="6" rx="2"/>')


class ElementKind:
    """The base of every element kind; subclasses set the class attributes and override what
    differs. Kinds are registered with `flowengine.elements.register`."""

    name: ClassVar[str]                             # the `type:` of its elements
    model: ClassVar[type[ElementModel]]
    runs: ClassVar[bool] = True                     # flowengine can run it (else: kept, drawn)
    can_fault: ClassVar[bool] = False               # it has a fault connector
    # a HasError condition may name it: Salesforce allows Action, Decision, Delete Records and
    # Update Records elements ("Flow Operators in Decision, Wait, and Collection Filter Elements")
    reports_errors: ClassVar[bool] = False
    centred: ClassVar[bool] = False                 # canvas: sits centred over its branches
    loop_shaped: ClassVar[bool] = False             # canvas: a For Each body and an After Last
    droppable_items: ClassVar[tuple[str, ...]] = ()  # lists whose broken items can be left out
    # its symbol takes the type of another name (a Loop's items): `bind` runs after the other
    # kinds', and again while that makes more types known, so it must be repeatable
    binds_after_others: ClassVar[bool] = False
    icon: ClassVar[str] = _DEFAULT_ICON             # SVG of its 36×36 tile
    tile: ClassVar[str] = "logic"                   # tile colour: logic | action | data
    mermaid_shape: ClassVar[tuple[str, str]] = ('["', '"]')
    xml_tag: ClassVar[str | None] = None            # its element in Flow metadata XML

    # -- structure ---------------------------------------------------------------------------
    def connectors(self, element: Any) -> list[Connector]:
        """Every way out, in display order, including ways out that end (target None) that
        the canvas draws. Default: `next`, and `fault` when the kind can fault and has one."""
        out = [Connector("next", "next", ("next",), element.next)]
        if self.can_fault and element.fault:
            out.append(Connector("fault", "fault", ("fault",), element.fault, "Fault"))
        return out

    # -- names -------------------------------------------------------------------------------
    def names(self, name: str, element: Any) -> list[NameEntry]:
        """Names the element adds to the flow's namespace besides its own (outcomes)."""
        return []

    def bind(self, ctx: CheckContext, name: str, element: Any, symbol: Symbol) -> None:
        """Complete the element's symbol once every name is declared (a Loop's item type, an
        Action's action)."""

    def needs_plugins(self, element: Any) -> bool:
        return False

    def resolve(self, table: SymbolTable, symbol: Symbol, text: str,
                fields: tuple[str, ...]) -> ResolvedPath:
        """The type of `{!Element.field...}`: by default an element holds no value."""
        from flowengine.check.symbols import ResolveError

        raise ResolveError(f"{symbol.name!r} is {symbol.a_what} and holds no value")

    def readonly_reason(self, symbol: Symbol) -> str:
        return f"{symbol.name!r} is {symbol.a_what}, which is read-only"

    # -- checks and compiling ------------------------------------------------------------------
    def check(self, ctx: CheckContext, name: str, element: Any) -> None:
        """Report every problem of the element through `ctx` (connectors are checked for all)."""

    def compile(self, ctx: CompileContext, name: str, element: Any) -> Node:
        raise NotImplementedError(f"element kind {self.name} does not compile")

    def initial_values(self, name: str, element: Any) -> dict[str, Any]:
        """Values the interview starts with (a Decision's outcomes are false)."""
        return {}

    def needs_org(self, element: Any) -> bool:
        """Whether running it needs the org transaction."""
        return False

    # -- canvas --------------------------------------------------------------------------------
    def caption(self, element: Any, action: Any = None) -> str:
        return self.name

    def note(self, element: Any, action: Any = None) -> str | None:
        """A second line under the label where a diagram has room for one (Mermaid)."""
        return None

    def details(self, name: str, element: Any, action: Any = None) -> tuple[str, list[dict[str, Any]]]:
        """The subtitle and the groups of rows the canvas shows on hover or click."""
        return self.name, []

    # -- runs ----------------------------------------------------------------------------------
    def taken(self, entry: dict[str, Any]) -> str:
        """The key of the connector an executed element left by, from its trace entry (a
        handled fault is `fault` for every kind)."""
        return "next"

    def trace_text(self, entry: dict[str, Any]) -> list[str]:
        """Lines under the element's head in `flowengine run --trace`."""
        return []

    def trace_view(self, entry: dict[str, Any], element: Any, show: Any) -> list[dict[str, Any]]:
        """Lines of the step in a run report's panel; `element` is the model element (None
        when the flow no longer has it), `show` formats a value."""
        return []

    # -- Salesforce XML ---------------------------------------------------------------------------
    def from_xml(self, reader: FlowReader, node: XmlNode, path: tuple[Any, ...]) -> dict[str, Any]:
        """The element's data (as a flow file holds it) from its XML element; `reader`
        records where each part came from (`flowengine.formats.sfxml`)."""
        raise NotImplementedError(f"element kind {self.name} has no XML mapping")

    def xml_accepts(self, node: XmlNode) -> bool:
        """Whether an XML element of `xml_tag` is this kind's (several kinds share
        `collectionProcessors`, told apart by their `collectionProcessorType`)."""
        return True

    def to_xml(self, writer: FlowWriter, name: str, element: Any) -> XmlNode:
        """The element as its XML element (`flowengine.formats.sfxml`)."""
        raise NotImplementedError(f"element kind {self.name} has no XML mapping")

    # -- lint -----------------------------------------------------------------------------------
    def facts(self, element: Any) -> LintFacts:
        return LintFacts()

    def __repr__(self) -> str:
        return f"<element kind {self.name}>"
