"""docs/conformance.md names, for each documented rule, the test that pins it (in `tests/` or a
plug-in's `actions/*/tests/`): each must exist."""
from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_every_test_named_in_the_conformance_table_exists() -> None:
    text = (ROOT / "docs" / "conformance.md").read_text(encoding="utf-8")
    # the repository's tests, and those of the plug-ins in actions/ (Order Management's)
    named = re.findall(r"`((?:actions/[\w/]+/)?tests/[\w/]+\.py)::(\w+)`", text)
    assert len(named) > 50
    missing = []
    for module, test in named:
        tree = ast.parse((ROOT / module).read_text(encoding="utf-8"))
        functions = {node.name for node in ast.walk(tree) if isinstance(node, ast.FunctionDef)}
        if test not in functions:
            missing.append(f"{module}::{test}")
    assert missing == []
