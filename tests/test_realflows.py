"""Every formula of the real flows in `../shared/realflows/` (Salesforce XML from public
repositories) is accepted by `flowengine validate`: no problem of the corpus is about a formula
resource. The formulas are counted from the XML itself, so a file that stopped being read would
not make the test pass.

The corpus is read in place; without `../shared` the test is skipped."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

CORPUS = Path(__file__).resolve().parent.parent.parent / "shared" / "realflows"
NS = "{http://soap.sforce.com/2006/04/metadata}"
FILES = sorted([*CORPUS.glob("*/*.flow-meta.xml"), *CORPUS.glob("*/*.flow")]) \
    if CORPUS.is_dir() else []

pytestmark = pytest.mark.skipif(not FILES, reason=f"the real-flow corpus is not here ({CORPUS})")


def corpus_formulas() -> dict[str, list[str]]:
    """File → the names of its formula resources, read with the standard library's parser (the
    corpus is trusted data; flowengine's own reader is what the test checks)."""
    found: dict[str, list[str]] = {}
    for path in FILES:
        root = ET.parse(path).getroot()
        names = [f.findtext(NS + "name") or "" for f in root.findall(NS + "formulas")]
        if names:
            found[str(path)] = names
    return found


def test_validate_accepts_every_formula_of_the_corpus() -> None:
    formulas = corpus_formulas()
    # 20 formula resources in 13 files when this was written ($Organization.Name in 3 of them)
    assert sum(map(len, formulas.values())) >= 20 and len(formulas) >= 13
    done = subprocess.run([sys.executable, "-m", "flowengine", "validate", "--format", "json",
                           *formulas], capture_output=True, text=True, timeout=600,
                          env={**os.environ, "NO_COLOR": "1"})
    assert done.returncode in (0, 1), done.stderr
    problems = json.loads(done.stdout)
    about_formulas = [p for p in problems if (p["path"] or "").startswith("formulas.")]
    assert about_formulas == []
    assert {p["file"] for p in problems} <= set(formulas)


def test_a_broken_corpus_formula_is_reported(tmp_path: Path) -> None:
    formulas = corpus_formulas()
    source = Path(next(f for f, names in formulas.items() if f.endswith(".flow-meta.xml")))
    text = source.read_text(encoding="utf-8")
    start = text.index("<expression>", text.index("<formulas>"))
    broken = tmp_path / source.name
    broken.write_text(text[:start] + "<expression>NO_SUCH_FUNCTION(1) + " +
                      text[start + len("<expression>"):], encoding="utf-8")
    done = subprocess.run([sys.executable, "-m", "flowengine", "validate", "--format", "json",
                           str(broken)], capture_output=True, text=True, timeout=60,
                          env={**os.environ, "NO_COLOR": "1"})
    problems = json.loads(done.stdout)
    assert any((p["path"] or "").startswith("formulas.") and "NO_SUCH_FUNCTION" in p["message"]
               for p in problems), problems
