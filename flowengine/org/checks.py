"""The checks of written values, as Salesforce's DML makes them; backend-neutral.

Each failure is an OrgError (a `FieldError` when it is about one field) with Salesforce's status
code, naming the object, the field and the record (its Id, or its place in a batch):
INVALID_FIELD, INVALID_FIELD_FOR_INSERT_UPDATE (calculated, rolled-up, read-only and system
fields), INVALID_TYPE_ON_FIELD_IN_RECORD, STRING_TOO_LONG, NUMBER_OUTSIDE_VALID_RANGE,
INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST, FIELD_INTEGRITY_EXCEPTION (a lookup to a record of
another object), REQUIRED_FIELD_MISSING, INVALID_CROSS_REFERENCE_KEY (a lookup to no record),
ENTITY_IS_DELETED (a lookup to a deleted record) and DUPLICATE_VALUE (unique fields).
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from flowengine.errors import OrgError
from flowengine.org.catalog import FieldError, ObjectInfo
from flowengine.org.query import RecordFilter, plan_select
from flowengine.org.schema import FieldDef
from flowengine.org.system import SYSTEM_FIELD_NAMES
from flowengine.org.upkeep import RollupUpkeep
from flowengine.types import TEXT_LIKE, describe

__all__ = ["WriteChecks"]

Labelled = tuple[str | None, Mapping[str, Any]]   # (the record in messages, its values)


class WriteChecks(RollupUpkeep):
    """Converting and checking the values of a write batch (see the module docstring)."""

    def _convert_fields(self, info: ObjectInfo, fields: Mapping[str, Any], record: str | None,
                        *, audit: bool = False) -> dict[str, Any]:
        """Written values converted to their fields' types; refuses unknown, computed and
        read-only fields (with `audit`, the audit fields may be set, as Salesforce's "Set Audit
        Fields upon Record Creation" permission allows on insert). Whether referenced records
        exist is `_check_references`' job (one read per batch)."""
        if not isinstance(fields, Mapping):
            where = f" (record {record})" if record else ""
            raise OrgError(f"{info.name}: the fields of a record must be a mapping of field names "
                           f"to values, found {describe(fields)}{where}", "INVALID_ARGUMENT")
        values: dict[str, Any] = {}
        try:
            if "Id" in fields:
                try:
                    values["Id"] = self.catalog.convert_id(info, fields["Id"])
                except OrgError as exc:
                    raise FieldError(info.name, "Id", exc.message, exc.error_code) from None
            converters = self.catalog.converters(info, audit)
            for name, value in fields.items():
                convert = converters.get(name)
                if convert is not None:
                    values[name] = convert(value)
                elif name != "Id":       # unknown, or not one a write may set: say which
                    fdef = info.field(name)
                    raise FieldError(info.name, name, f"cannot be set: {_why_not(fdef)}",
                                     "INVALID_FIELD_FOR_INSERT_UPDATE")
        except FieldError as exc:
            raise (exc.of_record(record) if record else exc) from None
        return values

    def _check_references(self, info: ObjectInfo, records: Sequence[Labelled],
                          batch_ids: Iterable[str] = ()) -> None:
        """Every reference points at an existing record, or at a record of this batch (by its
        given Id). One read per referenced object; the first dangling one is reported."""
        same_batch = set(batch_ids)
        references = [(f.name, f.reference_to) for f in info.stored if f.reference_to is not None]
        wanted: dict[str, set[str]] = {}
        for name, target_object in references:     # a field at a time: one set each
            targets = {values.get(name) for _, values in records}
            targets.discard(None)
            if target_object == info.name:
                targets -= same_batch
            if targets:
                wanted.setdefault(target_object, set()).update(targets)  # type: ignore[arg-type]
        missing = {name: targets - self._existing_ids(self.catalog.objects[name], targets)
                   for name, targets in wanted.items()}
        if not any(missing.values()):
            return
        deleted = self._deleted_ids({i for targets in missing.values() for i in targets})
        for record, values in records:
            for name, target_object in references:
                target = values.get(name)
                if target in missing.get(target_object, ()):
                    if target in deleted:
                        raise FieldError(info.name, name, f"entity is deleted: the {target_object} "
                                         f"record {target} was deleted", "ENTITY_IS_DELETED",
                                         record)
                    raise FieldError(info.name, name, f"no {target_object} record has Id "
                                     f"{target}", "INVALID_CROSS_REFERENCE_KEY", record)

    @staticmethod
    def _check_required(info: ObjectInfo, record: Mapping[str, Any],
                        fields: Iterable[FieldDef], label: str | None) -> None:
        for fdef in fields:
            if fdef.required and record.get(fdef.name) is None:
                raise FieldError(info.name, fdef.name, "is required, found no value",
                                 "REQUIRED_FIELD_MISSING", label)

    def _check_unique(self, info: ObjectInfo, records: Sequence[Labelled],
                      fields: Iterable[FieldDef], own_ids: Iterable[str] = ()) -> None:
        """No two records of the object share a value of a unique field (text ignoring case, as
        Salesforce's unique fields do unless they are case-sensitive): neither two records of
        the batch, nor one of the batch and one in the org (other than the batch's own)."""
        own = set(own_ids)
        for fdef in fields:
            seen: dict[Any, str | None] = {}
            for label, values in records:
                value = values.get(fdef.name)
                if value is None:
                    continue
                key = value.lower() if fdef.type.kind in TEXT_LIKE else value
                if key in seen:
                    raise FieldError(info.name, fdef.name, f"duplicate value found: {fdef.name} "
                                     f"duplicates value on record {seen[key]} of the batch "
                                     f"({describe(value)})", "DUPLICATE_VALUE", label)
                seen[key] = label
            if not seen:
                continue
            wanted = list(dict.fromkeys(v.get(fdef.name) for _, v in records
                                        if v.get(fdef.name) is not None))
            plan = plan_select(info, [RecordFilter(fdef.name, "In", wanted)],
                               fields=[fdef.name])
            clash = next((r for r in self._run_plan(plan) if r["Id"] not in own), None)
            if clash is not None:
                key = clash[fdef.name]
                key = key.lower() if fdef.type.kind in TEXT_LIKE else key
                raise FieldError(info.name, fdef.name, f"duplicate value found: {fdef.name} "
                                 f"duplicates value on record with id: {clash['Id']} "
                                 f"({describe(clash[fdef.name])})", "DUPLICATE_VALUE",
                                 seen.get(key))


def _why_not(fdef: FieldDef) -> str:
    if fdef.calculated is not None:
        return "it is calculated from the record's other fields by the store"
    if fdef.rollup is not None:
        return f"it is rolled up from its {fdef.rollup.child_object} records by the store"
    if fdef.name in SYSTEM_FIELD_NAMES:
        return "it is a system field, set by the store"
    if fdef.sf_type == "AutoNumber":
        return "it is an auto-number field, numbered by the store"
    return "it is read-only"
