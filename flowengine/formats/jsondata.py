"""JSON data from users (input files, `-i` values, JSON fixtures), read as carefully as YAML:
nesting bounded before parsing (deep nesting would exhaust Python's recursion), every error with
its line and column, a key given twice refused."""
from __future__ import annotations

import json
import re
from decimal import Decimal
from typing import Any, Final

from flowengine.errors import LoadError

__all__ = ["MAX_JSON_DEPTH", "parse_json", "whole_number"]

MAX_JSON_DEPTH: Final = 100        # as for YAML (flowengine.formats.yaml)
# a string (skipped whole, so brackets inside it do not count) or a bracket
_TOKEN: Final = re.compile(r'"(?:\\.|[^"\\])*"|[\[\]{}]')


def parse_json(text: str, file: str | None = None, *, max_depth: int = MAX_JSON_DEPTH,
               exact: bool = False) -> Any:
    """Parse JSON text; `exact` reads numbers with a fraction as Decimal. Raises LoadError with
    the line and column of the problem."""
    depth = 0
    for match in _TOKEN.finditer(text):
        token = match.group()
        if token in "[{":
            depth += 1
            if depth > max_depth:
                line, column = _position(text, match.start())
                raise LoadError(f"JSON nested more than {max_depth} levels deep", file, line,
                                column, code="limit")
        elif token in "]}":
            depth -= 1
    try:
        return json.loads(text, object_pairs_hook=_no_duplicates,
                          parse_float=Decimal if exact else float, parse_int=whole_number)
    except json.JSONDecodeError as exc:
        raise LoadError(f"invalid JSON: {exc.msg}", file, exc.lineno, exc.colno, code="json") from None
    except (ValueError, RecursionError) as exc:
        raise LoadError(f"invalid JSON: {exc}", file, code="json") from None


def whole_number(text: str) -> int | Decimal:
    """A JSON whole number; one longer than Python turns into an int (4,300 digits) is read as
    Decimal, for the types' own check to refuse by its digits."""
    return int(text) if len(text) <= 4000 else Decimal(text)


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise ValueError(f"duplicate key {key!r}")
        result[key] = value
    return result


def _position(text: str, offset: int) -> tuple[int, int]:
    line = text.count("\n", 0, offset) + 1
    return line, offset - (text.rfind("\n", 0, offset) + 1) + 1
