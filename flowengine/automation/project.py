"""A flow project: the flows that automation may start and that subflows may call.

A project is a folder (`--project DIR`, default the current folder): a Salesforce DX project's
flows (its package directories), or the flow files in the folder and its subfolders — but not
those of another DX project nested inside. A flow is named by its API name (`flow:` in YAML,
the file name in Salesforce XML). Only Active flows are started by automation, as in Salesforce
(`status:`; YAML flows without one are Active). Flows are read when first needed: listing the
project reads every file's header (its trigger and status) without checking the flows; a flow
that runs is checked and compiled once.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from flowengine.errors import FlowError, LoadError

if TYPE_CHECKING:
    from flowengine.api import Flow
    from flowengine.model import FlowModel, Trigger

__all__ = ["FlowProject", "ProjectFlow", "find_project_root", "open_project", "subflow"]


@dataclass
class ProjectFlow:
    """One flow file of a project: what its header says, and the flow once loaded."""

    name: str
    path: str
    trigger: Trigger | None
    status: str
    process_type: str
    _flow: Flow | None = None
    _error: FlowError | None = None
    _loading: bool = False

    @property
    def active(self) -> bool:
        return self.status == "Active"

    @property
    def sort_key(self) -> tuple[int, str]:
        """Salesforce's trigger order: by `order` (unset: after every ordered flow), then by
        API name."""
        order = self.trigger.order if self.trigger is not None else None
        return (order if order is not None else 1_000_000, self.name.lower())


@dataclass
class FlowProject:
    """The flows of a project folder (see the module docstring)."""

    root: Path
    flows: dict[str, ProjectFlow] = field(default_factory=dict)   # lower-case name → flow
    problems: list[str] = field(default_factory=list)            # files that could not be read

    @classmethod
    def open(cls, root: str | os.PathLike[str] | None = None) -> FlowProject:
        """The project in `root` (default: the current folder); its files' headers are read
        now. A file that cannot be read is named in `problems` and left out."""
        from flowengine.cache import load_structure

        folder = Path(root if root is not None else os.getcwd()).resolve()
        if not folder.is_dir():
            raise LoadError(f"project {os.fspath(folder)!r} is not a folder")
        project = cls(folder)
        for path in _project_files(folder):
            try:
                model: FlowModel = load_structure(path)[1].model
            except FlowError as exc:
                project.problems.append(f"{path}: {exc}")
                continue
            except Exception as exc:  # a file whose structure is broken: named, not fatal
                project.problems.append(f"{path}: {type(exc).__name__}: {exc}")
                continue
            key = model.flow.lower()
            if key in project.flows:
                project.problems.append(f"{path}: flow {model.flow} is also "
                                        f"{project.flows[key].path}; the first one is used")
                continue
            project.flows[key] = ProjectFlow(model.flow, path, model.trigger,
                                             model.status or "Active",
                                             model.processType or "AutoLaunchedFlow")
        return project

    # -- what automation starts ----------------------------------------------------------------
    def record_triggered(self, object_name: str, trigger_type: str,
                         change: str) -> list[ProjectFlow]:
        """Active flows that a `change` (Create, Update, Delete) of an `object_name` record
        starts with `trigger_type` (RecordBeforeSave, RecordAfterSave, RecordBeforeDelete), in
        trigger order."""
        found = []
        for pf in self.flows.values():
            t = pf.trigger
            if not pf.active or t is None or t.type != trigger_type or \
                    t.object.lower() != object_name.lower():
                continue
            if t.on == change or (t.on == "CreateAndUpdate" and change in ("Create", "Update")):
                found.append(pf)
        return sorted(found, key=lambda f: f.sort_key)

    def subscribers(self) -> list[ProjectFlow]:
        """Active flows that platform events start, in trigger order."""
        return sorted((pf for pf in self.flows.values() if pf.active and pf.trigger is not None
                       and pf.trigger.type == "PlatformEvent"), key=lambda f: f.sort_key)

    def has_automation(self) -> bool:
        return any(pf.active and pf.trigger is not None for pf in self.flows.values())

    # -- loading ---------------------------------------------------------------------------------
    def find(self, name: str) -> ProjectFlow | None:
        return self.flows.get(name.lower())

    def load(self, pf: ProjectFlow, registry: Any = None) -> Flow:
        """The flow checked and compiled (once); raises its FlowError (kept for next time)."""
        if pf._flow is None and pf._error is None:
            from flowengine.api import load_flow

            pf._loading = True
            try:
                flow = load_flow(pf.path, registry=registry)
                _ = flow.compiled           # an unsupported element refuses here, once
                pf._flow = flow
            except FlowError as exc:
                pf._error = exc
            finally:
                pf._loading = False
        if pf._error is not None:
            raise pf._error
        assert pf._flow is not None
        return pf._flow


def find_project_root(start: str | os.PathLike[str]) -> Path:
    """The project a flow file belongs to: the nearest folder upward holding an
    `sfdx-project.json`, else the file's own folder."""
    here = Path(start).resolve()
    folder = here if here.is_dir() else here.parent
    for candidate in (folder, *folder.parents):
        if (candidate / "sfdx-project.json").is_file():
            return candidate
    return folder


def _project_files(folder: Path) -> list[str]:
    """The flow files of the project in `folder` (not those of DX projects nested in it)."""
    from flowengine.formats.discover import expand_paths

    files = expand_paths([folder])
    if (folder / "sfdx-project.json").is_file():
        return files
    nested = [p.parent.resolve() for p in folder.rglob("sfdx-project.json")]
    return [f for f in files if not any(Path(f).resolve().is_relative_to(n) for n in nested)]


_PROJECTS: dict[Path, tuple[tuple[tuple[str, int], ...], FlowProject]] = {}


def open_project(root: str | os.PathLike[str]) -> FlowProject:
    """The project in `root`, read once while none of its flow files changes."""
    folder = Path(root).resolve()
    stamp = tuple((f, _mtime(f)) for f in _project_files(folder))
    cached = _PROJECTS.get(folder)
    if cached is not None and cached[0] == stamp:
        return cached[1]
    project = FlowProject.open(folder)
    _PROJECTS[folder] = (stamp, project)
    return project


def _mtime(file: str) -> int:
    try:
        return os.stat(file).st_mtime_ns
    except OSError:
        return 0


def subflow(caller_file: str | None, name: str) -> tuple[Flow | None, str | None]:
    """The flow `name` of the project the flow file `caller_file` is in (`find_project_root`),
    checked and compiled — or None and why not."""
    root = find_project_root(caller_file) if caller_file else Path(os.getcwd())
    project = open_project(root)
    pf = project.find(name)
    if pf is None:
        known = sorted(f.name for f in project.flows.values())
        from flowengine.errors import did_you_mean

        return None, (f"no flow {name!r} in the project {os.fspath(root)}"
                      f"{did_you_mean(name, known)} (a subflow is a flow of the same project: "
                      "a Salesforce DX project, or the calling flow's folder)")
    if pf._loading:
        return None, None             # flows that call each other: checked when it is loaded
    try:
        return project.load(pf), None
    except FlowError as exc:
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        return None, f"the subflow {pf.name} ({pf.path}) cannot run: {first}"
