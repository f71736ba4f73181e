"""Automation: what the platform runs on its own — record-triggered flows around every write, and
platform-event-triggered flows after every commit.

`Automation(project, store)` wraps an org store: each transaction it begins runs the project's
record-triggered flows, as Salesforce's order of execution does, for every record any write
touches (a flow's Create/Update/Delete Records, an action's writes, a command): before-save flows
change the record before it is written, after-save flows run once it is written, before-delete
flows before it is deleted — inside the same transaction, sharing its governor limits. The
records of one write run in batches of 200; each flow's interviews of a batch are bulkified (see
`flowengine.runtime.limits.Limits`). A triggered interview that fails fails the write
(`CANNOT_EXECUTE_FLOW_TRIGGER`), which changes nothing.

Recursion: a write made by a triggered flow runs the save order again (its record's before-save
and after-save flows). A flow already running for a record is not started again for that record
further down the same chain of saves (Salesforce's recursion control: a flow does not re-trigger
itself on the record it is processing), and saves nest at most 16 deep, the platform's maximum
trigger depth; deeper is the uncatchable `Maximum trigger depth exceeded`.

After a transaction commits, `deliver()` hands the events it published (and any still pending)
to the subscribing flows: each subscriber reads the events after its cursor in batches, each
batch in its own transaction with `$Record` the event; a failed interview is logged and undone
alone; the cursor moves with the batch. Delivery goes on until no subscriber has events left.
Every interview automation starts is logged in the store (`OrgTransaction.interviews`).
"""
from __future__ import annotations

import datetime as _dt
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, Final

from flowengine.errors import FlowError, OrgError
from flowengine.runtime.limits import GovernorLimitExceeded, Limits
from flowengine.types import RecordValue, to_json

if TYPE_CHECKING:
    from flowengine.automation.project import FlowProject, ProjectFlow
    from flowengine.org.base import OrgStore
    from flowengine.runtime.interview import InterviewResult

__all__ = ["Automation", "AutomatedStore", "RECORD_BATCH", "EVENT_BATCH", "MAX_TRIGGER_DEPTH"]

RECORD_BATCH: Final = 200       # records per batch of triggered interviews (Apex triggers' 200)
EVENT_BATCH: Final = 2_000      # events per batch of a platform event-triggered flow
MAX_TRIGGER_DEPTH: Final = 16   # nested saves ("Maximum trigger depth exceeded")
MAX_DELIVERY_ROUNDS: Final = 10_000
_TRIGGER_FLAGS: Final = {"RecordBeforeSave": "before_save", "RecordAfterSave": "after_save",
                         "RecordBeforeDelete": "before_delete"}


class Automation:
    """A project's automation over an org store (see the module docstring)."""

    def __init__(self, project: FlowProject, store: OrgStore, *, trace: bool = False) -> None:
        self.project = project
        self.store = store
        self.trace = trace
        self.warnings: list[str] = list(project.problems)
        self._warned: set[str] = set()
        self._delivering = False
        self.jobs: list[Any] | None = None        # the plug-ins' after-commit work
        self.event_batch = EVENT_BATCH            # events per batch of a subscriber
        # whether commits deliver the events they publish (else workers do: `worker`)
        self.deliver_on_commit = True
        self.stopping: Callable[[], bool] = lambda: False     # checked between batches
        # told of each batch delivered: subscriber, events, failed interviews, seconds
        self.on_batch: Callable[[str, int, int, float], None] | None = None

    def begin(self, *, write: bool = True) -> Any:
        """A transaction whose writes run the record-triggered flows; after it commits, the
        events it published are delivered."""
        tx = self.store.begin(write=write)
        if write:
            tx.hooks.append(TriggerHook(self, tx))
        tx.limits = Limits()  # type: ignore[attr-defined]
        return _Committing(tx, self)

    # -- running flows ---------------------------------------------------------------------------
    def flow(self, pf: ProjectFlow) -> Any:
        """The project's flow, compiled; None (with a warning, once) when it cannot run."""
        try:
            return self.project.load(pf)
        except FlowError as exc:
            if pf.name not in self._warned:
                self._warned.add(pf.name)
                first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
                self.warnings.append(f"flow {pf.name} is not started: {first}")
            return None

    def log(self, tx: Any, pf: ProjectFlow, started: str, what: str, subject: str | None,
            result: InterviewResult, elapsed: float) -> None:
        entry: dict[str, Any] = {
            "flow": pf.name, "trigger": what, "subject": subject, "status": result.status,
            "fault": result.error.message if result.error else None,
            "elements": result.elements_executed, "started": started,
            "ms": round(elapsed * 1000, 3)}
        if self.trace and result.trace is not None:
            entry["trace"] = result.trace
        tx.log_interview(entry)

    # -- platform events ----------------------------------------------------------------------
    def deliver(self) -> int:
        """Deliver every pending event to its subscribers, until none is left; returns how
        many events were processed (a commit during delivery leaves the rest to the loop under
        way)."""
        if self._delivering:
            return 0
        self._delivering = True
        try:
            return self._deliver_all()
        finally:
            self._delivering = False

    def _deliver_all(self) -> int:
        ran = 0
        for _round in range(MAX_DELIVERY_ROUNDS):
            progressed = self._after_commit_jobs()
            for pf in self.project.subscribers():
                if self.stopping():
                    return ran
                flow = self.flow(pf)
                if flow is None:
                    continue
                count = self._deliver_batch(pf, flow)
                ran += count
                progressed = progressed or count > 0
            if not progressed:
                return ran
        raise OrgError(f"event delivery did not settle after {MAX_DELIVERY_ROUNDS:,} rounds: "
                       "subscribers keep publishing events that start each other", "EVENT_STORM")

    def _after_commit_jobs(self) -> bool:
        """Run the plug-ins' after-commit work (asynchronous operations such as Order
        Management's Ensure Funds); whether any of it did something."""
        if self.jobs is None:
            from flowengine.plugins.registry import get_registry

            try:
                self.jobs = [job for plugin in get_registry().plugins
                             for job in getattr(plugin, "after_commit", ())]
            except Exception:
                self.jobs = []
        did = False
        for job in self.jobs:
            did = bool(job(AutomatedStore(self))) or did
        return did

    def _deliver_batch(self, pf: ProjectFlow, flow: Any) -> int:
        assert pf.trigger is not None
        event_name = pf.trigger.object
        tx = self.begin()
        began = time.perf_counter()
        failed = 0
        try:
            events = tx.claim_events(pf.name, event_name, self.event_batch)
            if not events:
                tx.rollback()
                return 0
            limits: Limits = tx.limits
            limits.start_batch()
            try:
                for event in events:
                    fields = {k: v for k, v in event.items() if k != "event"}
                    record = RecordValue(event_name, fields)
                    if not flow.compiled.entry_matches(record):
                        continue
                    limits.next_interview()
                    started = _now()
                    clock = time.perf_counter()
                    with _undo_on_failure(tx) as outcome:
                        result = flow.compiled.run_in(tx.inner, record=record, limits=limits,
                                                      trace=self.trace)
                        outcome.failed = not result.ok
                    failed += not result.ok
                    self.log(tx, pf, started, event_name, f"ReplayId {event['ReplayId']}",
                             result, time.perf_counter() - clock)
            finally:
                limits.end_batch()
            tx.processed(pf.name, events)
            tx.commit()
        except BaseException:
            tx.rollback()
            raise
        if self.on_batch is not None:
            self.on_batch(pf.name, len(events), failed, time.perf_counter() - began)
        return len(events)


class _Outcome:
    failed = False


@contextmanager
def _undo_on_failure(tx: Any) -> Iterator[_Outcome]:
    """A savepoint left by an exception when the interview failed: its writes are undone, the
    batch goes on."""
    outcome = _Outcome()
    try:
        with tx.savepoint():
            yield outcome
            if outcome.failed:
                raise _Undo
    except _Undo:
        pass


class _Undo(Exception):
    pass


class _Committing:
    """A transaction of an automated store: the real one, with its events delivered after it
    commits."""

    def __init__(self, inner: Any, automation: Automation) -> None:
        self.inner = inner
        self.automation = automation

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    def commit(self) -> None:
        self.inner.commit()
        if self.automation.deliver_on_commit:
            self.automation.deliver()

    def rollback(self) -> None:
        self.inner.rollback()

    def __enter__(self) -> _Committing:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, *rest: object) -> None:
        if exc_type is None and not self.inner.finished:
            self.commit()
        else:
            self.rollback()


class AutomatedStore:
    """An org store whose transactions run a project's automation (`Automation.begin`);
    everything else is the store's."""

    def __init__(self, automation: Automation) -> None:
        self.automation = automation
        self.inner = automation.store

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    def begin(self, *, write: bool = True) -> Any:
        return self.automation.begin(write=write)

    def __enter__(self) -> AutomatedStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.inner.close()


class TriggerHook:
    """The record-triggered flows of one transaction, as a save hook of its writes."""

    def __init__(self, automation: Automation, tx: Any) -> None:
        self.automation = automation
        self.tx = tx
        self.depth = 0
        self.running: set[tuple[str, str]] = set()     # (flow, record Id) under way

    def saves(self, object_name: str) -> bool:
        """Whether a flow of the project is triggered by saving records of `object_name`."""
        project = self.automation.project
        return any(project.record_triggered(object_name, trigger, change)
                   for trigger in ("RecordBeforeSave", "RecordAfterSave")
                   for change in ("Create", "Update"))

    def before_save(self, tx: Any, object_name: str, changes: Sequence[tuple[Any, Any]]) -> None:
        self._run("RecordBeforeSave", tx, object_name, changes)

    def after_save(self, tx: Any, object_name: str, changes: Sequence[tuple[Any, Any]]) -> None:
        self._run("RecordAfterSave", tx, object_name, changes)

    def before_delete(self, tx: Any, object_name: str, rows: Sequence[Any]) -> None:
        self._run("RecordBeforeDelete", tx, object_name, [(row, row) for row in rows])

    def _run(self, trigger_type: str, tx: Any, object_name: str,
             changes: Sequence[tuple[Any, Any]]) -> None:
        project = self.automation.project
        by_change: dict[str, list[tuple[Any, Any]]] = {}
        for old, new in changes:
            change = "Delete" if trigger_type == "RecordBeforeDelete" else \
                "Create" if old is None else "Update"
            by_change.setdefault(change, []).append((old, new))
        for change, items in by_change.items():
            for pf in project.record_triggered(object_name, trigger_type, change):
                flow = self.automation.flow(pf)
                if flow is not None:
                    self._run_flow(pf, flow, trigger_type, tx, object_name, change, items)

    def _run_flow(self, pf: ProjectFlow, flow: Any, trigger_type: str, tx: Any,
                  object_name: str, change: str, items: list[tuple[Any, Any]]) -> None:
        limits: Limits = getattr(self.tx, "limits", None) or Limits()
        if self.depth >= MAX_TRIGGER_DEPTH:
            raise GovernorLimitExceeded(f"Maximum trigger depth exceeded: saves nest more than "
                                        f"{MAX_TRIGGER_DEPTH} deep (flow {pf.name} on "
                                        f"{object_name})", pf.name)
        what = f"{trigger_type} on {object_name} ({change})"
        for start in range(0, len(items), RECORD_BATCH):
            limits.start_batch()
            self.depth += 1
            try:
                for old, new in items[start:start + RECORD_BATCH]:
                    self._one(pf, flow, trigger_type, tx, object_name, change, old, new, limits,
                              what)
            finally:
                self.depth -= 1
                limits.end_batch()

    def _one(self, pf: ProjectFlow, flow: Any, trigger_type: str, tx: Any, object_name: str,
             change: str, old: Any, new: Any, limits: Limits, what: str) -> None:
        record_id = str(new.get("Id") or "")
        key = (pf.name.lower(), record_id)
        if record_id and key in self.running:
            return                               # recursion control: not again for this record
        record = RecordValue(object_name, dict(new))
        prior = RecordValue(object_name, dict(old)) if change == "Update" else None
        if not flow.compiled.entry_matches(record, prior):
            return
        limits.next_interview()
        if record_id:
            self.running.add(key)
        started = _now()
        clock = time.perf_counter()
        try:
            result = flow.compiled.run_in(tx, record=record, prior=prior, limits=limits,
                                          trace=self.automation.trace)
        finally:
            self.running.discard(key)
        if result.ok and trigger_type == "RecordBeforeSave":
            changed = result.variables.get("$Record")
            if isinstance(changed, RecordValue):
                for name, value in changed.fields.items():
                    if new.get(name) != value:
                        new[name] = value
        self.automation.log(tx, pf, started, what, record_id or None, result,
                            time.perf_counter() - clock)
        if not result.ok:
            assert result.error is not None
            if result.error.type == "LimitExceeded":
                raise GovernorLimitExceeded(result.error.message, result.error.element)
            raise OrgError(f"We can't save this record because the “{pf.name}” flow failed: "
                           f"{result.error.message}", "CANNOT_EXECUTE_FLOW_TRIGGER")


def _now() -> str:
    return _dt.datetime.now(_dt.UTC).isoformat(timespec="milliseconds")


def result_json(result: InterviewResult) -> dict[str, Any]:
    data: dict[str, Any] = to_json(result.to_json())
    return data
