"""Two interviews cancelling the same line at once never over-cancel (spec section 5): the store's
locks serialise them — SQLite's on the whole store, PostgreSQL's on the rows the first one read —
and the second validates against what the first committed."""
from __future__ import annotations

import threading
from decimal import Decimal
from typing import Any

from flowengine.errors import ActionError
from flowengine.org import open_org
from flowengine.plugins import ActionContext
from flowengine_order_management import plugin
from flowengine_order_management.invariants import check_invariants
from flowengine_order_management.sample import build_sample_order, cancel_input

CANCEL = next(a for a in plugin.actions if a.name == "cancelFulfillmentOrderItem")


def test_concurrent_cancels_of_the_same_line_do_not_over_cancel(org_target: str) -> None:
    path = org_target
    with open_org(path, schemas=plugin.objects, invariants=plugin.invariants) as store:
        with store.begin() as tx:
            sample = build_sample_order(tx, 1)          # the line has Quantity 3
    inputs = {"fulfillmentOrderId": sample.fulfillment_order_id,
              "cancelFulfillmentOrderItemsInput": cancel_input((sample.line_ids[0], Decimal(2)))}
    first_validated = threading.Event()
    outcomes: dict[str, Any] = {}

    def interview(name: str, hold: bool) -> None:
        with open_org(path, schemas=plugin.objects) as own_store:
            tx = own_store.begin()          # SQLite: takes the write lock (or waits for it)
            try:
                CANCEL.handler(inputs, ActionContext(org=tx, element=name))
                if hold:
                    first_validated.set()
                    threading.Event().wait(0.2)         # keep the lock while the other one starts
                tx.commit()
                outcomes[name] = "ok"
            except ActionError as exc:
                tx.rollback()
                outcomes[name] = exc
            finally:
                first_validated.set()

    first = threading.Thread(target=interview, args=("first", True))
    first.start()
    first_validated.wait(5)
    second = threading.Thread(target=interview, args=("second", False))
    second.start()
    first.join(10)
    second.join(10)

    assert outcomes["first"] == "ok"
    error = outcomes["second"]
    assert isinstance(error, ActionError) and error.error_code == "INVALID_QUANTITY"
    assert "quantity 2 is more than the current Quantity 1" in error.message
    with open_org(path, schemas=plugin.objects) as store, store.begin() as tx:
        assert tx.get("FulfillmentOrderLineItem", sample.line_ids[0])["Quantity"] == 1
        assert tx.get("OrderItemSummary", sample.summary_ids[0])["QuantityAllocated"] == 1
        assert check_invariants(tx) == []
