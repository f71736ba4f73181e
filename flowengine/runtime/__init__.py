"""The run phase: a checked flow compiled into linked nodes (`compile`), run as interviews
(`interview`); `nodes` holds the node base classes and the fault model, `values` and `access`
the compiled values, getters and setters."""
from __future__ import annotations

from typing import Any

__all__ = ["CompiledFlow", "Fault", "Interview", "InterviewResult", "compile_flow"]

_HOMES = {"CompiledFlow": "compile", "compile_flow": "compile", "Fault": "interview",
          "Interview": "interview", "InterviewResult": "interview"}


def __getattr__(name: str) -> Any:
    # lazy, so that importing a runtime module (an element kind imports `nodes`) does not
    # import the compiler and, through it, every element kind
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module 'flowengine.runtime' has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(f"flowengine.runtime.{home}"), name)
