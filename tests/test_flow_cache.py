"""The flow cache (`flowengine.cache`): a flow file's parsed and validated structure is kept by
its content, so an unchanged flow is not parsed and validated again; the checks run on every
load, so nothing outside the file can make an entry stale. Through the CLI in fresh processes
(as users run it) and through the API where a test needs to look inside."""
from __future__ import annotations

import os
import pickle
import subprocess
import sys
import textwrap
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from plugins import install_source, site_dir  # noqa: F401 - `site_dir` is a fixture

import flowengine
import flowengine.cache
from flowengine import load_flow
from flowengine.cache import SUFFIX, flow_cache_dir, load_structure

ROOT = Path(__file__).resolve().parent.parent
COUNTER = ROOT / "flows" / "counter.yaml"

GREETING = """\
flow: Greeting
variables:
  message: {type: Text, output: true}
elements:
  Greet:
    type: Assignment
    assignments:
      - {ref: message, op: Assign, value: "hello"}
start: Greet
"""


@pytest.fixture
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty cache directory of this test's own, for this process and the ones it starts."""
    folder = tmp_path / "cache"
    monkeypatch.setenv("FLOWENGINE_CACHE_DIR", str(folder))
    monkeypatch.delenv("FLOWENGINE_NO_CACHE", raising=False)
    return folder


def entries(cache: Path) -> list[Path]:
    folder = cache / "flows"
    return sorted(folder.glob(f"*{SUFFIX}")) if folder.is_dir() else []


def flowengine_cli(*args: str, cwd: Path | None = None,
                   env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "flowengine", *args], capture_output=True,
                          text=True, cwd=cwd or ROOT, env={**os.environ, "NO_COLOR": "1", **(env or {})},
                          timeout=120)


def write(path: Path, text: str) -> Path:
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


# -- hits and misses ---------------------------------------------------------------------------

def test_a_second_run_uses_the_entry_and_prints_the_same(cache: Path) -> None:
    first = flowengine_cli("run", str(COUNTER), "-i", "limit=10")
    assert first.returncode == 0, first.stderr
    [entry] = entries(cache)
    assert (entry.stat().st_mode & 0o777, (cache / "flows").stat().st_mode & 0o777) == (0o600, 0o700)
    second = flowengine_cli("run", str(COUNTER), "-i", "limit=10")
    uncached = flowengine_cli("run", str(COUNTER), "-i", "limit=10", env={"FLOWENGINE_NO_CACHE": "1"})
    assert first.stdout == second.stdout == uncached.stdout
    assert "counter = 10" in first.stdout
    assert entries(cache) == [entry]


def test_an_entry_is_what_a_load_gets_without_parsing(cache: Path, tmp_path: Path) -> None:
    # replacing the entry's content shows that a load takes the entry as it is
    flow = write(tmp_path / "greeting.yaml", GREETING)
    assert load_flow(flow).run().outputs == {"message": "hello"}
    [entry] = entries(cache)
    other = write(tmp_path / "other.yaml", GREETING.replace("Greeting", "Other"))
    doc, structure = load_structure(other)
    entry.write_bytes(pickle.dumps((doc, structure)))
    assert load_flow(flow).name == "Greeting"        # an entry of another file is a miss
    doc.file = str(flow)
    entry.write_bytes(pickle.dumps((doc, structure)))
    assert load_flow(flow).name == "Other"


def test_an_edited_flow_is_loaded_anew_even_with_the_same_size_and_time(
        cache: Path, tmp_path: Path) -> None:
    flow = write(tmp_path / "greeting.yaml", GREETING)
    done = flowengine_cli("run", str(flow))
    assert done.returncode == 0 and 'message = "hello"' in done.stdout, done.stderr
    stat = flow.stat()
    write(flow, GREETING.replace("hello", "howdy"))          # as long as before
    os.utime(flow, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    done = flowengine_cli("run", str(flow))
    assert done.returncode == 0 and 'message = "howdy"' in done.stdout, done.stderr
    assert len(entries(cache)) == 2


def test_the_same_text_under_another_name_is_reported_under_that_name(
        cache: Path, tmp_path: Path) -> None:
    broken = GREETING.replace("op: Assign", "op: Asign")
    for name in ("one.yaml", "two.yaml"):
        done = flowengine_cli("validate", str(write(tmp_path / name, broken)))
        assert done.returncode == 1 and f"{name}:8:" in done.stdout, done.stdout
    again = flowengine_cli("validate", str(tmp_path / "two.yaml"))
    assert again.stdout == done.stdout


def test_problems_are_the_same_from_an_entry_as_without_one(cache: Path, tmp_path: Path) -> None:
    # structural problems (kept in the entry) and the checks' (run again), with their lines
    flow = write(tmp_path / "faulty.yaml", """\
        flow: Faulty
        variables:
          n: {type: Number, scale: 0}
          unused: {type: Text, bogus: 1}
        elements:
          Add:
            type: Assignment
            assignments:
              - {ref: n, op: Add, value: "{!missing}"}
            next: Nowhere
        start: Add
        """)
    runs = [flowengine_cli("validate", str(flow)) for _ in range(2)]
    uncached = flowengine_cli("validate", str(flow), env={"FLOWENGINE_NO_CACHE": "1"})
    assert runs[0].returncode == runs[1].returncode == uncached.returncode == 1
    assert runs[0].stdout == runs[1].stdout == uncached.stdout
    assert "faulty.yaml:4:" in uncached.stdout and "faulty.yaml:9:" in uncached.stdout
    assert len(entries(cache)) == 1


def test_an_xml_flow_is_kept_and_reads_back_the_same(cache: Path) -> None:
    xml = next((ROOT / "flows" / "sfdx").rglob("*.flow-meta.xml"))
    runs = [flowengine_cli("validate", str(xml)) for _ in range(2)]
    assert runs[0].returncode == runs[1].returncode == 0, runs[0].stdout
    assert runs[0].stdout == runs[1].stdout
    assert len(entries(cache)) == 1


# -- what an entry does not hold: plug-ins, versions -----------------------------------------

STAMP_PLUGIN = """\
from flowengine.plugins import Action, Parameter, Plugin
from flowengine.types import Text

def stamp(inputs, context):
    return {{"stamp": "{stamp}"}}

plugin = Plugin(name="stamp", actions=[Action(
    name="stampIt", label="Stamp It", category="Stamps", description="Say which version runs.",
    handler=stamp, outputs=(Parameter("stamp", Text(), "Stamp"),))])
"""

STAMP_FLOW = """\
flow: Stamped
variables:
  stamp: {type: Text, output: true}
elements:
  Call_Stamp:
    type: Action
    action: stampIt
    next: Keep
  Keep:
    type: Assignment
    assignments:
      - {ref: stamp, op: Assign, value: "{!Call_Stamp.stamp}"}
start: Call_Stamp
"""


def test_an_edited_plugin_is_seen_by_the_next_run(site_dir: Path, tmp_path: Path) -> None:
    package = install_source(site_dir, "stamp", STAMP_PLUGIN.format(stamp="v1"))
    flow = write(tmp_path / "stamped.yaml", STAMP_FLOW)
    env = {"PYTHONPATH": os.pathsep.join(p for p in (str(site_dir), os.environ.get("PYTHONPATH")) if p)}
    assert flowengine_cli("org", "init", cwd=tmp_path, env=env).returncode == 0   # actions run in an org
    done = flowengine_cli("run", str(flow), cwd=tmp_path, env=env)
    assert done.returncode == 0 and 'stamp = "v1"' in done.stdout, done.stderr

    (site_dir / package / "__init__.py").write_text(STAMP_PLUGIN.format(stamp="v2"))
    done = flowengine_cli("run", str(flow), cwd=tmp_path, env=env)
    assert done.returncode == 0 and 'stamp = "v2"' in done.stdout, done.stderr

    # the action renamed: the same entry, but the check finds the action gone
    (site_dir / package / "__init__.py").write_text(
        STAMP_PLUGIN.format(stamp="v3").replace('name="stampIt"', 'name="stampOther"'))
    done = flowengine_cli("run", str(flow), cwd=tmp_path, env=env)
    assert done.returncode == 2 and "stampIt" in done.stderr, done.stderr
    assert len(list(Path(flow_cache_dir()).glob(f"*{SUFFIX}"))) == 1   # (site_dir's cache folder)


def test_another_flowengine_version_makes_a_new_entry(cache: Path, tmp_path: Path,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    flow = write(tmp_path / "greeting.yaml", GREETING)
    load_flow(flow)
    [entry] = entries(cache)
    monkeypatch.setattr(flowengine, "__version__", "99.0.0")
    monkeypatch.setattr(flowengine.cache, "_fingerprint", None)
    assert load_flow(flow).run().outputs == {"message": "hello"}
    assert len(entries(cache)) == 2 and entry in entries(cache)


# -- a cache that cannot be used -----------------------------------------------------------------

def test_a_cache_directory_that_cannot_be_made_is_no_error(tmp_path: Path,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    monkeypatch.setenv("FLOWENGINE_CACHE_DIR", str(blocker / "cache"))
    done = flowengine_cli("run", str(COUNTER), "-i", "limit=3")
    assert done.returncode == 0 and "counter = 3" in done.stdout and done.stderr == "", done.stderr


@pytest.mark.skipif(os.name != "posix", reason="permissions and owners are POSIX's")
def test_a_cache_directory_others_can_write_to_is_not_used(cache: Path) -> None:
    (cache / "flows").mkdir(parents=True)
    os.chmod(cache / "flows", 0o777)
    done = flowengine_cli("run", str(COUNTER), "-i", "limit=3")
    assert done.returncode == 0 and "counter = 3" in done.stdout and done.stderr == "", done.stderr
    assert entries(cache) == []


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0,
                    reason="a read-only folder is writable by root; needs POSIX as another user")
def test_a_read_only_cache_directory_is_no_error(cache: Path) -> None:
    (cache / "flows").mkdir(parents=True)
    os.chmod(cache / "flows", 0o500)
    try:
        done = flowengine_cli("run", str(COUNTER), "-i", "limit=3")
    finally:
        os.chmod(cache / "flows", 0o700)
    assert done.returncode == 0 and "counter = 3" in done.stdout and done.stderr == "", done.stderr
    assert entries(cache) == []


@pytest.mark.skipif(os.name != "posix" or os.geteuid() != 0,
                    reason="giving a folder to another user needs root")
def test_a_cache_directory_of_another_user_is_not_used(cache: Path) -> None:
    (cache / "flows").mkdir(parents=True, mode=0o700)
    os.chown(cache / "flows", 65534, 65534)
    done = flowengine_cli("run", str(COUNTER), "-i", "limit=3")
    assert done.returncode == 0 and "counter = 3" in done.stdout, done.stderr
    assert entries(cache) == []


def test_no_cache_turns_it_off(cache: Path) -> None:
    done = flowengine_cli("run", str(COUNTER), "-i", "limit=3", env={"FLOWENGINE_NO_CACHE": "1"})
    assert done.returncode == 0, done.stderr
    assert not (cache / "flows").exists()


# -- damaged and hostile entries -----------------------------------------------------------------

def test_a_damaged_entry_is_a_miss_and_is_written_again(cache: Path, tmp_path: Path) -> None:
    flow = write(tmp_path / "greeting.yaml", GREETING)
    load_flow(flow)
    [entry] = entries(cache)
    good = entry.read_bytes()
    for damage in (b"", b"not a pickle", good[: len(good) // 2], pickle.dumps(("a", "tuple"))):
        entry.write_bytes(damage)
        assert load_flow(flow).run().outputs == {"message": "hello"}
        assert entry.read_bytes() == good


class _RunsACommand:
    def __init__(self, marker: str) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple[object, tuple[str]]:
        return os.system, (f"touch {self.marker}",)


def test_an_entry_that_would_call_something_runs_nothing(cache: Path, tmp_path: Path) -> None:
    flow = write(tmp_path / "greeting.yaml", GREETING)
    load_flow(flow)
    [entry] = entries(cache)
    marker = tmp_path / "pwned"
    entry.write_bytes(pickle.dumps(_RunsACommand(str(marker))))
    done = flowengine_cli("run", str(flow))
    assert done.returncode == 0 and 'message = "hello"' in done.stdout, done.stderr
    assert not marker.exists()


def test_an_entry_naming_another_module_imports_nothing(cache: Path, tmp_path: Path) -> None:
    # importing flowengine.__main__ would run the command line again
    flow = write(tmp_path / "greeting.yaml", GREETING)
    load_flow(flow)
    [entry] = entries(cache)
    for module, name in (("flowengine.__main__", "main"), ("flowengine.cli", "main"),
                         ("flowengine.org.sqlite.store", "SqliteStore")):
        entry.write_bytes(f"c{module}\n{name}\n.".encode())
        assert load_flow(flow).run().outputs == {"message": "hello"}
    assert "flowengine.__main__" not in sys.modules


@pytest.mark.skipif(os.name != "posix" or os.geteuid() != 0,
                    reason="giving a file to another user needs root")
def test_an_entry_of_another_user_is_not_read(cache: Path, tmp_path: Path) -> None:
    flow = write(tmp_path / "greeting.yaml", GREETING)
    load_flow(flow)
    [entry] = entries(cache)
    doc, structure = load_structure(write(tmp_path / "other.yaml", GREETING.replace("Greeting", "Other")))
    doc.file = str(flow)
    entry.write_bytes(pickle.dumps((doc, structure)))
    os.chown(entry, 65534, 65534)
    assert load_flow(flow).name == "Greeting"


@pytest.mark.skipif(os.name != "posix", reason="umask is POSIX's")
def test_the_cache_works_under_a_group_writable_umask(cache: Path) -> None:
    done = subprocess.run([sys.executable, "-m", "flowengine", "run", str(COUNTER), "-i", "limit=3"],
                          capture_output=True, text=True, cwd=ROOT, timeout=120,
                          preexec_fn=lambda: os.umask(0o002))
    assert done.returncode == 0, done.stderr
    assert len(entries(cache)) == 1


def test_a_flow_whose_parts_cannot_be_kept_is_loaded_each_time_and_not_written(
        cache: Path, tmp_path: Path) -> None:
    # a duplicate key leaves a marker in the document that an entry may not hold
    flow = write(tmp_path / "dup.yaml", GREETING.replace("start: Greet", "start: Greet\nstart: Greet"))
    runs = [flowengine_cli("validate", str(flow)) for _ in range(2)]
    assert runs[0].returncode == runs[1].returncode == 1
    assert runs[0].stdout == runs[1].stdout and "duplicate key 'start'" in runs[0].stdout
    assert entries(cache) == []


# -- concurrent runs -----------------------------------------------------------------------------

def test_concurrent_runs_on_an_empty_cache_all_finish_alike(cache: Path) -> None:
    with ThreadPoolExecutor(4) as pool:
        runs = list(pool.map(lambda _: flowengine_cli("run", str(COUNTER), "-i", "limit=5"), range(4)))
    assert [r.returncode for r in runs] == [0] * 4, [r.stderr for r in runs]
    assert len({r.stdout for r in runs}) == 1 and "counter = 5" in runs[0].stdout
    assert len(entries(cache)) == 1
    assert sorted(p.name for p in (cache / "flows").iterdir()) == [entries(cache)[0].name]  # no temporary files left
    assert flow_cache_dir() == str(cache / "flows")


def test_pruning_keeps_the_entries_used_last(cache: Path, tmp_path: Path,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(flowengine.cache, "KEEP", 2)
    flows = [write(tmp_path / f"{name}.yaml", GREETING.replace("Greeting", name))
             for name in ("First", "Second", "Third")]
    load_flow(flows[0])
    load_flow(flows[1])
    first, second = sorted(entries(cache), key=lambda e: e.stat().st_mtime_ns)
    assert pickle.loads(first.read_bytes())[0].file == str(flows[0])
    os.utime(first, ns=(1_000_000_000, 1_000_000_000))      # written long ago...
    os.utime(second, ns=(2_000_000_000, 2_000_000_000))
    load_flow(flows[0])                                     # ...but used just now
    load_flow(flows[2])                                     # a third entry: one must go
    kept = {pickle.loads(e.read_bytes())[0].file for e in entries(cache)}
    assert kept == {str(flows[0]), str(flows[2])}
