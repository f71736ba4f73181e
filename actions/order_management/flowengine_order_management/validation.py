"""Input checks shared by the Order Management actions.

Each helper either returns a clean value or raises `ActionError(code, message)` whose message
names the input path, the offending value and what was expected.
"""
from __future__ import annotations

import math
from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

from flowengine.errors import ActionError, OrgError
from flowengine.org import ids
from flowengine.org.base import OrgTransaction
from flowengine.types import ObjectValue

__all__ = ["fetch", "field_of", "items_of", "managed_summary", "quantity_of", "record_id",
           "required"]


def required(value: Any, path: str) -> Any:
    """`value`, unless it is null or blank text (REQUIRED_FIELD_MISSING)."""
    if value is None or (isinstance(value, str) and not value.strip()):
        raise ActionError("REQUIRED_FIELD_MISSING", f"{path} is required but was not set")
    return value


def field_of(obj: Any, name: str, path: str) -> Any:
    """Field `name` of an Apex-defined input object (or of a plain mapping, for direct callers)."""
    if isinstance(obj, ObjectValue):
        return obj.fields.get(name)
    if isinstance(obj, Mapping):
        return obj.get(name)
    raise ActionError("INVALID_INPUT", f"{path} must be an Apex-defined object, got "
                                       f"{type(obj).__name__}")


def items_of(obj: Any, name: str, path: str) -> list[Any]:
    """A required, non-empty list field of an input object."""
    value = field_of(required(obj, path), name, path)
    if value is None or (isinstance(value, (list, tuple)) and not value):
        raise ActionError("REQUIRED_FIELD_MISSING",
                          f"{path}.{name} is required and must list at least one item")
    if not isinstance(value, (list, tuple)):
        raise ActionError("INVALID_INPUT", f"{path}.{name} must be a list, got {type(value).__name__}")
    return list(value)


def record_id(value: Any, object_name: str, key_prefix: str, path: str) -> str:
    """The 18-character form of a required Id of `object_name` (15 characters accepted).

    A malformed Id, or the Id of another object, is INVALID_ID.
    """
    required(value, path)
    try:
        return ids.normalize_id(value.strip() if isinstance(value, str) else value,
                                key_prefix, object_name)
    except OrgError as exc:
        raise ActionError("INVALID_ID", f"{path}: {exc.message}") from None


def fetch(tx: OrgTransaction, object_name: str, full_id: str, path: str,
          missing_code: str = "NOT_FOUND") -> dict[str, Any]:
    """The record with that (already normalised) Id. A missing record is NOT_FOUND for the record
    an action works on, INVALID_ID for a record that its input refers to."""
    record = tx.get(object_name, full_id)
    if record is None:
        raise ActionError(missing_code, f"{path}: no {object_name} has Id {full_id}")
    return record


def quantity_of(value: Any, path: str) -> Decimal:
    """A required quantity: a finite number greater than 0 (INVALID_QUANTITY otherwise).

    Quantities are Apex Doubles in Salesforce, so fractions are allowed. Floats are read through
    their shortest text form (0.1 stays 0.1).
    """
    required(value, path)
    if isinstance(value, bool) or not isinstance(value, (Decimal, int, float)):
        raise ActionError("INVALID_QUANTITY", f"{path} must be a number, got {value!r}")
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ActionError("INVALID_QUANTITY", f"{path} must be a finite number, got {value}")
        value = Decimal(repr(value))
    try:
        number = Decimal(value)
    except (InvalidOperation, ValueError):  # pragma: no cover - Decimal(int|Decimal) cannot fail
        raise ActionError("INVALID_QUANTITY", f"{path} must be a number, got {value!r}") from None
    if not number.is_finite():
        raise ActionError("INVALID_QUANTITY", f"{path} must be a finite number, got {number}")
    if number <= 0:
        raise ActionError("INVALID_QUANTITY", f"{path} must be greater than 0, got {number}")
    return number


def managed_summary(tx: OrgTransaction, summary_id: Any, owner: str, action: str) -> dict[str, Any]:
    """The order summary `owner` (e.g. "fulfillment order 0a3...") belongs to, which must exist
    (NOT_FOUND) and be MANAGED (UNMANAGED_ORDER): Order Management actions refuse the others."""
    summary = tx.get("OrderSummary", summary_id) if summary_id else None
    if summary is None:
        raise ActionError("NOT_FOUND", f"{owner} refers to order summary {summary_id}, which does "
                                       "not exist")
    if summary.get("OrderLifeCycleType") != "MANAGED":
        raise ActionError(
            "UNMANAGED_ORDER",
            f"{owner} belongs to order summary {summary['Id']}, whose OrderLifeCycleType is "
            f"{summary.get('OrderLifeCycleType')}; only MANAGED order summaries can {action}")
    return summary
