"""What a flow declares (spec 1, 3.2–3.3): its Apex-defined classes and the types of its
variables, then every name in its one namespace — the type registry and symbol table that the
other checks resolve against.

Like `flowengine.conditions.check_decision`, each step takes the `Checker` and reports through it.
"""
from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from flowengine.check.symbols import Symbol, did_you_mean
from flowengine.elements import kind_of
from flowengine.model import TypedDecl, check_api_name
from flowengine.types import (
    NUMERIC,
    ApexClass,
    ApexField,
    FlowType,
    canonical_kind,
    normalize_class_name,
)

if TYPE_CHECKING:
    from flowengine.check.checker import Checker

CLASS_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]*(\.[A-Za-z][A-Za-z0-9_]*)*$")


# -- types ----------------------------------------------------------------------------------------
def decl_type(checker: Checker, decl: TypedDecl, path: tuple[Any, ...],
              variable: bool = False) -> FlowType | None:
    """The type a declaration names. A Number or Currency *variable* without `scale` holds whole
    numbers: "If you leave this field blank or set it to zero, only whole numbers appear when
    your flow runs" (Salesforce Help, Variable Resource, Decimal Places)."""
    kind = canonical_kind(decl.type)
    if kind is None:
        return None
    if kind == "Apex":
        if not decl.apexClass:
            checker.error(path + ("type",), "type Apex needs apexClass: the Apex-defined class name",
                          "type.apex-class")
            return None
        cls = checker.types.apex_class(decl.apexClass)
        if cls is None:
            if not _class_may_be_broken(checker, decl.apexClass):
                known = checker.types.class_names()
                checker.error(path + ("apexClass",), f"unknown Apex class {decl.apexClass!r}"
                              f"{did_you_mean(decl.apexClass, known)} (declare it under types:, or "
                              "install the plug-in that defines it)", "type.unknown-class")
            return None
        return FlowType("Apex", apex_class=cls.name, collection=decl.collection)
    if decl.apexClass:
        checker.error(path + ("apexClass",), f"apexClass is only for type Apex, not {kind}",
                      "type.apex-class")
    if kind == "Record":
        if not decl.object:
            checker.error(path + ("type",), "type Record needs object: the object's API name",
                          "type.object")
            return None
        schema = checker.types.object_schema(decl.object)
        if schema is None:
            checker.error(path + ("object",), unknown_object(decl.object,
                                                             checker.types.object_names()),
                          "type.unknown-object")
            return None
        return FlowType("Record", object=schema.name, collection=decl.collection)
    if decl.object:
        checker.error(path + ("object",), f"object is only for type Record, not {kind}", "type.object")
    if decl.scale is not None and kind not in NUMERIC:
        checker.error(path + ("scale",), f"scale is only for Number and Currency, not {kind}",
                      "type.scale")
    scale = decl.scale if kind in NUMERIC else None
    if variable and kind in NUMERIC and scale is None:
        scale = 0
    return FlowType(kind, scale=scale, collection=decl.collection)



def declare_types(checker: Checker) -> None:
    registry = checker.loaded_registry
    plugin_classes = set(registry.types.classes) if registry is not None else set()
    declared: dict[str, str] = {}
    for name in checker.model.types:
        key = normalize_class_name(name).lower()
        path = ("types", name)
        if not CLASS_NAME.match(name):
            checker.error(path, f"class name {name!r} is not valid: expected names of letters, "
                          "digits and underscores joined by dots, e.g. Acme.Parcel",
                          "type.class-name", key=True)
        if key in declared:
            checker.error(path, f"class {name!r} is declared twice: {declared[key]!r} is the same "
                          "class (the __ spelling equals the dotted one, ignoring case)",
                          "type.duplicate-class", key=True)
            continue
        if key in plugin_classes:
            checker.error(path, f"class {name!r} is already defined by an installed plug-in; "
                          "give the flow's class another name", "type.duplicate-class", key=True)
            continue
        declared[key] = name
        checker.types.add_class(ApexClass(normalize_class_name(name), {}))
    for name, decl in checker.model.types.items():
        if declared.get(normalize_class_name(name).lower()) != name:
            continue
        fields: dict[str, ApexField] = {}
        for fname, fdecl in decl.fields.items():
            fpath = ("types", name, "fields", fname)
            problem = check_api_name(fname, "field name")
            if problem:
                checker.error(fpath, problem, "name.invalid", key=True)
            ftype = decl_type(checker, fdecl, fpath)
            if ftype is not None:
                fields[fname] = ApexField(ftype, description=fdecl.description or "")
        checker.types.add_class(ApexClass(normalize_class_name(name), fields, decl.description or ""))


def _class_may_be_broken(checker: Checker, name: str) -> bool:
    """A class declared in the flow with structural errors (reported), or a `types:` section
    that could not be read at all."""
    if "types" in checker.structure.dropped or checker.plugins_failed:
        return True
    wanted = normalize_class_name(name).lower()
    return any(normalize_class_name(str(b)).lower() == wanted
               for b in checker.structure.broken.get("types", ()))


def unknown_object(name: str, known: list[str]) -> str:
    """Why an object name is refused, and where objects come from."""
    return (f"unknown object {name!r}{did_you_mean(name, known)} (flowengine knows the standard "
            "objects, the installed plug-ins' and the project's own: a Salesforce DX project's "
            "objects/ folder, or a flowengine-objects.yaml beside the flows)")


# -- names ----------------------------------------------------------------------------------------
def declare_names(checker: Checker) -> None:
    m = checker.model
    entries: list[tuple[str, tuple[Any, ...], Symbol]] = []
    for name, var in m.variables.items():
        vtype = decl_type(checker, var, ("variables", name), variable=True)
        # no type: the declaration's error is reported; references to it are not
        entries.append((name, ("variables", name),
                        Symbol(name, "variable", vtype, var, broken=vtype is None)))
    for name, const in m.constants.items():
        ctype = canonical_kind(const.type)
        entries.append((name, ("constants", name),
                        Symbol(name, "constant", FlowType(ctype) if ctype else None, const,
                               broken=ctype in (None, "Apex", "Record"))))
    for name, formula in m.formulas.items():
        ftype = canonical_kind(formula.type)
        t = FlowType(ftype, scale=formula.scale) if ftype else None
        entries.append((name, ("formulas", name), Symbol(name, "formula", t, formula,
                                                         broken=ftype in (None, "Apex", "Record"))))
    for name, template in m.templates.items():
        entries.append((name, ("templates", name), Symbol(name, "template", FlowType("Text"), template)))
    for name, element in m.elements.items():
        entries.append((name, ("elements", name), Symbol(name, "element", None, element, element.type)))
        entries += kind_of(element).names(name, element)
    entries += _broken_entries(checker)
    entries += _kept_entries(checker)
    entries += _trigger_entries(checker)
    where: dict[str, tuple[Any, ...]] = {}
    for name, path, symbol in entries:
        problem = check_api_name(name) if symbol.kind != "trigger" else None
        if problem:
            checker.error(path, problem, "name.invalid", key=True)
        existing = checker.table.add(symbol)
        if existing is not None:
            first = where[existing.name.lower()]
            mark = checker.doc.locate(first, key=True) if checker.doc else None
            line = f" on line {mark[0]}" if mark else ""
            checker.error(path, f"duplicate name {name!r}: already used by the {existing.what} "
                          f"{existing.name!r}{line} (names are unique across variables, constants, "
                          "formulas, templates, elements and outcomes, ignoring case)",
                          "name.duplicate", key=True)
        else:
            where[name.lower()] = path
    # kinds whose symbol takes the type of another name (a Loop's items) bind after the others,
    # again and again while that makes more of them known: elements may come in any order
    later = []
    for name, element in m.elements.items():
        declared = checker.table.get(name)
        if declared is not None and declared.decl is element:
            kind = kind_of(element)
            if kind.binds_after_others:
                later.append((kind, name, element, declared))
            else:
                kind.bind(checker, name, element, declared)
    known = -1
    while later:
        for kind, name, element, declared in later:
            kind.bind(checker, name, element, declared)
        now = sum(symbol.type is not None for *_, symbol in later)
        if now == known:
            break
        known = now


def _trigger_entries(checker: Checker) -> list[tuple[str, tuple[Any, ...], Symbol]]:
    """$Record (the record or event that started the flow; before-save flows change it) and,
    for update triggers, $Record__Prior (its values before the update)."""
    trigger = checker.model.trigger
    if trigger is None:
        return []
    schema = checker.types.object_schema(trigger.object)
    rtype = FlowType("Record", object=schema.name) if schema is not None else None
    out = [("$Record", ("trigger", "object"),
            Symbol("$Record", "trigger", rtype, trigger, broken=rtype is None,
                   assignable=trigger.is_record))]
    if trigger.is_record and trigger.on in ("Update", "CreateAndUpdate"):
        out.append(("$Record__Prior", ("trigger", "object"),
                    Symbol("$Record__Prior", "trigger", rtype, trigger, broken=rtype is None)))
    return out


# resources of Salesforce XML that flowengine keeps (under `xml:`) without interpreting them
KEPT_RESOURCES = {"choices": "choice", "dynamicChoiceSets": "dynamic choice set", "stages": "stage"}


def _kept_entries(checker: Checker) -> list[tuple[str, tuple[Any, ...], Symbol]]:
    """The names of kept resources: taken in the namespace, references to them not judged."""
    out: list[tuple[str, tuple[Any, ...], Symbol]] = []
    kept = checker.model.xml or {}
    for section in KEPT_RESOURCES:
        items = kept.get(section)
        for i, item in enumerate(items if isinstance(items, list) else [items] if items else []):
            name = item.get("name") if isinstance(item, dict) else None
            if isinstance(name, str):
                path = ("xml", section, i) if isinstance(items, list) else ("xml", section)
                out.append((name, path, Symbol(name, "kept", None, item, broken=True)))
    return out


def _broken_entries(checker: Checker) -> list[tuple[str, tuple[Any, ...], Symbol]]:
    """Placeholders for entries that failed structural validation and could not be repaired:
    their names are taken (duplicates are still found) and references to them stay silent."""
    kinds = {"variables": "variable", "constants": "constant", "formulas": "formula",
             "templates": "template", "elements": "element"}
    raw_data = checker.doc.data if checker.doc and isinstance(checker.doc.data, dict) else {}
    out: list[tuple[str, tuple[Any, ...], Symbol]] = []
    for section, kind in kinds.items():
        present = getattr(checker.model, section)
        raw_section = raw_data.get(section)
        for name in sorted(checker.structure.broken.get(section, ()), key=str):
            if name in present:
                continue
            raw = raw_section.get(name) if isinstance(raw_section, dict) else None
            etype = raw.get("type") if isinstance(raw, dict) else None
            symbol = Symbol(str(name), kind, None, None,  # type: ignore[arg-type]
                            etype if isinstance(etype, str) else None, broken=True)
            out.append((str(name), (section, name), symbol))
    return out
