"""The standard objects flowengine ships: Salesforce's key prefixes (or flowengine's own, said
so), the generated-prefix rule, and the real flows' objects and fields — every object and field
that the corpus of real flows names on a standard object exists.

The corpus (`../shared/realflows/`, Salesforce XML from public repositories) is read in place;
without `../shared` that test is skipped."""
from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path

import pytest

from flowengine.org import open_org
from flowengine.org.prefixes import generated_key_prefix, generated_prefixes
from flowengine.org.schema import ObjectSchema
from flowengine.org.schemas import project_schemas
from flowengine.org.standard import PREFIX_SOURCES, STANDARD_OBJECTS, standard_object
from flowengine.org.system import SYSTEM_FIELD_NAMES

REPO = Path(__file__).resolve().parent.parent
CORPUS = REPO.parent / "shared" / "realflows"

# Salesforce's key prefixes, as the sources in PREFIX_SOURCES document them
SALESFORCE_PREFIXES = {
    "Account": "001", "Contact": "003", "User": "005", "Opportunity": "006", "Lead": "00Q",
    "Case": "500", "Task": "00T", "Profile": "00e", "Order": "801", "OrderItem": "802",
    "Product2": "01t", "Pricebook2": "01s", "PricebookEntry": "01u", "Location": "131",
    "ProcessException": "2Pe", "WebCart": "0a6", "CartDeliveryGroup": "0a7",
    "CartValidationOutput": "0dP", "ContactPointAddress": "8lW", "ContentDocument": "069",
    "ContentVersion": "068", "Organization": "00D",
}


@pytest.mark.parametrize("name, prefix", sorted(SALESFORCE_PREFIXES.items()))
def test_standard_objects_have_salesforces_key_prefixes(name: str, prefix: str) -> None:
    schema = standard_object(name)
    assert schema is not None and schema.key_prefix == prefix
    assert "not documented" not in PREFIX_SOURCES[name]


def test_undocumented_prefixes_are_flowenginess_own_and_say_so() -> None:
    prefixes = [s.key_prefix for s in STANDARD_OBJECTS]
    assert len(set(prefixes)) == len(prefixes)
    for schema in STANDARD_OBJECTS:
        own = "not documented" in PREFIX_SOURCES[schema.name]
        assert own == (schema.key_prefix[0] == "z"), schema.name
        assert own == (schema.name not in SALESFORCE_PREFIXES), schema.name


def test_generated_prefixes_are_stable_and_never_collide() -> None:
    assert generated_key_prefix("Invoice__c") == generated_key_prefix("Invoice__c")
    assert generated_key_prefix("Invoice__c")[0] == "a"
    assert generated_key_prefix("Alert__e")[0] == "e"
    assert generated_key_prefix("Setting__mdt")[0] == "m"
    taken = {generated_key_prefix("Invoice__c")}
    moved = generated_key_prefix("Invoice__c", taken)       # a clash moves on to Name#1
    assert moved != generated_key_prefix("Invoice__c") and moved[0] == "a"
    many = generated_prefixes([f"Object{i}__c" for i in range(500)],
                              {s.key_prefix for s in STANDARD_OBJECTS})
    assert len(set(many.values())) == 500
    assert not set(many.values()) & {s.key_prefix for s in STANDARD_OBJECTS}


def test_every_standard_object_has_system_fields_and_a_store_holds_them(tmp_path: Path) -> None:
    for schema in STANDARD_OBJECTS:
        names = {f.name for f in schema.fields}
        assert schema.is_event or SYSTEM_FIELD_NAMES <= names, schema.name
        assert schema.is_event or all(f.read_only for f in schema.fields
                                      if f.name in SYSTEM_FIELD_NAMES)
    with open_org(tmp_path / "org.sqlite", STANDARD_OBJECTS) as store, store.begin() as tx:
        account = tx.insert("Account", {"Name": "Acme"})
        tx.insert("Contact", {"LastName": "Doe", "AccountId": account})
        case = tx.insert("Case", {"Subject": "Help", "AccountId": account})
        assert tx.get("Case", case)["CaseNumber"] == "00000001"
        tx.delete_many("Account", [account])            # its contacts go with it
        assert tx.query("Contact") == [] and tx.get("Case", case)["AccountId"] is None


# -- the corpus -------------------------------------------------------------------------------

NS = "{http://soap.sforce.com/2006/04/metadata}"
REFERENCE_TAGS = ("elementReference", "leftValueReference", "assignToReference",
                  "inputReference", "collectionReference")
MERGE_FIELD = re.compile(r"\{!([^}]+)\}")


def _text(element: ET.Element | None, tag: str) -> str:
    return ((element.findtext(NS + tag) if element is not None else None) or "").strip()


def corpus_uses(root: ET.Element) -> Iterator[tuple[str, str]]:
    """(object, field path) for every field a flow names on a record: in record elements'
    filters, assignments, queried fields and sorts, and in references through record
    variables, `$Record`, Get Records elements and loops over records."""
    bases: dict[str, str] = {}
    for var in root.findall(NS + "variables"):
        if _text(var, "dataType") == "SObject":
            bases[_text(var, "name").lower()] = _text(var, "objectType")
    start = root.find(NS + "start")
    trigger_object = _text(start, "object")
    if trigger_object:
        bases["$record"] = bases["$record__prior"] = trigger_object
        for fl in start.findall(NS + "filters") if start is not None else ():
            yield trigger_object, _text(fl, "field")
    for kind in ("recordLookups", "recordCreates", "recordUpdates", "recordDeletes"):
        for element in root.findall(NS + kind):
            name = _text(element, "object")
            reference = _text(element, "inputReference").split(".")[0].lower()
            name = name or bases.get(reference, "")
            if kind == "recordLookups" and name:
                bases[_text(element, "name").lower()] = name
            if not name:
                continue
            for tag, part in (("filters", "field"), ("inputAssignments", "field"),
                              ("outputAssignments", "field")):
                for item in element.findall(NS + tag):
                    yield name, _text(item, part)
            for queried in element.findall(NS + "queriedFields"):
                yield name, (queried.text or "").strip()
            if _text(element, "sortField"):
                yield name, _text(element, "sortField")
    for loop in root.findall(NS + "loops"):
        collection = bases.get(_text(loop, "collectionReference").lower())
        if collection:
            bases[_text(loop, "name").lower()] = collection
    references = [(e.text or "").strip() for tag in REFERENCE_TAGS for e in root.iter(NS + tag)]
    references += [m.group(1).strip() for e in root.iter() for m in MERGE_FIELD.finditer(e.text or "")]
    for reference in references:
        base, _, path = reference.partition(".")
        if path and base.lower() in bases:
            yield bases[base.lower()], path


def _missing(schemas: dict[str, ObjectSchema], object_name: str, path: str) -> str | None:
    """What of `path` does not exist on `object_name` (custom fields, `__c`, are the
    projects' own and not checked), or None."""
    schema = schemas.get(object_name.lower())
    for segment in path.split("."):
        if schema is None or segment.lower() == "id" or segment.endswith(("__c", "__r")):
            return None
        fields = {f.name.lower(): f for f in schema.fields}
        relations = {f.relationship_name.lower(): f for f in schema.fields if f.relationship_name}
        if segment.lower() in fields:
            return None
        name, _, typed = segment.partition(":")        # Owner:User, a polymorphic relation
        relation = relations.get(name.lower())
        if relation is None:
            return f"{schema.name}.{segment}"
        schema = schemas.get((typed or relation.reference_to or "").lower())
    return None


@pytest.mark.skipif(not CORPUS.is_dir(), reason=f"the real-flow corpus is not at {CORPUS} (it "
                    "lives in the shared folder beside the repository)")
def test_every_object_and_field_the_real_flows_name_on_standard_objects_exists() -> None:
    schemas = {s.name.lower(): s for s in project_schemas(REPO)}
    flows = sorted(p for p in CORPUS.rglob("*") if p.name.endswith((".flow", ".flow-meta.xml")))
    checked: set[tuple[str, str]] = set()
    missing: set[str] = set()
    for flow in flows:
        for object_name, path in corpus_uses(ET.parse(flow).getroot()):
            if "__" in object_name or not path:     # custom objects: the projects' own
                continue
            checked.add((object_name, path))
            if object_name.lower() not in schemas:
                missing.add(f"object {object_name} ({flow.name})")
                continue
            gap = _missing(schemas, object_name, path)
            if gap:
                missing.add(f"{gap} ({object_name}.{path} in {flow.name})")
    assert len(flows) > 50 and len(checked) > 200     # the corpus was read
    assert sorted(missing) == []
