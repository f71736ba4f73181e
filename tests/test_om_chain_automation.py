"""Salesforce's Order Management sample chain, end to end, through automation: the three sample
flows of `forcedotcom/commerce-on-lightning`, copied unchanged (Approve_Order_Summary's status set
to Active, which the sample ships as Draft) into a DX project, started by the platform events
that loading an order and fulfilling its fulfillment orders publish."""
from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from flowengine.cli import main
from flowengine.org import open_org

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ROOT.parent / "shared" / "realflows" / "forcedotcom__commerce-on-lightning"
CHAIN = ("Approve_Order_Summary", "Create_Fulfillment_Orders_Warehouse",
         "Create_Invoice_and_Ensure_Funds_Event_Triggered")
FIXTURES = ROOT / "flows" / "om_chain" / "fixtures"
SUMMARY = "1OsOC00000000010AA"
WAREHOUSE = "131OC0000000001YAA"

pytestmark = pytest.mark.skipif(not all((SAMPLES / f"{n}.flow-meta.xml").exists() for n in CHAIN),
                                reason=f"Salesforce's sample flows are not here ({SAMPLES})")


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, org_target: str) -> Path:
    flows = tmp_path / "force-app" / "main" / "default" / "flows"
    flows.mkdir(parents=True)
    (tmp_path / "sfdx-project.json").write_text('{"packageDirectories": [{"path": "force-app"}]}')
    for name in CHAIN:
        text = (SAMPLES / f"{name}.flow-meta.xml").read_text(encoding="utf-8")
        if name == "Approve_Order_Summary":
            assert "<status>Draft</status>" in text
            text = text.replace("<status>Draft</status>", "<status>Active</status>")
        (flows / f"{name}.flow-meta.xml").write_text(text, encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("FLOWENGINE_ORG", org_target)     # the commands' and `query`'s store
    return tmp_path


def query(project: Path, object_name: str, **where: Any) -> list[dict[str, Any]]:
    with open_org(None, project=project) as store, \
            store.begin(write=False) as tx:
        return tx.query(object_name, where or None)


def cli(capsys: pytest.CaptureFixture[str], *args: str) -> str:
    code = main(list(args))
    out, err = capsys.readouterr()
    assert code == 0, err
    return out


def test_the_chain_runs_from_order_to_invoice(project: Path,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    out = cli(capsys, "org", "load", str(FIXTURES / "order.yaml"))
    assert "automation: 3 interviews of Approve_Order_Summary, " \
           "Create_Fulfillment_Orders_Warehouse" in out
    (summary,) = query(project, "OrderSummary")
    assert summary["Status"] == "Waiting to Fulfill"
    orders = query(project, "FulfillmentOrder")
    assert len(orders) == 2 and {o["FulfilledFromLocationId"] for o in orders} == {WAREHOUSE}
    ordered = {i["Id"]: i["QuantityOrdered"] for i in query(project, "OrderItemSummary")}
    lines = query(project, "FulfillmentOrderLineItem")
    assert {line["OrderItemSummaryId"]: line["Quantity"] for line in lines} == ordered
    assert query(project, "ProcessException") == []

    first, second = sorted(orders, key=lambda o: o["Id"])
    cli(capsys, "org", "update", "FulfillmentOrder", first["Id"], "Status=Fulfilled")
    (invoice,) = query(project, "Invoice")
    assert invoice["Id"] == query(project, "FulfillmentOrder", Id=first["Id"])[0]["InvoiceId"]
    assert invoice["TotalAmountWithTax"] == first["GrandTotalAmount"] and invoice["Status"] == \
        "Posted"
    (operation,) = query(project, "BackgroundOperation")
    assert operation["Status"] == "Complete"                   # ensure funds ran after commit
    assert query(project, "Invoice")[0]["Balance"] == Decimal("0")
    assert query(project, "OrderSummary")[0]["Status"] == "Waiting to Fulfill"

    cli(capsys, "org", "update", "FulfillmentOrder", second["Id"], "Status=Fulfilled")
    assert len(query(project, "Invoice")) == 2
    assert query(project, "OrderSummary")[0]["Status"] == "Fulfilled"
    log = cli(capsys, "org", "interviews", "--failed")
    assert "no automated interviews failed" in log


def test_without_a_warehouse_the_chain_records_a_process_exception(
        project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    cli(capsys, "org", "load", str(FIXTURES / "order_without_warehouse.yaml"))
    assert query(project, "FulfillmentOrder") == []
    (exception,) = query(project, "ProcessException")
    assert exception["AttachedToId"] == SUMMARY
    assert "Location" in (exception.get("Message") or "") + (exception.get("Description") or "")
    assert query(project, "OrderSummary")[0]["Status"] == "Approved"
