"""What the PostgreSQL org store adds to the contract: row locks instead of one lock for the whole
store — writers of different records run side by side, a wait past the lock timeout is
UNABLE_TO_LOCK_ROW, and two interviews that deadlock end in a fault for one of them, never in
a hang. (The contract itself runs on PostgreSQL in tests/org/.)"""
from __future__ import annotations

import threading
import time
from collections.abc import Iterator, Mapping
from decimal import Decimal
from typing import Any

import pytest
from helpers import ORG_SCHEMAS, FakeRegistry

from flowengine.api import load_flow_text
from flowengine.errors import OrgError
from flowengine.org import open_org
from flowengine.org.base import OrgStore
from flowengine.plugins import Action, ActionContext


@pytest.fixture
def counters(postgres_org: str) -> Iterator[OrgStore]:
    """A PostgreSQL store whose writes wait at most half a second for a lock, with two counters
    named a and b."""
    store = open_org(postgres_org + "&lock_timeout=0.5", ORG_SCHEMAS)
    with store.begin() as tx:
        tx.insert_many("Counter", [{"Name": "a", "Value": 0}, {"Name": "b", "Value": 0}])
    yield store
    store.close()


def _counter(tx: Any, name: str) -> dict[str, Any]:
    (record,) = tx.query("Counter", {"Name": name})
    return record


def test_writers_of_different_records_do_not_wait_for_each_other(counters: OrgStore) -> None:
    first = counters.begin()
    try:
        first.update("Counter", _counter(first, "a")["Id"], {"Value": 1})
        started = time.monotonic()
        with counters.begin() as second:         # SQLite would wait here for the first
            second.update("Counter", _counter(second, "b")["Id"], {"Value": 1})
        assert time.monotonic() - started < 0.4
    finally:
        first.rollback()


def test_a_record_locked_past_the_timeout_is_unable_to_lock_row(counters: OrgStore) -> None:
    first = counters.begin()
    try:
        first.update("Counter", _counter(first, "a")["Id"], {"Value": 1})
        second = counters.begin()
        started = time.monotonic()
        with pytest.raises(OrgError, match=r"unable to obtain exclusive access to this record: "
                                           r"another transaction has held its lock for more "
                                           r"than 0.5 s \(org store postgresql://") as caught:
            _counter(second, "a")                  # a write transaction locks what it reads
        assert caught.value.error_code == "UNABLE_TO_LOCK_ROW"
        assert 0.4 < time.monotonic() - started < 5
        second.rollback()
        with counters.begin(write=False) as reader:    # a reader waits for nobody
            assert _counter(reader, "a")["Value"] == 0
    finally:
        first.rollback()


CROSSING_FLOW = """
flow: Touch_Two_Counters
variables:
  first: {type: Text, input: true}
  second: {type: Text, input: true}
elements:
  Touch_First:
    type: UpdateRecords
    object: Counter
    filters: [{field: Name, op: EqualTo, value: "{!first}"}]
    values: {Value: 1}
    next: Meet
  Meet: {type: Action, action: meetPartner, next: Touch_Second}
  Touch_Second:
    type: UpdateRecords
    object: Counter
    filters: [{field: Name, op: EqualTo, value: "{!second}"}]
    values: {Value: 2}
start: Touch_First
"""


def test_two_interviews_that_deadlock_end_in_one_fault_and_one_finish(postgres_org: str) -> None:
    """Each interview locks its first counter, waits until the other has locked its own, then
    wants the other's: PostgreSQL finds the deadlock and fails one interview's wait; that
    interview faults and rolls back, and the other finishes."""
    partners = threading.Barrier(2, timeout=10)

    def meet_partner(inputs: Mapping[str, Any], context: ActionContext) -> Mapping[str, Any]:
        partners.wait()
        return {}

    meet = Action("meetPartner", "Meet Partner", "Tests", "Waits for the other interview.",
                  meet_partner)
    flow = load_flow_text(CROSSING_FLOW, registry=lambda: FakeRegistry([meet],
                                                                        objects=ORG_SCHEMAS))
    store = open_org(postgres_org, ORG_SCHEMAS)     # the default lock timeout: 30 s
    with store.begin() as tx:
        tx.insert_many("Counter", [{"Name": "a", "Value": 0}, {"Name": "b", "Value": 0}])
    results: dict[str, Any] = {}

    def interview(first: str, second: str) -> None:
        results[first] = flow.run({"first": first, "second": second}, org=store)

    threads = [threading.Thread(target=interview, args=pair) for pair in (("a", "b"), ("b", "a"))]
    started = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert time.monotonic() - started < 20                 # found in about a second, not 30
    statuses = sorted((r.status, name) for name, r in results.items())
    assert [status for status, _ in statuses] == ["Failed", "Finished"], statuses
    loser = results[statuses[0][1]]
    assert loser.error.element == "Touch_Second"
    assert "UNABLE_TO_LOCK_ROW: unable to obtain exclusive access to this record: deadlock" in \
        loser.error.message
    assert "its writes are undone, run it again" in loser.error.message
    winner = statuses[1][1]
    with store.begin(write=False) as tx:
        values = {name: _counter(tx, name)["Value"] for name in ("a", "b")}
    assert values == {winner: Decimal(1), ("b" if winner == "a" else "a"): Decimal(2)}
    store.close()


def test_a_missing_database_is_created_only_when_asked(postgres_database: str) -> None:
    import secrets

    from flowengine.org.postgres import PostgresUrl
    from flowengine.org.postgres.store import connect

    target = PostgresUrl.parse(postgres_database)
    name = f"flowengine_test_new_{secrets.token_hex(4)}"
    url = target.with_database(name)
    with pytest.raises(OrgError, match=f"no org store at .*/{name}") as caught:
        open_org(url, ORG_SCHEMAS, create=False)
    assert caught.value.error_code == "ORG_NOT_FOUND"
    try:
        with open_org(url, ORG_SCHEMAS) as store, store.begin() as tx:
            assert tx.insert("Counter", {"Name": "first"}) == "a03XX0000000001YAA"
        with pytest.raises(OrgError, match=r"schema 'other' holds no org store") as caught:
            open_org(url + "?schema=other", ORG_SCHEMAS, create=False)
        assert caught.value.error_code == "ORG_NOT_FOUND"
    finally:
        admin = connect(target)
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.close()


def test_the_org_commands_work_on_postgresql_and_never_show_the_password(
        postgres_org: str, capsys: pytest.CaptureFixture[str]) -> None:
    from pathlib import Path
    from urllib.parse import urlsplit

    from flowengine.cli import main

    demo = Path(__file__).resolve().parent.parent / "flows" / "fixtures" / "demo_org.yaml"
    assert main(["org", "init", "--org", postgres_org]) == 0
    assert main(["org", "load", str(demo), "--org", postgres_org]) == 0
    assert main(["org", "show", "FulfillmentOrderLineItem", "0a4DM0000000001YAA", "--org",
                 postgres_org, "--format", "json"]) == 0
    assert main(["org", "init", "--org", postgres_org]) == 2          # it holds records now
    out, err = capsys.readouterr()
    assert "initialised org store postgresql://" in out and "loaded 13 records into" in out
    assert '"Quantity": 3' in out and "already holds 13 records; use --force" in err
    password = urlsplit(postgres_org).password
    if password:
        assert f":{password}@" not in out + err and ":***@" in out


# -- platform events shared by workers -------------------------------------------------------

@pytest.fixture
def alerts(postgres_org: str) -> Iterator[OrgStore]:
    """A PostgreSQL store with the event Alert__e whose writes wait at most half a second."""
    from org.test_contract_events import ALERT

    store = open_org(postgres_org + "&lock_timeout=0.5", (*ORG_SCHEMAS, ALERT))
    yield store
    store.close()


def _publish(store: OrgStore, *messages: str) -> None:
    with store.begin() as tx:
        tx.publish("Alert__e", [{"Message__c": m} for m in messages])


def _messages(events: list[dict[str, Any]]) -> list[str]:
    return [e["Message__c"] for e in events]


def test_transactions_claiming_at_once_get_different_events_without_waiting(
        alerts: OrgStore) -> None:
    with alerts.begin() as tx:
        assert tx.claim_events("On_Alert", "Alert__e", 10) == []     # subscribes
    _publish(alerts, *(f"m{i}" for i in range(10)))
    first, second = alerts.begin(), alerts.begin()
    try:
        mine = first.claim_events("On_Alert", "Alert__e", 4)
        started = time.monotonic()
        theirs = second.claim_events("On_Alert", "Alert__e", 4)
        assert time.monotonic() - started < 0.4                     # skipped, not waited for
        assert (_messages(mine), _messages(theirs)) == (["m0", "m1", "m2", "m3"],
                                                        ["m4", "m5", "m6", "m7"])
        second.processed("On_Alert", theirs)
        second.commit()
    finally:
        first.rollback()                                            # its claim is given back
    with alerts.begin() as tx:
        assert _messages(tx.claim_events("On_Alert", "Alert__e", 10)) == \
            ["m0", "m1", "m2", "m3", "m8", "m9"]


def test_an_event_committed_after_a_later_replay_id_is_not_lost(alerts: OrgStore) -> None:
    with alerts.begin() as tx:
        tx.claim_events("On_Alert", "Alert__e", 10)
    slow = alerts.begin()
    try:
        slow.publish("Alert__e", [{"Message__c": "first published, last committed"}])
        _publish(alerts, "second")                   # publishers do not wait for each other
        with alerts.begin() as tx:
            claimed = tx.claim_events("On_Alert", "Alert__e", 10)
            tx.processed("On_Alert", claimed)
        assert _messages(claimed) == ["second"]
        slow.commit()
    finally:
        slow.rollback()
    with alerts.begin() as tx:
        assert _messages(tx.claim_events("On_Alert", "Alert__e", 10)) == \
            ["first published, last committed"]
