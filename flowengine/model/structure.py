"""Structural validation: a source document's data → the flow model, with pydantic's errors
turned into problems that point at the file's lines, in our words.

Each entry of each section (`variables`, `elements`...) is validated on its own, so one broken
entry does not hide the problems of the others; an entry whose only faults are removable (an
unknown key, a bad optional value, a broken item of a list its element kind lets go) is
repaired and still checked. Each element is validated by its kind's model.
"""
from __future__ import annotations

import copy
import types as _pytypes
import typing
from dataclasses import dataclass, field
from typing import Any, Final

from flowengine.errors import Problem, ValidationError, did_you_mean
from flowengine.model import (
    ConstantDecl,
    FlowModel,
    FormulaDecl,
    TemplateDecl,
    TypeDecl,
    VariableDecl,
)
from flowengine.source import SourceDocument, display_path
from flowengine.types import describe

SECTIONS: Final = ("types", "variables", "constants", "formulas", "templates", "elements")
PLACEHOLDER_NAME: Final = "Unnamed_Flow"     # stands in for a missing or invalid `flow` name
# optional keys whose removal would change a declaration's type: never dropped to repair an entry
_TYPE_KEYS: Final = frozenset({"collection", "apexClass", "object"})


def _unwrap(ann: Any) -> Any:
    while True:
        origin = typing.get_origin(ann)
        if origin is typing.Annotated:
            ann = typing.get_args(ann)[0]
            continue
        if origin in (typing.Union, _pytypes.UnionType):
            args = [a for a in typing.get_args(ann) if a is not type(None)]
            if len(args) == 1:
                ann = args[0]
                continue
        return ann


def _walk(loc: tuple[Any, ...], root: Any = FlowModel,
          base: tuple[Any, ...] = ()) -> tuple[tuple[Any, ...], Any]:
    """Follow a pydantic `loc` through the model `root` (whose data stands at `base`): the data
    path and the annotation found at its end."""
    ann: Any = root
    path: list[Any] = list(base)
    for item in loc:
        ann = _unwrap(ann)
        origin = typing.get_origin(ann)
        if isinstance(ann, type) and hasattr(ann, "model_fields"):
            path.append(item)
            info = ann.model_fields.get(item)
            ann = info.annotation if info else None
        elif origin is dict:
            path.append(item)
            ann = typing.get_args(ann)[1]
        elif origin is list:
            path.append(item)
            ann = typing.get_args(ann)[0]
        else:
            path.append(item)
            ann = None
    return tuple(path), _unwrap(ann) if ann is not None else None


_CODES: Final = {
    "extra_forbidden": "schema.unknown-key", "missing": "schema.missing-key",
    "literal_error": "schema.unknown-value", "too_short": "schema.empty",
    "greater_than_equal": "schema.range", "less_than_equal": "schema.range",
}


def _code(kind: str, loc: tuple[Any, ...]) -> str:
    """A stable problem code (pydantic's error names are not ours to publish)."""
    if kind == "value_error" and loc == ("flow",):
        return "name.invalid"
    return _CODES.get(kind, "schema.invalid" if kind == "value_error" else "schema.type")


def _for(loc: tuple[Any, ...]) -> str:
    return f" for {loc[-1]!r}" if loc and isinstance(loc[-1], str) else ""


def problems_from_pydantic(exc: Any, doc: SourceDocument, prefix: tuple[Any, ...] = (),
                           root: Any = FlowModel) -> list[Problem]:
    """The problems of a pydantic ValidationError of model `root`, whose data stands at `prefix`
    in the document."""
    problems: list[Problem] = []
    seen: set[tuple[Any, ...]] = set()
    for err in exc.errors(include_url=False):
        own = tuple(err["loc"])
        loc = prefix + own
        kind = err["type"]
        value = err.get("input")
        ctx = err.get("ctx") or {}
        at_key = False
        if kind == "extra_forbidden":
            path, _ = _walk(own, root, prefix)
            _, parent = _walk(own[:-1], root, prefix)
            # `xml` holds Salesforce metadata flowengine keeps: not a key to suggest
            allowed = [k for k in getattr(parent, "model_fields", {}) if k != "xml"]
            key = loc[-1]
            message = f"unknown key {key!r}{did_you_mean(str(key), allowed)}"
            if allowed:
                message += f" (allowed here: {', '.join(allowed)})"
            at_key = True
        elif kind == "missing":
            path, _ = _walk(own, root, prefix)
            message = f"missing required key {loc[-1]!r}"
            path = path[:-1]
        else:
            path, ann = _walk(own, root, prefix)
            if kind == "literal_error":
                expected = ctx.get("expected", "")
                options = [o.strip().strip("'") for o in expected.replace(" or ", ", ").split(",")]
                what = {"op": "operator", "type": "type", "order": "loop order"}.get(str(loc[-1]), "value")
                message = (f"unknown {what} {value!r}{did_you_mean(str(value), options)} "
                           f"(expected one of: {', '.join(options)})")
            elif kind in ("model_type", "dict_type", "model_attributes_type"):
                message = f"expected a mapping of keys{_for(loc)}, found {describe(value)}"
            elif kind == "list_type":
                message = f"expected a list{_for(loc)}, found {describe(value)}"
            elif kind == "too_short":
                message = f"{loc[-1]!r} must not be empty"
            elif kind == "string_type":
                message = f"expected text{_for(loc)}, found {describe(value)}"
                message += doc.type_hint(value, "text")
            elif kind in ("bool_type", "bool_parsing"):
                message = f"expected true or false{_for(loc)}, found {describe(value)}"
            elif kind.startswith("int_"):
                message = f"expected a whole number{_for(loc)}, found {describe(value)}"
            elif kind.startswith(("decimal_", "float_")):
                message = f"expected a number{_for(loc)}, found {describe(value)}"
            elif kind in ("greater_than_equal", "less_than_equal"):
                bound = ctx.get("ge", ctx.get("le"))
                side = "at least" if kind == "greater_than_equal" else "at most"
                message = f"{loc[-1]} {value!r} is out of range: expected {side} {bound}"
            elif kind == "value_error":
                message = str(ctx.get("error", err["msg"]))
            else:
                message = err["msg"]
            del ann
        if path in seen:
            continue
        seen.add(path)
        mark = doc.locate(path, key=at_key)
        problems.append(Problem("error", _code(kind, loc), message, doc.file,
                                mark[0] if mark else None, mark[1] if mark else None,
                                display_path(path) or None))
    return problems


# ---------------------------------------------------------------------------------------------
# Building the model

@dataclass
class Structure:
    """The model built from a document, the structural problems, and what had to be left out."""

    model: FlowModel
    problems: list[Problem] = field(default_factory=list)
    # section → names of entries with structural errors (repaired ones are also in the model)
    broken: dict[str, set[str]] = field(default_factory=dict)
    # top-level keys dropped because their value was unusable (e.g. `variables: [a, b]`)
    dropped: set[str] = field(default_factory=set)
    # repaired elements whose broken list items were left out: (element, list key) → the
    # original index of each item kept, so that problems still point at the right item
    kept_items: dict[tuple[str, str], list[int]] = field(default_factory=dict)


def build_model(doc: SourceDocument) -> Structure:
    """Validate the structure of a document (keys, element types, operators); raises
    ValidationError only when nothing can be checked further."""
    from pydantic import ValidationError as PydanticError

    if not isinstance(doc.data, dict):
        found = "an empty file" if doc.data is None else describe(doc.data)
        raise ValidationError([Problem("error", "schema.root",
                                       f"a flow file must be a {doc.format.upper()} mapping "
                                       f"with at least a 'flow' key; found {found}", doc.file, 1, 1)])
    result = Structure(FlowModel.model_construct(), list(doc.problems))
    data = dict(doc.data)
    for section in SECTIONS:
        entries = data.get(section)
        if isinstance(entries, dict):
            data[section] = _validate_entries(section, entries, doc, result)
    try:
        result.model = FlowModel.model_validate(data)
        return result
    except PydanticError as exc:
        result.problems += problems_from_pydantic(exc, doc)
        result.dropped = {str(err["loc"][0]) for err in exc.errors() if err["loc"]}
    data = {k: v for k, v in data.items() if k not in result.dropped}
    data.setdefault("flow", PLACEHOLDER_NAME)
    try:
        result.model = FlowModel.model_validate(data)
    except PydanticError:  # pragma: no cover - every top-level key is optional once dropped
        raise ValidationError(result.problems) from None
    return result


_DECLARATIONS: Final[dict[str, Any]] = {
    "types": TypeDecl, "variables": VariableDecl, "constants": ConstantDecl,
    "formulas": FormulaDecl, "templates": TemplateDecl,
}


def _validate_entries(section: str, entries: dict[Any, Any], doc: SourceDocument,
                      result: Structure) -> dict[Any, Any]:
    from pydantic import ValidationError as PydanticError

    valid: dict[Any, Any] = {}
    for name, raw in entries.items():
        model = _model_of(section, name, raw, doc, result)
        if model is None:
            result.broken.setdefault(section, set()).add(name)
            continue
        try:
            valid[name] = model.model_validate(raw)
        except PydanticError as exc:
            result.problems += problems_from_pydantic(exc, doc, (section, name), model)
            result.broken.setdefault(section, set()).add(name)
            repaired = _repair(model, section, raw, list(exc.errors(include_url=False)))
            if repaired is None:
                continue
            fixed, kept = repaired
            try:
                valid[name] = model.model_validate(fixed)
            except PydanticError:
                continue
            for key, indexes in kept.items():
                result.kept_items[(name, key)] = indexes
    return valid


def _model_of(section: str, name: Any, raw: Any, doc: SourceDocument, result: Structure) -> Any:
    """The model an entry is validated by: its section's, or for an element its kind's; None
    (after reporting why) for an element whose kind cannot be told."""
    if section != "elements":
        return _DECLARATIONS[section]
    from flowengine.elements import kind_named, kind_names, kinds

    kind = kind_named(raw["type"]) if isinstance(raw, dict) and isinstance(raw.get("type"), str) \
        else None
    if kind is not None:
        return kind.model
    runnable = ", ".join(k.name for k in kinds() if k.runs)
    kept = ", ".join(k.name for k in kinds() if not k.runs)
    expected = runnable + (f"; or, kept from Salesforce XML: {kept}" if kept else "")
    path: tuple[Any, ...] = ("elements", name)
    if not isinstance(raw, dict):
        code, message = "schema.type", f"expected a mapping of keys for {name!r}, found {describe(raw)}"
    elif "type" not in raw:
        code, message = "schema.missing-key", f"element has no 'type' (expected one of: {expected})"
    elif not isinstance(raw["type"], str):
        path += ("type",)
        code, message = "schema.type", (f"expected text for 'type' (one of: {expected}), "
                                        f"found {describe(raw['type'])}")
    else:
        path += ("type",)
        code, message = "schema.unknown-element-type", (
            f"unknown element type {raw['type']!r}{did_you_mean(raw['type'], kind_names())} "
            f"(expected one of: {expected})")
    mark = doc.locate(path)
    result.problems.append(Problem("error", code, message, doc.file, mark[0] if mark else None,
                                   mark[1] if mark else None, display_path(path)))
    return None


def _repair(model: Any, section: str, raw: Any, errors: list[Any]
            ) -> tuple[Any, dict[str, list[int]]] | None:
    """A copy of `raw` without the parts that failed, when they can go without changing what
    the rest means (and, for list items left out, the original indexes of those kept, by list);
    None when they cannot."""
    if not isinstance(raw, dict):
        return None
    droppable: tuple[str, ...] = ()
    if section == "elements":
        from flowengine.elements import kind_named

        droppable = kind_named(raw["type"]).droppable_items  # type: ignore[union-attr]
    fixed = copy.deepcopy(raw)
    dropped: dict[str, set[int]] = {}
    for err in errors:
        loc = tuple(err["loc"])
        if not loc:
            return None
        if loc[0] in droppable and len(loc) > 1 and isinstance(loc[1], int):
            dropped.setdefault(loc[0], set()).add(loc[1])   # one broken item: check the others
            continue
        if len(loc) == 3 and isinstance(loc[1], int):       # a key inside an item of a list
            items = fixed.get(loc[0])
            item = items[loc[1]] if isinstance(items, list) and loc[1] < len(items) else None
            _, item_model = _walk(loc[:2], model)
            if isinstance(item, dict) and hasattr(item_model, "model_fields") and \
                    _drop_key(item, loc[2], item_model):
                continue
            return None
        if len(loc) != 1 or not _drop_key(fixed, loc[0], model):
            return None
    kept: dict[str, list[int]] = {}
    for key, indexes in dropped.items():
        kept[key] = [i for i in range(len(fixed[key])) if i not in indexes]
        if not kept[key]:
            return None
        fixed[key] = [fixed[key][i] for i in kept[key]]
    return fixed, kept
def _drop_key(mapping: dict[Any, Any], key: Any, cls: Any) -> bool:
    """Remove an unknown key, or an optional one whose value is wrong (never one that decides a
    type); False when the key is required."""
    info = cls.model_fields.get(key)
    if info is not None and (info.is_required() or key in _TYPE_KEYS):
        return False
    mapping.pop(key, None)
    return True
