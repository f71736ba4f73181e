"""The Order Management plug-in: Salesforce Order Management's Flow core actions on the local org.

Published under the `flowengine.actions` entry-point group as `order_management`. It contributes
- the actions `cancelFulfillmentOrderItem` (Cancel Fulfillment Order Item),
  `createFulfillmentOrder` (Create Fulfillment Order), `createInvoiceFromFulfillmentOrder`
  (Create an Invoice from Fulfillment Order) and `ensureFundsOrderSummaryAsync` (Ensure Funds
  Async),
- the `ConnectApi.*` Apex-defined classes they take and return,
- the org objects they act on (OrderSummary, OrderItemSummary, FulfillmentOrder, Invoice...),
- the invariants the store checks before committing a fixture, and
- the platform's behaviour around writes, as a save hook: the Order Management events it
  publishes and the quantities a fulfilled fulfillment order fulfills (`hooks.py`).

`run_background_operations(store)` runs the queued background operations (Ensure Funds Async's),
as Salesforce's asynchronous job queue does after the transaction that queued them commits.
"""
from __future__ import annotations

from flowengine.plugins import Plugin

from .cancel import ACTION as CANCEL_ACTION
from .classes import APEX_CLASSES
from .create import ACTION as CREATE_ACTION
from .funds import ACTION as ENSURE_FUNDS_ACTION
from .funds import run_background_operations
from .hooks import OrderManagementHook
from .invariants import check_invariants
from .invoice import ACTION as INVOICE_ACTION
from .objects import OBJECTS

__all__ = ["plugin", "run_background_operations"]

plugin = Plugin(
    name="order_management",
    actions=(CANCEL_ACTION, CREATE_ACTION, INVOICE_ACTION, ENSURE_FUNDS_ACTION),
    apex_classes=APEX_CLASSES,
    objects=OBJECTS,
    invariants=(check_invariants,),
    save_hooks=(OrderManagementHook(),),
    after_commit=(run_background_operations,),
)
