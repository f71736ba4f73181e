"""The action catalog: search ranking, the on-disk cache, the `actions` commands and the docs."""
from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from plugins import forget, install, site_dir, uninstall  # noqa: F401 - `site_dir` is a fixture

from flowengine import catalog
from flowengine.catalog import Catalog, load_catalog
from flowengine.catalog.docs import DOCS_MARKER, write_docs
from flowengine.cli import main
from flowengine.plugins import registry
from flowengine.plugins.registry import reset_registry

ROOT = Path(__file__).resolve().parent.parent

# ---------------------------------------------------------------------------------------------
# a synthetic catalog of many similar names

VERBS = ["cancel", "create", "update", "get", "submit", "return", "ensure", "preview", "adjust",
         "reallocate", "approve", "close"]
OBJECTS = {"FulfillmentOrder": "Order Management", "FulfillmentOrderItem": "Order Management",
           "FulfillmentOrderLineItem": "Order Management", "OrderItemSummary": "Order Management",
           "OrderSummary": "Order Management", "OrderItem": "Order Management",
           "ReturnOrder": "Returns", "ReturnOrderItem": "Returns", "Invoice": "Billing",
           "CreditMemo": "Billing", "Payment": "Payments", "ChangeOrder": "Order Management",
           "Refund": "Payments"}


def split_camel(name: str) -> list[str]:
    return re.findall(r"[A-Z]?[a-z]+", name)


def param(name: str, kind: str = "Text", apex_class: str | None = None,
          collection: bool = False, required: bool = True) -> dict[str, Any]:
    label = " ".join(w.capitalize() for w in split_camel(name))
    text = f"Apex {apex_class}" if kind == "Apex" else kind
    return {"name": name, "label": label, "description": f"The {label.lower()}.",
            "required": required,
            "type": {"kind": kind, "apexClass": apex_class, "object": None,
                     "collection": collection, "scale": None,
                     "text": f"collection of {text}" if collection else text}}


def meta(name: str, category: str, description: str, inputs: list[dict[str, Any]] | None = None,
         outputs: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    return {"name": name, "label": " ".join(w.capitalize() for w in split_camel(name)),
            "category": category, "description": description, "usage": "", "editions": "",
            "plugin": "synthetic", "inputs": inputs or [], "outputs": outputs or []}


def similar_catalog() -> Catalog:
    actions = []
    for verb in VERBS:
        for obj, category in OBJECTS.items():
            words = " ".join(split_camel(obj)).lower()
            id_param = obj[0].lower() + obj[1:] + "Id"
            actions.append(meta(verb + obj, category, f"{verb.capitalize()} a {words} record. "
                                "Used by flows that manage the order life cycle.",
                                [param(id_param)], [param("success", "Boolean", required=False)]))
    actions.append(meta("rerouteShipment", "Order Management",
                        "Move a shipment to another warehouse location.", [param("shipmentId")]))
    actions.append(meta("holdShipment", "Order Management", "Put a shipment on hold.",
                        [param("shipmentId"), param("reasonCode")]))
    return Catalog({"actions": actions, "apexClasses": {}, "warnings": []})


@pytest.fixture(scope="module")
def similar() -> Catalog:
    return similar_catalog()


@pytest.mark.parametrize("query, expected", [
    ("cancle fulfilment item", "cancelFulfillmentOrderItem"),        # typos
    ("cancel fulfillment order item", "cancelFulfillmentOrderItem"),
    ("item fulfillment cancel order", "cancelFulfillmentOrderItem"),  # word order
    ("fulfillment order cancel", "cancelFulfillmentOrder"),
    ("canc fulf item", "cancelFulfillmentOrderItem"),                 # partial words
    ("cancel order item summary", "cancelOrderItemSummary"),
    ("summary order cancel", "cancelOrderSummary"),
    ("creat fulfillment order", "createFulfillmentOrder"),
    ("CANCELFULFILLMENTORDERITEM", "cancelFulfillmentOrderItem"),     # case, glued words
    ("cancelfulfilmentorderitem", "cancelFulfillmentOrderItem"),      # glued, with a typo
    ("cancelFulfilmentOrderItem", "cancelFulfillmentOrderItem"),
    ("Cancel Fulfillment Order Item", "cancelFulfillmentOrderItem"),  # the label
    ("retrun ordr item", "returnOrderItem"),
    ("reallocate return order", "reallocateReturnOrder"),
    ("credit memo create", "createCreditMemo"),
    ("cancelled fulfillment orders", "cancelFulfillmentOrder"),      # word forms
    ("warehouse location", "rerouteShipment"),                        # the description
    ("reason code", "holdShipment"),                                  # a parameter
])
def test_search_finds_the_intended_action_first(similar: Catalog, query: str, expected: str) -> None:
    hits = similar.search(query)
    assert hits, f"nothing found for {query!r}"
    assert hits[0].action["name"] == expected, [(h.action["name"], h.score) for h in hits[:5]]


@pytest.mark.parametrize("query, first, second", [
    ("cancle fulfilment item", "cancelFulfillmentOrderItem", "cancelFulfillmentOrderLineItem"),
    ("cancel fulfillment order item", "cancelFulfillmentOrderItem", "cancelFulfillmentOrderLineItem"),
    ("fulfillment order cancel", "cancelFulfillmentOrder", "cancelFulfillmentOrderItem"),
    ("cancel order item", "cancelOrderItem", "cancelOrderItemSummary"),
])
def test_search_scores_the_closest_name_higher(similar: Catalog, query: str, first: str,
                                               second: str) -> None:
    scores = {h.action["name"]: h.score for h in similar.search(query)}
    assert scores[first] > scores[second]


def test_search_scores_are_ranked_and_bounded(similar: Catalog) -> None:
    hits = similar.search("cancel fulfillment", limit=50)
    scores = [h.score for h in hits]
    assert scores == sorted(scores, reverse=True)
    assert all(0 < s <= 1 for s in scores)
    assert [h.action["name"] for h in hits[:3]] == [
        "cancelFulfillmentOrder", "cancelFulfillmentOrderItem", "cancelFulfillmentOrderLineItem"]
    # then everything that has one of the two words (at least half the query must match)
    assert {h.action["name"] for h in hits} == {
        a["name"] for a in similar.actions
        if a["name"].startswith("cancel") or "Fulfillment" in a["name"]}


def test_search_matches_words_not_noise(similar: Catalog) -> None:
    names = [h.action["name"] for h in similar.search("cancel", limit=100)]
    assert len(names) == len(OBJECTS)
    assert all(n.startswith("cancel") for n in names)
    assert similar.search("zzzz qqqq") == []


def test_search_by_category_and_limit(similar: Catalog) -> None:
    hits = similar.search("cancel", category="payments", limit=1)
    assert [h.action["name"] for h in hits] == ["cancelRefund"]
    assert similar.search("cancel", category="Billing", limit=5)[0].action["category"] == "Billing"


def test_lookup_is_case_insensitive_and_suggests_names(similar: Catalog) -> None:
    assert similar.get("CANCELINVOICE")["name"] == "cancelInvoice"
    assert similar.get("cancelInvoices") is None
    assert similar.suggest("cancelInvoices")[0] == "cancelInvoice"
    assert similar.suggest("invoice cancel") == ["cancelInvoice"]


# ---------------------------------------------------------------------------------------------
# the cache

def test_the_cache_serves_the_catalog_without_importing_plugins(site_dir: Path,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    install(site_dir, "acme_actions")
    assert load_catalog().get("cancelShipmentItem") is not None
    assert Path(catalog.cache_file()).is_file()
    reset_registry()
    forget("acme_actions")

    def no_discovery(*args: object) -> None:
        raise AssertionError("the plug-ins were loaded again")

    monkeypatch.setattr(registry, "load_registry", no_discovery)
    again = load_catalog()
    assert again.get("cancelShipmentItem")["plugin"] == "acme"
    assert "acme_actions" not in sys.modules


def test_the_cache_follows_changes_to_a_plugins_files(site_dir: Path) -> None:
    package = install(site_dir, "acme_actions")
    assert load_catalog().get("trackShipment") is None
    with open(package / "__init__.py", "a", encoding="utf-8") as f:
        f.write('\nplugin = Plugin(name=plugin.name, apex_classes=plugin.apex_classes, actions=(\n'
                '    *plugin.actions, Action(name="trackShipment", label="Track Shipment",\n'
                '    category="Acme Logistics", description="Where is it?", handler=create_shipment)))\n')
    reset_registry()
    forget("acme_actions")  # what a new process would see
    assert load_catalog().get("trackShipment") is not None


def test_the_cache_follows_installs_and_uninstalls(site_dir: Path) -> None:
    install(site_dir, "acme_actions")
    assert [a["name"] for a in load_catalog().list("Acme Logistics")] == \
        ["cancelShipmentItem", "createShipment"]
    reset_registry()
    install(site_dir, "broken_actions")
    assert any("broken on purpose" in w for w in load_catalog().warnings)
    reset_registry()
    uninstall(site_dir, "broken_actions")
    assert not any("broken" in w for w in load_catalog().warnings)
    reset_registry()
    (site_dir / "acme_actions-1.0.dist-info" / "entry_points.txt").write_text("[console_scripts]\n")
    assert load_catalog().list("Acme Logistics") == []


def test_the_fingerprint_sees_a_touched_file_of_the_same_size(site_dir: Path) -> None:
    package = install(site_dir, "acme_actions")
    roots = [str(package)]
    before = catalog.fingerprint(roots)
    assert catalog.fingerprint(roots) == before
    st = os.stat(package / "__init__.py")
    os.utime(package / "__init__.py", ns=(st.st_atime_ns, st.st_mtime_ns + 1))
    assert catalog.fingerprint(roots) != before


def test_a_damaged_cache_is_rebuilt(site_dir: Path) -> None:
    install(site_dir, "acme_actions")
    load_catalog()
    Path(catalog.cache_file()).write_text("{not json")
    reset_registry()
    assert load_catalog().get("createShipment") is not None
    assert json.loads(Path(catalog.cache_file()).read_text())["format"] == catalog.CACHE_FORMAT


def test_search_from_a_warm_cache_imports_no_plugin_and_nothing_heavy(site_dir: Path,
                                                                       tmp_path: Path) -> None:
    install(site_dir, "acme_actions")
    heavy = ("importlib.metadata", "flowengine.plugins.registry", "flowengine.plugins", "flowengine.types",
             "flowengine.org", "acme_actions", "flowengine_order_management", "jinja2", "yaml", "pydantic", "dataclasses")
    script = ("import sys\nfrom flowengine.cli import main\n"
              "rc = main(['actions', 'search', 'cancel'])\n"
              f"print(rc, sorted(m for m in {heavy!r} if m in sys.modules))\n")
    env = {**os.environ, "PYTHONPATH": str(site_dir), "XDG_CACHE_HOME": str(tmp_path / "c")}
    runs = [subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                           env=env, cwd=ROOT, timeout=60) for _ in range(2)]
    assert "flowengine.plugins.registry" in runs[0].stdout.splitlines()[-1]  # the first run discovers
    assert runs[1].stdout.splitlines()[-1] == "0 []", runs[1].stderr


# ---------------------------------------------------------------------------------------------
# the commands

def run_cli(*args: str, site_dir: Path, cache: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(site_dir), "XDG_CACHE_HOME": str(cache), "NO_COLOR": "1"}
    env.pop("FLOWENGINE_CACHE_DIR", None)
    return subprocess.run([sys.executable, "-m", "flowengine", *args], capture_output=True,
                          text=True, env=env, cwd=ROOT, timeout=60)


def test_list_and_search_print_text_and_json(site_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    install(site_dir, "acme_actions")
    assert main(["actions", "list", "--category", "acme logistics"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].split() == ["NAME", "LABEL", "CATEGORY", "DESCRIPTION"]
    assert out[1].startswith("cancelShipmentItem  ") and "Cancel items of a shipment." in out[1]
    assert len(out) == 3

    assert main(["actions", "search", "shipmnt", "cancle", "--format", "json"]) == 0
    hits = json.loads(capsys.readouterr().out)
    assert hits[0]["name"] == "cancelShipmentItem"
    assert set(hits[0]) == {"name", "label", "category", "description", "score"}
    assert hits[0]["score"] > hits[-1]["score"] or len(hits) == 1


def test_unknown_category_is_a_usage_error(site_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    install(site_dir, "acme_actions")
    assert main(["actions", "list", "--category", "Acme"]) == 2
    assert "error: unknown category 'Acme' (categories: " in capsys.readouterr().err


def test_show_json_follows_the_salesforce_describe(site_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    install(site_dir, "acme_actions")
    assert main(["actions", "show", "cancelshipmentitem", "--format", "json"]) == 0
    described = json.loads(capsys.readouterr().out)
    assert {k: described[k] for k in ("name", "label", "category", "type")} == {
        "name": "cancelShipmentItem", "label": "Cancel Shipment Item",
        "category": "Acme Logistics", "type": "CANCELSHIPMENTITEM"}
    assert described["inputs"][1] == {
        "name": "cancelShipmentItemsInput", "label": "Cancel Shipment Items Input",
        "description": "", "type": "APEX",
        "apexClass": "Acme.ShipmentItemsToCancelInputRepresentation", "sobjectType": None,
        "required": True, "maxOccurs": 1,
        "flowType": "Apex Acme.ShipmentItemsToCancelInputRepresentation"}
    assert [o["name"] for o in described["outputs"]] == ["cancelShipmentItemsOutput"]


def test_show_text_lists_parameters_and_classes(site_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    install(site_dir, "acme_actions")
    assert main(["actions", "show", "cancelShipmentItem"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("cancelShipmentItem — Cancel Shipment Item\n")
    assert "  shipmentId  Text  required\n      Shipment Id — Reference to the shipment." in out
    assert "      shipmentItemsToCancel: collection of Apex Acme.ShipmentItemInputRepresentation, " \
           "required" in out


def test_show_markdown_reads_like_salesforce_core_action_pages(site_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    install(site_dir, "acme_actions")
    assert main(["actions", "show", "cancelShipmentItem", "--format", "markdown"]) == 0
    page = capsys.readouterr().out
    headings = [line for line in page.splitlines() if line.startswith("#")]
    assert headings[:4] == ["# Flow Core Action for Acme Logistics: Cancel Shipment Item",
                            "## Set Input Values", "## Store Output Values", "## Apex-Defined Classes"]
    assert "## Usage" in headings
    assert "> **Available in:** Acme Cloud | Enterprise" in page
    assert "|Shipment Id|`shipmentId`|Text|Yes|Reference to the shipment.|" in page
    assert ("|Cancel Shipment Items Input|`cancelShipmentItemsInput`|Apex Acme.ShipmentItemsTo"
            "CancelInputRepresentation|Yes|This input is an Apex-defined variable of class "
            "`Acme.ShipmentItemsToCancelInputRepresentation`.|") in page
    assert "|`quantity`|Number|Yes|Quantity to cancel.|" in page
    assert '    shipmentId: "{!shipmentId}"' in page


def test_unknown_action_exits_2_with_did_you_mean(site_dir: Path, tmp_path: Path) -> None:
    install(site_dir, "acme_actions")
    done = run_cli("actions", "show", "cancelShipmentItm", site_dir=site_dir, cache=tmp_path / "c")
    assert done.returncode == 2
    assert "error: unknown action 'cancelShipmentItm'; did you mean 'cancelShipmentItem'?" in done.stderr
    assert done.stdout == ""
    assert "Traceback" not in done.stderr


def test_duplicate_action_names_exit_2(site_dir: Path, tmp_path: Path) -> None:
    install(site_dir, "acme_actions")
    install(site_dir, "rival_actions")
    done = run_cli("actions", "list", site_dir=site_dir, cache=tmp_path / "c")
    assert done.returncode == 2
    assert re.search(r"^error: two plug-ins provide action 'cancelShipmentItem': plug-in 'acme' "
                     r"\(acme_actions:plugin\) and plug-in 'rival'", done.stderr, re.M)


def test_broken_plugin_warns_and_the_catalog_still_works(site_dir: Path, tmp_path: Path) -> None:
    install(site_dir, "acme_actions")
    install(site_dir, "broken_actions")
    for _ in range(2):  # discovery, then the cache: the warning is shown both times
        done = run_cli("actions", "search", "cancel", "shipment", site_dir=site_dir, cache=tmp_path / "c")
        assert done.returncode == 0, done.stderr
        assert re.search(r"^warning: plug-in 'broken' \(broken_actions:plugin\) failed to load and "
                         r"was skipped: RuntimeError: broken on purpose", done.stderr, re.M)
        assert done.stdout.splitlines()[1].split()[1] == "cancelShipmentItem"


# ---------------------------------------------------------------------------------------------
# docs

def test_docs_writes_a_page_per_action_and_an_index(site_dir: Path, tmp_path: Path,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    install(site_dir, "acme_actions")
    out = tmp_path / "docs" / "actions"
    assert main(["actions", "docs", str(out)]) == 0
    assert re.match(r"wrote \d+ action pages and index.md to ", capsys.readouterr().out)
    assert {"index.md", "cancelShipmentItem.md", "createShipment.md"} <= set(os.listdir(out))
    assert not [p for p in os.listdir(out.parent) if p.startswith(".")]  # no temporary left
    index = (out / "index.md").read_text()
    assert "## Acme Logistics" in index
    assert "|[Cancel Shipment Item](cancelShipmentItem.md)|`cancelShipmentItem`|" in index
    assert (out / "cancelShipmentItem.md").read_text().startswith(DOCS_MARKER)


def test_docs_refresh_replaces_generated_pages_and_keeps_other_files(site_dir: Path, tmp_path: Path) -> None:
    install(site_dir, "acme_actions")
    out = tmp_path / "docs"
    out.mkdir()
    (out / "notes.md").write_text("my own notes\n")
    (out / "oldAction.md").write_text(DOCS_MARKER + "\n# gone\n")
    written = write_docs(load_catalog(), str(out))
    files = set(os.listdir(out))
    assert {"cancelShipmentItem.md", "createShipment.md", "index.md", "notes.md"} <= files
    assert "oldAction.md" not in files
    assert (out / "notes.md").read_text() == "my own notes\n"
    assert {Path(p).name for p in written} == files - {"notes.md"}


def test_docs_into_a_file_is_an_error(site_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    install(site_dir, "acme_actions")
    target = tmp_path / "file.md"
    target.write_text("x")
    assert main(["actions", "docs", str(target)]) == 2
    assert "error: cannot write documentation to" in capsys.readouterr().err
