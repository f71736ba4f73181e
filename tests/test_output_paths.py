"""Every `-o` goes through one helper (issue #18, item 3): regular files are replaced atomically
with their mode kept; devices, FIFOs and `-` are written through; a symlink is followed, never
replaced; an input is never overwritten; no temporary file survives a failure; `run --report`
checks its path before the interview runs, and a report that fails after the org committed
says that the run succeeded (exit 3)."""
from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from flowengine.cli import main

ROOT = Path(__file__).resolve().parent.parent
COUNTER = ROOT / "flows" / "counter.yaml"
CANCEL = ROOT / "flows" / "cancel_fulfillment_order_items.yaml"
CANCEL_INPUTS = ["-i", "fulfillmentOrderId=0a3DM0000000001YAA", "-i",
                 "firstLineItemId=0a4DM0000000001YAA", "-i", "firstQuantity=1"]


def cli(capsys: pytest.CaptureFixture[str], *argv: str | Path) -> tuple[int, str, str]:
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.endswith(".tmp"))


# -- what each kind of target gets ---------------------------------------------------------------

def test_a_symlink_is_followed_and_stays_a_symlink(capsys: pytest.CaptureFixture[str],
                                                    tmp_path: Path) -> None:
    real = tmp_path / "real.svg"
    real.write_text("old")
    link = tmp_path / "link.svg"
    link.symlink_to(real)
    code, _, err = cli(capsys, "render", COUNTER, "-o", link)
    assert code == 0, err
    assert link.is_symlink() and os.readlink(link) == str(real)
    assert real.read_text().startswith("<svg")


def test_a_replaced_file_keeps_its_mode(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    out = tmp_path / "schema.json"
    out.write_text("{}")
    out.chmod(0o600)
    assert cli(capsys, "schema", "-o", out)[0] == 0
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    assert json.loads(out.read_text())["title"]


def test_a_fifo_is_written_through(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    received: list[bytes] = []
    reader = threading.Thread(target=lambda: received.append(fifo.read_bytes()), daemon=True)
    reader.start()
    code, _, err = cli(capsys, "schema", "-o", fifo)
    reader.join(timeout=30)
    if reader.is_alive():    # nothing was written to the FIFO: release the reader
        os.close(os.open(fifo, os.O_WRONLY | os.O_NONBLOCK))
    assert code == 0, err
    assert stat.S_ISFIFO(fifo.stat().st_mode)
    assert json.loads(received[0])["title"]


@pytest.mark.skipif(not hasattr(os, "getuid") or os.getuid() != 0,
                    reason="making a device node needs root")
def test_a_device_is_written_through_and_stays_a_device(capsys: pytest.CaptureFixture[str],
                                                        tmp_path: Path) -> None:
    # a private null device, so that a regression cannot replace the machine's /dev/null
    null = tmp_path / "null"
    os.mknod(null, 0o666 | stat.S_IFCHR, os.makedev(1, 3))
    assert cli(capsys, "render", COUNTER, "-o", null, "--format", "svg")[0] == 0
    assert cli(capsys, "lint", COUNTER, "-o", null)[0] == 0
    assert stat.S_ISCHR(null.stat().st_mode)


def test_dash_and_a_link_to_stdout_print(capsys: pytest.CaptureFixture[str],
                                         tmp_path: Path) -> None:
    code, out, _ = cli(capsys, "schema", "-o", "-")
    assert code == 0 and json.loads(out)["title"]
    # a link to this process's standard output, as /dev/stdout is (made here, so that a
    # regression cannot replace the machine's /dev/stdout)
    link = tmp_path / "stdout"
    link.symlink_to("/proc/self/fd/1")
    done = subprocess.run([sys.executable, "-m", "flowengine", "schema", "-o", str(link)],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["title"] and link.is_symlink()


# -- refused ----------------------------------------------------------------------------------------

@pytest.mark.parametrize("argv", [
    ["render", "{flow}", "-o", "{flow}", "--format", "svg"],
    ["lint", "{flow}", "-o", "{flow}"],
    ["lint", "{folder}", "--format", "sarif", "-o", "{flow}"],
    ["run", "{flow}", "--report", "{flow}"],
    ["render", "{flow}", "-o", "{link}", "--format", "svg"],
])
def test_an_input_is_never_overwritten(capsys: pytest.CaptureFixture[str], tmp_path: Path,
                                       argv: list[str]) -> None:
    flow = tmp_path / "flows" / "counter.yaml"
    flow.parent.mkdir()
    flow.write_bytes(COUNTER.read_bytes())
    (tmp_path / "link.svg").symlink_to(flow)
    names = {"flow": str(flow), "folder": str(flow.parent), "link": str(tmp_path / "link.svg")}
    code, _, err = cli(capsys, *[a.format(**names) for a in argv])
    assert code == 2
    assert "refusing to write" in err and "an input of this command" in err
    assert flow.read_bytes() == COUNTER.read_bytes()


@pytest.mark.parametrize("argv, message", [
    (["schema", "-o", "{tmp}/missing/schema.json"], "the folder {tmp}/missing does not exist"),
    (["render", str(COUNTER), "-o", "{tmp}/missing/c.svg"], "the folder {tmp}/missing does not exist"),
    (["schema", "-o", "{tmp}"], "it is a folder (expected a file name)"),
])
def test_a_bad_output_path_is_a_clear_error(capsys: pytest.CaptureFixture[str], tmp_path: Path,
                                            argv: list[str], message: str) -> None:
    code, _, err = cli(capsys, *[a.format(tmp=tmp_path) for a in argv])
    assert code == 2 and message.format(tmp=tmp_path) in err
    assert "internal error" not in err


def test_no_temporary_file_survives_a_failed_write(capsys: pytest.CaptureFixture[str],
                                                   tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    def full_disk(src: str, dst: str) -> None:
        raise OSError(28, "No space left on device")
    monkeypatch.setattr(os, "replace", full_disk)
    code, _, err = cli(capsys, "schema", "-o", tmp_path / "schema.json")
    assert code == 2 and "cannot write" in err and "No space left on device" in err
    assert leftovers(tmp_path) == [] and not (tmp_path / "schema.json").exists()


def test_a_sarif_report_for_a_file_name_that_is_not_utf8(capsys: pytest.CaptureFixture[str],
                                                          tmp_path: Path,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    name = os.fsdecode(b"caf\xe9.yaml")
    (tmp_path / name).write_text("flow: Caf\nelements: {}\n")
    code, out, err = cli(capsys, "lint", name, "--format", "sarif", "--fail-on", "never")
    assert code == 0, err
    uris = {loc["physicalLocation"]["artifactLocation"]["uri"]
            for r in json.loads(out)["runs"][0]["results"] for loc in r["locations"]}
    assert uris == {"caf%E9.yaml"}
    assert cli(capsys, "lint", name, "--format", "sarif", "-o", "lint.sarif",
               "--fail-on", "never")[0] == 0
    json.loads((tmp_path / "lint.sarif").read_text(encoding="utf-8"))


# -- run --report ---------------------------------------------------------------------------------

def test_a_bad_report_path_is_refused_before_the_run(capsys: pytest.CaptureFixture[str],
                                                     tmp_path: Path, demo_org: Path) -> None:
    code, out, err = cli(capsys, "run", CANCEL, "--org", demo_org, "--report", tmp_path,
                         *CANCEL_INPUTS)
    assert code == 2 and out == ""
    assert f"error: cannot write {tmp_path}: it is a folder" in err
    code, out, _ = cli(capsys, "org", "show", "FulfillmentOrderLineItem", "0a4DM0000000001YAA",
                       "--org", demo_org, "--format", "json")
    assert json.loads(out)["Quantity"] == 3          # the interview never ran


def test_a_report_that_fails_after_the_commit_says_the_run_succeeded(
        capsys: pytest.CaptureFixture[str], tmp_path: Path, demo_org: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    import flowengine.render
    from flowengine.output import WriteError

    def disk_full(*args: object) -> None:
        raise WriteError(f"cannot write {tmp_path / 'run.html'}: No space left on device")
    monkeypatch.setattr(flowengine.render, "write_run_report", disk_full)
    code, out, err = cli(capsys, "run", CANCEL, "--org", demo_org, "--report",
                         tmp_path / "run.html", *CANCEL_INPUTS)
    assert code == 3
    assert out.startswith("Cancel_Fulfillment_Order_Items: Finished")
    assert ("error: the run finished and its changes were committed to the org store, but its "
            "report could not be written: cannot write") in err
    code, out, _ = cli(capsys, "org", "show", "FulfillmentOrderLineItem", "0a4DM0000000001YAA",
                       "--org", demo_org, "--format", "json")
    assert json.loads(out)["Quantity"] == 2          # committed
