"""The base of every request body model: extra fields refused, and a field with a default
documented as optional in a way that generated clients also read as optional."""

from __future__ import annotations

import json
from typing import Any

from pydantic import BaseModel, ConfigDict, GetJsonSchemaHandler
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import CoreSchema


class RequestBody(BaseModel):
    """A request body. Its JSON schema states a field's default in the field's description,
    not as a `default` keyword: openapi-typescript (with its defaults) types every property
    of a component schema that carries `default` as required, so `{"user_ids": ["1"]}`
    would not compile against `RecommendBatchIn` although the server accepts it. The field
    stays out of `required`; the server fills the default in as before."""

    model_config = ConfigDict(extra="forbid")

    @classmethod
    def __get_pydantic_json_schema__(
        cls, core_schema: CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        schema = handler(core_schema)
        for field in handler.resolve_ref_schema(schema).get("properties", {}).values():
            if "default" in field:
                _describe_default(field, field.pop("default"))
        return schema


def _describe_default(field: dict[str, Any], default: object) -> None:
    """Append "Default: <json>." to the description, unless it already names its default."""
    text = field.get("description", "")
    if "default" in text.lower():
        return
    note = f"Default: {json.dumps(default)}."
    field["description"] = f"{text}{'' if text.endswith('.') else '.'} {note}" if text else note
