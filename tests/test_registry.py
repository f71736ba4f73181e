"""Plug-in discovery: entry points, validation, conflicts, broken plug-ins, load once."""
from __future__ import annotations

import subprocess
import sys
from importlib.metadata import EntryPoint
from pathlib import Path

import pytest
from plugins import install, site_dir  # noqa: F401 - `site_dir` is a fixture

from flowengine.errors import PluginError
from flowengine.plugins import Action, Parameter, Plugin, registry
from flowengine.plugins.registry import get_registry, load_registry, reset_registry
from flowengine.types import Apex, ApexClass, ApexField, FlowType, Text

ROOT = Path(__file__).resolve().parent.parent


def handler(inputs, context):
    return {}


def entry_point(name: str, value: str) -> EntryPoint:
    return EntryPoint(name, value, registry.ENTRY_POINT_GROUP)


class LoadedEntryPoint:
    """An entry point whose load() returns a given object, as the tests need."""

    def __init__(self, name: str, obj: object) -> None:
        self.name, self.value, self.obj = name, f"fake_{name}:plugin", obj

    def load(self) -> object:
        return self.obj


def action(name: str, *inputs: Parameter) -> Action:
    return Action(name=name, label=name, category="Test", description="", handler=handler,
                  inputs=inputs)


# ---------------------------------------------------------------------------------------------
# discovery

def test_discovers_a_plugin_installed_outside_the_repository(site_dir: Path) -> None:
    install(site_dir, "acme_actions")

    found = load_registry()  # the installed entry points, this temporary site included

    cancel = found.actions["cancelShipmentItem"]
    assert cancel.plugin == "acme"
    assert found.action("CANCELSHIPMENTITEM") is cancel  # case-insensitive lookup
    assert found.action("cancelShipmentItems") is None
    assert "acme" in [p.name for p in found.plugins]
    assert found.types.apex_class("Acme.ShipmentItemsToCancelInputRepresentation") is not None
    assert found.types.apex_class("Acme__ShipmentItemInputRepresentation") is not None
    assert "acme_actions" in found.modules
    assert not [w for w in found.warnings if "acme" in w]


def test_an_entry_point_may_name_a_function_that_returns_the_plugin(site_dir: Path) -> None:
    install(site_dir, "rival_actions")
    found = load_registry([entry_point("rival", "rival_actions:plugin")])
    assert list(found.actions) == ["CancelShipmentItem"]
    assert found.warnings == []


def test_two_plugins_claiming_one_action_name_is_an_error_naming_both(site_dir: Path) -> None:
    install(site_dir, "acme_actions")
    install(site_dir, "rival_actions")
    eps = [entry_point("acme", "acme_actions:plugin"), entry_point("rival", "rival_actions:plugin")]
    with pytest.raises(PluginError, match=r"two plug-ins provide action 'cancelShipmentItem': "
                                          r"plug-in 'acme' \(acme_actions:plugin\) and plug-in "
                                          r"'rival' \(rival_actions:plugin\) \(as 'CancelShipmentItem'\)"):
        load_registry(eps)


def test_a_broken_plugin_is_a_warning_and_the_others_keep_working(site_dir: Path) -> None:
    install(site_dir, "acme_actions")
    install(site_dir, "broken_actions")
    found = load_registry([entry_point("broken", "broken_actions:plugin"),
                           entry_point("acme", "acme_actions:plugin"),
                           entry_point("gone", "no_such_module_here:plugin")])
    assert sorted(found.actions) == ["cancelShipmentItem", "createShipment"]
    assert len(found.warnings) == 2
    broken, gone = found.warnings
    assert broken.startswith("plug-in 'broken' (broken_actions:plugin) failed to load")
    assert "RuntimeError: broken on purpose" in broken
    assert gone.startswith("plug-in 'gone' (no_such_module_here:plugin) failed to load")
    assert "ModuleNotFoundError" in gone
    assert found.modules == ["acme_actions", "broken_actions", "no_such_module_here"]


def test_an_entry_point_that_is_not_a_plugin_is_a_warning() -> None:
    found = load_registry([LoadedEntryPoint("numbers", 42), LoadedEntryPoint("ok", Plugin("ok"))])
    assert found.warnings == ["plug-in 'numbers' (fake_numbers:plugin) was skipped: expected a "
                              "flowengine.plugins.Plugin (or a function returning one), got int"]
    assert [p.name for p in found.plugins] == ["ok"]


def test_an_invalid_plugin_is_skipped_with_every_problem_named() -> None:
    bad = Plugin("bad", actions=(
        action("fine"),
        action(""),
        action("twice"), action("TWICE"),
        action("untyped", Parameter("qty", None)),  # type: ignore[arg-type]
        action("unknownKind", Parameter("qty", FlowType("Decimal"))),
        action("noClass", Parameter("input", FlowType("Apex"))),
    ), objects=("Parcel__c",), invariants=("not a function",))  # type: ignore[arg-type]
    good = Plugin("good", (action("good"),))
    found = load_registry([LoadedEntryPoint("bad", bad), LoadedEntryPoint("good", good)])
    assert list(found.actions) == ["good"]
    [warning] = found.warnings
    assert warning.startswith("plug-in 'bad' (fake_bad:plugin) is invalid and was skipped: ")
    for problem in ("actions[1] has an invalid name ''", "action 'TWICE' is declared twice",
                    "action 'untyped' input 'qty' has no type (got NoneType, expected a FlowType)",
                    "action 'unknownKind' input 'qty' has unknown type 'Decimal'",
                    "action 'noClass' input 'input' is Apex-typed but names no Apex class",
                    "objects[0] is not an object schema", "invariants[0] is not callable"):
        assert problem in warning


def test_an_apex_class_that_no_plugin_defines_is_a_warning() -> None:
    uses_missing = action("ship", Parameter("parcel", Apex("Acme.Parcel")), Parameter("note", Text()))
    defines = ApexClass("Acme.Box", {"inner": ApexField(Apex("Acme.Missing"))})
    found = load_registry([LoadedEntryPoint("p", Plugin("p", (uses_missing,), (defines,)))])
    assert "ship" in found.actions  # still usable: the checker reports the flows that use it
    assert found.warnings == [
        "plug-in 'p': action 'ship' input 'parcel' uses Apex class 'Acme.Parcel', which no plug-in "
        "defines",
        "Apex class 'Acme.Box' field 'inner' uses Apex class 'Acme.Missing', which no plug-in defines"]


def test_classes_may_come_from_another_plugin_and_conflicting_ones_warn() -> None:
    parcel = ApexClass("Acme.Parcel", {"weight": ApexField(Text())})
    other_parcel = ApexClass("Acme.Parcel", {"weight": ApexField(FlowType("Number"))})
    found = load_registry([
        LoadedEntryPoint("a", Plugin("a", (action("ship", Parameter("p", Apex("Acme.Parcel"))),))),
        LoadedEntryPoint("b", Plugin("b", apex_classes=(parcel,))),
        LoadedEntryPoint("c", Plugin("c", apex_classes=(other_parcel,))),
    ])
    assert found.types.apex_class("acme.parcel") is parcel
    assert found.warnings == ["plug-in 'c' (fake_c:plugin) defines Apex class 'Acme.Parcel' "
                              "differently from plug-in 'b' (fake_b:plugin); the definition of "
                              "plug-in 'b' (fake_b:plugin) is kept (it was loaded first)"]


# ---------------------------------------------------------------------------------------------
# loaded once, and only when needed

def test_get_registry_discovers_once_per_process(monkeypatch: pytest.MonkeyPatch) -> None:
    calls = []
    monkeypatch.setattr(registry, "load_registry", lambda: calls.append(1) or registry.Registry())
    reset_registry()
    try:
        first = get_registry()
        assert get_registry() is first
        assert len(calls) == 1
        reset_registry()
        assert get_registry() is not first
        assert len(calls) == 2
    finally:
        reset_registry()


def test_help_and_a_flow_without_actions_do_not_load_plugins(tmp_path: Path) -> None:
    flow = tmp_path / "no_actions.yaml"
    flow.write_text("flow: No_Actions\nvariables:\n  x: {type: Number, output: true}\n"
                    "elements:\n  Set:\n    type: Assignment\n    assignments:\n"
                    "      - {ref: x, op: Assign, value: 1}\nstart: Set\n")
    script = ("import contextlib, io, sys\n"
              "from flowengine.cli import main\n"
              "with contextlib.redirect_stdout(io.StringIO()):\n"
              "    try:\n"
              "        main(['--help'])\n"
              "    except SystemExit:\n"
              "        pass\n"
              f"    rc = main(['validate', {str(flow)!r}])\n"
              "print(rc, sorted(m for m in sys.modules if m == 'flowengine.plugins.registry' "
              "or m.startswith('actions.')))\n")
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, cwd=ROOT,
                         timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "0 []"
