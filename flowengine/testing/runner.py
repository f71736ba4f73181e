"""Running one flow test case, independent of pytest: fresh org, mocks, interview, expectations.

    test = load_flowtest("flows/counter.flowtest.yaml")
    flow = load_flow_under_test(test)
    outcome = run_case(test, test.cases[0], flow)
    if not outcome.passed:
        print(render_failure(test, outcome))
"""
from __future__ import annotations

import atexit
import os
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

from flowengine.errors import FlowError, OrgError
from flowengine.testing.assertions import Mismatch, evaluate, same, shorten, show
from flowengine.testing.checks import FinalState, PreparedCase, prepare_case
from flowengine.testing.mocks import MockingRegistry, MockPlan, active_plan
from flowengine.testing.spec import Case, FlowTestFile

if TYPE_CHECKING:
    from flowengine.api import Flow
    from flowengine.runtime import InterviewResult

__all__ = ["CaseOutcome", "FlowTestFailure", "load_flow_under_test", "render_failure", "run_case",
           "skip_reason"]

TRACE_HEAD: Final = 15       # a long trace shows its first and last steps
TRACE_TAIL: Final = 25
MAX_STEP_TEXT: Final = 2_000     # characters of one trace step in a failure
MAX_FAILURE_TEXT: Final = 20_000  # characters of a whole failure


@dataclass
class CaseOutcome:
    """What running a case found: the interview's result and every failed expectation."""

    case: Case
    result: InterviewResult
    mismatches: list[Mismatch]
    plan: MockPlan = field(repr=False)
    started: bool = True        # False: the triggering record did not meet the entry conditions

    @property
    def passed(self) -> bool:
        return not self.mismatches


class FlowTestFailure(AssertionError):
    """A case whose interview did not do what the case expects."""

    def __init__(self, test: FlowTestFile, outcome: CaseOutcome) -> None:
        self.test = test
        self.outcome = outcome
        super().__init__(render_failure(test, outcome))


def load_flow_under_test(test: FlowTestFile) -> Flow:
    """Load the flow a test file names (a file, or an API name found in the test's project),
    with actions that the cases' mocks can replace. Raises LoadError/ValidationError (the
    flow's own problems) or PluginError."""
    from flowengine.api import load_flow
    from flowengine.errors import LoadError
    from flowengine.plugins.registry import get_registry

    mark = test.locate(("flow",))
    where = (str(test.path), mark[0] if mark else None, mark[1] if mark else None)
    if test.flow_path is None:
        from flowengine.testing.project import find_flow_file

        found, why = find_flow_file(test.path, test.flow_name or "")
        if found is None:
            raise LoadError(why, *where, code="file")
        flow_file = Path(found)
    elif not test.flow_path.exists():
        raise LoadError(f"flow file {os.fspath(test.flow_path)!r} not found (flow: is relative to "
                        "the test file)", *where, code="file")
    else:
        flow_file = test.flow_path
    return load_flow(flow_file, registry=lambda: MockingRegistry(get_registry()))


def skip_reason(flow: Flow) -> str | None:
    """Why flow tests of `flow` cannot run here (a screen flow, elements flowengine cannot run
    yet), or None."""
    model = flow.model
    if model.processType == "Flow":
        return (f"flow {flow.name} is a screen flow: Salesforce's Flow Tests cover "
                "record-triggered and autolaunched flows, and flowengine does not run screens")
    unsupported = flow.unsupported
    if unsupported:
        parts = [f"{p.message} ({p.location()})" for p in unsupported[:5]]
        more = f"; and {len(unsupported) - 5} more" if len(unsupported) > 5 else ""
        return f"flow {flow.name} uses what flowengine cannot run yet: " + "; ".join(parts) + more
    return None


def run_case(test: FlowTestFile, case: Case, flow: Flow, org_server: str | None = None
             ) -> CaseOutcome:
    """Run one case in a fresh scratch org (`flowengine.org.scratch`): a temporary SQLite file,
    or a schema of its own on the PostgreSQL server `org_server` names (default:
    `$FLOWENGINE_TEST_ORG`). Raises CaseSpecError when the case does not fit the flow,
    OrgError/LoadError when its fixture cannot be loaded."""
    prepared = prepare_case(test, case, flow)
    plan = MockPlan(case.mocks, prepared.action_elements)
    if prepared.record is not None and not flow.compiled.entry_matches(prepared.record,
                                                                       prepared.prior):
        return _not_started(test, prepared, flow, plan)
    run = {"trace": True, "max_elements": case.max_elements, "record": prepared.record,
           "prior": prepared.prior}
    needs_org = flow.compiled.has_actions or case.org is not None or bool(case.expect.records)
    if not needs_org:
        with active_plan(plan):
            result = flow.run(prepared.inputs, **run)
        return _outcome(test, prepared, result, plan, [])
    from flowengine.org import open_org
    from flowengine.org.fixtures import load_fixture
    from flowengine.org.scratch import scratch_org

    with scratch_org(org_server) as target:
        # a SQLite scratch org is a copy of an empty store; a PostgreSQL one a schema of its own
        store = _fresh_org(target, flow.project_dir) if isinstance(target, Path) else \
            open_org(target, project=flow.project_dir)
        try:
            if case.org is not None:
                _load_fixture(test, case, store, load_fixture)
            with active_plan(plan):
                result = flow.run(prepared.inputs, org=store, **run)
            records = check_records(test, prepared, store)
        finally:
            store.close()
    return _outcome(test, prepared, result, plan, records)


_EMPTY_ORGS: dict[str, Path] = {}      # an empty, migrated org store per project, per process


def _fresh_org(target: Path, project: str | os.PathLike[str] | None) -> Any:
    """A fresh org store at `target`: a copy of an empty store made once per project. Creating
    the schema is most of the cost of a new store (a Flow Test would spend most of its time
    there); the copy is opened, and so migrated, as any store is, so it is the same as new."""
    from flowengine.org import open_org

    key = os.fspath(project) if project is not None else "cwd:" + os.getcwd()
    empty = _EMPTY_ORGS.get(key)
    if empty is None or not empty.is_file():
        folder = Path(tempfile.mkdtemp(prefix="flowtest-empty-org-"))
        atexit.register(shutil.rmtree, folder, True)
        empty = folder / "org.sqlite"
        open_org(empty, project=project).close()
        _EMPTY_ORGS[key] = empty
    shutil.copyfile(empty, target)
    return open_org(target, project=project)


def _not_started(test: FlowTestFile, prepared: PreparedCase, flow: Flow,
                 plan: MockPlan) -> CaseOutcome:
    """A triggering record that does not meet the flow's entry conditions: the flow does not
    start (as in an org), and the case fails saying so."""
    from flowengine.runtime import InterviewResult

    trigger = flow.model.trigger
    conditions = _entry_text(trigger)
    if trigger is not None and trigger.onlyWhenChanged and prepared.prior is not None and \
            flow.compiled.entry_matches(prepared.record):
        actual = "it met them before the update too, and the flow runs only when an update " \
                 "makes the record meet them"
    else:
        actual = "the record does not meet them"
    case = prepared.case
    mismatch = Mismatch("entry conditions", test.where(case.path + ("record",)),
                        f"the triggering record starts the flow ({conditions})",
                        f"{actual}, so the flow does not start")
    result = InterviewResult(flow.name, "Finished", {}, None, [], 0,
                             {"$Record": prepared.record, "$Record__Prior": prepared.prior})
    return CaseOutcome(case, result, [mismatch], plan, started=False)


def _entry_text(trigger: Any) -> str:
    if trigger is None:
        return "no entry conditions"
    if trigger.formula is not None:
        return f"formula {trigger.formula.strip()}"
    parts = [f"{f.field} {f.op} {show(f.value)}" for f in trigger.filters]
    logic = (trigger.logic or "and").strip()
    joined = f" {logic.upper()} ".join(parts) if logic.lower() in ("and", "or") else \
        f"{'; '.join(parts)}; logic {logic}"
    return joined + (", only when an update makes the record meet them"
                     if trigger.onlyWhenChanged else "")


def _load_fixture(test: FlowTestFile, case: Case, store: Any, load: Any) -> None:
    try:
        load(store, case.org)
    except (OrgError, FlowError, OSError) as exc:
        raise OrgError(f"{test.where(case.path + ('org',))}: cannot load org fixture "
                       f"{os.fspath(case.org)!r}: {getattr(exc, 'message', None) or exc}",  # type: ignore[arg-type]
                       getattr(exc, "error_code", "FIXTURE")) from None


def _outcome(test: FlowTestFile, prepared: PreparedCase, result: InterviewResult,
             plan: MockPlan, records: list[Mismatch]) -> CaseOutcome:
    from flowengine.runtime.trace import faulted_in, visits_in

    trace = result.trace or []
    state = FinalState(dict(result.variables), set(visits_in(trace)), faulted_in(trace),
                       result.flow)
    mismatches = evaluate(test, prepared, result, state, plan, records)
    return CaseOutcome(prepared.case, result, mismatches, plan)


def check_records(test: FlowTestFile, prepared: PreparedCase, store: Any) -> list[Mismatch]:
    """Compare the org's records after the interview with `expect.records`."""
    out: list[Mismatch] = []
    expectations = prepared.case.expect.records
    if not expectations:
        return out
    tx = store.begin(write=False)
    try:
        for i, rec in enumerate(expectations):
            label = f"records[{i}] {rec.object}"
            where = test.where(rec.path)
            try:
                if rec.id is not None:
                    found = tx.get(rec.object, rec.id)
                    rows = [found] if found is not None else []
                    label += f" {rec.id}"
                else:
                    rows = tx.query(rec.object, rec.where or None)
                    if rec.where:
                        label += " where " + ", ".join(f"{k} = {show(v)}" for k, v in rec.where.items())
            except OrgError as exc:
                out.append(Mismatch(label, where, "records to compare", f"<{exc.message}>"))
                continue
            if rec.count is not None and len(rows) != rec.count:
                out.append(Mismatch(f"{label}: count", test.where(rec.path + ("count",)),
                                    str(rec.count), str(len(rows))))
            expected = prepared.record_expected.get(i, {})
            if expected and not rows:
                out.append(Mismatch(label, where, _fields_text(expected), "no such record"))
                continue
            for row in rows if expected else []:
                bad = [name for name, value in expected.items() if not same(value, row.get(name))]
                if bad:
                    rid = row.get("Id")
                    out.append(Mismatch(
                        f"{label}" + (f" (record {rid})" if rec.id is None and rid else ""),
                        test.where(rec.path + ("fields", bad[0])),
                        _fields_text({n: expected[n] for n in bad}),
                        _fields_text({n: row.get(n) for n in bad})))
    finally:
        tx.rollback()
    return out


def _fields_text(fields: dict[str, Any]) -> str:
    return ", ".join(f"{name} = {show(value)}" for name, value in fields.items())


# -- reporting ------------------------------------------------------------------------------------

def render_failure(test: FlowTestFile, outcome: CaseOutcome) -> str:
    """A failed case as text: each failed expectation (expected against actual), then the
    interview's status and its trace."""
    case, result = outcome.case, outcome.result
    n = len(outcome.mismatches)
    lines = [f"flow test {case.name!r} of flow {result.flow} ({test.where(case.path, key=True)}): "
             f"{n} expectation{'s' if n != 1 else ''} failed", ""]
    for mismatch in outcome.mismatches:
        lines.append(mismatch.render())
        lines.append("")
    if not outcome.started:
        lines.append("interview: not started")
        return shorten("\n".join(lines), MAX_FAILURE_TEXT)
    lines.append(f"interview: {result.status} after {result.elements_executed} element"
                 f"{'s' if result.elements_executed != 1 else ''}")
    if result.error is not None:
        lines.append(f"error: {result.error.message}")
    mocked = [c for c in outcome.plan.calls if c.mocked]
    if mocked:
        lines.append("mocked calls: " + ", ".join(
            f"{c.element} → " + (f"fault {c.error_code}" if c.error_code else "outputs")
            for c in mocked))
    lines.append("trace:")
    lines.extend(format_trace(result.trace or []))
    return shorten("\n".join(lines), MAX_FAILURE_TEXT)


def format_trace(trace: list[dict[str, Any]]) -> list[str]:
    """The trace, one block per step (`flowengine run --trace` style); long traces keep their
    first and last steps."""
    from flowengine.runtime.trace import format_trace_entry

    def step(entry: dict[str, Any]) -> str:
        return shorten(format_trace_entry(entry), MAX_STEP_TEXT)

    if not trace:
        return ["  (no elements ran)"]
    if len(trace) <= TRACE_HEAD + TRACE_TAIL:
        return [step(e) for e in trace]
    skipped = len(trace) - TRACE_HEAD - TRACE_TAIL
    return ([step(e) for e in trace[:TRACE_HEAD]]
            + [f"        … {skipped} steps not shown …"]
            + [step(e) for e in trace[-TRACE_TAIL:]])
