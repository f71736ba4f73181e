"""Batch runs: one interview per line of a JSON Lines file, in parallel worker processes.

    summary = run_batch("flows/cancel.yaml", "inputs.jsonl", workers=4, org=url,
                        output="results.jsonl")

Each line of the inputs is a JSON object of input values (as `flowengine run --inputs` takes);
each interview runs in its own transaction, in one of `workers` processes that load the flow
and open the org store once. Each result is written as one JSON line as soon as it is known:
the shape of `flowengine run --format json`, with `line`, the input's line number, first. A run
that stops half-way is resumed by running again with the same output file: lines whose result
is there are skipped (a half-written last line is dropped first).

On PostgreSQL interviews on different records run side by side; on SQLite every write
transaction takes the whole store, so the workers take turns.
"""
from __future__ import annotations

import json
import os
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import IO, TYPE_CHECKING, Any, Final

from flowengine.errors import FlowError

if TYPE_CHECKING:            # process pools are imported by a batch run only, not by every start
    from concurrent.futures import Future

__all__ = ["MAX_WORKERS", "BatchSummary", "run_batch"]

MAX_WORKERS: Final = 64
_IN_FLIGHT_PER_WORKER: Final = 8      # lines handed out ahead, per worker
MAX_LINE_BYTES: Final = 1024 * 1024
Progress = Callable[[int, int], None]
Result = dict[str, Any]


@dataclass
class BatchSummary:
    """What a batch run did: interviews finished and failed now, lines skipped (their results
    were in the output already), and the seconds it took."""

    finished: int = 0
    failed: int = 0
    skipped: int = 0
    seconds: float = 0.0
    workers: int = 1
    failures: list[Result] = field(default_factory=list, repr=False)   # the first few

    @property
    def per_second(self) -> float:
        """Interviews run per second (finished and failed)."""
        return (self.finished + self.failed) / self.seconds if self.seconds > 0 else 0.0

    def to_json(self) -> dict[str, Any]:
        return {"finished": self.finished, "failed": self.failed, "skipped": self.skipped,
                "seconds": round(self.seconds, 3), "per_second": round(self.per_second, 1),
                "workers": self.workers}


def run_batch(flow_path: str | os.PathLike[str], inputs_path: str | os.PathLike[str], *,
              workers: int = 1, org: str | os.PathLike[str] | None = None,
              output: IO[str] | str | os.PathLike[str], common: Mapping[str, Any] | None = None,
              rollback: bool = False, progress: Progress | None = None) -> BatchSummary:
    """Run the flow once per line of `inputs_path` (see the module docstring). `output` is a
    results file (resumed when it exists) or an open text stream; `common` are input values
    every line starts from. Raises FlowError (LoadError, OrgError) when the flow, the inputs
    file or the org store cannot be used at all; a line that fails is a result, not an error."""
    if not 1 <= workers <= MAX_WORKERS:
        raise ValueError(f"workers must be between 1 and {MAX_WORKERS}, not {workers}")
    lines = _count_lines(inputs_path)
    done = set()
    stream: IO[str]
    if isinstance(output, (str, os.PathLike)):
        done = _finished_lines(output)
        stream = open(output, "a", encoding="utf-8")      # closed below
    else:
        stream = output
    summary = BatchSummary(skipped=len(done), workers=workers)
    started = time.perf_counter()
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    context = multiprocessing.get_context("spawn")   # no store connection crosses a fork
    try:
        with ProcessPoolExecutor(workers, mp_context=context, initializer=_start_worker,
                                 initargs=(os.fspath(flow_path), None if org is None else
                                           os.fspath(org), dict(common or {}), rollback)) as pool:
            pending: set[Future[Result]] = set()
            todo = ((n, text) for n, text in _read_lines(inputs_path) if n not in done)
            for number, text in todo:
                pending.add(pool.submit(_run_line, number, text))
                if len(pending) >= workers * _IN_FLIGHT_PER_WORKER:
                    pending = _collect(pending, stream, summary, lines, progress)
            while pending:
                pending = _collect(pending, stream, summary, lines, progress)
    finally:
        summary.seconds = time.perf_counter() - started
        if stream is not output:
            stream.close()
    return summary


def _collect(pending: set[Future[Result]], stream: IO[str], summary: BatchSummary, lines: int,
             progress: Progress | None) -> set[Future[Result]]:
    """Write the results of the lines that are done; returns the ones still running."""
    from concurrent.futures import FIRST_COMPLETED, wait

    finished, still = wait(pending, return_when=FIRST_COMPLETED)
    for future in finished:
        result = future.result()
        if result.pop("_fatal", False):
            raise _fatal_error(result)
        stream.write(json.dumps(result, ensure_ascii=False, default=str) + "\n")
        if result["status"] == "Finished":
            summary.finished += 1
        else:
            summary.failed += 1
            if len(summary.failures) < 5:
                summary.failures.append(result)
    stream.flush()
    if progress is not None:
        progress(summary.finished + summary.failed + summary.skipped, lines)
    return still


def _fatal_error(result: Result) -> FlowError:
    from flowengine.errors import OrgError

    return OrgError(result["error"]["message"], result["error"]["type"])


# -- the inputs and the results file -------------------------------------------------------------

def _read_lines(path: str | os.PathLike[str]) -> Iterator[tuple[int, str]]:
    """(line number, text) of each line that is not blank."""
    with open(path, encoding="utf-8") as fh:
        for number, text in enumerate(fh, 1):
            if text.strip():
                yield number, text


def _count_lines(path: str | os.PathLike[str]) -> int:
    from flowengine.errors import LoadError

    try:
        return sum(1 for _ in _read_lines(path))
    except OSError as exc:
        raise LoadError(f"{os.fspath(path)}: cannot read the batch inputs: {exc.strerror}",
                        os.fspath(path), code="file") from None
    except UnicodeDecodeError as exc:
        raise LoadError(f"{os.fspath(path)}: the batch inputs are not UTF-8 text ({exc.reason})",
                        os.fspath(path), code="file") from None


def _finished_lines(path: str | os.PathLike[str]) -> set[int]:
    """The line numbers whose results an earlier run wrote to `path`; a last line cut short (the
    run was stopped while writing it) is removed, so that the file can be appended to."""
    try:
        with open(path, "rb") as fh:
            data = fh.read()
    except FileNotFoundError:
        return set()
    except OSError as exc:
        from flowengine.errors import LoadError

        raise LoadError(f"{os.fspath(path)}: cannot read the results of an earlier run: "
                        f"{exc.strerror}", os.fspath(path), code="file") from None
    complete = data[:data.rfind(b"\n") + 1]
    if len(complete) < len(data):
        with open(path, "r+b") as fh:
            fh.truncate(len(complete))
    done = set()
    for text in complete.splitlines():
        try:
            record = json.loads(text)
        except ValueError:
            continue
        if isinstance(record, dict) and isinstance(record.get("line"), int):
            done.add(record["line"])
    return done


# -- the workers ---------------------------------------------------------------------------------

_worker: dict[str, Any] = {}


def _start_worker(flow_path: str, org: str | None, common: dict[str, Any],
                  rollback: bool) -> None:
    """Load the flow and open the store once per worker process."""
    from flowengine.api import load_flow

    flow = load_flow(flow_path)
    _worker.update(flow=flow, common=common, rollback=rollback, store=None, error=None)
    if flow.compiled.has_actions:
        from flowengine.org import open_org

        try:
            _worker["store"] = open_org(org, create=False, project=flow.project_dir)
        except FlowError as exc:
            _worker["error"] = exc


def _run_line(number: int, text: str) -> Result:
    flow = _worker["flow"]
    if _worker["error"] is not None:
        exc = _worker["error"]
        return {"line": number, "_fatal": True, "status": "Failed",
                "error": {"message": str(exc), "type": getattr(exc, "error_code", "ORG")}}
    try:
        raw = json.loads(text) if len(text) <= MAX_LINE_BYTES else None
    except ValueError as exc:
        return _failed(number, flow.name, f"not JSON: {exc}", "InputError")
    if not isinstance(raw, dict):
        return _failed(number, flow.name, "expected a JSON object of input values (at most "
                       f"{MAX_LINE_BYTES:,} bytes)", "InputError")
    try:
        result = flow.run({**_worker["common"], **raw}, org=_worker["store"],
                          rollback=_worker["rollback"])
    except FlowError as exc:           # bad inputs; the store refused to begin (locked...)
        return _failed(number, flow.name, str(exc),
                       str(getattr(exc, "error_code", None) or type(exc).__name__))
    except Exception as exc:
        return _failed(number, flow.name, f"internal error: {type(exc).__name__}: {exc}",
                       "InternalError")
    return {"line": number, **result.to_json()}


def _failed(number: int, flow: str, message: str, kind: str) -> Result:
    return {"line": number, "flow": flow, "status": "Failed", "outputs": {},
            "error": {"message": message, "element": None, "type": kind}}
