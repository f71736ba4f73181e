"""Action mocks for flow tests, and a record of every action call.

A flow under test is loaded once with a `MockingRegistry`: it hands the checker copies of the real
actions whose handler asks the *active* `MockPlan` (a context variable set while a case runs)
what to do. A plan returns the mocked outputs, raises the mocked `ActionError`, or calls the real
handler; either way it records the call, so cases can count calls and see the error code of a
fault that a fault connector handled.
"""
from __future__ import annotations

import contextvars
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from flowengine.errors import ActionError
from flowengine.types import to_json

if TYPE_CHECKING:
    from flowengine.plugins import Action, ActionContext, ActionHandler
    from flowengine.testing.spec import MockResult, MockSpec

__all__ = ["Call", "MockPlan", "MockingRegistry", "active_plan"]

MOCK_EXHAUSTED = "MOCK_EXHAUSTED"
_ACTIVE: contextvars.ContextVar[MockPlan | None] = contextvars.ContextVar(
    "flowengine_mock_plan", default=None)


@dataclass
class Call:
    """One invocation of an action during a case."""

    element: str
    action: str
    inputs: dict[str, Any]
    mocked: bool
    outputs: dict[str, Any] | None = None
    error_code: str | None = None
    message: str | None = None


@dataclass
class MockPlan:
    """The mocks of one case. Targets naming an Action element of the flow mock that element
    only; other targets mock every call of the action with that name."""

    mocks: Mapping[str, MockSpec]
    action_elements: frozenset[str] = frozenset()
    calls: list[Call] = field(default_factory=list)
    overruns: list[str] = field(default_factory=list)
    _used: dict[str, int] = field(default_factory=dict)

    def find(self, element: str, action: str) -> MockSpec | None:
        """The mock for a call of `action` from `element`: the element's own first."""
        by_element = {t.lower(): m for t, m in self.mocks.items() if t in self.action_elements}
        if element.lower() in by_element:
            return by_element[element.lower()]
        by_action = {t.lower(): m for t, m in self.mocks.items() if t not in self.action_elements}
        return by_action.get(action.lower())

    def invoke(self, action: Action, real: ActionHandler, inputs: Mapping[str, Any],
               ctx: ActionContext) -> Mapping[str, Any]:
        call = Call(ctx.element, action.name, {k: to_json(v) for k, v in inputs.items()}, False)
        self.calls.append(call)
        mock = self.find(ctx.element, action.name)
        if mock is None:
            return self._real(call, real, inputs, ctx)
        call.mocked = True
        result = self._next_result(mock, call)
        if result.is_fault:
            call.error_code, call.message = result.error_code, result.message
            raise ActionError(result.error_code or "", result.message)
        call.outputs = dict(result.outputs or {})
        return dict(result.outputs or {})

    def _next_result(self, mock: MockSpec, call: Call) -> MockResult:
        index = self._used.get(mock.target, 0)
        self._used[mock.target] = index + 1
        if mock.every_call:
            return mock.results[0]
        if index < len(mock.results):
            return mock.results[index]
        message = (f"mock {mock.target!r} lists {len(mock.results)} result"
                   f"{'s' if len(mock.results) != 1 else ''}, but {call.element} called "
                   f"{call.action} a {_ordinal(index + 1)} time; add a result for every call")
        self.overruns.append(message)
        from flowengine.testing.spec import MockResult
        return MockResult(error_code=MOCK_EXHAUSTED, message=message)

    @staticmethod
    def _real(call: Call, real: ActionHandler, inputs: Mapping[str, Any],
              ctx: ActionContext) -> Mapping[str, Any]:
        try:
            outputs = real(inputs, ctx)
        except ActionError as exc:
            call.error_code, call.message = exc.error_code, exc.message
            raise
        except Exception as exc:
            call.error_code = getattr(exc, "error_code", None)
            call.message = str(exc)
            raise
        call.outputs = {k: to_json(v) for k, v in (outputs or {}).items()}
        return outputs

    def count(self, target: str) -> int:
        """How many times `target` (an Action element or an action name) was called."""
        folded = target.lower()
        return sum(1 for c in self.calls if c.element.lower() == folded or c.action.lower() == folded)


def _ordinal(n: int) -> str:
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


@contextmanager
def active_plan(plan: MockPlan) -> Iterator[MockPlan]:
    """Make `plan` answer every action call made by flows loaded with a MockingRegistry."""
    token = _ACTIVE.set(plan)
    try:
        yield plan
    finally:
        _ACTIVE.reset(token)


class MockingRegistry:
    """A registry that behaves like `real` but whose actions route through the active plan
    (outside a plan, they call the real handler)."""

    def __init__(self, real: Any) -> None:
        self._real = real
        self._wrapped: dict[str, Action] = {}

    def __getattr__(self, name: str) -> Any:          # .types, .plugins, .warnings, ...
        return getattr(self._real, name)

    @property
    def actions(self) -> dict[str, Action]:
        return self._real.actions

    def action(self, name: str) -> Action | None:
        found = self._real.action(name)
        if found is None:
            return None
        if found.name not in self._wrapped:
            self._wrapped[found.name] = replace(found, handler=_routed(found))
        return self._wrapped[found.name]


def _routed(action: Action) -> ActionHandler:
    real = action.handler

    def handler(inputs: Mapping[str, Any], ctx: ActionContext) -> Mapping[str, Any]:
        plan = _ACTIVE.get()
        if plan is None:
            return real(inputs, ctx)
        return plan.invoke(action, real, inputs, ctx)
    return handler
