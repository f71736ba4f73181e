"""The run phase: a checked flow compiled into linked nodes, run as interviews."""
from __future__ import annotations

from flowengine.runtime.compile import CompiledFlow, compile_flow
from flowengine.runtime.interview import Fault, Interview, InterviewResult

__all__ = ["CompiledFlow", "Fault", "Interview", "InterviewResult", "compile_flow"]
