from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from helpers import loaded_by_import

from flowengine.cli import main

FIXTURE = """
Invoice:
  - {Id: a01XX0000000100, Name: INV-100, Paid: 5}
InvoiceLine:
  - {InvoiceId: a01XX0000000100, Quantity: 2, UnitPrice: 19.99, DueDate: 2026-01-31}
  - {InvoiceId: a01XX0000000100, Quantity: 1, UnitPrice: 0.5, Status: Closed}
"""


pytestmark = pytest.mark.usefixtures("cli_org_of_test_objects")


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def _loaded(capsys: pytest.CaptureFixture[str], tmp_path: Path, *org: str) -> None:
    (tmp_path / "fixture.yaml").write_text(FIXTURE)
    code, out, err = _run(capsys, "org", "load", "fixture.yaml", *org)
    assert (code, err) == (0, "")
    assert "loaded 3 records" in out and "1 Invoice, 2 InvoiceLine" in out


def test_init_creates_the_default_store(capsys: pytest.CaptureFixture[str],
                                        tmp_path: Path) -> None:
    code, out, _ = _run(capsys, "org", "init")
    assert code == 0 and "initialised org store .flowengine/org.sqlite" in out
    assert (tmp_path / ".flowengine" / "org.sqlite").is_file()


@pytest.mark.parametrize("env", ["{tmp_path}/env.sqlite", "sqlite://{tmp_path}/env.sqlite",
                                 "sqlite:env.sqlite"])
def test_env_variable_chooses_the_store(capsys: pytest.CaptureFixture[str], tmp_path: Path,
                                        monkeypatch: pytest.MonkeyPatch, env: str) -> None:
    monkeypatch.setenv("FLOWENGINE_ORG", env.format(tmp_path=tmp_path.as_posix()))
    _loaded(capsys, tmp_path)
    assert (tmp_path / "env.sqlite").is_file()
    assert not (tmp_path / ".flowengine").exists()


def test_init_refuses_to_wipe_records_without_force(capsys: pytest.CaptureFixture[str],
                                                    tmp_path: Path) -> None:
    _loaded(capsys, tmp_path, "--org", "my.sqlite")
    code, _, err = _run(capsys, "org", "init", "--org", "my.sqlite")
    assert code == 2 and "error: the org store my.sqlite already holds 3 records; use --force" in err
    code, out, _ = _run(capsys, "org", "init", "--force", "--org", "my.sqlite")
    assert code == 0 and "wiped org store my.sqlite" in out
    code, out, _ = _run(capsys, "org", "show", "Invoice", "--format", "json", "--org", "my.sqlite")
    assert (code, json.loads(out)) == (0, [])


def test_show_one_record_as_json_with_calculated_fields(capsys: pytest.CaptureFixture[str],
                                                        tmp_path: Path) -> None:
    _loaded(capsys, tmp_path)
    code, out, _ = _run(capsys, "org", "show", "Invoice", "a01XX0000000100", "--format", "json")
    assert code == 0
    assert json.loads(out) == {"Id": "a01XX0000000100YAA", "Name": "INV-100", "Paid": 5,
                               "Total": 40.48, "OpenTotal": 39.98, "LineCount": 2,
                               "Balance": 35.48}


def test_show_lists_records_as_json_and_as_a_table(capsys: pytest.CaptureFixture[str],
                                                   tmp_path: Path) -> None:
    _loaded(capsys, tmp_path)
    code, out, _ = _run(capsys, "org", "show", "invoiceline", "--format", "json")
    lines = json.loads(out)
    assert code == 0 and [line["Amount"] for line in lines] == [39.98, 0.5]
    assert lines[0]["DueDate"] == "2026-01-31" and lines[0]["Shipped"] is False
    code, out, _ = _run(capsys, "org", "show", "InvoiceLine")
    header, rule, first, second, total = out.splitlines()
    assert header.split() == ["Id", "InvoiceId", "Quantity", "UnitPrice", "Status", "Shipped",
                              "DueDate", "Amount"]
    assert first.split() == ["a02XX0000000001YAA", "a01XX0000000100YAA", "2", "19.99", "Open",
                             "false", "2026-01-31", "39.98"]
    assert second.split()[-2:] == ["-", "0.50"] and total == "(2 InvoiceLine records)"


def test_show_one_record_as_text(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    _loaded(capsys, tmp_path)
    code, out, _ = _run(capsys, "org", "show", "Invoice", "a01XX0000000100YAA")
    assert code == 0 and out.splitlines()[0].split() == ["Id", "a01XX0000000100YAA"]
    assert "Balance    35.48" in out


def test_show_hides_the_system_fields_unless_asked(capsys: pytest.CaptureFixture[str],
                                                   tmp_path: Path) -> None:
    _loaded(capsys, tmp_path)
    code, out, _ = _run(capsys, "org", "show", "Invoice", "a01XX0000000100YAA", "--format", "json")
    assert code == 0 and "CreatedDate" not in json.loads(out)
    code, out, _ = _run(capsys, "org", "show", "Invoice", "a01XX0000000100YAA", "--all",
                        "--format", "json")
    assert json.loads(out)["CreatedById"] == "005XX0000000001YAA"
    code, out, _ = _run(capsys, "org", "show", "Invoice", "--fields", "Name,SystemModstamp")
    assert out.splitlines()[0].split() == ["Id", "Name", "SystemModstamp"]
    code, out, _ = _run(capsys, "org", "show", "User")                 # the store's own user
    assert code == 0 and "admin@flowengine.local" in out


@pytest.mark.parametrize("argv, message", [
    (["org", "show", "Invoce"], "error: unknown object 'Invoce'; did you mean 'Invoice'?"),
    (["org", "show", "Invoice", "a01XX0000000999"], "error: no Invoice record has Id a01XX0000000999"),
    (["org", "show", "Invoice", "a02XX0000000001"], "error: 'a02XX0000000001' is not an Invoice Id"),
    (["org", "show", "Invoice", "nonsense"], "error: 'nonsense' is not an Id"),
    (["org", "show", "Invoice", "--org", "missing.sqlite"], "error: no org store at missing.sqlite"),
    (["org", "export", "--org", "missing.sqlite"], "error: no org store at missing.sqlite"),
    (["org", "show", "Invoice", "--org", "postgresql://me:pw@127.0.0.1:1/org"],
     "error: cannot reach the org store postgresql://me:***@127.0.0.1:1/org"),
    (["org", "load", "nowhere.yaml"], "error: nowhere.yaml: file not found"),
])
def test_bad_input_is_an_error_with_exit_code_2(capsys: pytest.CaptureFixture[str],
                                                tmp_path: Path, argv: list[str],
                                                message: str) -> None:
    _loaded(capsys, tmp_path)
    code, out, err = _run(capsys, *argv)
    assert code == 2 and out == ""
    assert err.startswith(message) and "Traceback" not in err


def test_invalid_fixture_loads_nothing(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    (tmp_path / "bad.yaml").write_text("Invoice:\n  - {Name: ok}\n  - {Name: bad, Total: 3}\n")
    code, _, err = _run(capsys, "org", "load", "bad.yaml")
    assert code == 2
    assert "error: bad.yaml: fixture not loaded (1 problem):\n  Invoice[1]: field Total: is " \
           "rolled up by the store" in err
    # the failed load created nothing: not even an empty store
    assert not (tmp_path / ".flowengine").exists()
    code, _, err = _run(capsys, "org", "show", "Invoice", "--format", "json")
    assert code == 2 and "no org store at" in err


def test_missing_fixture_creates_no_store(capsys: pytest.CaptureFixture[str],
                                          tmp_path: Path) -> None:
    assert main(["org", "load", "nowhere.yaml"]) == 2
    assert not (tmp_path / ".flowengine").exists()


@pytest.mark.parametrize("fmt, parse", [("json", json.loads), ("yaml", yaml.safe_load)])
def test_export_then_load_into_a_wiped_store_round_trips(
        capsys: pytest.CaptureFixture[str], tmp_path: Path, fmt: str, parse: Any) -> None:
    _loaded(capsys, tmp_path)
    code, exported, _ = _run(capsys, "org", "export", "--format", fmt)
    data = parse(exported)
    assert code == 0 and list(data) == ["Invoice", "InvoiceLine"]
    assert "Total" not in data["Invoice"][0] and "Amount" not in data["InvoiceLine"][0]
    _, before, _ = _run(capsys, "org", "show", "InvoiceLine", "--format", "json")
    code, out, _ = _run(capsys, "org", "export", "--format", fmt, "-o", f"out.{fmt}")
    assert code == 0 and out == f"exported 3 records to out.{fmt}\n"
    assert (tmp_path / f"out.{fmt}").read_text() == exported
    assert _run(capsys, "org", "init", "--force")[0] == 0
    code, out, _ = _run(capsys, "org", "load", f"out.{fmt}")
    assert code == 0 and "loaded 3 records" in out
    assert _run(capsys, "org", "show", "InvoiceLine", "--format", "json")[1] == before


def test_org_without_subcommand_prints_help(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = _run(capsys, "org")
    assert code == 2 and "init" in err and "export" in err


def test_cli_module_imports_stay_light() -> None:
    assert loaded_by_import("flowengine.cli.org", ("sqlite3", "yaml", "flowengine.plugins.registry")) == []


def test_a_yaml_export_of_unusual_text_loads_back(capsys: pytest.CaptureFixture[str],
                                                  tmp_path: Path) -> None:
    # characters beyond U+FFFF, escapes, line breaks and text that reads as another type
    name = 'INV 💥 \x1b[31m "q" é\u2028 yes 0123 a: b\nsecond line'
    (tmp_path / "odd.json").write_text(json.dumps({"Invoice": [{"Name": name, "Paid": 5}]}))
    assert _run(capsys, "org", "load", "odd.json")[0] == 0
    code, exported, _ = _run(capsys, "org", "export", "--format", "yaml", "-o", "out.yaml")
    assert code == 0
    assert yaml.safe_load((tmp_path / "out.yaml").read_text())["Invoice"][0]["Name"] == name
    assert _run(capsys, "org", "init", "--force")[0] == 0
    assert _run(capsys, "org", "load", "out.yaml")[0] == 0
    code, shown, _ = _run(capsys, "org", "show", "Invoice", "--format", "json")
    assert json.loads(shown)[0]["Name"] == name
