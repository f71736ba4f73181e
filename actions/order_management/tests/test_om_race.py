"""Several processes race to cancel the same fulfillment order line through a flow."""
from __future__ import annotations

import json
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

from flowengine.org import open_org
from flowengine_order_management.invariants import check_invariants

FO = "0a3DM0000000001YAA"
SHOES_LINE = "0a4DM0000000001YAA"       # Quantity 3
SHOES_SUMMARY = "10uDM0000000001YAA"

RACE_FLOW = """
flow: Cancel_One_Shoe
description: Cancels one unit of a line; a refusal takes the fault path.
variables:
  lineItem: {type: Apex, apexClass: ConnectApi.FulfillmentOrderLineItemInputRepresentation}
  cancelInput: {type: Apex, apexClass: ConnectApi.FulfillmentOrderLineItemsToCancelInputRepresentation}
  outcome: {type: Text, output: true}
elements:
  Build:
    type: Assignment
    assignments:
      - {ref: lineItem.fulfillmentOrderLineItemId, op: Assign, value: %(line)s}
      - {ref: lineItem.quantity, op: Assign, value: 1}
      - {ref: cancelInput.fulfillmentOrderLineItemsToCancel, op: Add, value: "{!lineItem}"}
    next: Cancel
  Cancel:
    type: Action
    action: cancelFulfillmentOrderItem
    inputs:
      fulfillmentOrderId: %(fo)s
      cancelFulfillmentOrderItemsInput: "{!cancelInput}"
    next: Won
    fault: Lost
  Won:
    type: Assignment
    assignments:
      - {ref: outcome, op: Assign, value: canceled}
  Lost:
    type: Assignment
    assignments:
      - {ref: outcome, op: Assign, value: "refused: {!$Flow.FaultMessage}"}
start: Build
""" % {"line": SHOES_LINE, "fo": FO}  # noqa: UP031 - a flow full of braces


def test_racing_processes_never_over_cancel(tmp_path: Path, demo_org_on: str) -> None:
    """On SQLite the processes take the store's lock in turn; on PostgreSQL they lock the
    fulfillment order, its line and its summary as they read them."""
    org = demo_org_on
    flow = tmp_path / "cancel_one_shoe.yaml"
    flow.write_text(RACE_FLOW)
    racers = 6
    procs = [subprocess.Popen([sys.executable, "-m", "flowengine", "run", str(flow), "--org", org,
                               "--format", "json"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              text=True)
             for _ in range(racers)]
    results = []
    for proc in procs:
        out, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err
        results.append(json.loads(out))

    outcomes = [r["outputs"]["outcome"] for r in results]
    winners = [o for o in outcomes if o == "canceled"]
    losers = [o for o in outcomes if o.startswith("refused: ")]
    assert all(r["status"] == "Finished" for r in results)
    assert len(winners) == 3 and len(losers) == racers - 3, outcomes
    assert all("INVALID_QUANTITY" in o for o in losers), losers

    store = open_org(org)
    try:
        tx = store.begin()
        try:
            line = tx.get("FulfillmentOrderLineItem", SHOES_LINE)
            summary = tx.get("OrderItemSummary", SHOES_SUMMARY)
            assert line is not None and summary is not None
            assert line["OriginalQuantity"] - line["Quantity"] == Decimal(3)
            assert line["Quantity"] == Decimal(0)
            assert summary["QuantityAllocated"] == Decimal(0)
            assert summary["QuantityAvailableToFulfill"] == Decimal(3)
            assert check_invariants(tx) == []
        finally:
            tx.rollback()
    finally:
        store.close()
