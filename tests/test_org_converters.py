"""The per-field converters a write uses (`Catalog.converters`) give what `Catalog.convert` gives:
the same values, and the same errors with the same status codes."""
from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from flowengine.errors import OrgError
from flowengine.org.catalog import Catalog
from flowengine.org.standard.core import ACCOUNT, CONTACT, OPPORTUNITY

VALUES: list[Any] = [
    None, "", "Acme", "Retail", "retail", "Nope", "x" * 41, "x" * 300, 7, -3, 0, 10 ** 15,
    10 ** 20, True, 2.5, Decimal("12.345"), Decimal("1E+30"), Decimal("NaN"), Decimal("-0.0"),
    "12.5", "a@example.com", "not an address", "001XX0000000001YAA", "001XX0000000001",
    "003XX0000000001YAA", "001XX0000000001xxx", ["a"], {"a": 1}, "2026-01-31",
    "2026-01-31T09:30:00Z",
]


def outcome(fn: Any, value: Any) -> tuple[str, Any]:
    try:
        result = fn(value)
    except OrgError as exc:
        return "error", (str(exc), exc.error_code)
    return "value", (type(result), result, str(result))


@pytest.mark.parametrize("object_name", ["Account", "Contact", "Opportunity", "User"])
def test_converters_give_what_convert_gives(object_name: str) -> None:
    catalog = Catalog([ACCOUNT, CONTACT, OPPORTUNITY])
    info = catalog.objects[object_name]
    converters = catalog.converters(info, audit=True)
    assert converters, "every object has fields a write may set"
    for name, convert in converters.items():
        fdef = info.by_name[name]
        for value in VALUES:
            assert outcome(convert, value) == \
                outcome(lambda v, f=fdef: catalog.convert(info, f, v), value), (name, value)


def test_converters_leave_out_what_a_write_may_not_set() -> None:
    catalog = Catalog([ACCOUNT, CONTACT, OPPORTUNITY])
    info = catalog.objects["Contact"]
    assert "Name" not in catalog.converters(info)           # calculated
    assert "CreatedDate" not in catalog.converters(info)    # an audit field...
    assert "CreatedDate" in catalog.converters(info, audit=True)   # ...unless audit fields may be set
