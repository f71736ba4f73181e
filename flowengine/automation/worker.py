"""Event workers: processes that deliver a shared org's platform events to a project's
subscribing flows (and run the plug-ins' after-commit work), for as long as they run.

    run_workers("postgresql://flow@db/orgs", "my-project", concurrency=4)

Each worker process opens the store and the project once and loops: deliver every pending
event (`Automation.deliver`: per subscriber, claim a batch, run its interviews, mark the batch
processed, commit — claim and writes in one transaction), then wait until a commit publishes
more (PostgreSQL's LISTEN/NOTIFY; a SQLite store is polled). On PostgreSQL a claim skips the
events other workers hold (FOR UPDATE SKIP LOCKED), so any number of workers, on any number of
hosts, share the stream; a worker that dies leaves its batch, rolled back, to the others.

A lost connection (the server restarted, the network failed) is logged, and the worker opens
the store again, waiting a little longer each time (up to `MAX_BACKOFF`), and goes on. SIGTERM
or SIGINT stops a worker after the batch under way; the parent of several passes the signal on
and waits for them, and starts again a worker that died.
"""
from __future__ import annotations

import logging
import multiprocessing
import os
import signal
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from types import FrameType
from typing import Any, Final

__all__ = ["MAX_CONCURRENCY", "WorkerOptions", "run_worker", "run_workers"]

MAX_CONCURRENCY: Final = 64
MAX_BACKOFF: Final = 10.0          # seconds between attempts to reach a lost store, at most
RESTART_DELAY: Final = 1.0         # before a worker process that died is started again
log = logging.getLogger("flowengine.worker")


@dataclass(frozen=True)
class WorkerOptions:
    """What a worker does: the org store, the project, events per batch, how long to wait for
    a notification before looking again (seconds), and whether to stop once nothing is left."""

    org: str
    project: str
    batch_size: int = 2_000
    poll: float = 5.0
    once: bool = False


class Stop:
    """Set by SIGTERM or SIGINT; a wait for events ends at once."""

    def __init__(self) -> None:
        self.event = threading.Event()

    def __call__(self) -> bool:
        return self.event.is_set()

    def install(self) -> None:
        def handler(signum: int, frame: FrameType | None) -> None:
            if not self.event.is_set():
                log.info("%s received: stopping after the batch under way",
                         signal.Signals(signum).name)
            self.event.set()
        signal.signal(signal.SIGTERM, handler)
        signal.signal(signal.SIGINT, handler)


def run_worker(options: WorkerOptions, stop: Callable[[], bool] | None = None,
               name: str = "worker") -> int:
    """Deliver events until stopped (or, with `once`, until none is left); returns how many
    events this worker processed."""
    if stop is None:
        stopper = Stop()
        stopper.install()
        stop = stopper
    delivered = 0
    backoff = 0.0
    while not stop():
        session = None
        try:
            session = _Session(options, stop, name)
            if backoff:
                log.info("%s: the org store %s is back", name, session.location)
            backoff = 0.0
            while not stop():
                count = session.automation.deliver()
                delivered += count
                if options.once and not count:
                    log.info("%s: nothing left to deliver after %d events", name, delivered)
                    return delivered
                if not count:
                    session.wait(options.poll, stop)
        except Exception as exc:   # a worker outlives lost connections and failed batches
            if options.once and backoff >= MAX_BACKOFF:
                raise
            backoff = min(MAX_BACKOFF, max(0.5, backoff * 2))
            log.warning("%s: %s; trying again in %.1f s", name, _one_line(exc), backoff)
            log.debug("%s: details", name, exc_info=True)
            _sleep(backoff, stop)
        finally:
            if session is not None:
                session.close()
    log.info("%s: stopped after %d events", name, delivered)
    return delivered


class _Session:
    """A worker's open store and project, and its way of waiting for events."""

    def __init__(self, options: WorkerOptions, stop: Callable[[], bool], name: str) -> None:
        from flowengine.automation import Automation, FlowProject
        from flowengine.org import open_org

        self.name = name
        self.store = open_org(options.org, create=False, project=options.project)
        self.location = str(getattr(self.store, "location", options.org))
        self.listener = None
        try:
            project = FlowProject.open(options.project)
            self.automation = Automation(project, self.store)
            self.automation.event_batch = options.batch_size
            self.automation.stopping = stop
            self.automation.on_batch = self._logged
            for warning in self.automation.warnings:
                log.warning("%s: %s", name, warning)
            if hasattr(self.store, "listen"):     # a server store says when events come
                self.listener = self.store.listen()
        except BaseException:
            self.store.close()
            raise

    def _logged(self, subscriber: str, events: int, failed: int, seconds: float) -> None:
        log.info("%s: %s: %d event%s, %d failed, %.0f ms", self.name, subscriber, events,
                 "s" * (events != 1), failed, seconds * 1000)

    def wait(self, seconds: float, stop: Callable[[], bool]) -> None:
        """Until a commit publishes events, `seconds` pass, or the worker is stopped."""
        deadline = time.monotonic() + seconds
        while not stop() and time.monotonic() < deadline:
            step = min(0.5, deadline - time.monotonic())
            if self.listener is None:
                time.sleep(max(step, 0))
            elif self.listener.wait(max(step, 0)):
                return

    def close(self) -> None:
        if self.listener is not None:
            self.listener.close()
        self.store.close()


def _sleep(seconds: float, stop: Callable[[], bool]) -> None:
    deadline = time.monotonic() + seconds
    while not stop() and time.monotonic() < deadline:
        time.sleep(min(0.2, max(deadline - time.monotonic(), 0)))


def _one_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__


# -- several worker processes ---------------------------------------------------------------

def _child(options: WorkerOptions, name: str, level: int) -> None:
    logging.basicConfig(level=level, format=LOG_FORMAT)
    run_worker(options, name=name)


LOG_FORMAT: Final = "%(asctime)s %(levelname)s %(message)s"


def run_workers(options: WorkerOptions, concurrency: int = 1) -> int:
    """Run `concurrency` worker processes (this process itself when 1) until SIGTERM or SIGINT
    (or, with `once`, until they find nothing left); a worker that dies is started again.
    Returns the exit code: 0, or 1 when a worker of a `once` run failed."""
    if concurrency == 1:
        run_worker(options, name="worker 1")
        return 0
    stop = Stop()
    stop.install()
    context = multiprocessing.get_context("spawn")
    level = logging.getLogger().getEffectiveLevel()
    workers: dict[int, Any] = {}

    def start(number: int) -> None:
        process = context.Process(target=_child, args=(options, f"worker {number}", level),
                                  name=f"flowengine-worker-{number}", daemon=False)
        process.start()
        workers[number] = process
        log.info("worker %d started (pid %d)", number, process.pid)

    for number in range(1, concurrency + 1):
        start(number)
    failed = False
    told: set[int] = set()                     # the workers SIGTERM was passed on to
    while workers:
        for number, process in list(workers.items()):
            process.join(timeout=0.2)
            if process.exitcode is None:
                if stop() and number not in told:
                    told.add(number)
                    _signal(process.pid, signal.SIGTERM)
                continue
            del workers[number]
            if process.exitcode == 0 and (options.once or stop()):
                continue
            if options.once or stop():
                log.warning("worker %d (pid %d) ended with exit code %s", number, process.pid,
                            process.exitcode)
                failed = True
                continue
            log.warning("worker %d (pid %d) ended with exit code %s; starting it again",
                        number, process.pid, process.exitcode)
            _sleep(RESTART_DELAY, stop)
            if not stop():
                start(number)
    return 1 if failed else 0


def _signal(pid: int | None, signum: int) -> None:
    if pid is None:
        return
    try:
        os.kill(pid, signum)
    except ProcessLookupError:
        pass
