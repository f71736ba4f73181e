"""Plug-ins are contained (issue #18, item 1): whatever a plug-in raises while it loads or runs —
`sys.exit()` included — is a warning or a fault of that plug-in, never a silent exit; it cannot
read or change the command line; invalid plug-in objects are skipped with a warning that names
the right plug-in; an action cannot end the interview's transaction.

Through the CLI, in a fresh process with the plug-in installed on PYTHONPATH (entry points are
read from there, as pip would install them)."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from plugins import install_source, site_dir  # noqa: F401 - `site_dir` is a fixture

ROOT = Path(__file__).resolve().parent.parent
CANCEL_FLOW = ROOT / "flows" / "cancel_fulfillment_order_items.yaml"
DEMO_FIXTURE = ROOT / "flows" / "fixtures" / "demo_org.yaml"

CALLS_EXIT_AT_IMPORT = "import sys\nsys.exit(0)\n"
PARSES_ARGV_AT_IMPORT = """\
import argparse
parser = argparse.ArgumentParser()
parser.add_argument("--zzz", required=True)
parser.parse_args()
"""
ACTIONS_NONE = """\
from flowengine.plugins import Plugin
plugin = Plugin(name="careless", actions=None)
"""
HOSTILE_ACTIONS = """\
import sys
from flowengine.plugins import Action, Plugin

def exit_now(inputs, context):
    sys.exit(0)

def commit_then_fail(inputs, context):
    context.org.insert("Location", {"Name": "Kept?"})
    context.org.commit()

def rollback_everything(inputs, context):
    context.org.rollback()

def read_argv(inputs, context):
    print("argv:", sys.argv)
    return {}

plugin = Plugin(name="hostile", actions=[
    Action(name=n, label=n, category="Hostile", description="d", handler=h)
    for n, h in [("exitNow", exit_now), ("commitThenFail", commit_then_fail),
                 ("rollbackEverything", rollback_everything), ("readArgv", read_argv)]])
"""
REDEFINES_CONNECTAPI = """\
from flowengine.plugins import Plugin
from flowengine.types import ApexClass, ApexField, Text
plugin = Plugin(name="aaa", apex_classes=[ApexClass(
    "ConnectApi.FulfillmentOrderLineItemInputRepresentation", {"x": ApexField(Text())})])
"""


def flowengine(*args: str, cwd: Path, site: Path) -> subprocess.CompletedProcess[str]:
    path = os.pathsep.join(p for p in (str(site), os.environ.get("PYTHONPATH", "")) if p)
    env = {**os.environ, "NO_COLOR": "1", "PYTHONPATH": path, "FLOWENGINE_NO_CACHE": "1"}
    return subprocess.run([sys.executable, "-m", "flowengine", *args], capture_output=True,
                          text=True, cwd=cwd, env=env, timeout=120)


def action_flow(tmp_path: Path, action: str) -> Path:
    path = tmp_path / f"{action}.yaml"
    path.write_text(f"flow: Call\nelements:\n  Go:\n    type: Action\n    action: {action}\n"
                    "start: Go\n")
    return path


@pytest.mark.parametrize("source, cause", [
    (CALLS_EXIT_AT_IMPORT, "it called sys.exit(0) (a plug-in must not end the program)"),
    (PARSES_ARGV_AT_IMPORT, "it called sys.exit(2) (a plug-in must not end the program)"),
])
def test_a_plugin_that_exits_while_loading_is_skipped_and_every_command_still_works(
        site_dir: Path, tmp_path: Path, source: str, cause: str) -> None:
    install_source(site_dir, "quitter", source)
    warning = f"warning: plug-in 'quitter' (quitter_actions:plugin) failed to load and was skipped: {cause}"

    done = flowengine("validate", str(CANCEL_FLOW), cwd=tmp_path, site=site_dir)
    assert done.returncode == 0 and done.stdout == "1 file checked: ok\n", done.stderr
    assert warning in done.stderr.splitlines()

    sarif = tmp_path / "lint.sarif"
    done = flowengine("lint", str(CANCEL_FLOW), "--format", "sarif", "-o", str(sarif),
                      "--fail-on", "never", cwd=tmp_path, site=site_dir)
    assert done.returncode == 0, done.stderr
    assert warning in done.stderr.splitlines()
    assert json.loads(sarif.read_text())["version"] == "2.1.0"

    done = flowengine("actions", "list", "--format", "json", cwd=tmp_path, site=site_dir)
    assert done.returncode == 0, done.stderr
    assert "cancelFulfillmentOrderItem" in {a["name"] for a in json.loads(done.stdout)}

    org = tmp_path / "org.sqlite"
    assert flowengine("org", "load", str(DEMO_FIXTURE), "--org", str(org), cwd=tmp_path,
                      site=site_dir).returncode == 0
    done = flowengine("run", str(CANCEL_FLOW), "--org", str(org), "-i",
                      "fulfillmentOrderId=0a3DM0000000001YAA", "-i",
                      "firstLineItemId=0a4DM0000000001YAA", cwd=tmp_path, site=site_dir)
    assert done.returncode == 0 and "Finished" in done.stdout, done.stderr


def test_a_plugin_with_actions_none_is_skipped_with_a_warning(site_dir: Path, tmp_path: Path) -> None:
    install_source(site_dir, "careless", ACTIONS_NONE)
    done = flowengine("actions", "list", cwd=tmp_path, site=site_dir)
    assert done.returncode == 0, done.stderr
    assert "cancelFulfillmentOrderItem" in done.stdout
    assert ("warning: plug-in 'careless' (careless_actions:plugin) is invalid and was skipped: "
            "actions is None, expected a list or tuple (empty when there are none)") in done.stderr
    done = flowengine("validate", str(CANCEL_FLOW), cwd=tmp_path, site=site_dir)
    assert done.returncode == 0, done.stdout + done.stderr


def test_a_class_conflict_names_the_plugin_whose_definition_is_dropped(
        site_dir: Path, tmp_path: Path) -> None:
    # 'aaa' is loaded first and redefines a class that order_management's actions use: the
    # warning blames 'aaa', and order_management keeps its class, so its flows still check
    install_source(site_dir, "aaa", REDEFINES_CONNECTAPI)
    done = flowengine("validate", str(CANCEL_FLOW), cwd=tmp_path, site=site_dir)
    assert done.returncode == 0, done.stdout
    assert ("warning: plug-in 'aaa' (aaa_actions:plugin) defines Apex class "
            "'ConnectApi.FulfillmentOrderLineItemInputRepresentation' differently from plug-in "
            "'order_management' (flowengine_order_management:plugin); the definition of plug-in "
            "'order_management' (flowengine_order_management:plugin) is kept (its actions use "
            "it)") in done.stderr


@pytest.fixture
def hostile(site_dir: Path, tmp_path: Path) -> tuple[Path, Path]:
    install_source(site_dir, "hostile", HOSTILE_ACTIONS)
    org = tmp_path / "org.sqlite"
    done = flowengine("org", "init", "--org", str(org), cwd=tmp_path, site=site_dir)
    assert done.returncode == 0, done.stderr
    return site_dir, org


def test_an_action_that_calls_sys_exit_fails_the_interview(hostile: tuple[Path, Path],
                                                           tmp_path: Path) -> None:
    site, org = hostile
    done = flowengine("run", str(action_flow(tmp_path, "exitNow")), "--org", str(org),
                      cwd=tmp_path, site=site)
    assert done.returncode == 1
    assert done.stdout.startswith("Call: Failed after 1 element")
    assert "error: Go (Action exitNow): action exitNow called sys.exit(0)" in done.stderr


@pytest.mark.parametrize("action, what", [("commitThenFail", "commit"),
                                          ("rollbackEverything", "roll back")])
def test_an_action_cannot_end_the_interviews_transaction(hostile: tuple[Path, Path],
                                                         tmp_path: Path, action: str,
                                                         what: str) -> None:
    site, org = hostile
    done = flowengine("run", str(action_flow(tmp_path, action)), "--org", str(org),
                      cwd=tmp_path, site=site)
    assert done.returncode == 1
    assert (f"INVALID_OPERATION: an action cannot {what} the interview's transaction") in done.stderr
    done = flowengine("org", "show", "Location", "--org", str(org), "--format", "json",
                      cwd=tmp_path, site=site)
    assert json.loads(done.stdout) == []          # the insert before commit() was rolled back


def test_an_action_sees_no_command_line_and_prints_to_stderr(hostile: tuple[Path, Path],
                                                            tmp_path: Path) -> None:
    site, org = hostile
    done = flowengine("run", str(action_flow(tmp_path, "readArgv")), "--org", str(org),
                      "--format", "json", cwd=tmp_path, site=site)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["status"] == "Finished"    # stdout is only the JSON
    assert "argv: [" in done.stderr and "--org" not in done.stderr.split("argv:")[1].split("\n")[0]


def test_keyboard_interrupt_in_an_action_is_an_interruption(site_dir: Path,
                                                            tmp_path: Path) -> None:
    install_source(site_dir, "impatient", """\
from flowengine.plugins import Action, Plugin
def stop(inputs, context):
    raise KeyboardInterrupt
plugin = Plugin(name="impatient", actions=[Action(name="stopNow", label="s", category="c",
                                                  description="d", handler=stop)])
""")
    org = tmp_path / "org.sqlite"
    flowengine("org", "init", "--org", str(org), cwd=tmp_path, site=site_dir)
    done = flowengine("run", str(action_flow(tmp_path, "stopNow")), "--org", str(org),
                      cwd=tmp_path, site=site_dir)
    assert done.returncode == 130 and done.stderr.strip().endswith("error: interrupted")


def test_the_org_handle_of_an_action_refuses_to_end_the_transaction(org_store: object) -> None:
    from flowengine.errors import OrgError
    from flowengine.plugins import ActionOrg

    tx = org_store.begin()  # type: ignore[attr-defined]
    handle = ActionOrg(tx)
    invoice = handle.insert("Invoice", {"Name": "INV-9"})
    assert handle.get("Invoice", invoice)["Name"] == "INV-9"
    for end in (handle.commit, handle.rollback, handle.close, handle.__enter__):
        with pytest.raises(OrgError, match="an action cannot .* the interview's transaction"):
            end()
    tx.rollback()
