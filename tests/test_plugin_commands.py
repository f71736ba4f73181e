"""Plug-ins as the flow commands see them: the Order Management plug-in is found from any folder
(it is installed under its own name), and a plug-in that fails to load is reported by `validate`
and `run`, not only by the catalog commands."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

from plugins import install, site_dir  # noqa: F401 - `site_dir` is a fixture

ROOT = Path(__file__).resolve().parent.parent
CANCEL_FLOW = ROOT / "flows" / "cancel_fulfillment_order_items.yaml"


def flowengine(*args: str, cwd: Path, pythonpath: str = "") -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "NO_COLOR": "1", "PYTHONPATH": pythonpath}
    return subprocess.run([sys.executable, "-m", "flowengine", *args], capture_output=True,
                          text=True, cwd=cwd, env=env, timeout=60)


def test_validate_from_a_folder_with_an_unrelated_actions_package(tmp_path: Path) -> None:
    # `python -m` puts the current folder first on sys.path, where another project keeps its
    # own package called `actions`: the Order Management plug-in must still be found
    (tmp_path / "actions").mkdir()
    (tmp_path / "actions" / "__init__.py").write_text("RAISE = 'not the plug-in'\n")
    (tmp_path / "actions" / "order_management.py").write_text("raise ImportError('wrong one')\n")
    shutil.copy(CANCEL_FLOW, tmp_path / "cancel.yaml")
    done = flowengine("validate", "cancel.yaml", cwd=tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.strip() == "1 file checked: ok"
    assert "warning" not in done.stderr


def test_the_installed_distribution_has_no_package_called_actions() -> None:
    from importlib.metadata import distribution

    dist = distribution("flowengine")
    top_level = set((dist.read_text("top_level.txt") or "").split())
    assert top_level == {"flowengine", "flowengine_order_management"}
    entry = next(ep for ep in dist.entry_points if ep.group == "flowengine.actions")
    assert entry.value == "flowengine_order_management:plugin"


def test_validate_and_run_report_a_plugin_that_fails_to_load(site_dir: Path,
                                                             tmp_path: Path) -> None:
    install(site_dir, "broken_actions")
    env_path = str(site_dir)
    warning = ("warning: plug-in 'broken' (broken_actions:plugin) failed to load and was "
               "skipped: RuntimeError: broken on purpose: the database driver is missing")
    done = flowengine("validate", str(CANCEL_FLOW), cwd=tmp_path, pythonpath=env_path)
    assert done.returncode == 0, done.stderr
    assert warning in done.stderr.splitlines()
    done = flowengine("run", str(CANCEL_FLOW), "--org", str(tmp_path / "none.sqlite"),
                      cwd=tmp_path, pythonpath=env_path)
    assert warning in done.stderr.splitlines()


def test_an_unknown_action_says_that_a_plugin_could_not_load(site_dir: Path,
                                                            tmp_path: Path) -> None:
    install(site_dir, "broken_actions")
    flow = tmp_path / "ship.yaml"
    flow.write_text("flow: Ship\nelements:\n  Ship:\n    type: Action\n    action: shipIt\n"
                    "start: Ship\n")
    done = flowengine("validate", str(flow), cwd=tmp_path, pythonpath=str(site_dir))
    assert done.returncode == 1
    assert "unknown action 'shipIt'" in done.stdout
    assert "1 plug-in could not be loaded (see the warnings)" in done.stdout
    assert "failed to load and was skipped" in done.stderr
