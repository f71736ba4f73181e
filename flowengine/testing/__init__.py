"""Flow tests: `*.flowtest.yaml` files that pin down what a flow does, run by pytest.

The pytest plug-in (`flowengine.testing.plugin`, entry point group `pytest11`) collects every
`*.flowtest.yaml` file; each case becomes one test item. The same machinery is usable without
pytest:

    >>> from flowengine.testing import load_flowtest, load_flow_under_test, run_case
    >>> test = load_flowtest("flows/counter.flowtest.yaml")
    >>> outcome = run_case(test, test.cases[0], load_flow_under_test(test))
    >>> outcome.passed

The file format is documented in docs/testing.md.
"""
from __future__ import annotations

from flowengine.testing.reader import load_flowtest
from flowengine.testing.runner import (
                                       CaseOutcome,
                                       FlowTestFailure,
                                       load_flow_under_test,
                                       render_failure,
                                       run_case,
)
from flowengine.testing.spec import FlowTestFile, FlowTestSpecError

__all__ = ["CaseOutcome", "FlowTestFailure", "FlowTestFile", "FlowTestSpecError",
           "load_flow_under_test", "load_flowtest", "render_failure", "run_case"]
