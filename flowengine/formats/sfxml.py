"""The Salesforce XML front end: `Name.flow-meta.xml` (and the older `Name.flow`) ⇄ flow data.

Reading gives a source document whose data has the flow model's shape (the same data the YAML
front end gives), with the line and column of the XML element behind every part of it. Each
element type is mapped by its element kind (`ElementKind.xml_tag`, `from_xml`, `to_xml`);
resources and the flow's own settings are mapped here. Whatever flowengine does not interpret
is kept, in the `xml:` key of the part it belongs to, so that writing gives back what was read.

Writing gives XML as Salesforce's retrieve writes it: the declaration, the metadata namespace,
four spaces a level, child elements in the schema's order — the flow's own children by code
point; inside an element, the inherited fields first (`processMetadataValues`; `description`,
`name`; `elementSubtype`, `group`, `label`, `locationX`, `locationY`), then its own by code point.
"""
from __future__ import annotations

import datetime as _dt
import json
import os
import re
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any, Final

from flowengine.errors import FlowError, LoadError, Problem
from flowengine.formats.xmltree import XmlNode, parse_xml, write_xml
from flowengine.source import Mark, Path

if TYPE_CHECKING:
    from flowengine.model import FlowModel

__all__ = ["BASE", "ELEMENT", "NODE", "XML_SUFFIXES", "FlowReader", "FlowWriter", "XmlDocument",
           "WriteError", "flow_name_of", "load", "parse", "to_xml_text"]

XML_SUFFIXES: Final = (".flow-meta.xml", ".flow")
# fields a metadata type inherits, in the order Salesforce writes them before its own
BASE: Final = ("processMetadataValues",)
ELEMENT: Final = BASE + ("description", "name")
NODE: Final = ELEMENT + ("elementSubtype", "group", "label", "locationX", "locationY")
TYPES_KEY: Final = "flowengine:types"     # a processMetadataValue that carries `types:`
# Flow Builder's default metadata for a flow laid out automatically
AUTO_LAYOUT: Final = {"BuilderType": "LightningFlowBuilder", "CanvasMode": "AUTO_LAYOUT_CANVAS"}
DATA_TYPES_IN: Final = {"String": "Text", "SObject": "Record"}
DATA_TYPES_OUT: Final = {"Text": "String", "Record": "SObject"}
_REFERENCE: Final = re.compile(r"\{!([^{}]+)\}")


class WriteError(FlowError):
    """Something in a flow cannot be written as Salesforce XML."""


def flow_name_of(file: str | os.PathLike[str]) -> str:
    """A flow is named by its file name, as in Salesforce: `Name.flow-meta.xml` → `Name`."""
    base = os.path.basename(os.fspath(file))
    for suffix in XML_SUFFIXES:
        if base.lower().endswith(suffix):
            return base[: -len(suffix)]
    return base


# ---------------------------------------------------------------------------------------------
# The source document

class XmlDocument:
    """A flow read from XML (see `flowengine.source.SourceDocument`)."""

    format = "xml"

    def __init__(self, data: Any, file: str | None, marks: dict[Path, Mark],
                 texts: dict[Path, XmlNode], source: str) -> None:
        self.data = data
        self.file = file
        self.marks = marks
        self.texts = texts
        self.problems: list[Problem] = []
        self._lines = source.split("\n")

    def locate(self, path: Path, key: bool = False) -> Mark | None:
        path = tuple(path)
        while True:
            if path in self.marks:
                return self.marks[path]
            if not path:
                return None
            path = path[:-1]

    def position_in(self, path: Path, offset: int) -> Mark | None:
        """Where character `offset` of an element's text stands, reading through the entity
        references (`&lt;` is one character of the text, four of the file)."""
        node = self.texts.get(tuple(path))
        if node is None or node.text_at is None:
            return None
        line, column = node.text_at
        row, col = line - 1, column - 1
        for _ in range(offset):
            if row >= len(self._lines):
                return None
            text = self._lines[row]
            if col >= len(text):
                row, col = row + 1, 0
                continue
            if text[col] == "&":
                end = text.find(";", col)
                col = end + 1 if end > col else col + 1
            else:
                col += 1
        return row + 1, col + 1

    def get(self, path: Path) -> Any:
        node = self.data
        for part in path:
            try:
                node = node[part]
            except (KeyError, IndexError, TypeError):
                return None
        return node

    def type_hint(self, value: Any, expected: str) -> str:
        return ""


EXPECTED_FILE: Final = "a flow XML file"     # in "is a directory, expected ..."


def load(path: str | os.PathLike[str]) -> XmlDocument:
    """The XML front end: read and parse one flow file (see `flowengine.formats`)."""
    from flowengine.formats import read_text

    name = os.fspath(path)
    return parse(read_text(name, expected=EXPECTED_FILE), name)


def parse(text: str, file: str | None = None) -> XmlDocument:
    """The XML front end: flow XML text → a source document; the flow is named by `file`."""
    root = parse_xml(text, file)
    reader = FlowReader()
    data = reader.flow(root, flow_name_of(file) if file else "Unnamed_Flow")
    return XmlDocument(data, file, reader.marks, reader.texts, text)


# ---------------------------------------------------------------------------------------------
# Reading

class FlowReader:
    """XML nodes → flow data, recording where each part came from."""

    def __init__(self) -> None:
        self.marks: dict[Path, Mark] = {}
        self.texts: dict[Path, XmlNode] = {}

    # -- helpers the element kinds use -------------------------------------------------------
    def at(self, path: Path, node: XmlNode) -> None:
        self.marks[path] = (node.line, node.column)

    def text(self, node: XmlNode | None, path: Path) -> str | None:
        """The text of a leaf, remembered for positions inside it (formulas)."""
        if node is None:
            return None
        self.at(path, node)
        self.texts[path] = node
        return node.text

    def value(self, node: XmlNode | None, path: Path) -> Any:
        """A `FlowElementReferenceOrValue` as a flow value: `{!x}` for a reference, text,
        Decimal, bool, date, datetime, a list for `collectionElements`; any other form is kept
        as `{xml: ...}`."""
        if node is None:
            return None
        self.at(path, node)
        kids = node.children
        if not kids:
            return None
        if all(k.tag == "collectionElements" for k in kids):
            return [self.value(k, path + (i,)) for i, k in enumerate(kids)]
        if len(kids) == 1:
            kid = kids[0]
            self.at(path, kid)
            converted = _scalar(kid)
            if converted is not _UNKNOWN:
                if kid.tag == "stringValue":
                    self.texts[path] = kid
                return converted
        return {"xml": self.raw(node, path + ("xml",))}

    def connector(self, node: XmlNode | None, path: Path,
                  owner: dict[str, Any] | None = None) -> str | None:
        """The target of a connector element. What else the connector says (`isGoTo`) is kept
        in `owner`'s `xml:` under the connector's tag."""
        if node is None:
            return None
        self.at(path, node)
        rest = self.rest(node, {"targetReference"}, path)
        if rest and owner is not None:
            owner.setdefault("xml", {})[node.tag] = rest
        return node.text_of("targetReference")

    def raw(self, node: XmlNode, path: Path) -> Any:
        """An XML subtree kept as data: a leaf's text, or a mapping of child tags (in their
        order) to a subtree, or to a list of them when a tag repeats."""
        self.at(path, node)
        if node.is_leaf:
            return node.text
        grouped: dict[str, list[XmlNode]] = {}
        for child in node.children:
            grouped.setdefault(child.tag, []).append(child)
        out: dict[str, Any] = {}
        for tag, nodes in grouped.items():
            out[tag] = self.raw(nodes[0], path + (tag,)) if len(nodes) == 1 else \
                [self.raw(n, path + (tag, i)) for i, n in enumerate(nodes)]
        return out

    def rest(self, node: XmlNode, used: set[str] | frozenset[str],
             path: Path) -> dict[str, Any] | None:
        """The children of `node` not in `used`, kept as data (None when there are none)."""
        kept = XmlNode(node.tag, [c for c in node.children if c.tag not in used],
                       line=node.line, column=node.column)
        if not kept.children:
            return None
        data: dict[str, Any] = self.raw(kept, path)
        return data

    def flag(self, node: XmlNode | None) -> bool | None:
        return None if node is None else node.text == "true"

    # -- the flow -----------------------------------------------------------------------------
    def flow(self, root: XmlNode, name: str) -> dict[str, Any]:
        from flowengine.elements import kind_for_xml_tag

        self.at((), root)
        data: dict[str, Any] = {"flow": name}
        used: set[str] = set()
        scalars = {"apiVersion": "apiVersion", "description": "description",
                   "interviewLabel": "interviewLabel", "label": "label",
                   "processType": "processType", "runInMode": "runInMode", "status": "status"}
        for tag, key in scalars.items():
            node = root.child(tag)
            if node is not None:
                used.add(tag)
                data[key] = Decimal(node.text) if tag == "apiVersion" else self.text(node, (key,))
        if data.get("label") == name.replace("_", " "):
            del data["label"]
        if data.get("processType") == "AutoLaunchedFlow":
            del data["processType"]
        if data.get("status") == "Active":
            del data["status"]
        environments = root.all("environments")
        if environments:
            used.add("environments")
            data["environments"] = [e.text for e in environments]
        metadata = root.all("processMetadataValues")
        if metadata:
            used.add("processMetadataValues")
            values = self.metadata_values(metadata, ("processMetadataValues",))
            if TYPES_KEY in values:
                data["types"] = json.loads(values.pop(TYPES_KEY))
            if values:
                data["processMetadataValues"] = values
        start = root.child("start")
        if start is not None:
            used.add("start")
            data["start"] = self.connector(start.child("connector"), ("start",))
            location = self.location(start)
            if location is not None:
                data["startLocation"] = location
            self.start_settings(root, start, data, used)
        reference = root.child("startElementReference")
        if reference is not None:
            used.add("startElementReference")
            data["start"] = self.text(reference, ("start",))
            data.setdefault("xml", {})["startElementReference"] = True
        for section, reader in (("variables", self.variable), ("constants", self.constant),
                                ("formulas", self.formula), ("textTemplates", self.template)):
            nodes = root.all(section)
            if nodes:
                used.add(section)
                key = "templates" if section == "textTemplates" else section
                entries = data.setdefault(key, {})
                for node in nodes:
                    entry_name = node.text_of("name") or ""
                    entries[entry_name] = reader(node, (key, entry_name))
        elements: dict[str, Any] = {}
        for node in root.children:
            kind = kind_for_xml_tag(node.tag, node)
            if kind is None:
                continue
            used.add(node.tag)
            element_name = node.text_of("name") or ""
            path = ("elements", element_name)
            self.at(path, node)
            element = kind.from_xml(self, node, path)
            location = self.location(node)
            if location is not None:
                element["location"] = location
            elements[element_name] = element
        if elements:
            data["elements"] = elements
        self.drop_default_layout(data)
        kept = self.rest(root, used, ("xml",))
        if kept:
            data.setdefault("xml", {}).update(kept)
        return data

    def start_settings(self, root: XmlNode, start: XmlNode, data: dict[str, Any],
                       used: set[str]) -> None:
        """What starts the flow: a record or platform event trigger becomes `trigger`; the
        Start element's other settings (a schedule, other trigger types) are kept."""
        from flowengine.elements.records import filters_from_xml
        from flowengine.model import TRIGGER_TYPES

        done = {"connector", "locationX", "locationY"}
        kind = start.text_of("triggerType")
        if kind in TRIGGER_TYPES and start.child("object") is not None:
            path: Path = ("trigger",)
            self.at(path, start)
            trigger: dict[str, Any] = {
                "type": self.text(start.child("triggerType"), path + ("type",)),
                "object": self.text(start.child("object"), path + ("object",))}
            on = start.child("recordTriggerType")
            if on is not None:
                trigger["on"] = self.text(on, path + ("on",))
            filters_from_xml(self, start, path, trigger)
            formula = start.child("filterFormula")
            if formula is not None:
                trigger["formula"] = self.text(formula, path + ("formula",))
            changed = self.flag(start.child("doesRequireRecordChangedToMeetCriteria"))
            if changed is not None:
                trigger["onlyWhenChanged"] = changed
            order = root.child("triggerOrder")
            if order is not None and (order.text or "").strip().isdigit():
                used.add("triggerOrder")
                self.at(path + ("order",), order)
                trigger["order"] = int(order.text)
            done |= {"triggerType", "object", "recordTriggerType", "filters", "filterLogic",
                     "filterFormula", "doesRequireRecordChangedToMeetCriteria"}
            data["trigger"] = self.keep(trigger, start, done, path)
            return
        rest = self.rest(start, done, ("xml", "start"))
        if rest:
            data.setdefault("xml", {})["start"] = rest

    def drop_default_layout(self, data: dict[str, Any]) -> None:
        """A flow laid out automatically with Flow Builder's default metadata and no positions
        reads as a flow that says nothing of its layout (the writer adds them back)."""
        placed = "startLocation" in data or any(
            isinstance(e, dict) and "location" in e for e in data.get("elements", {}).values())
        if data.get("processMetadataValues") == AUTO_LAYOUT and not placed:
            del data["processMetadataValues"]

    def location(self, node: XmlNode) -> list[int] | None:
        """`[x, y]`, or None at (0, 0), where Flow Builder's auto-layout leaves every element."""
        x, y = node.text_of("locationX"), node.text_of("locationY")
        if x is None and y is None:
            return None
        point = [int(x or 0), int(y or 0)]
        return None if point == [0, 0] else point

    def metadata_values(self, nodes: list[XmlNode], path: Path) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for node in nodes:
            key = node.text_of("name") or ""
            out[key] = self.value(node.child("value"), path + (key,))
        return out

    def element_base(self, node: XmlNode, path: Path, used: set[str]) -> dict[str, Any]:
        """label (when it is not the name's), description and element-level metadata; adds
        what it reads to `used`."""
        used.update(("name", "label", "locationX", "locationY", "description"))
        out: dict[str, Any] = {}
        name = node.text_of("name") or ""
        label = node.text_of("label")
        if label is not None and label != name.replace("_", " "):
            out["label"] = self.text(node.child("label"), path + ("label",))
        description = node.child("description")
        if description is not None:
            out["description"] = self.text(description, path + ("description",))
        return out

    # -- resources ----------------------------------------------------------------------------
    def _typed(self, node: XmlNode, path: Path, used: set[str]) -> dict[str, Any]:
        used.update(("name", "description", "dataType", "apexClass", "objectType", "scale",
                     "isCollection"))
        out: dict[str, Any] = {}
        data_type = node.text_of("dataType")
        if data_type is not None:
            out["type"] = DATA_TYPES_IN.get(data_type, data_type)
            self.at(path + ("type",), node.child("dataType"))  # type: ignore[arg-type]
        for tag, key in (("apexClass", "apexClass"), ("objectType", "object")):
            text = node.text_of(tag)
            if text is not None:
                out[key] = text.replace("__", ".") if tag == "apexClass" else text
                self.at(path + (key,), node.child(tag))  # type: ignore[arg-type]
        if node.text_of("isCollection") == "true":
            out["collection"] = True
        scale = node.text_of("scale")
        if scale is not None:
            out["scale"] = int(scale)
        description = node.child("description")
        if description is not None:
            out["description"] = self.text(description, path + ("description",))
        return out

    def variable(self, node: XmlNode, path: Path) -> dict[str, Any]:
        self.at(path, node)
        used: set[str] = {"isInput", "isOutput", "value"}
        out = self._typed(node, path, used)
        if node.text_of("isInput") == "true":
            out["input"] = True
        if node.text_of("isOutput") == "true":
            out["output"] = True
        if node.child("value") is not None:
            out["default"] = self.value(node.child("value"), path + ("default",))
        return self.keep(out, node, used, path)

    def constant(self, node: XmlNode, path: Path) -> dict[str, Any]:
        self.at(path, node)
        used: set[str] = {"value"}
        out = self._typed(node, path, used)
        out["value"] = self.value(node.child("value"), path + ("value",))
        return self.keep(out, node, used, path)

    def formula(self, node: XmlNode, path: Path) -> dict[str, Any]:
        self.at(path, node)
        used: set[str] = {"expression"}
        out = self._typed(node, path, used)
        out["expression"] = self.text(node.child("expression"), path + ("expression",)) or ""
        return self.keep(out, node, used, path)

    def template(self, node: XmlNode, path: Path) -> dict[str, Any]:
        self.at(path, node)
        used: set[str] = {"name", "description", "text", "isViewedAsPlainText"}
        out: dict[str, Any] = {"text": self.text(node.child("text"), path + ("text",)) or ""}
        plain = self.flag(node.child("isViewedAsPlainText"))
        if plain is not None:
            out["plainText"] = plain
        description = node.child("description")
        if description is not None:
            out["description"] = self.text(description, path + ("description",))
        return self.keep(out, node, used, path)

    def keep(self, out: dict[str, Any], node: XmlNode, used: set[str] | frozenset[str],
             path: Path) -> dict[str, Any]:
        """`out`, with the children of `node` that were not read kept under `xml`."""
        kept = self.rest(node, used, path + ("xml",))
        if kept:
            out.setdefault("xml", {}).update(kept)
        return out


class _Unknown:
    pass


_UNKNOWN: Final = _Unknown()


def _scalar(node: XmlNode) -> Any:
    text = node.text
    try:
        if node.tag == "elementReference":
            return "{!" + text + "}"
        if node.tag == "stringValue":
            return text
        if node.tag == "numberValue":
            return Decimal(text)
        if node.tag == "booleanValue" and text in ("true", "false"):
            return text == "true"
        if node.tag == "dateValue":
            return _dt.date.fromisoformat(text)
        if node.tag == "dateTimeValue":
            return _dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except (ValueError, InvalidOperation):
        return _UNKNOWN
    return _UNKNOWN


# ---------------------------------------------------------------------------------------------
# Writing

class FlowWriter:
    """A flow model → XML nodes."""

    def leaf(self, tag: str, value: Any) -> XmlNode:
        if isinstance(value, bool):
            text = "true" if value else "false"
        elif isinstance(value, Decimal):
            text = format(value, "f") if value.as_tuple().exponent > 0 else str(value)  # type: ignore[operator]
        else:
            text = "" if value is None else str(value)
        return XmlNode(tag, text=text)

    def node(self, tag: str, children: list[XmlNode], layer: tuple[str, ...] = ()) -> XmlNode:
        """An element whose children are put in Salesforce's order for a type of `layer`."""
        rank = {name: i for i, name in enumerate(layer)}
        ordered = sorted(children, key=lambda c: (0, rank[c.tag], "") if c.tag in rank
                         else (1, 0, c.tag))
        return XmlNode(tag, ordered)

    def value(self, tag: str, value: Any, where: str) -> XmlNode:
        """A flow value as a `FlowElementReferenceOrValue` element called `tag`."""
        return XmlNode(tag, self.value_children(value, where))

    def value_children(self, value: Any, where: str) -> list[XmlNode]:
        if value is None:
            return []
        if isinstance(value, dict):
            if set(value) == {"xml"}:
                return self.raw_children(value["xml"])
            raise WriteError(f"{where}: an object literal value ({{field: value}}) cannot be "
                             "written as Salesforce XML (Flow metadata has no literal for it)")
        if isinstance(value, list):
            return [self.value("collectionElements", v, where) for v in value]
        if isinstance(value, bool):
            return [self.leaf("booleanValue", value)]
        if isinstance(value, (int, Decimal)):
            return [self.leaf("numberValue", Decimal(value))]
        if isinstance(value, float):
            return [self.leaf("numberValue", Decimal(repr(value)))]
        if isinstance(value, _dt.datetime):
            utc = value.astimezone(_dt.UTC) if value.tzinfo else value
            return [self.leaf("dateTimeValue", utc.strftime("%Y-%m-%dT%H:%M:%S.000Z"))]
        if isinstance(value, _dt.date):
            return [self.leaf("dateValue", value.isoformat())]
        if isinstance(value, _dt.time):
            return [self.leaf("timeValue", value.isoformat() + ".000Z")]
        text = str(value)
        whole = _REFERENCE.fullmatch(text.strip())
        if whole and text.strip() == text:
            return [self.leaf("elementReference", whole.group(1).strip())]
        return [self.leaf("stringValue", text)]

    def connector(self, tag: str, target: str | None, owner: Any = None) -> list[XmlNode]:
        """A connector element, with what `owner` keeps of it under `xml:` (`isGoTo`)."""
        if not target:
            return []
        kept = (getattr(owner, "xml", None) or {}).get(tag)
        extra = self.raw_children(kept) if isinstance(kept, dict) else []
        return [self.node(tag, [self.leaf("targetReference", target)] + extra, BASE)]

    def raw(self, tag: str, data: Any) -> list[XmlNode]:
        """Data kept by `FlowReader.raw` back as elements called `tag` (several for a list)."""
        if isinstance(data, list):
            return [n for item in data for n in self.raw(tag, item)]
        if isinstance(data, dict):
            return [XmlNode(tag, self.raw_children(data))]
        return [self.leaf(tag, data)]

    def raw_children(self, data: Any) -> list[XmlNode]:
        if not isinstance(data, dict):
            raise WriteError(f"expected a mapping of XML element names under xml:, found {data!r}")
        return [n for tag, value in data.items() for n in self.raw(tag, value)]

    def kept(self, model: Any, connectors: tuple[str, ...] = ()) -> list[XmlNode]:
        """The children kept under `xml:` of a part of the model (but what belongs to the
        `connectors` it writes itself)."""
        data = {k: v for k, v in (getattr(model, "xml", None) or {}).items() if k not in connectors}
        return self.raw_children(data) if data else []

    def element_base(self, name: str, element: Any, node_type: bool = True) -> list[XmlNode]:
        """name, label, description (and, for nodes, the location) of an element."""
        out = [self.leaf("name", name)]
        label = element.label if element.label is not None else name.replace("_", " ")
        out.append(self.leaf("label", label))
        if element.description is not None:
            out.append(self.leaf("description", element.description))
        if node_type:
            x, y = element.location or (0, 0)
            out += [self.leaf("locationX", x), self.leaf("locationY", y)]
        return out

    # -- resources ----------------------------------------------------------------------------
    def _typed(self, name: str, decl: Any, where: str) -> list[XmlNode]:
        out = [self.leaf("name", name), self.leaf("dataType", DATA_TYPES_OUT.get(decl.type, decl.type))]
        if getattr(decl, "description", None) is not None:
            out.append(self.leaf("description", decl.description))
        if getattr(decl, "apexClass", None):
            out.append(self.leaf("apexClass", decl.apexClass.replace(".", "__")))
        if getattr(decl, "object", None):
            out.append(self.leaf("objectType", decl.object))
        if getattr(decl, "scale", None) is not None:
            out.append(self.leaf("scale", decl.scale))
        return out

    def variable(self, name: str, var: Any) -> XmlNode:
        out = self._typed(name, var, f"variables.{name}")
        out += [self.leaf("isCollection", var.collection), self.leaf("isInput", var.input),
                self.leaf("isOutput", var.output)]
        if var.default is not None:
            out.append(self.value("value", var.default, f"variables.{name}.default"))
        return self.node("variables", out + self.kept(var), ELEMENT)

    def constant(self, name: str, const: Any) -> XmlNode:
        out = self._typed(name, const, f"constants.{name}")
        out.append(self.value("value", const.value, f"constants.{name}.value"))
        return self.node("constants", out + self.kept(const), ELEMENT)

    def formula(self, name: str, formula: Any) -> XmlNode:
        out = self._typed(name, formula, f"formulas.{name}")
        out.append(self.leaf("expression", formula.expression))
        return self.node("formulas", out + self.kept(formula), ELEMENT)

    def template(self, name: str, template: Any) -> XmlNode:
        out = [self.leaf("name", name), self.leaf("text", template.text)]
        if template.plainText is not None:
            out.append(self.leaf("isViewedAsPlainText", template.plainText))
        if template.description is not None:
            out.append(self.leaf("description", template.description))
        return self.node("textTemplates", out + self.kept(template), ELEMENT)

    # -- the flow -----------------------------------------------------------------------------
    def flow(self, model: FlowModel) -> XmlNode:
        from flowengine.elements import kind_of

        m = model
        out: list[XmlNode] = []
        for key in ("apiVersion", "description", "interviewLabel", "runInMode"):
            if getattr(m, key) is not None:
                out.append(self.leaf(key, getattr(m, key)))
        out.append(self.leaf("label", m.display_label))
        out.append(self.leaf("processType", m.processType or "AutoLaunchedFlow"))
        out.append(self.leaf("status", m.status or "Active"))
        out += [self.leaf("environments", e) for e in m.environments or ()]
        metadata = dict(m.processMetadataValues or {})
        placed = m.startLocation is not None or any(e.location for e in m.elements.values())
        if not metadata and not placed:
            metadata = dict(AUTO_LAYOUT)
        if m.types:
            metadata[TYPES_KEY] = json.dumps(
                {name: t.model_dump(exclude_none=True, exclude_defaults=True)
                 for name, t in m.types.items()}, sort_keys=False)
        for key, value in metadata.items():
            out.append(XmlNode("processMetadataValues", [self.leaf("name", key)] + (
                [self.value("value", value, f"processMetadataValues.{key}")]
                if value is not None else [])))
        extras = dict(m.xml or {})
        extras.pop("start", None)                       # written inside <start>
        if m.trigger is not None and m.trigger.order is not None:
            out.append(self.leaf("triggerOrder", m.trigger.order))
        if extras.pop("startElementReference", None):
            if m.start:
                out.append(self.leaf("startElementReference", m.start))
        else:
            out.append(self.start(m))
        out += [self.variable(n, v) for n, v in m.variables.items()]
        out += [self.constant(n, c) for n, c in m.constants.items()]
        out += [self.formula(n, f) for n, f in m.formulas.items()]
        out += [self.template(n, t) for n, t in m.templates.items()]
        for name, element in m.elements.items():
            out.append(kind_of(element).to_xml(self, name, element))
        out += self.raw_children(extras)
        return XmlNode("Flow", sorted(out, key=lambda c: c.tag))

    def start(self, m: FlowModel) -> XmlNode:
        from flowengine.elements.records import filters_to_xml

        x, y = m.startLocation or (0, 0)
        out = [self.leaf("locationX", x), self.leaf("locationY", y)]
        out += self.connector("connector", m.start)
        trigger = m.trigger
        if trigger is not None:
            out += [self.leaf("object", trigger.object), self.leaf("triggerType", trigger.type)]
            if trigger.on is not None:
                out.append(self.leaf("recordTriggerType", trigger.on))
            out += filters_to_xml(self, "start", trigger.filters, trigger.logic)  # type: ignore[arg-type]
            if trigger.formula is not None:
                out.append(self.leaf("filterFormula", trigger.formula))
            if trigger.onlyWhenChanged is not None:
                out.append(self.leaf("doesRequireRecordChangedToMeetCriteria",
                                     trigger.onlyWhenChanged))
            out += self.kept(trigger)
        kept = (m.xml or {}).get("start")
        if isinstance(kept, dict):
            out += self.raw_children(kept)
        return self.node("start", out, NODE)


def to_xml_text(model: FlowModel) -> str:
    """A flow model as the text of its `.flow-meta.xml` file."""
    return write_xml(FlowWriter().flow(model))


def read_error(message: str, node: XmlNode, file: str | None) -> LoadError:
    return LoadError(message, file, node.line, node.column, code="xml")
