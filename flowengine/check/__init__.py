"""The check phase: a source document → a `CheckedFlow` (plain data), every problem collected
and raised once."""
from __future__ import annotations

from flowengine.check.checker import CheckedFlow, Checker, check_flow

__all__ = ["CheckedFlow", "Checker", "check_flow"]
