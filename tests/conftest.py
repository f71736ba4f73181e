"""Shared test helpers: small org objects of the tests' own (a parent with roll-ups and a
calculated field, its child lines, a counter), independent of any plug-in."""
from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any, Iterator, Mapping

import pytest

from flowengine.org.schema import FieldDef, ObjectSchema, Rollup
from flowengine.types import FlowType, Number, Text

CURRENCY = FlowType("Currency")


def line_amount(line: Mapping[str, Any]) -> Decimal:
    return (line["Quantity"] or 0) * (line["UnitPrice"] or 0)


INVOICE = ObjectSchema("Invoice", "a01", (
    FieldDef("Name", Text(), required=True),
    FieldDef("Paid", CURRENCY, default=0),
    FieldDef("Total", CURRENCY, rollup=Rollup("InvoiceLine", "InvoiceId", "Amount")),
    FieldDef("OpenTotal", CURRENCY,
             rollup=Rollup("InvoiceLine", "InvoiceId", "Amount", where={"Status": "Open"})),
    FieldDef("LineCount", Number(), rollup=Rollup("InvoiceLine", "InvoiceId", op="count")),
    FieldDef("Balance", CURRENCY, calculated=lambda r: r["Total"] - r["Paid"]),
))
INVOICE_LINE = ObjectSchema("InvoiceLine", "a02", (
    FieldDef("InvoiceId", Text(), required=True, reference_to="Invoice"),
    FieldDef("Quantity", Number()),
    FieldDef("UnitPrice", CURRENCY),
    FieldDef("Status", FlowType("Picklist"), picklist=("Open", "Closed"), default="Open"),
    FieldDef("Shipped", FlowType("Boolean"), default=False),
    FieldDef("DueDate", FlowType("Date")),
    FieldDef("Amount", CURRENCY, calculated=line_amount),
))
COUNTER = ObjectSchema("Counter", "a03", (FieldDef("Name", Text()), FieldDef("Value", Number())))
ORG_SCHEMAS = (INVOICE, INVOICE_LINE, COUNTER)


@pytest.fixture
def org_path(tmp_path: Path) -> Path:
    return tmp_path / "org.sqlite"


@pytest.fixture
def org_store(org_path: Path) -> Iterator[Any]:
    from flowengine.org import open_org

    store = open_org(org_path, ORG_SCHEMAS)
    yield store
    store.close()
