"""flowengine: check, run, draw and test Salesforce-style flows written as YAML.

    >>> from flowengine import load_flow
    >>> result = load_flow("flows/counter.yaml").run({"limit": 3})
    >>> result.status, result.outputs

Names are imported on first use, so `import flowengine` stays cheap for the command line.
"""
from __future__ import annotations

from typing import Any

__version__ = "0.1.0"
__all__ = [
    "load_flow", "load_flow_text", "run_flow", "validate_file", "Flow", "InterviewResult",
    "Action", "ActionContext", "Parameter", "Plugin", "ActionError",
    "FlowError", "LoadError", "ValidationError", "InputError", "Problem", "get_registry",
]

_HOMES = {
    "load_flow": "api", "load_flow_text": "api", "run_flow": "api", "validate_file": "api",
    "Flow": "api", "InterviewResult": "runtime",
    "Action": "plugins", "ActionContext": "plugins", "Parameter": "plugins", "Plugin": "plugins",
    "ActionError": "errors", "FlowError": "errors", "LoadError": "errors",
    "ValidationError": "errors", "InputError": "errors", "Problem": "errors",
    "get_registry": "plugins.registry",
}


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module 'flowengine' has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(f"flowengine.{home}"), name)
    globals()[name] = value
    return value
