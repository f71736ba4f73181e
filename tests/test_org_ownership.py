"""The org store touches only what is flowengine's (issue #18, item 2): a database of another
application — or any file that is not an org store — is refused with a clear message and left
byte for byte as it was; `init --force` is one transaction; a failed load creates nothing; a
damaged store is a message, not an internal error."""
from __future__ import annotations

import hashlib
import sqlite3
import threading
from pathlib import Path

import pytest

from flowengine.cli import main

pytestmark = pytest.mark.usefixtures("cli_org_of_test_objects")


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture
def app_db(tmp_path: Path) -> Path:
    """Another application's SQLite database, in rollback-journal mode."""
    path = tmp_path / "app.db"
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT)")
    conn.execute("INSERT INTO users VALUES (1, 'ann')")
    conn.commit()
    conn.close()
    return path


@pytest.mark.parametrize("argv", [
    ["org", "show", "Invoice"], ["org", "init"], ["org", "init", "--force"],
    ["org", "export"], ["org", "load", "fixture.yaml"],
])
def test_a_database_of_another_application_is_refused_and_left_as_it_was(
        capsys: pytest.CaptureFixture[str], tmp_path: Path, app_db: Path, argv: list[str]) -> None:
    (tmp_path / "fixture.yaml").write_text("Invoice:\n  - {Name: INV-1}\n")
    before = digest(app_db)
    code, _, err = run(capsys, *argv, "--org", str(app_db))
    assert code == 2
    assert (f"error: {app_db} is a SQLite database of another application (tables: users), "
            "not a flowengine org store; flowengine leaves it as it is; name another file with "
            "--org") in err
    assert digest(app_db) == before
    assert sorted(p.name for p in tmp_path.glob("app.db*")) == ["app.db"]   # no -wal, no -shm


@pytest.mark.parametrize("content, message", [
    (b"hello, not a database\n", "is not an org store (not a SQLite database)"),
    (b"SQLite format 3\x00" + b"\xff" * 200, "is not a usable org store (a damaged SQLite file"),
])
def test_a_file_that_is_not_a_store_is_refused_and_left_as_it_was(
        capsys: pytest.CaptureFixture[str], tmp_path: Path, content: bytes, message: str) -> None:
    path = tmp_path / "notes.sqlite"
    path.write_bytes(content)
    code, _, err = run(capsys, "org", "init", "--force", "--org", str(path))
    assert code == 2 and message in err and "internal error" not in err
    assert path.read_bytes() == content


def test_an_empty_file_becomes_a_store(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    path = tmp_path / "empty.sqlite"
    path.touch()
    code, out, _ = run(capsys, "org", "init", "--org", str(path))
    assert code == 0 and "initialised org store" in out


def test_a_store_with_damaged_data_is_a_message(capsys: pytest.CaptureFixture[str],
                                                tmp_path: Path) -> None:
    (tmp_path / "fixture.yaml").write_text("Invoice:\n  - {Name: INV-1, Paid: 5}\n")
    assert run(capsys, "org", "load", "fixture.yaml")[0] == 0
    conn = sqlite3.connect(tmp_path / ".flowengine" / "org.sqlite")
    conn.execute("UPDATE Invoice SET Paid = 'lots'")
    conn.execute("UPDATE _flowengine_meta SET value = 'x' WHERE key = 'schema_version'")
    conn.commit()
    conn.close()
    code, _, err = run(capsys, "org", "show", "Invoice")
    assert code == 2 and "internal error" not in err
    assert "the org store is damaged: Invoice a01" in err and "field Paid holds 'lots'" in err


def test_a_failed_first_load_creates_nothing(capsys: pytest.CaptureFixture[str],
                                             tmp_path: Path) -> None:
    (tmp_path / "bad.yaml").write_text("Nope:\n  - {Name: x}\n")
    code, _, err = run(capsys, "org", "load", "bad.yaml", "--org", "new/store/org.sqlite")
    assert code == 2 and "fixture not loaded" in err
    assert not (tmp_path / "new").exists()
    code, _, err = run(capsys, "org", "load", "bad.yaml")
    assert code == 2 and not (tmp_path / ".flowengine").exists()


def test_a_failed_load_into_an_existing_store_keeps_it(capsys: pytest.CaptureFixture[str],
                                                       tmp_path: Path) -> None:
    (tmp_path / "good.yaml").write_text("Invoice:\n  - {Name: INV-1}\n")
    (tmp_path / "bad.yaml").write_text("Nope:\n  - {Name: x}\n")
    assert run(capsys, "org", "load", "good.yaml")[0] == 0
    assert run(capsys, "org", "load", "bad.yaml")[0] == 2
    code, out, _ = run(capsys, "org", "show", "Invoice")
    assert code == 0 and "INV-1" in out


def test_init_force_is_one_transaction(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    """A reader running while `init --force` wipes the store always finds the tables."""
    (tmp_path / "good.yaml").write_text("Invoice:\n" + "".join(
        f"  - {{Name: INV-{i}}}\n" for i in range(200)))
    assert run(capsys, "org", "load", "good.yaml")[0] == 0
    path = tmp_path / ".flowengine" / "org.sqlite"
    errors: list[str] = []
    stop = threading.Event()

    def read() -> None:
        conn = sqlite3.connect(path, timeout=30)
        while not stop.is_set():
            try:
                conn.execute('SELECT COUNT(*) FROM "Invoice"').fetchone()
            except sqlite3.OperationalError as exc:
                errors.append(str(exc))
        conn.close()

    reader = threading.Thread(target=read)
    reader.start()
    try:
        for _ in range(15):
            assert run(capsys, "org", "init", "--force")[0] == 0
            assert run(capsys, "org", "load", "good.yaml")[0] == 0
    finally:
        stop.set()
        reader.join()
    assert not [e for e in errors if "no such table" in e]
