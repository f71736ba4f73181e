"""Checks of what starts a flow (`trigger:`, Salesforce's Start element): the object, the kind
of change, the entry conditions (filters joined by logic, or a Boolean formula), and what a
before-save flow may do."""
from __future__ import annotations

from typing import TYPE_CHECKING, Any, Final

from flowengine.elements import kind_of
from flowengine.types import FlowType

if TYPE_CHECKING:
    from flowengine.check.checker import Checker
    from flowengine.model import Trigger, TriggerFilter

# the key of the entry formula in `CheckedFlow.formulas`, and of the filters' logic
ENTRY: Final = "$trigger"
UPDATES: Final = ("Update", "CreateAndUpdate")


def check_trigger(ctx: Checker) -> None:
    trigger = ctx.model.trigger
    if trigger is None:
        return
    base = ("trigger",)
    schema = ctx.types.object_schema(trigger.object)
    if schema is None:
        if not ctx.plugins_failed:
            from flowengine.check.declarations import unknown_object

            ctx.error(base + ("object",), unknown_object(trigger.object, ctx.types.object_names()),
                      "trigger.object")
        return
    event = bool(getattr(schema, "is_event", False))
    if trigger.type == "PlatformEvent":
        if not event:
            ctx.error(base + ("object",), f"a PlatformEvent trigger subscribes to a platform "
                      f"event, but {trigger.object} is an object (events end in __e, or are "
                      "standard events such as OrderSummaryCreatedEvent)", "trigger.object")
        if trigger.on is not None:
            ctx.error(base + ("on",), "on: is for record triggers (Create, Update, "
                      "CreateAndUpdate, Delete); a platform event is only published",
                      "trigger.on")
        if trigger.onlyWhenChanged is not None:
            ctx.error(base + ("onlyWhenChanged",), "onlyWhenChanged is for record triggers",
                      "trigger.on")
    else:
        _check_record_trigger(ctx, trigger, event)
    _check_conditions(ctx, trigger, schema)
    if "scheduledPaths" in (trigger.xml or {}):
        ctx.error(base, "the flow's scheduled paths (run later, or asynchronously) are kept but "
                  "not run: only its immediate path runs", "trigger.scheduled-paths",
                  severity="warning")


def _check_record_trigger(ctx: Checker, trigger: Trigger, event: bool) -> None:
    base = ("trigger",)
    if event:
        ctx.error(base + ("object",), f"{trigger.object} is a platform event: a flow it starts "
                  "has type: PlatformEvent", "trigger.object")
    if trigger.on is None:
        ctx.error(base + ("type",), f"a {trigger.type} trigger needs on: Create, Update, "
                  "CreateAndUpdate or Delete", "trigger.on", key=True)
    elif (trigger.type == "RecordBeforeDelete") != (trigger.on == "Delete"):
        ctx.error(base + ("on",), "a record being deleted starts a RecordBeforeDelete flow "
                  f"(on: Delete); a {trigger.type} flow starts on Create, Update or "
                  "CreateAndUpdate", "trigger.on")
    if trigger.onlyWhenChanged and trigger.on not in UPDATES:
        ctx.error(base + ("onlyWhenChanged",), "onlyWhenChanged (run only when an update makes "
                  "the record meet the conditions) needs on: Update or CreateAndUpdate",
                  "trigger.on")
    if trigger.onlyWhenChanged and not (trigger.filters or trigger.formula):
        ctx.error(base + ("onlyWhenChanged",), "onlyWhenChanged needs entry conditions "
                  "(filters: or formula:)", "trigger.on")
    if trigger.type == "RecordBeforeSave":
        for name, element in ctx.model.elements.items():
            facts = kind_of(element).facts(element)
            if facts.dml or facts.action is not None or element.type in (
                    "RollbackRecords", "Subflow"):
                ctx.error(("elements", name), f"a before-save flow (fast field updates) "
                          f"changes the fields of $Record only; {element.type} element {name} "
                          "cannot run in it (make the flow RecordAfterSave)", "trigger.before-save")


def _check_conditions(ctx: Checker, trigger: Trigger, schema: Any) -> None:
    from flowengine.elements import records as rec

    base = ("trigger",)
    if trigger.formula is not None:
        if trigger.filters:
            ctx.error(base + ("formula",), "entry conditions are filters or a formula, not both",
                      "trigger.conditions")
        ctx.compile_expression(f"{ENTRY}.formula", trigger.formula, FlowType("Boolean"),
                               base + ("formula",), "entry condition formula")
        return
    plain: list[TriggerFilter | None] = []
    for i, flt in enumerate(trigger.filters):
        if flt.op == "IsChanged":
            _check_is_changed(ctx, trigger, schema, i, flt)
            plain.append(None)
        else:
            plain.append(flt)
    for i, item in enumerate(plain):
        if item is not None:
            one = rec.RecordFilterModel(field=item.field, op=item.op, value=item.value)
            rec.check_filter(ctx, base + ("filters", i), schema, i, one)
    rec.check_logic(ctx, ENTRY, base, trigger.logic, len(trigger.filters))


def _check_is_changed(ctx: Checker, trigger: Trigger, schema: Any, index: int,
                      flt: TriggerFilter) -> None:
    from flowengine.elements import records as rec

    where = ("trigger", "filters", index)
    rec.check_field(ctx, where + ("field",), schema, flt.field)
    if trigger.on not in UPDATES:
        ctx.error(where + ("op",), "IsChanged compares a field with its value before an update: "
                  "it needs on: Update or CreateAndUpdate", "trigger.conditions")
    ctx.check_value(flt.value, FlowType("Boolean"), where + ("value",),
                    context="IsChanged takes True or False: ")
