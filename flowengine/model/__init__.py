"""The flow model, format version 1 (spec sections 1–3), as pydantic models.

Unknown keys are forbidden everywhere. Each element is validated by the model of its element
kind (`flowengine.elements`), chosen by its `type`. Values (`value`, `right`, `default`, action
inputs) stay as raw data here: they are typed by the checker, which knows their targets.
"""
from __future__ import annotations

import re
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import Field, StrictInt, WithJsonSchema, field_validator, model_validator

from flowengine.model.base import ElementModel, StrictModel
from flowengine.types import MAX_SCALE

MIN_API_VERSION = Decimal("1.0")     # Salesforce's first API version
MAX_API_VERSION = Decimal("999.0")   # far above any release, low enough to mean a version
DATA_TYPES = ("Text", "String", "Number", "Currency", "Boolean", "Date", "DateTime", "Time",
              "Picklist", "Multipicklist", "Apex", "Record")
DataType = Literal[DATA_TYPES]  # type: ignore[valid-type]

DEFAULT_API_VERSION = Decimal("62.0")
API_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")
# the same rules as check_api_name in one expression (no "__", no trailing "_"), for editors
API_NAME_SCHEMA_PATTERN = r"^[A-Za-z][A-Za-z0-9]*(_[A-Za-z0-9]+)*$"


def check_api_name(name: str, what: str = "name") -> str | None:
    """Why `name` is not a valid Salesforce API name, or None when it is."""
    if not API_NAME.match(name):
        return (f"{what} {name!r} is not valid: expected a letter first, then only letters, "
                "digits and underscores")
    if len(name) > 80:
        return f"{what} {name[:20]!r}... is {len(name)} characters long; at most 80 are allowed"
    if "__" in name:
        return f"{what} {name!r} must not contain two underscores in a row"
    if name.endswith("_"):
        return f"{what} {name!r} must not end with an underscore"
    return None


def _shorthand_type(value: Any) -> Any:
    """`quantity: Number` is short for `quantity: {type: Number}`."""
    return {"type": value} if isinstance(value, str) else value


class TypedDecl(StrictModel):
    type: DataType
    apexClass: str | None = Field(None, description="Apex-defined class name (type Apex); "
                                  "Salesforce's ConnectApi__Name spelling is ConnectApi.Name")
    object: str | None = Field(None, description="object API name (type Record)")
    collection: bool = False
    scale: Annotated[StrictInt, Field(ge=0, le=MAX_SCALE)] | None = Field(
        None, description="decimal places (Number, Currency), 0 to 17; results are rounded half-up; a "
        "Number or Currency variable without scale holds whole numbers")
    description: str | None = None

    _shorthand = model_validator(mode="before")(_shorthand_type)

    @field_validator("apexClass")
    @classmethod
    def _dotted(cls, value: str | None) -> str | None:
        # `ConnectApi__Name` (Salesforce metadata) is `ConnectApi.Name`: one spelling in models
        return value.replace("__", ".") if value else value

    @classmethod
    def __get_pydantic_json_schema__(cls, core_schema: Any, handler: Any) -> Any:
        # the JSON Schema must also accept the shorthand `quantity: Number`
        return {"anyOf": [handler(core_schema), {"type": "string", "enum": list(DATA_TYPES)}]}


class VariableDecl(TypedDecl):
    input: bool = False
    output: bool = False
    default: Any = None


class FieldDecl(TypedDecl):
    pass


class TypeDecl(StrictModel):
    fields: dict[str, FieldDecl]
    description: str | None = None


class ConstantDecl(StrictModel):
    type: DataType
    value: Any
    description: str | None = None


class FormulaDecl(StrictModel):
    type: DataType
    expression: str
    scale: Annotated[StrictInt, Field(ge=0, le=MAX_SCALE)] | None = None
    description: str | None = None


class TemplateDecl(StrictModel):
    text: str
    plainText: bool | None = None
    description: str | None = None

    @model_validator(mode="before")
    @classmethod
    def _shorthand(cls, value: Any) -> Any:
        return {"text": value} if isinstance(value, str) else value

    @classmethod
    def __get_pydantic_json_schema__(cls, core_schema: Any, handler: Any) -> Any:
        return {"anyOf": [handler(core_schema), {"type": "string"}]}


TRIGGER_TYPES = ("RecordBeforeSave", "RecordAfterSave", "RecordBeforeDelete", "PlatformEvent")
RECORD_TRIGGERS = ("Create", "Update", "CreateAndUpdate", "Delete")
TRIGGER_FILTER_OPERATORS = ("EqualTo", "NotEqualTo", "GreaterThan", "LessThan",
                            "GreaterThanOrEqualTo", "LessThanOrEqualTo", "StartsWith", "EndsWith",
                            "Contains", "IsNull", "IsChanged", "In", "NotIn")


class TriggerFilter(StrictModel):
    """A condition on the triggering record's field (`IsChanged` compares it with its prior
    value; it takes true or false)."""

    field: str
    op: Literal[TRIGGER_FILTER_OPERATORS]  # type: ignore[valid-type]
    value: Any = None


class Trigger(StrictModel):
    """What starts the flow (Salesforce's Start element): a record of `object` being created,
    updated or deleted, or a platform event `object` being published. Entry conditions are
    `filters` joined by `logic`, or a Boolean `formula`."""

    type: Literal[TRIGGER_TYPES] = Field(  # type: ignore[valid-type]
        description="RecordBeforeSave (fast field updates), RecordAfterSave, RecordBeforeDelete, "
                    "PlatformEvent")
    object: str = Field(description="the record's object, or the platform event")
    on: Literal[RECORD_TRIGGERS] | None = Field(  # type: ignore[valid-type]
        None, description="record triggers: Create, Update, CreateAndUpdate or Delete")
    filters: list[TriggerFilter] = Field(default_factory=list)
    logic: str | None = Field(None, description="and | or | custom over filter numbers")
    formula: str | None = Field(None, description="entry condition as a Boolean formula")
    onlyWhenChanged: bool | None = Field(
        None, description="run only when an update makes the record meet the conditions "
                          "(it did not before): doesRequireRecordChangedToMeetCriteria")
    order: int | None = Field(None, description="trigger order among the object's flows (1-2000)")

    @property
    def is_record(self) -> bool:
        return self.type != "PlatformEvent"


class FlowModel(StrictModel):
    """A whole flow file."""

    flow: str = Field(description="API name: letters, digits and single underscores, starting with "
                                  "a letter, at most 80 characters",
                      json_schema_extra={"pattern": API_NAME_SCHEMA_PATTERN, "maxLength": 80})
    label: str | None = None
    description: str | None = None
    apiVersion: Annotated[Decimal | None, WithJsonSchema({"type": "number", "default": 62.0})] = Field(
        None, description="default 62.0; below 57.0 the 2,000 executed-elements limit applies",
        json_schema_extra={"default": 62.0})
    start: str | None = Field(None, description="name of the first element (required when there "
                                                 "are elements)")
    types: dict[str, TypeDecl] = Field(default_factory=dict)
    variables: dict[str, VariableDecl] = Field(default_factory=dict)
    constants: dict[str, ConstantDecl] = Field(default_factory=dict)
    formulas: dict[str, FormulaDecl] = Field(default_factory=dict)
    templates: dict[str, TemplateDecl] = Field(default_factory=dict)
    elements: dict[str, ElementModel] = Field(default_factory=dict)
    # what Salesforce says of a flow besides its logic (read from and written to .flow-meta.xml)
    processType: str | None = Field(None, description="Salesforce's process type (default "
                                    "AutoLaunchedFlow)")
    status: str | None = Field(None, description="Active (the default), Draft, Obsolete or "
                               "InvalidDraft; automation starts only Active flows")
    runInMode: str | None = Field(None, description="DefaultMode, SystemModeWithSharing or "
                                  "SystemModeWithoutSharing")
    interviewLabel: str | None = None
    environments: list[str] | None = None
    processMetadataValues: dict[str, Any] | None = Field(
        None, description="Salesforce's tool metadata (BuilderType, CanvasMode...): name → value")
    startLocation: tuple[int, int] | None = Field(None, description="[x, y] of the Start element "
                                                  "on a free-form canvas")
    trigger: Trigger | None = Field(None, description="what starts the flow: a record change "
                                    "(RecordBeforeSave, RecordAfterSave, RecordBeforeDelete) or a "
                                    "platform event (PlatformEvent); none: run by hand or called")

    @field_validator("apiVersion", mode="before")
    @classmethod
    def _api_version(cls, value: Any) -> Any:
        # a Boolean is not a version, and neither is -1e400 (read as minus infinity) or 1e9;
        # text that is no number is left to the type check
        if isinstance(value, bool):
            raise ValueError(f"apiVersion must be a number such as 62.0, found the Boolean "
                             f"{str(value).lower()}")
        try:
            number = Decimal(str(value).strip()) if isinstance(value, (int, float, str)) else None
        except ArithmeticError:
            return value
        if number is not None and (not number.is_finite()
                                   or not MIN_API_VERSION <= number <= MAX_API_VERSION):
            raise ValueError(f"apiVersion must be between {MIN_API_VERSION} and "
                             f"{MAX_API_VERSION} (Salesforce's versions, e.g. 62.0), found "
                             f"{str(value)[:20]}")
        return value

    @field_validator("elements", mode="before")
    @classmethod
    def _element_kinds(cls, value: Any) -> Any:
        """Each element as its kind's model (entries validated already pass as they are)."""
        if not isinstance(value, dict):
            return value
        from flowengine.elements import validate_element
        return {name: validate_element(raw) for name, raw in value.items()}

    @property
    def display_label(self) -> str:
        return self.label or self.flow.replace("_", " ")

    @property
    def api_version(self) -> Decimal:
        """The API version the flow runs with (62.0 when it says none)."""
        return self.apiVersion if self.apiVersion is not None else DEFAULT_API_VERSION
