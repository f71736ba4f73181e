"""Platform events and the automation log, kept by the org store with its transactions.

Publishing an event (Create Records on an event object, or `OrgTransaction.publish`) checks its
fields as a record's are checked, stamps it — ReplayId (one counter for the whole store, so
replay order is publish order), EventUuid, CreatedDate, CreatedById — and stores it with the
transaction: subscribers see it once the transaction commits, never when it rolls back
("Publish After Commit", the behaviour of events published by flows and by the platform).

Subscribers keep a cursor, the last ReplayId they processed; delivery reads the events after
it and moves it in the same transaction as the subscriber's writes, so an event is processed
once whatever fails. The automation log keeps one entry per interview that automation started
(flow, what started it, status, fault message, trace).
"""
from __future__ import annotations

import datetime as _dt
import json
import uuid
from collections.abc import Collection, Mapping, Sequence
from typing import Any

from flowengine.errors import OrgError
from flowengine.org import ids
from flowengine.org.catalog import ObjectInfo
from flowengine.org.storage import StorageTransaction

__all__ = ["EventBusMixin", "REPLAY_COUNTER"]

REPLAY_COUNTER = "$ReplayId"
_STAMPED = ("ReplayId", "EventUuid", "CreatedDate", "CreatedById")


class EventBusMixin(StorageTransaction):
    """Publishing and reading platform events, subscribers' cursors, the automation log."""

    def publish(self, event_name: str, events: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
        """Publish events of one event object, all or nothing; returns them as subscribers will
        read them (as `events` gives them: `event`, and every field with ReplayId, EventUuid,
        CreatedDate, CreatedById). Errors
        name the event by its place (`[2] of the batch`), as a record's would."""
        self._check_writable()
        info = self.catalog.object(event_name)
        if not info.schema.is_event:
            raise OrgError(f"{info.name} is not a platform event (events are objects whose name "
                           "ends in __e, or the standard events)", "INVALID_TYPE")
        now = self.clock()
        published: list[dict[str, Any]] = []
        for index, fields in enumerate(events):
            label = f"[{index}] of the batch" if len(events) > 1 else None
            given = {k: v for k, v in fields.items() if k not in _STAMPED or v is None}
            values = self._convert_fields(info, given, label)  # type: ignore[attr-defined]
            event: dict[str, Any] = {f.name: None for f in info.schema.fields}
            event.update({f.name: f.default for f in info.schema.fields
                          if f.default is not None and not f.read_only})
            event.update(values)
            event.update(EventUuid=str(uuid.uuid4()), CreatedDate=now, CreatedById=self.user_id)
            self._check_required(info, event, [f for f in info.stored if f.required],  # type: ignore[attr-defined]
                                 label)
            published.append(event)
        if not published:
            return []
        first = self._take_numbers(REPLAY_COUNTER, len(published))
        for offset, event in enumerate(published):
            event["ReplayId"] = first + offset
        self._store_events([(e["ReplayId"], info.name, now.isoformat(), _encode(e))
                            for e in published])
        return [{"event": info.name, **e} for e in published]

    def events(self, after: int = 0, names: Collection[str] | None = None,
               limit: int | None = None) -> list[dict[str, Any]]:
        """Events with a ReplayId above `after` (of the objects in `names`, when given), in
        replay order, at most `limit`: each a dict of its fields plus `event` (its object)."""
        self._check_open()
        out = []
        for replay_id, name, _published, payload in self._read_events(after, names, limit):
            info = self.catalog.objects.get(name)
            event = _decode(self, info, payload) if info is not None else json.loads(payload)
            event["ReplayId"] = replay_id
            out.append({"event": name, **event})
        return out

    def event_id(self, event: Mapping[str, Any]) -> str:
        """The 18-character Id Create Records gives a published event: its object's key
        prefix and its ReplayId."""
        info = self.catalog.object(str(event["event"]) if "event" in event else "")
        return ids.make_id(info.schema.key_prefix, int(event["ReplayId"]))

    def cursor(self, subscriber: str) -> int:
        """The last ReplayId `subscriber` processed (0: none)."""
        self._check_open()
        return self._read_cursor(subscriber)

    def set_cursor(self, subscriber: str, replay_id: int) -> None:
        """Remember that `subscriber` processed every event up to `replay_id`."""
        self._check_writable()
        self._write_cursor(subscriber, replay_id)

    def claim_events(self, subscriber: str, event_name: str, limit: int) -> list[dict[str, Any]]:
        """The next events of `event_name` that `subscriber` has not processed, at most `limit`,
        in replay order (as `events` gives them), claimed by this transaction: another
        transaction claiming for the same subscriber meanwhile gets other events, or none. A
        subscriber that never claimed before starts from the first event the store holds. Call
        `processed` for them before the transaction commits; if it rolls back (or its process
        dies), they are claimed again later."""
        self._check_writable()
        out = []
        for replay_id, name, _published, payload in self._claim_events(subscriber, event_name,
                                                                       limit):
            info = self.catalog.objects.get(name)
            event = _decode(self, info, payload) if info is not None else json.loads(payload)
            event["ReplayId"] = replay_id
            out.append({"event": name, **event})
        return out

    def processed(self, subscriber: str, events: Sequence[Mapping[str, Any]]) -> None:
        """Record, with the transaction, that `subscriber` has processed these claimed events."""
        self._check_writable()
        if events:
            self._mark_processed(subscriber, sorted(int(e["ReplayId"]) for e in events))

    def delivered(self, subscriber: str, replay_ids: Collection[int]) -> set[int]:
        """Those of `replay_ids` that `subscriber` has processed."""
        self._check_open()
        return self._delivered(subscriber, replay_ids)

    def log_interview(self, entry: Mapping[str, Any]) -> int:
        """Keep an entry of the automation log (JSON data); returns its number."""
        self._check_writable()
        return self._store_interview(json.dumps(entry, ensure_ascii=False, default=str))

    def interviews(self, after: int = 0, limit: int | None = None) -> list[dict[str, Any]]:
        """Entries of the automation log after number `after`, oldest first, each with its
        number under `number`."""
        self._check_open()
        return [{"number": number, **json.loads(text)}
                for number, text in self._read_interviews(after, limit)]

    # -- storage primitives: what a backend implements ----------------------------------------

    def _store_events(self, events: Sequence[tuple[int, str, str, str]]) -> None:
        """Store published events: (ReplayId, event object, published ISO time, payload JSON)."""
        raise NotImplementedError

    def _read_events(self, after: int, names: Collection[str] | None,
                     limit: int | None) -> list[tuple[int, str, str, str]]:
        """Stored events with a ReplayId above `after`, in replay order (see `_store_events`)."""
        raise NotImplementedError

    def _read_cursor(self, subscriber: str) -> int:
        raise NotImplementedError

    def _write_cursor(self, subscriber: str, replay_id: int) -> None:
        raise NotImplementedError

    # A store with one writer at a time keeps a cursor per subscriber: its claims are the events
    # after the cursor, and processing moves the cursor. A server backend, where transactions
    # publish and claim side by side, overrides the three.

    def _claim_events(self, subscriber: str, event_name: str,
                      limit: int) -> list[tuple[int, str, str, str]]:
        return self._read_events(self._read_cursor(subscriber), [event_name], limit)

    def _mark_processed(self, subscriber: str, replay_ids: Sequence[int]) -> None:
        self._write_cursor(subscriber, max(replay_ids[-1], self._read_cursor(subscriber)))

    def _delivered(self, subscriber: str, replay_ids: Collection[int]) -> set[int]:
        cursor = self._read_cursor(subscriber)
        return {r for r in replay_ids if r <= cursor}

    def _store_interview(self, entry: str) -> int:
        """Append an automation log entry (JSON); returns its number (1, 2, 3...)."""
        raise NotImplementedError

    def _read_interviews(self, after: int, limit: int | None) -> list[tuple[int, str]]:
        raise NotImplementedError


def _encode(event: Mapping[str, Any]) -> str:
    from flowengine.org.fixtures import plain_value

    return json.dumps({k: plain_value(v) for k, v in event.items() if k != "ReplayId"},
                      ensure_ascii=False)


def _decode(tx: Any, info: ObjectInfo, payload: str) -> dict[str, Any]:
    data = json.loads(payload)
    out: dict[str, Any] = {}
    for fdef in info.schema.fields:
        value = data.get(fdef.name)
        if value is not None and fdef.type.kind in ("DateTime", "Date", "Number", "Currency"):
            value = tx.catalog.convert(info, fdef, value) if fdef.type.kind != "DateTime" \
                else _dt.datetime.fromisoformat(str(value).replace("Z", "+00:00"))
        out[fdef.name] = value
    return out
