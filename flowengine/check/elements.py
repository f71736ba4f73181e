"""Static checks of Assignment, Loop and Action elements (spec 4.1, 4.3, 4.4): write targets,
assignment operators by target type, loop collections and action parameters.

Like `flowengine.conditions.check_decision`, each check takes the `Checker` and reports through it.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

from flowengine.references import LiteralValue, PathSyntaxError, RefValue, TemplateValue, check_path
from flowengine.check.symbols import ResolvedPath, ResolveError, did_you_mean
from flowengine.types import NUMERIC, TEXT_LIKE, FlowType, assignable, describe

if TYPE_CHECKING:
    from flowengine.check.checker import Checker
    from flowengine.model import ActionElement, LoopElement

COLLECTION_ONLY_OPS = {"AddAtStart", "RemoveFirst", "RemoveAll", "RemoveAfterFirst",
                       "RemoveBeforeFirst", "RemovePosition", "RemoveUncommon"}
COLLECTION_OPS = ("Assign", "Add", "AddAtStart", "RemoveFirst", "RemoveAll", "RemoveAfterFirst",
                  "RemoveBeforeFirst", "RemovePosition", "RemoveUncommon")
SINGLE_OPS = {"Text": ("Assign", "Add"), "Multipicklist": ("Assign", "Add", "AddItem"),
              "Number": ("Assign", "Add", "Subtract", "AssignCount"),
              "Currency": ("Assign", "Add", "Subtract", "AssignCount"),
              "Date": ("Assign", "Add", "Subtract"), "DateTime": ("Assign", "Add", "Subtract")}
OP_ALIASES = {"Equals": "Assign", "EqualsCount": "AssignCount"}


def writable_target(checker: Checker, ref: Any, path: tuple[Any, ...]) -> ResolvedPath | None:
    """The resolved target of a write, or None after reporting why it cannot be written."""
    try:
        text = check_path(ref)
    except PathSyntaxError as exc:
        checker.error(path, str(exc), "reference.syntax")
        return None
    symbol = checker.table.get(text.split(".")[0])
    if symbol is not None and not symbol.writable and not symbol.broken:
        if symbol.kind == "element" and symbol.element_type == "Action":
            why = (f"{symbol.name} is an Action element, and action outputs are read-only (map "
                   "the output to a variable under the element's outputs: instead)")
        else:
            why = f"{symbol.name!r} is {symbol.a_what}, which is read-only"
        checker.error(path, f"cannot write to {text!r}: {why}; only variables can be written",
                      "write.readonly")
        return None
    rp = checker.resolve(text, path)
    if rp is None:
        return None
    if rp.symbol is None:
        checker.error(path, f"cannot write to the global {rp.text}: globals are read-only; only "
                      "variables can be written", "write.readonly")
        return None
    return rp


def check_assignment(checker: Checker, path: tuple[Any, ...], ref: str, op: str, value: Any) -> None:
    target = writable_target(checker, ref, path + ("ref",))
    if target is None:
        return
    t = target.type
    op = OP_ALIASES.get(op, op)
    vpath = path + ("value",)
    bad = f"operator {op} does not apply to {ref!r}, which is {t}"
    if t.collection:
        if op in ("Subtract", "AddItem", "AssignCount"):
            checker.error(path + ("op",), bad + " (a collection; it takes "
                          f"{', '.join(COLLECTION_OPS)})", "operator.type")
        elif op == "RemovePosition":
            checker.check_value(value, FlowType("Number", scale=0), vpath)
        else:   # an item, or a collection of them (see the table in spec 4.1)
            checker.check_value(value, t, vpath, (t.item,))
        return
    if op in COLLECTION_ONLY_OPS:
        checker.error(path + ("op",), f"{op} is a collection operator, but {ref!r} is a single "
                      f"value ({t}); use it on a collection variable", "operator.collection")
        return
    if op == "Assign":
        checker.check_value(value, t, vpath)
    elif op == "Add" and t.kind in TEXT_LIKE:
        checker.check_value(value, FlowType("Text"), vpath)
    elif op in ("Add", "Subtract") and (t.kind in NUMERIC or t.kind in ("Date", "DateTime")):
        checker.check_value(value, FlowType("Number"), vpath)
    elif op == "AddItem" and t.kind == "Multipicklist":
        checker.check_value(value, FlowType("Text"), vpath)
    elif op == "AssignCount" and t.kind in NUMERIC:
        spec, vtype = checker.value_types(value, vpath)
        if spec is None or (isinstance(spec, RefValue) and (vtype is None or vtype.collection)):
            return
        found = (f"{{!{spec.path}}}, a single value ({vtype})" if isinstance(spec, RefValue)
                 else "text with merge fields" if isinstance(spec, TemplateValue)
                 else describe(spec.value) if isinstance(spec, LiteralValue) else "a literal")
        checker.error(vpath, "AssignCount counts the items of a collection: the value must be a "
                      f"merge field of a collection, e.g. \"{{!lineItems}}\"; found {found}",
                      "value.type")
    else:
        takes = SINGLE_OPS.get("Text" if t.kind in ("Text", "Picklist") else t.kind, ("Assign",))
        checker.error(path + ("op",), f"{bad} (a {t.kind} takes {', '.join(takes)})",
                      "operator.type")


def loop_item_type(checker: Checker, name: str, element: LoopElement,
                   report: bool = True) -> FlowType | None:
    """The type of the items of a Loop's collection; None (reported when `report`) if it has none."""
    path = ("elements", name, "collection")
    if report:
        rp = checker.resolve(element.collection, path, "loop collection")
    else:
        try:
            rp = checker.table.resolve(check_path(element.collection))
        except (ResolveError, PathSyntaxError):
            return None
    if rp is None:
        return None
    if not rp.type.collection:
        if report:
            checker.error(path, f"a Loop needs a collection, but {element.collection!r} is a "
                          f"single value ({rp.type})", "loop.collection")
        return None
    return rp.type.item


def check_loop(checker: Checker, name: str, element: LoopElement) -> None:
    item_type = loop_item_type(checker, name, element)
    if element.item:
        target = writable_target(checker, element.item, ("elements", name, "item"))
        if target is not None and item_type is not None:
            if target.type.collection or not assignable(item_type, target.type):
                checker.error(("elements", name, "item"), f"loop variable {element.item!r} is "
                              f"{target.type}, but the items of {element.collection!r} are "
                              f"{item_type}", "loop.item")


def check_action(checker: Checker, name: str, element: ActionElement) -> None:
    action = checker.actions.get(name)
    if action is None:
        return
    base = ("elements", name)
    names = [p.name for p in action.inputs]
    for pname, raw in element.inputs.items():
        param = action.input(pname)
        if param is None:
            checker.error(base + ("inputs", pname), f"element {name}: action {action.name} has no "
                          f"input {pname!r}{did_you_mean(pname, names)} (its inputs: "
                          f"{', '.join(names) or 'none'})", "action.input", key=True)
            continue
        checker.check_value(raw, param.type, base + ("inputs", pname),
                            context=f"element {name}: input {pname} of action {action.name} "
                                    f"expects {param.type}: ")
    for param in action.inputs:
        if param.required and param.name not in element.inputs:
            checker.error(base + ("inputs",) if element.inputs else base + ("action",),
                          f"element {name} does not set the required input {param.name!r} "
                          f"({param.type}) of action {action.name}", "action.required",
                          key=True)
    outputs = [p.name for p in action.outputs]
    for oname, target_path in element.outputs.items():
        param = action.output(oname)
        if param is None:
            checker.error(base + ("outputs", oname), f"element {name}: action {action.name} has "
                          f"no output {oname!r}{did_you_mean(oname, outputs)} (its outputs: "
                          f"{', '.join(outputs) or 'none'})", "action.output", key=True)
            continue
        target = writable_target(checker, target_path, base + ("outputs", oname))
        if target is not None and not assignable(param.type, target.type):
            checker.error(base + ("outputs", oname), f"element {name}: output {oname} of action "
                          f"{action.name} is {param.type}, which does not fit {target_path!r} "
                          f"({target.type})", "action.output-type")
