"""Event workers (`flowengine worker`): delivery left to workers with --no-deliver, workers
sharing the events of a PostgreSQL org, and their faults — a worker killed in the middle of a
batch, the server restarted under running workers — and the command's errors."""
from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import textwrap
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from flowengine.cli import main
from flowengine.org import open_org

OBJECTS = """
objects:
  Ticket__c:
    fields:
      Note__c: {type: Text, length: 255}
  Alert__e:
    fields:
      Message__c: {type: Text, length: 255}
"""
# each event makes one ticket named by its message, after touching the ticket named gate (a
# test that holds the gate's row lock stops a worker in the middle of its batch)
SUBSCRIBER = """
flow: On_Alert
trigger: {type: PlatformEvent, object: Alert__e}
elements:
  Touch_Gate:
    type: UpdateRecords
    object: Ticket__c
    filters: [{field: Name, op: EqualTo, value: gate}]
    values: {Note__c: "{!$Record.Message__c}"}
    next: Make
  Make: {type: CreateRecords, object: Ticket__c, values: {Name: "{!$Record.Message__c}"}}
start: Touch_Gate
"""


@pytest.fixture
def project(tmp_path: Path) -> Path:
    folder = tmp_path / "project"
    folder.mkdir()
    (folder / "flowengine-objects.yaml").write_text(textwrap.dedent(OBJECTS), encoding="utf-8")
    (folder / "on_alert.yaml").write_text(SUBSCRIBER, encoding="utf-8")
    return folder


def prepare(org: str, project: Path) -> None:
    """The store with its gate ticket."""
    with open_org(org, project=project) as store, store.begin() as tx:
        tx.insert("Ticket__c", {"Name": "gate"})


def publish(org: str, project: Path, messages: list[str]) -> None:
    """Publish without delivering (as --no-deliver leaves them)."""
    with open_org(org, project=project) as store, store.begin() as tx:
        tx.publish("Alert__e", [{"Message__c": m} for m in messages])


def tickets(org: str, project: Path) -> list[str]:
    with open_org(org, project=project) as store, store.begin(write=False) as tx:
        return sorted(r["Name"] for r in tx.query("Ticket__c") if r["Name"] != "gate")


def worker(org: str, project: Path, *options: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "flowengine", "worker", "--org", org, "--project", str(project),
         "--poll", "0.2", *options], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def stop(process: subprocess.Popen[str], timeout: float = 30) -> str:
    """SIGTERM the worker; its log (stderr) once it has stopped cleanly."""
    process.send_signal(signal.SIGTERM)
    _, err = process.communicate(timeout=timeout)
    assert process.returncode == 0, err
    return err


def wait_for(condition: Callable[[], bool], what: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.1)


MESSAGES = [f"m{i:03d}" for i in range(40)]


# -- on both backends --------------------------------------------------------------------------

def test_no_deliver_leaves_events_to_a_worker(org_target: str, project: Path,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    prepare(org_target, project)
    for message in ("a", "b"):
        assert main(["events", "publish", "Alert__e", f"Message__c={message}", "--org",
                     org_target, "--project", str(project), "--no-deliver"]) == 0
    capsys.readouterr()
    assert main(["events", "list", "--org", org_target, "--project", str(project),
                 "--format", "json"]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert [(e["delivered"], e["pending"]) for e in listed] == [([], ["On_Alert"])] * 2
    assert tickets(org_target, project) == []
    done = subprocess.run([sys.executable, "-m", "flowengine", "worker", "--org", org_target,
                           "--project", str(project), "--once"], capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr
    assert "worker 1: On_Alert: 2 events, 0 failed" in done.stderr
    assert tickets(org_target, project) == ["a", "b"]
    assert main(["events", "list", "--org", org_target, "--project", str(project),
                 "--format", "json"]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert [(e["delivered"], e["pending"]) for e in listed] == [(["On_Alert"], [])] * 2


@pytest.mark.parametrize("options, message", [
    (["--concurrency", "0"], "--concurrency must be between 1 and 64, not 0"),
    (["--batch-size", "2001"], "--batch-size must be between 1 and 2000, not 2001"),
    (["--poll", "0"], "--poll must be a number of seconds above 0 and at most 3600, not 0"),
])
def test_bad_worker_options_are_refused(project: Path, tmp_path: Path, options: list[str],
                                        message: str, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["worker", "--org", str(tmp_path / "org.sqlite"), "--project", str(project),
                 *options])
    assert code == 2 and message in capsys.readouterr().err


def test_a_worker_needs_an_existing_store_and_project(project: Path, tmp_path: Path,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    missing = tmp_path / "none.sqlite"
    assert main(["worker", "--org", str(missing), "--project", str(project), "--once"]) == 2
    assert f"no org store at {missing}" in capsys.readouterr().err
    assert not missing.exists()
    assert main(["worker", "--org", str(missing), "--project", str(tmp_path / "nowhere")]) == 2
    assert "nowhere" in capsys.readouterr().err


# -- PostgreSQL: workers sharing the stream, and their faults --------------------------------

def test_workers_share_the_events_and_process_each_once(postgres_org: str,
                                                        project: Path) -> None:
    prepare(postgres_org, project)
    running = worker(postgres_org, project, "--concurrency", "2", "--batch-size", "5")
    try:
        publish(postgres_org, project, MESSAGES)
        wait_for(lambda: len(tickets(postgres_org, project)) >= len(MESSAGES), "the tickets")
    finally:
        log = stop(running)
    assert tickets(postgres_org, project) == MESSAGES            # each event once
    assert "worker 1 started" in log and "worker 2 started" in log
    assert "worker 1: stopped" in log and "worker 2: stopped" in log


def backend_waiting_for_a_lock(url: str) -> int | None:
    """The pid of a flowengine connection waiting for a row lock, if any."""
    from flowengine.org.postgres.store import PostgresUrl, connect

    conn = connect(PostgresUrl.parse(url))
    try:
        row = conn.execute("SELECT pid FROM pg_stat_activity WHERE application_name = "
                           "'flowengine' AND wait_event_type = 'Lock'").fetchone()
    finally:
        conn.close()
    return int(row[0]) if row else None


def backend_alive(url: str, pid: int) -> bool:
    from flowengine.org.postgres.store import PostgresUrl, connect

    conn = connect(PostgresUrl.parse(url))
    try:
        return conn.execute("SELECT 1 FROM pg_stat_activity WHERE pid = %s",
                            (pid,)).fetchone() is not None
    finally:
        conn.close()


def test_a_worker_killed_mid_batch_leaves_its_batch_to_another(postgres_org: str,
                                                               project: Path) -> None:
    prepare(postgres_org, project)
    publish(postgres_org, project, MESSAGES)
    holder = open_org(postgres_org, project=project)
    gate = holder.begin()
    try:
        gate.query("Ticket__c", {"Name": "gate"})                 # locks the gate's row
        doomed = worker(postgres_org, project, "--batch-size", "100")
        wait_for(lambda: backend_waiting_for_a_lock(postgres_org) is not None,
                 "the worker to wait for the gate, its batch claimed")
        pid = backend_waiting_for_a_lock(postgres_org)
        doomed.kill()                                            # SIGKILL: no clean-up at all
        doomed.wait(timeout=30)
        assert doomed.returncode == -signal.SIGKILL
    finally:
        gate.rollback()
        holder.close()
    assert pid is not None
    wait_for(lambda: not backend_alive(postgres_org, pid), "the killed worker's session to end")
    assert tickets(postgres_org, project) == []                  # its batch was rolled back
    other = worker(postgres_org, project)
    try:
        wait_for(lambda: len(tickets(postgres_org, project)) >= len(MESSAGES), "the tickets")
    finally:
        log = stop(other)
    assert tickets(postgres_org, project) == MESSAGES            # every event once
    assert "On_Alert: 40 events, 0 failed" in log


# -- a server of the test's own, restarted under a running worker -----------------------------

def _server_binaries() -> Path | None:
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"))
    if found:
        return found[-1].parent
    initdb = shutil.which("initdb")
    return Path(initdb).parent if initdb else None


class OwnServer:
    """A PostgreSQL server of its own in a temporary folder (run as the postgres user when the
    tests run as root, which the server refuses), reached through its socket there."""

    def __init__(self, binaries: Path) -> None:
        self.binaries = binaries
        self.folder = Path(tempfile.mkdtemp(prefix="flowengine-pg-"))
        self.data = self.folder / "data"
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        self.as_root = os.geteuid() == 0
        if self.as_root:
            shutil.chown(self.folder, "postgres", "postgres")
        self.run("initdb", "-D", str(self.data), "-U", "postgres", "--auth=trust", "-E", "UTF8")
        self.url = (f"postgresql://postgres@/postgres?host={self.folder}&port={self.port}"
                    "&connect_timeout=2")

    def run(self, tool: str, *args: str) -> None:
        command = [str(self.binaries / tool), *args]
        if self.as_root:
            command = ["runuser", "-u", "postgres", "--", *command]
        subprocess.run(command, check=True, capture_output=True, timeout=120)

    def start(self) -> None:
        self.run("pg_ctl", "-D", str(self.data), "-w", "-l", str(self.folder / "log"), "-o",
                 f"-p {self.port} -k {self.folder} -c listen_addresses='' -c fsync=off", "start")

    def stop(self) -> None:
        self.run("pg_ctl", "-D", str(self.data), "-w", "-m", "fast", "stop")

    def remove(self) -> None:
        try:
            self.stop()
        except subprocess.CalledProcessError:
            pass
        shutil.rmtree(self.folder, ignore_errors=True)


@pytest.fixture
def own_server() -> Iterator[OwnServer]:
    binaries = _server_binaries()
    if binaries is None:
        from flowengine.testing.postgres import in_ci

        reason = "no PostgreSQL server binaries (initdb, pg_ctl) to start a server of the test's own"
        if in_ci():
            pytest.fail(reason)
        pytest.skip(reason)
    server = OwnServer(binaries)
    try:
        server.start()
        yield server
    finally:
        server.remove()


def test_workers_reconnect_when_the_server_restarts(own_server: OwnServer,
                                                    project: Path) -> None:
    org = own_server.url
    prepare(org, project)
    running = worker(org, project)
    try:
        publish(org, project, MESSAGES[:20])
        wait_for(lambda: len(tickets(org, project)) >= 20, "the first tickets")
        own_server.stop()
        time.sleep(1.5)                              # the workers find the server gone
        own_server.start()
        publish(org, project, MESSAGES[20:])
        wait_for(lambda: len(tickets(org, project)) >= len(MESSAGES), "the other tickets")
    finally:
        log = stop(running)
    assert tickets(org, project) == MESSAGES
    assert "trying again in" in log and "is back" in log

