"""Salesforce-style record Ids: 15-character case-sensitive form, 18-character case-safe form.

An Id is a 3-character key prefix naming the object, 12 more characters, and (in the 18-character
form) a 3-character checksum: for each 5-character chunk of the first 15 characters, a bit per
uppercase letter (bit i for position i), mapped into `ABCDEFGHIJKLMNOPQRSTUVWXYZ012345`.
"""
from __future__ import annotations

import re
from typing import Any, Final

from flowengine.errors import OrgError

__all__ = ["CHECKSUM_ALPHABET", "INVALID_ID", "checksum", "looks_like_id", "make_id",
           "normalize_id"]

CHECKSUM_ALPHABET: Final = "ABCDEFGHIJKLMNOPQRSTUVWXYZ012345"
INVALID_ID: Final = "INVALID_ID"
# what the store puts between the key prefix and the counter of a generated Id ("pod" letters)
GENERATED_POD: Final = "XX"
_ALNUM: Final = re.compile(r"[A-Za-z0-9]+")
_PREFIX: Final = re.compile(r"[A-Za-z0-9]{3}")


def checksum(id15: str) -> str:
    """The 3-character case-safe suffix of a 15-character Id."""
    suffix = []
    for start in (0, 5, 10):
        bits = 0
        for i, char in enumerate(id15[start:start + 5]):
            if "A" <= char <= "Z":
                bits |= 1 << i
        suffix.append(CHECKSUM_ALPHABET[bits])
    return "".join(suffix)


def looks_like_id(text: Any) -> bool:
    """True for text that is exactly a 15-character alphanumeric Id or an 18-character one whose
    checksum matches. (Any 15 letters and digits qualify: the short form has no checksum.)"""
    if not isinstance(text, str) or len(text) not in (15, 18) or not _ALNUM.fullmatch(text):
        return False
    return len(text) == 15 or checksum(text[:15]) == text[15:]


def normalize_id(text: Any, expected_prefix: str | None = None,
                 object_name: str | None = None) -> str:
    """The 18-character form of a 15- or 18-character Id.

    Raises OrgError(INVALID_ID) when `text` is not an Id (wrong length, characters other than
    letters and digits, an 18-character Id whose checksum does not match its first 15 characters)
    or, with `expected_prefix`, when it is the Id of another object. `object_name` only makes the
    message clearer ("expected an OrderSummary Id (key prefix 1Os)").
    """
    wanted = _expected(expected_prefix, object_name)
    if not isinstance(text, str):
        shown = f"the number {text}" if isinstance(text, (int, float)) and \
            not isinstance(text, bool) else repr(text)
        raise OrgError(f"{shown} is not an Id: expected {wanted} as text of 15 or 18 letters "
                       "and digits (quote Ids that look like numbers)", INVALID_ID)
    if len(text) not in (15, 18) or not _ALNUM.fullmatch(text):
        raise OrgError(f"{text!r} is not an Id: expected {wanted} of 15 or 18 letters and "
                       f"digits, found {len(text)} characters"
                       + ("" if _ALNUM.fullmatch(text) or not text else
                          " including characters other than letters and digits"), INVALID_ID)
    suffix = checksum(text[:15])
    if len(text) == 18 and text[15:] != suffix:
        raise OrgError(f"{text!r} is not an Id: its checksum {text[15:]!r} does not match its "
                       f"first 15 characters (expected {text[:15]}{suffix}; letter case matters)",
                       INVALID_ID)
    if expected_prefix is not None and text[:3] != expected_prefix:
        raise OrgError(f"{text!r} is not {wanted}: its key prefix is {text[:3]!r}", INVALID_ID)
    return text[:15] + suffix


def _expected(prefix: str | None, object_name: str | None) -> str:
    if object_name and prefix:
        return f"{_article(object_name)} {object_name} Id (key prefix {prefix})"
    if prefix:
        return f"an Id with key prefix {prefix}"
    return "a record Id"


def _article(word: str) -> str:
    return "an" if word[:1].lower() in "aeiou" else "a"


def make_id(key_prefix: str, counter: int, pod: str = GENERATED_POD) -> str:
    """A new 18-character Id: key prefix, two "pod" characters, a 10-digit counter, checksum.

    Deterministic on purpose: the store numbers the records of each object 1, 2, 3..."""
    if not _PREFIX.fullmatch(key_prefix):
        raise ValueError(f"key prefix must be 3 letters or digits, got {key_prefix!r}")
    if not 0 <= counter < 10 ** 10:
        raise ValueError(f"Id counter out of range: {counter}")
    id15 = f"{key_prefix}{pod}{counter:010d}"
    return id15 + checksum(id15)


def is_key_prefix(text: Any) -> bool:
    """True for a valid 3-character key prefix."""
    return isinstance(text, str) and _PREFIX.fullmatch(text) is not None
