"""The façade: load → check → compile → run, in that order."""
from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from flowengine.errors import FlowError, Problem

if TYPE_CHECKING:
    from flowengine.check.checker import CheckedFlow
    from flowengine.org.base import OrgStore
    from flowengine.runtime import CompiledFlow, InterviewResult


class Flow:
    """A flow file that loaded and passed every check; compiled on first run."""

    def __init__(self, checked: CheckedFlow, path: str | None = None) -> None:
        self.checked = checked
        self.path = path
        self._compiled: CompiledFlow | None = None

    @property
    def name(self) -> str:
        return self.checked.name

    @property
    def model(self) -> Any:
        return self.checked.model

    @property
    def warnings(self) -> list[Problem]:
        return [p for p in self.checked.warnings if p.severity != "error"]

    @property
    def project_dir(self) -> str | None:
        """The folder the flow file is in: its project (objects, subflows) is found from there
        upward; None for a flow not read from a file."""
        return os.path.dirname(os.path.abspath(self.path)) if self.path else None

    @property
    def unsupported(self) -> list[Problem]:
        """What the flow uses that flowengine cannot run yet, one problem each (with its line)."""
        return [p for p in self.checked.warnings if p.code == "unsupported"]

    @property
    def compiled(self) -> CompiledFlow:
        """The flow compiled to run; raises UnsupportedError when it uses something flowengine
        cannot run yet."""
        if self._compiled is None:
            unsupported = self.unsupported
            if unsupported:
                from dataclasses import replace

                from flowengine.errors import UnsupportedError
                raise UnsupportedError([replace(p, severity="error") for p in unsupported])
            from flowengine.runtime import CompiledFlow
            self._compiled = CompiledFlow(self.checked)
        return self._compiled

    @property
    def input_types(self) -> dict[str, Any]:
        return dict(self.compiled.inputs)

    def run(self, inputs: Mapping[str, Any] | None = None, *, org: OrgStore | str | None = None,
            trace: bool = False, max_elements: int | None = None,
            rollback: bool = False, record: Any = None, prior: Any = None) -> InterviewResult:
        """Run one interview. `org` is an open org store, or the path or URL of one (see
        `flowengine.org.open_org`); without it, actions
        that need records fault with ORG_REQUIRED. Raises InputError for bad inputs; a flow that
        faults returns a result with status "Failed" rather than raising. A triggered flow run
        by hand takes `record` (`$Record`: a RecordValue, or a mapping of its fields) and, for
        an update, `prior` (`$Record__Prior`)."""
        if max_elements is not None and (type(max_elements) is not int or max_elements < 1):
            raise ValueError(f"max_elements must be a positive whole number, not {max_elements!r}")
        store = org
        opened = False
        if isinstance(org, (str, os.PathLike)):
            from flowengine.org import open_org
            store = open_org(org, project=self.project_dir)
            opened = True
        record, prior = self._records(record, prior)
        try:
            return self.compiled.run(inputs, store, trace, max_elements, rollback,
                                     record=record, prior=prior)
        finally:
            if opened:
                store.close()  # type: ignore[union-attr]

    def _records(self, record: Any, prior: Any) -> tuple[Any, Any]:
        """`$Record` and `$Record__Prior` as record values of the trigger's object."""
        if record is None and prior is None:
            return None, None
        trigger = self.model.trigger
        if trigger is None:
            from flowengine.errors import InputError
            raise InputError(f"flow {self.name} has no trigger: $Record is only for flows that a "
                             "record change or a platform event starts")
        from flowengine.types import FlowType, RecordValue, convert_literal

        rtype = FlowType("Record", object=trigger.object)

        def typed(value: Any, what: str) -> Any:
            if value is None or isinstance(value, RecordValue):
                return value
            try:
                return convert_literal(value, rtype, self.checked.types)
            except ValueError as exc:
                from flowengine.errors import InputError
                raise InputError(f"{what}: {exc}") from None
        return typed(record, "$Record"), typed(prior, "$Record__Prior")

    def __repr__(self) -> str:
        return f"Flow({self.name!r}, path={self.path!r})"


def load_flow(path: str | os.PathLike[str], registry: Callable[[], Any] | None = None) -> Flow:
    """Read, parse and check a flow file. Raises LoadError or ValidationError (with every
    problem, each with file, line and column)."""
    from flowengine.cache import load_structure
    from flowengine.check.checker import check_structure

    doc, structure = load_structure(path)   # parsed and validated once per content
    return Flow(check_structure(doc, structure, registry), os.fspath(path))


def load_flow_text(text: str, file: str | None = None,
                   registry: Callable[[], Any] | None = None) -> Flow:
    """Like load_flow, from YAML text."""
    from flowengine.check.checker import check_flow
    from flowengine.formats import parse_source

    return Flow(check_flow(parse_source(text, file), registry), file)


def validate_file(path: str | os.PathLike[str]) -> list[Problem]:
    """Every problem in a flow file (errors and warnings), without raising."""
    try:
        flow = load_flow(path)
    except FlowError as exc:
        return list(getattr(exc, "problems", [])) or [Problem("error", "load", str(exc), os.fspath(path))]
    except Exception as exc:
        return [Problem("error", "internal", f"internal error while checking: {type(exc).__name__}: "
                        f"{exc}", os.fspath(path))]
    return flow.warnings


def run_flow(flow: Flow | str | os.PathLike[str], inputs: Mapping[str, Any] | None = None,
             **options: Any) -> InterviewResult:
    """Load (when given a path) and run a flow; options as for Flow.run."""
    if not isinstance(flow, Flow):
        flow = load_flow(flow)
    return flow.run(inputs, **options)
