"""A project's objects: Salesforce DX metadata and the schema file — good files become schemas
(and stores that hold them), bad ones are refused with every problem and its line."""
from __future__ import annotations

import textwrap
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from flowengine.errors import OrgError
from flowengine.org import open_org
from flowengine.org.query import RecordFilter
from flowengine.org.schemas import SchemaError, find_project, project_schemas, project_types
from flowengine.org.standard import standard_object

OBJECTS = "force-app/main/default/objects"
NS = 'xmlns="http://soap.sforce.com/2006/04/metadata"'


def write(root: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
    return root


def dx_project(root: Path, files: dict[str, str]) -> Path:
    """A DX project in `root`: sfdx-project.json and `files` under its objects/ folder."""
    write(root, {"sfdx-project.json": '{"packageDirectories": [{"path": "force-app"}]}'})
    return write(root, {f"{OBJECTS}/{name}": text for name, text in files.items()})


def field_xml(name: str, body: str) -> str:
    return (f'<?xml version="1.0" encoding="UTF-8"?>\n<CustomField {NS}>\n'
            f"    <fullName>{name}</fullName>\n{textwrap.indent(textwrap.dedent(body).strip(), '    ')}"
            "\n</CustomField>\n")


INVOICE_OBJECT = f"""
<?xml version="1.0" encoding="UTF-8"?>
<CustomObject {NS}>
    <label>Invoice</label>
    <nameField>
        <displayFormat>INV-{{0000}}</displayFormat>
        <label>Invoice Number</label>
        <type>AutoNumber</type>
    </nameField>
    <sharingModel>ReadWrite</sharingModel>
</CustomObject>
"""
GOOD_DX = {
    "Invoice__c/Invoice__c.object-meta.xml": INVOICE_OBJECT,
    "Invoice__c/fields/Amount__c.field-meta.xml": field_xml("Amount__c", """
        <label>Amount</label>
        <precision>16</precision>
        <scale>2</scale>
        <required>true</required>
        <type>Currency</type>"""),
    "Invoice__c/fields/Account__c.field-meta.xml": field_xml("Account__c", """
        <deleteConstraint>Restrict</deleteConstraint>
        <referenceTo>Account</referenceTo>
        <relationshipName>Invoices</relationshipName>
        <type>Lookup</type>"""),
    "Invoice__c/fields/Status__c.field-meta.xml": field_xml("Status__c", """
        <type>Picklist</type>
        <valueSet>
            <restricted>true</restricted>
            <valueSetDefinition>
                <value><fullName>Draft</fullName><default>true</default></value>
                <value><fullName>Paid</fullName><default>false</default></value>
            </valueSetDefinition>
        </valueSet>"""),
    "Invoice__c/fields/Code__c.field-meta.xml": field_xml("Code__c", """
        <length>12</length>
        <type>Text</type>
        <unique>true</unique>"""),
    "Invoice__c/fields/Paid__c.field-meta.xml": field_xml("Paid__c", """
        <defaultValue>false</defaultValue>
        <type>Checkbox</type>"""),
    "Invoice__c/fields/Where__c.field-meta.xml": field_xml("Where__c", """
        <scale>6</scale>
        <type>Location</type>"""),
    "Invoice__c/fields/Lines__c.field-meta.xml": field_xml("Lines__c", """
        <summaryForeignKey>Line__c.Invoice__c</summaryForeignKey>
        <summaryOperation>count</summaryOperation>
        <type>Summary</type>"""),
    "Invoice__c/fields/Total__c.field-meta.xml": field_xml("Total__c", """
        <summaryForeignKey>Line__c.Invoice__c</summaryForeignKey>
        <summaryOperation>sum</summaryOperation>
        <summarizedField>Line__c.Price__c</summarizedField>
        <summaryFilterItems>
            <field>Line__c.Kind__c</field><operation>equals</operation><value>Goods</value>
        </summaryFilterItems>
        <type>Summary</type>"""),
    "Line__c/Line__c.object-meta.xml": INVOICE_OBJECT.replace("Invoice", "Line"),
    "Line__c/fields/Invoice__c.field-meta.xml": field_xml("Invoice__c", """
        <referenceTo>Invoice__c</referenceTo>
        <relationshipName>Lines</relationshipName>
        <type>MasterDetail</type>"""),
    "Line__c/fields/Price__c.field-meta.xml": field_xml("Price__c", """
        <precision>18</precision><scale>2</scale><type>Currency</type>"""),
    "Line__c/fields/Kind__c.field-meta.xml": field_xml("Kind__c", """
        <type>Picklist</type>
        <valueSet><valueSetDefinition>
            <value><fullName>Goods</fullName><default>false</default></value>
            <value><fullName>Fee</fullName><default>false</default></value>
        </valueSetDefinition></valueSet>"""),
    "Account/Account.object-meta.xml": f'<CustomObject {NS}><enableHistory>true</enableHistory>'
                                       "</CustomObject>",
    "Account/fields/Rating__c.field-meta.xml": field_xml("Rating__c", """
        <precision>3</precision><scale>0</scale><type>Number</type>"""),
    "Account/fields/Type.field-meta.xml": field_xml("Type", """
        <valueSet><restricted>true</restricted><valueSetDefinition>
            <value><fullName>Partner</fullName><default>false</default></value>
        </valueSetDefinition></valueSet>"""),
    "Alert__e/Alert__e.object-meta.xml": f"<CustomObject {NS}><eventType>HighVolume</eventType>"
                                         "<label>Alert</label></CustomObject>",
    "Alert__e/fields/Level__c.field-meta.xml": field_xml("Level__c",
                                                         "<length>10</length><type>Text</type>"),
    "Setting__mdt/Setting__mdt.object-meta.xml": f"<CustomObject {NS}><label>Setting</label>"
                                                 "</CustomObject>",
    "Setting__mdt/fields/Limit__c.field-meta.xml": field_xml("Limit__c", """
        <precision>5</precision><scale>0</scale><type>Number</type>"""),
}


def by_name(start: Path) -> dict[str, Any]:
    return {s.name: s for s in project_schemas(start)}


def test_dx_metadata_becomes_schemas(tmp_path: Path) -> None:
    schemas = by_name(dx_project(tmp_path, GOOD_DX) / "force-app")   # found from below
    invoice = schemas["Invoice__c"]
    assert invoice.label == "Invoice" and invoice.key_prefix[0] == "a"
    fields = {f.name: f for f in invoice.fields}
    assert fields["Name"].sf_type == "AutoNumber" and fields["Name"].read_only
    assert fields["OwnerId"].reference_to == "User"
    amount = fields["Amount__c"]
    assert (amount.type.kind, amount.type.scale, amount.precision, amount.required) == \
        ("Currency", 2, 16, True)
    account = fields["Account__c"]
    # the parent is read through Account__r; relationshipName names the child relationship
    assert (account.reference_to, account.relationship_name, account.on_delete) == \
        ("Account", "Account__r", "restrict")
    status = fields["Status__c"]
    assert (status.picklist, status.restricted, status.default) == (("Draft", "Paid"), True,
                                                                    "Draft")
    assert fields["Code__c"].unique and fields["Code__c"].length == 12
    assert fields["Paid__c"].default is False
    assert fields["Where__Latitude__s"].type.scale == 6 and "Where__Longitude__s" in fields
    assert fields["Lines__c"].rollup.op == "count"
    assert fields["Total__c"].rollup.where == {"Kind__c": "Goods"}
    assert {"CreatedDate", "SystemModstamp"} <= set(fields)
    line = {f.name: f for f in schemas["Line__c"].fields}
    assert line["Invoice__c"].on_delete == "cascade" and "OwnerId" not in line  # master owns it
    assert schemas["Alert__e"].is_event and "CreatedById" in schemas["Alert__e"].field_types()
    assert {"DeveloperName", "MasterLabel", "Limit__c"} <= set(schemas["Setting__mdt"].field_types())
    standard = {f.name: f for f in schemas["Account"].fields}
    assert standard["Rating__c"].precision == 3                      # a custom field of Account
    assert standard["Type"].picklist == ("Partner",) and standard["Type"].restricted
    assert schemas["Account"].key_prefix == "001"


def test_a_store_of_the_project_holds_its_objects(tmp_path: Path) -> None:
    project = dx_project(tmp_path / "p", GOOD_DX)
    with open_org(tmp_path / "org.sqlite", project=project) as store, store.begin() as tx:
        account = tx.insert("Account", {"Name": "Acme", "Rating__c": 5})
        invoice = tx.insert("Invoice__c", {"Amount__c": "12.5", "Account__c": account})
        tx.insert_many("Line__c", [{"Invoice__c": invoice, "Price__c": 3, "Kind__c": "Goods"},
                                   {"Invoice__c": invoice, "Price__c": 4, "Kind__c": "Fee"}])
        record = tx.get("Invoice__c", invoice)
        assert (record["Name"], record["Status__c"], record["Lines__c"], record["Total__c"]) == \
            ("INV-0001", "Draft", 2, Decimal("3.00"))
        found = tx.select("Invoice__c", [RecordFilter("Amount__c", "GreaterThan", 12)])
        assert [r["Id"] for r in found] == [invoice]
        with pytest.raises(OrgError) as caught:
            tx.delete_many("Account", [account])                     # Restrict
        assert caught.value.error_code == "DELETE_FAILED"
        tx.delete_many("Invoice__c", [invoice])                      # its lines go with it
        assert tx.query("Line__c") == []


def test_prefixes_are_stable_and_project_types_know_the_objects(tmp_path: Path) -> None:
    first = by_name(dx_project(tmp_path / "one", GOOD_DX))["Invoice__c"].key_prefix
    second = by_name(dx_project(tmp_path / "two", GOOD_DX))["Invoice__c"].key_prefix
    assert first == second
    types = project_types(tmp_path / "one")
    assert types.object_schema("invoice__c").name == "Invoice__c"
    assert types.object_schema("Account") is not None


def test_the_schema_file_declares_objects_by_hand(tmp_path: Path) -> None:
    write(tmp_path, {"flowengine-objects.yaml": """
        objects:
          Invoice__c:
            label: Invoice
            keyPrefix: a0I
            fields:
              Amount__c: {type: Currency, scale: 2}
              Note__c: {type: Text}
              Status__c: {type: Picklist, values: [Draft, Sent], default: Sent, restricted: true}
              Account__c: {type: Lookup, referenceTo: Account, relationshipName: Account}
          Account:
            fields:
              Tier__c: {type: Number, precision: 2}
        """})
    schemas = by_name(tmp_path)
    invoice = schemas["Invoice__c"]
    fields = {f.name: f for f in invoice.fields}
    assert invoice.key_prefix == "a0I" and invoice.label == "Invoice"
    assert fields["Amount__c"].type.scale == 2 and fields["Amount__c"].precision == 18
    assert fields["Note__c"].length == 255                            # the schema file's default
    assert fields["Status__c"].default == "Sent"
    assert fields["Account__c"].relationship_name == "Account__r"
    assert "Tier__c" in schemas["Account"].field_types()


def test_the_nearest_project_is_found_upward(tmp_path: Path) -> None:
    write(tmp_path, {"flowengine-objects.yaml": "objects: {Outer__c: {label: Outer}}",
                     "inner/flowengine-objects.yaml": "objects: {Inner__c: {label: Inner}}",
                     "inner/deep/flow.yaml": "flow: x"})
    assert find_project(tmp_path / "inner" / "deep" / "flow.yaml").root == tmp_path / "inner"
    assert "Inner__c" in by_name(tmp_path / "inner" / "deep")
    assert "Inner__c" not in by_name(tmp_path)
    assert find_project(tmp_path.parent / "nowhere") in (None, find_project(tmp_path.parent))


def test_a_changed_file_is_read_again(tmp_path: Path) -> None:
    schema_file = write(tmp_path, {"flowengine-objects.yaml": "objects: {A__c: {label: A}}"}) \
        / "flowengine-objects.yaml"
    assert "A__c" in by_name(tmp_path)
    schema_file.write_text("objects: {B__c: {label: Bee, description: longer now}}")
    assert "B__c" in by_name(tmp_path) and "A__c" not in by_name(tmp_path)


BAD_DX = [
    ({"X__c/fields/A__c.field-meta.xml": field_xml("A__c", "<type>Text</type")},
     "X__c/fields/A__c.field-meta.xml:5:1", "invalid XML"),
    ({"X__c/fields/A__c.field-meta.xml": f"<CustomObject {NS}/>"},
     "A__c.field-meta.xml:1:1", "the root element is <CustomObject>, expected <CustomField>"),
    ({"X__c/fields/A__c.field-meta.xml": field_xml("A__c", "<type>Currancy</type>")},
     "A__c.field-meta.xml:4:11", "X__c.A__c: unknown field type 'Currancy'.*did you mean "
                                 "'Currency'"),
    ({"X__c/fields/A__c.field-meta.xml": field_xml("A__c", "<type>Text</type>")},
     "A__c.field-meta.xml:2:1", "X__c.A__c: a Text field needs a length"),
    ({"X__c/fields/A__c.field-meta.xml": field_xml("A__c", "<length>300</length><type>Text</type>")},
     "A__c.field-meta.xml:4:13", "length 300 is out of range: a Text field holds 1 to 255"),
    ({"X__c/fields/A__c.field-meta.xml": field_xml("A__c", "<type>Lookup</type>")},
     "A__c.field-meta.xml:2:1", "a Lookup field needs referenceTo"),
    ({"X__c/fields/A__c.field-meta.xml": field_xml("A__c", "<referenceTo>Acount</referenceTo>"
                                                           "<type>Lookup</type>")},
     "A__c.field-meta.xml:4:18", "referenceTo names unknown object 'Acount'; did you mean "
                                 "'Account'"),
    ({"X__c/fields/A__c.field-meta.xml": field_xml("A__c", """
        <deleteConstraint>Delete</deleteConstraint>
        <referenceTo>Account</referenceTo><type>Lookup</type>""")},
     "A__c.field-meta.xml:4:23", "deleteConstraint must be one of SetNull, Restrict, Cascade"),
    ({"X__c/fields/A__c.field-meta.xml": field_xml("A__c", """
        <precision>4</precision><scale>6</scale><type>Number</type>""")},
     "A__c.field-meta.xml:4:36", "scale 6 must be between 0 and the precision"),
    ({"X__c/fields/A__c.field-meta.xml": field_xml("B__c", "<type>Date</type>")},
     "A__c.field-meta.xml:3:15", "fullName 'B__c' does not match the file name"),
    ({"X__c/fields/A__c.field-meta.xml": field_xml("A__c", "<required>maybe</required>"
                                                           "<type>Date</type>")},
     "A__c.field-meta.xml:4:15", "required must be true or false, found 'maybe'"),
    ({"X__c/fields/A__c.field-meta.xml": field_xml("A__c", """
        <summaryForeignKey>X__c.Id</summaryForeignKey><summaryOperation>max</summaryOperation>
        <type>Summary</type>""")},
     "A__c.field-meta.xml:", "summaryOperation 'max' is not supported"),
    ({"X__c/fields/A__c.field-meta.xml": field_xml("A__c", "<type>Date</type>"),
      "X__c/X__c.object-meta.xml": f"<CustomObject {NS}><fields><fullName>A__c</fullName>"
                                   "<type>Date</type></fields></CustomObject>"},
     "A__c.field-meta.xml:2:", "X__c.A__c: the field is declared twice"),
    ({"X__c/fields/A__c.field-meta.xml": f"<!DOCTYPE x [<!ENTITY a 'b'>]><CustomField {NS}/>"},
     "A__c.field-meta.xml:1:", "a document type declaration"),
]


@pytest.mark.parametrize("files, where, message", BAD_DX)
def test_bad_dx_metadata_is_refused_with_its_line(tmp_path: Path, files: dict[str, str],
                                                  where: str, message: str) -> None:
    dx_project(tmp_path, files)
    with pytest.raises(SchemaError, match=message) as caught:
        project_schemas(tmp_path)
    assert caught.value.error_code == "ORG_SCHEMA"
    assert where in str(caught.value).replace("\\", "/")


def test_every_problem_of_a_project_is_reported_at_once(tmp_path: Path) -> None:
    dx_project(tmp_path, {"X__c/fields/A__c.field-meta.xml": field_xml("A__c", "<type>Nope</type>"),
                          "X__c/fields/B__c.field-meta.xml": field_xml("B__c", "<type>Text</type>"),
                          "Y__c/fields/C__c.field-meta.xml": "<broken"})
    with pytest.raises(SchemaError) as caught:
        project_schemas(tmp_path)
    assert len(caught.value.problems) == 3
    assert "the project's objects have 3 problems" in str(caught.value)


def test_a_broken_sfdx_project_json_is_refused(tmp_path: Path) -> None:
    write(tmp_path, {"sfdx-project.json": '{"packageDirectories": [{"path": 1}]}'})
    with pytest.raises(SchemaError, match="sfdx-project.json: .*packageDirectories"):
        project_schemas(tmp_path)
    with pytest.raises(OrgError, match="sfdx-project.json"):    # and so is a store of it
        open_org(tmp_path / "org.sqlite", project=tmp_path)


BAD_SCHEMA_FILES = [
    ("objects: [", ":2:1", "invalid YAML"),
    ("- a", ":1:1", "the schema file: expected a mapping, found a list"),
    ("object: {}", ":1:1", "unknown key 'object'.*did you mean 'objects'"),
    ("objects:\n  X__c: {lable: X}", ":2:10", "object X__c: unknown key 'lable'.*did you mean "
                                            "'label'"),
    ("objects:\n  X__c:\n    fields:\n      A__c: {type: Text, lenght: 5}", ":4:26",
     "X__c.A__c: unknown key 'lenght'.*did you mean 'length'"),
    ("objects:\n  X__c:\n    fields:\n      A__c: Text", ":4:13",
     "X__c.A__c: expected a mapping, found the text 'Text'"),
    ("objects:\n  X__c:\n    fields:\n      A__c: {type: Picklist, values: Red}", ":4:38",
     "values must be a list of picklist values"),
    ("objects:\n  X__c:\n    fields:\n      A__c: {type: Picklist, values: [Red], default: Blue}",
     ":4:54", "default 'Blue' is not one of its values"),
    ("objects:\n  X__c: {keyPrefix: '001'}", ":2:21", "keyPrefix '001' is already the prefix "
                                                     "of Account"),
    ("objects:\n  X__c: {keyPrefix: a1}", ":2:21", "keyPrefix must be 3 letters or digits"),
    ("objects:\n  X__c:\n    fields:\n      A__c: {type: Number, precision: 40}", ":4:",
     "precision 40 is out of range"),
    ("objects:\n  X__c: {}\n  X__c: {}", ":3:3", "duplicate key"),
    ("objects:\n  Bad Name: {}", ":2:3", "object name 'Bad Name' is not an API name"),
]


@pytest.mark.parametrize("text, where, message", BAD_SCHEMA_FILES)
def test_bad_schema_files_are_refused_with_their_line(tmp_path: Path, text: str, where: str,
                                                      message: str) -> None:
    write(tmp_path, {"flowengine-objects.yaml": text})
    with pytest.raises(SchemaError, match=message) as caught:
        project_schemas(tmp_path)
    assert f"flowengine-objects.yaml{where}" in str(caught.value)


def test_the_cli_opens_stores_of_the_project_and_reports_its_problems(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    from flowengine.cli import main

    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("FLOWENGINE_ORG", raising=False)
    write(tmp_path, {"flowengine-objects.yaml": "objects:\n  X__c:\n    fields:\n"
                                                "      A__c: {type: Txt}\n"})
    assert main(["org", "init"]) == 2
    err = capsys.readouterr().err
    assert "flowengine-objects.yaml:4:20: error: X__c.A__c: unknown field type 'Txt'" in err
    assert "did you mean 'Text'" in err
    write(tmp_path, {"flowengine-objects.yaml": "objects: {X__c: {fields: {A__c: {type: Date}}}}",
                     "f.yaml": "X__c:\n  - {Name: first, A__c: 2026-01-31}\n  - {A__c: 2026-02-01}"})
    assert main(["org", "load", "f.yaml"]) == 2          # the second has no Name: required
    assert "X__c[1]: field Name: is required, found no value" in capsys.readouterr().err
    write(tmp_path, {"f.yaml": "X__c:\n  - {Name: first, A__c: 2026-01-31}"})
    assert main(["org", "load", "f.yaml"]) == 0
    assert main(["org", "show", "X__c", "--format", "json"]) == 0
    assert '"A__c": "2026-01-31"' in capsys.readouterr().out


def test_standard_objects_are_there_without_a_project(tmp_path: Path) -> None:
    schemas = by_name(tmp_path)
    assert schemas["Account"] is not None and schemas["Account"].key_prefix == "001"
    assert standard_object("Account") is not None
