"""A trace entry (one executed element, spec 7) as text, like Flow Builder's debug panel: the
element's head line, what its kind shows of it, and its fault."""
from __future__ import annotations

from typing import Any

from flowengine.elements import kind_named


def format_trace_entry(entry: dict[str, Any]) -> str:
    lines = [f"  {entry['step']:>4}. {entry['element']} ({entry['type']})"]
    kind = kind_named(entry["type"])
    if kind is not None:
        lines += kind.trace_text(entry)
    if "fault" in entry:
        lines.append(f"        FAULT: {entry['fault']}")
    return "\n".join(lines)
