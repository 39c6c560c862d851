"""Query parameters validated by hand, for the hottest route (GET /recommend): FastAPI
resolves and validates each declared parameter on every request, which cost the route a
quarter of its throughput per half-dozen parameters. A pydantic model holds the rules and
the defaults; a query that names none of its fields costs one membership test per field."""

from __future__ import annotations

from typing import Any, TypeVar

from fastapi import Request
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, ValidationError

M = TypeVar("M", bound=BaseModel)


def ids_of(values: list[str] | None) -> list[str]:
    """Ids from a query parameter given repeated and/or comma-separated."""
    return [v for value in values or [] for v in value.split(",") if v]


def declared(model: type[BaseModel]) -> list[dict[str, Any]]:
    """The model's fields as OpenAPI query parameters, as FastAPI would declare them
    (app/openapi.py drops their null branch); for a route's `openapi_extra`."""
    return [
        {
            "name": name,
            "in": "query",
            "required": False,
            "schema": schema,
            "description": schema["description"],
        }
        for name, schema in model.model_json_schema()["properties"].items()
    ]


def parsed(request: Request, model: type[M], lists: frozenset[str]) -> M | None:
    """The model from the request's query, None when the query names none of its fields;
    fields in `lists` may repeat. Invalid values are a 422 with FastAPI's error shape."""
    query = request.query_params
    named = [name for name in model.model_fields if name in query]
    if not named:
        return None
    raw = {name: query.getlist(name) if name in lists else query[name] for name in named}
    try:
        return model.model_validate(raw)
    except ValidationError as error:
        raise RequestValidationError(
            [{**e, "loc": ("query", *e["loc"])} for e in error.errors(include_url=False)]
        ) from None
