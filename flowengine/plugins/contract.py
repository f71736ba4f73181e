"""The action plug-in contract: what an action declares and how it is invoked.

A plug-in is a `Plugin` object published under the entry-point group `flowengine.actions`
(the entry point may also name a function that returns one). Plain dataclasses keep plug-in
import cheap: the catalog commands load them.
"""
from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, NoReturn

from flowengine.errors import ActionError, OrgError
from flowengine.types import ApexClass, FlowType, ObjectSchemaLike

if TYPE_CHECKING:
    from flowengine.org.base import OrgTransaction

__all__ = ["Action", "ActionContext", "ActionError", "ActionOrg", "Parameter", "Plugin"]


@dataclass(frozen=True)
class Parameter:
    """A typed input or output parameter of an action."""

    name: str
    type: FlowType
    label: str = ""
    description: str = ""
    required: bool = False

    @property
    def display_label(self) -> str:
        return self.label or self.name


class ActionOrg:
    """The interview's org transaction as an action sees it: everything an `OrgTransaction` does
    (reads, writes, savepoints; delegated, so calls added to the protocol later work too) except
    ending it. The interview commits when it finishes and rolls back when it fails; an action
    that could commit would keep its writes although the interview failed. `commit()`,
    `rollback()`, `close()` and `with` raise OrgError(INVALID_OPERATION)."""

    __slots__ = ("_tx",)

    def __init__(self, tx: OrgTransaction) -> None:
        self._tx = tx

    def __getattr__(self, name: str) -> Any:
        return getattr(self._tx, name)

    def _refuse(self, what: str) -> NoReturn:
        raise OrgError(f"an action cannot {what} the interview's transaction: the interview "
                       "commits it when it finishes and rolls it back when it fails (use "
                       "savepoint() to undo part of an action's own work)", "INVALID_OPERATION")

    def commit(self) -> None:
        self._refuse("commit")

    def rollback(self) -> None:
        self._refuse("roll back")

    def close(self) -> None:
        self._refuse("close")

    def __enter__(self) -> ActionOrg:
        self._refuse("enter (and so commit)")

    def __exit__(self, *exc: object) -> None:
        self._refuse("end")


@dataclass
class ActionContext:
    """What an invoked action may use: the interview's org transaction and where it was called."""

    org: OrgTransaction | None     # an ActionOrg when the interpreter calls an action
    flow: str = ""
    element: str = ""

    def require_org(self) -> OrgTransaction:
        if self.org is None:
            raise ActionError("ORG_REQUIRED",
                              f"element {self.element} needs an org store, and none was given")
        return self.org


ActionHandler = Callable[[Mapping[str, Any], ActionContext], Mapping[str, Any]]


@dataclass(frozen=True)
class Action:
    """An invocable action: metadata for the catalog plus a handler.

    The handler receives inputs already converted to their declared types (missing optional
    inputs are absent) and returns a mapping of output name to value. It signals failure by
    raising `ActionError(error_code, message)`; the interpreter turns that into a flow fault.
    """

    name: str
    label: str
    category: str
    description: str
    handler: ActionHandler
    inputs: Sequence[Parameter] = ()
    outputs: Sequence[Parameter] = ()
    usage: str = ""
    editions: str = ""
    plugin: str = ""

    def input(self, name: str) -> Parameter | None:
        return next((p for p in self.inputs if p.name == name), None)

    def output(self, name: str) -> Parameter | None:
        return next((p for p in self.outputs if p.name == name), None)


@dataclass(frozen=True)
class Plugin:
    """What one installed package contributes: actions, Apex-defined classes and org objects."""

    name: str
    actions: Sequence[Action] = ()
    apex_classes: Sequence[ApexClass] = ()
    objects: Sequence[ObjectSchemaLike] = field(default_factory=tuple)
    # checks the org store runs before committing a fixture load (and tests after every write):
    # each returns a list of human-readable violations, empty when all holds
    invariants: Sequence[Callable[[OrgTransaction], list[str]]] = ()
    # what runs around every write of the org (`flowengine.org.base.SaveHook`): the platform
    # behaviour a plug-in models, such as publishing the events Salesforce publishes
    save_hooks: Sequence[Any] = ()
    # work the platform does after a transaction commits (asynchronous operations): each is
    # called with the org store after every automated commit, and returns what it did (a
    # sequence; empty when there was nothing to do)
    after_commit: Sequence[Callable[[Any], Sequence[Any]]] = ()
