"""The action plug-in contract: what an action declares and how it is invoked.

A plug-in is a `Plugin` object published under the entry-point group `flowengine.actions`
(the entry point may also name a function that returns one). Plain dataclasses keep plug-in
import cheap: the catalog commands load them.
"""
from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from flowengine.errors import ActionError
from flowengine.types import ApexClass, FlowType, ObjectSchemaLike

if TYPE_CHECKING:
    from flowengine.org.base import OrgTransaction

__all__ = ["Action", "ActionContext", "ActionError", "Parameter", "Plugin"]


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


@dataclass
class ActionContext:
    """What an invoked action may use: the interview's org transaction and where it was called."""

    org: OrgTransaction | None
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
