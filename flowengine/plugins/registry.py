"""Action plug-ins: discovery through entry points, validation, and the registry the checker and
interpreter use.

A plug-in is a `Plugin` published under the entry-point group `flowengine.actions` (or a callable
returning one). Every plug-in is validated when it registers; a broken one becomes a warning that
names it and the others keep working. Two plug-ins claiming one action name is a `PluginError`.

Discovery imports every plug-in, so it happens once per process and only on demand
(`get_registry()`); the catalog commands read a cached copy of the metadata instead
(`flowengine.catalog`).
"""
from __future__ import annotations

import importlib.util
import os
import re
import sys
import threading
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from typing import Any, Final

from flowengine.errors import PluginError
from flowengine.plugins import Action, Parameter, Plugin
from flowengine.plugins.guard import PluginFailure, run_plugin_code
from flowengine.types import (
    ApexClass,
    ApexField,
    FlowType,
    TypeRegistry,
    canonical_kind,
    normalize_class_name,
)

__all__ = ["ENTRY_POINT_GROUP", "Registry", "get_registry", "load_registry", "plugin_problems",
           "reset_registry"]

ENTRY_POINT_GROUP: Final = "flowengine.actions"
# Salesforce API-name rules: a letter, then letters, digits and underscores
ACTION_NAME: Final = re.compile(r"[A-Za-z][A-Za-z0-9_]*")
# where pip puts packages: changes there show in the *.dist-info listing, no need to watch files
INSTALLER_DIRS: Final = frozenset({"site-packages", "dist-packages"})


@dataclass
class Registry:
    """Every action, Apex-defined class and org object the installed plug-ins contribute."""

    actions: dict[str, Action] = field(default_factory=dict)
    types: TypeRegistry = field(default_factory=TypeRegistry)
    warnings: list[str] = field(default_factory=list)
    plugins: list[Plugin] = field(default_factory=list)
    # entry-point modules tried, loaded or not: the catalog cache watches their files
    modules: list[str] = field(default_factory=list)
    # Apex class (lower-case dotted name) -> (the plug-in that defined it, whether its actions use it)
    class_origins: dict[str, tuple[str, bool]] = field(default_factory=dict, repr=False)

    def action(self, name: str) -> Action | None:
        """The action called `name`; falls back to a case-insensitive match."""
        found = self.actions.get(name)
        if found is None:
            folded = name.lower()
            found = next((a for n, a in self.actions.items() if n.lower() == folded), None)
        return found

    def metadata(self) -> dict[str, Any]:
        """What the catalog shows, as JSON-able data: the actions (by name), the Apex classes
        their parameters use (keyed by lower-case dotted name), and the warnings.
        `flowengine.catalog` caches it so that browsing needs no plug-in import."""
        ordered = sorted(self.actions.values(), key=lambda a: a.name.lower())
        actions = [_action_data(a) for a in ordered]
        classes: dict[str, Any] = {}
        pending = [p["type"]["apexClass"] for a in actions for p in a["inputs"] + a["outputs"]]
        while pending:
            cls = self.types.apex_class(pending.pop())
            key = normalize_class_name(cls.name).lower() if cls else ""
            if cls is not None and key not in classes:
                fields = [_parameter_data(name, f) for name, f in cls.fields.items()]
                classes[key] = {"name": cls.name, "description": cls.description, "fields": fields}
                pending.extend(f["type"]["apexClass"] for f in fields)
        return {"actions": actions, "apexClasses": classes, "warnings": list(self.warnings)}

    def source_dirs(self) -> list[str]:
        """Directories (or files) of the plug-ins' top-level packages that no installer manages
        (editable installs, `PYTHONPATH`): a cache of the metadata must watch their files."""
        found: set[str] = set()
        for module in self.modules:
            top = module.split(".")[0]
            for location in _locations(top) if top else ():
                if not set(os.path.normpath(location).split(os.sep)) & INSTALLER_DIRS:
                    found.add(os.path.abspath(location))
        return sorted(found)


def _action_data(action: Action) -> dict[str, Any]:
    return {"name": action.name, "label": action.label or action.name, "category": action.category,
            "description": action.description, "usage": action.usage, "editions": action.editions,
            "plugin": action.plugin,
            "inputs": [_parameter_data(p.name, p) for p in action.inputs],
            "outputs": [_parameter_data(p.name, p) for p in action.outputs]}


def _parameter_data(name: str, param: Parameter | ApexField) -> dict[str, Any]:
    t = param.type
    return {"name": name, "label": param.label or name, "description": param.description,
            "required": bool(param.required),
            "type": {"kind": t.kind, "apexClass": t.apex_class, "object": t.object,
                     "collection": t.collection, "scale": t.scale, "text": str(t)}}


def _locations(top: str) -> list[str]:
    module = sys.modules.get(top)
    if module is not None:
        return list(getattr(module, "__path__", None) or []) or \
            ([module.__file__] if getattr(module, "__file__", None) else [])
    try:  # the plug-in failed to import: find where it is without importing it
        spec = importlib.util.find_spec(top)
    except (ImportError, ValueError):
        return []
    if spec is None:
        return []
    return list(spec.submodule_search_locations or []) or ([spec.origin] if spec.origin else [])


# ---------------------------------------------------------------------------------------------
# Loading

def load_registry(entry_points: Iterable[Any] | None = None) -> Registry:
    """Discover, validate and register plug-ins (uncached).

    `entry_points` defaults to the installed `flowengine.actions` entry points; tests pass
    `importlib.metadata.EntryPoint` objects (or anything with `name`, `value` and `load()`).
    Raises `PluginError` when two plug-ins claim one action name.
    """
    if entry_points is None:
        from importlib.metadata import entry_points as installed
        entry_points = installed(group=ENTRY_POINT_GROUP)
    registry = Registry()
    owners: dict[str, tuple[str, str]] = {}  # folded action name -> (name, plug-in that has it)
    conflicts: list[str] = []
    for ep in sorted(entry_points, key=lambda e: (e.name, e.value)):
        registry.modules.append(ep.value.partition(":")[0].strip())
        origin = f"plug-in {ep.name!r} ({ep.value})"
        plugin = _load_plugin(ep, origin, registry.warnings)
        if plugin is None:
            continue
        if plugin.name and plugin.name != ep.name:
            origin = f"plug-in {plugin.name!r} ({ep.value})"
        try:
            problems = plugin_problems(plugin)
        except Exception as exc:   # attributes that break when read: as unusable as any
            problems = [f"reading it raised {type(exc).__name__}: {exc}"]
        if problems:
            registry.warnings.append(f"{origin} is invalid and was skipped: " + "; ".join(problems))
            continue
        for action in plugin.actions:
            first = owners.get(action.name.lower())
            if first is not None:
                spelling = f" (as {action.name!r})" if action.name != first[0] else ""
                conflicts.append(f"two plug-ins provide action {first[0]!r}: {first[1]} and "
                                 f"{origin}{spelling}; uninstall one of them")
                continue
            owners[action.name.lower()] = (action.name, origin)
            registry.actions[action.name] = \
                action if action.plugin else replace(action, plugin=plugin.name)
        _register_types(plugin, origin, registry)
        registry.plugins.append(plugin)
    if conflicts:
        error = PluginError("\n".join(conflicts))
        error.warnings = registry.warnings  # type: ignore[attr-defined]  # shown before the error
        raise error
    registry.warnings.extend(missing_class_warnings(registry))
    return registry


def _load_plugin(ep: Any, origin: str, warnings: list[str]) -> Plugin | None:
    def load() -> Any:
        obj = ep.load()
        if not isinstance(obj, Plugin) and callable(obj):
            obj = obj()
        return obj

    try:
        obj = run_plugin_code(load, origin)
    except PluginFailure as failure:
        exc = failure.cause
        cause = (f"it called sys.exit({exc.code!r}) (a plug-in must not end the program)"
                 if isinstance(exc, SystemExit) else f"{type(exc).__name__}: {exc}")
        warnings.append(f"{origin} failed to load and was skipped: {cause}")
        return None
    if not isinstance(obj, Plugin):
        warnings.append(f"{origin} was skipped: expected a flowengine.plugins.Plugin (or a function "
                        f"returning one), got {type(obj).__name__}")
        return None
    return obj


def plugin_problems(plugin: Plugin) -> list[str]:
    """What makes a plug-in unusable: bad or duplicate action names, untyped parameters..."""
    problems: list[str] = []
    if not isinstance(plugin.name, str) or not plugin.name.strip():
        problems.append("the plug-in has no name")
    for attribute in ("actions", "apex_classes", "objects", "invariants"):
        value = getattr(plugin, attribute, ())
        if not isinstance(value, (list, tuple)):
            problems.append(f"{attribute} is {type(value).__name__ if value is not None else 'None'}"
                            ", expected a list or tuple (empty when there are none)")
    if problems:
        return problems
    seen: set[str] = set()
    for index, action in enumerate(plugin.actions):
        if not isinstance(action, Action):
            problems.append(f"actions[{index}] is a {type(action).__name__}, not an Action")
            continue
        name = action.name
        if not isinstance(name, str) or not ACTION_NAME.fullmatch(name):
            problems.append(f"actions[{index}] has an invalid name {name!r} "
                            "(expected letters, digits and underscores, starting with a letter)")
            continue
        if name.lower() in seen:
            problems.append(f"action {name!r} is declared twice")
        seen.add(name.lower())
        if not callable(action.handler):
            problems.append(f"action {name!r} has no callable handler")
        for direction, params in (("input", action.inputs), ("output", action.outputs)):
            problems.extend(_parameter_problems(f"action {name!r}", direction, params))
    for index, cls in enumerate(plugin.apex_classes):
        if not isinstance(cls, ApexClass) or not cls.name:
            problems.append(f"apex_classes[{index}] is not a named ApexClass")
            continue
        for fname, fdef in cls.fields.items():
            problem = _type_problem(getattr(fdef, "type", None))
            if problem:
                problems.append(f"Apex class {cls.name!r} field {fname!r} {problem}")
    for index, schema in enumerate(plugin.objects):
        if not isinstance(getattr(schema, "name", None), str) or \
                not callable(getattr(schema, "field_types", None)):
            problems.append(f"objects[{index}] is not an object schema (a name and field_types())")
    for index, check in enumerate(getattr(plugin, "invariants", ())):
        if not callable(check):
            problems.append(f"invariants[{index}] is not callable")
    for index, job in enumerate(getattr(plugin, "after_commit", ())):
        if not callable(job):
            problems.append(f"after_commit[{index}] is not callable")
    for index, hook in enumerate(getattr(plugin, "save_hooks", ())):
        missing = [m for m in ("before_save", "after_save", "before_delete")
                   if not callable(getattr(hook, m, None))]
        if missing:
            problems.append(f"save_hooks[{index}] is not a save hook (it has no "
                            f"{', '.join(missing)})")
    return problems


def _parameter_problems(owner: str, direction: str, params: Iterable[Any]) -> list[str]:
    problems: list[str] = []
    names: set[str] = set()
    for index, param in enumerate(params):
        if not isinstance(param, Parameter) or not isinstance(param.name, str) or not param.name:
            problems.append(f"{owner} {direction} #{index + 1} is not a named Parameter")
            continue
        if param.name in names:
            problems.append(f"{owner} declares {direction} {param.name!r} twice")
        names.add(param.name)
        problem = _type_problem(param.type)
        if problem:
            problems.append(f"{owner} {direction} {param.name!r} {problem}")
    return problems


def _type_problem(ftype: Any) -> str | None:
    if not isinstance(ftype, FlowType):
        return f"has no type (got {type(ftype).__name__}, expected a FlowType)"
    if canonical_kind(ftype.kind) is None:
        return f"has unknown type {ftype.kind!r}"
    if ftype.kind == "Apex" and not ftype.apex_class:
        return "is Apex-typed but names no Apex class"
    if ftype.kind == "Record" and not ftype.object:
        return "is a Record but names no object"
    return None


def _register_types(plugin: Plugin, origin: str, registry: Registry) -> None:
    types = registry.types
    used = _classes_used(plugin)
    for cls in plugin.apex_classes:
        key = normalize_class_name(cls.name).lower()
        known = types.apex_class(cls.name)
        uses = key in used
        if known is not None and known != cls:
            # the plug-in whose actions use the class keeps it; otherwise the first one does
            first, first_uses = registry.class_origins[key]
            if uses and not first_uses:
                kept, dropped = origin, first
                types.add_class(cls)
                registry.class_origins[key] = (origin, uses)
            else:
                kept, dropped = first, origin
            why = "its actions use it" if (uses if kept == origin else first_uses) else \
                "it was loaded first"
            registry.warnings.append(f"{dropped} defines Apex class {cls.name!r} differently from "
                                     f"{kept}; the definition of {kept} is kept ({why})")
            continue
        if known is None:
            registry.class_origins[key] = (origin, uses)
        types.add_class(cls)
    for schema in plugin.objects:
        known_object = types.object_schema(schema.name)
        if known_object is not None and known_object is not schema:
            registry.warnings.append(f"{origin} redefines object {schema.name!r}; "
                                     "the first definition is kept")
            continue
        types.add_object(schema)


def _classes_used(plugin: Plugin) -> set[str]:
    """The Apex classes (lower-case dotted names) the plug-in's actions take or give, directly or
    through the fields of the plug-in's own classes."""
    own = {normalize_class_name(c.name).lower(): c for c in plugin.apex_classes}
    pending = [p.type.apex_class for a in plugin.actions for p in (*a.inputs, *a.outputs)]
    used: set[str] = set()
    while pending:
        key = normalize_class_name(pending.pop() or "").lower()
        if key and key not in used:
            used.add(key)
            if key in own:
                pending.extend(f.type.apex_class for f in own[key].fields.values())
    return used


def missing_class_warnings(registry: Registry) -> list[str]:
    """Apex classes that parameters (or fields of registered classes) use but no plug-in defines."""
    warnings: list[str] = []
    types = registry.types
    for action in registry.actions.values():
        for direction, params in (("input", action.inputs), ("output", action.outputs)):
            for param in params:
                name = param.type.apex_class
                if param.type.kind == "Apex" and types.apex_class(name) is None:
                    warnings.append(f"plug-in {action.plugin!r}: action {action.name!r} {direction} "
                                    f"{param.name!r} uses Apex class {name!r}, which no plug-in defines")
    for cls in list(types.classes.values()):
        for fname, fdef in cls.fields.items():
            name = fdef.type.apex_class
            if fdef.type.kind == "Apex" and types.apex_class(name) is None:
                warnings.append(f"Apex class {cls.name!r} field {fname!r} uses Apex class {name!r}, "
                                "which no plug-in defines")
    return warnings


# ---------------------------------------------------------------------------------------------
# The process-wide registry

_lock = threading.Lock()
_cached: Registry | None = None


def get_registry() -> Registry:
    """The installed plug-ins, discovered on first use and cached for the process."""
    global _cached
    with _lock:
        if _cached is None:
            _cached = load_registry()
        return _cached


def reset_registry() -> None:
    """Forget the cached registry (tests)."""
    global _cached
    with _lock:
        _cached = None
