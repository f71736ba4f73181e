"""The Order Management invariants (spec section 1) that must hold after every transaction.

The store runs `check_invariants` before it commits a fixture load; the tests run it after every
test. Three queries whatever the size of the org.
"""
from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Mapping
from decimal import Decimal
from typing import Any, Final

from flowengine.org.base import OrgTransaction
from flowengine.types import format_decimal

from .objects import FULFILLMENT_ORDER, FULFILLMENT_ORDER_LINE_ITEM, ORDER_ITEM_SUMMARY, ZERO, dec

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
    return problems


def _line_problems(lines: list[dict[str, Any]]) -> list[str]:
    problems = []
    for line in lines:
        quantity, original = dec(line.get("Quantity")), dec(line.get("OriginalQuantity"))
        if not ZERO <= quantity <= original:
            problems.append(f"FulfillmentOrderLineItem {line['Id']}: Quantity {_n(quantity)} must "
                            f"be between 0 and OriginalQuantity {_n(original)}")
    return problems


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
