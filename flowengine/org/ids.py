"""Salesforce-style record Ids: 15-character case-sensitive form, 18-character case-safe form.

An Id is a 3-character key prefix naming the object, 12 more characters, and (in the 18-character
form) a 3-character checksum: for each 5-character chunk of the first 15 characters, a bit per
uppercase letter (bit i for position i), mapped into `ABCDEFGHIJKLMNOPQRSTUVWXYZ012345`.
"""
from __future__ import annotations

import re
import string
from typing import Any, Final

from flowengine.errors import OrgError

__all__ = ["CHECKSUM_ALPHABET", "INVALID_ID", "article", "checksum", "looks_like_id", "make_id",
           "make_ids", "normalize_id"]

CHECKSUM_ALPHABET: Final = "ABCDEFGHIJKLMNOPQRSTUVWXYZ012345"
INVALID_ID: Final = "INVALID_ID"
# what the store puts between the key prefix and the counter of a generated Id ("pod" letters)
GENERATED_POD: Final = "XX"
_ALNUM: Final = re.compile(r"[A-Za-z0-9]+")
_PREFIX: Final = re.compile(r"[A-Za-z0-9]{3}")


# an Id's characters as binary digits, 1 for an uppercase letter; a chunk's 5 digits → its letter
_UPPER_AS_BITS: Final = str.maketrans(string.ascii_uppercase + string.ascii_lowercase
                                      + string.digits, "1" * 26 + "0" * 36)
_CHUNK_LETTER: Final = {format(n, "05b")[::-1]: CHECKSUM_ALPHABET[n] for n in range(32)}


def checksum(id15: str) -> str:
    """The 3-character case-safe suffix of a 15-character Id."""
    bits = id15[:15].translate(_UPPER_AS_BITS)
    if len(bits) != 15 or not bits.isdigit():  # not 15 letters and digits: only A–Z count
        bits = "".join("1" if "A" <= char <= "Z" else "0" for char in id15[:15]).ljust(15, "0")
    return _CHUNK_LETTER[bits[:5]] + _CHUNK_LETTER[bits[5:10]] + _CHUNK_LETTER[bits[10:]]


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
    wanted = _Expected(expected_prefix, object_name)
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


class _Expected:
    """What Id was expected, as text only when an error message needs it (Ids are normalised
    on every read and write: the happy path must not format messages)."""

    def __init__(self, prefix: str | None, object_name: str | None) -> None:
        self.prefix, self.object_name = prefix, object_name

    def __str__(self) -> str:
        if self.object_name and self.prefix:
            return f"{article(self.object_name)} {self.object_name} Id (key prefix {self.prefix})"
        if self.prefix:
            return f"an Id with key prefix {self.prefix}"
        return "a record Id"


def article(word: str) -> str:
    """"a" or "an" before an object's name: an Account, a User (a "u" that sounds "you")."""
    low = word.lower()
    if low[:1] == "u" and len(low) > 2 and low[1] not in "aeiou" and low[2] in "aeiou":
        return "a"
    return "an" if low[:1] in "aeiou" else "a"


def make_id(key_prefix: str, counter: int, pod: str = GENERATED_POD) -> str:
    """A new 18-character Id: key prefix, two "pod" characters, a 10-digit counter, checksum.

    Deterministic on purpose: the store numbers the records of each object 1, 2, 3..."""
    if not _PREFIX.fullmatch(key_prefix):
        raise ValueError(f"key prefix must be 3 letters or digits, got {key_prefix!r}")
    if not 0 <= counter < 10 ** 10:
        raise ValueError(f"Id counter out of range: {counter}")
    id15 = f"{key_prefix}{pod}{counter:010d}"
    return id15 + checksum(id15)


def make_ids(key_prefix: str, first: int, count: int, pod: str = GENERATED_POD) -> list[str]:
    """`make_id(key_prefix, n)` for the `count` counters from `first`: the counter is digits,
    which add nothing to the checksum, so every Id of the run shares one."""
    if count <= 0:
        return []
    if not (0 <= first and first + count - 1 < 10 ** 10):
        return [make_id(key_prefix, n, pod) for n in range(first, first + count)]  # says why
    suffix = make_id(key_prefix, first, pod)[15:]
    head = f"{key_prefix}{pod}"
    return [f"{head}{n:010d}{suffix}" for n in range(first, first + count)]


def is_key_prefix(text: Any) -> bool:
    """True for a valid 3-character key prefix."""
    return isinstance(text, str) and _PREFIX.fullmatch(text) is not None
