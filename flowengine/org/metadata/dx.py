"""Custom objects and fields from a Salesforce DX project's metadata (source format):

    objects/Invoice__c/Invoice__c.object-meta.xml        <CustomObject>: label, nameField...
    objects/Invoice__c/fields/Amount__c.field-meta.xml   <CustomField>: type, length...
    objects/Account/fields/Rating__c.field-meta.xml      a custom field of a standard object

Files are read with flowengine's hardened XML reader (`flowengine.formats.xmltree`): no DTD,
no entities, bounded depth and size; every attribute remembers its line and column. Elements
that do not change what records hold (list views, layouts, help text, history tracking...) are
skipped. The specs are built into schemas by `flowengine.org.metadata.specs`.
"""
from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path
from typing import Final

from flowengine.errors import LoadError, Problem
from flowengine.formats.xmltree import XmlNode, parse_xml
from flowengine.org.metadata.specs import FieldSpec, ObjectSpec, Spot

__all__ = ["FIELD_SUFFIX", "OBJECT_SUFFIX", "objects_dirs", "read_objects_dir"]

OBJECT_SUFFIX: Final = ".object-meta.xml"
FIELD_SUFFIX: Final = ".field-meta.xml"
MAX_METADATA_BYTES: Final = 5 * 1024 * 1024
# CustomObject elements that matter to the store (others are presentation)
_OBJECT_ATTRS: Final = ("label", "description", "sharingModel", "eventType", "deploymentStatus")
_NAME_FIELD_ATTRS: Final = ("label", "type", "displayFormat")
_FIELD_ATTRS: Final = ("type", "label", "description", "length", "precision", "scale",
                       "required", "unique", "externalId", "referenceTo", "relationshipName",
                       "deleteConstraint", "defaultValue", "formula", "displayFormat",
                       "summaryOperation", "summaryForeignKey", "summarizedField")


def read_objects_dir(directory: Path) -> tuple[list[ObjectSpec], list[Problem]]:
    """The objects of one `objects/` folder of a DX project, and every problem in its files."""
    specs: list[ObjectSpec] = []
    problems: list[Problem] = []
    for folder in sorted(p for p in directory.iterdir() if p.is_dir()):
        spec = ObjectSpec(folder.name, Spot(os.fspath(folder)), declared=False)
        object_file = folder / (folder.name + OBJECT_SUFFIX)
        try:
            if object_file.is_file():
                root = _parse(object_file, "CustomObject")
                spec.at, spec.declared = _spot(object_file, root), True
                _read_object(spec, object_file, root)
            field_dir = folder / "fields"
            for file in sorted(field_dir.glob("*" + FIELD_SUFFIX)) if field_dir.is_dir() else ():
                spec.fields.append(_read_field(file, _parse(file, "CustomField"), problems))
        except LoadError as exc:
            problems.append(_problem(exc.problem))
            continue
        if spec.declared or spec.fields:
            specs.append(spec)
    return specs, problems


def _parse(file: Path, root_tag: str) -> XmlNode:
    from flowengine.formats import read_text

    name = os.fspath(file)
    text = read_text(name, MAX_METADATA_BYTES, "metadata files", f"a {root_tag} metadata file")
    return parse_xml(text, name, root_tag=root_tag)


def _problem(found: Problem) -> Problem:
    return Problem("error", "ORG_SCHEMA", found.message, found.file, found.line, found.column)


def _spot(file: Path, node: XmlNode) -> Spot:
    line, column = node.text_at or (node.line, node.column)
    return Spot(os.fspath(file), line, column)


def _copy(file: Path, node: XmlNode, tags: tuple[str, ...], spec: ObjectSpec | FieldSpec,
          prefix: str = "") -> None:
    """The text of each of `tags` under `node`, and where it stands, into `spec`'s attributes
    (keyed `prefix` + tag)."""
    for tag in tags:
        child = node.child(tag)
        if child is not None:
            spec.attrs[prefix + tag], spec.spots[prefix + tag] = child.text.strip(), \
                _spot(file, child)


def _read_object(spec: ObjectSpec, file: Path, root: XmlNode) -> None:
    _copy(file, root, _OBJECT_ATTRS, spec)
    name_field = root.child("nameField")
    if name_field is not None:
        _copy(file, name_field, _NAME_FIELD_ATTRS, spec, "nameField.")
    for node in root.all("fields"):          # the older format keeps the fields inline
        spec.fields.append(_field_spec(file, node, _text(node, "fullName") or ""))


def _read_field(file: Path, root: XmlNode, problems: list[Problem]) -> FieldSpec:
    expected = file.name[:-len(FIELD_SUFFIX)]
    full_name = _text(root, "fullName")
    if full_name is not None and full_name != expected:
        node = root.child("fullName")
        assert node is not None
        at = _spot(file, node)
        problems.append(Problem("error", "ORG_SCHEMA", f"fullName {full_name!r} does not match "
                                f"the file name (expected {expected!r})", at.file, at.line,
                                at.column))
    return _field_spec(file, root, expected)


def _field_spec(file: Path, node: XmlNode, name: str) -> FieldSpec:
    fs = FieldSpec(name, Spot(os.fspath(file), node.line, node.column))
    _copy(file, node, _FIELD_ATTRS, fs)
    value_set = node.child("valueSet")
    if value_set is not None:
        restricted = value_set.child("restricted")
        if restricted is not None:
            fs.attrs["restricted"] = restricted.text.strip().lower() == "true"
        definition = value_set.child("valueSetDefinition")
        fs.values = [(_text(v, "fullName") or "", (_text(v, "default") or "") == "true")
                     for v in (definition.all("value") if definition is not None else ())]
    for item in node.all("summaryFilterItems"):
        fs.filters.append((_text(item, "field") or "", _text(item, "operation") or "",
                           _text(item, "value") or ""))
        fs.spots.setdefault("summaryFilterItems", _spot(file, item))
    return fs


def _text(node: XmlNode, tag: str) -> str | None:
    text = node.text_of(tag)
    return None if text is None else text.strip()


def objects_dirs(package_dirs: Iterable[Path]) -> list[Path]:
    """Every `objects/` folder inside the package directories (a package may nest them, as
    `force-app/main/default/objects`)."""
    found: list[Path] = []
    for package in package_dirs:
        if package.is_dir():
            found += sorted(p for p in package.rglob("objects") if p.is_dir())
    return found
