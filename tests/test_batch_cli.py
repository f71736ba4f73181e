"""`flowengine run FLOW --batch INPUTS.jsonl --workers N [-o RESULTS.jsonl]`: one interview per
line, in worker processes, results as JSON lines, resumable — on SQLite and on PostgreSQL."""
from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from flowengine.cli import main
from flowengine.org import open_org
from flowengine.org.fixtures import load_fixture

FLOWS = Path(__file__).resolve().parent.parent / "flows"
CANCEL = str(FLOWS / "cancel_fulfillment_order_items.yaml")
FO = "0a3DM0000000001YAA"
SHOES = "0a4DM0000000001YAA"          # Quantity 3
SOCKS = "0a4DM0000000002YAA"          # Quantity 2


def _line(item: str, quantity: Any) -> str:
    return json.dumps({"firstLineItemId": item, "firstQuantity": quantity})


def _inputs(tmp_path: Path, *lines: str) -> str:
    path = tmp_path / "inputs.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return str(path)


def _results(path: Path) -> dict[int, dict[str, Any]]:
    records = [json.loads(text) for text in path.read_text(encoding="utf-8").splitlines()]
    return {r["line"]: r for r in records}


@pytest.fixture(params=["sqlite", "postgresql"])
def demo(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """The demo org, on each backend."""
    target = str(tmp_path / "org.sqlite") if request.param == "sqlite" else \
        str(request.getfixturevalue("postgres_org"))
    with open_org(target) as store:
        load_fixture(store, FLOWS / "fixtures" / "demo_org.yaml")
    return target


def test_a_batch_runs_each_line_in_its_own_transaction(demo: str, tmp_path: Path,
                                                       capsys: pytest.CaptureFixture[str]) -> None:
    inputs = _inputs(tmp_path, _line(SHOES, 2), _line(SOCKS, 1), "", _line(SHOES, 2),
                     "not json", "[1, 2]", _line(SOCKS, 1), _line("0a4DM0000000009YAA", 1))
    output = tmp_path / "results.jsonl"
    code = main(["run", CANCEL, "--org", demo, "-i", f"fulfillmentOrderId={FO}",
                 "--batch", inputs, "--workers", "2", "-o", str(output)])
    out = capsys.readouterr().out
    assert code == 1
    assert "batch: 7 interviews in" in out and "3 finished, 4 failed" in out, out
    assert "\n  line 5: not JSON: Expecting value" in out
    results = _results(output)
    assert sorted(results) == [1, 2, 4, 5, 6, 7, 8]              # the blank line 3 is no input
    # shoes: 2 of 3, then 2 more is 1 too many, whichever of lines 1 and 4 came first
    assert sorted(results[n]["status"] for n in (1, 4)) == ["Failed", "Finished"]
    refused = next(results[n] for n in (1, 4) if results[n]["status"] == "Failed")
    assert "INVALID_QUANTITY" in refused["error"]["message"]
    assert results[2]["status"] == results[7]["status"] == "Finished"
    assert results[2]["outputs"]["linesCanceled"] == 1
    assert results[5]["error"] == {"message": "not JSON: Expecting value: line 1 column 1 "
                                   "(char 0)", "element": None, "type": "InputError"}
    assert results[6]["error"]["message"].startswith("expected a JSON object of input values")
    assert results[8]["status"] == "Failed" and results[8]["error"]["element"] == "Cancel_Items"
    with open_org(demo) as store, store.begin(write=False) as tx:
        assert tx.get("FulfillmentOrderLineItem", SHOES)["Quantity"] == Decimal(1)
        assert tx.get("FulfillmentOrderLineItem", SOCKS)["Quantity"] == Decimal(0)


def test_a_rerun_with_the_same_output_skips_the_lines_done(tmp_path: Path, demo: str,
                                                           capsys: pytest.CaptureFixture[str]
                                                           ) -> None:
    inputs = _inputs(tmp_path, *[_line(SHOES, 1)] * 3)
    output = tmp_path / "results.jsonl"
    first_result = json.dumps({"line": 1, "flow": "x", "status": "Finished"})
    output.write_text(first_result + "\n" + '{"line": 2, "flow": "x", "sta', encoding="utf-8")
    code = main(["run", CANCEL, "--org", demo, "-i", f"fulfillmentOrderId={FO}",
                 "--batch", inputs, "-o", str(output), "--format", "json"])
    summary = json.loads(capsys.readouterr().out)
    assert code == 0
    assert {k: summary[k] for k in ("finished", "failed", "skipped", "workers")} == \
        {"finished": 2, "failed": 0, "skipped": 1, "workers": 1}
    lines = output.read_text(encoding="utf-8").splitlines()
    assert lines[0] == first_result                      # the cut-off line 2 was dropped
    assert sorted(json.loads(text)["line"] for text in lines) == [1, 2, 3]
    with open_org(demo) as store, store.begin(write=False) as tx:   # line 1 was not run again
        assert tx.get("FulfillmentOrderLineItem", SHOES)["Quantity"] == Decimal(1)


def test_without_an_output_file_the_results_go_to_stdout(tmp_path: Path,
                                                         capsys: pytest.CaptureFixture[str]) -> None:
    inputs = _inputs(tmp_path, json.dumps({"limit": 3}), json.dumps({"limit": "x"}))
    code = main(["run", str(FLOWS / "counter.yaml"), "--batch", inputs])
    out, err = capsys.readouterr()
    results = [json.loads(text) for text in out.splitlines()]
    assert code == 1
    assert sorted((r["line"], r["status"]) for r in results) == [(1, "Finished"), (2, "Failed")]
    assert results[0 if results[0]["line"] == 1 else 1]["outputs"]["counter"] == 3
    assert "1 finished, 1 failed" in err


@pytest.mark.parametrize("extra, message", [
    (["--workers", "0"], "--workers must be between 1 and 64, not 0"),
    (["--trace"], "--trace and --report show one interview; they do not go with --batch"),
])
def test_bad_batch_options_are_usage_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                            extra: list[str], message: str) -> None:
    inputs = _inputs(tmp_path, "{}")
    code = main(["run", str(FLOWS / "counter.yaml"), "--batch", inputs, *extra])
    assert code == 2
    assert capsys.readouterr().err.startswith(f"error: {message}")


def test_missing_inputs_are_a_clear_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["run", str(FLOWS / "counter.yaml"), "--batch", str(tmp_path / "none.jsonl")])
    assert code == 2
    assert "none.jsonl: cannot read the batch inputs: No such file or directory" in \
        capsys.readouterr().err
