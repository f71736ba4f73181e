"""The JSON Schema of flow files, for editors (`flowengine schema`): the flow model with the
elements of every registered element kind, told apart by `type`."""
from __future__ import annotations

from typing import Annotated, Any, Union

__all__ = ["flow_json_schema"]


def flow_json_schema() -> dict[str, Any]:
    from pydantic import Field, create_model

    from flowengine.elements import kinds
    from flowengine.model import FlowModel

    models = tuple(kind.model for kind in kinds())
    # Union over a tuple built at run time: the registered kinds are not known statically
    element = Annotated[Union[models], Field(discriminator="type")]  # type: ignore[valid-type]  # noqa: UP007
    schema_model = create_model(  # the model as editors see it: each element by its kind
        "FlowModel", __base__=FlowModel, __doc__=FlowModel.__doc__,
        elements=(dict[str, element], Field(default_factory=dict)))
    schema = schema_model.model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "flowengine flow file (format v1)"
    return schema
