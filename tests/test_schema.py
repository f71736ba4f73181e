"""`flowengine schema`: the JSON Schema editors use to complete and check flow files. It must
accept every valid file (shorthands included) and say the same as the checker where it can."""
from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from flowengine.cli import main
from flowengine.conditions import CONDITION_OPERATORS
from flowengine.elements import kinds
from flowengine.elements.assignment import ASSIGNMENT_OPERATORS
from flowengine.model import DATA_TYPES, check_api_name

FLOWS = Path(__file__).parent.parent / "flows"
EXAMPLES = sorted(p for p in FLOWS.glob("*.yaml") if ".flowtest." not in p.name)


@pytest.fixture(scope="module")
def schema() -> dict[str, Any]:
    from flowengine.model.jsonschema import flow_json_schema

    return flow_json_schema()


def test_the_command_prints_the_schema(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["schema"]) == 0
    out, err = capsys.readouterr()
    printed = json.loads(out)
    assert err == ""
    assert printed["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert printed["title"] == "flowengine flow file (format v1)"
    assert printed["required"] == ["flow"]


def test_the_command_writes_a_file(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                   schema: dict[str, Any]) -> None:
    target = tmp_path / "flow.schema.json"
    assert main(["schema", "-o", str(target)]) == 0
    assert capsys.readouterr().out == ""
    assert json.loads(target.read_text(encoding="utf-8")) == schema
    assert list(tmp_path.iterdir()) == [target]          # no temporary file left behind


def _objects(node: Any) -> list[dict[str, Any]]:
    """Every object schema (with `properties`) inside `node`."""
    found: list[dict[str, Any]] = []
    if isinstance(node, dict):
        if "properties" in node:
            found.append(node)
        for value in node.values():
            found += _objects(value)
    elif isinstance(node, list):
        for value in node:
            found += _objects(value)
    return found


def test_unknown_keys_are_errors_everywhere(schema: dict[str, Any]) -> None:
    from flowengine.elements import kinds

    objects = _objects(schema)
    # the flow, its trigger and trigger filter, 5 element parts (outcome, condition,
    # assignment, record filter, sort key), 6 declarations, and one object per element kind
    assert len(objects) == 14 + len(kinds())
    for obj in objects:
        assert obj["additionalProperties"] is False, obj.get("title")


def test_top_level_keys_match_the_spec(schema: dict[str, Any]) -> None:
    # the spec's keys, then what Salesforce XML adds (processType, status...: the XML issue),
    # and `xml`, what flowengine keeps of an XML file without interpreting it
    assert list(schema["properties"]) == ["xml", "flow", "label", "description", "apiVersion",
                                          "start", "types", "variables", "constants", "formulas",
                                          "templates", "elements", "processType", "status",
                                          "runInMode", "interviewLabel", "environments",
                                          "processMetadataValues", "startLocation", "trigger"]
    assert schema["properties"]["apiVersion"]["type"] == "number"
    assert schema["properties"]["apiVersion"]["default"] == 62.0


def test_elements_are_a_union_on_type(schema: dict[str, Any]) -> None:
    elements = schema["properties"]["elements"]["additionalProperties"]
    assert elements["discriminator"]["propertyName"] == "type"
    assert set(elements["discriminator"]["mapping"]) == {kind.name for kind in kinds()}


def test_operators_and_types_are_enumerated(schema: dict[str, Any]) -> None:
    defs = schema["$defs"]
    assert defs["AssignmentItem"]["properties"]["op"]["enum"] == list(ASSIGNMENT_OPERATORS)
    assert defs["Condition"]["properties"]["op"]["enum"] == list(CONDITION_OPERATORS)
    assert defs["ConstantDecl"]["properties"]["type"]["enum"] == list(DATA_TYPES)
    assert defs["LoopElement"]["properties"]["order"]["enum"] == ["Asc", "Desc"]


@pytest.mark.parametrize("name", ["VariableDecl", "FieldDecl"])
def test_a_type_name_alone_is_a_declaration(schema: dict[str, Any], name: str) -> None:
    shorthand = schema["$defs"][name]["anyOf"][1]
    assert shorthand == {"type": "string", "enum": list(DATA_TYPES)}


def test_a_text_alone_is_a_template(schema: dict[str, Any]) -> None:
    assert schema["$defs"]["TemplateDecl"]["anyOf"][1] == {"type": "string"}


@pytest.mark.parametrize("name", [
    "A", "Cancel_Items", "a1_b2", "A" * 80, "1abc", "_abc", "a__b", "abc_", "a-b", "a b", "",
    "Ab_C_d9", "A_", "A__",
])
def test_the_flow_name_pattern_agrees_with_the_checker(schema: dict[str, Any], name: str) -> None:
    rule = schema["properties"]["flow"]
    by_schema = bool(re.search(rule["pattern"], name)) and len(name) <= rule["maxLength"]
    assert by_schema == (check_api_name(name) is None)


def test_a_long_name_is_refused_by_length(schema: dict[str, Any]) -> None:
    assert schema["properties"]["flow"]["maxLength"] == 80
    assert check_api_name("A" * 81) is not None


# -- with a JSON Schema validator, when one is installed ----------------------------------------

@pytest.mark.parametrize("path", EXAMPLES, ids=[p.name for p in EXAMPLES])
def test_the_example_flows_satisfy_the_schema(schema: dict[str, Any], path: Path) -> None:
    jsonschema = pytest.importorskip("jsonschema")
    data = json.loads(json.dumps(yaml.safe_load(path.read_text(encoding="utf-8")), default=str))
    jsonschema.validate(data, schema)


@pytest.mark.parametrize(("document", "complaint"), [
    ({"flow": "Demo", "variabels": {}}, "Additional properties are not allowed ('variabels'"),
    ({"flow": "Bad__Name"}, "does not match"),
    ({"flow": "Demo", "variables": {"x": "Numbr"}}, "'Numbr' is not one of ['Text', 'String'"),
    ({"flow": "Demo", "elements": {"A": {"type": "Assignment",
                                         "assignments": [{"ref": "x", "op": "Asign"}]}}},
     "'Asign' is not one of"),
])
def test_the_schema_refuses_what_the_checker_refuses(schema: dict[str, Any], document: Any,
                                                     complaint: str) -> None:
    jsonschema = pytest.importorskip("jsonschema")
    with pytest.raises(jsonschema.ValidationError) as info:
        jsonschema.validate(document, schema)
    assert complaint in str(info.value)


def test_the_copy_in_docs_is_what_the_command_prints(schema: dict[str, Any]) -> None:
    kept = json.loads((FLOWS.parent / "docs" / "flow.schema.json").read_text(encoding="utf-8"))
    assert kept == schema, "regenerate it: flowengine schema -o docs/flow.schema.json"
