"""The base classes of the flow model: strict (unknown keys are errors) and frozen."""
from __future__ import annotations

from pydantic import BaseModel, ConfigDict

__all__ = ["ElementModel", "StrictModel"]


class StrictModel(BaseModel):
    """A part of a flow file: unknown keys are errors, and once built it does not change."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class ElementModel(StrictModel):
    """The fields every element has; each element kind's model adds its own and narrows `type`
    to `Literal["Kind"]` (see `flowengine.elements`)."""

    label: str | None = None
    description: str | None = None
    type: str
