"""The schema file: objects a user declares by hand, in YAML (`flowengine-objects.yaml`).

    objects:
      Invoice__c:
        label: Invoice
        nameField: {type: AutoNumber, displayFormat: "INV-{0000}"}
        fields:
          Amount__c: {type: Currency, precision: 16, scale: 2, required: true}
          Status__c: {type: Picklist, values: [Draft, Sent, Paid], default: Draft, restricted: true}
          Account__c: {type: Lookup, referenceTo: Account}   # read as {!invoice.Account__r.Name}
      Account:                       # an existing object: these fields are added to it
        fields:
          Rating__c: {type: Number, precision: 3, scale: 0}

Keys are the Salesforce metadata's names (`CustomObject`, `CustomField`), and mean what they
mean there; `values` lists a picklist's values and `default` names the default one; `keyPrefix`
gives a custom object its own Id prefix. It is read with flowengine's hardened YAML reader, and
every problem names its line and column.
"""
from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any, Final

from flowengine.errors import LoadError, Problem, did_you_mean
from flowengine.formats.yaml import Document, YamlLimits, read_yaml
from flowengine.org.metadata.specs import FieldSpec, ObjectSpec, Spot
from flowengine.types import describe

__all__ = ["SCHEMA_FILE", "read_schema_file"]

SCHEMA_FILE: Final = "flowengine-objects.yaml"
LIMITS: Final = YamlLimits(max_bytes=5 * 1024 * 1024, yaml11_booleans=False,
                           what="schema files", expected="a flowengine-objects.yaml schema file")
OBJECT_KEYS: Final = ("label", "description", "keyPrefix", "nameField", "sharingModel",
                      "eventType", "fields")
NAME_FIELD_KEYS: Final = ("type", "label", "displayFormat")
FIELD_KEYS: Final = ("type", "label", "description", "length", "precision", "scale", "required",
                     "unique", "externalId", "referenceTo", "relationshipName",
                     "deleteConstraint", "defaultValue", "values", "default", "restricted",
                     "displayFormat", "summaryOperation", "summaryForeignKey",
                     "summarizedField", "summaryFilterItems")


def read_schema_file(path: str | os.PathLike[str]) -> tuple[list[ObjectSpec], list[Problem]]:
    """The objects a schema file declares, and every problem in it (with its line)."""
    name = os.fspath(path)
    try:
        doc = read_yaml(name, LIMITS)
    except LoadError as exc:
        return [], [_as_schema_problem(exc.problem)]
    reader = _Reader(doc)
    specs = reader.objects()
    return specs, [_as_schema_problem(p) for p in doc.problems] + reader.problems


def _as_schema_problem(found: Problem) -> Problem:
    return Problem("error", "ORG_SCHEMA", found.message, found.file, found.line, found.column)


class _Reader:
    def __init__(self, doc: Document) -> None:
        self.doc = doc
        self.file = doc.file or "<schema file>"
        self.problems: list[Problem] = []

    def spot(self, path: tuple[Any, ...], key: bool = False) -> Spot:
        mark = self.doc.locate(path, key=key)
        return Spot(self.file, *(mark or (None, None)))

    def problem(self, path: tuple[Any, ...], message: str, key: bool = False) -> None:
        at = self.spot(path, key)
        self.problems.append(Problem("error", "ORG_SCHEMA", message, at.file, at.line, at.column))

    def mapping(self, path: tuple[Any, ...], value: Any, what: str) -> Mapping[str, Any] | None:
        if isinstance(value, Mapping):
            return value
        self.problem(path, f"{what}: expected a mapping, found {describe(value)}")
        return None

    def known_keys(self, path: tuple[Any, ...], data: Mapping[str, Any], keys: tuple[str, ...],
                   what: str) -> None:
        for key in data:
            if key not in keys:
                self.problem((*path, key), f"{what}: unknown key {key!r}; expected one of "
                             f"{', '.join(keys)}{did_you_mean(str(key), keys)}", key=True)

    def objects(self) -> list[ObjectSpec]:
        top = self.mapping((), self.doc.data, "the schema file")
        if top is None:
            return []
        self.known_keys((), top, ("objects",), "the schema file")
        objects = self.mapping(("objects",), top.get("objects"), "objects")
        if objects is None:
            return []
        return [spec for name, data in objects.items()
                if (spec := self.object(str(name), data)) is not None]

    def object(self, name: str, data: Any) -> ObjectSpec | None:
        path = ("objects", name)
        body = self.mapping(path, data if data is not None else {}, f"object {name}")
        if body is None:
            return None
        self.known_keys(path, body, OBJECT_KEYS, f"object {name}")
        declared = any(key != "fields" for key in body)
        spec = ObjectSpec(name, self.spot(path, key=True), declared=declared or not body)
        for key in ("label", "description", "keyPrefix", "sharingModel", "eventType"):
            if key in body:
                spec.attrs[key], spec.spots[key] = body[key], self.spot((*path, key))
        name_field = body.get("nameField")
        if name_field is not None:
            name_path = (*path, "nameField")
            name_body = self.mapping(name_path, name_field, f"{name}.nameField")
            if name_body is not None:
                self.known_keys(name_path, name_body, NAME_FIELD_KEYS, f"{name}.nameField")
                for key, value in name_body.items():
                    spec.attrs[f"nameField.{key}"] = value
                    spec.spots[f"nameField.{key}"] = self.spot((*name_path, key))
        fields = body.get("fields")
        if fields is not None:
            fields_body = self.mapping((*path, "fields"), fields, f"{name}.fields")
            for field_name, field_data in (fields_body or {}).items():
                field_spec = self.field(name, str(field_name), field_data)
                if field_spec is not None:
                    spec.fields.append(field_spec)
        return spec

    def field(self, object_name: str, name: str, data: Any) -> FieldSpec | None:
        path = ("objects", object_name, "fields", name)
        what = f"{object_name}.{name}"
        body = self.mapping(path, data, what)
        if body is None:
            return None
        self.known_keys(path, body, FIELD_KEYS, what)
        spec = FieldSpec(name, self.spot(path, key=True), strict=False)
        for key, value in body.items():
            if key in FIELD_KEYS and key not in ("values", "default", "summaryFilterItems"):
                spec.attrs[key], spec.spots[key] = value, self.spot((*path, key))
        values = body.get("values", [])
        if not isinstance(values, list) or not all(isinstance(v, (str, int)) and
                                                   not isinstance(v, bool) for v in values):
            self.problem((*path, "values"), f"{what}: values must be a list of picklist values, "
                         f"found {describe(values)}")
            values = []
        default = body.get("default")
        if default is not None and default not in values:
            self.problem((*path, "default"), f"{what}: default {default!r} is not one of its "
                         f"values{did_you_mean(str(default), [str(v) for v in values])}")
        spec.values = [(str(v), v == default) for v in values]
        for index, item in enumerate(body.get("summaryFilterItems") or ()):
            item_path = (*path, "summaryFilterItems", index)
            if isinstance(item, Mapping) and {"field", "operation", "value"} <= set(item):
                spec.filters.append((str(item["field"]), str(item["operation"]),
                                     str(item["value"])))
                spec.spots.setdefault("summaryFilterItems", self.spot(item_path))
            else:
                self.problem(item_path, f"{what}: a summary filter item needs field, operation "
                             f"and value, found {describe(item)}")
        return spec
