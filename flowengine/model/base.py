"""The base classes of the flow model: strict (unknown keys are errors) and frozen."""
from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["ElementModel", "StrictModel"]


class StrictModel(BaseModel):
    """A part of a flow file: unknown keys are errors, and once built it does not change.

    `xml` holds what a Salesforce XML file says about this part that flowengine does not
    interpret, so that converting to XML gives it back (see `flowengine.formats.sfxml`)."""

    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)

    xml: dict[str, Any] | None = Field(
        default=None, description="Salesforce metadata flowengine keeps but does not interpret "
                          "(written back to .flow-meta.xml)")


class ElementModel(StrictModel):
    """The fields every element has; each element kind's model adds its own and narrows `type`
    to `Literal["Kind"]` (see `flowengine.elements`)."""

    label: str | None = None
    description: str | None = None
    type: str
    location: tuple[int, int] | None = Field(
        default=None, description="[x, y] on Flow Builder's free-form canvas (none: laid out automatically)")
