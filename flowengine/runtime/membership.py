"""Membership in a collection in constant time: what keeps the collection operators linear.

Salesforce defines `RemoveAll`, `RemoveUncommon`, `RemoveFirst`... and a Decision's `In` by
equality of items. Testing each item of one collection against every item of another is
quadratic (100,000 items: minutes); an index of hashable keys makes it linear. A key is equal to
another exactly when the values are equal (`==`): plain values are their own keys, Apex objects
and records become their class and frozen fields, collections tuples of keys. Values without a
key (none that a flow makes) are compared one by one, as before.
"""
from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Final

from flowengine.types import ObjectValue

__all__ = ["Membership", "TextMembership", "hash_key", "text_index"]

_NO_KEY: Final = object()


def hash_key(value: Any) -> Any:
    """A hashable stand-in for `value` (equal keys ⇔ equal values), or `_NO_KEY`."""
    if isinstance(value, ObjectValue):
        fields = []
        for name, field in value.fields.items():
            key = hash_key(field)
            if key is _NO_KEY:
                return _NO_KEY
            fields.append((name, key))
        return (type(value), value.type_name, frozenset(fields))
    if isinstance(value, list):
        keys = tuple(hash_key(item) for item in value)
        return _NO_KEY if any(k is _NO_KEY for k in keys) else (list, keys)
    try:
        hash(value)
    except TypeError:      # an unhashable value (a signalling NaN, a foreign object)
        return _NO_KEY
    return value


class Membership:
    """The items of a collection, indexed for `in` by equality (case-sensitive text, objects by
    all their fields), as the Assignment collection operators compare."""

    __slots__ = ("keys", "others")

    def __init__(self, items: Iterable[Any]) -> None:
        self.keys: set[Any] = set()
        self.others: list[Any] = []
        for item in items:
            key = hash_key(item)
            if key is _NO_KEY:
                self.others.append(item)
            else:
                self.keys.add(key)

    def __contains__(self, value: Any) -> bool:
        key = hash_key(value)
        if key is not _NO_KEY and key in self.keys:
            return True
        return any(value == other for other in self.others)


class TextMembership(Membership):
    """`In` as a Decision compares text: ignoring case, except record Ids, which compare exactly
    (`flowengine.conditions.text_equal`). `is_id` tells a record Id."""

    __slots__ = ("folded",)

    def __init__(self, items: Iterable[Any], is_id: Any) -> None:
        items = list(items)
        super().__init__(items)
        self.folded = {item.casefold() for item in items if isinstance(item, str) and not is_id(item)}

    def contains_text(self, text: str, is_id: Any) -> bool:
        if text in self.keys:
            return True
        return not is_id(text) and text.casefold() in self.folded


def text_index(cache: dict[object, Any], owner: object, collection: list[Any],
               is_id: Any) -> TextMembership:
    """The index of `collection` for the condition `owner`, kept in `cache` (the interview's)
    while the condition sees the same list with the same length again: a Decision `In` inside a
    loop indexes its list once, not once per item. The flow never changes a list in place
    except by appending (`Add`), which changes its length."""
    cached = cache.get(owner)
    if cached is None or cached[0] is not collection or cached[1] != len(collection):
        cached = cache[owner] = (collection, len(collection), TextMembership(collection, is_id))
    index: TextMembership = cached[2]
    return index
