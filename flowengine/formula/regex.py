"""REGEX's matching: the whole text against a Java-syntax pattern, with limits.

The third-party `regex` module reads Java's syntax (possessive quantifiers, atomic groups,
`\\p{...}` classes) and can stop a match that runs too long: a pattern that backtracks
catastrophically ends in a fault after `TIME_LIMIT` seconds instead of hanging the interview."""
from __future__ import annotations

from functools import lru_cache
from typing import Any, Final

import regex

from flowengine.formula.nodes import Fault, quoted

TIME_LIMIT: Final = 1.0
MAX_PATTERN: Final = 10_000


@lru_cache(maxsize=256)
def _compile(pattern: str) -> Any:
    if len(pattern) > MAX_PATTERN:
        raise Fault(f"REGEX pattern is longer than {MAX_PATTERN:,} characters")
    try:
        return regex.compile(pattern, regex.VERSION0)
    except regex.error as exc:
        raise Fault(f"REGEX cannot read the pattern {quoted(pattern)}: {exc}") from None


def full_match(text: str, pattern: str) -> bool:
    compiled = _compile(pattern)
    try:
        return compiled.fullmatch(text, timeout=TIME_LIMIT) is not None
    except TimeoutError:
        raise Fault(f"REGEX gave up matching {quoted(pattern)} after {TIME_LIMIT:g} s (the "
                    "pattern backtracks too much for this text)") from None
