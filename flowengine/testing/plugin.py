"""The pytest plug-in: collects `*.flowtest.yaml` files, one test item per case, and
Salesforce Flow Tests (`*.flowtest-meta.xml`, and `*.flowtest` in a `flowtests` folder), one
item each.

Registered through the `pytest11` entry point, or for a single run with
`pytest -p flowengine.testing.plugin`. It follows the "YAML test" pattern of the pytest docs: a
`pytest.File` subclass that parses the file and yields one `pytest.Item` per case. A case whose
flow flowengine cannot run (a screen flow, an element it does not run yet) or that asks for
what it cannot run (a scheduled path, Apex test data) is skipped, with the reason.
"""
from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from flowengine.api import Flow
    from flowengine.testing.spec import Case, FlowTestFile

SUFFIXES = (".flowtest.yaml", ".flowtest.yml")


def pytest_collect_file(file_path: Path, parent: pytest.Collector) -> pytest.Collector | None:
    """Collect flow test files; everything else is left to other plug-ins."""
    from flowengine.formats.sftest import is_flowtest_xml

    if file_path.name.endswith(SUFFIXES) or is_flowtest_xml(file_path):
        return FlowTestFileNode.from_parent(parent, path=file_path)
    return None


def _flow_error_text(exc: BaseException) -> str | None:
    """The text of errors a user can cause (bad test file, invalid flow, broken fixture):
    our own message with file:line, never a Python traceback."""
    from flowengine.errors import FlowError

    if isinstance(exc, FlowError):
        problems = getattr(exc, "problems", None)
        if problems:
            return "\n".join(str(p) for p in problems if p.severity == "error")
        return str(exc)
    return None


def _shown(path: Path) -> Path:
    """`path` relative to the current directory when it is below it: shorter messages."""
    try:
        return path.relative_to(Path.cwd())
    except ValueError:
        return path


class FlowTestFileNode(pytest.File):
    """A `*.flowtest.yaml` file: parsed when collected, its flow loaded once, on first use."""

    spec: FlowTestFile
    _flow: Flow | None = None
    _flow_error: BaseException | None = None

    def collect(self) -> Iterator[pytest.Item]:
        from flowengine.testing.reader import load_flowtest

        self.spec = load_flowtest(_shown(self.path))
        for case in self.spec.cases:
            item = FlowTestItem.from_parent(self, name=case.name, case=case)
            if case.skip:
                item.add_marker(pytest.mark.skip(reason=case.skip))
            if case.xfail:
                item.add_marker(pytest.mark.xfail(reason=case.xfail))
            yield item

    def flow(self) -> Flow:
        """The flow under test, loaded (and checked) once for all cases of the file."""
        from flowengine.testing.runner import load_flow_under_test

        if self._flow_error is not None:
            raise self._flow_error
        if self._flow is None:
            try:
                self._flow = load_flow_under_test(self.spec)
            except Exception as exc:
                self._flow_error = exc
                raise
        return self._flow

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException],
                     style: Any = None) -> Any:
        text = _flow_error_text(excinfo.value)
        if text is not None:
            return f"invalid flow test file:\n{text}"
        return super().repr_failure(excinfo)


class FlowTestItem(pytest.Item):
    """One case of a flow test file."""

    def __init__(self, *, case: Case, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.case = case

    def runtest(self) -> None:
        from flowengine.testing.runner import FlowTestFailure, run_case, skip_reason

        parent: FlowTestFileNode = self.parent  # type: ignore[assignment]
        flow = parent.flow()
        reason = skip_reason(flow)
        if reason is not None:
            pytest.skip(reason)
        outcome = run_case(parent.spec, self.case, flow)
        if not outcome.passed:
            raise FlowTestFailure(parent.spec, outcome)

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException],
                     style: Any = None) -> Any:
        from flowengine.testing.runner import FlowTestFailure

        if isinstance(excinfo.value, FlowTestFailure):
            return str(excinfo.value)
        text = _flow_error_text(excinfo.value)
        if text is not None:
            from flowengine.testing.checks import CaseSpecError
            if isinstance(excinfo.value, CaseSpecError):
                return f"flow test case {self.case.name!r} does not fit its flow:\n{text}"
            return f"flow test case {self.case.name!r} could not run:\n{text}"
        return super().repr_failure(excinfo, style=style)

    def reportinfo(self) -> tuple[Path, int, str]:
        return self.path, self.case.line - 1, f"flow test: {self.case.name}"
