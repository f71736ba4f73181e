"""The Order Management plug-in: Salesforce Order Management's Flow core actions on the local org.

Published under the `flowengine.actions` entry-point group as `order_management`. It contributes
- the actions `cancelFulfillmentOrderItem` (Cancel Fulfillment Order Item) and
  `createFulfillmentOrder` (Create Fulfillment Order),
- the `ConnectApi.*` Apex-defined classes they take and return,
- the org objects they act on (OrderSummary, OrderItemSummary, FulfillmentOrder, ...), and
- the invariants the store checks before committing a fixture.
"""
from __future__ import annotations

from flowengine.plugins import Plugin

from .cancel import ACTION as CANCEL_ACTION
from .classes import APEX_CLASSES
from .create import ACTION as CREATE_ACTION
from .invariants import check_invariants
from .objects import OBJECTS

__all__ = ["plugin"]

plugin = Plugin(
    name="order_management",
    actions=(CANCEL_ACTION, CREATE_ACTION),
    apex_classes=APEX_CLASSES,
    objects=OBJECTS,
    invariants=(check_invariants,),
)
