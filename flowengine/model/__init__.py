"""The flow file format, version 1 (spec sections 1–4), as pydantic models.

Unknown keys are forbidden everywhere; element types form a discriminated union on `type`.
Values (`value`, `right`, `default`, action inputs) stay as raw YAML data here: they are typed by
the checker, which knows their targets.
"""
from __future__ import annotations

import re
from decimal import Decimal
from typing import Annotated, Any, Literal, Union

from pydantic import BaseModel, ConfigDict, Field, WithJsonSchema, field_validator, model_validator

ASSIGNMENT_OPERATORS = (
    "Assign", "Equals", "Add", "Subtract", "AssignCount", "EqualsCount", "AddItem", "AddAtStart",
    "RemoveFirst", "RemoveAll", "RemoveAfterFirst", "RemoveBeforeFirst", "RemovePosition",
    "RemoveUncommon",
)
CONDITION_OPERATORS = (
    "EqualTo", "NotEqualTo", "GreaterThan", "LessThan", "GreaterThanOrEqualTo", "LessThanOrEqualTo",
    "StartsWith", "EndsWith", "Contains", "IsNull", "IsBlank", "IsEmpty", "WasSet", "WasVisited",
    "HasError", "In", "NotIn",
)
DATA_TYPES = ("Text", "String", "Number", "Currency", "Boolean", "Date", "DateTime", "Time",
              "Picklist", "Multipicklist", "Apex", "Record")
AssignmentOp = Literal[ASSIGNMENT_OPERATORS]  # type: ignore[valid-type]
ConditionOp = Literal[CONDITION_OPERATORS]  # type: ignore[valid-type]
DataType = Literal[DATA_TYPES]  # type: ignore[valid-type]

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


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _shorthand_type(value: Any) -> Any:
    """`quantity: Number` is short for `quantity: {type: Number}`."""
    return {"type": value} if isinstance(value, str) else value


class TypedDecl(_Model):
    type: DataType
    apexClass: str | None = Field(None, description="Apex-defined class name (type Apex)")
    object: str | None = Field(None, description="object API name (type Record)")
    collection: bool = False
    scale: Annotated[int, Field(ge=0, le=18)] | None = Field(
        None, description="decimal places (Number, Currency); results are rounded half-up")
    description: str | None = None

    _shorthand = model_validator(mode="before")(_shorthand_type)

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


class TypeDecl(_Model):
    fields: dict[str, FieldDecl]
    description: str | None = None


class ConstantDecl(_Model):
    type: DataType
    value: Any
    description: str | None = None


class FormulaDecl(_Model):
    type: DataType
    expression: str
    scale: Annotated[int, Field(ge=0, le=18)] | None = None
    description: str | None = None


class TemplateDecl(_Model):
    text: str
    plainText: bool = False
    description: str | None = None

    @model_validator(mode="before")
    @classmethod
    def _shorthand(cls, value: Any) -> Any:
        return {"text": value} if isinstance(value, str) else value

    @classmethod
    def __get_pydantic_json_schema__(cls, core_schema: Any, handler: Any) -> Any:
        return {"anyOf": [handler(core_schema), {"type": "string"}]}


class _Element(_Model):
    label: str | None = None
    description: str | None = None


class AssignmentItem(_Model):
    ref: str
    op: AssignmentOp
    value: Any = None


class AssignmentElement(_Element):
    type: Literal["Assignment"]
    assignments: Annotated[list[AssignmentItem], Field(min_length=1)]
    next: str | None = None


class Condition(_Model):
    left: str
    op: ConditionOp
    right: Any = None


class DecisionRule(_Model):
    name: str
    label: str | None = None
    logic: str = "and"
    conditions: Annotated[list[Condition], Field(min_length=1)]
    next: str | None = None


class DecisionElement(_Element):
    type: Literal["Decision"]
    rules: Annotated[list[DecisionRule], Field(min_length=1)]
    default: str | None = None
    defaultLabel: str | None = None


class LoopElement(_Element):
    type: Literal["Loop"]
    collection: str
    order: Literal["Asc", "Desc"] = "Asc"
    item: str | None = None
    each: str
    after: str | None = None


class ActionElement(_Element):
    type: Literal["Action"]
    action: str
    inputs: dict[str, Any] = Field(default_factory=dict)
    outputs: dict[str, str] = Field(default_factory=dict)
    next: str | None = None
    fault: str | None = None


Element = Annotated[
    Union[AssignmentElement, DecisionElement, LoopElement, ActionElement],
    Field(discriminator="type"),
]
ELEMENT_CLASSES = {"Assignment": AssignmentElement, "Decision": DecisionElement,
                   "Loop": LoopElement, "Action": ActionElement}


class FlowModel(_Model):
    """A whole flow file."""

    flow: str = Field(description="API name: letters, digits and single underscores, starting with "
                                  "a letter, at most 80 characters",
                      json_schema_extra={"pattern": API_NAME_SCHEMA_PATTERN, "maxLength": 80})
    label: str | None = None
    description: str | None = None
    apiVersion: Annotated[Decimal, WithJsonSchema({"type": "number", "default": 62.0})] = Field(
        Decimal("62.0"), description="below 57.0 the 2,000 executed-elements limit applies",
        json_schema_extra={"default": 62.0})
    start: str | None = Field(None, description="name of the first element (required when there "
                                                 "are elements)")
    types: dict[str, TypeDecl] = Field(default_factory=dict)
    variables: dict[str, VariableDecl] = Field(default_factory=dict)
    constants: dict[str, ConstantDecl] = Field(default_factory=dict)
    formulas: dict[str, FormulaDecl] = Field(default_factory=dict)
    templates: dict[str, TemplateDecl] = Field(default_factory=dict)
    elements: dict[str, Element] = Field(default_factory=dict)

    @field_validator("flow")
    @classmethod
    def _api_name(cls, value: str) -> str:
        problem = check_api_name(value, "flow name")
        if problem:
            raise ValueError(problem)
        return value

    @property
    def display_label(self) -> str:
        return self.label or self.flow.replace("_", " ")


ConnectorKind = Literal["next", "fault", "outcome", "default", "each", "after"]


def connector_slots(element: Any) -> list[tuple[ConnectorKind, str, tuple[Any, ...], str]]:
    """(kind, label, path inside the element, target) for every connector of an element, in
    display order; the label of an outcome's connector is the outcome's name."""
    out: list[tuple[ConnectorKind, str, tuple[Any, ...], str]] = []
    if isinstance(element, DecisionElement):
        out += [("outcome", rule.name, ("rules", i, "next"), rule.next)
                for i, rule in enumerate(element.rules) if rule.next]
        if element.default:
            out.append(("default", "default", ("default",), element.default))
    elif isinstance(element, LoopElement):
        out.append(("each", "each", ("each",), element.each))
        if element.after:
            out.append(("after", "after", ("after",), element.after))
    else:
        if element.next:
            out.append(("next", "next", ("next",), element.next))
        if isinstance(element, ActionElement) and element.fault:
            out.append(("fault", "fault", ("fault",), element.fault))
    return out
