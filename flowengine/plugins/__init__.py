"""Action plug-ins: the contract a plug-in implements (`Plugin`, `Action`, `Parameter`,
`ActionContext`, `ActionError`), and their discovery (`flowengine.plugins.registry`)."""
from __future__ import annotations

from flowengine.plugins.contract import (
    Action,
    ActionContext,
    ActionError,
    ActionHandler,
    ActionOrg,
    Parameter,
    Plugin,
)

__all__ = ["Action", "ActionContext", "ActionError", "ActionHandler", "ActionOrg", "Parameter", "Plugin"]
