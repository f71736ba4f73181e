"""Element types flowengine reads, draws, converts and keeps, but cannot run yet (screens, waits,
stages, orchestration steps, and collection processors other than Filter and Sort).

Each is an element kind whose data is what Salesforce's XML says of it, kept under `xml:`; its
connectors are read from there, so the canvas draws it and checks follow its connectors. `validate`
names each one with a warning; `run` refuses the flow, naming each one with its line. References
to what such an element holds (`{!Get_Records.Name}`) are not judged.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any, Final, Literal

from pydantic import create_model

from flowengine.elements.base import Connector, ElementKind, ElementModel, NameEntry

if TYPE_CHECKING:
    from flowengine.check.context import CheckContext
    from flowengine.check.symbols import ResolvedPath, Symbol, SymbolTable
    from flowengine.formats.sfxml import FlowReader, FlowWriter
    from flowengine.formats.xmltree import XmlNode
    from flowengine.runtime.compile import CompileContext
    from flowengine.runtime.nodes import Node

# XML element → (kind name, what Flow Builder calls it, tile colour)
UNSUPPORTED: Final[dict[str, tuple[str, str, str]]] = {
    "screens": ("Screen", "Screen", "screen"),
    "waits": ("Wait", "Wait", "logic"),
    "collectionProcessors": ("CollectionProcessor", "Collection Processor", "logic"),
    "customErrors": ("CustomError", "Custom Error", "logic"),
    "transforms": ("Transform", "Transform", "data"),
    "apexPluginCalls": ("ApexPluginCall", "Apex Plugin Call", "action"),
    "steps": ("Step", "Step", "logic"),
    "orchestratedStages": ("OrchestratedStage", "Stage", "logic"),
}
# lists inside an element whose items declare names of the flow (screen fields, wait events)
_NAMED: Final = ("fields", "waitEvents")
# lists inside an element whose items have a connector of their own (a path out each)
_BRANCHES: Final = ("rules", "waitEvents", "scheduledPaths", "actionCallPaths", "stageSteps")
_ICONS: Final = {
    "data": ('<rect class="tile-data" width="36" height="36" rx="7"/>'
             '<ellipse class="glyph" cx="18" cy="11.5" rx="8" ry="3"/>'
             '<path class="glyph" d="M10 14v10c0 1.7 3.6 3 8 3s8-1.3 8-3V14c-1.6 1.3-4.6 2-8 2'
             's-6.4-.7-8-2z"/>'),
    "screen": ('<rect class="tile-screen" width="36" height="36" rx="7"/>'
               '<rect class="glyph" x="9" y="10" width="18" height="13" rx="1.5"/>'
               '<rect class="glyph" x="15" y="24.5" width="6" height="2.2"/>'),
}


class UnsupportedKind(ElementKind):
    """An element type that is kept and drawn, not run (see the module docstring)."""

    runs = False

    def __init__(self, xml_tag: str, name: str, builder_name: str, tile: str) -> None:
        self.name = name                                  # type: ignore[misc]
        self.xml_tag = xml_tag                            # type: ignore[misc]
        self.builder_name = builder_name
        self.tile = tile                                  # type: ignore[misc]
        self.icon = _ICONS.get(tile, ElementKind.icon)    # type: ignore[misc]
        tag: Any = Literal[name]
        self.model = create_model(                        # type: ignore[misc]
            f"{name}Element", __base__=ElementModel, type=(tag, ...),
            __doc__=f"A {builder_name} element, kept as Salesforce's XML says it (not run yet).",
            __module__=__name__)
        globals()[self.model.__name__] = self.model   # found by name, as pickling needs

    def connectors(self, element: Any) -> list[Connector]:
        data = element.xml or {}
        out: list[Connector] = []
        for tag, value in data.items():
            if tag.endswith("onnector") and isinstance(value, dict):
                kind = "fault" if tag == "faultConnector" else \
                    "default" if tag == "defaultConnector" else "next"
                key = kind if tag in ("connector", "faultConnector", "defaultConnector") else tag
                out.append(Connector(kind, key, ("xml", tag, "targetReference"),  # type: ignore[arg-type]
                                     value.get("targetReference"),
                                     "Fault" if kind == "fault" else ""))
        for tag in _BRANCHES:
            items = data.get(tag)
            for i, item in enumerate(items if isinstance(items, list) else [items] if items else []):
                if not isinstance(item, dict) or not isinstance(item.get("connector"), dict):
                    continue
                where = ("xml", tag) + ((i,) if isinstance(items, list) else ()) + \
                    ("connector", "targetReference")
                name = str(item.get("name") or f"{tag}{i}")
                out.append(Connector("outcome", name, where, item["connector"].get("targetReference"),
                                     str(item.get("label") or name)))
        if not out or not any(c.kind == "next" for c in out):
            out.insert(0, Connector("next", "next", ("xml", "connector"), None))
        return out

    def names(self, name: str, element: Any) -> list[NameEntry]:
        """What the element names inside it (a screen's fields, a wait's events): those names
        are taken, and references to them are not judged."""
        from flowengine.check.symbols import Symbol

        out: list[NameEntry] = []
        todo: list[tuple[Any, tuple[Any, ...]]] = [(element.xml or {}, ("elements", name, "xml"))]
        while todo:
            data, path = todo.pop()
            for key, value in data.items() if isinstance(data, dict) else ():
                items = value if isinstance(value, list) else [value]
                for i, item in enumerate(items):
                    if not isinstance(item, dict):
                        continue
                    where = path + (key,) + ((i,) if isinstance(value, list) else ())
                    if key in _NAMED and isinstance(item.get("name"), str):
                        out.append((item["name"], where, Symbol(item["name"], "kept", None, item,
                                                                broken=True)))
                    todo.append((item, where))
        return out

    def bind(self, ctx: CheckContext, name: str, element: Any, symbol: Symbol) -> None:
        symbol.broken = True        # what it holds is not known: references are not judged

    def resolve(self, table: SymbolTable, symbol: Symbol, text: str,
                fields: tuple[str, ...]) -> ResolvedPath:
        from flowengine.check.symbols import BrokenReference

        raise BrokenReference(f"{symbol.name!r} is a {self.builder_name} element, not run yet")

    def readonly_reason(self, symbol: Symbol) -> str:
        return f"{symbol.name!r} is a {self.builder_name} element, which is read-only"

    def check(self, ctx: CheckContext, name: str, element: Any) -> None:
        ctx.error(("elements", name), unsupported_message(self, name), "unsupported", key=True,
                  severity="warning")

    def compile(self, ctx: CompileContext, name: str, element: Any) -> Node:
        from flowengine.errors import FlowError

        raise FlowError(unsupported_message(self, name))

    def caption(self, element: Any, action: Any = None) -> str:
        return f"{self.builder_name} · not run yet"

    def details(self, name: str, element: Any, action: Any = None) -> tuple[str, list[dict[str, Any]]]:
        from flowengine.render.details import show_value

        rows = [[tag, show_value(value)] for tag, value in (element.xml or {}).items()]
        return f"{self.builder_name} (kept, not run yet)", [
            {"title": "As Salesforce describes it", "columns": ["Setting", "Value"], "rows": rows}]

    def from_xml(self, reader: FlowReader, node: XmlNode, path: tuple[Any, ...]) -> dict[str, Any]:
        used: set[str] = set()
        out: dict[str, Any] = {**reader.element_base(node, path, used), "type": self.name}
        return reader.keep(out, node, used, path)

    def to_xml(self, writer: FlowWriter, name: str, element: Any) -> XmlNode:
        from flowengine.formats.sfxml import NODE

        return writer.node(self.xml_tag or "", writer.element_base(name, element)
                           + writer.kept(element), NODE)


def unsupported_message(kind: UnsupportedKind, name: str) -> str:
    return (f"{kind.builder_name} {name!r} is not supported yet: flowengine reads, draws and "
            "converts it, but cannot run it")


KINDS: Final = [UnsupportedKind(tag, name, builder, tile)
                for tag, (name, builder, tile) in UNSUPPORTED.items()]
