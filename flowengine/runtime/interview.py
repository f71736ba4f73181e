"""The state of one interview and what it leaves behind: its result, its fault, its trace."""
from __future__ import annotations

import datetime as _dt
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from flowengine.runtime.access import new_guid
from flowengine.runtime.limits import Limits
from flowengine.types import to_json

if TYPE_CHECKING:
    from flowengine.org.base import OrgTransaction
    from flowengine.runtime.trace import TraceBuffer

class Interview:
    """The state of one run: resource values, visited elements, faults, the org transaction."""

    __slots__ = ("values", "visited", "errors", "org", "guid", "start_time", "loops",
                 "flow_name", "trace", "memo", "limits", "base", "indexes")

    def __init__(self, flow_name: str, org: OrgTransaction | None) -> None:
        self.values: dict[str, Any] = {}
        self.visited: set[str] = set()
        self.errors: set[str] = set()
        self.org = org
        self.guid = new_guid()
        self.start_time = _dt.datetime.now(_dt.UTC).replace(microsecond=0)
        self.loops: dict[str, list[Any]] = {}
        self.flow_name = flow_name
        self.trace: TraceBuffer | None = None     # kept as InterviewResult.trace at the end
        # formula and template values of the evaluation under way (see `resource_getter`)
        self.memo: dict[str, Any] | None = None
        self.limits = Limits()         # the governor counts of the interview's transaction
        # the savepoint at the start of the transaction that Roll Back Records returns to
        self.base: Any = None
        # collections indexed for membership tests (flowengine.runtime.membership.text_index)
        self.indexes: dict[object, Any] = {}


@dataclass
class Fault:
    """Why an interview failed: the message, the element, and the kind of error."""

    message: str
    element: str | None
    type: str                      # ActionError | RuntimeError | LimitExceeded
    error_code: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {"message": self.message, "element": self.element, "type": self.type}


@dataclass
class InterviewResult:
    """What an interview did (spec 7)."""

    flow: str
    status: Literal["Finished", "Failed"]
    outputs: dict[str, Any]
    error: Fault | None = None
    trace: list[dict[str, Any]] | None = None
    elements_executed: int = 0
    variables: dict[str, Any] = field(default_factory=dict)
    limits: Limits = field(default_factory=Limits)

    @property
    def ok(self) -> bool:
        return self.status == "Finished"

    def to_json(self, trace: bool = False) -> dict[str, Any]:
        data: dict[str, Any] = {
            "flow": self.flow, "status": self.status,
            "outputs": {k: to_json(v) for k, v in self.outputs.items()},
            "error": self.error.to_json() if self.error else None,
            "limits": self.limits.to_json(),
        }
        if trace:
            data["trace"] = self.trace or []
        return data
