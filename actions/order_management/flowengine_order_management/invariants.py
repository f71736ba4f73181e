"""The Order Management invariants (spec section 1) that must hold after every transaction.

The store runs `check_invariants` before it commits a fixture load; the tests run it after every
test. Four queries whatever the size of the org.
"""
from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Mapping
from decimal import Decimal
from typing import Any, Final

from flowengine.org.base import OrgTransaction
from flowengine.types import format_decimal

from .objects import (
    FULFILLMENT_ORDER,
    FULFILLMENT_ORDER_LINE_ITEM,
    INVOICE,
    ORDER_ITEM_SUMMARY,
    ZERO,
    dec,
)

__all__ = ["check_invariants"]

Line = Mapping[str, Any]

# FulfillmentOrder field → (which lines count, which line field is summed)
FO_SUMS: Final[dict[str, tuple[Callable[[Line], bool], str]]] = {
    "ItemCount": (lambda line: line.get("TypeCode") == "Product", "Quantity"),
    "TotalProductAmount": (lambda line: line.get("TypeCode") == "Product", "TotalPrice"),
    "TotalDeliveryAmount": (lambda line: line.get("Type") == "Delivery Charge", "TotalPrice"),
    "TotalAmount": (lambda line: True, "TotalPrice"),
    "TotalTaxAmount": (lambda line: True, "TotalTaxAmount"),
}


def _n(value: Decimal) -> str:
    return format_decimal(value)


def check_invariants(tx: OrgTransaction) -> list[str]:
    """Every broken invariant as a sentence naming the record, the fields and their values."""
    lines = tx.query(FULFILLMENT_ORDER_LINE_ITEM.name)
    problems = _line_problems(lines)
    problems += _summary_problems(tx.query(ORDER_ITEM_SUMMARY.name), lines)
    problems += _order_problems(tx.query(FULFILLMENT_ORDER.name), lines)
    problems += _invoice_problems(tx.query(INVOICE.name))
    return problems


def _out_of_range(object_name: str, records: list[dict[str, Any]], field: str,
                  upper: str) -> list[str]:
    """Each record whose `field` is not between 0 and its `upper` field."""
    problems = []
    for record in records:
        value, limit = dec(record.get(field)), dec(record.get(upper))
        if not ZERO <= value <= limit:
            problems.append(f"{object_name} {record['Id']}: {field} {_n(value)} must be between 0 "
                            f"and {upper} {_n(limit)}")
    return problems


def _line_problems(lines: list[dict[str, Any]]) -> list[str]:
    return _out_of_range("FulfillmentOrderLineItem", lines, "Quantity", "OriginalQuantity")


def _summary_problems(summaries: list[dict[str, Any]], lines: list[dict[str, Any]]) -> list[str]:
    on_lines: dict[Any, Decimal] = defaultdict(Decimal)
    for line in lines:
        on_lines[line.get("OrderItemSummaryId")] += dec(line.get("Quantity"))
    problems = []
    for summary in summaries:
        allocated = dec(summary.get("QuantityAllocated"))
        open_quantity = dec(summary.get("QuantityOrdered")) - dec(summary.get("QuantityCanceled"))
        if not ZERO <= allocated <= open_quantity:
            problems.append(
                f"OrderItemSummary {summary['Id']}: QuantityAllocated {_n(allocated)} must be "
                f"between 0 and QuantityOrdered − QuantityCanceled = {_n(open_quantity)}")
        if allocated != on_lines.get(summary["Id"], ZERO):
            problems.append(
                f"OrderItemSummary {summary['Id']}: QuantityAllocated {_n(allocated)} differs from "
                f"the sum of Quantity over its fulfillment order lines, "
                f"{_n(on_lines.get(summary['Id'], ZERO))}")
    return problems


def _order_problems(orders: list[dict[str, Any]], lines: list[dict[str, Any]]) -> list[str]:
    by_order: dict[Any, list[dict[str, Any]]] = defaultdict(list)
    for line in lines:
        by_order[line.get("FulfillmentOrderId")].append(line)
    problems = []
    for order in orders:
        own = by_order.get(order["Id"], [])
        for field, (counts, line_field) in FO_SUMS.items():
            expected = sum((dec(line.get(line_field)) for line in own if counts(line)), ZERO)
            if dec(order.get(field)) != expected:
                problems.append(
                    f"FulfillmentOrder {order['Id']}: {field} is {_n(dec(order.get(field)))} but "
                    f"the sum of {line_field} over its lines is {_n(expected)}")
        grand = dec(order.get("TotalAmount")) + dec(order.get("TotalTaxAmount"))
        if dec(order.get("GrandTotalAmount")) != grand:
            problems.append(f"FulfillmentOrder {order['Id']}: GrandTotalAmount is "
                            f"{_n(dec(order.get('GrandTotalAmount')))} but TotalAmount + "
                            f"TotalTaxAmount is {_n(grand)}")
    return problems


def _invoice_problems(invoices: list[dict[str, Any]]) -> list[str]:
    """Funds are never applied beyond what an invoice bills."""
    return _out_of_range("Invoice", invoices, "Balance", "TotalAmountWithTax")
