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


@pytest.fixture
def write_flow(tmp_path: Path) -> Any:
    """`write_flow(text, name="flow.yaml")` writes dedented YAML into tmp_path; returns its path."""
    import textwrap

    def write(text: str, name: str = "flow.yaml") -> Path:
        path = tmp_path / name
        path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
        return path
    return write


class FakeRegistry:
    """Stands in for the plug-in registry in checker tests: `.actions`, `.action(name)`, `.types`."""

    def __init__(self, actions: Any = (), classes: Any = (), objects: Any = ()) -> None:
        from flowengine.types import TypeRegistry

        self.actions = {a.name: a for a in actions}
        self.types = TypeRegistry()
        for cls in classes:
            self.types.add_class(cls)
        for schema in objects:
            self.types.add_object(schema)

    def action(self, name: str) -> Any:
        return self.actions.get(name)
