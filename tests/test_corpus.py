"""The real flows users will feed flowengine: the public Salesforce flows in `../shared/realflows/`,
read in place (never copied into the repository). Every file validates without a traceback, every
problem says what and where; every file converts to YAML and back to the same XML; what
flowengine writes validates against Salesforce's Flow schema (`../shared/salesforce/flow.xsd`)."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from helpers import salesforce_schema

from flowengine.formats import load_source, read_text
from flowengine.formats.sfxml import to_xml_text
from flowengine.formats.xmltree import canonical, parse_xml
from flowengine.formats.yaml import dump_flow_yaml, parse_yaml
from flowengine.model.structure import build_model

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared"
CORPUS = SHARED / "realflows"
FILES = sorted([*CORPUS.glob("*/*.flow-meta.xml"), *CORPUS.glob("*/*.flow")]) if CORPUS.is_dir() else []
# API 58–64's `versionSegment` inside actionCalls, which 65.0 replaced: not in the 66.0 schema
RETIRED_ELEMENTS = {"Cyclomatic_Complexity.flow-meta.xml", "DML_Statement_In_A_Loop.flow-meta.xml"}

needs_corpus = pytest.mark.skipif(not FILES, reason=f"the real-flow corpus is not here ({CORPUS})")


def ids(path: Path) -> str:
    return f"{path.parent.name}/{path.name}"


@needs_corpus
def test_the_corpus_is_all_there() -> None:
    assert len(FILES) == 81


@needs_corpus
def test_validate_reads_every_file_and_says_where_each_problem_is(tmp_path: Path) -> None:
    done = subprocess.run([sys.executable, "-m", "flowengine", "validate", "--format", "json",
                           str(CORPUS)], capture_output=True, text=True, timeout=600,
                          env={**os.environ, "NO_COLOR": "1"})
    assert done.returncode in (0, 1), done.stderr
    assert "Traceback" not in done.stderr and "internal error" not in done.stdout
    import json

    problems = json.loads(done.stdout)
    assert problems, "the corpus uses features flowengine does not know yet"
    for problem in problems:
        assert problem["file"] and problem["line"], problem
        assert problem["message"] and problem["code"] != "internal", problem
    checked = {p["file"] for p in problems}
    assert checked <= {str(f) for f in FILES}


def _salesforce_order(tree: Any) -> Any:
    """The flow's own children in the schema's order (Salesforce's retrieve writes them so; one
    corpus file has `triggerOrder` out of place, which the writer puts back)."""
    tree.children.sort(key=lambda c: c.tag)
    return tree


@needs_corpus
@pytest.mark.parametrize("path", FILES, ids=ids)
def test_every_file_converts_to_yaml_and_back_unchanged(path: Path) -> None:
    data = load_source(path).data
    yaml_doc = parse_yaml(dump_flow_yaml(data), f"{path.name}.yaml")
    assert yaml_doc.data == data                       # YAML keeps everything, exactly
    structure = build_model(yaml_doc)
    assert [p for p in structure.problems if p.severity == "error"] == []
    written = to_xml_text(structure.model)
    original = _salesforce_order(parse_xml(read_text(path), str(path)))
    assert canonical(parse_xml(written)) == canonical(original)


@pytest.fixture(scope="module")
def flow_schema() -> Any:
    return salesforce_schema()


@needs_corpus
@pytest.mark.parametrize("path", FILES, ids=ids)
def test_what_flowengine_writes_is_valid_flow_metadata(path: Path, flow_schema: Any) -> None:
    model = build_model(load_source(path)).model
    errors = [str(e) for e in flow_schema.iter_errors(to_xml_text(model))]
    if path.name in RETIRED_ELEMENTS:
        assert errors and all("Unexpected child with tag '{http://soap.sforce.com/2006/04/"
                              "metadata}versionSegment'" in e for e in errors)
    else:
        assert errors == []


def test_the_examples_written_as_xml_are_valid_flow_metadata(flow_schema: Any) -> None:
    examples = [p for p in sorted((ROOT / "flows").glob("*.yaml")) if ".flowtest." not in p.name]
    for example in examples:
        model = build_model(load_source(example)).model
        errors = [str(e).splitlines()[0] for e in flow_schema.iter_errors(to_xml_text(model))]
        assert errors == [], example.name
