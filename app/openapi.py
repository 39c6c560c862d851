"""The OpenAPI document FastAPI derives from the routes, with what it says wrongly about this
API put right once, when the document is first built."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI

_NULL = {"type": "null"}


def install_openapi(app: FastAPI) -> None:
    """Make `app.openapi()` (and so /openapi.json) return the corrected document."""
    build = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            _query_parameters_without_null(build())  # build() caches it in openapi_schema
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


def _query_parameters_without_null(document: dict[str, Any]) -> None:
    """An optional query (or header) parameter is `anyOf [<schema>, null]` in FastAPI's
    document, but neither can carry JSON null: the parameter is left out instead. Such a schema
    becomes <schema>: generated clients type it `string`, not `string | null`, and fuzzers
    stop sending a "null turned number" (`?exclude=0.0`) that is in truth a valid id."""
    for operations in document.get("paths", {}).values():
        for operation in operations.values():
            for parameter in operation.get("parameters", []):
                if parameter.get("in") not in ("query", "header"):
                    continue
                schema = parameter["schema"]
                branches = [b for b in schema.get("anyOf", []) if b != _NULL]
                if len(branches) == 1 and len(schema["anyOf"]) == 2:
                    rest = {k: v for k, v in schema.items() if k != "anyOf"}
                    if rest.get("default", "") is None:
                        del rest["default"]
                    parameter["schema"] = {**branches[0], **rest}
