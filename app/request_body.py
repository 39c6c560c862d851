"""The base of every request body model: it takes what its JSON schema says (extra fields
refused, no coercion between JSON types), and a field with a default is documented as
optional in a way that generated clients also read as optional."""

from __future__ import annotations

import json
from typing import Any

from pydantic import BaseModel, ConfigDict, GetCoreSchemaHandler, GetJsonSchemaHandler
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import CoreSchema, core_schema


def _whole_float_to_int(value: object) -> object:
    return int(value) if isinstance(value, float) and value.is_integer() else value


def _strict_scalars(node: object, model: type) -> None:
    """Make every int, float and bool schema of `model`'s schema `node` strict, as JSON
    Schema types are: a float takes an integer (both are JSON numbers) and an integer a
    whole float (`117.0` is a JSON Schema integer), but a boolean is not a number, a number
    not a boolean, and text neither. Other models nested in it are left alone: a request
    body made its own scalars strict, and any other model's schema is shared with the
    places it is used on its own."""
    if isinstance(node, dict):
        kind = node.get("type")
        if kind == "model" and node.get("cls") is not model:
            return
        if kind in ("float", "bool"):
            node["strict"] = True
        if kind == "int":  # in place: the parent holds this very dict
            inner = {**node, "strict": True}
            node.clear()
            node.update(core_schema.no_info_before_validator_function(_whole_float_to_int, inner))
            return
        for value in node.values():
            _strict_scalars(value, model)
    elif isinstance(node, list | tuple):
        for value in node:
            _strict_scalars(value, model)


class RequestBody(BaseModel):
    """A request body. Its JSON schema states a field's default in the field's description,
    not as a `default` keyword: openapi-typescript (with its defaults) types every property
    of a component schema that carries `default` as required, so `{"user_ids": ["1"]}`
    would not compile against `RecommendBatchIn` although the server accepts it. The field
    stays out of `required`; the server fills the default in as before."""

    model_config = ConfigDict(extra="forbid")

    @classmethod
    def __get_pydantic_core_schema__(
        cls, source: type[BaseModel], handler: GetCoreSchemaHandler
    ) -> CoreSchema:
        """Numbers and booleans validate strictly: pydantic's lax mode takes `false` for a
        number, `0` for a boolean and `"10"` for an integer, which the schema forbids (a
        client sending them has a bug worth a 422). Whole-model strict mode would also refuse
        ISO-8601 text for a datetime, so only these scalar types are made strict."""
        schema = handler(source)
        _strict_scalars(schema, source)
        return schema

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
