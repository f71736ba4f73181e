"""Plain helpers of the tests (imported with `from helpers import ...`): small org objects of the
tests' own (a parent with roll-ups and a calculated field, its child lines, a counter),
independent of any plug-in; a fake plug-in registry; builders for flows given as Python data."""
from __future__ import annotations

import resource
import time
from collections.abc import Callable, Mapping
from decimal import Decimal
from pathlib import Path
from typing import Any

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


def invoice_with_lines(tx: Any, *lines: tuple[Any, Any]) -> tuple[str, list[str]]:
    """An invoice "INV-1" with a line per (Quantity, UnitPrice); returns its Id and the lines'."""
    invoice = tx.insert("Invoice", {"Name": "INV-1"})
    return invoice, [tx.insert("InvoiceLine", {"InvoiceId": invoice, "Quantity": q,
                                               "UnitPrice": p}) for q, p in lines]


def cpu_seconds() -> float:
    """CPU time used so far by this process and the child processes it has waited for: what a
    time bound of a test measures, so that other work on a busy machine cannot make it fail
    (a hang is caught by the tests' own timeouts; a slow algorithm still uses the CPU)."""
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return time.process_time() + children.ru_utime + children.ru_stime


def loaded_by_import(module: str, watched: tuple[str, ...]) -> list[str]:
    """Which of the `watched` modules a fresh interpreter has loaded after `import module` (for
    tests that keep start-up light)."""
    import json
    import subprocess
    import sys

    probe = (f"import json, sys, {module}; "
             f"print(json.dumps([m for m in {list(watched)!r} if m in sys.modules]))")
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                            check=True)
    loaded: list[str] = json.loads(result.stdout)
    return loaded


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


# -- flows given as Python data ------------------------------------------------------------------

def load_in_form(form: str, text: str, folder: Any, registry: Callable[[], Any] | None = None) -> Any:
    """The flow of YAML `text` ("yaml"), or of the `.flow-meta.xml` it converts to ("xml"),
    written in `folder`: tests run a flow through both front ends."""
    import textwrap
    from pathlib import Path

    from flowengine.api import load_flow, load_flow_text

    flow = load_flow_text(textwrap.dedent(text).lstrip("\n"), "flow.yaml", registry=registry)
    if form == "yaml":
        return flow
    from flowengine.formats.sfxml import to_xml_text

    path = Path(folder) / f"{flow.name}.flow-meta.xml"
    path.write_text(to_xml_text(flow.model), encoding="utf-8")
    return load_flow(path, registry=registry)


def flow_from_doc(doc: Mapping[str, Any], registry: Callable[[], Any] | None = None) -> Any:
    """Load a flow document given as Python data (dumped to YAML in its own key order)."""
    import yaml

    from flowengine.api import load_flow_text

    return load_flow_text(yaml.safe_dump(doc, sort_keys=False), registry=registry)


def assign(*items: tuple[str, str, Any], next: str | None = None) -> dict[str, Any]:
    """An Assignment element with `items` (ref, op, value), connected to `next` if given."""
    element: dict[str, Any] = {"type": "Assignment",
                               "assignments": [{"ref": r, "op": o, "value": v} for r, o, v in items]}
    if next:
        element["next"] = next
    return element


SALESFORCE_XSD = Path(__file__).resolve().parent.parent.parent / "shared" / "salesforce" / "flow.xsd"


def salesforce_schema() -> Any:
    """Salesforce's metadata schema (Flow and FlowTest) as an `xmlschema.XMLSchema`; skips the
    test when xmlschema is not installed or the schema file is not there."""
    import pytest

    xmlschema = pytest.importorskip("xmlschema", reason="xmlschema validates XML against XSD")
    if not SALESFORCE_XSD.exists():
        pytest.skip(f"Salesforce's metadata schema is not here ({SALESFORCE_XSD})")
    return xmlschema.XMLSchema(str(SALESFORCE_XSD))
