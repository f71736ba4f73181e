"""End to end: the shipped example flows against a real org store, through the API and the CLI."""
from __future__ import annotations

import json
import subprocess
import sys
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from flowengine import load_flow
from flowengine.cli import main
from flowengine.org import open_org
from flowengine.org.fixtures import export_records

ROOT = Path(__file__).resolve().parent.parent
FLOWS = ROOT / "flows"
DEMO = FLOWS / "fixtures" / "demo_org.yaml"
FO = "0a3DM0000000001YAA"
SHOES_LINE = "0a4DM0000000001YAA"
JACKET_LINE = "0a4DM0000000002YAA"
SHOES_SUMMARY = "10uDM0000000001YAA"
EAST = "131DM0000000002YAA"

EXAMPLES = sorted(p for p in FLOWS.glob("*.yaml") if not p.name.endswith(".flowtest.yaml"))


def snapshot(path: Path) -> Any:
    store = open_org(path)
    try:
        return export_records(store)
    finally:
        store.close()


def record(path: Path, obj: str, record_id: str) -> dict[str, Any]:
    store = open_org(path)
    try:
        tx = store.begin()
        try:
            found = tx.get(obj, record_id)
        finally:
            tx.rollback()
    finally:
        store.close()
    assert found is not None
    return found


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.name)
def test_every_example_validates(path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["validate", str(path)]) == 0
    assert "error" not in capsys.readouterr().out


def test_cancel_example_cancels_and_frees_the_quantity(demo_org: Path) -> None:
    flow = load_flow(FLOWS / "cancel_fulfillment_order_items.yaml")
    result = flow.run({"fulfillmentOrderId": FO, "firstLineItemId": SHOES_LINE, "firstQuantity": 2,
                       "secondLineItemId": JACKET_LINE, "secondQuantity": 1}, org=str(demo_org))
    assert result.status == "Finished", result.error
    assert result.outputs["success"] is True and result.outputs["linesCanceled"] == 2
    shoes = record(demo_org, "FulfillmentOrderLineItem", SHOES_LINE)
    assert (shoes["OriginalQuantity"], shoes["Quantity"]) == (Decimal(3), Decimal(1))
    assert record(demo_org, "FulfillmentOrderLineItem", JACKET_LINE)["Quantity"] == Decimal(1)
    summary = record(demo_org, "OrderItemSummary", SHOES_SUMMARY)
    assert summary["QuantityAllocated"] == Decimal(1)
    assert summary["QuantityAvailableToFulfill"] == Decimal(2)
    assert summary["QuantityCanceled"] == Decimal(0)


def test_the_15_character_form_of_an_id_works_in_a_flow(demo_org: Path) -> None:
    flow = load_flow(FLOWS / "cancel_fulfillment_order_items.yaml")
    result = flow.run({"fulfillmentOrderId": FO[:15], "firstLineItemId": SHOES_LINE[:15],
                       "firstQuantity": 1}, org=str(demo_org))
    assert result.status == "Finished", result.error
    assert record(demo_org, "FulfillmentOrderLineItem", SHOES_LINE)["Quantity"] == Decimal(2)


def test_an_unhandled_fault_leaves_the_org_exactly_as_it_was(demo_org: Path) -> None:
    before = snapshot(demo_org)
    flow = load_flow(FLOWS / "cancel_fulfillment_order_items.yaml")
    result = flow.run({"fulfillmentOrderId": FO, "firstLineItemId": SHOES_LINE, "firstQuantity": 1,
                       "secondLineItemId": JACKET_LINE, "secondQuantity": 5}, org=str(demo_org))
    assert result.status == "Failed"
    assert result.error.element == "Cancel_Items"
    assert "INVALID_QUANTITY" in result.error.message and JACKET_LINE in result.error.message
    assert snapshot(demo_org) == before


def test_a_handled_fault_keeps_earlier_work_and_undoes_only_the_failed_action(demo_org: Path) -> None:
    flow = load_flow(FLOWS / "cancel_and_reallocate.yaml")
    inputs = {"lineItemId": SHOES_LINE, "newLocationId": "131DM0000000009YAA", "quantity": 1}
    result = flow.run(inputs, org=str(demo_org), trace=True)
    assert result.status == "Finished", result.error
    assert result.outputs["status"] == "Canceled, then failed"
    assert result.outputs["faultMessage"].startswith(("INVALID_ID", "NOT_FOUND"))
    assert [e["element"] for e in result.trace][-2:] == ["Reallocate", "Record_Failure"]
    # the cancel stayed; the failed reallocation wrote nothing
    assert record(demo_org, "FulfillmentOrderLineItem", SHOES_LINE)["Quantity"] == Decimal(2)
    assert record(demo_org, "OrderItemSummary", SHOES_SUMMARY)["QuantityAllocated"] == Decimal(2)
    assert len(snapshot(demo_org)["FulfillmentOrder"]) == 1


def test_cancel_then_reallocate_moves_the_quantity(demo_org: Path) -> None:
    flow = load_flow(FLOWS / "cancel_and_reallocate.yaml")
    result = flow.run({"lineItemId": SHOES_LINE, "newLocationId": EAST, "quantity": 2},
                      org=str(demo_org))
    assert result.status == "Finished", result.error
    assert result.outputs["status"] == "Reallocated"
    (new_id,) = result.outputs["newFulfillmentOrderIds"]
    new_fo = record(demo_org, "FulfillmentOrder", new_id)
    assert new_fo["FulfilledFromLocationId"] == EAST and new_fo["Status"] == "Allocated"
    assert record(demo_org, "OrderItemSummary", SHOES_SUMMARY)["QuantityAllocated"] == Decimal(3)


def test_rollback_mode_runs_and_leaves_the_org_alone(demo_org: Path) -> None:
    before = snapshot(demo_org)
    flow = load_flow(FLOWS / "cancel_fulfillment_order_items.yaml")
    result = flow.run({"fulfillmentOrderId": FO, "firstLineItemId": SHOES_LINE}, org=str(demo_org),
                      rollback=True)
    assert result.status == "Finished"
    assert snapshot(demo_org) == before


def test_the_quick_start_through_the_command_line(tmp_path: Path) -> None:
    env_org = str(tmp_path / "org.sqlite")

    def cli(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "flowengine", *args, "--org", env_org],
                              capture_output=True, text=True, timeout=120, cwd=ROOT, check=False)

    assert cli("org", "init", "--force").returncode == 0
    assert cli("org", "load", str(DEMO)).returncode == 0
    before = cli("org", "show", "FulfillmentOrderLineItem", "--fields", "OriginalQuantity,Quantity")
    assert before.returncode == 0
    run = cli("run", str(FLOWS / "cancel_fulfillment_order_items.yaml"), "-i", f"fulfillmentOrderId={FO}",
              "-i", f"firstLineItemId={SHOES_LINE}", "-i", "firstQuantity=2", "--format", "json")
    assert run.returncode == 0, run.stderr
    assert json.loads(run.stdout)["outputs"]["success"] is True
    after = cli("org", "show", "FulfillmentOrderLineItem", SHOES_LINE, "--format", "json")
    assert json.loads(after.stdout)["Quantity"] == 1
    shoes_row = next(line for line in before.stdout.splitlines() if line.startswith(SHOES_LINE))
    assert shoes_row.split()[1:] == ["3", "3"]


def test_a_failed_cli_run_exits_1_and_names_the_element(demo_org: Path,
                                                        capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["run", str(FLOWS / "cancel_fulfillment_order_items.yaml"), "--org", str(demo_org),
                 "-i", f"fulfillmentOrderId={FO}", "-i", f"firstLineItemId={SHOES_LINE}",
                 "-i", "firstQuantity=4"])
    out, err = capsys.readouterr()
    assert code == 1
    assert "Failed" in out
    assert "error: Cancel_Items" in err and "INVALID_QUANTITY" in err


def test_the_invoicing_example_automates_defaults_payments_and_thanks(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    """flows/invoicing: a before-save flow fills a due date, an after-save flow announces a
    payment with a platform event, a subscriber thanks the customer through a subflow."""
    project = FLOWS / "invoicing"
    monkeypatch.chdir(project)
    db = str(tmp_path / "org.sqlite")
    assert main(["org", "load", "fixtures/invoices.yaml", "--org", db]) == 0
    assert main(["org", "insert", "Invoice__c", "Name=INV-2000", "Amount__c=75", "--org", db]) == 0
    new_id = capsys.readouterr().out.splitlines()[1]
    assert main(["org", "update", "Invoice__c", "aIZDM00000000024AA", "Status__c=Paid",
                 "--org", db]) == 0
    assert "automation: 2 interviews of Announce_Payment, Thank_Customer" in capsys.readouterr().out
    with open_org(db, project=project) as store, store.begin(write=False) as tx:
        due = tx.get("Invoice__c", new_id)["Due_Date__c"]
        (task,) = tx.query("Task")
        (event,) = tx.events()
    import datetime as dt
    assert due == dt.datetime.now(dt.UTC).date() + dt.timedelta(days=30)
    assert (task["Subject"], task["WhatId"]) == ("Thank Acme for paying INV-1002",
                                                 "aIZDM00000000024AA")
    assert (event["event"], event["Invoice_Id__c"], event["Amount__c"]) == \
        ("Payment_Received__e", "aIZDM00000000024AA", Decimal("250"))
    # paying it again is no change to Paid: nothing is announced twice
    assert main(["org", "update", "Invoice__c", "aIZDM00000000024AA", "Status__c=Paid",
                 "--org", db]) == 0
    assert "automation" not in capsys.readouterr().out
