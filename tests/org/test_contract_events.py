"""The org store contract for platform events: publishing, claiming a subscriber's events,
marking them processed, and the automation log — on every backend. (Claims of concurrent
transactions, which only a server backend runs side by side, are tested in
`tests/test_org_postgres.py`.)"""
from __future__ import annotations

from typing import Any

import pytest
from helpers import ORG_SCHEMAS
from org_backends import Backend

from flowengine.errors import OrgError
from flowengine.org.base import OrgStore
from flowengine.org.schema import FieldDef, ObjectSchema
from flowengine.types import Text

ALERT = ObjectSchema("Alert__e", "eAl", fields=(FieldDef("Message__c", Text(), "Message"),),
                     is_event=True)
NOTICE = ObjectSchema("Notice__e", "eNo", fields=(FieldDef("Message__c", Text(), "Message"),),
                      is_event=True)


@pytest.fixture
def events_store(backend: Backend) -> OrgStore:
    return backend.open((*ORG_SCHEMAS, ALERT, NOTICE))


def publish(store: OrgStore, name: str, *messages: str) -> list[int]:
    with store.begin() as tx:
        return [e["ReplayId"] for e in tx.publish(name, [{"Message__c": m} for m in messages])]


def claim(store: OrgStore, subscriber: str, event: str, limit: int = 100,
          process: bool = True) -> list[str]:
    with store.begin() as tx:
        events = tx.claim_events(subscriber, event, limit)
        if process:
            tx.processed(subscriber, events)
        else:
            tx.rollback()
    return [e["Message__c"] for e in events]


def test_a_new_subscriber_gets_every_stored_event_of_its_object_in_replay_order(
        events_store: OrgStore) -> None:
    publish(events_store, "Alert__e", "a1", "a2")
    publish(events_store, "Notice__e", "n1")
    publish(events_store, "Alert__e", "a3")
    assert claim(events_store, "On_Alert", "Alert__e", limit=2) == ["a1", "a2"]
    assert claim(events_store, "On_Alert", "Alert__e") == ["a3"]
    assert claim(events_store, "On_Alert", "Alert__e") == []
    publish(events_store, "Alert__e", "a4")                      # published after it subscribed
    assert claim(events_store, "On_Alert", "Alert__e") == ["a4"]
    assert claim(events_store, "On_Notice", "Notice__e") == ["n1"]


def test_a_claim_that_rolls_back_is_claimed_again(events_store: OrgStore) -> None:
    publish(events_store, "Alert__e", "a1", "a2")
    assert claim(events_store, "On_Alert", "Alert__e", process=False) == ["a1", "a2"]
    assert claim(events_store, "On_Alert", "Alert__e") == ["a1", "a2"]
    assert claim(events_store, "On_Alert", "Alert__e") == []


def test_events_of_a_rolled_back_transaction_are_never_claimed(events_store: OrgStore) -> None:
    tx = events_store.begin()
    tx.publish("Alert__e", [{"Message__c": "gone"}])
    tx.rollback()
    publish(events_store, "Alert__e", "kept")
    assert claim(events_store, "On_Alert", "Alert__e") == ["kept"]


def test_delivered_and_the_cursor_say_what_a_subscriber_processed(events_store: OrgStore) -> None:
    first, second = publish(events_store, "Alert__e", "a1", "a2")
    with events_store.begin(write=False) as tx:
        assert tx.delivered("On_Alert", [first, second]) == set()
        assert tx.cursor("On_Alert") == 0
    claim(events_store, "On_Alert", "Alert__e", limit=1)
    with events_store.begin(write=False) as tx:
        assert tx.delivered("On_Alert", [first, second]) == {first}
        assert tx.cursor("On_Alert") == first
    with events_store.begin() as tx:                  # moving the cursor processes the rest
        tx.set_cursor("On_Alert", second)
    assert claim(events_store, "On_Alert", "Alert__e") == []


def test_claims_and_the_log_need_the_right_transaction(events_store: OrgStore) -> None:
    with events_store.begin(write=False) as tx:
        with pytest.raises(OrgError, match="read-only"):
            tx.claim_events("On_Alert", "Alert__e", 10)
        with pytest.raises(OrgError, match="read-only"):
            tx.log_interview({"flow": "x"})
    with events_store.begin() as tx:
        numbers = [tx.log_interview({"flow": name}) for name in ("A", "B")]
    with events_store.begin(write=False) as tx:
        entries: list[dict[str, Any]] = tx.interviews()
    assert [(e["number"], e["flow"]) for e in entries] == list(zip(numbers, ["A", "B"]))
    assert numbers[1] > numbers[0]
