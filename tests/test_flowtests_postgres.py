"""The example flows' tests (flows/**/*.flowtest.yaml) on PostgreSQL: every case that needs an
org runs in a scratch org of its own on the test server, as `FLOWENGINE_TEST_ORG` makes flow
tests do. (pytest collects the same files for the SQLite run.)"""
from __future__ import annotations

from pathlib import Path

import pytest

from flowengine.testing.reader import load_flowtest
from flowengine.testing.runner import load_flow_under_test, render_failure, run_case

FLOWS = Path(__file__).resolve().parent.parent / "flows"
CASES = [(path, case.name) for path in sorted(FLOWS.rglob("*.flowtest.yaml"))
         for case in load_flowtest(path).cases
         if case.org is not None or case.expect.records]


def test_there_are_example_cases_that_use_an_org() -> None:
    assert len(CASES) >= 10, CASES


@pytest.mark.parametrize("path, name", CASES, ids=[f"{p.stem}-{n}" for p, n in CASES])
def test_example_flow_test_passes_on_postgresql(path: Path, name: str,
                                               postgres_database: str) -> None:
    test = load_flowtest(path)
    case = next(c for c in test.cases if c.name == name)
    outcome = run_case(test, case, load_flow_under_test(test), org_server=postgres_database)
    assert outcome.passed, render_failure(test, outcome)
