"""What the store sets by itself: the audit fields of every record, the clock they read, the
running user, and the records every store starts with.

Every object that is not a platform event has Salesforce's system fields — CreatedDate,
CreatedById, LastModifiedDate, LastModifiedById, SystemModstamp, IsDeleted — read-only, set by
the store on insert (all of them) and update (the last-modified ones and SystemModstamp) from
the store's clock and its running user. A
field whose default is `RUNNING_USER` (OwnerId) gets the running user when a record is created
without one. Every store holds a default running user (and its profile, which a Salesforce user
must have), created when the store is: `DEFAULT_USER_ID`. Backend-neutral.
"""
from __future__ import annotations

import datetime as _dt
import re
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any, Final

from flowengine.org import ids
from flowengine.org.schema import FieldDef, ObjectSchema
from flowengine.types import FlowType

__all__ = ["AUDIT_FIELDS", "DEFAULT_PROFILE", "DEFAULT_USER", "EVENT_FIELDS", "RUNNING_USER",
           "SYSTEM_FIELDS",
           "AutoNumber", "Clock", "FixedClock", "system_clock", "with_system_fields"]

Clock = Callable[[], _dt.datetime]
"""Returns the current date and time (timezone-aware); the store reads it once per write call."""


class _RunningUser:
    """The default of a field that takes the running user's Id (OwnerId)."""

    def __repr__(self) -> str:
        return "RUNNING_USER"


RUNNING_USER: Final = _RunningUser()

_AUTO_TOKEN: Final = re.compile(r"\{(0+|YYYY|YY|MM|DD)\}")


@dataclass(frozen=True)
class AutoNumber:
    """The default of an Auto Number field: the store numbers the records of its object 1, 2,
    3... and writes the number in `display_format` (Salesforce's: `PE-{00000000}` pads the
    number to 8 digits; `{YYYY}`, `{YY}`, `{MM}`, `{DD}` are the date of creation)."""

    display_format: str

    def problem(self) -> str | None:
        """Why the display format is not one Salesforce accepts, or None."""
        if not any(m.group(1).startswith("0") for m in _AUTO_TOKEN.finditer(self.display_format)):
            return (f"display format {self.display_format!r} has no number: expected a {{0}} "
                    "token such as INV-{0000}")
        return None

    def format(self, number: int, now: _dt.datetime) -> str:
        def token(match: re.Match[str]) -> str:
            text = match.group(1)
            if text.startswith("0"):
                return str(number).zfill(len(text))
            return {"YYYY": f"{now.year:04d}", "YY": f"{now.year % 100:02d}",
                    "MM": f"{now.month:02d}", "DD": f"{now.day:02d}"}[text]
        return _AUTO_TOKEN.sub(token, self.display_format)

_DATETIME: Final = FlowType("DateTime")


def _audit(name: str, label: str, user: bool) -> FieldDef:
    if user:
        return FieldDef(name, FlowType("Text"), reference_to="User", sf_type="Lookup", length=18,
                        relationship_name=name[:-2], read_only=True, label=label)
    return FieldDef(name, _DATETIME, sf_type="DateTime", read_only=True, label=label)


# Salesforce's system fields ("System Fields" in the Object Reference), in describe order
SYSTEM_FIELDS: Final[tuple[FieldDef, ...]] = (
    _audit("CreatedDate", "Created Date", False),
    _audit("CreatedById", "Created By ID", True),
    _audit("LastModifiedDate", "Last Modified Date", False),
    _audit("LastModifiedById", "Last Modified By ID", True),
    _audit("SystemModstamp", "System Modstamp", False),
    # always false: a deleted record is gone from the store (Salesforce's recycle bin is not kept)
    FieldDef("IsDeleted", FlowType("Boolean"), sf_type="Checkbox", read_only=True, default=False,
             label="Deleted"),
)
SYSTEM_FIELD_NAMES: Final = frozenset(f.name for f in SYSTEM_FIELDS)
# those that the "Set Audit Fields upon Record Creation" permission lets a load set (fixtures)
AUDIT_FIELDS: Final = frozenset({"CreatedDate", "CreatedById", "LastModifiedDate",
                                 "LastModifiedById"})

# the records every store holds; generated Ids are numbered from 1, so these are the first ones
DEFAULT_USER_ID: Final[str] = ids.make_id("005", 1)
DEFAULT_PROFILE: Final[dict[str, Any]] = {"Id": ids.make_id("00e", 1),
                                          "Name": "System Administrator"}
DEFAULT_USER: Final[dict[str, Any]] = {
    "Id": DEFAULT_USER_ID, "Username": "admin@flowengine.local", "LastName": "Admin",
    "FirstName": "Flow", "Alias": "admin", "Email": "admin@flowengine.local",
    "IsActive": True, "TimeZoneSidKey": "GMT", "LocaleSidKey": "en_US",
    "LanguageLocaleKey": "en_US", "EmailEncodingKey": "UTF-8", "ProfileId": DEFAULT_PROFILE["Id"],
}
BOOTSTRAP: Final[tuple[tuple[str, dict[str, Any]], ...]] = (("Profile", DEFAULT_PROFILE),
                                                            ("User", DEFAULT_USER))
BOOTSTRAP_IDS: Final = frozenset(record["Id"] for _, record in BOOTSTRAP)
# objects whose records cannot be deleted, and what to do instead (Salesforce: users are
# deactivated, never deleted)
UNDELETABLE: Final = {"User": "users cannot be deleted; deactivate them instead (IsActive = false)"}


def system_clock() -> _dt.datetime:
    """The current time, in UTC, to the second (what the store keeps of a DateTime)."""
    return _dt.datetime.now(_dt.UTC).replace(microsecond=0)


class FixedClock:
    """A clock for tests: it reads `now` until it is set or advanced."""

    def __init__(self, now: _dt.datetime | str) -> None:
        self.now = _as_datetime(now)

    def __call__(self) -> _dt.datetime:
        return self.now

    def set(self, now: _dt.datetime | str) -> None:
        self.now = _as_datetime(now)

    def advance(self, **delta: float) -> _dt.datetime:
        """Move the clock on by a `timedelta(**delta)`; returns the new time."""
        self.now += _dt.timedelta(**delta)
        return self.now


def _as_datetime(value: _dt.datetime | str) -> _dt.datetime:
    if isinstance(value, str):
        value = _dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    return value.replace(tzinfo=_dt.UTC) if value.tzinfo is None else value.astimezone(_dt.UTC)


def with_system_fields(schema: ObjectSchema) -> ObjectSchema:
    """The schema with Salesforce's system fields added after its own (platform events have
    none). A field of the same name that the schema declares itself is replaced by the system
    one: its value is the store's to set."""
    if schema.is_event:
        return schema
    if all(schema.field(f.name) is SYSTEM_BY_NAME[f.name] for f in SYSTEM_FIELDS):
        return schema
    own = tuple(f for f in schema.fields if f.name not in SYSTEM_FIELD_NAMES)
    return replace(schema, fields=own + SYSTEM_FIELDS)


SYSTEM_BY_NAME: Final = {f.name: f for f in SYSTEM_FIELDS}

# the fields every platform event has: who published it and when, its unique Id, its replay Id
EVENT_FIELDS: Final[tuple[FieldDef, ...]] = (
    FieldDef("CreatedDate", _DATETIME, sf_type="DateTime", read_only=True, label="Created Date"),
    FieldDef("CreatedById", FlowType("Text"), reference_to="User", sf_type="Lookup", length=18,
             relationship_name="CreatedBy", read_only=True, label="Created By ID"),
    FieldDef("EventUuid", FlowType("Text"), sf_type="Text", length=36, read_only=True,
             label="Event UUID"),
    FieldDef("ReplayId", FlowType("Text"), sf_type="Text", length=255, read_only=True,
             label="Replay ID"),
)
