"""Key prefixes that flowengine generates: for custom objects (Salesforce gives each org its own),
and for the few standard objects whose prefix no source we could find documents.

The rule: the first character says what the object is — `a` a custom object (`__c`), `e` a
platform event (`__e`), `m` a custom metadata type (`__mdt`), `z` a standard object without a
documented prefix — and the other two are the first two base-62 digits of the SHA-256 of the
object's API name. When that prefix is taken (by a standard object or by another object of the
same set, whose names sort first), the next candidate hashes `Name#1`, then `Name#2`... So the
same name always gets the same prefix, unless two names of one project meet on the same one
(1 pair in 3,844); then the name that sorts later moves on. No standard prefix is ever used:
no standard object flowengine ships has a prefix starting with `a`, `e`, `m` or `z`.
"""
from __future__ import annotations

import hashlib
from collections.abc import Collection, Iterable, Mapping
from typing import Final

__all__ = ["BASE62", "generated_key_prefix", "generated_prefixes", "kind_letter"]

BASE62: Final = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
_SUFFIX_LETTERS: Final = {"__c": "a", "__e": "e", "__mdt": "m"}
STANDARD_LETTER: Final = "z"
RESERVED_LETTERS: Final = frozenset({*_SUFFIX_LETTERS.values(), STANDARD_LETTER})


def kind_letter(name: str) -> str:
    """The first character of a generated prefix for an object called `name`."""
    for suffix, letter in _SUFFIX_LETTERS.items():
        if name.endswith(suffix):
            return letter
    return STANDARD_LETTER


def _digits(text: str) -> str:
    number = int.from_bytes(hashlib.sha256(text.encode("utf-8")).digest()[:8], "big")
    return BASE62[number % 62] + BASE62[number // 62 % 62]


def generated_key_prefix(name: str, taken: Collection[str] = ()) -> str:
    """The prefix flowengine gives the object `name` (see the module docstring), avoiding the
    prefixes in `taken`."""
    letter = kind_letter(name)
    attempt = 0
    while True:
        candidate = letter + _digits(name if attempt == 0 else f"{name}#{attempt}")
        if candidate not in taken:
            return candidate
        attempt += 1
        if attempt > 4 * len(BASE62) ** 2:   # every prefix of this letter taken: cannot happen
            raise ValueError(f"no key prefix left for {name}")


def generated_prefixes(names: Iterable[str], taken: Collection[str] = ()) -> Mapping[str, str]:
    """Name → generated prefix for several objects at once, in name order, each avoiding
    `taken` and the ones given before it."""
    used = set(taken)
    result: dict[str, str] = {}
    for name in sorted(set(names)):
        result[name] = prefix = generated_key_prefix(name, used)
        used.add(prefix)
    return result
