"""The trace of an interview (spec 7): its bounds, and an entry as text, like Flow Builder's debug
panel (the element's head line, what its kind shows of it, and its fault).

A trace keeps every step of a run up to `TRACE_HEAD + TRACE_TAIL` steps. A longer run keeps its
first `TRACE_HEAD` and its last `TRACE_TAIL` steps, and the steps between become one summary
entry (`{"omitted": n, "steps": [first, last], "elements": {name: runs}, "faults": {name: n}}`),
so that a million-element run traces in bounded memory and its report stays a page a browser
opens (it once took 3.4 GB and gave a 383 MB page).
"""
from __future__ import annotations

from collections import Counter
from operator import itemgetter
from typing import Any, Final

from flowengine.elements import kind_named

__all__ = ["TRACE_CHUNK", "TRACE_HEAD", "TRACE_TAIL", "TraceBuffer", "faulted_in", "format_trace_entry",
           "is_summary", "visits_in"]

TRACE_HEAD: Final = 5_000
TRACE_TAIL: Final = 5_000
TRACE_CHUNK: Final = 5_000    # steps between compactions of a trace (TraceBuffer.compact)

Entry = dict[str, Any]
_element = itemgetter("element")


def is_summary(entry: Entry) -> bool:
    """Whether the entry stands for the omitted steps of a long trace."""
    return "omitted" in entry


class TraceBuffer:
    """Collects trace entries in bounded memory (see the module docstring).

    Entries go to one list (`keep`, the list's own append, so a traced step costs no call of
    Python code for it); `compact()` sets aside the steps between the head and the tail, counting
    them in the summary. The interpreter compacts after every `TRACE_CHUNK` steps, so the list
    holds at most `TRACE_HEAD + TRACE_TAIL + TRACE_CHUNK` entries."""

    __slots__ = ("items", "keep", "omitted", "first_omitted", "last_omitted", "runs", "faults")

    def __init__(self) -> None:
        self.items: list[Entry] = []
        self.keep = self.items.append
        self.omitted = 0
        self.first_omitted = 0
        self.last_omitted = 0
        self.runs: Counter[str] = Counter()
        self.faults: Counter[str] = Counter()

    def append(self, entry: Entry) -> None:
        self.keep(entry)
        if len(self.items) > TRACE_HEAD + TRACE_TAIL + TRACE_CHUNK:
            self.compact()

    def compact(self, tail: int = TRACE_TAIL) -> None:
        """Set aside the steps that are neither among the first TRACE_HEAD nor the last
        TRACE_TAIL (`tail`: the caller knows that more steps follow), counting them (in step
        order) in the summary."""
        items = self.items
        end = len(items) - tail
        if end <= TRACE_HEAD:
            return
        dropped = items[TRACE_HEAD:end]
        del items[TRACE_HEAD:end]
        if not self.omitted:
            self.first_omitted = dropped[0]["step"]
        self.omitted += len(dropped)
        self.last_omitted = dropped[-1]["step"]
        self.runs.update(map(_element, dropped))
        self.faults.update([entry["element"] for entry in dropped if "fault" in entry])

    def skip(self, first: int, last: int, runs: dict[str, int]) -> None:
        """Steps `first` to `last`, which come after every entry of the buffer and after the
        first TRACE_HEAD steps, and which at least TRACE_TAIL more steps follow, run the
        elements `runs` (name → steps, in the order the steps first run them) without a fault:
        none of them is kept, and their entries need not be made (flowengine.runtime.fused).
        The steps of the buffer after its head are set aside with them."""
        self.compact(0)
        if not self.omitted:
            self.first_omitted = first
        self.omitted += last - first + 1
        self.last_omitted = last
        self.runs.update(runs)

    def last(self) -> Entry | None:
        return self.items[-1] if self.items else None

    def entries(self) -> list[Entry]:
        self.compact()
        if not self.omitted:
            return list(self.items)
        summary = {"omitted": self.omitted, "steps": [self.first_omitted, self.last_omitted],
                   "elements": dict(self.runs.most_common()),
                   "faults": dict(self.faults.most_common())}
        return self.items[:TRACE_HEAD] + [summary] + self.items[TRACE_HEAD:]


def visits_in(trace: list[Entry]) -> Counter[str]:
    """How often each element ran, the omitted steps of a summarised trace included."""
    visits: Counter[str] = Counter()
    for entry in trace:
        if is_summary(entry):
            visits.update(entry["elements"])
        else:
            visits[entry["element"]] += 1
    return visits


def faulted_in(trace: list[Entry]) -> set[str]:
    """The elements that faulted, the omitted steps of a summarised trace included."""
    return {name for entry in trace
            for name in (entry["faults"] if is_summary(entry) else
                         [entry["element"]] if "fault" in entry else [])}


def summary_text(entry: Entry) -> str:
    """A summary entry in words: `steps 5,001–995,000 (990,000) not kept: Loop ×330,000, ...`."""
    first, last = entry["steps"]
    runs = ", ".join(f"{name} ×{count:,}" for name, count in list(entry["elements"].items())[:10])
    more = ", …" if len(entry["elements"]) > 10 else ""
    return (f"steps {first:,}–{last:,} ({entry['omitted']:,}) are not kept in the trace "
            f"(only the first {TRACE_HEAD:,} and the last {TRACE_TAIL:,} are): {runs}{more}")


def format_trace_entry(entry: Entry) -> str:
    if is_summary(entry):
        return f"     … {summary_text(entry)}"
    lines = [f"  {entry['step']:>4}. {entry['element']} ({entry['type']})"]
    kind = kind_named(entry["type"])
    if kind is not None:
        lines += kind.trace_text(entry)
    if "fault" in entry:
        lines.append(f"        FAULT: {entry['fault']}")
    return "\n".join(lines)
