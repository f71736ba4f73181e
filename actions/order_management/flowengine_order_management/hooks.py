"""What the Order Management platform does around writes, as a save hook of the org store.

`OrderManagementHook` runs after every write of every transaction (`flowengine.org.base.SaveHook`)
and does what Salesforce does on its own when Order Management records change:

- an order summary is created → OrderSummaryCreatedEvent (OrderSummaryId, OrderId — the original
  order —, UserLocale — the creator's locale);
- an order summary's Status changes → OrderSumStatusChangedEvent (OrderSummaryId, OrderId,
  OldStatus, NewStatus);
- a fulfillment order's Status changes → FOStatusChangedEvent (FulfillmentOrderId,
  OrderSummaryId, OldStatus, NewStatus, OldStatusCategory, NewStatusCategory);
- a fulfillment order's StatusCategory becomes CLOSED → the quantities of its lines are fulfilled:
  each order item summary's QuantityFulfilled grows by its lines' Quantity, so its Status follows
  (FULFILLED once everything ordered is fulfilled). Leaving CLOSED takes them back.

Events are published with the transaction (`OrgTransaction.publish`): delivered once it commits,
never when it rolls back. One write batch publishes one batch per event object, for all its
records that qualify, in the batch's order; a write that changes no Status publishes nothing.
Events are published for MANAGED and UNMANAGED order summaries alike.
"""
from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from decimal import Decimal
from typing import Any, Final

from flowengine.org.base import OrgTransaction

from .objects import FULFILLMENT_ORDER, FULFILLMENT_ORDER_LINE_ITEM, ORDER_ITEM_SUMMARY, ORDER_SUMMARY, dec

__all__ = ["FULFILLED_CATEGORY", "OrderManagementHook"]

Row = dict[str, Any]
Changes = Sequence[tuple[Row | None, Row]]

ORDER_SUMMARY_CREATED: Final = "OrderSummaryCreatedEvent"
ORDER_SUMMARY_STATUS_CHANGED: Final = "OrderSumStatusChangedEvent"
FO_STATUS_CHANGED: Final = "FOStatusChangedEvent"
FULFILLED_CATEGORY: Final = "CLOSED"


def _status_changes(changes: Changes) -> list[tuple[Row, Row]]:
    """The updated rows whose Status changed (inserts are not changes)."""
    return [(old, new) for old, new in changes
            if old is not None and old.get("Status") != new.get("Status")]


class OrderManagementHook:
    """The Order Management platform behaviour around writes (see the module docstring)."""

    def __init__(self) -> None:
        self._after: Mapping[str, Callable[[OrgTransaction, Changes], None]] = {
            ORDER_SUMMARY.name: self._order_summaries_saved,
            FULFILLMENT_ORDER.name: self._fulfillment_orders_saved,
        }

    def saves(self, object_name: str) -> bool:
        """Whether saving records of `object_name` does anything (the store skips the rest)."""
        return object_name in self._after

    def before_save(self, tx: OrgTransaction, object_name: str, changes: Changes) -> None:
        """Nothing: the platform changes no record before it is saved."""

    def after_save(self, tx: OrgTransaction, object_name: str, changes: Changes) -> None:
        handler = self._after.get(object_name)
        if handler is not None:
            handler(tx, changes)

    def before_delete(self, tx: OrgTransaction, object_name: str, rows: Sequence[Row]) -> None:
        """Nothing: deletes publish no Order Management event."""

    # -- order summaries --------------------------------------------------------------------

    def _order_summaries_saved(self, tx: OrgTransaction, changes: Changes) -> None:
        created = [new for old, new in changes if old is None]
        if created:
            locales = _user_locales(tx, {row.get("CreatedById") for row in created})
            tx.publish(ORDER_SUMMARY_CREATED, [{
                "OrderSummaryId": row["Id"], "OrderId": row.get("OriginalOrderId"),
                "UserLocale": locales.get(row.get("CreatedById"))} for row in created])
        changed = _status_changes(changes)
        if changed:
            tx.publish(ORDER_SUMMARY_STATUS_CHANGED, [{
                "OrderSummaryId": new["Id"], "OrderId": new.get("OriginalOrderId"),
                "OldStatus": old.get("Status"), "NewStatus": new.get("Status")}
                for old, new in changed])

    # -- fulfillment orders -----------------------------------------------------------------

    def _fulfillment_orders_saved(self, tx: OrgTransaction, changes: Changes) -> None:
        changed = _status_changes(changes)
        if not changed:
            return
        tx.publish(FO_STATUS_CHANGED, [{
            "FulfillmentOrderId": new["Id"], "OrderSummaryId": new.get("OrderSummaryId"),
            "OldStatus": old.get("Status"), "NewStatus": new.get("Status"),
            "OldStatusCategory": old.get("StatusCategory"),
            "NewStatusCategory": new.get("StatusCategory")} for old, new in changed])
        sign = {new["Id"]: 1 if new.get("StatusCategory") == FULFILLED_CATEGORY else -1
                for old, new in changed
                if (old.get("StatusCategory") == FULFILLED_CATEGORY)
                != (new.get("StatusCategory") == FULFILLED_CATEGORY)}
        if sign:
            _fulfil(tx, sign)


def _fulfil(tx: OrgTransaction, sign: Mapping[str, int]) -> None:
    """Add (sign 1) or take back (sign -1) the fulfillment orders' line quantities to their order
    item summaries' QuantityFulfilled: one query of lines, one of summaries, one update."""
    delta: dict[str, Decimal] = defaultdict(Decimal)
    for line in tx.query(FULFILLMENT_ORDER_LINE_ITEM.name, where={"FulfillmentOrderId": list(sign)}):
        delta[line["OrderItemSummaryId"]] += sign[line["FulfillmentOrderId"]] * dec(line.get("Quantity"))
    summaries = tx.query(ORDER_ITEM_SUMMARY.name, where={"Id": [k for k, v in delta.items() if v]})
    if summaries:
        tx.update_many(ORDER_ITEM_SUMMARY.name, {
            s["Id"]: {"QuantityFulfilled": dec(s.get("QuantityFulfilled")) + delta[s["Id"]]}
            for s in summaries})


def _user_locales(tx: OrgTransaction, user_ids: set[Any]) -> dict[Any, str | None]:
    """LocaleSidKey of each user (the locale OrderSummaryCreatedEvent reports)."""
    ids = [user_id for user_id in user_ids if user_id]
    if not ids:
        return {}
    return {user["Id"]: user.get("LocaleSidKey") for user in tx.query("User", where={"Id": ids})}
